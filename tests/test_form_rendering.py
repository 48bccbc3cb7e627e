"""Inputs render through webapp.forms.html_params, a faster copy of WTForms' own:
it must write exactly the markup WTForms would, for any attributes."""

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup
from wtforms.widgets.core import html_params as wtforms_html_params

from webapp.forms import html_params

attribute_names = st.from_regex(r"[a-z][a-z0-9_-]{0,14}", fullmatch=True)
attribute_values = st.one_of(
    st.booleans(), st.integers(), st.text(), st.builds(Markup, st.text()), st.none()
)


@given(st.dictionaries(attribute_names, attribute_values, max_size=14))
def test_attributes_render_exactly_as_wtforms_renders_them(attributes):
    ours = html_params(**attributes)
    assert isinstance(ours, Markup)
    assert ours == wtforms_html_params(**attributes)


def test_the_registration_page_renders_its_inputs_with_ours(client):
    html = client.get("/velzio/register").get_data(as_text=True)
    assert (
        '<input aria-describedby="email-error email-hint" aria-invalid="false" '
        'aria-required="true" autocapitalize="none" autocomplete="email" class="input" '
        'data-live-check="" hx-include="closest form" hx-post="/velzio/register/check/email"'
    ) in html

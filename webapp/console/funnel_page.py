"""The registration funnel in the console (issue #12): any role of a tenant
reads its funnel by day or week over the last 7, 30 or 90 days, as the chart
and tables of templates/funnel/_report.html, and downloads the same numbers
as CSV. The numbers come from webapp/funnel; nothing here counts."""

from __future__ import annotations

from flask import make_response, request, url_for
from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from .. import funnel
from ..forms import Form
from ..funnel.aggregates import last_days
from ..htmx import render
from ..messages import message
from ..models import Tenant, utcnow
from . import bp
from .access import console_tenant, staff_required

PERIODS = {"7": _l("Last 7 days"), "30": _l("Last 30 days"), "90": _l("Last 90 days")}
GROUPINGS = {"day": _l("By day"), "week": _l("By week")}


class OneOf:
    """The value is one of the field's choices, or our message (WTForms' own
    "Not a valid choice" is not in the catalogue)."""

    def __call__(self, form, field):
        if field.data not in {choice.value for choice in field.choices}:
            raise StopValidation(message("CONSOLE_FUNNEL_CHOICE"))


class FunnelForm(Form):
    """Which funnel to show: a GET form (it changes nothing, so no CSRF
    token), its answer a page one can bookmark or send on."""

    class Meta:
        csrf = False

    days = RadioField(
        _l("Period"),
        choices=[SelectChoice(value, label) for value, label in PERIODS.items()],
        default="30",
        validate_choice=False,
        validators=[OneOf()],
    )
    by = RadioField(
        _l("Group the counts"),
        choices=[SelectChoice(value, label) for value, label in GROUPINGS.items()],
        default="day",
        validate_choice=False,
        validators=[OneOf()],
    )


def _read(slug: str):
    """The tenant, the form read from the query string, and its report (None
    when the query string asks for something the form does not offer)."""
    tenant, _staff = console_tenant(slug, "viewer")
    form = FunnelForm(formdata=request.args)
    if not form.validate():
        return tenant, form, None
    start, end = last_days(int(form.days.data), utcnow().date())
    return tenant, form, funnel.report(tenant.id, start, end, form.by.data)


def _page(tenant: Tenant, form: FunnelForm, found: funnel.FunnelReport | None):
    """The page; 400 with the form's message when there is no report to show."""
    csv_url = None
    if found is not None:
        csv_url = url_for(
            "console.funnel_csv", slug=tenant.slug, days=form.days.data, by=form.by.data
        )
    return render(
        "console/funnel.html",
        200 if found is not None else 400,
        console_tenant=tenant,
        form=form,
        report=found,
        csv_url=csv_url,
    )


@bp.get("/<slug>/funnel")
@staff_required
def funnel_page(slug: str):
    """The tenant's registration funnel: the period form, the chart, the tables."""
    return _page(*_read(slug))


@bp.get("/<slug>/funnel.csv")
@staff_required
def funnel_csv(slug: str):
    """The same report as a CSV file to save (one row per period, form and language)."""
    tenant, form, found = _read(slug)
    if found is None:
        return _page(tenant, form, found)
    response = make_response(funnel.report_csv(found))
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{_filename(tenant, found)}"'
    return response


def _filename(tenant: Tenant, found: funnel.FunnelReport) -> str:
    # The slug is [a-z0-9-] (tenants.py), so the name needs no quoting rules.
    return f"funnel-{tenant.slug}-{found.by}-{found.start.isoformat()}-{found.end.isoformat()}.csv"

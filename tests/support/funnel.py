"""One visit to a registration page as the funnel sees it (webapp/funnel): the
page, its live checks and its post, carrying the page's hidden `funnel` inputs
the way the browser does (htmx sends them with every check, and swaps in those
each answer brings back out of band, by id)."""

from __future__ import annotations

import re

from .forms import csrf_from

MARKS_RE = re.compile(
    r'<input type="hidden" name="funnel" id="(funnel-[a-z_0-9]+)" value="([^"]*)"'
)


def inputs_in(html: str) -> dict[str, str]:
    """The funnel's hidden inputs in `html`, by id."""
    found = dict(MARKS_RE.findall(html))
    assert found, "no funnel input in:\n" + html[:2000]
    return found


def marks_in(html: str) -> str:
    """What the page's inputs say was counted, as one sorted string."""
    return " ".join(sorted(value for value in inputs_in(html).values() if value))


class RegistrationVisit:
    """A person's one page view of `/<slug>/register` (or its embedded form),
    in `language`:

        visit = RegistrationVisit(client, "/velzio/register")
        visit.check("email", {"email": "ona@"})      # 422, error counted
        visit.post(VELZIO_OK)                        # 303, submitted
    """

    def __init__(self, client, page: str, language: str = "lt", headers: dict | None = None):
        self.client, self.page = client, page
        self.headers = {"Accept-Language": language, **(headers or {})}
        self.response = client.get(page, headers=self.headers)
        html = self.response.get_data(as_text=True)
        self.csrf = csrf_from(html)
        self.inputs = inputs_in(html)

    @property
    def marks(self) -> str:
        return " ".join(sorted(value for value in self.inputs.values() if value))

    @marks.setter
    def marks(self, value: str) -> None:
        """Send `value` instead (as a page altered by hand would)."""
        self.inputs = {"funnel-started": value}

    def check(self, field: str, data: dict):
        """A live check of `field`, as htmx sends it from the page."""
        path, _, query = self.page.partition("?")
        url = f"{path}/check/{field}" + (f"?{query}" if query else "")
        response = self.client.post(
            url,
            data={"csrf_token": self.csrf, "funnel": list(self.inputs.values()), **data},
            headers={**self.headers, "HX-Request": "true"},
        )
        self.inputs.update(inputs_in(response.get_data(as_text=True)))
        return response

    def post(self, data: dict):
        """The form's submit, with the hidden input as the page holds it
        (without JavaScript: as the server wrote it)."""
        response = self.client.post(
            self.page,
            data={"csrf_token": self.csrf, "funnel": list(self.inputs.values()), **data},
            headers=self.headers,
        )
        if response.status_code != 303:
            self.inputs = inputs_in(response.get_data(as_text=True))
        return response

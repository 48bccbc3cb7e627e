"""The registration funnel in the console (webapp/console/funnel_page.py): any
role of a utility reads its funnel by day or week over the last 7, 30 or 90
days, and downloads the same numbers as CSV; another utility's staff cannot;
a query string the form does not offer gets a message and a 400."""

from __future__ import annotations

import csv
import io

import pytest
from flask_babel import force_locale
from markupsafe import escape
from support.apps import tenant
from support.console import ConsoleUser
from support.data import VELZIO_OK
from support.funnel import RegistrationVisit
from support.html import parse_html
from support.mail import link_in, outbox
from support.people import Customer, confirm, login, logout
from support.texts import expected, gettext_in

from webapp.funnel.aggregates import LABELS, PATH
from webapp.models import utcnow

PAGE = "/console/velzio/funnel"
CSV = "/console/velzio/funnel.csv"
# Ona's registration: each step once, and one field error.
ONCE = dict.fromkeys([*PATH, "field_error"], "1")


@pytest.fixture
def ona(client, app):
    """Ona registers at Velžio through the pages: one email error on the way,
    then the form, the emailed link and her first login."""
    visit = RegistrationVisit(client, "/velzio/register")
    assert visit.check("email", {"email": "ona@"}).status_code == 422
    assert visit.post(VELZIO_OK).status_code == 303
    link = link_in(outbox(app, VELZIO_OK["email"])[-1], "/confirm/")
    assert confirm(client, link).status_code == 303
    assert login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"]).status_code == 303
    logout(client, "velzio")


@pytest.fixture
def viewer(app):
    return ConsoleUser(app, "velzio", "viewer").log_in()


def totals(html: str) -> dict[str, str]:
    """The period table's "Total" row: each step's cell, by step."""
    table = parse_html(html).find(".//table[@id='funnel-periods']")
    assert table is not None, html[:2000]
    cells = ["".join(td.itertext()).split()[0] for td in table.find("tfoot/tr").iter("td")]
    return dict(zip([*PATH, "field_error"], cells, strict=True))


def test_the_page_shows_a_registrations_steps(app, ona, viewer):
    response = viewer.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    with app.app_context():
        name = tenant("velzio").name
    assert gettext_in(app, "Registration funnel of %(name)s", name=name) in html
    with app.test_request_context("/"), force_locale("lt"):
        labels = [str(escape(LABELS[step])) for step in PATH]
    assert all(label in html for label in labels)
    assert totals(html) == ONCE
    # The chart is there, with its text alternative.
    assert "<svg" in html and "<title" in html
    # The default: the last 30 days, by day, today the last.
    rows = parse_html(html).findall(".//table[@id='funnel-periods']/tbody/tr")
    assert len(rows) == 30
    assert "".join(rows[-1].find("th").itertext()) == utcnow().date().isoformat()


def test_the_csv_holds_the_same_counts(app, ona, viewer):
    page = viewer.get(f"{PAGE}?days=7&by=day").get_data(as_text=True)
    link = parse_html(page).find(".//a[@download]")
    assert link is not None and link.get("href") == f"{CSV}?days=7&by=day"
    response = viewer.get(link.get("href"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    today = utcnow().date()
    start = today.fromordinal(today.toordinal() - 6)
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="funnel-velzio-day-{start.isoformat()}-{today.isoformat()}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    [row] = [row for row in rows if row["period_start"] == today.isoformat()]
    assert (row["channel"], row["language"]) == ("direct", "lt")
    assert {step: row[step] for step in [*ONCE, "field_error:email"]} == {
        **ONCE,
        "field_error:email": "1",
    }


def test_by_week_over_ninety_days(app, ona, viewer):
    response = viewer.get(f"{PAGE}?days=90&by=week")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    today = utcnow().date()
    start = today.fromordinal(today.toordinal() - 89)
    caption = gettext_in(
        app,
        "Registration funnel by week, %(start)s to %(end)s",
        start=start.isoformat(),
        end=today.isoformat(),
    )
    assert caption in html
    assert totals(html)["submitted"] == "1"
    # The form shows what was chosen.
    form = parse_html(html).find(".//form[@method='get']")
    checked = {i.get("name"): i.get("value") for i in form.iter("input") if "checked" in i.attrib}
    assert checked == {"days": "90", "by": "week"}


def test_in_english(app, ona, viewer):
    html = viewer.get(f"{PAGE}?lang=en").get_data(as_text=True)
    with app.app_context():
        name = tenant("velzio").name
    assert f"Registration funnel of {name}" in html
    assert "Last 90 days" in html and "By week" in html
    assert gettext_in(app, "Last 90 days") == "Paskutinės 90 dienų"


@pytest.mark.parametrize("role", ["viewer", "support", "admin"])
def test_every_role_reads_it_and_finds_it_in_the_navigation(app, role):
    agent = ConsoleUser(app, "velzio", role).log_in()
    html = agent.get("/console/velzio/customers").get_data(as_text=True)
    nav = parse_html(html).find(".//nav[@class='console-nav']")
    assert PAGE in [a.get("href") for a in nav.iter("a")]
    assert agent.get(PAGE).status_code == 200
    assert agent.get(CSV).status_code == 200


def test_the_owner_reads_every_utilitys_funnel(app, client):
    owner = ConsoleUser(app, "velzio", "viewer")
    owner.tenant, owner.owner = None, True
    owner.log_in()
    assert owner.get("/console/elektrum/funnel").status_code == 200
    assert owner.get("/console/elektrum/funnel.csv").status_code == 200


def test_another_utilitys_staff_cannot_read_it(app, client):
    Customer(client, app, "elektrum").register()
    admin = ConsoleUser(app, "velzio", "admin").log_in()
    for path in ("/console/elektrum/funnel", "/console/elektrum/funnel.csv?days=7&by=day"):
        response = admin.get(path)
        assert response.status_code == 403
        assert "text/csv" not in response.content_type
        assert "funnel-periods" not in response.get_data(as_text=True)
    assert admin.get("/console/nosuch/funnel").status_code == 404
    assert admin.get("/console/nosuch/funnel.csv").status_code == 404
    # Not logged in: the console's login.
    stranger = app.test_client()
    for path in (PAGE, CSV):
        answer = stranger.get(path)
        assert answer.status_code == 303 and answer.headers["Location"] == "/console/login"


@pytest.mark.parametrize(
    "query",
    [
        "days=8",
        "days=abc",
        "days=",
        "days=7.0",
        "days=" + "9" * 500,
        "by=month",
        "by=",
        "by=day%00",
        "days=30&by=Week",
    ],
)
@pytest.mark.parametrize("path", [PAGE, CSV])
def test_what_the_form_does_not_offer_is_refused_with_a_message(app, viewer, path, query):
    response = viewer.get(f"{path}?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert expected(app, "CONSOLE_FUNNEL_CHOICE") in html
    assert "funnel-periods" not in html and "text/csv" not in response.content_type
    # The form is there to choose again.
    assert parse_html(html).find(".//form[@method='get']") is not None


def test_only_this_utilitys_counts(app, client, viewer):
    """Elektrum's registration is not in Velžio's funnel."""
    Customer(client, app, "elektrum").register()
    assert set(totals(viewer.get(PAGE).get_data(as_text=True)).values()) == {"0"}

"""The registration funnel (webapp/funnel): daily counts of each step, per
tenant, form (embedded or direct) and language, with nothing personal kept;
read back by day or week as a chart, tables and CSV."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from flask import render_template
from flask_babel import force_locale
from sqlalchemy import event, inspect, select, text
from support.apps import tenant
from support.data import VELZIO_OK
from support.funnel import RegistrationVisit, inputs_in, marks_in
from support.html import parse_html
from support.mail import link_in, outbox
from support.people import Customer, confirm, login, logout

from webapp import deferred, funnel
from webapp.config import PROJECT_ROOT
from webapp.contrast import contrast_ratio
from webapp.extensions import db
from webapp.funnel import counting
from webapp.funnel.aggregates import PATH
from webapp.funnel.chart import AXIS, BACKGROUND, COLOURS, TEXT
from webapp.models import Account, FunnelDay, utcnow

EMPTY = dict.fromkeys(counting.STEPS, 0)
# A frame's posts come from the portal's own origin (see test_embed.py).
FRAMED = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


def today_of(app, slug: str = "velzio", split: tuple[str, str] | None = None) -> dict:
    """Today's counts of `slug`: all of them, or of one (channel, language)."""
    with app.app_context(), app.test_request_context("/"):
        day = utcnow().date()
        found = funnel.report(tenant(slug).id, day, day)
        if split is None:
            return dict(found.total.counts)
        return {step: found.total.split.get(split, EMPTY).get(step, 0) for step in EMPTY}


def field_errors_of(app, slug: str = "velzio") -> dict:
    with app.app_context():
        day = utcnow().date()
        return funnel.report(tenant(slug).id, day, day).total.fields


def steps(**counts) -> dict:
    return {**EMPTY, **counts}


def seed(app, slug: str, rows: list[tuple]) -> None:
    """Rows (day, channel, language, step, field, count) of `slug`, as counted."""
    with app.app_context():
        tenant_id = tenant(slug).id
        for day, channel, language, step, field, count in rows:
            db.session.add(
                FunnelDay(
                    tenant_id=tenant_id,
                    day=day,
                    channel=channel,
                    language=language,
                    step=step,
                    field=field,
                    count=count,
                )
            )
        db.session.commit()


# Counting through the pages


def test_a_registration_counts_each_step_once(client, app):
    """Ona opens the page, gets the email wrong, fixes it, submits, confirms the
    emailed link and logs in, twice: every step is counted once, on the form
    and in the language she used."""
    visit = RegistrationVisit(client, "/velzio/register")
    assert today_of(app) == steps(page_view=1)

    assert visit.check("first_name", {"first_name": "Ona"}).status_code == 200
    assert visit.marks == "started"
    assert visit.check("email", {"email": "ona@"}).status_code == 422
    assert visit.marks == "email started"
    # Typing on in the field that shows its error: that error is counted once.
    assert visit.check("email", {"email": "ona@ex"}).status_code == 422
    assert today_of(app) == steps(page_view=1, started=1, field_error=1)
    assert visit.check("email", {"email": "ona@example.com"}).status_code == 200
    assert visit.marks == "started"

    assert visit.post(VELZIO_OK).status_code == 303
    assert today_of(app) == steps(page_view=1, started=1, field_error=1, submitted=1)

    link = link_in(outbox(app, VELZIO_OK["email"])[-1], "/confirm/")
    assert confirm(client, link).status_code == 303
    for _ in range(2):
        assert login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"]).status_code == 303
        logout(client, "velzio")

    counted = today_of(app, split=("direct", "lt"))
    assert counted == steps(
        page_view=1, started=1, field_error=1, submitted=1, confirmed=1, first_login=1
    )
    assert today_of(app) == counted
    assert field_errors_of(app) == {"email": 1}
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == VELZIO_OK["email"]))
        assert account.funnel_channel is None  # its first login is counted


def test_a_business_activation_counts_as_confirmed(client, app):
    """Elektrum's customers set their password from the emailed link (and set
    up the second factor Elektrum requires) instead of confirming it."""
    Customer(client, app, "elektrum").register()
    assert today_of(app, "elektrum") == steps(
        page_view=1, started=1, submitted=1, confirmed=1, first_login=1
    )


def test_without_javascript_the_post_counts_started_and_each_refused_field(client, app):
    visit = RegistrationVisit(client, "/velzio/register")
    response = visit.post({**VELZIO_OK, "email": "ona@", "phone": "123"})
    assert response.status_code == 422
    # The page that comes back remembers what was counted, for the next post.
    assert visit.marks == "email phone started"
    assert visit.post(VELZIO_OK).status_code == 303
    assert today_of(app) == steps(page_view=1, started=1, field_error=2, submitted=1)
    assert field_errors_of(app) == {"email": 1, "phone": 1}


def test_a_post_does_not_count_again_the_error_its_live_check_showed(client, app):
    visit = RegistrationVisit(client, "/velzio/register")
    visit.check("email", {"email": "ona@"})
    assert visit.post({**VELZIO_OK, "email": "ona@"}).status_code == 422
    assert field_errors_of(app) == {"email": 1}
    # Fixed, then broken again: the error shows again and counts again.
    visit.check("email", {"email": "ona@example.com"})
    assert visit.post({**VELZIO_OK, "email": "ona@"}).status_code == 422
    assert visit.marks == "email started"
    assert field_errors_of(app) == {"email": 2}
    assert today_of(app)["started"] == 1


def test_answers_of_checks_sent_together_leave_each_others_marks(client, app):
    """Two checks leave with the same inputs (an autofill); whichever answer
    comes last, the page keeps both: each answer swaps in only its field's."""
    visit = RegistrationVisit(client, "/velzio/register")
    sent = dict(visit.inputs)
    email = visit.check("email", {"email": "ona@"})
    visit.inputs = dict(sent)
    last_name = visit.check("last_name", {"last_name": "Onaitė"})
    assert inputs_in(last_name.get_data(as_text=True)) == {
        "funnel-started": "started",
        "funnel-last_name": "",
    }
    visit.inputs.update(inputs_in(email.get_data(as_text=True)))
    assert visit.marks == "email started"
    # Without app.js marking "started" as the first check left, both counted it.
    assert today_of(app) == steps(page_view=1, started=2, field_error=1)
    visit.check("email", {"email": "ona@ex"})
    assert today_of(app) == steps(page_view=1, started=2, field_error=1)


def test_each_page_view_is_a_new_form(client, app):
    """A reload is a new page view with an empty input: its first check starts
    a new form. Checks of one page view start it once."""
    first = RegistrationVisit(client, "/velzio/register")
    first.check("first_name", {"first_name": "Ona"})
    first.check("last_name", {"last_name": "Onaitė"})
    second = RegistrationVisit(client, "/velzio/register")
    assert second.marks == ""
    second.check("first_name", {"first_name": "Ona"})
    assert today_of(app) == steps(page_view=2, started=2)


def test_the_page_from_the_page_cache_is_counted(client, app):
    app.config["PAGE_CACHE"] = True
    for _ in range(3):
        html = client.get("/velzio/register", headers={"Accept-Language": "lt"}).get_data(
            as_text=True
        )
        assert marks_in(html) == ""
    assert len(app.extensions["savitarna.pages"]) == 1  # served from the cache twice
    assert today_of(app) == steps(page_view=3)


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("head", {}),
        ("get", {"HX-Request": "true"}),
        ("get", {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}),
        ("get", {"Sec-Purpose": "prefetch"}),
    ],
)
def test_what_is_not_a_page_view(client, app, method, headers):
    response = getattr(client, method)("/velzio/register", headers=headers)
    assert response.status_code == 200
    assert today_of(app) == EMPTY


def test_other_pages_are_not_counted(client, app):
    assert client.get("/velzio/").status_code == 200
    assert client.get("/velzio/register/sent").status_code == 200
    assert today_of(app) == EMPTY


def test_embedded_form_in_english_is_counted_apart(client, app):
    """The same registration from the embedded form in English: every step
    under ("embedded", "en"), the confirmation too (the account remembers)."""
    visit = RegistrationVisit(client, "/velzio/embed/register?lang=en", "en", FRAMED)
    visit.check("first_name", {"first_name": ""})
    assert visit.post(VELZIO_OK).status_code == 303
    RegistrationVisit(client, "/velzio/register", language="lt")

    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == VELZIO_OK["email"]))
        assert (account.funnel_channel, account.language) == ("embedded", "en")
    link = link_in(outbox(app, VELZIO_OK["email"])[-1], "/confirm/")
    assert confirm(client, link).status_code == 303

    assert today_of(app, split=("embedded", "en")) == steps(
        page_view=1, started=1, field_error=1, submitted=1, confirmed=1
    )
    assert today_of(app, split=("direct", "lt")) == steps(page_view=1)
    assert today_of(app, split=("direct", "en")) == EMPTY


def test_the_hidden_input_keeps_only_step_and_field_names(client, app):
    """Whatever is sent in it, the input comes back with known names only: it
    can carry nothing about the person from one request to the next."""
    visit = RegistrationVisit(client, "/velzio/register")
    visit.marks = "ona@example.com started Onaitė email " + "x" * 1000
    visit.check("email", {"email": "ona@"})
    assert visit.marks == "email started"
    assert today_of(app) == steps(page_view=1)  # "started" and the error were already counted


def test_counting_sets_no_cookie(client, app):
    visit = RegistrationVisit(client, "/velzio/register")
    response = visit.check("first_name", {"first_name": "Ona"})
    assert response.headers.getlist("Set-Cookie") == []
    assert today_of(app) == steps(page_view=1, started=1)


def test_no_personal_data_is_stored(client, app):
    """The table has no column a person could be found by, and after a
    registration its rows hold only steps, form names and field names."""
    with app.app_context():
        columns = {column["name"] for column in inspect(db.engine).get_columns("funnel_days")}
    assert columns == {"id", "tenant_id", "day", "channel", "language", "step", "field", "count"}

    visit = RegistrationVisit(client, "/velzio/register")
    visit.check("email", {"email": "ona@"})
    visit.post({**VELZIO_OK, "phone": "123"})
    visit.post(VELZIO_OK)
    with app.app_context():
        rows = db.session.execute(
            select(FunnelDay.channel, FunnelDay.language, FunnelDay.step, FunnelDay.field)
        ).all()
    assert sorted(rows) == [
        ("direct", "lt", "field_error", "email"),
        ("direct", "lt", "field_error", "phone"),
        ("direct", "lt", "page_view", ""),
        ("direct", "lt", "started", ""),
        ("direct", "lt", "submitted", ""),
    ]


# Never in the way


def test_a_count_that_fails_never_fails_the_page(client, app, monkeypatch, caplog):
    monkeypatch.setattr(
        counting, "upsert", lambda rows: text("INSERT INTO no_such_table VALUES (1)")
    )
    with caplog.at_level(logging.ERROR):
        visit = RegistrationVisit(client, "/velzio/register")
        assert visit.response.status_code == 200
        assert visit.check("email", {"email": "ona@"}).status_code == 422
        assert visit.post(VELZIO_OK).status_code == 303
    assert "funnel counts not written (2 dropped)" in caplog.text  # the check's two
    with app.app_context():
        assert db.session.scalar(select(Account).where(Account.email == VELZIO_OK["email"]))


def test_a_count_that_fails_never_fails_the_confirmation_or_the_login(client, app, monkeypatch):
    """The listeners write in the event's transaction, in a savepoint: a
    refused statement (which aborts a PostgreSQL transaction) is undone alone."""
    RegistrationVisit(client, "/velzio/register").post(VELZIO_OK)
    monkeypatch.setattr(
        counting, "upsert", lambda rows: text("INSERT INTO no_such_table VALUES (1)")
    )
    link = link_in(outbox(app, VELZIO_OK["email"])[-1], "/confirm/")
    assert confirm(client, link).status_code == 303
    assert login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"]).status_code == 303
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == VELZIO_OK["email"]))
        assert account.email_confirmed_at is not None
    assert today_of(app) == steps(page_view=1, started=1, submitted=1)


def test_an_account_registered_before_the_funnel_is_not_counted(client, app):
    RegistrationVisit(client, "/velzio/register").post(VELZIO_OK)
    with app.app_context():
        db.session.execute(
            Account.__table__.update().values(funnel_channel=None)  # as migration 0011 left it
        )
        db.session.commit()
    link = link_in(outbox(app, VELZIO_OK["email"])[-1], "/confirm/")
    assert confirm(client, link).status_code == 303
    assert today_of(app)["confirmed"] == 0


def test_the_upsert_counts_every_one_of_simultaneous_counts(app):
    """Threads counting the same row at once: none is lost (SQLite and
    PostgreSQL, ON CONFLICT DO UPDATE)."""
    with app.app_context():
        tenant_id = tenant("velzio").id
    threads, each = 4, 10
    barrier = threading.Barrier(threads)
    failures = []

    def count() -> None:
        with app.app_context():
            barrier.wait()
            for _ in range(each):
                try:
                    counting.add(tenant_id, [("page_view", "")], "direct", "lt")
                    db.session.commit()
                except Exception as exc:  # noqa: BLE001 (collected, asserted below)
                    db.session.rollback()
                    failures.append(exc)

    workers = [threading.Thread(target=count) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert today_of(app) == steps(page_view=threads * each)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(FunnelDay.id))) == 1


def test_the_page_views_of_a_busy_second_are_written_in_one_statement(app):
    """A page view costs no write of its own: the instance gathers the counts
    of FUNNEL_FLUSH_SECONDS and writes them together."""
    app.extensions[counting.TALLY] = counting.Tally(app, 1.0)
    app.test_client_class = None  # a client that does not wait for the writes
    browser = app.test_client()
    with app.app_context():
        engine = db.engine
    writes = []

    def seen(connection, cursor, statement, *args) -> None:
        if statement.startswith("INSERT INTO funnel_days"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        started = time.monotonic()
        for _ in range(6):
            assert browser.get("/velzio/register").status_code == 200
        elapsed = time.monotonic() - started
        assert deferred.wait_idle()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert today_of(app) == steps(page_view=6)
    # One write a second at most: one when the six took less than a second.
    assert 1 <= len(writes) <= 1 + int(elapsed)


STOPPING_INSTANCE = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from pathlib import Path
from support.apps import base_config
from webapp import create_app
app = create_app(base_config(Path(sys.argv[3]), sys.argv[2], FUNNEL_FLUSH_SECONDS=2))
assert app.test_client().get("/velzio/register").status_code == 200
# and the process ends at once, its count not written yet
"""


def test_an_instance_that_stops_writes_the_counts_it_gathered(app, database, tmp_path):
    """A graceful stop (a deploy) loses no count: the thread pool is joined
    when the process exits, and its pending write runs."""
    subprocess.run(  # noqa: S603 (this interpreter, a script of this file)
        [sys.executable, "-c", STOPPING_INSTANCE, str(PROJECT_ROOT), database, str(tmp_path)],
        check=True,
        timeout=60,
    )
    assert today_of(app) == steps(page_view=1)


# Reading it back


def test_a_report_holds_only_its_tenants_rows(client, app):
    RegistrationVisit(client, "/velzio/register")
    RegistrationVisit(client, "/elektrum/register").post({"first_name": ""})
    assert today_of(app, "velzio") == steps(page_view=1)
    elektrum = today_of(app, "elektrum")
    assert elektrum["page_view"] == 1 and elektrum["started"] == 1
    assert elektrum["field_error"] >= 1
    assert field_errors_of(app, "velzio") == {}
    with app.app_context():
        day = utcnow().date()
        velzio = funnel.report(tenant("velzio").id, day, day)
        assert funnel.report_csv(velzio).splitlines() == [
            "period_start,period_end,channel,language,page_view,started,field_error,submitted,"
            "confirmed,first_login",
            f"{day},{day},direct,lt,1,0,0,0,0,0",
        ]


WEDNESDAY = date(2026, 11, 4)


def test_weeks_run_monday_to_sunday_cut_to_the_range(app):
    seed(
        app,
        "velzio",
        [
            (WEDNESDAY, "direct", "lt", "page_view", "", 5),
            (WEDNESDAY + timedelta(days=4), "direct", "lt", "page_view", "", 2),  # Sunday
            (WEDNESDAY + timedelta(days=5), "embedded", "en", "page_view", "", 3),  # Monday
            (WEDNESDAY + timedelta(days=5), "embedded", "en", "started", "", 1),
            (WEDNESDAY + timedelta(days=13), "direct", "lt", "submitted", "", 1),  # Tuesday
            (WEDNESDAY + timedelta(days=14), "direct", "lt", "page_view", "", 9),  # outside
        ],
    )
    seed(app, "elektrum", [(WEDNESDAY, "direct", "lt", "page_view", "", 100)])
    with app.app_context():
        found = funnel.report(
            tenant("velzio").id, WEDNESDAY, WEDNESDAY + timedelta(days=13), "week"
        )
    assert [(p.start.isoformat(), p.end.isoformat()) for p in found.periods] == [
        ("2026-11-04", "2026-11-08"),
        ("2026-11-09", "2026-11-15"),
        ("2026-11-16", "2026-11-17"),
    ]
    assert [p.counts["page_view"] for p in found.periods] == [7, 3, 0]
    assert [p.counts["submitted"] for p in found.periods] == [0, 0, 1]
    assert found.periods[1].conversion("started") == pytest.approx(1 / 3)
    assert found.total.counts["page_view"] == 10
    assert found.splits == [("embedded", "en"), ("direct", "lt")]


def test_by_day_every_day_has_its_row(app):
    seed(app, "velzio", [(WEDNESDAY + timedelta(days=1), "direct", "lt", "page_view", "", 4)])
    with app.app_context():
        found = funnel.report(tenant("velzio").id, WEDNESDAY, WEDNESDAY + timedelta(days=2))
    assert [(p.start, p.counts["page_view"]) for p in found.periods] == [
        (WEDNESDAY, 0),
        (WEDNESDAY + timedelta(days=1), 4),
        (WEDNESDAY + timedelta(days=2), 0),
    ]


@pytest.mark.parametrize(
    ("start", "end", "by"),
    [
        (WEDNESDAY, WEDNESDAY - timedelta(days=1), "day"),
        (WEDNESDAY, WEDNESDAY, "month"),
        (WEDNESDAY, WEDNESDAY + timedelta(days=400), "day"),
    ],
)
def test_a_report_that_cannot_be_asked(app, start, end, by):
    with app.app_context(), pytest.raises(ValueError):
        funnel.report(tenant("velzio").id, start, end, by)


def seed_two_weeks(app) -> None:
    seed(
        app,
        "velzio",
        [
            (WEDNESDAY, "direct", "lt", "page_view", "", 10),
            (WEDNESDAY, "direct", "lt", "started", "", 6),
            (WEDNESDAY, "direct", "lt", "field_error", "email", 2),
            (WEDNESDAY, "direct", "lt", "submitted", "", 4),
            (WEDNESDAY + timedelta(days=5), "embedded", "en", "page_view", "", 3),
            (WEDNESDAY + timedelta(days=5), "embedded", "en", "field_error", "phone", 1),
            (WEDNESDAY + timedelta(days=6), "direct", "lt", "confirmed", "", 3),
            (WEDNESDAY + timedelta(days=6), "direct", "lt", "first_login", "", 2),
        ],
    )


def test_csv_has_a_row_per_week_form_and_language(app):
    seed_two_weeks(app)
    with app.app_context():
        found = funnel.report(tenant("velzio").id, WEDNESDAY, WEDNESDAY + timedelta(days=6), "week")
    assert funnel.report_csv(found).splitlines() == [
        "period_start,period_end,channel,language,page_view,started,field_error,submitted,"
        "confirmed,first_login,field_error:email,field_error:phone",
        "2026-11-04,2026-11-08,embedded,en,0,0,0,0,0,0,0,0",
        "2026-11-04,2026-11-08,direct,lt,10,6,2,4,0,0,2,0",
        "2026-11-09,2026-11-10,embedded,en,3,0,1,0,0,0,0,1",
        "2026-11-09,2026-11-10,direct,lt,0,0,0,0,3,2,0,0",
    ]


def test_the_chart_is_an_accessible_svg(app):
    seed_two_weeks(app)
    with app.test_request_context("/"), force_locale("en"):
        found = funnel.report(tenant("velzio").id, WEDNESDAY, WEDNESDAY + timedelta(days=6), "week")
        svg = str(funnel.chart_svg(found, id_prefix="c"))
    root = ET.fromstring(svg)  # noqa: S314 (our own markup)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title"
    assert root.get("aria-describedby") == "c-desc"
    assert root.find(f"{ns}title").text == "Registration funnel"
    assert root.find(f"{ns}title").get("id") == "c-title"
    desc = root.find(f"{ns}desc")
    assert desc.get("id") == "c-desc"
    assert desc.text == (
        "Registrations from 2026-11-04 to 2026-11-10, by week: Opened the registration page 13,"
        " Started filling in 6, Submitted the form 4, Confirmed the email address 3,"
        " Logged in for the first time 2."
    )
    # No script and no style attribute: the CSP allows neither inline.
    assert root.find(f".//{ns}script") is None
    assert all("style" not in element.attrib for element in root.iter())
    # Each bar's number is written as text, not only drawn.
    numbers = [t.text for t in root.iter(f"{ns}text")]
    assert numbers.count("10") == 1 and numbers.count("3") == 2


def test_a_long_chart_stays_readable(app):
    """Ninety days: the chart keeps to a page's width, writes no numbers on
    bars too narrow for them (the table has them) and labels some days only."""
    seed(app, "velzio", [(WEDNESDAY, "direct", "lt", "page_view", "", 1234)])
    with app.test_request_context("/"), force_locale("en"):
        found = funnel.report(tenant("velzio").id, WEDNESDAY, WEDNESDAY + timedelta(days=89))
        root = ET.fromstring(str(funnel.chart_svg(found)))  # noqa: S314 (our own markup)
    ns = "{http://www.w3.org/2000/svg}"
    assert int(root.get("width")) <= 960
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "1234" not in texts
    labels = texts[len(PATH) :]  # after the legend: no numbers, only some days
    assert labels[0] == "11-04" and 5 < len(labels) < 45
    assert all(re.fullmatch(r"\d\d-\d\d", label) for label in labels)
    assert len(root.findall(f"{ns}rect")) == 1 + len(PATH) + 90 * len(PATH)


def test_the_charts_colours_stand_out_of_its_background():
    for colour in COLOURS.values():
        assert contrast_ratio(colour, BACKGROUND) >= 3, colour
    assert contrast_ratio(AXIS, BACKGROUND) >= 3
    assert contrast_ratio(TEXT, BACKGROUND) >= 4.5


@pytest.mark.parametrize(
    ("language", "caption", "header", "total"),
    [
        (
            "en",
            "Registration funnel by week, 2026-11-04 to 2026-11-10",
            "Started filling in",
            "Total",
        ),
        (
            "lt",
            "Registracijos piltuvas pagal savaites, 2026-11-04–2026-11-10",
            "Pradėjo pildyti",
            "Iš viso",
        ),
    ],
)
def test_the_report_partial_has_the_chart_and_its_table(app, language, caption, header, total):
    seed_two_weeks(app)
    with app.test_request_context("/"), force_locale(language):
        found = funnel.report(tenant("velzio").id, WEDNESDAY, WEDNESDAY + timedelta(days=6), "week")
        html = render_template("funnel/_report.html", report=found, csv_url="/x.csv")
    tree = parse_html(html)
    periods = tree.find(".//table[@id='funnel-periods']")
    assert periods.find("caption").text.strip() == caption
    heads = periods.findall("thead/tr/th")
    assert all(th.get("scope") == "col" for th in heads)
    assert header in [th.text for th in heads]
    rows = periods.findall("tbody/tr")
    assert [row.find("th").get("scope") for row in rows] == ["row", "row"]
    assert [td.text.strip() for td in rows[0].findall("td")][:4] == ["10", "6", "4", "0"]
    assert periods.find("tfoot/tr/th").text == total
    assert tree.find(".//svg") is not None or "<svg" in html
    assert 'role="img"' in html and '<title id="funnel-chart-title">' in html
    splits = tree.find(".//table[@id='funnel-splits']")
    assert [row.find("th").get("scope") for row in splits.findall("tbody/tr")] == ["row", "row"]
    fields = tree.find(".//table[@id='funnel-fields']")
    assert [
        (row.find("th/code").text, row.find("td").text) for row in fields.findall("tbody/tr")
    ] == [
        ("email", "2"),
        ("phone", "1"),
    ]
    assert tree.find(".//a[@href='/x.csv']") is not None


def test_an_empty_report_says_so(app):
    with app.test_request_context("/"), force_locale("en"):
        found = funnel.report(tenant("velzio").id, WEDNESDAY, WEDNESDAY)
        html = render_template("funnel/_report.html", report=found)
    assert "Nothing was counted in this period." in html
    assert "No field errors in this period." in html
    assert "download" not in html


# The command line


def test_cli_prints_the_table_and_the_csv(app, client):
    RegistrationVisit(client, "/velzio/register").post({**VELZIO_OK, "email": "ona@"})
    runner = app.test_cli_runner()
    table = runner.invoke(args=["funnel", "report", "velzio", "--days", "3"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["day", *counting.STEPS]
    assert len(lines) == 1 + 3 + 1 + 1  # header, three days, total, the field's errors
    today = utcnow().date().isoformat()
    assert lines[3].split() == [today, "1", "1", "1", "0", "0", "0"]
    assert lines[4].split() == ["total", "1", "1", "1", "0", "0", "0"]
    assert lines[5] == "field_error email: 1"

    weeks = runner.invoke(
        args=["funnel", "report", "velzio", "--days", "14", "--by", "week", "--csv"]
    )
    assert weeks.exit_code == 0, weeks.output
    csv_lines = weeks.output.splitlines()
    assert csv_lines[0].startswith("period_start,period_end,channel,language,page_view")
    assert csv_lines[-1].endswith(f",{today},direct,lt,1,1,1,0,0,0,1")

    unknown = runner.invoke(args=["funnel", "report", "nosuch"])
    assert unknown.exit_code != 0 and "no tenant 'nosuch'" in unknown.output

"""Counting the funnel's steps: one atomic upsert into funnel_days per count,
`INSERT … ON CONFLICT DO UPDATE SET count = count + 1` (SQLite and PostgreSQL
alike), so two requests counting the same row at once both count.

What is counted, and where:
- page_view: the full-page GET of the registration page that answered 200
  (not HEAD, not an htmx fragment, not a 304, not a browser that calls itself
  a bot): an after_request hook, in its own short transaction (the GET has
  nothing else to commit).
- started: the first live check of a page view. The page carries its own
  state in a hidden input (`funnel`, see templates/funnel/_marks.html): the
  first live check's answer sets it to "started" (an htmx out-of-band swap),
  so later checks and the submit send it back and are not counted again. A
  page reloaded is a new page view with an empty input. Without JavaScript
  there is no live check: a POST arriving without "started" counts as started.
- field_error: per field that failed, on a live check and on the submit (a
  field once per request). The hidden input also keeps the fields whose live
  error has been counted until the field passes a check again, so the checks
  sent while a person types into a field that shows its error (static/js/app.js
  "revalidate") count that error once.
- submitted: the full POST that passed validation, in the same commit as the
  registration's job.
- confirmed and first_login: listeners of account.email_confirmed and of the
  first login.succeeded of an account (the audit log holds its earlier
  logins), inside that event's transaction. They are counted under the
  channel and language of the registration that made the account
  (Account.registered_via, Account.language) and on the day they happen.

Nothing here is personal: a row is (tenant, UTC day, channel, language, step,
field, count). No cookie is set, no address, id or user agent kept. A count
that cannot be written is logged and dropped: it never fails a registration."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import current_app, g, request
from flask_babel import get_locale
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..htmx import wants_fragment
from ..models import Account, AuditEvent, FunnelDay, utcnow

STEPS = ("page_view", "started", "field_error", "submitted", "confirmed", "first_login")
CHANNELS = ("embedded", "direct")
REGISTER_ENDPOINT = "registration.register"
STARTED = "started"
# Browsers that say what they are: crawlers, link previews, uptime checks.
BOT_RE = re.compile(r"bot\b|bot/|crawl|spider|slurp|preview|monitor|facebookexternalhit", re.I)
KEY = ("tenant_id", "day", "channel", "language", "step", "field")
MARKS_MAX_LENGTH = 500


def upsert(rows: Iterable[dict]):
    """One INSERT … ON CONFLICT DO UPDATE for `rows` (each a KEY mapping): a
    new row starts at 1, an existing one grows by 1."""
    values = [{"field": "", **row, "count": 1} for row in rows]
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(FunnelDay).values(values)
    return statement.on_conflict_do_update(
        index_elements=list(KEY), set_={"count": FunnelDay.count + statement.excluded.count}
    )


def add(tenant_id: int, steps: Iterable[tuple[str, str]], channel: str, language: str) -> None:
    """Add 1 to each (step, field) of today, in the caller's transaction."""
    day = utcnow().date()
    rows = [
        {
            "tenant_id": tenant_id,
            "day": day,
            "channel": channel,
            "language": language,
            "step": step,
            "field": field,
        }
        for step, field in dict.fromkeys(steps)
    ]
    if rows:
        db.session.execute(upsert(rows))


def _add_safely(tenant_id: int, steps: list[tuple[str, str]], *, commit: bool) -> None:
    """add() for this request's channel and language; a failure is logged and
    rolled back (the request has written nothing else yet), never raised."""
    try:
        add(tenant_id, steps, channel(), language())
        if commit:
            db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("funnel count not written")


def channel() -> str:
    return "embedded" if g.get("embed") else "direct"


def language() -> str:
    current = str(get_locale())
    languages = current_app.config["LANGUAGES"]
    return current if current in languages else languages[0]


# The page


def count_page_view(response):
    """after_request: a registration page shown in full counts once."""
    if (
        request.endpoint == REGISTER_ENDPOINT
        and request.method == "GET"
        and response.status_code == 200
        and "tenant" in g
        and not wants_fragment()
        and not BOT_RE.search(request.user_agent.string or "")
    ):
        _add_safely(g.tenant.id, [("page_view", "")], commit=True)
    return response


def marks_of(form) -> set[str]:
    """What the page's hidden input says was counted in this page view: "started"
    and the fields whose live error was counted; anything else is dropped."""
    sent = request.form.get("funnel", "")[:MARKS_MAX_LENGTH].split()
    known = {STARTED, *form._fields}
    return {mark for mark in sent if mark in known}


def _keep(marks: set[str]) -> str:
    """The hidden input's next value (templates/funnel/_marks.html reads it)."""
    g.funnel_marks = " ".join(sorted(marks))
    return g.funnel_marks


def count_live_check(form, field: str, ok: bool) -> str:
    """One live check of `field`: started if it is the page view's first, its
    error if it failed and was not counted yet; in its own short transaction.
    Returns the hidden input's new value, for the answer to swap in."""
    marks = marks_of(form)
    steps = []
    if STARTED not in marks:
        steps.append(("started", ""))
        marks.add(STARTED)
    if ok:
        marks.discard(field)
    elif field not in marks:
        steps.append(("field_error", field))
        marks.add(field)
    if steps:
        _add_safely(g.tenant.id, steps, commit=True)
    return _keep(marks)


def _posted(form) -> tuple[set[str], list[tuple[str, str]]]:
    marks = marks_of(form)
    steps = [] if STARTED in marks else [("started", "")]
    return marks | {STARTED}, steps


def count_submitted(form) -> None:
    """A POST that passed validation: submitted (and started, without
    JavaScript). Not committed here: the view's job commit carries it."""
    marks, steps = _posted(form)
    _add_safely(g.tenant.id, [*steps, ("submitted", "")], commit=False)
    _keep(marks)


def count_refused(form) -> None:
    """A POST that failed validation: each failed field once (and started,
    without JavaScript), in its own short transaction."""
    marks, steps = _posted(form)
    failed = [name for name in form.errors if name != "csrf_token"]
    steps += [("field_error", name) for name in failed]
    _add_safely(g.tenant.id, steps, commit=True)
    _keep(marks | set(failed))


# After the form: listeners of events.emit, inside the event's transaction


def _add_for_account(tenant_id: int, account: Account | None, step: str) -> None:
    if account is None:
        return
    languages = current_app.config["LANGUAGES"]
    language = account.language if account.language in languages else languages[0]
    add(tenant_id, [(step, "")], account.registered_via or "direct", language)


def on_confirmed(tenant_id: int, *, account: Account | None, account_id: int | None) -> None:
    """account.email_confirmed (also a business account's activation)."""
    _add_for_account(tenant_id, account or _account(account_id), "confirmed")


def on_login(tenant_id: int, *, account: Account | None, account_id: int | None) -> None:
    """login.succeeded: counted when it is the account's first (its audit row,
    just added, is the only login_succeeded the account has)."""
    account = account or _account(account_id)
    if account is None:
        return
    logins = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.tenant_id == tenant_id,
            AuditEvent.account_id == account.id,
            AuditEvent.event == "login_succeeded",
        )
    )
    if logins == 1:
        _add_for_account(tenant_id, account, "first_login")


def _account(account_id: int | None) -> Account | None:
    return db.session.get(Account, account_id) if account_id is not None else None

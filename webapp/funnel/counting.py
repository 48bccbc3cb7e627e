"""Counting the funnel's steps: one atomic upsert into funnel_days per count,
`INSERT … ON CONFLICT DO UPDATE SET count = count + excluded.count` (SQLite and
PostgreSQL alike), so two requests counting the same row at once both count.

What is counted, and where:
- page_view: the full-page GET of the registration page that answered 200
  (not HEAD, not an htmx fragment, not a 304, not a prefetch, not a browser
  that calls itself a bot). An after_request hook, so a page served from the
  page cache (webapp/pagecache.py) counts the same as one rendered.
- started: the first live check of a form instance (a page view). The page
  carries its own state in hidden inputs (all named `funnel`, see
  templates/funnel/_marks.html): the first live check's answer sets the
  "started" one (an htmx out-of-band swap), so later checks and the submit
  send it back and are not counted again; static/js/app.js also sets it as the
  first check leaves, so checks sent together (a browser's autofill changes
  several fields at once) count once. A page reloaded is a new page view with
  empty inputs (autocomplete="off": no browser puts the old values back).
  Without JavaScript there is no live check: a POST arriving without "started"
  counts as started.
- field_error: per field that failed, on a live check and on the submit (a
  field once per request; on the submit, not a field already showing the
  error its live check counted). Each field has its own hidden input, set while its
  counted error shows and emptied when the field passes a check, so the checks
  sent while a person types into a field that shows its error (static/js/app.js
  "revalidate") count that error once, and the answers of checks of other
  fields sent at the same time leave it alone.
- submitted: the full POST that passed validation.
- confirmed and first_login: listeners of account.email_confirmed and of
  login.succeeded, inside that event's transaction (a savepoint). They are
  counted under the form and language of the registration that made the
  account (Account.funnel_channel, Account.language) and on the day they
  happen. The first login empties Account.funnel_channel with a conditional
  UPDATE, so it is counted once, even for two logins at the same moment, and
  no later login costs more than that one UPDATE's look at the account; an
  account registered before the funnel counted (no funnel_channel) is left
  out, so every confirmation counted belongs to a registration counted.

The request's counts never hold up its answer: the after_request hook adds
them to the instance's tally (Tally, in memory), and the first count of a
quiet moment schedules one write, off the request's thread (webapp/deferred.py),
FUNNEL_FLUSH_SECONDS later, of every count gathered by then: one statement in
its own short transaction for any number of page views. Before, each page view
and live check wrote and committed its own row, and on PostgreSQL the
requests of one busy day queued on that row's lock (`make bench`: the live
check at 8 clients ran at 157 requests a second). Counts an instance has not
written when it is killed (SIGKILL, a crash) are lost, at most that long; a
graceful stop writes them (the thread pool is joined at exit).

Nothing here is personal: a row is (tenant, UTC day, channel, language,
step, field, count). No cookie is set, no address, id, user agent or form value
kept; the hidden input holds only field names and "started". A count that
cannot be written is logged and dropped: it never fails a page or a login."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterable

from flask import current_app, g, request
from flask_babel import get_locale
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import deferred
from ..extensions import db
from ..htmx import wants_fragment
from ..models import Account, FunnelDay, utcnow

STEPS = ("page_view", "started", "field_error", "submitted", "confirmed", "first_login")
CHANNELS = ("embedded", "direct")
REGISTER_ENDPOINT = "registration.register"
STARTED = "started"
# Browsers that say what they are: crawlers, link previews, uptime checks.
BOT_RE = re.compile(r"bot\b|bot/|crawl|spider|slurp|preview|monitor|facebookexternalhit", re.I)
KEY = ("tenant_id", "day", "channel", "language", "step", "field")
MARKS_MAX_LENGTH = 500
# This request's counts, written by the after_request hook (count_request).
PENDING = "funnel_pending"


def upsert(rows: Iterable[dict]):
    """One INSERT … ON CONFLICT DO UPDATE for `rows` (each a KEY mapping, with
    its `count`, 1 when it has none): a new row starts at its count, an existing
    one grows by it."""
    values = [{"field": "", "count": 1, **row} for row in rows]
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(FunnelDay).values(values)
    return statement.on_conflict_do_update(
        index_elements=list(KEY), set_={"count": FunnelDay.count + statement.excluded.count}
    )


def add(tenant_id: int, steps: Iterable[tuple[str, str]], channel: str, language: str) -> None:
    """Add 1 to each (step, field) of today, in the caller's transaction. The
    rows go in key order, so two transactions lock them in the same order (no
    deadlock on PostgreSQL), each once (ON CONFLICT may touch a row once)."""
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
        for step, field in sorted(set(steps))
    ]
    if rows:
        db.session.execute(upsert(rows))


def channel() -> str:
    return "embedded" if g.get("embed") else "direct"


def language() -> str:
    current = str(get_locale())
    languages = current_app.config["LANGUAGES"]
    return current if current in languages else languages[0]


def _pending() -> list[tuple[str, str]]:
    if PENDING not in g:
        g.funnel_pending = []
    return g.funnel_pending


# The request: the views say what happened, the after_request hook writes it.


def count_request(response):
    """after_request: count this request's steps (a page view of the
    registration page, or what its views noted) after the answer. Never
    raises, never changes the response."""
    try:
        steps = list(g.get(PENDING, ()))
        if _is_page_view(response):
            steps.append(("page_view", ""))
        if steps and "tenant" in g and not _from_a_robot():
            _tally(g.tenant.id, steps, channel(), language())
    except Exception:  # the page goes out whatever the count does
        current_app.logger.exception("funnel count not scheduled")
    return response


def _is_page_view(response) -> bool:
    return (
        request.endpoint == REGISTER_ENDPOINT
        and request.method == "GET"
        and response.status_code == 200
        and not wants_fragment()
        and "prefetch" not in request.headers.get("Sec-Purpose", "")
        and "prefetch" not in request.headers.get("Purpose", "")
    )


def _from_a_robot() -> bool:
    return bool(BOT_RE.search(request.user_agent.string or ""))


def _tally(tenant_id: int, steps: list[tuple[str, str]], channel: str, language: str):
    """Add this request's steps to the instance's tally (written by Tally)."""
    day = utcnow().date()
    tally(current_app).add(
        (tenant_id, day, channel, language, step, field) for step, field in set(steps)
    )


# The instance's tally: counts gathered, then written in one statement


TALLY = "savitarna.funnel_tally"


def tally(app) -> Tally:
    return app.extensions[TALLY]


class Tally:
    """This instance's counts not written yet, by funnel row (KEY's values).
    The first count after a write schedules the next, FUNNEL_FLUSH_SECONDS
    later; it takes everything gathered by then."""

    def __init__(self, app, delay: float):
        self.app, self.delay = app, max(0.0, delay)
        self.lock = threading.Lock()
        self.counts: Counter[tuple] = Counter()
        self.scheduled = False

    def add(self, rows: Iterable[tuple]) -> None:
        with self.lock:
            self.counts.update(rows)
            if self.scheduled:
                return
            self.scheduled = True
        try:
            deferred.off_thread(self.write_later)
        except BaseException:  # no thread to be had (shutting down): the next count tries
            with self.lock:
                self.scheduled = False
            raise

    def write_later(self) -> None:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            counts, self.counts, self.scheduled = self.counts, Counter(), False
        if counts:
            self.write(counts)

    def write(self, counts: Counter[tuple]) -> None:
        """One upsert of `counts`, its rows in key order, so two instances
        writing at once lock them in the same order (no deadlock)."""
        ordered = sorted(counts.items())
        rows = [{**dict(zip(KEY, key, strict=True)), "count": n} for key, n in ordered]
        with self.app.app_context():
            try:
                db.session.execute(upsert(rows))
                db.session.commit()
            except Exception:
                db.session.rollback()
                self.app.logger.exception(
                    "funnel counts not written (%d dropped)", sum(counts.values())
                )


def fields_of(form) -> list[str]:
    """The fields whose marks the page holds (templates/funnel/_marks.html)."""
    return [name for name in form._fields if name != "csrf_token"]


def marks_of(form) -> set[str]:
    """What the page's hidden inputs say was counted in this page view: "started"
    and the fields whose live error was counted; anything else is dropped."""
    sent = " ".join(request.form.getlist("funnel"))[:MARKS_MAX_LENGTH].split()
    known = {STARTED, *fields_of(form)}
    return {mark for mark in sent if mark in known}


def _keep(marks: set[str]) -> str:
    """The hidden inputs' next values (templates/funnel/_marks.html reads them)."""
    g.funnel_marks = " ".join(sorted(marks))
    return g.funnel_marks


def count_live_check(form, field: str, ok: bool) -> str:
    """One live check of `field`: started if it is the page view's first, its
    error if it failed and was not counted yet. Returns the hidden input's new
    value, for the answer to swap in."""
    marks = marks_of(form)
    if STARTED not in marks:
        _pending().append(("started", ""))
        marks.add(STARTED)
    if ok:
        marks.discard(field)
    elif field not in marks:
        _pending().append(("field_error", field))
        marks.add(field)
    return _keep(marks)


def _posted(form) -> set[str]:
    marks = marks_of(form)
    if STARTED not in marks:
        _pending().append(("started", ""))
    return marks | {STARTED}


def count_submitted(form) -> None:
    """A POST that passed validation: submitted (and started, without
    JavaScript)."""
    marks = _posted(form)
    _pending().append(("submitted", ""))
    _keep(marks)


def count_refused(form) -> None:
    """A POST that failed validation: each failed field whose error the page
    did not show already (and started, without JavaScript). The page that
    comes back marks the fields that show an error now, and only those."""
    marks = _posted(form)
    failed = {name for name in form.errors if name in form._fields and name != "csrf_token"}
    _pending().extend(("field_error", name) for name in sorted(failed - marks))
    _keep({STARTED} | failed)


# After the form: listeners of events.emit, inside the event's transaction


def _in_savepoint(work) -> None:
    """Run `work` in a savepoint of the event's transaction: a count that
    fails is rolled back alone and logged; the event goes on."""
    try:
        with db.session.begin_nested():
            work()
    except Exception:
        current_app.logger.exception("funnel count not written")


def _add_for(tenant_id: int, account: Account, step: str, channel: str) -> None:
    languages = current_app.config["LANGUAGES"]
    language = account.language if account.language in languages else languages[0]
    add(tenant_id, [(step, "")], channel, language)


def _counted(account: Account | None) -> bool:
    """Whether the account's registration was counted (see the docstring)."""
    return account is not None and account.funnel_channel in CHANNELS


def on_confirmed(tenant_id: int, *, account: Account | None, account_id: int | None) -> None:
    """account.email_confirmed (also a business account's activation)."""
    account = account or _account(account_id)
    if _counted(account):
        channel = account.funnel_channel
        _in_savepoint(lambda: _add_for(tenant_id, account, "confirmed", channel))


def on_login(tenant_id: int, *, account: Account | None, account_id: int | None) -> None:
    """login.succeeded: counted when it is the account's first (the one whose
    UPDATE empties its funnel_channel)."""
    account = account or _account(account_id)
    if not _counted(account):
        return
    channel = account.funnel_channel

    def count_if_first() -> None:
        first = db.session.execute(
            update(Account)
            .where(Account.id == account.id, Account.funnel_channel == channel)
            .values(funnel_channel=None)
        )
        if first.rowcount == 1:
            _add_for(tenant_id, account, "first_login", channel)

    _in_savepoint(count_if_first)


def _account(account_id: int | None) -> Account | None:
    return db.session.get(Account, account_id) if account_id is not None else None

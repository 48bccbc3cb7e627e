"""Races a person starts without meaning to: a double-clicked "Registruotis", one
confirmation link opened in two tabs, one activation link used on two devices.

Each race is real: N threads, each with its own test client (so its own cookies,
its own application context, its own database session and connection), wait at
a threading.Barrier and send their requests at the same moment. The app runs in
the calling thread, so the requests run in parallel against the database (SQLite,
and PostgreSQL when TEST_DATABASE_URL is set). Every race is repeated for several
rounds, and each round checks that its requests were in flight at the same time,
so a pass is not the luck of requests that happened to run one after another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import func, select, update
from support.apps import ServerLikeClient, tenant
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import csrf_from, submit
from support.mail import link_in, outbox
from support.texts import expected, gettext_in

from webapp.extensions import db
from webapp.models import Account, AuditEvent, Token, utcnow
from webapp.registration import flows


@dataclass
class Outcome:
    value: object
    started: float
    finished: float


def race(works: list[Callable[[], object]]) -> list[Outcome]:
    """Run each of `works` in a thread of its own, all released together; return
    their results in order. An exception in any thread fails the test."""
    n = len(works)
    barrier = threading.Barrier(n)
    outcomes: list[Outcome | None] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        started = time.perf_counter()
        try:
            value = works[i]()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
            return
        outcomes[i] = Outcome(value, started, time.perf_counter())

    threads = [threading.Thread(target=run, args=(i,), name=f"race-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racing request hung"
    if errors:
        raise errors[0]
    return outcomes


def overlapped(outcomes: list[Outcome]) -> bool:
    """Whether every request was in flight at one common moment."""
    return max(o.started for o in outcomes) < min(o.finished for o in outcomes)


def browser(app, address: str):
    """A client of its own (not thread-safe to share), as one browser tab. Like
    a server, it finishes the work it does after its answers (registration, mail)
    before the test looks."""
    app.test_client_class = ServerLikeClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# --- (a) a double-clicked "Registruotis" ------------------------------------------------

FORMS = {"velzio": VELZIO_OK, "elektrum": ELEKTRUM_OK}


@pytest.mark.parametrize("slug", ["velzio", "elektrum"])
def test_double_clicked_register_makes_one_account_and_one_email(app, slug, caplog):
    """2 to 8 identical POSTs of one form, from one browser session (same cookie,
    same CSRF token), at once: one account, one email, and every click gets the
    same "check your email" redirect, never a 500.

    Guards registration/flows.py register_customer (which runs after the answer):
    the unique constraint uq_accounts_tenant_email and the `except IntegrityError`
    after the flush (without it the losers' work fails with an error), and only
    the request that created the account writes an email (a click that finds
    the account made a moment ago by its twin must not send "you already have an
    account")."""
    # Several clicks of one person may pass the per-account registration limit
    # (5 an hour), which is its job (tests/test_rate_limits.py); here it would
    # only turn the eighth click's answer into a 429.
    app.config["RATELIMIT_REGISTER_ACCOUNT"] = "1000 per hour"
    rounds = []
    for n in range(2, 9):
        email = f"spragt{n}.{slug}@example.com"
        address = f"10.{n}.0.1"  # another customer each round: the IP limit stays out of it
        first = browser(app, address)
        page = first.get(f"/{slug}/register", headers={"Accept-Language": "lt"})
        data = {**FORMS[slug], "email": email, "csrf_token": csrf_from(page.get_data(as_text=True))}
        cookie = first.get_cookie(app.config["SESSION_COOKIE_NAME"])
        clicks = []
        for _ in range(n):
            tab = browser(app, address)
            tab.set_cookie(cookie.key, cookie.value)
            clicks.append(tab)

        caplog.clear()
        with caplog.at_level("ERROR"):
            outcomes = race([partial(tab.post, f"/{slug}/register", data=data) for tab in clicks])
        assert "work after the response failed" not in caplog.text

        answers = [(o.value.status_code, o.value.headers.get("Location")) for o in outcomes]
        assert answers == [(303, f"/{slug}/register/sent")] * n, answers
        with app.app_context():
            accounts = db.session.scalar(
                select(func.count()).select_from(Account).where(Account.email == email)
            )
        assert accounts == 1, f"{n} clicks made {accounts} accounts"
        kinds = [m.kind for m in outbox(app, email)]
        assert kinds == ["activate" if slug == "elektrum" else "confirm"], (n, kinds)
        rounds.append(overlapped(outcomes))
    assert all(rounds), f"the clicks did not run at the same time in rounds {rounds}"


def test_a_later_repeat_gets_its_own_link(app):
    """The double-click rule (the same form post again within REPEAT_SECONDS of
    an unconfirmed registration sends nothing) does not silence a real second
    try later: it gets a confirmation link of its own."""
    client = browser(app, "10.99.0.1")
    assert submit(client, "/velzio/register", VELZIO_OK).status_code == 303
    with app.app_context():
        db.session.execute(
            update(Token).values(created_at=utcnow() - timedelta(seconds=flows.REPEAT_SECONDS + 1))
        )
        db.session.commit()
    assert submit(client, "/velzio/register", VELZIO_OK).status_code == 303
    kinds = [m.kind for m in outbox(app, VELZIO_OK["email"])]
    assert kinds == ["confirm", "confirm"]


# --- (b) one confirmation link opened twice at once ---------------------------------------


def registered_velzio(app, email: str) -> str:
    """A residential registration; the path of its confirmation link."""
    client = browser(app, "10.200.0.1")
    response = submit(client, "/velzio/register", {**VELZIO_OK, "email": email})
    assert response.status_code == 303
    [message] = outbox(app, email)
    return link_in(message, "/velzio/confirm/")


def flash_after(client, response) -> str:
    """The page the redirect leads to, as the browser then shows it."""
    assert response.status_code == 303, response.status_code
    return client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_confirmation_link_opened_at_once_confirms_once(app, n):
    """N tabs show one confirmation link and press its button at the same moment:
    one says "confirmed", the others "already confirmed" (the friendly used-link
    answer), one audit event.

    Guards security.py consume_token: `Token.used_at.is_(None)` in its conditional
    UPDATE. Without it every tab that read the token before the winner committed
    says "confirmed"."""
    confirmed = expected(app, "EMAIL_CONFIRMED")
    already = expected(app, "EMAIL_ALREADY_CONFIRMED")
    rounds = []
    for round_ in range(5):
        email = f"du.langai.{n}.{round_}@example.com"
        link = registered_velzio(app, email)
        tabs = [browser(app, f"10.100.{round_}.{i + 1}") for i in range(n)]
        buttons = [{"csrf_token": csrf_from(tab.get(link).get_data(as_text=True))} for tab in tabs]

        presses = zip(tabs, buttons, strict=True)
        outcomes = race([partial(tab.post, link, data=button) for tab, button in presses])

        pages = [flash_after(tab, o.value) for tab, o in zip(tabs, outcomes, strict=True)]
        said = sorted(
            "confirmed" if confirmed in page else "already" if already in page else "?"
            for page in pages
        )
        assert said == ["already"] * (n - 1) + ["confirmed"], said
        with app.app_context():
            found = db.session.scalar(select(Account).where(Account.email == email))
            assert found.email_confirmed_at is not None
            token = db.session.scalar(select(Token).where(Token.account_id == found.id))
            assert token.used_at is not None
            events = db.session.scalars(
                select(AuditEvent.event).where(AuditEvent.account_id == found.id)
            ).all()
        assert sorted(events) == ["confirmed", "registered"], events
        rounds.append(overlapped(outcomes))
    assert all(rounds), f"the tabs did not run at the same time in rounds {rounds}"


# --- (c) one activation link used on two devices at once ----------------------------------


def verifies(stored: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(stored, password)
    except VerificationError:
        return False


@pytest.mark.parametrize("n", [2, 3])
def test_activation_link_posted_at_once_sets_one_password(app, n):
    """The Elektrum activation link open on N devices, each saving a different
    password at the same moment: exactly one is saved and logged in, the others
    get the friendly "this link no longer works" page (410), never a 500.

    Guards security.py consume_token (the conditional UPDATE that set_password_
    from_link in auth/flows.py relies on): without it every device "wins", and
    the stored hash is whichever committed last."""
    invalid_title = gettext_in(app, "This link no longer works")
    rounds = []
    for round_ in range(5):
        email = f"du.irenginiai.{n}.{round_}@example.com"
        registering = browser(app, "10.201.0.1")
        response = submit(registering, "/elektrum/register", {**ELEKTRUM_OK, "email": email})
        assert response.status_code == 303
        link = link_in(outbox(app, email)[-1], "/elektrum/activate/")
        passwords = [f"Stipru5Slaptaz{round_}{i}" for i in range(n)]
        devices = [browser(app, f"10.101.{round_}.{i + 1}") for i in range(n)]
        forms = []
        for device, password in zip(devices, passwords, strict=True):
            page = device.get(link, headers={"Accept-Language": "lt"})
            assert page.status_code == 200  # opening the link does not use it
            forms.append(
                {
                    "csrf_token": csrf_from(page.get_data(as_text=True)),
                    "password": password,
                    "password2": password,
                }
            )

        outcomes = race(
            [partial(d.post, link, data=f) for d, f in zip(devices, forms, strict=True)]
        )

        statuses = [o.value.status_code for o in outcomes]
        assert sorted(statuses) == [303] + [410] * (n - 1), statuses
        winner = statuses.index(303)
        # Elektrum requires a second factor: the winner goes on to set it up.
        assert outcomes[winner].value.headers["Location"] == "/elektrum/login/second-factor"
        for i, outcome in enumerate(outcomes):
            if i != winner:
                assert invalid_title in outcome.value.get_data(as_text=True)
        # Only the winner's login waits for its second step; nobody is logged in yet.
        steps = [device.get("/elektrum/login/second-factor").status_code for device in devices]
        assert steps == [200 if i == winner else 303 for i in range(n)], steps
        with app.app_context():
            found = db.session.scalar(
                select(Account).where(
                    Account.tenant_id == tenant("elektrum").id, Account.email == email
                )
            )
            matches = [verifies(found.password_hash, p) for p in passwords]
            events = db.session.scalars(
                select(AuditEvent.event).where(AuditEvent.account_id == found.id)
            ).all()
        assert matches == [i == winner for i in range(n)], matches
        # One of each; the login is recorded once its second step is passed.
        expected = ["confirmed", "password_changed", "registered"]
        assert sorted(events) == expected, events
        rounds.append(overlapped(outcomes))
    assert all(rounds), f"the devices did not run at the same time in rounds {rounds}"

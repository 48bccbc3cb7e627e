"""No account enumeration: registration, forgot password and 'send again' answer
the same for known and unknown emails, in content and in the work done before
the answer (the cause of timing differences). The measured times are printed by
`make bench` (bench/enumeration.py)."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import csrf_from, submit, without_csrf
from support.people import register_velzio

from webapp import mail, security
from webapp.extensions import db


@contextmanager
def request_thread_work(app):
    """Count argon2 hashes, emails queued and SQL statements made on this (the
    request's) thread."""
    counts = {"hashes": 0, "emails": 0, "statements": 0}
    me = threading.get_ident()
    real_hash = security.PasswordHasher.hash

    def counting_hash(self, *args, **kwargs):
        if threading.get_ident() == me:
            counts["hashes"] += 1
        return real_hash(self, *args, **kwargs)

    real_queue = mail.queue

    def counting_queue(*args, **kwargs):
        if threading.get_ident() == me:
            counts["emails"] += 1
        return real_queue(*args, **kwargs)

    def count_statement(*args):
        if threading.get_ident() == me:
            counts["statements"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_statement)
    security.PasswordHasher.hash = counting_hash
    mail.queue = counting_queue
    try:
        yield counts
    finally:
        security.PasswordHasher.hash = real_hash
        mail.queue = real_queue
        event.remove(engine, "before_cursor_execute", count_statement)


def normalised(response, email: str) -> str:
    html = response.get_data(as_text=True).replace(email, "EMAIL")
    return without_csrf(html)


def answer_and_work(client, app, page: str, data: dict, email: str):
    html = client.get(page).get_data(as_text=True)
    payload = {"csrf_token": csrf_from(html), **data}
    with request_thread_work(app) as counts:
        response = client.post(page, data=payload)
    if response.status_code in (301, 302, 303):
        response = client.get(response.headers["Location"])
    return response.status_code, normalised(response, email), dict(counts)


@pytest.mark.parametrize("page", ["/velzio/forgot", "/velzio/resend", "/elektrum/forgot"])
def test_email_link_pages_answer_and_work_the_same(client, app, page):
    known = register_velzio(client, app) if page.startswith("/velzio") else None
    if known is None:
        submit(client, "/elektrum/register", ELEKTRUM_OK)
        known = ELEKTRUM_OK["email"]
    unconfirmed = "late@example.com"
    if page.endswith("resend"):
        submit(client, "/velzio/register", {**VELZIO_OK, "email": unconfirmed})
        known = unconfirmed
    a = answer_and_work(client, app, page, {"email": known}, known)
    b = answer_and_work(client, app, page, {"email": "unknown@example.com"}, "unknown@example.com")
    assert a == b
    assert a[0] == 200 and a[2]["hashes"] == 0


@pytest.mark.parametrize(
    ("page", "form"),
    [("/velzio/register", VELZIO_OK), ("/elektrum/register", ELEKTRUM_OK)],
)
def test_registration_answers_the_same_and_hashes_the_same(client, app, page, form):
    assert submit(client, page, form).status_code == 303
    known = answer_and_work(client, app, page, form, form["email"])
    new_form = {**form, "email": "fresh@example.com"}
    new = answer_and_work(client, app, page, new_form, "fresh@example.com")
    assert known[:2] == new[:2]
    # The slow work, the password hash, is done in both cases (residential
    # registration hashes the password it is given; business sets it later).
    expected_hashes = 1 if "password" in form else 0
    assert known[2]["hashes"] == new[2]["hashes"] == expected_hashes
    # Everything that depends on the account, the email included, runs after
    # the answer: none of it on the request's thread, for either.
    assert known[2]["emails"] == new[2]["emails"] == 0
    # The same work on the request's thread, to the SQL statement.
    assert known[2] == new[2]


def test_smtp_never_runs_on_the_request_thread(client, app, monkeypatch):
    app.config["MAIL_URL"] = "smtp://127.0.0.1:9"
    threads = []

    def fake_send(url, message):
        threads.append(threading.current_thread().name)

    monkeypatch.setattr(mail, "_send", fake_send)
    register_velzio(client, app)
    submit(client, "/velzio/forgot", {"email": VELZIO_OK["email"]})
    assert len(threads) == 2
    assert all(name.startswith("after-response") for name in threads)

"""Email: both parts, the tenant's brand, the transactional outbox, SMTP
delivery (to a real local server) with retries, and the development mailbox."""

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import submit
from support.mail import link_in, outbox
from support.people import account, login, register_velzio

from webapp import deferred, jobs, mail
from webapp.extensions import db
from webapp.models import Account, Job, OutboxMessage
from webapp.tenants import settings_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (
                envelope.rcpt_tos,
                email.message_from_bytes(envelope.original_content, policy=email.policy.default),
            )
        )
        return "250 OK"


@pytest.fixture
def smtp():
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def every_kind(client, app, velzio_name="Ona", elektrum_name="Jonas", language="lt"):
    """Produce each kind of email: confirm, already_registered, reset,
    password_changed (velzio, to a customer called `velzio_name`) and activate
    (elektrum, to `elektrum_name`), each asked for in `language`."""

    def browser():
        other = app.test_client()
        other.set_cookie("lang", language)
        return other

    client.set_cookie("lang", language)
    register_velzio(client, app, first_name=velzio_name)
    submit(browser(), "/velzio/register", VELZIO_OK)
    submit(browser(), "/velzio/forgot", {"email": "ona@example.com"})
    login(client, "velzio", "ona@example.com", "Slapta123")
    submit(
        client,
        "/velzio/account/password",
        {"current_password": "Slapta123", "password": "Naujas123", "password2": "Naujas123"},
    )
    submit(browser(), "/elektrum/register", {**ELEKTRUM_OK, "first_name": elektrum_name})
    messages = outbox(app)
    assert sorted(m.kind for m in messages) == sorted(
        ["confirm", "already_registered", "reset", "password_changed", "activate"]
    )
    assert {m.language for m in messages} == {language}
    return messages


def greeting_lines(message) -> tuple[str, str]:
    """The first line of the text part and the first paragraph of the HTML part."""
    html = message.html_body.split("<p>", 1)[1].split("</p>", 1)[0]
    return message.text_body.strip().splitlines()[0], html


@pytest.mark.parametrize(
    ("velzio_name", "elektrum_name", "velzio_greeting", "elektrum_greeting"),
    [
        ("Žydrūnas", "Eglė", "Sveiki, Žydrūnai,", "Sveiki, Egle,"),
        ("Andrius", "Motiejus", "Sveiki, Andriau,", "Sveiki, Motiejau,"),
        ("Kazys", "Gytis", "Sveiki, Kazy,", "Sveiki, Gyti,"),
        ("Jonas Petras", "Rūta", "Sveiki, Jonai Petrai,", "Sveiki, Rūta,"),
        # Foreign names whose vocative we cannot tell: greeted without the name.
        ("Boris", "John", "Laba diena,", "Laba diena,"),
    ],
)
def test_no_lithuanian_greeting_puts_the_name_in_the_nominative(
    client, app, velzio_name, elektrum_name, velzio_greeting, elektrum_greeting
):
    for message in every_kind(client, app, velzio_name, elektrum_name):
        name, wanted = (
            (elektrum_name, elektrum_greeting)
            if message.kind == "activate"
            else (velzio_name, velzio_greeting)
        )
        text, html = greeting_lines(message)
        assert (message.kind, text, html) == (message.kind, wanted, wanted)
        if not name.endswith("a"):  # Rūta is Rūta in the vocative too
            assert name not in message.text_body and name not in message.html_body


def test_english_greeting_keeps_the_name_as_typed(client, app):
    for message in every_kind(client, app, "Žydrūnas", "Boris", language="en"):
        name = "Boris" if message.kind == "activate" else "Žydrūnas"
        assert greeting_lines(message) == (f"Hello, {name},", f"Hello, {name},")


def test_the_name_in_a_greeting_is_escaped_in_html(client, app):
    messages = every_kind(client, app, "D'Arcy", "Jonas", language="en")
    confirm = next(m for m in messages if m.kind == "confirm")
    assert greeting_lines(confirm) == ("Hello, D'Arcy,", "Hello, D&#39;Arcy,")


def test_password_changed_email_gives_the_phone_in_the_sentence(client, app):
    """The support phone is part of a sentence ("you can also call us on"),
    not a number after the full stop; beside the "this was not me" link."""
    [message] = [m for m in every_kind(client, app) if m.kind == "password_changed"]
    assert "/velzio/secure/" in message.text_body
    sentence = "Taip pat galite skambinti mums +370 45 581 150."
    assert sentence in message.text_body
    assert sentence in message.html_body


def test_every_email_has_text_html_product_name_and_brand(client, app):
    brand = {
        "velzio": ("MOKESTA savitarna", "#1b5e20"),
        "elektrum": ("Elektrum verslo savitarna", "#b34700"),
    }
    for message in every_kind(client, app):
        slug = "elektrum" if message.kind == "activate" else "velzio"
        product, colour = brand[slug]
        assert product in message.subject
        assert message.text_body.strip() and "<html" not in message.text_body
        assert message.html_body.lstrip().startswith("<!doctype html>")
        assert colour in message.html_body
        assert message.language == "lt"
        with app.app_context():
            built = mail.build_email(db.session.get(OutboxMessage, message.id))
        types = [part.get_content_type() for part in built.walk()]
        assert "text/plain" in types and "text/html" in types
        assert built["Content-Language"] == "lt"
        assert product in built["From"]


def test_links_in_both_parts_match(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    [message] = outbox(app)
    link = link_in(message, "/velzio/confirm/")
    assert link in message.html_body


def test_failed_registration_writes_no_email(client, app):
    response = submit(client, "/velzio/register", {**VELZIO_OK, "terms": ""})
    assert response.status_code == 422
    assert outbox(app) == []


def test_email_and_account_are_one_transaction(client, app, monkeypatch, caplog):
    """If the email cannot be written, the account is not created either (the
    work runs after the answer, so the failure is logged, not shown, and the
    job waits for the worker's retry)."""

    def broken(*args, **kwargs):
        raise RuntimeError("template store is down")

    monkeypatch.setattr(mail, "render_template", broken)
    with caplog.at_level("WARNING"):
        assert submit(client, "/velzio/register", VELZIO_OK).status_code == 303
    assert "template store is down" in caplog.text
    assert account(app, "velzio", "ona@example.com") is None
    assert outbox(app) == []
    with app.app_context():
        [job] = db.session.scalars(select(Job))
        assert job.done_at is None and job.attempts == 1
        assert "template store is down" in job.last_error


def test_deliver_sends_each_message_once(client, app, smtp):
    controller, handler = smtp
    app.config["MAIL_URL"] = f"smtp://{controller.hostname}:{controller.port}"
    submit(client, "/velzio/register", VELZIO_OK)  # delivered after commit
    assert len(handler.messages) == 1
    recipients, received = handler.messages[0]
    assert recipients == ["ona@example.com"]
    [stored] = outbox(app)
    assert received["Subject"] == stored.subject
    assert "MOKESTA savitarna" in received["Subject"]
    received_text = received.get_body("plain").get_content()
    assert received_text.split() == stored.text_body.split()
    assert "#1b5e20" in received.get_body("html").get_content()
    assert stored.sent_at is not None and stored.attempts == 1 and stored.last_error is None

    with app.app_context():
        assert mail.deliver() == (0, 0)
    assert len(handler.messages) == 1


def test_a_delivered_message_keeps_no_working_link(client, app, smtp):
    """Once delivered, the outbox row no longer holds the text: a copy of the
    database hands out no confirmation link. What it was stays."""
    controller, handler = smtp
    app.config.update(
        MAIL_URL=f"smtp://{controller.hostname}:{controller.port}", MAILBOX_ENABLED=False
    )
    submit(client, "/velzio/register", VELZIO_OK)
    [(_, received)] = handler.messages
    assert "/velzio/confirm/" in received.get_body("plain").get_content()
    [stored] = outbox(app)
    assert (stored.text_body, stored.html_body) == ("", "")
    assert (stored.kind, stored.recipient, stored.language) == ("confirm", "ona@example.com", "lt")
    assert stored.subject == received["Subject"] and stored.sent_at is not None


def test_a_message_that_failed_keeps_its_text_for_the_retry(client, app):
    app.config.update(MAIL_URL=f"smtp://127.0.0.1:{free_port()}", MAILBOX_ENABLED=False)
    app.config["MAIL_TIMEOUT"] = 2
    submit(client, "/velzio/register", VELZIO_OK)
    [stored] = outbox(app)
    assert stored.sent_at is None and "/velzio/confirm/" in stored.text_body


def test_outbox_forget_sent_empties_what_was_sent_before(client, app, smtp):
    """Messages delivered while the mailbox was on (or before delivery emptied
    them) keep their text until `flask outbox forget-sent`; a test address's
    stays while QA mail capture is on."""
    controller, handler = smtp
    app.config["MAIL_URL"] = f"smtp://{controller.hostname}:{controller.port}"
    submit(client, "/velzio/register", VELZIO_OK)
    submit(client, "/velzio/register", {**VELZIO_OK, "email": "tester-1@qa.example.com"})
    assert len(handler.messages) == 2
    assert all(m.text_body for m in outbox(app))
    app.config.update(MAILBOX_ENABLED=False, QA_MAIL_CAPTURE=True, QA_TOKEN="t" * 40)
    result = app.test_cli_runner().invoke(args=["outbox", "forget-sent"])
    assert "the text of 1 sent messages emptied" in result.output
    assert outbox(app, "ona@example.com")[0].text_body == ""
    assert "/velzio/confirm/" in outbox(app, "tester-1@qa.example.com")[0].text_body


def _queue_password_changed(email: str, language: str) -> None:
    """What a flow does: queue a message about the account of `email`."""
    known = db.session.scalar(select(Account).where(Account.email == email))
    tenant = known.tenant
    mail.queue(tenant, settings_for(tenant), "password_changed", email, language, account=known)


def test_a_commit_delivers_the_mail_queued_in_its_transaction(client, app, smtp):
    """No flow asks for delivery: committing what it queued is enough (here in
    the worker, where nobody waits, so it goes out within the commit)."""
    controller, handler = smtp
    submit(client, "/velzio/register", VELZIO_OK)  # no MAIL_URL yet: stays queued
    app.config["MAIL_URL"] = f"smtp://{controller.hostname}:{controller.port}"
    with jobs.worker_request_context(app), deferred.background():
        _queue_password_changed("ona@example.com", "en")
        assert handler.messages == []
        db.session.commit()
        assert [m["Subject"] for _, m in handler.messages] == [
            "Your MOKESTA savitarna password was changed"
        ]
    assert [(m.kind, m.sent_at is not None) for m in outbox(app)] == [
        ("confirm", False),
        ("password_changed", True),
    ]


def test_a_rolled_back_transaction_delivers_nothing(client, app, smtp):
    """Mail queued in a transaction that was rolled back was never written and
    goes nowhere, not even with the next commit's mail."""
    controller, handler = smtp
    submit(client, "/velzio/register", VELZIO_OK)
    app.config["MAIL_URL"] = f"smtp://{controller.hostname}:{controller.port}"
    with jobs.worker_request_context(app), deferred.background():
        _queue_password_changed("ona@example.com", "lt")
        db.session.rollback()
        db.session.commit()
        assert handler.messages == []
        _queue_password_changed("ona@example.com", "en")
        db.session.commit()
    assert [m["Subject"] for _, m in handler.messages] == [
        "Your MOKESTA savitarna password was changed"
    ]
    assert [(m.kind, m.language) for m in outbox(app)] == [
        ("confirm", "lt"),
        ("password_changed", "en"),
    ]


def test_unreachable_server_keeps_the_message_for_retry(client, app):
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"
    app.config["MAIL_TIMEOUT"] = 2
    response = submit(client, "/velzio/register", VELZIO_OK)
    assert response.status_code == 303  # the customer is not bothered
    [stored] = outbox(app)
    assert stored.sent_at is None
    assert stored.attempts == 1
    assert stored.last_error
    assert stored.next_attempt_at is not None


def test_retry_later_delivers(client, app, smtp):
    controller, handler = smtp
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"
    submit(client, "/velzio/register", VELZIO_OK)
    app.config["MAIL_URL"] = f"smtp://{controller.hostname}:{controller.port}"
    with app.app_context():
        # Not due yet: the backoff holds it back.
        assert mail.deliver() == (0, 0)
        db.session.execute(db.update(OutboxMessage).values(next_attempt_at=None))
        db.session.commit()
        assert mail.deliver() == (1, 0)
    [stored] = outbox(app)
    assert stored.sent_at is not None and stored.attempts == 2 and stored.last_error is None
    assert len(handler.messages) == 1


def test_outbox_cli(client, app, smtp):
    controller, handler = smtp
    submit(client, "/velzio/register", VELZIO_OK)
    runner = app.test_cli_runner()
    assert "outbox: 1 not sent" in runner.invoke(args=["outbox", "status"]).output
    app.config["MAIL_URL"] = f"smtp://{controller.hostname}:{controller.port}"
    assert "outbox: 1 sent, 0 failed" in runner.invoke(args=["outbox", "send"]).output
    assert "outbox: 0 not sent" in runner.invoke(args=["outbox", "status"]).output
    assert len(handler.messages) == 1


def test_mailbox_lists_messages(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    [message] = outbox(app)
    page = client.get("/_mailbox/")
    assert page.status_code == 200
    assert message.subject in page.get_data(as_text=True)
    shown = client.get(f"/_mailbox/{message.id}")
    assert shown.status_code == 200
    html = client.get(f"/_mailbox/{message.id}/html")
    assert "sandbox" in html.headers["Content-Security-Policy"]
    data = client.get("/_mailbox/messages.json?to=ona@example.com").get_json()
    assert [m["kind"] for m in data] == ["confirm"]


def test_mailbox_is_404_when_disabled(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    app.config["MAILBOX_ENABLED"] = False
    for path in ("/_mailbox/", "/_mailbox/messages.json", "/_mailbox/1", "/_mailbox/1/html"):
        assert client.get(path).status_code == 404

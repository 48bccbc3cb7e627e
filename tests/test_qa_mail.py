"""The QA mail API (webapp/qa_mail): a staging deployment's test addresses'
email readable with the QA token, nobody else's, every read audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.data import VELZIO_OK
from support.forms import submit
from support.mail import outbox
from support.people import confirm

from webapp.config import ConfigError, load_config
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.tenants import TenantDataError, parse_settings

TOKEN = "qa-" + "t" * 40
TEST_ADDRESS = "tester-1@qa.example.com"
REAL_ADDRESS = "ona@example.com"


@pytest.fixture
def capture(app):
    """The app as a staging deployment runs it: capture on, with its token."""
    app.config.update(QA_MAIL_CAPTURE=True, QA_TOKEN=TOKEN)
    return app


def bearer(token: str = TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def register(client, email: str, **headers):
    response = submit(client, "/velzio/register", {**VELZIO_OK, "email": email}, headers=headers)
    assert response.status_code == 303, response.get_data(as_text=True)


def reads(app) -> list[AuditEvent]:
    with app.app_context():
        rows = list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.event == "qa_mail_read"))
        )
        db.session.expunge_all()
        return rows


def test_a_test_address_mail_is_readable_with_the_token(capture, client):
    register(client, TEST_ADDRESS)
    answer = client.get(f"/velzio/_qa/messages?to={TEST_ADDRESS}", headers=bearer())
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    [message] = answer.json["messages"]
    assert message["to"] == TEST_ADDRESS
    assert message["kind"] == "confirm"
    assert message["subject"] == "MOKESTA savitarna: patvirtinkite registraciją"
    [link] = [url for url in message["links"] if "/confirm/" in url]
    assert link.startswith("http://localhost/velzio/confirm/")
    assert link in message["text"] and link in message["html"]
    assert message["created_at"]

    one = client.get(f"/velzio/_qa/messages/{message['id']}", headers=bearer())
    assert one.status_code == 200
    assert one.json["text"] == message["text"]
    # The link works as an email client would open it.
    assert confirm(client, link.removeprefix("http://localhost")).status_code == 303
    assert len(reads(capture)) == 2


def test_setup_names_the_profile_and_the_test_address_patterns(capture, client):
    answer = client.get("/elektrum/_qa/", headers=bearer())
    assert answer.status_code == 200
    assert answer.json["profile"] == "business"
    assert answer.json["qa_addresses"] == ["*@qa.example.com"]


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), bearer(TOKEN + "x"), {"Authorization": TOKEN}, bearer("")],
    ids=["no token", "wrong", "longer", "no scheme", "empty"],
)
def test_refused_without_the_right_token(capture, client, headers):
    register(client, TEST_ADDRESS)
    for path in (
        "/velzio/_qa/",
        f"/velzio/_qa/messages?to={TEST_ADDRESS}",
        "/velzio/_qa/messages/1",
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 401, path
        assert answer.json == {"error": "unauthorized"}
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert reads(capture) == []


def test_a_real_address_is_never_readable_and_its_answer_reveals_nothing(capture, client, app):
    register(client, REAL_ADDRESS)
    with_mail = client.get(f"/velzio/_qa/messages?to={REAL_ADDRESS}", headers=bearer())
    without = client.get("/velzio/_qa/messages?to=nobody@example.com", headers=bearer())
    assert with_mail.status_code == without.status_code == 404
    assert with_mail.get_data() == without.get_data()

    from webapp.models import OutboxMessage

    with app.app_context():
        real_id = db.session.scalar(select(OutboxMessage.id))
    by_id = client.get(f"/velzio/_qa/messages/{real_id}", headers=bearer())
    missing = client.get(f"/velzio/_qa/messages/{real_id + 1000}", headers=bearer())
    assert by_id.status_code == missing.status_code == 404
    assert by_id.get_data() == missing.get_data()
    assert reads(capture) == []


def test_another_tenants_test_mail_is_not_readable(capture, client):
    register(client, TEST_ADDRESS)
    answer = client.get(f"/elektrum/_qa/messages?to={TEST_ADDRESS}", headers=bearer())
    assert answer.status_code == 200
    assert answer.json["messages"] == []
    listed = client.get(f"/velzio/_qa/messages?to={TEST_ADDRESS}", headers=bearer())
    message_id = listed.json["messages"][0]["id"]
    assert client.get(f"/elektrum/_qa/messages/{message_id}", headers=bearer()).status_code == 404


def test_off_by_default_even_with_a_token(app, client):
    assert app.config["QA_MAIL_CAPTURE"] is False
    app.config["QA_TOKEN"] = TOKEN
    register(client, TEST_ADDRESS)
    answer = client.get(f"/velzio/_qa/messages?to={TEST_ADDRESS}", headers=bearer())
    assert answer.status_code == 404


def test_production_refuses_capture_without_a_long_token(tmp_path, monkeypatch):
    monkeypatch.delenv("QA_TOKEN", raising=False)
    monkeypatch.delenv("QA_MAIL_CAPTURE", raising=False)
    settings = {
        "APP_ENV": "production",
        "SECRET_KEY": "s" * 32,
        "PUBLIC_URL": "https://savitarna.example",
    }
    assert load_config(tmp_path, settings)["QA_MAIL_CAPTURE"] is False
    with pytest.raises(ConfigError, match="QA_MAIL_CAPTURE needs QA_TOKEN"):
        load_config(tmp_path, {**settings, "QA_MAIL_CAPTURE": True})
    with pytest.raises(ConfigError, match="at least 32"):
        load_config(tmp_path, {**settings, "QA_MAIL_CAPTURE": True, "QA_TOKEN": "short"})
    monkeypatch.setenv("QA_MAIL_CAPTURE", "1")
    with pytest.raises(ConfigError, match="QA_MAIL_CAPTURE needs QA_TOKEN"):
        load_config(tmp_path, settings)
    monkeypatch.setenv("QA_TOKEN", TOKEN)
    assert load_config(tmp_path, settings)["QA_TOKEN"] == TOKEN


@pytest.mark.parametrize("pattern", ["*", "*@*", "*@*.example.com", "qa.example.com", "a@b"])
def test_a_test_address_pattern_cannot_match_strangers(pattern):
    import tomllib

    from support.apps import TENANTS_FILE

    data = tomllib.loads(TENANTS_FILE.read_text())["tenants"][1]
    with pytest.raises(TenantDataError, match="qa_addresses"):
        parse_settings({**data, "qa_addresses": [pattern]})


def test_in_production_test_mail_is_sent_as_usual_and_readable(app, database, tmp_path):
    """A production-mode instance with capture on and an SMTP server behind it:
    both addresses get their email; only the test address's is readable."""
    import email as email_parser
    import email.policy
    import socket

    from aiosmtpd.controller import Controller
    from support.apps import ServerLikeClient, base_config

    from webapp import create_app

    class PublicClient(ServerLikeClient):
        """Requests to the production instance's public address."""

        def open(self, *args, **kwargs):
            kwargs.setdefault("base_url", "https://savitarna.example")
            return super().open(*args, **kwargs)

    received = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            parsed = email_parser.message_from_bytes(
                envelope.original_content, policy=email.policy.default
            )
            received.append(parsed)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        production = create_app(
            {
                **base_config(tmp_path, database),
                "APP_ENV": "production",
                "TESTING": False,
                "PUBLIC_URL": "https://savitarna.example",
                "MAIL_URL": f"smtp://127.0.0.1:{port}",
                "MAILBOX_ENABLED": False,
                "QA_MAIL_CAPTURE": True,
                "QA_TOKEN": TOKEN,
            }
        )
        production.test_client_class = PublicClient
        client = production.test_client()
        # Flask-WTF checks an https post's Referer, as a browser sends it.
        referer = {"Referer": "https://savitarna.example/velzio/register"}
        register(client, TEST_ADDRESS, **referer)
        register(client, REAL_ADDRESS, **referer)
    finally:
        controller.stop()
    assert sorted(m["To"] for m in received) == sorted([TEST_ADDRESS, REAL_ADDRESS])

    answer = client.get(f"/velzio/_qa/messages?to={TEST_ADDRESS}", headers=bearer())
    assert answer.status_code == 200
    [message] = answer.json["messages"]
    assert message["sent_at"] is not None
    assert message["links"][0].startswith("https://savitarna.example/velzio/confirm/")
    sent = next(m for m in received if m["To"] == TEST_ADDRESS)
    assert message["links"][0] in sent.get_body(("plain",)).get_content()
    real = client.get(f"/velzio/_qa/messages?to={REAL_ADDRESS}", headers=bearer())
    assert real.status_code == 404
    # Delivered to a real address, its text is not kept (its link still works);
    # the test address's is, for the API.
    [kept] = outbox(app, TEST_ADDRESS)
    [emptied] = outbox(app, REAL_ADDRESS)
    assert message["links"][0] in kept.text_body
    assert emptied.sent_at is not None and (emptied.text_body, emptied.html_body) == ("", "")
    assert client.get("/velzio/_qa/", headers=bearer("wrong")).status_code == 401


def test_wrong_tokens_shut_the_address_out_then_even_the_right_one(capture, client):
    """After a few wrong tokens from one address every answer is 429 until the
    window has passed, so a guess cannot be told right from wrong."""
    register(client, TEST_ADDRESS)
    capture.config["RATELIMIT_QA_TOKEN_FAILURES"] = "3 per 15 minutes"
    path = f"/velzio/_qa/messages?to={TEST_ADDRESS}"
    assert client.get(path, headers=bearer()).status_code == 200  # the right one costs nothing
    for _ in range(3):
        assert client.get(path, headers=bearer("guess")).status_code == 401
    refused = client.get(path, headers=bearer("guess"))
    assert refused.status_code == 429
    assert refused.json == {"error": "too_many_requests"}
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    right = client.get(path, headers=bearer())
    assert right.status_code == 429
    assert right.get_data() == refused.get_data()
    # Another address is not shut out.
    other = client.get(path, headers=bearer(), environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_an_address_asking_too_often_gets_429_in_json(capture, client):
    capture.config["RATELIMIT_QA_IP"] = "4 per minute"
    for _ in range(4):
        assert client.get("/velzio/_qa/", headers=bearer()).status_code == 200
    answer = client.get("/velzio/_qa/", headers=bearer())
    assert answer.status_code == 429
    assert answer.json == {"error": "too_many_requests"}
    assert 0 < int(answer.headers["Retry-After"]) <= 60

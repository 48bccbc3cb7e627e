"""What an operator relies on in production: request ids, one log line per
request with nothing personal in it, a trusted reverse proxy only when
configured, liveness and readiness with each check failing for real, and the
outbox worker loop."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from support.apps import ServerLikeClient, base_config
from support.data import VELZIO_OK
from support.forms import csrf_from, submit
from support.mail import link_in, outbox

from webapp import create_app
from webapp.config import PROJECT_ROOT
from webapp.extensions import db
from webapp.models import AuditEvent, OutboxMessage, utcnow

REDIS_URL = os.environ.get("TEST_REDIS_URL")


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def another_app(database, tmp_path, **settings):
    """A second app on the `app` fixture's database (tenants already loaded),
    built with settings that take effect when the app is made. Its clients, like
    a server, finish the work done after each answer before the test looks."""
    made = create_app({**base_config(tmp_path, database), **settings})
    made.test_client_class = ServerLikeClient
    return made


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# Request ids


def test_a_request_id_is_made_or_taken_from_the_proxy_and_echoed(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0
    assert client.get("/healthz").headers["X-Request-ID"] != made
    given = "lb-7f3a.2b:9"
    response = client.get("/velzio/", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given


@pytest.mark.parametrize("bad", ["x" * 129, "<script>", "a b", "", "-starts-with-dash"])
def test_a_malformed_request_id_is_replaced(client, bad):
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    assert response.headers["X-Request-ID"] != bad
    assert len(response.headers["X-Request-ID"]) == 32


# Logs


def test_one_json_line_per_request_without_personal_data(database, app, tmp_path, capsys):
    json_app = another_app(database, tmp_path, LOG_FORMAT="json")
    client = json_app.test_client()
    capsys.readouterr()
    response = submit(client, "/velzio/register", VELZIO_OK, headers={"X-Request-ID": "reg-1"})
    assert response.status_code == 303
    link = link_in(outbox(app, VELZIO_OK["email"])[-1], "/confirm/")
    token = link.rsplit("/", 1)[1]
    opened = client.get(link, headers={"X-Request-ID": "open-1"})
    assert opened.status_code == 200
    csrf = csrf_from(opened.get_data(as_text=True))
    confirmed = client.post(link, data={"csrf_token": csrf}, headers={"X-Request-ID": "confirm-1"})
    assert confirmed.status_code == 303
    client.get("/nowhere/")
    output = capsys.readouterr().out
    requests = [e for e in json_lines(output) if e["logger"] == "webapp.request"]
    assert [(e["method"], e["path"], e["status"]) for e in requests] == [
        ("GET", "/velzio/register", 200),
        ("POST", "/velzio/register", 303),
        ("GET", "/velzio/confirm/[redacted]", 200),
        ("POST", "/velzio/confirm/[redacted]", 303),
        ("GET", "/nowhere/", 404),
    ]
    post, confirm = requests[1], requests[3]
    assert post["request_id"] == "reg-1" and confirm["request_id"] == "confirm-1"
    assert post["tenant"] == "velzio" and requests[4]["tenant"] is None
    assert all(isinstance(e["duration_ms"], float) and e["duration_ms"] >= 0 for e in requests)
    # Neither the form, nor the email, nor the link's secret is anywhere in the log.
    for secret in (token, VELZIO_OK["email"], VELZIO_OK["password"], VELZIO_OK["phone"]):
        assert secret not in output


def test_app_log_lines_carry_the_request_id_and_no_link_secret(database, app, tmp_path, capsys):
    # As in production: the error is answered with the 500 page and logged.
    json_app = another_app(database, tmp_path, LOG_FORMAT="json", PROPAGATE_EXCEPTIONS=False)

    @json_app.get("/<tenant>/confirm/<token>/boom")
    def boom(token):
        raise RuntimeError("boom")

    capsys.readouterr()
    response = json_app.test_client().get(
        "/velzio/confirm/s3cr3t/boom", headers={"X-Request-ID": "boom-1"}
    )
    assert response.status_code == 500
    output = capsys.readouterr().out
    assert "s3cr3t" not in output
    error = next(e for e in json_lines(output) if e["logger"] == "webapp")
    assert error["request_id"] == "boom-1"
    assert error["level"] == "ERROR" and "RuntimeError: boom" in error["exception"]


def test_log_settings_fail_fast(monkeypatch, tmp_path):
    from webapp.config import ConfigError

    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        create_app({"APP_ENV": "testing", "SECRET_KEY": "k"})
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("TRUSTED_PROXIES", "yes")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        create_app({"APP_ENV": "testing", "SECRET_KEY": "k"})


# Reverse proxy


def failed_login_network(app, client, **headers) -> str:
    response = submit(
        client, "/velzio/", {"email": "x@example.com", "password": "Wrong1234"}, headers=headers
    )
    assert response.status_code == 422
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        return event.network


def test_forwarded_for_is_ignored_without_a_trusted_proxy(client, app):
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    assert failed_login_network(app, client, **forwarded) == "127.0.0.0/24"
    # Every "address" a client claims shares the one real address's limit.
    app.config["RATELIMIT_LOGIN_IP"] = "2 per minute"
    statuses = [
        submit(
            client,
            "/velzio/",
            {"email": f"p{n}@example.com", "password": "Wrong1234"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(3)
    ]
    assert statuses == [422, 422, 429]
    submit(client, "/velzio/register", VELZIO_OK, headers=forwarded)
    assert link_in(outbox(app)[-1], "/confirm/").startswith("/velzio/confirm/")
    assert outbox(app)[-1].text_body.count("http://localhost/velzio/confirm/") == 1


def test_forwarded_for_is_the_client_behind_one_trusted_proxy(database, app, tmp_path):
    proxied = another_app(
        database, tmp_path, TRUSTED_PROXIES=1, PUBLIC_URL="https://savitarna.example"
    )
    client = proxied.test_client()
    assert failed_login_network(proxied, client, **{"X-Forwarded-For": "203.0.113.7"}) == (
        "203.0.113.0/24"
    )
    # A client's own X-Forwarded-For comes first; the proxy appends the real
    # address, and only the last (one hop's) entry is believed.
    spoofed = {"X-Forwarded-For": "192.0.2.1, 198.51.100.20"}
    assert failed_login_network(proxied, client, **spoofed) == "198.51.100.0/24"
    # Limits count per real client: two customers behind the proxy, separately.
    proxied.config["RATELIMIT_LOGIN_IP"] = "1 per minute"
    for address in ("198.51.100.30", "198.51.100.31"):
        headers = {"X-Forwarded-For": address}
        data = {"email": "y@example.com", "password": "Wrong1234"}
        assert submit(client, "/velzio/", data, headers=headers).status_code == 422
        assert submit(client, "/velzio/", data, headers=headers).status_code == 429
    # The proxy terminates TLS (over https, the CSRF check wants the browser's
    # same-origin Referer too); emailed links come from PUBLIC_URL, not the request.
    https = {"X-Forwarded-Proto": "https", "Referer": "https://localhost/velzio/register"}
    response = submit(client, "/velzio/register", VELZIO_OK, headers=https)
    assert response.status_code == 303
    assert "https://savitarna.example/velzio/confirm/" in outbox(app)[-1].text_body


# Health


def test_liveness_answers_without_the_database(database, app, tmp_path):
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/savitarna"
    client = another_app(database, tmp_path, SQLALCHEMY_DATABASE_URI=closed).test_client()
    # A restart would not bring the database back, so liveness does not ask it.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


LIMITED_PROCESS = """
import json, sys
from webapp import create_app
app = create_app({"APP_ENV": "testing", "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_APPLICATION": "3 per minute"})
client = app.test_client()
paths = ("/healthz", "/readyz", "/")
print(json.dumps({path: [client.get(path).status_code for _ in range(5)] for path in paths}))
"""


def test_probes_are_never_rate_limited(app, database, tmp_path):
    # An app-wide limit is process-wide state in Flask-Limiter, hence a process
    # of its own.
    result = subprocess.run(
        [sys.executable, "-c", LIMITED_PROCESS, database],
        cwd=PROJECT_ROOT,
        env={**os.environ, "INSTANCE_PATH": str(tmp_path / "limited")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    statuses = json.loads(result.stdout.strip().splitlines()[-1])
    assert statuses == {
        "/healthz": [200] * 5,
        "/readyz": [200] * 5,
        "/": [200, 200, 200, 429, 429],
    }


def test_ready_on_the_test_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["skipped"] == "REDIS_URL not set"
    assert body["checks"]["outbox"]["skipped"] == "MAIL_URL not set"
    assert response.headers["Cache-Control"] == "no-store"


def test_not_ready_when_the_database_is_unreachable(database, app, tmp_path):
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/savitarna"
    unreachable = another_app(database, tmp_path, SQLALCHEMY_DATABASE_URI=closed)
    response = unreachable.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unready"
    assert response.json["checks"]["database"] == {
        "ok": False,
        "error": "OperationalError",
        "ms": response.json["checks"]["database"]["ms"],
    }


def test_not_ready_when_redis_is_unreachable(database, app, tmp_path):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    # The limiter keeps memory storage: its state is per process and would
    # outlive this test (the fallback to memory is a production behaviour).
    unready = another_app(database, tmp_path, REDIS_URL=closed, RATELIMIT_STORAGE_URI="memory://")
    response = unready.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["redis"]["ok"] is False and checks["redis"]["error"] == "ConnectionError"
    assert checks["database"]["ok"] is True


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set: Redis readiness not tried")
def test_ready_with_redis(database, app, tmp_path):
    response = another_app(database, tmp_path, REDIS_URL=REDIS_URL).test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["redis"]["ok"] is True
    assert "skipped" not in response.json["checks"]["redis"]


def test_not_ready_when_mail_waits_too_long(client, app):
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody answers
    app.config["MAIL_TIMEOUT"] = 2
    assert submit(client, "/velzio/register", VELZIO_OK).status_code == 303
    [waiting] = outbox(app)
    assert waiting.sent_at is None
    # Just written: not a backlog yet.
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["checks"]["outbox"]["overdue"] == 0
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    outbox_check = response.json["checks"]["outbox"]
    assert outbox_check["ok"] is False and outbox_check["overdue"] == 1
    assert outbox_check["older_than_seconds"] == 900
    assert response.json["checks"]["database"]["ok"] is True
    app.config["OUTBOX_BACKLOG_SECONDS"] = 0
    assert client.get("/readyz").status_code == 200


# The outbox worker


def lines_of(stream) -> queue.Queue:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def test_outbox_worker_loop_delivers_new_mail_and_stops_on_sigterm(client, app, database, tmp_path):
    from aiosmtpd.controller import Controller
    from test_mail import Collector

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": database,
        "MAIL_URL": f"smtp://127.0.0.1:{controller.port}",
        "INSTANCE_PATH": str(tmp_path / "worker"),
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "send", "--loop"]
    worker = subprocess.Popen(
        [*command, "--interval", "0.2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = lines_of(worker.stdout)
        # Written while the worker already runs (the web app has no MAIL_URL).
        assert submit(client, "/velzio/register", VELZIO_OK).status_code == 303
        assert lines.get(timeout=30).strip() == "outbox: 1 sent, 0 failed"
        assert [m.sent_at is not None for m in outbox(app)] == [True]
        assert [rcpt for rcpt, _ in handler.messages] == [[VELZIO_OK["email"]]]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        controller.stop()

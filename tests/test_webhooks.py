"""Signed webhooks: every business fact reaches a real receiver on loopback
once, signed (the receiver verifies with the standardwebhooks library); a
receiver that is down, answers 500, is slower than the timeout or redirects is
retried under the same webhook-id and then given up; addresses that could reach
inside the network are refused; the operator's CLI; and a failing receiver
never slows a customer's request."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select, text, update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.factors import through_step
from support.forms import submit
from support.mail import link_in, outbox
from support.people import confirm, login, logout
from support.servers import free_port, serve_in_thread, shut_down
from support.tls import self_signed_certificate

from webapp import webhooks
from webapp.extensions import db
from webapp.models import AuditEvent, WebhookDelivery, utcnow


class Receiver:
    """A utility's webhook receiver on loopback: verifies every request's
    signature with the library and answers as `mode` says ("ok", "500",
    "slow", "redirect")."""

    def __init__(self, secret: str, port: int | None = None):
        self.secret = secret
        self.port = port or free_port()
        self.mode = "ok"
        self.delay = 0.0
        self.requests: list[dict] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    payload, verified = json.loads(body), False
                receiver.requests.append(
                    {
                        "path": self.path,
                        "id": headers.get("webhook-id"),
                        "verified": verified,
                        "payload": payload,
                        "host": headers.get("host"),
                    }
                )
                if receiver.mode == "slow":
                    time.sleep(receiver.delay)
                if receiver.mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                elif receiver.mode == "500":
                    self.send_response(500)
                else:
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = serve_in_thread(self.port, Handler)
        return self

    def stop(self) -> None:
        shut_down(self.server)
        self.server = None

    def types(self) -> list[str]:
        return [r["payload"]["type"] for r in self.requests]


@pytest.fixture
def receiver():
    found = Receiver(webhooks.new_secret()).start()
    yield found
    found.stop()


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["webhooks", *args])


def add(app, url: str, secret: str, tenant: str = "velzio", events: str | None = None) -> int:
    args = ["add", tenant, url, "--secret", secret] + (["--events", events] if events else [])
    result = cli(app, *args)
    assert result.exit_code == 0, result.output
    return int(result.output.split()[2])


def deliver(app) -> tuple[int, int]:
    with app.app_context():
        return webhooks.deliver_due()


def deliveries(app) -> list[WebhookDelivery]:
    with app.app_context():
        rows = list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        db.session.expunge_all()
        return rows


def time_passes(app) -> None:
    """Every waiting retry becomes due (as if its backoff were over)."""
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.failed_at.is_(None))
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def queue_test(app, endpoint_id: int) -> str:
    result = cli(app, "test", "velzio", str(endpoint_id))
    assert result.exit_code == 0, result.output
    return result.output.split()[1]


def activate_elektrum(client, app) -> str:
    assert submit(client, "/elektrum/register", ELEKTRUM_OK).status_code == 303
    path = link_in(outbox(app, ELEKTRUM_OK["email"])[-1], "/activate/")
    response = submit(client, path, {"password": "Slapta123", "password2": "Slapta123"})
    assert response.status_code == 303, response.get_data(as_text=True)
    through_step(client, app, "elektrum", ELEKTRUM_OK["email"], response)
    return ELEKTRUM_OK["email"]


# -- every event, once, signed -------------------------------------------------


def test_each_business_fact_reaches_the_receiver_once_signed(client, app, receiver):
    add(app, receiver.url, receiver.secret)
    add(app, receiver.url, receiver.secret, tenant="elektrum")
    email = VELZIO_OK["email"]
    assert submit(client, "/velzio/register", VELZIO_OK).status_code == 303
    assert confirm(client, link_in(outbox(app, email)[-1], "/confirm/")).status_code == 303
    login(client, "velzio", email, "Wrong1234")
    login(client, "velzio", "stranger@example.com", "Wrong1234")
    login(client, "velzio", email, VELZIO_OK["password"])
    submit(
        client,
        "/velzio/account/",
        {"sms_consent": "y", "invoices_by_email": "y", "phone": "861234568"},
        action="/velzio/account/preferences",
    )
    new = {"current_password": VELZIO_OK["password"], "password": "Naujas456"}
    submit(client, "/velzio/account/password", {**new, "password2": "Naujas456"})
    logout(client, "velzio")
    submit(client, "/velzio/forgot", {"email": email})
    submit(client, "/velzio/forgot", {"email": "stranger@example.com"})
    activate_elektrum(client, app)
    assert receiver.requests == [], "a request sent a webhook itself"

    delivered, failed = deliver(app)
    assert deliver(app) == (0, 0), "a delivery went out twice"

    expected = {
        ("velzio", "account.registered", email): 1,
        ("velzio", "account.email_confirmed", email): 1,
        ("velzio", "login.failed", email): 1,
        ("velzio", "login.failed", None): 1,
        ("velzio", "login.succeeded", email): 1,
        ("velzio", "account.preferences_changed", email): 1,
        ("velzio", "account.details_changed", email): 1,
        ("velzio", "account.password_changed", email): 1,
        ("velzio", "password.reset_requested", email): 1,
        ("elektrum", "account.registered", ELEKTRUM_OK["email"]): 1,
        ("elektrum", "account.email_confirmed", ELEKTRUM_OK["email"]): 1,
        ("elektrum", "account.password_set", ELEKTRUM_OK["email"]): 1,
        # Elektrum requires a second factor: set up at the first login.
        ("elektrum", "factor.added", ELEKTRUM_OK["email"]): 1,
        # The password set from the activation link logs in.
        ("elektrum", "login.succeeded", ELEKTRUM_OK["email"]): 1,
    }
    seen = Counter(
        (
            r["payload"]["tenant"],
            r["payload"]["type"],
            (r["payload"]["data"]["account"] or {}).get("email"),
        )
        for r in receiver.requests
    )
    assert seen == expected
    assert (delivered, failed) == (len(receiver.requests), 0)
    assert all(r["verified"] for r in receiver.requests)
    assert len({r["id"] for r in receiver.requests}) == len(receiver.requests)
    assert all(r["id"].startswith("msg_") for r in receiver.requests)
    assert {r["host"] for r in receiver.requests} == {f"127.0.0.1:{receiver.port}"}

    by_type = {r["payload"]["type"]: r["payload"] for r in receiver.requests}
    registered = by_type["account.registered"]
    assert registered["version"] == 1 and registered["timestamp"].endswith("Z")
    preferences = by_type["account.preferences_changed"]["data"]
    assert preferences["changed"] == {"sms_consent": True}
    assert by_type["account.details_changed"]["data"]["changed"] == {"phone": "+37061234568"}
    methods = {
        r["payload"]["tenant"]: r["payload"]["data"]["method"]
        for r in receiver.requests
        if r["payload"]["type"] == "login.succeeded"
    }
    assert methods == {"velzio": "password", "elektrum": "activation"}
    # Nothing a receiver could log in with.
    assert "Slapta123" not in json.dumps([r["payload"] for r in receiver.requests])

    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == "registered")))
        assert rows and all(row.actor == "customer" and row.request_id for row in rows)


def test_an_endpoint_receives_only_its_event_types(client, app, receiver):
    add(app, receiver.url, receiver.secret, events="account.registered,account.email_confirmed")
    email = VELZIO_OK["email"]
    submit(client, "/velzio/register", VELZIO_OK)
    confirm(client, link_in(outbox(app, email)[-1], "/confirm/"))
    login(client, "velzio", email, VELZIO_OK["password"])
    deliver(app)
    assert receiver.types() == ["account.registered", "account.email_confirmed"]


def test_an_event_is_written_with_the_fact_or_not_at_all(app, receiver):
    add(app, receiver.url, receiver.secret)
    from webapp import events
    from webapp.models import Tenant

    with app.test_request_context("/"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "velzio"))
        events.emit(tenant.id, "login.failed", address="192.0.2.1")
        db.session.rollback()
    assert deliveries(app) == []


# -- a receiver that fails -----------------------------------------------------


def test_receiver_down_then_back_gets_the_webhook(app, capsys):
    secret = webhooks.new_secret()
    down = Receiver(secret)  # nothing listens on its port yet
    endpoint = add(app, down.url, secret)
    webhook_id = queue_test(app, endpoint)
    before = utcnow()
    assert deliver(app) == (0, 1)
    [row] = deliveries(app)
    assert row.attempts == 1 and "ConnectError" in row.last_error
    wait = (row.next_attempt_at - before).total_seconds()
    assert webhooks.BACKOFF_SECONDS[0] - 1 <= wait <= webhooks.BACKOFF_SECONDS[0] + 5
    assert deliver(app) == (0, 0), "retried before its backoff"
    time_passes(app)
    assert deliver(app) == (0, 1)

    down.start()
    try:
        time_passes(app)
        assert deliver(app) == (1, 0)
    finally:
        down.stop()
    [row] = deliveries(app)
    assert row.delivered_at and row.attempts == 3 and row.last_status == 204
    assert [r["id"] for r in down.requests] == [webhook_id] and down.requests[0]["verified"]
    with capsys.disabled():
        print(f"\n[webhooks] receiver down: {row.attempts} attempts, delivered after recovery")


def test_receiver_answering_500_is_retried_with_the_same_webhook_id(app, receiver, capsys):
    endpoint = add(app, receiver.url, receiver.secret)
    webhook_id = queue_test(app, endpoint)
    receiver.mode = "500"
    for _ in range(3):
        time_passes(app)
        assert deliver(app) == (0, 1)
    receiver.mode = "ok"
    time_passes(app)
    assert deliver(app) == (1, 0)
    assert [r["id"] for r in receiver.requests] == [webhook_id] * 4
    assert all(r["verified"] for r in receiver.requests)
    [row] = deliveries(app)
    assert row.delivered_at and row.last_status == 204 and row.last_error is None
    with capsys.disabled():
        print(f"\n[webhooks] HTTP 500 x3: {row.attempts} attempts, delivered after recovery")


def test_receiver_slower_than_the_timeout_is_cut_off_and_retried(app, receiver, capsys):
    app.config["WEBHOOK_TIMEOUT"] = 0.3
    endpoint = add(app, receiver.url, receiver.secret)
    queue_test(app, endpoint)
    receiver.mode, receiver.delay = "slow", 3.0
    started = time.monotonic()
    assert deliver(app) == (0, 1)
    took = time.monotonic() - started
    assert took < 2.0, f"the worker waited {took:.1f}s"
    [row] = deliveries(app)
    assert "Timeout" in row.last_error
    receiver.mode = "ok"
    time_passes(app)
    assert deliver(app) == (1, 0)
    assert len({r["id"] for r in receiver.requests}) == 1 and len(receiver.requests) == 2
    with capsys.disabled():
        print(
            f"\n[webhooks] slow receiver: cut off after {took:.2f}s "
            f"(timeout 0.3s), delivered on attempt 2"
        )


def test_a_delivery_is_marked_failed_after_the_last_attempt(app, receiver, capsys):
    endpoint = add(app, receiver.url, receiver.secret)
    queue_test(app, endpoint)
    receiver.mode = "500"
    waits = []
    for _ in range(webhooks.MAX_ATTEMPTS):
        time_passes(app)
        started = utcnow()
        assert deliver(app) == (0, 1)
        [row] = deliveries(app)
        if row.next_attempt_at:
            waits.append(round((row.next_attempt_at - started).total_seconds()))
    # The schedule: 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 12 h (about 22 h).
    assert all(abs(w - s) <= 5 for w, s in zip(waits, webhooks.BACKOFF_SECONDS, strict=True))
    [row] = deliveries(app)
    assert row.failed_at and row.attempts == webhooks.MAX_ATTEMPTS and row.last_status == 500
    time_passes(app)
    assert deliver(app) == (0, 0)
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS
    log = cli(app, "log", "velzio", "--failed")
    assert log.exit_code == 0 and "failed" in log.output and "HTTP 500" in log.output
    with capsys.disabled():
        print(
            f"\n[webhooks] always 500: failed after {row.attempts} attempts over "
            f"{sum(webhooks.BACKOFF_SECONDS) / 3600:.1f} h of backoff"
        )


def test_a_redirect_is_not_followed(app, receiver):
    endpoint = add(app, receiver.url, receiver.secret)
    queue_test(app, endpoint)
    receiver.mode = "redirect"
    assert deliver(app) == (0, 1)
    assert [r["path"] for r in receiver.requests] == ["/hook"]
    [row] = deliveries(app)
    assert row.last_status == 302 and row.delivered_at is None and row.last_error == "HTTP 302"


def test_a_failing_receiver_never_slows_or_fails_a_request(client, app, receiver):
    add(app, receiver.url, receiver.secret)
    receiver.mode, receiver.delay = "slow", 5.0
    started = time.monotonic()
    response = submit(client, "/velzio/register", VELZIO_OK)
    login(client, "velzio", VELZIO_OK["email"], "Wrong1234")
    took = time.monotonic() - started
    assert response.status_code == 303 and took < 3.0
    assert receiver.requests == []
    assert {row.type for row in deliveries(app)} == {"account.registered", "login.failed"}


def test_two_workers_never_send_one_delivery_twice(app, receiver):
    endpoint = add(app, receiver.url, receiver.secret)
    ids = [queue_test(app, endpoint) for _ in range(12)]
    counts = []

    def work():
        with app.app_context():
            counts.append(webhooks.deliver_due())
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r["id"] for r in receiver.requests) == sorted(ids)
    assert sum(done for done, _ in counts) == 12


def test_the_worker_round_delivers_webhooks(app, receiver):
    endpoint = add(app, receiver.url, receiver.secret)
    queue_test(app, endpoint)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "webhooks: 1 delivered" in result.output
    assert receiver.types() == ["webhook.test"]


def test_order_per_account_is_not_kept_across_retries(client, app, receiver):
    """Documented in the README: a retried event arrives after later ones;
    the payload's timestamp orders them."""
    add(app, receiver.url, receiver.secret)
    email = VELZIO_OK["email"]
    submit(client, "/velzio/register", VELZIO_OK)
    receiver.mode = "500"
    deliver(app)
    receiver.mode = "ok"
    confirm(client, link_in(outbox(app, email)[-1], "/confirm/"))
    deliver(app)
    time_passes(app)
    deliver(app)
    arrived = [r["payload"] for r in receiver.requests if r["path"] == "/hook"]
    assert [p["type"] for p in arrived] == [
        "account.registered",  # the 500
        "account.email_confirmed",
        "account.registered",
    ]
    assert arrived[2]["timestamp"] < arrived[1]["timestamp"]


# -- server-side request forgery ----------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hook",
        "https://192.168.1.10/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
    ],
)
def test_production_refuses_addresses_inside_the_network(app, url):
    app.config["APP_ENV"] = "production"
    result = cli(app, "add", "velzio", url)
    assert result.exit_code == 2, result.output
    assert "WEBHOOK_ALLOWED_NETWORKS" in result.output and "Traceback" not in result.output
    assert cli(app, "list", "velzio").output.strip() == "velzio has no webhook endpoints"


def test_production_refuses_plain_http(app, receiver):
    app.config["APP_ENV"] = "production"
    for url in (receiver.url, "http://93.184.215.14/hook"):
        result = cli(app, "add", "velzio", url)
        assert result.exit_code == 2 and "https" in result.output, result.output


def test_plain_http_outside_production_only_to_loopback(app):
    result = cli(app, "add", "velzio", "http://93.184.215.14/hook")
    assert result.exit_code == 2 and "loopback" in result.output


def test_listed_networks_and_public_addresses_are_accepted_in_production(app):
    app.config["APP_ENV"] = "production"
    assert cli(app, "add", "velzio", "https://93.184.215.14/hook").exit_code == 0
    assert cli(app, "add", "velzio", "https://10.1.2.3/hook").exit_code == 2
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = "10.0.0.0/8, 192.168.0.0/16"
    assert cli(app, "add", "velzio", "https://10.1.2.3/hook").exit_code == 0


def test_the_address_is_checked_again_before_each_attempt(app, receiver):
    endpoint = add(app, receiver.url, receiver.secret)
    queue_test(app, endpoint)
    # As if the name now resolved inside the network: production refuses it.
    app.config["APP_ENV"] = "production"
    assert deliver(app) == (0, 1)
    [row] = deliveries(app)
    assert row.last_error.startswith("refused:") and row.last_status is None
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "https://user:pw@example.com/", "not a url", "https://:99999/"],
)
def test_malformed_urls_are_refused(app, url):
    result = cli(app, "add", "velzio", url)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output


# -- the operator's CLI --------------------------------------------------------


def test_cli_add_list_test_log_remove(app, receiver, caplog):
    result = cli(app, "add", "velzio", receiver.url, "--events", "account.registered")
    assert result.exit_code == 0, result.output
    secret = result.output.split("receiver): ")[1].split()[0]
    assert secret.startswith("whsec_")
    endpoint = int(result.output.split()[2])
    receiver.secret = secret

    listed = cli(app, "list", "velzio")
    assert listed.exit_code == 0 and receiver.url in listed.output
    assert secret not in listed.output and "account.registered" in listed.output
    assert "has no webhook endpoints" in cli(app, "list", "elektrum").output

    webhook_id = queue_test(app, endpoint)
    with caplog.at_level("INFO"):
        deliver(app)
    assert receiver.types() == ["webhook.test"] and receiver.requests[0]["verified"]
    assert secret not in caplog.text
    log = cli(app, "log", "velzio")
    assert log.exit_code == 0 and webhook_id in log.output and "delivered" in log.output
    assert cli(app, "log", "velzio", "--failed").output == ""

    removed = cli(app, "remove", "velzio", str(endpoint))
    assert removed.exit_code == 0, removed.output
    assert "has no webhook endpoints" in cli(app, "list", "velzio").output
    assert cli(app, "log", "velzio").output == ""


def test_a_given_secret_is_kept_and_not_printed(app, receiver):
    result = cli(app, "add", "velzio", receiver.url, "--secret", receiver.secret)
    assert result.exit_code == 0 and receiver.secret not in result.output


@pytest.mark.parametrize(
    "args, says",
    [
        (["add", "nowhere", "https://93.184.215.14/"], "no tenant"),
        (["add", "velzio", "http://127.0.0.1:9/", "--events", "account.nope"], "unknown event"),
        (["add", "velzio", "http://127.0.0.1:9/", "--secret", "hunter2"], "whsec_"),
        (["add", "velzio", "http://127.0.0.1:9/", "--secret", "whsec_!!"], "base64"),
        (["add", "velzio", "http://127.0.0.1:9/", "--secret", "whsec_c2hvcnQ="], "24 to 64"),
        (["remove", "velzio", "999999"], "no webhook endpoint"),
        (["test", "velzio", "999999"], "no webhook endpoint"),
        (["log", "nowhere"], "no tenant"),
        (["remove", "velzio", "x"], "not a valid integer"),
    ],
)
def test_cli_bad_input_is_a_message_and_exit_code_2(app, args, says):
    result = cli(app, *args)
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output


def test_an_endpoint_of_another_tenant_cannot_be_removed(app, receiver):
    endpoint = add(app, receiver.url, receiver.secret, tenant="elektrum")
    assert cli(app, "remove", "velzio", str(endpoint)).exit_code == 2
    assert receiver.url in cli(app, "list", "elektrum").output


def resolve_as(monkeypatch, names: dict[str, str]) -> None:
    """DNS answers for test names (the rest resolve as usual)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return real(names[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)


def test_a_name_that_resolves_inside_the_network_later_is_refused_at_send(
    app, receiver, monkeypatch
):
    app.config["APP_ENV"] = "production"
    resolve_as(monkeypatch, {"hooks.example": "93.184.215.14"})
    endpoint = add(app, "https://hooks.example/hook", receiver.secret)
    queue_test(app, endpoint)
    resolve_as(monkeypatch, {"hooks.example": "10.0.0.1"})
    assert deliver(app) == (0, 1)
    [row] = deliveries(app)
    assert row.last_error.startswith("refused:") and "10.0.0.1" in row.last_error


def test_https_goes_to_the_checked_address_with_the_name_verified(app, tmp_path, monkeypatch):
    """The POST connects to the address that was checked, while TLS still
    sends the name (SNI) and verifies the certificate for it."""
    cert, key = self_signed_certificate(tmp_path, "hooks.test")
    receiver = Receiver(webhooks.new_secret())
    receiver.start()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    receiver.server.socket = server_context.wrap_socket(receiver.server.socket, server_side=True)
    trusted = ssl.create_default_context(cafile=str(cert))
    real_client = httpx.Client
    monkeypatch.setattr(
        webhooks.httpx, "Client", lambda **kwargs: real_client(verify=trusted, **kwargs)
    )
    app.config["APP_ENV"] = "production"
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    try:
        resolve_as(monkeypatch, {"hooks.test": "127.0.0.1", "other.test": "127.0.0.1"})
        good = add(app, f"https://hooks.test:{receiver.port}/hook", receiver.secret)
        queue_test(app, good)
        assert deliver(app) == (1, 0)
        assert receiver.requests[0]["host"] == f"hooks.test:{receiver.port}"
        assert receiver.requests[0]["verified"]
        # A name the certificate is not for is refused by TLS.
        wrong = add(app, f"https://other.test:{receiver.port}/hook", receiver.secret)
        queue_test(app, wrong)
        assert deliver(app) == (0, 1)
        assert "CERTIFICATE_VERIFY_FAILED" in deliveries(app)[-1].last_error
    finally:
        receiver.stop()


# -- the secret at rest ---------------------------------------------------------


def stored_secret(app, endpoint_id: int) -> str:
    with app.app_context():
        return db.session.execute(
            text("SELECT secret FROM webhook_endpoints WHERE id = :id"), {"id": endpoint_id}
        ).scalar_one()


def test_the_secret_is_stored_sealed_and_still_signs(app, receiver):
    endpoint = add(app, receiver.url, receiver.secret)
    stored = stored_secret(app, endpoint)
    assert stored.startswith("v1.") and receiver.secret not in stored
    queue_test(app, endpoint)
    assert deliver(app) == (1, 0)
    assert receiver.requests[0]["verified"]


def test_a_made_secret_is_shown_once_and_stored_sealed(app):
    result = cli(app, "add", "velzio", "http://127.0.0.1:9/hook")
    assert result.exit_code == 0, result.output
    secret = result.output.split("give it to the receiver): ")[1].strip()
    assert webhooks.check_secret(secret) == secret
    endpoint = int(result.output.split()[2])
    assert secret not in stored_secret(app, endpoint)
    assert secret not in cli(app, "list", "velzio").output


def test_a_secret_stored_in_clear_before_0014_signs_and_is_sealed_on_use(app, receiver):
    endpoint = add(app, receiver.url, receiver.secret)
    with app.app_context():
        db.session.execute(
            text("UPDATE webhook_endpoints SET secret = :s WHERE id = :id"),
            {"s": receiver.secret, "id": endpoint},
        )
        db.session.commit()
    queue_test(app, endpoint)
    assert deliver(app) == (1, 0)
    assert receiver.requests[0]["verified"]
    assert stored_secret(app, endpoint).startswith("v1.")


def test_after_a_secret_key_change_the_fallback_opens_the_secret(app, receiver):
    endpoint = add(app, receiver.url, receiver.secret)
    sealed_before = stored_secret(app, endpoint)
    old_key = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="a-new-secret-key", SECRET_KEY_FALLBACKS=[old_key])
    queue_test(app, endpoint)
    assert deliver(app) == (1, 0)
    assert receiver.requests[0]["verified"]
    # Sealed anew under the new key: without the fallback it still opens.
    assert stored_secret(app, endpoint) != sealed_before
    app.config["SECRET_KEY_FALLBACKS"] = []
    queue_test(app, endpoint)
    assert deliver(app) == (1, 0)
    assert [r["verified"] for r in receiver.requests] == [True, True]


def test_a_secret_no_key_opens_fails_the_attempt_and_says_why(app, receiver):
    endpoint = add(app, receiver.url, receiver.secret)
    app.config.update(SECRET_KEY="a-new-secret-key", SECRET_KEY_FALLBACKS=[])
    queue_test(app, endpoint)
    assert deliver(app) == (0, 1)
    assert receiver.requests == []
    [row] = deliveries(app)
    assert row.delivered_at is None and "opens under no key" in row.last_error

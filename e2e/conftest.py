"""Browser fixtures: the app served on a free loopback port (its own migrated
SQLite file, the demo tenants and the Elektrum contract registry), Chromium
through Playwright, and an SMTP server that keeps what it receives.

Plain fixtures, no pytest-playwright plugin. When Chromium cannot start, every
test errors with the reason: a browser suite that skips proves nothing."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select
from support.apps import CONTRACTS_FILE, TENANTS_FILE, base_config
from werkzeug.serving import make_server

from webapp import create_app
from webapp.config import PROJECT_ROOT
from webapp.contracts import import_contracts
from webapp.extensions import db
from webapp.models import Tenant
from webapp.tenants import load_tenants, settings_for

OUTPUT = Path(__file__).parent / "output"
DOCS_SCREENSHOTS = Path(__file__).parent.parent / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@dataclass
class LiveServer:
    """A running app: its base URL, and the app for the rare look behind the UI."""

    url: str
    app: Flask

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture(scope="session")
def live_server_factory(tmp_path_factory) -> Iterator[Callable[..., LiveServer]]:
    """Start an app (config overrides as keyword arguments) on its own database
    and a free port; every server stops at the end of the session. It listens
    on 127.0.0.1; `public_host="localhost"` has the browser (and the emailed
    links) reach it by that name, as passkeys need (a WebAuthn relying party
    cannot be an IP address)."""
    started: list[tuple[object, threading.Thread, Flask]] = []

    def start(public_host: str = "127.0.0.1", **overrides) -> LiveServer:
        folder = tmp_path_factory.mktemp("live")
        app = create_app(base_config(folder, f"sqlite:///{folder / 'e2e.sqlite'}", **overrides))
        with app.app_context():
            upgrade(directory=str(PROJECT_ROOT / "webapp" / "migrations"))
            load_tenants(TENANTS_FILE)
            elektrum = db.session.scalar(select(Tenant).where(Tenant.slug == "elektrum"))
            import_contracts(elektrum, settings_for(elektrum), CONTRACTS_FILE.read_text())
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        # Emailed links lead where the browser reaches this server.
        app.config["PUBLIC_URL"] = f"http://{public_host}:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
        thread.start()
        started.append((server, thread, app))
        return LiveServer(url=f"http://{public_host}:{server.server_port}", app=app)

    yield start
    for server, thread, app in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_server_factory) -> LiveServer:
    """The app with the outbox readable through the mailbox JSON (no SMTP)."""
    return live_server_factory()


class Inbox:
    """aiosmtpd handler: every message received, parsed, in arrival order."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        with self.arrived:
            self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def take(self, to: str, timeout: float = 10) -> EmailMessage:
        """The oldest message to `to` not yet taken; waits for it, never sleeps."""

        def first():
            return next((m for m in self.messages if m["To"] == to), None)

        with self.arrived:
            message = self.arrived.wait_for(first, timeout=timeout)
            assert message is not None, f"no email to {to} within {timeout} s"
            self.messages.remove(message)
            return message


def _free_port() -> int:
    # aiosmtpd's Controller checks that its server answers on the port it was
    # given, so it needs a real number rather than 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def smtp() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on loopback: (its inbox, its port)."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture(scope="session")
def smtp_server(live_server_factory, smtp) -> tuple[LiveServer, Inbox]:
    """An app that delivers its email over SMTP to the loopback server."""
    inbox, port = smtp
    return live_server_factory(MAIL_URL=f"smtp://127.0.0.1:{port}"), inbox


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium: Debian's when installed (downloads do not work here)."""
    with sync_playwright() as playwright:
        options = {"headless": True, "args": CHROMIUM_ARGS}
        if CHROMIUM.exists():
            options["executable_path"] = str(CHROMIUM)
        try:
            chromium = playwright.chromium.launch(**options)
        except Exception as exc:
            pytest.fail(f"Chromium could not start, so no browser test can run: {exc}")
        yield chromium
        chromium.close()


def _page(browser: Browser, **options) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="lt-LT", **options)
    # Fail in seconds, not Playwright's default 30, when something is missing.
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    """A phone-sized page in a fresh context (no cookies), Lithuanian browser."""
    yield from _page(browser)


@pytest.fixture
def page_nojs(browser) -> Iterator[Page]:
    """The same, with JavaScript off: every page must still work."""
    yield from _page(browser, java_script_enabled=False)


@pytest.fixture(scope="module")
def local_server(live_server_factory):
    """A live server whose public address is http://localhost:PORT: passkeys
    need a host name (a WebAuthn relying party cannot be an IP address)."""
    return live_server_factory(public_host="localhost")


@pytest.fixture
def authenticator(page):
    """A platform authenticator that verifies the person; (CDP session, its id)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


@pytest.fixture(scope="session")
def output() -> Path:
    """Where screenshots go (gitignored)."""
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


def screenshot_folder() -> Path:
    """Where the screenshots the README shows go: e2e/output (gitignored) in
    an ordinary run, docs/screenshots with UPDATE_SCREENSHOTS=1
    (`make screenshots`), so a test run leaves the working tree as it was."""
    folder = DOCS_SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") else OUTPUT
    folder.mkdir(parents=True, exist_ok=True)
    return folder

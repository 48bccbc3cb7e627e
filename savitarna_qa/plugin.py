"""The pytest plugin (entry point `savitarna`): fixtures for a utility's own
browser tests against Savitarna.

    pytest --savitarna-url https://staging.example.lt --savitarna-qa-token … \\
           --savitarna-tenant velzio [--savitarna-ca-cert staging-ca.pem]

Without --savitarna-url it starts a Savitarna of its own (savitarna_qa.server).
Fixtures: `savitarna` (the tenant under test), `mailbox` (its test mail),
`customer` (a fresh test address), `savitarna_browser` (Chromium) and
`new_page` (a page in a fresh browser context, JavaScript on or off)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .client import Customer, Mailbox, Savitarna
from .tls import chromium_args, client_context

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("savitarna", "Savitarna QA kit")
    group.addoption(
        "--savitarna-url",
        default=os.environ.get("SAVITARNA_URL", ""),
        help="Savitarna under test (env SAVITARNA_URL); none: start a local one.",
    )
    group.addoption(
        "--savitarna-qa-token",
        default=os.environ.get("SAVITARNA_QA_TOKEN", ""),
        help="Its QA_TOKEN (env SAVITARNA_QA_TOKEN); a local server makes its own.",
    )
    group.addoption(
        "--savitarna-tenant",
        default=os.environ.get("SAVITARNA_TENANT", "velzio"),
        help="The tenant (utility) slug under test. Default: velzio.",
    )
    group.addoption(
        "--savitarna-embed-origin",
        action="append",
        default=[],
        help="Local server only: also let this origin frame the forms (repeatable).",
    )
    group.addoption(
        "--savitarna-tenants-file",
        default="",
        help="Local server only: a tenants file instead of the demo tenants.",
    )
    group.addoption(
        "--savitarna-ca-cert",
        default=os.environ.get("SAVITARNA_CA_CERT", ""),
        help="PEM certificate(s) to trust for --savitarna-url (a staging CA or a "
        "self-signed certificate), in the mail API client and in Chromium "
        "(env SAVITARNA_CA_CERT).",
    )
    group.addoption(
        "--savitarna-chromium",
        default=os.environ.get("SAVITARNA_CHROMIUM", ""),
        help="Chromium to drive (default: /usr/bin/chromium if there, else Playwright's).",
    )


@pytest.fixture(scope="session")
def savitarna_embed_origins(request) -> list[str]:
    """Origins the local server lets frame its forms, besides the tenants' own.
    Override it in your conftest.py to add the page you serve for a test."""
    return list(request.config.getoption("--savitarna-embed-origin"))


@pytest.fixture(scope="session")
def savitarna_deployment(request, tmp_path_factory, savitarna_embed_origins):
    """(url, token): the deployment of --savitarna-url, or a local server."""
    url = request.config.getoption("--savitarna-url")
    if url:
        token = request.config.getoption("--savitarna-qa-token")
        if not token:
            pytest.fail("--savitarna-url needs --savitarna-qa-token (the deployment's QA_TOKEN)")
        yield url, token
        return
    from .server import start_local_server

    tenants = request.config.getoption("--savitarna-tenants-file")
    server = start_local_server(
        tmp_path_factory.mktemp("savitarna"),
        embed_origins=tuple(savitarna_embed_origins),
        tenants_file=Path(tenants) if tenants else None,
    )
    yield server.url, server.token
    server.stop()


@pytest.fixture(scope="session")
def savitarna(request, savitarna_deployment) -> Savitarna:
    """The tenant under test: its URL (call it with a path), profile and test
    address patterns."""
    url, token = savitarna_deployment
    tenant = request.config.getoption("--savitarna-tenant")
    return Savitarna.connect(url, tenant, token, verify=_verify(request.config))


def _ca_cert(config) -> Path | None:
    path = config.getoption("--savitarna-ca-cert")
    if not path:
        return None
    if not Path(path).is_file():
        pytest.fail(f"--savitarna-ca-cert: no file {path}")
    return Path(path)


def _verify(config):
    """httpx's verify: the system's trust, or the given certificate only."""
    path = _ca_cert(config)
    return client_context(path) if path else True


@pytest.fixture
def mailbox(savitarna) -> Iterator[Mailbox]:
    """The mail to the tenant's test addresses: mailbox.wait(address) returns
    the next email (text, html, links) or fails at its deadline."""
    box = Mailbox(savitarna)
    yield box
    box.close()


@pytest.fixture
def customer(savitarna) -> Customer:
    """A person new to the site, with a fresh test address."""
    return Customer.fresh(savitarna)


def _chromium(option: str) -> str | None:
    if option:
        return option
    found = Path("/usr/bin/chromium")
    return str(found) if found.exists() else shutil.which("chromium")


@pytest.fixture(scope="session")
def savitarna_browser(request):
    """Headless Chromium through Playwright, for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        trusted = _ca_cert(request.config)
        args = [*CHROMIUM_ARGS, *(chromium_args(trusted) if trusted else [])]
        options = {"headless": True, "args": args}
        executable = _chromium(request.config.getoption("--savitarna-chromium"))
        if executable:
            options["executable_path"] = executable
        try:
            browser = playwright.chromium.launch(**options)
        except Exception as exc:
            pytest.fail(f"Chromium could not start: {exc}")
        yield browser
        browser.close()


@pytest.fixture
def new_page(savitarna_browser) -> Iterator[Callable[..., object]]:
    """new_page(javascript=True, locale="lt-LT", **context options): a page in
    a fresh context (no cookies); closed after the test."""
    contexts = []

    def make(javascript: bool = True, locale: str = "lt-LT", timeout_ms: int = 10_000, **options):
        context = savitarna_browser.new_context(
            java_script_enabled=javascript, locale=locale, **options
        )
        context.set_default_timeout(timeout_ms)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()

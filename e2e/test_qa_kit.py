"""The QA kit as a utility's tester uses it: the example test of README
("Testing your integration") copied into a directory of its own and run by
pytest there, with the installed package's plugin and nothing of our suites."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.apps import TENANTS_FILE
from support.data import VELZIO_OK
from support.forms import csrf_from
from support.servers import (
    Process,
    flask_command,
    free_port,
    fresh_schema,
    production_env,
    require_services,
    start_gunicorn,
    start_worker,
    wait_ready,
)
from support.smtp import LoopbackSMTP
from support.tls import self_signed_certificate

from webapp.config import PROJECT_ROOT
from webapp.limits import DEFAULT_LIMITS

pytestmark = pytest.mark.e2e

EXAMPLE = PROJECT_ROOT / "examples" / "qa" / "test_example.py"
KIT = PROJECT_ROOT / "savitarna_qa"
# What a tester's shell has; none of our settings (APP_ENV, DATABASE_URL ...).
KEPT = ("PATH", "HOME", "LANG", "TMPDIR")


def run_example(folder: Path, *options: str, **env_vars: str) -> subprocess.CompletedProcess:
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    env = {name: os.environ[name] for name in KEPT if name in os.environ} | env_vars
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *options]
    return subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.mark.parametrize("tenant", ["velzio", "elektrum"])
def test_the_example_passes_from_a_directory_of_its_own(tmp_path, tenant):
    """Against the local server the plugin starts: JavaScript on and off."""
    result = run_example(tmp_path, "--savitarna-tenant", tenant)
    report = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert "2 passed" in result.stdout, report
    assert not (tmp_path / "conftest.py").exists()


def test_the_kit_imports_nothing_of_our_suites():
    """The plugin runs where our source tree's tests are not."""
    for source in [*KIT.glob("*.py"), EXAMPLE]:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top not in {"tests", "e2e", "conftest", "bench"}, (source.name, name)


QA_TOKEN = "qa-production-" + "k" * 40
REAL_ADDRESS = "ona.real@example.com"


@pytest.fixture
def production(tmp_path_factory):
    """A production-mode instance as staging runs it: gunicorn speaking TLS
    itself at https://localhost:PORT (a self-signed certificate), the worker,
    mail capture on and an SMTP server behind it; PostgreSQL when
    TEST_DATABASE_URL is set (always in CI), else a SQLite file. The tenants
    let the example's page (http://localhost:SITE_PORT) frame their forms."""
    if os.environ.get("CI"):
        require_services("TEST_DATABASE_URL", why="the production instance runs on PostgreSQL")
    folder = tmp_path_factory.mktemp("production")
    cert, key = self_signed_certificate(folder, "localhost", "IP:127.0.0.1")
    port, site_port = free_port(), free_port()
    tenants = folder / "tenants.toml"
    tenants.write_text(
        TENANTS_FILE.read_text(encoding="utf-8").replace(
            "embed_origins = [", f'embed_origins = ["http://localhost:{site_port}", '
        ),
        encoding="utf-8",
    )
    smtp = LoopbackSMTP().start()
    processes: list[Process] = []
    with ExitStack() as stack:
        stack.callback(smtp.stop)
        if os.environ.get("TEST_DATABASE_URL"):
            database, workers = stack.enter_context(fresh_schema("test_qa_kit")), "2"
        else:
            database, workers = f"sqlite:///{folder / 'savitarna.sqlite'}", "1"
        # Two workers count limits together only in Redis (as production does);
        # without it, one worker keeps the count in its memory. gunicorn speaks
        # TLS itself here, with no proxy in front to buffer: a gthread worker's
        # thread waits on each new connection until its request arrives, and
        # Chromium opens connections ahead of need, so one worker gets the
        # threads of two (else a navigation can wait behind idle sockets).
        redis_url = os.environ.get("TEST_REDIS_URL", "")
        threads = "4"
        if not redis_url:
            workers, threads = "1", "8"
        env = production_env(
            database,
            folder / "instance",
            PUBLIC_URL=f"https://localhost:{port}",
            TRUSTED_PROXIES="0",
            WEB_CONCURRENCY=workers,
            GUNICORN_THREADS=threads,
            REDIS_URL=redis_url,
            # Counts of its own: a run minutes later must not meet this one's.
            RATELIMIT_KEY_PREFIX=f"qa-kit-{port}-{os.getpid()}",
            MAIL_URL=smtp.url,
            QA_MAIL_CAPTURE="1",
            QA_TOKEN=QA_TOKEN,
        )
        flask_command(env, "db", "upgrade")
        flask_command(env, "tenants", "load", str(tenants))
        try:
            processes.append(start_gunicorn("web", env, folder, port=port, tls=(cert, key)))
            processes.append(start_worker("worker", env, folder, "--interval", "0.5"))
            wait_ready(processes[0])
            yield SimpleNamespace(
                web=processes[0], smtp=smtp, cert=cert, site_port=site_port, folder=folder
            )
        finally:
            for process in processes:
                process.stop()


def register_by_hand(web: Process, email: str) -> int:
    """A registration over https as a browser posts it (CSRF token, Referer)."""
    import httpx

    with httpx.Client(base_url=web.url, verify=web.verify, timeout=30) as browser:
        page = browser.get("/velzio/register")
        data = {**VELZIO_OK, "email": email, "csrf_token": csrf_from(page.text)}
        answer = browser.post(
            "/velzio/register", data=data, headers={"Referer": f"{web.url}/velzio/register"}
        )
    return answer.status_code


def test_the_example_passes_against_a_production_instance_over_tls(production, tmp_path):
    """The README's staging command, JavaScript on and off; the test address's
    mail is sent and readable, a real address's is sent and not readable."""
    import httpx

    web = production.web
    assert register_by_hand(web, REAL_ADDRESS) == 303
    result = run_example(
        tmp_path,
        "--savitarna-url",
        web.url,
        "--savitarna-qa-token",
        QA_TOKEN,
        "--savitarna-tenant",
        "velzio",
        "--savitarna-ca-cert",
        str(production.cert),
        YOUR_SITE_PORT=str(production.site_port),
    )
    report = result.stdout[-4000:] + result.stderr[-2000:] + web.output()[-3000:]
    assert result.returncode == 0, report
    assert "2 passed" in result.stdout, report

    received = wait_for(production.smtp.recipients, lambda found: REAL_ADDRESS in found)
    testers = [address for address in received if address.endswith("@qa.example.com")]
    assert len(testers) == 2, received  # one customer per run (JavaScript on, off)
    headers = {"Authorization": f"Bearer {QA_TOKEN}"}
    api = f"{web.url}/velzio/_qa/messages"
    real = httpx.get(api, params={"to": REAL_ADDRESS}, headers=headers, verify=web.verify)
    assert real.status_code == 404
    assert real.json() == {"error": "not_found"}
    tester = httpx.get(api, params={"to": testers[0]}, headers=headers, verify=web.verify)
    assert tester.status_code == 200
    assert tester.json()["messages"][0]["links"][0].startswith(f"{web.url}/velzio/")
    # Without the certificate the kit's client refuses the deployment.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{web.url}/velzio/_qa/", headers=headers)


def test_wrong_tokens_at_the_production_instance_end_in_429(production):
    import httpx

    web = production.web
    limit = int(DEFAULT_LIMITS["RATELIMIT_QA_TOKEN_FAILURES"].split()[0])
    answers = [
        httpx.get(
            f"{web.url}/velzio/_qa/",
            headers={"Authorization": f"Bearer guess-{n}"},
            verify=web.verify,
        )
        for n in range(limit + 1)
    ]
    assert [a.status_code for a in answers] == [401] * limit + [429]
    right = httpx.get(
        f"{web.url}/velzio/_qa/",
        headers={"Authorization": f"Bearer {QA_TOKEN}"},
        verify=web.verify,
    )
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0


def wait_for(read, done, timeout: float = 30):
    """Poll `read()` until `done(value)`, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"not before the deadline: {value}"
        time.sleep(0.2)

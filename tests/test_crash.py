"""Nothing answered is lost: registrations while gunicorn workers are killed.

Two gunicorn instances (2 workers each, gunicorn.conf.py, APP_ENV=production)
and the worker (`flask --app wsgi worker`) on a fresh PostgreSQL schema, mail to
a real SMTP sink on loopback. Visitors register at a dozen at once while the
test kills a gunicorn worker with SIGKILL again and again (gunicorn starts a new
one): requests in flight are cut, and work promised by answers already sent dies
with the process. Afterwards every registration that was answered must end
with exactly one account and exactly one email, none doubled, and the surviving
processes must have answered no request with a 5xx.

A job or message held by a killed process waits for its lease, so the test
shortens the leases (JOB_LEASE_SECONDS, MAIL_CLAIM_SECONDS) to keep its wait
short; production keeps a minute or two.

Needs TEST_DATABASE_URL (skips with the reason otherwise, fails where CI is set)."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import CSRF_RE
from support.servers import (
    Process,
    fresh_schema,
    prepare_release,
    production_env,
    require_services,
    start_gunicorn,
    start_worker,
    wait_ready,
)
from support.smtp import LoopbackSMTP

REGISTRATIONS = 160
CONCURRENCY = 12
KILLS = 8
SETTLE_SECONDS = 30


@dataclass
class Attempt:
    slug: str
    email: str
    status: int | None = None  # None: no answer (the connection was cut)
    error: str | None = None


def register(urls: list[str], run: str, n: int) -> Attempt:
    """Visitor n: a browser of its own, behind the proxy at its own address."""
    import httpx

    slug = "velzio" if n % 2 else "elektrum"
    attempt = Attempt(slug, f"crash-{run}-{n}@example.com")
    data = {**(VELZIO_OK if slug == "velzio" else ELEKTRUM_OK), "email": attempt.email}
    if slug == "elektrum" and n % 4 == 0:
        data.update(is_customer="no", contract_number="")
    base = urls[n % len(urls)]
    # Each visitor in a /64 of its own: the limits count a /64 as one client.
    headers = {"X-Forwarded-For": f"2001:db8:{run[:4]}:{n:x}::1"}

    def as_if_over_tls(response) -> None:
        # The proxy would speak https to the browser: keep the Secure cookies.
        for cookie in browser.cookies.jar:
            cookie.secure = False

    browser = httpx.Client(timeout=30, headers=headers, event_hooks={"response": [as_if_over_tls]})
    with browser:
        try:
            page = browser.get(f"{base}/{slug}/register")
            match = CSRF_RE.search(page.text)
            if not match:
                attempt.error = f"page {page.status_code}"
                return attempt
            response = browser.post(
                f"{base}/{slug}/register", data={"csrf_token": match.group(1), **data}
            )
            attempt.status = response.status_code
        except httpx.TransportError as exc:
            attempt.error = type(exc).__name__
    return attempt


class Killer:
    """SIGKILLs a gunicorn worker each time the load passes another 1/(KILLS+1)
    of the registrations, taking the instances in turn."""

    def __init__(self, instances: list[Process]):
        self.instances = instances
        self.done = 0
        self.killed: list[int] = []
        self._lock = threading.Lock()
        self._next = threading.Event()

    def finished_one(self) -> None:
        with self._lock:
            self.done += 1
            step = REGISTRATIONS // (KILLS + 1)
            if self.done % step == 0 and self.done // step <= KILLS:
                self._next.set()

    def run(self, stop: threading.Event) -> None:
        rng = random.Random(9)
        while len(self.killed) < KILLS and not stop.is_set():
            if not self._next.wait(0.1):
                continue
            self._next.clear()
            instance = self.instances[len(self.killed) % len(self.instances)]
            pids = self._wait_for_workers(instance)
            if pids:
                pid = rng.choice(pids)
                os.kill(pid, signal.SIGKILL)
                self.killed.append(pid)

    @staticmethod
    def _wait_for_workers(instance: Process, seconds: float = 10) -> list[int]:
        # A worker killed a moment ago may not have been replaced yet.
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pids = instance.worker_pids()
            if len(pids) >= 2:
                return pids
            time.sleep(0.05)
        return instance.worker_pids()


def request_lines(instance: Process) -> list[dict]:
    import json

    lines = [json.loads(line) for line in instance.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "webapp.request"]


@pytest.fixture
def system(tmp_path_factory):
    """Two instances and a worker, as the README's Production section runs them."""
    require_services(
        "TEST_DATABASE_URL", why="the crash test runs gunicorn and the worker on PostgreSQL"
    )
    smtp = LoopbackSMTP().start()
    processes: list[Process] = []
    with fresh_schema("test_crash") as url:
        env = production_env(
            url,
            tmp_path_factory.mktemp("instance"),
            REDIS_URL="",
            MAIL_URL=smtp.url,
            MAIL_TIMEOUT="5",
            MAIL_CLAIM_SECONDS="3",
            JOB_LEASE_SECONDS="3",
        )
        log_dir = tmp_path_factory.mktemp("crash")
        engine = create_engine(url)
        try:
            prepare_release(env)
            processes = [start_gunicorn("a", env, log_dir), start_gunicorn("b", env, log_dir)]
            processes.append(start_worker("worker", env, log_dir, "--interval", "0.5"))
            for instance in processes[:2]:
                wait_ready(instance)
            yield processes, engine, smtp
        finally:
            exits = {process.name: process.stop() for process in processes}
            engine.dispose()
            smtp.stop()
    # SIGTERM: the worker ends after its round in hand, gunicorn after its requests.
    assert exits == {"a": 0, "b": 0, "worker": 0}, {p.name: p.output()[-3000:] for p in processes}


def test_every_answered_registration_survives_killed_workers(system, capsys):
    processes, engine, smtp = system
    instances, worker = processes[:2], processes[2]
    run = uuid.uuid4().hex[:8]
    killer = Killer(instances)
    stop = threading.Event()
    killing = threading.Thread(target=killer.run, args=(stop,), name="killer")
    killing.start()

    def one(n: int) -> Attempt:
        try:
            return register([i.url for i in instances], run, n)
        finally:
            killer.finished_one()

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            attempts = list(pool.map(one, range(REGISTRATIONS)))
    finally:
        stop.set()
        killing.join(timeout=30)
    load_seconds = time.monotonic() - started

    answered = [a for a in attempts if a.status == 303]
    unanswered = [a for a in attempts if a.status is None]
    statuses = Counter(a.status for a in attempts)

    def accounts() -> Counter:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT email, count(*) FROM accounts WHERE email LIKE :p GROUP BY email"),
                {"p": f"crash-{run}-%"},
            )
            return Counter({email: count for email, count in rows})

    def settled() -> bool:
        made, received = accounts(), smtp.recipients()
        return all(made[a.email] >= 1 and received.get(a.email) for a in answered)

    settle_started = time.monotonic()
    deadline = settle_started + SETTLE_SECONDS
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.1)
    settle_seconds = time.monotonic() - settle_started

    made, received = accounts(), smtp.recipients()
    lost = [a.email for a in answered if made[a.email] == 0 or not received.get(a.email)]
    doubled = [a.email for a in answered if made[a.email] > 1 or len(received.get(a.email, ())) > 1]
    unanswered_registered = [a.email for a in unanswered if made[a.email]]
    server_errors = [
        line for instance in instances for line in request_lines(instance) if line["status"] >= 500
    ]
    ids = smtp.message_ids()
    with capsys.disabled():
        print(
            f"\n[crash] {REGISTRATIONS} registrations, {CONCURRENCY} at once, 2 gunicorn "
            f"instances x 2 workers + flask worker, PostgreSQL: answered {len(answered)}, "
            f"gunicorn workers killed {len(killer.killed)}, lost {len(lost)}, doubled "
            f"{len(doubled)}, unanswered {len(unanswered)} (connection cut; "
            f"{len(unanswered_registered)} of them registered all the same), statuses "
            f"{dict(statuses)}, 5xx {len(server_errors)}; load {load_seconds:.1f} s, settled "
            f"{settle_seconds:.1f} s after; SMTP deliveries {sum(ids.values())} of "
            f"{len(ids)} messages (a repeat keeps its Message-ID) to {len(received)} recipients"
        )

    assert len(killer.killed) == KILLS, "the load ended before every kill"
    assert len(answered) >= REGISTRATIONS // 2, (statuses, [a.error for a in attempts])
    assert not lost, (lost, worker.output()[-3000:])
    assert not doubled, doubled
    assert not server_errors, server_errors
    # Every request was either answered as a registration or cut: never an error page.
    assert set(statuses) <= {303, None}, statuses

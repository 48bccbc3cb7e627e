"""Several instances, as in production: two gunicorn servers (APP_ENV=production,
gunicorn.conf.py) on free ports sharing one PostgreSQL schema and one Redis,
behind a (pretend) reverse proxy that sets X-Forwarded-For. A customer may land
on either instance at any step; a limit reached on one holds on the other; and
a burst of registrations across both leaves every account and every email
exactly once.

Needs TEST_DATABASE_URL and TEST_REDIS_URL. Without them the tests skip with
the reason in the report, and fail where CI is set (.ci/run always sets both)."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import CSRF_RE, csrf_from
from support.mail import link_in
from support.servers import (
    Process,
    fresh_schema,
    prepare_release,
    production_env,
    require_services,
    start_gunicorn,
    wait_ready,
)

REDIS = os.environ.get("TEST_REDIS_URL")
# Each virtual user of the load test registers once; both tenants.
LOAD_USERS = 300
LOAD_CONCURRENCY = 32


@dataclass
class Cluster:
    a: Process
    b: Process
    engine: object
    run: str
    env: dict = field(repr=False)

    def scalar(self, sql: str, **params):
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def eventually(self, sql: str, done, seconds: float = 30, **params):
        """The value of `sql` once `done(value)` holds: the instances write the
        account and its email just after answering, as a person's inbox lags."""
        deadline = time.monotonic() + seconds
        while True:
            value = self.scalar(sql, **params)
            if done(value) or time.monotonic() > deadline:
                return value
            time.sleep(0.05)

    def link_for(self, email: str, marker: str) -> str:
        body = self.eventually(
            "SELECT text_body FROM outbox WHERE recipient = :email ORDER BY id DESC LIMIT 1",
            bool,
            email=email,
        )
        assert body, f"no email to {email} in the outbox"
        return link_in(body, marker)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two gunicorn instances on one fresh PostgreSQL schema (migrated and with
    the demo tenants, by the README's commands) and one Redis, each with
    its own key prefix so other test runs sharing the Redis are untouched."""
    require_services(
        "TEST_DATABASE_URL",
        "TEST_REDIS_URL",
        why="two gunicorn instances need a shared PostgreSQL and Redis",
    )
    import redis

    run = uuid.uuid4().hex[:10]
    prefix = f"savitarna-test-{run}"
    instances: list[Process] = []
    with fresh_schema("test_multi") as url:
        env = production_env(
            url,
            tmp_path_factory.mktemp("instance"),
            REDIS_URL=REDIS,
            RATELIMIT_KEY_PREFIX=prefix,
            RATELIMIT_LOGIN_IP="3 per minute",
        )
        log_dir = tmp_path_factory.mktemp("gunicorn")
        engine = create_engine(url)
        try:
            prepare_release(env)
            instances = [start_gunicorn("a", env, log_dir), start_gunicorn("b", env, log_dir)]
            for instance in instances:
                wait_ready(instance)
            yield Cluster(instances[0], instances[1], engine, run, env)
        finally:
            exits = [instance.stop() for instance in instances]
            engine.dispose()
            store = redis.Redis.from_url(REDIS)
            keys = list(store.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                store.delete(*keys)
            store.close()
    # A graceful stop on SIGTERM: every worker finished and gunicorn exited cleanly.
    assert exits == [0, 0], [instance.output()[-2000:] for instance in instances]


class Visitor:
    """One person's browser: own cookies (Secure ones too: the instances run
    with APP_ENV=production over plain HTTP here), own address as the proxy
    reports it."""

    def __init__(self, address: str):
        import httpx

        self.http = httpx.Client(
            timeout=30,
            headers={"X-Forwarded-For": address},
            event_hooks={"response": [self._as_if_over_tls]},
        )

    def _as_if_over_tls(self, response) -> None:
        # A browser gets these cookies over https from the proxy and sends them
        # back; this client talks plain HTTP to the instances, so it keeps them
        # as if they were not Secure-only.
        for cookie in self.http.cookies.jar:
            cookie.secure = False

    def get(self, url: str, **headers):
        return self.http.get(url, headers=headers)

    def submit(self, page: str, data: dict, action: str | None = None, **headers):
        """Open `page`, post `data` with its CSRF token to `action` (or back)."""
        html = self.http.get(page).text
        return self.http.post(
            action or page, data={"csrf_token": csrf_from(html), **data}, headers=headers
        )

    def close(self):
        self.http.close()


def request_lines(instance: Process) -> list[dict]:
    import json

    lines = [json.loads(line) for line in instance.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "webapp.request"]


def test_a_customer_moves_between_instances(cluster):
    a, b = cluster.a.url, cluster.b.url
    email = f"ona-{cluster.run}@example.com"
    person = Visitor(f"2001:db8:{cluster.run[:4]}::1")
    try:
        response = person.submit(f"{a}/velzio/register", {**VELZIO_OK, "email": email})
        assert response.status_code == 303, response.text
        link = cluster.link_for(email, "/confirm/")
        # The emailed link opens on the other instance; its button confirms.
        confirmed = person.submit(f"{b}{link}", {}, **{"X-Request-ID": f"confirm-{cluster.run}"})
        assert confirmed.status_code == 303
        assert cluster.scalar(
            "SELECT email_confirmed_at IS NOT NULL FROM accounts WHERE email = :e", e=email
        )
        # The login form from B, posted to A: the CSRF token and the session
        # are signed cookies, valid on every instance with the same SECRET_KEY.
        response = person.submit(
            f"{b}/velzio/",
            {"email": email, "password": VELZIO_OK["password"]},
            action=f"{a}/velzio/",
        )
        assert response.status_code == 303
        assert urlsplit(response.headers["Location"]).path == "/velzio/account/"
        for instance in (a, b):
            page = person.get(f"{instance}/velzio/account/")
            assert page.status_code == 200
            assert VELZIO_OK["first_name"] in page.text
    finally:
        person.close()

    # B logged the confirmation with the proxy's request id and without the secret.
    [line] = [r for r in request_lines(cluster.b) if r["request_id"] == f"confirm-{cluster.run}"]
    assert line["path"] == "/velzio/confirm/[redacted]"
    assert line["status"] == 303 and line["tenant"] == "velzio"
    secret = link.rsplit("/", 1)[1]
    for instance in (cluster.a, cluster.b):
        assert secret not in instance.output()
        assert email not in instance.output()


def test_a_limit_reached_on_one_instance_holds_on_the_other(cluster):
    a, b = cluster.a.url, cluster.b.url
    # Networks of their own: the limits count an IPv6 client by its /64.
    attacker = Visitor(f"2001:db8:{cluster.run[:4]}:fffd::66")
    neighbour = Visitor(f"2001:db8:{cluster.run[:4]}:fffe::67")
    wrong = {"email": f"nobody-{cluster.run}@example.com", "password": "Wrong1234"}
    try:
        # RATELIMIT_LOGIN_IP=3 per minute for the cluster.
        for _ in range(3):
            assert attacker.submit(f"{a}/velzio/", wrong).status_code == 422
        assert attacker.submit(f"{a}/velzio/", wrong).status_code == 429
        held = attacker.submit(f"{b}/velzio/", wrong)
        assert held.status_code == 429
        assert 0 < int(held.headers["Retry-After"]) <= 60
        # Per client address (from the trusted proxy), not for everyone.
        assert neighbour.submit(f"{b}/velzio/", wrong).status_code == 422
    finally:
        attacker.close()
        neighbour.close()


def _register_one(cluster: Cluster, n: int) -> tuple[str, str, int, int, float]:
    """Virtual user n: its own browser and address; the page from one instance,
    the POST to the other. Returns (tenant, email, GET status, POST status, POST ms)."""
    first, second = (cluster.a.url, cluster.b.url)[:: 1 if n % 2 else -1]
    slug = "velzio" if n % 2 else "elektrum"
    email = f"load-{cluster.run}-{n}@example.com"
    if slug == "velzio":
        data = {**VELZIO_OK, "email": email}
    else:
        data = {**ELEKTRUM_OK, "email": email}
        if n % 4 == 0:
            data.update(is_customer="no", contract_number="")
    visitor = Visitor(f"2001:db8:{cluster.run[:4]}:{n + 1:x}::1")  # a /64 each
    try:
        page = visitor.get(f"{first}/{slug}/register")
        match = CSRF_RE.search(page.text)
        if not match:
            return slug, email, page.status_code, 0, 0.0
        started = time.perf_counter()
        response = visitor.http.post(
            f"{second}/{slug}/register", data={"csrf_token": match.group(1), **data}
        )
        return (
            slug,
            email,
            page.status_code,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
    finally:
        visitor.close()


def test_hundreds_of_registrations_across_both_instances(cluster, capsys):
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=LOAD_CONCURRENCY) as pool:
        results = list(pool.map(lambda n: _register_one(cluster, n), range(LOAD_USERS)))
    elapsed = time.perf_counter() - started

    statuses = Counter((get, post) for _, _, get, post, _ in results)
    emails = {email: slug for slug, email, *_ in results}
    pattern = f"load-{cluster.run}-%"
    cluster.eventually(
        "SELECT count(*) FROM outbox WHERE recipient LIKE :p",
        lambda count: count >= LOAD_USERS,
        p=pattern,
    )
    accounts = cluster.rows(
        "SELECT t.slug, a.email, count(*) FROM accounts a JOIN tenants t ON t.id = a.tenant_id"
        " WHERE a.email LIKE :p GROUP BY t.slug, a.email",
        p=pattern,
    )
    messages = cluster.rows(
        "SELECT recipient, kind, count(*) FROM outbox WHERE recipient LIKE :p"
        " GROUP BY recipient, kind",
        p=pattern,
    )
    server_errors = [
        line
        for instance in (cluster.a, cluster.b)
        for line in request_lines(instance)
        if line["status"] >= 500
    ]
    posts = sorted(ms for *_, ms in results)
    register_lines = {
        i.name: [r for r in request_lines(i) if r["path"].endswith("/register")]
        for i in (cluster.a, cluster.b)
    }
    server_ms = sorted(
        r["duration_ms"]
        for lines in register_lines.values()
        for r in lines
        if r["method"] == "POST"
    )
    tenants = Counter(emails.values())
    with capsys.disabled():
        print(
            f"\nload test: {LOAD_USERS} registrations (velzio {tenants['velzio']}, elektrum "
            f"{tenants['elektrum']}), {LOAD_CONCURRENCY} visitors at once, 2 gunicorn instances: "
            f"{elapsed:.1f} s, {LOAD_USERS / elapsed:.1f} registrations/s; POST ms at the "
            f"client p50 {statistics.median(posts):.0f} p95 {posts[int(len(posts) * 0.95)]:.0f} "
            f"max {posts[-1]:.0f}, in the server p50 {statistics.median(server_ms):.0f} "
            f"max {server_ms[-1]:.0f}; (GET, POST) statuses {dict(statuses)}; requests per "
            f"instance { {name: len(lines) for name, lines in register_lines.items()} }; "
            f"accounts {len(accounts)}, emails {sum(count for *_, count in messages)}, "
            f"5xx {len(server_errors)}"
        )

    assert statuses == Counter({(200, 303): LOAD_USERS})
    assert not server_errors
    # Every account exactly once, at the right tenant.
    assert sorted((slug, email, count) for slug, email, count in accounts) == sorted(
        (slug, email, 1) for email, slug in emails.items()
    )
    # Every confirmation email exactly once, of the tenant's kind.
    kinds = {"velzio": "confirm", "elektrum": "activate"}
    assert sorted(tuple(m) for m in messages) == sorted(
        (email, kinds[slug], 1) for email, slug in emails.items()
    )
    # Both instances took their share (a page view and a POST per two visitors).
    assert all(len(lines) >= LOAD_USERS for lines in register_lines.values())

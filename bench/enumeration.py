"""How long the known- and unknown-email answers take, measured over HTTP.

Registration, forgot password, 'send again' and a failed login must not be
measurably slower (or faster) for an email that has an account. This script
starts the app in a separate process with the production password-hash
parameters and a real SMTP sink on loopback (so mail is delivered, as in
production), then times interleaved pairs of requests from this process:

    registration  a new email           vs  an email that has an account
    forgot        an unknown email      vs  a known one
    send again    an unknown email      vs  an unconfirmed known one
    login         an unknown email      vs  a known one, wrong password

It prints the medians and the difference of medians with a bootstrap 95%
confidence interval, and writes bench/results/enumeration-<time>.json.

    .venv/bin/python bench/enumeration.py [--samples 200] [--database-url URL]

The server is gunicorn with the project's gunicorn.conf.py. The default database
is a fresh SQLite file; with a PostgreSQL server's URL (`make bench` passes the
machine's) the measurement runs in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "Slapta123"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """Accepts every message, as a mail relay would."""

    received = 0

    async def handle_DATA(self, server, session, envelope):
        Sink.received += 1
        return "250 OK"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Visitor:
    """A browser: its own cookies, the page's CSRF token, no redirects followed."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Accept-Language": "lt"}
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str) -> str:
        status, html = self.request(path)
        match = CSRF_RE.search(html)
        if status != 200 or not match:
            raise RuntimeError(f"GET {path}: {status}, no form")
        return match.group(1)

    def timed_post(self, path: str, data: dict) -> tuple[int, float]:
        payload = {"csrf_token": self.token(path), **data}
        start = time.perf_counter()
        status, _ = self.request(path, payload)
        return status, (time.perf_counter() - start) * 1000


def start_server(database_url: str, smtp_port: int, instance: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn with the project's config, as in production, except for plain-HTTP
    cookies (development mode) so this client keeps its session."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARGON2_", "RATELIMIT_", "FLASK_"))
    }
    env.update(
        APP_ENV="development",
        INSTANCE_PATH=str(instance),
        DATABASE_URL=database_url,
        MAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        MAILBOX_ENABLED="0",
        LOG_LEVEL="WARNING",
        # The same for known and new addresses, but a remote call adds its noise.
        BREACHED_PASSWORDS_URL="",
    )
    # Production argon2 parameters (the config's defaults), and no rate limits
    # standing between the samples and the code being measured.
    from webapp.limits import DEFAULT_LIMITS

    for key in DEFAULT_LIMITS:
        env[key] = "1000000 per minute"
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for args in (["db", "upgrade"], ["tenants", "load", "data/tenants.toml"]):
        subprocess.run([*flask, *args], cwd=ROOT, env=env, check=True, capture_output=True)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()
            return server, base
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


@contextmanager
def database(server_url: str, tmp: Path):
    """A fresh SQLite file, or a schema of its own in a PostgreSQL server."""
    if not server_url.startswith("postgres"):
        yield server_url or f"sqlite:///{tmp / 'bench.sqlite'}"
        return
    from sqlalchemy import create_engine, text

    from webapp.config import database_url

    schema = f"bench_enum_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def registration(email: str) -> dict:
    return {
        "first_name": "Ona",
        "last_name": "Onaitė",
        "email": email,
        "password": PASSWORD,
        "password2": PASSWORD,
        "invoices_by_email": "y",
        "terms": "y",
    }


def cases(run: str):
    """(name, path, known data, unknown data factory, expected status)."""
    known = f"known.{run}@example.com"
    serial = iter(range(10**9))
    return known, [
        (
            "registration",
            "/velzio/register",
            lambda: registration(known),
            lambda: registration(f"new{next(serial)}.{run}@example.com"),
            303,
        ),
        (
            "forgot password",
            "/velzio/forgot",
            lambda: {"email": known},
            lambda: {"email": f"unknown{next(serial)}.{run}@example.com"},
            200,
        ),
        (
            "send again",
            "/velzio/resend",
            lambda: {"email": known},
            lambda: {"email": f"unknown{next(serial)}.{run}@example.com"},
            200,
        ),
        (
            "failed login",
            "/velzio/",
            lambda: {"email": known, "password": "Wrong1234"},
            lambda: {"email": f"unknown{next(serial)}.{run}@example.com", "password": "Wrong1234"},
            422,
        ),
    ]


def bootstrap_ci(a: list[float], b: list[float], rounds: int = 2000) -> tuple[float, float]:
    """95% interval of median(a) - median(b)."""
    rng = random.Random(7)
    diffs = sorted(
        statistics.median(rng.choices(a, k=len(a))) - statistics.median(rng.choices(b, k=len(b)))
        for _ in range(rounds)
    )
    return diffs[int(0.025 * rounds)], diffs[int(0.975 * rounds)]


def measure(base: str, samples: int, gap: float) -> list[dict]:
    run = datetime.now(UTC).strftime("%H%M%S%f")
    known, table = cases(run)
    visitor = Visitor(base)
    # The known account exists and is not confirmed (so 'send again' has work to do).
    status, _ = visitor.timed_post("/velzio/register", registration(known))
    assert status == 303, status
    rows = []
    for name, path, known_data, unknown_data, expected in table:
        times = {"known": [], "unknown": []}
        for _ in range(5):  # warm up both branches
            Visitor(base).timed_post(path, known_data())
            Visitor(base).timed_post(path, unknown_data())
        for _ in range(samples):
            order = ["known", "unknown"]
            random.shuffle(order)
            for which in order:
                data = known_data() if which == "known" else unknown_data()
                # Let the work the server does after the previous answer finish:
                # it would otherwise slow this request down, whichever it is.
                time.sleep(gap)
                status, ms = Visitor(base).timed_post(path, data)
                if status != expected:
                    raise RuntimeError(f"{name} ({which}): status {status}, expected {expected}")
                times[which].append(ms)
        known_median = statistics.median(times["known"])
        unknown_median = statistics.median(times["unknown"])
        low, high = bootstrap_ci(times["known"], times["unknown"])
        rows.append(
            {
                "case": name,
                "samples": samples,
                "known_median_ms": round(known_median, 2),
                "unknown_median_ms": round(unknown_median, 2),
                "difference_ms": round(known_median - unknown_median, 2),
                "ci95_ms": [round(low, 2), round(high, 2)],
                "known_p90_ms": round(statistics.quantiles(times["known"], n=10)[-1], 2),
                "unknown_p90_ms": round(statistics.quantiles(times["unknown"], n=10)[-1], 2),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--gap", type=float, default=0.05, help="seconds between requests (0: back to back)"
    )
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, Path(tmp)) as url:
        smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
        smtp.start()
        server, base = start_server(url, smtp.port, Path(tmp) / "instance")
        try:
            rows = measure(base, args.samples, args.gap)
        finally:
            server.terminate()
            server.wait(timeout=30)
            smtp.stop()

    print(f"\nknown vs unknown email, {args.samples} interleaved pairs each, over HTTP")
    print(f"database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}; ", end="")
    print(f"production argon2 parameters; SMTP sink received {Sink.received} messages")
    header = f"{'case':<16} {'known':>9} {'unknown':>9} {'diff':>8}  {'95% CI of diff':>18}"
    print(header)
    print("-" * len(header))
    for row in rows:
        low, high = row["ci95_ms"]
        print(
            f"{row['case']:<16} {row['known_median_ms']:>7.1f}ms "
            f"{row['unknown_median_ms']:>7.1f}ms {row['difference_ms']:>+6.1f}ms  "
            f"[{low:+6.1f}, {high:+6.1f}] ms"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"enumeration-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps({"samples": args.samples, "rows": rows}, indent=2))
    print(f"\nwritten: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

"""`make bench`: gunicorn on PostgreSQL and Redis, driven by wrk from another process.

What it does, in order:
1. a fresh PostgreSQL schema (migrated, demo tenants, one confirmed account) and
   a Redis key prefix of its own for the rate-limit counts;
2. in this process, with the production argon2 parameters: the time of one
   password hash (so registrations per second per core), and the server time of
   the registration page (the WSGI call, through the test client);
3. gunicorn (the project's gunicorn.conf.py when there is one), rate limits lifted;
4. for each concurrency level, wrk runs the bare endpoint (/healthz, the
   baseline) and then each case, so every figure is also given as a ratio to
   the bare endpoint measured moments before on the same machine;
5. a table on stdout, bench/results/<timestamp>.json and a PNG chart;
6. stops gunicorn, drops the schema and deletes the Redis keys.

Nothing here asserts timings: it measures and reports. The targets of the
production issue are printed as met or missed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
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
from contextlib import ExitStack, closing, redirect_stdout, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "case.lua"
TENANT = "velzio"
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
PASSWORD = "Bench2Login7"
# Every limit high enough never to trip: the limiter still counts in Redis, as
# in production, it just never says no.
LIFTED = "1000000 per second"
LIMIT_VARIABLES = (
    "RATELIMIT_LOGIN_IP",
    "RATELIMIT_REGISTER_IP",
    "RATELIMIT_EMAIL_IP",
    "RATELIMIT_CHECK_IP",
    "RATELIMIT_CONTRACT_IP",
    "RATELIMIT_ACCOUNT_IP",
    "RATELIMIT_LOGIN_ACCOUNT",
    "RATELIMIT_REGISTER_ACCOUNT",
    "RATELIMIT_EMAIL_ACCOUNT",
)


@dataclass
class Case:
    name: str
    title: str
    method: str
    path: str
    expect: str = "200"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated client counts")
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run")
    parser.add_argument("--reps", type=int, default=3, help="wrk runs per figure (the median)")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of warm-up per case")
    parser.add_argument("--renders", type=int, default=400, help="in-process page renders")
    parser.add_argument("--hashes", type=int, default=15, help="in-process argon2 hashes")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 clients, 2 s, one run, no chart"
    )
    parser.add_argument("--no-peer", action="store_true", help="no side-by-side run")
    parser.add_argument(
        "--before", type=Path, help="another checkout of Savitarna, measured beside this one"
    )
    parser.add_argument(
        "--production-cases",
        default="bare,check,page,loginpage",
        help="the cases of the PostgreSQL and Redis run",
    )
    parser.add_argument(
        "--side-cases",
        default=",".join(SIDE_CASES),
        help="the cases of the side-by-side run (bare is always measured)",
    )
    parser.add_argument("--no-browser", action="store_true", help="no first-visit measurement")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: its config)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument(
        "--readme",
        type=Path,
        metavar="RESULT",
        help="print the README's tables from a result JSON (bench/results/...) and stop",
    )
    return parser.parse_args(argv)


# --- the database and the app's environment ---------------------------------------


def server_environment(
    database_url: str, redis_url: str, instance: Path, prefix: str
) -> dict[str, str]:
    """The environment of a production instance: production mode and argon2
    parameters (webapp/config.py's defaults), PostgreSQL, Redis, limits lifted."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARGON2_", "RATELIMIT_", "FLASK_"))
    }
    env.update(
        APP_ENV="production",
        PUBLIC_URL="https://localhost",  # wrk and the clients reach the instances here
        TRUSTED_HOSTS="127.0.0.1",
        SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        RATELIMIT_KEY_PREFIX=prefix,  # this run's own keys, deleted at the end
        MAIL_URL="",  # mail stays in the outbox, as with an SMTP server that is down
        MAILBOX_ENABLED="0",
        # The peer asks no breach API either; a remote call would measure the network.
        BREACHED_PASSWORDS_URL="",
        INSTANCE_PATH=str(instance),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(dict.fromkeys(LIMIT_VARIABLES, LIFTED))
    return env


def create_schema(server_url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    from webapp.config import database_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(database_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in server_url else "?"
    return schema, f"{server_url}{separator}options=-csearch_path%3D{schema}"


def drop_schema(server_url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    from webapp.config import database_url

    engine = create_engine(database_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def clear_redis(redis_url: str, prefix: str) -> int:
    """Delete this run's rate-limit keys (its RATELIMIT_KEY_PREFIX)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


def prepare(app, login_email: str) -> None:
    """Migrate, load the demo tenants and create one confirmed account to log in."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Account, Tenant, utcnow
    from webapp.security import hash_password
    from webapp.tenants import load_tenants

    with app.app_context():
        upgrade(directory=str(ROOT / "webapp" / "migrations"))
        load_tenants(ROOT / "data" / "tenants.toml")
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == TENANT))
        now = utcnow()
        db.session.add(
            Account(
                tenant_id=tenant.id,
                email=login_email,
                first_name="Bench",
                last_name="Login",
                language="lt",
                password_hash=hash_password(PASSWORD),
                password_changed_at=now,
                email_confirmed_at=now,
                terms_version="bench",
                terms_accepted_at=now,
                terms_language="lt",
            )
        )
        db.session.commit()


# --- in-process measurements --------------------------------------------------------


def argon2_cost(app, count: int) -> dict:
    """The median time of one hash with the app's (production) argon2 parameters."""
    from webapp.security import hasher

    with app.app_context():
        ph = hasher()
        ph.hash("warm-up")
        times = []
        for i in range(count):
            start = time.perf_counter()
            ph.hash(f"Correct-Horse-{i}")
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "time_cost": ph.time_cost,
        "memory_cost_kib": ph.memory_cost,
        "parallelism": ph.parallelism,
        "hash_ms_median": median * 1000,
        "hash_ms_min": min(times) * 1000,
        "registrations_per_second_per_core": 1 / median,
    }


def render_time(app, count: int, case: Case | None = None) -> dict:
    """Server time of one request (by default GET /<tenant>/register): the whole
    WSGI call (tenant lookup, locale, limiter, form, template), through the test
    client. Both the CPU time of the thread (what the server spends; it holds on
    a busy shared machine) and the wall time (which also counts waiting for the
    CPU, PostgreSQL and Redis) are reported."""
    case = case or Case(
        "page", "", "GET", f"/{TENANT}/register", headers={"Accept-Encoding": ACCEPT_ENCODING}
    )
    # No cookie jar: production cookies are Secure and would not go back over
    # http; the case's own Cookie header is sent, as wrk sends it.
    client = app.test_client(use_cookies=False)

    def send():
        return client.open(
            case.path,
            method=case.method,
            data=case.body or None,
            headers=case.headers,
            content_type="application/x-www-form-urlencoded" if case.body else None,
            base_url="http://localhost",
        )

    for _ in range(20):
        send()
    wall, cpu = [], []
    for _ in range(count):
        start, start_cpu = time.perf_counter(), time.thread_time()
        response = send()
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
        if str(response.status_code) not in case.expect.split(","):
            raise RuntimeError(f"{case.method} {case.path} answered {response.status_code}")
    wall.sort()
    cpu.sort()
    return {
        "requests": count,
        "median_ms": statistics.median(cpu) * 1000,
        "p95_ms": cpu[int(0.95 * (count - 1))] * 1000,
        "wall_median_ms": statistics.median(wall) * 1000,
        "wall_p95_ms": wall[int(0.95 * (count - 1))] * 1000,
    }


# --- the server -------------------------------------------------------------------------


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    env: dict[str, str],
    port: int,
    workers: int,
    log: Path,
    root: Path = ROOT,
    config: bool = True,
    target: str = "wsgi:app",
    extra: list[str] | None = None,
) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "gunicorn")]
    conf = root / "gunicorn.conf.py"
    if config and conf.exists():
        command += ["--config", str(conf)]
    command += ["--bind", f"127.0.0.1:{port}", *(extra or [])]
    if workers or not (config and conf.exists()) and not extra:
        # Without the project's config, gunicorn's own advice: 2 x cores + 1.
        command += ["--workers", str(workers or 2 * (os.cpu_count() or 1) + 1)]
    command.append(target)
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own command line, no shell)
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"gunicorn did not answer on port {port} within 60 s; see {log}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def form_session(base: str) -> tuple[str, str]:
    """A session cookie and its CSRF token, the way a browser gets them: open the
    registration page. Both are reused by every request of the run."""
    with urllib.request.urlopen(f"{base}/{TENANT}/register", timeout=10) as response:  # noqa: S310
        page = response.read().decode()
        cookies = response.headers.get_all("Set-Cookie") or []
    session = next(c.split(";", 1)[0] for c in cookies if c.startswith("savitarna_session="))
    return session, csrf_token(page)


def csrf_token(page: str) -> str:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no csrf_token on the registration page")
    return token.group(1)


def cases(cookie: str, token: str, login_email: str, run: str) -> list[Case]:
    def form(**values: str) -> str:
        return urllib.parse.urlencode({"csrf_token": token, **values}, safe="_")

    # What a browser sends: the app compresses pages and fragments (Flask-Compress).
    browser = {"Accept-Encoding": ACCEPT_ENCODING}
    htmx = {**browser, "Cookie": cookie, "HX-Request": "true", "HX-Target": "email-error"}
    return [
        Case("bare", "GET /healthz (bare endpoint)", "GET", "/healthz", headers=browser),
        Case(
            "check",
            "POST /register/check/email (htmx)",
            "POST",
            f"/{TENANT}/register/check/email",
            body=form(email="someone@example.com"),
            headers=htmx,
        ),
        Case("page", "GET /register (page)", "GET", f"/{TENANT}/register", headers=browser),
        Case(
            "register",
            "POST /register (new email)",
            "POST",
            f"/{TENANT}/register",
            expect="303",
            body=form(
                first_name="Bench",
                last_name="Customer",
                email=f"bench-{run}-__N__@example.com",
                password="Correct7Horse",
                password2="Correct7Horse",
                invoices_by_email="y",
                terms="y",
            ),
            headers={**browser, "Cookie": cookie},
        ),
        Case(
            "login",
            "POST / (login, right password)",
            "POST",
            f"/{TENANT}/",
            expect="303",
            body=form(email=login_email, password=PASSWORD),
            headers={**browser, "Cookie": cookie},
        ),
    ]


def case_names(text: str) -> list[str]:
    """The cases a comma-separated option names, the bare endpoint first
    (every ratio is taken to it)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    return ["bare"] + [name for name in names if name != "bare"]


def check_case(base: str, case: Case) -> None:
    """One request before the load, so a broken case fails loudly, not as a table
    of errors."""
    body = case.body.replace("__N__", "probe").encode() if case.method == "POST" else None
    headers = dict(case.headers)
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(base + case.path, data=body, headers=headers)  # noqa: S310
    request.method = case.method

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        status = opener.open(request, timeout=30).status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if str(status) not in case.expect.split(","):
        raise RuntimeError(f"{case.title}: expected {case.expect}, got {status}")


def run_wrk(base: str, case: Case, connections: int, seconds: float) -> dict:
    threads = max(1, min(connections, 2))
    env = dict(
        os.environ,
        BENCH_METHOD=case.method,
        BENCH_PATH=case.path,
        BENCH_BODY=case.body,
        BENCH_HEADERS="\n".join(f"{k}: {v}" for k, v in case.headers.items()),
        BENCH_EXPECT=case.expect,
    )
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base,
    ]
    completed = subprocess.run(  # noqa: S603 (our own command line, no shell)
        command, env=env, capture_output=True, text=True, check=True
    )
    line = next((x for x in reversed(completed.stdout.splitlines()) if x.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line)
    seconds_run = raw["duration_us"] / 1e6
    socket_errors = (
        raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
    )
    return {
        "case": case.name,
        "concurrency": connections,
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds_run if seconds_run else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "socket_errors": socket_errors,
        "unexpected_status": raw["unexpected_status"],
        "unexpected_by_status": raw["unexpected_by_status"],
    }


def add_ratios(rows: list[dict]) -> None:
    bare = {row["concurrency"]: row for row in rows if row["case"] == "bare"}
    for row in rows:
        base = bare[row["concurrency"]]
        row["rps_ratio"] = row["rps"] / base["rps"] if base["rps"] else None
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            ratio_key = key.replace("_ms", "_ratio")
            row[ratio_key] = row[key] / base[key] if base[key] else None


# --- the report -------------------------------------------------------------------------


def table(rows: list[dict], titles: dict[str, str]) -> str:
    head = (
        f"{'case':<36} {'conc':>4} {'req/s':>8} {'x bare':>7} {'p50 ms':>8} {'x':>6} "
        f"{'p95 ms':>8} {'x':>6} {'p99 ms':>8} {'x':>6} {'errors':>7}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        errors = row["socket_errors"] + row["unexpected_status"]
        lines.append(
            f"{titles[row['case']]:<36} {row['concurrency']:>4} {row['rps']:>8.1f} "
            f"{row['rps_ratio']:>7.2f} {row['p50_ms']:>8.2f} {row['p50_ratio']:>6.1f} "
            f"{row['p95_ms']:>8.2f} {row['p95_ratio']:>6.1f} {row['p99_ms']:>8.2f} "
            f"{row['p99_ratio']:>6.1f} {errors:>7}"
        )
    return "\n".join(lines)


SIDE_CASES = {
    "bare": "bare endpoint (/healthz)",
    "page": "registration page GET",
    "loginpage": "login page GET",
    "check": "field check (ours: live check; peer: POST with an error)",
    "register": "registration POST",
    "login": "login POST",
}
FIRST_VISIT_BUDGET = 25 * 1024


def side_table(rows: list[dict]) -> str:
    head = (
        f"{'case':<24} {'who':<6} {'conc':>4} {'req/s':>8} {'x bare':>7} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'p99/p50':>7} {'x peer':>7} {'p99 x peer':>10} {'errors':>6}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        errors = row["socket_errors"] + row["unexpected_status"]
        peer = row.get("peer_rps_ratio")
        peer99 = row.get("peer_p99_ratio")
        lines.append(
            f"{row['case']:<24} {row['contender']:<6} {row['concurrency']:>4} {row['rps']:>8.1f} "
            f"{row['rps_ratio']:>7.2f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['tail'] if row['tail'] is not None else float('nan'):>7.1f} "
            f"{peer if peer is not None else float('nan'):>7.2f} "
            f"{peer99 if peer99 is not None else float('nan'):>10.2f} {errors:>6}"
        )
    return "\n".join(lines)


def targets(
    rows: list[dict], side_rows: list[dict], render: dict, first_visit: list[dict] | None = None
) -> list[dict]:
    """The issues' targets, as met or missed (reported, never asserted)."""
    ours = [r for r in rows if r["contender"] == "ours"]
    top = max(row["concurrency"] for row in ours)
    low = min(row["concurrency"] for row in ours)
    check = next(r for r in ours if r["case"] == "check" and r["concurrency"] == top)
    found = [
        {
            "target": f"live check >= 0.5 x bare req/s at {top} clients (PostgreSQL, Redis)",
            "measured": round(check["rps_ratio"], 2),
            "met": check["rps_ratio"] >= 0.5,
        },
        {
            "target": f"live check p99 < 50 ms at {top} clients (PostgreSQL, Redis)",
            "measured": round(check["p99_ms"], 1),
            "met": check["p99_ms"] < 50,
        },
        {
            "target": "registration page < 5 ms server (CPU) time, median",
            "measured": round(render["median_ms"], 2),
            "met": render["median_ms"] < 5,
        },
    ]
    mine = [r for r in side_rows if r["contender"] == "ours"]
    for row in (r for r in mine if r["case"] == "page"):
        found.append(
            {
                "target": f"registration page >= 1.0 x the peer's req/s and p99 <= the peer's "
                f"at {row['concurrency']} clients",
                "measured": f"{row['peer_rps_ratio']:.2f} x, p99 {row['peer_p99_ratio']:.2f} x",
                "met": row["peer_rps_ratio"] >= 1 and row["peer_p99_ratio"] <= 1,
            }
        )
    for label, group in (("SQLite", mine), ("PostgreSQL, Redis", ours)):
        single = [r for r in group if r["concurrency"] == low]
        if single:
            worst = max(single, key=lambda r: r["tail"] or 0)
            found.append(
                {
                    "target": f"p99 / p50 <= 3 at {low} client(s), every case ({label})",
                    "measured": f"{worst['tail']:.1f} (worst: {worst['case']})",
                    "met": worst["tail"] <= 3,
                }
            )
    for item in first_visit or []:
        found.append(
            {
                "target": f"first visit of {item['path']} <= 25 KiB on the wire ({item['mode']})",
                "measured": f"{item['total_bytes'] / 1024:.1f} KiB",
                "met": item["total_bytes"] <= FIRST_VISIT_BUDGET,
            }
        )
    return found


def chart(rows: list[dict], titles: dict[str, str], path: Path, subtitle: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = sorted({row["concurrency"] for row in rows})
    names = list(dict.fromkeys(row["case"] for row in rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        mine = {row["concurrency"]: row for row in rows if row["case"] == name}
        xs = [j + i * width for j in range(len(levels))]
        left.bar(xs, [mine[c]["rps"] for c in levels], width, label=titles[name])
        right.bar(xs, [mine[c]["p99_ms"] for c in levels], width, label=titles[name])
    for axis, label in ((left, "requests per second"), (right, "p99 latency (ms)")):
        axis.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(levels))])
        axis.set_xticklabels([f"{c} clients" for c in levels])
        axis.set_yscale("log")
        axis.set_ylabel(label)
        axis.grid(axis="y", alpha=0.3)
    right.axhline(50, color="grey", linestyle="--", linewidth=1)
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(names), fontsize=8)
    fig.suptitle(f"Savitarna on gunicorn, PostgreSQL, Redis: {subtitle}")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def gunicorn_settings(log: Path) -> str:
    """The worker line gunicorn logged, e.g. 'Using worker: sync' and the count."""
    text = log.read_text(errors="replace") if log.exists() else ""
    kind = re.search(r"Using worker: (\S+)", text)
    booted = len(re.findall(r"Booting worker with pid", text))
    return f"{booted} x {kind.group(1) if kind else '?'} workers"


# --- the README's figures, from a result file --------------------------------------------

README_CASES = {
    "bare": "bare `/healthz`",
    "check": "live check (email)",
    "page": "registration page",
    "loginpage": "login page",
    "register": "registration POST",
    "login": "login POST",
}


def _figure(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if value < 10 else f"{value:.0f}"


def readme_tables(result: dict, name: str) -> str:
    """The README's "Latest figures" tables (Markdown) from one run's JSON: side
    by side with the peer (and the checkout before a change) as ratios, the
    production run, and the first visits."""
    out = [
        f"From `bench/results/{name}` ({result['timestamp']}, {result['server']}; "
        f"load average {result['machine']['load_average'][0]:.1f} at the start).",
        "",
    ]
    side = result.get("side_by_side", {}).get("rows") or []
    if side:
        who = list(dict.fromkeys(row["contender"] for row in side))
        rows = {(r["contender"], r["case"], r["concurrency"]): r for r in side}
        mine = [w for w in who if w != "peer"]
        head = ["case", "clients"]
        for w in mine:
            head += [f"{w} × peer req/s", f"{w} p99 × peer"]
        head += [f"{w} p99/p50" for w in who]
        out += ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
        keys = sorted({(r["case"], r["concurrency"]) for r in side}, key=lambda k: (k[1],))
        order = list(README_CASES)
        keys.sort(key=lambda k: (k[1], order.index(k[0]) if k[0] in order else 99))
        for case, level in keys:
            cells = [README_CASES.get(case, case), str(level)]
            for w in mine:
                row = rows.get((w, case, level), {})
                cells += [_figure(row.get("peer_rps_ratio")), _figure(row.get("peer_p99_ratio"))]
            cells += [_figure(rows.get((w, case, level), {}).get("tail"), 1) for w in who]
            out.append("| " + " | ".join(cells) + " |")
        out += [
            "",
            f"({result['side_by_side']['server']}; {', '.join(who)} alternating, "
            "medians of the runs; × peer: the ratio to Flask-Security-Too at the same "
            "concurrency, measured moments apart on the same machine.)",
            "",
        ]
    production = result.get("rows") or []
    if production:
        who = list(dict.fromkeys(row["contender"] for row in production))
        head = ["case", "clients"] + [
            f"{w} {k}" for w in who for k in ("req/s", "× bare", "p50 ms", "p99 ms", "p99/p50")
        ]
        out += ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
        rows = {(r["contender"], r["case"], r["concurrency"]): r for r in production}
        for case, level in dict.fromkeys((r["case"], r["concurrency"]) for r in production):
            cells = [README_CASES.get(case, case), str(level)]
            for w in who:
                row = rows[(w, case, level)]
                cells += [
                    f"{row['rps']:.0f}",
                    _figure(row["rps_ratio"]),
                    _figure(row["p50_ms"], 1),
                    _figure(row["p99_ms"], 1),
                    _figure(row["tail"], 1),
                ]
            out.append("| " + " | ".join(cells) + " |")
        out += [
            "",
            "(gunicorn.conf.py, PostgreSQL, Redis; × bare: the ratio to `/healthz` "
            "at the same concurrency.)",
            "",
        ]
    visits = result.get("first_visit") or []
    if visits:
        out += [
            "| mode | page | requests | headers B | bodies B | KiB on the wire | "
            "worker before load | + first use KiB |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for item in visits:
            out.append(
                f"| {item['mode']} | `{item['path']}` | {item['requests']} | "
                f"{item['header_bytes']} | {item['body_bytes']} | "
                f"{item['total_bytes'] / 1024:.1f} | {len(item['worker_before_load'])} | "
                f"{(item.get('first_use_bytes') or 0) / 1024:.1f} |"
            )
        out.append("")
    for item in result.get("targets") or []:
        out.append(f"- [{'met' if item['met'] else 'missed'}] {item['target']}: {item['measured']}")
    return "\n".join(out)


# --- contenders: ours, ours before a change, the peer ------------------------------------


@dataclass
class Contender:
    """One server under load: its name, address and its own requests per case."""

    name: str
    title: str
    base: str
    cases: dict[str, Case]


PREPARE_OURS = (
    "import sys; sys.path.insert(0, sys.argv[1]); from bench.run import prepare; "
    "from webapp import create_app; prepare(create_app({'SERVER_NAME': None}), sys.argv[2])"
)
PREPARE_PEER = (
    "import sys; sys.path.insert(0, sys.argv[1]); from bench.peer.app import app, prepare; "
    "prepare(app, sys.argv[2], sys.argv[3])"
)
SYNC = ["--worker-class", "sync", "--workers", "2"]


def peer_cases(cookie: str, token: str, login_email: str, run: str) -> dict[str, Case]:
    """The same requests to Flask-Security-Too's views (bench/peer/app.py). Its
    field check is the form POST with an error: it has no live check."""

    def form(**values: str) -> str:
        return urllib.parse.urlencode({"csrf_token": token, **values}, safe="_")

    browser = {"Accept-Encoding": ACCEPT_ENCODING}
    posted = {**browser, "Cookie": cookie}
    new = {"password": "Correct7Horse", "password_confirm": "Correct7Horse"}
    return {
        "bare": Case("bare", "GET /healthz", "GET", "/healthz", headers=browser),
        "page": Case("page", "GET /register", "GET", "/register", headers=browser),
        "loginpage": Case("loginpage", "GET /login", "GET", "/login", headers=browser),
        "check": Case(
            "check",
            "POST /register (bad email)",
            "POST",
            "/register",
            body=form(email="someone-example.com", **new),
            headers=posted,
        ),
        "register": Case(
            "register",
            "POST /register (new email)",
            "POST",
            "/register",
            expect="302",
            body=form(email=f"bench-{run}-__N__@example.com", **new),
            headers=posted,
        ),
        "login": Case(
            "login",
            "POST /login",
            "POST",
            "/login",
            expect="302",
            body=form(email=login_email, password=PASSWORD),
            headers=posted,
        ),
    }


def browser_session(base: str, path: str, cookie_name: str) -> tuple[str, str]:
    """A session cookie and its CSRF token, the way a browser gets them."""
    with urllib.request.urlopen(base + path, timeout=10) as response:  # noqa: S310
        page = response.read().decode()
        cookies = response.headers.get_all("Set-Cookie") or []
    session = next(c.split(";", 1)[0] for c in cookies if c.startswith(f"{cookie_name}="))
    return session, csrf_token(page)


def start_ours(
    cleanup: ExitStack,
    root: Path,
    env: dict[str, str],
    login_email: str,
    run: str,
    log: Path,
    extra: list[str],
    prepared: bool = False,
) -> Contender:
    if not prepared:
        subprocess.run(  # noqa: S603 (our own command line, no shell)
            [sys.executable, "-c", PREPARE_OURS, str(root), login_email],
            cwd=root,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    port = free_port()
    server = start_gunicorn(env, port, 0, log, root=root, extra=extra)
    cleanup.callback(stop_gunicorn, server)
    base = f"http://127.0.0.1:{port}"
    cookie, token = browser_session(base, f"/{TENANT}/register", "savitarna_session")
    found = {case.name: case for case in cases(cookie, token, login_email, run)}
    found["loginpage"] = Case(
        "loginpage",
        f"GET /{TENANT}/ (login page)",
        "GET",
        f"/{TENANT}/",
        headers={"Accept-Encoding": ACCEPT_ENCODING},
    )
    return Contender("ours", "Savitarna", base, found)


def start_peer(cleanup: ExitStack, workdir: Path, login_email: str, run: str) -> Contender:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGON2_", "FLASK_"))}
    env.update(
        PEER_DATABASE_URL=f"sqlite:///{workdir / 'peer.sqlite'}",
        PEER_SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
        PYTHONDONTWRITEBYTECODE="1",
    )
    subprocess.run(  # noqa: S603 (our own command line, no shell)
        [sys.executable, "-c", PREPARE_PEER, str(ROOT), login_email, PASSWORD],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    server = start_gunicorn(
        env, port, 0, workdir / "peer.log", config=False, target="bench.peer.app:app", extra=SYNC
    )
    cleanup.callback(stop_gunicorn, server)
    base = f"http://127.0.0.1:{port}"
    cookie, token = browser_session(base, "/register", "session")
    return Contender(
        "peer",
        "Flask-Security-Too " + peer_version(),
        base,
        peer_cases(cookie, token, login_email, run),
    )


def peer_version() -> str:
    from importlib.metadata import version

    return version("flask-security-too")


def measure(
    contenders: list[Contender],
    names: list[str],
    levels: list[int],
    reps: int,
    duration: float,
    warmup: float,
    label: str,
) -> list[dict]:
    """Every case at every level, the contenders alternating (the order turns each
    repetition), each figure the median of `reps` runs."""
    rows = []
    for connections in levels:
        for name in names:
            if warmup > 0:
                for contender in contenders:
                    run_wrk(contender.base, contender.cases[name], connections, warmup)
            samples: dict[str, list[dict]] = {c.name: [] for c in contenders}
            for rep in range(reps):
                order = contenders if rep % 2 == 0 else contenders[::-1]
                for contender in order:
                    samples[contender.name].append(
                        run_wrk(contender.base, contender.cases[name], connections, duration)
                    )
            for contender in contenders:
                row = median_row(samples[contender.name])
                row["contender"] = contender.name
                rows.append(row)
                print(
                    f"  {label:<10} {contender.name:<6} {name:<9} c={connections:<3} "
                    f"{row['rps']:8.1f} req/s  p50 {row['p50_ms']:7.2f}  "
                    f"p99 {row['p99_ms']:7.2f} ms",
                    flush=True,
                )
    return rows


def median_row(runs: list[dict]) -> dict:
    row = dict(runs[0])
    for key in ("rps", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
        row[key] = statistics.median(run[key] for run in runs)
    for key in ("requests", "socket_errors", "unexpected_status"):
        row[key] = sum(run[key] for run in runs)
    row["runs"] = [{k: run[k] for k in ("rps", "p50_ms", "p99_ms")} for run in runs]
    row["tail"] = row["p99_ms"] / row["p50_ms"] if row["p50_ms"] else None
    return row


def add_peer_ratios(rows: list[dict]) -> None:
    peer = {(r["case"], r["concurrency"]): r for r in rows if r["contender"] == "peer"}
    for row in rows:
        theirs = peer.get((row["case"], row["concurrency"]))
        if theirs is None or row["contender"] == "peer":
            continue
        row["peer_rps_ratio"] = row["rps"] / theirs["rps"] if theirs["rps"] else None
        row["peer_p50_ratio"] = row["p50_ms"] / theirs["p50_ms"] if theirs["p50_ms"] else None
        row["peer_p99_ratio"] = row["p99_ms"] / theirs["p99_ms"] if theirs["p99_ms"] else None


def machine() -> dict:
    import platform

    model = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with suppress(OSError):
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": model,
        "memory": memory,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.readme:
        print(readme_tables(json.loads(args.readme.read_text()), args.readme.name))
        return 0
    if args.quick:
        # 2 s: on a busy machine a peer's registration (argon2) can take over 1 s.
        args.concurrency, args.duration, args.warmup, args.reps = "2", 2, 0, 1
        args.renders, args.hashes, args.no_chart, args.no_browser = 5, 1, True, True
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk (make bench does it)", file=sys.stderr)
        return 2
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run = uuid.uuid4().hex[:8]
    login_email = f"bench-login-{run}@example.com"
    args.results.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    started = machine()

    with ExitStack() as cleanup:
        workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        schema, database_url = create_schema(args.database_url)
        cleanup.callback(drop_schema, args.database_url, schema)
        prefix = f"bench-{run}"
        cleanup.callback(clear_redis, args.redis_url, prefix)
        env = server_environment(database_url, args.redis_url, workdir / "instance", prefix)
        os.environ.update(env)

        from webapp import create_app

        app = create_app({"SERVER_NAME": None})
        print(f"schema {schema}, redis {args.redis_url}: migrating and loading tenants")
        prepare(app, login_email)
        # Alembic's env.py put a console handler on the root logger; the app's
        # own request lines still go to stdout, which the measurements below send
        # to /dev/null (formatted, as in production, but not printed here).
        logging.getLogger().handlers.clear()
        devnull = cleanup.enter_context(open(os.devnull, "w"))  # noqa: SIM115
        print(f"argon2: timing {args.hashes} hashes with the production parameters")
        argon2 = argon2_cost(app, args.hashes)
        print(f"render: {args.renders} GET /{TENANT}/register in-process")
        with redirect_stdout(devnull):
            render = render_time(app, args.renders)
            client = app.test_client(use_cookies=False)
            page = client.get(f"/{TENANT}/register", base_url="http://localhost")
        cookie = next(
            c.split(";", 1)[0]
            for c in page.headers.getlist("Set-Cookie")
            if c.startswith("savitarna_session=")
        )
        token = csrf_token(page.get_data(as_text=True))
        live = next(c for c in cases(cookie, token, login_email, run) if c.name == "check")
        with redirect_stdout(devnull):
            check_time = render_time(app, args.renders, live)
        with app.app_context():
            from webapp.extensions import db

            db.engine.dispose()

        # 1. Side by side with the peer: both on gunicorn with 2 sync workers and
        # SQLite (the peer's usual set-up; ours counts its limits in memory then).
        side_rows: list[dict] = []
        side: list[Contender] = []
        if not args.no_peer:
            for name, root in [("ours", ROOT)] + ([("before", args.before)] if args.before else []):
                sqlite_env = server_environment(
                    f"sqlite:///{workdir / name}.sqlite", "", workdir / f"instance-{name}", prefix
                )
                contender = start_ours(
                    cleanup, root, sqlite_env, login_email, run, workdir / f"{name}.log", SYNC
                )
                contender.name = name
                side.append(contender)
            side.append(start_peer(cleanup, workdir, login_email, run))
            for contender in side:
                for case in contender.cases.values():
                    check_case(contender.base, case)
            print(f"side by side: {', '.join(c.name for c in side)}; 2 sync workers each, SQLite")
            side_names = case_names(args.side_cases)
            side_rows = measure(
                side, side_names, levels, args.reps, args.duration, args.warmup, "sqlite"
            )
            for name in {c.name for c in side}:
                add_ratios([r for r in side_rows if r["contender"] == name])
            add_peer_ratios(side_rows)

        # 2. Production: gunicorn.conf.py, PostgreSQL and Redis (limits counted there).
        production: list[Contender] = []
        for name, root in [("ours", ROOT)] + ([("before", args.before)] if args.before else []):
            contender = start_ours(
                cleanup,
                root,
                env,
                login_email,
                run,
                workdir / f"gunicorn-{name}.log",
                ["--workers", str(args.workers)] if args.workers else [],
                prepared=True,  # the schema above, shared
            )
            contender.name = name
            production.append(contender)
        workers = gunicorn_settings(workdir / "gunicorn-ours.log")
        names = case_names(args.production_cases)
        for contender in production:
            for name in names:
                check_case(contender.base, contender.cases[name])
        print(f"production: gunicorn {workers}, PostgreSQL, Redis; cases {names}")
        rows = measure(
            production, names, levels, args.reps, args.duration, args.warmup, "production"
        )
        for name in {c.name for c in production}:
            add_ratios([r for r in rows if r["contender"] == name])

        first_visit = None
        if args.no_browser:
            pass
        else:
            from bench import first_visit as visit

            print("first visit in Chromium: each registration page, development and production")
            first_visit = visit.measure_all(ROOT, workdir / "visit")
        outcome = targets(rows, side_rows, render, first_visit)
        titles = {case.name: case.title for case in production[0].cases.values()}

    result = {
        "timestamp": stamp,
        "machine": started | {"load_average_end": os.getloadavg()},
        "server": workers,
        "wrk": {"duration_s": args.duration, "warmup_s": args.warmup, "repetitions": args.reps},
        "cases": titles,
        "side_by_side": {
            "server": "gunicorn, 2 sync workers, SQLite",
            "contenders": {c.name: c.title for c in side},
            "cases": {c.name: {k: v.title for k, v in c.cases.items()} for c in side},
            "rows": side_rows,
        },
        "rows": rows,
        "argon2": argon2,
        "register_page_server_time": render,
        "live_check_server_time": check_time,
        "first_visit": first_visit,
        "targets": outcome,
    }
    json_path = args.results / f"{stamp}.json"
    json_path.write_text(json.dumps(result, indent=2) + "\n")

    print()
    if side_rows:
        print(side_table(side_rows))
        print("(ours / before ÷ the peer at the same concurrency; medians of the runs)")
        print()
    print(table([r for r in rows if r["contender"] == "ours"], titles))
    print("(x: the ratio to the bare endpoint at the same concurrency; errors: socket")
    print(" errors plus answers with another status than the case expects)")
    print()
    print(
        f"argon2id t={argon2['time_cost']} m={argon2['memory_cost_kib']} KiB "
        f"p={argon2['parallelism']}: {argon2['hash_ms_median']:.1f} ms per hash, "
        f"{argon2['registrations_per_second_per_core']:.1f} registrations/s per core"
    )
    print(
        f"registration page server time (CPU): median {render['median_ms']:.2f} ms, "
        f"p95 {render['p95_ms']:.2f} ms; wall: median {render['wall_median_ms']:.2f} ms "
        f"({render['requests']} requests in-process)"
    )
    print(
        f"live check server time (CPU): median {check_time['median_ms']:.2f} ms, "
        f"p95 {check_time['p95_ms']:.2f} ms; wall: median {check_time['wall_median_ms']:.2f} ms"
    )
    if first_visit:
        for item in first_visit:
            print(
                f"first visit {item['mode']:<11} {item['path']}: "
                f"{item['total_bytes'] / 1024:.1f} KiB on the wire in {item['requests']} "
                f"requests ({item['before_load_bytes'] / 1024:.1f} KiB before the load event)"
            )
    print()
    for item in outcome:
        print(f"  [{'met' if item['met'] else 'MISSED'}] {item['target']}: {item['measured']}")
    if not args.no_chart:
        png = json_path.with_suffix(".png")
        ours = [r for r in rows if r["contender"] == "ours"]
        chart(ours, titles, png, f"{workers}, {os.cpu_count()} CPUs, {stamp}")
        print(f"\nwrote {json_path} and {png}")
    else:
        print(f"\nwrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

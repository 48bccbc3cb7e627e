"""Real processes for the tests that run the app as production does: gunicorn
instances and the worker, started with the README's commands on a fresh
PostgreSQL schema, on free ports, each with its log in a file."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from webapp.config import PROJECT_ROOT, database_url

SERVICES = {
    "TEST_DATABASE_URL": "PostgreSQL",
    "TEST_REDIS_URL": "Redis",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_in_thread(port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A small HTTP server on 127.0.0.1:`port` (a receiver, an API the app
    calls), serving from a daemon thread until `shut_down`."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def shut_down(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


def require_services(*names: str, why: str) -> None:
    """Skip with the reason when a service's variable is not set; fail instead
    where CI is set (.ci/run always sets them), so nothing is skipped there."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        reason = f"{' and '.join(missing)} not set: {why}"
        if os.environ.get("CI"):
            pytest.fail(f"CI: {reason}")
        pytest.skip(reason)


@contextmanager
def fresh_schema(prefix: str) -> Iterator[str]:
    """A new, empty schema in TEST_DATABASE_URL's server; its URL (for
    DATABASE_URL). Dropped afterwards."""
    server = database_url(os.environ["TEST_DATABASE_URL"])
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def production_env(database: str, instance: Path, **settings: str) -> dict[str, str]:
    """The environment of production instances on this machine: production mode
    on `database`, reached at 127.0.0.1 over plain HTTP behind one trusted
    proxy, cheap hashes, 2 gunicorn workers of 4 threads; `settings` on top."""
    return {
        **os.environ,
        "APP_ENV": "production",
        "PUBLIC_URL": "https://127.0.0.1",
        "SECRET_KEY": "production-" + uuid.uuid4().hex,
        "DATABASE_URL": database,
        "TRUSTED_PROXIES": "1",
        "MAIL_URL": "",
        "LOG_FORMAT": "json",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "INSTANCE_PATH": str(instance),
        # No password goes to the Internet's breach API from a test machine.
        "BREACHED_PASSWORDS_URL": "",
        **settings,
    }


def prepare_release(env: dict) -> None:
    """What the README's Production section runs once per release: the schema,
    the demo tenants and Elektrum's contract registry."""
    flask_command(env, "db", "upgrade")
    flask_command(env, "tenants", "load", "data/tenants.toml")
    flask_command(env, "contracts", "import", "elektrum", "data/elektrum-contracts.csv")


def flask_command(env: dict, *args: str, timeout: float = 120) -> str:
    """`flask --app wsgi ARGS` as an operator runs it; its output."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"flask {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@dataclass
class Process:
    """A server process started by a test, its output in `log`."""

    name: str
    popen: subprocess.Popen
    log: Path
    url: str | None = None
    # httpx's verify for `url` (an ssl context trusting a test certificate).
    verify: object = True

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def worker_pids(self) -> list[int]:
        """The pids of this (gunicorn master) process's children, its workers."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            # pid (comm) state ppid ...: comm may hold spaces, so split after it.
            fields = stat.rpartition(")")[2].split()
            if fields[0] != "Z" and int(fields[1]) == self.popen.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, as a deploy stops it; its exit code (None: had to be killed)."""
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
                return None
        return self.popen.returncode


def _spawn(name: str, command: list[str], env: dict, log_dir: Path, url: str | None) -> Process:
    log = log_dir / f"{name}.log"
    with log.open("w") as out:
        popen = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return Process(name, popen, log, url)


def gunicorn_command(port: int, app: str, *options: str) -> list[str]:
    """gunicorn with the project's gunicorn.conf.py, serving `app` on `port`."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(PROJECT_ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        *options,
        app,
    ]


def start_gunicorn(
    name: str,
    env: dict,
    log_dir: Path,
    port: int | None = None,
    tls: tuple[Path, Path] | None = None,
) -> Process:
    """An instance with the project's gunicorn.conf.py on `port` (default: a
    free one); with `tls` (cert, key) gunicorn itself speaks https, at
    https://localhost:port (the certificate's name)."""
    port = port or free_port()
    tls_options = ["--certfile", str(tls[0]), "--keyfile", str(tls[1])] if tls else []
    command = gunicorn_command(port, "wsgi:app", *tls_options)
    if not tls:
        return _spawn(name, command, env, log_dir, f"http://127.0.0.1:{port}")
    process = _spawn(name, command, env, log_dir, f"https://localhost:{port}")
    process.verify = ssl.create_default_context(cafile=str(tls[0]))
    return process


def start_worker(name: str, env: dict, log_dir: Path, *args: str) -> Process:
    """`flask --app wsgi worker ARGS`, the README's worker process."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", *args]
    return _spawn(name, command, env, log_dir, None)


def wait_ready(process: Process, timeout: float = 60) -> None:
    """Poll /readyz, the way a load balancer admits an instance."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        assert process.alive, f"{process.name} exited:\n{process.output()}"
        try:
            answer = httpx.get(f"{process.url}/readyz", timeout=2, verify=process.verify)
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{process.name} not ready:\n{process.output()}"
        threading.Event().wait(0.1)

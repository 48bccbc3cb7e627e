"""Server time side by side: the CPU time of one WSGI call (thread time, through
the test client, in this process) of ours and of the peer (bench/peer/app.py),
for the registration page, the login page and the bare endpoint, alternating,
in rounds. Both on SQLite, ours with production settings and limits counted in
memory; no network, no gunicorn, so the machine's noise moves both alike.

    .venv/bin/python bench/server_time.py [--requests 1000] [--rounds 3]

Prints the median and p99 in milliseconds and ours ÷ peer per round (README,
"Issue #13, second pass"). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run as bench  # noqa: E402

BROWSER = {"Accept-Encoding": bench.ACCEPT_ENCODING}
CASES = (
    ("registration page", f"/{bench.TENANT}/register", "/register"),
    ("login page", f"/{bench.TENANT}/", "/login"),
    ("bare endpoint", "/healthz", "/healthz"),
)


def cpu_times(app, path: str, requests: int) -> tuple[float, float]:
    """Median and p99 of one GET's thread time, in ms (after 50 warm-ups)."""
    client = app.test_client(use_cookies=False)
    times = []
    with contextlib.redirect_stdout(io.StringIO()):  # the request lines
        for _ in range(50):
            status = client.get(path, headers=BROWSER, base_url="http://localhost").status_code
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
        for _ in range(requests):
            start = time.thread_time()
            client.get(path, headers=BROWSER, base_url="http://localhost")
            times.append(time.thread_time() - start)
    times.sort()
    return statistics.median(times) * 1000, times[int(0.99 * (requests - 1))] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="server-time-"))
    login_email = f"bench-login-{uuid.uuid4().hex[:8]}@example.com"
    os.environ.update(
        PEER_DATABASE_URL=f"sqlite:///{workdir / 'peer.sqlite'}",
        PEER_SECRET_KEY=uuid.uuid4().hex * 2,
    )
    from bench.peer.app import app as peer
    from bench.peer.app import prepare as prepare_peer

    prepare_peer(peer, login_email, bench.PASSWORD)
    os.environ.update(
        bench.server_environment(
            f"sqlite:///{workdir / 'ours.sqlite'}", "", workdir / "instance", "server-time"
        )
    )
    from webapp import create_app

    ours = create_app({"SERVER_NAME": None, "PREFERRED_URL_SCHEME": "http"})
    with contextlib.redirect_stdout(io.StringIO()):
        bench.prepare(ours, login_email)
    logging.getLogger().handlers.clear()  # Alembic's console handler

    print(f"{args.requests} requests a figure, CPU time of the request's thread, ms")
    for round_ in range(1, args.rounds + 1):
        for title, ours_path, peer_path in CASES:
            mine = cpu_times(ours, ours_path, args.requests)
            theirs = cpu_times(peer, peer_path, args.requests)
            print(
                f"round {round_}  {title:<18} ours {mine[0]:.3f} (p99 {mine[1]:.3f})  "
                f"peer {theirs[0]:.3f} (p99 {theirs[1]:.3f})  ours ÷ peer {mine[0] / theirs[0]:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

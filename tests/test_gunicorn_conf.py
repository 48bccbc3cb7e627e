"""gunicorn.conf.py: the app's objects are frozen out of the garbage
collector's sight once a worker has built its app, and the workers share the
connections."""

import gc
import http.client
import runpy
import subprocess
import time
from collections import Counter

from support.servers import free_port, gunicorn_command

from webapp.config import PROJECT_ROOT


def test_a_worker_freezes_what_it_has_built_before_serving():
    settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    kept = [object() for _ in range(1000)]  # alive, like an app's objects
    gc.unfreeze()
    try:
        settings["post_worker_init"](object())
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()


def test_connections_are_spread_over_the_workers():
    """32 keep-alive connections opened at once (a proxy's pool, or wrk) are
    served by both workers: each connection stays in the worker that took it, so
    one worker holding them all left the other core idle (measured: 1,100
    instead of 2,900 requests a second on /healthz at 32 clients)."""
    port = free_port()
    server = subprocess.Popen(
        gunicorn_command(port, "support.pid_app:app", "--workers", "2"),
        cwd=PROJECT_ROOT / "tests",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        workers = set()
        deadline = time.monotonic() + 30
        while len(workers) < 2:  # both workers have booted and answer
            assert time.monotonic() < deadline, "gunicorn's workers did not answer"
            workers |= set(answers(port, 8))
        served = Counter(answers(port, 32))
        assert len(served) == 2 and min(served.values()) >= 4, served
    finally:
        server.terminate()
        server.wait(timeout=30)


def answers(port: int, count: int) -> list[str]:
    """Open `count` connections, then ask one request on each: which worker answered."""
    connections = []
    try:
        for _ in range(count):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.connect()
            except ConnectionRefusedError:
                time.sleep(0.1)
                continue
            connections.append(connection)
        pids = []
        for connection in connections:
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            pids.append(response.getheader("X-Worker"))
        return pids
    finally:
        for connection in connections:
            connection.close()

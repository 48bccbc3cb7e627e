"""Several workers at once: the same function in threads released together,
each in its own app context (its own session and database connection)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_at_once(app, work: Callable[[], T], workers: int = 2) -> list[T]:
    """Run `work` in `workers` threads released together; return their results
    (any error in a thread fails the caller's test)."""
    barrier = threading.Barrier(workers)
    results: list[T] = []
    errors: list[BaseException] = []

    def one():
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                results.append(work())
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

    threads = [threading.Thread(target=one, name=f"worker-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, errors
    return results

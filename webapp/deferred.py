"""Running work once the answer is ready, off the request's thread.

Used where the answer must not wait for the work: SMTP delivery (slow, and it
must not make a known email's answer slower than an unknown one's) and the jobs
that views promise (jobs.later: registration's account work, 'forgot password',
'send again'). The work runs on a small thread pool of this process, in a copy
of the request's context. Nothing here is durable by itself: what must survive
the process is first a committed row (a job, an outbox message), which the
worker (`flask worker`) runs or delivers if this process dies before it does."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager

from flask import after_this_request, copy_current_request_context, current_app

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_pending: set[Future] = set()
_state = threading.local()


def in_background() -> bool:
    """True inside work scheduled by after_response or run by the worker: nobody
    waits for an answer, so mail is delivered at once."""
    return getattr(_state, "background", False)


@contextmanager
def background() -> Iterator[None]:
    """Mark the work inside as running after the answer (see in_background)."""
    before = in_background()
    _state.background = True
    try:
        yield
    finally:
        _state.background = before


def _pool() -> ThreadPoolExecutor:
    # Created on first use, so each (forked) server process has its own.
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="after-response")
        return _executor


def after_response(work: Callable[[], None]) -> None:
    """Run `work` off the request's thread once the response is ready."""
    guarded = _guarded(work)

    @after_this_request
    def schedule(response):
        _submit(guarded)
        return response


def off_thread(work: Callable[[], None]) -> None:
    """Run `work` off the request's thread now: for an after_request hook,
    where after_response comes too late (its hooks have run)."""
    _submit(_guarded(work))


def _guarded(work: Callable[[], None]) -> Callable[[], None]:
    app = current_app._get_current_object()
    bound = copy_current_request_context(work)

    def guarded() -> None:
        try:
            with background():
                bound()
        except Exception:
            # Nobody is waiting for this answer any more: log, never raise.
            app.logger.exception("work after the response failed")

    return guarded


def _submit(guarded: Callable[[], None]) -> None:
    future = _pool().submit(guarded)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future) -> None:
    with _lock:
        _pending.discard(future)


def wait_idle(timeout: float = 30) -> bool:
    """Block until every scheduled piece of work has finished (tests, shutdown)."""
    with _lock:
        pending = set(_pending)
    if not pending:
        return True
    done, not_done = wait(pending, timeout=timeout)
    return not not_done

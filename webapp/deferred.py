"""Work that must not hold up the answer.

Used where the answer must not depend on the work: SMTP delivery (slow, and it
must not make a known email's answer slower than an unknown one's), and the
account-dependent part of registration, 'forgot password' and 'send again'. The
work runs on a small thread pool of this process, in a copy of the request's
context, once the response is ready. If the process dies first, mail already
in the outbox is delivered by `flask outbox send`; a registration or link that
was not yet written is lost, and the person, who was told to check their email,
registers or asks again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import after_this_request, copy_current_request_context, current_app

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_pending: set[Future] = set()
_state = threading.local()


def in_background() -> bool:
    """True inside work scheduled by after_response (its request has been answered)."""
    return getattr(_state, "background", False)


def _pool() -> ThreadPoolExecutor:
    # Created on first use, so each (forked) server process has its own.
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="after-response")
        return _executor


def after_response(work: Callable[[], None]) -> None:
    """Run `work` off the request's thread once the response is ready."""
    app = current_app._get_current_object()
    bound = copy_current_request_context(work)

    def guarded() -> None:
        _state.background = True
        try:
            bound()
        except Exception:
            # Nobody is waiting for this answer any more: log, never raise.
            app.logger.exception("work after the response failed")
        finally:
            _state.background = False

    @after_this_request
    def schedule(response):
        future = _pool().submit(guarded)
        with _lock:
            _pending.add(future)
        future.add_done_callback(_forget)
        return response


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


def later(flow: Callable[..., None], *args) -> None:
    """Run `flow(tenant, settings, *args)` for this request's tenant after the
    answer has gone out: the answer is the same, and as fast, whether or not the
    email has an account."""
    from flask import g

    from .extensions import db
    from .models import Tenant
    from .tenants import settings_for

    tenant_id = g.tenant.id

    def work() -> None:
        tenant = db.session.get(Tenant, tenant_id)
        flow(tenant, settings_for(tenant), *args)

    after_response(work)

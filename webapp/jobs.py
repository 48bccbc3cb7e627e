"""Work after the answer that is never lost: the jobs table.

An answer that promises work ("check your email") first commits a `Job` row
naming the flow and its arguments, then answers; the work runs right after the
answer in the same process (deferred.after_response) and, if that never
happens (the process was killed, the database was away), from the worker
(`flask worker`), which also retries failures with a growing backoff.

Exactly once: a job is claimed with a lease before it runs, so two processes do
not run it at the same time; and the flow's own commit marks the job done in
the same transaction (a before_commit hook), so work that was committed is
never done again, even by a process that took the job over after a lease
lapsed: its commit finds the job done and is refused.

A payload holds nothing a database reader could log in with or open a link
with: a password only as its argon2 hash, never a link secret (links are made
inside the flow). Done jobs lose their payload at once and the row itself after
JOB_RETENTION_DAYS."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import and_, delete, event, or_, select, update
from sqlalchemy.orm import Session

from . import deferred, logs
from .extensions import db
from .models import Job, Tenant, utcnow
from .tenants import settings_for

MAX_ATTEMPTS = 10
# The first retry after 15 s, then 30 s, 60 s ...: ten attempts span about two hours.
BACKOFF_SECONDS = 15


class JobTakenOver(Exception):
    """The job was finished by another process while this one ran it (its lease
    had lapsed): this process's work is rolled back, not committed twice."""


@dataclass(frozen=True)
class Flow:
    name: str
    run: Callable[..., None]
    decode: Callable[[list], list]


_flows: dict[str, Flow] = {}


def durable(name: str, decode: Callable[[list], list] | None = None):
    """Register a flow `(tenant, settings, *args)` that `later` may promise.
    Its arguments are stored as JSON; `decode` turns the stored list back into
    the arguments (a dataclass is stored as its fields)."""

    def register(run: Callable[..., None]) -> Callable[..., None]:
        assert name not in _flows or _flows[name].run is run, f"two flows named {name!r}"
        _flows[name] = Flow(name, run, decode or (lambda args: args))
        run.job_name = name
        return run

    return register


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} cannot go into a job payload")


def later(flow: Callable[..., None], *args) -> int:
    """Promise `flow(tenant, settings, *args)` for this request's tenant: commit
    the job now, before the answer, and run it once the answer has gone out."""
    job = schedule(g.tenant.id, flow, *args, run_after=utcnow())
    db.session.commit()
    job_id = job.id
    deferred.after_response(lambda: run(job_id))
    return job_id


def schedule(tenant_id: int, flow: Callable[..., None], *args, run_after: datetime) -> Job:
    """Promise `flow(tenant, settings, *args)` for a later time (a purge after
    a grace period): the job is added to the caller's transaction, committed
    with the change that promises it, and run by the worker once due."""
    name = getattr(flow, "job_name", None)
    assert name in _flows, f"{flow.__name__} is not a @durable flow"
    job = Job(
        tenant_id=tenant_id,
        name=name,
        payload=json.loads(json.dumps(list(args), default=_encode)),
        request_id=logs.request_id(),
        attempts=0,
        run_after=run_after,
    )
    db.session.add(job)
    return job


def run(job_id: int) -> bool | None:
    """Claim and run one job; True done, False failed, None taken by another."""
    if not _claim(job_id):
        return None
    return _execute(job_id)


def run_due(limit: int = 100) -> tuple[int, int]:
    """The worker's round: run due jobs (new ones nobody ran, retries whose
    backoff is over, those whose lease lapsed), one claim at a time; return
    (done, failed). Several workers may run: on PostgreSQL each picks a job
    nobody else is locking (FOR UPDATE SKIP LOCKED), everywhere the claim itself
    is a conditional UPDATE that only one of them wins."""
    done = failed = 0
    for _ in range(limit):
        job_id = _next_due()
        if job_id is None:
            break
        if not _claim(job_id):
            continue
        with _context_for(job_id):
            outcome = _execute(job_id)
        if outcome:
            done += 1
        elif outcome is False:
            failed += 1
    return done, failed


def purge_finished() -> int:
    """Delete the jobs done (or given up) more than JOB_RETENTION_DAYS ago."""
    cutoff = utcnow() - timedelta(days=current_app.config["JOB_RETENTION_DAYS"])
    result = db.session.execute(
        delete(Job).where(
            or_(
                Job.done_at < cutoff,
                and_(Job.done_at.is_(None), Job.attempts >= MAX_ATTEMPTS, Job.created_at < cutoff),
            )
        )
    )
    db.session.commit()
    return result.rowcount


def _due():
    now = utcnow()
    return and_(
        Job.done_at.is_(None),
        Job.attempts < MAX_ATTEMPTS,
        Job.run_after <= now,
        or_(Job.claimed_until.is_(None), Job.claimed_until <= now),
    )


def _next_due() -> int | None:
    query = select(Job.id).where(_due()).order_by(Job.run_after, Job.id).limit(1)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job_id = db.session.scalar(query)
    if job_id is None:
        db.session.rollback()
    return job_id


def _claim(job_id: int) -> bool:
    """Take the job for JOB_LEASE_SECONDS, if nobody finished or holds it."""
    now = utcnow()
    result = db.session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.done_at.is_(None),
            Job.attempts < MAX_ATTEMPTS,
            or_(Job.claimed_until.is_(None), Job.claimed_until <= now),
        )
        .values(claimed_until=now + timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"]))
    )
    db.session.commit()
    return result.rowcount == 1


# The job whose flow runs in this thread (see _execute).
_running: ContextVar[list | None] = ContextVar("savitarna_job", default=None)


def _execute(job_id: int) -> bool | None:
    job = db.session.get(Job, job_id)
    name = job.name
    # The job, whether a commit has marked it done, and the session whose commit
    # does (not a session of another app context this thread may open).
    state = [job_id, False, db.session()]
    try:
        flow = _flows.get(name)
        if flow is None:
            raise LookupError(f"no flow named {name!r}")
        tenant = db.session.get(Tenant, job.tenant_id)
        args = flow.decode(list(job.payload or []))
        token = _running.set(state)
        try:
            with deferred.background():
                flow.run(tenant, settings_for(tenant), *args)
        finally:
            _running.reset(token)
    except JobTakenOver:
        db.session.rollback()
        current_app.logger.warning("job %s (%s) was finished elsewhere", job_id, name)
        return None
    except Exception as exc:
        db.session.rollback()
        if state[1]:
            # The work was committed; what failed came after it (say, a mail
            # delivery, which the outbox retries). The job is done.
            current_app.logger.exception("job %s (%s) failed after its commit", job_id, name)
            return True
        _failed(job_id, exc)
        return False
    if not state[1]:
        _mark_done(job_id)
    return True


def _mark_done(job_id: int) -> None:
    """Done for a flow that committed nothing (nothing to do, a duplicate)."""
    db.session.execute(_done_statement(job_id))
    db.session.commit()


def _done_statement(job_id: int):
    return (
        update(Job)
        .where(Job.id == job_id, Job.done_at.is_(None))
        .values(done_at=utcnow(), payload=None, claimed_until=None, last_error=None)
    )


def _failed(job_id: int, exc: Exception) -> None:
    job = db.session.get(Job, job_id)
    job.attempts += 1
    job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    job.claimed_until = None
    if job.attempts >= MAX_ATTEMPTS:
        # Given up: kept (without its payload) for the operator to see until purged.
        job.payload = None
        job.run_after = None
        current_app.logger.error(
            "job %s (%s) given up after %s attempts: %s",
            job_id,
            job.name,
            job.attempts,
            job.last_error,
            exc_info=exc,
        )
    else:
        job.run_after = utcnow() + timedelta(seconds=BACKOFF_SECONDS * 2 ** (job.attempts - 1))
        current_app.logger.warning(
            "job %s (%s) failed, attempt %s, retried after %s: %s",
            job_id,
            job.name,
            job.attempts,
            job.run_after.isoformat(timespec="seconds"),
            job.last_error,
            exc_info=exc,
        )
    db.session.commit()


def _before_commit(session: Session) -> None:
    """The flow's commit marks its job done in the same transaction; if another
    process has marked it done meanwhile, the commit is refused."""
    state = _running.get()
    if state is None or state[1] or session is not state[2]:
        return
    if session.in_nested_transaction():
        return  # a savepoint released (webapp/funnel's counts): not the flow's commit
    if session.execute(_done_statement(state[0])).rowcount != 1:
        raise JobTakenOver(state[0])
    state[1] = True


def init_app(app: Flask) -> None:
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)


@contextmanager
def _context_for(job_id: int):
    """Outside a request (the worker), flows still build absolute links with
    url_for and log with the request id of the answer that promised them."""
    if has_request_context():
        yield
        return
    request_id = db.session.scalar(select(Job.request_id).where(Job.id == job_id))
    with worker_request_context(current_app._get_current_object(), request_id):
        yield


def worker_request_context(app: Flask, request_id: str | None = None):
    """A request context at the portal's public address (PUBLIC_URL)."""
    base_url = app.config["PUBLIC_URL"]
    return app.test_request_context(
        "/", base_url=base_url, environ_overrides={logs.ENVIRON_KEY: request_id}
    )

"""Readiness: can this instance serve a customer right now? The database
answers, Redis answers (when the limits live there), and mail is not piling up
in the outbox. Each check reports on its own, so a 503 says which one failed."""

from __future__ import annotations

import time
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import OutboxMessage, utcnow

# A probe must answer before the balancer gives up on it.
REDIS_TIMEOUT_SECONDS = 2


def check_all() -> tuple[bool, dict]:
    """Run every check; return (ready, {name: result})."""
    results = {
        "database": _timed(check_database),
        "redis": _timed(check_redis),
        "outbox": _timed(check_outbox),
    }
    return all(r["ok"] for r in results.values()), results


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except (SQLAlchemyError, redis.RedisError, OSError) as exc:
        db.session.rollback()
        # The detail (host names, ports) goes to the log, not to whoever asks.
        current_app.logger.warning("readiness: %s failed: %s", check.__name__, exc)
        result = {"ok": False, "error": type(exc).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def check_database() -> dict:
    db.session.execute(text("SELECT 1"))
    return {}


def check_redis() -> dict:
    url = current_app.config["REDIS_URL"]
    if not url:
        return {"skipped": "REDIS_URL not set"}
    if not _redis_client().ping():
        raise redis.RedisError("no PONG")
    return {}


def _redis_client() -> redis.Redis:
    # One client (and connection pool) per app and process, made on first use
    # so nothing connects before gunicorn forks.
    client = current_app.extensions.get("readiness_redis")
    if client is None:
        client = redis.Redis.from_url(
            current_app.config["REDIS_URL"],
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        current_app.extensions["readiness_redis"] = client
    return client


def check_outbox() -> dict:
    limit = current_app.config["OUTBOX_BACKLOG_SECONDS"]
    if not current_app.config["MAIL_URL"]:
        # Without SMTP, mail stays in the outbox on purpose (the mailbox page).
        return {"skipped": "MAIL_URL not set"}
    if not limit:
        return {"skipped": "OUTBOX_BACKLOG_SECONDS=0"}
    overdue = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.created_at < utcnow() - timedelta(seconds=limit),
        )
    )
    return {"ok": overdue == 0, "overdue": overdue, "older_than_seconds": limit}

"""Rate limits (Flask-Limiter). Counts live in memory by default and in Redis
when REDIS_URL is set, so several instances share them. Per-account keys are
derived from the submitted email whether or not it has an account, so a limit
answers the same for both (no enumeration)."""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app, g, request

from .extensions import limiter

# Defaults, each overridable by the environment variable of the same name.
DEFAULT_LIMITS = {
    # Per client address
    "RATELIMIT_LOGIN_IP": "30 per minute;300 per hour",
    "RATELIMIT_REGISTER_IP": "30 per hour",
    "RATELIMIT_EMAIL_IP": "10 per 10 minutes",
    "RATELIMIT_CHECK_IP": "120 per minute",
    "RATELIMIT_CONTRACT_IP": "30 per 10 minutes",
    "RATELIMIT_ACCOUNT_IP": "60 per minute",
    # Per account (the submitted email at this tenant). Failed logins only: an
    # attacker is slowed to 10 guesses per 15 minutes, and the owner can always
    # log in again once the window has passed.
    "RATELIMIT_LOGIN_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_REGISTER_ACCOUNT": "5 per hour",
    "RATELIMIT_EMAIL_ACCOUNT": "3 per 15 minutes",
}


def configure(app: Flask, environ: dict) -> None:
    """Limits and storage from the environment; call before limiter.init_app."""
    for key, value in DEFAULT_LIMITS.items():
        app.config.setdefault(key, environ.get(key, value))
    redis_url = environ.get("REDIS_URL", "")
    app.config.setdefault("REDIS_URL", redis_url)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis away: count in this process's memory until it is back (a warning in
    # the log, /readyz says so) rather than answer every limited request 500.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # Deployments (or test runs) sharing one Redis keep apart by prefix.
    app.config.setdefault("RATELIMIT_KEY_PREFIX", environ.get("RATELIMIT_KEY_PREFIX", "savitarna"))


def setting(name: str):
    """A limit string read from the config when the request is checked."""
    return lambda: current_app.config[name]


def client_address() -> str:
    return request.remote_addr or "unknown"


def account_key() -> str:
    """The tenant and a digest of the submitted email (never the email itself, so
    Redis keys hold no personal data)."""
    email = (request.form.get("email") or "").strip().lower()[:320]
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    tenant = g.tenant.slug if "tenant" in g else "-"
    return f"{tenant}:{digest}"


def failed(response) -> bool:
    """deduct_when: only a refused attempt (422) counts."""
    return response.status_code == 422


def retry_after_seconds() -> int:
    """Seconds until the breached limit lets the next request through."""
    limit = limiter.current_limit
    if limit is None:
        return 60
    return max(1, math.ceil(limit.reset_at - time.time()))

"""Rate limits (Flask-Limiter). Counts live in memory by default and in Redis
when REDIS_URL is set, so several instances share them. Per-account keys are
derived from the submitted email whether or not it has an account, so a limit
answers the same for both (no enumeration)."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from functools import wraps

from flask import Flask, current_app, g, make_response, request
from limits.storage import MemoryStorage, RedisStorage

from .extensions import limiter
from .forms import normalize_email
from .policy import normalise_company_code

log = logging.getLogger(__name__)

# Defaults, each overridable by the environment variable of the same name.
DEFAULT_LIMITS = {
    # Per client address
    "RATELIMIT_LOGIN_IP": "30 per minute;300 per hour",
    "RATELIMIT_REGISTER_IP": "30 per hour",
    "RATELIMIT_EMAIL_IP": "10 per 10 minutes",
    "RATELIMIT_CHECK_IP": "120 per minute",
    "RATELIMIT_CONTRACT_IP": "30 per 10 minutes",
    # Contract look-ups from any address: per contract number tried and per
    # company code tried, so many addresses cannot guess one company's
    # contract numbers (company codes are public) or one number's company.
    "RATELIMIT_CONTRACT_NUMBER": "10 per hour",
    "RATELIMIT_CONTRACT_COMPANY": "30 per hour",
    "RATELIMIT_ACCOUNT_IP": "60 per minute",
    # The QA mail API (webapp/qa_mail): a test suite polls its mailbox a few
    # times a second, several tests at once; and an address that sends wrong
    # tokens is shut out after a few (every answer 429, the right token too, so
    # guessing goes no further) until the window has passed.
    "RATELIMIT_QA_IP": "600 per minute",
    "RATELIMIT_QA_TOKEN_FAILURES": "5 per 15 minutes",
    # The OpenID Connect back channel (token, userinfo, revocation,
    # introspection). A utility's portal calls it from one address for all its
    # customers, so successes are not counted per address: failures are (a
    # wrong client secret, a used code, a stolen token tried), and each client
    # has a ceiling of its own.
    "RATELIMIT_OIDC_FAILURES_IP": "30 per minute;300 per hour",
    "RATELIMIT_OIDC_CLIENT": "1200 per minute",
    # Per account (the submitted email at this tenant). Failed logins only: an
    # attacker is slowed to 10 guesses per 15 minutes, and the owner can always
    # log in again once the window has passed.
    "RATELIMIT_LOGIN_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_REGISTER_ACCOUNT": "5 per hour",
    "RATELIMIT_EMAIL_ACCOUNT": "3 per 15 minutes",
    # Wrong second-factor codes of one half-done login's account, from any
    # address: a six-digit code cannot be guessed at 5 tries in 5 minutes.
    "RATELIMIT_CODE_ACCOUNT": "5 per 5 minutes",
}


def configure(app: Flask, environ: dict) -> None:
    """Limits and storage from the environment; call before limiter.init_app."""
    for key, value in DEFAULT_LIMITS.items():
        app.config.setdefault(key, environ.get(key, value))
    redis_url = environ.get("REDIS_URL", "")
    app.config.setdefault("REDIS_URL", redis_url)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # The X-RateLimit-* headers cost a second Redis round trip on every limited
    # request (the live checks included) and no client of ours reads them; a 429
    # still carries Retry-After (webapp/__init__.py's handler sets it).
    app.config.setdefault(
        "RATELIMIT_HEADERS_ENABLED",
        environ.get("RATELIMIT_HEADERS_ENABLED", "").lower() in {"1", "true", "yes", "on"},
    )
    # Redis away: count in this process's memory until it is back (a warning in
    # the log, /readyz says so) rather than answer every limited request 500.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # Deployments (or test runs) sharing one Redis keep apart by prefix.
    app.config.setdefault("RATELIMIT_KEY_PREFIX", environ.get("RATELIMIT_KEY_PREFIX", "savitarna"))


@limiter.request_filter
def no_limit_applies() -> bool:
    """request_filter: the request skips Flask-Limiter when no limit of its
    endpoint counts its method (a GET of a page whose limits all count POSTs).
    Flask-Limiter would come to the same answer, after resolving and parsing
    every limit of the endpoint twice per request (in its before_request and in
    the view's decorator): a tenth of a registration page's time. The answer is
    kept per endpoint and method, which fixes the limits an endpoint has; an
    endpoint whose limits sit on another callable than its view (a hint,
    learnt at its first request) is never skipped."""
    endpoint = request.endpoint
    manager = limiter.limit_manager
    if not endpoint or manager.has_hints(endpoint):
        return False
    answers = current_app.extensions.setdefault("savitarna.unlimited", {})
    key = (endpoint, request.method)
    answer = answers.get(key)
    if answer is None:
        defaults, decorated = manager.resolve_limits(
            current_app, endpoint, request.blueprint, marked_for_limiting=True
        )
        limits = [*manager.application_limits, *defaults, *decorated]
        answer = answers[key] = all(limit.method_exempt for limit in limits)
    return answer


def setting(name: str):
    """A limit string read from the config when the request is checked."""
    return lambda: current_app.config[name]


def client_address() -> str:
    return request.remote_addr or "unknown"


def _tenant_digest(value: str) -> str:
    """The tenant and a digest of `value` (never the value itself, so Redis
    keys hold no personal data)."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    tenant = g.tenant.slug if "tenant" in g else "-"
    return f"{tenant}:{digest}"


def account_key() -> str:
    """key_func: the submitted email as the validator normalises it, case-folded,
    so every spelling of one address (`RL@ｅxample．COM`) shares one count. The
    forms read request.form only (webapp/forms.py), and so does this."""
    typed = request.form.get("email") or ""
    email = normalize_email(typed) or typed.strip().casefold()
    return _tenant_digest(email[:320])


def logged_in_key() -> str:
    """key_func: the logged-in person's address, as account_key counts it, for
    pages that ask a logged-in person for their password again."""
    from flask_login import current_user

    email = current_user.email if current_user.is_authenticated else ""
    return _tenant_digest(email[:320])


def oidc_client_key() -> str:
    """key_func: the client the request names (HTTP Basic's user, else the form's
    client_id), checked or not: a client's ceiling is spent by whoever uses its
    name, which only hurts a client whose secret or requests are not its own."""
    client_id = request.authorization.username if request.authorization else None
    client_id = client_id or request.form.get("client_id") or ""
    return "client:" + _tenant_digest(client_id[:200])


def oidc_failed(response) -> bool:
    """An OAuth answer counts against the address when it refuses (4xx)."""
    return 400 <= response.status_code < 500


def contract_number_key() -> str:
    """key_func: the contract number as the form reads it (no spaces, upper case)."""
    number = (request.form.get("contract_number") or "").replace(" ", "").upper()
    return "number:" + _tenant_digest(number[:40])


def company_key() -> str:
    """key_func: the company code as the form normalises it."""
    code = normalise_company_code((request.form.get("company_code") or "")[:30])
    return "company:" + _tenant_digest(code)


def failed(response) -> bool:
    """Only a refused attempt (422) counts."""
    return response.status_code == 422


def refunded_unless(counts, *scopes: str):
    """Wrap a view below its limits of these scopes: they are charged before the
    view runs (Flask-Limiter's atomic check-and-hit, so parallel requests cannot
    all pass a check made before any of them is counted), and an answer for
    which `counts(response)` is false gives its charges back."""

    def taken_here(request_limit) -> bool:
        scope = request_limit.request_args[-1]  # "endpoint:scope", or "scope" when shared
        return any(scope == name or scope.endswith(f":{name}") for name in scopes)

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            response = make_response(view(*args, **kwargs))
            if not counts(response):
                for taken in limiter.current_limits:
                    if taken_here(taken) and not taken.breached:
                        refund(taken.key)
            return response

        return wrapper

    return decorate


def refund(key: str) -> None:
    """Give back one entry of a moving-window count. The newest entry goes:
    the count is right, and the window closes a few milliseconds later than
    if this request's own entry had gone, never sooner."""
    storage = limiter.limiter.storage
    if isinstance(storage, RedisStorage):
        storage.get_connection().lpop(storage.prefixed_key(key))
    elif isinstance(storage, MemoryStorage):
        with storage.locks[key]:
            if storage.events.get(key):
                storage.events[key].pop(0)
    else:  # pragma: no cover (configure allows memory and Redis only)
        log.warning("rate limit storage %s cannot give back a charge", type(storage).__name__)


def retry_after_seconds() -> int:
    """Seconds until the breached limit lets the next request through."""
    limit = limiter.current_limit
    if limit is None:
        return 60
    # reset_at is rounded up to the next whole second (Flask-Limiter), so cap the
    # wait at the limit's window: "10 per 15 minutes" never says more than 900.
    window = limit.limit.get_expiry()
    return max(1, min(window, math.ceil(limit.reset_at - time.time())))

"""Settings: defaults, then the environment. Nothing here runs at import time."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# templates/, static/, translations/, data/ and demo/: the repository's, or the
# copy a built wheel carries in webapp/_shared/ (setup.py). The installed copy is
# looked for first: a site-packages may hold some other project's templates/.
_INSTALLED_RESOURCES = Path(__file__).resolve().parent / "_shared"
INSTALLED = _INSTALLED_RESOURCES.is_dir()
RESOURCE_ROOT = _INSTALLED_RESOURCES if INSTALLED else PROJECT_ROOT

ENVIRONMENTS = ("development", "production", "testing")
BREACHED_PASSWORDS_URL = "https://api.pwnedpasswords.com/range/"


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the app refuses to start."""


def _secret_key(env: str, instance_path: Path) -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if env == "production":
        raise ConfigError("SECRET_KEY must be set outside development (APP_ENV=production).")
    # Development and tests get a random key kept in the instance folder, so a
    # restart keeps sessions and emailed links valid. It is never a shared default.
    path = instance_path / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def secret_key_fallbacks(value: str | list | tuple | None) -> list[str]:
    """SECRET_KEY_FALLBACKS: earlier SECRET_KEYs, comma-separated (a list as
    an override), newest first. Tried after SECRET_KEY: by webapp/sealing.py
    to open stored secrets, and by Flask 3.1 for session cookies."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [item.strip() for item in items if item and item.strip()]


def load_config(instance_path: Path, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from defaults, the environment and overrides."""
    overrides = dict(overrides or {})
    env = overrides.get("APP_ENV") or os.environ.get("APP_ENV", "production")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}.")
    production = env == "production"

    mail_url = os.environ.get("MAIL_URL", "")
    config = {
        "APP_ENV": env,
        "TESTING": env == "testing",
        "SQLALCHEMY_DATABASE_URI": database_url(
            os.environ.get("DATABASE_URL", f"sqlite:///{instance_path / 'savitarna.sqlite'}")
        ),
        # hide_parameters: a database error in the log shows the statement, not the
        # emails or hashes bound to it.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "MAIL_URL": mail_url,
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Savitarna <no-reply@savitarna.localhost>"),
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "10")),
        # Whether the relay of MAIL_URL takes SMTPUTF8 (RFC 6531): only then can
        # an address with non-ASCII letters before the @ be registered.
        "MAIL_SMTPUTF8": _flag("MAIL_SMTPUTF8", default=False),
        # The mailbox page shows every outgoing message: a development tool only.
        "MAILBOX_ENABLED": _flag("MAILBOX_ENABLED", default=not production and not mail_url),
        "BABEL_DEFAULT_LOCALE": "lt",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Vilnius",
        "BABEL_TRANSLATION_DIRECTORIES": str(RESOURCE_ROOT / "translations"),
        "LANGUAGES": ("lt", "en"),
        "WTF_CSRF_TIME_LIMIT": int(os.environ.get("CSRF_TIME_LIMIT", str(8 * 3600))),
        "SESSION_COOKIE_NAME": "savitarna_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_LIFETIME", str(8 * 3600))),
        # How long a half-done login (one more step needed) waits in the session.
        "LOGIN_STEP_SECONDS": int(os.environ.get("LOGIN_STEP_SECONDS", "300")),
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "MAX_FORM_MEMORY_SIZE": 64 * 1024,
        # OWASP's argon2id recommendation (m=19 MiB, t=2, p=1). Tests lower them.
        "ARGON2_TIME_COST": int(os.environ.get("ARGON2_TIME_COST", "2")),
        "ARGON2_MEMORY_COST": int(os.environ.get("ARGON2_MEMORY_COST", str(19 * 1024))),
        "ARGON2_PARALLELISM": int(os.environ.get("ARGON2_PARALLELISM", "1")),
        # The OpenID Connect provider (webapp/oidc): lifetimes in seconds of a
        # code, an access token, an ID token and a refresh token.
        "OIDC_CODE_SECONDS": int(os.environ.get("OIDC_CODE_SECONDS", "60")),
        "OIDC_ACCESS_TOKEN_SECONDS": int(os.environ.get("OIDC_ACCESS_TOKEN_SECONDS", "300")),
        "OIDC_ID_TOKEN_SECONDS": int(os.environ.get("OIDC_ID_TOKEN_SECONDS", "600")),
        "OIDC_REFRESH_TOKEN_SECONDS": int(
            os.environ.get("OIDC_REFRESH_TOKEN_SECONDS", str(30 * 24 * 3600))
        ),
        # How long an instance trusts its copy of a tenant row (see tenants.find_tenant).
        "TENANT_CACHE_SECONDS": float(os.environ.get("TENANT_CACHE_SECONDS", "10")),
        # How long an instance gathers funnel counts before it writes them in one
        # statement (webapp/funnel/counting.py). 0: as soon as a thread is free.
        "FUNNEL_FLUSH_SECONDS": float(
            os.environ.get("FUNNEL_FLUSH_SECONDS", "0" if env == "testing" else "1")
        ),
        # Static files: versioned names, pre-compressed, served by WhiteNoise
        # (webapp/assets.py). Development serves static/ as it is.
        "STATIC_VERSIONED": _flag("STATIC_VERSIONED", default=env != "development"),
        # An installed package builds into its instance folder, not site-packages.
        "STATIC_BUILD_DIR": os.environ.get(
            "STATIC_BUILD_DIR",
            str(instance_path / "static" if INSTALLED else PROJECT_ROOT / "build" / "static"),
        ),
        "STATIC_MAX_AGE": int(os.environ.get("STATIC_MAX_AGE", "3600")),
        # Pages and fragments compressed by the app (Flask-Compress), so what the
        # browser tests measure is what a customer receives; COMPRESS_RESPONSES=0
        # leaves it to a reverse proxy.
        "COMPRESS_REGISTER": _flag("COMPRESS_RESPONSES", default=True),
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        # Brotli 5: a tenth smaller than the default 4 for ~1 ms more per page.
        "COMPRESS_BR_LEVEL": 5,
        "COMPRESS_MIMETYPES": [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/manifest+json",
        ],
        "PREFERRED_URL_SCHEME": os.environ.get(
            "PREFERRED_URL_SCHEME", "https" if production else "http"
        ),
        # How many reverse proxies in front of the app set X-Forwarded-For and
        # X-Forwarded-Proto. 0: none is trusted (a client could claim any address).
        "TRUSTED_PROXIES": _count("TRUSTED_PROXIES", 0),
        # Where customers reach us. Emailed links are built from it (or from a
        # tenant's own public_url), never from the request's Host header.
        "PUBLIC_URL": _public_url(env),
        "TRUSTED_HOSTS": _host_list(os.environ.get("TRUSTED_HOSTS", "")),
        "LOG_FORMAT": _choice("LOG_FORMAT", ("json", "text"), "json" if production else "text"),
        "LOG_LEVEL": _choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        # Readiness fails when a message waits longer than this for delivery
        # (only with MAIL_URL set; 0 turns the check off).
        "OUTBOX_BACKLOG_SECONDS": _count("OUTBOX_BACKLOG_SECONDS", 900),
        # How long a sender holds a message it is delivering before another may
        # take it over (longer than MAIL_TIMEOUT several times over).
        "MAIL_CLAIM_SECONDS": _count("MAIL_CLAIM_SECONDS", 120),
        # How long a process holds a job it runs before another may take it over:
        # longer than any flow takes, short enough that a crash is made good soon.
        "JOB_LEASE_SECONDS": _count("JOB_LEASE_SECONDS", 60),
        # Finished jobs (done or given up) are deleted after this many days.
        "JOB_RETENTION_DAYS": _count("JOB_RETENTION_DAYS", 7),
        # Staging: the mail to a tenant's test addresses (its qa_addresses) is
        # readable through /<tenant>/_qa/ with this bearer token (webapp/qa_mail).
        "QA_MAIL_CAPTURE": _flag("QA_MAIL_CAPTURE", default=False),
        "QA_TOKEN": os.environ.get("QA_TOKEN", "").strip(),
        # Webhooks (webapp/webhooks.py): seconds a receiver has to connect and
        # to answer, and the private networks (CIDRs, comma-separated) that
        # endpoints may be in, in production.
        "WEBHOOK_TIMEOUT": _seconds("WEBHOOK_TIMEOUT", 5.0),
        "WEBHOOK_ALLOWED_NETWORKS": _networks("WEBHOOK_ALLOWED_NETWORKS"),
        # Breached passwords (webapp/breached_passwords.py), for tenants whose
        # [password] says reject_breached: a k-anonymity range API (Have I Been
        # Pwned's format; a mirror of one may be given), and how long it has to
        # answer before the password is accepted unchecked. Empty: no check.
        "BREACHED_PASSWORDS_URL": _range_url("BREACHED_PASSWORDS_URL", BREACHED_PASSWORDS_URL),
        "BREACHED_PASSWORDS_TIMEOUT": _seconds("BREACHED_PASSWORDS_TIMEOUT", 2.0),
    }
    config.update(overrides)
    config["PUBLIC_URL"] = check_public_url(config["PUBLIC_URL"], production)
    check_qa_settings(config, production)
    config["TRUSTED_HOSTS"] = trusted_hosts(config)
    config["SECRET_KEY"] = overrides.get("SECRET_KEY") or _secret_key(env, instance_path)
    config["SECRET_KEY_FALLBACKS"] = [
        key
        for key in secret_key_fallbacks(
            overrides.get("SECRET_KEY_FALLBACKS", os.environ.get("SECRET_KEY_FALLBACKS"))
        )
        if key != config["SECRET_KEY"]
    ]
    return config


def _public_url(env: str) -> str:
    value = os.environ.get("PUBLIC_URL", "").strip()
    if value or env == "production":
        return value
    # A bare machine: `make run` serves here (the Makefile passes its PORT; a
    # host name, since passkeys cannot work at an IP address); the test
    # client's requests come to localhost.
    return "http://localhost:5000" if env == "development" else "http://localhost"


def check_public_url(value: str, production: bool) -> str:
    """PUBLIC_URL as scheme://host[:port][/prefix], without a trailing slash."""
    if not value:
        raise ConfigError(
            "PUBLIC_URL must be set in production (e.g. https://savitarna.example.lt): "
            "emailed links are built from it."
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"PUBLIC_URL must look like https://host[/prefix], not {value!r}.")
    if production and parts.scheme != "https":
        raise ConfigError("PUBLIC_URL must be an https:// address in production.")
    return value.rstrip("/")


QA_TOKEN_MIN_LENGTH = 32


def check_qa_settings(config: dict, production: bool) -> None:
    """Mail capture needs its token; in production a long one, so the test
    mailbox cannot be guessed open."""
    if not config["QA_MAIL_CAPTURE"]:
        return
    token = config["QA_TOKEN"] or ""
    if not token:
        raise ConfigError("QA_MAIL_CAPTURE needs QA_TOKEN (the bearer token of the QA mail API).")
    if production and len(token) < QA_TOKEN_MIN_LENGTH:
        raise ConfigError(
            f"QA_TOKEN must be at least {QA_TOKEN_MIN_LENGTH} characters in production "
            "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
        )


def _host_list(value: str) -> list[str]:
    return [host.strip().lower() for host in value.split(",") if host.strip()]


def trusted_hosts(config: dict) -> list[str]:
    """The Host names answered (Flask's TRUSTED_HOSTS; others get 400): the public
    URL's, the listed ones, and on a developer's machine the loopback names."""
    hosts = [urlsplit(config["PUBLIC_URL"]).hostname, *(config.get("TRUSTED_HOSTS") or ())]
    if config["APP_ENV"] != "production":
        hosts += ["localhost", "127.0.0.1"]
    return list(dict.fromkeys(hosts))


def database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdigit():
        raise ConfigError(f"{name} must be a whole number (0 or more), not {value!r}.")
    return int(value)


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip() or str(default)
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 120:
        raise ConfigError(
            f"{name} must be a number of seconds above 0, at most 120, not {value!r}."
        )
    return seconds


def _range_url(name: str, default: str) -> str:
    """An http(s) address the five hex characters are appended to, or "" (off)."""
    value = os.environ.get(name, default).strip()
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query):
        raise ConfigError(
            f"{name} must look like https://host/range/ (or be empty: no check), not {value!r}."
        )
    return value


def _networks(name: str) -> str:
    value = os.environ.get(name, "").strip()
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            ipaddress.ip_network(item)
        except ValueError as exc:
            raise ConfigError(f"{name}: {item!r} is not a network such as 10.0.0.0/8.") from exc
    return value


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name, "").strip() or default
    normal = value.upper() if choices[0].isupper() else value.lower()
    if normal not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return normal

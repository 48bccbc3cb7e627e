"""Logs an operator can search: a request id on every line, one line per request,
JSON in production, and nothing in them that identifies a person or opens an
account (no form values, no emails, no tokens from emailed links).

The request id comes from the proxy's `X-Request-ID` when it is well formed, so
one id follows a request through the proxy's log and ours; otherwise it is made
here. Either way the response carries it back."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators, at most 128: enough for a UUID or a
# proxy's trace id, and nothing that could break a log line or a header.
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
ENVIRON_KEY = "savitarna.request_id"
# Emailed links carry a secret in the path; the log keeps the route, not the
# secret, in the request line and anywhere else a path is quoted (Flask's
# "Exception on <path>").
SECRET_PATH_RE = re.compile(r"(/(?:confirm|activate|reset)/)[^/\s\]\[?#\"']+")
EMAIL_RE = re.compile(r"[^\s@<>\"'(),;:\[\]]+@[^\s@<>\"'(),;:\[\]]+\.[A-Za-z]{2,}")
HEALTH_PATHS = ("/healthz", "/readyz")
HANDLER_NAME = "savitarna"


def init_app(app: Flask) -> None:
    """Attach the request id and the per-request line to `app`, and route the
    app's loggers to stdout in the configured format (once per process)."""
    configure_handler(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    # A URL preprocessor, not before_request: it runs first, even when the
    # tenant lookup that follows answers 404.
    app.url_value_preprocessor(_start)
    app.after_request(_finish)


def configure_handler(fmt: str, level: str) -> None:
    # One handler on the app's logger ("webapp", app.logger) and on the rate
    # limiter's (it warns when Redis is away), replaced rather than added to
    # when the factory runs again in the same process.
    logging.getLogger("webapp").setLevel(level.upper())
    for name in ("webapp", "flask-limiter"):
        logger = logging.getLogger(name)
        handler = next((h for h in logger.handlers if h.get_name() == HANDLER_NAME), None)
        if handler is None:
            handler = StdoutHandler()
            handler.set_name(HANDLER_NAME)
            handler.addFilter(RequestIdFilter())
            logger.addHandler(handler)
        handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())


def request_id() -> str | None:
    """This request's id (also inside work scheduled after the response, which
    runs with a copy of the request)."""
    if not has_request_context():
        return None
    return request.environ.get(ENVIRON_KEY)


def redacted_path(path: str) -> str:
    return SECRET_PATH_RE.sub(r"\1[redacted]", path)


def scrub(text: str) -> str:
    """Remove anything shaped like an email address (an SMTP or database error
    may quote one) and the secrets of emailed links."""
    return redacted_path(EMAIL_RE.sub("[email]", text))


def _start(endpoint: str | None, values: dict | None) -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request.environ[ENVIRON_KEY] = (
        incoming if REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
    )
    g.request_started = time.perf_counter()


def _finish(response):
    rid = request_id()
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    started = g.get("request_started")
    duration = (time.perf_counter() - started) * 1000 if started is not None else None
    tenant = g.get("tenant")
    level = logging.INFO
    if response.status_code >= 500:
        level = logging.ERROR
    elif request.path in HEALTH_PATHS and response.status_code < 400:
        # Probes every few seconds from every balancer would drown the rest.
        level = logging.DEBUG
    logging.getLogger("webapp.request").log(
        level,
        "%s %s %s",
        request.method,
        redacted_path(request.path),
        response.status_code,
        extra={
            "fields": {
                "method": request.method,
                "path": redacted_path(request.path),
                "status": response.status_code,
                "duration_ms": round(duration, 2) if duration is not None else None,
                "tenant": tenant.slug if tenant is not None else None,
            }
        },
    )
    return response


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is when the line is written (a test's
    capture, a replaced stream), not to the one of the first app."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and the
    record's `fields`. A dozen lines, so no dependency for it."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For a developer's terminal: the same facts, readable."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        text = scrub(super().format(record))
        if fields and fields.get("duration_ms") is not None:
            text += f" {fields['duration_ms']}ms tenant={fields['tenant'] or '-'}"
        return text

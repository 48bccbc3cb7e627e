"""Passwords that appeared in known data breaches, which a tenant may refuse
(its [password] reject_breached setting).

Asked of a k-anonymity range API in Have I Been Pwned's format
(BREACHED_PASSWORDS_URL, https://api.pwnedpasswords.com/range/ by default):
only the first five hex characters of the password's SHA-1 leave the server;
the API answers every hash suffix it knows with that prefix, `SUFFIX:COUNT` a
line, and the match is made here. `Add-Padding: true` makes every answer about
the same size, so the size does not tell an eavesdropper the prefix either; the
padding lines have a count of 0 and are not breaches.

When the API cannot be asked (unreachable, slower than
BREACHED_PASSWORDS_TIMEOUT, an error status), the password is accepted: a
customer is never kept from registering or resetting by somebody else's outage,
and the other rules of the tenant's policy still hold. Each such miss is logged
as a warning with the running count of this process (README, SECURITY.md)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import httpx
from flask import current_app

log = logging.getLogger(__name__)

# A padded answer is some 30-40 kB; a mirror that sends more is not trusted further.
MAX_ANSWER_BYTES = 1024 * 1024
PREFIX_LENGTH = 5
UNCHECKED_KEY = "savitarna.breached_unchecked"


def range_query(password: str) -> tuple[str, str]:
    """(prefix, suffix) of the password's upper-case SHA-1: the prefix is sent,
    the suffix is looked for in the answer."""
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    return digest[:PREFIX_LENGTH], digest[PREFIX_LENGTH:]


def is_breached(password: str) -> bool:
    """Whether the range API lists `password` as seen in a breach. False when it
    does not, when no API is configured, and when it cannot be asked (fail open)."""
    url = current_app.config["BREACHED_PASSWORDS_URL"]
    if not url or not password:
        return False
    prefix, suffix = range_query(password)
    try:
        answer = _ask(url + prefix)
    except (httpx.HTTPError, BadAnswer) as exc:
        count = _count_unchecked()
        # Neither the prefix nor anything else of the password goes to the log.
        log.warning(
            "breached passwords: the range API did not answer (%s); the password was "
            "accepted unchecked (%d so far in this process)",
            type(exc).__name__,
            count,
            extra={"fields": {"breached_passwords_unchecked": count}},
        )
        return False
    return _listed(answer, suffix)


class BadAnswer(Exception):
    """The range API sent more than any real answer holds, or took too long over it."""


def _ask(url: str) -> str:
    timeout = current_app.config["BREACHED_PASSWORDS_TIMEOUT"]
    headers = {"Add-Padding": "true", "User-Agent": "Savitarna-BreachedPasswords/1"}
    # httpx's timeout holds for connecting and for each read; the deadline
    # holds for the whole answer, so a trickle of bytes cannot stretch it.
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", url, headers=headers, timeout=timeout) as response:
        response.raise_for_status()
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES or time.monotonic() > deadline:
                raise BadAnswer
    return body.decode("ascii", errors="replace")


def _listed(answer: str, suffix: str) -> bool:
    for line in answer.splitlines():
        found, _, count = line.strip().partition(":")
        if found.upper() == suffix:
            # Padding lines carry a count of 0: not a breach.
            return count.strip().isdigit() and int(count) > 0
    return False


class _Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def add(self) -> int:
        with self.lock:
            self.value += 1
            return self.value


def _count_unchecked() -> int:
    return current_app.extensions.setdefault(UNCHECKED_KEY, _Counter()).add()


def unchecked_count() -> int:
    """How many passwords this process accepted without an answer from the API."""
    counter = current_app.extensions.get(UNCHECKED_KEY)
    return counter.value if counter else 0

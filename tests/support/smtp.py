"""A real SMTP server on a free loopback port (aiosmtpd) that keeps what it
accepts: stopped and started again on the same port, it keeps it across
restarts, as an outage test needs."""

from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from .servers import free_port


class LoopbackSMTP:
    def __init__(self):
        self.port = free_port()
        self.received: list[EmailMessage] = []
        self._envelopes: list[list[str]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self._lock:
            self.received.append(parsed)
            self._envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    def start(self) -> LoopbackSMTP:
        assert self._controller is None
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def message_ids(self) -> Counter:
        """How many times each Message-ID arrived."""
        with self._lock:
            return Counter(m["Message-ID"] for m in self.received)

    def recipients(self) -> dict[str, set[str]]:
        """Each envelope recipient and the distinct Message-IDs it received."""
        with self._lock:
            found: dict[str, set[str]] = {}
            for message, rcpt_tos in zip(self.received, self._envelopes, strict=True):
                for rcpt in rcpt_tos:
                    found.setdefault(rcpt, set()).add(message["Message-ID"])
            return found

"""The application's clock, held and moved on by a test: `webapp.models.utcnow`,
which every flow, token check and column default reads, answers the time the
clock shows. It stands still until the test lets time pass. Nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from webapp import models


class Clock:
    """clock = Clock(monkeypatch)
    clock.advance(hours=71)   # the app now lives 71 hours later
    clock.now                 # what utcnow() answers"""

    def __init__(self, monkeypatch, start: datetime | None = None):
        self.now = start or datetime.now(UTC)
        clock = self

        class Held(datetime):
            @classmethod
            def now(cls, tz=None):
                return clock.now.astimezone(tz) if tz else clock.now.replace(tzinfo=None)

        # utcnow() reads the module's `datetime` when called: this reaches the
        # column defaults too (they hold the function, not a value).
        monkeypatch.setattr(models, "datetime", Held)

    def advance(self, **delta) -> None:
        """Let time pass: `timedelta`'s arguments (seconds=601, days=15 ...)."""
        self.now += timedelta(**delta)

"""The application's clock, moved on by a test: `webapp.models.utcnow`, which
every flow, token check and column default reads, answers the real time plus
what the test has let pass. Nothing sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta

from webapp import models


class Clock:
    """clock = Clock(monkeypatch)
    clock.advance(hours=71)   # the app now lives 71 hours later"""

    def __init__(self, monkeypatch):
        self.passed = timedelta()
        clock = self

        class Later(datetime):
            @classmethod
            def now(cls, tz=None):
                return datetime.now(tz) + clock.passed

        # utcnow() reads the module's `datetime` when called: this reaches the
        # column defaults too (they hold the function, not a value).
        monkeypatch.setattr(models, "datetime", Later)

    def advance(self, **delta) -> None:
        """Let time pass: `timedelta`'s arguments (seconds=601, hours=73 ...)."""
        self.passed += timedelta(**delta)

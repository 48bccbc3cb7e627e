"""A clock the tests move by hand: the time every webapp module reads through
its `utcnow` (a grace period of days passes in a line, no sleeping)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

import webapp.oidc.models  # noqa: F401 (its tables, for their defaults)
from webapp.extensions import db
from webapp.models import utcnow as real_utcnow


class Clock:
    """Stands in for `utcnow` in every loaded webapp module that imported it,
    and in the column defaults and onupdates (`default=utcnow`), so a row
    written after the clock moved carries the moved time.

        clock = Clock(monkeypatch)
        clock.advance(days=15)
    """

    def __init__(self, monkeypatch, start: datetime | None = None):
        self.now = start or real_utcnow()
        for name, module in list(sys.modules.items()):
            if name.split(".")[0] == "webapp" and getattr(module, "utcnow", None) is real_utcnow:
                monkeypatch.setattr(module, "utcnow", self)
        # SQLAlchemy reads a column's default through the column's cached
        # description of it (its callable, and whether it is one).
        moved = (lambda context: self.now, False, True, False)
        for table in db.metadata.tables.values():
            for column in table.columns:
                for default, cached in (
                    (column.default, "_default_description_tuple"),
                    (column.onupdate, "_onupdate_description_tuple"),
                ):
                    arg = getattr(default, "arg", None)
                    if getattr(arg, "__wrapped__", None) is real_utcnow:
                        monkeypatch.setattr(default, "arg", moved[0])
                        monkeypatch.setattr(column, cached, moved)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)

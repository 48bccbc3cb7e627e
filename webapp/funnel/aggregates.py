"""Reading the funnel: one tenant's daily rows summed into days or ISO weeks
(Monday to Sunday, cut to the asked range), each period split by channel
(embedded, direct) and language, with each step's conversion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import FunnelDay
from .counting import CHANNELS, STEPS

# The steps one after another (field errors are beside them, not a step on the way).
PATH = ("page_view", "started", "submitted", "confirmed", "first_login")
LABELS = {
    "page_view": _l("Opened the registration page"),
    "started": _l("Started filling in"),
    "field_error": _l("Field errors"),
    "submitted": _l("Submitted the form"),
    "confirmed": _l("Confirmed the email address"),
    "first_login": _l("Logged in for the first time"),
}
CHANNEL_LABELS = {"embedded": _l("Embedded form"), "direct": _l("Self-service site")}
GROUPINGS = ("day", "week")
# The longest range a report reads (a year and a bit, by day: 400 table rows).
MAX_DAYS = 400


def _zero() -> dict[str, int]:
    return dict.fromkeys(STEPS, 0)


@dataclass
class Period:
    """One day or week: each step's count, the field errors by field, and the
    counts of each (channel, language) the period has rows of (by step, and
    by "field_error:<field>")."""

    start: date
    end: date
    counts: dict[str, int] = field(default_factory=_zero)
    fields: dict[str, int] = field(default_factory=dict)
    split: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def add(self, channel: str, language: str, step: str, field_name: str, count: int) -> None:
        split = self.split.setdefault((channel, language), _zero())
        self.counts[step] += count
        split[step] += count
        if step == "field_error":
            self.fields[field_name] = self.fields.get(field_name, 0) + count
            key = f"field_error:{field_name}"
            split[key] = split.get(key, 0) + count

    def conversion(self, step: str) -> float | None:
        """The share of the step before it on the way that reached `step`
        (None for the first step or when the one before is 0)."""
        if step not in PATH or step == PATH[0]:
            return None
        before = self.counts[PATH[PATH.index(step) - 1]]
        return self.counts[step] / before if before else None


@dataclass
class FunnelReport:
    """A tenant's funnel from `start` to `end` (both included), by day or week."""

    tenant_id: int
    start: date
    end: date
    by: str
    periods: list[Period]
    total: Period

    @property
    def splits(self) -> list[tuple[str, str]]:
        """The (channel, language) pairs with counts, in a stable order."""
        return sorted(self.total.split, key=lambda key: (CHANNELS.index(key[0]), key[1]))

    @property
    def fields(self) -> list[str]:
        """The fields that had errors, the most errors first."""
        return sorted(self.total.fields, key=lambda name: (-self.total.fields[name], name))


def report(tenant_id: int, start: date, end: date, by: str = "day") -> FunnelReport:
    """The funnel of the tenant `tenant_id` from `start` to `end` (UTC days,
    both included), by day or by week. Only this tenant's rows are read."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}, not {by!r}")
    if end < start:
        raise ValueError("the end is before the start")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days")
    query = (
        select(
            FunnelDay.day,
            FunnelDay.channel,
            FunnelDay.language,
            FunnelDay.step,
            FunnelDay.field,
            func.sum(FunnelDay.count),
        )
        .where(FunnelDay.tenant_id == tenant_id, FunnelDay.day >= start, FunnelDay.day <= end)
        .group_by(
            FunnelDay.day, FunnelDay.channel, FunnelDay.language, FunnelDay.step, FunnelDay.field
        )
    )
    periods = _periods(start, end, by)
    starts = {period.start: period for period in periods}
    total = Period(start, end)
    for day, channel, language, step, field_name, count in db.session.execute(query):
        if step not in STEPS:
            continue  # a step this version does not know (written by a newer one)
        for into in (starts[_period_start(day, start, by)], total):
            into.add(channel, language, step, field_name, int(count))
    return FunnelReport(tenant_id, start, end, by, periods, total)


def _period_start(day: date, start: date, by: str) -> date:
    if by == "day":
        return day
    return max(start, day - timedelta(days=day.weekday()))


def _periods(start: date, end: date, by: str) -> list[Period]:
    periods = []
    current = start
    while current <= end:
        week_end = current + timedelta(days=6 - current.weekday())
        last = current if by == "day" else min(end, week_end)
        periods.append(Period(current, last))
        current = last + timedelta(days=1)
    return periods


def last_days(days: int, today: date) -> tuple[date, date]:
    """The `days` UTC days up to and including `today`."""
    return today - timedelta(days=days - 1), today

"""The funnel as CSV, for a spreadsheet: one row per period and (channel,
language), the steps as columns, then the field errors by field. The header
names are fixed (machine-readable, not translated); every value is a date, a
known word, a language code, a form field's name or a number, so no cell can
start a formula."""

from __future__ import annotations

import csv
import io

from .aggregates import FunnelReport
from .counting import STEPS


def header(report: FunnelReport) -> list[str]:
    fields = [f"field_error:{name}" for name in report.fields]
    return ["period_start", "period_end", "channel", "language", *STEPS, *fields]


def report_csv(report: FunnelReport) -> str:
    """The rows of `report` as CSV text (CRLF line ends, as RFC 4180 has)."""
    columns = header(report)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for period in report.periods:
        for channel, language in report.splits:
            counts = period.split.get((channel, language), {})
            writer.writerow(
                [
                    period.start.isoformat(),
                    period.end.isoformat(),
                    channel,
                    language,
                    *(counts.get(column, 0) for column in columns[4:]),
                ]
            )
    return out.getvalue()

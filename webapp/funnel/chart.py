"""The funnel as an SVG drawn on the server: per period, one bar per step on
the way, each with its number written above it, a legend in words, and a
<title> and <desc> that say what the chart shows (role="img"). No script, no
style attribute (the CSP allows neither inline): colours are presentation
attributes. The same numbers are in the table beside it (_report.html)."""

from __future__ import annotations

import math

from flask_babel import gettext as _
from markupsafe import Markup, escape

from .aggregates import LABELS, PATH, FunnelReport, Period

# One colour per step, each at least 3:1 against the white panel (WCAG 2.2,
# 1.4.11, graphical objects); text is TEXT (at least 4.5:1). Okabe-Ito hues,
# darkened where they were too light. tests/test_funnel.py checks the ratios.
COLOURS = {
    "page_view": "#0072b2",
    "started": "#c25400",
    "submitted": "#007a5a",
    "confirmed": "#a4457f",
    "first_login": "#5c5c00",
}
TEXT = "#1f2328"
AXIS = "#6b7280"
BACKGROUND = "#ffffff"

BAR, GAP, LEFT, RIGHT = 22, 18, 12, 12
LEGEND_ROW, PLOT, LABELS_BELOW = 18, 160, 34
# Wider than this, a page would shrink the chart's text out of reading: many
# periods get narrower bars instead, without the numbers above them when they
# no longer fit (the table beside the chart has every number), and a period
# label only every so often.
MAX_WIDTH, NUMBERS_FROM_BAR = 960, 16
LABEL_WIDTH = {"day": 44, "week": 84}


def _period_label(report: FunnelReport, period: Period) -> str:
    if report.by == "day":
        return period.start.strftime("%m-%d")
    return f"{period.start:%m-%d}–{period.end:%m-%d}"


def describe(report: FunnelReport) -> str:
    """The chart in a sentence: what, when, and the totals of each step."""
    totals = ", ".join(f"{LABELS[step]} {report.total.counts[step]}" for step in PATH)
    grouping = _("by day") if report.by == "day" else _("by week")
    return _(
        "Registrations from %(start)s to %(end)s, %(grouping)s: %(totals)s.",
        start=report.start.isoformat(),
        end=report.end.isoformat(),
        grouping=grouping,
        totals=totals,
    )


def chart_svg(report: FunnelReport, id_prefix: str = "funnel-chart") -> Markup:
    """The chart of `report` as inline SVG markup; `id_prefix` keeps the ids of
    its title and description unique on a page that shows two charts."""
    count_of = len(report.periods)
    group = min(len(PATH) * BAR + GAP, (MAX_WIDTH - LEFT - RIGHT) / count_of)
    bar = group * (1 - GAP / (len(PATH) * BAR + GAP)) / len(PATH)
    numbers = bar >= NUMBERS_FROM_BAR
    label_every = math.ceil(LABEL_WIDTH[report.by] / group)
    legend_height = len(PATH) * LEGEND_ROW + 8
    width = max(round(LEFT + count_of * group + RIGHT), 360)
    top = legend_height + 16  # room for the numbers above the tallest bars
    height = top + PLOT + LABELS_BELOW
    highest = max((p.counts[s] for p in report.periods for s in PATH), default=0) or 1
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="funnel-chart" role="img"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' aria-labelledby="{title_id}" aria-describedby="{desc_id}"'
        f' font-family="system-ui, sans-serif">',
        f'<title id="{title_id}">{escape(_("Registration funnel"))}</title>',
        f'<desc id="{desc_id}">{escape(describe(report))}</desc>',
        f'<rect width="{width}" height="{height}" fill="{BACKGROUND}"/>',
    ]
    for row, step in enumerate(PATH):
        y = 4 + row * LEGEND_ROW
        parts.append(
            f'<rect x="{LEFT}" y="{y}" width="12" height="12" fill="{COLOURS[step]}"/>'
            f'<text x="{LEFT + 18}" y="{y + 10}" font-size="12" fill="{TEXT}">'
            f"{escape(LABELS[step])}</text>"
        )
    baseline = top + PLOT
    parts.append(
        f'<line x1="{LEFT}" y1="{baseline}" x2="{width - RIGHT}" y2="{baseline}"'
        f' stroke="{AXIS}" stroke-width="1"/>'
    )
    for index, period in enumerate(report.periods):
        x0 = LEFT + index * group + (group - len(PATH) * bar) / 2
        for number, step in enumerate(PATH):
            count = period.counts[step]
            bar_height = round(PLOT * count / highest)
            x = x0 + number * bar
            parts.append(
                f'<rect x="{x + bar * 0.1:.1f}" y="{baseline - bar_height}"'
                f' width="{bar * 0.8:.1f}" height="{bar_height}" fill="{COLOURS[step]}"/>'
            )
            if numbers:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{baseline - bar_height - 3}"'
                    f' font-size="10" text-anchor="middle" fill="{TEXT}">{count}</text>'
                )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x0 + len(PATH) * bar / 2:.1f}" y="{baseline + 16}" font-size="11"'
                f' text-anchor="middle" fill="{TEXT}">'
                f"{escape(_period_label(report, period))}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text escaped above)

"""`flask funnel report`: a tenant's registration funnel in the terminal."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Tenant, utcnow
from .aggregates import GROUPINGS, MAX_DAYS, last_days, report
from .counting import STEPS
from .export import report_csv

funnel_cli = AppGroup("funnel", help="The registration funnel (daily counts, nothing personal).")


@funnel_cli.command("report")
@click.argument("slug", metavar="SLUG")
@click.option(
    "--days",
    type=click.IntRange(1, MAX_DAYS),
    default=30,
    show_default=True,
    help="The last N UTC days, today included.",
)
@click.option("--by", type=click.Choice(GROUPINGS), default="day", show_default=True)
@click.option(
    "--csv", "as_csv", is_flag=True, help="CSV (by form and language) instead of a table."
)
def funnel_report(slug: str, days: int, by: str, as_csv: bool):
    """Print the registration funnel of the tenant SLUG: per day or ISO week,
    page views, forms started, field errors, submitted, confirmed, first login."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}")
    start, end = last_days(days, utcnow().date())
    found = report(tenant.id, start, end, by)
    if as_csv:
        click.echo(report_csv(found), nl=False)
        return
    width = {step: max(len(step), 6) for step in STEPS}
    first = 23 if by == "week" else 10
    click.echo("  ".join([by.ljust(first), *(step.rjust(width[step]) for step in STEPS)]))
    for period in [*found.periods, found.total]:
        label = period.start.isoformat()
        if period is found.total:
            label = "total"
        elif by == "week":
            label = f"{period.start.isoformat()}..{period.end.isoformat()}"
        counts = (str(period.counts[step]).rjust(width[step]) for step in STEPS)
        click.echo("  ".join([label.ljust(first), *counts]))
    for name in found.fields:
        click.echo(f"field_error {name}: {found.total.fields[name]}")

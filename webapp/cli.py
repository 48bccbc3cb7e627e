"""flask commands: tenants, contracts, outbox, worker, audit, webhooks, static files
(and the funnel's, webapp/funnel/cli.py)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from . import assets, audit, jobs, mail, webhooks
from .contracts import ContractImportError, import_contracts
from .extensions import db
from .forms import normalize_email
from .models import (
    Account,
    AuditEvent,
    OutboxMessage,
    Tenant,
    WebhookEndpoint,
)
from .tenants import TenantDataError, load_tenants, settings_for

tenants_cli = AppGroup("tenants", help="Utilities (tenants) and their settings.")
contracts_cli = AppGroup("contracts", help="Contract registries.")
outbox_cli = AppGroup("outbox", help="Outgoing email.")
audit_cli = AppGroup("audit", help="The audit log.")
static_cli = AppGroup("static", help="Static files.")
webhooks_cli = AppGroup("webhooks", help="Signed webhooks to a utility's systems.")

# Messages (and jobs) per round of `outbox send` and `worker`.
BATCH = 100
# How often a worker deletes the finished jobs past their retention.
PURGE_SECONDS = 3600


@tenants_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def tenants_load(path: Path):
    """Create or update every tenant in the TOML file PATH (all or nothing)."""
    try:
        created, updated = load_tenants(path)
    except TenantDataError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"tenants: {created} created, {updated} updated")


@tenants_cli.command("list")
def tenants_list():
    """Print the tenants with their profile."""
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)):
        settings = settings_for(tenant)
        state = "" if tenant.active else " (inactive)"
        click.echo(f"{tenant.slug}\t{settings.profile}\t{settings.product_name}{state}")


@contracts_cli.command("import")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--full-sync",
    is_flag=True,
    help="The file is the whole registry: end (never delete) active contracts it does not list.",
)
@click.option(
    "--dry-run", is_flag=True, help="Check the file and count the changes; write nothing."
)
def contracts_import(tenant_slug: str, path: Path, full_sync: bool, dry_run: bool):
    """Upsert TENANT's contract registry from a CSV with the header
    contract_number,company_code,status. Any bad row: nothing is written.
    The file is read as it is written, so its size does not matter."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        raise click.ClickException(f"no tenant {tenant_slug!r}")
    settings = settings_for(tenant)
    try:
        # utf-8-sig: a byte order mark (spreadsheet exports) is not part of the header.
        with path.open(encoding="utf-8-sig", newline="") as file:
            summary = import_contracts(tenant, settings, file, full_sync=full_sync, dry_run=dry_run)
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 text ({exc}); nothing was imported") from exc
    except ContractImportError as exc:
        for problem in exc.problems:
            click.echo(f"{path}: {problem}", err=True)
        raise click.ClickException(f"{exc.total} problem(s); nothing was imported") from exc
    click.echo(summary.describe())


def _rounds(work: Callable[[], bool], loop: bool, interval: float) -> None:
    """Call `work` once, or with `loop` every `interval` seconds until SIGTERM or
    SIGINT, which end the loop between rounds so the work in hand is finished.
    `work` returns whether it had a full round (then the next starts at once).
    A database that is away (a restart, a failover) skips a round of a loop."""
    stop = threading.Event()
    if loop:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: stop.set())
    while True:
        try:
            busy = work()
        except SQLAlchemyError:
            if not loop:
                raise
            db.session.rollback()
            current_app.logger.exception("worker: round failed")
            busy = False
        db.session.remove()
        if not loop or stop.is_set() or (not busy and stop.wait(interval)):
            break


@outbox_cli.command("send")
@click.option(
    "--loop", is_flag=True, help="Keep delivering, every --interval seconds, until stopped."
)
@click.option(
    "--interval",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between rounds with --loop.",
)
def outbox_send(loop: bool, interval: float):
    """Deliver the messages that are due over MAIL_URL. With --loop this is an
    outbox-only worker (`flask worker` also runs jobs): several may run, each
    message is claimed by one."""

    def deliver() -> bool:
        sent, failed = mail.deliver(limit=BATCH)
        if not loop or sent or failed:
            click.echo(f"outbox: {sent} sent, {failed} failed")
        # A full batch: more are probably due, so go on without waiting.
        return sent + failed >= BATCH

    _rounds(deliver, loop, interval)


@click.command("worker")
@with_appcontext
@click.option("--once", is_flag=True, help="One round, then exit.")
@click.option(
    "--interval",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between rounds.",
)
def worker(once: bool, interval: float):
    """The worker process: runs the jobs that are due (work promised by an answer
    that its web process did not finish, and retries), delivers the mail outbox
    and the webhooks, and deletes finished jobs after JOB_RETENTION_DAYS. Several may run; each job
    and each message is taken by one. SIGTERM ends it after the round in hand."""
    purged_at = [float("-inf")]

    def round_() -> bool:
        done, failed = jobs.run_due(limit=BATCH)
        sent, undelivered = mail.deliver(limit=BATCH)
        hooks, hooks_failed = webhooks.deliver_due(limit=BATCH)
        if time.monotonic() - purged_at[0] > PURGE_SECONDS:
            jobs.purge_finished()
            purged_at[0] = time.monotonic()
        if sent or undelivered:
            click.echo(f"outbox: {sent} sent, {undelivered} failed")
        if hooks or hooks_failed:
            click.echo(f"webhooks: {hooks} delivered, {hooks_failed} attempts failed")
        if once or done or failed:
            click.echo(f"worker: {done} done, {failed} failed")
        return (
            done + failed >= BATCH or sent + undelivered >= BATCH or hooks + hooks_failed >= BATCH
        )

    _rounds(round_, not once, interval)


@outbox_cli.command("status")
def outbox_status():
    """Count the messages waiting, those that failed at least once, and those
    given up after the last attempt (never retried; look at their last_error)."""
    unsent = OutboxMessage.sent_at.is_(None)
    waiting, failed, given_up = db.session.execute(
        select(
            func.count(),
            func.count().filter(OutboxMessage.attempts > 0),
            func.count().filter(OutboxMessage.attempts >= mail.MAX_ATTEMPTS),
        ).where(unsent)
    ).one()
    click.echo(
        f"outbox: {waiting} not sent ({failed} failed at least once, "
        f"{given_up} given up after {mail.MAX_ATTEMPTS} attempts)"
    )


@outbox_cli.command("forget-sent")
def outbox_forget_sent():
    """Empty the text of messages sent before delivery did it (their links
    still work), except those mail.keeps_body keeps; print how many."""
    count = 0
    query = select(OutboxMessage).where(
        OutboxMessage.sent_at.is_not(None), OutboxMessage.text_body != ""
    )
    for message in db.session.scalars(query).all():
        if not mail.keeps_body(message):
            mail.forget_body(message)
            count += 1
    db.session.commit()
    click.echo(f"outbox: the text of {count} sent messages emptied")


@audit_cli.command("list")
@click.option("--tenant", "tenant_slug", help="Only this tenant.")
@click.option("--email", help="Only events of this account (or failed attempts on this address).")
@click.option("--event", type=click.Choice(audit.EVENTS), help="Only this kind of event.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
def audit_list(tenant_slug: str | None, email: str | None, event: str | None, limit: int):
    """Print audit events, newest first: time, tenant, event, account, network."""
    query = (
        select(AuditEvent, Tenant.slug, Account.email)
        .join(Tenant, Tenant.id == AuditEvent.tenant_id)
        .outerjoin(Account, Account.id == AuditEvent.account_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if tenant_slug:
        query = query.where(Tenant.slug == tenant_slug)
    if event:
        query = query.where(AuditEvent.event == event)
    if email:
        query = query.where(
            (Account.email == (normalize_email(email) or email.strip().lower()))
            | (AuditEvent.email_digest == audit.email_digest(email))
        )
    for row, slug, account_email in db.session.execute(query):
        click.echo(
            "\t".join(
                [
                    row.created_at.isoformat(timespec="seconds"),
                    slug,
                    row.event,
                    account_email or "-",
                    row.network or "-",
                ]
            )
        )


class BadInput(click.ClickException):
    """A clear message and exit code 2 (as click's own usage errors)."""

    exit_code = 2


def _tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise BadInput(f"no tenant {slug!r}")
    return tenant


def _endpoint(tenant: Tenant, endpoint_id: int) -> WebhookEndpoint:
    endpoint = webhooks.endpoint_of(tenant, endpoint_id)
    if endpoint is None:
        raise BadInput(f"{tenant.slug} has no webhook endpoint {endpoint_id}")
    return endpoint


@webhooks_cli.command("add")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("url")
@click.option("--events", "types", help="Comma-separated event types (default: all, *).")
@click.option("--secret", help="The whsec_... secret to use (default: a new one, printed once).")
def webhooks_add(tenant_slug: str, url: str, types: str | None, secret: str | None):
    """Add a webhook endpoint for TENANT at URL (https; checked now and before
    every delivery). A new secret is printed once, here, and never again."""
    tenant = _tenant(tenant_slug)
    try:
        endpoint, secret_used = webhooks.add_endpoint(
            tenant, url, webhooks.parse_types(types), secret
        )
    except webhooks.WebhookError as exc:
        raise BadInput(str(exc)) from exc
    click.echo(f"webhook endpoint {endpoint.id} added for {tenant.slug}: {endpoint.url}")
    click.echo(f"events: {','.join(endpoint.event_types)}")
    if not secret:
        click.echo(f"secret (shown only now; give it to the receiver): {secret_used}")


@webhooks_cli.command("list")
@click.argument("tenant_slug", metavar="TENANT")
def webhooks_list(tenant_slug: str):
    """Print TENANT's endpoints: id, on/off, event types, URL (never the secret)."""
    tenant = _tenant(tenant_slug)
    endpoints = webhooks.endpoints(tenant)
    if not endpoints:
        click.echo(f"{tenant.slug} has no webhook endpoints")
    for endpoint in endpoints:
        state = "on" if endpoint.enabled else "off"
        click.echo(f"{endpoint.id}\t{state}\t{','.join(endpoint.event_types)}\t{endpoint.url}")


@webhooks_cli.command("remove")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("endpoint_id", metavar="ID", type=int)
def webhooks_remove(tenant_slug: str, endpoint_id: int):
    """Remove endpoint ID of TENANT, with its deliveries (sent or waiting)."""
    tenant = _tenant(tenant_slug)
    webhooks.remove_endpoint(tenant, _endpoint(tenant, endpoint_id))
    click.echo(f"webhook endpoint {endpoint_id} of {tenant.slug} removed")


@webhooks_cli.command("test")
@click.argument("tenant_slug", metavar="TENANT")
@click.argument("endpoint_id", metavar="ID", type=int)
def webhooks_test(tenant_slug: str, endpoint_id: int):
    """Queue a webhook.test event to endpoint ID of TENANT (whatever its event
    types); the worker sends it, `webhooks log` shows how it went."""
    tenant = _tenant(tenant_slug)
    endpoint = _endpoint(tenant, endpoint_id)
    delivery = webhooks.send_test(tenant, endpoint)
    click.echo(f"{webhooks.TEST_TYPE} {delivery.webhook_id} queued for endpoint {endpoint.id}")


@webhooks_cli.command("log")
@click.argument("tenant_slug", metavar="TENANT")
@click.option("--failed", is_flag=True, help="Only deliveries given up after the last attempt.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
def webhooks_log(tenant_slug: str, failed: bool, limit: int):
    """TENANT's deliveries, newest first: time, webhook id, type, endpoint,
    state, attempts, last HTTP status, last error."""
    tenant = _tenant(tenant_slug)
    for row in webhooks.deliveries(tenant, failed=failed, limit=limit):
        state = webhooks.state(row)
        if state == "retrying":
            state = "retry at " + row.next_attempt_at.isoformat(timespec="seconds")
        click.echo(
            "\t".join(
                [
                    row.created_at.isoformat(timespec="seconds"),
                    row.webhook_id,
                    row.type,
                    f"endpoint {row.endpoint_id}",
                    state,
                    f"{row.attempts} attempt(s)",
                    str(row.last_status or "-"),
                    row.last_error or "-",
                ]
            )
        )


@static_cli.command("build")
def static_build():
    """Write the versioned, compressed static files into STATIC_BUILD_DIR (the app
    also does this when it starts; run it where that folder is read-only later)."""
    target = Path(current_app.config["STATIC_BUILD_DIR"])
    names = assets.build(Path(current_app.static_folder), target)
    click.echo(f"static: {len(names)} files in {target}")


def init_app(app: Flask) -> None:
    from .embed.demo import embed_demo
    from .funnel.cli import funnel_cli

    for group in (tenants_cli, contracts_cli, outbox_cli, audit_cli, webhooks_cli, static_cli):
        app.cli.add_command(group)
    app.cli.add_command(worker)
    app.cli.add_command(embed_demo)
    app.cli.add_command(funnel_cli)

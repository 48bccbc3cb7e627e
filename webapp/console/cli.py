"""flask staff add / list / remove: the console's staff accounts."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Tenant
from .flows import StaffDataError, add_staff, list_staff, remove_staff
from .models import ROLES

staff_cli = AppGroup("staff", help="Staff accounts of the console (/console/).")


def _tenant(slug: str | None) -> Tenant | None:
    if slug is None:
        return None
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.ClickException(f"No tenant {slug!r}.")
    return tenant


@staff_cli.command("add")
@click.argument("email")
@click.option("--tenant", "tenant_slug", help="The utility they work for.")
@click.option("--role", type=click.Choice(ROLES), help="Their role there.")
@click.option("--owner", is_flag=True, help="The deployment's owner: sees every tenant.")
@click.option("--name", help="Their name, as the console shows it.")
@click.option("--language", default="lt", show_default=True, help="Of the invitation email.")
def staff_add(
    email: str,
    tenant_slug: str | None,
    role: str | None,
    owner: bool,
    name: str | None,
    language: str,
):
    """Give EMAIL a role at a tenant (or make them the owner). Someone without
    a password yet is emailed a link to set one (from PUBLIC_URL)."""
    tenant = _tenant(tenant_slug)
    if tenant is not None and role is None:
        raise click.ClickException("Give --role with --tenant.")
    try:
        staff, invited = add_staff(
            email, tenant=tenant, role=role, owner=owner, name=name, language=language
        )
    except StaffDataError as exc:
        raise click.ClickException(str(exc)) from exc
    where = f"{role} at {tenant.slug}" if tenant is not None else "owner"
    click.echo(f"{staff.email}: {where}" + ("; invitation emailed" if invited else ""))


@staff_cli.command("list")
def staff_list():
    """Print every staff member with their roles."""
    for staff in list_staff():
        roles = ", ".join(f"{r.tenant.slug}:{r.role}" for r in staff.roles)
        if staff.is_owner:
            roles = ", ".join(filter(None, ["owner", roles]))
        state = "active" if staff.totp_confirmed_at else "invited"
        click.echo(f"{staff.email}\t{staff.name or '-'}\t{roles or '-'}\t{state}")


@staff_cli.command("remove")
@click.argument("email")
@click.option("--tenant", "tenant_slug", help="Only their role at this tenant.")
def staff_remove(email: str, tenant_slug: str | None):
    """Remove EMAIL's role at a tenant, or (without --tenant) remove them:
    every role, login and link ends."""
    tenant = _tenant(tenant_slug)
    try:
        staff = remove_staff(email, tenant)
    except StaffDataError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{staff.email}: " + (f"no role at {tenant.slug}" if tenant else "removed"))

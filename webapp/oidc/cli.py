"""flask oidc clients add|list|remove|rotate-secret|demo, flask oidc keys rotate."""

from __future__ import annotations

import json
import re
import secrets
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import delete, select

from ..extensions import db
from ..models import Tenant
from ..security import random_id
from . import keys
from .models import Client, digest

oidc_cli = AppGroup("oidc", help="The OpenID Connect provider: clients and signing keys.")
clients_cli = AppGroup("clients", help="Applications that log customers in through us.")
keys_cli = AppGroup("keys", help="The ID token signing keys.")
oidc_cli.add_command(clients_cli)
oidc_cli.add_command(keys_cli)

CLIENT_ID_RE = re.compile(r"[A-Za-z0-9._-]{3,64}")
DEMO = {
    "client_id": "demo-portal",
    "name": "Demo portal",
    "redirect_uris": ["http://localhost:5002/callback"],
    "post_logout_redirect_uris": ["http://localhost:5002/"],
}


def _tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r} (flask tenants list)")
    return tenant


def _client(tenant: Tenant, client_id: str) -> Client:
    client = db.session.scalar(
        select(Client).where(Client.tenant_id == tenant.id, Client.client_id == client_id)
    )
    if client is None:
        raise click.ClickException(f"no client {client_id!r} at {tenant.slug!r}")
    return client


def _check_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
        raise click.BadParameter(f"{uri!r}: an absolute http(s) URI without a fragment")
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme == "http" and not local and current_app.config["APP_ENV"] == "production":
        raise click.BadParameter(f"{uri!r}: https only (http for localhost)")
    return uri


def _describe(client: Client, secret: str | None = None) -> dict:
    data = {
        "tenant": client.tenant_id and db.session.get(Tenant, client.tenant_id).slug,
        "client_id": client.client_id,
        "name": client.name,
        "public": client.public,
        "first_party": client.first_party,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
    }
    if secret is not None:
        data["client_secret"] = secret
    return data


def create_client(tenant: Tenant, *, client_id: str | None = None, name: str, redirect_uris,
                  post_logout_redirect_uris=(), public=False, first_party=False,
                  client_uri=None) -> tuple[Client, str | None]:  # fmt: skip
    """A new client (committed) and its secret (None for a public client),
    which is stored hashed and cannot be shown again."""
    secret = None if public else random_id(32)
    client = Client(
        tenant_id=tenant.id,
        # Hex: an id starting with "-" would read as an option on the command line.
        client_id=client_id or secrets.token_hex(16),
        name=name,
        secret_digest=digest(secret) if secret else None,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout_redirect_uris),
        client_uri=client_uri,
        public=public,
        first_party=first_party,
    )
    db.session.add(client)
    db.session.commit()
    return client, secret


@clients_cli.command("add")
@click.argument("tenant")
@click.option("--name", required=True, help="Shown to customers (consent page, connected apps).")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True,
              help="Exact redirect URI (repeat for more).")  # fmt: skip
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True,
              help="Where logout may return (repeat for more).")  # fmt: skip
@click.option(
    "--client-uri", help="The application's start page (default: the redirect URI's origin)."
)
@click.option("--public", is_flag=True, help="No secret (a browser or mobile app): PKCE required.")
@click.option("--first-party", is_flag=True, help="The utility's own portal: no consent page.")
@click.option("--client-id", help="Choose the id (default: random).")
def clients_add(
    tenant, name, redirect_uris, post_logout, client_uri, public, first_party, client_id
):
    """Add a client to TENANT; prints JSON with its id and, for a confidential
    client, its secret (shown once, stored hashed)."""
    row = _tenant(tenant)
    if client_id is not None and not CLIENT_ID_RE.fullmatch(client_id):
        raise click.BadParameter("3-64 of A-Z a-z 0-9 . _ -", param_hint="--client-id")
    if client_id and db.session.scalar(
        select(Client.id).where(Client.tenant_id == row.id, Client.client_id == client_id)
    ):
        raise click.ClickException(f"client {client_id!r} exists at {tenant!r}")
    client, secret = create_client(
        row,
        client_id=client_id,
        name=name,
        redirect_uris=[_check_uri(u) for u in redirect_uris],
        post_logout_redirect_uris=[_check_uri(u) for u in post_logout],
        public=public,
        first_party=first_party,
        client_uri=_check_uri(client_uri) if client_uri else None,
    )
    click.echo(json.dumps(_describe(client, secret), indent=2))


@clients_cli.command("list")
@click.argument("tenant")
def clients_list(tenant):
    """Print TENANT's clients as JSON (never their secrets)."""
    row = _tenant(tenant)
    clients = db.session.scalars(
        select(Client).where(Client.tenant_id == row.id).order_by(Client.client_id)
    )
    click.echo(json.dumps([_describe(c) for c in clients], indent=2))


@clients_cli.command("remove")
@click.argument("tenant")
@click.argument("client_id")
def clients_remove(tenant, client_id):
    """Remove a client: its codes, tokens and consents go with it."""
    client = _client(_tenant(tenant), client_id)
    db.session.execute(delete(Client).where(Client.id == client.id))
    db.session.commit()
    click.echo(f"removed {client_id}")


@clients_cli.command("rotate-secret")
@click.argument("tenant")
@click.argument("client_id")
def clients_rotate_secret(tenant, client_id):
    """A new secret for a confidential client (the old one stops working)."""
    client = _client(_tenant(tenant), client_id)
    if client.public:
        raise click.ClickException("a public client has no secret")
    secret = random_id(32)
    client.secret_digest = digest(secret)
    db.session.commit()
    click.echo(json.dumps(_describe(client, secret), indent=2))


@clients_cli.command("demo")
def clients_demo():
    """Development: the public, first-party `demo-portal` client of
    `flask portal-demo` at every tenant that lacks it (make run)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("the demo client is for development only")
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)):
        if ensure_demo_client(tenant):
            click.echo(f"{tenant.slug}: demo-portal added")


def ensure_demo_client(tenant: Tenant) -> bool:
    exists = db.session.scalar(
        select(Client.id).where(
            Client.tenant_id == tenant.id, Client.client_id == DEMO["client_id"]
        )
    )
    if exists:
        return False
    create_client(tenant, public=True, first_party=True, **DEMO)
    return True


@keys_cli.command("rotate")
@click.argument("tenants", nargs=-1)
def keys_rotate(tenants):
    """A new signing key for TENANTS (default: every tenant); the old key
    stays published until the ID tokens it signed have expired."""
    rows = [_tenant(slug) for slug in tenants] or list(
        db.session.scalars(select(Tenant).order_by(Tenant.slug))
    )
    for tenant in rows:
        key = keys.rotate(tenant)
        click.echo(f"{tenant.slug}: new key {key.kid}")


def init_app(app: Flask) -> None:
    from .demo import portal_demo

    app.cli.add_command(oidc_cli)
    app.cli.add_command(portal_demo)

"""Absolute links for emails, from the configured public address.

Never from the request: its Host header is the client's to choose, and a reset
link pointing at a stranger's host hands them the token. A tenant with a host
of its own (`public_url` in its data) gets links on that host; every other
tenant's links start with PUBLIC_URL. Works without a request (a worker)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from .tenants import TenantSettings


def public_base(settings: TenantSettings) -> str:
    """Where this tenant's customers reach us: scheme://host[:port][/prefix]."""
    return settings.public_url or current_app.config["PUBLIC_URL"]


def email_link(settings: TenantSettings, endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` in the tenant of `settings`, for an email."""
    values["tenant"] = settings.slug
    return link_at(public_base(settings), endpoint, **values)


def link_at(base_url: str, endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` at `base_url` (the staff console's links
    use PUBLIC_URL itself: they belong to no tenant)."""
    base = urlsplit(base_url)
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)

"""The issuer and the endpoint URLs of a tenant, from its public address
(webapp/links.py), never from the request's Host."""

from __future__ import annotations

from ..links import email_link, public_base
from ..tenants import TenantSettings


def issuer(settings: TenantSettings) -> str:
    return f"{public_base(settings).rstrip('/')}/{settings.slug}"


def endpoint_url(settings: TenantSettings, endpoint: str) -> str:
    return email_link(settings, endpoint)

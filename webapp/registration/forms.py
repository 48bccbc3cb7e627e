"""The registration form of a tenant: its profile's (see webapp/profiles)."""

from __future__ import annotations

from ..tenants import TenantSettings


def registration_form(settings: TenantSettings, **kwargs):
    return settings.kind.form(settings, **kwargs)

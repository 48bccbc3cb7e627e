"""Registration profiles: each kind of registration a tenant can have (its
`profile` in the tenants file) is one `Profile`, defined once in its own module:
its form, how the form maps onto the account, its templates, and the tenant
settings it reads. Nothing else branches on the kind.

Adding a profile: a module that defines `PROFILE` (a `Profile`), and a line in
MODULES naming it."""

from __future__ import annotations

from importlib import import_module

from .base import Profile, RegistrationForm, contract_number

__all__ = ["MODULES", "Profile", "RegistrationForm", "contract_number", "get", "names"]

# The profiles a tenant may name, and the module that defines each. Imported
# when a tenant first names it, so a profile's module may import anything.
MODULES: dict[str, str] = {
    "business": "webapp.profiles.business",
    "residential": "webapp.profiles.residential",
}


def get(name: str) -> Profile | None:
    """The profile called `name`, or None when there is no such profile."""
    module = MODULES.get(name)
    if module is None:
        return None
    profile = import_module(module).PROFILE
    assert profile.name == name, f"{module} defines profile {profile.name!r}, not {name!r}"
    return profile


def names() -> tuple[str, ...]:
    return tuple(MODULES)

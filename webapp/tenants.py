"""Tenants (utilities) as data: the settings schema, the loader for the tenants
file, and the per-request lookup that every tenant-scoped blueprint uses."""

from __future__ import annotations

import re
import time
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, g
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import make_transient_to_detached
from werkzeug.sansio.utils import host_is_trusted

from . import profiles
from .contrast import brand_contrast_problems
from .extensions import db
from .models import Tenant
from .policy import PasswordPolicy
from .profiles import Profile

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
# First path segments the site itself uses (the staff console, /console/).
RESERVED_SLUGS = ("console",)
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
PHONE_MODES = ("off", "optional", "required")
# A second factor (passkey, authenticator app): not offered, offered, or asked
# of everyone (set up at the first login that lacks one).
SECOND_FACTOR_MODES = ("off", "optional", "required")


class TenantDataError(ValueError):
    """The tenants file says something the product cannot honour."""


@dataclass(frozen=True)
class ContractFormat:
    pattern: str
    example: str
    registry: bool

    def matches(self, value: str) -> bool:
        """ASCII only, whatever the pattern says: a tenant's `\\d` would also take
        Arabic-Indic or full-width digits, which no registry holds."""
        return value.isascii() and re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True)
class TenantSettings:
    """One utility's settings, validated. Texts are {language: text} mappings."""

    slug: str
    name: str
    product_name: str
    # The name of its profile, as the file says; `kind` is the Profile itself.
    profile: str
    brand_primary: str
    brand_on_primary: str
    brand_accent: str
    logo: str | None
    support_email: str
    support_phone: str
    password: PasswordPolicy
    terms_version: str
    terms_text: dict[str, str]
    intro: dict[str, str]
    phone: str = "optional"
    invoices_by_email: bool = True
    sms: bool = True
    contract: ContractFormat | None = None
    embed_origins: tuple[str, ...] = ()
    # This tenant's own address (https://savitarna.utility.lt), where it has one;
    # its emailed links use it instead of PUBLIC_URL (webapp/links.py).
    public_url: str | None = None
    confirm_hours: int = 24
    reset_hours: int = 1
    # Test addresses ("*@qa.example.lt"): their email is readable through the QA
    # mail API where a deployment turns it on (webapp/qa_mail). Never a real one.
    qa_addresses: tuple[str, ...] = ()
    second_factor: str = "optional"
    # Step-up: a login older than this (seconds) is asked for the password
    # again before the email is changed (webapp/auth/stepup.py).
    reauthenticate_after: int = 600
    # Days between "delete my account" and the purge, during which the person
    # can cancel (webapp/privacy/deletion.py).
    deletion_grace_days: int = 14
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def kind(self) -> Profile:
        """The tenant's registration profile (webapp/profiles)."""
        return profiles.get(self.profile)

    def text(self, texts: dict[str, str]) -> str:
        """The text in the current language, falling back to Lithuanian."""
        language = str(get_locale() or "lt")
        return texts.get(language) or texts.get("lt") or next(iter(texts.values()), "")


def parse_settings(data: dict[str, Any]) -> TenantSettings:
    """Validate one tenant's mapping from the tenants file; raise TenantDataError."""
    slug = _required(data, "slug", str)
    where = f"tenant {slug!r}"
    if not SLUG_RE.match(slug):
        raise TenantDataError(f"{where}: slug must be 2-40 lower-case letters, digits or '-'.")
    if slug in RESERVED_SLUGS:
        raise TenantDataError(f"{where}: the slug {slug!r} is the address of the staff console.")
    profile = profiles.get(_required(data, "profile", str))
    if profile is None:
        raise TenantDataError(f"{where}: profile must be one of {', '.join(profiles.names())}.")
    brand = data.get("brand", {})
    colours = {
        key: brand.get(key, default)
        for key, default in (
            ("primary", "#1f4e79"),
            ("on_primary", "#ffffff"),
            ("accent", "#1f4e79"),
        )
    }
    for key, value in colours.items():
        if not isinstance(value, str) or not COLOUR_RE.match(value):
            raise TenantDataError(f"{where}: brand.{key} must be a colour like #12ab34.")
    problems = brand_contrast_problems(colours)
    if problems:
        raise TenantDataError(f"{where}: " + "; ".join(problems) + ".")
    try:
        policy = PasswordPolicy.from_mapping(data.get("password", {}))
    except ValueError as exc:
        raise TenantDataError(f"{where}: password: {exc}") from exc

    registration = data.get("registration", {})
    phone = registration.get("phone", profile.defaults["phone"])
    if phone not in PHONE_MODES:
        raise TenantDataError(
            f"{where}: registration.phone must be one of {', '.join(PHONE_MODES)}."
        )

    contract = None
    if profile.needs_contract:
        spec = data.get("contract")
        if not isinstance(spec, dict):
            raise TenantDataError(f"{where}: a {profile.name} tenant needs a [contract] table.")
        pattern = _required(spec, "pattern", str, where)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise TenantDataError(
                f"{where}: contract.pattern is not a regular expression: {exc}"
            ) from exc
        contract = ContractFormat(
            pattern=pattern,
            example=_required(spec, "example", str, where),
            registry=bool(spec.get("registry", False)),
        )
        if not contract.matches(contract.example):
            raise TenantDataError(f"{where}: contract.example does not match contract.pattern.")

    terms = data.get("terms", {})
    terms_text = terms.get("text", {})
    if not isinstance(terms_text, dict) or "lt" not in terms_text:
        raise TenantDataError(f"{where}: terms.text needs at least a Lithuanian ('lt') text.")
    tokens = data.get("tokens", {})
    support = data.get("support", {})
    origins = tuple(data.get("embed_origins", ()))
    for origin in origins:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?", origin):
            raise TenantDataError(
                f"{where}: embed origin {origin!r} must look like https://host[:port]."
            )
    public_url = data.get("public_url")
    if public_url is not None and not (
        isinstance(public_url, str)
        and re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~/-]*)?", public_url)
    ):
        raise TenantDataError(f"{where}: public_url must look like https://host[/prefix].")
    hours = {
        key: tokens.get(key, default)
        for key, default in (("confirm_hours", 24), ("reset_hours", 1))
    }
    for key, value in hours.items():
        if not isinstance(value, int) or not 0 < value <= 24 * 14:
            raise TenantDataError(
                f"{where}: tokens.{key} must be a whole number of hours, 1 to 336."
            )

    qa_addresses = _qa_addresses(data.get("qa_addresses", []), where)
    second_factor = data.get("second_factor", "optional")
    if second_factor not in SECOND_FACTOR_MODES:
        raise TenantDataError(
            f"{where}: second_factor must be one of {', '.join(SECOND_FACTOR_MODES)}."
        )
    reauthenticate_after = data.get("reauthenticate_after", 600)
    if not _whole(reauthenticate_after, 60, 24 * 3600):
        raise TenantDataError(
            f"{where}: reauthenticate_after must be a whole number of seconds, 60 to 86400."
        )
    grace_days = data.get("deletion_grace_days", 14)
    if not _whole(grace_days, 1, 90):
        raise TenantDataError(
            f"{where}: deletion_grace_days must be a whole number of days, 1 to 90."
        )

    return TenantSettings(
        slug=slug,
        name=_required(data, "name", str, where),
        product_name=_required(data, "product_name", str, where),
        profile=profile.name,
        brand_primary=colours["primary"],
        brand_on_primary=colours["on_primary"],
        brand_accent=colours["accent"],
        logo=data.get("logo"),
        support_email=support.get("email", ""),
        support_phone=support.get("phone", ""),
        password=policy,
        terms_version=_required(terms, "version", str, where),
        terms_text=terms_text,
        intro=data.get("intro", {}),
        phone=phone,
        invoices_by_email=bool(
            registration.get("invoices_by_email", profile.defaults["invoices_by_email"])
        ),
        sms=bool(registration.get("sms", profile.defaults["sms"])),
        contract=contract,
        embed_origins=origins,
        public_url=public_url.rstrip("/") if public_url else None,
        confirm_hours=hours["confirm_hours"],
        reset_hours=hours["reset_hours"],
        qa_addresses=qa_addresses,
        second_factor=second_factor,
        reauthenticate_after=reauthenticate_after,
        deletion_grace_days=grace_days,
        raw=data,
    )


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


QA_ADDRESS_RE = re.compile(r"[a-z0-9._%+*-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}")


def _qa_addresses(value: Any, where: str) -> tuple[str, ...]:
    """Patterns like "*@qa.example.lt" or "tester-*@example.lt": a '*' only
    before the '@', so a pattern never matches a whole domain of strangers."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TenantDataError(f"{where}: qa_addresses must be a list of address patterns.")
    patterns = tuple(item.strip().lower() for item in value)
    for pattern in patterns:
        if not QA_ADDRESS_RE.fullmatch(pattern):
            raise TenantDataError(
                f"{where}: qa_addresses entry {pattern!r} must look like *@qa.example.lt "
                "('*' only in the part before '@')."
            )
    return patterns


def is_qa_address(settings: TenantSettings, email: str) -> bool:
    """Whether `email` is one of the tenant's test addresses."""
    email = (email or "").strip().lower()
    return any(fnmatchcase(email, pattern) for pattern in settings.qa_addresses)


def _required(data: dict, key: str, kind: type, where: str = "tenant") -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise TenantDataError(f"{where}: {key} is required ({kind.__name__}).")
    return value


def read_tenants_file(path: Path) -> list[dict[str, Any]]:
    """Parse and validate the whole file before anything is written."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TenantDataError(f"{path}: {exc}") from exc
    entries = document.get("tenants")
    if not isinstance(entries, list) or not entries:
        raise TenantDataError(f"{path}: expected one or more [[tenants]] tables.")
    slugs = [parse_settings(entry).slug for entry in entries]
    duplicates = {slug for slug in slugs if slugs.count(slug) > 1}
    if duplicates:
        raise TenantDataError(f"{path}: duplicate slugs: {', '.join(sorted(duplicates))}.")
    return entries


def load_tenants(path: Path) -> tuple[int, int]:
    """Upsert every tenant of the file in one transaction; return (created, updated)."""
    entries = read_tenants_file(path)
    trusted = current_app.config["TRUSTED_HOSTS"]
    for entry in entries:
        public_url = parse_settings(entry).public_url
        if public_url and not host_is_trusted(urlsplit(public_url).netloc, trusted):
            raise TenantDataError(
                f"tenant {entry['slug']!r}: the host of public_url {public_url!r} is not in "
                "TRUSTED_HOSTS, so its links would lead to a 400 page; add it there."
            )
    created = updated = 0
    for entry in entries:
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == entry["slug"]))
        if tenant is None:
            tenant = Tenant(slug=entry["slug"])
            db.session.add(tenant)
            created += 1
        else:
            updated += 1
        tenant.name = entry["name"]
        tenant.settings = entry
        tenant.active = bool(entry.get("active", True))
    db.session.commit()
    _tenant_cache().clear()
    return created, updated


_settings_cache: dict[tuple[int, Any], TenantSettings] = {}


def settings_for(tenant: Tenant) -> TenantSettings:
    """Parsed settings of a tenant row, cached until the row changes."""
    key = (tenant.id, tenant.updated_at)
    cached = _settings_cache.get(key)
    if cached is None:
        cached = parse_settings(tenant.settings)
        _settings_cache[key] = cached
    return cached


def pull_tenant(endpoint: str | None, values: dict | None) -> None:
    """url_value_preprocessor: turn the `<tenant>` URL part into g.tenant or a 404."""
    if values is None or "tenant" not in values:
        return
    tenant = find_tenant(values.pop("tenant"))
    if tenant is None:
        abort(404)
    g.tenant = tenant
    g.settings = settings_for(tenant)
    # The slug as well, as plain text: links built after a commit (which expires
    # the row) would otherwise load the row again just to read its slug.
    g.tenant_slug = tenant.slug


def find_tenant(slug: str) -> Tenant | None:
    """The active tenant with this slug, bound to the request's session.

    Every tenant page asks for its tenant, and most (the live checks, the pages)
    need nothing else from the database, so the row is remembered for
    TENANT_CACHE_SECONDS and attached to the session without a query. A change
    made by `flask tenants load` reaches every instance within that time. Only
    tenants that exist are remembered: any text can be asked for, and the cache
    must not grow with it."""
    ttl = current_app.config.get("TENANT_CACHE_SECONDS", 0)
    cache = _tenant_cache()
    now = time.monotonic()
    hit = cache.get(slug)
    if hit is not None and hit[0] > now:
        return db.session.merge(hit[1], load=False)
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug, Tenant.active.is_(True)))
    if ttl > 0 and tenant is not None:
        cache[slug] = (now + ttl, _snapshot(tenant))
    return tenant


def _tenant_cache() -> dict[str, tuple[float, Tenant]]:
    # Per application, so two apps in one process (tests) never share rows.
    return current_app.extensions.setdefault("savitarna.tenants", {})


def _snapshot(tenant: Tenant) -> Tenant:
    """A detached copy of the row that merge(load=False) can attach to any session."""
    copy = Tenant(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        settings=tenant.settings,
        active=tenant.active,
        updated_at=tenant.updated_at,
    )
    make_transient_to_detached(copy)
    return copy


def add_tenant(endpoint: str, values: dict) -> None:
    """url_defaults: links inside a tenant's pages stay inside that tenant."""
    if "tenant" in values or "tenant" not in g:
        return
    if current_app.url_map.is_endpoint_expecting(endpoint, "tenant"):
        values["tenant"] = g.tenant_slug


def current_tenant() -> Tenant:
    return g.tenant


def current_settings() -> TenantSettings:
    return g.settings

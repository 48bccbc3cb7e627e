"""Embed mode's addresses: a tenant is addressed as `<slug>/embed` (e.g.
`/velzio/embed/register`). The `tenant` URL converter accepts the suffix,
`pull_embed` turns it into `g.embed`, and `add_embed` keeps the links between
embeddable pages inside the frame."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import abort, current_app, g, request
from werkzeug.routing import BaseConverter

SUFFIX = "/embed"
# The pages a frame may show; any other page of a tenant answers 404 under
# /<slug>/embed/ (it is shown top-level, where links to it lead).
EMBEDDABLE = frozenset(
    {
        "registration.register",
        "registration.check_field",
        "registration.customer",
        "registration.sent",
        "auth.login",
        "auth.logout",
        "auth.password_rules",
        "account.home",
        "account.preferences",
        "embed.confirmed",
    }
)


class TenantConverter(BaseConverter):
    """A tenant slug, optionally followed by /embed."""

    regex = r"[^/]+(?:/embed)?"

    def to_url(self, value) -> str:
        return quote(str(value), safe="/")


def pull_embed(endpoint: str | None, values: dict | None) -> None:
    """url_value_preprocessor (runs before pull_tenant): `slug/embed` → g.embed."""
    slug = (values or {}).get("tenant")
    if not isinstance(slug, str) or not slug.endswith(SUFFIX):
        return
    g.embed = True
    values["tenant"] = slug.removesuffix(SUFFIX)
    if endpoint not in EMBEDDABLE:
        abort(404)


def add_embed(endpoint: str, values: dict) -> None:
    """url_defaults (runs before add_tenant): inside a frame, links to embeddable
    pages stay embedded and keep the language and host page. An explicit
    `tenant=` (emails, links that leave the frame) builds the full-site URL."""
    if not g.get("embed") or "tenant" in values or endpoint not in EMBEDDABLE:
        return
    if "tenant" not in g:
        return
    values["tenant"] = g.tenant.slug + SUFFIX
    language = request.args.get("lang")
    if language in current_app.config["LANGUAGES"]:
        values.setdefault("lang", language)
    host = host_origin()
    if host:
        values.setdefault("host", host)


def host_origin() -> str | None:
    """The host page's origin, when it is on the tenant's list: from `?host=`,
    else from the Referer of the frame's first request. The frame script posts
    its messages to this origin only."""
    if not g.get("embed") or "settings" not in g:
        return None
    if "embed_host" not in g:
        asked = request.args.get("host") or _origin(request.referrer)
        g.embed_host = asked if asked in g.settings.embed_origins else None
    return g.embed_host


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None

"""Blank-form pages rendered once per instance: the registration and login pages.

A first visit to a registration page is the same page for every visitor of a
tenant in a language, but for one value, the visitor's CSRF token. Rendering it
(a dozen form-field macros, each with its translated texts and htmx attributes)
is most of the page's server time (`make profile CASE=page`), so each instance
keeps the rendered page for (template, tenant row and its version, language,
host, path and query) with the token cut out, and puts this visitor's token back in.

Nothing personal is kept: only pages rendered for a visitor who is not logged
in, has no flashed message waiting, is not in a frame (embed mode) and asked by
a plain GET (not htmx). A page without the token is never kept (the login page
holds it twice: its form's and the passkey button's). A tenant's change
(`flask tenants load` sets its `updated_at`) gives new keys, so it shows as
soon as the instance sees the new row; translations and templates change only
with a restart.

Compression: a page rendered for a visitor is compressed by Flask-Compress
(Brotli), which cost a kept page more than all the rest of its answer
(`make profile CASE=page`). A kept page is compressed once instead, as gzip in
pieces: each piece between the tokens on its own (a raw deflate stream ended
by a sync flush), so a visitor's page is those pieces with the visitor's token,
deflated on its own, between them, in a gzip frame with the page's CRC-32 and
length (RFC 1952 allows any deflate blocks in one member). A piece cannot
refer back to text before it, so the page is a little larger (Velžio's: 3,153
bytes, against 3,019 as one gzip and 2,785 as Brotli 5), and it takes about
20 µs instead of 0.4 ms. A browser that takes no gzip gets what Flask-Compress
gives it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, current_app, g, make_response, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user

from .embed.csrf import form_token
from .htmx import render, wants_fragment

# Pages kept per instance (two tenants x two languages x a few query strings);
# when full, the cache starts again (any text may be sent as a query string).
MAX_PAGES = 64
# Flask's key of waiting flashes.
FLASHES_KEY = "_flashes"


def blank_form_page(template: str, context: Callable[[], dict]) -> Response:
    """`render(template, **context())` for a GET, from the instance's copy when
    the page is the same for every visitor (see the module's docstring)."""
    tenant = g.get("tenant")
    if (
        request.method != "GET"
        or tenant is None
        or g.get("embed")
        or wants_fragment()
        or not current_app.config.get("PAGE_CACHE", True)
    ):
        return render(template, **context())
    # This visitor's token first, stored in the session, then the user asked
    # for, both in the order the page's template asks (the form, then
    # Flask-Login's context processor), so the session ends up the same.
    token = form_token()
    if current_user.is_authenticated or FLASHES_KEY in session:
        return render(template, **context())
    # The host too: a page asked at an IP address says where passkeys work
    # instead (templates/factors/_passkey_note.html).
    key = (
        template,
        tenant.id,
        tenant.updated_at,
        str(get_locale()),
        request.host,
        request.full_path,
    )
    pages: dict = current_app.extensions.setdefault("savitarna.pages", {})
    kept = pages.get(key)
    if kept is None:
        html = render_template(template, **context())
        parts = html.split(token)
        if len(parts) < 2:
            return _response(html)
        if len(pages) >= MAX_PAGES:
            pages.clear()
        kept = pages[key] = KeptPage.of(parts)
    if current_app.config.get("COMPRESS_REGISTER") and request.accept_encodings["gzip"] > 0:
        response = _response(kept.gzip(token))
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        return response
    return _response(token.join(kept.parts))


# A gzip member's header (RFC 1952): deflate, no name or time, best compression, OS unknown.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def deflated(data: bytes, last: bool = False, level: int = 9) -> bytes:
    """`data` as raw deflate blocks that need nothing before them: a sync
    flush ends them on a byte boundary; the last piece ends the stream."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 9 if level else 1)
    end = zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    return compressor.compress(data) + compressor.flush(end)


@dataclass(frozen=True)
class KeptPage:
    """A page with its token cut out: the text between the tokens, and each
    piece deflated on its own (see the module's docstring)."""

    parts: tuple[str, ...]
    deflated_parts: tuple[bytes, ...]

    @classmethod
    def of(cls, parts: list[str]) -> KeptPage:
        encoded = [part.encode() for part in parts]
        pieces = [deflated(part) for part in encoded[:-1]] + [deflated(encoded[-1], last=True)]
        return cls(tuple(parts), tuple(pieces))

    def gzip(self, token: str) -> bytes:
        """The page with `token`, gzip-encoded."""
        page = token.join(self.parts).encode()
        # Level 0 (stored): a token is random, and nothing to compress is
        # quicker to set up.
        body = deflated(token.encode(), level=0).join(self.deflated_parts)
        trailer = zlib.crc32(page).to_bytes(4, "little") + (len(page) % 2**32).to_bytes(4, "little")
        return GZIP_HEADER + body + trailer


def _response(body: str | bytes) -> Response:
    response = make_response(body, 200)
    response.vary.add("HX-Request")
    return response

"""Static files with versioned names, served compressed with long-lived cache headers.

WhiteNoise serves the files; its manifest storage that hashes and compresses them
is for Django only, so this module does that part: `build()` copies every file of
static/ into a build folder twice, under its own name and under a name with a hash
of its content (`css/app.css` -> `css/app.3fa9c2d1e0b4.css`), each with a gzip and
a Brotli twin. `url_for('static', filename='css/app.css')` then answers the hashed
name, so templates need no change from one release to the next. Hashed names never
change content and are cached for a year (`immutable`); the plain names (for
`embed.js` on other sites and for old links) for an hour.

The build runs when the app starts and when `flask static build` runs (e.g. while
an image is built). It is idempotent and writes each file atomically, so several
workers starting at once are harmless; a file whose content is already there is
not written again. Development serves static/ as it is, unversioned, so an edited
stylesheet shows on reload, but compressed as in production (Brotli at its best,
redone when a file changes), so a development first visit weighs what a
production one does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import brotli
from flask import Flask, Response, request
from werkzeug.security import safe_join
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

HASH_LENGTH = 12
HASHED_NAME = re.compile(rf"\.[0-9a-f]{{{HASH_LENGTH}}}\.[^./]+$")
# Notes beside vendored files are for developers, not for browsers.
NOT_SERVED = {"README.md"}
YEAR = 365 * 24 * 3600


@dataclass
class Assets:
    """What the running app knows about its static files."""

    versioned: bool
    # {"css/app.css": "css/app.3fa9c2d1e0b4.css"} when versioned, else empty.
    names: dict[str, str] = field(default_factory=dict)
    # A digest of everything a cached page is made of: static files, templates and
    # compiled catalogues. It names the service workers' caches.
    release: str = ""


def hashed_name(name: str, content: bytes) -> str:
    """`css/app.css` with a hash of its content before the last suffix."""
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    stem, dot, suffix = name.rpartition(".")
    if not dot or "/" in suffix:
        return f"{name}.{digest}"
    return f"{stem}.{digest}.{suffix}"


def static_files(source: Path) -> list[tuple[str, Path]]:
    return [
        (path.relative_to(source).as_posix(), path)
        for path in sorted(source.rglob("*"))
        if path.is_file() and path.name not in NOT_SERVED
    ]


def build(source: Path, target: Path) -> dict[str, str]:
    """Copy static/ into `target` with hashed twins and gzip/Brotli versions;
    return {name: hashed name}."""
    compressor = Compressor(quiet=True)
    names = {}
    for name, path in static_files(source):
        content = path.read_bytes()
        names[name] = hashed_name(name, content)
        for out_name in (names[name], name):
            _write_with_compressed(target / out_name, content, compressor)
    return names


def _write_with_compressed(path: Path, content: bytes, compressor: Compressor) -> None:
    if path.is_file() and path.read_bytes() == content:
        return
    variants = {path: content}
    if compressor.should_compress(path.name):
        for suffix, compress in (
            (".br", compressor.compress_brotli),
            (".gz", compressor.compress_gzip),
        ):
            compressed = compress(content)
            # WhiteNoise's own rule: keep a twin only when it saves at least 5 %.
            if len(compressed) <= 0.95 * len(content):
                variants[path.with_name(path.name + suffix)] = compressed
            else:
                path.with_name(path.name + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Twins first, the file itself last: WhiteNoise looks for twins of a file it finds.
    for out_path, data in sorted(variants.items(), key=lambda item: item[0] == path):
        _atomic_write(out_path, data)


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def release_digest(app: Flask, names: dict[str, str]) -> str:
    """A digest of the static files, templates and compiled catalogues."""
    digest = hashlib.sha256(json.dumps(names, sort_keys=True).encode())
    roots = [Path(app.template_folder), Path(app.config["BABEL_TRANSLATION_DIRECTORIES"])]
    if not names:
        roots.append(Path(app.static_folder))
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".html", ".js", ".css", ".mo", ".svg", ".png"}:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:HASH_LENGTH]


class StaticFiles(WhiteNoise):
    # WhiteNoise's "forever" is ten years; one year is what caches are asked to honour.
    FOREVER = YEAR


def _security_headers(headers, path, url) -> None:
    headers["X-Content-Type-Options"] = "nosniff"


def init_app(app: Flask) -> None:
    """Build the versioned files and serve them through WhiteNoise, or (in
    development) leave static/ to Flask, unversioned."""
    versioned = app.config["STATIC_VERSIONED"]
    names: dict[str, str] = {}
    if versioned:
        target = Path(app.config["STATIC_BUILD_DIR"])
        names = build(Path(app.static_folder), target)
        app.wsgi_app = StaticFiles(
            app.wsgi_app,
            root=str(target),
            prefix=app.static_url_path,
            max_age=app.config["STATIC_MAX_AGE"],
            immutable_file_test=lambda path, url: bool(HASHED_NAME.search(url)),
            add_headers_function=_security_headers,
        )

        @app.url_defaults
        def versioned_static(endpoint: str, values: dict) -> None:
            if endpoint == "static" and "filename" in values:
                values["filename"] = names.get(values["filename"], values["filename"])

    else:
        _compress_development_static(app)

    app.extensions["assets"] = Assets(
        versioned=versioned, names=names, release=release_digest(app, names)
    )


def _compress_development_static(app: Flask) -> None:
    """Flask's static view, answering with the Brotli version where the browser
    takes it (Flask-Compress would stream them with a weaker setting)."""
    view = app.view_functions["static"]
    compressor = Compressor(quiet=True)

    def static(filename: str) -> Response:
        response = view(filename=filename)
        path = safe_join(app.static_folder, filename)
        if (
            response.status_code != 200
            or path is None
            or not compressor.should_compress(filename)
            or "br" not in request.accept_encodings
        ):
            return response
        stat = os.stat(path)
        body = _brotli(path, stat.st_mtime_ns, stat.st_size)
        if len(body) > 0.95 * stat.st_size:
            return response
        response.close()
        response.direct_passthrough = False
        response.set_data(body)
        response.headers["Content-Encoding"] = "br"
        response.headers.pop("Accept-Ranges", None)
        response.vary.add("Accept-Encoding")
        etag, weak = response.get_etag()
        if etag:
            # Weak: the same file, another encoding; If-None-Match still matches it.
            response.set_etag(etag, weak=True)
        return response

    app.view_functions["static"] = static


@lru_cache(maxsize=256)
def _brotli(path: str, mtime_ns: int, size: int) -> bytes:
    return brotli.compress(Path(path).read_bytes(), quality=11)


def assets(app: Flask) -> Assets:
    return app.extensions["assets"]

"""htmx conventions: one URL may answer a page or a fragment."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path

from flask import Response, current_app, make_response, render_template, request


def wants_fragment() -> bool:
    """An htmx request that is neither boosted nor a history restore."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(template: str, status: int = 200, **context) -> Response:
    """Render a template; every response that may differ by HX-Request says so."""
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(location: str) -> Response:
    response = make_response("", 204)
    response.headers["HX-Redirect"] = location
    return response


def live_check(url: str | None, field_id: str) -> dict[str, str]:
    """htmx attributes of a live-checked input: checked on change (the person left
    the field after editing it), and on "revalidate", which static/js/app.js sends
    while a field that shows an error is being corrected. `data-live-check`
    tells app.js which requests are live checks (the funnel's "started")."""
    if not url:
        return {}
    return {
        "hx-post": url,
        "hx-trigger": "change, revalidate",
        "hx-target": f"#{field_id}-error",
        "hx-swap": "outerHTML",
        "hx-include": "closest form",
        "hx-sync": "this:replace",
        "data-live-check": "",
    }


@cache
def _integrity(path: Path) -> str:
    digest = hashlib.sha384(path.read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def integrity(filename: str) -> str:
    """The Subresource Integrity value of a static file, computed once."""
    return _integrity(Path(current_app.static_folder) / filename)

"""A demo host page (demo/host.html) on a second origin, embedding both demo
tenants: `flask --app wsgi embed-demo` in development, and the browser tests."""

from __future__ import annotations

import click
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from ..config import RESOURCE_ROOT

DEMO = RESOURCE_ROOT / "demo"
FILES = {
    "/": ("host.html", "text/html; charset=utf-8"),
    "/host.js": ("host.js", "text/javascript; charset=utf-8"),
    "/host.css": ("host.css", "text/css; charset=utf-8"),
}


def host_app(app_url: str):
    """A WSGI app serving the demo host page with the app's URL filled in."""
    app_url = app_url.rstrip("/")

    @Request.application
    def serve(request: Request) -> Response:
        found = FILES.get(request.path)
        if found is None:
            return Response("not found", 404, content_type="text/plain")
        name, content_type = found
        text = (DEMO / name).read_text(encoding="utf-8")
        text = text.replace("__APP__", app_url).replace("__HOST__", request.host_url.rstrip("/"))
        return Response(text, content_type=content_type)

    return serve


@click.command("embed-demo")
# 127.0.0.1 is another site than localhost, where `make run` serves the app
# (passkeys need a host name): the frame is cross-site, as on a utility's site.
@click.option("--host", default="127.0.0.1", show_default=True, help="Host of the demo page.")
@click.option("--port", default=5001, show_default=True, help="Port of the demo page.")
@click.option(
    "--app-url",
    default="http://localhost:5000",
    show_default=True,
    help="Where the app runs (make run).",
)
def embed_demo(host: str, port: int, app_url: str):
    """Serve the demo host page that embeds both demo tenants' forms."""
    click.echo(f"Demo host page: http://{host}:{port}/ (embedding {app_url})")
    run_simple(host, port, host_app(app_url))

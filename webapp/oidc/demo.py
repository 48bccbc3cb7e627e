"""A stand-in for a utility's portal, on a second origin, that logs in
through Savitarna with Authlib's OpenID Connect client: `flask --app wsgi
portal-demo` in development (the `demo-portal` client of `make run`), and
the browser tests. Not part of the provider."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import click
from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, render_template_string, session, url_for

PAGE = """<!doctype html>
<html lang="lt"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
{% if user %}
<p>Sveiki, {{ user.get("given_name") or user.get("name") or user.sub }}!</p>
<p id="email">{{ user.get("email", "") }}</p>
<h2>Claims</h2>
<table>{% for key, value in user|dictsort %}
<tr><th>{{ key }}</th><td>{{ value }}</td></tr>{% endfor %}
</table>
<p><a href="{{ url_for('logout') }}">Atsijungti / Log out</a></p>
{% else %}
<p>Jūs neprisijungę. / You are not logged in.</p>
<p><a href="{{ url_for('login') }}">Prisijungti / Log in</a>
 · <a href="{{ url_for('login', lang='en') }}">Log in (English)</a></p>
{% endif %}
</body></html>"""


def portal_app(app_url: str, tenant: str, client_id: str = "demo-portal") -> Flask:
    """The demo portal as a Flask app, logging in at `app_url`/`tenant`."""
    portal = Flask("portal_demo")
    portal.secret_key = secrets.token_hex(32)
    portal.config["SESSION_COOKIE_NAME"] = "portal_demo"
    oauth = OAuth(portal)
    oauth.register(
        "savitarna",
        client_id=client_id,
        server_metadata_url=f"{app_url.rstrip('/')}/{tenant}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "none",
        },
    )

    @portal.get("/")
    def home():
        return render_template_string(PAGE, title="Demo portal", user=session.get("user"))

    @portal.get("/login")
    @portal.get("/login/<lang>")
    def login(lang: str | None = None):
        extra = {"ui_locales": lang} if lang else {}
        return oauth.savitarna.authorize_redirect(url_for("callback", _external=True), **extra)

    @portal.get("/callback")
    def callback():
        token = oauth.savitarna.authorize_access_token()
        session["user"] = dict(token["userinfo"])
        session["id_token"] = token["id_token"]
        return redirect(url_for("home"))

    @portal.get("/logout")
    def logout():
        id_token = session.pop("id_token", None)
        session.clear()
        metadata = oauth.savitarna.load_server_metadata()
        query = {"post_logout_redirect_uri": url_for("home", _external=True), "state": "bye"}
        if id_token:
            query["id_token_hint"] = id_token
        return redirect(f"{metadata['end_session_endpoint']}?{urlencode(query)}")

    return portal


@click.command("portal-demo")
@click.option("--host", default="localhost", show_default=True)
@click.option("--port", default=5002, show_default=True)
@click.option("--app-url", default="http://127.0.0.1:5000", show_default=True,
              help="Where Savitarna runs (make run).")  # fmt: skip
@click.option("--tenant", default="velzio", show_default=True)
def portal_demo(host: str, port: int, app_url: str, tenant: str):
    """Serve a demo utility portal that logs in through Savitarna."""
    click.echo(f"Demo portal: http://{host}:{port}/ (logging in at {app_url}/{tenant})")
    portal_app(app_url, tenant).run(host=host, port=port)

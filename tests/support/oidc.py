"""An application logging a customer in through our OpenID Connect provider:
its registration (a client row), Authlib's client talking to the app in
process (httpx's WSGI transport), and the browser's part of the flow (the
test client following our redirects until the one to the application)."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet

from webapp.oidc.cli import create_client

from .apps import tenant
from .people import Customer

PORTAL = "https://portal.example/callback"
PORTAL_LOGOUT = "https://portal.example/"
VERIFIER = "v" * 20 + "-verifier-of-enough-length-0123456789"


def add_client(app, slug: str = "velzio", **changes) -> tuple[str, str | None]:
    """Register a client at `slug`; its id and secret (None when public)."""
    options = {
        "name": "Savitarnos portalas",
        "redirect_uris": [PORTAL],
        "post_logout_redirect_uris": [PORTAL_LOGOUT],
        "public": True,
        "first_party": True,
        **changes,
    }
    with app.app_context():
        client, secret = create_client(tenant(slug), **options)
        return client.client_id, secret


def authlib_client(
    app, client_id: str, secret: str | None = None, scope: str = "openid profile email"
) -> OAuth2Client:
    """Authlib's OAuth 2.0 / OpenID Connect client, its requests served by `app`."""
    return OAuth2Client(
        client_id,
        secret,
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        redirect_uri=PORTAL,
        scope=scope,
        code_challenge_method="S256",
        transport=httpx.WSGITransport(app=app),
        base_url="http://localhost",
    )


def discover(http, slug: str = "velzio") -> dict:
    return http.request(
        "GET", f"http://localhost/{slug}/.well-known/openid-configuration", withhold_token=True
    ).json()


def follow(browser, url: str, limit: int = 6):
    """Follow our redirects, as a browser does, from `url`: the response that
    leaves us (a redirect to another host) or the page we stop at."""
    for _ in range(limit):
        parts = urlsplit(url)
        path = f"{parts.path}?{parts.query}" if parts.query else parts.path
        response = browser.get(path, headers={"Accept-Language": "lt"})
        location = response.headers.get("Location")
        if response.status_code not in (301, 302, 303) or location is None:
            return response
        if urlsplit(location).netloc not in ("", "localhost"):
            return response
        url = location
    raise AssertionError("too many redirects")


def returned(response) -> dict[str, str]:
    """The parameters the application received at its redirect URI."""
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert location.startswith(PORTAL) or location.startswith(PORTAL_LOGOUT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize_url(http: OAuth2Client, metadata: dict, **params) -> str:
    params.setdefault("code_verifier", VERIFIER)
    params.setdefault("nonce", secrets.token_urlsafe(12))
    url, _state = http.create_authorization_url(metadata["authorization_endpoint"], **params)
    return url


def challenge(verifier: str = VERIFIER) -> str:
    return create_s256_code_challenge(verifier)


def verified_claims(http, metadata: dict, id_token: str) -> dict:
    """The ID token's claims, its signature checked against the JWKS."""
    keys = KeySet.import_key_set(
        http.request("GET", metadata["jwks_uri"], withhold_token=True).json()
    )
    token = jwt.decode(id_token, keys, algorithms=["ES256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": metadata["issuer"]},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(token.claims)
    return dict(token.claims)


def exchange(http: OAuth2Client, metadata: dict, answer: dict) -> dict:
    """The portal exchanges the code it received (with its PKCE verifier)."""
    return http.fetch_token(metadata["token_endpoint"], code=answer["code"], code_verifier=VERIFIER)


def logged_in(client, app, slug: str = "velzio") -> Customer:
    """A registered customer, logged in with the test client's browser."""
    person = Customer(client, app, slug)
    person.register()
    assert person.login().status_code == 303
    return person

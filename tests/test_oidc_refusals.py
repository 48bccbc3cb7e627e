"""What the provider refuses: unknown clients and redirect URIs (our page,
never a redirect), PKCE missing or wrong, codes reused, expired or of another
tenant, tokens of another tenant, and forged ID token hints."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from sqlalchemy import update
from support.oidc import (
    PORTAL,
    PORTAL_LOGOUT,
    VERIFIER,
    add_client,
    authlib_client,
    authorize_url,
    challenge,
    discover,
    follow,
    logged_in,
    returned,
)

from webapp.extensions import db
from webapp.models import utcnow
from webapp.oidc.models import AuthorizationCode


def authorize(client, client_id: str, **params):
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": PORTAL,
        "scope": "openid email",
        "state": "s",
        "code_challenge": challenge(),
        "code_challenge_method": "S256",
        **params,
    }
    query = {k: v for k, v in query.items() if v is not None}
    return client.get("/velzio/oidc/authorize", query_string=query)


def token_request(http, data: dict, slug: str = "velzio"):
    return http.request(
        "POST", f"http://localhost/{slug}/oidc/token", data=data, withhold_token=True
    )


def code_exchange(http, client_id, code, verifier=VERIFIER, slug="velzio"):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": PORTAL,
        "client_id": client_id,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return token_request(http, data, slug)


def our_error_page(response) -> None:
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Programos prisijungimo užklausos nepavyko apdoroti" in response.get_data(as_text=True)


def test_an_unknown_client_gets_our_page_not_a_redirect(app, client):
    logged_in(client, app)
    our_error_page(authorize(client, "nobody"))


def test_an_unregistered_or_altered_redirect_uri_gets_our_page(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    for uri in (
        "https://evil.example/callback",
        PORTAL + "/more",
        PORTAL + "?x=1",
        PORTAL.replace("https", "http"),
        "https://portal.example/callbac",
    ):
        our_error_page(authorize(client, client_id, redirect_uri=uri))


def test_a_public_client_must_send_an_s256_challenge(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    missing = returned(
        authorize(client, client_id, code_challenge=None, code_challenge_method=None)
    )
    assert missing["error"] == "invalid_request" and missing["iss"] == "http://localhost/velzio"
    plain = returned(
        authorize(client, client_id, code_challenge=VERIFIER, code_challenge_method="plain")
    )
    assert plain["error"] == "invalid_request"


def test_a_wrong_or_missing_verifier_gets_no_token(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    code = returned(authorize(client, client_id))["code"]
    assert code_exchange(http, client_id, code, verifier=None).json()["error"] == "invalid_request"
    code = returned(authorize(client, client_id))["code"]
    wrong = code_exchange(http, client_id, code, verifier="w" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_a_reused_code_is_refused_and_revokes_what_it_gave(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    code = returned(authorize(client, client_id))["code"]
    first = code_exchange(http, client_id, code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    again = code_exchange(http, client_id, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    userinfo = http.request(
        "GET",
        "http://localhost/velzio/oidc/userinfo",
        headers={"Authorization": f"Bearer {access}"},
        withhold_token=True,
    )
    assert userinfo.status_code == 401


def test_an_expired_code_is_refused(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    code = returned(authorize(client, client_id))["code"]
    with app.app_context():
        db.session.execute(
            update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert code_exchange(http, client_id, code).json()["error"] == "invalid_grant"


def test_a_code_or_token_of_another_tenant_is_worthless(app, client):
    logged_in(client, app)
    # The same client id at both utilities: still two different clients.
    client_id, _ = add_client(app, "velzio", client_id="portal")
    add_client(app, "elektrum", client_id="portal")
    http = authlib_client(app, client_id)
    code = returned(authorize(client, client_id))["code"]
    elsewhere = code_exchange(http, client_id, code, slug="elektrum")
    assert elsewhere.json()["error"] == "invalid_grant"
    code = returned(authorize(client, client_id))["code"]
    access = code_exchange(http, client_id, code).json()["access_token"]
    for slug, status in (("elektrum", 401), ("velzio", 200)):
        answer = http.request(
            "GET",
            f"http://localhost/{slug}/oidc/userinfo",
            headers={"Authorization": f"Bearer {access}"},
            withhold_token=True,
        )
        assert answer.status_code == status
    # A session at one utility is no login at another.
    assert client.get("/elektrum/account/").status_code == 302


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_id_token_hints_are_refused(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    code = returned(authorize(client, client_id))["code"]
    id_token = code_exchange(http, client_id, code).json()["id_token"]
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = ".".join([header, _b64({**claims, "sub": "someone-else"}), signature])
    unsigned = ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64(claims), ""])
    for hint in (tampered, unsigned, "not-a-jwt"):
        response = client.get(
            metadata["end_session_endpoint"].removeprefix("http://localhost"),
            query_string={"id_token_hint": hint, "post_logout_redirect_uri": PORTAL_LOGOUT},
        )
        our_error_page(response)
    assert client.get("/velzio/account/").status_code == 200  # still logged in


def test_logout_without_a_hint_asks_first(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    page = client.get(
        "/velzio/oidc/logout",
        query_string={"client_id": client_id, "post_logout_redirect_uri": PORTAL_LOGOUT},
    )
    assert page.status_code == 200
    assert "Atsijungti?" in page.get_data(as_text=True)
    assert client.get("/velzio/account/").status_code == 200


def test_prompt_none_with_consent_missing_answers_consent_required(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app, first_party=False)
    http = authlib_client(app, client_id)
    answer = returned(follow(client, authorize_url(http, discover(http), prompt="none")))
    assert answer["error"] == "consent_required"


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def test_the_back_channel_limits_refusals_per_address_not_a_portals_successes(app, client):
    """A portal calls from one address for all its customers: its successes do
    not count; refusals (a wrong secret, a dead token) do, across endpoints."""
    client_id, secret = add_client(app, public=False, first_party=False)
    for _ in range(40):  # more than the 30 a minute refusals may be
        answer = client.post(
            "/velzio/oidc/introspect", data={"token": "gone"}, headers=basic(client_id, secret)
        )
        assert answer.status_code == 200
        assert answer.get_json() == {"active": False}
    for _ in range(20):
        wrong = client.post(
            "/velzio/oidc/introspect", data={"token": "gone"}, headers=basic(client_id, "wrong")
        )
        assert wrong.status_code == 401
    for _ in range(10):
        assert (
            client.get("/velzio/oidc/userinfo", headers={"Authorization": "Bearer x"}).status_code
            == 401
        )
    refused = client.post(
        "/velzio/oidc/introspect", data={"token": "gone"}, headers=basic(client_id, secret)
    )
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # Another address is not affected.
    other = client.post(
        "/velzio/oidc/introspect",
        data={"token": "gone"},
        headers=basic(client_id, secret),
        environ_base={"REMOTE_ADDR": "192.0.2.9"},
    )
    assert other.status_code == 200


def test_each_client_has_a_ceiling_of_its_own(app, client):
    app.config["RATELIMIT_OIDC_CLIENT"] = "3 per minute"
    busy, busy_secret = add_client(app, public=False, first_party=False)
    calm, calm_secret = add_client(app, public=False, first_party=False)
    for _ in range(3):
        answer = client.post(
            "/velzio/oidc/introspect", data={"token": "x"}, headers=basic(busy, busy_secret)
        )
        assert answer.status_code == 200
    over = client.post("/velzio/oidc/revoke", data={"token": "x"}, headers=basic(busy, busy_secret))
    assert over.status_code == 429
    calm_answer = client.post(
        "/velzio/oidc/introspect", data={"token": "x"}, headers=basic(calm, calm_secret)
    )
    assert calm_answer.status_code == 200

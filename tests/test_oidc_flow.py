"""A utility's portal logs a customer in through us with Authlib's client:
discovery, the code flow with PKCE, the ID token against the JWKS, userinfo,
refresh, revocation, introspection, logout, consent and the login prompts."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import select, text
from support.forms import csrf_from, submit
from support.oidc import (
    PORTAL,
    PORTAL_LOGOUT,
    add_client,
    authlib_client,
    authorize_url,
    discover,
    exchange,
    follow,
    logged_in,
    returned,
    verified_claims,
)
from support.people import Customer

from webapp.extensions import db
from webapp.models import Account


def code_for(client, http, metadata, **params) -> dict:
    return returned(follow(client, authorize_url(http, metadata, **params)))


def test_discovery_names_one_issuer_per_tenant(app, client):
    http = authlib_client(app, "x")
    velzio, elektrum = discover(http, "velzio"), discover(http, "elektrum")
    assert velzio["issuer"] == "http://localhost/velzio"
    assert elektrum["issuer"] == "http://localhost/elektrum"
    assert velzio["response_types_supported"] == ["code"]
    assert velzio["code_challenge_methods_supported"] == ["S256"]
    assert velzio["authorization_response_iss_parameter_supported"] is True
    assert velzio["id_token_signing_alg_values_supported"] == ["ES256"]
    assert "utility" in velzio["scopes_supported"]
    jwks = http.request("GET", velzio["jwks_uri"], withhold_token=True).json()
    other = http.request("GET", elektrum["jwks_uri"], withhold_token=True).json()
    assert jwks["keys"][0]["kid"] != other["keys"][0]["kid"]
    assert "d" not in jwks["keys"][0]  # public halves only


def test_portal_logs_a_customer_in(app, client):
    ona = logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    answer = code_for(client, http, metadata, state="st-1", nonce="n-0S6_WzA2Mj")
    assert answer["state"] == "st-1"
    assert answer["iss"] == "http://localhost/velzio"  # RFC 9207
    token = exchange(http, metadata, answer)
    assert token["token_type"].lower() == "bearer"
    assert 0 < token["expires_in"] <= 300
    assert "refresh_token" not in token  # no offline_access asked
    claims = verified_claims(http, metadata, token["id_token"])
    account = ona.account()
    assert claims["aud"] == client_id
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["amr"] == ["pwd"]
    assert abs(claims["auth_time"] - time.time()) < 60
    assert claims["sub"] not in (ona.email, str(account.id))
    assert claims["email"] == ona.email and claims["email_verified"] is True
    info = http.get(metadata["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"]
    assert (info["given_name"], info["family_name"]) == ("Ona", "Onaitė")
    assert "phone_number" not in info  # the phone scope was not asked for
    assert (
        http.request("GET", metadata["userinfo_endpoint"], withhold_token=True).status_code == 401
    )
    # The same person gets the same sub next time.
    again = code_for(client, http, metadata)
    token2 = exchange(http, metadata, again)
    assert verified_claims(http, metadata, token2["id_token"])["sub"] == claims["sub"]


def refresh_again(http, metadata, client_id, refresh_token):
    """A refresh token presented as a thief (or a confused client) would, once more."""
    return http.request(
        "POST",
        metadata["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
        withhold_token=True,
    )


def test_refresh_rotates_and_a_reused_refresh_token_revokes_its_family(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id, scope="openid email offline_access")
    metadata = discover(http)
    first = exchange(http, metadata, code_for(client, http, metadata))
    assert first["refresh_token"]
    second = http.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert http.get(metadata["userinfo_endpoint"]).status_code == 200
    reuse = refresh_again(http, metadata, client_id, first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    # The thief's use revoked the family: the newest tokens too.
    assert http.get(metadata["userinfo_endpoint"]).status_code == 401
    newest = refresh_again(http, metadata, client_id, second["refresh_token"])
    assert newest.json()["error"] == "invalid_grant"


def test_codes_and_tokens_are_stored_only_as_digests(app, client):
    """A copy of the database hands out no code, access or refresh token."""
    logged_in(client, app)
    client_id, secret = add_client(app, public=False)
    http = authlib_client(app, client_id, secret, scope="openid email offline_access")
    metadata = discover(http)
    answer = code_for(client, http, metadata)
    token = exchange(http, metadata, answer)
    handed_out = [answer["code"], token["access_token"], token["refresh_token"], secret]
    with app.app_context():
        stored = " ".join(
            str(value)
            for table in ("oidc_codes", "oidc_tokens", "oidc_clients")
            for row in db.session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
            for value in row
        )
    assert [value for value in handed_out if value in stored] == []
    assert hashlib.sha256(token["refresh_token"].encode()).hexdigest() in stored


def test_revocation_and_introspection(app, client):
    logged_in(client, app)
    client_id, secret = add_client(app, public=False)
    http = authlib_client(app, client_id, secret)
    metadata = discover(http)
    token = exchange(http, metadata, code_for(client, http, metadata))
    seen = http.introspect_token(metadata["introspection_endpoint"], token=token["access_token"])
    assert seen.json()["active"] is True and seen.json()["client_id"] == client_id
    assert (
        http.revoke_token(metadata["revocation_endpoint"], token=token["access_token"]).status_code
        == 200
    )
    assert http.get(metadata["userinfo_endpoint"]).status_code == 401
    seen = http.introspect_token(metadata["introspection_endpoint"], token=token["access_token"])
    assert seen.json() == {"active": False}
    # A public client cannot introspect.
    public_id, _ = add_client(app)
    public = authlib_client(app, public_id)
    refused = public.request(
        "POST",
        metadata["introspection_endpoint"],
        data={"token": token["access_token"], "client_id": public_id},
        withhold_token=True,
    )
    assert refused.status_code in (400, 401) and refused.json()["error"] == "invalid_client"


def test_logout_from_the_portal_ends_our_session(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    token = exchange(http, metadata, code_for(client, http, metadata))
    path = metadata["end_session_endpoint"].removeprefix("http://localhost")
    response = client.get(
        path,
        query_string={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": PORTAL_LOGOUT,
            "state": "bye",
        },
    )
    assert returned(response) == {"state": "bye"}
    assert client.get("/velzio/account/").status_code == 302  # to the login page


def test_logout_to_an_unregistered_address_stays_with_us(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    token = exchange(http, metadata, code_for(client, http, metadata))
    response = client.get(
        "/velzio/oidc/logout",
        query_string={"id_token_hint": token["id_token"], "post_logout_redirect_uri": PORTAL},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/velzio/")


def test_third_party_app_asks_consent_once_and_can_be_disconnected(app, client):
    ona = logged_in(client, app)
    client_id, _ = add_client(app, first_party=False, name="Skaitliukų programa")
    http = authlib_client(app, client_id)
    metadata = discover(http)
    url = authorize_url(http, metadata)
    page = follow(client, url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Skaitliukų programa" in html and "Jūsų el. pašto adresą" in html
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    path = url.removeprefix("http://localhost")
    allowed = client.post(path, data={"csrf_token": csrf_from(html), "decision": "allow"})
    token = exchange(http, metadata, returned(allowed))
    # Remembered: the next request goes straight back with a code.
    assert "code" in code_for(client, http, metadata)
    apps = client.get("/velzio/account/apps").get_data(as_text=True)
    assert "Skaitliukų programa" in apps
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == ona.email))
        assert account is not None
    action = apps.split('action="')[1].split('"')[0]
    done = client.post(action, data={"csrf_token": csrf_from(apps)})
    assert done.status_code == 303
    assert "Skaitliukų programa" not in client.get("/velzio/account/apps").get_data(as_text=True)
    http.token = token
    assert http.get(metadata["userinfo_endpoint"]).status_code == 401


def test_a_refused_consent_tells_the_app(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app, first_party=False)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    url = authorize_url(http, metadata, state="s")
    html = follow(client, url).get_data(as_text=True)
    refused = client.post(
        url.removeprefix("http://localhost"),
        data={"csrf_token": csrf_from(html), "decision": "deny"},
    )
    assert returned(refused)["error"] == "access_denied"
    assert returned(refused)["iss"] == "http://localhost/velzio"


def test_prompt_none_without_a_session_answers_login_required(app, client):
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    answer = code_for(client, http, metadata, prompt="none", state="quiet")
    assert answer["error"] == "login_required"
    assert answer["state"] == "quiet" and answer["iss"] == "http://localhost/velzio"


def test_without_a_session_the_login_page_leads_back_to_the_portal(app, client):
    ona = Customer(client, app, "velzio")
    ona.register()
    client.get("/velzio/account/")  # not logged in
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    url = authorize_url(http, metadata, login_hint=ona.email, ui_locales="en")
    page = follow(client, url)
    html = page.get_data(as_text=True)
    assert page.request.path == "/velzio/"
    assert "<h1>Log in to the self-service</h1>" in html  # ui_locales=en
    assert f'value="{ona.email}"' in html  # login_hint
    # The browser may be sent on to the portal after the form (form-action).
    assert "https://portal.example" in page.headers["Content-Security-Policy"]
    next_url = page.request.args["next"]
    response = submit(
        client,
        page.request.full_path,
        {"email": ona.email, "password": ona.password, "next": next_url},
    )
    assert response.status_code == 303
    assert "code" in returned(follow(client, response.headers["Location"]))


def test_prompt_login_asks_for_the_password_again(app, client):
    ona = logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    first = verified_claims(
        http, metadata, exchange(http, metadata, code_for(client, http, metadata))["id_token"]
    )
    time.sleep(1.1)  # auth_time has a resolution of one second
    page = follow(client, authorize_url(http, metadata, prompt="login"))
    assert page.request.path == "/velzio/" and page.status_code == 200
    response = submit(
        client,
        page.request.full_path,
        {
            "email": ona.email,
            "password": ona.password,
            "next": page.request.args["next"],
            "reauth": "1",
        },
    )
    answer = returned(follow(client, response.headers["Location"]))
    claims = verified_claims(http, metadata, exchange(http, metadata, answer)["id_token"])
    assert claims["auth_time"] > first["auth_time"]
    assert claims["sub"] == first["sub"]


def test_max_age_zero_sends_a_logged_in_person_to_log_in(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    page = follow(client, authorize_url(http, discover(http), max_age="0"))
    assert page.request.path == "/velzio/" and page.request.args["reauth"] == "1"
    assert "max_age" not in page.request.args["next"]


def test_a_password_change_ends_the_tokens_applications_hold(app, client):
    """A thief's refresh token must not outlive the password the owner changed."""
    person = logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id, scope="openid email offline_access")
    metadata = discover(http)
    token = exchange(http, metadata, code_for(client, http, metadata))
    assert http.get(metadata["userinfo_endpoint"]).status_code == 200
    changed = submit(
        client,
        "/velzio/account/password",
        {"current_password": person.password, "password": "Kitas4321x", "password2": "Kitas4321x"},
    )
    assert changed.status_code in (200, 303), changed.status_code
    assert http.get(metadata["userinfo_endpoint"]).status_code == 401
    refreshed = refresh_again(http, metadata, client_id, token["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    # The owner logs in through the portal again as before.
    fresh = exchange(http, metadata, code_for(client, http, metadata))
    assert http.get(metadata["userinfo_endpoint"]).status_code == 200
    assert fresh["refresh_token"] != token["refresh_token"]

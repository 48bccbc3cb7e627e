"""A second, independent client library (`oic`, the Roland Hedberg pyoidc
project) against the provider served on a real port: discovery, the code
flow of a confidential client, its ID token checked by oic against our
JWKS, and userinfo."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oic import rndstr
from oic.oic import Client
from oic.oic.message import AuthorizationResponse, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from support.apps import ServerLikeClient, base_config
from support.forms import csrf_from
from support.oidc import PORTAL, add_client
from support.people import Customer
from support.servers import free_port
from werkzeug.serving import make_server

from webapp import create_app


@pytest.fixture
def served(app, database, tmp_path):
    """The app on a free port of 127.0.0.1, its public URL that address."""
    port = free_port()
    live = create_app(base_config(tmp_path, database, PUBLIC_URL=f"http://127.0.0.1:{port}"))
    live.test_client_class = ServerLikeClient
    server = make_server("127.0.0.1", port, live, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield live, f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_oic_logs_in_through_the_provider(app, client, served):
    live, base = served
    ona = Customer(live.test_client(), live, "velzio")
    ona.register()
    client_id, secret = add_client(live, public=False)

    oic = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    config = oic.provider_config(f"{base}/velzio")
    assert config["issuer"] == f"{base}/velzio"
    oic.store_registration_info(
        RegistrationResponse(client_id=client_id, client_secret=secret, redirect_uris=[PORTAL])
    )
    state, nonce = rndstr(), rndstr()
    request = oic.construct_AuthorizationRequest(
        request_args={
            "client_id": client_id,
            "response_type": "code",
            "scope": ["openid", "email", "profile"],
            "nonce": nonce,
            "redirect_uri": PORTAL,
            "state": state,
        }
    )
    url = request.request(oic.authorization_endpoint)

    # The browser: our login page, then back to the portal with a code.
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert urlsplit(page.url).path == "/velzio/"
    answer = browser.post(
        page.url,
        data={
            "csrf_token": csrf_from(page.text),
            "email": ona.email,
            "password": ona.password,
            "next": parse_qs(urlsplit(page.url).query)["next"][0],
        },
        allow_redirects=False,
        timeout=10,
    )
    location = answer.headers["Location"]
    while not location.startswith(PORTAL):
        answer = browser.get(location if "://" in location else base + location,
                             allow_redirects=False, timeout=10)  # fmt: skip
        location = answer.headers["Location"]

    response = oic.parse_response(
        AuthorizationResponse, info=urlsplit(location).query, sformat="urlencoded"
    )
    assert response["state"] == state
    tokens = oic.do_access_token_request(
        state=state,
        request_args={"code": response["code"], "redirect_uri": PORTAL},
        authn_method="client_secret_basic",
    )
    id_token = tokens["id_token"]  # verified by oic: signature (JWKS), iss, aud, nonce
    assert id_token["iss"] == f"{base}/velzio"
    assert id_token["nonce"] == nonce
    assert id_token["aud"] == [client_id]
    # oic sends the token in a POST body unless told GET; we take the header only.
    info = oic.do_user_info_request(method="GET", state=state)
    assert info["sub"] == id_token["sub"]
    assert info["email"] == ona.email and info["given_name"] == "Ona"

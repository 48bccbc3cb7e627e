"""Signing keys and clients as an operator manages them: `flask oidc keys
rotate`, `flask oidc clients add|list|rotate-secret|remove|demo`."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from support.apps import tenant
from support.oidc import (
    PORTAL,
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

from webapp import sealing
from webapp.extensions import db
from webapp.models import utcnow
from webapp.oidc.models import Client, SigningKey


def id_token(client, app, http, metadata):
    return exchange(http, metadata, returned(follow(client, authorize_url(http, metadata))))[
        "id_token"
    ]


def test_rotation_keeps_the_old_key_published_until_its_tokens_expire(app, client):
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    old = id_token(client, app, http, metadata)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["oidc", "keys", "rotate", "velzio"])
    assert result.exit_code == 0, result.output
    new = id_token(client, app, http, metadata)
    # Both verify: the old key is still in the JWKS.
    assert (
        verified_claims(http, metadata, old)["sub"] == verified_claims(http, metadata, new)["sub"]
    )
    kids = [
        k["kid"]
        for k in http.request("GET", metadata["jwks_uri"], withhold_token=True).json()["keys"]
    ]
    assert len(kids) == 2
    with app.app_context():
        db.session.execute(
            update(SigningKey)
            .where(SigningKey.retired_at.is_not(None))
            .values(
                retired_at=utcnow() - timedelta(seconds=app.config["OIDC_ID_TOKEN_SECONDS"] + 1)
            )
        )
        db.session.commit()
    keys = http.request("GET", metadata["jwks_uri"], withhold_token=True).json()["keys"]
    assert len(keys) == 1 and keys[0]["kid"] == kids[0]


def test_a_private_key_is_not_readable_from_the_database(app, client):
    with app.app_context():
        from webapp.oidc.keys import current_key, private_key

        row = current_key(tenant("velzio"))
        stored = db.session.execute(text("SELECT private_key FROM oidc_keys")).scalar_one()
        assert "PRIVATE KEY" not in stored and "-----" not in stored
        assert private_key(row).as_dict(private=True)["d"]
        app.config["SECRET_KEY"] = "another-secret"
        with pytest.raises(sealing.Unreadable):
            private_key(row)


def test_clients_cli(app):
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=["oidc", "clients", "add", "velzio", "--name", "Portalas", "--redirect-uri", PORTAL]
    )
    assert added.exit_code == 0, added.output
    data = json.loads(added.output)
    assert data["client_secret"] and data["public"] is False
    with app.app_context():
        row = db.session.scalar(select(Client).where(Client.client_id == data["client_id"]))
        assert data["client_secret"] not in (row.secret_digest or "")
        assert row.check_client_secret(data["client_secret"])
    listed = runner.invoke(args=["oidc", "clients", "list", "velzio"])
    assert data["client_id"] in listed.output and data["client_secret"] not in listed.output
    result = runner.invoke(args=["oidc", "clients", "rotate-secret", "velzio", data["client_id"]])
    assert result.exit_code == 0, (result.output, result.exception)
    rotated = json.loads(result.output)
    with app.app_context():
        row = db.session.scalar(select(Client).where(Client.client_id == data["client_id"]))
        assert not row.check_client_secret(data["client_secret"])
        assert row.check_client_secret(rotated["client_secret"])
    bad = runner.invoke(
        args=["oidc", "clients", "add", "velzio", "--name", "x", "--redirect-uri", "javascript:x"]
    )
    assert bad.exit_code != 0
    removed = runner.invoke(args=["oidc", "clients", "remove", "velzio", data["client_id"]])
    assert removed.exit_code == 0
    assert data["client_id"] not in runner.invoke(args=["oidc", "clients", "list", "velzio"]).output


def test_demo_clients_for_make_run(app):
    runner = app.test_cli_runner()
    assert "velzio: demo-portal added" in runner.invoke(args=["oidc", "clients", "demo"]).output
    assert runner.invoke(args=["oidc", "clients", "demo"]).output == ""  # once
    with app.app_context():
        demo = db.session.scalar(
            select(Client).where(
                Client.client_id == "demo-portal", Client.tenant_id == tenant("velzio").id
            )
        )
        assert demo.public and demo.first_party
        assert demo.redirect_uris == ["http://localhost:5002/callback"]
        assert demo.post_logout_redirect_uris == ["http://localhost:5002/"]


def test_a_secret_key_change_makes_a_new_signing_key_and_tokens_go_on(app, client, caplog):
    with app.app_context():
        from webapp.oidc.keys import current_key

        old_kid = current_key(tenant("velzio")).kid  # sealed under the first SECRET_KEY
    app.config["SECRET_KEY"] = "a-new-secret-key-after-a-leak"
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    with caplog.at_level(logging.WARNING, logger="webapp.oidc.keys"):
        token = id_token(client, app, http, metadata)
    assert verified_claims(http, metadata, token)["aud"] == client_id
    [warning] = [r for r in caplog.records if r.name == "webapp.oidc.keys"]
    assert old_kid in warning.getMessage() and "cannot be opened" in warning.getMessage()
    kids = [
        k["kid"]
        for k in http.request("GET", metadata["jwks_uri"], withhold_token=True).json()["keys"]
    ]
    # The new key signs; the old one is retired, published until its tokens expire.
    assert kids[1] == old_kid and kids[0] != old_kid
    assert jwt_kid(token) == kids[0]
    with app.app_context():
        retired = db.session.scalar(select(SigningKey).where(SigningKey.kid == old_kid))
        assert retired.retired_at is not None
    # Once only: the next token is signed with the new key, no further warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="webapp.oidc.keys"):
        assert jwt_kid(id_token(client, app, http, metadata)) == kids[0]
    assert [r for r in caplog.records if r.name == "webapp.oidc.keys"] == []


def test_a_secret_key_change_with_the_old_key_kept_as_a_fallback_keeps_the_signing_key(
    app, client, caplog
):
    with app.app_context():
        from webapp.oidc.keys import current_key

        old = current_key(tenant("velzio"))
        old_kid, sealed_before = old.kid, old.private_key
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "a-new-secret-key-planned"
    logged_in(client, app)
    client_id, _ = add_client(app)
    http = authlib_client(app, client_id)
    metadata = discover(http)
    with caplog.at_level(logging.WARNING, logger="webapp.oidc.keys"):
        token = id_token(client, app, http, metadata)
    assert [r for r in caplog.records if r.name == "webapp.oidc.keys"] == []
    assert jwt_kid(token) == old_kid
    assert verified_claims(http, metadata, token)["aud"] == client_id
    # Sealed anew under the new key: it opens once the fallback is dropped.
    app.config["SECRET_KEY_FALLBACKS"] = []
    with app.app_context():
        from webapp.oidc.keys import private_key

        row = db.session.scalar(select(SigningKey).where(SigningKey.kid == old_kid))
        assert row.retired_at is None and row.private_key != sealed_before
        assert private_key(row).as_dict(private=True)["d"]


def jwt_kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def test_ids_and_secrets_an_operator_handles_never_start_with_a_dash(app, monkeypatch):
    """A leading "-" makes an id pasted after a command read as an option."""
    real = secrets.token_urlsafe
    draws = []

    def dash_first(nbytes=None):
        draws.append(nbytes)
        # Every other draw starts with "-", the first one of each call included.
        return "-" + real(nbytes)[1:] if len(draws) % 2 else real(nbytes)

    monkeypatch.setattr(secrets, "token_urlsafe", dash_first)
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=["oidc", "clients", "add", "velzio", "--name", "Portalas", "--redirect-uri", PORTAL]
    )
    data = json.loads(added.output)
    rotated = json.loads(
        runner.invoke(args=["oidc", "clients", "rotate-secret", "velzio", data["client_id"]]).output
    )
    key = runner.invoke(args=["oidc", "keys", "rotate", "velzio"]).output.split()[-1]
    with app.app_context():
        from webapp.oidc.claims import subject
        from webapp.security import random_id

        person = Customer(app.test_client(), app)
        person.register()
        sub = subject(person.account())
        made = [random_id(16) for _ in range(20)]
    shown = [data["client_id"], data["client_secret"], rotated["client_secret"], key, sub, *made]
    assert [value for value in shown if value.startswith("-")] == []
    assert len(key) == len(real(12)) and len(sub) == len(real(24))
    assert len(draws) > len(shown)  # the dashed draws were made, and drawn again

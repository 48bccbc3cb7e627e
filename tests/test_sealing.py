"""Secrets at rest (webapp/sealing.py): the v1 format, what it refuses, the
formats from before it, SECRET_KEY_FALLBACKS, migration 0014, and that a
database dump holds none of the secrets."""

from __future__ import annotations

import base64
import importlib.util

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, text
from support.apps import tenant
from support.factors import add_authenticator, pass_step, phone_of
from support.forms import submit
from support.people import Customer, logout
from support.texts import expected

from webapp import sealing, webhooks
from webapp.config import PROJECT_ROOT, load_config, secret_key_fallbacks
from webapp.extensions import db
from webapp.models import TotpFactor, WebhookEndpoint
from webapp.oidc import keys
from webapp.oidc.models import SigningKey

MIGRATION = PROJECT_ROOT / "webapp" / "migrations" / "versions" / "0014_sealed_secrets.py"


def migration():
    spec = importlib.util.spec_from_file_location("migration_0014", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def old_format(purpose: str, value: bytes, context: str) -> str:
    """A value as the code before sealing.py stored it (0014's downgrade
    writes the same)."""
    return migration()._old_format(purpose, value, context)


def run(step) -> None:
    with (
        db.engine.begin() as connection,
        Operations.context(MigrationContext.configure(connection)),
    ):
        step()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


# -- the format ----------------------------------------------------------------


@pytest.mark.parametrize("purpose", sealing.PURPOSES)
def test_a_value_opens_for_its_purpose_and_row(ctx, purpose):
    sealed = sealing.seal(purpose, "the secret", "row:1")
    assert sealed.startswith("v1.") and "the secret" not in sealed
    raw = base64.urlsafe_b64decode(sealed[3:] + "=" * (-len(sealed[3:]) % 4))
    assert len(raw) == 12 + len("the secret") + 16  # nonce, ciphertext, tag
    opened = sealing.unseal(purpose, sealed, "row:1")
    assert opened.text == "the secret" and opened.resealed is None
    # A random nonce each time: the same value never looks the same twice.
    assert sealing.seal(purpose, "the secret", "row:1") != sealed


def test_a_changed_value_is_refused(ctx):
    sealed = sealing.seal("webhook", "whsec_x", "1")
    body = sealed[3:]
    for changed in (
        "v1." + body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1],  # the tag
        "v1." + ("A" if body[0] != "A" else "B") + body[1:],  # the nonce
        "v1." + body[:20],  # cut short
        "v1.!!!not base64!!!",
        "",
    ):
        with pytest.raises(sealing.Unreadable):
            sealing.unseal("webhook", changed, "1")


def test_another_purpose_or_row_cannot_open_it(ctx):
    sealed = sealing.seal("totp", "JBSWY3DPEHPK3PXP", "account:1")
    with pytest.raises(sealing.Unreadable):
        sealing.unseal("totp", sealed, "account:2")
    with pytest.raises(sealing.Unreadable):
        sealing.unseal("webhook", sealed, "account:1")
    with pytest.raises(ValueError, match="unknown sealing purpose"):
        sealing.seal("anything", "x", "1")


def test_another_secret_key_cannot_open_it(ctx):
    sealed = sealing.seal("totp", "JBSWY3DPEHPK3PXP", "account:1")
    ctx.config["SECRET_KEY"] = "another-secret-key"
    with pytest.raises(sealing.Unreadable):
        sealing.unseal("totp", sealed, "account:1")


def test_a_fallback_key_opens_it_and_it_is_sealed_anew_under_the_new_key(ctx):
    old_key = ctx.config["SECRET_KEY"]
    sealed = sealing.seal("oidc-signing-key", b"pem", "kid1")
    ctx.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["unrelated", old_key])
    opened = sealing.unseal("oidc-signing-key", sealed, "kid1")
    assert opened.value == b"pem" and opened.resealed
    ctx.config["SECRET_KEY_FALLBACKS"] = []
    assert sealing.unseal("oidc-signing-key", opened.resealed, "kid1").resealed is None
    with pytest.raises(sealing.Unreadable):
        sealing.unseal("oidc-signing-key", sealed, "kid1")


@pytest.mark.parametrize(
    ("purpose", "value", "context"),
    [
        ("totp", b"JBSWY3DPEHPK3PXP", "account:7"),
        ("oidc-signing-key", b"-----BEGIN PRIVATE KEY-----", "kid7"),
        ("webhook", b"whsec_" + base64.b64encode(b"k" * 32), "7"),
    ],
)
def test_the_formats_from_before_are_read_and_sealed_anew(ctx, purpose, value, context):
    stored = old_format(purpose, value, context)
    opened = sealing.unseal(purpose, stored, context)
    assert opened.value == value
    assert opened.resealed.startswith("v1.")
    assert sealing.unseal(purpose, opened.resealed, context).resealed is None
    # Under a fallback too (the old format, the key before the change).
    old_key = ctx.config["SECRET_KEY"]
    ctx.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=[old_key])
    assert sealing.unseal(purpose, stored, context).value == value


def test_an_old_oidc_key_is_still_bound_to_its_kid(ctx):
    stored = old_format("oidc-signing-key", b"pem", "kid1")
    with pytest.raises(sealing.Unreadable):
        sealing.unseal("oidc-signing-key", stored, "kid2")


def test_secret_key_fallbacks_are_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", " old-2 , old-1,, ")
    config = load_config(tmp_path, {"APP_ENV": "testing", "SECRET_KEY": "old-1x"})
    # Flask 3.1 reads the same list for its session cookies.
    assert config["SECRET_KEY_FALLBACKS"] == ["old-2", "old-1"]
    assert secret_key_fallbacks(None) == [] and secret_key_fallbacks(["a", ""]) == ["a"]
    monkeypatch.delenv("SECRET_KEY_FALLBACKS")
    assert load_config(tmp_path, {"APP_ENV": "testing"})["SECRET_KEY_FALLBACKS"] == []


# -- the authenticator app, end to end ---------------------------------------------


@pytest.fixture
def ona(client, app):
    """Ona at Velžio, with an authenticator app, logged out."""
    person = Customer(client, app, "velzio")
    person.register()
    person.login()
    add_authenticator(client, app, "velzio", person.email)
    logout(client, "velzio")
    return person


def stored_factor(app) -> str:
    with app.app_context():
        return db.session.scalar(select(TotpFactor.secret))


def second_step_with_the_app(client, app, person):
    submit(client, "/velzio/", {"email": person.email, "password": person.password})
    return pass_step(client, "velzio", phone_of(app, "velzio", person.email).code(1))


def test_an_app_set_up_before_sealing_py_still_logs_in_and_is_sealed_anew(client, app, ona):
    phone = phone_of(app, "velzio", ona.email)
    with app.app_context():
        factor = db.session.scalar(select(TotpFactor))
        factor.secret = old_format("totp", phone.key.replace(" ", "").encode(), "")
        db.session.commit()
    assert stored_factor(app).startswith("gAAAAA")  # Fernet
    assert second_step_with_the_app(client, app, ona).headers["Location"] == "/velzio/account/"
    assert stored_factor(app).startswith("v1.")


def test_after_a_secret_key_change_the_app_works_while_the_old_key_is_a_fallback(client, app, ona):
    before = stored_factor(app)
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]])
    assert second_step_with_the_app(client, app, ona).headers["Location"] == "/velzio/account/"
    assert stored_factor(app) != before
    # Sealed under the new key: the fallback can go.
    app.config["SECRET_KEY_FALLBACKS"] = []
    with app.app_context():
        factor = db.session.scalar(select(TotpFactor))
        opened = sealing.unseal("totp", factor.secret, f"account:{factor.account_id}")
    assert opened.text == phone_of(app, "velzio", ona.email).key.replace(" ", "")


def test_without_the_fallback_the_app_is_refused_and_a_recovery_code_still_works(client, app, ona):
    app.config["SECRET_KEY"] = "the-new-key"
    refused = second_step_with_the_app(client, app, ona)
    assert refused.status_code == 422
    assert expected(app, "CODE_WRONG") in refused.get_data(as_text=True)
    code = phone_of(app, "velzio", ona.email).recovery_code()
    assert pass_step(client, "velzio", code).headers["Location"] == "/velzio/account/"


# -- migration 0014 and the dump -----------------------------------------------------


def test_migration_0014_seals_what_was_stored_before_and_its_downgrade_undoes_it(app, ona):
    phone_key = phone_of(app, "velzio", ona.email).key.replace(" ", "")
    secret = webhooks.new_secret()
    with app.app_context():
        endpoint, _ = webhooks.add_endpoint(tenant("velzio"), "http://127.0.0.1:9/hook", ["*"])
        signing = keys.current_key(tenant("velzio"))
        pem = keys.private_key(signing).as_pem(private=True)
        factor = db.session.scalar(select(TotpFactor))
        # As 0009's code left them: the secret in clear, Fernet, the old AES-GCM.
        endpoint.secret = secret
        factor.secret = old_format("totp", phone_key.encode(), "")
        signing.private_key = old_format("oidc-signing-key", pem, signing.kid)
        db.session.commit()
        ids = endpoint.id, factor.id, signing.id
        db.session.remove()

        run(migration().upgrade)
        endpoint, factor, signing = (
            db.session.get(WebhookEndpoint, ids[0]),
            db.session.get(TotpFactor, ids[1]),
            db.session.get(SigningKey, ids[2]),
        )
        assert all(
            v.startswith("v1.") for v in (endpoint.secret, factor.secret, signing.private_key)
        )
        assert webhooks.endpoint_secret(endpoint) == secret
        opened = sealing.unseal("totp", factor.secret, f"account:{factor.account_id}")
        assert opened.text == phone_key and opened.resealed is None
        assert keys.private_key(signing).as_pem(private=True) == pem
        db.session.remove()

        run(migration().downgrade)
        endpoint = db.session.get(WebhookEndpoint, ids[0])
        factor = db.session.get(TotpFactor, ids[1])
        assert endpoint.secret == secret and factor.secret.startswith("gAAAAA")
        db.session.remove()
        run(migration().upgrade)  # and again: nothing is sealed twice
        assert sealing.unseal(
            "webhook", db.session.get(WebhookEndpoint, ids[0]).secret, str(ids[0])
        )


def test_migration_0014_leaves_a_value_no_key_opens(app, ona, caplog):
    with app.app_context():
        db.session.execute(text("UPDATE totp_factors SET secret = 'gAAAAAgarbage'"))
        db.session.commit()
        run(migration().upgrade)
        assert db.session.scalar(select(TotpFactor.secret)) == "gAAAAAgarbage"
    assert "opens under no key" in caplog.text


def test_a_database_dump_holds_none_of_the_secrets(app, ona):
    phone_key = phone_of(app, "velzio", ona.email).key.replace(" ", "")
    with app.app_context():
        _, secret = webhooks.add_endpoint(tenant("velzio"), "http://127.0.0.1:9/hook", ["*"])
        pem = keys.private_key(keys.current_key(tenant("velzio"))).as_pem(private=True).decode()
        dump = "\n".join(
            repr(row)
            for table in db.metadata.sorted_tables
            for row in db.session.execute(select(table)).all()
        )
    pem_body = "".join(pem.splitlines()[1:-1])
    for plain in (phone_key, secret, secret.removeprefix("whsec_"), pem_body[:40]):
        assert plain not in dump
    assert "v1." in dump

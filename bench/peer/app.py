"""The peer in the benchmark: what a Flask team would build with Flask-Security-Too.

The same shape as Savitarna's registration and login: register (email, password
and its confirmation), confirm by an emailed link, log in; CSRF on (Flask-WTF,
Flask-Security's default), argon2id with Savitarna's parameters (webapp/config.py:
t=2, m=19 MiB, p=1), SQLAlchemy on SQLite. Mail is rendered as Flask-Security
always does and then dropped (Savitarna's benchmark keeps it in the outbox, with
no SMTP server). Started by bench/run.py on gunicorn: `gunicorn bench.peer.app:app`
with PEER_DATABASE_URL and PEER_SECRET_KEY in the environment.
"""

from __future__ import annotations

import os

from flask import Flask
from flask_security import MailUtil, Security, SQLAlchemyUserDatastore
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy

# Savitarna's defaults (webapp/config.py ARGON2_*), read the same way.
ARGON2 = {
    "argon2__type": "ID",
    "argon2__time_cost": int(os.environ.get("ARGON2_TIME_COST", "2")),
    "argon2__memory_cost": int(os.environ.get("ARGON2_MEMORY_COST", str(19 * 1024))),
    "argon2__parallelism": int(os.environ.get("ARGON2_PARALLELISM", "1")),
}

db = SQLAlchemy()
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):
    pass


class User(db.Model, fsqla.FsUserMixin):
    pass


# Flask-Security's user model names a WebAuthn table whenever the `webauthn`
# package is installed (ours is: passkeys), so the peer defines it, as its docs do.
class WebAuthn(db.Model, fsqla.FsWebAuthnMixin):
    pass


class DroppedMail(MailUtil):
    """Rendered, then not sent: the benchmark has no SMTP server."""

    def send_mail(self, template, subject, recipient, sender, body, html, **kwargs) -> None:
        return None


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ["PEER_SECRET_KEY"],
        SECURITY_PASSWORD_SALT=os.environ["PEER_SECRET_KEY"][:32],
        SQLALCHEMY_DATABASE_URI=os.environ["PEER_DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SECURITY_REGISTERABLE=True,
        SECURITY_CONFIRMABLE=True,
        SECURITY_SEND_REGISTER_EMAIL=True,
        SECURITY_PASSWORD_HASH="argon2",
        SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS=ARGON2,
        SECURITY_EMAIL_SENDER="noreply@example.com",
        # No DNS look-up of the domain (Savitarna checks the syntax only).
        SECURITY_EMAIL_VALIDATOR_ARGS={"check_deliverability": False},
        WTF_CSRF_ENABLED=True,
        WTF_CSRF_SSL_STRICT=False,  # plain http on loopback, as ours in the benchmark
        SESSION_COOKIE_SAMESITE="Lax",
    )
    db.init_app(app)
    app.security = Security(app, SQLAlchemyUserDatastore(db, User, Role), mail_util_cls=DroppedMail)

    @app.get("/healthz")
    def healthz():
        return "ok"

    return app


def prepare(app: Flask, email: str, password: str) -> None:
    """The tables and one confirmed account to log in with."""
    from flask_security import hash_password
    from flask_security.utils import naive_utcnow

    with app.app_context():
        db.create_all()
        app.security.datastore.create_user(
            email=email, password=hash_password(password), confirmed_at=naive_utcnow()
        )
        db.session.commit()


app = create_app() if "PEER_DATABASE_URL" in os.environ else None

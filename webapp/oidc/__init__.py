"""The OpenID Connect provider, one issuer per tenant (https://HOST/<tenant>):
discovery, keys, authorization (our login and consent pages), token,
userinfo, revocation, introspection, logout, and the customer's list of
connected applications. The protocol is Authlib's (server.py)."""

from flask import Blueprint, Flask

bp = Blueprint("oidc", __name__, url_prefix="/<tenant:tenant>")


def init_app(app: Flask) -> None:
    from ..accounts import on_sessions_ended
    from . import cli, server
    from .flows import revoke_tokens_of
    from .views import allow_redirect_after_login

    server.init_app(app)
    cli.init_app(app)
    on_sessions_ended(app, revoke_tokens_of)
    app.after_request(allow_redirect_after_login)


from . import views  # noqa: E402,F401

"""Authlib's authorization server, wired to our rows. One server per app; it
serves every tenant, and each of its look-ups reads the request's tenant
(g.tenant, set by tenants.pull_tenant from the URL) and nothing else, so a
client, code or token of one tenant is never found at another."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import Flask, current_app, g
from sqlalchemy import exists, or_, select, update

from ..extensions import db
from ..models import utcnow
from .claims import subject, user_claims
from .keys import ALG, jwks, signing_key
from .models import AuthorizationCode, Client, OAuthToken, digest
from .urls import issuer

ANY_CLIENT_AUTH = ["client_secret_basic", "client_secret_post", "none"]


def _tenant_id() -> int:
    return g.tenant.id


def query_client(client_id: str) -> Client | None:
    if not isinstance(client_id, str) or len(client_id) > 64:
        return None
    return db.session.scalar(
        select(Client).where(Client.tenant_id == _tenant_id(), Client.client_id == client_id)
    )


def save_token(token: dict, request) -> None:
    """Store what the token endpoint hands out (digests only). A refresh
    keeps its family; a code starts one."""
    now = utcnow()
    old = getattr(request, "refresh_token", None)
    code = getattr(request, "authorization_code", None)
    refresh = token.get("refresh_token")
    config = current_app.config
    row = OAuthToken(
        tenant_id=_tenant_id(),
        client_pk=request.client.id,
        account_id=request.user.id,
        code_id=code.id if code is not None else (old.code_id if old is not None else None),
        family=old.family if old is not None else secrets.token_hex(16),
        access_digest=digest(token["access_token"]),
        refresh_digest=digest(refresh) if refresh else None,
        scope=token.get("scope", ""),
        issued_at=now,
        expires_at=now + timedelta(seconds=token["expires_in"]),
        refresh_expires_at=(
            now + timedelta(seconds=config["OIDC_REFRESH_TOKEN_SECONDS"]) if refresh else None
        ),
    )
    db.session.add(row)
    db.session.commit()


def revoke_family(family: str) -> None:
    db.session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.tenant_id == _tenant_id(),
            OAuthToken.family == family,
            OAuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


def _wants_refresh(scope: str | None) -> bool:
    return "offline_access" in (scope or "").split()


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT_AUTH

    def generate_token(self, *args, include_refresh_token=True, scope=None, **kwargs):
        # A refresh token only for offline_access (OpenID Connect Core 11).
        return super().generate_token(
            *args, scope=scope, include_refresh_token=_wants_refresh(scope), **kwargs
        )

    def save_authorization_code(self, code: str, request) -> None:
        login = g.oidc_login
        now = utcnow()
        data = request.payload.data
        db.session.add(
            AuthorizationCode(
                tenant_id=_tenant_id(),
                client_pk=request.client.id,
                account_id=request.user.id,
                login_id=login.id,
                digest=digest(code),
                redirect_uri=request.payload.redirect_uri or request.client.redirect_uris[0],
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=login.authenticated_at,
                amr=list(login.amr),
                expires_at=now + timedelta(seconds=current_app.config["OIDC_CODE_SECONDS"]),
            )
        )
        db.session.commit()

    def query_authorization_code(self, code: str, client: Client):
        """The code, used up here at once (a conditional UPDATE, so of two
        requests with one code only one gets it). A code presented again is
        refused and revokes what it was exchanged for (RFC 6749 4.1.2)."""
        if not isinstance(code, str) or len(code) > 200:
            return None
        row = db.session.scalar(
            select(AuthorizationCode).where(
                AuthorizationCode.tenant_id == _tenant_id(),
                AuthorizationCode.digest == digest(code),
                AuthorizationCode.client_pk == client.id,
            )
        )
        if row is None:
            return None
        claimed = db.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if claimed.rowcount != 1:
            families = db.session.scalars(
                select(OAuthToken.family).where(OAuthToken.code_id == row.id)
            ).all()
            for family in set(families):
                revoke_family(family)
            db.session.commit()
            return None
        db.session.commit()
        if row.expires_at <= utcnow():
            return None
        return row

    def delete_authorization_code(self, authorization_code) -> None:
        pass  # used up when it was looked up

    def authenticate_user(self, authorization_code: AuthorizationCode):
        return authorization_code.account


class PKCE(CodeChallenge):
    """PKCE with S256 only: required of public clients from the authorization
    request on, accepted from confidential ones (RFC 7636, RFC 9700 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if grant.request.client.public and not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE is required).")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        return super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code):
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code):
        return authorization_code.code_challenge_method


def _signing_key():
    """The tenant's signing key, once per request: the header (asked for
    first) names the very key that then signs, even if opening it made a new one."""
    if "oidc_signing_key" not in g:
        g.oidc_signing_key = signing_key(g.tenant)
    return g.oidc_signing_key


class OpenIDConnect(OpenIDCode):
    """ID tokens signed with the tenant's current key, `iss` the tenant's issuer."""

    def exists_nonce(self, nonce: str, request) -> bool:
        return bool(
            db.session.scalar(
                select(
                    exists().where(
                        AuthorizationCode.tenant_id == _tenant_id(),
                        AuthorizationCode.client_pk == request.client.id,
                        AuthorizationCode.nonce == nonce,
                    )
                )
            )
        )

    def resolve_client_private_key(self, client):
        return _signing_key()[1]

    def get_client_algorithm(self, client) -> str:
        return ALG

    def get_encode_header(self, client) -> dict:
        return {"alg": ALG, "kid": _signing_key()[0].kid, "typ": "JWT"}

    def get_client_claims(self, client) -> dict:
        now = int(time.time())
        return {
            "iss": issuer(g.settings),
            "aud": client.client_id,
            "iat": now,
            "exp": now + current_app.config["OIDC_ID_TOKEN_SECONDS"],
        }

    def generate_user_info(self, user, scope: str) -> dict:
        return user_claims(user, scope, g.settings.kind.name)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Rotated on every use; a refresh token used twice (a stolen copy, or the
    thief's) is refused and revokes its whole family (RFC 9700 4.14.2)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ANY_CLIENT_AUTH
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str):
        if not isinstance(refresh_token, str) or len(refresh_token) > 200:
            return None
        row = db.session.scalar(
            select(OAuthToken).where(
                OAuthToken.tenant_id == _tenant_id(),
                OAuthToken.refresh_digest == digest(refresh_token),
            )
        )
        if row is None or not row.check_client(self.request.client):
            return None
        claimed = db.session.execute(
            update(OAuthToken)
            .where(
                OAuthToken.id == row.id,
                OAuthToken.refreshed_at.is_(None),
                OAuthToken.revoked_at.is_(None),
            )
            .values(refreshed_at=utcnow())
        )
        if claimed.rowcount != 1:
            revoke_family(row.family)
            db.session.commit()
            return None
        db.session.commit()
        if row.refresh_expires_at is None or row.refresh_expires_at <= utcnow():
            return None
        return row

    def authenticate_user(self, refresh_token: OAuthToken):
        account = refresh_token.account
        # Blocking ends an account's tokens; this refuses any made since.
        return account if account.blocked_at is None else None

    def revoke_old_credential(self, refresh_token: OAuthToken) -> None:
        pass  # marked refreshed when it was looked up


def _find_token(token_string: str, hint: str | None) -> OAuthToken | None:
    if not isinstance(token_string, str) or len(token_string) > 200:
        return None
    value = digest(token_string)
    columns = {
        "access_token": (OAuthToken.access_digest,),
        "refresh_token": (OAuthToken.refresh_digest,),
    }.get(hint or "", (OAuthToken.access_digest, OAuthToken.refresh_digest))
    return db.session.scalar(
        select(OAuthToken).where(
            OAuthToken.tenant_id == _tenant_id(), or_(*(column == value for column in columns))
        )
    )


class Revocation(RevocationEndpoint):
    """RFC 7009: a refresh token's revocation ends its family; an access
    token's ends that token."""

    CLIENT_AUTH_METHODS = ANY_CLIENT_AUTH

    def query_token(self, token_string, token_type_hint):
        found = _find_token(token_string, token_type_hint)
        if found is None and token_type_hint:
            found = _find_token(token_string, None)  # the hint may be wrong (7009 2.1)
        if found is not None:
            found.presented_refresh = found.refresh_digest == digest(token_string)
        return found

    def revoke_token(self, token: OAuthToken, request) -> None:
        if token.presented_refresh:
            revoke_family(token.family)
        else:
            token.revoked_at = token.revoked_at or utcnow()
        db.session.commit()


class Introspection(IntrospectionEndpoint):
    """RFC 7662, for confidential clients, about their own tokens."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return _find_token(token_string, token_type_hint or "access_token")

    def check_permission(self, token: OAuthToken, client: Client, request) -> bool:
        return token.client_pk == client.id

    def introspect_token(self, token: OAuthToken) -> dict:
        return {
            "active": True,
            "client_id": token.client.client_id,
            "token_type": "Bearer",
            "scope": token.scope,
            "sub": subject(token.account),
            "iss": issuer(g.settings),
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.issued_at.timestamp()),
        }


class Issuer(IssuerParameter):
    def get_issuer(self) -> str:
        return issuer(g.settings)


class EndSession(EndSessionEndpoint):
    """RP-initiated logout; the logout itself is done by the view (it owns
    the browser's session)."""

    def get_server_jwks(self):
        return jwks(g.tenant)

    def get_algorithms(self) -> list[str]:
        return [ALG]  # never "none", whatever the hint's header says

    def validate_request(self, request):
        validated = super().validate_request(request)
        claims = validated.id_token_claims
        if claims is not None and claims.get("iss") != issuer(g.settings):
            raise InvalidRequestError("'id_token_hint' was not issued here.")
        return validated

    def end_session(self, end_session_request) -> None:
        pass


class AccessTokens(BearerTokenValidator):
    def authenticate_token(self, token_string: str):
        if not isinstance(token_string, str) or len(token_string) > 200:
            return None
        return db.session.scalar(
            select(OAuthToken).where(
                OAuthToken.tenant_id == _tenant_id(),
                OAuthToken.access_digest == digest(token_string),
            )
        )


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "OAUTH2_TOKEN_EXPIRES_IN",
        {
            "authorization_code": app.config["OIDC_ACCESS_TOKEN_SECONDS"],
            "refresh_token": app.config["OIDC_ACCESS_TOKEN_SECONDS"],
        },
    )
    app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [PKCE(required=True), OpenIDConnect()])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_endpoint(EndSession)
    server.register_extension(Issuer())
    protector = ResourceProtector()
    protector.register_token_validator(AccessTokens())
    app.extensions["oidc"] = (server, protector)


def authorization_server() -> AuthorizationServer:
    return current_app.extensions["oidc"][0]


def resource_protector() -> ResourceProtector:
    return current_app.extensions["oidc"][1]

"""The provider's endpoints and pages. Thin: Authlib (server.py) checks the
protocol, flows.py keeps consents."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from ..auth.forms import LinkForm
from ..auth.sessions import current_login, log_out
from ..extensions import csrf, limiter
from ..htmx import render
from ..limits import oidc_client_key, oidc_failed, refunded_unless, setting
from ..messages import message
from ..models import utcnow
from ..security_headers import never_framed
from . import bp
from .claims import SCOPE_TEXTS, subject, user_claims
from .flows import connected_apps, grant_consent, has_consent, revoke_consent
from .keys import ALG, jwks
from .models import SCOPES
from .server import authorization_server, query_client, resource_protector
from .urls import endpoint_url, issuer

# The cookie that marks the browser an authorization request started in, and
# how long it is kept (a registration's confirmation may take a while).
FLOW_COOKIE = "oidc_flow"
FLOW_SECONDS = 3600
# Claims we may release (discovery's claims_supported).
CLAIMS = (
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "at_hash",
    "name", "given_name", "family_name", "locale", "email", "email_verified",
    "phone_number", "phone_number_verified", "profile_kind", "company_code",
    "contract_number", "invoices_by_email", "sms_consent",
)  # fmt: skip


@bp.get("/.well-known/openid-configuration")
def discovery():
    """OpenID Provider metadata (OpenID Connect Discovery 1.0, RFC 8414)."""
    settings = g.settings
    urls = {
        name: endpoint_url(settings, f"oidc.{endpoint}")
        for name, endpoint in (
            ("authorization_endpoint", "authorize"),
            ("token_endpoint", "token"),
            ("userinfo_endpoint", "userinfo"),
            ("jwks_uri", "keys"),
            ("revocation_endpoint", "revoke"),
            ("introspection_endpoint", "introspect"),
            ("end_session_endpoint", "end_session"),
        )
    }
    auth_methods = ["client_secret_basic", "client_secret_post", "none"]
    return _public_json(
        {
            "issuer": issuer(settings),
            **urls,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALG],
            "scopes_supported": list(SCOPES),
            "claims_supported": list(CLAIMS),
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": auth_methods[:2],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login", "consent"],
            "ui_locales_supported": list(current_app.config["LANGUAGES"]),
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
        }
    )


@bp.get("/oidc/jwks")
def keys():
    """The tenant's public signing keys, the retired ones as long as needed."""
    return _public_json(jwks(g.tenant))


def _public_json(data: dict):
    response = jsonify(data)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.max_age = 300
    response.cache_control.public = True
    return response


@bp.route("/oidc/authorize", methods=["GET", "POST"])
def authorize():
    """The authorization endpoint: sends the person through our login page
    when needed, asks a third-party client's consent, and redirects back
    with a code. Requests we cannot trust to redirect (unknown client or
    redirect URI) get our error page."""
    server = authorization_server()
    user = current_user._get_current_object() if current_user.is_authenticated else None
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return _refuse(error)
    data = request.values
    prompts = data.get("prompt", "").split()
    login = current_login() if user is not None else None
    if user is None or login is None or grant.prompt == "login" or _too_old(login):
        if "none" in prompts:
            return _refuse(
                LoginRequiredError(redirect_uri=grant.redirect_uri, state=data.get("state"))
            )
        return _to_login(reauth=user is not None)
    client = grant.client
    scope = grant.request.scope
    if not client.first_party and ("consent" in prompts or not has_consent(user, client, scope)):
        if "none" in prompts:
            return _refuse(
                ConsentRequiredError(redirect_uri=grant.redirect_uri, state=data.get("state"))
            )
        form = LinkForm()
        if not form.validate_on_submit():
            return never_framed(_consent_page(client, scope, form))
        if request.form.get("decision") != "allow":
            return server.create_authorization_response(grant=grant, grant_user=None)
        grant_consent(g.tenant, user, client, scope)
    g.oidc_login = login
    return server.create_authorization_response(grant=grant, grant_user=user)


def _consent_page(client, scope: str, form):
    response = render(
        "oidc/consent.html",
        client=client,
        scopes=[SCOPE_TEXTS[s] for s in scope.split() if s in SCOPE_TEXTS],
        form=form,
    )
    # The "Allow" button's answer redirects to the client: a form's redirect
    # must be allowed by form-action.
    return _allow_form_target(response, client.redirect_uris)


def _too_old(login) -> bool:
    """Whether max_age asks for a newer login than this one."""
    value = request.values.get("max_age")
    if value is None:
        return False
    try:
        seconds = int(value)
    except ValueError:
        return True  # asked for something we cannot honour: log in again
    return (utcnow() - login.authenticated_at).total_seconds() > max(seconds, 0)


def _to_login(reauth: bool):
    """Our login page, returning (through `resume`) to this authorization
    request without what asked for the new login (prompt=login, max_age):
    the login just made answers them. A cookie marks this browser as the one
    that started the request (see `resume`)."""
    kept = []
    for key, value in request.args.items(multi=True):
        if key == "max_age":
            continue
        if key == "prompt":
            value = " ".join(p for p in value.split() if p != "login")
            if not value:
                continue
        kept.append((key, value))
    query = urlencode(kept)
    language = str(get_locale())  # selects it, from ui_locales too (i18n.select_locale)
    login = url_for(
        "auth.login",
        next=f"{url_for('oidc.resume')}?{query}",
        login_hint=request.args.get("login_hint") or None,
        lang=language if g.get("lang_chosen") else None,
        reauth="1" if reauth else None,
    )
    response = redirect(login)
    response.set_cookie(
        FLOW_COOKIE,
        _flow_mark(kept),
        max_age=FLOW_SECONDS,
        path=f"/{g.tenant_slug}/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _flow_mark(args) -> str:
    return hashlib.sha256(urlencode(sorted(args)).encode()).hexdigest()[:32]


@bp.get("/oidc/continue")
def resume():
    """Where our login (and a registration's emailed link) returns to an
    application's authorization request. In the browser that started it,
    the request goes on (after a login if there is none yet). In another
    browser (the link opened on a phone) it cannot: the application would not
    know the answer, so this page leads to the application's start page."""
    args = list(request.args.items(multi=True))
    if request.cookies.get(FLOW_COOKIE) == _flow_mark(args):
        if current_user.is_authenticated:
            return redirect(f"{url_for('oidc.authorize')}?{urlencode(args)}")
        return redirect(url_for("auth.login", next=request.full_path))
    client = query_client(request.args.get("client_id", ""))
    if client is None:
        abort(404)
    return never_framed(render("oidc/continue.html", client=client))


def _refuse(error: OAuth2Error):
    """An error for the client at its (checked) redirect URI, with our
    issuer (RFC 9207); or, when there is no redirect URI we can trust, our
    own error page."""
    if error.redirect_uri:
        status, body, headers = error()
        location = add_params_to_uri(dict(headers)["Location"], {"iss": issuer(g.settings)})
        return redirect(location, 302)
    current_app.logger.info("oidc: refused %s: %s", error.error, error.description)
    return never_framed(render("oidc/error.html", 400, error=error.error))


# Refusals of the back channel, per address, shared by its four endpoints;
# charged first and given back for every answer that is not a refusal.
back_channel_failures = limiter.shared_limit(
    setting("RATELIMIT_OIDC_FAILURES_IP"), scope="oidc-failures"
)
client_ceiling = limiter.shared_limit(
    setting("RATELIMIT_OIDC_CLIENT"), scope="oidc-client", key_func=oidc_client_key
)


@bp.post("/oidc/token")
@csrf.exempt
@back_channel_failures
@client_ceiling
@refunded_unless(oidc_failed, "oidc-failures")
def token():
    """The token endpoint (codes, refresh tokens)."""
    return authorization_server().create_token_response()


@bp.route("/oidc/userinfo", methods=["GET", "POST"])
@csrf.exempt
@back_channel_failures
@refunded_unless(oidc_failed, "oidc-failures")
def userinfo():
    """The claims of the bearer's scopes; 401 without a valid access token."""
    try:
        found = resource_protector().acquire_token("openid")
    except OAuth2Error as error:
        status, body, headers = error()
        response = jsonify(dict(body))
        response.status_code = status
        response.headers.extend(headers)
        return response
    claims = user_claims(found.account, found.scope, g.settings.kind.name)
    response = jsonify(claims)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.post("/oidc/revoke")
@csrf.exempt
@back_channel_failures
@client_ceiling
@refunded_unless(oidc_failed, "oidc-failures")
def revoke():
    """RFC 7009 token revocation."""
    return authorization_server().create_endpoint_response("revocation")


@bp.post("/oidc/introspect")
@csrf.exempt
@back_channel_failures
@client_ceiling
@refunded_unless(oidc_failed, "oidc-failures")
def introspect():
    """RFC 7662 token introspection (confidential clients)."""
    return authorization_server().create_endpoint_response("introspection")


@bp.route("/oidc/logout", methods=["GET", "POST"])
@csrf.exempt  # an application may POST it; our own confirmation posts to end_session_confirm
def end_session():
    """RP-initiated logout: with a valid id_token_hint for the person logged
    in here, log out and return to the client's registered post-logout URI;
    otherwise ask first. An invalid hint (tampered, alg none, another issuer)
    gets our error page."""
    try:
        ending = authorization_server().validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return _refuse(error)
    claims = ending.id_token_claims or {}
    if current_user.is_authenticated and claims.get("sub") != subject(current_user):
        return never_framed(render("oidc/logout.html", client=ending.client, form=LinkForm()))
    log_out()
    return _after_logout(ending)


@bp.post("/oidc/logout/confirm")
def end_session_confirm():
    """The "Log out" button of the confirmation page (CSRF-checked)."""
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ending = authorization_server().validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return _refuse(error)
    log_out()
    return _after_logout(ending)


def _after_logout(ending):
    if ending.redirect_uri:
        return redirect(ending.redirect_uri, 303)
    flash(message("LOGGED_OUT"), "info")
    return redirect(url_for("auth.login"), 303)


@bp.get("/account/apps")
@login_required
def apps():
    """Connected apps: what the customer has allowed, with "Disconnect"."""
    return render(
        "oidc/apps.html", consents=connected_apps(g.tenant, current_user), form=LinkForm()
    )


@bp.post("/account/apps/<int:consent_id>/revoke")
@login_required
def disconnect(consent_id: int):
    """Forget a consent and revoke the app's tokens."""
    form = LinkForm()
    if not form.validate_on_submit() or not revoke_consent(g.tenant, current_user, consent_id):
        abort(404)
    flash(message("APP_DISCONNECTED"), "success")
    return redirect(url_for(".apps"), 303)


def _allow_form_target(response, uris):
    origins = sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in uris})
    policy = response.headers.get("Content-Security-Policy")
    if policy:
        response.headers["Content-Security-Policy"] = policy.replace(
            "form-action 'self'", "form-action 'self' " + " ".join(origins)
        )
    else:
        g.oidc_form_targets = origins
    return response


def allow_redirect_after_login(response):
    """after_request (runs after the security headers are set): the login
    page of an authorization request may redirect, after its form, to the
    client's redirect URI, which form-action must allow (browsers check it
    on the redirects that follow a form)."""
    targets = g.pop("oidc_form_targets", None)
    if targets is None and request.endpoint == "auth.login":
        targets = _login_next_targets()
    if targets:
        policy = response.headers.get("Content-Security-Policy", "")
        response.headers["Content-Security-Policy"] = policy.replace(
            "form-action 'self'", "form-action 'self' " + " ".join(targets)
        )
    return response


def _login_next_targets() -> list[str] | None:
    try:
        next_url = request.values.get("next", "")
    except HTTPException:  # a body the login refused (413, 415): no redirect follows
        return None
    if "tenant" not in g or not next_url.startswith(url_for("oidc.resume") + "?"):
        return None
    args = dict(parse_qsl(urlsplit(next_url).query))
    client = query_client(args.get("client_id", ""))
    uri = args.get("redirect_uri") or (client.get_default_redirect_uri() if client else None)
    if client is None or not uri or not client.check_redirect_uri(uri):
        return None
    parts = urlsplit(uri)
    return [f"{parts.scheme}://{parts.netloc}"]

"""Registration pages and the live checks. The live checks (htmx) and the full
POST build the same form and run the same validators."""

from __future__ import annotations

import hashlib
import json

from flask import abort, g, redirect, request, session, url_for
from flask_babel import get_locale

from .. import funnel
from ..auth.sessions import safe_next
from ..embed.tickets import registration_ticket
from ..extensions import limiter
from ..forms import first_error, validate_field
from ..htmx import render
from ..jobs import later
from ..limits import (
    account_key,
    client_address,
    company_key,
    contract_number_key,
    failed,
    refunded_unless,
    setting,
)
from ..pagecache import blank_form_page
from ..security import hash_password
from ..tenants import current_settings
from . import bp
from .flows import Registration, register_customer
from .forms import registration_form


def no_contract() -> bool:
    """exempt_when: only requests that look up the contract registry count
    towards the contract limit (it stops guessing numbers and codes)."""
    field = (request.view_args or {}).get("field")
    asks = field in (None, "contract_number") and request.form.get("is_customer") == "yes"
    return not (asks and request.form.get("contract_number"))


def contract_limits(view):
    """The contract look-up limits, shared by the full POST and the live check:
    per address, and from all addresses together per contract number and per
    company code tried. Those two keep only refused look-ups (422), so a
    double-clicked registration or a customer's own checks do not use them up;
    they are reserved before the look-up all the same."""
    view = refunded_unless(failed, "contract-company", "contract-number")(view)
    for name, scope, key_func in (
        ("RATELIMIT_CONTRACT_COMPANY", "contract-company", company_key),
        ("RATELIMIT_CONTRACT_NUMBER", "contract-number", contract_number_key),
    ):
        view = limiter.shared_limit(
            setting(name), scope=scope, key_func=key_func, methods=["POST"], exempt_when=no_contract
        )(view)
    return limiter.shared_limit(
        setting("RATELIMIT_CONTRACT_IP"),
        scope="contract",
        methods=["POST"],
        exempt_when=no_contract,
    )(view)


def sent(response) -> bool:
    """deduct_when: a registration that went through (typing mistakes do not count)."""
    return response.status_code == 303


def _form():
    return registration_form(current_settings())


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_REGISTER_IP"), methods=["POST"])
@limiter.limit(
    setting("RATELIMIT_REGISTER_ACCOUNT"), key_func=account_key, methods=["POST"], deduct_when=sent
)
@contract_limits
def register():
    """The registration page; a valid POST registers and shows 'check your email'."""
    if request.method == "GET" and "next" in request.args:
        # Kept for the emailed link: registering from an application's login
        # leads back to it once the address is confirmed. A page that writes to
        # the session is rendered for this visitor, never from the page cache.
        session["register_next"] = safe_next(request.args["next"], g.tenant.slug)
    elif request.method == "GET":
        return blank_form_page("registration/register.html", lambda: {"form": _form()})
    form = _form()
    if form.validate_on_submit():
        data = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
        # The hash, the slow part, is made now for every registration alike; what
        # depends on whether the email has an account runs after the answer.
        later(register_customer, _registration(form, data), client_address())
        funnel.count_submitted(form)
        session["sent_to"] = form.email.data
        return redirect(url_for(".sent", _anchor=registration_ticket(form.email.data)), 303)
    if form.is_submitted():
        funnel.count_refused(form)
    return render("registration/register.html", 422 if form.errors else 200, form=form)


def _registration(form, data: dict) -> Registration:
    return Registration(
        submission=_submission(form, data),
        first_name=data["first_name"],
        last_name=data["last_name"],
        email=data["email"],
        language=str(get_locale()),
        channel=funnel.channel(),
        password_hash=hash_password(data["password"]) if data.get("password") else None,
        company_code=data.get("company_code"),
        is_customer=getattr(form, "customer", None),
        contract_number=data.get("contract_number"),
        phone=data.get("phone"),
        invoices_by_email=bool(data.get("invoices_by_email")),
        sms_consent=bool(data.get("sms_consent")),
        terms_accepted=bool(data.get("terms")),
        next=session.get("register_next"),
    )


def _submission(form, data: dict) -> str:
    """Names this form post: a double click sends the same CSRF token and the
    same fields. The password stays out (a digest of it would be a fast hash)."""
    kept = {name: value for name, value in data.items() if not name.startswith("password")}
    text = json.dumps([form.csrf_token.data, kept], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@bp.post("/register/check/<field>")
@limiter.limit(setting("RATELIMIT_CHECK_IP"))
@contract_limits
def check_field(field: str):
    """Live check of one field (htmx): its error message, 422 when there is one.

    Never says whether an email is registered: the email check is syntax only.
    The form has no token field: the request's token was checked before the
    view (embed.protect_posts), and the answer shows none, so making one for it
    (a signature) was work for nothing."""
    form = registration_form(current_settings(), meta={"csrf": False})
    if field not in form._fields:
        abort(404)
    ok = validate_field(form, field)
    return render(
        "registration/_check.html",
        200 if ok else 422,
        field=form[field],
        error=first_error(form[field]),
        funnel_marks=funnel.count_live_check(form, field, ok),
    )


@bp.post("/register/customer")
@limiter.limit(setting("RATELIMIT_CHECK_IP"))
def customer():
    """The 'are you our customer?' toggle (htmx): the contract region in its new state."""
    form = _form()
    if "is_customer" not in form:
        abort(404)
    return render("registration/_contract.html", form=form)


@bp.get("/register/sent")
def sent():
    """'Check your email': the same page whether the email was new or known."""
    return render("registration/sent.html", email=session.get("sent_to"))

"""Registration pages and the live checks. The live checks (htmx) and the full
POST build the same form and run the same validators."""

from __future__ import annotations

from flask import abort, redirect, request, session, url_for
from flask_babel import get_locale

from ..embedding import registration_ticket
from ..extensions import limiter
from ..forms import first_error, validate_field
from ..htmx import render
from ..jobs import later
from ..limits import account_key, client_address, setting
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
@limiter.shared_limit(
    setting("RATELIMIT_CONTRACT_IP"), scope="contract", methods=["POST"], exempt_when=no_contract
)
def register():
    """The registration page; a valid POST registers and shows 'check your email'."""
    form = _form()
    if form.validate_on_submit():
        data = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
        # The hash, the slow part, is made now for every registration alike; what
        # depends on whether the email has an account runs after the answer.
        later(register_customer, _registration(form, data), client_address())
        session["sent_to"] = form.email.data
        return redirect(url_for(".sent", _anchor=registration_ticket(form.email.data)), 303)
    return render("registration/register.html", 422 if form.errors else 200, form=form)


def _registration(form, data: dict) -> Registration:
    return Registration(
        first_name=data["first_name"],
        last_name=data["last_name"],
        email=data["email"],
        language=str(get_locale()),
        password_hash=hash_password(data["password"]) if data.get("password") else None,
        company_code=data.get("company_code"),
        is_customer=getattr(form, "customer", None),
        contract_number=data.get("contract_number"),
        phone=data.get("phone"),
        invoices_by_email=bool(data.get("invoices_by_email")),
        sms_consent=bool(data.get("sms_consent")),
        terms_accepted=bool(data.get("terms")),
    )


@bp.post("/register/check/<field>")
@limiter.limit(setting("RATELIMIT_CHECK_IP"))
@limiter.shared_limit(setting("RATELIMIT_CONTRACT_IP"), scope="contract", exempt_when=no_contract)
def check_field(field: str):
    """Live check of one field (htmx): its error message, 422 when there is one.

    Never says whether an email is registered: the email check is syntax only."""
    form = _form()
    if field not in form._fields or field == "csrf_token":
        abort(404)
    ok = validate_field(form, field)
    return render(
        "_macros/field_error.html",
        200 if ok else 422,
        field=form[field],
        error=first_error(form[field]),
    )


@bp.post("/register/customer")
@limiter.limit(setting("RATELIMIT_CHECK_IP"))
def customer():
    """The 'are you our customer?' toggle (htmx): the contract region in its new state."""
    form = _form()
    if not current_settings().is_business:
        abort(404)
    return render("registration/_contract.html", form=form)


@bp.get("/register/sent")
def sent():
    """'Check your email': the same page whether the email was new or known."""
    return render("registration/sent.html", email=session.get("sent_to"))

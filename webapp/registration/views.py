"""Registration pages and the live checks. The live checks (htmx) and the full
POST build the same form and run the same validators."""

from __future__ import annotations

from flask import abort, g, redirect, session, url_for
from flask_babel import get_locale

from ..forms import first_error, validate_field
from ..htmx import render
from ..tenants import current_settings
from . import bp
from .flows import Registration, register_customer
from .forms import registration_form


def _form():
    return registration_form(current_settings())


@bp.route("/register", methods=["GET", "POST"])
def register():
    """The registration page; a valid POST registers and shows 'check your email'."""
    form = _form()
    if form.validate_on_submit():
        data = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
        register_customer(g.tenant, g.settings, _registration(form, data))
        session["sent_to"] = form.email.data
        return redirect(url_for(".sent"), 303)
    return render("registration/register.html", 422 if form.errors else 200, form=form)


def _registration(form, data: dict) -> Registration:
    return Registration(
        first_name=data["first_name"],
        last_name=data["last_name"],
        email=data["email"],
        language=str(get_locale()),
        password=data.get("password"),
        company_code=data.get("company_code"),
        is_customer=getattr(form, "customer", None),
        contract_number=data.get("contract_number"),
        phone=data.get("phone"),
        invoices_by_email=bool(data.get("invoices_by_email")),
        sms_consent=bool(data.get("sms_consent")),
        terms_accepted=bool(data.get("terms")),
    )


@bp.post("/register/check/<field>")
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

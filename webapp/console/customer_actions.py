"""The action forms of the console's customer page (support role): each posts
to its own URL with a reason, the flow in actions.py does the work, and the
page comes back with what happened. A viewer sees no forms, and their posts
are refused (403)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, flash, redirect, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..htmx import render
from ..messages import message
from ..models import Account, Passkey, Tenant
from ..policy import format_phone
from ..tenants import settings_for
from . import actions, bp
from .access import console_tenant, has_role, role_at, staff_required
from .action_forms import DetailsForm, FactorForm, ReasonForm
from .search import customer_of, customer_record

# Action -> (its form, its button), in the order the page shows them.
ACTIONS = {
    "resend_confirmation": (ReasonForm, _l("Send the confirmation email again")),
    "send_password_reset": (ReasonForm, _l("Send a password reset link")),
    "correct_details": (DetailsForm, _l("Save the corrected details")),
    "remove_factor": (FactorForm, _l("Remove this way to log in")),
    "end_sessions": (ReasonForm, _l("Log the customer out everywhere")),
    "block": (ReasonForm, _l("Block the account")),
    "unblock": (ReasonForm, _l("Unblock the account")),
}


@dataclass
class ActionPanel:
    """The forms the page shows for one account (only those that apply), the
    one that failed, and why."""

    forms: dict = field(default_factory=dict)
    failed: str | None = None
    error: str | None = None


def _applies(action: str, account: Account, factors: list) -> bool:
    if action == "resend_confirmation":
        return account.email_confirmed_at is None
    if action == "send_password_reset":
        return account.blocked_at is None
    if action == "remove_factor":
        return bool(factors)
    if action == "block":
        return account.blocked_at is None
    if action == "unblock":
        return account.blocked_at is not None
    return True


def _factors(account: Account) -> list[tuple[str, str]]:
    """(value, label) of the account's factors: names only, never a secret."""
    from ..factors.flows import authenticator

    choices = [
        (f"passkey:{passkey.id}", gettext("Passkey: %(name)s", name=passkey.name))
        for passkey in db.session.scalars(
            select(Passkey)
            .where(Passkey.tenant_id == account.tenant_id, Passkey.account_id == account.id)
            .order_by(Passkey.id)
        )
    ]
    if authenticator(account) is not None:
        choices.append(("authenticator", gettext("Authenticator app")))
    return choices


def _form(action: str, tenant: Tenant, account: Account, factors, bound: bool):
    form_class = ACTIONS[action][0]
    # Only the posted form reads the post; the others are shown as new.
    kwargs = {} if bound else {"formdata": None}
    if form_class is DetailsForm and not bound:
        kwargs.update(
            first_name=account.first_name,
            last_name=account.last_name,
            phone=format_phone(account.phone) if account.phone else "",
            contract_number=account.contract_number or "",
        )
    form = form_class(prefix=action, **kwargs)
    if isinstance(form, FactorForm):
        form.factor.choices = factors
    if isinstance(form, DetailsForm) and settings_for(tenant).contract is None:
        del form.contract_number
    return form


def action_panel(tenant: Tenant, account: Account, posted: str | None = None) -> ActionPanel:
    factors = _factors(account)
    return ActionPanel(
        forms={
            action: _form(action, tenant, account, factors, bound=action == posted)
            for action in ACTIONS
            if action == posted or _applies(action, account, factors)
        }
    )


@bp.context_processor
def action_context() -> dict:
    return {"action_panel": action_panel, "action_buttons": ACTIONS, "has_role": has_role}


def _run(action: str, tenant: Tenant, staff, account: Account, form) -> None:
    reason = form.reason.data
    if action == "correct_details":
        names = [n for n in actions.CORRECTABLE if n in form]
        changes = {name: form[name].data for name in names}
        actions.correct_details(tenant, staff, account, reason, changes)
    elif action == "remove_factor":
        kind, _, number = (form.factor.data or "").partition(":")
        if kind == "passkey" and number.isdigit() and len(number) < 19:
            passkey_id = int(number)
        elif form.factor.data == "authenticator":
            passkey_id = None
        else:
            raise actions.ActionRefused("CONSOLE_FACTOR_NOT_FOUND")
        actions.remove_factor(
            tenant,
            staff,
            account,
            reason,
            identity_checked=form.identity_checked.data,
            passkey_id=passkey_id,
        )
    else:
        getattr(actions, action)(tenant, staff, account, reason)


@bp.post("/<slug>/customers/<int:account_id>/<action>")
@staff_required
def customer_action(slug: str, account_id: int, action: str):
    """One action on the customer, with the staff member's reason; back to the
    customer page, which says it is done, or shows the form with what is wrong."""
    tenant, staff = console_tenant(slug, "support")
    account = customer_of(tenant, account_id)
    if account is None or action not in ACTIONS:
        abort(404)
    panel = action_panel(tenant, account, posted=action)
    form = panel.forms[action]
    if form.validate_on_submit():
        try:
            _run(action, tenant, staff, account, form)
        except actions.ActionRefused as refused:
            panel.error = refused.text()
        else:
            flash(message("CONSOLE_DONE"), "success")
            return redirect(url_for("console.customer", slug=slug, account_id=account.id), 303)
    panel.failed = action
    db.session.refresh(account)
    return render(
        "console/customer.html",
        422,
        console_tenant=tenant,
        record=customer_record(tenant, account),
        role=role_at(staff, tenant),
        panel=panel,
        form=form,
        error=panel.error,
    )

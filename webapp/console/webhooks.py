"""The webhooks page (admin role): the utility's endpoints (add, send a test
event, remove), and the delivery log with each delivery's state and "retry
now" for one that failed. The flows are webapp/webhooks.py's, audited with
the staff member; an endpoint's secret is shown once, when it is made."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from .. import webhooks as hooks
from ..htmx import render
from ..messages import message
from . import bp
from .access import console_tenant, staff_required
from .action_forms import ButtonForm, EndpointForm

DELIVERY_STATES = {
    "waiting": _l("waiting"),
    "retrying": _l("will be retried"),
    "delivered": _l("delivered"),
    "failed": _l("failed"),
}


def _endpoint_form(**kwargs) -> EndpointForm:
    form = EndpointForm(**kwargs)
    form.types.choices = [(name, name) for name in hooks.all_types()]
    return form


def _page(tenant, status: int = 200, **context):
    failed_only = request.args.get("failed") == "1"
    context.setdefault("form", _endpoint_form(formdata=None))
    return render(
        "console/webhooks.html",
        status,
        console_tenant=tenant,
        endpoints=hooks.endpoints(tenant),
        deliveries=hooks.deliveries(tenant, failed=failed_only),
        failed_only=failed_only,
        state_of=hooks.state,
        delivery_states=DELIVERY_STATES,
        button=ButtonForm(formdata=None),
        **context,
    )


@bp.get("/<slug>/webhooks")
@staff_required
def webhooks_page(slug: str):
    """Endpoints and the newest deliveries (?failed=1: only those given up)."""
    tenant, _staff = console_tenant(slug, "admin")
    return _page(tenant)


@bp.post("/<slug>/webhooks")
@staff_required
def webhooks_add(slug: str):
    """Add an endpoint; the page then shows its secret, this once."""
    tenant, staff = console_tenant(slug, "admin")
    form = _endpoint_form()
    if not form.validate_on_submit():
        return _page(tenant, 422, form=form)
    try:
        types = hooks.parse_types(",".join(form.types.data) if form.types.data else None)
        endpoint, secret = hooks.add_endpoint(tenant, form.url.data, types, actor=staff.actor)
    except hooks.WebhookError as refused:
        # The check's own words (an address, a network) follow the translated sentence.
        error = message("CONSOLE_WEBHOOK_REFUSED", detail=str(refused))
        return _page(tenant, 422, form=form, error=error)
    return _page(tenant, new_endpoint=endpoint, new_secret=secret)


def _own_endpoint(tenant, endpoint_id: int):
    endpoint = hooks.endpoint_of(tenant, endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _button_pressed() -> None:
    if not ButtonForm().validate_on_submit():
        abort(400)


@bp.post("/<slug>/webhooks/<int:endpoint_id>/test")
@staff_required
def webhooks_test(slug: str, endpoint_id: int):
    """Queue a webhook.test event to the endpoint; the log shows how it goes."""
    tenant, staff = console_tenant(slug, "admin")
    _button_pressed()
    hooks.send_test(tenant, _own_endpoint(tenant, endpoint_id), actor=staff.actor)
    flash(message("CONSOLE_WEBHOOK_TEST_SENT"), "success")
    return redirect(url_for("console.webhooks_page", slug=slug), 303)


@bp.post("/<slug>/webhooks/<int:endpoint_id>/remove")
@staff_required
def webhooks_remove(slug: str, endpoint_id: int):
    """Remove the endpoint with its deliveries."""
    tenant, staff = console_tenant(slug, "admin")
    _button_pressed()
    hooks.remove_endpoint(tenant, _own_endpoint(tenant, endpoint_id), actor=staff.actor)
    flash(message("CONSOLE_WEBHOOK_REMOVED"), "success")
    return redirect(url_for("console.webhooks_page", slug=slug), 303)


@bp.post("/<slug>/webhooks/deliveries/<int:delivery_id>/retry")
@staff_required
def webhooks_retry(slug: str, delivery_id: int):
    """Retry now: the worker sends the delivery on its next round."""
    tenant, staff = console_tenant(slug, "admin")
    _button_pressed()
    if not hooks.retry(tenant, delivery_id, actor=staff.actor):
        abort(404)
    flash(message("CONSOLE_WEBHOOK_RETRIED"), "success")
    return redirect(url_for("console.webhooks_page", slug=slug), 303)

"""The console's action pages: the customer page's forms (support role), the
registry upload (admin) and the webhooks page (admin). Each works without
JavaScript (plain forms, redirects), is CSRF-protected and translated; a
viewer sees no forms and is refused (403) when posting; another utility's
staff cannot reach any of it."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select, update
from support.console import ConsoleUser
from support.console_actions import audit_rows
from support.people import Customer
from support.texts import expected, gettext_in

from webapp import webhooks
from webapp.console import registry
from webapp.extensions import db
from webapp.models import Contract, ContractImport, WebhookDelivery, WebhookEndpoint, utcnow

REASON = "Asked by phone, ticket 4411"
HEADER = b"contract_number,company_code,status\n"


@pytest.fixture
def ona(client, app):
    person = Customer(client, app, "velzio")
    person.register()
    assert person.login().status_code == 303
    return person


@pytest.fixture
def support(app):
    return ConsoleUser(app, "velzio", "support").log_in()


def page_of(customer) -> str:
    return f"/console/{customer.slug}/customers/{customer.account().id}"


def act(agent, customer, action: str, **fields):
    """Fill in the action's form on the customer page (its fields are prefixed
    with the action's name) and press its button."""
    data = {f"{action}-{name}": value for name, value in fields.items()}
    return agent.press(page_of(customer), f"{page_of(customer)}/{action}", data)


def signed_in(customer) -> bool:
    return customer.client.get(f"/{customer.slug}/account/").status_code == 200


# The customer page's actions


def test_support_sees_a_form_per_action_in_the_staff_members_language(app, ona, support):
    html = support.get(page_of(ona)).get_data(as_text=True)
    for button in (
        "Send a password reset link",
        "Save the corrected details",
        "Log the customer out everywhere",
        "Block the account",
    ):
        assert gettext_in(app, button) in html
    assert gettext_in(app, "Reason") in html
    # Confirmed and not blocked: nothing to send again, nothing to unblock.
    assert gettext_in(app, "Send the confirmation email again") not in html
    assert gettext_in(app, "Unblock the account") not in html


def test_blocking_from_the_page(app, ona, support):
    answer = act(support, ona, "block", reason=REASON)
    assert answer.status_code == 303 and answer.headers["Location"] == page_of(ona)
    html = support.get(page_of(ona)).get_data(as_text=True)
    assert expected(app, "CONSOLE_DONE") in html
    assert gettext_in(app, "Unblock the account") in html
    assert f" · {gettext_in(app, 'Blocked')}</p>" in html
    # The audit trail names the event and shows the reason.
    assert gettext_in(app, "Account blocked") in html and REASON in html
    assert audit_rows(app, "account_blocked") == [(support.actor, REASON, ona.account().id)]
    assert not signed_in(ona)
    assert act(support, ona, "unblock", reason=REASON).status_code == 303
    assert ona.login().status_code == 303


def test_an_action_without_a_reason_shows_the_form_again(app, ona, support):
    answer = act(support, ona, "end_sessions", reason="   ")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert expected(app, "CONSOLE_REASON_REQUIRED") in html
    assert 'id="error-summary"' in html
    assert audit_rows(app, "sessions_ended") == [] and signed_in(ona)


def test_a_correction_the_flow_refuses_is_explained(app, ona, support):
    answer = act(
        support, ona, "correct_details", first_name="Ona", last_name="Onaitė", phone="12",
        reason=REASON,
    )  # fmt: skip
    assert answer.status_code == 422
    assert expected(app, "PHONE_INVALID") in answer.get_data(as_text=True)
    answer = act(
        support, ona, "correct_details", first_name="Onutė", last_name="Onaitė",
        phone="+370 612 34567", reason=REASON,
    )  # fmt: skip
    assert answer.status_code == 303
    assert ona.account().first_name == "Onutė"


def test_removing_a_factor_from_the_page_needs_the_identity_ticked(app, client):
    jonas = Customer(client, app, "elektrum")
    jonas.register()
    agent = ConsoleUser(app, "elektrum", "support").log_in()
    html = agent.get(page_of(jonas)).get_data(as_text=True)
    assert gettext_in(app, "Authenticator app") in html
    answer = act(agent, jonas, "remove_factor", factor="authenticator", reason=REASON)
    assert answer.status_code == 422
    assert expected(app, "CONSOLE_IDENTITY_UNCHECKED") in answer.get_data(as_text=True)
    answer = act(
        agent, jonas, "remove_factor", factor="authenticator", identity_checked="y", reason=REASON
    )
    assert answer.status_code == 303
    assert audit_rows(app, "factor_removed") == [(agent.actor, REASON, jonas.account().id)]
    html = agent.get(page_of(jonas)).get_data(as_text=True)
    assert gettext_in(app, "Remove this way to log in") not in html


def test_a_viewer_sees_no_forms_and_cannot_post(app, ona):
    viewer = ConsoleUser(app, "velzio", "viewer").log_in()
    html = viewer.get(page_of(ona)).get_data(as_text=True)
    assert 'id="actions-title"' not in html and "/block" not in html
    assert act(viewer, ona, "block", reason=REASON).status_code == 403
    assert ona.account().blocked_at is None and audit_rows(app, "account_blocked") == []


def test_a_post_without_its_csrf_token_is_refused(app, ona, support):
    answer = support.client.post(f"{page_of(ona)}/block", data={"block-reason": REASON})
    assert answer.status_code == 400
    assert ona.account().blocked_at is None


def test_another_utilitys_staff_cannot_act_on_this_utilitys_customer(app, ona, client):
    elektrum = ConsoleUser(app, "elektrum", "admin").log_in()
    assert elektrum.get(page_of(ona)).status_code == 403
    html = elektrum.get("/console/").get_data(as_text=True)
    from support.forms import csrf_from

    token = csrf_from(html)
    answer = elektrum.client.post(
        f"{page_of(ona)}/block", data={"csrf_token": token, "block-reason": REASON}
    )
    assert answer.status_code == 403
    # Nor through their own utility's address with this customer's id.
    jonas = Customer(client, app, "elektrum")
    jonas.register()
    answer = elektrum.client.post(
        f"/console/elektrum/customers/{ona.account().id}/block",
        data={"csrf_token": token, "block-reason": REASON},
    )
    assert answer.status_code == 404
    assert ona.account().blocked_at is None and audit_rows(app, "account_blocked") == []


# The contract registry


@pytest.fixture
def admin(app):
    return ConsoleUser(app, "elektrum", "admin").log_in()


REGISTRY = "/console/elektrum/registry"


def upload(agent, content: bytes, name: str = "sutartys.csv", **fields):
    return agent.press(
        REGISTRY,
        REGISTRY,
        {"file": (io.BytesIO(content), name), **fields},
        content_type="multipart/form-data",
    )


def hidden(html: str, name: str) -> str:
    import re

    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)


def test_upload_preview_then_apply(app, admin):
    content = HEADER + b"4100012345,110053842,active\n4100000001,110053842,active\n"
    answer = upload(admin, content)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert gettext_in(app, "Apply this file") in html
    with app.app_context():
        assert db.session.scalar(
            select(Contract).where(Contract.contract_number == "4100000001")
        ) is None  # fmt: skip
    applied = admin.client.post(
        f"{REGISTRY}/apply",
        data={
            "csrf_token": hidden(html, "csrf_token"),
            "upload": hidden(html, "upload"),
            "digest": hidden(html, "digest"),
        },
    )
    assert applied.status_code == 303
    html = admin.get(REGISTRY).get_data(as_text=True)
    assert expected(app, "CONSOLE_IMPORTED", created=1, updated=0, unchanged=1, ended=0) in html
    assert "sutartys.csv" in html
    with app.app_context():
        [row] = db.session.scalars(select(ContractImport)).all()
        assert (row.actor, row.created, row.unchanged) == (admin.actor, 1, 1)
    # The same preview cannot be applied twice.
    again = admin.client.post(
        f"{REGISTRY}/apply",
        data={"csrf_token": hidden(html, "csrf_token"), "upload": "1", "digest": "x"},
    )
    assert again.status_code == 409
    assert expected(app, "CONSOLE_UPLOAD_GONE") in again.get_data(as_text=True)


def test_a_bad_line_is_shown_by_number_in_lithuanian(app, admin):
    content = HEADER + b"4100000001,110053842,active\n4100000002,110053843,active\n"
    answer = upload(admin, content)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    reason = gettext_in(
        app, "company code “%(code)s” is not a valid 9-digit code", code="110053843"
    )
    assert gettext_in(app, "Line %(line)d: %(reason)s", line=3, reason="") + reason in html
    assert gettext_in(app, "Apply this file") not in html


@pytest.mark.parametrize(
    ("content", "key"),
    [
        (HEADER + "4100000001,110053842,aktyvi ė\n".encode("cp1257"), "REGISTRY_ENCODING"),
        (b"number,code\n", "REGISTRY_HEADER"),
        (b"", "REGISTRY_EMPTY"),
    ],
)
def test_a_file_that_is_not_the_export_gets_a_clear_answer(app, admin, content, key):
    answer = upload(admin, content)
    assert answer.status_code == 422
    params = {"header": "contract_number,company_code,status"} if key == "REGISTRY_HEADER" else {}
    assert expected(app, key, **params) in answer.get_data(as_text=True)


def test_a_real_export_above_the_forms_64_kb_is_accepted(app, admin):
    rows = b"".join(b"41%08d,110053842,active\n" % n for n in range(3000))
    content = HEADER + rows
    assert len(content) > 64 * 1024
    answer = upload(admin, content)
    assert answer.status_code == 200
    assert "3000" in answer.get_data(as_text=True)


def test_a_file_too_big_is_refused(app, admin, monkeypatch):
    monkeypatch.setattr(registry, "MAX_BYTES", 100)
    answer = upload(admin, HEADER + b"4100000001,110053842,active\n" * 10)
    assert answer.status_code == 422
    assert expected(app, "REGISTRY_TOO_BIG", size=0) in answer.get_data(as_text=True)


def test_no_file_chosen(app, admin):
    answer = admin.press(REGISTRY, REGISTRY, {}, content_type="multipart/form-data")
    assert answer.status_code == 422
    assert expected(app, "CONSOLE_FILE_REQUIRED") in answer.get_data(as_text=True)


def test_the_registry_is_for_admins_of_the_utility(app):
    support = ConsoleUser(app, "elektrum", "support").log_in()
    assert support.get(REGISTRY).status_code == 403
    other = ConsoleUser(app, "velzio", "admin").log_in()
    assert other.get(REGISTRY).status_code == 403
    answer = upload(other, HEADER + b"4100000001,110053842,active\n")
    assert answer.status_code == 403
    with app.app_context():
        assert db.session.scalars(select(ContractImport)).all() == []


# Webhooks


WEBHOOKS = "/console/velzio/webhooks"


@pytest.fixture
def velzio_admin(app):
    return ConsoleUser(app, "velzio", "admin").log_in()


def test_adding_an_endpoint_shows_its_secret_once(app, velzio_admin):
    answer = velzio_admin.press(
        WEBHOOKS, WEBHOOKS, {"url": "http://127.0.0.1:9/hook", "types": ["account.blocked"]}
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    with app.app_context():
        [endpoint] = db.session.scalars(select(WebhookEndpoint)).all()
        assert endpoint.event_types == ["account.blocked"]
        secret = webhooks.endpoint_secret(endpoint)  # stored sealed (webapp/sealing.py)
        assert endpoint.secret.startswith("v1.") and secret not in endpoint.secret
    assert secret.startswith("whsec_") and secret in html
    assert secret not in velzio_admin.get(WEBHOOKS).get_data(as_text=True)
    assert audit_rows(app, "webhook_endpoint_added") == [(velzio_admin.actor, None, None)]


def test_an_address_inside_the_network_is_refused_with_a_translated_reason(app, velzio_admin):
    answer = velzio_admin.press(WEBHOOKS, WEBHOOKS, {"url": "http://10.1.2.3/hook"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert expected(app, "CONSOLE_WEBHOOK_REFUSED", detail="\x00").split("\x00")[0] in html
    answer = velzio_admin.press(WEBHOOKS, WEBHOOKS, {"url": ""})
    assert answer.status_code == 422
    assert expected(app, "CONSOLE_WEBHOOK_URL_REQUIRED") in answer.get_data(as_text=True)


def test_test_event_log_retry_and_remove(app, velzio_admin):
    with app.app_context():
        from support.apps import tenant

        endpoint, _ = webhooks.add_endpoint(tenant("velzio"), "http://127.0.0.1:9/hook", ["*"])
        endpoint_id = endpoint.id
    answer = velzio_admin.press(WEBHOOKS, f"{WEBHOOKS}/{endpoint_id}/test")
    assert answer.status_code == 303
    html = velzio_admin.get(WEBHOOKS).get_data(as_text=True)
    assert expected(app, "CONSOLE_WEBHOOK_TEST_SENT") in html
    assert "webhook.test" in html and gettext_in(app, "waiting") in html
    with app.app_context():
        delivery = db.session.scalar(select(WebhookDelivery))
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id)
            .values(
                attempts=webhooks.MAX_ATTEMPTS,
                failed_at=utcnow(),
                next_attempt_at=None,
                last_status=500,
                last_error="HTTP 500",
            )
        )
        db.session.commit()
        delivery_id = delivery.id
    html = velzio_admin.get(f"{WEBHOOKS}?failed=1").get_data(as_text=True)
    assert gettext_in(app, "failed") in html and "HTTP 500" in html
    assert gettext_in(app, "Retry now") in html
    answer = velzio_admin.press(WEBHOOKS, f"{WEBHOOKS}/deliveries/{delivery_id}/retry")
    assert answer.status_code == 303
    with app.app_context():
        revived = db.session.get(WebhookDelivery, delivery_id)
        assert revived.failed_at is None and webhooks.state(revived) == "retrying"
    answer = velzio_admin.press(WEBHOOKS, f"{WEBHOOKS}/{endpoint_id}/remove")
    assert answer.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(WebhookEndpoint)).all() == []
    assert [row[0] for row in audit_rows(app, "webhook_retried")] == [velzio_admin.actor]


def test_webhooks_are_for_admins_of_the_utility(app, velzio_admin):
    with app.app_context():
        from support.apps import tenant

        endpoint, _ = webhooks.add_endpoint(tenant("velzio"), "http://127.0.0.1:9/hook", ["*"])
        endpoint_id = endpoint.id
    support = ConsoleUser(app, "velzio", "support").log_in()
    assert support.get(WEBHOOKS).status_code == 403
    other = ConsoleUser(app, "elektrum", "admin").log_in()
    assert other.get(WEBHOOKS).status_code == 403
    # Through their own utility's address, another utility's endpoint is not found.
    answer = other.press(
        "/console/elektrum/webhooks", f"/console/elektrum/webhooks/{endpoint_id}/remove"
    )
    assert answer.status_code == 404
    answer = other.press("/console/elektrum/webhooks", f"{WEBHOOKS}/{endpoint_id}/remove")
    assert answer.status_code == 403
    with app.app_context():
        assert len(db.session.scalars(select(WebhookEndpoint)).all()) == 1


# Hostile input: a translated answer and a 4xx, never a 500, nothing written


@pytest.mark.parametrize(
    ("action", "fields", "status"),
    [
        ("delete_account", {"reason": REASON}, 404),
        ("block", {"reason": "x" * 5000}, 422),
        ("block", {"reason": "\x00\x01"}, 422),
        (
            "remove_factor",
            {"factor": "passkey:99999999999999999999", "identity_checked": "y", "reason": REASON},
            422,
        ),
        ("remove_factor", {"factor": "passkey:1", "identity_checked": "y", "reason": REASON}, 422),
        ("correct_details", {"first_name": "<script>", "last_name": "X", "reason": REASON}, 422),
        ("correct_details", {"contract_number": "4100012345", "reason": REASON}, 422),
    ],
)
def test_hostile_actions_are_refused(app, ona, support, action, fields, status):
    answer = act(support, ona, action, **fields)
    assert answer.status_code == status
    assert "<script>" not in answer.get_data(as_text=True)
    assert ona.account().blocked_at is None and ona.account().first_name == "Ona"
    assert audit_rows(app, "account_blocked") == [] and audit_rows(app, "factor_removed") == []


def test_a_body_over_the_forms_limit_is_refused_for_actions(app, ona, support):
    answer = act(support, ona, "block", reason="x" * (70 * 1024))
    assert answer.status_code == 413
    assert ona.account().blocked_at is None


@pytest.mark.parametrize(
    "data", [{"upload": "abc", "digest": "x"}, {"upload": "1" * 30, "digest": ""}, {}]
)
def test_a_forged_apply_is_refused(app, admin, data):
    answer = admin.press(REGISTRY, f"{REGISTRY}/apply", data)
    assert answer.status_code == 409
    with app.app_context():
        assert db.session.scalars(select(ContractImport)).all() == []


def test_an_unknown_event_type_is_refused(app, velzio_admin):
    answer = velzio_admin.press(
        WEBHOOKS, WEBHOOKS, {"url": "http://127.0.0.1:9/hook", "types": ["account.hacked"]}
    )
    assert answer.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


@pytest.mark.parametrize(
    "path",
    [
        "/console/velzio/customers/99999999999999999999",
        "/console/velzio/customers/99999999999999999999/block",
        "/console/velzio/webhooks/99999999999999999999/test",
        "/console/velzio/webhooks/deliveries/99999999999999999999/retry",
    ],
)
def test_an_id_no_database_holds_is_not_found(app, velzio_admin, path):
    if path.endswith("9"):
        assert velzio_admin.get(path).status_code == 404
    else:
        assert velzio_admin.press(WEBHOOKS, path, {"block-reason": REASON}).status_code == 404

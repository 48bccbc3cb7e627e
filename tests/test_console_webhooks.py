"""The webhook flows behind the console's webhooks page (webapp/webhooks.py):
list, add and remove a utility's endpoints, send a test event, read the
delivery log with each delivery's state, and "retry now" a failed delivery;
each change audited with the staff member, each scoped to the tenant."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from support.apps import tenant

from webapp import webhooks
from webapp.extensions import db
from webapp.models import AuditEvent, WebhookDelivery, utcnow

URL = "http://127.0.0.1:9/hook"  # loopback over http: accepted outside production


@pytest.fixture
def velzio(app):
    with app.test_request_context("/console/"):
        yield tenant("velzio")


def audited(event: str) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.actor).where(AuditEvent.event == event)))


def test_adding_and_listing_endpoints(velzio):
    endpoint, secret = webhooks.add_endpoint(velzio, URL, ["account.blocked"], actor="staff:7")
    assert secret.startswith("whsec_")
    assert [(e.id, e.url, e.event_types) for e in webhooks.endpoints(velzio)] == [
        (endpoint.id, URL, ["account.blocked"])
    ]
    assert webhooks.endpoints(tenant("elektrum")) == []
    assert audited("webhook_endpoint_added") == ["staff:7"]


def test_an_endpoint_that_could_reach_inside_is_refused(velzio):
    with pytest.raises(webhooks.WebhookError):
        webhooks.add_endpoint(velzio, "http://10.0.0.1/hook", ["*"], actor="staff:7")
    assert webhooks.endpoints(velzio) == [] and audited("webhook_endpoint_added") == []


def test_a_test_event_goes_to_that_endpoint_only(velzio):
    first, _ = webhooks.add_endpoint(velzio, URL, ["*"])
    second, _ = webhooks.add_endpoint(velzio, URL + "2", ["login.failed"])
    delivery = webhooks.send_test(velzio, second, actor="staff:7")
    assert (delivery.endpoint_id, delivery.type) == (second.id, webhooks.TEST_TYPE)
    assert [d.endpoint_id for d in webhooks.deliveries(velzio)] == [second.id]
    assert webhooks.state(delivery) == "waiting"
    assert audited("webhook_test_sent") == ["staff:7"]


def test_the_log_shows_each_state_and_retry_now_revives_a_failed_delivery(velzio):
    endpoint, _ = webhooks.add_endpoint(velzio, URL, ["*"])
    waiting, failed, delivered, retrying = (webhooks.send_test(velzio, endpoint) for _ in range(4))
    now = utcnow()
    for delivery, values in (
        (failed, {"attempts": webhooks.MAX_ATTEMPTS, "failed_at": now, "next_attempt_at": None}),
        (delivered, {"attempts": 1, "delivered_at": now, "next_attempt_at": None}),
        (retrying, {"attempts": 2}),
    ):
        db.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values)
        )
    db.session.commit()
    log = webhooks.deliveries(velzio)
    assert [webhooks.state(d) for d in log] == ["retrying", "delivered", "failed", "waiting"]
    assert [d.id for d in webhooks.deliveries(velzio, failed=True)] == [failed.id]

    assert webhooks.retry(velzio, failed.id, actor="staff:7") is True
    db.session.expire_all()
    revived = db.session.get(WebhookDelivery, failed.id)
    assert webhooks.state(revived) == "retrying" and revived.next_attempt_at <= utcnow()
    # One more attempt is granted, then it is given up again.
    assert revived.attempts == webhooks.MAX_ATTEMPTS - 1
    assert audited("webhook_retried") == ["staff:7"]
    # A delivered one is not sent again; another tenant's is not found.
    assert webhooks.retry(velzio, delivered.id, actor="staff:7") is False
    assert webhooks.retry(tenant("elektrum"), waiting.id, actor="staff:7") is False
    assert audited("webhook_retried") == ["staff:7"]


def test_the_worker_sends_a_retried_delivery_once_more(velzio, monkeypatch):
    endpoint, _ = webhooks.add_endpoint(velzio, URL, ["*"])
    delivery = webhooks.send_test(velzio, endpoint)
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id)
        .values(attempts=webhooks.MAX_ATTEMPTS, failed_at=utcnow(), next_attempt_at=None)
    )
    db.session.commit()
    sent = []
    monkeypatch.setattr(webhooks, "send", lambda url, *args: sent.append(url) or 200)
    assert webhooks.deliver_due() == (0, 0)
    webhooks.retry(velzio, delivery.id, actor="staff:7")
    assert webhooks.deliver_due() == (1, 0)
    assert sent == [URL]
    db.session.expire_all()
    assert webhooks.state(db.session.get(WebhookDelivery, delivery.id)) == "delivered"


def test_removing_an_endpoint_removes_its_deliveries(velzio):
    endpoint, _ = webhooks.add_endpoint(velzio, URL, ["*"])
    webhooks.send_test(velzio, endpoint)
    webhooks.remove_endpoint(velzio, endpoint, actor="staff:7")
    assert webhooks.endpoints(velzio) == [] and webhooks.deliveries(velzio) == []
    assert audited("webhook_endpoint_removed") == ["staff:7"]


def test_another_tenants_endpoint_is_not_found(velzio):
    endpoint, _ = webhooks.add_endpoint(velzio, URL, ["*"])
    assert webhooks.endpoint_of(tenant("elektrum"), endpoint.id) is None
    assert webhooks.endpoint_of(velzio, endpoint.id).id == endpoint.id

"""A staff member's actions at the console, through its flows (the pages call
the same ones; tests/support/staff.py takes the console's login steps): act
on a customer's account with a reason, with the rows to check afterwards."""

from __future__ import annotations

from sqlalchemy import select

from webapp.console import actions
from webapp.extensions import db
from webapp.models import Account, AuditEvent, Tenant, WebhookDelivery

from .apps import tenant


class ConsoleAgent:
    """One staff member (by their Staff id) working for one utility:

    agent = ConsoleAgent(app, "velzio", staff_id=7)
    agent.act("block", "ona@example.com", reason="Asked by phone")
    """

    def __init__(self, app, slug: str = "velzio", staff_id: int = 7):
        self.app, self.slug, self.staff_id = app, slug, staff_id

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"

    def act(self, action: str, email: str, reason: str | None, slug: str | None = None, **kw):
        """Do `action` (a function of webapp/console/actions.py) on the account
        of `email` at `slug` (another utility's, to test isolation); the key of
        the message it was refused with, or None when done."""
        # As the console's pages do: in a request (emails are rendered in it).
        with self.app.test_request_context("/console/"):
            own = tenant(self.slug)
            account = db.session.scalar(
                select(Account)
                .join(Tenant)
                .where(Tenant.slug == (slug or self.slug), Account.email == email)
            )
            try:
                getattr(actions, action)(own, self.actor, account, reason, **kw)
            except actions.ActionRefused as refused:
                return refused.key
            return None


def audit_rows(app, event: str) -> list[tuple[str | None, str | None, int | None]]:
    """(actor, reason, account id) of the audit rows of `event`, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.actor, AuditEvent.reason, AuditEvent.account_id)
            .where(AuditEvent.event == event)
            .order_by(AuditEvent.id)
        ).all()
        return [tuple(row) for row in rows]


def webhook_types(app) -> list[str]:
    """The types of the webhook deliveries queued, oldest first."""
    with app.app_context():
        return list(db.session.scalars(select(WebhookDelivery.type).order_by(WebhookDelivery.id)))

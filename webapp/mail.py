"""Email through a transactional outbox: a message is a row written in the same
transaction as the change that causes it, then delivered after commit. A message
that fails stays in the outbox and is retried with backoff by `flask outbox send`.
Once delivered over SMTP its text and HTML are emptied (keeps_body says
where they are kept), so the outbox holds no working link.

Delivery after commit happens in one place: a commit that wrote messages queued
in its transaction delivers them (init_app's session hooks); a transaction
rolled back delivers nothing, since its messages were never written."""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import socket
import ssl
from datetime import UTC, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, has_request_context, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session, SessionTransaction

from .deferred import after_response, in_background
from .extensions import db
from .models import OutboxMessage, Tenant, utcnow
from .tenants import TenantSettings, is_qa_address, settings_for

SUBJECTS = {
    "confirm": _l("Confirm your registration at %(product)s"),
    "activate": _l("Confirm your registration and create a password at %(product)s"),
    "already_registered": _l("You already have an account at %(product)s"),
    "reset": _l("Reset your %(product)s password"),
    "password_changed": _l("Your %(product)s password was changed"),
    "factor_added": _l("A way to log in was added to your %(product)s account"),
    "factor_removed": _l("A way to log in was removed from your %(product)s account"),
    "email_change": _l("Confirm your new email address at %(product)s"),
    "email_taken": _l("Your address was entered at %(product)s"),
    "email_changed": _l("Your %(product)s email address was changed"),
    "deletion_requested": _l("Your %(product)s account will be deleted"),
    "details_corrected": _l("Your details at %(product)s were corrected"),
    "staff_invite": _l("Set up your %(product)s staff console account"),
}
MAX_ATTEMPTS = 8
# In Session.info: the messages queued in the open transaction, then the ids of
# those its commit wrote, until the transaction has ended and they are handed on.
QUEUED = "savitarna.mail_queued"
COMMITTED = "savitarna.mail_committed"


def queue(
    tenant: Tenant | None, settings: TenantSettings, kind: str, to: str, language: str, **context
) -> OutboxMessage:
    """Render a message in the recipient's language and add it to the session.
    `tenant` is None for mail of the deployment's own (the staff console), whose
    `settings` is then any object with the brand attributes the layout reads.

    The caller commits it together with the change it reports."""
    with force_locale(language):
        context.update(settings=settings, kind=kind, language=language)
        subject = str(SUBJECTS[kind]) % {"product": settings.product_name}
        message = OutboxMessage(
            tenant_id=tenant.id if tenant is not None else None,
            kind=kind,
            recipient=to,
            subject=subject,
            text_body=render_template(f"email/{kind}.txt", subject=subject, **context),
            html_body=render_template(f"email/{kind}.html", subject=subject, **context),
            language=language,
        )
    db.session.add(message)
    db.session.info.setdefault(QUEUED, []).append(message)
    return message


def init_app(app: Flask) -> None:
    """Deliver what each commit wrote. Listened to on db.session (the class of
    Flask-SQLAlchemy's sessions, for every app), once."""
    for name, hook in (("after_commit", _committed), ("after_transaction_end", _ended)):
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)


def _committed(session: Session) -> None:
    """after_commit: the messages of the transaction are written. Only their ids
    are taken here: no SQL may run inside after_commit (see _ended)."""
    if session.in_nested_transaction():
        return  # a savepoint: written only when the whole transaction is
    messages = session.info.pop(QUEUED, [])
    ids = [m.id for m in messages if m.id is not None]
    if ids:
        session.info.setdefault(COMMITTED, []).extend(ids)


def _ended(session: Session, transaction: SessionTransaction) -> None:
    """after_transaction_end of the outermost transaction: deliver what its
    commit wrote; forget what a rollback (or a close) undid."""
    if transaction.parent is not None:
        return
    session.info.pop(QUEUED, None)
    ids = session.info.pop(COMMITTED, None)
    if ids:
        deliver_committed(ids)


def deliver_committed(ids: list[int]) -> None:
    """Deliver committed messages: in a request, once its response has been
    sent; in work after the answer or the worker, at once (nobody waits). A
    message that fails stays queued for `flask outbox send`."""
    if not current_app.config["MAIL_URL"]:
        return
    if has_request_context() and not in_background():
        after_response(lambda: deliver(message_ids=ids))
    else:
        deliver(message_ids=ids)


def deliver(message_ids: list[int] | None = None, limit: int = 100) -> tuple[int, int]:
    """Send due messages over SMTP; return (sent, failed).

    Each message is claimed with a conditional UPDATE before it is sent, so two
    workers or instances never send the same message twice."""
    url = current_app.config["MAIL_URL"]
    if not url:
        return 0, 0
    now = utcnow()
    query = select(OutboxMessage.id).where(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.attempts < MAX_ATTEMPTS,
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )
    if message_ids is not None:
        query = query.where(OutboxMessage.id.in_(message_ids))
    ids = list(db.session.scalars(query.order_by(OutboxMessage.id).limit(limit)))
    sent = failed = 0
    for message_id in ids:
        if not _claim(message_id):
            continue
        message = db.session.get(OutboxMessage, message_id)
        try:
            _send(url, message)
        except UnsendableAddress as exc:
            # No retry can help: given up at once, the reason in last_error.
            failed += 1
            message.attempts = MAX_ATTEMPTS
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            current_app.logger.error("mail %s given up: %s", message.id, message.last_error)
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.next_attempt_at = utcnow() + timedelta(
                seconds=30 * 2 ** min(message.attempts, 8)
            )
            current_app.logger.warning(
                "mail %s to outbox retry: %s", message.id, message.last_error
            )
        else:
            sent += 1
            message.attempts += 1
            message.sent_at = utcnow()
            message.last_error = None
            if not keeps_body(message):
                forget_body(message)
        db.session.commit()
    return sent, failed


def keeps_body(message: OutboxMessage) -> bool:
    """Whether a sent message keeps its text: its links (set a password,
    confirm, reset) still work, so a copy of the outbox would hand them out.
    Kept only where something still shows them: the development mailbox
    (MAILBOX_ENABLED), and mail to a tenant's test address while QA mail
    capture is on (the QA API returns its links)."""
    config = current_app.config
    if config["MAILBOX_ENABLED"]:
        return True
    return bool(config["QA_MAIL_CAPTURE"] and config["QA_TOKEN"]) and is_qa_address(
        settings_for(message.tenant), message.recipient
    )


def forget_body(message: OutboxMessage) -> None:
    """Empty the text and HTML of a delivered message; what it was (kind,
    recipient, subject, language, times) stays."""
    message.text_body = ""
    message.html_body = ""


def _claim(message_id: int) -> bool:
    now = utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        )
        .values(next_attempt_at=now + timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"]))
    )
    db.session.commit()
    return result.rowcount == 1


class UnsendableAddress(ValueError):
    """The recipient cannot be written into a To: header as itself (it holds an
    RFC 2047 encoded word, which mail software decodes into other addresses).
    Registration refuses such addresses; this guards rows stored before."""


def build_email(message: OutboxMessage) -> EmailMessage:
    """The message with exactly the stored address in To:, or UnsendableAddress."""
    sender_name, sender_address = parseaddr(current_app.config["MAIL_FROM"])
    settings_name = (
        message.tenant.settings.get("product_name") if message.tenant else None
    ) or sender_name
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = formataddr((settings_name, sender_address))
    email["To"] = message.recipient
    if [a.addr_spec for a in email["To"].addresses] != [message.recipient]:
        raise UnsendableAddress(f"the address does not survive a To: header: {email['To']!r}")
    email["Message-ID"] = message_id(message, sender_address.rpartition("@")[2] or socket.getfqdn())
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    # After the parts: making the message multipart drops Content-* headers set before.
    email["Content-Language"] = message.language
    return email


def message_id(message: OutboxMessage, domain: str) -> str:
    """The same Message-ID on every attempt to send one outbox message. If a server
    took a message but the connection broke before it said so, the retry is a copy
    that mail clients recognise as the same message. Keyed, so it reveals nothing
    (not even how many messages the outbox has held)."""
    created = message.created_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"{message.id}:{created}".encode(), hashlib.sha256).hexdigest()
    return f"<{digest[:32]}@{domain}>"


def _send(url: str, message: OutboxMessage) -> None:
    parts = urlsplit(url)
    timeout = current_app.config["MAIL_TIMEOUT"]
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            parts.hostname, parts.port or 465, timeout=timeout, context=ssl.create_default_context()
        )
    elif parts.scheme == "smtp":
        client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
    else:
        raise smtplib.SMTPException(f"MAIL_URL scheme must be smtp or smtps, not {parts.scheme!r}")
    with client:
        if parts.scheme == "smtp" and "starttls=1" in parts.query:
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        # The envelope names the stored address itself, never what a parser reads
        # back out of the To: header.
        client.send_message(build_email(message), to_addrs=[message.recipient])

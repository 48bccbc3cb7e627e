"""Signed webhooks to a utility's systems (Standard Webhooks).

events.emit queues one `WebhookDelivery` per enabled endpoint of the tenant
that receives the type, in the transaction of the fact itself. Only the worker
(`flask worker`) sends them, so a receiver that is down or slow never fails
or slows a customer's request. Each attempt is a POST of the stored JSON body,
signed with the endpoint's secret (stored sealed, bound to the endpoint:
webapp/sealing.py) (webhook-id, webhook-timestamp,
webhook-signature); a 2xx answer delivers it, anything else (an error, a
redirect, a timeout, an address refused) is retried after BACKOFF_SECONDS
under the same webhook-id, then the delivery is marked failed.

Against server-side request forgery: https only (http to loopback outside
production); in production the host's addresses must all be public unless
WEBHOOK_ALLOWED_NETWORKS lists them; the check runs when an endpoint is added
and again before every attempt, and the request goes to the address that was
checked (the name still goes in Host and in TLS's SNI, so the certificate is
verified for it). Redirects are not followed; proxies from the environment
are not used (they would connect elsewhere)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import secrets
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from flask import current_app
from sqlalchemy import and_, case, delete, or_, select, update
from standardwebhooks import Webhook

from . import sealing
from .extensions import db
from .models import Tenant, WebhookDelivery, WebhookEndpoint, utcnow

VERSION = 1
TEST_TYPE = "webhook.test"
# Seconds before each retry: about 22 hours from the first attempt to the
# last of eight.
BACKOFF_SECONDS = (30, 120, 600, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
# A round of the worker stops taking deliveries after this long, so a slow
# receiver does not hold up the jobs and mail in the same worker.
ROUND_SECONDS = 20
SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SEALING_PURPOSE = "webhook"


class WebhookError(ValueError):
    """An endpoint that cannot be used as given; the message says why."""


@dataclass(frozen=True)
class Target:
    """Where a POST goes: the URL with the checked address in place of the name."""

    url: str
    host_header: str
    server_name: str | None


def all_types() -> tuple[str, ...]:
    from .events import TYPES

    return tuple(TYPES)


# -- endpoints ---------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> str:
    if not secret.startswith(SECRET_PREFIX):
        raise WebhookError(f"a secret starts with {SECRET_PREFIX} (then base64)")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookError("the secret after whsec_ is not base64") from exc
    if not 24 <= len(key) <= 64:
        raise WebhookError("the secret must hold 24 to 64 bytes (32 recommended)")
    return secret


def parse_types(text: str | None) -> list[str]:
    """`a,b` -> the list, checked against the known types; None or "*" -> ["*"]."""
    if text is None or text.strip() == "*":
        return ["*"]
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in all_types()]
    if not names or unknown:
        raise WebhookError(
            f"unknown event type(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(all_types())} (or *)"
        )
    return names


def add_endpoint(
    tenant: Tenant,
    url: str,
    types: list[str],
    secret: str | None = None,
    *,
    actor: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Check and store an endpoint; return it and its secret (made when not
    given). With `actor` (a staff member in the console), audited."""
    check_target(url)
    secret = check_secret(secret) if secret else new_secret()
    endpoint = WebhookEndpoint(
        tenant_id=tenant.id, url=url, secret="", event_types=types, enabled=True
    )
    db.session.add(endpoint)
    db.session.flush()  # its id, which the sealed secret is bound to
    endpoint.secret = seal_secret(endpoint.id, secret)
    _audit(tenant, "webhook_endpoint_added", actor)
    db.session.commit()
    return endpoint, secret


def seal_secret(endpoint_id: int, secret: str) -> str:
    """The secret as stored: sealed (webapp/sealing.py), bound to the endpoint."""
    return sealing.seal(SEALING_PURPOSE, secret, str(endpoint_id))


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's secret, opened; WebhookError when no key opens it. One
    stored in clear (before migration 0014) or under a SECRET_KEY_FALLBACKS
    key is sealed anew on the row (written with the caller's commit)."""
    try:
        opened = sealing.unseal(SEALING_PURPOSE, endpoint.secret, str(endpoint.id))
    except sealing.Unreadable as exc:
        raise WebhookError(
            "the endpoint's secret opens under no key (SECRET_KEY changed without "
            "SECRET_KEY_FALLBACKS?): add the endpoint again with its secret"
        ) from exc
    if opened.resealed:
        endpoint.secret = opened.resealed
    return opened.text


def endpoints(tenant: Tenant) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.tenant_id == tenant.id)
            .order_by(WebhookEndpoint.id)
        )
    )


def endpoint_of(tenant: Tenant, endpoint_id: int) -> WebhookEndpoint | None:
    """The tenant's endpoint with this id, or None (another tenant's is None too)."""
    return db.session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.tenant_id == tenant.id
        )
    )


def remove_endpoint(tenant: Tenant, endpoint: WebhookEndpoint, *, actor: str | None = None):
    """Remove the endpoint with its deliveries (sent or waiting)."""
    assert endpoint.tenant_id == tenant.id
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    _audit(tenant, "webhook_endpoint_removed", actor)
    db.session.commit()


def send_test(
    tenant: Tenant, endpoint: WebhookEndpoint, *, actor: str | None = None
) -> WebhookDelivery:
    """Queue a webhook.test event to the endpoint, whatever its event types."""
    assert endpoint.tenant_id == tenant.id
    [delivery] = queue(tenant.id, TEST_TYPE, {"endpoint": endpoint.id}, endpoint=endpoint)
    _audit(tenant, "webhook_test_sent", actor)
    db.session.commit()
    return delivery


def _audit(tenant: Tenant, event: str, actor: str | None) -> None:
    if actor is not None:
        from .events import emit

        emit(tenant.id, event, actor=actor)


# -- queueing ----------------------------------------------------------------


def queue(
    tenant_id: int, type: str, data: dict[str, Any], endpoint: WebhookEndpoint | None = None
) -> list[WebhookDelivery]:
    """Add a delivery of `type` for each enabled endpoint of the tenant that
    receives it (or for `endpoint` alone) to the current transaction."""
    if endpoint is None:
        endpoints = db.session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.enabled.is_(True)
            )
        ).all()
        endpoints = [e for e in endpoints if e.receives(type)]
    else:
        endpoints = [endpoint]
    if not endpoints:
        return []
    tenant = db.session.get(Tenant, tenant_id)
    now = utcnow()
    body = json.dumps(
        {
            "type": type,
            "version": VERSION,
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "tenant": tenant.slug,
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    deliveries = [
        WebhookDelivery(
            tenant_id=tenant_id,
            endpoint_id=e.id,
            webhook_id=f"msg_{uuid.uuid4().hex}",
            type=type,
            payload=body,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for e in endpoints
    ]
    db.session.add_all(deliveries)
    return deliveries


# -- the SSRF guard ----------------------------------------------------------


def check_target(url: str) -> Target:
    """Resolve `url`'s host and check every address it has; the target to
    connect to (the first address). Raises WebhookError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookError("the URL must be https://host/...")
    if parts.username is not None or parts.password is not None:
        raise WebhookError("the URL must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookError("the URL's port is not a number from 1 to 65535") from exc
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookError(f"the host {host} does not resolve ({exc})") from exc
    addresses = list(dict.fromkeys(_unmapped(info[4][0]) for info in infos))
    production = current_app.config["APP_ENV"] == "production"
    if parts.scheme == "http":
        if production or not all(address.is_loopback for address in addresses):
            raise WebhookError(
                "plain http is accepted only to a loopback host outside production; use https"
            )
    elif production:
        allowed = allowed_networks()
        for address in addresses:
            if not _public(address) and not any(address in net for net in allowed):
                where = host if host == str(address) else f"{host} resolves to {address}, which"
                raise WebhookError(
                    f"{where} is a private, loopback, link-local, "
                    "multicast or reserved address; list its network in "
                    "WEBHOOK_ALLOWED_NETWORKS to allow it"
                )
    address = addresses[0]
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port:
        netloc += f":{parts.port}"
    host_header = parts.netloc.rpartition("@")[2]
    return Target(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host_header=host_header,
        server_name=host if parts.scheme == "https" else None,
    )


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    text = current_app.config.get("WEBHOOK_ALLOWED_NETWORKS") or ""
    return [ipaddress.ip_network(item.strip()) for item in text.split(",") if item.strip()]


def _unmapped(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(text.split("%")[0])
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _public(address) -> bool:
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


# -- delivery ----------------------------------------------------------------


def deliver_due(limit: int = 100) -> tuple[int, int]:
    """The worker's round: send the deliveries that are due, one claim at a
    time; return (delivered, failed attempts). An endpoint that failed once in
    the round gets nothing more in it (its other deliveries wait for the next
    round), and the round ends after ROUND_SECONDS."""
    delivered = failed = 0
    down: set[int] = set()
    deadline = utcnow() + timedelta(seconds=ROUND_SECONDS)
    for _ in range(limit):
        if utcnow() > deadline:
            break
        delivery_id = _next_due(down)
        if delivery_id is None:
            break
        if not _claim(delivery_id):
            continue
        ok, endpoint_id = attempt(delivery_id)
        if ok:
            delivered += 1
        else:
            failed += 1
            down.add(endpoint_id)
    return delivered, failed


def _due(now):
    return and_(
        WebhookDelivery.delivered_at.is_(None),
        WebhookDelivery.failed_at.is_(None),
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until <= now),
    )


def _next_due(skip: set[int]) -> int | None:
    query = select(WebhookDelivery.id).where(_due(utcnow()))
    if skip:
        query = query.where(WebhookDelivery.endpoint_id.not_in(skip))
    query = query.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(1)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    delivery_id = db.session.scalar(query)
    if delivery_id is None:
        db.session.rollback()
    return delivery_id


def _lease() -> timedelta:
    # Longer than an attempt can take (connect, write and read timeouts).
    return timedelta(seconds=max(60.0, 10 * current_app.config["WEBHOOK_TIMEOUT"]))


def _claim(delivery_id: int) -> bool:
    """Take the delivery for a lease, if nobody finished or holds it: a
    conditional UPDATE that only one worker wins."""
    now = utcnow()
    result = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, _due(now))
        .values(claimed_until=now + _lease())
    )
    db.session.commit()
    return result.rowcount == 1


def attempt(delivery_id: int) -> tuple[bool, int]:
    """One attempt at a claimed delivery; (delivered, its endpoint's id)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = delivery.endpoint
    webhook_id, body, attempts = delivery.webhook_id, delivery.payload, delivery.attempts
    endpoint_id, url, enabled = endpoint.id, endpoint.url, endpoint.enabled
    try:
        secret, unreadable = endpoint_secret(endpoint), None
    except WebhookError as exc:
        secret, unreadable = "", exc
    # No transaction stays open while the receiver thinks.
    db.session.commit()
    status = None
    if not enabled:
        error = "endpoint disabled"
    elif unreadable is not None:
        error = f"refused: {unreadable}"
    else:
        try:
            status = send(url, secret, webhook_id, body)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except WebhookError as exc:
            error = f"refused: {exc}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    now = utcnow()
    values: dict[str, Any] = {
        "attempts": attempts + 1,
        "last_status": status,
        "last_error": error[:1000] if error else None,
        "claimed_until": None,
    }
    log = current_app.logger
    if error is None:
        values.update(delivered_at=now, next_attempt_at=None)
        log.info("webhook %s delivered to endpoint %s (HTTP %s)", webhook_id, endpoint_id, status)
    elif attempts + 1 >= MAX_ATTEMPTS or not enabled:
        values.update(failed_at=now, next_attempt_at=None)
        log.error(
            "webhook %s to endpoint %s failed after %s attempts: %s",
            webhook_id,
            endpoint_id,
            attempts + 1,
            error,
        )
    else:
        values["next_attempt_at"] = now + timedelta(seconds=BACKOFF_SECONDS[attempts])
        log.warning(
            "webhook %s to endpoint %s: attempt %s failed (%s), retried after %s",
            webhook_id,
            endpoint_id,
            attempts + 1,
            error,
            values["next_attempt_at"].isoformat(timespec="seconds"),
        )
    db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values)
    )
    db.session.commit()
    return error is None, endpoint_id


def send(url: str, secret: str, webhook_id: str, body: str) -> int:
    """POST the signed body to the checked address of `url`; the status code.
    The body of the answer is not read."""
    target = check_target(url)
    now = utcnow()
    headers = {
        "content-type": "application/json",
        "user-agent": "Savitarna-Webhooks/1",
        "host": target.host_header,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
    }
    extensions = {"sni_hostname": target.server_name} if target.server_name else {}
    timeout = current_app.config["WEBHOOK_TIMEOUT"]
    with (
        httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
        client.stream(
            "POST", target.url, content=body.encode(), headers=headers, extensions=extensions
        ) as response,
    ):
        return response.status_code


def retry_now(delivery_id: int) -> None:
    """Make a waiting delivery due at once (tests; an operator after a fix)."""
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.delivered_at.is_(None))
        .values(next_attempt_at=utcnow(), failed_at=None)
    )
    db.session.commit()


# -- the delivery log ---------------------------------------------------------


def deliveries(tenant: Tenant, *, failed: bool = False, limit: int = 50) -> list[WebhookDelivery]:
    """The tenant's deliveries, newest first (only those given up: `failed`)."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.tenant_id == tenant.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if failed:
        query = query.where(WebhookDelivery.failed_at.is_not(None))
    return list(db.session.scalars(query))


def state(delivery: WebhookDelivery) -> str:
    """ "delivered", "failed" (given up), "retrying" (an attempt failed, another
    is due at next_attempt_at) or "waiting" (not tried yet)."""
    if delivery.delivered_at:
        return "delivered"
    if delivery.failed_at:
        return "failed"
    return "retrying" if delivery.attempts else "waiting"


def retry(tenant: Tenant, delivery_id: int, *, actor: str | None = None) -> bool:
    """ "Retry now": the tenant's undelivered delivery is due at once (a failed
    one gets one more attempt, the worker sends it); False if there is no such
    delivery or it was delivered."""
    result = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.tenant_id == tenant.id,
            WebhookDelivery.delivered_at.is_(None),
        )
        .values(
            next_attempt_at=utcnow(),
            failed_at=None,
            # A delivery given up has used its attempts: one more is granted.
            attempts=case(
                (WebhookDelivery.attempts >= MAX_ATTEMPTS, MAX_ATTEMPTS - 1),
                else_=WebhookDelivery.attempts,
            ),
        )
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    _audit(tenant, "webhook_retried", actor)
    db.session.commit()
    return True

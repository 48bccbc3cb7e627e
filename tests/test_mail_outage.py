"""Mail that is never lost: the outbox through an SMTP outage.

A real SMTP server (aiosmtpd) on a free loopback port, which the test stops and
starts again on the same port. While it is down, customers still register; the
outbox keeps every message with its error and retries with a growing backoff
(`flask outbox send`); once the server is back, every message arrives exactly
once. The backoff is made due by moving next_attempt_at into the past, never by
sleeping. Message-IDs are the outbox's own (mail.message_id), the same on every
attempt, so the server's count by Message-ID finds any duplicate."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from support.apps import ServerLikeClient
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import submit
from support.mail import outbox
from support.people import account
from support.smtp import LoopbackSMTP
from support.workers import run_at_once

from webapp import mail
from webapp.extensions import db
from webapp.models import OutboxMessage, utcnow

# What mail.deliver promises: 30 s doubled per failed attempt.
FIRST_BACKOFF = 60
SECOND_BACKOFF = 120


@pytest.fixture
def smtp():
    server = LoopbackSMTP().start()
    try:
        yield server
    finally:
        server.stop()


def register(app, slug: str, email_address: str, address: str):
    """Register as a new visitor would, and wait for the delivery the app
    attempts after its answer (ServerLikeClient)."""
    client = ServerLikeClient(app, app.response_class)
    client.environ_base["REMOTE_ADDR"] = address
    form = VELZIO_OK if slug == "velzio" else ELEKTRUM_OK
    return submit(client, f"/{slug}/register", {**form, "email": email_address})


def cli(app, *args) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    # The command's own last line: the app's log lines (warnings about each
    # failed attempt) go to stdout too, before it.
    return result.stdout.strip().splitlines()[-1]


def outbox_send(app) -> tuple[int, int]:
    """`flask outbox send`: the (sent, failed) it reports."""
    match = re.fullmatch(r"outbox: (\d+) sent, (\d+) failed", cli(app, "outbox", "send"))
    assert match, "unexpected output of outbox send"
    return int(match[1]), int(match[2])


def make_due(app) -> None:
    """Let the backoff run out: what waiting would do, without waiting."""
    with app.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None))
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def unsent(app) -> list[OutboxMessage]:
    return [m for m in outbox(app) if m.sent_at is None]


def held_back(message: OutboxMessage, before: datetime, after: datetime, seconds: int) -> bool:
    """Whether an attempt made between `before` and `after` put the message off by
    exactly `seconds`."""
    wait = timedelta(seconds=seconds)
    return before + wait <= message.next_attempt_at <= after + wait


def expected_ids(app, messages: list[OutboxMessage]) -> Counter:
    with app.app_context():
        return Counter(
            mail.build_email(db.session.get(OutboxMessage, m.id))["Message-ID"] for m in messages
        )


def test_registrations_survive_an_outage_and_every_email_arrives_once(app, smtp, backend, capsys):
    """SMTP down: registrations still succeed and their emails wait in the outbox
    with the error and a growing backoff; SMTP back: each arrives exactly once."""
    app.config["MAIL_URL"] = smtp.url
    app.config["MAIL_TIMEOUT"] = 2

    # Up: delivered right after the answer.
    assert register(app, "velzio", "pries@example.com", "10.1.0.1").status_code == 303
    assert len(smtp.received) == 1

    # Down: the customers do not notice.
    smtp.stop()
    people = [
        ("velzio", "ona.sutrikimas@example.com"),
        ("velzio", "petras.sutrikimas@example.com"),
        ("velzio", "ieva.sutrikimas@example.com"),
        ("elektrum", "jonas.sutrikimas@example.com"),
        ("elektrum", "ruta.sutrikimas@example.com"),
    ]
    for i, (slug, address) in enumerate(people):
        before = utcnow()
        response = register(app, slug, address, f"10.2.0.{i + 1}")
        after = utcnow()
        assert response.status_code == 303
        assert response.headers["Location"] == f"/{slug}/register/sent"
        assert account(app, slug, address) is not None
        [message] = outbox(app, address)
        assert message.sent_at is None and message.attempts == 1
        assert "ConnectionRefusedError" in message.last_error
        assert held_back(message, before, after, FIRST_BACKOFF), message.next_attempt_at
    waiting = unsent(app)
    assert sorted(m.recipient for m in waiting) == sorted(a for _, a in people)
    status = cli(app, "outbox", "status")
    assert status == "outbox: 5 not sent (5 failed at least once, 0 given up after 8 attempts)"

    # The worker respects the backoff, then fails again and waits longer.
    assert outbox_send(app) == (0, 0)
    make_due(app)
    before = utcnow()
    assert outbox_send(app) == (0, 5)
    after = utcnow()
    waiting = unsent(app)
    assert [m.attempts for m in waiting] == [2] * 5
    assert all("ConnectionRefusedError" in m.last_error for m in waiting)
    assert all(held_back(m, before, after, SECOND_BACKOFF) for m in waiting)
    assert len(smtp.received) == 1

    # Back up on the same port: still held back until the backoff is due.
    smtp.start()
    assert outbox_send(app) == (0, 0)
    assert len(smtp.received) == 1
    make_due(app)
    recovered, failed = outbox_send(app)
    assert (recovered, failed) == (5, 0)
    again = outbox_send(app)
    assert again == (0, 0)
    assert cli(app, "outbox", "status") == (
        "outbox: 0 not sent (0 failed at least once, 0 given up after 8 attempts)"
    )

    messages = outbox(app)
    assert all(m.sent_at and m.last_error is None for m in messages)
    assert [m.attempts for m in messages] == [1] + [3] * 5
    received = smtp.message_ids()
    assert received == expected_ids(app, messages)  # each exactly once
    assert sorted(m["To"] for m in smtp.received) == sorted(m.recipient for m in messages)
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates == 0

    with capsys.disabled():
        print(
            f"\n[mail outage, {backend}] registrations while SMTP was down: {len(people)} "
            "(all 303); "
            f"attempts per message: {sorted({m.attempts for m in messages[1:]})} "
            f"(2 refused, then delivered); backoff after attempt 1: {FIRST_BACKOFF} s, "
            f"attempt 2: {SECOND_BACKOFF} s; delivered after recovery: "
            f"{recovered}/{len(people)} on the first due run, {again[0]} on the next; "
            f"received by the server: {sum(received.values())} messages (1 before the outage), "
            f"{len(received)} Message-IDs; duplicates: {duplicates}"
        )


def test_message_id_is_the_outbox_rows_own(app):
    """A retry must be recognisable as the same message (mail.message_id): the
    Message-ID is the same whenever the row is read and built again, differs
    between messages, and shows nothing of the row."""
    assert register(app, "velzio", "ona@example.com", "10.3.0.1").status_code == 303
    assert register(app, "elektrum", "jonas@example.com", "10.3.0.2").status_code == 303
    ids = []
    for _ in range(2):  # two reads from the database, as two attempts would make
        with app.app_context():
            ids.append(
                [
                    mail.build_email(m)["Message-ID"]
                    for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
                ]
            )
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 2
    assert all(re.fullmatch(r"<[0-9a-f]{32}@savitarna\.localhost>", i) for i in ids[0]), ids


def deliver_at_once(app, workers: int) -> list[tuple[int, int]]:
    """Run mail.deliver() in `workers` threads released together, each in its own
    app context (its own session and connection); return their (sent, failed)."""
    return run_at_once(app, mail.deliver, workers)


def test_two_workers_at_once_send_each_message_once(app, smtp, backend, capsys):
    """Two `outbox send` workers (threads, each with its own app context and
    database connection) released together on the same backlog.

    Guards mail._claim: its conditional UPDATE lets exactly one worker take a
    message. Without it both workers send the whole backlog."""
    workers = 2
    rounds = []
    for round_ in range(3):
        app.config["MAIL_URL"] = ""  # the backlog builds up with no server configured
        backlog = 8
        for i in range(backlog):
            slug = "velzio" if i % 2 else "elektrum"
            address = f"darbas{round_}.{i}@example.com"
            assert register(app, slug, address, f"10.4.{round_}.{i + 1}").status_code == 303
        pending = unsent(app)
        assert len(pending) == backlog
        app.config["MAIL_URL"] = smtp.url
        already = len(smtp.received)

        results = deliver_at_once(app, workers)

        assert sum(sent for sent, _ in results) == backlog, results
        assert all(failed == 0 for _, failed in results), results
        assert len(smtp.received) - already == backlog
        assert unsent(app) == []
        rounds.append(sorted(sent for sent, _ in results))
    received = smtp.message_ids()
    assert received == expected_ids(app, outbox(app))
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates == 0
    # The workers really raced: in some round both of them sent a share.
    assert any(min(r) > 0 for r in rounds), rounds
    with capsys.disabled():
        print(
            f"\n[mail workers, {backend}] {workers} workers at once, 3 backlogs of 8: "
            f"sent per worker {rounds}, received {len(received)}, duplicates {duplicates}"
        )

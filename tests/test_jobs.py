"""Work promised by an answer is never lost and never done twice (webapp/jobs.py).

"The process died after the answer" is made by letting the answer's own
after-response run do nothing (`crashed`), exactly what a SIGKILL between the
answer and the work leaves behind: a committed job and nothing else. The worker
(`flask worker --once`) then does the work. Retries are made due by moving
run_after into the past, never by sleeping."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from support.apps import ServerLikeClient, tenant
from support.data import VELZIO_OK
from support.forms import submit
from support.mail import link_in, outbox
from support.people import account, register_velzio
from support.workers import run_at_once

from webapp import accounts, jobs, mail
from webapp.extensions import db
from webapp.models import Account, Job, Token, utcnow

PUBLIC_URL = "https://portal.example"


@pytest.fixture
def crashed(monkeypatch):
    """Every answer's own run of its job is lost, as if the web process died
    right after answering."""
    monkeypatch.setattr(jobs, "run", lambda job_id: None)


def visitor(app, address: str = "10.9.0.1") -> ServerLikeClient:
    client = ServerLikeClient(app, app.response_class)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def register(app, email: str, address: str = "10.9.0.1"):
    return submit(visitor(app, address), "/velzio/register", {**VELZIO_OK, "email": email})


def worker(app) -> tuple[int, int]:
    """`flask worker --once`: the (done, failed) it reports on its last line."""
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"worker: (\d+) done, (\d+) failed", last)
    assert match, result.output
    return int(match[1]), int(match[2])


def all_jobs(app) -> list[Job]:
    with app.app_context():
        rows = list(db.session.scalars(select(Job).order_by(Job.id)))
        db.session.expunge_all()
        return rows


def count_accounts(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(Account.email == email))


def make_due(app) -> None:
    with app.app_context():
        db.session.execute(
            update(Job)
            .where(Job.done_at.is_(None))
            .values(run_after=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def row_text(job: Job) -> str:
    return json.dumps(
        [job.name, job.payload, job.request_id, job.last_error], ensure_ascii=False, default=str
    )


def test_a_registration_answered_before_a_crash_is_made_by_the_worker(app, crashed):
    app.config["PUBLIC_URL"] = PUBLIC_URL
    response = register(app, "ona@example.com")
    assert response.status_code == 303
    [job] = all_jobs(app)
    assert job.name == "register" and job.done_at is None and job.attempts == 0
    assert job.request_id  # the answer's request id, for the worker's log lines
    assert account(app, "velzio", "ona@example.com") is None

    assert worker(app) == (1, 0)
    assert count_accounts(app, "ona@example.com") == 1
    [message] = outbox(app, "ona@example.com")
    assert message.kind == "confirm"
    # The worker writes links at the public address: it has no request to copy.
    assert f"{PUBLIC_URL}/velzio/confirm/" in message.text_body
    [job] = all_jobs(app)
    assert job.done_at is not None and job.payload is None
    assert worker(app) == (0, 0)
    assert len(outbox(app, "ona@example.com")) == 1


def test_forgot_and_send_again_survive_a_crash(app, client):
    register_velzio(client, app)  # confirmed
    assert register(app, "petras@example.com").status_code == 303  # unconfirmed
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs, "run", lambda job_id: None)
        assert submit(visitor(app), "/velzio/forgot", {"email": "ona@example.com"}).status_code
        assert submit(visitor(app), "/velzio/resend", {"email": "petras@example.com"}).status_code
    waiting = [j.name for j in all_jobs(app) if j.done_at is None]
    assert waiting == ["request_password_reset", "resend_confirmation"]
    assert [m.kind for m in outbox(app, "ona@example.com")] == ["confirm"]

    assert worker(app) == (2, 0)
    assert [m.kind for m in outbox(app, "ona@example.com")] == ["confirm", "reset"]
    assert [m.kind for m in outbox(app, "petras@example.com")] == ["confirm", "confirm"]
    assert worker(app) == (0, 0)


def test_a_job_row_holds_no_password_and_no_link_secret(app, client, crashed):
    register(app, "ona@example.com")
    [job] = all_jobs(app)
    assert VELZIO_OK["password"] not in row_text(job)
    [registration, _address] = job.payload
    assert registration["password_hash"].startswith("$argon2id$")
    assert "password" not in registration and "password2" not in registration

    assert worker(app) == (1, 0)
    confirm_secret = link_in(outbox(app, "ona@example.com")[0], "/confirm/").rsplit("/", 1)[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs, "run", lambda job_id: None)
        submit(visitor(app), "/velzio/forgot", {"email": "ona@example.com"})
    assert worker(app) == (1, 0)
    reset_secret = link_in(outbox(app, "ona@example.com")[-1], "/reset/").rsplit("/", 1)[1]
    for job in all_jobs(app):
        assert job.done_at is not None
        assert job.payload is None  # wiped when done: no email, no hash kept
        assert confirm_secret not in row_text(job) and reset_secret not in row_text(job)


def shape(value):
    """The JSON shape of a payload: keys and types, not the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, str) and value.startswith("$argon2id$"):
        return "argon2id hash"
    return type(value).__name__


def test_known_and_unknown_emails_write_the_same_job(app, client, crashed):
    """Enumeration: the request writes the same row, with a hash made, whether
    or not the email has an account; what differs happens in the job."""
    with app.app_context():
        db.session.add(
            Account(
                tenant_id=tenant("velzio").id,
                email="ona@example.com",
                first_name="Ona",
                last_name="Onaitė",
                language="lt",
                password_hash="x",
                created_at=utcnow() - timedelta(days=30),
                email_confirmed_at=utcnow() - timedelta(days=30),
            )
        )
        db.session.commit()
    register(app, "ona@example.com")  # known (and confirmed)
    register(app, "nauja@example.com")  # unknown
    submit(visitor(app), "/velzio/forgot", {"email": "ona@example.com"})
    submit(visitor(app), "/velzio/forgot", {"email": "nezinomas@example.com"})
    known, unknown, forgot_known, forgot_unknown = all_jobs(app)
    assert known.name == unknown.name == "register"
    assert shape(known.payload) == shape(unknown.payload)
    assert shape(known.payload)[0]["password_hash"] == "argon2id hash"
    assert forgot_known.name == forgot_unknown.name == "request_password_reset"
    assert shape(forgot_known.payload) == shape(forgot_unknown.payload)
    assert worker(app) == (4, 0)
    assert [m.kind for m in outbox(app, "ona@example.com")] == ["already_registered", "reset"]
    assert [m.kind for m in outbox(app, "nauja@example.com")] == ["confirm"]
    assert outbox(app, "nezinomas@example.com") == []


class Died(BaseException):
    """The process ending where it stands (not an error a flow could catch)."""


def test_work_committed_with_its_job_is_never_done_again(app, monkeypatch):
    """The process dies right after the flow's commit, before anything else:
    the job was marked done in that commit, so the worker does not repeat it."""

    def die(*args, **kwargs):
        raise Died

    monkeypatch.setattr(mail, "deliver_committed", die)
    monkeypatch.setattr(jobs, "_mark_done", die)
    with pytest.raises(Died), app.test_request_context("/", base_url="http://localhost"):
        job_id = _promise_registration(app, "ona@example.com")
        jobs.run(job_id)
    monkeypatch.undo()
    [job] = all_jobs(app)
    assert job.done_at is not None and job.payload is None
    assert worker(app) == (0, 0)
    assert count_accounts(app, "ona@example.com") == 1
    assert len(outbox(app, "ona@example.com")) == 1


def _promise_registration(app, email: str) -> int:
    """What the registration view commits before answering, without running it."""
    from flask import g

    from webapp.registration.flows import Registration, register_customer
    from webapp.security import hash_password

    g.tenant = tenant("velzio")
    data = Registration(
        first_name="Ona",
        last_name="Onaitė",
        email=email,
        language="lt",
        password_hash=hash_password(VELZIO_OK["password"]),
        phone="861234567",
        terms_accepted=True,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs, "run", lambda job_id: None)
        return jobs.later(register_customer, data, "10.9.0.9")


def test_a_runner_whose_lease_lapsed_cannot_commit_the_work_again(app, client, monkeypatch):
    """Runner A is slow; its lease lapses and runner B (the worker) does the job.
    When A gets to its commit, the job is done: A's work is rolled back, so the
    customer gets one reset email, not two."""
    register_velzio(client, app)
    original = accounts.issue_token  # the reset link is made in accounts.send_reset
    calls = []

    def slow_issue_token(account, purpose, hours):
        if not calls:
            calls.append("A")
            with app.app_context():
                db.session.execute(
                    update(Job).values(claimed_until=utcnow() - timedelta(seconds=1))
                )
                db.session.commit()
            other = threading.Thread(target=lambda: results.append(worker(app)))
            other.start()
            other.join(timeout=30)
        return original(account, purpose, hours)

    results: list[tuple[int, int]] = []
    monkeypatch.setattr(accounts, "issue_token", slow_issue_token)
    submit(visitor(app), "/velzio/forgot", {"email": "ona@example.com"})
    assert results == [(1, 0)]  # B did it
    assert [m.kind for m in outbox(app, "ona@example.com")] == ["confirm", "reset"]
    with app.app_context():
        resets = db.session.scalar(select(func.count()).where(Token.purpose == "reset"))
    assert resets == 1
    assert [j.done_at is not None for j in all_jobs(app)] == [True, True]


def test_a_failing_job_is_retried_with_backoff_then_given_up(app, crashed, monkeypatch, caplog):
    register(app, "ona@example.com")

    def broken(*args, **kwargs):
        raise RuntimeError("template store is down")

    monkeypatch.setattr(mail, "render_template", broken)
    waits = []
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        before = utcnow()
        with caplog.at_level("WARNING"):
            assert worker(app) == (0, 1)
        [job] = all_jobs(app)
        assert job.attempts == attempt
        assert job.done_at is None and job.claimed_until is None
        assert "RuntimeError: template store is down" in job.last_error
        if attempt < jobs.MAX_ATTEMPTS:
            waits.append(round((job.run_after - before).total_seconds()))
            assert worker(app) == (0, 0)  # held back until the backoff is over
            make_due(app)
    assert waits == [15 * 2**n for n in range(jobs.MAX_ATTEMPTS - 1)]
    assert job.run_after is None and job.payload is None  # given up
    assert f"given up after {jobs.MAX_ATTEMPTS} attempts" in caplog.text
    make_due(app)
    monkeypatch.undo()
    assert worker(app) == (0, 0)
    assert account(app, "velzio", "ona@example.com") is None


def test_a_job_held_by_a_dead_process_is_taken_over_when_its_lease_lapses(app, crashed):
    register(app, "ona@example.com")
    [job] = all_jobs(app)
    with app.app_context():
        assert jobs._claim(job.id)  # a process claims it, then dies
        assert not jobs._claim(job.id)
    assert worker(app) == (0, 0)  # still held
    [job] = all_jobs(app)
    lease = (job.claimed_until - utcnow()).total_seconds()
    assert app.config["JOB_LEASE_SECONDS"] - 5 < lease <= app.config["JOB_LEASE_SECONDS"]
    with app.app_context():
        db.session.execute(update(Job).values(claimed_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert worker(app) == (1, 0)
    assert count_accounts(app, "ona@example.com") == 1


def test_two_workers_at_once_do_each_job_once(app, crashed, backend, capsys):
    emails = [f"darbas{i}@example.com" for i in range(12)]
    for i, email in enumerate(emails):
        assert register(app, email, f"10.9.1.{i + 1}").status_code == 303
    results = run_at_once(app, jobs.run_due)
    assert sum(done for done, _ in results) == len(emails), results
    assert all(failed == 0 for _, failed in results)
    for email in emails:
        assert count_accounts(app, email) == 1
        assert len(outbox(app, email)) == 1
    assert all(j.done_at is not None for j in all_jobs(app))
    with capsys.disabled():
        print(f"\n[jobs, {backend}] 2 workers, {len(emails)} jobs: done per worker {results}")


def test_finished_jobs_are_purged_after_the_retention(app, client):
    register_velzio(client, app)
    days = app.config["JOB_RETENTION_DAYS"]
    assert days == 7
    with app.app_context():
        tenant_id = db.session.scalar(select(Job.tenant_id))
        now = utcnow()
        old, recent = now - timedelta(days=days, hours=1), now - timedelta(days=days - 1)

        def job(**fields) -> Job:
            return Job(tenant_id=tenant_id, name="register", attempts=0, run_after=None, **fields)

        rows = {
            "done long ago": job(done_at=old, created_at=old),
            "done recently": job(done_at=recent, created_at=recent),
            "given up long ago": job(created_at=old),
            "waiting long": job(created_at=old),
        }
        rows["given up long ago"].attempts = jobs.MAX_ATTEMPTS
        rows["waiting long"].attempts = 3
        rows["waiting long"].run_after = now + timedelta(hours=1)
        db.session.add_all(rows.values())
        db.session.commit()
        ids = {name: job.id for name, job in rows.items()}
    assert worker(app) == (0, 0)  # the first round also purges
    left = {j.id for j in all_jobs(app)}
    assert ids["done long ago"] not in left and ids["given up long ago"] not in left
    assert ids["done recently"] in left and ids["waiting long"] in left
    with app.app_context():
        assert jobs.purge_finished() == 0

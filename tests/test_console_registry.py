"""The contract registry from the console (webapp/console/registry.py): a
preview counts what a file would do or names its bad lines in the reader's
language; "apply" writes all of it or nothing, with a history row; files that
are not UTF-8 CSV, lack the header or are too big get a clear answer."""

from __future__ import annotations

import hashlib

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from support.apps import tenant

from webapp.console import registry
from webapp.contracts import ContractImportError
from webapp.extensions import db
from webapp.models import AuditEvent, Contract, ContractImport

HEADER = b"contract_number,company_code,status\n"
# The fixture's registry: 4100012345 (110053842, active), 4100012346 (302477747,
# active), 4100099999 (110053842, ended).
GOOD = HEADER + (
    b"4100012345,110053842,active\n"  # unchanged
    b"4100012346,302477747,ended\n"  # changed
    b"4100000001,110053842,active\n"  # added
    b"4100000002,302477747,active\n"  # added
)


@pytest.fixture
def elektrum(app):
    with app.test_request_context("/console/"):
        yield tenant("elektrum")


def stored() -> dict[str, tuple[str, str]]:
    rows = db.session.execute(
        select(Contract.contract_number, Contract.company_code, Contract.status).where(
            Contract.tenant_id == tenant("elektrum").id
        )
    )
    return {number: (code, status) for number, code, status in rows}


def test_a_preview_counts_and_writes_nothing(elektrum):
    before = stored()
    result = registry.preview(elektrum, GOOD)
    assert result.ok
    summary = result.summary
    assert (summary.created, summary.updated, summary.unchanged, summary.ended) == (2, 1, 1, 0)
    assert result.digest == hashlib.sha256(GOOD).hexdigest() and result.size == len(GOOD)
    assert stored() == before


def test_a_full_sync_preview_counts_what_would_end(elektrum):
    only = HEADER + b"4100012345,110053842,active\n"
    summary = registry.preview(elektrum, only, full_sync=True).summary
    # 4100012346 is active and not listed; 4100099999 is ended already.
    assert (summary.unchanged, summary.ended) == (1, 1)


def test_one_bad_row_is_named_by_line_in_the_readers_language(elektrum):
    bad = GOOD + b"4100000003,110053843,active\n"  # line 6: wrong check digit
    result = registry.preview(elektrum, bad)
    assert not result.ok and result.total_problems == 1
    [problem] = result.problems
    assert problem.line == 6 and problem.key == "REGISTRY_COMPANY_CODE"
    with force_locale("lt"):
        assert problem.text() == "įmonės kodas „110053843“ nėra tinkamas 9 skaitmenų kodas"
    with force_locale("en"):
        assert problem.text() == "company code “110053843” is not a valid 9-digit code"


def test_every_bad_line_is_listed_in_order(elektrum):
    bad = HEADER + (
        b"4100000001,110053842,active\n"
        b"4100000001,110053842,active\n"  # line 3: repeats line 2
        b"41,110053842,active\n"  # line 4: format
        b"4100000004,110053842\n"  # line 5: columns
        b"4100000005,110053842,paused\n"  # line 6: status
    )
    result = registry.preview(elektrum, bad)
    assert [(p.line, p.key) for p in result.problems] == [
        (3, "REGISTRY_REPEATED"),
        (4, "REGISTRY_NUMBER_FORMAT"),
        (5, "REGISTRY_COLUMNS"),
        (6, "REGISTRY_STATUS"),
    ]


@pytest.mark.parametrize(
    ("content", "line", "key"),
    [
        (b"", 1, "REGISTRY_EMPTY"),
        (b"number;code;status\n4100000001;110053842;active\n", 1, "REGISTRY_HEADER"),
        # Windows-1257, as an old spreadsheet saves it: "ė" is 0xEB.
        (HEADER + b"4100000001,110053842,active\n# Elektr\xebnai\n", 3, "REGISTRY_ENCODING"),
        (b"\xff\xfec\x00o\x00", 1, "REGISTRY_ENCODING"),  # UTF-16
    ],
)
def test_a_file_that_is_not_the_export_gets_one_clear_reason(elektrum, content, line, key):
    result = registry.preview(elektrum, content)
    assert [(p.line, p.key) for p in result.problems] == [(line, key)]
    with force_locale("lt"):
        assert result.problems[0].text()


def test_a_file_too_big_is_refused_before_it_is_read(elektrum, monkeypatch):
    monkeypatch.setattr(registry, "MAX_BYTES", len(GOOD) - 1)
    result = registry.preview(elektrum, GOOD)
    assert [(p.line, p.key) for p in result.problems] == [(None, "REGISTRY_TOO_BIG")]


def test_apply_writes_the_file_with_its_history(elektrum):
    history = registry.apply(elektrum, "staff:7", GOOD, filename="C:\\exports\\sutartys.csv")
    after = stored()
    assert after["4100012346"] == ("302477747", "ended")
    assert after["4100000001"] == ("110053842", "active")
    assert after["4100000002"] == ("302477747", "active")
    [row] = registry.history(elektrum)
    assert row.id == history.id
    assert (row.actor, row.filename, row.digest, row.size) == (
        "staff:7",
        "sutartys.csv",
        hashlib.sha256(GOOD).hexdigest(),
        len(GOOD),
    )
    assert (row.created, row.updated, row.unchanged, row.ended) == (2, 1, 1, 0)
    assert row.created_at is not None
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "contracts_imported"))
    assert [a.actor for a in audit] == ["staff:7"]


def test_apply_is_all_or_nothing(elektrum):
    before = stored()
    bad = GOOD + b"4100000003,110053843,active\n"
    with pytest.raises(ContractImportError) as refused:
        registry.apply(elektrum, "staff:7", bad, filename="bad.csv")
    assert [(p.line, p.key) for p in refused.value.details] == [(6, "REGISTRY_COMPANY_CODE")]
    assert stored() == before
    assert registry.history(elektrum) == []
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.event == "contracts_imported"))
        is None
    )
    with pytest.raises(ContractImportError):
        registry.apply(elektrum, "staff:7", b"\xff\xfe", filename="utf16.csv")
    assert stored() == before


def test_a_staged_upload_is_applied_only_by_its_tenant_and_digest(elektrum):
    upload, result = registry.stage(
        elektrum, "staff:7", GOOD, filename="sutartys.csv", full_sync=False
    )
    assert result.ok
    assert registry.staged(elektrum, upload.id, result.digest).content == GOOD
    assert registry.staged(elektrum, upload.id, "0" * 64) is None
    assert registry.staged(tenant("velzio"), upload.id, result.digest) is None
    registry.apply(elektrum, "staff:7", upload.content, filename=upload.filename)
    # Applied: nothing waits any more.
    assert registry.staged(elektrum, upload.id, result.digest) is None


def test_history_is_the_tenants_own_newest_first(elektrum):
    registry.apply(elektrum, "staff:7", GOOD, filename="first.csv")
    registry.apply(elektrum, "staff:8", GOOD, filename="second.csv")
    assert [h.filename for h in registry.history(elektrum)] == ["second.csv", "first.csv"]
    assert registry.history(tenant("velzio")) == []
    assert (
        db.session.scalar(select(ContractImport).where(ContractImport.actor == "staff:8")).unchanged
        == 4
    )


def test_a_tenant_without_contracts_is_refused(app):
    with app.test_request_context("/console/"):
        result = registry.preview(tenant("velzio"), GOOD)
        assert [p.key for p in result.problems] == ["REGISTRY_NO_FORMAT"]

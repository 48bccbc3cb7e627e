"""`flask contracts import`: an upsert of the registry, all or nothing."""

import itertools
import tracemalloc

from sqlalchemy import select
from support.data import ELEKTRUM_OK
from support.forms import submit

from webapp import contracts
from webapp.contracts import import_contracts
from webapp.extensions import db
from webapp.models import Contract, Tenant
from webapp.tenants import settings_for

HEADER = "contract_number,company_code,status\n"


def run(app, tmp_path, text, tenant="elektrum", options=()):
    path = tmp_path / "contracts.csv"
    path.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["contracts", "import", *options, tenant, str(path)])


def registry(app):
    with app.app_context():
        return {
            c.contract_number: (c.company_code, c.status)
            for c in db.session.scalars(select(Contract))
        }


def test_upsert_counts(app, tmp_path):
    before = registry(app)
    assert before["4100012345"] == ("110053842", "active")
    text = HEADER + (
        "4100012345,110053842,active\n"  # unchanged
        "4100012346,302477747,ended\n"  # updated: status
        "4100000001,110 053 842,active\n"  # created, spaces tolerated
        "\n"  # blank lines are fine
    )
    result = run(app, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 1 unchanged" in result.output
    after = registry(app)
    assert after["4100012346"] == ("302477747", "ended")
    assert after["4100000001"] == ("110053842", "active")
    assert after["4100099999"] == before["4100099999"]  # absent rows are kept

    again = run(app, tmp_path, text)
    assert "0 created, 0 updated, 3 unchanged" in again.output


def test_one_bad_row_writes_nothing(app, tmp_path):
    before = registry(app)
    text = HEADER + (
        "4100000001,110053842,active\n"
        "4100012345,110053842,ended\n"
        "4100000002,110053843,active\n"  # line 4: bad check digit
    )
    result = run(app, tmp_path, text)
    assert result.exit_code != 0
    assert "line 4" in result.output
    assert "nothing was imported" in result.output
    assert registry(app) == before


def test_every_kind_of_bad_row_is_named(app, tmp_path):
    text = HEADER + ("ABC,110053842,active\n4100000003,110053842,paused\n4100000004,110053842\n")
    result = run(app, tmp_path, text)
    assert result.exit_code != 0
    assert "line 2" in result.output and "line 3" in result.output and "line 4" in result.output
    assert "3 problem(s)" in result.output


def test_bad_header(app, tmp_path):
    before = registry(app)
    result = run(app, tmp_path, "number,code,status\n4100000001,110053842,active\n")
    assert result.exit_code != 0
    assert "line 1" in result.output and "contract_number,company_code,status" in result.output
    assert registry(app) == before


def test_empty_file(app, tmp_path):
    result = run(app, tmp_path, "")
    assert result.exit_code != 0 and "empty" in result.output


def test_unknown_tenant(app, tmp_path):
    result = run(app, tmp_path, HEADER, tenant="nera")
    assert result.exit_code != 0
    assert "no tenant 'nera'" in result.output


def test_tenant_without_contracts(app, tmp_path):
    result = run(app, tmp_path, HEADER + "4100000001,110053842,active\n", tenant="velzio")
    assert result.exit_code != 0
    assert "no contract format" in result.output


def test_duplicate_numbers_in_file(app, tmp_path):
    before = registry(app)
    text = HEADER + "4100000001,110053842,active\n4100000001,302477747,active\n"
    result = run(app, tmp_path, text)
    assert result.exit_code != 0
    assert "line 3: contract 4100000001 repeats line 2" in result.output
    assert registry(app) == before


def test_byte_order_mark_and_upper_case_header(app, tmp_path):
    result = run(
        app, tmp_path, "\ufeffCONTRACT_NUMBER,Company_Code,STATUS\n4100000001,110053842,Active\n"
    )
    assert result.exit_code == 0, result.output
    assert registry(app)["4100000001"] == ("110053842", "active")


def test_imported_contract_allows_registration(client, app, tmp_path):
    data = {**ELEKTRUM_OK, "contract_number": "4100000001", "company_code": "302477747"}
    assert submit(client, "/elektrum/register", data).status_code == 422
    run(app, tmp_path, HEADER + "4100000001,302477747,active\n")
    assert submit(client, "/elektrum/register", data).status_code == 303


def test_company_code_in_other_digits_is_refused(app, tmp_path):
    """isdigit() and int() take Arabic-Indic digits; the registry must not."""
    before = registry(app)
    text = HEADER + "4100000001,١١٠٠٥٣٨٤٢,active\n4100000002,１１００５３８４２,active\n"
    result = run(app, tmp_path, text)
    assert result.exit_code != 0
    assert "line 2: company code" in result.output
    assert "line 3" not in result.output  # full-width digits are folded
    assert registry(app) == before


def test_full_width_digits_are_stored_in_ascii(app, tmp_path):
    result = run(app, tmp_path, HEADER + "４１０００００００１,１１００５３８４２,active\n")
    assert result.exit_code == 0, result.output
    assert registry(app)["4100000001"] == ("110053842", "active")


# Full sync and dry run (issue 15 row 13) --------------------------------------


def test_full_sync_ends_contracts_missing_from_the_export(client, app, tmp_path):
    text = HEADER + "4100012345,110053842,active\n4100000001,302477747,active\n"
    result = run(app, tmp_path, text, options=["--full-sync"])
    assert result.exit_code == 0, result.output
    assert "1 created, 0 updated, 1 unchanged, 1 ended" in result.output
    after = registry(app)
    assert after["4100012346"] == ("302477747", "ended")  # ended, not deleted
    assert after["4100099999"] == ("110053842", "ended")  # was ended already: not counted
    assert after["4100012345"] == ("110053842", "active")
    # An ended contract no longer opens a business registration.
    data = {**ELEKTRUM_OK, "contract_number": "4100012346", "company_code": "302477747"}
    assert submit(client, "/elektrum/register", data).status_code == 422


def test_without_full_sync_missing_contracts_stay_active(app, tmp_path):
    result = run(app, tmp_path, HEADER + "4100012345,110053842,active\n")
    assert result.exit_code == 0, result.output
    assert "ended" not in result.output
    assert registry(app)["4100012346"] == ("302477747", "active")


def test_dry_run_counts_what_it_would_do_and_writes_nothing(app, tmp_path):
    before = registry(app)
    text = HEADER + "4100012345,110053842,ended\n4100000001,302477747,active\n"
    result = run(app, tmp_path, text, options=["--full-sync", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run, nothing was written" in result.output
    assert "1 to create, 1 to update, 0 unchanged, 1 to end" in result.output
    assert registry(app) == before
    # The real run does what the dry run said.
    done = run(app, tmp_path, text, options=["--full-sync"])
    assert "1 created, 1 updated, 0 unchanged, 1 ended" in done.output


def test_dry_run_names_bad_rows(app, tmp_path):
    text = HEADER + "4100000001,110053843,active\n"
    result = run(app, tmp_path, text, options=["--dry-run"])
    assert result.exit_code != 0
    assert "line 2" in result.output and "nothing was imported" in result.output


def test_full_sync_of_an_export_without_rows_is_refused(app, tmp_path):
    before = registry(app)
    result = run(app, tmp_path, HEADER, options=["--full-sync"])
    assert result.exit_code != 0
    assert "lists no contracts" in result.output
    assert registry(app) == before


def test_a_bad_row_in_a_later_batch_writes_nothing(app, tmp_path, monkeypatch):
    """Batches are written as the file is read, in one transaction: a problem in
    the last batch still leaves the registry as it was, and a repeat is found
    across batches."""
    monkeypatch.setattr(contracts, "BATCH", 2)
    before = registry(app)
    rows = "".join(f"41000000{i:02},110053842,active\n" for i in range(1, 8))
    text = HEADER + rows + "4100000001,302477747,active\n" + "4100000099,110053843,active\n"
    result = run(app, tmp_path, text, options=["--full-sync"])
    assert result.exit_code != 0
    assert "line 9: contract 4100000001 repeats line 2" in result.output
    assert "line 10: company code" in result.output
    assert registry(app) == before
    again = run(
        app, tmp_path, HEADER + rows, options=["--full-sync"]
    )  # the temporary table is gone
    assert "7 created, 0 updated, 0 unchanged, 2 ended" in again.output, again.output


def test_a_file_bad_throughout_names_the_first_problems_only(app, tmp_path):
    rows = "".join(f"{4100000000 + i},110053843,active\n" for i in range(250))
    result = run(app, tmp_path, HEADER + rows)
    assert result.exit_code != 0
    assert result.output.count("company code") == contracts.MAX_PROBLEMS
    assert "and 150 more" in result.output and "250 problem(s)" in result.output


def test_not_utf8_is_refused(app, tmp_path):
    path = tmp_path / "contracts.csv"
    path.write_bytes(HEADER.encode() + b"4100000001,110053842,active\n" + b"\xff\xfe,x,y\n")
    result = app.test_cli_runner().invoke(args=["contracts", "import", "elektrum", str(path)])
    assert result.exit_code != 0
    assert "not UTF-8" in result.output and "nothing was imported" in result.output
    assert "4100000001" not in registry(app)


def test_memory_does_not_grow_with_the_file(app):
    """Not a timing: the import's peak of Python memory for 10,000 rows is about
    that for 1,000 (one batch at a time), where reading the file whole grew ten
    times. bench/contracts_import.py measures the real figures."""

    def peak(rows: int) -> int:
        lines = itertools.chain(
            [HEADER], (f"{4200000000 + i},110053842,active\n" for i in range(rows))
        )
        with app.app_context():
            elektrum = db.session.scalar(select(Tenant).where(Tenant.slug == "elektrum"))
            settings = settings_for(elektrum)
            tracemalloc.start()
            try:
                import_contracts(elektrum, settings, lines, dry_run=True)
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    peak(1000)  # warm the statement caches
    small, large = peak(1000), peak(10000)
    assert large < 2 * small, (small, large)

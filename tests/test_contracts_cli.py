"""`flask contracts import`: an upsert of the registry, all or nothing."""

from conftest import ELEKTRUM_OK, submit
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Contract

HEADER = "contract_number,company_code,status\n"


def run(app, tmp_path, text, tenant="elektrum"):
    path = tmp_path / "contracts.csv"
    path.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["contracts", "import", tenant, str(path)])


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

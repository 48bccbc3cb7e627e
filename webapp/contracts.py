"""The contract registry import: a utility's CSV export, all or nothing.

The export is read row by row and written in batches, so memory stays flat
however long the file is (a 300,000-row export once took 910 MB when it was read
whole). The contract numbers already read are kept in a temporary table of the
import's own connection, not in Python, for the two checks that need every row:
a number repeated in the file, and (full sync) the contracts the file no longer
lists. One transaction: any bad row and nothing is written."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import text as sql

from .extensions import db
from .messages import MESSAGES, message
from .models import Contract, Tenant, utcnow
from .policy import company_code_checksum_ok, normalise_company_code, normalise_contract_number
from .tenants import TenantSettings

HEADER = ["contract_number", "company_code", "status"]
STATUSES = ("active", "ended")
# Rows per round trip: big enough that the statements' overhead vanishes, small
# enough to stay under every driver's parameter limit (SQLite: 32766).
BATCH = 1000
# A file that is wrong throughout (another tenant's export, the wrong columns)
# would otherwise list every one of its lines.
MAX_PROBLEMS = 100

CONTRACTS = Contract.__table__
# Per connection (temporary), so two imports at once do not see each other's.
SEEN = Table(
    "contract_import_seen",
    MetaData(),
    Column("contract_number", String(40), primary_key=True),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class Problem:
    """One reason a file is refused: its line (None: the whole file) and a
    message key of webapp/messages.py with its parameters, so the CLI can print
    it in English and the staff console in the reader's language."""

    line: int | None
    key: str
    params: dict = field(default_factory=dict)

    def text(self) -> str:
        """The reason in the current language, without the line."""
        return message(self.key, **self.params)

    def english(self) -> str:
        reason = MESSAGES[self.key]._args[0] % self.params
        return reason if self.line is None else f"line {self.line}: {reason}"


class ContractImportError(ValueError):
    """The file is refused; `details` are the first MAX_PROBLEMS, by line (and a
    last one saying how many more), `problems` the same in English, and `total`
    counts them all."""

    def __init__(self, details: list[Problem], total: int | None = None):
        self.details = details
        self.problems = [problem.english() for problem in details]
        super().__init__("\n".join(self.problems))
        self.total = len(details) if total is None else total


def refused(key: str, line: int | None = None, **params) -> ContractImportError:
    """A file refused for one reason."""
    return ContractImportError([Problem(line, key, params)])


@dataclass
class ImportSummary:
    """What an import did, or with `dry_run` what it would do. The CLI prints
    it; a staff console can show it as the preview of an upload."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Full sync: active contracts the export does not list, set to "ended".
    ended: int = 0
    full_sync: bool = False
    dry_run: bool = False

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged

    def describe(self) -> str:
        if self.dry_run:
            text = (
                f"contracts (dry run, nothing was written): {self.created} to create, "
                f"{self.updated} to update, {self.unchanged} unchanged"
            )
            return text + (f", {self.ended} to end" if self.full_sync else "")
        text = (
            f"contracts: {self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        )
        return text + (f", {self.ended} ended" if self.full_sync else "")


@dataclass(frozen=True)
class _Row:
    line: int
    number: str
    code: str
    status: str


class _Problems:
    def __init__(self):
        self.found: list[Problem] = []
        self.total = 0

    def add(self, line: int, key: str, **params) -> None:
        self.total += 1
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(Problem(line, key, params))

    def error(self) -> ContractImportError:
        problems = sorted(self.found, key=lambda problem: problem.line)
        if self.total > len(problems):
            problems.append(Problem(None, "REGISTRY_MORE", {"count": self.total - len(problems)}))
        return ContractImportError(problems, self.total)


def import_contracts(
    tenant: Tenant,
    settings: TenantSettings,
    source: str | Iterable[str],
    *,
    full_sync: bool = False,
    dry_run: bool = False,
    before_commit: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Upsert the registry from `source` (the file's text, or its lines as an open
    text file gives them) in one transaction; nothing is written if any row is
    bad. With `full_sync`, active contracts missing from the export are ended
    (never deleted: accounts refer to them by number). With `dry_run`, everything
    is checked and counted, and nothing is written. `before_commit` adds what
    goes with the import (its history row, its audit row) to its transaction."""
    if settings.contract is None:
        raise refused("REGISTRY_NO_FORMAT", slug=settings.slug)
    lines = io.StringIO(source) if isinstance(source, str) else source
    summary = ImportSummary(full_sync=full_sync, dry_run=dry_run)
    problems = _Problems()
    try:
        connection = db.session.connection()
        connection.execute(sql("DROP TABLE IF EXISTS contract_import_seen"))
        SEEN.create(connection)
        batch: list[_Row] = []
        for row in _rows(settings, csv.reader(lines), problems):
            batch.append(row)
            if len(batch) == BATCH:
                _upsert(tenant, batch, summary, problems)
                batch = []
        _upsert(tenant, batch, summary, problems)
        if problems.total:
            raise problems.error()
        if full_sync:
            if summary.rows == 0:
                raise refused("REGISTRY_FULL_SYNC_EMPTY")
            summary.ended = _end_missing(tenant, dry_run)
        if dry_run:
            db.session.rollback()
        else:
            if before_commit is not None:
                before_commit(summary)
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        # SQLite runs the CREATE outside the transaction, so a rollback keeps it.
        db.session.execute(sql("DROP TABLE IF EXISTS contract_import_seen"))
        db.session.commit()
    return summary


def _rows(settings: TenantSettings, reader, problems: _Problems) -> Iterator[_Row]:
    """The file's good rows, one at a time; every bad one goes to `problems`."""
    try:
        first = next(reader)
    except StopIteration:
        raise refused("REGISTRY_EMPTY", 1) from None
    except csv.Error as exc:
        raise refused("REGISTRY_CSV", 1, error=str(exc)) from None
    header = [cell.strip().lower() for cell in first]
    if header:
        header[0] = header[0].lstrip("\ufeff")
    if header != HEADER:
        raise refused("REGISTRY_HEADER", 1, header=",".join(HEADER))
    contract = settings.contract
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != 3:
                problems.add(line, "REGISTRY_COLUMNS", found=len(cells))
                continue
            number = normalise_contract_number(cells[0])
            code = normalise_company_code(cells[1])
            status = cells[2].strip().lower()
            bad = False
            if len(number) > 40:
                problems.add(line, "REGISTRY_NUMBER_LONG")
                bad = True
            elif not contract.matches(number):
                problems.add(
                    line, "REGISTRY_NUMBER_FORMAT", number=number, example=contract.example
                )
                bad = True
            if not company_code_checksum_ok(code):
                problems.add(line, "REGISTRY_COMPANY_CODE", code=code)
                bad = True
            if status not in STATUSES:
                problems.add(line, "REGISTRY_STATUS", status=status)
                bad = True
            # A bad row's number still counts as seen, so a repeat of it is named too.
            yield _Row(line, number[:40], code, status if not bad else "")
    except csv.Error as exc:
        problems.add(reader.line_num, "REGISTRY_CSV", error=str(exc))


def _upsert(tenant: Tenant, batch: list[_Row], summary: ImportSummary, problems: _Problems):
    """Note the batch's numbers (naming repeats), then, while the file has no
    problem so far, compare the batch with the registry and write the difference."""
    if not batch:
        return
    numbers = {row.number for row in batch}
    earlier = dict(
        db.session.execute(
            select(SEEN.c.contract_number, SEEN.c.line).where(SEEN.c.contract_number.in_(numbers))
        ).all()
    )
    rows = []
    for row in batch:
        if row.number in earlier:
            problems.add(
                row.line, "REGISTRY_REPEATED", number=row.number, earlier=earlier[row.number]
            )
            continue
        earlier[row.number] = row.line
        rows.append(row)
    if rows:
        db.session.execute(
            insert(SEEN), [{"contract_number": r.number, "line": r.line} for r in rows]
        )
    if problems.total:
        return  # nothing will be written: only the checks go on
    stored = {
        number: (id_, code, status)
        for number, id_, code, status in db.session.execute(
            select(
                Contract.contract_number, Contract.id, Contract.company_code, Contract.status
            ).where(Contract.tenant_id == tenant.id, Contract.contract_number.in_(numbers))
        )
    }
    now = utcnow()
    new, changed = [], []
    for row in rows:
        found = stored.get(row.number)
        if found is None:
            new.append(
                {
                    "tenant_id": tenant.id,
                    "contract_number": row.number,
                    "company_code": row.code,
                    "status": row.status,
                    "updated_at": now,
                }
            )
        elif found[1:] != (row.code, row.status):
            changed.append(
                {
                    "row_id": found[0],
                    "company_code": row.code,
                    "status": row.status,
                    "updated_at": now,
                }
            )
        else:
            summary.unchanged += 1
    summary.created += len(new)
    summary.updated += len(changed)
    if summary.dry_run:
        return
    # Core statements, executemany: the ORM's bulk path costs more than the rows.
    if new:
        db.session.execute(insert(CONTRACTS), new)
    if changed:
        db.session.execute(
            update(CONTRACTS)
            .where(CONTRACTS.c.id == bindparam("row_id"))
            .values(
                company_code=bindparam("company_code"),
                status=bindparam("status"),
                updated_at=bindparam("updated_at"),
            ),
            changed,
        )


def _end_missing(tenant: Tenant, dry_run: bool) -> int:
    """End the tenant's active contracts that the export did not list; how many."""
    missing = (
        (Contract.tenant_id == tenant.id)
        & (Contract.status == "active")
        & ~exists().where(SEEN.c.contract_number == Contract.contract_number)
    )
    if dry_run:
        return db.session.scalar(select(func.count()).select_from(Contract).where(missing))
    result = db.session.execute(
        update(Contract)
        .where(missing)
        .values(status="ended", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def contract_is_active(tenant_slug: str, number: str, company_code: str) -> bool:
    """Whether the tenant's registry holds this active contract of this company."""
    return (
        db.session.scalar(
            select(Contract.id)
            .join(Tenant, Tenant.id == Contract.tenant_id)
            .where(
                Tenant.slug == tenant_slug,
                Contract.contract_number == number,
                Contract.company_code == company_code,
                Contract.status == "active",
            )
        )
        is not None
    )

"""The contract registry import: a utility's CSV export, all or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select

from .extensions import db
from .models import Contract, Tenant
from .policy import company_code_checksum_ok, normalise_company_code, normalise_contract_number
from .tenants import TenantSettings

HEADER = ["contract_number", "company_code", "status"]
STATUSES = ("active", "ended")


class ContractImportError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int


def parse_contracts(settings: TenantSettings, text: str) -> list[tuple[str, str, str]]:
    """Rows as (number, company code, status); every bad row named by line number."""
    if settings.contract is None:
        raise ContractImportError([f"tenant {settings.slug!r} has no contract format"])
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise ContractImportError(["line 1: the file is empty"]) from None
    except csv.Error as exc:
        raise ContractImportError([f"line 1: {exc}"]) from None
    if header != HEADER:
        raise ContractImportError([f"line 1: the header must be {','.join(HEADER)}"])
    rows, problems, seen = [], [], {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != 3:
                problems.append(f"line {line}: expected 3 columns, found {len(cells)}")
                continue
            number = normalise_contract_number(cells[0])
            code = normalise_company_code(cells[1])
            status = cells[2].strip().lower()
            if not settings.contract.matches(number):
                problems.append(
                    f"line {line}: contract number {number!r} does not match the format "
                    f"(e.g. {settings.contract.example})"
                )
            if not company_code_checksum_ok(code):
                problems.append(f"line {line}: company code {code!r} is not a valid 9-digit code")
            if status not in STATUSES:
                problems.append(f"line {line}: status must be active or ended, not {status!r}")
            if number in seen:
                problems.append(f"line {line}: contract {number} repeats line {seen[number]}")
            seen.setdefault(number, line)
            rows.append((number, code, status))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")
    if problems:
        raise ContractImportError(problems)
    return rows


def import_contracts(tenant: Tenant, settings: TenantSettings, text: str) -> ImportResult:
    """Upsert the registry in one transaction; nothing is written if any row is bad."""
    rows = parse_contracts(settings, text)
    existing = {
        c.contract_number: c
        for c in db.session.scalars(select(Contract).where(Contract.tenant_id == tenant.id))
    }
    result = ImportResult(0, 0, 0)
    for number, code, status in rows:
        contract = existing.get(number)
        if contract is None:
            db.session.add(
                Contract(
                    tenant_id=tenant.id, contract_number=number, company_code=code, status=status
                )
            )
            result.created += 1
        elif (contract.company_code, contract.status) != (code, status):
            contract.company_code, contract.status = code, status
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.commit()
    return result

"""The contract registry from the console: a staff member uploads the
utility's CSV export, sees what it would change (or, line by line, why it is
refused), then applies exactly that file, all or nothing, with a history row.

The checks and the writing are the CLI's (webapp/contracts.py): one set of
rules whichever door the file comes in by. The uploaded file waits in
`contract_uploads` between the preview and "apply", so any instance can apply
it and nothing but the previewed bytes is written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from .. import events
from ..contracts import ContractImportError, ImportSummary, Problem, import_contracts, refused
from ..extensions import db
from ..models import ContractImport, ContractUpload, Tenant
from ..tenants import settings_for
from .actions import HasId, actor_of

# A registry export of 300,000 rows is about 9 MB.
MAX_BYTES = 20 * 1024 * 1024
FILENAME_MAX = 200
HISTORY_SHOWN = 50


@dataclass
class Preview:
    """What a file would do: the counts, or the problems (by line) that refuse it."""

    digest: str
    size: int
    full_sync: bool
    summary: ImportSummary | None = None
    problems: list[Problem] = field(default_factory=list)
    total_problems: int = 0

    @property
    def ok(self) -> bool:
        return self.summary is not None and not self.problems


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _text(content: bytes) -> str:
    """The file as text: UTF-8 (a spreadsheet's byte order mark dropped), else
    refused, naming the line of the first byte that is not UTF-8."""
    if len(content) > MAX_BYTES:
        raise refused("REGISTRY_TOO_BIG", size=MAX_BYTES // (1024 * 1024))
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refused("REGISTRY_ENCODING", content.count(b"\n", 0, exc.start) + 1) from None


def preview(tenant: Tenant, content: bytes, *, full_sync: bool = False) -> Preview:
    """Check `content` and count what it would create, update, leave and (full
    sync) end; nothing is written."""
    result = Preview(digest_of(content), len(content), full_sync)
    try:
        result.summary = import_contracts(
            tenant, settings_for(tenant), _text(content), full_sync=full_sync, dry_run=True
        )
    except ContractImportError as exc:
        result.problems, result.total_problems = exc.details, exc.total
    return result


def apply(
    tenant: Tenant,
    staff: HasId | str,
    content: bytes,
    *,
    filename: str,
    full_sync: bool = False,
) -> ContractImport:
    """Import `content` in one transaction, with its history and audit rows;
    refused (ContractImportError, nothing written) if any line is bad."""
    actor = actor_of(staff)
    text = _text(content)
    history = ContractImport(
        tenant_id=tenant.id,
        actor=actor,
        filename=_filename(filename),
        digest=digest_of(content),
        size=len(content),
        full_sync=full_sync,
    )

    def record(summary: ImportSummary) -> None:
        history.created, history.updated = summary.created, summary.updated
        history.unchanged, history.ended = summary.unchanged, summary.ended
        db.session.add(history)
        events.emit(tenant.id, "contracts_imported", actor=actor)
        # Applied: the waiting upload has done its job.
        db.session.execute(delete(ContractUpload).where(ContractUpload.tenant_id == tenant.id))

    import_contracts(tenant, settings_for(tenant), text, full_sync=full_sync, before_commit=record)
    return history


def _filename(name: str | None) -> str:
    """The name as the browser gave it, shortened, without its folders."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:FILENAME_MAX] or "registry.csv"


def stage(
    tenant: Tenant, staff: HasId | str, content: bytes, *, filename: str, full_sync: bool
) -> tuple[ContractUpload | None, Preview]:
    """Preview an uploaded file and, when it can be applied, keep it for
    "apply" (in place of the tenant's earlier upload)."""
    actor = actor_of(staff)
    result = preview(tenant, content, full_sync=full_sync)
    db.session.execute(delete(ContractUpload).where(ContractUpload.tenant_id == tenant.id))
    if not result.ok:
        db.session.commit()
        return None, result
    upload = ContractUpload(
        tenant_id=tenant.id,
        actor=actor,
        filename=_filename(filename),
        digest=result.digest,
        full_sync=full_sync,
        content=content,
    )
    db.session.add(upload)
    db.session.commit()
    return upload, result


def staged(tenant: Tenant, upload_id: int, digest: str) -> ContractUpload | None:
    """The tenant's waiting upload with this id and digest (the preview's), or None."""
    return db.session.scalar(
        select(ContractUpload).where(
            ContractUpload.tenant_id == tenant.id,
            ContractUpload.id == upload_id,
            ContractUpload.digest == digest,
        )
    )


def history(tenant: Tenant, limit: int = HISTORY_SHOWN) -> list[ContractImport]:
    """The tenant's imports, newest first."""
    return list(
        db.session.scalars(
            select(ContractImport)
            .where(ContractImport.tenant_id == tenant.id)
            .order_by(ContractImport.created_at.desc(), ContractImport.id.desc())
            .limit(limit)
        )
    )

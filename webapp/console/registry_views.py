"""The contract registry page (admin role): upload the utility's CSV export,
see what it would change or which lines are wrong, then apply exactly that
file; below, the import history."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from ..contracts import ContractImportError
from ..htmx import render
from ..messages import message
from . import bp, registry
from .access import console_tenant, staff_required
from .action_forms import ApplyForm, UploadForm

UPLOAD_ENDPOINT = "console.registry_upload"
# The rest of a multipart body besides the file: the token, the checkbox, the part headers.
FORM_OVERHEAD = 64 * 1024


@bp.url_value_preprocessor
def allow_registry_files(endpoint: str | None, values: dict | None) -> None:
    """The upload may carry a registry export, far above the 64 KB every
    other form may send. Runs before any before_request hook reads the body
    (the CSRF check does)."""
    if endpoint == UPLOAD_ENDPOINT and request.method == "POST":
        request.max_content_length = registry.MAX_BYTES + FORM_OVERHEAD


def _page(tenant, status: int = 200, **context):
    context.setdefault("form", UploadForm())
    return render(
        "console/registry.html",
        status,
        console_tenant=tenant,
        history=registry.history(tenant),
        max_mb=registry.MAX_BYTES // (1024 * 1024),
        **context,
    )


@bp.get("/<slug>/registry")
@staff_required
def registry_page(slug: str):
    """The upload form and the history of imports."""
    tenant, _staff = console_tenant(slug, "admin")
    return _page(tenant)


@bp.post("/<slug>/registry")
@staff_required
def registry_upload(slug: str):
    """Keep the uploaded file and show its preview (nothing is imported yet)."""
    tenant, staff = console_tenant(slug, "admin")
    form = UploadForm()
    upload = request.files.get("file")
    if not form.validate_on_submit():
        return _page(tenant, 422, form=form)
    if upload is None or not upload.filename:
        return _page(tenant, 422, form=form, error=message("CONSOLE_FILE_REQUIRED"))
    # Read at most one byte past the limit: enough to know it is too big.
    content = upload.stream.read(registry.MAX_BYTES + 1)
    staged, preview = registry.stage(
        tenant, staff, content, filename=upload.filename, full_sync=form.full_sync.data
    )
    apply_form = (
        ApplyForm(formdata=None, upload=staged.id, digest=preview.digest) if staged else None
    )
    return _page(
        tenant,
        200 if preview.ok else 422,
        form=form,
        preview=preview,
        staged=staged,
        apply_form=apply_form,
        error=message("CONSOLE_FILE_REFUSED") if not preview.ok else None,
    )


@bp.post("/<slug>/registry/apply")
@staff_required
def registry_apply(slug: str):
    """Import the previewed file, all or nothing."""
    tenant, staff = console_tenant(slug, "admin")
    form = ApplyForm()
    staged = None
    upload_id = form.upload.data or ""
    if form.validate_on_submit() and upload_id.isdigit() and len(upload_id) < 19:
        staged = registry.staged(tenant, int(upload_id), form.digest.data or "")
    if staged is None:
        return _page(tenant, 409, error=message("CONSOLE_UPLOAD_GONE"))
    try:
        done = registry.apply(
            tenant, staff, staged.content, filename=staged.filename, full_sync=staged.full_sync
        )
    except ContractImportError as refused:
        preview = registry.Preview(
            staged.digest, len(staged.content), staged.full_sync, None, refused.details
        )
        preview.total_problems = refused.total
        return _page(tenant, 422, preview=preview, error=message("CONSOLE_FILE_REFUSED"))
    flash(
        message(
            "CONSOLE_IMPORTED",
            created=done.created,
            updated=done.updated,
            unchanged=done.unchanged,
            ended=done.ended,
        ),
        "success",
    )
    return redirect(url_for("console.registry_page", slug=slug), 303)

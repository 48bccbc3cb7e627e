"""The tenant list, the rules page and each tenant's brand stylesheet."""

from __future__ import annotations

from flask import g, jsonify, make_response, render_template
from sqlalchemy import select

from .. import readiness
from ..extensions import db, limiter
from ..htmx import render
from ..models import Tenant
from ..tenants import settings_for
from . import bp


@bp.get("/")
def index():
    """Which utility? A plain list, for people who arrive without a utility's link."""
    tenants = db.session.scalars(
        select(Tenant).where(Tenant.active.is_(True)).order_by(Tenant.name)
    )
    return render("main/index.html", tenants=[settings_for(t) for t in tenants])


@bp.get("/<tenant>/rules")
def rules():
    """The utility's site rules, the version a registration accepts."""
    return render("main/rules.html")


@bp.get("/<tenant>/brand.css")
def brand():
    """The tenant's colours as CSS variables: a stylesheet, so the CSP needs no
    inline style."""
    response = make_response(render_template("main/brand.css", settings=g.settings))
    response.mimetype = "text/css"
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.get("/healthz")
@limiter.exempt
def health():
    """Liveness: the process answers. It does no work on purpose: a balancer
    restarts what fails here, and the benchmark measures the bare server with it."""
    return {"status": "ok"}


@bp.get("/readyz")
@limiter.exempt
def ready():
    """Readiness: 200 when the database, Redis and the mail outbox are fine,
    503 (with the failing check) when this instance should get no customers."""
    ok, checks = readiness.check_all()
    response = jsonify(status="ready" if ok else "unready", checks=checks)
    response.status_code = 200 if ok else 503
    response.cache_control.no_store = True
    return response

"""What a first visit to a registration page costs on the wire, in Chromium.

For each mode (development: `flask run`, static/ served by Flask; production:
gunicorn with gunicorn.conf.py, versioned and pre-compressed static files served
by WhiteNoise) it starts the app on a SQLite file of its own with the demo
tenants, and opens each registration page (/velzio/register, /elektrum/register
and the embedded frame's page /velzio/embed/register) in a new browser context,
so with a cold cache. It counts every request of the visit, the service
worker's precache included: the page, its stylesheets and scripts, the logo,
the service worker and what it keeps, and the manifest with its 192 px icon
(which a browser fetches to offer installation; headless Chromium does not, so
the visit asks for them like e2e/test_pwa.py does).

A request's size is what Chromium counts as transferred: headers and body as
they came over the connection (CDP's Network.loadingFinished encodedDataLength,
which Playwright reports as the response's header size plus its encoded body
size), for the page's requests and the service worker's alike. It also notes
which requests started before the page's load event: the service worker's must
not (it registers once the page is idle).

    .venv/bin/python bench/first_visit.py            # a table, bench/results/first-visit-*.json
    .venv/bin/python bench/first_visit.py --modes production --pages velzio

Not a test: e2e/test_pwa.py asserts the budget; this prints and records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BUDGET = 25 * 1024
MODES = ("development", "production")
# (tenant, path): the pages measured.
PAGES = (
    ("velzio", "/velzio/register"),
    ("elektrum", "/elektrum/register"),
    ("velzio", "/velzio/embed/register"),
)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PREPARE = (
    "import sys; sys.path.insert(0, sys.argv[1]); from flask_migrate import upgrade; "
    "from webapp import create_app; from webapp.tenants import load_tenants; "
    "app = create_app(); ctx = app.app_context(); ctx.push(); "
    "upgrade(directory=sys.argv[1] + '/webapp/migrations'); "
    "from pathlib import Path; load_tenants(Path(sys.argv[1], 'data', 'tenants.toml'))"
)
# What a browser fetches when it considers offering to install the app.
INSTALL_FETCHES = """async () => {
  const link = document.querySelector("link[rel=manifest]");
  if (!link) return;
  const manifest = await (await fetch(link.href)).json();
  const icon = manifest.icons.find((icon) => icon.sizes === "192x192");
  await (await fetch(new URL(icon.src, link.href))).arrayBuffer();
}"""
# Until the page's worker (if it registers one) is installed and in charge.
WORKER_READY = """async () => {
  if (!document.querySelector("link[rel=manifest][data-service-worker]")) return false;
  await navigator.serviceWorker.ready;
  for (let i = 0; i < 200 && !navigator.serviceWorker.controller; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return navigator.serviceWorker.controller !== null;
}"""


def environment(mode: str, workdir: Path, port: int) -> dict[str, str]:
    """A development or production instance on its own SQLite file; mail stays
    in the outbox; limits in memory."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARGON2_", "RATELIMIT_", "FLASK_", "STATIC_", "COMPRESS_"))
    }
    env.update(
        APP_ENV=mode,
        DATABASE_URL=f"sqlite:///{workdir / mode}.sqlite",
        REDIS_URL="",
        MAIL_URL="",
        MAILBOX_ENABLED="0",
        INSTANCE_PATH=str(workdir / f"instance-{mode}"),
        STATIC_BUILD_DIR=str(workdir / f"static-{mode}"),
        SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
        TRUSTED_HOSTS="127.0.0.1",
        PYTHONDONTWRITEBYTECODE="1",
        PUBLIC_URL="https://localhost" if mode == "production" else f"http://127.0.0.1:{port}",
    )
    return env


def start(mode: str, root: Path, workdir: Path, cleanup: ExitStack) -> str:
    """The app in `mode`, the way that mode runs it; its base URL."""
    sys.path.insert(0, str(ROOT))
    from bench.run import free_port, start_gunicorn, stop_gunicorn

    port = free_port()
    env = environment(mode, workdir, port)
    subprocess.run(  # noqa: S603 (our own command line, no shell)
        [sys.executable, "-c", PREPARE, str(root)],
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    log = workdir / f"{mode}.log"
    if mode == "production":
        server = start_gunicorn(env, port, 0, log, root=root)
    else:
        flask = Path(sys.executable).parent / "flask"
        command = [str(flask), "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as out:
            server = subprocess.Popen(  # noqa: S603 (our own command line, no shell)
                command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_for(f"http://127.0.0.1:{port}/healthz", server, log)
    cleanup.callback(stop_gunicorn, server)
    return f"http://127.0.0.1:{port}"


def wait_for(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within 60 s; see {log}")


def visit(browser, base: str, path: str) -> dict:
    """One first visit with a cold cache: every request and its bytes."""
    context = browser.new_context(service_workers="allow")
    page = context.new_page()
    started: dict[object, float] = {}
    finished: list = []
    failed: list = []
    context.on("request", lambda request: started.setdefault(request, time.time() * 1000))
    context.on("requestfinished", lambda request: finished.append(request))
    context.on("requestfailed", lambda request: failed.append(request))
    try:
        page.goto(base + path, wait_until="load")
        load_ms = page.evaluate(
            "performance.getEntriesByType('navigation')[0].loadEventStart + performance.timeOrigin"
        )
        has_worker = page.evaluate(WORKER_READY)
        page.wait_for_load_state("networkidle")
        page.evaluate(INSTALL_FETCHES)
        settle(page, started, finished, failed)
        seen = len(finished)
        first_use = None
        if page.locator("[hx-post]").count():
            # Someone starts using the form: htmx arrives (static/js/app.js).
            page.locator("form input:not([type=hidden])").first.focus()
            page.wait_for_function("() => window.htmx !== undefined")
            settle(page, started, finished, failed)
            first_use = finished[seen:]
            finished = finished[:seen]
        rows = [row(request, base, started) for request in finished]
        rows = [r for r in rows if r is not None]
        used = [r for r in map(lambda q: row(q, base, started), first_use or []) if r is not None]
    finally:
        context.close()
    for item in rows:
        item["before_load"] = item["started_ms"] < load_ms
    early_worker = [r["url"] for r in rows if r["from_worker"] and r["before_load"]]
    return {
        "path": path,
        "service_worker": has_worker,
        "requests": len(rows),
        "failed": [request.url for request in failed],
        "total_bytes": sum(r["bytes"] for r in rows),
        "header_bytes": sum(r["header_bytes"] for r in rows),
        "body_bytes": sum(r["body_bytes"] for r in rows),
        "before_load_bytes": sum(r["bytes"] for r in rows if r["before_load"]),
        # The service worker's requests that started before the load event.
        "worker_before_load": early_worker,
        "rows": rows,
        # What the first focus in the form adds (htmx), None on a page without htmx.
        "first_use_bytes": sum(r["bytes"] for r in used) if first_use is not None else None,
        "first_use_rows": used,
    }


def settle(page, started: dict, finished: list, failed: list) -> None:
    """Until every request started has finished or failed (at most 5 s): its
    size is known only then."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(finished) + len(failed) < len(started):
        page.wait_for_timeout(50)


def row(request, base: str, started: dict) -> dict | None:
    """A finished request as counted: None when the worker answered it (its
    own fetch is counted) or the browser's memory cache did."""
    response = request.response()
    if response is not None and response.from_service_worker:
        return None
    sizes = request.sizes()
    header_bytes, body_bytes = sizes["responseHeadersSize"], sizes["responseBodySize"]
    if header_bytes + body_bytes <= 0:
        # From the browser's memory cache: nothing came over the wire.
        header_bytes = body_bytes = 0
    return {
        "url": request.url.removeprefix(base),
        "status": response.status if response else None,
        "from_worker": request.service_worker is not None,
        "encoding": (response.headers.get("content-encoding") if response else None) or "-",
        "header_bytes": header_bytes,
        "body_bytes": body_bytes,
        "bytes": header_bytes + body_bytes,
        "started_ms": request.timing["startTime"] or started.get(request, 0),
    }


def measure_all(
    root: Path = ROOT,
    workdir: Path | None = None,
    modes: tuple[str, ...] = MODES,
    pages: tuple[tuple[str, str], ...] = PAGES,
) -> list[dict]:
    """Each page in each mode; one dict per visit."""
    from playwright.sync_api import sync_playwright

    results = []
    with ExitStack() as cleanup:
        if workdir is None:
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="visit-")))
        workdir.mkdir(parents=True, exist_ok=True)
        playwright = cleanup.enter_context(sync_playwright())
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM) if CHROMIUM.exists() else None, args=CHROMIUM_ARGS
        )
        cleanup.callback(browser.close)
        for mode in modes:
            with ExitStack() as server:
                base = start(mode, root, workdir, server)
                for tenant, path in pages:
                    found = visit(browser, base, path)
                    results.append({"mode": mode, "tenant": tenant, **found})
    return results


def table(results: list[dict]) -> str:
    head = (
        f"{'mode':<12} {'page':<24} {'requests':>8} {'headers B':>9} {'bodies B':>9} "
        f"{'total KiB':>9} {'budget':>7} {'SW before load':>14} {'+ first use KiB':>15}"
    )
    lines = [head, "-" * len(head)]
    for item in results:
        lines.append(
            f"{item['mode']:<12} {item['path']:<24} {item['requests']:>8} "
            f"{item['header_bytes']:>9} {item['body_bytes']:>9} "
            f"{item['total_bytes'] / 1024:>9.1f} "
            f"{'met' if item['total_bytes'] <= BUDGET else 'MISSED':>7} "
            f"{len(item['worker_before_load']):>14} "
            f"{(item['first_use_bytes'] or 0) / 1024:>15.1f}"
        )
    return "\n".join(lines)


def details(results: list[dict]) -> str:
    lines = []
    for item in results:
        lines.append(f"\n{item['mode']} {item['path']}:")
        for row in item["rows"]:
            who = "sw  " if row["from_worker"] else "page"
            when = "before load" if row["before_load"] else "after load"
            lines.append(
                f"  {row['bytes']:6d} B ({row['header_bytes']:4d} + {row['body_bytes']:6d}) "
                f"{row['encoding']:<5} {who} {when:<11} {row['url']}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--pages", default="", help="comma-separated tenants (default: all)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--details", action="store_true", help="every request of every visit")
    args = parser.parse_args(argv)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    wanted = {t.strip() for t in args.pages.split(",") if t.strip()}
    pages = tuple(p for p in PAGES if not wanted or p[0] in wanted)
    results = measure_all(args.root.resolve(), modes=modes, pages=pages)
    print(table(results))
    if args.details:
        print(details(results))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"first-visit-{stamp}.json"
    path.write_text(
        json.dumps(
            {"timestamp": stamp, "budget_bytes": BUDGET, "root": str(args.root), "visits": results},
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {path}")
    return 0 if all(item["total_bytes"] <= BUDGET for item in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Garbage-collection pauses inside a gunicorn worker under load, with and
without gunicorn.conf.py's gc.freeze() (issue #13, the tails).

For each variant: gunicorn with the project's settings and one worker
(bench/gc_gunicorn.py times every collection in it), PostgreSQL and Redis as in
bench/run.py, then wrk at one client on the live check, the registration page
and the login page. Prints each variant's collections per generation (count,
total and longest pause; full collections with the second of the worker's life
they came at) and writes bench/results/gc-<UTC time>.json.

    .venv/bin/python bench/gc_pauses.py --seconds 6
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run as bench  # noqa: E402

CASES = ("check", "page", "loginpage")


def measure(freeze: bool, seconds: float, database_url: str, redis_url: str) -> dict:
    out: dict = {}
    with ExitStack() as cleanup:
        workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="gc-")))
        schema, url = bench.create_schema(database_url)
        cleanup.callback(bench.drop_schema, database_url, schema)
        prefix = f"gc-{uuid.uuid4().hex[:8]}"
        cleanup.callback(bench.clear_redis, redis_url, prefix)
        env = bench.server_environment(url, redis_url, workdir / "instance", prefix)
        env["BENCH_GC_FREEZE"] = "1" if freeze else "0"
        log = workdir / "gunicorn.log"
        # Runs after gunicorn has stopped (callbacks run last-registered first).
        cleanup.callback(lambda: out.update(log=log.read_text(errors="replace")))
        extra = ["--config", str(ROOT / "bench" / "gc_gunicorn.py"), "--workers", "1"]
        server = bench.start_ours(
            cleanup, ROOT, env, f"gc-{prefix}@example.com", prefix, log, extra
        )
        runs = [bench.run_wrk(server.base, server.cases[name], 1, seconds) for name in CASES]
    line = next(x for x in out["log"].splitlines() if x.startswith("BENCH_GC "))
    data = json.loads(line.removeprefix("BENCH_GC "))
    data["freeze"] = freeze
    data["requests"] = sum(run["requests"] for run in runs)
    data["wrk"] = runs
    return data


def summary(data: dict) -> str:
    by = {g: [c["ms"] for c in data["collections"] if c["generation"] == g] for g in (0, 1, 2)}
    parts = [
        f"gen{g}: {len(p)} x, {sum(p):.1f} ms in all, longest {max(p, default=0):.1f} ms"
        for g, p in by.items()
    ]
    full = [
        f"{c['ms']:.1f} ms at {c['at_s']:.1f} s"
        for c in data["collections"]
        if c["generation"] == 2
    ]
    return (
        f"{'with' if data['freeze'] else 'without'} gc.freeze: {data['requests']} requests, "
        f"{data['frozen']} objects frozen, worker init +{data['init_ms']:.0f} ms; "
        + "; ".join(parts)
        + f"; full collections: {', '.join(full) or 'none'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6, help="wrk seconds per case")
    parser.add_argument("--database-url", default=bench.parse_args([]).database_url)
    parser.add_argument("--redis-url", default=bench.parse_args([]).redis_url)
    parser.add_argument("--results", type=Path, default=bench.RESULTS)
    args = parser.parse_args(argv)
    variants = [measure(f, args.seconds, args.database_url, args.redis_url) for f in (False, True)]
    for data in variants:
        print(summary(data))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"gc-{stamp}.json"
    path.write_text(json.dumps({"timestamp": stamp, "variants": variants}, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

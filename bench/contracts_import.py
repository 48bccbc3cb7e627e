"""The contract import at scale: time and peak memory of `flask contracts import`.

Generates a registry export of N rows, migrates a fresh SQLite database (or a
fresh PostgreSQL schema with --database-url), loads the demo tenants, then runs
the command in a child process, twice: the first import (every row created) and
the same file again (every row unchanged). Prints wall time and the child's peak
resident memory (getrusage ru_maxrss). Figures, not a test: run it alone.

    .venv/bin/python bench/contracts_import.py --rows 300000 [--args=--full-sync]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(Path(sys.executable).with_name("flask")), "--app", "wsgi"]
CODES = ("110053842", "302477747")


def write_export(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write("contract_number,company_code,status\n")
        for i in range(rows):
            status = "ended" if i % 10 == 9 else "active"
            file.write(f"{4_100_000_000 + i},{CODES[i % 2]},{status}\n")


# Runs the command and prints its peak resident memory (KiB on Linux) on stderr's
# last line: a wrapper per run, so each figure is that run's own.
PEAK = (
    "import resource, subprocess, sys;"
    "code = subprocess.run(sys.argv[1:]).returncode;"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
    "sys.exit(code)"
)


def run(env: dict, *args: str) -> tuple[float, float, str]:
    """(seconds, peak MiB, output) of one flask command in its own process."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own interpreter, no shell)
        [sys.executable, "-c", PEAK, *FLASK, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    *errors, peak = done.stderr.rstrip().splitlines()
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(args)} failed:\n{done.stdout}" + "\n".join(errors))
    return seconds, int(peak) / 1024, (done.stdout + "\n".join(errors)).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--args", default="", help="extra options for the import, quoted")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {
            **os.environ,
            "APP_ENV": "development",
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}",
            "MAIL_URL": "",
        }
        run(env, "db", "upgrade", "--directory", str(ROOT / "webapp" / "migrations"))
        run(env, "tenants", "load", str(ROOT / "data" / "tenants.toml"))
        export = tmp / "contracts.csv"
        write_export(export, options.rows)
        extra = shlex.split(options.args)
        print(f"{options.rows} rows, {export.stat().st_size / 2**20:.1f} MiB of CSV")
        for label in ("first import", "same file again"):
            seconds, peak, output = run(env, "contracts", "import", *extra, "elektrum", str(export))
            print(f"{label}: {seconds:.1f} s, peak {peak:.0f} MiB: {output.splitlines()[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

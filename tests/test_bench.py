"""`make bench` runs to completion: a short wrk run of every case against
gunicorn on the real PostgreSQL and Redis, with a JSON report and no errors.
Timings are not checked here: the benchmark reports them, a test cannot."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from webapp.config import PROJECT_ROOT

DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")

pytestmark = [
    pytest.mark.skipif(
        not (DATABASE_URL and REDIS_URL),
        reason="the benchmark needs TEST_DATABASE_URL and TEST_REDIS_URL",
    ),
    pytest.mark.skipif(
        shutil.which("wrk") is None, reason="wrk is missing (apt-get install wrk; .ci/run does)"
    ),
]


def test_bench_runs_every_case_and_writes_its_report(tmp_path):
    command = [
        sys.executable,
        str(PROJECT_ROOT / "bench" / "run.py"),
        "--duration=3",
        "--warmup=0",
        "--concurrency=2",
        "--renders=5",
        "--hashes=1",
        "--no-chart",
        f"--results={tmp_path}",
        f"--database-url={DATABASE_URL}",
        f"--redis-url={REDIS_URL}",
    ]
    result = subprocess.run(  # noqa: S603 (our own script)
        command, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "registrations/s per core" in result.stdout
    (report,) = tmp_path.glob("*.json")
    data = json.loads(report.read_text())
    rows = {row["case"]: row for row in data["rows"]}
    assert set(rows) == {"bare", "check", "page", "register", "login"}
    for row in rows.values():
        assert row["requests"] > 0, row
        assert row["socket_errors"] == 0 and row["unexpected_status"] == 0, row
    assert rows["bare"]["rps_ratio"] == 1
    assert data["argon2"]["memory_cost_kib"] == 19 * 1024
    assert len(data["targets"]) == 3

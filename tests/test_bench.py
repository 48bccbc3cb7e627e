"""`make bench` runs to completion (its `--quick` shape): a short wrk run of every
case against gunicorn on the real PostgreSQL and Redis, and side by side with
the peer (Flask-Security-Too) on SQLite, with a JSON report and no errors.
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
        "--quick",
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
    assert set(rows) == {"bare", "check", "page", "loginpage"}
    side = {(row["contender"], row["case"]): row for row in data["side_by_side"]["rows"]}
    cases = {"bare", "page", "loginpage", "check", "register", "login"}
    assert set(side) == {(who, case) for who in ("ours", "peer") for case in cases}
    for row in [*rows.values(), *side.values()]:
        assert row["requests"] > 0, row
        assert row["socket_errors"] == 0 and row["unexpected_status"] == 0, row
        assert row["rps_ratio"] == 1 if row["case"] == "bare" else row["rps_ratio"] > 0
    assert side["ours", "page"]["peer_rps_ratio"] > 0
    assert data["side_by_side"]["contenders"]["peer"] == "Flask-Security-Too 5.9.2"
    assert data["argon2"]["memory_cost_kib"] == 19 * 1024
    assert data["machine"]["cpus"] > 0 and data["machine"]["cpu_model"]
    assert [t["target"] for t in data["targets"] if not isinstance(t["met"], bool)] == []
    assert any("the peer's" in t["target"] for t in data["targets"])

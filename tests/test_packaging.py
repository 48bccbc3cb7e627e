"""`pip install savitarna[qa]` from a built wheel works without our source tree:
the wheel carries templates/, static/, translations/, data/ and demo/ (setup.py)
and the installed code finds them (webapp.config.RESOURCE_ROOT)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from webapp.config import PROJECT_ROOT

RESOURCES = ("templates", "static", "translations", "data", "demo")

# What a tester's process does with the installed package: the kit's own local
# server (fresh SQLite database, migrations, the packaged demo tenants), one page
# through the test client, one static file, and the kit's catalogues.
CONSUMER = """
import json, sys
from pathlib import Path

import savitarna_qa, webapp
from savitarna_qa import Texts
from savitarna_qa.server import start_local_server

folder = Path(sys.argv[1])
folder.mkdir()
server = start_local_server(folder)
try:
    client = server.app.test_client()
    page = client.get("/velzio/register")
    script = client.get("/static/embed.js")
    print(json.dumps({
        "webapp": webapp.__file__,
        "savitarna_qa": savitarna_qa.__file__,
        "status": page.status_code,
        "page": page.get_data(as_text=True),
        "static": script.status_code,
        "email_label": Texts("lt")("Email address"),
    }))
finally:
    server.stop()
"""


def _source_copy(target: Path) -> Path:
    """The working tree without what a build must not pick up (build/, the venv)."""
    for lang in ("lt", "en"):
        mo = PROJECT_ROOT / "translations" / lang / "LC_MESSAGES" / "messages.mo"
        assert mo.exists(), f"{mo} is missing: run `make translations` first"
    shutil.copytree(
        PROJECT_ROOT,
        target,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "build",
            "instance",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            ".hypothesis",
            "tests",
            "e2e",
            "bench",
            "docs",
            "examples",
        ),
    )
    return target


def test_the_built_wheel_serves_pages_without_the_source_tree(tmp_path):
    source = _source_copy(tmp_path / "source")
    wheels = tmp_path / "wheels"
    # Build isolation fetches setuptools from PyPI, as any consumer's build would.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, source],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = wheels.glob("savitarna-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", site, wheel],
        check=True,
        capture_output=True,
        timeout=120,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "APP_ENV": "testing",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    done = subprocess.run(
        [sys.executable, "-c", CONSUMER, str(tmp_path / "qa")],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # The installed copy, not our checkout (which the venv's editable install points at).
    assert Path(seen["webapp"]).is_relative_to(site), seen["webapp"]
    assert Path(seen["savitarna_qa"]).is_relative_to(site), seen["savitarna_qa"]
    assert seen["status"] == 200
    assert seen["email_label"] == "El. pašto adresas"
    assert "El. pašto adresas" in seen["page"]
    assert seen["static"] == 200
    # Every file of the five folders, not only those this page needed.
    names = zipfile.ZipFile(wheel).namelist()
    for folder in RESOURCES:
        expected = {
            f"webapp/_shared/{path.relative_to(PROJECT_ROOT).as_posix()}"
            for path in (PROJECT_ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        assert expected, folder
        assert expected <= set(names), sorted(expected - set(names))

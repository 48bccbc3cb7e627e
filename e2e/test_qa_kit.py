"""The QA kit as a utility's tester uses it: the example test of README
("Testing your integration") copied into a directory of its own and run by
pytest there, with the installed package's plugin and nothing of our suites."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.config import PROJECT_ROOT

pytestmark = pytest.mark.e2e

EXAMPLE = PROJECT_ROOT / "examples" / "qa" / "test_example.py"
KIT = PROJECT_ROOT / "savitarna_qa"
# What a tester's shell has; none of our settings (APP_ENV, DATABASE_URL ...).
KEPT = ("PATH", "HOME", "LANG", "TMPDIR")


def run_example(folder: Path, *options: str) -> subprocess.CompletedProcess:
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    env = {name: os.environ[name] for name in KEPT if name in os.environ}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *options]
    return subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.mark.parametrize("tenant", ["velzio", "elektrum"])
def test_the_example_passes_from_a_directory_of_its_own(tmp_path, tenant):
    """Against the local server the plugin starts: JavaScript on and off."""
    result = run_example(tmp_path, "--savitarna-tenant", tenant)
    report = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert "2 passed" in result.stdout, report
    assert not (tmp_path / "conftest.py").exists()


def test_the_kit_imports_nothing_of_our_suites():
    """The plugin runs where our source tree's tests are not."""
    for source in [*KIT.glob("*.py"), EXAMPLE]:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top not in {"tests", "e2e", "conftest", "bench"}, (source.name, name)

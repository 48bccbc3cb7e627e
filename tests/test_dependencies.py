"""Every package the product's code imports is one it declares in
pyproject.toml: an install that resolves other versions (or drops a package
another one no longer needs) must not leave an import without its package."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from webapp.config import PROJECT_ROOT

# Imported directly, and part of what a declared package promises to bring
# (Flask is built on Werkzeug, Click, ItsDangerous and MarkupSafe; Flask-Babel
# on Babel; Flask-Migrate is Alembic's front; Flask-Limiter[redis] brings limits
# and redis).
BROUGHT_BY = {
    "werkzeug": "flask",
    "click": "flask",
    "itsdangerous": "flask",
    "markupsafe": "flask",
    "babel": "flask-babel",
    "alembic": "flask-migrate",
    "limits": "flask-limiter",
    "redis": "flask-limiter",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["qa"]]
    return {_normal(re.match(r"[A-Za-z0-9._-]+", item).group(0)) for item in requirements}


def _imported(package: str) -> set[str]:
    names = set()
    for path in (PROJECT_ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names}


def test_every_imported_package_is_declared():
    declared = _declared()
    distributions = packages_distributions()
    own = {"webapp", "savitarna_qa"}
    missing = {}
    for package in own:
        for module in _imported(package) - own:
            names = {_normal(d) for d in distributions.get(module, [module])}
            if not names & declared and BROUGHT_BY.get(module) not in declared:
                missing[module] = sorted(names)
    assert missing == {}, f"imported but not in pyproject.toml dependencies: {missing}"

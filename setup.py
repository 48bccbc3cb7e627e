"""The one thing pyproject.toml cannot say: templates/, static/, translations/,
data/ and demo/ stay at the repository's top level, yet a built wheel carries
them as `webapp/_shared/<folder>/` (package data of a package mapped onto each
folder), so `pip install savitarna` works without the source tree. The
metadata is in pyproject.toml; webapp.config.RESOURCE_ROOT finds the folders.
Compile the catalogues first (`make wheel` does): the .mo files are not in git."""

from pathlib import Path

from setuptools import find_namespace_packages, setup

RESOURCES = ("templates", "static", "translations", "data", "demo")


def resource_packages(folder: str) -> list[str]:
    """The folder and every folder under it, as packages of webapp._shared
    (setuptools warns about, and may one day drop, data folders it is not told of)."""
    root = Path(folder)
    subfolders = sorted(path for path in root.rglob("*") if path.is_dir())
    return [
        f"webapp._shared.{folder}",
        *(
            f"webapp._shared.{folder}." + ".".join(path.relative_to(root).parts)
            for path in subfolders
        ),
    ]


setup(
    packages=[
        *find_namespace_packages(
            include=["webapp", "webapp.*", "savitarna_qa", "savitarna_qa.*"],
            exclude=["*.__pycache__"],
        ),
        *(name for folder in RESOURCES for name in resource_packages(folder)),
    ],
    package_dir={f"webapp._shared.{folder}": folder for folder in RESOURCES},
    package_data={
        "webapp.migrations": ["*"],
        **{f"webapp._shared.{folder}": ["**/*"] for folder in RESOURCES},
    },
    exclude_package_data={"": ["*.pyc", "__pycache__/*"]},
)

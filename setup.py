"""The one thing pyproject.toml cannot say: templates/, static/, translations/,
data/ and demo/ stay at the repository's top level, yet a built wheel carries
them as `webapp/_shared/<folder>/` (package data of a package mapped onto each
folder), so `pip install savitarna` works without the source tree. The
metadata is in pyproject.toml; webapp.config.RESOURCE_ROOT finds the folders.
Compile the catalogues first (`make wheel` does): the .mo files are not in git."""

from setuptools import find_packages, setup

RESOURCES = ("templates", "static", "translations", "data", "demo")

setup(
    packages=[
        *find_packages(include=["webapp*", "savitarna_qa*"]),
        *(f"webapp._shared.{folder}" for folder in RESOURCES),
    ],
    package_dir={f"webapp._shared.{folder}": folder for folder in RESOURCES},
    package_data={
        "webapp": ["migrations/*", "migrations/versions/*"],
        **{f"webapp._shared.{folder}": ["**/*"] for folder in RESOURCES},
    },
    exclude_package_data={"": ["*.pyc", "__pycache__/*"]},
)

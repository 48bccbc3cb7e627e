"""Certificates for the servers a test runs over TLS, made with the openssl
command (.ci/run installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def self_signed_certificate(folder: Path, name: str, *alt_names: str) -> tuple[Path, Path]:
    """(cert.pem, key.pem) in `folder`: a one-day self-signed certificate for
    `name` (and `alt_names`, e.g. "IP:127.0.0.1")."""
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command makes the test certificate"
    cert, key = folder / "cert.pem", folder / "key.pem"
    names = ",".join([f"DNS:{name}", *alt_names])
    subprocess.run(  # noqa: S603 (fixed arguments)
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName={names}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key

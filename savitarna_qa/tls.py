"""Trusting a deployment's own certificate (a staging CA, or a self-signed one)
in both halves of the kit: the HTTP client of the QA mail API checks the server
against it, and Chromium is told the certificates' public-key hashes
(--ignore-certificate-errors-spki-list), which trusts those keys only, not every
certificate as --ignore-certificate-errors would."""

from __future__ import annotations

import base64
import hashlib
import ssl
from pathlib import Path


def _tlv(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at `at`."""
    tag, length = der[at], der[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[at : at + count], "big")
        at += count
    return tag, at, at + length


def _children(der: bytes, start: int, end: int):
    while start < end:
        tag, content, after = _tlv(der, start)
        yield tag, start, after
        start = after


def spki_hash(der_certificate: bytes) -> str:
    """Base64 SHA-256 of a DER certificate's SubjectPublicKeyInfo, the form
    Chromium's --ignore-certificate-errors-spki-list takes."""
    _, content, end = _tlv(der_certificate, 0)  # Certificate
    _, tbs, tbs_end = _tlv(der_certificate, content)  # TBSCertificate
    fields = [(tag, s, e) for tag, s, e in _children(der_certificate, tbs, tbs_end)]
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    _, start, after = fields[5]
    return base64.b64encode(hashlib.sha256(der_certificate[start:after]).digest()).decode()


def pem_certificates(path: Path) -> list[bytes]:
    """The DER bytes of every certificate in a PEM file."""
    marker = "-----END CERTIFICATE-----"
    text = Path(path).read_text(encoding="ascii")
    blocks = [block + marker for block in text.split(marker) if "BEGIN CERTIFICATE" in block]
    if not blocks:
        raise ValueError(f"{path}: no PEM certificate in it")
    return [ssl.PEM_cert_to_DER_cert(block.strip()) for block in blocks]


def chromium_args(path: Path) -> list[str]:
    """Chromium's flag trusting the keys of the certificates in `path`."""
    hashes = ",".join(spki_hash(der) for der in pem_certificates(path))
    return [f"--ignore-certificate-errors-spki-list={hashes}"]


def client_context(path: Path) -> ssl.SSLContext:
    """An ssl context for httpx that trusts `path` (and nothing else)."""
    return ssl.create_default_context(cafile=str(path))

"""A software passkey authenticator for the flow tests: makes a P-256 key pair,
answers navigator.credentials.create() and .get() as a browser would hand
them to the server (attestation "none"), and counts its signatures. The
browser suite uses Chromium's own virtual authenticator instead."""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url

UP, UV, AT = 0x01, 0x04, 0x40


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost"
    rp_id: str = "localhost"
    verifies_user: bool = True
    sign_count: int = 0
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    user_handle: str | None = None

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        ).encode()

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + attested

    def create(self, options: dict) -> str:
        """The answer to navigator.credentials.create(options), as JSON."""
        self.user_handle = options["user"]["id"]
        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        attested = (
            bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose
        )
        flags = UP | AT | (UV if self.verifies_user else 0)
        attestation = cbor2.dumps(
            {"fmt": "none", "attStmt": {}, "authData": self._auth_data(flags, attested)}
        )
        return json.dumps(
            {
                "id": _b64(self.credential_id),
                "rawId": _b64(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": _b64(
                        self._client_data("webauthn.create", options["challenge"])
                    ),
                    "attestationObject": _b64(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
            }
        )

    def get(self, options: dict) -> str:
        """The answer to navigator.credentials.get(options), as JSON (the
        counter moves on by one, as a real authenticator's does)."""
        self.sign_count += 1
        client_data = self._client_data("webauthn.get", options["challenge"])
        auth_data = self._auth_data(UP | (UV if self.verifies_user else 0))
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "id": _b64(self.credential_id),
                "rawId": _b64(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": _b64(client_data),
                    "authenticatorData": _b64(auth_data),
                    "signature": _b64(signature),
                    "userHandle": self.user_handle,
                },
                "clientExtensionResults": {},
            }
        )

    def clone(self) -> SoftAuthenticator:
        """A copy of this authenticator's key, with its counter as it is now."""
        return SoftAuthenticator(
            origin=self.origin,
            rp_id=self.rp_id,
            verifies_user=self.verifies_user,
            sign_count=self.sign_count,
            credential_id=self.credential_id,
            key=self.key,
            user_handle=self.user_handle,
        )


def ask(client, page: str, options_url: str, answer_url: str, respond, **extra):
    """What passkeys.js does: the page's CSRF token, the options, the
    authenticator's answer posted back (with HX-Request, as the script does)."""
    from .forms import csrf_from

    token = csrf_from(client.get(page).get_data(as_text=True))
    options = client.post(options_url, data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert options.status_code == 200, options.get_data(as_text=True)
    credential = respond(options.get_json())
    return client.post(
        answer_url,
        data={"csrf_token": token, "credential": credential, **extra},
        headers={"HX-Request": "true"},
    )


def enrol(client, slug: str, key: SoftAuthenticator):
    """Add `key` as a passkey on the security page (logged in)."""
    return ask(
        client,
        f"/{slug}/account/security",
        f"/{slug}/account/security/passkeys/options",
        f"/{slug}/account/security/passkeys",
        key.create,
    )

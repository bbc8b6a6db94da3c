"""Decrypt an OpenTofu encrypted state: the pbkdf2 (passphrase) key provider, method aes_gcm.

The envelope, as OpenTofu ≥ 1.7 writes it (internal/encryption/base.go, state.go):
`{"serial", "lineage", "meta": {KEY: base64(JSON)}, "encrypted_data": base64,
"encryption_version": "v0"}`. A pbkdf2 key provider's `meta` entry (key
`key_provider.pbkdf2.NAME`, or its `encrypted_metadata_alias`) is the JSON of
`{"salt": base64, "iterations", "hash_function": "sha256"|"sha512", "key_length"}`
(keyprovider/pbkdf2/metadata.go); the key is PBKDF2-HMAC of the passphrase with them.
`encrypted_data` is a 12-byte nonce, then the AES-GCM ciphertext and tag, without
additional data (method/aesgcm/aesgcm.go). Messages name the state and the key
provider, never the passphrase, a key or any of the document.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from driftwatch.declared.terraform.state import Plain, StateError

ENVELOPE_VERSION = "v0"
NONCE_SIZE = 12  # Go's cipher.NewGCM
HASHES = ("sha256", "sha512")
KEY_LENGTHS = (16, 24, 32)  # AES-128, -192, -256
# OpenTofu's default is 600,000; a state asking for far more would only burn CPU.
MAX_ITERATIONS = 10_000_000
SUPPORTED = "the pbkdf2 (passphrase) key provider with the aes_gcm method"


@dataclass(frozen=True)
class Envelope:
    """An encrypted state's outer document: its passthrough fields and what decrypts it."""

    serial: int | None
    lineage: str | None
    meta: dict[str, bytes]
    data: bytes


@dataclass(frozen=True)
class Pbkdf2Meta:
    """What the pbkdf2 key provider recorded to derive the key again."""

    salt: bytes
    iterations: int
    hash_function: str
    key_length: int


def decrypt_state(document: bytes, where: str, passphrase: str | None) -> Plain:
    """The plaintext state inside an OpenTofu encrypted state, or a StateError."""
    envelope = parse_envelope(document, where)
    candidates = pbkdf2_entries(envelope.meta, where)
    if passphrase is None:
        raise StateError(
            f"{where}: the state is encrypted (OpenTofu state encryption, pbkdf2 key "
            'provider); set encryption_passphrase_env = "NAME" on its [[terraform]] source, '
            "or read it with `cmd:tofu state pull`"
        )
    for meta in candidates.values():
        plain = _open(envelope.data, derive_key(passphrase, meta), where)
        if plain is not None:
            return Plain(plain, envelope.serial, envelope.lineage)
    raise StateError(
        f"{where}: the state could not be decrypted with the passphrase of "
        f"encryption_passphrase_env (tried {', '.join(sorted(candidates))}): a wrong "
        "passphrase, a changed state, or an aes_gcm method with `aad` set (not supported)"
    )


def parse_envelope(document: bytes, where: str) -> Envelope:
    """The envelope's fields, checked; its own text never appears in a message."""
    try:
        doc = json.loads(document)
    except ValueError:
        raise StateError(f"{where}: an encrypted state that is not a JSON document") from None
    if not isinstance(doc, dict):
        raise StateError(f"{where}: an encrypted state that is not a JSON object")
    version = doc.get("encryption_version")
    if version != ENVELOPE_VERSION:
        raise StateError(
            f"{where}: encryption_version {version!r} is not supported (only "
            f"{ENVELOPE_VERSION!r}, OpenTofu >= 1.7)"
        )
    meta = doc.get("meta")
    if not isinstance(meta, dict):
        raise StateError(f"{where}: the encrypted state has no `meta` object")
    serial, lineage = doc.get("serial"), doc.get("lineage")
    return Envelope(
        serial=serial if isinstance(serial, int) else None,
        lineage=lineage if isinstance(lineage, str) and lineage else None,
        meta={str(k): _b64(v, f"{where}: meta {k}") for k, v in meta.items()},
        data=_b64(doc.get("encrypted_data"), f"{where}: encrypted_data"),
    )


def pbkdf2_entries(meta: dict[str, bytes], where: str) -> dict[str, Pbkdf2Meta]:
    """The pbkdf2 key providers' metadata by key; an error naming the others when none."""
    found: dict[str, Pbkdf2Meta] = {}
    for key, raw in meta.items():
        parsed = _pbkdf2_meta(raw)
        if parsed is not None:
            found[key] = _checked(parsed, f"{where}: {key}")
    if not found:
        others = ", ".join(sorted(meta)) or "none"
        raise StateError(
            f"{where}: the state is encrypted with key provider(s) {others}; driftwatch "
            f"decrypts only {SUPPORTED} (AWS KMS, GCP KMS, OpenBao and the others are not "
            "supported): read it with `cmd:tofu state pull` instead"
        )
    return found


def derive_key(passphrase: str, meta: Pbkdf2Meta) -> bytes:
    """PBKDF2-HMAC, as golang.org/x/crypto/pbkdf2.Key."""
    return hashlib.pbkdf2_hmac(
        meta.hash_function, passphrase.encode(), meta.salt, meta.iterations, meta.key_length
    )


def _open(data: bytes, key: bytes, where: str) -> bytes | None:
    """AES-GCM open of nonce ‖ ciphertext ‖ tag; None when the key does not fit."""
    if len(data) <= NONCE_SIZE:
        raise StateError(f"{where}: encrypted_data is too short to be AES-GCM output")
    try:
        return AESGCM(key).decrypt(data[:NONCE_SIZE], data[NONCE_SIZE:], None)
    except InvalidTag:
        return None


def _pbkdf2_meta(raw: bytes) -> dict[str, Any] | None:
    """The entry as a dict when it has the pbkdf2 provider's fields (an alias may name it)."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    fields = ("salt", "iterations", "hash_function", "key_length")
    if not isinstance(doc, dict) or not all(k in doc for k in fields):
        return None
    return doc


def _checked(doc: dict[str, Any], where: str) -> Pbkdf2Meta:
    iterations, length, name = doc["iterations"], doc["key_length"], doc["hash_function"]
    if not isinstance(iterations, int) or not 0 < iterations <= MAX_ITERATIONS:
        raise StateError(f"{where}: iterations must be from 1 to {MAX_ITERATIONS}")
    if length not in KEY_LENGTHS:
        raise StateError(f"{where}: key_length must be one of 16, 24, 32 (aes_gcm)")
    if name not in HASHES:
        raise StateError(f"{where}: hash_function must be sha256 or sha512")
    salt = _b64(doc["salt"], f"{where}: salt")
    if not salt:
        raise StateError(f"{where}: the salt is empty")
    return Pbkdf2Meta(salt, iterations, name, length)


def _b64(value: Any, what: str) -> bytes:
    """Go's encoding of a []byte in JSON: standard base64 with padding."""
    if not isinstance(value, str):
        raise StateError(f"{what}: not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise StateError(f"{what}: not valid base64") from None

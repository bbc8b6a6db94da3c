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

Memory: the envelope is held once, and its base64 `encrypted_data` decoded in place
in the same buffer, which is then cut down to the ciphertext; the ciphertext is
authenticated in a first pass that keeps nothing, and decrypted chunk by chunk in a
second as the state is streamed, so the plain state is never whole.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from driftwatch.declared.terraform.state import Plain, StateError

ENVELOPE_VERSION = "v0"
NONCE_SIZE = 12  # Go's cipher.NewGCM
TAG_SIZE = 16
CHUNK = 256 * 1024
# Go writes a []byte as plain base64, never escaped: cut out of the bytes, not parsed.
_DATA = re.compile(rb'"encrypted_data"\s*:\s*"([A-Za-z0-9+/=]*)"')
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
    data: bytes | bytearray


@dataclass(frozen=True)
class Pbkdf2Meta:
    """What the pbkdf2 key provider recorded to derive the key again."""

    salt: bytes
    iterations: int
    hash_function: str
    key_length: int


def decrypt_state(chunks: Iterable[bytes], where: str, passphrase: str | None) -> Plain:
    """The plaintext state inside an OpenTofu encrypted state, or a StateError."""
    document = bytearray()
    for chunk in chunks:
        document += chunk
    envelope = parse_envelope(document, where)
    del document  # now the ciphertext (envelope.data), or let go
    candidates = pbkdf2_entries(envelope.meta, where)
    if passphrase is None:
        raise StateError(
            f"{where}: the state is encrypted (OpenTofu state encryption, pbkdf2 key "
            'provider); set encryption_passphrase_env = "NAME" on its [[terraform]] source, '
            "or read it with `cmd:tofu state pull`"
        )
    if len(envelope.data) < NONCE_SIZE + TAG_SIZE:
        raise StateError(f"{where}: encrypted_data is too short to be AES-GCM output")
    for meta in candidates.values():
        key = derive_key(passphrase, meta)
        if _authentic(envelope.data, key):
            # Authenticated: the second pass streams the plain state, never whole.
            return Plain(_gcm(envelope.data, key), envelope.serial, envelope.lineage)
    raise StateError(
        f"{where}: the state could not be decrypted with the passphrase of "
        f"encryption_passphrase_env (tried {', '.join(sorted(candidates))}): a wrong "
        "passphrase, a changed state, or an aes_gcm method with `aad` set (not supported)"
    )


def parse_envelope(document: bytes | bytearray, where: str) -> Envelope:
    """The envelope's fields, checked; its own text never appears in a message."""
    data, doc = _cut_data(document, where)
    if doc is None:  # not as Go writes it: parse it all
        doc = _json_object(document, where)
        data = _b64(doc.get("encrypted_data"), f"{where}: encrypted_data")
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
        data=data,
    )


def _cut_data(
    document: bytes | bytearray, where: str
) -> tuple[bytes | bytearray, dict[str, Any] | None]:
    """`encrypted_data` decoded from the document's bytes, and the envelope without it (None
    when the value is not where Go puts it); GCM authenticates the data either way.

    A bytearray document is decoded in place and cut down to the ciphertext: the state is
    held once, not as text and again as bytes.
    """
    m = _DATA.search(document)
    if m is None:
        return b"", None
    start, end = m.span(1)
    doc = _json_object(bytes(document[:start]) + bytes(document[end:]), where)
    if doc.get("encrypted_data") != "":
        return b"", None
    if not isinstance(document, bytearray):
        document = bytearray(document)
    del document[_decode_in_place(document, start, end, where) :]
    return document, doc


def _decode_in_place(buf: bytearray, start: int, end: int, where: str) -> int:
    """Base64 at buf[start:end] decoded to buf[0:n]; returns n. Each block's output (3/4
    of it) lands behind the next block to read, so nothing is overwritten before use."""
    if (end - start) % 4:
        raise StateError(f"{where}: encrypted_data: not valid base64")
    written, step = 0, 4 * 64 * 1024
    with memoryview(buf) as view:
        for i in range(start, end, step):
            try:
                out = binascii.a2b_base64(view[i : min(i + step, end)], strict_mode=True)
            except binascii.Error:
                raise StateError(f"{where}: encrypted_data: not valid base64") from None
            view[written : written + len(out)] = out
            written += len(out)
    return written


def _json_object(text: bytes | bytearray, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError:
        raise StateError(f"{where}: an encrypted state that is not a JSON document") from None
    if not isinstance(doc, dict):
        raise StateError(f"{where}: an encrypted state that is not a JSON object")
    return doc


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


def _authentic(data: bytes | bytearray, key: bytes) -> bool:
    """Whether the key opens nonce ‖ ciphertext ‖ tag (a pass that keeps nothing)."""
    try:
        for _ in _gcm(data, key):
            pass
    except InvalidTag:
        return False
    return True


def _gcm(data: bytes | bytearray, key: bytes) -> Iterator[bytes]:
    """AES-GCM decryption in chunks; InvalidTag at the end when the tag does not match."""
    view = memoryview(data)
    nonce, tag = bytes(data[:NONCE_SIZE]), bytes(data[-TAG_SIZE:])
    body = view[NONCE_SIZE:-TAG_SIZE]
    decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
    for i in range(0, len(body), CHUNK):
        yield decryptor.update(body[i : i + CHUNK])
    yield decryptor.finalize()


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

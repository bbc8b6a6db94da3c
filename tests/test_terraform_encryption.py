"""OpenTofu encrypted states: pbkdf2 key provider + aes_gcm, decrypted in memory.

The fixtures are encrypted here by `tofu_encrypt`, written from OpenTofu's source
(internal/encryption: base.go, state.go, keyprovider/pbkdf2, method/aesgcm), not by a
`tofu` binary (none can be installed here).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from support import tfstate as tf
from support.env import Aws, run_cli

from driftwatch.config import load_config
from driftwatch.declared.terraform.encryption import decrypt_state
from driftwatch.declared.terraform.load import load_terraform
from driftwatch.declared.terraform.sources import ReadContext
from driftwatch.declared.terraform.state import Header, StateError, read_state
from driftwatch.errors import ConfigError

PASSPHRASE = "correct-horse-battery-staple-42"  # OpenTofu wants >= 16 characters
ENV = "DW_TEST_TOFU_PASSPHRASE"
FAST = 1000  # iterations for the unit cases; the defaults (600,000) run once, end to end


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def go_json(doc: Any) -> bytes:
    """Go's json.Marshal: compact, fields in declaration order."""
    return json.dumps(doc, separators=(",", ":")).encode()


def tofu_encrypt(
    plain: bytes,
    passphrase: str = PASSPHRASE,
    *,
    meta_key: str = "key_provider.pbkdf2.main",
    iterations: int = 600_000,  # pbkdf2 DefaultIterations
    hash_function: str = "sha512",  # DefaultHashFunctionName
    key_length: int = 32,  # DefaultKeyLength (AES-256)
    salt_length: int = 32,  # DefaultSaltLength
    envelope_serial: int | None = None,
) -> bytes:
    """An encrypted state as OpenTofu writes it: Provide() derives the key from a fresh
    salt, aesgcm.Encrypt() prepends a 12-byte nonce (no AAD), stateEncryption passes
    serial and lineage through beside the basedata (meta, encrypted_data, version)."""
    salt = os.urandom(salt_length)
    key = hashlib.pbkdf2_hmac(hash_function, passphrase.encode(), salt, iterations, key_length)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, plain, None)
    meta = go_json(
        {
            "salt": b64(salt),
            "iterations": iterations,
            "hash_function": hash_function,
            "key_length": key_length,
        }
    )
    passthrough = json.loads(plain)
    serial = passthrough.get("serial") if envelope_serial is None else envelope_serial
    return go_json(
        {
            "serial": serial,
            "lineage": passthrough.get("lineage", ""),
            "meta": {meta_key: b64(meta)},
            "encrypted_data": b64(sealed),
            "encryption_version": "v0",
        }
    )


SECRET = "planted-value-9f2"


def plain_state() -> bytes:
    role = tf.role("app", tf.TRUST, description=SECRET)
    return tf.dumps(
        tf.state(
            tf.resource(
                "aws_s3_bucket", "logs", tf.instance(tf.bucket("logs", tags={"team": "x"}))
            ),
            tf.resource(
                "aws_iam_role", "app", tf.instance(role, sensitive=[[tf.get_attr("description")]])
            ),
            serial=12,
        )
    )


def read(document: bytes, passphrase: str | None = PASSPHRASE) -> tuple[Header, list[str]]:
    kept: list[str] = []
    chunks = [document[i : i + 7] for i in range(0, len(document), 7)]  # tiny: streaming
    header, _ = read_state(
        iter(chunks),
        "s.tfstate",
        lambda t: True,
        lambda i: kept.append(i.address),
        lambda doc: decrypt_state(doc, "s.tfstate", passphrase),
    )
    return header, kept


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"hash_function": "sha256", "key_length": 16, "salt_length": 8},
        {"meta_key": "state_key"},  # an encrypted_metadata_alias
    ],
)
def test_decrypts_what_opentofu_writes(options: dict[str, Any]) -> None:
    header, kept = read(tofu_encrypt(plain_state(), iterations=FAST, **options))
    assert kept == ["aws_s3_bucket.logs", "aws_iam_role.app"]
    assert header.encrypted and header.serial == 12 and header.version == 4


def test_an_envelope_not_written_as_go_writes_it_is_parsed_whole() -> None:
    doc = json.loads(tofu_encrypt(plain_state(), iterations=FAST))
    assert "/" in doc["encrypted_data"]  # ~2,000 base64 characters: never without one
    escaped = json.dumps(doc, indent=2).replace("/", "\\/")  # legal JSON, not Go's
    assert "\\/" in escaped
    header, kept = read(escaped.encode())
    assert kept == ["aws_s3_bucket.logs", "aws_iam_role.app"] and header.encrypted


def test_a_state_of_many_decoding_blocks_comes_out_whole() -> None:
    buckets = [
        tf.resource("aws_s3_bucket", f"b{i}", tf.instance(tf.bucket(f"bucket-{i:04}")))
        for i in range(600)
    ]
    plain = tf.dumps(tf.state(*buckets))
    assert len(plain) * 4 // 3 > 3 * 262_144  # in-place base64 decoding: 262,144 a block
    header, kept = read(tofu_encrypt(plain, iterations=FAST))
    assert kept == [f"aws_s3_bucket.b{i}" for i in range(600)] and header.encrypted


def test_a_plain_state_still_streams_with_a_passphrase_at_hand() -> None:
    header, kept = read(plain_state())
    assert kept == ["aws_s3_bucket.logs", "aws_iam_role.app"] and not header.encrypted


@pytest.mark.parametrize(
    "document,passphrase,message",
    [
        (lambda: tofu_encrypt(plain_state(), iterations=FAST), None, "encryption_passphrase_env"),
        (
            lambda: tofu_encrypt(plain_state(), "another-passphrase-entirely", iterations=FAST),
            PASSPHRASE,
            "could not be decrypted .* key_provider.pbkdf2.main",
        ),
        (
            lambda: tofu_encrypt(plain_state(), iterations=FAST, envelope_serial=99),
            PASSPHRASE,
            "serial does not match",
        ),
        (
            lambda: tofu_encrypt(plain_state(), iterations=FAST).replace(b'"v0"', b'"v9"'),
            PASSPHRASE,
            "encryption_version 'v9' is not supported",
        ),
        (
            lambda: _with_meta(
                {
                    "salt": b64(b"s"),
                    "iterations": 10**9,
                    "hash_function": "sha512",
                    "key_length": 32,
                }
            ),
            PASSPHRASE,
            "iterations must be from 1 to",
        ),
        (
            lambda: _with_meta(
                {"region": "us-east-1", "kms_key_id": "k"}, "key_provider.aws_kms.m"
            ),
            PASSPHRASE,
            r"key provider\(s\) key_provider.aws_kms.m; driftwatch decrypts only the pbkdf2",
        ),
    ],
)
def test_what_cannot_be_decrypted_is_a_clear_error(
    document: Any, passphrase: str | None, message: str
) -> None:
    with pytest.raises(StateError, match=message) as err:
        read(document(), passphrase)
    for hidden in (PASSPHRASE, SECRET, "planted"):
        assert hidden not in str(err.value)


def test_a_changed_ciphertext_is_refused() -> None:
    doc = json.loads(tofu_encrypt(plain_state(), iterations=FAST))
    sealed = bytearray(base64.b64decode(doc["encrypted_data"]))
    sealed[40] ^= 1
    doc["encrypted_data"] = b64(bytes(sealed))
    with pytest.raises(StateError, match="could not be decrypted"):
        read(go_json(doc))


def _with_meta(meta: dict[str, Any], key: str = "key_provider.pbkdf2.main") -> bytes:
    return go_json(
        {
            "serial": 1,
            "lineage": "x",
            "meta": {key: b64(go_json(meta))},
            "encrypted_data": b64(b"n" * 40),
            "encryption_version": "v0",
        }
    )


def test_the_passphrase_comes_from_the_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "driftwatch.toml"
    body = '[[terraform]]\nname = "app"\nfrom = "file:s.tfstate"\n'
    path.write_text(body + f'encryption_passphrase_env = "{ENV}"\n')
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(ConfigError, match=f"environment variable {ENV} is not set"):
        load_config(path)
    monkeypatch.setenv(ENV, PASSPHRASE)
    cfg = load_config(path)
    assert cfg.terraform[0].encryption_passphrase == PASSPHRASE
    assert PASSPHRASE not in repr(cfg)
    path.write_text(body + f'encryption_passphrase = "{PASSPHRASE}"\n')
    with pytest.raises(ConfigError, match="encryption_passphrase"):
        load_config(path)


def load_file(tmp_path: Path, name: str, extra: str = "") -> Any:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[[terraform]]\nname = "{name}"\nfrom = "file:{name}.tfstate"\n{extra}')
    cfg = load_config(path)
    return load_terraform(cfg, ReadContext(cfg), b"k" * 32)


def test_an_encrypted_file_state_loads_like_its_plain_twin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plain.tfstate").write_bytes(plain_state())
    (tmp_path / "enc.tfstate").write_bytes(tofu_encrypt(plain_state()))  # OpenTofu's defaults
    monkeypatch.setenv(ENV, PASSPHRASE)
    plain = load_file(tmp_path, "plain")
    got = load_file(tmp_path, "enc", f'encryption_passphrase_env = "{ENV}"\n')
    assert not got.failures
    assert [(r.id, r.spec, r.notes) for r in got.resources] == [
        (r.id, r.spec, r.notes) for r in plain.resources
    ]
    [info] = got.states
    assert (info.serial, info.lineage, info.version, info.kept) == (
        12, plain.states[0].lineage, 4, 2,
    )  # fmt: skip
    unset = load_file(tmp_path, "enc")  # no passphrase: the source is unreadable, clearly
    assert not unset.resources
    [failure] = unset.failures
    assert "encryption_passphrase_env" in failure.error


def test_scan_of_an_encrypted_s3_state_names_drift_and_hides_the_passphrase(
    aws: Aws, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    s3.put_bucket_tagging(Bucket="logs", Tagging={"TagSet": [{"Key": "team", "Value": "y"}]})
    s3.create_bucket(Bucket="tofu-state")
    s3.put_object(
        Bucket="tofu-state", Key="app/terraform.tfstate", Body=tofu_encrypt(plain_state())
    )
    cfg = tmp_path / "driftwatch.toml"
    cfg.write_text(
        textwrap.dedent(f"""
        [aws]
        regions = ["us-east-1"]
        endpoint_url = "{aws.url}"
        max_attempts = 2

        [scan]
        types = ["aws_s3_bucket"]

        [storage]
        path = "state/driftwatch.db"

        [[terraform]]
        name = "app"
        from = "s3://tofu-state/app/terraform.tfstate"
        encryption_passphrase_env = "{ENV}"
        """)
    )
    run = run_cli("scan", "--config", str(cfg), "--format", "json", env={ENV: PASSPHRASE})
    assert run.code == 2, run.stdout + run.stderr
    drift = run.drift("aws_s3_bucket", "logs")
    assert drift["kind"] == "modified" and drift["changes"][0]["path"] == "tags.team"
    assert drift["source"] == "s3://tofu-state/app/terraform.tfstate#aws_s3_bucket.logs"
    [info] = run.doc["scan"]["states"]
    assert info["serial"] == 12 and info["encrypted"] is True
    with sqlite3.connect(tmp_path / "state" / "driftwatch.db") as db:
        stored = db.execute("SELECT serial, encrypted FROM terraform_states").fetchall()
    assert stored == [(12, 1)]
    for text in (run.stdout, run.stderr):
        assert PASSPHRASE not in text and SECRET not in text
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any(f.suffix == ".db" for f in written)  # the database, the log, the caches
    for f in written:
        if f.is_file():
            data = f.read_bytes()
            assert PASSPHRASE.encode() not in data and SECRET.encode() not in data, f


def test_declared_says_which_state_was_decrypted(tmp_path: Path) -> None:
    (tmp_path / "enc.tfstate").write_bytes(tofu_encrypt(plain_state(), iterations=FAST))
    cfg = tmp_path / "driftwatch.toml"
    cfg.write_text(
        f'[[terraform]]\nname = "enc"\nfrom = "file:enc.tfstate"\n'
        f'encryption_passphrase_env = "{ENV}"\n'
    )
    run = run_cli("declared", "--config", str(cfg), env={ENV: PASSPHRASE})
    assert run.code == 0, run.stderr
    assert "(default) (OpenTofu encrypted, decrypted) serial 12" in run.stdout
    assert "aws_s3_bucket" in run.stdout
    for text in (run.stdout, run.stderr):
        assert PASSPHRASE not in text and SECRET not in text
    wrong = run_cli("declared", "--config", str(cfg), env={ENV: "not-the-passphrase-at-all"})
    assert wrong.code == 1 and "could not be decrypted" in wrong.stdout + wrong.stderr
    assert "not-the-passphrase-at-all" not in wrong.stdout + wrong.stderr

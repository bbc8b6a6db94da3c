"""Each Terraform state a scan read, stored in its transaction: table, prune, page and API."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.web import add_user, logged_in, modified, now_iso, persist, text, web_config

from driftwatch.config import Config
from driftwatch.store import Store, read
from driftwatch.web import create_app

STATE = {
    "source": "app",
    "workspace": "prod",
    "state": "s3://acme-tfstate/env:/prod/app/terraform.tfstate",
    "serial": 42,
    "lineage": "9f1c2d3e-lineage",
    "version": 4,
    "terraform_version": "1.9.5",
    "kept": 118,
    "skipped": {"data source": 3},
}
STAGING = {
    **STATE,
    "workspace": "staging",
    "state": "s3://x/env:/staging/app",
    "serial": None,
    "encrypted": True,
}


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    from werkzeug.security import generate_password_hash

    import driftwatch.users

    quick = functools.partial(generate_password_hash, method="pbkdf2:sha256:1000")
    monkeypatch.setattr(driftwatch.users, "generate_password_hash", quick)


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return web_config(tmp_path)


def stored(cfg: Config, states: list[dict[str, Any]]) -> int:
    store = Store(cfg.storage.path)
    try:
        return persist(store, [], now_iso(), states=states)
    finally:
        store.close()


def expected(info: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in info.items() if k not in ("kept", "skipped")}
    return {**row, "resources": info["kept"], "encrypted": info.get("encrypted", False)}


def test_states_are_written_with_the_scan_and_pruned_with_it(cfg: Config) -> None:
    first = stored(cfg, [STATE, STAGING])
    second = stored(cfg, [])
    last = stored(cfg, [STATE])
    store = Store(cfg.storage.path)
    try:
        assert read.terraform_states(store.conn, first) == [expected(STATE), expected(STAGING)]
        assert read.terraform_states(store.conn, second) == []
        counts = store.prune(now_iso(dt.timedelta(hours=1)), dry_run=False)
        assert counts.terraform_states == 2 and counts.scans == 2
        assert read.terraform_states(store.conn, first) == []
        assert read.terraform_states(store.conn, last) == [expected(STATE)]  # the last scan stays
    finally:
        store.close()


def test_a_failed_persist_writes_no_state(cfg: Config) -> None:
    store = Store(cfg.storage.path)
    try:
        with pytest.raises(KeyError):  # a malformed second entry, after the first's INSERT
            persist(store, [modified("logs")], now_iso(), states=[STATE, {"source": "b"}])
        assert store.conn.execute("SELECT count(*) FROM terraform_states").fetchone()[0] == 0
        assert store.conn.execute("SELECT count(*) FROM resources").fetchone()[0] == 0
    finally:
        store.close()


def viewer(cfg: Config) -> FlaskClient:
    add_user(cfg, "vic", "viewer")
    return logged_in(create_app(cfg, testing=True), "vic")


def test_scan_page_and_api_show_each_state(cfg: Config) -> None:
    with_states = stored(cfg, [STATE])
    without = stored(cfg, [])
    client = viewer(cfg)
    page = text(client.get(f"/scans/{with_states}"))
    assert 'id="terraform-states"' in page
    for value in (STATE["state"], "42", STATE["lineage"], "1.9.5", "118"):
        assert str(value) in page
    assert "yes (decrypted)" not in page
    assert "terraform-states" not in text(client.get(f"/scans/{without}"))
    assert "yes (decrypted)" in text(client.get(f"/scans/{stored(cfg, [STAGING])}"))
    doc = client.get(f"/api/v1/scans/{with_states}").get_json()
    assert doc["terraform_states"] == [expected(STATE)]
    assert client.get(f"/api/v1/scans/{without}").get_json()["terraform_states"] == []
    listed = client.get("/api/v1/scans").get_json()["scans"]
    assert listed and all("terraform_states" not in s for s in listed)

"""Config parsing: defaults, paths relative to the file, environment substitution."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from driftwatch.config import load_config
from driftwatch.errors import ConfigError


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "driftwatch.toml"
    path.write_text(body)
    return path


def test_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[git]\nurl = 'infra'\n"))
    assert cfg.git.url == str(tmp_path / "infra") and cfg.git.branch == "main"
    assert cfg.aws.regions == ("us-east-1",)
    assert [a.name for a in cfg.aws.accounts] == ["default"]
    assert cfg.aws.max_concurrency == 8 and cfg.aws.endpoint_url is None
    assert cfg.storage.path == tmp_path / "driftwatch.db"
    assert cfg.storage.data_dir == tmp_path / ".driftwatch"
    assert cfg.scan.unmanaged is True and cfg.ignore == ()
    assert cfg.git.on_fetch_error == "fail"


def test_on_fetch_error_is_fail_or_use_last(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[git]\nurl = 'x'\non_fetch_error = 'use_last'\n"))
    assert cfg.git.on_fetch_error == "use_last"
    with pytest.raises(
        ConfigError, match=r"\[git.on_fetch_error\]: must be one of 'fail', 'use_last'"
    ):
        load_config(write(tmp_path, "[git]\nurl = 'x'\non_fetch_error = 'retry'\n"))


def test_example_config_parses() -> None:
    cfg = load_config(Path(__file__).parent.parent / "config.example.toml")
    assert cfg.aws.accounts and cfg.ignore


def test_accounts_inherit_regions_and_ignore_dates(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[git]
url = "https://example.com/infra.git"
path = "/declared/"
[aws]
regions = ["eu-west-1", "us-east-1"]
[[aws.accounts]]
name = "prod"
[[aws.accounts]]
name = "stage"
role_arn = "arn:aws:iam::111111111111:role/read"
regions = ["us-west-2"]
[[ignore]]
path = "tags.x"
expires = 2027-01-31
""",
        )
    )
    assert cfg.git.path == "declared" and cfg.git.url.startswith("https://")
    assert cfg.aws.account("prod").regions == ("eu-west-1", "us-east-1")
    assert cfg.aws.account("stage").regions == ("us-west-2",)
    assert cfg.default_account == "prod"
    assert cfg.ignore[0].expires == dt.date(2027, 1, 31)


def test_env_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTWATCH_GIT_TOKEN", "s3cret")
    cfg = load_config(write(tmp_path, "[git]\nurl = 'https://x:${DRIFTWATCH_GIT_TOKEN}@h/r.git'\n"))
    assert cfg.git.url == "https://x:s3cret@h/r.git"


@pytest.mark.parametrize(
    "body,key",
    [
        ("[git]\nurl = ''\n", "git.url"),
        ("[git]\nurl = 'x'\nbranch = 3\n", "git.branch"),
        ("[git]\nurl = 'x'\n[aws]\nregions = []\n", "aws.regions"),
        ("[git]\nurl = 'x'\n[aws]\nmax_concurrency = 0\n", "aws.max_concurrency"),
        (
            "[git]\nurl = 'x'\n[[aws.accounts]]\nname = 'a'\n[[aws.accounts]]\nname = 'a'\n",
            "aws.accounts",
        ),
        ("[git]\nurl = 'x'\n[scan]\nunmanaged = 'yes'\n", "scan.unmanaged"),
        ("[git]\nurl = 'x'\n[[ignore]]\ntype = '*'\n", "ignore[0].path"),
        ("[git]\nurl = 'x'\nextra = 1\n", "git.extra"),
        ("[git]\nurl = 'x'\n[storage]\npath = 1\n", "storage.path"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, body))
    assert err.value.key == key
    assert str(tmp_path / "driftwatch.toml") in str(err.value)

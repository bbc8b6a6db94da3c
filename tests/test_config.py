"""Config parsing: defaults, paths relative to the file, environment substitution."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from driftwatch.config import load_config
from driftwatch.errors import ConfigError
from driftwatch.models import Kind


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


def test_ignore_rules_hide_paths_or_whole_findings(tmp_path: Path) -> None:
    body = """
[git]
url = "x"
[[ignore]]
path = "tags.x"
[[ignore]]
kind = "unmanaged"
type = "aws_s3_bucket"
id = "tmp-*"
reason = "scratch buckets"
expires = "2027-01-31"
[[ignore]]
kind = "missing"
type = "aws_instance"
[[ignore]]
kind = "modified"
path = "versioning"
"""
    rules = load_config(write(tmp_path, body)).ignore
    assert [(r.index, r.kind, r.path) for r in rules] == [
        (0, Kind.MODIFIED, "tags.x"),
        (1, Kind.UNMANAGED, ""),
        (2, Kind.MISSING, ""),
        (3, Kind.MODIFIED, "versioning"),
    ]
    assert (rules[1].type, rules[1].id, rules[1].expires) == (
        "aws_s3_bucket",
        "tmp-*",
        dt.date(2027, 1, 31),
    )


@pytest.mark.parametrize(
    "rule,key,message",
    [
        ("type = '*'", "ignore[1].path", "set path (an attribute of declared resources) or kind"),
        ("kind = 'modified'", "ignore[1].path", "missing required key"),
        ("kind = 'unmanaged'\npath = 'tags'", "ignore[1].path", "takes no path"),
        ("kind = 'missing'\npath = 'tags.x'", "ignore[1].path", "takes no path"),
        ("kind = 'gone'", "ignore[1].kind", "must be one of modified, unmanaged, missing"),
        ("kind = 3\npath = 'tags'", "ignore[1].kind", "got 3"),
        ("kind = 'unmanaged'\nexpires = 'soon'", "ignore[1].expires", "is not a date"),
    ],
)
def test_ignore_rule_errors(tmp_path: Path, rule: str, key: str, message: str) -> None:
    body = f"[git]\nurl = 'x'\n[[ignore]]\npath = 'tags'\n[[ignore]]\n{rule}\n"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, body))
    assert err.value.key == key
    assert message in err.value.message


@pytest.mark.parametrize(
    "aws,key,partition",
    [
        ("regions = ['us-east-1', 'cn-north-1']", "aws.regions", "aws-cn"),
        (
            "[[aws.accounts]]\nname = 'gov'\nregions = ['us-gov-west-1']",
            "aws.accounts[0].regions",
            "aws-us-gov",
        ),
        (
            "[[aws.accounts]]\nname = 'gov'\nrole_arn = 'arn:aws-us-gov:iam::111111111111:role/r'",
            "aws.accounts[0].role_arn",
            "aws-us-gov",
        ),
    ],
)
def test_other_partitions_are_refused(tmp_path: Path, aws: str, key: str, partition: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, f"[git]\nurl = 'x'\n[aws]\n{aws}\n"))
    assert err.value.key == key
    assert f"partition {partition}, which driftwatch does not support yet" in err.value.message
    assert str(err.value).startswith(f"{tmp_path / 'driftwatch.toml'}: [{key}]: ")


def test_partitions_follow_botocore(tmp_path: Path) -> None:
    """Every region botocore knows is accepted exactly when it is in the `aws` partition."""
    from botocore.session import get_session

    for part in get_session().get_data("partitions")["partitions"]:
        for region in part["regions"]:
            if region.endswith("-global"):
                continue  # pseudo-regions of global endpoints, never a scope
            body = f"[git]\nurl = 'x'\n[aws]\nregions = ['{region}']\n"
            if part["id"] == "aws":
                assert load_config(write(tmp_path, body)).aws.regions == (region,)
            else:
                with pytest.raises(ConfigError, match=f"partition {part['id']},"):
                    load_config(write(tmp_path, body))


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ("[aws]\nconnect_timeout = nan\n", "aws.connect_timeout", "up to 86400, got nan"),
        ("[aws]\nread_timeout = inf\n", "aws.read_timeout", "up to 86400, got inf"),
        (
            "[aws]\nread_timeout = " + "9" * 40 + "\n",
            "aws.read_timeout",
            "positive number up to 86400",
        ),
        ("[alerts]\nbackoff = 9223372036854775807\n", "alerts.backoff", "at most 999999999d"),
        ('[scan]\nreopen_window = "99999999999d"\n', "scan.reopen_window", "at most 999999999d"),
    ],
)
def test_non_finite_and_huge_numbers_are_config_errors(
    tmp_path: Path, body: str, key: str, message: str
) -> None:
    """Found by tests/test_hostile_properties.py: nan and inf were accepted as timeouts,
    and huge integers raised OverflowError (a traceback) instead of a ConfigError."""
    path = write(tmp_path, "[git]\nurl = 'x.git'\n" + body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == key and message in err.value.message, err.value


def test_an_integer_past_python_s_digit_limit_is_not_valid_toml(tmp_path: Path) -> None:
    """tomllib raises a plain ValueError (not TOMLDecodeError) for 4300+ digits."""
    path = write(tmp_path, "[aws]\nmax_concurrency = " + "1" * 5000 + "\n")
    with pytest.raises(ConfigError, match="not valid TOML: Exceeds the limit"):
        load_config(path)

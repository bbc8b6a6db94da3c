"""Hostile and broken input through the real CLI: bounded in time and memory, and harmless."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from support.env import Aws, ManifestRepo, run_cli, run_cli_measured, scan, write_config
from support.hostile import alias_bomb
from support.web import add_user, logged_in, text

from driftwatch.config import load_config
from driftwatch.store import Store
from driftwatch.web import create_app


def test_yaml_alias_bomb_is_rejected_in_bounded_time_and_memory(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    bomb = alias_bomb()
    assert len(bomb) < 600  # the size of the reported bomb; it expands to 10**7 strings
    cfg = write_config(tmp_path, aws.url, repo.path)
    # Baseline: the same command failing on an ordinary manifest error.
    repo.write("declared/bad.yaml", "type: aws_s3_buckets\nid: x\n")
    repo.commit()
    base = run_cli_measured("scan", "--config", str(cfg))
    assert base.run.code == 1 and "unknown type" in base.run.stderr, base.run.stderr

    repo.write("declared/bad.yaml", bomb)
    repo.commit()
    measured = run_cli_measured("scan", "--config", str(cfg))
    assert measured.run.code == 1
    assert "declared/bad.yaml:5: YAML anchor or alias '&l0' found" in measured.run.stderr
    assert "Traceback" not in measured.run.stderr
    assert measured.seconds < base.seconds + 2, (measured.seconds, base.seconds)
    assert measured.max_rss_mb < base.max_rss_mb + 100, (measured.max_rss_mb, base.max_rss_mb)
    cache = tmp_path / "state" / ".driftwatch" / "manifest-cache.json"
    assert not cache.exists() or cache.stat().st_size < 100_000


HOSTILE = "\x1b]0;owned\x07\x1b[41mred\x1b[0m\u202eevil"


def test_control_characters_in_live_values_never_reach_the_terminal(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    # A JSON-protocol API stores any character (S3's XML cannot carry ESC or BEL).
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="app", tags={"team": HOSTILE})
    logs.create_log_group(logGroupName="stray", tags={"x": HOSTILE})
    repo.declare(
        {"type": "aws_cloudwatch_log_group", "id": "app", "spec": {"tags": {"team": "web"}}}
    )
    cfg = write_config(tmp_path, aws.url, repo.path)
    table = run_cli("scan", "--config", str(cfg))
    assert table.code == 2, table.stderr
    assert "tags.team" in table.stdout
    for char in ("\x1b", "\x07", "\u202e"):
        assert char not in table.stdout + table.stderr, table.stdout
    assert r"\x1b]0;owned\x07\x1b[41mred" in table.stdout  # shown, as text
    # JSON keeps the value exactly (its escapes are JSON's own, also inert on a terminal).
    doc = scan(cfg).doc
    [change] = [c for d in doc["drifts"] for c in d["changes"]]
    assert change["live"] == HOSTILE


# --- hostile live data in the dashboard -----------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
UNICODE = "Zoë 東京 🙂 \u202eevil \u0301combining \u200bzero-width ﷽"
HOSTILE_VALUES = [SCRIPT, IMG, UNICODE, "{{7*7}} ${7*7}", "javascript:alert(3)", "x" * 256]
STRAY = "/app/<img src=x onerror=alert(4)>"


def hostile_tags() -> dict[str, str]:
    """50 tags (the AWS maximum): HTML and script in keys and values, unicode, 256 chars."""
    tags = {f"<b>k{i:02d}</b>": HOSTILE_VALUES[i % len(HOSTILE_VALUES)] for i in range(44)}
    tags.update({f"{v[:100]}-{i}": v for i, v in enumerate(HOSTILE_VALUES)})
    assert len(tags) == 50
    return tags


def big_policy(bucket: str, statements: int) -> dict[str, object]:
    """A bucket policy of about 20 KB (the S3 maximum) carrying markup in its values."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"S{i:03d}",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/{'p' * 80}/{i}/*",
                "Condition": {"StringEquals": {"aws:UserAgent": f"{SCRIPT}{IMG}{i}"}},
            }
            for i in range(statements)
        ],
    }


class Page(HTMLParser):
    """The document as a browser would build it: elements, attributes, text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)

    def hrefs(self) -> list[str]:
        return [str(a["href"]) for tag, a in self.elements if tag == "a" and a.get("href")]

    def assert_inert(self) -> None:
        """No element or handler that live data could have injected."""
        for tag, attrs in self.elements:
            assert tag not in ("img", "iframe", "b"), (tag, attrs)
            assert tag != "script" or attrs.get("src"), (tag, attrs)  # only the app's files
            assert not any(a.startswith("on") for a in attrs), (tag, attrs)
            assert not any("javascript:" in (v or "") for v in attrs.values()), (tag, attrs)


def json_text(value: str) -> str:
    """A string as it appears inside JSON (quotes and backslashes escaped)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def shown(page: Page, value: str) -> bool:
    """The value is in the page's text as is, or as a JSON string (snapshots are JSON)."""
    return value in page.all_text or json_text(value) in page.all_text


def test_hostile_live_data_is_stored_exactly_and_shown_escaped(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    logs = aws.client("logs")
    tags = hostile_tags()
    logs.create_log_group(logGroupName="app", tags=tags)
    logs.create_log_group(logGroupName=STRAY, tags={SCRIPT: IMG})
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="policy-bucket")
    live_policy = big_policy("policy-bucket", 60)
    policy_text = json.dumps(live_policy)
    assert 19_000 < len(policy_text) <= 20_480, len(policy_text)
    s3.put_bucket_policy(Bucket="policy-bucket", Policy=policy_text)
    declared_tags = {**tags, "<b>k00</b>": "platform"}
    repo.declare(
        {"type": "aws_cloudwatch_log_group", "id": "app", "spec": {"tags": declared_tags}},
        {
            "type": "aws_s3_bucket",
            "id": "policy-bucket",
            "spec": {"policy": big_policy("policy-bucket", 59)},
        },
    )
    extra = '[scan]\ntypes = ["aws_cloudwatch_log_group", "aws_s3_bucket"]\n'
    cfg = write_config(tmp_path, aws.url, repo.path, extra=extra)
    run = scan(cfg)
    assert run.code == 2, run.stdout + run.stderr
    [change] = run.drift("aws_cloudwatch_log_group", "app")["changes"]
    assert (change["path"], change["declared"], change["live"]) == (
        'tags["<b>k00</b>"]',
        "platform",
        SCRIPT,
    )
    assert run.drift("aws_cloudwatch_log_group", STRAY)["kind"] == "unmanaged"
    assert run.drift("aws_s3_bucket", "policy-bucket")["kind"] == "modified"

    # Stored exactly: all 50 tags and the 20 KB policy, as read.
    store = Store(tmp_path / "state" / "driftwatch.db")
    rows = {r["resource_id"]: r for r in store.resources()}
    assert rows["app"]["snapshot"]["tags"] == tags
    assert rows[STRAY]["kind"] == "unmanaged"  # (listed only: unmanaged tags are not read)
    stored_policy = rows["policy-bucket"]["snapshot"]["policy"]
    assert len(stored_policy["Statement"]) == 60
    stored_text = json.dumps(stored_policy, ensure_ascii=False)
    assert all(json_text(f"{SCRIPT}{IMG}{i}") in stored_text for i in range(60))
    store.close()

    app = create_app(load_config(cfg), testing=True)
    add_user(app.extensions["driftwatch"].config, "vic", "viewer")
    client = logged_in(app, "vic")
    listing = Page(text(client.get("/drifts")))
    listing.assert_inert()
    assert shown(listing, STRAY)
    pages = [h for h in listing.hrefs() if h.startswith("/drifts/") and "?" not in h]
    assert len(pages) == 3, listing.hrefs()
    visited = []
    for href in pages:
        resp = client.get(href)
        assert resp.status_code == 200, href
        page = Page(text(resp))
        page.assert_inert()
        resource_links = [h for h in page.hrefs() if h.startswith("/resources/")]
        for link in resource_links:  # ids with '/', '<', spaces: the link still works
            visited.append(unquote(link))
            res = client.get(link)
            assert res.status_code == 200, link
            res_page = Page(text(res))
            res_page.assert_inert()
            if "/app" in unquote(link) and STRAY not in unquote(link):
                assert all(shown(res_page, k) and shown(res_page, v) for k, v in tags.items())
            if "policy-bucket" in link:
                assert all(shown(res_page, f"{SCRIPT}{IMG}{i}") for i in range(60))
        if "<b>k00</b>" in page.all_text:
            assert shown(page, 'tags["<b>k00</b>"]') and shown(page, SCRIPT)
    assert sorted(visited) == [
        f"/resources/default/us-east-1/aws_cloudwatch_log_group/{STRAY}",
        "/resources/default/us-east-1/aws_cloudwatch_log_group/app",
        "/resources/default/us-east-1/aws_s3_bucket/policy-bucket",
    ], visited
    resources = Page(text(client.get("/resources")))
    resources.assert_inert()
    assert shown(resources, STRAY)
    # The API gives the values back exactly.
    doc = client.get("/api/v1/drifts").get_json()
    ids = {d["resource_id"] for d in doc["drifts"]}
    assert ids == {"app", STRAY, "policy-bucket"}
    app_drift = next(d for d in doc["drifts"] if d["resource_id"] == "app")
    assert app_drift["changes"] == [
        {"path": 'tags["<b>k00</b>"]', "declared": "platform", "live": SCRIPT}
    ]

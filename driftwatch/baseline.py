"""`driftwatch init --from-live`: manifests declaring what is live, so day one is zero drift.

Two passes through the scan's own collection: list every scope, then read every
attribute of every resource found (AWS-managed ones skipped). Each resource's spec
is its live canonical form written back in manifest shape, and checked with the
scan's own comparison before it is written: an attribute whose live value cannot be
declared back exactly is left out and reported. Secret values (Lambda environment)
are never written: each key gets a placeholder and a per-resource `ignore` entry.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

import driftwatch.collectors  # noqa: F401  (registers the built-in collectors)
from driftwatch.aws import AwsSessions
from driftwatch.collect import Collected, Collection, Progress, ScopePlan
from driftwatch.collectors.base import Collector
from driftwatch.collectors.dynamodb import KeyAttributes
from driftwatch.config import Config
from driftwatch.diff import diff_resource
from driftwatch.init import MANIFEST_DIR, SECRET_PLACEHOLDER
from driftwatch.models import GLOBAL_REGION, DeclaredResource, LiveResource, Scope
from driftwatch.paths import join_path, split_path
from driftwatch.registry import collectors
from driftwatch.scan import watched_scopes
from driftwatch.schema import SECRET_KEY, AttrKind, Rules

PLACEHOLDER = SECRET_PLACEHOLDER
_LIVE = "(live)"
_GONE = "disappeared"  # how collect.py words a resource deleted between listing and reading


@dataclass
class Entry:
    """One resource to declare: where it lives, its manifest id, spec and ignore globs."""

    type: str
    id: str
    account: str
    region: str
    spec: dict[str, Any]
    ignore: list[str] = field(default_factory=list)


@dataclass
class Baseline:
    """What was read: entries to write, and everything that could not be declared."""

    entries: list[Entry] = field(default_factory=list)
    skipped_managed: int = 0
    failures: list[str] = field(default_factory=list)  # scopes and resources not read
    omitted: list[str] = field(default_factory=list)  # attributes left out, and why
    secrets: list[str] = field(default_factory=list)  # resources with placeholder values
    api_calls: int = 0


Say = Callable[[str], None]


def read_baseline(
    cfg: Config,
    on_progress: Callable[[Progress], None] | None = None,
    say: Say = lambda text: None,
) -> Baseline:
    """List every watched scope, then read every attribute of what is not AWS-managed."""
    sessions = AwsSessions(cfg.aws)
    hint = str(cfg.storage.log_path)
    plans = [
        ScopePlan(scope, cfg.aws.accounts[i], watched=True) for scope, i in watched_scopes(cfg)
    ]
    say(f"listing {len(plans)} scope(s) (account × region × type)…")
    workers = cfg.aws.max_concurrency
    listed = Collection(sessions, workers, on_progress, hint).run(plans)
    out = Baseline()
    out.failures += [f"{scope}: {why}" for scope, why in sorted(listed.failed_scopes.items())]
    detail = _detail_plans(plans, listed, out)
    total = sum(len(p.declared) for p in detail)
    say(
        f"reading every attribute of {total} resource(s) "
        f"({out.skipped_managed} AWS-managed skipped)…"
    )
    started = time.monotonic()
    read = Collection(sessions, workers, on_progress, hint).run(detail)
    out.api_calls = sessions.counter.total
    say(
        f"read {total} resource(s) in {time.monotonic() - started:.1f} s, {out.api_calls} API calls"
    )
    key = os.urandom(32)  # digests for the self-check only; never stored
    today = dt.datetime.now(dt.UTC).date()
    for plan in detail:
        _declare_scope(plan, listed.live[plan.scope], read, key, today, out)
    return out


def _detail_plans(plans: list[ScopePlan], listed: Collected, out: Baseline) -> list[ScopePlan]:
    """One plan per listed scope, declaring every attribute of each customer resource."""
    detail = []
    for plan in plans:
        live = listed.live.get(plan.scope)
        if live is None:
            continue
        collector = collectors.get(plan.scope.type)()
        mine = [lv for lv in live if not collector.aws_managed(lv)]
        out.skipped_managed += len(live) - len(mine)
        every = dict.fromkeys(collector.attributes)
        declared = [_probe(lv, plan.scope, every) for lv in mine]
        detail.append(ScopePlan(plan.scope, plan.account, watched=False, declared=declared))
    return detail


def _probe(live: LiveResource, scope: Scope, every: dict[str, None]) -> DeclaredResource:
    """A declaration by native id asking for every attribute (what the second pass reads)."""
    return DeclaredResource(live.type, live.id, scope.account, scope.region, dict(every), _LIVE)


def _declare_scope(
    plan: ScopePlan, first: list[LiveResource], read: Collected, key: bytes, today: dt.date,
    out: Baseline,
) -> None:  # fmt: skip
    failed = read.failed_scopes.get(plan.scope)
    if failed:
        out.failures.append(f"{plan.scope}: {failed}")
        return
    collector = collectors.get(plan.scope.type)()
    names = _manifest_ids(collector, first)
    errored = {e.resource_id for e in read.errors if e.scope == plan.scope}
    for probe in plan.declared:
        live = read.matches.get(probe.key)
        why = read.unchecked.get(probe.key)
        if live is None or (why or "").startswith(_GONE):  # deleted meanwhile: nothing to declare
            out.omitted.append(f"{plan.scope.type} {probe.id}: deleted while init read it")
            continue
        if probe.id in errored:
            out.failures.append(f"{plan.scope} {probe.id}: {why}")
            continue
        rid = names.get(live.id, live.id)
        if why:  # NotComparable: the attributes it left unread are not declared
            out.omitted.append(f"{live.type} {rid}: {why}")
        out.entries.append(_entry(collector, live, rid, key, today, out))


def _manifest_ids(collector: Collector, live: list[LiveResource]) -> dict[str, str]:
    """Native id → the id a team would write: a name or alias when it names only this
    resource (as the scan will match it), else the native id."""
    index = collector.index(live)
    out = {}
    for lv in live:
        name = _friendly(lv)
        probe = DeclaredResource(lv.type, name, lv.account, lv.region, {}, _LIVE)
        found = collector.match(probe, index.get(collector.match_key(name), []))
        out[lv.id] = name if [f.id for f in found] == [lv.id] else lv.id
    return out


def _friendly(live: LiveResource) -> str:
    names = [n for n in live.names if n and not n.startswith("arn:")]
    return names[0] if names else live.id


def _entry(
    collector: Collector, live: LiveResource, rid: str, key: bytes, today: dt.date, out: Baseline
) -> Entry:
    ctx = {**collector.context(live), SECRET_KEY: key}
    spec: dict[str, Any] = {}
    ignore: list[str] = []
    for name, attr in collector.attributes.items():
        if name not in live.attrs:
            continue
        if attr.kind.secret:
            spec[name], hidden = _placeholders(live.attrs[name])
            ignore += [join_path([name, k]) for k in hidden]
            continue
        value = manifest_value(attr.kind, attr.kind.canonical(live.attrs[name], ctx))
        problem = attr.kind.check(value)
        if problem is None:
            spec[name] = value
        elif value is not None:  # null where null is not declarable is simply unknown
            out.omitted.append(f"{live.type} {rid}: {name} left out ({problem})")
    if ignore:
        out.secrets.append(f"{live.type} {rid}: {', '.join(ignore)}")
    entry = Entry(live.type, rid, live.account, live.region, spec, ignore)
    _self_check(collector, entry, live, key, today, out)
    return entry


def _placeholders(value: Any) -> tuple[dict[str, str], list[str]]:
    keys = sorted(str(k) for k in (value or {}))
    return dict.fromkeys(keys, PLACEHOLDER), keys


def manifest_value(kind: AttrKind, canonical: Any) -> Any:
    """A canonical value in the shape a manifest declares it."""
    if isinstance(kind, Rules):
        return _rules(canonical)
    if isinstance(kind, KeyAttributes):  # {name: type} → [{name, type}]
        return [{"name": n, "type": t} for n, t in canonical.items()]
    return canonical


def _rules(canonical: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Atomic rules grouped back into one rule per protocol, ports, description and kind."""
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for atom in canonical.values():
        source = next(
            k for k in atom if k not in ("protocol", "from_port", "to_port", "description")
        )
        head = (atom["protocol"], atom["from_port"], atom["to_port"], atom["description"], source)
        rule = grouped.setdefault(
            head,
            {
                "protocol": atom["protocol"],
                "from_port": atom["from_port"],
                "to_port": atom["to_port"],
            },
        )
        if source == "self":
            rule["self"] = True
        else:
            rule.setdefault(source, []).extend(atom[source])
        if atom["description"] is not None:
            rule["description"] = atom["description"]
    return list(grouped.values())


def _self_check(
    collector: Collector, entry: Entry, live: LiveResource, key: bytes, today: dt.date,
    out: Baseline,
) -> None:  # fmt: skip
    """Compare as a scan would; drop any attribute that would still differ (never expected)."""
    res = DeclaredResource(
        entry.type, entry.id, entry.account, entry.region, entry.spec, _LIVE, ignore=entry.ignore
    )
    finding = diff_resource(collector, res, live, (), today, secret_key=key)
    for attr in sorted({split_path(c.path)[0] for c in finding.changes}):
        entry.spec.pop(attr, None)
        out.omitted.append(
            f"{entry.type} {entry.id}: {attr} left out (its live value does not read back equal)"
        )


def manifest_files(
    base: Baseline, cfg: Config, command: str, now: dt.datetime | None = None
) -> dict[str, str]:
    """Relative path → YAML text: one file per account, region and type."""
    several = len(cfg.aws.accounts) > 1
    by_file: dict[str, list[Entry]] = {}
    for e in sorted(base.entries, key=lambda e: (e.account, e.region, e.type, e.id)):
        region = "global" if e.region == GLOBAL_REGION else e.region
        folder = f"{MANIFEST_DIR}/{e.account}/{region}" if several else f"{MANIFEST_DIR}/{region}"
        by_file.setdefault(f"{folder}/{e.type.removeprefix('aws_')}.yaml", []).append(e)
    when = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return {path: _yaml_file(entries, several, command, when) for path, entries in by_file.items()}


def _yaml_file(entries: list[Entry], several: bool, command: str, when: str) -> str:
    first = entries[0]
    where = "global" if first.region == GLOBAL_REGION else first.region
    secret = any(e.ignore for e in entries)
    head = [
        f"{first.type} in {where}, account {first.account}: {len(entries)} resource(s).",
        f"Written by `{command}` on {when} from the live",
        "state: every attribute driftwatch compares. Review it, delete what you do not",
        "want driftwatch to manage, and commit it: from then on, a change in AWS is drift.",
    ]
    if secret:
        head += [
            "Environment values are secrets and were NOT written: each key has a",
            "placeholder and an `ignore` entry, so only added or removed keys are drift.",
            "To compare a value, write it (or better, a Secrets Manager reference) and",
            "remove its key from `ignore`.",
        ]
    doc = CommentedMap(resources=CommentedSeq(_item(e, several) for e in entries))
    doc.yaml_set_start_comment("\n".join(head))
    buf = io.StringIO()
    yaml = YAML(typ="rt")
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(type(None), _null)
    yaml.dump(doc, buf)
    return buf.getvalue()


def _null(representer: Any, data: None) -> Any:
    """`null`, not an empty value: `policy: null` says "no policy" in plain words."""
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _item(e: Entry, several: bool) -> CommentedMap:
    item = CommentedMap(type=e.type, id=e.id)
    if several:
        item["account"] = e.account
    if e.region != GLOBAL_REGION:
        item["region"] = e.region
    if e.ignore:
        item["ignore"] = list(e.ignore)
    item["spec"] = _styled(e.spec)
    return item


_FLOW_WIDTH = 72  # a list of scalars this short reads best on one line
_ITEM_WIDTH = 90  # and so does a flat list item this short (a rule, a policy statement)


def _styled(value: Any, item: bool = False) -> Any:
    """Short lists of scalars, and short flat list items (rules), in flow style."""
    if isinstance(value, dict):
        out = CommentedMap((k, _styled(v)) for k, v in value.items())
        if item and _flat(value) and _flat_width(value) <= _ITEM_WIDTH:
            out.fa.set_flow_style()
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_styled(v, item=True) for v in value)
        if _short_scalars(value):
            seq.fa.set_flow_style()
        return seq
    return value


def _flat(value: dict[str, Any]) -> bool:
    return bool(value) and all(_scalar(v) or _short_scalars(v) for v in value.values())


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _short_scalars(value: Any) -> bool:
    return (
        isinstance(value, list)
        and all(_scalar(v) for v in value)
        and len(", ".join(map(str, value))) <= _FLOW_WIDTH
    )


def _flat_width(value: dict[str, Any]) -> int:
    return sum(len(str(k)) + len(str(v)) + 4 for k, v in value.items())

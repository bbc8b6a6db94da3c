"""`driftwatch demo`: the whole product on a local stand-in for AWS (a moto server).

The pieces: estate.py seeds the live side, manifests.py writes the Git side, drifts.py
changes the live side by hand, inbox.py catches the alerts, run.py starts and stops it
all. Nothing here ever talks to real AWS: every endpoint must be loopback.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from driftwatch.errors import DemoError

EAST, WEST = "us-east-1", "eu-west-1"
PROD_ACCOUNT_ID = "123456789012"  # moto's default account: the base credentials land here
STAGING_ACCOUNT_ID = "222222222222"  # reached by assume-role, as on AWS
STATE_FILE = "demo.json"
INBOX_FILE = "demo-inbox.jsonl"


def trust_policy(service: str) -> dict[str, Any]:
    """A role trust policy letting one AWS service assume the role."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [statement]}


TRUST = trust_policy("ec2.amazonaws.com")


def require_loopback(url: str) -> str:
    """The demo's endpoints are on this machine, never AWS: refuse anything else."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise DemoError(
            f"the demo only talks to a local moto server; {url!r} is not a loopback address "
            "(127.0.0.1, ::1 or localhost)"
        )
    return url


@dataclass
class DemoState:
    """`<data_dir>/demo.json`: where the running demo is, so `--drift` and the dashboard
    can reach its moto server, and which on-demand drifts it has made."""

    pid: int
    endpoint_url: str
    dashboard_url: str
    smtp_port: int
    sink_url: str
    drifts_made: list[str] = field(default_factory=list)

    def save(self, data_dir: Path) -> None:
        path = data_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)

    @classmethod
    def load(cls, data_dir: Path) -> DemoState:
        path = data_dir / STATE_FILE
        try:
            state = cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            raise DemoError(
                f"no running demo: {path} does not exist; start one with `driftwatch demo`"
            ) from None
        except (ValueError, TypeError) as exc:
            raise DemoError(f"{path} is not a demo state file: {exc}") from None
        require_loopback(state.endpoint_url)
        if not _alive(state.pid):
            raise DemoError(
                f"the demo that wrote {path} (pid {state.pid}) is not running; "
                "start one with `driftwatch demo`"
            )
        return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

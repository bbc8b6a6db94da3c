"""A remediation as text for the terminal: the plan to confirm, and how it ended."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape


def print_remediation(row: dict[str, Any], console: Console) -> None:
    plan = row["plan"]
    console.print(
        f"[bold]Remediation #{row['id']}[/] {row['mode']} · {row['status']} · "
        f"drift {row['fingerprint']} · {escape(row['resource_key'])}"
    )
    console.print(
        f"  planned by {escape(row['requested_by'])} at {row['requested_at']}, "
        f"expires {row['expires_at']}"
    )
    if row.get("approved_by"):
        console.print(f"  approved by {escape(row['approved_by'])} at {row['approved_at']}")
    console.print(f"  {escape(plan.get('summary', ''))}")
    for i, call in enumerate(plan.get("calls", []), 1):
        params = json.dumps(call["params"], sort_keys=True, default=str)
        console.print(f"  {i}. {call['service']}.{call['operation']} {escape(params)}")
        if call.get("fixes"):
            console.print(f"       fixes: {escape(', '.join(call['fixes']))}")
        if call.get("note"):
            console.print(f"       note: {escape(call['note'])}")
    for item in plan.get("not_revertible", []):
        console.print(f"  [yellow]not revertible[/] {escape(item['path'])}: {escape(item['why'])}")
    for key in ("diff", "request"):
        if plan.get(key):
            text = plan[key] if isinstance(plan[key], str) else json.dumps(plan[key], indent=2)
            console.print(escape(text))
    result = row.get("result")
    if result:
        console.print(
            f"  [bold]result[/]: {escape(result.get('summary') or result.get('error', ''))}"
        )
        for change in result.get("remaining", []):
            console.print(f"    still drifted: {escape(change['path'])}")

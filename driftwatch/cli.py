"""The command line; turns domain errors into one clear line and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from driftwatch import __version__
from driftwatch.config import load_config
from driftwatch.errors import DriftwatchError
from driftwatch.registry import collectors

EXIT_OK, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2


@click.group()
@click.version_option(__version__, prog_name="driftwatch")
def cli() -> None:
    """driftwatch: detect drift between Git-declared state and live AWS resources."""


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: $DRIFTWATCH_CONFIG or ./driftwatch.toml).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format; json is a stable contract.",
)
@click.option("--no-store", is_flag=True, help="Do not write the result to the database.")
def scan(config_path: str | None, fmt: str, no_store: bool) -> None:
    """Run one scan. Exit 0: no drift; 2: drift found; 1: error."""
    from driftwatch.datadir import open_store
    from driftwatch.report import print_report, to_json
    from driftwatch.scan import run_scan

    cfg = load_config(config_path)
    store = None if no_store else open_store(cfg)
    with _progress() as on_progress:
        result = run_scan(cfg, store, on_progress)
    if fmt == "json":
        click.echo(to_json(result))
    else:
        print_report(result, Console(highlight=False, soft_wrap=True))
    if result.status == "failed":
        raise SystemExit(EXIT_ERROR)
    raise SystemExit(EXIT_DRIFT if result.has_drift else EXIT_OK)


@cli.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    default="demo-work",
    show_default=True,
    help="Folder for the demo's Git repo, config and database.",
)
def demo(workdir: str) -> None:
    """Seed a local moto server, declare it in Git with drift, and scan it."""
    try:
        from driftwatch.demo import run_demo
    except ImportError as exc:
        raise DriftwatchError(
            f"the demo needs moto[server] ({exc.name} is missing): "
            "pip install 'driftwatch-aws[demo]'"
        ) from None
    from pathlib import Path

    run_demo(Path(workdir))


@cli.command("types")
def types_cmd() -> None:
    """List the supported resource types with their identity and attributes."""
    import driftwatch.collectors  # noqa: F401

    console = Console(highlight=False, soft_wrap=True)
    for name, cls in collectors:
        scope = "global" if cls.is_global else "regional"
        console.print(f"[bold]{name}[/] ({scope}) — id: {cls.identity}")
        for attr, spec in cls.attributes.items():
            console.print(f"    {attr:<24} {spec.kind.label}")


@contextmanager
def _progress() -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr when it is a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        yield lambda p: None
        return
    bar = Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("scopes · {task.fields[res]} resources · {task.fields[calls]} calls"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("scan", total=None, res=0, calls=0)
    with bar:
        yield lambda p: bar.update(
            task,
            total=p.scopes_total,
            completed=p.scopes_done,
            res=p.resources_read,
            calls=p.api_calls,
        )


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(standalone_mode=False)
    except DriftwatchError as exc:
        click.echo(f"driftwatch: error: {_printable_lines(str(exc))}", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("driftwatch: aborted", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR if exc.exit_code == 2 else exc.exit_code)


def _printable_lines(text: str) -> str:
    """Error text can quote Git servers and manifests: keep its lines, not its escapes."""
    from driftwatch.terminal import printable

    return "\n".join(printable(line) for line in text.split("\n"))

"""A non-editable build ships the package, its templates and static files, and the CLI."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_wheel_ships_templates_static_and_entry_point(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("driftwatch_aws-*.whl")  # the distribution is driftwatch-aws
    names = zipfile.ZipFile(wheel).namelist()
    for page in ("base.html", "overview.html", "drifts.html", "drift.html", "error.html"):
        assert f"driftwatch/templates/{page}" in names
    assert "driftwatch/static/driftwatch.css" in names
    assert "driftwatch/web/__init__.py" in names
    assert "driftwatch/collectors/s3.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "driftwatch = driftwatch.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert "\nName: driftwatch-aws\n" in zipfile.ZipFile(wheel).read(metadata).decode()

    # The app finds its templates inside the installed package, not in a checkout.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    found = subprocess.run(
        [sys.executable, "-c", "from driftwatch.web import asset_dirs; print(*asset_dirs())"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert found == [str(site / "driftwatch" / "templates"), str(site / "driftwatch" / "static")]

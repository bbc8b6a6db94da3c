"""The dashboard: `create_app()` builds the Flask app; one blueprint per page group.

`create_app` never starts a scheduler (DESIGN.md rule 7): it reads the database and
writes only people's actions (acknowledge, tokens, the audit log).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import CSRFProtect

from driftwatch.config import Config, load_config
from driftwatch.store import Store
from driftwatch.web.state import DashboardState

log = logging.getLogger(__name__)
SECRET_ENV = "DRIFTWATCH_SECRET_KEY"
SESSION_KEY_FILE = "session.key"

csrf = CSRFProtect()
# Status is never colour alone: each badge has a symbol and a word.
STATUS_SYMBOL = {"open": "●", "acknowledged": "◐", "resolved": "✓"}
KIND_SYMBOL = {
    "modified": "~",
    "missing": "−",
    "unmanaged": "+",
    "not_checked": "?",
    "in_sync": "=",
}
SEVERITY_SYMBOL = {"critical": "‼", "high": "▲", "medium": "■", "low": "▽"}


class OrjsonProvider(DefaultJSONProvider):
    """API answers encoded with orjson (already a dependency): a page of 100 drifts with
    their changes is most of an API call's time with the json module."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=str).decode()


def create_app(
    config: Config | str | os.PathLike[str] | None = None, *, testing: bool = False
) -> Flask:
    """The WSGI app for a driftwatch config (a Config, a path, or $DRIFTWATCH_CONFIG)."""
    cfg = config if isinstance(config, Config) else load_config(config)
    templates, static = asset_dirs()
    app = Flask(__name__, template_folder=str(templates), static_folder=str(static))
    app.testing = testing
    Store(cfg.storage.path).close()  # create or migrate the schema once, at start
    app.extensions["driftwatch"] = DashboardState(cfg)
    app.config.update(
        SECRET_KEY=_secret_key(cfg),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.jinja_env.autoescape = True  # every template, whatever its file name
    app.jinja_env.filters["tojson_pretty"] = _pretty
    app.jinja_env.filters["merge"] = lambda d, **kw: {**d, **kw}
    app.jinja_env.globals.update(
        STATUS_SYMBOL=STATUS_SYMBOL,
        KIND_SYMBOL=KIND_SYMBOL,
        SEVERITY_SYMBOL=SEVERITY_SYMBOL,
        DEMO=cfg.demo.enabled,  # the DEMO banner on every page
    )
    app.json = OrjsonProvider(app)
    csrf.init_app(app)
    from driftwatch.web import auth, errors, security

    security.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)
    if cfg.demo.enabled:
        from driftwatch.web import demo

        app.register_blueprint(demo.bp)
    return app


def _register_blueprints(app: Flask) -> None:
    from driftwatch.web import (
        admin,
        api,
        audit,
        drifts,
        notifications,
        ops,
        overview,
        remediations,
        resources,
        scans,
    )

    for module in (
        overview,
        drifts,
        remediations,
        resources,
        scans,
        notifications,
        audit,
        admin,
        api,
        ops,
    ):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # bearer tokens; a session POST checks its CSRF header (api.py)


def asset_dirs() -> tuple[Path, Path]:
    """templates/ and static/: inside the package in a wheel, at the top of a checkout."""
    package = Path(__file__).resolve().parent.parent
    for base in (package, package.parent):
        if (base / "templates" / "base.html").is_file():
            return base / "templates", base / "static"
    raise RuntimeError(f"driftwatch templates not found next to {package}")


def _secret_key(cfg: Config) -> bytes:
    """From $DRIFTWATCH_SECRET_KEY, else a key file made on first run (0600, data dir)."""
    from driftwatch.secretkey import load_or_create_key

    env = os.environ.get(SECRET_ENV)
    if env:
        if len(env) < 32:
            from driftwatch.errors import ConfigError

            raise ConfigError(SECRET_ENV, None, "must be at least 32 characters")
        return env.encode()
    return load_or_create_key(cfg.storage.data_dir, SESSION_KEY_FILE)


def _pretty(value: object) -> str:
    """JSON for people (a plain str, so autoescaping applies: `<script>` stays text)."""
    import json

    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)

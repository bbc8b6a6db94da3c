"""Error pages in the dashboard's layout; JSON errors under /api/."""

from __future__ import annotations

import logging
import sqlite3

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from driftwatch.errors import StoreError
from driftwatch.store import host_problem, open_problem
from driftwatch.store.read import QueryError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/metrics")


def error_response(status: int, title: str, message: str) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify({"error": {"status": status, "title": title, "message": message}}), status
    return render_template("error.html", status=status, title=title, message=message), status


def _http(exc: HTTPException) -> tuple[Response | str, int]:
    resp = error_response(exc.code or 500, exc.name, exc.description or exc.name)
    return resp


def _csrf(exc: CSRFError) -> tuple[Response | str, int]:
    return error_response(400, "Bad Request", f"{exc.description} Reload the page and retry.")


def _query(exc: QueryError) -> tuple[Response | str, int]:
    return error_response(400, "Bad Request", str(exc))


def _store(exc: StoreError) -> tuple[Response | str, int]:
    log.warning("database problem on %s %s: %s", request.method, request.path, exc)
    return error_response(503, "Database unavailable", str(exc))


def _sqlite(exc: sqlite3.OperationalError) -> tuple[Response | str, int]:
    """The file system refusing a write (disk full, read-only) is the host's problem, said
    plainly; any other SQLite error is a driftwatch bug."""
    if not host_problem(exc):
        return _internal(exc)
    from driftwatch.web.state import state

    return _store(StoreError(open_problem(state().config.storage.path, exc)))


def _internal(exc: Exception) -> tuple[Response | str, int]:
    log.error("internal error on %s %s", request.method, request.path, exc_info=exc)
    e = InternalServerError()
    return error_response(500, e.name, "Something went wrong; the error is in the log.")


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(QueryError, _query)
    app.register_error_handler(StoreError, _store)
    app.register_error_handler(sqlite3.OperationalError, _sqlite)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _internal)

"""A Git server over HTTP (git's "dumb" protocol) that demands Basic credentials."""

from __future__ import annotations

import base64
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class AuthGitServer:
    """Serves bare repositories under `root`; every request needs `user:password`."""

    def __init__(self, root: Path, user: str, password: str) -> None:
        self.root = root
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.unauthorized = 0

    def publish(self, source: Path, name: str) -> str:
        """A bare clone of `source` served as `name`; returns its URL without credentials."""
        bare = self.root / name
        subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)
        subprocess.run(["git", "update-server-info"], cwd=bare, check=True)
        return f"{self.url}/{name}"

    def start(self) -> AuthGitServer:
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.headers.get("Authorization") != server.expected:
                    server.unauthorized += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.path = self.path.split("?")[0]  # dumb protocol: plain files
                super().do_GET()

        handler = partial(Handler, directory=str(self.root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def argv_recording_git(bin_dir: Path, log: Path) -> Path:
    """A `git` first on PATH that appends its arguments (one line per call) to `log`."""
    real = subprocess.run(["which", "git"], capture_output=True, text=True, check=True)
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'printf "%s " "$@" >> "{log}"\n'
        f'printf "\\n" >> "{log}"\n'
        f'exec "{real.stdout.strip()}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return bin_dir

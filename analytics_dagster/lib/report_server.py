"""A read-only HTTP server for the local object-store folder, so that report links in the Dagster UI open.

Browsers refuse ``file://`` links on an http page ("Not allowed to load local resource"), so the local store's
public URLs (``LocalObjectStore.public_url``) point here. The server answers GET and HEAD only (anything else is
501), serves regular files only (no directory listings), never outside the folder (``..`` and symlinks that lead
out are 404), with the object store's Content-Type and ``Cache-Control: no-cache`` so a rerun's report shows at once.
"""

from __future__ import annotations

import os
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from analytics_dagster.lib.object_store import content_type


class ReportRequestHandler(SimpleHTTPRequestHandler):
    server_version = "analytics_dagster-reports"
    sys_version = ""

    def __init__(self, *args, directory: str, **kwargs):
        self.root = Path(directory).resolve()
        super().__init__(*args, directory=str(self.root), **kwargs)

    def translate_path(self, path: str) -> str:
        relative = unquote(urlsplit(path).path).lstrip("/")
        target = (self.root / relative).resolve()
        if target != self.root and self.root not in target.parents:
            return str(self.root / ".outside-the-store")  # does not exist: 404, never the file outside
        return str(target)

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file() or path.name.startswith("."):  # no listings, no half-written ".x.tmp" objects
            self.send_error(HTTPStatus.NOT_FOUND, "No such report")
            return None
        return super().send_head()

    def guess_type(self, path: str | os.PathLike) -> str:
        return content_type(Path(path).name)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()


def make_server(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server for ``root`` bound to ``host:port`` (port 0: a free one, see ``server_address``); not started."""
    server = ThreadingHTTPServer((host, port), partial(ReportRequestHandler, directory=str(root)))
    server.daemon_threads = True
    return server

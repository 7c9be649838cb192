"""Run the dashboard's WSGI app on a host and port (werkzeug's threaded server).

:func:`serve` blocks until Ctrl+C; :func:`start` runs the server in a daemon thread and
returns a handle with ``url`` and ``stop()`` (tests and notebooks). The access log never
holds a token: its lines are redacted (``?token=***``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _wsgi(app: Any):
    return getattr(app, "server", app)


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def _handler():
    """werkzeug's request handler whose log lines pass through :func:`~aips.dashboard.security.redact`."""
    from werkzeug.serving import WSGIRequestHandler

    from aips.dashboard.security import redact

    class RedactingHandler(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:
            args = tuple(redact(a) if isinstance(a, str) else a for a in args)
            super().log(type, redact(message), *args)

    return RedactingHandler


def _make(app: Any, host: str, port: int):
    from werkzeug.serving import make_server

    from aips.dashboard.security import check_bind

    check_bind(host, getattr(app, "aips_password", None), getattr(app, "aips_token", None))
    return make_server(host, port, _wsgi(app), threaded=True, request_handler=_handler())


def serve(app: Any, host: str = "127.0.0.1", port: int = 8050,
          announce: Callable[[str], None] | None = None) -> None:
    """Serve ``app`` (a Dash app or a WSGI app) until interrupted."""
    server = _make(app, host, port)
    if announce is not None:
        announce(_url(host, server.server_port))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@dataclass
class Running:
    """A server running in a background thread."""

    server: Any
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start(app: Any, host: str = "127.0.0.1", port: int = 0) -> Running:
    """Serve ``app`` in a daemon thread (port 0: a free port); returns a :class:`Running`."""
    server = _make(app, host, port)
    thread = threading.Thread(target=server.serve_forever, name="aips-dashboard", daemon=True)
    thread.start()
    return Running(server, thread, _url(host, server.server_port))

"""``ssearch dashboard``'s server: optuna-dashboard over `SessionStorage`, read-only, threaded."""

from __future__ import annotations

import json
import logging
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as make_wsgi_server

logger = logging.getLogger(__name__)


READ_ONLY = "the dashboard is read-only: sessions are changed with ssearch and run_exp, never here"


def read_only(app: Any) -> Any:
    """A WSGI app that answers every request but GET and HEAD with 405 and a JSON `reason`.

    optuna-dashboard shows a request's `reason` to the user, so its create,
    delete, rename, note and tell buttons say why they do nothing, instead
    of "internal server error" from a storage that refused.
    """

    def guarded(environ: dict, start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
            return app(environ, start_response)
        body = json.dumps({"reason": READ_ONLY}).encode()
        start_response(
            "405 Method Not Allowed",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Allow", "GET, HEAD")],
        )
        return [body]

    return guarded


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a browser's open connection never holds up Ctrl-C


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        logger.debug("%s %s", self.address_string(), format % args)


def make_server(host: str = "127.0.0.1", port: int = 8080) -> WSGIServer:
    """optuna-dashboard over `SessionStorage`, read-only, bound to `host:port` (call `serve_forever`).

    Raises:
        ImportError: optuna-dashboard is not installed.
        OSError: the address cannot be bound (in use, not this host's).
    """
    from optuna_dashboard import wsgi

    from slurm_search.session.dashboard import SessionStorage

    return make_wsgi_server(host, port, read_only(wsgi(SessionStorage())), _Server, handler_class=_QuietHandler)

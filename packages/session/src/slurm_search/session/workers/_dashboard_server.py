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

# optuna-dashboard has no read-only mode: its pages always draw the buttons that create and delete
# studies. This script, served beside the pages and loaded by each (the dashboard's CSP allows
# scripts from its own origin only), hides them as they are drawn: a "Create" button and any
# button with Material's delete icon.
HIDE_SCRIPT_PATH = "/slurm-search/read-only.js"
HIDE_SCRIPT = b"""(function () {
  function hide() {
    document.querySelectorAll("button").forEach(function (b) {
      if ((b.textContent || "").trim() === "Create" || b.querySelector('svg[data-testid="DeleteIcon"]')) {
        b.style.display = "none";
      }
    });
  }
  new MutationObserver(hide).observe(document.documentElement, {childList: true, subtree: true});
  hide();
})();
"""


def read_only(app: Any) -> Any:
    """A WSGI app that answers every request but GET and HEAD with 405 and a JSON `reason`.

    optuna-dashboard shows a request's `reason` to the user, so its create,
    delete, rename, note and tell buttons say why they do nothing, instead
    of "internal server error" from a storage that refused.
    """

    def guarded(environ: dict, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
            if path == HIDE_SCRIPT_PATH:
                start_response("200 OK", [("Content-Type", "text/javascript"),
                                          ("Content-Length", str(len(HIDE_SCRIPT)))])
                return [HIDE_SCRIPT]
            if path.startswith("/dashboard"):
                return _with_hide_script(app, environ, start_response)
            return app(environ, start_response)
        body = json.dumps({"reason": READ_ONLY}).encode()
        start_response(
            "405 Method Not Allowed",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Allow", "GET, HEAD")],
        )
        return [body]

    return guarded


def _with_hide_script(app: Any, environ: dict, start_response: Any) -> Any:
    """The dashboard's page, with `HIDE_SCRIPT` loaded after its own bundle."""
    got: dict[str, Any] = {}

    def keep(status: str, headers: list, exc_info: Any = None) -> Any:
        got.update(status=status, headers=headers)
        return lambda data: None

    chunks = app(environ, keep)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    headers = got["headers"]
    if got["status"].startswith("200") and b"</head>" in body:
        body = body.replace(b"</head>", f'<script defer src="{HIDE_SCRIPT_PATH}"></script></head>'.encode(), 1)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
    start_response(got["status"], headers)
    return [body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a browser's open connection never holds up Ctrl-C


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        logger.debug("%s %s", self.address_string(), format % args)


def make_server(host: str = "127.0.0.1", port: int = 8080, inner: bool = False) -> WSGIServer:
    """optuna-dashboard over `SessionStorage`, read-only, bound to `host:port` (call `serve_forever`).

    Args:
        host: the address to bind.
        port: the port (0: any free one).
        inner: list experiments' inner sub-sessions on the home page too.

    Raises:
        ImportError: optuna-dashboard is not installed.
        OSError: the address cannot be bound (in use, not this host's).
    """
    from optuna_dashboard import wsgi

    from slurm_search.session.dashboard import SessionStorage

    app = read_only(wsgi(SessionStorage(inner=inner)))
    return make_wsgi_server(host, port, app, _Server, handler_class=_QuietHandler)

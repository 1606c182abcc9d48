"""HTTP: a small WSGI app (/metrics, /-/healthy, /-/ready; the page and API route in) on a threaded wsgiref server.

prometheus_client's WSGI app does the exposition (text or OpenMetrics by Accept, gzip, name[]);
we only put readiness in front of it: before the first full scan is in the ledger, /metrics
answers 503 instead of a partial total that would later jump.
"""

from __future__ import annotations

import logging
import socket
import threading
from socketserver import ThreadingMixIn
from typing import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app


log = logging.getLogger(__name__)

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


NOT_READY = "Not ready: the first scan of the transcripts is running.\n"


def respond(
    start_response: StartResponse, status: str, body: str, content_type: str = "text/plain", headers: tuple = ()
) -> list[bytes]:
    """A complete answer that no cache keeps (the figures move with every commit)."""
    data = body.encode()
    start_response(
        status,
        [
            ("Content-Type", f"{content_type}; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *headers,
        ],
    )
    return [data]


class ExporterApp:
    """Routes requests; further pages (the live page, the JSON API) register with `route`."""

    def __init__(self, registry: CollectorRegistry, ready: threading.Event):
        self.ready = ready
        self._metrics = make_wsgi_app(registry)
        self._routes: dict[str, WsgiApp] = {
            "/metrics": self._serve_metrics,
            "/-/healthy": lambda environ, start: respond(start, "200 OK", "Healthy.\n"),
            "/-/ready": self._serve_ready,
        }

    def route(self, path: str, app: WsgiApp) -> None:
        self._routes[path] = app

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        app = self._routes.get(environ.get("PATH_INFO") or "/")
        if app is None:
            return respond(start_response, "404 Not Found", "Not found.\n")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return respond(start_response, "405 Method Not Allowed", "Only GET.\n")
        return app(environ, start_response)

    def _serve_metrics(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if not self.ready.is_set():
            return respond(start_response, "503 Service Unavailable", NOT_READY)
        return self._metrics(environ, start_response)

    def _serve_ready(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if self.ready.is_set():
            return respond(start_response, "200 OK", "Ready.\n")
        return respond(start_response, "503 Service Unavailable", NOT_READY)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        log.debug("http: " + format, *args)


def serve(app: WsgiApp, host: str, port: int) -> _ThreadingServer:
    """Bind now (so a busy port fails at start-up) and serve from a daemon thread."""
    server_class = _ThreadingServer
    if ":" in host:
        server_class = type("_ThreadingServer6", (_ThreadingServer,), {"address_family": socket.AF_INET6})
    server = make_server(host, port, app, server_class=server_class, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server

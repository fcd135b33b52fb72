"""A real HTTP server on 127.0.0.1 that replays answers in the services' formats, for adapter tests.

Tests register routes (method + exact path, optionally a query-string predicate) with a handler that returns
`(status, headers, body)`; the server records every request so a test can count calls on the server side.
Answers it replays are either real recorded answers (from data/raw) or constructed ones, marked as such in the test.

A handler may add a `BodyFault` as a fourth element of its answer: the server then announces the whole body
(Content-Length) but sends only its first bytes, and either stalls (a hung host) or cuts the connection.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

Answer = tuple  # (status, headers, body) or (status, headers, body, BodyFault)


@dataclass(frozen=True)
class BodyFault:
    """Send `share` of the body (0.5: half), then wait `stall_s` seconds (a host that stalls midway) and close the
    connection (with `stall_s=0`: a connection cut before the full body)."""

    share: float = 0.5
    stall_s: float = 0.0
Handler = Callable[["RecordedRequest"], Answer]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                recorded = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with server._lock:
                    server.requests.append(recorded)
                handler = server.routes.get((self.command, parts.path))
                if handler is None and self.command == "HEAD":  # as HTTP servers do: GET's headers, no body
                    handler = server.routes.get(("GET", parts.path))
                if handler is None:
                    answer = (404, {"Content-Type": "text/plain"}, b"not found")
                else:
                    answer = handler(recorded)
                status, headers, body = answer[:3]
                fault = answer[3] if len(answer) > 3 else None
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command == "HEAD":
                        return
                    if fault is None:
                        self.wfile.write(body)
                        return
                    self.wfile.write(body[: int(len(body) * fault.share)])
                    self.wfile.flush()
                    time.sleep(fault.stall_s)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the client gave up (a timeout test): nothing to answer

            do_GET = _serve
            do_POST = _serve
            do_HEAD = _serve

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        # Poll for shutdown every 20 ms (the default half second would add that much to every test's teardown).
        self._thread = threading.Thread(target=lambda: self.httpd.serve_forever(poll_interval=0.02), daemon=True)

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def calls(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and (path is None or r.path == path)]

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def json_answer(payload: bytes | str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body

"""A real HTTP/1.1 server on 127.0.0.1 that serves one dialect, with fault injection."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from dustsweep.sim.core import Dialect, Fault, FaultPlan, SimRequest, SimResponse, garble


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle + delayed ACK cost ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def _read_request(self) -> SimRequest:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        return SimRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            body=body,
            headers={k.lower(): v for k, v in self.headers.items()},
        )

    def _faults_for(self, request: SimRequest) -> list[Fault]:
        """This call's faults; while a ban is in force, only the ban's answer."""
        faults = self.server.sim.faults
        peer = ":".join(str(part) for part in self.client_address[:2])
        planned = faults.next_call(request.method, request.path)
        ban = faults.ban_answer(request.method, request.path, peer)
        return [ban] if ban is not None else list(planned)

    def _serve(self) -> None:
        request = self._read_request()
        sim = self.server.sim
        if sim.faults.latency_s:
            time.sleep(sim.faults.latency_s)
        faults = self._faults_for(request)
        lose = False
        after: SimResponse | None = None
        for fault in faults:
            if fault.kind == "http":
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                raw = fault.body if isinstance(fault.body, bytes) else None  # an HTML page
                self._write(SimResponse(fault.status, fault.body, headers, raw=raw))
                return
            if fault.kind == "drop":
                self._abort()
                return
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            if fault.kind == "action" and fault.action is not None:
                fault.action()
            if fault.kind == "lose":
                lose = True
            if fault.kind == "http_after":
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                after = SimResponse(fault.status, fault.body, headers)
        with sim.request_lock:
            sim.requests.append((request.method, request.path))
        response = sim.dialect.handle(request)
        for fault in faults:
            if fault.kind == "garble":
                response.body = garble(response.body, fault.field, fault.value)
        if lose:
            self._abort()
            return
        self._write(after or response)

    def _abort(self) -> None:
        """Close the socket without a response: the client sees a dropped connection."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, response: SimResponse) -> None:
        if response.raw is not None:
            payload = response.raw
            ctype = "text/html"
        else:
            payload = json.dumps(response.body, separators=(",", ":")).encode()
            ctype = "application/json"
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = _serve
    do_POST = _serve
    do_DELETE = _serve
    do_PUT = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim
        super().__init__((sim.host, sim.port), _Handler)


class SimServer:
    """Serves ``dialect`` on http://127.0.0.1:<port> in a background thread.

    ``requests`` records (method, path) of every request the dialect processed, for tests and
    benchmarks that count round trips.
    """

    def __init__(self, dialect: Dialect, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.dialect = dialect
        self.host = host
        self.port = port
        self.faults = FaultPlan()
        self.requests: list[tuple[str, str]] = []
        self.request_lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimServer:
        self._httpd = _Server(self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

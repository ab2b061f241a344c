"""A webhook receiver on loopback for the alert tests, and the signature check the docs tell
receivers to write."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(secret: bytes, body: bytes, headers: Any, now: float) -> bool:
    """The receiver's check, exactly as docs-notify.md tells users to write it."""
    ts = headers["X-Dashboard-Timestamp"]
    mac = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(now - int(ts)) < 300
    return fresh and hmac.compare_digest("sha256=" + mac, headers["X-Dashboard-Signature"])


@dataclass
class Got:
    method: str
    path: str
    headers: Any
    body: bytes
    at: float = field(default_factory=time.time)  # when it arrived

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up waiting (the hung path): not news


class Receiver:
    """An HTTP server on loopback that records every request. ``/hang...`` never answers
    (until the test ends), ``/fail...`` answers 500, ``/refuse`` 403, anything else 200."""

    def __init__(self) -> None:
        self.got: list[Got] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.got.append(Got(self.command, self.path, self.headers, body))
                if self.path.startswith("/hang"):
                    receiver.release.wait(30)
                    return
                fail, refuse = self.path.startswith("/fail"), self.path.startswith("/refuse")
                self.send_response(500 if fail else 403 if refuse else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def on(self, path: str) -> list[Got]:
        return [g for g in self.got if g.path.startswith(path)]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

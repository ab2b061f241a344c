"""A raw Socket.IO-over-websocket client for attack and slow-link tests.

It speaks just enough of RFC 6455, engine.io v4 and socket.io v5 to subscribe, and lets a
test control what a library client never would: the Host and Origin headers, the receive
buffer (a narrow link), how fast it reads, whether it answers pings, and raw frames.
It reads in its own thread; every sample it takes is kept with the time it was read.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Taken:
    namespace: str
    data: dict[str, Any]
    read_at: float  # wall clock, comparable with a sample's ts


@dataclass
class RawClient:
    port: int
    host_header: str = ""
    origin: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # any more, e.g. X-Forwarded-For
    rate: float | None = None  # bytes a second it reads; None: as fast as it comes
    rcvbuf: int | None = None  # SO_RCVBUF: a narrow link's in-flight window
    pong: bool = True  # answer the server's pings
    blind_pong: float | None = None  # send a pong every this many s without reading
    sock: socket.socket | None = None
    taken: list[Taken] = field(default_factory=list)
    acks: dict[int, Any] = field(default_factory=dict)
    closed: bool = False
    reading: bool = True
    stopped: bool = False
    bytes_read: int = 0
    _buffer: bytes = b""
    _ack_id: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- connecting -------------------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> RawClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", self.port))
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        host = self.host_header or f"127.0.0.1:{self.port}"
        origin = self.origin or f"http://127.0.0.1:{self.port}"
        request = (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
            + "\r\n"
        )
        sock.sendall(request.encode())
        head = self._read_until(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode()
        if " 101 " not in status:
            self.close()
            raise ConnectionRefusedError(f"{status}: {self._buffer[:300]!r}")
        opened = self._frame()
        if not opened or not opened.startswith("0"):
            raise ConnectionError(f"no engine.io open packet: {opened!r}")
        return self

    def join(self, namespace: str, auth: dict[str, Any] | None = None) -> None:
        self.send("40" + namespace + "," + (json.dumps(auth) if auth else ""))
        while True:
            text = self._frame()
            if text is None:
                raise ConnectionError(f"closed while joining {namespace}")
            if text.startswith("40" + namespace + ","):
                return
            if text.startswith("44" + namespace + ","):
                raise ConnectionRefusedError(text)
            self._handle(text)

    def call(self, namespace: str, event: str, data: Any = None) -> int:
        """Send an event with an ack id; the ack lands in ``acks[id]`` once read."""
        self._ack_id += 1
        args = [event] if data is None else [event, data]
        self.send(f"42{namespace},{self._ack_id}{json.dumps(args)}")
        return self._ack_id

    def ack(self, namespace: str, event: str, data: Any = None, timeout: float = 5.0) -> Any:
        """``call`` and read (on this thread) until its ack comes."""
        ack_id = self.call(namespace, event, data)
        deadline = time.monotonic() + timeout
        while ack_id not in self.acks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ack for {event} on {namespace}")
            text = self._frame()
            if text is None:
                raise ConnectionError("closed while waiting for an ack")
            self._handle(text)
        return self.acks.pop(ack_id)

    # -- reading in the background ----------------------------------------------------
    def start(self) -> RawClient:
        """Read in the background (unless ``reading`` is off: a stalled reader), and send
        the blind pongs if asked."""
        if self.reading:
            threading.Thread(target=self._read_loop, daemon=True).start()
        if self.blind_pong:
            threading.Thread(target=self._blind_pongs, daemon=True).start()
        return self

    def newest(self, namespace: str) -> Taken | None:
        with self._lock:
            for taken in reversed(self.taken):
                if taken.namespace == namespace:
                    return taken
        return None

    def close(self) -> None:
        self.reading, self.stopped = False, True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()

    def _read_loop(self) -> None:
        try:
            while self.reading:
                text = self._frame()
                if text is None:
                    break
                self._handle(text)
        except OSError:
            pass
        self.closed = True

    def _blind_pongs(self) -> None:
        while not self.stopped and self.blind_pong:
            time.sleep(self.blind_pong)
            try:
                self.send("3")
            except OSError:
                return

    def _handle(self, text: str) -> None:
        if text == "2":
            if self.pong:
                self.send("3")
            return
        if not text.startswith("4"):
            return
        body = text[1:]
        kind, rest = body[0], body[1:]
        namespace, _, payload = rest.partition(",") if rest.startswith("/") else ("/", "", rest)
        if kind == "2":
            event = json.loads(payload)
            if event[0] == "sample":
                with self._lock:
                    self.taken.append(Taken(namespace, event[1], time.time()))
        elif kind == "3":
            digits = len(payload) - len(payload.lstrip("0123456789"))
            self.acks[int(payload[:digits])] = json.loads(payload[digits:])[0]

    # -- the wire ---------------------------------------------------------------------
    def send(self, text: str) -> None:
        self.send_frame(0x1, text.encode())

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        """A masked client frame (any opcode, any length: tests craft bad ones too)."""
        assert self.sock is not None
        head = bytes([(0x80 if fin else 0) | opcode])
        size = len(payload)
        if size < 126:
            head += bytes([0x80 | size])
        elif size < 65_536:
            head += bytes([0x80 | 126]) + struct.pack("!H", size)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", size)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _frame(self) -> str | None:
        """The next text message (fragments joined); None once the server closes."""
        parts: list[bytes] = []
        while True:
            head = self._read(2)
            if len(head) < 2:
                return None
            opcode, size = head[0] & 0x0F, head[1] & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._read(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(size)
            if opcode == 0x8:
                return None
            if opcode == 0x9:
                self.send_frame(0xA, payload)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if head[0] & 0x80:
                    return b"".join(parts).decode()

    def _read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            chunk = self._recv(count - len(self._buffer))
            if not chunk:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self._recv(4096)
            if not chunk:
                raise ConnectionError(f"closed before {marker!r}: {self._buffer[:300]!r}")
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _recv(self, wanted: int) -> bytes:
        """At most ``wanted`` bytes, paced to ``rate`` bytes a second (a slow link)."""
        assert self.sock is not None
        self.sock.settimeout(None if self.rate else 30)
        if self.rate is None:
            chunk = self.sock.recv(max(wanted, 65_536))
        else:
            chunk = self.sock.recv(min(wanted, max(1, int(self.rate / 10))))
            time.sleep(len(chunk) / self.rate)  # the link's pace, not a wait on a condition
        self.bytes_read += len(chunk)
        return chunk

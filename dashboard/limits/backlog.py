"""Bounded send backlogs: a client that falls behind gets the newest sample per namespace.

python-socketio queues every packet for every client, unbounded: a client that stops reading
but answers pings grows the server by ~1 MB/s (RELIABILITY.md, weakness 1), and what it
finally reads is minutes old. Here a client that is behind has at most one sample per
namespace waiting:

- *queued*: in engine.io's queue, not yet written. Once the client is behind, a newer sample
  replaces the newest queued one's text in place (the transport encodes a packet only when
  it writes it), so the client gets the newest. A client that is not behind gets every
  sample: a burst (the catch-up after an outage) is queued whole.
- *held*: not queued at all, because the kernel holds more than ``max_bytes`` for the client
  that it has not had acknowledged (``TIOCOUTQ``): the link is full. The sweeper queues it
  once that drains.

A client that takes less than a quarter of what it is offered, over ``slow_after`` seconds,
cannot show a live view at all: it is disconnected and logged as a slow consumer. Emits still
serialize once per room; only the hand-off is per client, as it already was.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import socket
import struct
import termios
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engineio import packet as eio_packet
from socketio import Manager
from socketio import packet as sio_packet

log = logging.getLogger(__name__)
COALESCED_EVENTS = frozenset({"sample", "fleet"})
MIN_SHARE = 0.25  # a client taking less than this share of its stream is not live
MIN_OFFERED = 8192  # bytes offered in the window before a client is judged


def unsent_bytes(sock: socket.socket | None) -> int:
    """Bytes the kernel holds for ``sock`` that the peer has not acknowledged."""
    if sock is None:
        return 0
    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except (OSError, ValueError):
        return 0
    return int(struct.unpack("i", raw)[0])


class _Slot(eio_packet.Packet):  # type: ignore[misc]
    """One namespace's next sample for one client; its text is the newest until written."""

    def __init__(self, client: _Client, namespace: str, text: str) -> None:
        super().__init__(eio_packet.MESSAGE, text)
        self.client, self.namespace = client, namespace

    def encode(self, b64: bool = False) -> Any:
        self.client.written_slot(self)
        return super().encode(b64)


@dataclass
class _Client:
    sock: socket.socket | None
    lock: threading.Lock
    queued: dict[str, _Slot] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)
    written: int = 0  # bytes handed to the transport
    offered: int = 0  # sample bytes offered, before coalescing
    measured: tuple[int, int] = (0, 0)  # (written, unsent) at the last TIOCOUTQ
    behind_at: float | None = None
    marks: deque[tuple[float, int, int]] = field(default_factory=deque)

    def written_slot(self, slot: _Slot) -> None:
        with self.lock:
            size = len(slot.data)
            if self.queued.get(slot.namespace) is slot:
                del self.queued[slot.namespace]
            self.written += size

    def unsent(self) -> int:
        unsent = unsent_bytes(self.sock)
        self.measured = (self.written, unsent)
        return unsent

    def backlog(self, limit: int) -> int:
        """Bytes the kernel still holds for the client — read (an ioctl) only when what
        was written since the last reading might have taken it over ``limit``. engine.io's
        own queue is not counted: a client that is not behind drains it as soon as its
        writer has a turn, and one that is behind gets no more than one newer sample per
        namespace put there."""
        written, unsent = self.measured
        bound = unsent + (self.written - written)
        return bound if bound <= limit else self.unsent()

    def delivered(self) -> int:
        return self.written - self.unsent()


class Backlog:
    """Every client's backlog: ``offer`` on emit; ``release`` four times a second and
    ``slow`` once a second, from the sweeper on the loop (no I/O but an ioctl)."""

    def __init__(
        self,
        max_bytes: int,
        slow_after: float,
        socket_of: Callable[[str], socket.socket | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes, self.slow_after = max_bytes, slow_after
        self.socket_of, self.clock = socket_of, clock
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()
        self.coalesced = 0  # samples replaced by a newer one before the client took them
        self.slow_consumers = 0

    def offer(self, send: Callable[[str, Any], None], eio_sid: str, ns: str, text: str) -> None:
        """The newest sample of ``ns`` for this client: queue it, or keep it as the newest."""
        client = self._client(eio_sid)
        with client.lock:
            client.offered += len(text)
            behind = client.backlog(self.max_bytes) > self.max_bytes
            slot = client.queued.get(ns)
            if slot is not None and behind:
                slot.data = text
                self.coalesced += 1
                return
            # Not behind: a burst (a catch-up after an outage) queues every sample; the
            # writer has just not had its turn yet.
            if ns in client.held or behind:
                self.coalesced += ns in client.held
                client.held[ns] = text
                if client.behind_at is None:
                    client.marks.clear()
                client.behind_at = self.clock()
                return
            slot = _Slot(client, ns, text)
            client.queued[ns] = slot
        send(eio_sid, slot)

    def sent(self, eio_sid: str, pkt: Any) -> None:
        """Any other packet to this client (acks, events): counted as written."""
        client = self._clients.get(eio_sid)
        if client is not None and not isinstance(pkt, _Slot) and isinstance(pkt.data, str):
            with client.lock:
                client.written += len(pkt.data)

    def release(self, send: Callable[[str, Any], None]) -> None:
        """Queue held samples of clients whose backlog has drained."""
        for eio_sid, client in list(self._clients.items()):
            if not client.held:
                continue
            with client.lock:
                if client.backlog(self.max_bytes) > self.max_bytes:
                    continue
                held, client.held = client.held, {}
                slots = []
                # Small samples first: the cards update before the long process table.
                for ns, text in sorted(held.items(), key=lambda item: len(item[1])):
                    slot = _Slot(client, ns, text)
                    client.queued[ns] = slot
                    slots.append(slot)
            for slot in slots:
                send(eio_sid, slot)

    def slow(self) -> list[tuple[str, int, int]]:
        """Clients behind for the whole window that took < MIN_SHARE of what was offered:
        ``(eio_sid, offered, delivered)`` over the window, each."""
        now, found = self.clock(), []
        for eio_sid, client in list(self._clients.items()):
            if client.behind_at is None:
                continue
            if now - client.behind_at > self.slow_after:  # caught up for a whole window
                client.behind_at = None
                client.marks.clear()
                continue
            with client.lock:
                client.marks.append((now, client.offered, client.delivered()))
            while len(client.marks) > 1 and now - client.marks[1][0] >= self.slow_after:
                client.marks.popleft()
            start, offered0, delivered0 = client.marks[0]
            _, offered1, delivered1 = client.marks[-1]
            offered, delivered = offered1 - offered0, delivered1 - delivered0
            if (
                now - start >= self.slow_after
                and offered >= MIN_OFFERED
                and delivered < MIN_SHARE * offered
            ):
                found.append((eio_sid, offered, delivered))
        self.slow_consumers += len(found)
        return found

    def forget(self, eio_sid: str) -> None:
        with self._lock:
            self._clients.pop(eio_sid, None)

    def clients_behind(self) -> int:
        return sum(1 for c in list(self._clients.values()) if c.held)

    def _client(self, eio_sid: str) -> _Client:
        client = self._clients.get(eio_sid)
        if client is None:
            with self._lock:
                client = self._clients.setdefault(
                    eio_sid, _Client(self.socket_of(eio_sid), threading.Lock())
                )
        return client


class CoalescingManager(Manager):  # type: ignore[misc]
    """python-socketio's in-process manager, with sample emits handed to ``Backlog``."""

    def __init__(self, backlog: Backlog) -> None:
        super().__init__()
        self.backlog = backlog

    def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if event not in COALESCED_EVENTS or callback is not None or namespace not in self.rooms:
            return super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)  # type: ignore[no-any-return]
        pkt = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, data])
        text = pkt.encode()
        skip = set(skip_sid if isinstance(skip_sid, list) else [skip_sid])
        send, sockets = self.server._send_eio_packet, self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, to or room):
            if sid in skip:
                continue
            if eio_sid in sockets:
                self.backlog.offer(send, eio_sid, namespace, text)
            else:  # no engine.io transport (Flask-SocketIO's test client): hand it over
                send(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, text))
        return None


def install(
    sio: Any, backlog: Backlog, sleep: Callable[[float], None], running: Callable[[], bool]
) -> None:
    """Count every other packet a client is sent, and start the sweeper on the loop."""
    original = sio._send_eio_packet

    def send(eio_sid: str, pkt: Any) -> None:
        backlog.sent(eio_sid, pkt)
        original(eio_sid, pkt)

    sio._send_eio_packet = send

    def sweep() -> None:
        ticks = 0
        while running():
            sleep(0.25)
            backlog.release(original)
            ticks += 1
            if ticks % 4 == 0:
                for eio_sid, offered, delivered in backlog.slow():
                    _drop(sio, backlog, eio_sid, offered, delivered)

    sio.start_background_task(sweep)


def _drop(sio: Any, backlog: Backlog, eio_sid: str, offered: int, delivered: int) -> None:
    environ = sio.environ.get(eio_sid, {})
    log.warning(
        "slow consumer %s (%s) disconnected: took %d of %d bytes offered in %gs",
        eio_sid, environ.get("REMOTE_ADDR", "?"), delivered, offered, backlog.slow_after,
    )  # fmt: skip
    with contextlib.suppress(KeyError):
        # No CLOSE packet and no wait: its writer is stuck on a full send buffer.
        sio.eio._get_socket(eio_sid).close(wait=False, abort=True)
    backlog.forget(eio_sid)

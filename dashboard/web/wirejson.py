"""Socket.IO packets on the wire: JSON strict on the way out, every packet read defensively.

Out: ``allow_nan=False`` — values are sanitized upstream, but should a NaN ever slip through
the emit fails loudly here instead of making socket.io-client drop the connection. A sample
arrives already serialized (``Encoded``, made in the collector's worker thread) and is
written as it is: the event loop never re-encodes a payload.
In: python-socketio trusts what a client sends. Unreadable JSON (nested past the parser's
recursion limit, an integer of more than 4,300 digits), an event that is not ``[name, ...]``
or an unknown packet type raise deep inside it (a traceback, no answer); a client's own
``connect`` or ``disconnect`` event reaches the real handlers; and after a binary event
every frame the client sends is kept as one of its attachments, as many as the event claims
(up to ten digits' worth), until they are all in. ``Packet`` (the server's ``serializer``)
turns each of these into a ``MALFORMED`` event, which the namespace refuses with an error
ack, or, when there is no event to answer, into an acknowledgement nobody waits for, which
python-socketio drops. This protocol has no binary events: they are refused, never kept.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from socketio import packet

from collectors.messages import kind, quoted
from dashboard.pipeline.payloads import Encoded

log = logging.getLogger(__name__)
MALFORMED = "__malformed__"
# Events a client may not send: python-socketio's own, and ours for what could not be read.
RESERVED = frozenset({"connect", "disconnect", MALFORMED})
_TYPES = tuple("0123456")  # CONNECT ... BINARY_ACK


class TooDeep(ValueError):
    """JSON nested deeper than the parser's recursion limit."""


def dumps(obj: Any, **kwargs: Any) -> str:
    kwargs["allow_nan"] = False
    if isinstance(obj, list) and any(isinstance(item, Encoded) for item in obj):
        # A packet's data is [event, *args]: splice prepared text in, encode the rest.
        parts = [i.text if isinstance(i, Encoded) else json.dumps(i, **kwargs) for i in obj]
        return "[" + ",".join(parts) + "]"
    return json.dumps(obj, **kwargs)


def loads(text: str | bytes, **kwargs: Any) -> Any:
    """``json.loads``; too deep is a ``ValueError`` like any other unreadable text (which is
    what python-engineio expects of a message that is not JSON)."""
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise TooDeep("payload nested too deeply") from None


class Packet(packet.Packet):  # type: ignore[misc]  # python-socketio is untyped
    """A Socket.IO packet, decoded so that python-socketio can always dispatch it (see the
    module docstring)."""

    packet_type: int
    id: int | None
    data: Any

    def decode(self, encoded_packet: Any) -> int:
        if not isinstance(encoded_packet, str):
            return self._ignore(f"a {type(encoded_packet).__name__} frame outside any packet")
        if encoded_packet[:1] not in _TYPES:
            return self._ignore(f"unknown packet type {quoted(encoded_packet[:1])}")
        try:
            super().decode(encoded_packet)
        except TooDeep as exc:
            return self._refuse(str(exc))
        except ValueError as exc:
            return self._refuse(f"unreadable: {quoted(str(exc), 120)}")
        if self.packet_type in (packet.BINARY_EVENT, packet.BINARY_ACK):
            return self._refuse("binary attachments are not part of this protocol")
        if self.packet_type == packet.CONNECT_ERROR:
            return self._ignore("CONNECT_ERROR is the server's to send")
        if self.packet_type == packet.EVENT:
            self._check_event()
        return 0

    def _check_event(self) -> None:
        data: Any = self.data
        if not isinstance(data, list) or not data:
            got = "an empty list" if data == [] else kind(data, "json")
            self._refuse(f"an event is [name, payload], got {got}")
        elif not isinstance(data[0], str):
            self._refuse(f"an event's name is a string, got {kind(data[0], 'json')}")
        elif data[0] in RESERVED:
            self._refuse(f"event {quoted(data[0])} is reserved")

    def _refuse(self, reason: str) -> int:
        """An event the namespace answers with an error (the client's ack id kept)."""
        if self.packet_type not in (packet.EVENT, packet.BINARY_EVENT):
            return self._ignore(reason)
        self.packet_type = packet.EVENT
        self.data = [MALFORMED, reason]
        return 0

    def _ignore(self, reason: str) -> int:
        """Nothing to answer: an acknowledgement of no request, which python-socketio drops."""
        log.warning("a client's Socket.IO packet ignored: %s", reason)
        self.packet_type, self.id = packet.ACK, None
        self.data = []
        return 0

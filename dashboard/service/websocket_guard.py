"""Two fixes to eventlet's websocket server, for what a client sends before any of our
checks can see it (applied once, by ``serve``, under eventlet only).

- **Unmasking in C.** eventlet unmasks every byte a client sends in a Python generator, one
  ``bytes`` object per byte: a client sending 10 MB in legal 10 KB frames held the event
  loop — every other client — for 2.2 s. XOR-ing the payload as one big integer does the
  same work in C (RFC 6455 section 5.3); the result is byte for byte eventlet's.
- **A bounded message.** eventlet checks each frame against the size limit but not a
  fragmented message as a whole: continuation frames without FIN pile up in memory without
  end. A message past ``max_message_bytes`` now closes that connection with 1009 ("message
  too big"), as one oversized frame already did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def apply_mask(
    data: bytes, mask: Sequence[int], length: int | None = None, offset: int = 0
) -> bytes:
    """``data[:length]`` XOR the 4-byte ``mask`` repeated, starting ``offset`` bytes in."""
    size = len(data) if length is None else length
    if size == 0:
        return b""
    start = offset % 4
    repeated = (bytes(mask) * (size // 4 + 2))[start : start + size]
    value = int.from_bytes(data[:size], "little") ^ int.from_bytes(repeated, "little")
    return value.to_bytes(size, "little")


def install() -> None:
    from eventlet import websocket

    socket_class = websocket.RFC6455WebSocket
    socket_class._apply_mask = staticmethod(apply_mask)
    message_class = socket_class.Message
    push = message_class.push
    if getattr(push, "bounded", False):
        return

    def bounded_push(self: Any, data: bytes, final: bool = False) -> None:
        self.size = getattr(self, "size", 0) + len(data)
        if self.size > self.max_frame_length:
            raise websocket.FailedConnectionError(
                1009, f"message of more than {self.max_frame_length} bytes"
            )
        push(self, data, final)

    bounded_push.bounded = True  # type: ignore[attr-defined]
    message_class.push = bounded_push

"""The on-disk form of a history chunk: one collector's samples over one block of time.

A chunk holds a shared timestamp column and one float column per series. Storing a block as
one compressed blob instead of one row per value is what makes history small:

- timestamps become integer milliseconds, stored as delta-of-deltas (a steady 1 s cadence
  is a run of zeros);
- each value is XORed with the one before it in its column (Gorilla's trick: a value that
  did not change is all zero bits, one that changed a little shares its sign, exponent and
  leading mantissa bits with its predecessor);
- the 8-byte words are split into byte planes, so those shared high bytes line up;
- zlib compresses the result (the header with the series names included).

Values are float64 with NaN for "no value"; decoding gives back exactly what was encoded.
The XOR runs over a whole column at once as one big integer, so it costs C time, not a
Python loop per value.
"""

from __future__ import annotations

import json
import struct
import zlib
from array import array
from collections.abc import Mapping, Sequence
from itertools import accumulate

VERSION = 2
_SIZE = struct.Struct("<I")  # header length, inside the compressed body
LEVEL = 6


class ChunkError(ValueError):
    """A blob that is not a chunk this code can read (corrupt, truncated, newer version)."""


def encode(ts: Sequence[float], columns: Mapping[str, Sequence[float]]) -> bytes:
    """Compress aligned ``ts`` and value ``columns`` (each as long as ``ts``) into one blob."""
    count = len(ts)
    names = list(columns)
    for name in names:
        if len(columns[name]) != count:
            raise ValueError(f"column {name!r} has {len(columns[name])} values for {count} ts")
    header = json.dumps({"n": count, "names": names}, separators=(",", ":")).encode()
    parts = [_SIZE.pack(len(header)), header, _shuffle(_ts_words(ts))]
    parts += [_shuffle(_xor_words(columns[name])) for name in names]
    return bytes([VERSION]) + zlib.compress(b"".join(parts), LEVEL)


def decode(blob: bytes) -> tuple[list[float], dict[str, list[float]]]:
    """The ``(ts, columns)`` a blob was made from; raise ``ChunkError`` if it is not one."""
    if not blob or blob[0] != VERSION:
        found = blob[0] if blob else "none"
        raise ChunkError(f"chunk format {found}; this version reads {VERSION}")
    try:
        body = zlib.decompress(blob[1:])
        (size,) = _SIZE.unpack_from(body)
        header = json.loads(body[_SIZE.size : _SIZE.size + size])
        count, names = int(header["n"]), list(header["names"])
    except (struct.error, ValueError, KeyError, TypeError, zlib.error) as exc:
        raise ChunkError(f"unreadable chunk: {exc}") from None
    body = body[_SIZE.size + size :]
    width = 8 * count
    if len(body) != width * (1 + len(names)):
        raise ChunkError(f"chunk body is {len(body)} bytes; expected {width * (1 + len(names))}")
    ts = _ts_values(_unshuffle(body[:width]))
    columns = {}
    for index, name in enumerate(names, start=1):
        columns[name] = _xor_values(_unshuffle(body[index * width : (index + 1) * width]))
    return ts, columns


def _ts_words(ts: Sequence[float]) -> bytes:
    millis = [round(t * 1000) for t in ts]
    deltas = [b - a for a, b in zip([0, *millis], millis, strict=False)]
    second = [b - a for a, b in zip([0, *deltas], deltas, strict=False)]
    return array("q", second).tobytes()


def _ts_values(raw: bytes) -> list[float]:
    second = array("q")
    second.frombytes(raw)
    return [m / 1000 for m in accumulate(accumulate(second))]


def _xor_words(values: Sequence[float]) -> bytes:
    """Each 8-byte word XOR the one before it: the column XOR itself shifted by one word."""
    raw = array("d", values).tobytes()
    whole = int.from_bytes(raw, "little")
    return (whole ^ (whole << 64)).to_bytes(len(raw) + 8, "little")[: len(raw)]


def _xor_values(raw: bytes) -> list[float]:
    """Undo ``_xor_words``: a prefix XOR over the words, by doubling (log2(n) big-int steps)."""
    bits = 8 * len(raw)
    whole = int.from_bytes(raw, "little")
    mask = (1 << bits) - 1
    shift = 64
    while shift < bits:
        whole ^= (whole << shift) & mask
        shift *= 2
    doubles = array("d")
    doubles.frombytes(whole.to_bytes(len(raw), "little"))
    return doubles.tolist()


def _shuffle(raw: bytes) -> bytes:
    """Byte planes: every word's first byte, then every second byte, and so on."""
    return b"".join(raw[i::8] for i in range(8))


def _unshuffle(planes: bytes) -> bytes:
    count = len(planes) // 8
    out = bytearray(len(planes))
    for i in range(8):
        out[i::8] = planes[i * count : (i + 1) * count]
    return bytes(out)

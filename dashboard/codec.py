"""The on-disk form of a history chunk: one collector's samples over one block of time.

A chunk holds a shared timestamp column and one float column per series. Storing a block as
one compressed blob instead of one row per value is what makes history small:

- timestamps become integer milliseconds, stored as delta-of-deltas (a steady 1 s cadence
  is a run of zeros);
- each value is XORed with the one before it in its column (Gorilla's trick: a value that
  did not change is all zero bits, one that changed a little shares its sign, exponent and
  leading mantissa bits with its predecessor);
- the 8-byte words are split into byte planes, so those shared high bytes line up;
- zlib compresses the result.

Values are float64 with NaN for "no value"; decoding gives back exactly what was encoded.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from array import array
from collections.abc import Mapping, Sequence
from itertools import accumulate
from operator import xor

VERSION = 1
_HEAD = struct.Struct("<BI")  # version, header length
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
    planes = [_shuffle(_ts_words(ts))]
    planes += [_shuffle(_xor_words(columns[name])) for name in names]
    body = zlib.compress(b"".join(planes), LEVEL)
    return _HEAD.pack(VERSION, len(header)) + header + body


def decode(blob: bytes) -> tuple[list[float], dict[str, list[float]]]:
    """The ``(ts, columns)`` a blob was made from; raise ``ChunkError`` if it is not one."""
    try:
        version, size = _HEAD.unpack_from(blob)
        if version != VERSION:
            raise ChunkError(f"chunk format {version}; this version reads {VERSION}")
        header = json.loads(blob[_HEAD.size : _HEAD.size + size])
        count, names = int(header["n"]), list(header["names"])
        body = zlib.decompress(blob[_HEAD.size + size :])
    except ChunkError:
        raise
    except (struct.error, ValueError, KeyError, TypeError, zlib.error) as exc:
        raise ChunkError(f"unreadable chunk: {exc}") from None
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
    words = array("Q")
    words.frombytes(array("d", (math.nan if v is None else v for v in values)).tobytes())
    return array("Q", map(xor, words, [0, *words])).tobytes()


def _xor_values(raw: bytes) -> list[float]:
    words = array("Q")
    words.frombytes(raw)
    doubles = array("d")
    doubles.frombytes(array("Q", accumulate(words, xor)).tobytes())
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

"""What clients send about alerts, validated: a silence, an ack, a silence id.

Pure functions, no Flask: the ``/alerts`` namespace and the ``/api/silences`` routes share
them, so a request gets the same answer over a socket and over HTTP. Each returns a frozen,
normalized request or raises ``RequestError`` naming the field and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors.messages import kind, quoted
from dashboard.alerts.model import MATCHER_KEYS, MAX_SILENCE, Key
from dashboard.web.protocol import RequestError, as_object

MAX_GLOB = 200  # characters in one matcher (a rule, host or series glob)
MAX_COMMENT = 1000
MAX_ID = 128


@dataclass(frozen=True)
class SilenceRequest:
    """A new silence: globs on rule, host and series (a missing one matches all)."""

    matchers: Mapping[str, str] = field(default_factory=dict)
    ends: float = 0.0
    comment: str = ""


@dataclass(frozen=True)
class AckRequest:
    key: Key
    comment: str = ""


def parse_silence(data: Any, now: float) -> SilenceRequest:
    """``{"matchers": {"rule"?, "host"?, "series"?}, "ends": <unix s>, "comment": "..."}``;
    ``ends`` after ``now`` and at most 30 days ahead, a non-empty comment."""
    data = as_object(data, {"matchers", "ends", "comment"})
    for key in ("matchers", "ends", "comment"):
        if key not in data:
            raise RequestError(f"{key}: missing (a silence needs matchers, ends and comment)")
    matchers = _matchers(data["matchers"])
    ends = _seconds(data["ends"])
    if ends <= now:
        raise RequestError(f"ends: {ends:.0f} is not in the future (now {now:.0f})")
    if ends > now + MAX_SILENCE:
        days = MAX_SILENCE / 86_400
        raise RequestError(f"ends: {(ends - now) / 86_400:.1f} days ahead; at most {days:g} days")
    return SilenceRequest(matchers, ends, _comment(data["comment"], required=True))


def _seconds(value: Any) -> float:
    """``ends`` as a float: a finite number (JSON's integers may be far beyond any float)."""
    expected = "ends: expected unix seconds (a number)"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(f"{expected}, got {kind(value, 'json')}")
    try:
        seconds = float(value)
    except OverflowError:
        bits = int(value).bit_length()
        raise RequestError(f"{expected}, got an integer of {bits} bits") from None
    if not math.isfinite(seconds):
        raise RequestError(f"{expected}, got {value}")
    return seconds


def _matchers(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise RequestError(f"matchers: expected an object, got {kind(value, 'json')}")
    matchers: dict[str, str] = {}
    for label, glob in value.items():
        if label not in MATCHER_KEYS:
            raise RequestError(
                f"matchers: unknown key {quoted(label)} (allowed: {', '.join(MATCHER_KEYS)})"
            )
        if not isinstance(glob, str) or not glob:
            raise RequestError(
                f"matchers.{label}: expected a non-empty glob string, got {_what(glob)}"
            )
        if len(glob) > MAX_GLOB:
            raise RequestError(f"matchers.{label}: {len(glob)} characters; at most {MAX_GLOB}")
        _encodable(f"matchers.{label}", glob)
        matchers[label] = glob
    return matchers


def parse_ack(data: Any) -> AckRequest:
    """``{"rule", "host", "series", "comment"?}``: one alert instance, exactly named."""
    data = as_object(data, {*MATCHER_KEYS, "comment"})
    labels = []
    for label in MATCHER_KEYS:
        value = data.get(label)
        if not isinstance(value, str) or not value:
            raise RequestError(f"{label}: expected the alert's {label} (a non-empty string), "
                               f"got {_what(value)}")  # fmt: skip
        if len(value) > MAX_GLOB:
            raise RequestError(f"{label}: {len(value)} characters; at most {MAX_GLOB}")
        _encodable(label, value)
        labels.append(value)
    comment = _comment(data.get("comment", ""), required=False)
    return AckRequest(Key(*labels), comment)


def parse_silence_id(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise RequestError(f"silence id: expected a short string, got {quoted(value)}")
    return value


def _comment(value: Any, required: bool) -> str:
    if not isinstance(value, str):
        raise RequestError(f"comment: expected a string, got {kind(value, 'json')}")
    text = value.strip()
    if required and not text:
        raise RequestError("comment: must not be empty (say why the alert is silenced)")
    if len(text) > MAX_COMMENT:
        raise RequestError(f"comment: {len(text)} characters; at most {MAX_COMMENT}")
    _encodable("comment", text)
    return text


def _encodable(name: str, text: str) -> None:
    """Refuse what JSON can carry but UTF-8 (SQLite, the log, a notice) cannot: a lone
    surrogate, such as ``"\\ud800"``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestError(f"{name}: not valid text (a lone surrogate at character "
                           f"{exc.start + 1})") from None  # fmt: skip


def _what(value: Any) -> str:
    return "an empty string" if value == "" else kind(value, "json")

"""Naming and filtering for the per-device collectors (disks, interfaces, mounts, chips).

Series keys made from device names, option checks for lists of names, and the
``{"devices": [...]}`` style client filter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from collectors.messages import did_you_mean, quoted

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# Keeps "<collector>.<key>[_N].<metric>" well inside SERIES_RE's 128 characters.
MAX_KEY = 64
MAX_FILTER_NAMES = 256
MAX_FILTER_NAME_LEN = 64


def sanitize(name: str) -> str:
    """A device name made safe for a series name: characters outside [A-Za-z0-9_-] become _."""
    return _UNSAFE.sub("_", name)[:MAX_KEY] or "_"


def unique_keys(names: Sequence[str]) -> list[str]:
    """Sanitized keys for ``names``, position by position; a clash gets a suffix _2, _3, ...

    Two names can sanitize alike ("md/0" and "md_0"; psutil merges two "nvme" chips into one
    list), and two devices must never feed one series.
    """
    keys: list[str] = []
    taken: set[str] = set()
    for name in names:
        key = base = sanitize(name)
        n = 2
        while key in taken:
            key, n = f"{base}_{n}", n + 1
        taken.add(key)
        keys.append(key)
    return keys


def check_names_option(option: str, values: list[Any], example: str) -> None:
    """Raise ValueError unless every item of a list option is a non-empty string."""
    for value in values:
        if not isinstance(value, str) or not value:
            raise ValueError(
                f"option {option!r}: item {value!r} is not a non-empty string; "
                f"expected a list of names such as {example}"
            )


def has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def parse_names_filter(collector: str, key: str, request: Any) -> dict[str, list[str]]:
    """Validate ``{key: [names]}`` into ``{key: sorted unique names}``; [] means all."""
    where = f"{collector} filter"
    if not isinstance(request, Mapping):
        raise ValueError(
            f"{where}: expected an object like {{{key!r}: [...]}}, got {quoted(request)}"
        )
    unknown = [k for k in request if k != key]
    if unknown:
        hint = did_you_mean(str(unknown[0]), [key]) or f"; the only key is {key!r}"
        raise ValueError(f"{where}: unknown key {quoted(unknown[0])}{hint}")
    names = request.get(key, [])
    if not isinstance(names, list):
        raise ValueError(f"{where}: {key!r} must be a list of names, got {quoted(names)}")
    if len(names) > MAX_FILTER_NAMES:
        raise ValueError(f"{where}: {key!r} has {len(names)} names, at most {MAX_FILTER_NAMES}")
    for name in names:
        if not isinstance(name, str) or not name or len(name) > MAX_FILTER_NAME_LEN:
            raise ValueError(
                f"{where}: {key!r} item {quoted(name)} must be a name of 1 to "
                f"{MAX_FILTER_NAME_LEN} characters"
            )
        if has_control_chars(name):
            raise ValueError(f"{where}: {key!r} item {quoted(name)} contains control characters")
    return {key: sorted(set(names))}


def keep_devices(collector: str, names: Iterable[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the series ``<collector>.<key>.*`` of the named devices; no names keeps all.

    Names may be real device names or the keys seen in series names: both sanitize alike.
    """
    wanted = {sanitize(name) for name in names}
    if not wanted:
        return dict(values)
    prefix = f"{collector}."
    return {
        series: value
        for series, value in values.items()
        if series.startswith(prefix) and series[len(prefix) :].split(".", 1)[0] in wanted
    }

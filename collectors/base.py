"""The collector contract: what every collector, built-in or plugin, implements.

A collector declares its series, validates its options once in ``setup()``, and returns one
reading per ``collect()`` call. The dashboard runs ``collect()`` in a native worker thread
with a timeout, so a collector may block (read files, call psutil, talk to a socket).
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from collectors.messages import did_you_mean, type_name

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SERIES_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$")
# The most series one collector may declare or send in one sample (and a client ask for).
MAX_SERIES = 2_000


@dataclass(frozen=True)
class Series:
    """One time series a collector produces: a dotted stable name, an explicit unit, a label."""

    name: str
    unit: str
    label: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "unit": self.unit, "label": self.label or self.name}


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One reading: values by series name, optional table rows, optional timestamp.

    ``ts`` defaults to the moment the dashboard received the reading. ``rows`` is for tabular
    collectors (such as processes): a list of flat dicts of JSON-able scalars.
    """

    values: Mapping[str, float | int | None] = field(default_factory=dict)
    rows: Sequence[Mapping[str, Any]] | None = None
    ts: float | None = None


class Collector(abc.ABC):
    """Base class for collectors. Subclasses set ``name`` and implement ``describe``/``collect``.

    Options: a subclass lists the options it accepts, with their defaults, in ``defaults``;
    the base ``setup()`` rejects unknown keys (with a did-you-mean) and values whose type
    differs from the default's, then stores the merged result in ``self.options``.
    Override ``setup()`` to check values further; raise ``ValueError`` for bad ones.
    """

    name: ClassVar[str] = ""
    interval: ClassVar[float] = 1.0
    defaults: ClassVar[Mapping[str, Any]] = {}
    # Off until its settings table says ``enabled = true`` (for collectors that need setting up).
    enabled_by_default: ClassVar[bool] = True

    def __init__(self) -> None:
        self.options: dict[str, Any] = dict(self.defaults)

    def setup(self, options: Mapping[str, Any]) -> None:
        """Validate this collector's settings table (without ``enabled``/``interval``)."""
        self.options = merge_options(self.defaults, options)

    @abc.abstractmethod
    def describe(self) -> list[Series]:
        """The series this collector produces now (may grow when a device appears)."""

    @abc.abstractmethod
    def collect(self) -> Mapping[str, float | int | None] | Sample:
        """Take one reading. Runs in a worker thread; may block, up to the collector's timeout."""

    def parse_filter(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        """Validate and normalize a client's filter request; raise ``ValueError`` if bad.

        A pure function of ``request`` that returns plain JSON (a dict). The dashboard calls
        it in a native thread with a short timeout (2 s); anything else it does is counted as
        the collector's fault. ``parse_filter({})`` is the filter of clients that send none.
        """
        raise ValueError(f"collector {self.name!r} takes no filter")

    def apply_filter(
        self, flt: Mapping[str, Any], values: Mapping[str, Any], rows: list[dict[str, Any]] | None
    ) -> tuple[Mapping[str, Any], list[dict[str, Any]] | None]:
        """Cut one sample down to what a client's normalized filter asks for.

        Called in the collector's worker thread, once per distinct filter per sample, with
        copies it may change; a failure costs that filter's clients the sample.
        """
        return values, rows


def merge_options(defaults: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``options``; unknown keys and mismatched types raise ValueError.

    The one check of option names and types, for every collector: the base ``setup()`` calls
    it, and a plugin that reads its options some other way can call it itself
    (``from collectors import merge_options``) so that a typo is never accepted and ignored.
    """
    merged = dict(defaults)
    for key, value in options.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "none besides enabled and interval"
            raise ValueError(
                f"unknown option {key!r}{did_you_mean(key, defaults)} (known: {known})"
            )
        expected = type(defaults[key])
        if not _type_matches(value, expected):
            raise ValueError(
                f"option {key!r} = {value!r}: expected {type_name(expected)}, "
                f"got {type_name(type(value))}"
            )
        merged[key] = float(value) if expected is float else value
    return merged


def _type_matches(value: Any, expected: type) -> bool:
    if isinstance(value, bool) or expected is bool:
        return isinstance(value, bool) and expected is bool
    if expected is float:
        return isinstance(value, (int, float))
    return isinstance(value, expected)

"""``/api/history`` export: the query string checked, and the answer as CSV.

JSON is the answer itself (``Answer.as_json``); CSV has one row per timestamp, a ``ts``
column (unix seconds), a ``time`` column (UTC, ISO 8601), then one column per series and,
from the rollup tier, ``<series>:min`` and ``<series>:max`` beside each average.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from dashboard.history.tiers import Answer
from dashboard.web.protocol import RequestError, pick_host, series_names

FORMATS = ("json", "csv")
PARAMETERS = ("format", "host", "seconds", "series")
DEFAULT_SECONDS = 300.0


@dataclass(frozen=True)
class ExportRequest:
    seconds: float
    series: tuple[str, ...] | None
    format: str
    host: str


def parse(
    args: Mapping[str, str],
    max_seconds: float,
    hosts: Mapping[str, Collection[str]],
    default_host: str | None,
) -> ExportRequest:
    """Validate ``host``, ``seconds``, ``series`` and ``format`` (``hosts``: each host's
    series of this collector); unknown parameters are errors too."""
    for key in args:
        if key not in PARAMETERS:
            raise RequestError(
                f"unknown parameter {key[:32]!r} (known: {', '.join(sorted(PARAMETERS))})"
            )
    host = pick_host(args.get("host"), hosts, default_host)
    known = hosts[host]
    text = args.get("seconds", f"{DEFAULT_SECONDS:g}")
    try:
        seconds = float(text)
    except ValueError:
        raise RequestError(f"seconds={text[:32]!r}: expected a number") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise RequestError(f"seconds={text[:32]!r}: expected a number above 0")
    series = None
    if "series" in args:
        try:
            series = series_names([s for s in args["series"].split(",") if s], known)
        except RequestError as exc:
            raise RequestError(f"{exc} (known: {', '.join(sorted(known)[:20])})") from None
    fmt = args.get("format", "json")
    if fmt not in FORMATS:
        raise RequestError(f"format={fmt[:32]!r}: expected one of {', '.join(FORMATS)}")
    return ExportRequest(min(seconds, max_seconds), series, fmt, host)


def csv_text(answer: Answer) -> str:
    names = sorted(answer.columns)
    header = ["ts", "time"]
    columns = []
    for name in names:
        header.append(name)
        columns.append(answer.columns[name])
        if answer.stats is not None and name in answer.stats:
            for stat in ("min", "max"):
                header.append(f"{name}:{stat}")
                columns.append(answer.stats[name][stat])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for i, ts in enumerate(answer.ts):
        when = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
        writer.writerow([f"{ts:.3f}", when, *(_cell(c[i]) for c in columns)])
    return out.getvalue()


def _cell(value: float) -> str:
    return "" if math.isnan(value) else repr(value)

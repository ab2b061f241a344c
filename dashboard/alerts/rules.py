"""Alert rules: read once, checked once, frozen.

Where rules come from, in order (a rule with the name of an earlier one replaces it, and
``enabled = false`` switches the earlier one off):
1. the shipped defaults (``defaults.py``);
2. ``[[alerts.rule]]`` tables in the settings file;
3. every ``*.toml`` file under ``[alerts] rules_path``, in name order. Such a file holds
   ``[[rule]]`` tables (``[[alerts.rule]]`` is accepted too) and nothing else.

Every problem is a ``SettingsError`` naming the file, the rule (``#index`` and name), the
key, the value and what was expected, with a did-you-mean for unknown keys and choices.
"""

from __future__ import annotations

import fnmatch
import math
import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collectors.messages import did_you_mean, kind, quoted
from dashboard.alerts.model import State
from dashboard.settings import RawRule, Settings, SettingsError, parse_duration

KINDS = ("threshold", "stale", "failing")
AGGREGATES = ("avg", "min", "max", "last")
SEVERITIES = ("warning", "critical")
PLACEHOLDERS = ("host", "series", "value", "unit", "threshold")
MIN_WINDOW, MAX_WINDOW = 1.0, 3600.0  # the memory window: nothing older is at hand live
MAX_FOR = 7 * 86_400.0
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
DEFAULT_SUMMARY = "{host}: {series} at {value}{unit} (threshold {threshold}{unit})"
STALE_SUMMARY = "{host}: nothing from {series} for {value} s"
FAILING_SUMMARY = "{host}: collector {series} failed {value} times in a row"

_COMMON = {"name", "kind", "host", "warn", "crit", "clear", "below", "for", "recover",
           "summary", "enabled"}  # fmt: skip
KEYS = {
    "threshold": _COMMON | {"series", "aggregate", "window", "per_core"},
    "stale": _COMMON - {"warn", "crit", "clear", "below"} | {"collector", "severity"},
    "failing": _COMMON | {"collector"},
}
ALL_KEYS = set().union(*KEYS.values())


@dataclass(frozen=True)
class Rule:
    """One checked rule. ``series`` is a glob over series names for threshold rules and over
    collector names for stale and failing rules (the ``collector`` key)."""

    name: str
    kind: str = "threshold"
    series: str = "*"
    host: str = "*"
    aggregate: str = "last"
    window: float = 60.0
    warn: float | None = None
    crit: float | None = None
    clear: float | None = None  # None: the mildest threshold given
    below: bool = False
    for_: float = 0.0
    recover: float = 0.0
    summary: str = DEFAULT_SUMMARY
    per_core: bool = False  # divide the value by the host's core count (load averages)
    enabled: bool = True
    source: str = "<defaults>"

    @property
    def first(self) -> float:
        """The mildest threshold: where an instance starts to be pending."""
        value = self.warn if self.warn is not None else self.crit
        assert value is not None  # checked at load
        return value

    @property
    def clear_at(self) -> float:
        return self.first if self.clear is None else self.clear

    def level(self, value: float) -> tuple[State, float] | None:
        """The severity ``value`` reaches, with the threshold it reached; None below both."""
        for state, threshold in ((State.CRITICAL, self.crit), (State.WARNING, self.warn)):
            if threshold is not None and self._past(value, threshold):
                return state, threshold
        return None

    def is_clear(self, value: float) -> bool:
        """Past ``clear`` on the safe side: a firing instance may start to recover."""
        return value > self.clear_at if self.below else value < self.clear_at

    def _past(self, value: float, threshold: float) -> bool:
        return value <= threshold if self.below else value >= threshold

    def matches(self, host: str, series: str) -> bool:
        return fnmatch.fnmatchcase(host, self.host) and fnmatch.fnmatchcase(series, self.series)

    def fill(self, host: str, series: str, value: float | None, unit: str, threshold: Any) -> str:
        shown = "-" if value is None else f"{value:.4g}"
        limit = "-" if threshold is None else f"{threshold:g}"
        return self.summary.format(
            host=host, series=series, value=shown, unit=unit, threshold=limit
        )

    def line(self) -> dict[str, Any]:
        """What the page draws: thresholds on the charts of matching series."""
        return {
            "name": self.name,
            "kind": self.kind,
            "series": self.series,
            "host": self.host,
            "warn": self.warn,
            "crit": self.crit,
            "clear": self.clear_at,
            "below": self.below,
            "per_core": self.per_core,
        }


def load_rules(settings: Settings, extra: Path | None = None) -> list[Rule]:
    """Every rule in force: defaults, then the settings file's, then ``rules_path``'s files
    (then ``extra``, a file of edited rules, as the backtest's ``--rules`` gives)."""
    from dashboard.alerts.defaults import DEFAULTS

    merged: dict[str, Rule] = {}
    _merge(merged, [check_rule(raw) for raw in DEFAULTS])
    _merge(merged, check_rules(settings.alerts.rules))
    files = sorted(settings.alerts.rules_path.glob("*.toml")) if settings.alerts.rules_path else []
    for path in [*files, *([extra] if extra is not None else [])]:
        _merge(merged, check_rules(read_rule_file(path)))
    return [rule for rule in merged.values() if rule.enabled]


def _merge(merged: dict[str, Rule], rules: list[Rule]) -> None:
    for rule in rules:
        merged.pop(rule.name, None)  # a replaced rule takes its new place in the order
        merged[rule.name] = rule


def read_rule_file(path: Path) -> list[RawRule]:
    """A rules file's ``[[rule]]`` (or ``[[alerts.rule]]``) tables, unchecked."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read rules file: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    alerts = raw.get("alerts", {})
    if not isinstance(alerts, Mapping):
        raise SettingsError(f"{path} alerts: expected a table, got {kind(alerts, 'toml')}")
    unknown = [k for k in raw if k not in ("rule", "alerts")]
    unknown += [f"alerts.{k}" for k in alerts if k != "rule"]
    if unknown:
        hint = did_you_mean(unknown[0].rsplit(".", 1)[-1], ["rule"])
        raise SettingsError(
            f"{path} {unknown[0]}: unknown key{hint}; a rules file holds only [[rule]] tables"
        )
    tables = [*_tables(path, raw.get("rule", [])), *_tables(path, alerts.get("rule", []))]
    return [RawRule(str(path), index, table) for index, table in enumerate(tables, 1)]


def _tables(path: Path, rules: Any) -> list[Mapping[str, Any]]:
    if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules):
        raise SettingsError(f"{path} rule: expected [[rule]] tables, got {kind(rules, 'toml')}")
    return rules


def check_rules(raws: Iterable[RawRule]) -> list[Rule]:
    """Check one file's rules; the same name twice in one file is an error."""
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for raw in raws:
        rule = check_rule(raw)
        if rule.name in seen:
            raise _Where(raw, rule.name).error(
                "name", rule.name, f"a name not used by rule #{seen[rule.name]} of the same file"
            )
        seen[rule.name] = raw.index
        rules.append(rule)
    return rules


class _Where:
    """One rule being checked: where it is, for every message."""

    def __init__(self, raw: RawRule, name: str | None) -> None:
        self.raw, self.name = raw, name

    def place(self, key: str) -> str:
        named = f" {self.name!r}" if self.name else ""
        return f"{self.raw.source} rule #{self.raw.index}{named}: {key}"

    def error(self, key: str, value: Any, expected: str) -> SettingsError:
        return SettingsError(f"{self.place(key)} = {quoted(value, 60)}: expected {expected}")

    def get(self, key: str, expected: type, default: Any) -> Any:
        table = self.raw.table
        if key not in table:
            return default
        value = table[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
            wanted = {bool: "true or false", float: "a number", str: "a string"}[expected]
            raise self.error(key, value, wanted)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, value, "a finite number")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value: str = self.get(key, str, default)
        if value not in choices:
            hint = did_you_mean(value, choices)
            raise self.error(key, value, "one of " + ", ".join(map(repr, choices)) + hint)
        return value

    def duration(self, key: str, default: float, low: float, high: float) -> float:
        if key not in self.raw.table:
            return default
        text = self.get(key, str, "")
        try:
            seconds = parse_duration(text)
        except ValueError:
            raise self.error(key, text, 'a duration such as "30s", "5m" or "1h"') from None
        if not low <= seconds <= high:
            raise self.error(key, text, f"a duration from {low:g} s to {high:g} s")
        return seconds


def check_rule(raw: RawRule) -> Rule:
    """One rule table, checked."""
    table = raw.table
    name = table.get("name")
    where = _Where(raw, name if isinstance(name, str) else None)
    if "name" not in table:
        raise SettingsError(f"{where.place('name')}: missing; every rule needs a name")
    name = where.get("name", str, "")
    if not NAME_RE.match(name):
        raise where.error("name", name, "letters, digits, '_', '.', ':' or '-' (at most 64)")
    rule_kind = where.choice("kind", KINDS, "threshold")
    for key in table:
        if key not in KEYS[rule_kind]:
            hint = did_you_mean(key, sorted(KEYS[rule_kind]))
            if key == "series" and rule_kind != "threshold":
                hint = f'; a {rule_kind} rule takes collector = "<glob>" instead'
            elif key in ALL_KEYS:
                hint += f" (it belongs to other kinds of rule, not {rule_kind!r})"
            raise SettingsError(
                f"{where.place(key)}: unknown key{hint} "
                f"(known: {', '.join(sorted(KEYS[rule_kind]))})"
            )
    if where.get("enabled", bool, True) is False:
        return Rule(name=name, enabled=False, source=raw.source)
    return _KINDS[rule_kind](where, name)


def _glob(where: _Where, key: str) -> str:
    value: str = where.get(key, str, "*")
    if not value or len(value) > 200:
        raise where.error(key, value, "a non-empty glob such as 'filesystem.*.used_percent'")
    return value


def _summary(where: _Where, default: str) -> str:
    text: str = where.get("summary", str, default)
    try:
        fields = [f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise where.error("summary", text, f"a template with {{placeholders}} ({exc})") from None
    for field in fields:
        if field not in PLACEHOLDERS:
            hint = did_you_mean(field, PLACEHOLDERS)
            raise where.error(
                "summary",
                text,
                f"only the placeholders {', '.join('{' + p + '}' for p in PLACEHOLDERS)}; "
                f"{{{field}}} is not one{hint}",
            )
    return text


def _thresholds(where: _Where, below: bool) -> tuple[float | None, float | None, float | None]:
    warn = where.get("warn", float, None)
    crit = where.get("crit", float, None)
    clear = where.get("clear", float, None)
    if warn is None and crit is None:
        raise SettingsError(f"{where.place('warn')}: missing; a rule needs warn, crit or both")
    if warn is not None and crit is not None and (warn >= crit if not below else warn <= crit):
        side = "above" if not below else "below"
        raise where.error("crit", crit, f"a number {side} warn ({warn:g})")
    mildest = warn if warn is not None else crit
    assert mildest is not None
    if clear is not None and (clear > mildest if not below else clear < mildest):
        side, which = ("at most", "below") if not below else ("at least", "above")
        raise where.error(
            "clear", clear, f"{side} the mildest threshold ({mildest:g}): it is where a firing "
            f"alert resolves, so {which} it"
        )  # fmt: skip
    return warn, crit, clear


def _threshold_rule(where: _Where, name: str) -> Rule:
    below = where.get("below", bool, False)
    warn, crit, clear = _thresholds(where, below)
    series = _glob(where, "series")
    if "series" not in where.raw.table:
        raise SettingsError(
            f"{where.place('series')}: missing; a threshold rule needs a series glob"
        )
    return Rule(
        name=name,
        series=series,
        host=_glob(where, "host"),
        aggregate=where.choice("aggregate", AGGREGATES, "last"),
        window=where.duration("window", 60.0, MIN_WINDOW, MAX_WINDOW),
        warn=warn,
        crit=crit,
        clear=clear,
        below=below,
        for_=where.duration("for", 0.0, 0.0, MAX_FOR),
        recover=where.duration("recover", 0.0, 0.0, MAX_FOR),
        summary=_summary(where, DEFAULT_SUMMARY),
        per_core=where.get("per_core", bool, False),
        source=where.raw.source,
    )


def _stale_rule(where: _Where, name: str) -> Rule:
    """Silent for ``for`` (default 1m): the value is the seconds since the last sample."""
    silent = where.duration("for", 60.0, 1.0, MAX_FOR)
    severity = where.choice("severity", SEVERITIES, "critical")
    warning = severity == "warning"
    return Rule(
        name=name,
        kind="stale",
        series=_glob(where, "collector"),
        host=_glob(where, "host"),
        warn=silent if warning else None,
        crit=None if warning else silent,
        clear=silent,
        recover=where.duration("recover", 0.0, 0.0, MAX_FOR),
        summary=_summary(where, STALE_SUMMARY),
        source=where.raw.source,
    )


def _failing_rule(where: _Where, name: str) -> Rule:
    """The value is the collector's failures in a row; warn defaults to 3, clear to 1 (so it
    resolves on the first good run)."""
    below = where.get("below", bool, False)
    if below:
        raise where.error("below", True, "false: a failing rule counts failures upwards")
    table = where.raw.table
    warn: float | None = 3.0
    crit: float | None = None
    clear: float | None = where.get("clear", float, 1.0)
    if clear is not None and "warn" not in table and "crit" not in table and clear > 3.0:
        raise where.error("clear", clear, "at most the mildest threshold (3)")
    if "warn" in table or "crit" in table:
        warn, crit, clear = _thresholds(where, False)
        clear = 1.0 if clear is None else clear
    return Rule(
        name=name,
        kind="failing",
        series=_glob(where, "collector"),
        host=_glob(where, "host"),
        warn=warn,
        crit=crit,
        clear=clear,
        for_=where.duration("for", 0.0, 0.0, MAX_FOR),
        recover=where.duration("recover", 0.0, 0.0, MAX_FOR),
        summary=_summary(where, FAILING_SUMMARY),
        source=where.raw.source,
    )


_KINDS = {"threshold": _threshold_rule, "stale": _stale_rule, "failing": _failing_rule}


def unmatched(rules: Iterable[Rule], series: Mapping[str, Iterable[str]]) -> list[str]:
    """``dashboard check``'s warnings: rules whose glob matches none of the series (or, for
    stale and failing rules, none of the collectors) the loaded collectors describe.
    ``series``: collector name -> its series names."""
    names = [name for names in series.values() for name in names]
    warnings = []
    for rule in rules:
        pool = list(series) if rule.kind != "threshold" else names
        if not any(fnmatch.fnmatchcase(item, rule.series) for item in pool):
            what = "series" if rule.kind == "threshold" else "collector"
            warnings.append(
                f"WARNING: {rule.source} rule {rule.name!r}: {what} glob {rule.series!r} matches "
                f"no {what} of the loaded collectors (another host's, or a typo?)"
            )
    return warnings

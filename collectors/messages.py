"""How error messages name what they are about: a value's kind, its repr cut short, and a
did-you-mean. One wording for the settings file, the collector contract and the protocol.

A kind is worded in the language of whoever made the value: ``"json"`` for what a client
sent (``null``, ``an object``), ``"toml"`` for the settings file and collector options
(``a table``), ``"python"`` for what collector code returned (``None``, ``a dict``,
``class Foo``).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from typing import Any, Literal

Dialect = Literal["json", "toml", "python"]

_SCALARS: dict[Dialect, dict[type, str]] = {
    "json": {bool: "a boolean", int: "a number", float: "a number", str: "a string"},
    "toml": {bool: "a boolean", int: "an integer", float: "a number", str: "a string"},
    "python": {bool: "a bool", int: "an int", float: "a float", str: "a str"},
}
_NONE = {"json": "null", "toml": "nothing", "python": "None"}
_MAPPING = {"json": "an object", "toml": "a table", "python": "a dict"}


def type_name(tp: type, dialect: Dialect = "toml") -> str:
    """``int`` -> ``an integer`` (toml), ``a number`` (json), ``an int`` (python)."""
    if tp is type(None):
        return _NONE[dialect]
    for base in (bool, int, float, str):  # bool before int: True is an int too
        if issubclass(tp, base):
            return _SCALARS[dialect][base]
    if issubclass(tp, Mapping):
        return _MAPPING[dialect]
    if issubclass(tp, (list, tuple)):
        return "a list"
    return f"a {tp.__name__}"


def kind(value: Any, dialect: Dialect = "python") -> str:
    """What sort of value this is, in words (see the module docstring)."""
    if dialect == "python":
        if inspect.ismodule(value):
            return f"module {value.__name__}"
        if isinstance(value, type):
            return f"class {value.__name__}"
        if inspect.isroutine(value):
            return f"{type(value).__name__} {getattr(value, '__name__', '?')}"
    return type_name(type(value), dialect)


def quoted(value: Any, limit: int = 48) -> str:
    """``repr(value)``, cut so that a 10 KB name never echoes back whole."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 8]}... ({len(text)} chars)"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'port'?"`` when a choice is close to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""

"""Shared fixtures: a real server process factory and a Flask app per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.clock import Clock
from tests.serverproc import ServerProcess, make_server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Build real server processes; every one started is stopped (by PID) afterwards."""
    made: list[ServerProcess] = []

    def factory(
        settings: str = "", async_mode: str = "threading", start: bool = True, **kwargs
    ) -> ServerProcess:
        server = make_server(
            tmp_path, settings, async_mode, name=kwargs.pop("name", f"server{len(made)}"), **kwargs
        )
        made.append(server)
        return server.start() if start else server

    yield factory
    for server in made:
        try:
            server.stop()
        except Exception:
            if server.proc is not None:
                server.proc.kill()

"""The application factory: a Flask app with its Socket.IO server and runtime bound to it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask
from flask_socketio import SocketIO
from socketio import server as socketio_server

from collectors.base import Collector
from collectors.builtin import BUILTIN
from collectors.probe import Probe
from dashboard.limits.guard import Limits
from dashboard.pipeline.registry import load_registry
from dashboard.runtime import Runtime
from dashboard.settings import Settings, parse_settings
from dashboard.web import alerts, assets, routes, wirejson
from dashboard.web.auth import Auth
from dashboard.web.namespaces import CollectorNamespace, FleetNamespace, ProcessesNamespace
from dashboard.web.origins import HostGuard, allowed_hosts, allowed_origins
from dashboard.web.proxies import ClientAddress
from dashboard.workers import NativeWorkers

PING_INTERVAL = 10
PING_TIMEOUT = 10


def create_app(
    settings: Settings | Mapping[str, Any] | None = None,
    *,
    probe: Probe | None = None,
    clock: Callable[[], float] | None = None,
    collectors: Iterable[type[Collector]] = BUILTIN,
) -> Flask:
    """Build the app. ``settings`` may be a Settings, a raw mapping (as in TOML), or None.

    ``probe`` replaces the machine for built-in collectors; ``collectors`` the set of
    collector classes (tests pass their own).

    The scheduler is not started here: ``app.extensions["dashboard"].start()`` does that
    (the ``run`` command does; tests usually tick runners by hand instead).
    """
    if not isinstance(settings, Settings):
        settings = parse_settings(settings or {})
    app = Flask(
        __name__,
        template_folder=str(assets.folder("templates")),
        static_folder=str(assets.folder("static")),
        static_url_path="/static",
    )
    server = settings.server
    limits = Limits(server)
    socketio = SocketIO(
        app,
        async_mode=server.async_mode,
        cors_allowed_origins=allowed_origins(server),
        max_http_buffer_size=server.max_message_bytes,
        ping_interval=PING_INTERVAL,
        ping_timeout=PING_TIMEOUT,
        json=wirejson,
        client_manager=limits.manager(),
        # What a client sends, read defensively (python-socketio's option; the stubs lack it).
        serializer=wirejson.Packet,  # type: ignore[call-arg]
        logger=False,
        engineio_logger=False,
    )
    limits.attach(sio_server(socketio))
    app.extensions["dashboard.limits"] = limits
    call = NativeWorkers(server.async_mode).call
    registry = load_registry(settings, call, probe, collectors)
    Auth(settings.auth.token, secure_cookie=server.tls).init_app(app)
    # Under scale-out a web process collects nothing itself: agents send every host's samples.
    app.extensions["dashboard"] = Runtime(
        settings,
        sio_server(socketio),
        registry,
        clock=clock or time.time,
        collect=not settings.queue.enabled,
    )
    app.register_blueprint(routes.bp)
    app.register_blueprint(alerts.bp)
    for name in app.extensions["dashboard"].runners:
        add_namespace(app, name)
    runtime, guard = app.extensions["dashboard"], app.extensions["dashboard.auth"]
    socketio.on_namespace(FleetNamespace(runtime, guard, limits))
    socketio.on_namespace(alerts.AlertsNamespace(runtime, guard, limits))
    alerts.wire(runtime)
    # WSGI middleware the way Flask documents it; mypy reads wsgi_app as a method.
    gate = limits.gate(app.wsgi_app, "socket.io")
    guarded = HostGuard(gate, allowed_hosts(server))
    app.wsgi_app = ClientAddress(guarded, server.trusted_proxies)  # type: ignore[method-assign]
    return app


def add_namespace(app: Flask, name: str) -> None:
    """Serve ``/<name>`` (at start, or when a reload starts a collector new to this run)."""
    socketio: SocketIO = app.extensions["socketio"]
    if "/" + name not in sio_server(socketio).namespace_handlers:
        runtime, auth = app.extensions["dashboard"], app.extensions["dashboard.auth"]
        limits = app.extensions["dashboard.limits"]
        kind = ProcessesNamespace if name == "processes" else CollectorNamespace
        socketio.on_namespace(kind(runtime, auth, limits, name))


def sio_server(socketio: SocketIO) -> socketio_server.Server:
    """The python-socketio server behind Flask-SocketIO (its type stubs do not declare it)."""
    server: socketio_server.Server = vars(socketio)["server"]
    return server

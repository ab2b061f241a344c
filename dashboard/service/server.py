"""Serving: start the runtime, listen, and shut down cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import resource
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from dashboard import exits, health, looplag
from dashboard.service import gc_tuning, logs, reload
from dashboard.service.sdnotify import Notifier, wait_listening, watch
from dashboard.service.shutdown import Shutdown
from dashboard.settings import ServerSettings, Settings, SettingsError
from dashboard.web import assets

log = logging.getLogger("dashboard")


def serve(settings: Settings, load: Callable[[], Settings] | None = None) -> int:
    """Run until a signal; 0 on a clean stop, 78 on a configuration problem.

    ``load`` reads the settings again, as the command line did, on SIGHUP.
    """
    logs.configure(settings.server.log_level)
    try:
        assets.check()
        from dashboard.web.app import create_app

        app = create_app(settings)
        _outbox(app.extensions["dashboard"], app.extensions["socketio"], settings)
        _check_port(settings)
    except exits.KNOWN as exc:
        return exits.report(exc)
    return _serve(app, settings, load)


def _serve(app: Any, settings: Settings, load: Callable[[], Settings] | None) -> int:
    runtime = app.extensions["dashboard"]
    socketio = app.extensions["socketio"]
    server = settings.server
    _raise_open_files_limit()
    if server.async_mode == "eventlet":
        from dashboard.service import websocket_guard

        websocket_guard.install()
    notifier = Notifier()
    shutdown = Shutdown(socketio, runtime, server.async_mode, notifier)
    shutdown.install()
    if load is not None:
        from dashboard.web.app import add_namespace

        reload.install(
            server.async_mode,
            reload.Reloader(runtime, load, lambda name: add_namespace(app, name)),
        )
    fleet = _alert_fleet(runtime, socketio, settings)  # before the first evaluation
    runtime.start()
    _heartbeat(runtime, socketio, settings)
    app.extensions["dashboard.limits"].start(socketio.sleep, lambda: not shutdown.requested)
    socketio.start_background_task(
        looplag.watch, runtime.loop_lag, socketio.sleep, lambda: not shutdown.requested
    )
    if settings.queue.enabled:
        _consume(app, socketio, runtime, settings)
    if fleet is not None:
        socketio.start_background_task(fleet.run)
    socketio.start_background_task(_push_fleet, socketio, runtime, lambda: not shutdown.requested)
    _notify_systemd(socketio, runtime, notifier, server.host, server.port)
    gc_tuning.settle()  # the worst fan-out latency spikes were collections (gc_tuning.py)
    host = f"[{server.host}]" if ":" in server.host else server.host
    if not server.tls and not server.is_loopback:
        log.warning(
            "serving plain http on %s: the token and session cookie cross the network "
            "unencrypted; set [server] tls_cert and tls_key, or put a TLS proxy in front",
            host,
        )
    log.info(
        "serving %s://%s:%d/ (%s, %d collectors)",
        server.scheme,
        host,
        server.port,
        server.async_mode,
        len(runtime.runners),
    )
    try:
        socketio.run(
            app,
            host=server.host,
            port=server.port,
            log_output=False,
            use_reloader=False,
            allow_unsafe_werkzeug=True,
            **_server_options(server.async_mode),
            **_tls_options(server),
        )
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        shutdown.finish()
        if fleet is not None:
            fleet.stop()
            fleet.release()
        log.info("stopped")
    return 0


def _outbox(runtime: Any, socketio: Any, settings: Settings) -> None:
    """The notifier the alert engine hands its notices to: every delivery a background task
    of the loop (network I/O only, each with its own timeout)."""
    if runtime.alerts is None:
        return
    from dashboard.alerts import notify

    try:
        runtime.outbox = notify.build(settings.alerts, socketio.start_background_task, time.time)
    except ValueError as exc:  # Apprise refused a URL: a configuration problem
        raise SettingsError(f"{settings.source} {exc}") from None


def _heartbeat(runtime: Any, socketio: Any, settings: Settings) -> None:
    """Fetch ``[alerts] heartbeat_url`` while alert evaluation is healthy, so an outside
    watcher notices when the dashboard itself stops."""
    alerts = settings.alerts
    if runtime.alerts is None or not alerts.heartbeat_url:
        return
    from dashboard.alerts.notify.heartbeat import Heartbeat

    engine = runtime.alerts
    runtime.heartbeat = Heartbeat(
        alerts.heartbeat_url,
        alerts.heartbeat_interval,
        engine.healthy,
        socketio.start_background_task,
        socketio.sleep,
    )
    runtime.heartbeat.start()


def _push_fleet(socketio: Any, runtime: Any, running: Callable[[], bool]) -> None:
    """Each second, every host's summary to the ``/fleet`` clients (none: nothing is built)."""
    from dashboard.fleet import summary

    while running():
        socketio.sleep(summary.EVERY)
        if runtime.hub.fleet_followers():
            runtime.hub.publish_fleet(summary.summaries(runtime), runtime.clock())


def _consume(app: Any, socketio: Any, runtime: Any, settings: Settings) -> None:
    """Read every host's samples from Redis, on the event loop (``fleet.consumer``)."""
    from dashboard.fleet.consumer import Consumer
    from dashboard.web.app import add_namespace

    consumer = Consumer(
        settings.queue, runtime, runtime.stand_in, lambda name: add_namespace(app, name),
        socketio.sleep,
    )  # fmt: skip
    runtime.queue = consumer
    socketio.start_background_task(consumer.run)


def _alert_fleet(runtime: Any, socketio: Any, settings: Settings) -> Any:
    """Under scale-out, alerting across the web processes (``fleet.alerting``): only the
    holder of a lease in Redis notifies, and silences and acks made in any reach all."""
    if runtime.alerts is None or not settings.queue.enabled:
        return None
    from dashboard.fleet.alerting import AlertFleet

    fleet = AlertFleet(settings.queue, runtime, socketio.sleep)
    if runtime.outbox is not None:
        runtime.outbox = fleet.outbox(runtime.outbox)
    return fleet


def _notify_systemd(socketio: Any, runtime: Any, notifier: Notifier, host: str, port: int) -> None:
    """READY=1 once the socket accepts connections (history is open by then), then the
    watchdog and status loop — both on the event loop."""
    if not notifier.enabled:
        return

    def ready() -> None:
        if wait_listening(host, port, socketio.sleep, timeout=60):

            def status() -> str:
                return health.status_line(runtime)

            notifier.send(READY=1, STATUS=status(), MAINPID=os.getpid())
            watch(notifier, lambda: health.alive(runtime), status, socketio.sleep)

    socketio.start_background_task(ready)


# eventlet's WSGI server serves at most 1,024 connections by default; past that, new
# clients *and* plain HTTP (/healthz, the page) hang. Fan-out is measured to ~1,000 clients
# per process at p99 <= 100 ms (docs/benchmarks.md), so allow well beyond it.
EVENTLET_MAX_CONNECTIONS = 10_000


def _server_options(async_mode: str) -> dict[str, Any]:
    if async_mode == "eventlet":
        from dashboard.service.slowhttp import HeaderDeadline

        return {"max_size": EVENTLET_MAX_CONNECTIONS, "protocol": HeaderDeadline}
    if async_mode != "gevent":
        return {}
    http_log = logging.getLogger("dashboard.http")
    http_log.addFilter(_closed_websocket_noise)
    return {"error_log": http_log}


def _tls_options(server: ServerSettings) -> dict[str, Any]:
    """HTTPS and WSS from the server itself, each async mode its own way (Flask-SocketIO
    passes these on). Settings already loaded the pair once, so a bad file never gets here.

    eventlet wraps the listening socket; each accepted one shakes hands lazily, in its own
    green thread. gevent takes the context and wraps each connection in its own greenlet.
    Werkzeug (threading) would shake hands inside ``accept()``, where a client that never
    finishes its handshake would hold up every other: its context defers that to the first
    read, in the connection's own thread.
    """
    if server.tls_cert is None or server.tls_key is None:
        return {}
    cert, key = str(server.tls_cert), str(server.tls_key)
    if server.async_mode == "eventlet":
        return {"certfile": cert, "keyfile": key, "ssl_version": ssl.PROTOCOL_TLS_SERVER}
    context_class = _HandshakeOnFirstRead if server.async_mode == "threading" else ssl.SSLContext
    context = context_class(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return {"ssl_context": context}


class _HandshakeOnFirstRead(ssl.SSLContext):
    """A context whose sockets shake hands on their first read, not in ``accept()``."""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["do_handshake_on_connect"] = False
        return super().wrap_socket(sock, *args, **kwargs)


def _raise_open_files_limit() -> None:
    """Every client is a socket: allow as many as the hard limit permits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _closed_websocket_noise(record: logging.LogRecord) -> bool:
    """gevent's pywsgi reads the frames a client sends after its websocket closed as a new
    HTTP request and logs "Invalid HTTP method" (harmless; flask-sock issue #104). Drop it."""
    return "Invalid HTTP method" not in record.getMessage()


def _check_port(settings: Settings) -> None:
    """Fail early, naming the port, rather than deep inside the server's start."""
    host, port = settings.server.host, settings.server.port
    problem = _port_problem(host, port, settings.server.reuse_port)
    if problem:
        raise SettingsError(f"{settings.source} [server] port = {port}: {problem}")


def _port_problem(host: str, port: int, reuse_port: bool = False) -> str | None:
    """Why ``host:port`` cannot be listened on, or None. With ``reuse_port`` the port may be
    shared with other web processes that set it too (eventlet listens with SO_REUSEPORT, so
    the kernel spreads new connections over them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use; stop the other process "
                    "or choose another port with --port"
                )
            return f"cannot bind {host}:{port}: {exc.strerror}"
    return None

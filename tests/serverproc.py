"""Start and stop real processes for tests — a dashboard server or agent, and redis-server —
on loopback and free ports, each stopped by its PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.waits import wait_until

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """One `python -m dashboard run` child; stop() ends exactly this PID."""

    config: Path
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)  # extra `dashboard run` flags
    proc: subprocess.Popen | None = None
    command: str = "run"  # or "agent": no web page, ready once it has started
    root: Path = ROOT  # the checkout it runs from (a benchmark's baseline is another one)

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("the server has not been started")
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> ServerProcess:
        cmd = [sys.executable, "-m", "dashboard", self.command, "--config", str(self.config)]
        if self.command == "run":
            cmd += ["--port", str(self.port)]
        cmd += self.args
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=log, stderr=log)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30.0) -> dict:
        if self.command == "agent":
            return self._wait_started(timeout)

        def health() -> dict:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.output()}")
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                return json.load(resp)

        try:
            return wait_until(health, "the server answering /healthz", timeout, 0.1)
        except AssertionError as exc:
            raise RuntimeError(f"{exc}:\n{self.output()}") from None

    def _wait_started(self, timeout: float) -> dict:
        def started() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"agent exited {self.proc.returncode}:\n{self.output()}")
            return "INFO dashboard: agent for host" in self.output()

        wait_until(started, "the agent started", timeout, 0.1)
        return {}

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=5) as resp:
            return json.load(resp)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextlib.contextmanager
def serving(server: ServerProcess) -> Iterator[ServerProcess]:
    """``server`` started for the ``with`` block (a module's fixture), stopped by its PID
    after it; the log must then hold no traceback."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.output(), server.output()[-6000:]


def stop_all(servers: Sequence[ServerProcess]) -> None:
    """Stop every server a test started (by PID), killing one that will not stop."""
    for server in servers:
        try:
            server.stop()
        except Exception:
            if server.proc is not None:
                server.proc.kill()


def make_server(
    tmp_path: Path,
    settings: str = "",
    async_mode: str = "threading",
    port: int | None = None,
    name: str = "server",
) -> ServerProcess:
    """A server (not started) with the given settings.toml body and async mode."""
    config = tmp_path / f"{name}.toml"
    body = (
        settings
        if "async_mode" in settings
        else (f'[server]\nasync_mode = "{async_mode}"\n' + settings)
    )
    if "[history]" not in body:
        body += f'\n[history]\npath = "{name}.sqlite3"\n'  # one file per server, in tmp_path
    config.write_text(body)
    return ServerProcess(config=config, port=port or free_port(), log=tmp_path / f"{name}.log")


@dataclass
class RedisProcess:
    """A redis-server of the test's own, on a free port, nothing saved to disk; ``password``
    sets ``requirepass`` (the default user's password)."""

    folder: Path
    port: int = field(default_factory=free_port)
    password: str | None = None
    tls: bool = False  # TLS only (no plain port), with a certificate for 127.0.0.1
    proc: subprocess.Popen | None = None
    _client: Any = None

    @property
    def ca_file(self) -> Path:
        """The CA that signed a TLS server's certificate (clients must be told to trust it)."""
        return self.folder / "ca.pem"

    @property
    def url(self) -> str:
        secret = f":{self.password}@" if self.password else ""
        if self.tls:
            return f"rediss://{secret}127.0.0.1:{self.port}/0?ssl_ca_certs={self.ca_file}"
        return f"redis://{secret}127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        """A client for the test itself (one, closed when the server stops)."""
        import redis

        if self._client is None:
            tls: dict[str, Any] = (
                {"ssl": True, "ssl_ca_certs": str(self.ca_file)} if self.tls else {}
            )
            self._client = redis.Redis(
                host="127.0.0.1", port=self.port, password=self.password, **tls
            )
        return self._client

    def _tls_args(self) -> list[str]:
        """A throwaway CA (trustme) and a server certificate for 127.0.0.1, made once."""
        cert, key = self.folder / "server.pem", self.folder / "server.key"
        if not self.ca_file.exists():
            import trustme

            ca = trustme.CA()
            ca.cert_pem.write_to_path(str(self.ca_file))
            issued = ca.issue_cert("127.0.0.1")
            issued.cert_chain_pems[0].write_to_path(str(cert))
            issued.private_key_pem.write_to_path(str(key))
        return ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(cert),
                "--tls-key-file", str(key), "--tls-ca-cert-file", str(self.ca_file),
                "--tls-auth-clients", "no"]  # fmt: skip

    def start(self) -> RedisProcess:
        cmd = ["redis-server", "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(self.folder)]  # fmt: skip
        cmd += self._tls_args() if self.tls else ["--port", str(self.port)]
        if self.password:
            cmd += ["--requirepass", self.password]
        log = (self.folder / f"redis-{self.port}.log").open("ab")
        with log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        wait_until(self._answers, "redis-server answering PING", 10, 0.05)
        return self

    def _answers(self) -> bool:
        import redis

        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)


@dataclass
class NginxProcess:
    """Debian's nginx, of the test's own: ``http_conf`` (upstream and server blocks, as a user
    writes them) inside an nginx.conf whose every path is in ``folder``; ``port`` is where
    the test points its ``listen``."""

    folder: Path
    http_conf: str
    port: int
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NginxProcess:
        paths = "\n".join(
            f"    {kind}_temp_path {self.folder / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = self.folder / "nginx.conf"
        conf.write_text(
            f"daemon off;\nworker_processes 1;\npid {self.folder / 'nginx.pid'};\n"
            f"error_log {self.folder / 'error.log'} info;\n"
            "events { worker_connections 512; }\n"
            f"http {{\n    access_log {self.folder / 'access.log'};\n{paths}\n"
            f"{self.http_conf}\n}}\n"
        )
        # -e: the error log before the config is read (Debian's default is /var/log/nginx).
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed")
        cmd = [binary, "-p", str(self.folder), "-c", str(conf),
               "-e", str(self.folder / "error.log")]  # fmt: skip
        with (self.folder / "nginx.out").open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=out)
        wait_until(self._listening, "nginx listening", 10, 0.05)
        return self

    def _listening(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"nginx exited {self.proc.returncode}:\n{self.log()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def log(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in (self.folder / "nginx.out", self.folder / "error.log")
            if path.exists()
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish, then exit
            self.proc.wait(10)


def nginx_binary() -> str | None:
    import shutil

    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")

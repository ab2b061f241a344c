"""A real server speaking HTTPS and WSS with a throwaway CA (trustme), and Socket.IO clients
that trust that CA: for tests/test_tls.py and tests/test_exposure.py."""

from __future__ import annotations

import json
import ssl
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import requests
import socketio

from tests.serverproc import ServerProcess, make_server
from tests.waits import wait_until


@dataclass(frozen=True)
class Certificates:
    """A CA and a certificate it signed for ``names``, as PEM files in one folder."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def make(cls, folder: Path, *names: str) -> Certificates:
        import trustme

        folder.mkdir(parents=True, exist_ok=True)
        authority = trustme.CA()
        issued = authority.issue_cert(*(names or ("127.0.0.1", "localhost")))
        made = cls(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
        authority.cert_pem.write_to_path(str(made.ca))
        issued.cert_chain_pems[0].write_to_path(str(made.cert))
        issued.private_key_pem.write_to_path(str(made.key))
        return made

    def context(self) -> ssl.SSLContext:
        """A client context that trusts this CA only."""
        return ssl.create_default_context(cafile=str(self.ca))

    def settings(self) -> str:
        return f'tls_cert = "{self.cert}"\ntls_key = "{self.key}"\n'


@dataclass
class TLSServer(ServerProcess):
    """A ServerProcess reached over https, trusting ``certs.ca``."""

    certs: Certificates | None = None
    address: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"https://{self.address}:{self.port}"

    def get_json(self, path: str) -> dict:
        context = self.certs.context() if self.certs else None
        with urllib.request.urlopen(self.url + path, timeout=5, context=context) as resp:
            return json.load(resp)

    def wait_ready(self, timeout: float = 30.0) -> dict:
        def health() -> dict:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.output()}")
            return self.get_json("/healthz")

        try:
            return wait_until(health, "the server answering /healthz over https", timeout, 0.1)
        except AssertionError as exc:
            raise RuntimeError(f"{exc}:\n{self.output()}") from None


def make_tls_server(
    tmp_path: Path, certs: Certificates, settings: str, async_mode: str, name: str
) -> TLSServer:
    """A TLS server (not started): ``settings`` go after ``[server]``'s TLS keys."""
    body = f'[server]\nasync_mode = "{async_mode}"\n{certs.settings()}{settings}'
    plain = make_server(tmp_path, body, async_mode, name=name)
    return TLSServer(config=plain.config, port=plain.port, log=plain.log, certs=certs)


TRANSPORT_FAILURE = "Unexpected connection error"  # python-engineio: the websocket did not open


def wss_client(
    url: str, certs: Certificates, namespaces: list[str], **options: object
) -> socketio.Client:
    """A connected Socket.IO client over wss:// that trusts ``certs.ca`` (no reconnection)."""
    options.setdefault("wait_timeout", 10)
    wait = float(options["wait_timeout"])  # type: ignore[arg-type]
    for attempt in range(3):
        session = requests.Session()
        session.verify = str(certs.ca)
        client = socketio.Client(reconnection=False, http_session=session)
        began = time.monotonic()
        try:
            client.connect(url, namespaces=namespaces, transports=["websocket"], **options)
            return client
        except socketio.exceptions.ConnectionError as exc:
            # A websocket that did not open at all, or opened and then said nothing for the
            # whole wait (about one connect in a few hundred on a loaded machine, TLS under
            # eventlet), is tried again; a refusal is an answer, and comes at once.
            silent = time.monotonic() - began >= wait * 0.9
            if (str(exc) != TRANSPORT_FAILURE and not silent) or attempt == 2:
                raise
            close(client)
            print(f"{url}: {exc}; trying again", file=sys.stderr)
    raise AssertionError("unreachable")


def close(client: socketio.Client) -> None:
    """Disconnect, and close a websocket the server closed (python-engineio leaves it open)."""
    client.disconnect()
    ws = getattr(client.eio, "ws", None)
    if ws is not None:
        ws.shutdown()
    http = getattr(client.eio, "http", None)
    if http is not None:
        http.close()

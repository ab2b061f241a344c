"""Load generator for bench/fanout.py: worker processes, each ONE asyncio loop of lean clients.

A client is a raw aiohttp websocket speaking Engine.IO v4 / Socket.IO v5 text framing itself
(python-socketio's AsyncClient costs several times more CPU per client, and on a 2-core
machine the load generator's CPU is taken straight from the server under test):

    server "0{...}"                       open
    client "40/cpu,"                      connect the namespace   -> server "40/cpu,{sid}"
    client '42/cpu,1["subscribe",{}]'     subscribe with an ack   -> server '43/cpu,1[{...}]'
    server "2" -> client "3"              Engine.IO ping / pong
    server '42/cpu,["sample",{...}]'      one sample; we parse it for ts and seq

The parent drives each worker over a Pipe: the worker connects its clients and says "ready";
("measure", t0, t1, grace) makes it record every sample with t0 <= ts < t1 that arrives
before t1 + grace and send the records back; ("close",) closes every client and ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import resource
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

try:  # orjson parses a sample ~3x faster: less load-generator CPU per client
    from orjson import loads
except ImportError:  # pragma: no cover
    from json import loads

LAG_TICK = 0.05  # seconds between event-loop lag probes


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker process does: ``clients`` clients on ``namespace`` of ``url``."""

    url: str
    namespace: str
    clients: int
    batch: int = 50
    connect_timeout: float = 15.0


@dataclass
class Recorder:
    """Samples received inside the measuring window, as flat arrays (cheap to pickle)."""

    t0: float = float("inf")
    t1: float = float("-inf")
    client: array = field(default_factory=lambda: array("i"))
    seq: array = field(default_factory=lambda: array("q"))
    delay: array = field(default_factory=lambda: array("d"))
    lags: array = field(default_factory=lambda: array("d"))

    def add(self, idx: int, received: float, sample: dict[str, Any]) -> None:
        ts = sample["ts"]
        if self.t0 <= ts < self.t1:
            self.client.append(idx)
            self.seq.append(sample["seq"])
            self.delay.append(received - ts)

    def measuring(self) -> bool:
        return self.t0 <= time.time() < self.t1


class ProtocolError(Exception):
    """The server answered something other than the handshake we expect."""


class Client:
    """One lean Socket.IO client subscribed to one namespace."""

    def __init__(self, idx: int, spec: WorkerSpec, recorder: Recorder) -> None:
        self.idx, self.spec, self.recorder = idx, spec, recorder
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.closing = False
        self.dropped = False
        self.prefix = f"42{spec.namespace},"

    async def connect(self, session: aiohttp.ClientSession) -> None:
        ns = self.spec.namespace
        url = self.spec.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        # compress=0: no permessage-deflate, like python-socketio's own client.
        self.ws = await session.ws_connect(url, compress=0, autoping=True)
        await self._expect("0")
        await self.ws.send_str(f"40{ns},")
        await self._expect(f"40{ns},")
        await self.ws.send_str(f'42{ns},1["subscribe",{{}}]')
        ack = loads((await self._expect(f"43{ns},1"))[len(f"43{ns},1") :])
        if not ack or not ack[0].get("ok"):
            raise ProtocolError(f"subscribe refused: {ack!r}"[:200])

    async def _expect(self, prefix: str) -> str:
        """The next text message starting with ``prefix``, answering pings on the way."""
        assert self.ws is not None
        while True:
            msg = await self.ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ProtocolError(f"websocket {msg.type.name} while waiting for {prefix!r}")
            if msg.data == "2":
                await self.ws.send_str("3")
            elif msg.data.startswith(prefix):
                return msg.data
            elif msg.data.startswith("44"):
                raise ProtocolError(f"namespace refused: {msg.data[:200]}")

    async def listen(self) -> None:
        """Read until closed: the hot path, so only a prefix test and one parse per sample."""
        assert self.ws is not None
        prefix, cut, record = self.prefix, len(self.prefix), self.recorder.add
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = msg.data
            if data.startswith(prefix):
                received = time.time()  # before parsing: the parse is the client's own cost
                event, body = loads(data[cut:])[:2]
                if event == "sample":
                    record(self.idx, received, body)
            elif data == "2":
                await self.ws.send_str("3")
        self.dropped = not self.closing

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()


class Worker:
    """One process's clients, connected in batches, driven by the parent over a Pipe."""

    def __init__(self, conn: Connection, spec: WorkerSpec) -> None:
        self.conn, self.spec = conn, spec
        self.recorder = Recorder()
        self.clients: list[Client] = []
        self.tasks: set[asyncio.Task] = set()
        self.errors: Counter[str] = Counter()

    async def run(self) -> None:
        # limit=0: every websocket holds its connection for good; the default pool caps at 100.
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None, connect=self.spec.connect_timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            lag = asyncio.create_task(self._probe_lag())
            started = time.monotonic()
            connected = await self._connect_all(session)
            # Our own long-lived objects out of GC passes, so the loop's pauses stay short.
            gc.collect()
            gc.freeze()
            self.conn.send(("ready", {"connected": connected, "errors": dict(self.errors),
                                      "connect_s": time.monotonic() - started}))  # fmt: skip
            try:
                await self._serve_commands()
            finally:
                lag.cancel()
                await self._close_all()

    async def _connect_all(self, session: aiohttp.ClientSession) -> int:
        """Connect in batches so the connect storm does not dominate what we measure."""
        connected = 0
        for start in range(0, self.spec.clients, self.spec.batch):
            end = min(start + self.spec.batch, self.spec.clients)
            batch = [Client(i, self.spec, self.recorder) for i in range(start, end)]
            results = await asyncio.gather(*(self._connect(c, session) for c in batch))
            connected += sum(results)
            if not all(results):
                break  # the server refuses more (or hangs): the step has failed, stop here
        return connected

    async def _connect(self, client: Client, session: aiohttp.ClientSession) -> bool:
        try:
            await asyncio.wait_for(client.connect(session), self.spec.connect_timeout)
        except (TimeoutError, aiohttp.ClientError, ProtocolError, OSError, ValueError) as exc:
            self.errors[type(exc).__name__ + (f": {exc}"[:120] if str(exc) else "")] += 1
            with contextlib.suppress(Exception):
                await client.close()
            return False
        self.clients.append(client)
        task = asyncio.create_task(client.listen())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    async def _serve_commands(self) -> None:
        while True:
            # A blocking recv in a thread keeps the loop free for the clients.
            command = await asyncio.to_thread(self.conn.recv)
            if command[0] == "measure":
                await self._measure(*command[1:])
            elif command[0] == "close":
                return

    async def _measure(self, t0: float, t1: float, grace: float) -> None:
        self.recorder.t0, self.recorder.t1 = t0, t1
        await asyncio.sleep(max(0.0, t1 + grace - time.time()))
        rec = self.recorder
        self.conn.send(("result", {
            "client": rec.client.tobytes(), "seq": rec.seq.tobytes(),
            "delay": rec.delay.tobytes(), "lags": rec.lags.tobytes(),
            "clients": len(self.clients), "dropped": sum(c.dropped for c in self.clients),
        }))  # fmt: skip

    async def _probe_lag(self) -> None:
        """How late the loop wakes up: if this grows, the load generator is the bottleneck."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_TICK)
            if self.recorder.measuring():
                self.recorder.lags.append(loop.time() - before - LAG_TICK)

    async def _close_all(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True), 10
            )
        for task in list(self.tasks):
            task.cancel()


def raise_nofile_limit() -> None:
    """Each client is one socket: lift the soft open-files limit to the hard one."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """Entry point of a worker process (spawn context)."""
    raise_nofile_limit()
    try:
        asyncio.run(Worker(conn, spec).run())
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the parent went away or stopped us: nothing left to report to
    finally:
        conn.close()


def unpack(result: dict[str, Any]) -> dict[str, Any]:
    """A worker's result with its arrays rebuilt from bytes."""
    out = dict(result)
    for key, code in (("client", "i"), ("seq", "q"), ("delay", "d"), ("lags", "d")):
        values = array(code)
        values.frombytes(result[key])
        out[key] = values
    return out

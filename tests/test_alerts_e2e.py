"""Alerts end to end, the way an operator meets them: a real filesystem filled on purpose
(a small ext2 image this test loop-mounts), the real server (eventlet) sampling it, the rule
firing, the signed webhook arriving at a receiver on loopback, a silence made through the
API holding back the escalation until it expires, and the resolve when the space is freed.

Needs root (to mount); skipped otherwise with the reason, never under CI (which runs as root).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import ServerProcess
from tests.webhooks import Got, Receiver, verify

SECRET = "e2e-webhook-key"


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB ext2 filesystem, loop-mounted at a short path (its series key must stay
    under 64 characters). psutil lists real filesystems only, so no tmpfs."""
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("loop-mounting a filesystem needs root")
    image = tmp_path / "scratch.ext2"
    with image.open("wb") as fh:
        fh.truncate(8 * 2**20)
    made = subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-m", "0", str(image)],
                          capture_output=True, text=True)  # fmt: skip
    assert made.returncode == 0, made.stderr
    folder = Path(tempfile.mkdtemp(prefix="alertvol", dir="/tmp"))
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(folder)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0 and not os.environ.get("CI"):
        folder.rmdir()
        pytest.skip(f"cannot loop-mount a filesystem here: {mounted.stderr.strip()}")
    assert mounted.returncode == 0, mounted.stderr
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def fill(folder: Path, percent: float) -> None:
    """Make the filesystem ``percent`` full (one file, rewritten)."""
    target = folder / "fill"
    target.unlink(missing_ok=True)
    usage = shutil.disk_usage(folder)
    with target.open("wb") as fh:
        fh.write(b"\1" * max(0, int(usage.total * percent / 100) - usage.used))
        fh.flush()
        os.fsync(fh.fileno())


def settings(folder: Path, receiver: Receiver, secret: Path) -> str:
    hung = receiver.url("/hang").replace("http://", "json://")
    return f"""
[server]
async_mode = "eventlet"
[collectors.filesystem]
interval = 1.0
[alerts]
webhook = "{receiver.url("/hook")}"
webhook_secret_file = "{secret}"
notify = ["{hung}"]         # a target that never answers: it must delay nothing else
group_wait = "1s"
heartbeat_url = "{receiver.url("/beat")}"
heartbeat_interval = "5s"
[[alerts.rule]]
name = "filesystem-full"   # the shipped rule watches this machine's own disks: off here
enabled = false
[[alerts.rule]]
name = "scratch-full"
series = "filesystem.*{folder.name}.used_percent"
aggregate = "last"
warn = 60
crit = 85
clear = 40
for = "2s"
recover = "2s"
summary = "{{host}}: {{series}} at {{value}}{{unit}}"
"""


def api(server: ServerProcess, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        server.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        return resp.status, json.load(resp)


def ours(got: list[Got], series: str) -> list[dict[str, Any]]:
    """Each POST's alerts about ``series``, with when the POST arrived."""
    found = []
    for post in got:
        for alert in post.json()["alerts"]:
            if alert["series"] == series:
                found.append({**alert, "arrived": post.at})
    return found


@pytest.mark.server
def test_a_filesystem_filled_on_purpose_notifies_is_silenced_and_resolves(
    scratch: Path,
    tmp_path: Path,
    server_factory: Callable[..., ServerProcess],
    wait_until: Callable[..., Any],
    sio_client: Callable[..., Any],
) -> None:
    receiver = Receiver()
    try:
        secret = tmp_path / "webhook.key"
        secret.write_text(SECRET + "\n")
        server = server_factory(settings(scratch, receiver, secret))
        canary = sio_client(server.url, ["/cpu"])  # the live stream, beside the hung target
        arrivals: list[float] = []
        canary.on("sample", lambda _s: arrivals.append(time.monotonic()), namespace="/cpu")
        assert canary.call("subscribe", {"series": ["cpu.total"]}, namespace="/cpu")["ok"]
        collectors = server.get_json("/api/collectors")["collectors"]
        names = [s["name"] for c in collectors if c["name"] == "filesystem" for s in c["series"]]
        series = next(n for n in names if n.endswith(f"{scratch.name}.used_percent"))

        filled = time.time()
        fill(scratch, 70)
        warned = wait_until(lambda: ours(receiver.on("/hook"), series), "the warning's POST", 30)
        post = receiver.on("/hook")[0]
        assert verify(SECRET.encode(), post.body, post.headers, time.time())
        first = warned[0]
        assert (first["kind"], first["state"], first["threshold"]) == ("firing", "warning", 60)
        assert first["value"] >= 60 and first["held_for"] >= 2
        assert first["summary"] == f"{first['host']}: {series} at {first['value']:.4g}%"
        print(f"\nfilled to 70 % at 0.0 s; the warning arrived {first['arrived'] - filled:.1f} s "
              f"later: {post.json()['title']}")  # fmt: skip

        ends = time.time() + 8
        status, made = api(server, "POST", "/api/silences", {
            "matchers": {"rule": "scratch-full"}, "ends": ends, "comment": "filling it on purpose",
        })  # fmt: skip
        assert status == 201 and made["id"]
        fill(scratch, 92)
        critical = wait_until(
            lambda: [a for a in api(server, "GET", "/api/alerts")[1]["alerts"]
                     if a["series"] == series and a["state"] == "critical"],
            "the escalation to critical, silenced",
            30,
        )  # fmt: skip
        assert critical[0]["silenced"] == made["id"]
        print(f"silenced until +{ends - filled:.1f} s; critical at {critical[0]['value']:g} %")

        escalated = wait_until(
            lambda: [a for a in ours(receiver.on("/hook"), series) if a["state"] == "critical"],
            "the critical POST once the silence ended",
            30,
        )
        assert escalated[0]["arrived"] >= ends, "a silenced escalation was delivered"
        assert len(ours(receiver.on("/hook"), series)) == 2, "nothing else while silenced"
        print(
            f"the silence ended; the critical arrived at +{escalated[0]['arrived'] - filled:.1f} s"
        )

        freed = time.time()
        (scratch / "fill").unlink()
        resolved = wait_until(
            lambda: [a for a in ours(receiver.on("/hook"), series) if a["kind"] == "resolved"],
            "the resolve's POST",
            30,
        )
        print(f"freed at +{freed - filled:.1f} s; resolved arrived at "
              f"+{resolved[0]['arrived'] - filled:.1f} s")  # fmt: skip
        transitions = api(server, "GET", "/api/alerts")[1]["transitions"]
        states = [t["state"] for t in transitions if t["series"] == series]
        assert states == ["pending", "warning", "critical", "ok"], states
        assert api(server, "GET", "/api/silences")[1]["silences"] == []  # it expired
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        assert len(receiver.on("/hang")) >= 3, "the hung target was tried"
        assert max(gaps) < 1.6, f"the live stream waited {max(gaps):.1f} s beside a hung target"
        assert receiver.on("/beat"), "no heartbeat while evaluation ran"
        print(
            f"/cpu samples every {max(gaps):.2f} s at most; {len(receiver.on('/beat'))} "
            f"heartbeats; the hung target tried {len(receiver.on('/hang'))} times"
        )
    finally:
        receiver.stop()

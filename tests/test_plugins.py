"""Plugins: discovery from folders and entry points, every load error named precisely, and
at run time a plugin that hangs, sleeps in C, busy-loops or returns garbage never slows the
rest — proven against a real server process and websocket."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from dashboard.pipeline import plugins, registry
from dashboard.pipeline.plugins import GROUP
from dashboard.pipeline.registry import load_registry
from dashboard.settings import SettingsError, parse_settings
from dashboard.workers import NativeWorkers
from tests.serverproc import ROOT

CALL = NativeWorkers("threading").call

GOOD = """
from collectors import Collector, Series


class Answer(Collector):
    name = "answer"
    interval = 1.0
    defaults = {"value": 42.0}

    def describe(self):
        return [Series("answer.value", "things", "The answer")]

    def collect(self):
        return {"answer.value": self.options["value"]}
"""


def plugin(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def collector_class(name: str, extra: str = "", collect: str = "return {}") -> str:
    return f'''
from collectors import Collector, Series


class P(Collector):
    name = {name!r}
    interval = 1.0
{textwrap.indent(textwrap.dedent(extra), "    ")}
    def describe(self):
        return [Series("{name}.v", "n")]

    def collect(self):
        {collect}
'''


def load(folder: Path, extra: dict | None = None, eps=()):
    settings = parse_settings({"plugins": {"paths": [str(folder)]}, **(extra or {})})
    return load_registry(settings, CALL, eps=eps)


def errors_of(result) -> dict[str, str]:
    return {e.plugin: f"{e.origin}: {e.error}" for e in result.errors}


def test_a_plugin_in_a_folder_loads_with_its_options(tmp_path):
    plugin(tmp_path / "p", "answer", GOOD)
    result = load(tmp_path / "p", {"collectors": {"answer": {"value": 7, "interval": 2}}})
    item = result.loaded[-1]
    assert item.collector.name == "answer" and item.interval == 2.0
    assert item.collector.options == {"value": 7.0}
    assert item.origin == f"file {tmp_path / 'p' / 'answer.py'}" and result.errors == []


LOAD_ERRORS = [
    ("raise RuntimeError('no config')", "import failed at", "RuntimeError: no config"),
    ("import not_a_module_anywhere", "import failed at", "No module named 'not_a_module_any"),
    ("def broken(:\n    pass", "import failed", "SyntaxError"),
    ("import sys\nsys.exit(3)", "import failed", "called sys.exit(3)"),
    ("x = 1", "defines no Collector subclass", "subclasses collectors.Collector"),
    (collector_class("Bad-Name"), "name 'Bad-Name' is not valid", "lower-case letters"),
    (collector_class(""), "class P has no name", "set name = "),
    (collector_class("cpu"), "name 'cpu' is already taken by the built-in collector", "rename"),
    (
        "from collectors import Collector\nclass A(Collector):\n    name = 'abstract'\n",
        "class A does not implement collect(), describe()",
        "",
    ),
    (
        collector_class(
            "picky", "def setup(self, options):\n    raise ValueError('port: expected 1-65535')\n"
        ),
        "rejects its options: port: expected 1-65535",
        "fix [collectors.picky] in <settings>",
    ),
    (
        collector_class("crashy", "def setup(self, options):\n    {}['missing']\n"),
        "setup failed: KeyError: 'missing'",
        "enabled = false",
    ),
    (collector_class("slowpoke", "interval = -1\n"), "interval = -1: expected seconds", ""),
]


@pytest.mark.parametrize(("body", "error", "hint"), LOAD_ERRORS)
def test_every_load_error_names_the_plugin_its_file_and_the_fix(tmp_path, body, error, hint):
    path = plugin(tmp_path / "p", "bad", body)
    plugin(tmp_path / "p", "answer", GOOD)
    result = load(tmp_path / "p")
    assert [item.collector.name for item in result.loaded][-1] == "answer"  # the rest loads
    assert len(result.errors) == 1, result.errors
    message = str(result.errors[0])
    assert f"(file {path})" in message and error in message and hint in message


def test_a_plugin_that_hangs_at_import_or_setup_is_cut_off(tmp_path, monkeypatch):
    monkeypatch.setattr(plugins, "IMPORT_TIMEOUT", 0.3)
    monkeypatch.setattr(registry, "SETUP_TIMEOUT", 0.3)
    plugin(tmp_path / "p", "sleeper", "import time\ntime.sleep(20)\n")
    plugin(
        tmp_path / "p",
        "stuck",
        collector_class("stuck", "def setup(self, o):\n    __import__('time').sleep(20)\n"),
    )
    started = time.monotonic()
    result = load(tmp_path / "p")
    assert time.monotonic() - started < 3
    messages = errors_of(result)
    assert "import took longer than 0.3 s" in messages["sleeper"]
    assert "setup took longer than 0.3 s" in messages["stuck"]


def test_two_plugins_with_one_name_keep_the_first(tmp_path):
    first = plugin(tmp_path / "a", "one", collector_class("same"))
    second = plugin(tmp_path / "b", "two", collector_class("same"))
    settings = parse_settings({"plugins": {"paths": [str(tmp_path / "a"), str(tmp_path / "b")]}})
    result = load_registry(settings, CALL, eps=())
    assert result.loaded[-1].origin == f"file {first}"
    assert f"already taken by file {first}" in str(result.errors[0])
    assert f"(file {second})" in str(result.errors[0])


def test_entry_points_are_loaded_and_checked(tmp_path, monkeypatch):
    plugin(tmp_path / "site", "epmod", GOOD + "\n\ndef not_a_class():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    eps = [
        EntryPoint("answer", "epmod:Answer", GROUP),
        EntryPoint("nope", "epmod:not_a_class", GROUP),
        EntryPoint("gone", "no_such_module_here:X", GROUP),
    ]
    result = load_registry(parse_settings({}), CALL, eps=eps)
    assert result.loaded[-1].collector.name == "answer"
    assert result.loaded[-1].origin == "entry point answer = epmod:Answer"
    messages = errors_of(result)
    assert (
        "names function not_a_class" in messages["nope"]
        and "Collector subclass" in messages["nope"]
    )
    assert "No module named 'no_such_module_here'" in messages["gone"]


def test_strict_makes_a_load_error_fatal_and_a_failed_plugins_table_is_not_unknown(tmp_path):
    plugin(tmp_path / "p", "bad", "raise RuntimeError('boom')")
    tables = {"collectors": {"bad": {"interval": 5}}}
    assert len(load(tmp_path / "p", tables).errors) == 1  # [collectors.bad] is no extra error
    with pytest.raises(SettingsError, match=r"\[plugins\] strict = true and 1 plugin\(s\) failed"):
        load(
            tmp_path / "p", {**tables, "plugins": {"paths": [str(tmp_path / "p")], "strict": True}}
        )


def test_a_disabled_plugin_is_not_set_up(tmp_path):
    plugin(
        tmp_path / "p",
        "picky",
        collector_class("picky", "def setup(self, o):\n    raise ValueError('x')\n"),
    )
    result = load(tmp_path / "p", {"collectors": {"picky": {"enabled": False}}})
    assert result.errors == [] and result.loaded[-1].enabled is False


def test_a_plugin_switched_off_is_not_even_imported(tmp_path, run_cli):
    """``enabled = false`` must work for a plugin whose import hangs or crashes."""
    marker = tmp_path / "imported"
    folder = tmp_path / "p"
    plugin(folder, "hangs", f"open({str(marker)!r}, 'w').close()\nimport time\ntime.sleep(30)\n")
    plugin(folder, "crashes", "import sys\nsys.exit(3)\n")
    (folder / "pkg").mkdir()
    (folder / "pkg" / "__init__.py").write_text("raise RuntimeError('broken package')\n")
    plugin(folder, "answer", GOOD)
    eps = [EntryPoint("epoff", "no_such_module_anywhere:Thing", GROUP)]
    off = {"enabled": False}
    tables = {"collectors": {n: off for n in ("hangs", "crashes", "pkg", "epoff")}}
    started = time.monotonic()
    result = load(folder, tables, eps=eps)
    assert time.monotonic() - started < plugins.IMPORT_TIMEOUT  # no import was waited for
    assert result.errors == [] and not marker.exists()
    assert [s.name for s in result.skipped] == ["epoff", "crashes", "hangs", "pkg"]
    assert result.skipped[1].origin == f"file {folder / 'crashes.py'}"
    assert result.loaded[-1].collector.name == "answer"
    config = tmp_path / "settings.toml"
    config.write_text('[plugins]\npaths = ["p"]\n[collectors.hangs]\nenabled = false\n')
    listing = run_cli("collectors", config=config)
    assert listing.returncode == 0, listing.stderr
    assert f"hangs  disabled, not imported  (plugin: file {folder / 'hangs.py'})" in listing.stdout
    assert not marker.exists()


def test_check_and_collectors_show_plugins_and_their_errors(tmp_path, run_cli):
    plugin(tmp_path / "p", "answer", GOOD)
    plugin(tmp_path / "p", "bad", "raise RuntimeError('boom')")
    config = tmp_path / "settings.toml"
    config.write_text('[plugins]\npaths = ["p"]\n')
    check = run_cli("check", config=config)
    assert check.returncode == 78, check.stderr  # check fails on any problem; run starts
    assert f"plugin 'answer' loaded from file {tmp_path / 'p' / 'answer.py'}" in check.stdout
    assert f"plugin 'bad' (file {tmp_path / 'p' / 'bad.py'}): import failed" in check.stderr
    listing = run_cli("collectors", config=config)
    assert "answer  every 1 s  enabled  (plugin: file" in listing.stdout
    assert "answer.value  [things]  The answer" in listing.stdout
    config.write_text('[plugins]\npaths = ["p"]\nstrict = true\n')
    strict = run_cli("check", config=config)
    assert strict.returncode == 78 and len(strict.stderr.strip().splitlines()) == 1
    assert "RuntimeError: boom" in strict.stderr and "Traceback" not in strict.stderr


# -- at run time, against a real server ------------------------------------------------------

FAULTS = {
    "sleepy": "__import__('time').sleep(30)",  # patched sleep, called from a native thread
    "cblock": "__import__('ctypes').CDLL(None).sleep(30)",  # blocks in C, no cooperation
    "busy": "spin(3)",  # holds the GIL in pure Python for 3 s per call
    "raiser": "raise RuntimeError('always')",
    "huge": "return {f'huge.{i}': 1.0 for i in range(3000)}",
    "stringy": "return {'stringy.v': 'x' * 10_000_000}",
}
SPIN = """
def spin(seconds):
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
"""


@pytest.mark.server
@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_faulty_plugins_never_slow_the_other_namespaces(
    server_factory, sio_client, wait_until, tmp_path, mode
):
    folder = tmp_path / "plugins"
    for name, collect in FAULTS.items():
        plugin(folder, name, collector_class(name, collect=collect) + SPIN)
    plugin(folder, "answer", GOOD)
    plugin(folder, "broken", "raise ImportError('missing dependency: libfoo')")
    server = server_factory(f'[plugins]\npaths = ["{folder}"]\n', async_mode=mode)
    sio = sio_client(server.url, ["/cpu", "/answer", "/sleepy"])
    arrivals: list[float] = []
    answers: list[dict] = []
    sio.on("sample", lambda s: arrivals.append(time.monotonic()), namespace="/cpu")
    sio.on("sample", answers.append, namespace="/answer")
    assert sio.call("subscribe", {}, namespace="/cpu", timeout=5)["ok"]
    assert sio.call("subscribe", {}, namespace="/answer", timeout=5)["ok"]
    # The hung plugin's own namespace still answers at once.
    assert sio.call("subscribe", {}, namespace="/sleepy", timeout=2)["ok"]
    # Eight seconds of /cpu while the faulty plugins run (and time out) beside it.
    wait_until(lambda: len(arrivals) >= 8, "8 /cpu samples", timeout=20)
    sio.disconnect()
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    print(f"/cpu: {len(arrivals)} samples, largest gap {max(gaps):.3f} s")
    assert len(arrivals) >= 6 and max(gaps) < 1.6, gaps  # /cpu at 1 Hz throughout
    assert len(answers) >= 6 and answers[-1]["values"] == {"answer.value": 42.0}
    health = server.get_json("/healthz")
    states = {name: health["collectors"][name]["state"] for name in FAULTS}
    assert states["sleepy"] in ("timeout", "hung") and states["cblock"] in ("timeout", "hung")
    assert states["busy"] in ("timeout", "hung")
    assert {states[n] for n in ("raiser", "huge", "stringy")} == {"failing"}
    assert "expected a number or None" in health["collectors"]["stringy"]["last_error"]
    assert "3000 series in one sample" in health["collectors"]["huge"]["last_error"]
    assert health["status"] == "degraded"
    (error,) = health["plugins"]["errors"]
    assert error["plugin"] == "broken" and "missing dependency: libfoo" in error["error"]
    started = time.monotonic()
    assert server.stop() == 0 and time.monotonic() - started < 12
    log = server.output()
    assert log.count("RuntimeError: always") >= 1 and log.count("Traceback") <= 2


FILTER_FAULTS = """
import ctypes

from collectors import Collector, Sample, Series


def c_sleep(seconds):
    ctypes.CDLL(None).sleep(seconds)  # blocks in C, the GIL released: only a thread can wait


class Base(Collector):
    interval = 1.0
    parse = "ok"
    apply = "ok"

    def describe(self):
        return [Series(f"{self.name}.v", "n")]

    def collect(self):
        return Sample(values={f"{self.name}.v": 1.0}, rows=[{"pid": 1}])

    def parse_filter(self, request):
        if self.parse == "sleep" and request:
            c_sleep(5)
        if self.parse == "raise" and request:
            raise RuntimeError("parse bug")
        if self.parse == "garbage" and request:
            return {"when": object()}
        return {"any": bool(request)}

    def apply_filter(self, flt, values, rows):
        if self.apply == "sleep":
            c_sleep(5)
        if self.apply == "raise":
            raise RuntimeError("apply bug")
        if self.apply == "garbage":
            return {"v": float("nan")}, rows
        return values, rows


class SlowParse(Base):
    name, parse = "slowparse", "sleep"


class RaiseParse(Base):
    name, parse = "raiseparse", "raise"


class JunkParse(Base):
    name, parse = "junkparse", "garbage"


class SlowApply(Base):
    name, apply = "slowapply", "sleep"


class RaiseApply(Base):
    name, apply = "raiseapply", "raise"


class JunkApply(Base):
    name, apply = "junkapply", "garbage"
"""


def lag_of(server) -> dict[str, float]:
    """The server's own event-loop stall gauges, from /metrics."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("dashboard_event_loop_lag")
    }


@pytest.mark.server
@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_filters_that_sleep_in_c_raise_or_return_garbage_never_block_the_loop(
    server_factory, sio_client, wait_until, tmp_path, mode
):
    folder = tmp_path / "plugins"
    plugin(folder, "filters", FILTER_FAULTS)
    server = server_factory(f'[plugins]\npaths = ["{folder}"]\n', async_mode=mode)
    names = ["slowparse", "raiseparse", "junkparse", "slowapply", "raiseapply", "junkapply"]
    sio = sio_client(server.url, ["/cpu"] + [f"/{n}" for n in names])
    arrivals: list[float] = []
    got: dict[str, list[dict]] = {name: [] for name in names}
    sio.on("sample", lambda s: arrivals.append(time.monotonic()), namespace="/cpu")
    for name in names:
        sio.on("sample", got[name].append, namespace=f"/{name}")
    assert sio.call("subscribe", {}, namespace="/cpu", timeout=5)["ok"]
    replies = {}
    for name in names:
        replies[name] = sio.call("filter", {"pick": 1}, namespace=f"/{name}", timeout=5)
        assert sio.call("subscribe", {}, namespace=f"/{name}", timeout=5)["ok"]
    # The slow check still runs (for ~5 s): a second one is refused at once.
    started = time.monotonic()
    again = sio.call("filter", {"pick": 2}, namespace="/slowparse", timeout=5)
    assert time.monotonic() - started < 1.0
    # Eight seconds of /cpu while the slow filters sleep (5 s each) beside it.
    wait_until(lambda: len(arrivals) >= 8, "8 /cpu samples", timeout=20)
    health = server.get_json("/healthz")["collectors"]  # while the rooms still exist
    sio.disconnect()
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    lag = lag_of(server)
    print(f"/cpu: {len(arrivals)} samples, largest gap {max(gaps):.3f} s; loop: {lag}")
    assert len(arrivals) >= 6 and max(gaps) < 1.5, gaps
    assert lag["dashboard_event_loop_lag_max_seconds"] < 1.0  # a 5 s sleep on it would show
    prefix = "collector '{}' failed to check the filter: "
    assert replies["slowparse"]["error"] == prefix.format("slowparse") + (
        "parse_filter() took longer than 2 s"
    )
    assert replies["raiseparse"]["error"] == prefix.format("raiseparse") + (
        "RuntimeError: parse bug"
    )
    assert replies["junkparse"]["error"].startswith(prefix.format("junkparse") + "bad output:")
    assert again["error"] == "collector 'slowparse' is still checking an earlier filter (hung?)"
    assert all(replies[n]["ok"] for n in ("slowapply", "raiseapply", "junkapply"))
    assert got["slowapply"] == got["raiseapply"] == got["junkapply"] == []  # skipped samples
    assert got["raiseparse"] and got["junkparse"]  # the default filter still serves them
    assert health["slowapply"]["state"] in ("timeout", "hung")
    assert "apply_filter() raised RuntimeError: apply bug" in health["raiseapply"]["last_error"]
    assert "not JSON" in health["junkapply"]["last_error"]
    assert health["raiseparse"]["failures"] >= 1 and health["slowparse"]["failures"] >= 1
    assert server.stop() == 0


EXAMPLE = ROOT / "examples" / "dashboard-example-plugin"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """The example package, built and installed the way a user would (into a target dir)."""
    work = tmp_path_factory.mktemp("example")
    source = work / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = work / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--target", str(site), str(source)], check=True, timeout=300)
    return site


@pytest.mark.server
def test_the_example_package_is_found_by_its_entry_point_and_streams(
    server_factory, installed_example, sio_client, wait_until
):
    server = server_factory(start=False)
    server.env = {"PYTHONPATH": str(installed_example)}
    server.start()
    listing = {c["name"]: c for c in server.get_json("/api/collectors")["collectors"]}
    uptime = listing["uptime"]
    assert uptime["origin"].startswith("entry point uptime = dashboard_example:Uptime from")
    assert [s["name"] for s in uptime["series"]] == ["uptime.days"]
    sio = sio_client(server.url, ["/uptime"])
    got: list[dict] = []
    sio.on("sample", got.append, namespace="/uptime")
    reply = sio.call("subscribe", {"history": 60}, namespace="/uptime", timeout=5)
    wait_until(lambda: got or reply["history"]["ts"], "an uptime sample", timeout=15)
    values = (
        got[0]["values"] if got else {"uptime.days": reply["history"]["values"]["uptime.days"][-1]}
    )
    assert values["uptime.days"] > 0


def test_the_example_package_passes_its_own_tests(tmp_path):
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(copy / "tests")],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout

"""The textfile collector against real files in a temporary folder, and through a real server.

Fixtures in tests/data/textfile are copied into ``tmp_path``; each test then adds, rewrites
or removes files the way a cron job would (write, then rename into place).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pytest

from collectors import textfile
from collectors.base import MAX_SERIES, SERIES_RE
from collectors.textfile import TextfileCollector
from dashboard.pipeline.registry import load_collectors
from dashboard.pipeline.validate import validate
from dashboard.settings import SettingsError, parse_settings

DATA = Path(__file__).parent / "data" / "textfile"
OWN = ["textfile.files_ok", "textfile.files_bad", "textfile.scrape_error"]


def folder_with(tmp_path: Path, *fixtures: str) -> Path:
    folder = tmp_path / "textfile"
    folder.mkdir(exist_ok=True)
    for name in fixtures:
        shutil.copy(DATA / name, folder / name)
    return folder


def publish(folder: Path, name: str, text: str) -> None:
    """Write then rename, as the README tells cron jobs to: never half a file."""
    tmp = folder / f".{name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / name)


def ready(folder: Path | str, **options) -> TextfileCollector:
    collector = TextfileCollector()
    collector.setup({"path": str(folder), **options})
    return collector


def reading(collector: TextfileCollector) -> dict[str, float | None]:
    """One collect(), checked the way the dashboard checks it (declared, finite or None)."""
    result = collector.collect()
    series = collector.describe()
    assert all(SERIES_RE.match(s.name) for s in series)
    assert len({s.name for s in series}) == len(series)
    return validate(result, {s.name for s in series}, time.time()).values


def units(collector: TextfileCollector) -> dict[str, str]:
    return {s.name: s.unit for s in collector.describe()}


def labels(collector: TextfileCollector) -> dict[str, str]:
    return {s.name: s.label for s in collector.describe()}


# --- .prom files ----------------------------------------------------------------------------


def test_a_prom_file_with_labels_help_and_types(tmp_path):
    collector = ready(folder_with(tmp_path, "good.prom"))
    values = reading(collector)
    assert values == {
        "textfile.backup_age_seconds.job_db": 3600.0,
        "textfile.backup_age_seconds.job_web.site_eu_west": 120.5,
        "textfile.backup_size_bytes": 1.5e9,
        "textfile.backups_total": 42.0,
        "textfile.restore_duration_seconds_sum": 4.5,
        "textfile.restore_duration_seconds_count": 3.0,
        "textfile.queue_depth.queue_mail": 7.0,  # an empty label value is no label
        "textfile.files_ok": 1.0,
        "textfile.files_bad": 0.0,
        "textfile.scrape_error": 0.0,
    }
    assert [s.name for s in collector.describe()][:3] == OWN
    assert units(collector) == {
        "textfile.files_ok": "files",
        "textfile.files_bad": "files",
        "textfile.scrape_error": "error",
        "textfile.backup_age_seconds.job_db": "s",
        "textfile.backup_age_seconds.job_web.site_eu_west": "s",
        "textfile.backup_size_bytes": "bytes",
        "textfile.backups_total": "count",
        "textfile.restore_duration_seconds_sum": "s",
        "textfile.restore_duration_seconds_count": "count",
        "textfile.queue_depth.queue_mail": "value",
    }
    named = labels(collector)
    assert named["textfile.backup_age_seconds.job_db"] == "Age of the last good backup. (job=db)"
    assert named["textfile.backup_age_seconds.job_web.site_eu_west"] == (
        "Age of the last good backup. (job=web, site=eu west)"
    )
    assert named["textfile.restore_duration_seconds_count"] == (
        "How long restore tests take. (count)"
    )
    assert named["textfile.backups_total"] == "backups_total"  # no HELP: the name
    assert collector.problems == []


def test_histogram_buckets_are_left_out_and_summaries_keep_their_quantiles(tmp_path):
    folder = folder_with(tmp_path)
    publish(
        folder,
        "job.prom",
        "# TYPE latency_seconds summary\n"
        'latency_seconds{quantile="0.5"} 0.2\n'
        'latency_seconds{quantile="0.99"} 1.5\n'
        "latency_seconds_sum 40\n"
        "latency_seconds_count 100\n"
        "# TYPE size_bytes histogram\n"
        'size_bytes_bucket{le="1024"} 5\n'
        'size_bytes_bucket{le="+Inf"} 6\n'
        "size_bytes_sum 9000\n"
        "size_bytes_count 6\n",
    )
    collector = ready(folder)
    values = reading(collector)
    assert {k: v for k, v in values.items() if k not in OWN} == {
        "textfile.latency_seconds.quantile_0.5": 0.2,
        "textfile.latency_seconds.quantile_0.99": 1.5,
        "textfile.latency_seconds_sum": 40.0,
        "textfile.latency_seconds_count": 100.0,
        "textfile.size_bytes_sum": 9000.0,
        "textfile.size_bytes_count": 6.0,
    }
    assert units(collector)["textfile.latency_seconds.quantile_0.99"] == "s"


def test_unit_suffixes_and_label_sanitizing(tmp_path):
    folder = folder_with(tmp_path)
    publish(
        folder,
        "units.prom",
        "disk_used_ratio 0.5\n"
        "battery_percent 80\n"
        "# TYPE sent_bytes_total counter\n"
        "sent_bytes_total 10\n"
        "errors_total 3\n"
        'odd{path="/var/lib/x y"} 1\n',
    )
    collector = ready(folder)
    values = reading(collector)
    assert values["textfile.odd.path__var_lib_x_y"] == 1.0
    assert units(collector) == {
        **dict.fromkeys(OWN[:2], "files"),
        "textfile.scrape_error": "error",
        "textfile.disk_used_ratio": "ratio",
        "textfile.battery_percent": "%",
        "textfile.sent_bytes_total": "bytes",
        "textfile.errors_total": "count",
        "textfile.odd.path__var_lib_x_y": "value",
    }


def test_a_malformed_prom_file_is_reported_and_the_others_still_count(tmp_path, caplog):
    collector = ready(folder_with(tmp_path, "good.prom", "malformed.prom"))
    with caplog.at_level(logging.WARNING, logger="collectors.textfile"):
        values = reading(collector)
    assert values["textfile.backup_age_seconds.job_db"] == 3600.0
    assert not any("broken" in name for name in values)
    assert values["textfile.files_ok"] == 1.0
    assert values["textfile.files_bad"] == 1.0
    assert values["textfile.scrape_error"] == 1.0
    [problem] = collector.problems
    assert problem.startswith(f"{tmp_path / 'textfile' / 'malformed.prom'}: not Prometheus text")
    [record] = caplog.records
    assert "malformed.prom" in record.getMessage() and "not Prometheus text" in record.getMessage()


def test_nan_and_infinities_are_no_value_and_reported(tmp_path):
    collector = ready(folder_with(tmp_path, "nan.prom"))
    values = reading(collector)
    assert values["textfile.temperature_celsius.room_a"] is None
    assert values["textfile.temperature_celsius.room_b"] is None
    assert values["textfile.temperature_celsius.room_c"] == 21.5
    assert values["textfile.files_bad"] == 1.0 and values["textfile.scrape_error"] == 1.0
    assert [p.split(": ", 1)[1] for p in collector.problems] == [
        'temperature_celsius{room="a"} = nan is not a finite number; published as no value',
        'temperature_celsius{room="b"} = inf is not a finite number; published as no value',
    ]


def test_a_file_over_max_bytes_is_refused(tmp_path):
    folder = folder_with(tmp_path, "good.prom")
    publish(folder, "huge.prom", "".join(f"metric_{i} {i}\n" for i in range(200_000)))
    collector = ready(folder, max_bytes=4096)
    values = reading(collector)
    assert not any(name.startswith("textfile.metric_") for name in values)
    assert values["textfile.files_ok"] == 1.0 and values["textfile.files_bad"] == 1.0
    assert collector.problems == [
        f"{folder / 'huge.prom'}: larger than max_bytes = 4096 bytes; not read"
    ]


def test_the_same_series_from_two_files_keeps_the_first(tmp_path):
    folder = folder_with(tmp_path)
    publish(folder, "a.prom", 'backup_age_seconds{job="db"} 1\n')
    publish(folder, "b.prom", 'backup_age_seconds{job="db"} 2\nother 3\n')
    publish(folder, "c.prom", 'x{v="a b"} 1\nx{v="a_b"} 2\nfiles_ok 9\n')
    collector = ready(folder)
    values = reading(collector)
    assert values["textfile.backup_age_seconds.job_db"] == 1.0
    assert values["textfile.other"] == 3.0
    assert values["textfile.x.v_a_b"] == 1.0
    assert values["textfile.files_ok"] == 1.0  # the collector's own series wins
    assert values["textfile.files_bad"] == 2.0
    assert [p.removeprefix(str(folder) + "/") for p in collector.problems] == [
        f"b.prom: series 'textfile.backup_age_seconds.job_db' also comes from {folder / 'a.prom'}"
        "; skipped",
        "c.prom: series 'textfile.x.v_a_b' also comes from this file; skipped",
        "c.prom: series 'textfile.files_ok' also comes from the collector's own series; skipped",
    ]


def test_names_too_long_for_a_series_are_skipped(tmp_path):
    folder = folder_with(tmp_path)
    publish(folder, "long.prom", f'ok 1\nm{{job="{"x" * 200}"}} 2\n')
    collector = ready(folder)
    values = reading(collector)
    assert values["textfile.ok"] == 1.0 and len(values) == 4
    assert "too long for a series name" in collector.problems[0]


def test_series_beyond_the_dashboards_cap_are_skipped(tmp_path):
    folder = folder_with(tmp_path)
    publish(folder, "many.prom", "".join(f"m{i:04d} {i}\n" for i in range(MAX_SERIES + 10)))
    collector = ready(folder)
    values = reading(collector)
    assert len(values) == MAX_SERIES and len(collector.describe()) == MAX_SERIES
    assert "and later ones skipped" in collector.problems[0]


# --- .json files ----------------------------------------------------------------------------


def test_json_files_in_both_shapes(tmp_path):
    collector = ready(folder_with(tmp_path, "app.json"))
    values = reading(collector)
    assert values == {
        "textfile.app.users": 17.0,
        "textfile.app.cache_hit_ratio": 0.92,
        "textfile.app.lag": 1.25,
        "textfile.app.pending": None,  # null: declared, no value now
        "textfile.files_ok": 1.0,
        "textfile.files_bad": 0.0,
        "textfile.scrape_error": 0.0,
    }
    assert units(collector)["textfile.app.lag"] == "s"
    assert units(collector)["textfile.app.cache_hit_ratio"] == "ratio"
    assert labels(collector)["textfile.app.lag"] == "Replication lag"
    assert labels(collector)["textfile.app.users"] == "users"


def test_bad_json_members_are_skipped_one_by_one(tmp_path):
    collector = ready(folder_with(tmp_path, "bad.json"))
    values = reading(collector)
    assert values["textfile.bad.ok_value"] == 1.0
    assert values["textfile.bad.big"] is None  # 1e999 reads as infinity
    assert not {"textfile.bad.words", "textfile.bad.flag", "textfile.bad.odd"} & set(values)
    assert [p.split(": ", 1)[1] for p in collector.problems] == [
        "'words': \"many\" is not a number; skipped",
        "'flag': true is not a number; skipped",
        "'odd': unknown key 'colour' (known: label, unit, value); skipped",
        "'big': inf is not a finite number; published as no value",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2]", 'expected a JSON object such as {"name": 1.5}; not read'),
        ("{nope", "not valid JSON: "),
        ('{"a": 1', "not valid JSON: "),
        ('{"a": NaN}', "'a': nan is not a finite number"),
        ('{"a": {"value": 1, "unit": 5}}', "'a': unit 5: expected a string"),
        ('{"a": {"value": 1, "label": []}}', "'a': label []: expected a string"),
        ('{"a": {"value": "1"}}', "'a': \"1\" is not a number"),
    ],
)
def test_malformed_json_is_reported(tmp_path, text, problem):
    folder = folder_with(tmp_path)
    publish(folder, "x.json", text)
    collector = ready(folder)
    values = reading(collector)
    assert values["textfile.files_bad"] == 1.0
    assert collector.problems[0].removeprefix(f"{folder / 'x.json'}: ").startswith(problem)


def test_undecodable_bytes_are_reported(tmp_path):
    folder = folder_with(tmp_path)
    (folder / "bin.prom").write_bytes(b"m 1\n\xff\xfe\n")
    collector = ready(folder)
    assert reading(collector)["textfile.files_bad"] == 1.0
    assert collector.problems == [f"{folder / 'bin.prom'}: not UTF-8 text (byte 4); not read"]


# --- the folder -----------------------------------------------------------------------------


def test_files_appear_change_and_disappear(tmp_path):
    folder = folder_with(tmp_path)
    collector = ready(folder)
    assert reading(collector) == {
        "textfile.files_ok": 0.0,
        "textfile.files_bad": 0.0,
        "textfile.scrape_error": 0.0,
    }
    assert [s.name for s in collector.describe()] == OWN
    publish(folder, "backup.prom", "backup_age_seconds 3600\n")
    assert reading(collector)["textfile.backup_age_seconds"] == 3600.0
    publish(folder, "backup.prom", "backup_age_seconds 60\n")
    assert reading(collector)["textfile.backup_age_seconds"] == 60.0
    (folder / "backup.prom").unlink()
    assert "textfile.backup_age_seconds" not in reading(collector)
    assert [s.name for s in collector.describe()] == OWN


def test_sorted_order_hidden_files_other_extensions_and_symlinks(tmp_path):
    folder = folder_with(tmp_path)
    elsewhere = tmp_path / "elsewhere.prom"
    elsewhere.write_text("linked 5\n")
    (folder / "b.prom").write_text("from_b 2\n")
    (folder / "a.prom").write_text("from_a 1\n")
    (folder / ".hidden.prom").write_text("hidden 1\n")
    (folder / "notes.txt").write_text("text 1\n")
    (folder / "backup.prom.123").write_text("half 1\n")  # a cron job's file before its rename
    (folder / "dir.prom").mkdir()
    os.mkfifo(folder / "pipe.prom")  # opening it for reading would block: never opened
    (folder / "c.prom").symlink_to(elsewhere)
    (folder / "dangling.prom").symlink_to(tmp_path / "gone.prom")
    collector = ready(folder)
    values = reading(collector)
    assert [s.name for s in collector.describe()][3:] == [
        "textfile.from_a",
        "textfile.from_b",
        "textfile.linked",
    ]
    assert values["textfile.linked"] == 5.0
    assert values["textfile.files_ok"] == 3.0 and values["textfile.scrape_error"] == 0.0


def test_max_files_reads_the_first_files_in_sorted_order(tmp_path):
    folder = folder_with(tmp_path)
    for n in range(5):
        (folder / f"f{n}.prom").write_text(f"m{n} {n}\n")
    collector = ready(folder, max_files=3)
    values = reading(collector)
    assert {k for k in values if k not in OWN} == {"textfile.m0", "textfile.m1", "textfile.m2"}
    assert values["textfile.files_ok"] == 3.0 and values["textfile.files_bad"] == 2.0
    assert collector.problems[0] == f"{folder / 'f3.prom'}: not read: more than max_files = 3 files"


def test_each_problem_is_logged_once_per_file_version(tmp_path, caplog):
    folder = folder_with(tmp_path, "malformed.prom")
    collector = ready(folder)
    with caplog.at_level(logging.WARNING, logger="collectors.textfile"):
        for _ in range(3):
            reading(collector)
        assert len(caplog.records) == 1
        publish(folder, "malformed.prom", "still{broken 1\n")  # a new version, still bad
        reading(collector)
        reading(collector)
        assert len(caplog.records) == 2
        publish(folder, "malformed.prom", "fixed 1\n")
        assert reading(collector)["textfile.scrape_error"] == 0.0
    assert collector.problems == [] and len(caplog.records) == 2


def test_unchanged_files_are_not_read_again(tmp_path, monkeypatch):
    folder = folder_with(tmp_path, "good.prom")
    collector = ready(folder)
    reads = []
    real = textfile.read_bounded
    monkeypatch.setattr(textfile, "read_bounded", lambda *a: reads.append(a) or real(*a))
    first = reading(collector)
    assert reading(collector) == first and len(reads) == 1
    os.utime(folder / "good.prom", ns=(0, 10**18))
    reading(collector)
    assert len(reads) == 2


def test_a_folder_that_goes_away_is_a_scrape_error(tmp_path):
    folder = folder_with(tmp_path, "good.prom")
    collector = ready(folder)
    reading(collector)
    shutil.rmtree(folder)
    values = reading(collector)
    assert values == {
        "textfile.files_ok": 0.0,
        "textfile.files_bad": 0.0,
        "textfile.scrape_error": 1.0,
    }
    assert collector.problems == [f"{folder}: cannot list the folder: No such file or directory"]


# --- options and settings -------------------------------------------------------------------


def test_off_by_default_and_set_up_without_a_path():
    [textfile] = [
        item for item in load_collectors(parse_settings({})) if item.collector.name == "textfile"
    ]
    assert textfile.enabled is False and textfile.interval == 10.0
    assert [s.name for s in textfile.collector.describe()] == OWN


def test_enabled_with_a_folder_through_the_settings(tmp_path):
    folder = folder_with(tmp_path, "good.prom")
    settings = parse_settings(
        {"collectors": {"textfile": {"enabled": True, "path": str(folder), "interval": 30}}}
    )
    [textfile] = [i for i in load_collectors(settings) if i.collector.name == "textfile"]
    assert textfile.enabled is True and textfile.interval == 30.0
    assert reading(textfile.collector)["textfile.backups_total"] == 42.0


def test_enabled_without_a_path_is_a_configuration_error():
    settings = parse_settings({"collectors": {"textfile": {"enabled": True}}})
    with pytest.raises(
        SettingsError, match=r"\[collectors.textfile\]: option 'path' = '': expected"
    ):
        load_collectors(settings)
    off = parse_settings({"collectors": {"textfile": {"path": ""}}})  # off: not set up at all
    [textfile] = [i for i in load_collectors(off) if i.collector.name == "textfile"]
    assert textfile.enabled is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "relative/dir"}, "option 'path' = 'relative/dir': expected the absolute path"),
        ({"path": "/no/such/folder"}, "option 'path' = '/no/such/folder': no such folder"),
        ({"path": 5}, "option 'path' = 5: expected a string"),
        ({"max_files": 0}, "option 'max_files' = 0: expected an integer from 1 to 10000"),
        ({"max_bytes": 1.5}, "option 'max_bytes' = 1.5: expected an integer"),
        ({"max_bytes": -1}, "option 'max_bytes' = -1: expected an integer from 1 to"),
        ({"paths": "/tmp"}, "unknown option 'paths'; did you mean 'path'?"),
    ],
)
def test_bad_options_are_settings_errors(options, message):
    table = {"enabled": True, "path": "/", **options}  # a good folder unless the case sets one
    settings = parse_settings({"collectors": {"textfile": table}})
    with pytest.raises(SettingsError, match=r"^<settings> \[collectors\.textfile\]: ") as err:
        load_collectors(settings)
    assert message in str(err.value)


def test_a_file_instead_of_a_folder_is_refused(tmp_path):
    afile = tmp_path / "x.prom"
    afile.write_text("m 1\n")
    with pytest.raises(ValueError, match="no such folder"):
        ready(afile)


# --- end to end -----------------------------------------------------------------------------


@pytest.mark.server
def test_a_dropped_prom_file_streams_on_the_textfile_namespace(
    server_factory, tmp_path, sio_client, wait_until
):
    folder = folder_with(tmp_path)
    server = server_factory(  # eventlet, the default: its green os.fdopen broke every read
        f'[collectors.textfile]\nenabled = true\npath = "{folder}"\ninterval = 0.5\n',
        async_mode="eventlet",
    )
    sio = sio_client(server.url, ["/textfile"])
    samples: list[dict] = []
    series: list[str] = []
    sio.on("sample", samples.append, namespace="/textfile")
    sio.on("series", lambda data: series.extend(s["name"] for s in data["series"]), "/textfile")
    ack = sio.call("subscribe", {}, namespace="/textfile")
    assert ack["ok"] is True and ack["collector"] == "textfile" and ack["interval"] == 0.5
    publish(folder, "backup.prom", 'backup_age_seconds{job="db"} 3600\n')
    name = "textfile.backup_age_seconds.job_db"
    message = wait_until(
        lambda: next((s for s in samples if name in s["values"]), None), f"a sample with {name}"
    )
    sio.disconnect()
    assert name in series  # the series event came first
    assert message["collector"] == "textfile"
    assert message["values"][name] == 3600.0
    assert message["values"]["textfile.files_ok"] == 1.0
    health = server.get_json("/healthz")
    assert health["collectors"]["textfile"]["state"] == "ok"
    assert server.stop() == 0

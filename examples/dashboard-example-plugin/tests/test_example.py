"""The example plugin, tested the way the dashboard runs it: ``collect_once`` sets it up with
options, collects once and validates the result with the dashboard's own rules.

The data source is a file each test writes (the ``path`` option), not the real /proc/uptime,
so every case is exact and runs anywhere; one test checks the default path where it exists.
"""

import re
from pathlib import Path

import pytest
from dashboard_example import Uptime

from dashboard.testing import collect_once


@pytest.fixture
def uptime_file(tmp_path: Path) -> Path:
    path = tmp_path / "uptime"
    path.write_text("216000.00 801234.56\n")  # 2.5 days up; the idle field is not used
    return path


def test_reads_days_since_boot(uptime_file: Path) -> None:
    reading = collect_once(Uptime, {"path": str(uptime_file)})
    assert reading.values == {"uptime.days": 2.5}
    assert reading.rows is None


def test_declares_what_it_returns() -> None:
    [series] = Uptime().describe()
    assert (series.name, series.unit) == ("uptime.days", "days")


@pytest.mark.skipif(not Path("/proc/uptime").is_file(), reason="no /proc/uptime (not Linux)")
def test_the_default_path_is_the_real_proc_uptime() -> None:
    reading = collect_once(Uptime, {})
    assert reading.values["uptime.days"] > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "proc/uptime"}, "option 'path' = 'proc/uptime': expected an absolute path"),
        ({"path": "/no/such/file"}, "option 'path' = '/no/such/file': no such file"),
        ({"path": 42}, "option 'path' = 42: expected a string"),
        ({"pth": "/proc/uptime"}, "unknown option 'pth'; did you mean 'path'?"),
    ],
)
def test_bad_options_are_refused_naming_the_option(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        collect_once(Uptime, options)


@pytest.mark.parametrize(("content", "error"), [("", IndexError), ("garbage\n", ValueError)])
def test_an_unreadable_source_raises(uptime_file: Path, content: str, error: type) -> None:
    """collect() raising is what the dashboard counts as a failure, then retries."""
    uptime_file.write_text(content)
    with pytest.raises(error):
        collect_once(Uptime, {"path": str(uptime_file)})


def test_a_source_that_vanishes_after_setup_raises(uptime_file: Path) -> None:
    collector = Uptime()
    collector.setup({"path": str(uptime_file)})  # as the dashboard does, once at start
    uptime_file.unlink()
    with pytest.raises(FileNotFoundError):
        collector.collect()


def test_infinity_is_no_value_as_the_dashboard_publishes_it(uptime_file: Path) -> None:
    uptime_file.write_text("inf 0\n")  # float() accepts it; the dashboard makes it a gap
    reading = collect_once(Uptime, {"path": str(uptime_file)})
    assert reading.values == {"uptime.days": None} and reading.non_finite == 1

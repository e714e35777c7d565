import datetime as dt
import json
import math
import multiprocessing
import stat
import types

import numpy as np
import pytest

from dlcourse import report


def test_record_stores_mode_hardware_date(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_QUICK", "1")
    assert report.record("00_setup", "matmul", np.float32(123.5), "GFLOP/s") is None
    stored = json.loads((tmp_path / "results.json").read_text())["results"]
    assert stored == report.load() and len(stored) == 1
    entry = stored[0]
    assert entry["mode"] == "quick" and entry["value"] == 123.5
    assert entry["cpu"] and entry["cores"] >= 1 and "T" in entry["date"]


def test_same_result_replaced_other_mode_kept(monkeypatch):
    monkeypatch.setenv("DLCOURSE_QUICK", "1")
    report.record("nb", "acc", 0.5, "")
    report.record("nb", "acc", 0.6, "")
    monkeypatch.setenv("DLCOURSE_QUICK", "0")
    report.record("nb", "acc", 0.99, "")
    values = sorted((r["mode"], r["value"]) for r in report.load())
    assert values == [("full", 0.99), ("quick", 0.6)]


def test_non_finite_refused():
    with pytest.raises(ValueError, match="finite"):
        report.record("nb", "loss", math.nan)


def test_corrupt_results_file_is_named(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(report.CorruptResultsError, match="bad.json is not a valid results file"):
        report.load(bad)
    bad.write_text('{"results": 3}')
    with pytest.raises(report.CorruptResultsError, match="not a list of results"):
        report.load(bad)


def test_corrupt_results_file_is_kept_aside_not_overwritten(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text("{half a file")
    report.record("nb", "acc", 0.5)
    assert "moved it to" in capsys.readouterr().out
    (kept,) = tmp_path.glob("results.json.corrupt-*")
    assert kept.read_text() == "{half a file"
    assert [r["value"] for r in report.load(path)] == [0.5]
    assert report.main([str(kept)]) == 1


def _write_many(writer: int, count: int) -> None:
    for i in range(count):
        report.record("concurrent", f"writer {writer} result {i}", i)


@pytest.mark.slow  # about a second or more: six processes write at once
def test_concurrent_writers_keep_every_record(tmp_path):
    """6 processes x 20 records at once: every one of the 120 survives (each record
    rewrites the whole file, so more records cost quadratically more time, not more races)."""
    with multiprocessing.get_context("fork").Pool(6) as pool:
        pool.starmap(_write_many, [(w, 20) for w in range(6)])
    names = {r["name"] for r in report.load()}
    assert len(names) == 120


def test_benchmark_entries_share_one_schema_and_missed_goals_fail(capsys):
    met = report.benchmark_entry("conv", "naive/im2col forward", 1200.0, "x", (">=", 1000))
    missed = report.benchmark_entry("conv", "im2col/TF forward", 2.0, "x", ("<=", 1.5))
    plain = report.benchmark_entry("conv", "im2col GFLOP/s", 150.0, "GFLOP/s")
    assert set(met) == {"name", "figure", "value", "unit", "goal", "met", "hardware", "date"}
    assert (met["met"], missed["met"], plain["met"]) == (True, False, None)
    assert missed["goal"] == "<= 1.5" and "cpu" in met["hardware"]
    assert report.print_benchmarks([met, plain]) == 0
    assert report.print_benchmarks([met, missed], as_json=True) == 1
    out = capsys.readouterr().out
    assert "GOAL MISSED" in out and "1 goal(s) missed: im2col/TF forward" in out
    assert json.loads(out.splitlines()[-1])["benchmarks"][1]["met"] is False
    with pytest.raises(ValueError, match="finite"):
        report.benchmark_entry("conv", "x", math.inf)
    with pytest.raises(ValueError, match="comparison"):
        report.benchmark_entry("conv", "x", 1.0, goal=("=>", 1))


def test_table_lists_every_result(capsys):
    report.record("01_conv", "speed-up", 1234.5, "x")
    report.record("02_backprop", "test accuracy", 0.9712, "")
    text = report.table(report.load())
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["notebook", "result", "value"]
    assert " 1234 " in text and "0.9712" in text and len(lines) == 4
    report.main([])
    assert "02_backprop" in capsys.readouterr().out


class FrozenClock(dt.datetime):
    """Every call of now() within the same microsecond."""

    @classmethod
    def now(cls, tz=None):
        return dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=tz)


def test_two_corrupt_files_at_the_same_moment_are_both_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "dt", types.SimpleNamespace(datetime=FrozenClock))
    path = tmp_path / "results.json"
    for broken in ("{first", "{second"):
        path.write_text(broken)
        report.record("nb", "acc", 0.5)
    kept = sorted(tmp_path.glob("results.json.corrupt-*"))
    assert sorted(p.read_text() for p in kept) == ["{first", "{second"]
    assert [r["value"] for r in report.load(path)] == [0.5]


def test_a_read_only_results_file_is_not_replaced(tmp_path):
    path = tmp_path / "results.json"
    report.record("nb", "acc", 0.5)
    before = path.read_text()
    path.chmod(0o444)
    with pytest.raises(report.ResultsAccessError, match=f"{path} is read-only.*chmod u\\+w"):
        report.record("nb", "acc", 0.7)
    assert path.read_text() == before and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert not list(tmp_path.glob("results.json.corrupt-*"))


@pytest.mark.parametrize("foreign", ['[{"name": "x", "score": 1}]', '{"results": [{"a": 1}]}',
                                     "[1, 2]", '{"benchmarks": []}'])
def test_foreign_records_are_named_then_kept_aside(tmp_path, foreign, capsys):
    """JSON that is not this course's results is treated like a corrupt file: named by
    load(), moved aside (never lost) by record()."""
    path = tmp_path / "results.json"
    path.write_text(foreign)
    with pytest.raises(report.CorruptResultsError, match="results.json is not a valid results"):
        report.load(path)
    assert report.main([str(path)]) == 1
    report.record("nb", "acc", 0.5)
    assert "moved it to" in capsys.readouterr().out
    (kept,) = tmp_path.glob("results.json.corrupt-*")
    assert kept.read_text() == foreign
    assert "nb" in report.table(report.load(path))


def test_a_results_path_that_is_a_folder_is_one_clear_line(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    monkeypatch.setenv("DLCOURSE_RESULTS", str(folder))
    with pytest.raises(report.ResultsAccessError, match=f"{folder} is a folder"):
        report.record("nb", "acc", 0.5)
    assert report.main([str(folder)]) == 1
    assert capsys.readouterr().out.startswith(f"error: {folder} is a folder")


def test_an_unreadable_results_file_is_one_clear_line(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    report.record("nb", "acc", 0.5)
    path.chmod(0o200)

    # root reads any file, so the refusal a learner would get is simulated
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(report.Path, "read_text", refuse)
    with pytest.raises(report.ResultsAccessError, match=f"cannot read {path} .*chmod u\\+r"):
        report.load(path)
    with pytest.raises(report.ResultsAccessError, match="cannot read"):
        report.record("nb", "acc", 0.7)


def test_an_unwritable_folder_is_one_clear_line(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("DLCOURSE_RESULTS", str(blocker / "results.json"))
    with pytest.raises(report.ResultsAccessError, match="cannot write results to .*not_a_folder"):
        report.record("nb", "acc", 0.5)
    assert blocker.read_text() == ""

    # a folder without write permission (root may write anywhere, so simulated)
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setenv("DLCOURSE_RESULTS", str(tmp_path / "results.json"))
    monkeypatch.setattr(report.tempfile, "mkstemp", refuse)
    with pytest.raises(report.ResultsAccessError, match="Permission denied.*DLCOURSE_RESULTS"):
        report.record("nb", "acc", 0.5)


@pytest.mark.parametrize("value", ["abc", None, 1 + 2j, True, np.bool_(False), [0.5]])
def test_a_value_that_is_not_a_real_number_is_refused_by_name(value):
    """A bool used to be stored as 1.0, a string or None failed inside float()."""
    with pytest.raises(TypeError, match="result nb/acc must be a real number"):
        report.record("nb", "acc", value)
    assert report.load() == []


def test_records_are_locked_without_fcntl_as_on_windows(tmp_path, monkeypatch):
    """Windows has no fcntl: the results lock falls back to msvcrt.locking."""
    import sys

    calls = []
    fake = types.SimpleNamespace(LK_LOCK=1, LK_UNLCK=0,
                                 locking=lambda fd, mode, n: calls.append((mode, n)))
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl raises ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    path = tmp_path / "results.json"
    monkeypatch.setenv("DLCOURSE_RESULTS", str(path))
    report.record("00_demo", "first", 1.0, "")
    report.record("00_demo", "second", 2.0, "")
    assert calls == [(1, 1), (0, 1)] * 2
    assert [r["name"] for r in report.load(path)] == ["first", "second"]


def test_a_recorded_reference_run_is_read_and_described(tmp_path):
    assert report.reference_run("08_demo", folder=tmp_path).text("RCN") == "not recorded"
    (tmp_path / "08_demo_full.json").write_text(json.dumps({
        "date": "2026-11-30", "hardware": "2 CPU cores", "source": "a run",
        "results": {"RCN test RMSE": {"value": 1.482, "unit": "px"}}}))
    run = report.reference_run("08_demo", folder=tmp_path)
    assert run.text("RCN test RMSE") == "1.48 px"
    assert run.describe() == "full-mode reference run of 2026-11-30 on 2 CPU cores"
    (tmp_path / "08_demo_full.json").write_text('{"results": {}}')
    with pytest.raises(report.ResultsFileError, match="lacks date, hardware"):
        report.reference_run("08_demo", folder=tmp_path)


def test_the_reference_path_is_the_file_reference_run_reads(tmp_path):
    from conftest import ROOT

    assert report.reference_path("04_rnn_unrolling") == (
        ROOT / "course" / "reference" / "04_rnn_unrolling_full.json")
    path = report.reference_path("08_demo", folder=tmp_path)
    assert path.parent == tmp_path
    path.write_text(json.dumps({"date": "2026-12-08", "hardware": "h", "results": {
        "RCN test RMSE": {"value": 1.5, "unit": "px"}}}))
    assert report.reference_run("08_demo", folder=tmp_path).text("RCN test RMSE") == "1.50 px"


def test_every_shipped_reference_run_is_well_formed():
    from conftest import ROOT

    for path in sorted((ROOT / "course" / "reference").glob("*_full.json")):
        notebook = path.name.removesuffix("_full.json")
        assert (ROOT / "course" / f"{notebook}.py").exists(), f"{path.name}: no such lesson"
        assert report.reference_run(notebook).get("results"), path.name

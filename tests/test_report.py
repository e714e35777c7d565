import json
import math
import multiprocessing

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


def test_concurrent_writers_keep_every_record(tmp_path):
    """8 processes x 50 records at once: every one of the 400 survives."""
    with multiprocessing.get_context("fork").Pool(8) as pool:
        pool.starmap(_write_many, [(w, 50) for w in range(8)])
    names = {r["name"] for r in report.load()}
    assert len(names) == 400


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

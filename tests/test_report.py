import json
import math

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
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        report.load(bad)


def test_table_lists_every_result(capsys):
    report.record("01_conv", "speed-up", 1234.5, "x")
    report.record("02_backprop", "test accuracy", 0.9712, "")
    text = report.table(report.load())
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["notebook", "result", "value"]
    assert " 1234 " in text and "0.9712" in text and len(lines) == 4
    report.main([])
    assert "02_backprop" in capsys.readouterr().out

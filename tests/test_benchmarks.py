"""Every speed benchmark speaks the shared schema, states goals, and fails on a missed one."""

import ast
import importlib.util
import json

import pytest

from conftest import ROOT

SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def load(path):
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def calls(tree: ast.AST) -> set[str]:
    """Dotted names of every function called in ``tree`` (``report.print_benchmarks``...)."""
    return {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_prints_the_schema_states_a_goal_and_exits_with_its_verdict(path):
    tree = ast.parse(path.read_text())
    called = calls(tree)
    assert "report.print_benchmarks" in called, f"{path.name} does not print the shared schema"
    assert "sys.exit" in called, f"{path.name} does not exit with print_benchmarks' verdict"
    goals = [kw for node in ast.walk(tree) if isinstance(node, ast.Call)
             for kw in node.keywords if kw.arg == "goal"]
    assert goals, f"{path.name} states no goal"


@pytest.mark.slow  # half a second or more
def test_a_missed_goal_makes_the_benchmark_exit_1(monkeypatch, capsys):
    bench = load(ROOT / "benchmarks" / "capsules.py")
    assert bench.main(["--batch", "4", "--repeat", "1"]) == 0
    monkeypatch.setattr(bench, "GOAL_EINSUM_SPEEDUP", 1e9)
    assert bench.main(["--batch", "4", "--repeat", "1", "--json"]) == 1
    out = capsys.readouterr().out
    assert "GOAL MISSED" in out
    missed = [e for e in json.loads(out.splitlines()[-1])["benchmarks"] if e["met"] is False]
    assert [e["figure"] for e in missed] == ["NumPy einsum over tile + matmul, speed"]

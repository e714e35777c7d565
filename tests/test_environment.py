"""environment.yml (for conda users) pins exactly what pyproject.toml pins."""

import tomllib

import yaml

from conftest import ROOT


def test_environment_yml_matches_pyproject_pins():
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(p for p in pip_section if p != "-e .") == sorted(pins)
    assert "python=3.11" in env["dependencies"]
    assert all("==" in p for p in pins), "every dependency is pinned exactly"

"""environment.yml (conda) and requirements.lock install the same versions."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_environment_yml_lists_the_locked_versions():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    assert "quarto>=1.10" in deps  # the report source needs Quarto 1.10 or later
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    listed = dict(p.split("==") for p in pip if "==" in p)
    assert {k.lower(): v for k, v in listed.items()} == lock_pins()
    assert "-e ." in pip


def test_every_declared_dependency_is_locked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    pins = lock_pins()
    for req in declared:
        name = re.split(r"[<>=!\[ ]", req, maxsplit=1)[0].lower()
        assert name in pins, f"{name} is declared in pyproject.toml but not locked"

"""The lock files the Makefile installs from (requirements/lock.txt, integrations/rasa_action/lock.txt): every
dependency pyproject.toml asks for is pinned there, within its range, with hashes, and nothing in them makes pip
fetch a CUDA build of torch. A pyproject.toml edit without `make lock` fails here, not in someone's install."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
RASA_LOCK = ROOT / "integrations" / "rasa_action" / "lock.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\]+)", re.M)
# A pin with its hash lines: `name==version \` then `--hash=sha256:…` continuation lines.
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==\S+((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})*)", re.M)
# The CUDA build and its libraries; torch itself only as the CPU build that lies on the machines' disk.
CUDA = re.compile(r"^(nvidia-|triton==|torch==(?!2\.13\.0\b))", re.M)


def pins(lock: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(lock.read_text())}


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in [*project["dependencies"], *project["optional-dependencies"]["dev"]]]


@pytest.mark.parametrize("lock", [LOCK, RASA_LOCK], ids=["app", "rasa-action"])
def test_every_pin_has_a_hash_and_no_cuda(lock):
    entries = ENTRY.findall(lock.read_text())
    assert len(entries) == len(PIN.findall(lock.read_text())) > 10
    assert [name for name, hashes in entries if "--hash=sha256:" not in hashes] == []
    assert CUDA.findall(lock.read_text()) == []


def test_every_dependency_of_pyproject_is_pinned_within_its_range():
    locked = pins(LOCK)
    outside = {str(req): locked.get(canonicalize_name(req.name)) for req in pyproject_requirements()
               if not req.marker or req.marker.evaluate()}
    outside = {req: version for req, version in outside.items()
               if version is None or not Requirement(req).specifier.contains(version, prereleases=True)}
    assert outside == {}, "pyproject.toml and requirements/lock.txt disagree: run `make lock UPGRADE=`"


def test_the_installer_and_build_backend_are_pinned_too():
    locked = pins(LOCK)
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert "pip" in locked
    assert all(Requirement(req).specifier.contains(locked[canonicalize_name(Requirement(req).name)])
               for req in backend)


def test_the_rasa_action_lock_pins_what_its_requirements_ask_for():
    locked = pins(RASA_LOCK)
    wanted = [Requirement(line) for line in (ROOT / "integrations" / "rasa_action" / "requirements.txt")
              .read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert all(req.specifier.contains(locked.get(canonicalize_name(req.name), "0")) for req in wanted)

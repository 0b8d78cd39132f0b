"""The house rules of the harness: its rooms import only the rooms below them, each room
says what it holds (``__all__``), every exception has one root, and ruff and mypy find
nothing. The tools are configured in ``pyproject.toml``; CONTRIBUTING.md has the picture."""

import ast
import importlib
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys

import pytest

import kata
from kata.core.errors import KataError
from kata.core.layout import REPO_ROOT
from kata.instructor import release

ROOMS = ["kata.core", "kata.runs", "kata.harness", "kata.grading", "kata.learner",
         "kata.instructor"]
#: The modules kata tests import: their paths never move, and each lists its public names.
TESTS_API = ["kata.assertions", "kata.strategies", "kata.tolerances", "kata.oracles",
             "kata.mnist_data", "kata.pictures"]
MODULES = sorted(info.name for info in pkgutil.walk_packages(kata.__path__, "kata.")
                 if info.name != "kata.__main__")


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    executable = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if executable is None:
        pytest.fail(f"{name} is not installed: python install.py installs the test tools")
    return subprocess.run([executable, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")})


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_lists_its_modules_and_says_what_it_owns_and_imports(room):
    package = importlib.import_module(room)
    modules = sorted(info.name for info in pkgutil.iter_modules(package.__path__)
                     if not info.name.startswith("_"))
    # a learner's repository leaves some out (kata release): listed, but not there
    left_out = {name for name in package.__all__ if name not in modules
                and f"src/{room.replace('.', '/')}/{name}.py" in release.LEFT_OUT}
    assert sorted(set(package.__all__) - left_out) == modules
    assert "Owns:" in package.__doc__ and "May import:" in package.__doc__


@pytest.mark.parametrize("name", TESTS_API)
def test_the_kata_tests_api_lists_exactly_its_public_names(name):
    module = importlib.import_module(name)
    tree = ast.parse(inspect.getsource(module))
    defined = {node.name for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    defined |= {target.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)}
    public = {name for name in defined if not name.startswith("_")}
    assert public <= set(module.__all__), \
        f"{name} does not list {sorted(public - set(module.__all__))}"
    assert all(hasattr(module, listed) for listed in module.__all__)


def test_every_exception_of_the_harness_derives_from_kata_error():
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, BaseException) and cls.__module__ == name]
    assert found and [cls.__qualname__ for cls in found if not issubclass(cls, KataError)] == []


def test_the_rooms_import_only_the_rooms_below_them():
    checked = _tool("lint-imports", "--config", "pyproject.toml")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]


def test_ruff_finds_nothing():
    checked = _tool("ruff", "check", "src", "tests", "install.py")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]


def test_mypy_finds_nothing():
    checked = _tool("mypy")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]


def test_the_grade_schema_names_the_states_and_kinds_the_records_have():
    """The JSON schema of ``kata grade --json`` repeats the kata states: it must say exactly
    what ``KataState`` holds (one source: the enum)."""
    import json

    from kata.core.records import KataState
    from kata.grading.results import SCHEMA

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    states = schema["$defs"]["kata"]["properties"]["state"]["enum"]
    assert states == [state.value for state in KataState]

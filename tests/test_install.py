"""The set-up script (install.py at the root of the checkout): it finds an NVIDIA GPU or none,
picks torch's build from that, and falls back to pip's own torch when PyTorch's index cannot be
reached. Nothing here installs anything: the pip runner and the index probe are stand-ins."""

import importlib.util
import os
import sys

import pytest

from kata.core.layout import REPO_ROOT

_spec = importlib.util.spec_from_file_location("install", REPO_ROOT / "install.py")
install = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install)

PYTHON = sys.executable


def _fake_nvidia_smi(folder, output, status=0):
    """An ``nvidia-smi`` in ``folder`` that prints ``output`` and exits with ``status``."""
    script = folder / "nvidia-smi"
    # only shell builtins: PATH holds nothing but this folder
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{output}'\nexit {status}\n")
    script.chmod(0o755)


@pytest.fixture
def no_proc_gpus(tmp_path):
    return tmp_path / "no-such-proc-dir"


@pytest.mark.skipif(os.name != "posix", reason="the fake nvidia-smi is a shell script")
def test_an_nvidia_smi_that_lists_a_gpu_means_the_cuda_build(tmp_path, monkeypatch, no_proc_gpus):
    _fake_nvidia_smi(tmp_path, "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0000)")
    monkeypatch.setenv("PATH", str(tmp_path))
    found = install.nvidia_gpu(no_proc_gpus)
    assert found == "nvidia-smi lists GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0000)"
    assert install.choose_build(None, found) == ("cuda", found)


@pytest.mark.skipif(os.name != "posix", reason="the fake nvidia-smi is a shell script")
def test_an_nvidia_smi_without_a_driver_means_no_gpu(tmp_path, monkeypatch, no_proc_gpus):
    _fake_nvidia_smi(tmp_path, "NVIDIA-SMI has failed because it could not communicate with the "
                               "NVIDIA driver.", status=9)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert install.nvidia_gpu(no_proc_gpus) is None


def test_without_nvidia_smi_or_a_driver_the_cpu_build_is_chosen(tmp_path, monkeypatch,
                                                                no_proc_gpus):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no nvidia-smi
    assert install.nvidia_gpu(no_proc_gpus) is None
    build, reason = install.choose_build(None, None)
    assert build == "cpu" and "no NVIDIA GPU found" in reason


def test_a_gpu_listed_by_the_driver_is_found_without_nvidia_smi(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    gpus = tmp_path / "gpus"
    (gpus / "0000:01:00.0").mkdir(parents=True)
    assert install.nvidia_gpu(gpus) == f"the NVIDIA driver lists a GPU in {gpus}"


def test_the_command_line_overrides_the_detection():
    assert install.choose_build("cpu", "nvidia-smi lists GPU 0")[0] == "cpu"
    assert install.choose_build("cuda", None) == ("cuda", "you asked for it (--cuda)")


def _install(argv, *, reachable=lambda url: None, gpu=None, system="Linux"):
    """Run the script's main with stand-ins; its exit status and the command lines it ran."""
    ran = []
    status = install.main(argv, runner=lambda line: ran.append(list(line)) or 0,
                          reachable=reachable, gpu=lambda: gpu, system=system)
    return status, ran


def test_cpu_build_comes_from_pytorchs_cpu_index_then_the_project(capsys):
    status, ran = _install([])
    assert status == 0
    assert ran[0] == [PYTHON, "-m", "pip", "install", f"torch=={install.TORCH_VERSION}",
                      "-c", str(install.LOCK), "--index-url", "https://download.pytorch.org/whl/cpu"]
    assert ran[1] == [PYTHON, "-m", "pip", "install", "-c", str(install.LOCK), "-e",
                      f"{REPO_ROOT}[test]"]
    assert ran[2][:2] == [PYTHON, "-c"]  # says which build is installed
    out = capsys.readouterr().out
    assert "the CPU build: no NVIDIA GPU found" in out and "Type `kata`" in out


def test_cuda_build_on_linux_comes_from_pips_own_index(capsys):
    _, ran = _install(["--extras", "test,notebook"], gpu="nvidia-smi lists GPU 0: X")
    assert ran[0] == [PYTHON, "-m", "pip", "install", f"torch=={install.TORCH_VERSION}",
                      "-c", str(install.LOCK)]
    assert ran[1][-1] == f"{REPO_ROOT}[test,notebook]"
    assert "the CUDA build: nvidia-smi lists GPU 0: X" in capsys.readouterr().out


def test_cuda_build_on_windows_comes_from_pytorchs_cuda_index():
    _, ran = _install(["--cuda"], system="Windows")
    assert ran[0][-2:] == ["--index-url", install.WINDOWS_CUDA_INDEX]


def test_an_unreachable_index_falls_back_to_pips_torch_and_says_so(capsys):
    status, ran = _install(["--cpu"], reachable=lambda url: "URLError: no network")
    assert status == 0
    assert ran[0] == [PYTHON, "-m", "pip", "install", f"torch=={install.TORCH_VERSION}",
                      "-c", str(install.LOCK)]
    out = capsys.readouterr().out
    assert ("PyTorch's index https://download.pytorch.org/whl/cpu cannot be reached "
            "(URLError: no network). Falling back to the torch") in out


def test_a_failing_step_stops_the_install(capsys):
    ran = []
    status = install.main([], runner=lambda line: ran.append(line) or 1,
                          reachable=lambda url: None, gpu=lambda: None, system="Linux")
    assert status == 1 and len(ran) == 1
    assert "That step failed (exit status 1)" in capsys.readouterr().out


def test_a_dry_run_prints_the_command_lines_and_runs_nothing(capsys):
    status, ran = _install(["--dry-run"])
    out = capsys.readouterr().out
    assert status == 0 and ran == []
    assert f"$ {PYTHON} -m pip install torch=={install.TORCH_VERSION} -c {install.LOCK} " \
           f"--index-url" in out
    assert "Dry run: nothing was installed." in out


@pytest.mark.skipif(not (REPO_ROOT / ".ci" / "run").exists(),
                    reason="the instructor's CI, which a learner's repository leaves out")
def test_ci_installs_through_the_readmes_set_up_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "python install.py" in readme and "python install.py" in ci


def test_the_lock_pins_every_package_of_the_test_environment_and_torchs_release():
    """Every distribution that the project's test and notebook extras pull in (followed
    through their own requirements) has one exact version in the lock, and torch's is the
    release that install.py installs (the lock is its one source)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    pinned = {}
    for line in install.LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version and "+" not in version, line
            pinned[_normal(name)] = version
    assert pinned["torch"] == install.TORCH_VERSION
    pending, seen = [("tensor-katas", ("test", "notebook"))], set()
    while pending:
        name, extras = pending.pop()
        if _normal(name) in seen:
            continue
        seen.add(_normal(name))
        for text in metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or any(requirement.marker.evaluate({"extra": extra})
                                                 for extra in ("", *extras)):
                pending.append((requirement.name, tuple(requirement.extras)))
    missing = sorted(seen - {"tensor-katas", "setuptools"} - pinned.keys())
    assert not missing, f"not in {install.LOCK.name}: {missing}"


def _normal(name: str) -> str:
    import re
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_is_what_this_environment_runs():
    """The suite runs with the locked versions (install.py put them here): a test that
    compares a library's wording compares the locked library's."""
    from importlib import metadata

    for line in install.LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue  # a package of an extra that this environment did not install
            assert installed.split("+")[0] == version, f"{name} {installed}, locked {version}"

"""Benchmarks, measured side by side in one run: ``python -m kata.instructor.bench``.

Three tables, each figure repeated (median, and the spread from fastest to slowest):

1. **The matmul ladder** on the lesson's shapes (a 5 x 784 batch times 784 x 10 weights, and
   the whole 60,000 x 784 training set where time and memory allow): the Python triple loop,
   row times column with ``sum``, the reference ``matmul`` of kata 03 (broadcasting), and
   ``torch.matmul``, each with its speed-up over the slowest rung run.
2. **An epoch** of MNIST logistic regression, batch size 64, with the reference pieces
   (Dataset, DataLoader, LogReg, nll_loss, SGD and fit from ``solutions/``) against the
   idiomatic PyTorch pipeline (``TensorDataset``, ``torch.utils.data.DataLoader``,
   ``nn.Linear``, ``torch.optim.SGD``), in alternation after one untimed run of each: their
   ratio, and the test accuracy each reached.
3. **Feedback time**: the wall time of ``pytest katas/NN --solutions`` for each kata beside
   the floor (``python -c "import torch"``), and of the repository's full check (``pytest``).
4. **The learner's loop** in a scratch copy of the checkout (katas solved, except with
   ``--tiny``), beside the same floor: ``kata run 03`` with the warm worker up, a save seen by
   ``kata watch`` until its verdict is printed, the board with nothing changed and with one
   kata changed; and ``pytest katas/08_mnist --solutions`` on a quiet machine and with one
   busy process per core beside it (the benchmark starts and stops them), with the harness's
   thread choice and with torch's default of one thread per core.

    python -m kata.instructor.bench                    # on CUDA when there is one, else the CPU
    python -m kata.instructor.bench --device cpu --repeats 7 --json bench.json
    python -m kata.instructor.bench --skip-full-check  # the full check alone takes minutes
    python -m kata.instructor.bench --tiny             # seconds: small shapes, 2 repeats
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kata.core.devices import CHOICES, chosen_device
from kata.core.layout import REPO_ROOT, clone_checkout
from kata.core.lesson import BATCH_SIZE, LEARNING_RATE, MOMENTUM
from kata.core.manifest import Kata, load_manifest
from kata.harness.loader import import_kata
from kata.instructor import run_profile
from kata.mnist_data import load_mnist
from kata.runs.threads import usable_cores

#: Python iterations a ladder rung may take; past it, the rung is skipped (minutes or hours)
LOOP_LIMIT = 1_000_000
#: the environment of a run measured as a new process: plain pytest then never hands its run
#: to a warm worker of the checkout (kata.harness.handover)
FRESH = {"KATA_WORKER": "off"}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reference_parts(pieces, x, y, device):
    """The reference pipeline's model, loss, optimizer and batches (katas 05-07)."""
    dataloader, module, training = pieces
    model = module.LogReg().to(device)
    loader = dataloader.DataLoader(dataloader.Dataset(x, y), batch_size=BATCH_SIZE, shuffle=True,
                                   generator=torch.Generator().manual_seed(0))
    opt = training.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    return model, training.nll_loss, opt, loader


def idiomatic_parts(x, y, device):
    """The same, the way the PyTorch tutorials write it."""
    model = nn.Linear(784, 10).to(device)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                         batch_size=BATCH_SIZE, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    return model, nn.functional.cross_entropy, opt, loader


def reference_epoch(pieces, x, y, device):
    """One epoch with the reference pieces, through kata 07's ``fit``; the trained model."""
    model, loss_fn, opt, loader = reference_parts(pieces, x, y, device)
    with contextlib.redirect_stdout(io.StringIO()):
        pieces[2].fit(model, loss_fn, opt, loader, epochs=1, log_every=0)
    return model


def idiomatic_epoch(x, y, device):
    """One epoch of the idiomatic pipeline; the trained model."""
    model, loss_fn, opt, loader = idiomatic_parts(x, y, device)
    for xb, yb in loader:
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    return model


STAGES = ("batches (data loading)", "forward and loss", "backward", "optimizer step")


def staged_epoch(parts, stages: int) -> None:
    """An epoch that does only the first ``stages`` of ``STAGES`` for each batch."""
    model, loss_fn, opt, loader = parts
    for xb, yb in loader:
        if stages >= 2:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
        if stages >= 3:
            loss.backward()
        if stages >= 4:
            opt.step()


def epoch_profile(pieces, x, y, device, repeats: int) -> dict:
    """Where an epoch's time goes, per pipeline: each stage's cost is the fastest epoch
    that stops after it minus the fastest that stops before it."""
    makers = {"reference": lambda: reference_parts(pieces, x, y, device),
              "idiomatic": lambda: idiomatic_parts(x, y, device)}
    profile = {}
    for name, make in makers.items():
        previous, costs = 0.0, {}
        for stages in range(1, len(STAGES) + 1):
            fastest = min(_timed(lambda s=stages, m=make: staged_epoch(m(), s), device, repeats,
                                 budget=0))
            costs[STAGES[stages - 1]] = fastest - previous
            previous = fastest
        profile[name] = costs
    return profile


def _accuracy(model, x, y) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).double().mean().item()


def epoch_comparison(device: torch.device, repeats: int, limit: int | None) -> dict:
    """Time both pipelines ``repeats`` times each, alternating, on the first ``limit``
    training images (all of them when None)."""
    torch.manual_seed(0)
    x, y = load_mnist("train")
    xt, yt = load_mnist("test")
    mean, std = x.mean(), x.std()
    x, xt = (x - mean) / std, (xt - mean) / std
    if limit:
        x, y = x[:limit], y[:limit]
    x, y, xt, yt = x.to(device), y.to(device), xt.to(device), yt.to(device)
    manifest = load_manifest()
    pieces = [import_kata(manifest.kata(name), REPO_ROOT / "solutions")
              for name in ("06_dataloader", "05_module", "07_training_loop")]
    runs = {"reference": lambda: reference_epoch(pieces, x, y, device),
            "idiomatic": lambda: idiomatic_epoch(x, y, device)}
    for run in runs.values():  # untimed: one-time costs (torch.optim imports its compiler)
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    accuracy = {}
    for _ in range(repeats):
        for name, run in runs.items():
            _synchronize(device)
            start = time.perf_counter()
            model = run()
            _synchronize(device)
            times[name].append(time.perf_counter() - start)
            accuracy[name] = _accuracy(model, xt, yt)
    result = {name: {**_spread(t), "test_accuracy": accuracy[name]} for name, t in times.items()}
    result["ratio"] = result["reference"]["median_s"] / result["idiomatic"]["median_s"]
    result["profile_s"] = epoch_profile(pieces, x, y, device, repeats)
    return result


def _spread(times: list[float]) -> dict:
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def _timed(function, device: torch.device, repeats: int, budget: float = 0.05) -> list[float]:
    """Seconds per call of ``function``, ``repeats`` times: each figure is the mean of as many
    calls as fill ``budget`` seconds (at least one), so that microsecond rungs are not
    measured by the clock's resolution."""
    _synchronize(device)
    start = time.perf_counter()
    function()
    _synchronize(device)
    once = time.perf_counter() - start
    calls = max(1, int(budget / max(once, 1e-9)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        _synchronize(device)
        times.append((time.perf_counter() - start) / calls)
    return times


def loop_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The lesson's first matmul: three Python loops over tensor elements."""
    rows, inner = a.shape
    columns = b.shape[1]
    c = torch.zeros(rows, columns, device=a.device)
    for i in range(rows):
        for j in range(columns):
            for k in range(inner):
                c[i, j] += a[i, k] * b[k, j]
    return c


def row_column_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Two Python loops, the innermost one replaced by an element-wise product and ``sum``."""
    c = torch.zeros(a.shape[0], b.shape[1], device=a.device)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            c[i, j] = (a[i] * b[:, j]).sum()
    return c


def _free_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        available = next(line for line in meminfo.read_text().splitlines()
                         if line.startswith("MemAvailable"))
        return int(available.split()[1]) * 1024
    return 0


def matmul_ladder(device: torch.device, repeats: int, full_rows: int | None) -> list[dict]:
    """Each rung's time on a (5, 784) batch and, with ``full_rows``, on (full_rows, 784),
    times (784, 10) weights. A rung is skipped, with the reason, where its loop would run
    for minutes or its (rows, 784, 10) broadcast product would not fit in memory."""
    reference = import_kata(load_manifest().kata("03_matmul"), REPO_ROOT / "solutions")
    generator = torch.Generator().manual_seed(0)
    weights = torch.randn(784, 10, generator=generator).to(device)
    rungs = {"Python triple loop": loop_matmul, "row times column, sum": row_column_matmul,
             "reference matmul (broadcast)": reference.matmul, "torch.matmul": torch.matmul}
    results = []
    for rows in [5] + ([full_rows] if full_rows else []):
        batch = torch.randn(rows, 784, generator=generator).to(device)
        expected = torch.matmul(batch, weights)
        measured = []
        for name, function in rungs.items():
            entry: dict[str, Any] = {"rows": rows, "rung": name}  # a row of the JSON report
            iterations = {"Python triple loop": rows * 784 * 10,
                          "row times column, sum": rows * 10}.get(name, 0)
            product_bytes = rows * 784 * 10 * batch.element_size()
            if iterations > LOOP_LIMIT:
                entry["skipped"] = (f"{iterations:,} Python iterations would run for minutes "
                                    f"or hours")
            elif name.startswith("reference") and 2 * product_bytes > _free_bytes(device):
                entry["skipped"] = (f"its {rows} x 784 x 10 product needs "
                                    f"{product_bytes / 1e9:.1f} GB")
            else:
                result = function(batch, weights)
                torch.testing.assert_close(result, expected, rtol=1e-4, atol=1e-4)
                slow = iterations > 100_000  # seconds a call: once is enough
                entry.update(_spread(_timed(lambda f=function, a=batch: f(a, weights), device,
                                            1 if slow else repeats)))
                measured.append(entry)
            results.append(entry)
        baseline = max(measured, key=lambda entry: entry["median_s"])
        for entry in measured:
            entry["speedup"] = baseline["median_s"] / entry["median_s"]
            entry["baseline"] = baseline["rung"]
    return results


def _wall(command: list[str], environment: dict[str, str] | None = None,
          cwd: Path = REPO_ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=False,
                   env={**os.environ, **(environment or {})})
    return time.perf_counter() - start


def feedback_times(repeats: int, katas: list[str], full_check: bool) -> dict:
    """Wall times of ``python -c "import torch"`` (the floor), of ``pytest katas/NN
    --solutions`` for each kata, and of the full check (one run: it takes minutes)."""
    pytest_command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    floor = [_wall([sys.executable, "-c", "import torch"]) for _ in range(repeats)]
    result = {"floor": _spread(floor), "katas": {}}
    for kata in katas:  # new processes: never handed to a worker this checkout may have
        times = [_wall([*pytest_command, f"katas/{kata}", "--solutions"], FRESH)
                 for _ in range(repeats)]
        result["katas"][kata] = _spread(times)
        result["katas"][kata]["ratio"] = (result["katas"][kata]["median_s"]
                                          / result["floor"]["median_s"])
    if full_check:
        result["full_check"] = _spread([_wall([*pytest_command, "--hypothesis-profile=ci"], FRESH)])
    return result


def _scratch_checkout(target: Path, solved: bool) -> Path:
    """A clone of this checkout to measure the learner's loop in, its katas solved (the
    reference solutions copied in) or untouched stubs."""
    clone_checkout(REPO_ROOT, target)
    if solved:
        for kata in load_manifest().katas:
            shutil.copy2(kata.path_in(target / "solutions"), kata.path_in(target / "katas"))
    return target


def _save(path: Path, text: str | None = None) -> None:
    """What an editor's save does to ``path``: ``text`` (the file as it was, by default) with
    a new comment at the end, so that the file changes each time."""
    text = path.read_text(encoding="utf-8") if text is None else text
    path.write_text(text + f"\n# saved at {time.time()}\n", encoding="utf-8")


def _lines_of(process: subprocess.Popen) -> queue.Queue:
    """(time, line) for each line the process prints, as it prints it."""
    lines: queue.Queue = queue.Queue()
    assert process.stdout is not None, "the process prints to a pipe (stdout=PIPE)"
    output = process.stdout

    def read() -> None:
        for line in output:
            lines.put((time.perf_counter(), line))
    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue, text: str, seconds: float = 600) -> tuple[float, str]:
    """When the first line holding ``text`` came, and the line."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        when, line = lines.get(timeout=max(0.0, deadline - time.perf_counter()))
        if text in line:
            return when, line
    raise TimeoutError(f"no {text!r} within {seconds} s")


def _first_line_and_end(command: list[str], text: str, env: dict, cwd: Path) -> tuple[float, float]:
    """Seconds until ``command`` printed its first line holding ``text``, and until it ended."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env={**os.environ, **env})
    lines = _lines_of(process)
    first = _wait_for(lines, text)[0] - start
    process.wait(timeout=600)
    return first, time.perf_counter() - start


def _mistake(kata: Kata, root: Path) -> str:
    """``kata``'s module with its first cataloged mistake laid over the solution: a save
    that fails (the catalog: kata.instructor.catalog)."""
    from kata.instructor.catalog import load_catalog

    variants, imports = load_catalog()[kata.folder]
    first = next(variant for variant in variants if variant.kind == "mistake")
    return first.module_text(kata.path_in(root / "solutions").read_text(encoding="utf-8"), imports)


def watch_times(kata_command: list[str], kata: Kata, root: Path, saves: list[tuple[str, str]],
                env: dict) -> list[tuple[float, float]]:
    """For each (text, verdict) of ``saves``, while ``kata watch`` runs: ``text`` saved as
    ``kata``'s module, then the seconds until the first line of its run, and until the line
    holding ``verdict``."""
    process = subprocess.Popen([*kata_command, "watch", kata.folder], cwd=root, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=env)
    try:
        lines = _lines_of(process)
        _wait_for(lines, f"Watching katas/{kata.folder}")
        times = []
        for text, verdict in saves:
            time.sleep(0.5)  # as a learner would: the watch is idle when the save comes
            saved = time.perf_counter()
            _save(kata.path_in(root / "katas"), text)
            first, line = _wait_for(lines, f"{kata.folder}: ")
            last = first if verdict in line else _wait_for(lines, verdict)[0]
            times.append((first - saved, last - saved))
            _wait_for(lines, f"Watching katas/{kata.folder}")
        assert process.stdin is not None  # Popen(stdin=PIPE) above
        process.stdin.write("q\n")
        process.stdin.flush()
        process.wait(timeout=30)
        return times
    finally:
        process.kill()


#: the kata whose edit the board's row measures: kata 08 uses it
UPSTREAM = "05"


def learner_loop(repeats: int, kata_name: str, solved: bool, whole: bool = True) -> dict:
    """Wall times of the learner's commands in a scratch checkout, each repetition beside
    the floor, ``python -c "import torch"`` (see the module's doc); without ``whole``, only
    the first ``kata run`` and ``kata run`` with the worker up. Under ``profile``, where a
    warm run's time goes there (``warm_profile``)."""
    kata = load_manifest().kata(kata_name)
    with tempfile.TemporaryDirectory() as scratch:
        root = _scratch_checkout(Path(scratch), solved)
        env = {"PYTHONPATH": str(root / "src")}
        command = [sys.executable, "-m", "kata", "--root", str(root)]
        module = kata.path_in(root / "katas")
        solution = module.read_text(encoding="utf-8")
        rows: dict[str, list[float]] = {}

        def measure(name: str, seconds: float) -> None:
            rows.setdefault(name, []).append(seconds)
        _wall([*command, "stop"], env)
        try:
            measure("first_run", _wall([*command, "run", kata.folder], env, root))
            for _ in range(repeats):
                measure("floor", _wall([sys.executable, "-c", "import torch"]))
                _save(module)
                first, total = _first_line_and_end([*command, "run", kata.folder],
                                                   f"{kata.folder}: ", env, root)
                measure("run_first" if solved else "run_failing", first)
                if solved:
                    measure("run_done", total)
                if not whole:
                    continue
                pytest_command = [sys.executable, "-m", "pytest", f"katas/{kata.folder}", "-q"]
                measure("pytest_warm", _wall(pytest_command, env, root))
                measure("pytest_fresh", _wall(pytest_command, {**env, **FRESH}, root))
                _save(module, _mistake(kata, root))
                measure("run_failing", _wall([*command, "run", kata.folder], env, root))
                _save(module, solution)
                _wall(command, env, root)  # the board learns every kata's verdict
                measure("board_unchanged", _wall(command, env, root))
                upstream = load_manifest().kata(UPSTREAM)
                _save(upstream.path_in(root / "katas"))
                measure("board_upstream", _wall(command, env, root))
                measure("upstream_warm", _wall([sys.executable, "-m", "pytest",
                                                f"katas/{upstream.folder}", "-q"], env, root))
            if whole:
                saves = [(_mistake(kata, root), f"{kata.folder}: failing"),
                         (solution, f"{kata.folder}: done")] * repeats
                watched = watch_times(command, kata, root, saves, {**os.environ, **env})
                for first, _ in watched[0::2]:
                    measure("watch_failing", first)
                for first, done in watched[1::2]:
                    measure("watch_first", first)
                    measure("watch_done", done)
            # the worker is up: every run is warm; the kata is as it was set up, saved again
            profile = warm_profile(kata, root, repeats, solved)
        finally:
            _wall([*command, "stop"], env)
    result: dict = {name: _spread(times) for name, times in rows.items()}
    result["kata"], result["profile"] = kata.folder, profile
    return result


def warm_profile(kata, root: Path, repeats: int, solved: bool) -> dict:
    """Where a warm run's time goes: ``pytest katas/KATA`` (every example of every test) in
    a fork of the worker of the scratch checkout ``root``, ``repeats`` times, split by
    ``kata.instructor.run_profile`` (medians of each part), and the modules the run had to
    import (the worker imported all others before it forked)."""
    from kata.runs import worker

    environment = {**os.environ, "PYTHONPATH": str(root / "src")}
    report, imported = root / ".kata" / "profile.json", root / ".kata" / "imported"
    report.parent.mkdir(exist_ok=True)
    args = [f"katas/{kata.folder}", "-q", "-p", "kata.instructor.run_profile",
            "--kata-profile", str(report)]
    parts: dict[str, list[float]] = {}
    for _ in range(repeats):
        start = time.time()
        worker.run_forked(root, args, environment=environment, timeout=600, memory_limit=None,
                          output=root / ".kata" / "profiled", imports=imported)
        for name, seconds in run_profile.phases(json.loads(report.read_text()), start,
                                                time.time()).items():
            parts.setdefault(name, []).append(seconds)
    return {"kata": kata.folder, "solved": solved,
            "parts": {name: statistics.median(times) for name, times in parts.items()},
            "imported": imported.read_text(encoding="utf-8").split()}


@contextlib.contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """``count`` processes that keep one core busy each, for as long as the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5)  # they are running before the measured command starts
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def thread_storm(kata: str) -> dict:
    """``pytest katas/KATA --solutions`` quiet and beside one busy process per core, with the
    harness's thread choice and with torch's default (one thread per core)."""
    cores = usable_cores()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"katas/{kata}",
               "--solutions"]
    torch_default = {**FRESH, "OMP_NUM_THREADS": str(cores)}
    result = {"kata": kata, "cores": cores,
              "quiet_chosen": _wall(command, FRESH),
              "quiet_torch_default": _wall(command, torch_default)}
    with busy_cores(cores):
        result["busy_chosen"] = _wall(command, FRESH)
        result["busy_torch_default"] = _wall(command, torch_default)
    return result


def machine(device: torch.device) -> str:
    """The processor (or GPU) the figures were measured on."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
                 platform.processor() or platform.machine()) if Path("/proc/cpuinfo").exists() \
        else platform.processor() or platform.machine()
    return f"{model}, {torch.get_num_threads()} threads"


def table(report: dict) -> str:
    """The report as text tables."""
    lines = [f"On {report['device']} ({report['machine']}), torch {report['torch']}, "
             f"{report['repeats']} runs of each figure (median, fastest, slowest):", ""]
    if "matmul" in report:
        lines.append("Matmul ladder: (rows x 784) times (784 x 10)")
        lines.append(f"  {'rows':>6}  {'rung':<29} {'median':>11} {'fastest':>11} "
                     f"{'slowest':>11}  speed-up")
        for entry in report["matmul"]:
            if "skipped" in entry:
                lines.append(f"  {entry['rows']:>6}  {entry['rung']:<29} "
                             f"skipped: {entry['skipped']}")
                continue
            lines.append(f"  {entry['rows']:>6}  {entry['rung']:<29} "
                         f"{_seconds(entry['median_s'])} "
                         f"{_seconds(entry['min_s'])} {_seconds(entry['max_s'])}  "
                         f"{entry['speedup']:>9,.0f}x")
        lines.append("  (speed-up over the slowest rung run for the same rows)")
        lines.append("")
    if "epoch" in report:
        epoch = report["epoch"]
        lines.append(f"One epoch of MNIST logistic regression, batch size {BATCH_SIZE}, "
                     f"{report['images']} images:")
        lines.append(f"  {'pipeline':<11} {'median':>9} {'fastest':>9} {'slowest':>9} "
                     f"{'accuracy':>9}")
        for name in ("reference", "idiomatic"):
            row = epoch[name]
            lines.append(f"  {name:<11} {row['median_s']:>8.3f}s {row['min_s']:>8.3f}s "
                         f"{row['max_s']:>8.3f}s {row['test_accuracy']:>9.4f}")
        lines.append(f"  reference / idiomatic: {epoch['ratio']:.2f} of the time "
                     f"({1 / epoch['ratio']:.1f}x faster)")
        lines.append(f"  where the time goes (fastest epoch, stage by stage):  "
                     f"{'reference':>9} {'idiomatic':>9}")
        for stage in STAGES:
            lines.append(f"    {stage:<51} {epoch['profile_s']['reference'][stage]:>8.3f}s "
                         f"{epoch['profile_s']['idiomatic'][stage]:>8.3f}s")
        lines.append("")
    if "feedback" in report:
        feedback = report["feedback"]
        floor = feedback["floor"]["median_s"]
        lines.append(f"Feedback time (wall, seconds): floor `python -c \"import torch\"` "
                     f"{floor:.2f} s")
        lines.append(f"  {'run':<42} {'median':>7} {'fastest':>8} {'slowest':>8} {'x floor':>8}")
        for kata, row in feedback["katas"].items():
            lines.append(f"  {'pytest katas/' + kata + ' --solutions':<42} {row['median_s']:>7.2f} "
                         f"{row['min_s']:>8.2f} {row['max_s']:>8.2f} {row['ratio']:>8.2f}")
        if "learner_loop" in feedback:
            lines += ["", *_learner_loop_table(feedback["learner_loop"])]
        if "warm_profile" in feedback:
            beside = feedback.get("learner_loop", feedback)["floor"]["median_s"]
            lines += ["", *_profile_table(feedback["warm_profile"], beside)]
        if "thread_storm" in feedback:
            lines += ["", *_storm_table(feedback["thread_storm"])]
        if "full_check" in feedback:
            lines.append(f"  {'pytest --hypothesis-profile=ci (full check)':<42} "
                         f"{feedback['full_check']['median_s']:>7.1f}   (one run)")
    return "\n".join(lines).rstrip()


#: the learner's loop, row by row: (key, label, target in floors; None: none, or one that
#: compares with another figure, written out in ``_learner_loop_table``). Issue 19's targets.
_LOOP_ROWS = (
    ("pytest_fresh", "pytest katas/{kata}, a new process", 1.2),
    ("pytest_warm", "pytest katas/{kata}, worker up", 1.2),
    ("first_run", "kata run {kata} (starts the worker)", None),
    ("run_failing", "kata run {kata}, a failing save", 0.3),
    ("run_first", "kata run {kata}, solved: quick check passes", 0.3),
    ("run_done", "kata run {kata}, solved: done (every example)", None),
    ("watch_failing", "kata watch: failing save to verdict", 0.4),
    ("watch_first", "kata watch: solved save, quick check passes", 0.4),
    ("watch_done", "kata watch: solved save to done", None),
    ("board_unchanged", "kata (board), nothing changed", 0.2),
    ("board_upstream", f"kata (board), {UPSTREAM} changed (08 to re-check)", None),
    ("upstream_warm", f"pytest katas/{UPSTREAM}, worker up (its warm run)", None),
)


def _learner_loop_table(loop: dict) -> list[str]:
    floor = loop["floor"]["median_s"]
    lines = [f"The learner's loop (wall, seconds), {loop['kata']}, each repetition beside the "
             f"floor (python -c \"import torch\", median {floor:.2f} s):",
             f"  {'command':<50} {'median':>7} {'fastest':>8} {'slowest':>8} {'x floor':>8}"
             f"  target"]
    for key, label, target in (row for row in _LOOP_ROWS if row[0] in loop):
        row = loop[key]
        if key == "board_upstream" and "upstream_warm" in loop:
            limit = loop["upstream_warm"]["median_s"] + 0.1 * floor
            goal = f"<= {limit:.2f} s (warm run of {UPSTREAM} + 0.1 floor)"
        else:
            goal = f"<= {target:g}" if target is not None else ""
        lines.append(f"  {label.format(kata=loop['kata'][:2]):<50} {row['median_s']:>7.2f} "
                     f"{row['min_s']:>8.2f} {row['max_s']:>8.2f} {row['median_s'] / floor:>8.2f}"
                     f"  {goal}")
    return lines


def _profile_table(profile: dict, floor: float) -> list[str]:
    """Where one warm run's time goes, part by part, beside the floor."""
    parts = profile["parts"]
    total = sum(parts.values())
    state = "solved" if profile["solved"] else "as stubs"
    lines = [f"Where a warm run's time goes: pytest katas/{profile['kata']} ({state}, every "
             f"example) in a fork of the worker, medians (kata.instructor.run_profile):",
             f"  {'part':<68} {'seconds':>8} {'x floor':>8}"]
    lines += [f"  {name:<68} {seconds:>8.3f} {seconds / floor:>8.3f}"
              for name, seconds in parts.items()]
    lines.append(f"  {'all of it':<68} {total:>8.3f} {total / floor:>8.3f}")
    of_torch = [name for name in profile["imported"] if name.split(".")[0] in ("torch", "sympy")]
    lines.append(f"  the run imported {len(profile['imported'])} modules, "
                 f"{len(of_torch)} of them torch's or sympy's: {', '.join(profile['imported'])}")
    return lines


def _storm_table(storm: dict) -> list[str]:
    quiet, busy = storm["quiet_chosen"], storm["busy_chosen"]
    return [f"pytest katas/{storm['kata']} --solutions, {storm['cores']} cores "
            f"(wall, seconds, one run each):",
            f"  {'':<34} {'quiet':>7} {'busy':>7} {'busy/quiet':>11}",
            f"  {'threads chosen by the harness':<34} {quiet:>7.2f} {busy:>7.2f} "
            f"{busy / quiet:>11.2f}  (target <= 2)",
            f"  {'torch default, one per core':<34} {storm['quiet_torch_default']:>7.2f} "
            f"{storm['busy_torch_default']:>7.2f} {storm['busy_torch_default'] / quiet:>11.2f}",
            "  (busy: one process per core spinning beside it, started and stopped by the "
            "benchmark)"]


def _seconds(value: float) -> str:
    """A duration in the unit that suits it, 11 characters wide."""
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale or unit == "us":
            return f"{value / scale:>8.2f} {unit:<2}"
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kata.instructor.bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=CHOICES, default="auto")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each figure (default 5)")
    parser.add_argument("--tiny", action="store_true",
                        help="a quick check that the benchmark runs: small shapes and slices, "
                             "2 repeats, kata 01 only for feedback (kata run once on its stubs "
                             "for the learner's loop), no full check, no exam beside busy cores")
    parser.add_argument("--skip-full-check", action="store_true",
                        help="leave out the full repository check (it takes minutes)")
    parser.add_argument("--skip-storm", action="store_true",
                        help="leave out kata 08 beside busy processes (four runs of the exam)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--grading", action="store_true",
                        help="only what grading costs (kata.instructor.grading_cost): a class "
                             "graded with the warm grader and without, and each kata graded "
                             "boxed and unboxed, in turns")
    parser.add_argument("--learners", type=int, default=30,
                        help="with --grading: the learners of the class (default 30)")
    parser.add_argument("--skip-box-cost", action="store_true",
                        help="with --grading: leave out each kata graded boxed and unboxed")
    args = parser.parse_args(argv)
    if args.grading:
        from kata.instructor import grading_cost
        graded = load_manifest().katas[:1 if args.tiny else None]
        repeats = 1 if args.tiny else args.repeats
        cost = grading_cost.class_cost(graded, 1 if args.tiny else args.learners, repeats)
        grading: dict[str, object] = {"class": cost}
        print(grading_cost.class_table(cost))
        if not args.skip_box_cost:
            box = grading["box"] = grading_cost.sandbox_cost(graded, repeats)
            print(grading_cost.table(box, repeats))
        if args.json:
            Path(args.json).write_text(json.dumps(grading, indent=1), encoding="utf-8")
        return 0
    device = chosen_device(args.device)
    repeats, limit = (2, 2048) if args.tiny else (args.repeats, None)
    katas = [kata.folder for kata in load_manifest().katas][:1 if args.tiny else None]
    report: dict[str, Any] = {  # the figures, as JSON
        "device": str(device), "machine": machine(device), "repeats": repeats,
        "images": limit or 60000, "torch": torch.__version__,
        "matmul": matmul_ladder(device, repeats, None if args.tiny else 60000),
        "epoch": epoch_comparison(device, repeats, limit),
        "feedback": feedback_times(repeats, katas, not (args.tiny or args.skip_full_check))}
    # the tiny run: kata run on kata 01's stubs, once; no board, watch or exam beside busy cores
    loop = learner_loop(1 if args.tiny else repeats, "01" if args.tiny else "03",
                        solved=not args.tiny, whole=not args.tiny)
    report["feedback"]["warm_profile"] = loop.pop("profile")
    report["feedback"]["learner_loop"] = loop
    if not (args.tiny or args.skip_storm):
        report["feedback"]["thread_storm"] = thread_storm("08_mnist")
    print(table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmarks, measured side by side in one run: ``python -m kata.bench``.

For now one figure, the one the final kata is built on: an epoch of MNIST logistic
regression with the reference pieces (Dataset, DataLoader, LogReg, nll_loss, SGD and fit
from ``solutions/``) against the idiomatic PyTorch pipeline (``TensorDataset``,
``torch.utils.data.DataLoader``, ``nn.Linear``, ``torch.optim.SGD``): same data, batch size,
learning rate, momentum and device. The two run in alternation, several times each; the
table gives the median and the spread (fastest to slowest) of each, their ratio, and the
test accuracy each reached after its first epoch.

    python -m kata.bench                    # on CUDA when there is one, else the CPU
    python -m kata.bench --device cpu --repeats 7 --json bench.json
    python -m kata.bench --tiny             # seconds: a small slice of MNIST, 2 repeats
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from kata.loader import import_kata
from kata.manifest import REPO_ROOT, load_manifest
from kata.mnist_data import load_mnist

BATCH_SIZE, LEARNING_RATE, MOMENTUM = 64, 0.005, 0.9


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reference_epoch(pieces, x, y, device):
    """One epoch with the reference pieces; returns the trained model."""
    dataloader, module, training = pieces
    model = module.LogReg().to(device)
    loader = dataloader.DataLoader(dataloader.Dataset(x, y), batch_size=BATCH_SIZE, shuffle=True,
                                   generator=torch.Generator().manual_seed(0))
    opt = training.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    with contextlib.redirect_stdout(io.StringIO()):
        training.fit(model, training.nll_loss, opt, loader, epochs=1, log_every=0)
    return model


def idiomatic_epoch(x, y, device):
    """One epoch the way the PyTorch tutorials write it; returns the trained model."""
    model = nn.Linear(784, 10).to(device)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH_SIZE,
                                         shuffle=True, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    for xb, yb in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    return model


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
    result = {name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t),
                     "test_accuracy": accuracy[name]} for name, t in times.items()}
    result["ratio"] = result["reference"]["median_s"] / result["idiomatic"]["median_s"]
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
    """The report as a text table."""
    epoch = report["epoch"]
    lines = [f"One epoch of MNIST logistic regression, batch size {BATCH_SIZE}, on {report['device']} "
             f"({report['machine']}), {report['repeats']} runs each, {report['images']} images:",
             f"  {'pipeline':<11} {'median':>9} {'fastest':>9} {'slowest':>9} {'accuracy':>9}"]
    for name in ("reference", "idiomatic"):
        row = epoch[name]
        lines.append(f"  {name:<11} {row['median_s']:>8.3f}s {row['min_s']:>8.3f}s "
                     f"{row['max_s']:>8.3f}s {row['test_accuracy']:>9.4f}")
    lines.append(f"  reference / idiomatic: {epoch['ratio']:.2f} of the time "
                 f"({1 / epoch['ratio']:.1f}x faster)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kata.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each pipeline (default 5)")
    parser.add_argument("--tiny", action="store_true",
                        help="a quick check that the benchmark runs: 2048 images, 2 repeats")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    choice = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(choice)
    repeats, limit = (2, 2048) if args.tiny else (args.repeats, None)
    epoch = epoch_comparison(device, repeats, limit)
    report = {"device": str(device), "machine": machine(device), "repeats": repeats,
              "images": limit or 60000, "torch": torch.__version__, "epoch": epoch}
    print(table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

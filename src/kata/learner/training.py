"""``kata mnist`` and ``kata curve``: the learner's own logistic regression (katas 05-08)
trained for an epoch on MNIST, some test digits with its guesses, and the loss curve; the
run is recorded in ``.kata/last_run.json`` for ``kata curve``. Training runs here, in the
command's process (it is a display the learner starts on purpose); the drawings are
``kata.pictures``'s (text) and ``kata.learner.html``'s (Jupyter).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from kata.core.errors import KataError
from kata.core.files import write_atomically
from kata.core.lesson import BATCH_SIZE, LEARNING_RATE, MOMENTUM
from kata.core.workspace import Workspace
from kata.pictures import digits, loss_curve, loss_curve_png

NO_RUN_YET = "No training run is recorded yet: `kata mnist` trains one and records its losses."


def _last_run_file(workspace: Workspace) -> Path:
    return workspace.memory / "last_run.json"


class MnistNotReadyError(KataError):
    """``kata mnist`` could not train: the message says why and what to do."""


@dataclass(frozen=True)
class MnistRun:
    """One recorded ``kata mnist`` run and the test digits it shows."""

    code: str  # the tree whose katas trained: katas or solutions
    device: str
    accuracy: float
    losses: list[float]
    images: list  # the first test images, 784 values in [0, 1] each
    predicted: list[int]
    true: list[int]


def train_logreg(workspace: Workspace, *, solutions: bool, count: int, device: str) -> MnistRun:
    """Train a logistic regression for one epoch with the pieces of katas 05-08 (yours, or
    ``solutions``), record the losses for ``kata curve``, and predict ``count`` test digits.
    Raises ``MnistNotReadyError`` when the data or the katas are not there yet."""
    import torch

    from kata.core.devices import chosen_device
    from kata.core.manifest import load_manifest
    from kata.harness.loader import import_kata, use_tree
    from kata.mnist_data import MnistUnavailableError, load_mnist

    tree = workspace.checkout / ("solutions" if solutions else "katas")
    manifest = load_manifest()
    chosen = chosen_device(device).type
    use_tree(tree)
    try:
        module, loading, training, exam = (import_kata(manifest.kata(name), tree)
                                           for name in ("05", "06", "07", "08"))
        x, y = load_mnist("train")
        xt, yt = load_mnist("test")
        mean, std = x.mean(), x.std()
        x, xt = exam.normalize(x, mean, std).to(chosen), exam.normalize(xt, mean, std).to(chosen)
        y, yt = y.to(chosen), yt.to(chosen)
        torch.manual_seed(0)
        model = module.LogReg().to(chosen)
        loader = loading.DataLoader(loading.Dataset(x, y), batch_size=BATCH_SIZE, shuffle=True,
                                    generator=torch.Generator().manual_seed(0))
        opt = training.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
        history = training.fit(model, training.nll_loss, opt, loader, epochs=1, log_every=0)
        predicted = exam.predict(model, xt).cpu()
    except MnistUnavailableError as problem:
        raise MnistNotReadyError(f"kata mnist: {problem}") from None
    except Exception as error:  # noqa: BLE001 - the learner's code: say what broke, not a traceback
        raise MnistNotReadyError(f"kata mnist needs katas 05-08 working ({tree.name}/): "
                            f"{type(error).__name__}: {error}\n`kata` shows which kata to "
                            f"finish first.") from None
    losses = [float(loss) for loss in history.train_loss]
    accuracy = (predicted == yt.cpu()).double().mean().item()
    workspace.memory.mkdir(exist_ok=True)
    write_atomically(_last_run_file(workspace), json.dumps(
        {"code": tree.name, "device": chosen, "epochs": 1, "test_accuracy": accuracy,
         "train_loss": losses}))
    return MnistRun(tree.name, chosen, accuracy, losses, (xt[:count].cpu() * std + mean).tolist(),
                    predicted[:count].tolist(), yt[:count].tolist())


def mnist_show(workspace: Workspace, *, solutions: bool, count: int, device: str) -> int:
    """``kata mnist``: ``train_logreg``, then show the test digits and the loss curve.
    Returns the exit status."""
    try:
        run = train_logreg(workspace, solutions=solutions, count=count, device=device)
    except MnistNotReadyError as problem:
        print(problem)
        return 1
    print(f"Logistic regression, 1 epoch on {run.device} with the code in {run.code}/: "
          f"test accuracy {run.accuracy:.4f}\n")
    print(digits(run.images, run.predicted, run.true))
    print(f"\nTraining loss, batch by batch:\n{loss_curve(run.losses)}")
    return 0


def last_run(workspace: Workspace) -> dict | None:
    """The last ``kata mnist`` run as recorded (None: there is none yet)."""
    try:
        return json.loads(_last_run_file(workspace).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def show_last_curve(workspace: Workspace, *, png: Path | None = None) -> int:
    """``kata curve``: the loss curve of the last ``kata mnist`` run, in text or as a PNG."""
    run = last_run(workspace)
    if run is None:
        print(NO_RUN_YET)
        return 1
    losses = run["train_loss"]
    if png is not None:
        try:
            loss_curve_png(losses, png)
        except RuntimeError as problem:
            print(problem)
            return 1
        print(f"wrote {png}")
        return 0
    final = statistics.fmean(losses[-max(1, len(losses) // 20):]) if losses else math.nan
    print(f"The last run ({run['code']}/, {run['epochs']} epoch on {run['device']}): "
          f"test accuracy {run['test_accuracy']:.4f}, final loss about {final:.3f}\n")
    print(loss_curve(losses))
    return 0

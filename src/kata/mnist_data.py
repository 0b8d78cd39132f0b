"""MNIST for the final kata: found, checked and parsed, never committed to the repository.

Where the four standard IDX files come from, in order:

1. the directory named by the environment variable ``MNIST_DIR`` (CI sets it), used as is;
2. a per-user cache (``$XDG_CACHE_HOME/tensor-katas/mnist``, else
   ``~/.cache/tensor-katas/mnist``), filled on first use by downloading from the usual
   public mirrors.

Each file may be gzip-compressed or not. Its *decompressed* bytes must have the SHA-256
that the MNIST distribution has, so a re-compressed copy passes and a damaged one does
not. Downloads are written to a temporary file and renamed, so an interrupted download
never leaves a half file behind.

>>> x, y = load_mnist("test")                                        # doctest: +SKIP
>>> x.shape, x.dtype, y[:3]                                         # doctest: +SKIP
(torch.Size([10000, 784]), torch.float32, tensor([7, 2, 1]))
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request
from pathlib import Path

import torch

from kata.core.errors import KataError

__all__ = ["FILES", "MIRRORS", "SPLITS", "MnistUnavailableError", "cache_dir", "fetch_all",
           "files_for_learners", "load_images", "load_mnist", "read_verified"]

#: decompressed SHA-256 of each file, from the MNIST distribution
FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
SPLITS = {"train": "train", "test": "t10k"}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


class MnistUnavailableError(KataError):
    """MNIST is missing or damaged and could not be fetched; the message says what to do."""


def cache_dir() -> Path:
    """The per-user directory that downloads go to."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tensor-katas" / "mnist"


def load_mnist(split: str = "train", directory: str | Path | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float32 in [0, 1] of shape ``(n, 784)`` and labels as int64 of shape ``(n,)``.

    ``split`` is ``"train"`` (60,000 images) or ``"test"`` (10,000). ``directory`` overrides
    where the files are looked for (default: ``MNIST_DIR``, else the cache).
    """
    images = load_images(split, directory)
    labels = _parse(read_verified(f"{SPLITS[split]}-labels-idx1-ubyte", directory), _LABELS_MAGIC)
    if len(images) != len(labels):
        raise MnistUnavailableError(f"MNIST {split}: {len(images)} images but {len(labels)} labels")
    return images, labels.long()


def load_images(split: str = "train", directory: str | Path | None = None) -> torch.Tensor:
    """A split's images alone, as ``load_mnist`` gives them: what the learner's side of a
    graded exam may read of the test split (its labels would be the answers)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    images = _parse(read_verified(f"{SPLITS[split]}-images-idx3-ubyte", directory), _IMAGES_MAGIC)
    return images.reshape(len(images), -1).float().div_(255)


def fetch_all() -> None:
    """Make sure every MNIST file can be read where ``load_mnist`` looks (``MNIST_DIR``, else
    the per-user cache, downloading what is missing or damaged there);
    ``MnistUnavailableError`` when a file cannot be had."""
    for name in FILES:
        read_verified(name)


def files_for_learners(directory: Path) -> list[Path]:
    """The MNIST files in ``directory`` that a graded learner's code may see: every file but
    the test labels, which would let a ``predict`` return the answers instead of guessing."""
    names = [name for name in FILES if name != f"{SPLITS['test']}-labels-idx1-ubyte"]
    return [path for path in (_find(Path(directory), name) for name in names) if path is not None]


def read_verified(name: str, directory: str | Path | None = None) -> bytes:
    """The decompressed bytes of the standard file ``name``, checked against its SHA-256."""
    chosen = directory or os.environ.get("MNIST_DIR")
    if chosen:
        path = _find(Path(chosen), name)
        if path is None:
            raise MnistUnavailableError(_not_there(Path(chosen), name, directory is not None))
        return _checked(path, name, how_to_fix="replace it with a good copy")
    path = _find(cache_dir(), name)
    if path is not None:
        try:
            return _checked(path, name, how_to_fix="")
        except MnistUnavailableError:
            path.unlink()  # a damaged cache entry is fetched again
    return _download(name)


def _not_there(folder: Path, name: str, given: bool) -> str:
    """Why ``name`` cannot be read from ``folder`` (given by the caller, else ``MNIST_DIR``),
    and what to do: a folder that does not exist, or holds no MNIST file at all, is the
    wrong folder; one that holds some of them lacks the rest."""
    named = f"the folder given, {folder}," if given else f"MNIST_DIR is set to {folder}, which"
    fix = (f"Set MNIST_DIR to the folder that holds the four MNIST files, or unset it to "
           f"download them into {cache_dir()}.")
    if not folder.is_dir():
        return f"{named} does not exist: the folder set is wrong. {fix}" if not given else \
            f"{named} does not exist."
    found = [file for file in FILES if _find(folder, file) is not None]
    if not found:
        return (f"{named} holds none of the four MNIST files ({', '.join(FILES)}, each "
                f"maybe .gz): the folder set is wrong. {fix}")
    return (f"{name}(.gz) is missing from {folder}, which holds {len(found)} of the four MNIST "
            f"files ({', '.join(found)}): put the rest there. {fix}")


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def _checked(path: Path, name: str, how_to_fix: str) -> bytes:
    return _verified(path.read_bytes(), name, str(path), how_to_fix or "delete it and run again")


def _verified(raw: bytes, name: str, source: str, how_to_fix: str) -> bytes:
    """The decompressed bytes of ``raw`` (gzip or not), if their SHA-256 is MNIST's."""
    try:
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError) as error:
        raise MnistUnavailableError(f"{source} is not a readable gzip file ({error}); "
                                    f"{how_to_fix}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != FILES[name]:
        raise MnistUnavailableError(f"{source} is damaged: its decompressed SHA-256 is {digest}, "
                               f"MNIST's is {FILES[name]}; {how_to_fix}")
    return data


def _download(name: str) -> bytes:
    """Fetch ``name`` from the first mirror that serves a good copy, and cache it."""
    target = cache_dir() / f"{name}.gz"
    failures = []
    for mirror in MIRRORS:
        try:
            with urllib.request.urlopen(mirror + f"{name}.gz", timeout=30) as response:
                payload = response.read()
            data = _verified(payload, name, mirror + f"{name}.gz", "trying the next mirror")
        except (OSError, MnistUnavailableError) as error:
            failures.append(f"{mirror}: {error}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial:
            partial.write(payload)
        os.replace(partial.name, target)  # atomic: readers see the whole file or none
        return data
    raise MnistUnavailableError(
        f"MNIST's {name}.gz could not be downloaded: none of its {len(MIRRORS)} mirrors gave "
        f"a good copy. What each one answered:\n  " + "\n  ".join(failures)
        + f"\nCopy the four MNIST .gz files into {cache_dir()}, or set MNIST_DIR to a "
        f"directory that holds them.")


def _parse(data: bytes, magic: int) -> torch.Tensor:
    """An IDX file's contents as a uint8 tensor: big-endian magic, then one int per axis."""
    found = struct.unpack(">I", data[:4])[0]
    if found != magic:
        raise MnistUnavailableError(f"not an IDX file of the expected kind: magic {found}, "
                               f"expected {magic}")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = bytearray(data[4 + 4 * ndim:])
    return torch.frombuffer(body, dtype=torch.uint8).reshape(dims)

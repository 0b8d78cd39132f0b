"""The MNIST loader against the facts of the MNIST distribution (see ../shared/mnist/README.md
where CI keeps its copy), and its handling of copies that are missing, damaged or
re-compressed. Reads MNIST from MNIST_DIR, or the per-user cache."""

import gzip
import hashlib
import os
import urllib.request

import pytest
import torch

from kata import mnist_data
from kata.mnist_data import MnistUnavailableError, load_mnist

#: where this run finds MNIST (MNIST_DIR, else the cache), read before a test changes either
MNIST = os.environ.get("MNIST_DIR") or mnist_data.cache_dir()


@pytest.fixture(scope="module")
def splits():
    return {split: load_mnist(split) for split in ("train", "test")}


@pytest.mark.parametrize("split, count, first_labels, per_digit, mean, std", [
    ("train", 60000, [5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
     [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], 0.1307, 0.3081),
    ("test", 10000, [7, 2, 1, 0, 4, 1, 4, 9, 5, 9],
     [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], 0.1325, 0.3105),
])
def test_loaded_mnist_matches_the_published_facts(splits, split, count, first_labels, per_digit,
                                                  mean, std):
    x, y = splits[split]
    assert x.shape == (count, 784) and x.dtype == torch.float32
    assert y.shape == (count,) and y.dtype == torch.int64
    assert 0 <= x.min() and x.max() <= 1
    assert y[:10].tolist() == first_labels
    assert torch.bincount(y, minlength=10).tolist() == per_digit
    # the published figures have four decimals: within half a unit of the last one
    assert abs(x.double().mean().item() - mean) <= 5e-5
    assert abs(x.double().std().item() - std) <= 5e-5


def _copy_labels(tmp_path, transform):
    """A directory holding MNIST's test labels, written through ``transform`` (raw bytes in,
    file bytes out)."""
    data = mnist_data.read_verified("t10k-labels-idx1-ubyte", MNIST)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(transform(data))
    return tmp_path


def test_a_recompressed_copy_is_accepted(tmp_path):
    directory = _copy_labels(tmp_path, lambda data: gzip.compress(data, compresslevel=1))
    data = mnist_data.read_verified("t10k-labels-idx1-ubyte", directory)
    assert hashlib.sha256(data).hexdigest() == mnist_data.FILES["t10k-labels-idx1-ubyte"]


def test_an_uncompressed_copy_is_accepted(tmp_path):
    data = mnist_data.read_verified("t10k-labels-idx1-ubyte", MNIST)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(data)
    assert mnist_data.read_verified("t10k-labels-idx1-ubyte", tmp_path) == data


def test_a_damaged_copy_is_refused_with_its_checksum(tmp_path):
    directory = _copy_labels(tmp_path, lambda data: gzip.compress(data[:-1] + b"\x07"))
    with pytest.raises(MnistUnavailableError, match="damaged: its decompressed SHA-256 is"):
        mnist_data.read_verified("t10k-labels-idx1-ubyte", directory)


def test_a_truncated_download_is_refused(tmp_path):
    directory = _copy_labels(tmp_path, lambda data: gzip.compress(data)[:100])
    with pytest.raises(MnistUnavailableError, match="not a readable gzip file"):
        mnist_data.read_verified("t10k-labels-idx1-ubyte", directory)


def test_a_directory_without_the_files_says_what_to_do(tmp_path):
    with pytest.raises(MnistUnavailableError, match="holds none of the four MNIST files"):
        mnist_data.read_verified("t10k-labels-idx1-ubyte", tmp_path)
    _copy_labels(tmp_path, gzip.compress)
    with pytest.raises(MnistUnavailableError, match=r"t10k-images-idx3-ubyte\(\.gz\) is missing "
                                                    r"from .*holds 1 of the four MNIST files"):
        mnist_data.read_verified("t10k-images-idx3-ubyte", tmp_path)


def test_mnist_dir_set_to_the_wrong_folder_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(MnistUnavailableError, match=r"MNIST_DIR is set to .*nowhere, which does "
                                                    r"not exist: the folder set is wrong"):
        load_mnist("test")
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    with pytest.raises(MnistUnavailableError, match=r"(?s)MNIST_DIR is set to .*, which holds none "
                                                    r"of the four MNIST files.*the folder set is "
                                                    r"wrong.*unset it to download"):
        load_mnist("test")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """No MNIST_DIR, and a per-user cache with nothing in it."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def _mirrors_serve(monkeypatch, payload):
    """Every mirror answers with ``payload`` (or fails, if it is an exception); returns the
    list of URLs fetched."""
    fetched = []

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return payload

    def urlopen(url, timeout):
        fetched.append(url)
        if isinstance(payload, Exception):
            raise payload
        return Response()
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return fetched


def test_without_network_an_empty_cache_gives_a_clear_error(empty_cache, monkeypatch):
    _mirrors_serve(monkeypatch, urllib.error.URLError("no network"))
    with pytest.raises(MnistUnavailableError, match=r"(?s)could not be downloaded: none of its 2 "
                                                    r"mirrors.*no network.*set MNIST_DIR") as error:
        load_mnist("test")
    assert str(empty_cache) in str(error.value)
    assert not any(empty_cache.rglob("*.gz")), "a failed download must leave no file behind"


def test_a_download_is_checked_and_cached(empty_cache, monkeypatch):
    fetched = _mirrors_serve(
        monkeypatch, gzip.compress(mnist_data.read_verified("t10k-labels-idx1-ubyte", MNIST)))
    first = mnist_data.read_verified("t10k-labels-idx1-ubyte")
    again = mnist_data.read_verified("t10k-labels-idx1-ubyte")
    assert first == again and len(fetched) == 1, "the second read should come from the cache"
    assert fetched[0] == mnist_data.MIRRORS[0] + "t10k-labels-idx1-ubyte.gz"
    cached = empty_cache / "tensor-katas" / "mnist"
    assert [p.name for p in cached.iterdir()] == ["t10k-labels-idx1-ubyte.gz"]


def test_a_damaged_download_is_not_cached(empty_cache, monkeypatch):
    fetched = _mirrors_serve(monkeypatch, gzip.compress(b"not MNIST"))
    with pytest.raises(MnistUnavailableError, match=r"(?s)could not be downloaded.*damaged"):
        mnist_data.read_verified("t10k-labels-idx1-ubyte")
    assert len(fetched) == len(mnist_data.MIRRORS), "each mirror should be tried in turn"
    assert not any(empty_cache.rglob("*.gz"))


def test_a_file_of_the_wrong_kind_is_refused():
    with pytest.raises(MnistUnavailableError, match="magic 2049, expected 2051"):
        mnist_data._parse(mnist_data.read_verified("t10k-labels-idx1-ubyte", MNIST), 2051)


def test_unknown_split_is_a_value_error():
    with pytest.raises(ValueError, match="'validation'"):
        load_mnist("validation")

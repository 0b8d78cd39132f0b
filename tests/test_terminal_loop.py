"""The terminal loop's newer commands, in-process on a copy of the repository: `kata run KATA
NAME` runs one function's tests, `kata spec` says what a function must do, `kata restore`
lists the backups and brings back the one named (after asking), `kata watch` offers the next
kata that is not done, and `kata curve` says what its points average."""

import io
import shutil
import sys

from kata import cli, pictures
from kata.core.manifest import load_manifest
from kata.core.workspace import Workspace
from kata.learner import definitions, views

MANIFEST = load_manifest()
MATMUL = MANIFEST.kata("03")
MATVEC = '''def matvec(m, c):
    """Mine."""
    if m.dim() != 2 or c.dim() != 1 or m.shape[1] != c.shape[0]:
        raise ValueError(f"matvec: shapes {tuple(m.shape)} and {tuple(c.shape)} do not fit")
    return (m * c).sum(1, dtype=m.dtype)
'''


def kata(root, *argv, stdin="", capsys, monkeypatch):
    """``kata ARGV`` in the checkout at ``root``, in this process: exit status and output."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = cli.main(["--root", str(root), *argv])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_run_with_a_function_runs_only_that_functions_tests(checkout, capsys, monkeypatch):
    module = MATMUL.path_in(checkout / "katas")
    module.write_text(definitions.replace_definition(module.read_text(), "matvec", MATVEC))
    status, out = kata(checkout, "run", "03", "matvec", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 0, out
    assert "03_matmul matvec: done" in out and "Every test of matvec passes" in out
    status, out = kata(checkout, "run", "03", "matmul", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 1 and "03_matmul matmul: not started" in out
    status, out = kata(checkout, "run", "03", "matvek", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 2 and "its names are: matvec, matmul_by_columns, matmul" in out


def test_spec_shows_signature_docstring_rules_and_the_hints_shown(checkout, capsys, monkeypatch):
    status, out = kata(checkout, "spec", "03", "matvec", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 0
    assert "def matvec(m, c):" in out and "Matrix times vector" in out
    assert "NotImplementedError" not in out  # the signature and docstring, not the stub's body
    for rule in MANIFEST.rules_of(MATMUL, "matvec"):
        assert f"{rule.name}: {rule.why[:40]}" in out
    assert "Hints shown so far: 0" in out
    _, hint = kata(checkout, "hint", "03", capsys=capsys, monkeypatch=monkeypatch)  # matvec's first
    status, out = kata(checkout, "spec", "03", "matvec", capsys=capsys, monkeypatch=monkeypatch)
    assert "Hints shown so far: 1" in out
    assert hint.splitlines()[0].removesuffix("  (new)") in out
    status, out = kata(checkout, "spec", "05", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 0 and "class Linear(Module):" in out and "def forward(self, x):" in out


def test_spec_of_a_deleted_function_falls_back_to_the_stub(checkout, capsys, monkeypatch):
    MATMUL.path_in(checkout / "katas").write_text("import torch\n")
    status, out = kata(checkout, "spec", "03", "matvec", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 0 and "Matrix times vector" in out


def test_restore_lists_the_backups_and_puts_back_the_one_named(checkout, capsys, monkeypatch):
    module = MATMUL.path_in(checkout / "katas")
    stub = module.read_text()
    status, out = kata(checkout, "restore", "03", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 1 and "no backup of katas/03_matmul/matmul.py yet" in out
    mine = stub + "\n# my work\n"
    module.write_text(mine)
    kata(checkout, "reset", "03", "-y", capsys=capsys, monkeypatch=monkeypatch)  # keeps `mine`
    assert module.read_text() == stub
    status, out = kata(checkout, "restore", "03", stdin="\n", capsys=capsys,
                       monkeypatch=monkeypatch)
    assert status == 1 and "  1  " in out and "Nothing changed" in out
    assert module.read_text() == stub
    status, out = kata(checkout, "restore", "3", stdin="1\n", capsys=capsys,
                       monkeypatch=monkeypatch)
    assert status == 0 and module.read_text() == mine
    backups = Workspace(checkout).backups(module)
    assert [backup.read_text() for backup in backups] == [mine, stub]  # the stub was kept too
    # a second restore names what each backup is: the stub comes back only when asked for
    status, out = kata(checkout, "restore", "03", "-y", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 1 and module.read_text() == mine and "kata restore 03 NUMBER" in out
    listed = [line for line in out.splitlines() if line.startswith("  ")]
    assert "the untouched stub" in listed[0] and "the same as your file now" in listed[1]
    status, out = kata(checkout, "restore", "03", "2", "-y", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 0 and "already the same as backup 2" in out
    status, out = kata(checkout, "restore", "03", "1", stdin="y\n", capsys=capsys,
                       monkeypatch=monkeypatch)
    assert status == 0 and "the untouched stub" in out and module.read_text() == stub
    status, out = kata(checkout, "restore", "03", "9", "-y", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 2 and "there is no backup 9" in out


def test_watch_offers_the_next_kata_that_is_not_done(checkout):
    for number in ("01", "02"):
        shutil.copy2(MANIFEST.kata(number).path_in(checkout / "solutions"),
                     MANIFEST.kata(number).path_in(checkout / "katas"))
    found = views.next_unfinished(MANIFEST.kata("01"), Workspace(checkout), views.RunOptions())
    assert found == MATMUL  # 02 is done already: not the one to go on with


def test_the_curve_says_how_many_batches_each_point_averages():
    assert "each * is the mean loss over 14 or 15 batches" in pictures.loss_curve([1.0] * 938)
    assert "each * is the mean loss over 2 batches" in pictures.loss_curve([1.0] * 128)
    assert "each * is the loss of one batch" in pictures.loss_curve([1.0] * 10)

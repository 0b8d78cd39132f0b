"""The katas in Jupyter, end to end: ``kata notebook`` writes a starter notebook, and a real
Jupyter kernel (nbclient) runs it on a copy of the repository: ``%load_ext kata``, the board,
a ``%%kata`` cell with a syntax error (refused, nothing written), a wrong one (its failure
shown), a right one (its tests pass), and the kata's file holds the right one afterwards.
Then the parts, one by one: a cell replacing one definition, and the HTML views."""

import base64
import json

import nbclient
import nbformat
import pytest

from kata import cli, magics
from kata.core.manifest import load_manifest
from kata.core.records import FailureDetail, FailureKind, Outcome, TestRecord
from kata.core.workspace import Workspace
from kata.learner import definitions, notebook, training
from kata.learner import html as html_views

MANIFEST = load_manifest()
MATMUL = MANIFEST.kata("03")

WRONG = '''def matvec(m, c):
    return (m * c).sum(0)  # the wrong axis
'''
RIGHT = '''def matvec(m, c):
    """Mine: each row of m times c, summed."""
    if m.dim() != 2 or c.dim() != 1 or m.shape[1] != c.shape[0]:
        raise ValueError(f"matvec: shapes {tuple(m.shape)} and {tuple(c.shape)} do not fit")
    return (m * c).sum(1, dtype=m.dtype)
'''


def test_the_starter_notebook_holds_the_readme_and_a_kata_cell_per_function(checkout):
    assert cli.main(["--root", str(checkout), "notebook", "03"]) == 0
    path = checkout / "notebooks" / "03_matmul.ipynb"
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    markdown = "\n".join(cell.source for cell in book.cells if cell.cell_type == "markdown")
    readme = (checkout / "katas" / "03_matmul" / "README.md").read_text()
    assert all(section in markdown for section in notebook.readme_sections(readme))
    kata_cells = [cell.source for cell in book.cells if cell.source.startswith("%%kata")]
    stub = MATMUL.path_in(checkout / "katas").read_text()
    assert kata_cells == [f"%%kata 03 {name}\n" + definitions.source_of(stub, name).rstrip("\n")
                          for name in MATMUL.functions]
    assert book.cells[1].source == "%load_ext kata\n%kata"
    # a second `kata notebook` never overwrites the learner's notebook unasked
    assert cli.main(["--root", str(checkout), "notebook", "03"]) == 1


def _html(cell) -> str:
    return "".join(output.get("data", {}).get("text/html", "") for output in cell.outputs)


def test_a_notebook_runs_the_board_and_kata_cells_in_a_real_kernel(checkout, monkeypatch):
    notebook.write_notebook(MATMUL, Workspace(checkout), checkout / "notebooks" / "03.ipynb")
    book = nbformat.read(checkout / "notebooks" / "03.ipynb", as_version=4)
    # the generated first cell (the board), then the learner's three tries at matvec
    book.cells = [book.cells[1]] + [nbformat.v4.new_code_cell("%%kata 03 matvec\n" + source)
                                    for source in ("def matvec(m, c:\n    pass\n", WRONG, RIGHT)]
    module = MATMUL.path_in(checkout / "katas")
    stub = module.read_text()
    monkeypatch.setenv("PYTHONPATH", str(checkout / "src"))  # the kernel imports the copy's kata
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    client = nbclient.NotebookClient(book, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(checkout / "notebooks")}})
    client.execute()

    board, syntax_error, wrong, right = (_html(cell) for cell in book.cells)
    assert "0/8 done" in board and "Now: 01_broadcasting" in board
    assert "not started" in board
    assert "SyntaxError at line 1 of the cell" in syntax_error \
        and "Nothing was written" in syntax_error
    assert "03_matmul matvec</code>: <b" in wrong and "failing" in wrong
    assert "<th>expected</th><th>actual</th>" in wrong  # expected against actual, as a table
    assert "done" in right and "Every test of matvec passes" in right
    assert module.read_text() == definitions.replace_definition(stub, "matvec", RIGHT)
    backups = Workspace(checkout).backups(module)
    assert [backup.read_text() for backup in backups] == \
        [stub, definitions.replace_definition(stub, "matvec", WRONG)]


MODULE = '''"""A kata module."""

import torch


@torch.no_grad()
def first(x):
    """The first one."""
    raise NotImplementedError


class Second:
    """The second one."""

    def method(self):
        """A method."""
        raise NotImplementedError

    def _helper(self):
        return 1
# a comment after the class, and no newline at the end'''


def test_a_cell_replaces_exactly_the_old_definition_decorators_included():
    new = definitions.definition_cell("\n\ndef first(x):\n    return x\n\n", "first")
    replaced = definitions.replace_definition(MODULE, "first", new)
    head = MODULE.split("@torch.no_grad()\n")[0]
    tail = MODULE.split("raise NotImplementedError\n", 1)[1]
    assert replaced == head + "def first(x):\n    return x\n" + tail


def test_a_definition_on_the_files_last_line_keeps_the_missing_final_newline():
    module = "import torch\n\n\ndef f():\n    return 1"
    assert definitions.replace_definition(module, "f", "def f():\n    return 2\n") == \
        "import torch\n\n\ndef f():\n    return 2"
    # a name the file no longer defines is added at the end
    assert definitions.replace_definition(module, "g", "def g():\n    pass\n").endswith(
        "return 1\n\n\ndef g():\n    pass\n")


@pytest.mark.parametrize("cell, complaint", [
    ("def first(x:\n    pass\n", "SyntaxError at line 1 of the cell"),
    ("import numpy\n\ndef first(x):\n    pass\n", "line 1 of the cell has 'import'"),
    ("def second(x):\n    pass\n", "line 1 of the cell has 'second'"),
    ("def first(x):\n    pass\n\ndef first(x):\n    pass\n", "defines first 2 times"),
    ("# nothing yet\n", "holds no definition of first"),
], ids=["syntax error", "an import", "another name", "twice", "empty"])
def test_a_cell_that_is_not_exactly_the_definition_is_refused(cell, complaint):
    with pytest.raises(definitions.CellError, match=complaint):
        definitions.definition_cell(cell, "first")


def test_the_outline_of_a_class_shows_its_public_methods_without_bodies():
    assert definitions.outline(MODULE, "Second") == (
        'class Second:\n    """The second one."""\n\n'
        '    def method(self):\n        """A method."""')


def test_failures_become_a_table_and_the_shapes_a_picture():
    detail = FailureDetail("add(a, b) returned the wrong values.",
                           expected="tensor([[1., 2.],\n        [3., 4.]])",
                           actual="tensor([1., 2.])",
                           pictures=("The shapes, lined up from the right:\n"
                                     "A       2 x 4\n"
                                     "B           3\n"
                                     "            ^ sizes 4 and 3 clash",),
                           notes=("Falsifying example: add(a, b)",))
    test = TestRecord("katas/01/test_x.py::test_add", "01_broadcasting", Outcome.FAILED,
                      FailureKind.MISMATCH, "Mismatch", "the message as the terminal shows it",
                      ("add",), detail=detail)
    shown = html_views.failure(test)
    assert "<th>expected</th><th>actual</th>" in shown
    assert "tensor([[1., 2.],\n        [3., 4.]])" in shown and ">tensor([1., 2.])<" in shown
    assert '<span style="color:#cf222e">            ^ sizes 4 and 3 clash</span>' in shown
    assert "Falsifying example: add(a, b)" in shown and "returned the wrong values." in shown


def test_digits_are_png_images_with_their_labels():
    image = [0.0] * 784
    shown = html_views.digits([image], [7], [1])
    source = shown.split("base64,", 1)[1].split('"', 1)[0]
    png = base64.b64decode(source)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[16:24] == bytes([0, 0, 0, 28, 0, 0, 0, 28])
    assert "predicted 7, true 1 WRONG" in shown


def test_the_line_magics_hint_curve_and_what_a_notebook_cannot_do(checkout):
    workspace = Workspace(checkout)
    hint = magics.line_magic("hint 03", workspace)
    assert "<p>Hint 1 of" in hint.html and "<b>(new)</b>" in hint.html
    assert "%kata hint 03" in hint.html
    # beside the HTML, the same as text, for a front end that shows no HTML
    assert "Hint 1 of" in hint.text and "(new)" in hint.text and "<" not in hint.text
    assert hint._repr_mimebundle_() == {"text/html": hint.html, "text/plain": hint.text}
    assert training.NO_RUN_YET in magics.line_magic("curve", workspace).html
    workspace.memory.mkdir(exist_ok=True)
    (workspace.memory / "last_run.json").write_text(json.dumps(
        {"code": "katas", "device": "cpu", "epochs": 1, "test_accuracy": 0.9,
         "train_loss": [2.0, 1.0, 0.5]}))
    curve = magics.line_magic("curve", workspace).html
    assert "test accuracy 0.9000" in curve and "<svg" in curve and "batch 1 to 3" in curve
    assert "-y" in magics.line_magic("restore 03", workspace).html  # a notebook cannot ask first
    assert "for the terminal" in magics.line_magic("watch", workspace).html
    assert "its names are: matvec" in magics.line_magic("spec 03 nope", workspace).html

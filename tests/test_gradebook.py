"""From grading to the gradebook (``kata.grading``): what the reports make of grades, and a
simulated class graded end to end.

The reports' parts are checked on grades made by hand: the Markdown rendered by a real
renderer (markdown-it-py, raw HTML allowed, as permissive as a renderer gets) shows
everything a learner wrote as text, never as a tag, link, image or table row; the roster
matches by folder name and never guesses; the CSV holds no formula; Gradescope's results
show no test's code and hide the hidden tests until published; the class summary counts
learners, not tests.

Then a class of learners is graded with ``kata grade --only 01 --only 03``, as an
instructor would, with a roster: a complete learner who also edited a test and added a
conftest.py, a partial one whose code raises messages full of HTML and Markdown, breaks a
rule, special-cases the visible examples (it passes every visible test and fails a hidden
one) and starts a detached process, one with a syntax error in one kata and nothing in the
other; and, in a run of its own at a short time limit, a learner whose module forks a
detached process and then never returns. Nothing of any run may survive ``kata grade``.
"""

import csv
import doctest
import io
import json
import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from markdown_it import MarkdownIt

from kata.core.layout import REPO_ROOT
from kata.core.manifest import load_manifest
from kata.core.records import Diagnosis, FailureKind, KataState
from kata.grading import gradebook, reports, results, targets
from kata.grading.results import SCHEMA, Gradebook, KataGrade, LearnerGrade, TestGrade
from kata.grading.targets import (
    Identity,
    IgnoredFile,
    RosterError,
    ignored_files,
    match_roster,
    read_roster,
)

MANIFEST = load_manifest()
BROADCASTING, MATMUL = MANIFEST.kata("01"), MANIFEST.kata("03")
#: What a learner's code might raise or print, to make a report render it as markup.
PAYLOAD = ("<img src=x onerror=alert(1)> <script>alert(2)</script> [click](http://evil.example) "
           "![pic](http://evil.example/p.png) <a href='http://evil.example'>link</a>\n"
           "| fake | row |\n| --- | --- |\n```\n# Fake heading\n``` `tick` ~~~ **bold**\u202e")
#: A target named with it, whose folder name ends as GitHub Classroom's do for user ann.
HOSTILE_TARGET = PAYLOAD.replace("/", "|") + "-ann"


# --- the reports' parts, on grades made by hand ------------------------------------------

@pytest.mark.parametrize("module", [targets, reports, results])
def test_the_grading_modules_docstring_examples_hold(module):
    outcome = doctest.testmod(module)
    assert outcome.failed == 0 and outcome.attempted > 0


def _test(name, status="pass", message=None, *, points=1.0, hidden=False, kind=None,
          functions=("matvec",), diagnosis=None, output=""):
    return TestGrade(f"03_matmul::{name}", status, message, output,
                     f"def {name.split('[')[0]}(): ...", 3, points if status == "pass" else 0.0,
                     points, kind, hidden, functions, diagnosis)


def _kata(tests, *, kata=MATMUL, state=KataState.FAILING, flags=(), message=None):
    tests = tuple(tests)
    return KataGrade(kata, state, sum(test.points for test in tests),
                     sum(test.status == "pass" for test in tests), len(tests), message,
                     tuple(flags), tests, seconds=2.5)


WRONG_AXIS = Diagnosis("matvec", "sums over the wrong axis", "axis 0 instead of 1")


def _hand_made_book():
    """Three learners of kata 03: one whose every learner-controlled string is the payload,
    one who made a diagnosed classic mistake, one still at the stub."""
    hostile = LearnerGrade(HOSTILE_TARGET, "fail", None, (_kata(
        [_test("test_matvec_matches_loop_spec[x]", "fail", PAYLOAD, kind=FailureKind.RAISED,
               diagnosis=WRONG_AXIS, output=PAYLOAD),
         _test(f"test_odd_name[{PAYLOAD}]", "fail", PAYLOAD, kind=FailureKind.MISMATCH),
         _test("test_matmul_on_larger_sizes", "fail", "matmul(a, b) returned wrong values",
               hidden=True, functions=("matmul",), kind=FailureKind.MISMATCH),
         _test("test_identity_is_neutral", functions=("matmul",))],
        flags=[f"line 1: import os ({PAYLOAD})"]),),
        ignored=(IgnoredFile(f"katas/03_matmul/{PAYLOAD}.py", "added"),),
        identity=None)
    mistaken = LearnerGrade("course-bob", "fail", None, (_kata(
        [_test("test_matvec_matches_loop_spec[y]", "fail", "matvec(m, c) returned wrong values\n"
               "  expected: ...", kind=FailureKind.MISMATCH, diagnosis=WRONG_AXIS),
         _test("test_matvec_matches_loop_spec[z]", "fail", "matvec(m, c) returned wrong values",
               kind=FailureKind.MISMATCH, diagnosis=WRONG_AXIS),
         _test("test_identity_is_neutral", functions=("matmul",))]),))
    stub = LearnerGrade("course-cy", "fail", None, (_kata(
        [_test("test_matvec_matches_loop_spec[w]", "fail", "NotImplementedError: matvec()",
               kind=FailureKind.NOT_IMPLEMENTED),
         _test("test_identity_is_neutral", "fail", "NotImplementedError: matmul()",
               functions=("matmul",), kind=FailureKind.NOT_IMPLEMENTED)],
        state=KataState.NOT_STARTED),))
    roster = [Identity("ann@x", "ann", "7", PAYLOAD), Identity("dee@x", "dee", "8", PAYLOAD)]
    book = Gradebook((hostile, mistaken, stub), (MATMUL,), seed=42, boxed=True)
    return book.with_roster(match_roster([HOSTILE_TARGET, "course-bob", "course-cy"], roster))


class _Tags(HTMLParser):
    """Every tag and attribute of an HTML document, and its text."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data):
        self.text.append(data)


def _rendered(markdown):
    renderer = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    parsed = _Tags()
    parsed.feed(renderer.render(markdown))
    return parsed


def test_the_markdown_shows_everything_a_learner_wrote_as_text_never_as_markup():
    markdown = reports.markdown(_hand_made_book())
    rendered = _rendered(markdown)
    assert set(rendered.tags) <= {"h1", "h2", "h3", "p", "table", "thead", "tbody", "tr", "th",
                                  "td", "code", "pre", "ul", "li", "strong", "em"}
    # the tables' own alignment, nothing a learner wrote
    assert set(rendered.attributes) <= {("style", "text-align:right")}
    text = "".join(rendered.text)
    for part in ("<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "| fake | row |",
                 "[click](http://evil.example)", "# Fake heading"):
        assert part in text, part
    # the tables are the report's: a row per kata of each learner, a row per function
    assert rendered.tags.count("tr") == (1 + 1) * 3 + (1 + len(MATMUL.functions))
    assert "\u202e" not in markdown and "\ufffd" in markdown


def test_the_markdown_reports_the_seed_the_failures_what_was_ignored_and_the_flags():
    markdown = reports.markdown(_hand_made_book())
    assert "seed 42" in markdown and "--seed 42" in markdown
    assert "(hidden test)" in markdown and "Diagnosed: `matvec`" in markdown
    assert "Ignored (they differ from yours" in markdown and "Beyond the allow-list" in markdown
    assert "2 tests fail as not implemented" in markdown  # a stub's failures, once
    assert "Roster rows without a target" in markdown


def test_the_class_summary_counts_learners_each_mistake_once_and_no_stub_as_a_failure():
    summary, = _hand_made_book().summaries()
    assert (summary.learners, summary.states) == (3, {"failing": 2, "not started": 1})
    assert summary.passing == {"matvec": 0, "matmul_by_columns": 0, "matmul": 1}
    failure = summary.most_common_failure
    assert (failure.test, failure.learners) == ("test_matvec_matches_loop_spec", 2)
    assert [(m.function, m.mistake, m.learners) for m in summary.mistakes] == \
        [("matvec", "sums over the wrong axis", 2)]
    assert summary.hidden == ("test_matmul_on_larger_sizes",)
    assert summary.tests_code["test_identity_is_neutral"] == "def test_identity_is_neutral(): ..."


def test_the_json_document_is_valid_and_holds_each_tests_code_once_per_kata():
    document = json.loads(reports.json_document(_hand_made_book()))
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["grading"] == {"profile": "grading", "examples": 100, "seed": 42}
    assert all("test_code" not in test for learner in document["learners"]
               for test in learner["tests"])
    assert "test_identity_is_neutral" in document["katas"][0]["tests_code"]
    assert document["learners"][0]["learner"]["github_username"] == "ann"
    assert document["roster"]["without_target"][0]["github_username"] == "dee"


def test_the_roster_matches_by_folder_name_ignoring_case_and_never_guesses(tmp_path):
    rows = [Identity("a", "Alice", "1", "A"), Identity("b", "bob", "2", "B"),
            Identity("j", "jim-bob", "3", "J"), Identity("n", "", "", "No account yet")]
    found = match_roster(["course-alice", "refs/heads/hw1-ALICE", "alice-course", "course-jim-bob",
                          str(tmp_path)], rows)
    assert {target: who.github_username for target, who in found.identities.items()} == \
        {"course-alice": "Alice", "refs/heads/hw1-ALICE": "Alice"}
    why = dict(found.unmatched)
    assert "no roster row" in why["alice-course"] and "no roster row" in why[str(tmp_path)]
    assert "several roster rows (bob, jim-bob)" in why["course-jim-bob"]
    assert [row.name for row in found.without_target] == ["B", "J", "No account yet"]


def test_a_roster_that_is_not_classrooms_is_refused_naming_the_missing_columns(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufeffidentifier,github_username,github_id,name,extra\nx,alice,1,A,?\n")
    assert read_roster(roster) == (Identity("x", "alice", "1", "A"),)
    roster.write_text("email,login\nx,alice\n")
    with pytest.raises(RosterError, match="no identifier, github_username, github_id, name column"):
        read_roster(roster)


def test_the_csv_has_a_row_per_learner_a_column_per_kata_and_no_formula():
    book = _hand_made_book()
    rows = list(csv.DictReader(io.StringIO(gradebook.csv_document(book))))
    assert [row["target"] for row in rows] == [HOSTILE_TARGET, "course-bob", "course-cy", ""]
    assert rows[0]["github_username"] == "ann" and rows[0]["03_matmul"] == "1"
    assert (rows[3]["github_username"], rows[3]["status"]) == ("dee", gradebook.NO_SUBMISSION)
    assert all(row["max_points"] == "10" for row in rows)
    formula = Gradebook((LearnerGrade("=HYPERLINK(\"http://evil\")", "error", "no", ()),),
                        (MATMUL,), seed=1, boxed=True)
    assert "'=HYPERLINK" in gradebook.csv_document(formula)


def test_gradescope_results_show_no_code_and_hidden_tests_only_once_published():
    book = _hand_made_book()
    results = gradebook.gradescope_results(book.grades[0], book)
    assert results["score"] == sum(test["score"] for test in results["tests"]) == 1.0
    assert (results["visibility"], results["stdout_visibility"]) == ("visible", "hidden")
    by_name = {test["name"].split("::")[1]: test for test in results["tests"]}
    hidden = by_name["test_matmul_on_larger_sizes"]
    assert (hidden["visibility"], hidden["status"]) == ("after_published", "failed")
    assert by_name["test_identity_is_neutral"]["status"] == "passed"
    assert all(test["output_format"] == "text" and "def test_" not in test["output"]
               for test in results["tests"])
    assert "\u202e" not in json.dumps(results, ensure_ascii=False)
    assert "Hidden tests' results show once the grades are published" in results["output"]


def test_ignored_files_of_a_branch_are_the_tests_it_changed_and_the_files_it_added(checkout):
    def git(*args):
        subprocess.run(["git", *args], cwd=checkout, check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "course")
    git("checkout", "-q", "-b", "learner")
    tests = checkout / "katas" / "03_matmul" / "test_matmul.py"
    tests.write_text(tests.read_text() + "\ndef test_free_point():\n    pass\n")
    (checkout / "katas" / "03_matmul" / "matmul.py").write_text("# my work\n")
    (checkout / "katas" / "01_broadcasting" / "conftest.py").write_text("# a hook\n")
    (checkout / "katas" / "conftest.py").write_text("# another\n")
    git("add", "-A")
    git("commit", "-q", "-m", "work")
    git("checkout", "-q", "main")
    expected = (IgnoredFile("katas/01_broadcasting/conftest.py", "added"),
                IgnoredFile("katas/03_matmul/test_matmul.py", "changed"),
                IgnoredFile("katas/conftest.py", "added"))
    assert ignored_files("learner", checkout, [BROADCASTING, MATMUL]) == expected
    assert ignored_files("learner", checkout, [BROADCASTING]) == (expected[0], expected[2])
    assert ignored_files("main", checkout, [BROADCASTING, MATMUL]) == ()


# --- a simulated class, graded end to end -------------------------------------------------

#: In the command line of every process the learners' code starts: none may outlive grading.
MARKER = "kata-gradebook-test"
DETACHED = (f"import subprocess, sys\n"
            f"subprocess.Popen([sys.executable, '-c', '# {MARKER}\\nimport time; time.sleep(600)'],"
            f" start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n")
SEED = 1234


def _solution(kata):
    return kata.path_in(REPO_ROOT / "solutions").read_text()


def _write(folder, files):
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _module(kata):
    return f"katas/{kata.folder}/{kata.module}.py"


def _partial_learner():
    """Kata 01 solved but ``as_column``, which prints and raises the payload, in a module that
    starts a detached process; kata 03's matvec right, matmul_by_columns by ``@`` (a rule
    cheat), matmul special-cased to the visible tests' inner size of at most 6."""
    broadcasting = DETACHED + _solution(BROADCASTING) + (
        f"\n\ndef as_column(v):\n    print({PAYLOAD!r})\n    raise ValueError({PAYLOAD!r})\n")
    matmul = _solution(MATMUL).replace(
        "    return torch.stack([matvec(a, b[:, j]) for j in range(b.shape[1])], dim=1)",
        "    return a @ b").replace(
        "products = a[..., :, :, None] * b[..., None, :, :]",
        "products = a[..., :, :6, None] * b[..., None, :6, :]  # the tests' k is at most 6")
    assert matmul.count("a @ b") == 1 and ":6," in matmul
    return {_module(BROADCASTING): broadcasting, _module(MATMUL): matmul}


def _kata_command(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "kata", "grade", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"),
                               "PYTHONDONTWRITEBYTECODE": "1"})


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, running):
    """The class graded once: ``kata grade`` of three learners, kata 01 and 03, with a
    roster (of whom one has no target) and every report."""
    base = tmp_path_factory.mktemp("class")
    complete = {_module(kata): _solution(kata) for kata in (BROADCASTING, MATMUL)}
    visible_tests = REPO_ROOT / "katas" / "03_matmul" / "test_matmul.py"
    learners = {
        "course-alice": {**complete,  # complete, and tried to change how she is graded
                         "katas/03_matmul/test_matmul.py": visible_tests.read_text()
                         + "\n\ndef test_free_point():\n    pass\n",
                         "katas/01_broadcasting/conftest.py":
                             "collect_ignore = ['test_broadcasting.py']\n"},
        "course-bob": _partial_learner(),
        # a syntax error in kata 01, nothing at all of kata 03
        "zed": {_module(BROADCASTING): "def fraction_less(a, b)\n    return 0\n"},
    }
    for name, files in learners.items():
        _write(base / name, files)
    roster = base / "roster.csv"
    roster.write_text('"identifier","github_username","github_id","name"\n'
                      '"alice@uni","alice","1","Alice A"\n"bob@uni","bob","2","Bob B"\n'
                      '"dan@uni","dan","4","Dan D"\n')
    reports_ = {kind: base / f"grades.{kind}" for kind in ("json", "md", "csv")}
    done = _kata_command(*(str(base / name) for name in learners), "--only", "01", "--only", "03",
                         "--seed", str(SEED), "--workers", "2", "--roster", str(roster),
                         "--json", str(reports_["json"]), "--markdown", str(reports_["md"]),
                         "--csv", str(reports_["csv"]),
                         # bob's module starts a detached process: the box must end it (what
                         # this class checks), so the allow-list lets it run, and lists it
                         "--skip-allowlist")
    document = json.loads(reports_["json"].read_text())
    return {"done": done, "json": document, "lingering": running(MARKER),
            "markdown": reports_["md"].read_text(), "csv": reports_["csv"].read_text(),
            "by": {Path(result["target"]).name: result for result in document["learners"]}}


def _tests(result, kata):
    return [test for test in result["tests"] if test["name"].startswith(f"{kata.folder}::")]


def test_the_class_is_graded_with_a_valid_report_and_the_seed_it_was_given(graded_class):
    done, document = graded_class["done"], graded_class["json"]
    assert done.returncode == 1, done.stderr[-3000:]  # graded, some failed
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["grading"]["seed"] == SEED and f"seed {SEED}" in graded_class["markdown"]
    assert "Traceback" not in done.stderr


def test_every_test_earns_its_share_when_it_passes_and_the_shares_add_up(graded_class):
    for result in graded_class["by"].values():
        for kata in (BROADCASTING, MATMUL):
            tests = _tests(result, kata)
            assert sum(test["max_points"] for test in tests) == kata.points
            assert all(test["points"] == (test["max_points"] if test["status"] == "pass" else 0)
                       for test in tests)
    alice = graded_class["by"]["course-alice"]
    assert (alice["status"], alice["points"], alice["max_points"]) == ("pass", 20, 20)


def test_edited_tests_and_added_files_are_ignored_and_listed(graded_class):
    alice = graded_class["by"]["course-alice"]
    assert not any("free_point" in test["name"] for test in alice["tests"])
    assert alice["ignored"] == [{"path": "katas/01_broadcasting/conftest.py", "change": "added"},
                                {"path": "katas/03_matmul/test_matmul.py", "change": "changed"}]
    assert "`katas/03_matmul/test_matmul.py` (changed)" in graded_class["markdown"]


def test_special_casing_the_visible_examples_passes_them_and_fails_grading(graded_class):
    bob = graded_class["by"]["course-bob"]
    matmul = [test for test in _tests(bob, MATMUL) if test["functions"] == ["matmul"]]
    hidden = [test for test in matmul if test["hidden"]]
    assert [test["name"] for test in hidden] == \
        ["03_matmul::test_matmul_on_larger_sizes_and_small_integers"]
    assert hidden[0]["status"] == "fail" and "wrong values" in hidden[0]["message"]
    assert all(test["status"] == "pass" for test in matmul if not test["hidden"])
    matvec = [test for test in _tests(bob, MATMUL) if test["functions"] == ["matvec"]]
    assert any(test["hidden"] for test in matvec)
    assert all(test["status"] == "pass" for test in matvec)


def test_a_rule_cheat_earns_nothing_where_it_cheats(graded_class):
    """``@`` in matmul_by_columns: every product it computes breaks the rule; its checks of
    the shapes, before the product, still earn theirs."""
    bob = graded_class["by"]["course-bob"]
    by_columns = [test for test in _tests(bob, MATMUL)
                  if test["functions"] == ["matmul_by_columns"]]
    products = [test for test in by_columns if "value_error" not in test["name"]]
    assert products and all(test["points"] == 0 and "no_library_matmul" in test["message"]
                            for test in products)
    assert all(test["status"] == "pass" for test in by_columns if test not in products)


def test_a_syntax_error_and_a_missing_module_are_graded_as_broken(graded_class):
    zed = graded_class["by"]["zed"]
    assert (zed["points"], [kata["state"] for kata in zed["katas"]]) == (0, ["broken", "broken"])
    assert "SyntaxError at line 1" in zed["tests"][0]["message"]
    assert "fail as not imported" in graded_class["markdown"]


def test_the_markdown_carries_each_failures_message_and_renders_it_as_text(graded_class):
    markdown = graded_class["markdown"]
    assert "(hidden test)" in markdown and "Beyond the allow-list" in markdown
    assert "import subprocess" in markdown  # bob's module, flagged
    rendered = _rendered(markdown)
    assert not {"img", "a", "script"} & set(rendered.tags)
    assert "<img src=x onerror=alert(1)>" in "".join(rendered.text)


def test_the_roster_names_learners_in_the_csv_and_lists_what_it_cannot_match(graded_class):
    rows = list(csv.DictReader(io.StringIO(graded_class["csv"])))
    assert [(row["github_username"], Path(row["target"]).name if row["target"] else "")
            for row in rows] == [("alice", "course-alice"), ("bob", "course-bob"), ("", "zed"),
                                 ("dan", "")]
    by = graded_class["by"]
    assert [row["total"] for row in rows[:3]] == [  # to a hundredth, as every report shows it
        f"{round(by[name]['points'], 2):g}" for name in ("course-alice", "course-bob", "zed")]
    assert (rows[0]["01_broadcasting"], rows[0]["03_matmul"], rows[0]["max_points"]) == \
        ("10", "10", "20")
    roster = graded_class["json"]["roster"]
    assert [Path(entry["target"]).name for entry in roster["unmatched_targets"]] == ["zed"]
    assert [row["github_username"] for row in roster["without_target"]] == ["dan"]


def test_the_class_at_a_glance(graded_class):
    katas = {entry["kata"]: entry for entry in graded_class["json"]["katas"]}
    matmul, broadcasting = katas["03_matmul"], katas["01_broadcasting"]
    assert matmul["learners"] == broadcasting["learners"] == 3
    assert matmul["passing"] == {"matvec": 2, "matmul_by_columns": 1, "matmul": 1}
    assert broadcasting["passing"]["as_column"] == 1 and broadcasting["passing"]["as_row"] == 2
    assert matmul["states"] == {"done": 1, "failing": 1, "broken": 1}
    assert matmul["most_common_failure"]["learners"] == 1
    assert matmul["hidden_tests"] == ["test_matvec_on_larger_sizes_and_small_integers",
                                      "test_matmul_by_columns_on_larger_sizes_and_small_integers",
                                      "test_matmul_on_larger_sizes_and_small_integers"]
    assert "def test_matmul_matches_torch" in matmul["tests_code"]["test_matmul_matches_torch"]
    assert "## The class at a glance" in graded_class["markdown"]


def test_no_process_of_the_class_outlives_grading(graded_class):
    assert not graded_class["lingering"]


def test_a_time_limit_ends_every_process_of_a_learner_that_forks_and_never_returns(tmp_path,
                                                                                   running):
    """The learner's module starts a detached process, then loops forever (sleeping, to
    spare the shared machine): the time limit stops the kata, and when ``kata grade``
    returns nothing it started is left. The limit leaves the run time to reach the
    learner's code on a busy machine."""
    learner = _write(tmp_path / "course-frank", {_module(BROADCASTING): DETACHED + (
        "import time\nwhile True:  # never returns\n    time.sleep(0.05)\n")})
    results = tmp_path / "results.json"
    grader = subprocess.Popen(
        [sys.executable, "-m", "kata", "grade", str(learner), "--only", "01", "--time-limit", "60",
         "--gradescope", str(results), "--json", str(tmp_path / "grades.json"),
         "--skip-allowlist"],  # subprocess and time: the box and the limit must stop it
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "PYTHONDONTWRITEBYTECODE": "1"})
    seen = False
    while grader.poll() is None:
        seen = seen or running(MARKER)
        time.sleep(0.5)
    _, errors = grader.communicate(timeout=60)
    assert not running(MARKER)
    assert seen, "the learner's code never started: the machine is too busy for this limit"
    assert grader.returncode == 1, errors
    gradescope = json.loads(results.read_text())
    assert gradescope["score"] == 0 and gradescope["stdout_visibility"] == "hidden"
    test, = gradescope["tests"]
    assert test["status"] == "failed" and "timed out after 60 s" in test["output"]
    assert isinstance(json.loads((tmp_path / "grades.json").read_text())["grading"]["seed"], int)

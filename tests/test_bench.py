"""The benchmark runs (in its tiny mode) and reports what it says it does. Nothing here is
about time: the figures themselves are for people, measured side by side in one run."""

import json

import torch

from kata.instructor import bench


def test_the_tiny_benchmark_prints_the_tables_and_writes_the_json(tmp_path, capsys):
    target = tmp_path / "bench.json"
    assert bench.main(["--tiny", "--device", "cpu", "--json", str(target)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(target.read_text())
    assert report["device"] == "cpu" and report["repeats"] == 2 and report["images"] == 2048
    rungs = [entry["rung"] for entry in report["matmul"]]
    assert rungs == ["Python triple loop", "row times column, sum", "reference matmul (broadcast)",
                     "torch.matmul"]
    for entry in report["matmul"]:
        assert 0 < entry["min_s"] <= entry["median_s"] <= entry["max_s"] and entry["speedup"] >= 1
        assert entry["rung"] in printed
    for pipeline in ("reference", "idiomatic"):
        row = report["epoch"][pipeline]
        assert 0 < row["min_s"] <= row["median_s"] <= row["max_s"]
        assert 0 <= row["test_accuracy"] <= 1
        assert pipeline in printed
    epoch = report["epoch"]
    assert epoch["ratio"] == epoch["reference"]["median_s"] / epoch["idiomatic"]["median_s"]
    for pipeline in ("reference", "idiomatic"):
        assert list(report["epoch"]["profile_s"][pipeline]) == list(bench.STAGES)
    assert all(stage in printed for stage in bench.STAGES)
    feedback = report["feedback"]
    assert list(feedback["katas"]) == ["01_broadcasting"] and "full_check" not in feedback
    assert feedback["katas"]["01_broadcasting"]["ratio"] > 0 and "x floor" in printed
    loop = feedback["learner_loop"]
    assert loop["kata"] == "01_broadcasting" and "thread_storm" not in feedback
    for figure in ("floor", "first_run", "run_failing"):
        assert 0 < loop[figure]["min_s"] <= loop[figure]["median_s"] <= loop[figure]["max_s"]
    assert "kata run 01, a failing save" in printed and "board" not in json.dumps(loop)
    profile = feedback["warm_profile"]
    assert profile["kata"] == "01_broadcasting" and "collection" in profile["parts"]
    assert all(seconds >= 0 for seconds in profile["parts"].values())
    assert "Where a warm run's time goes" in printed
    assert not [name for name in profile["imported"] if name.startswith(("torch", "sympy"))]


def test_the_ladder_skips_rungs_that_would_run_for_hours_and_says_why():
    entries = bench.matmul_ladder(torch.device("cpu"), repeats=1, full_rows=200)
    loop = next(e for e in entries if e["rows"] == 200 and e["rung"] == "Python triple loop")
    assert "1,568,000 Python iterations" in loop["skipped"]
    assert all("median_s" in e for e in entries if e["rows"] == 200 and e is not loop)


def test_busy_cores_keeps_processes_running_and_stops_them():
    with bench.busy_cores(2):
        running = int(open("/proc/loadavg").read().split()[3].split("/")[0])
    assert running >= 2  # the two spinners (and this process)


def test_the_loop_rungs_compute_the_product():
    a, b = torch.randn(3, 4), torch.randn(4, 2)
    torch.testing.assert_close(bench.loop_matmul(a, b), a @ b)
    torch.testing.assert_close(bench.row_column_matmul(a, b), a @ b)


def test_the_grading_benchmark_reports_a_class_per_kata_beside_the_floor(tmp_path, capsys,
                                                                        monkeypatch):
    """``kata bench --grading`` prints the class's time with the warm grader and without, per
    kata and in floors, and writes the figures (the grading itself: tests/test_grading.py)."""
    from kata.instructor import grading_cost

    def cost(katas, learners, repeats):
        assert (learners, repeats) == (30, 3) and len(katas) == 8
        return {"floor": 2.0, "warm": 240.0, "cold": 480.0, "learners": 30, "cores": 2,
                "katas": [kata.folder for kata in katas], "repeats": 3,
                "per_kata": {"warm": 1.0, "cold": 2.0}}
    monkeypatch.setattr(grading_cost, "class_cost", cost)
    target = tmp_path / "grading.json"
    assert bench.main(["--grading", "--repeats", "3", "--skip-box-cost",
                       "--json", str(target)]) == 0
    printed = capsys.readouterr().out
    assert "30 learners x 8 katas" in printed and "beside the floor" in printed
    warm = next(line for line in printed.splitlines() if line.strip().startswith("warm grader"))
    assert warm.split()[-3:] == ["240.0s", "1.00s", "0.50"]
    assert json.loads(target.read_text())["class"]["per_kata"] == {"warm": 1.0, "cold": 2.0}


def test_the_checks_table_shows_each_way_and_its_ratios(monkeypatch):
    """``kata bench --grading``'s cost of the checks: the grade as ``kata grade`` grades it,
    without the allow-list and unboxed, with the two ratios, and the allow-list's reading."""
    from kata.instructor import grading_cost

    monkeypatch.setattr(grading_cost.sandbox, "availability", lambda: None)
    row = {"kata": "03_matmul", "graded_s": 6.0, "unchecked_s": 5.0, "unboxed_s": 4.0,
           "reading_s": 0.0021, "first_reading_s": 0.9}
    printed = grading_cost.table([row], 3)
    line = next(line for line in printed.splitlines() if line.strip().startswith("03_matmul"))
    assert line.split()[1:] == ["6.00s", "5.00s", "4.00s", "1.20", "1.50", "2.1", "900"]

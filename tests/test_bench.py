"""The benchmark runs (in its tiny mode) and reports what it says it does. Nothing here is
about time: the figures themselves are for people, measured side by side in one run."""

import json

from kata import bench


def test_the_tiny_benchmark_prints_the_table_and_writes_the_json(tmp_path, capsys):
    target = tmp_path / "bench.json"
    assert bench.main(["--tiny", "--device", "cpu", "--json", str(target)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(target.read_text())
    assert report["device"] == "cpu" and report["repeats"] == 2 and report["images"] == 2048
    for pipeline in ("reference", "idiomatic"):
        row = report["epoch"][pipeline]
        assert 0 < row["min_s"] <= row["median_s"] <= row["max_s"]
        assert 0 <= row["test_accuracy"] <= 1
        assert pipeline in printed
    assert report["epoch"]["ratio"] == report["epoch"]["reference"]["median_s"] / report["epoch"]["idiomatic"]["median_s"]
    assert "reference / idiomatic" in printed

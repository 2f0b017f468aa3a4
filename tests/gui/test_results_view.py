"""The Training tab's Results: a run's scores beside its naive and strong baselines, its report, best epoch,
timings and verdicts, when it ends and when it is opened; and why a run without results has none.

The recorded results (recorded_results/*.json) are real runs' results.json files: the seed forecast (2 epochs),
sentiment on rt-polarity (--limit 2000, 1 epoch, hidden 16) and tagging on WNUT-17 (1 epoch, hidden 16).
test_recorded_results_keep_a_real_runs_format checks that they still have what a run writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from fake_process import FakeProcess
from recorded_runs import METRICS_HEADER, metric_rows, seed_config, write_recorded

RECORDED = Path(__file__).parent / "recorded_results"


def recorded(task: str) -> dict:
    return json.loads((RECORDED / f"{task}.json").read_text(encoding="utf-8"))


def one_epoch_rows(val: str, value: float) -> str:
    return METRICS_HEADER + f"1.0,1,0,train/loss,0.7\r\n2.0,1,0,{val},{value}\r\n"


def finish(window, run_dir: Path, how: str = "finished") -> FakeProcess:
    """A run of the window's that ends with ``run_dir`` as its folder."""
    window.start_run()
    proc = FakeProcess.made[-1]
    proc.emit("started", run_dir=str(run_dir), max_epochs=2, monitor="val/mse", mode="min", device="cpu",
              world_size=1, time=1.0)
    proc.say("the run's own line")
    proc.emit("finished", run_dir=str(run_dir), status=how, epochs_completed=2, time=3.0)
    proc.end(0, how)
    QApplication.processEvents()  # the results are shown in the event loop's next turn
    return proc


def header(table, column: int) -> str:
    return table.horizontalHeaderItem(column).text()


def row_of(table, name: str) -> int:
    return next(r for r in range(table.rowCount()) if table.verticalHeaderItem(r).text() == name)


def test_a_finished_run_shows_its_scores_beside_both_baselines_the_best_marked(fake_window, tmp_path):
    window = fake_window
    run = write_recorded(tmp_path / "runs", "20261201-175644-cosine-sequence-rnn32-L500H1",
                         results=recorded("forecast"), metrics=metric_rows("val/mse", epochs=2))
    assert window.lower_tabs.currentWidget() is window.log_pane
    finish(window, run)
    view = window.results_view
    assert window.lower_tabs.currentWidget() is view  # the results come to the front when the run ends
    table = view.metrics_table
    assert [header(table, c) for c in range(table.columnCount())] == [
        "model\nval", "model\ntest", "naive\nval", "naive\ntest", "strong\nval", "strong\ntest"]
    assert view.legend.text() == "naive: repeat_last   strong: dlinear"
    mse = row_of(table, "mse")
    assert [table.item(mse, c).text() for c in range(6)] == [
        "8.058e-04", "8.058e-04", "5.515e-04", "5.515e-04", "★ 2.021e-16", "★ 2.021e-16"]
    assert table.item(mse, 5).font().bold() and not table.item(mse, 1).font().bold()
    assert "lower is better" in table.item(mse, 5).toolTip()
    # the loss has no baseline to compare with: nothing is marked
    loss = row_of(table, "loss")
    assert not any(table.item(loss, c).text().startswith("★") for c in range(6))
    assert view.verdict.text() == ("test mse 8.058e-04: worse than the naive repeat_last (5.515e-04), "
                                   "worse than the strong dlinear (2.021e-16)")
    facts = {name: label.text() for name, label in view.fact_labels.items()}
    assert facts["best epoch"] == "2 (val mse 0.005, from metrics.csv)"  # the recorded rows' lowest val/mse
    assert facts["epochs run"] == "2 of 10" or facts["epochs run"].startswith("2")
    assert facts["fit time"] == "16.4 s (15.3 s in training steps)"
    assert facts["throughput"] == "261 samples/s, 2.61 steps/s"  # 40 steps / 15.327 s
    assert "global_steps / train_seconds" in view.fact_labels["throughput"].toolTip()
    assert facts["parameters"] == "1,153"
    assert facts["test split"] == "validation (the data has no separate test split)"
    notes = view.notes.text()
    assert "strong baseline: dlinear: DLinear by least squares" in notes
    assert "verdict: vanishing_gradients (epoch 1)" in notes and "Try: --cell lstm or gru" in notes
    assert view.report_note.text().startswith("this task records no per-class report")
    assert view.report_table.isHidden()


def test_a_classification_run_shows_its_confusion_matrix_heat_coloured(fake_window, tmp_path, qtbot):
    window = fake_window
    results = recorded("sentiment")
    run = write_recorded(tmp_path / "runs", "20261201-175726-rt_polarity-gru16", task="sentiment",
                         config=seed_config("sentiment", preset=None), results=results,
                         metrics=one_epoch_rows("val/acc", 0.56))
    window.runs_panel.refresh()
    window.show_run(str(run))  # opened from the Runs tab: the same panel
    view = window.results_view
    assert window.lower_tabs.currentWidget() is view
    table = view.report_table
    assert [header(table, c) for c in range(table.columnCount())] == [
        "→ neg", "→ pos", "precision", "recall", "F1", "support"]
    assert [view.report_cell(0, c) for c in range(6)] == ["115", "85", "0.5583", "0.575", "0.5665", "200"]
    assert [view.report_cell(1, c) for c in range(6)] == ["91", "109", "0.5619", "0.545", "0.5533", "200"]
    # 115 of 200 true neg predicted neg: a deeper colour than the 85 mistaken for pos
    assert table.item(0, 0).background().color().alpha() > table.item(0, 1).background().color().alpha() > 0
    assert "true class neg, predicted class pos: 85 (42.5% of neg)" == table.item(0, 1).toolTip()
    assert "rows are the true class" in view.report_note.text()
    metrics = view.metrics_table
    acc = row_of(metrics, "acc")
    assert metrics.item(acc, 5).text() == "★ 0.705" and "higher is better" in metrics.item(acc, 5).toolTip()
    assert "also fitted: nbsvm (val acc 0.685, test acc 0.685)" in view.notes.text()  # the other strong candidate, not the chosen one
    facts = {name: label.text() for name, label in view.fact_labels.items()}
    assert facts["vocabulary size"] == "2,615" and facts["best epoch"] == "1 (val acc 0.56, from metrics.csv)"


def test_a_tagging_run_shows_precision_recall_and_f1_per_entity_type_per_split(fake_window, tmp_path):
    window = fake_window
    run = write_recorded(tmp_path / "runs", "20261201-175827-wnut17-cnn-lstm16", task="tagging",
                         config=seed_config("tagging", preset=None), results=recorded("tagging"),
                         metrics=one_epoch_rows("val/score", 0.0))
    window.show_run(str(run))
    view = window.results_view
    table = view.report_table
    assert [header(table, c) for c in range(table.columnCount())] == ["precision", "recall", "F1", "support",
                                                                      "predicted"]
    person = row_of(table, "person")
    assert view.report_split.currentText() == "test" and view.report_split.isVisibleTo(view)
    test_support = view.report_cell(person, 3)
    view.report_split.setCurrentIndex(view.report_split.findText("validation"))
    assert view.report_cell(row_of(table, "person"), 3) == "227" != test_support
    assert "per entity type" in view.report_note.text() and "scheme bio, CRF" in view.report_note.text()
    # f1/person is an F1: higher is better, and the CRF's is marked
    metrics = view.metrics_table
    row = row_of(metrics, "f1/person")
    assert metrics.item(row, 5).text().startswith("★")


def test_runs_without_results_say_why_and_what_to_do(fake_window, tmp_path):
    window = fake_window
    view = window.results_view
    assert "No results yet" in view.message.text()
    # failed before it made its folder (a bad file found by the child): no folder to read
    window.start_run()
    proc = FakeProcess.made[-1]
    proc.emit("error", message="data.csv: not found")
    proc.end(2, "failed")
    QApplication.processEvents()
    assert "before it made its run folder" in view.message.text() and view.message.isVisibleTo(view)
    assert window.lower_tabs.currentWidget() is window.log_pane  # its error is in the log
    # killed while training: results.json was never written
    killed = write_recorded(tmp_path / "runs", "20261201-180000-cosine-sequence-rnn32-L500H1")
    (killed / "results.json").unlink()
    finish(window, killed, how="killed")
    assert "did not finish" in view.message.text() and "Resume in the Runs tab" in view.message.text()
    assert view.metrics_table.isHidden() and window.lower_tabs.currentWidget() is window.log_pane
    # failed after it made its folder: its error event says why
    failed = write_recorded(tmp_path / "runs", "20261201-180100-cosine-sequence-rnn32-L500H1")
    (failed / "results.json").unlink()
    (failed / "events.jsonl").write_text(json.dumps({"event": "error", "message": "--lr: must be > 0"}) + "\n")
    window.show_run(str(failed))
    assert "--lr: must be > 0" in view.message.text() and "Fix what the error names" in view.message.text()


def test_an_older_or_plugin_results_json_shows_what_it_has(make_window, tmp_path):
    """A results.json with only the oldest fields (no timings, no strong baseline, a plugin's own report)."""
    window = make_window()
    results = {"task": "forecast", "status": "finished", "monitor": "mse",
               "metrics": {"val": {"mse": 0.1}, "test": {"mse": 0.2, "custom": None}},
               "baseline": {"name": "repeat last", "val": {"mse": 0.3}, "test": {"mse": 0.4}},
               "report": {"histogram": [1, 2, 3]}, "best_checkpoint": None, "outputs": []}
    run = write_recorded(tmp_path / "runs", "20261201-120000-old", results=results)
    window.show_run(str(run))
    view = window.results_view
    assert view.metrics_table.columnCount() == 4  # model and naive, val and test
    custom = row_of(view.metrics_table, "custom")  # a plugin's metric that was not finite: no mark, no number
    assert view.metrics_table.item(custom, 1).text() == "-"
    facts = {name: label.text() for name, label in view.fact_labels.items()}
    assert facts["fit time"] == "not recorded" and facts["throughput"] == "not recorded"
    assert '"histogram"' in view.report_text.toPlainText() and view.report_text.isVisibleTo(view)
    assert view.verdict.text() == "test mse 0.2: better than the naive repeat last (0.4)"


@pytest.mark.realdata
def test_recorded_results_keep_a_real_runs_format_and_a_real_run_shows(make_window, tmp_path, data_root, qtbot):
    """One real run (sentiment on 600 rt-polarity reviews, one epoch): the recorded files have the keys it
    writes, and its own folder fills the panel."""
    from suite import api

    real = api.train("sentiment", data="sentiment/rt_polarity", limit=600, max_epochs=1, hidden=8,
                     embedding_dim=16, threads=1, data_root=str(data_root), run_dir=tmp_path / "runs" / "sentiment" / "r")
    fake = recorded("sentiment")
    assert set(fake) <= set(real) | {"diagnostics"}
    assert set(fake["baseline"]) == set(real["baseline"])
    assert set(fake["report"]) <= set(real["report"])
    assert set(fake["report"]["confusion_matrix"]) == set(real["report"]["confusion_matrix"])
    for task in ("forecast", "tagging"):
        assert {"metrics", "baseline", "report", "fit_seconds", "train_seconds", "train_samples_per_second",
                "global_steps", "epochs_completed", "monitor"} <= set(recorded(task))
    window = make_window()
    window.show_run(real["run_dir"])
    view = window.results_view
    table = view.report_table
    n = len(real["report"]["classes"])
    total = sum(int(view.report_cell(r, c).replace(",", "")) for r in range(n) for c in range(n))
    assert total == real["data"]["test"]
    strong = real["baseline"]["strong"]
    assert header(view.metrics_table, 4) == "strong\nval" and f"strong: {strong}" in view.legend.text()
    assert window.lower_tabs.currentWidget() is view and table.isVisibleTo(view)

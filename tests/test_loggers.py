"""--logger: Lightning's CSV, TensorBoard, MLflow and W&B loggers beside events.jsonl, read back with each
tool's own reader, and continued (not restarted) by --resume."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from suite.cli import main

pytest.importorskip("tensorboard")
pytest.importorskip("mlflow")

# the seed forecast, made tiny (20 batches an epoch), on one thread: the machine's cores are shared
TINY = ["--task", "forecast", "--hidden", "4", "--threads", "1", "--log-every", "10"]


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """One run of 2 epochs into all three file loggers (shared by the reading tests: they only read)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the product sets it; undone after these tests
        run = tmp_path_factory.mktemp("loggers") / "run"
        assert main([*TINY, "--max-epochs", "2", "--logger", "tensorboard,mlflow,csv", "--run-dir", str(run)]) == 0
        yield run


def scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "logs" / "tensorboard"))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def mlflow_run(run: Path):
    from mlflow.tracking import MlflowClient

    state = json.loads((run / "logs" / "loggers.json").read_text())["mlflow"]
    client = MlflowClient((run / "logs" / "mlflow").resolve().as_uri())
    return client, client.get_run(state["run_id"])


def test_tensorboard_sees_loss_validation_and_learning_rate_per_epoch(tracked):
    results = json.loads((tracked / "results.json").read_text())
    steps = results["global_steps"] // 2  # per epoch
    tags = scalars(tracked)
    # one point an epoch, at its last step: the best checkpoint's re-validation adds none
    assert [step for step, _ in tags["val/mse"]] == [steps - 1, 2 * steps - 1]
    assert len(tags["train/loss"]) == 2 * steps // 10  # every --log-every steps
    assert [step for step, _ in tags["train/lr"]] == [0, steps]  # once an epoch, as it starts
    assert all(value == pytest.approx(results["config"]["train"]["lr"]) for _, value in tags["train/lr"])
    assert "test/mse" in tags and "hp_metric" not in tags


def test_mlflow_store_in_the_run_has_metrics_and_params(tracked):
    client, found = mlflow_run(tracked)
    assert found.info.status == "FINISHED" and found.info.run_name == tracked.name
    params = found.data.params
    assert params["backbone.hidden"] == "4" and params["train.max_epochs"] == "2" and params["task"] == "forecast"
    assert {"train/loss", "train/lr", "val/mse", "val/mae", "test/mse"} <= set(found.data.metrics)
    assert len(client.get_metric_history(found.info.run_id, "val/mse")) == 2
    results = json.loads((tracked / "results.json").read_text())
    assert found.data.metrics["test/mse"] == pytest.approx(results["metrics"]["test"]["mse"])


def test_csv_logger_metrics_read_with_pandas(tracked):
    import pandas as pd

    table = pd.read_csv(tracked / "logs" / "csv" / "metrics.csv")
    assert table["val/mse"].notna().sum() == 2
    assert table["train/lr"].notna().sum() == 2
    assert table["train/loss"].notna().sum() == 4
    assert table["test/mse"].notna().sum() == 1


def test_events_stay_the_windows_source_without_a_learning_rate_metric(tracked):
    events = [json.loads(line) for line in (tracked / "events.jsonl").read_text().splitlines()]
    names = {e["name"] for e in events if e["event"] == "metric"}
    assert "val/mse" in names and "train/loss" in names and "train/lr" not in names


def test_resume_continues_the_same_logger_runs(tracked, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    run = tmp_path / "copy"  # a copy: the reading tests keep their run, and a moved run uses its own store
    shutil.copytree(tracked, run)
    (run / ".rnn-suite.lock").unlink(missing_ok=True)
    first_id = json.loads((run / "logs" / "loggers.json").read_text())["mlflow"]["run_id"]

    assert main(["--resume", str(run), "--max-epochs", "3", "--threads", "1"]) == 0

    assert {p.name for p in (run / "logs").iterdir() if p.is_dir()} == {"csv", "mlflow", "tensorboard"}  # no version_1
    tags = scalars(run)  # one TensorBoard run: the folder's event files together
    steps = json.loads((run / "results.json").read_text())["global_steps"] // 3
    assert [step for step, _ in tags["val/mse"]] == [steps - 1, 2 * steps - 1, 3 * steps - 1]
    assert len(tags["train/lr"]) == 3
    client, found = mlflow_run(run)
    assert found.info.run_id == first_id
    assert len(client.search_runs([found.info.experiment_id])) == 1
    assert [m.step for m in client.get_metric_history(first_id, "val/mse")] == [steps - 1, 2 * steps - 1, 3 * steps - 1]
    assert found.data.params["train.max_epochs"] == "2"  # MLflow params cannot change
    assert found.data.tags["resumed.train.max_epochs"] == "3"
    import pandas as pd

    table = pd.read_csv(run / "logs" / "csv" / "metrics.csv")  # appended, not restarted
    assert table["val/mse"].notna().sum() == 3


@pytest.mark.parametrize("name, module", [("mlflow", "mlflow"), ("tensorboard", "tensorboard"), ("wandb", "wandb")])
def test_a_missing_package_is_one_line_before_any_run_folder(name, module, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like to the import system
    monkeypatch.setenv("RNN_SUITE_RUNS", str(tmp_path / "runs"))
    code = main([*TINY, "--max-epochs", "1", "--logger", f"csv,{name}", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and err.startswith("error: train.logger (--logger)")
    assert f"the {name} logger needs the {module} package" in err and "pip install rnn-suite[tracking]" in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flags, message", [
    (["--logger", "tensorbord"], "unknown logger 'tensorbord'; expected NAME[,NAME...] of csv, tensorboard"),
    (["--logger", "csv", "--mlflow-uri", "http://localhost:5000"], "is for the mlflow logger; add --logger mlflow"),
])
def test_bad_logger_settings_are_one_line(flags, message, tmp_path, capsys):
    assert main([*TINY, *flags, "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
    assert not (tmp_path / "run").exists()


def test_logger_names_are_one_comma_separated_flag(capsys):
    with pytest.raises(SystemExit):
        main([*TINY, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--logger LOGGER" in help_text and "one comma-separated flag (--logger tensorboard,mlflow)" in help_text
    assert "--mlflow-uri MLFLOW_URI" in help_text
    from suite.loggers import parse_names

    assert parse_names("tensorboard, MLflow,tensorboard") == ["tensorboard", "mlflow"]
    assert parse_names("") == []


def test_wandb_runs_offline_in_the_run_and_resume_keeps_its_id(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")  # the product forces it too; undone after the test
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "run"
    assert main([*TINY, "--max-epochs", "1", "--logger", "wandb", "--run-dir", str(run)]) == 0
    first = json.loads((run / "logs" / "loggers.json").read_text())["wandb"]["id"]
    assert main(["--resume", str(run), "--max-epochs", "2", "--threads", "1"]) == 0
    assert json.loads((run / "logs" / "loggers.json").read_text())["wandb"]["id"] == first
    offline = sorted((run / "logs" / "wandb").glob("offline-run-*"))
    assert len(offline) == 2 and all(p.name.startswith("offline-run-") and first in p.name for p in offline)


def test_mlflow_uri_sends_the_run_to_that_tracking_store(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a file store stands in for a tracking server
    server = (tmp_path / "server").as_uri()
    run = tmp_path / "run"
    assert main([*TINY, "--max-epochs", "1", "--logger", "mlflow", "--mlflow-uri", server, "--run-dir", str(run)]) == 0
    state = json.loads((run / "logs" / "loggers.json").read_text())["mlflow"]
    assert state["tracking_uri"] == server and not (run / "logs" / "mlflow").exists()
    found = MlflowClient(server).get_run(state["run_id"])
    assert found.data.params["train.mlflow_uri"] == server and "val/mse" in found.data.metrics


def test_logger_ids_are_reused_only_where_they_were_made(tmp_path):
    from suite.errors import UserError
    from suite.loggers import read_state, saved_id

    state = {"mlflow": {"run_id": "abc", "tracking_uri": ""}, "wandb": {"id": "x1"}}
    assert saved_id(state, "mlflow", "run_id", tracking_uri="") == "abc"
    assert saved_id(state, "mlflow", "run_id", tracking_uri="http://elsewhere") is None  # another server
    assert saved_id(state, "wandb", "id") == "x1" and saved_id({}, "wandb", "id") is None
    assert read_state(tmp_path) == {}
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "loggers.json").write_text("{not json")
    with pytest.raises(UserError, match="loggers.json: not valid JSON"):
        read_state(tmp_path)

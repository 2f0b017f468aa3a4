"""The forecast task's synthetic sequence problems (--data synthetic:adding, synthetic:delay): what the
generators make, how the task reads them (preset, columns, the mean baseline), their errors, and a tiny
run end to end with --predict and --evaluate. The quality claim of the defaults (an LSTM learns the adding
problem at length 200, a tanh RNN does not) is a slow run: pytest -m slow tests/test_forecast_synthetic.py."""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest
import torch
import yaml

from helpers import one_line_error, read_results
from suite.cli import main
from suite.config import build_run_config
from suite.registry import get_task
from tasks.forecast.synthetic import ADDING, DELAY, generate

TASK = get_task("forecast")
TINY = ["--sequence-length", "20", "--examples", "200", "--hidden", "8", "--threads", "1"]


def datamodule(**options):
    explicit = {f"options.{k}": v for k, v in {"data": "synthetic:adding", **options}.items()}
    cfg = build_run_config(TASK, explicit=explicit)
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    return cfg, dm


def sequences(dataset) -> tuple[np.ndarray, np.ndarray]:
    """Every window of a split as (inputs (n, T, channels), targets (n,)), in the data's units."""
    x, y, _ = dataset.__getitems__(list(range(len(dataset))))
    return x.double().numpy(), y[:, 0, 0].double().numpy()


# --- the generators ----------------------------------------------------------------------------------------

def test_adding_has_two_markers_one_in_each_half_and_sums_them():
    inputs, targets = generate(ADDING, 2000, 51, 0, seed=3, split="train")
    values, marks = inputs[..., 0], inputs[..., 1]
    assert inputs.shape == (2000, 51, 2) and targets.shape == (2000,)
    assert set(np.unique(marks)) == {0.0, 1.0}
    assert (marks[:, :25].sum(axis=1) == 1).all() and (marks[:, 25:].sum(axis=1) == 1).all()
    first, second = marks[:, :25].argmax(axis=1), 25 + marks[:, 25:].argmax(axis=1)
    assert np.array_equal(targets, values[np.arange(2000), first] + values[np.arange(2000), second])
    assert 0 <= values.min() and values.max() < 1
    # both markers range over their whole half
    assert set(first) == set(range(25)) and set(second) == set(range(25, 51))
    assert abs(targets.mean() - 1.0) < 0.03 and abs(targets.var() - 1 / 6) < 0.02


@pytest.mark.parametrize("delay", [1, 7, 30])
def test_delay_targets_the_value_that_many_steps_before_the_end(delay):
    inputs, targets = generate(DELAY, 500, 30, delay, seed=1, split="val")
    assert inputs.shape == (500, 30, 1)
    assert np.array_equal(targets, inputs[:, 30 - delay, 0])
    assert -1 <= inputs.min() and inputs.max() <= 1


def test_the_default_delay_is_the_first_value():
    cfg, dm = datamodule(data="synthetic:delay", sequence_length=25, examples=100)
    assert cfg.options.delay == 0 and dm.state.columns == ["target", "value"]
    x, y = sequences(dm.train_set)
    assert np.array_equal(y, x[:, 0, 1])


def test_generation_is_vectorised():
    start = time.perf_counter()
    inputs, targets = generate(ADDING, 10_000, 200, 0, seed=0, split="train")
    assert time.perf_counter() - start < 1.0
    assert inputs.shape == (10_000, 200, 2)


# --- the data as the task reads it -------------------------------------------------------------------------

def test_each_example_is_one_window_of_target_and_channels():
    cfg, dm = datamodule(sequence_length=30, examples=250, split="150,40,60")
    state = dm.state
    assert (cfg.options.lookback, cfg.options.horizon) == (30, 1)
    assert state.targets == ["target"] and state.covariates == ["value", "marker"]
    assert (state.time_column, state.freq, state.season) == (None, None, 1)
    assert state.mean == [0.0, 0.0, 0.0] and state.std == [1.0, 1.0, 1.0]  # the preset's --scaler none
    assert dm.sizes() == {"train": 150, "val": 40, "test": 60}
    x, y, _ = dm.train_set.__getitems__([0, 1, 2])
    assert x.shape == (3, 30, 3) and y.shape == (3, 1, 1)
    inputs, targets = generate(ADDING, 150, 30, 0, seed=0, split="train")
    got_x, got_y = sequences(dm.train_set)
    assert np.allclose(got_x[..., 1:], inputs) and np.allclose(got_y, targets)
    assert (got_x[..., 0] == 0).all()  # the target is unknown while the sequence is read
    assert state.target_mean == [pytest.approx(targets.mean())]


def test_the_data_seed_decides_the_data_and_the_training_seed_does_not():
    _, a = datamodule(sequence_length=20, examples=100)
    b_cfg = build_run_config(TASK, explicit={"options.data": "synthetic:adding", "options.sequence_length": 20,
                                             "options.examples": 100, "train.seed": 7})
    b = TASK.datamodule(b_cfg)
    b.setup("fit")
    _, c = datamodule(sequence_length=20, examples=100, data_seed=1)
    assert torch.equal(a.series, b.series)
    assert not torch.equal(a.series, c.series)


def test_splits_are_disjoint_and_drawn_apart():
    _, dm = datamodule(sequence_length=20, examples=400, split="300,50,50")
    seen = {split: {row.tobytes() for row in sequences(getattr(dm, f"{split}_set"))[0]}
            for split in ("train", "val", "test")}
    assert len(seen["train"]) == 300 and len(seen["val"]) == 50 and len(seen["test"]) == 50
    assert not seen["train"] & seen["test"] and not seen["train"] & seen["val"] and not seen["val"] & seen["test"]
    # each split has a stream of its own: the test split does not move with the training set's size
    _, fewer = datamodule(sequence_length=20, examples=400, split="100,50,50")
    assert np.array_equal(sequences(fewer.test_set)[0], sequences(dm.test_set)[0])


def test_the_baseline_predicts_the_training_mean():
    _, dm = datamodule(sequence_length=40, examples=2000)
    train_y = generate(ADDING, 1600, 40, 0, seed=0, split="train")[1]
    test_y = generate(ADDING, 200, 40, 0, seed=0, split="test")[1]
    base = TASK.baseline(dm)
    assert base.name == "train_mean" and base.others == {}
    mse = np.mean((test_y - train_y.mean()) ** 2)
    assert base.test["mse"] == pytest.approx(mse, rel=1e-6)
    assert base.test["orig_mae"] == pytest.approx(np.mean(np.abs(test_y - train_y.mean())), rel=1e-6)
    assert base.test["mse"] == pytest.approx(np.var(test_y), abs=0.002)  # the test targets' variance
    assert base.val["mse"] > 0.1  # about 1/6


def test_standard_scaling_fits_the_target_on_targets_and_channels_on_steps():
    _, dm = datamodule(sequence_length=20, examples=500, scaler="standard")
    inputs, targets = generate(ADDING, 400, 20, 0, seed=0, split="train")
    assert dm.state.mean == pytest.approx([targets.mean(), *inputs.mean(axis=(0, 1))])
    assert dm.state.std == pytest.approx([targets.std(), *inputs.std(axis=(0, 1))])
    x, y = sequences(dm.train_set)
    assert np.allclose(x[..., 0], 0.0, atol=1e-6)  # the unknown target is the training mean: 0 once scaled
    base = TASK.baseline(dm)
    assert base.test["orig_rmse"] ** 2 == pytest.approx(np.mean((generate(ADDING, 50, 20, 0, 0, "test")[1]
                                                                 - targets.mean()) ** 2), rel=1e-5)


def test_a_series_state_is_written_as_before():
    cfg = build_run_config(TASK)  # the seed's cosine
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    assert dm.state.target_mean is None and "target_mean" not in dm.state.to_dict()
    _, synthetic = datamodule(sequence_length=20, examples=100)
    saved = synthetic.state.to_dict()
    assert saved["version"] == 1 and saved["target_mean"] == synthetic.state.target_mean
    assert type(synthetic.state).from_dict(saved) == synthetic.state


# --- settings -------------------------------------------------------------------------------------------

def print_config(capsys, *args: str) -> tuple[dict, str]:
    assert main(["--task", "forecast", *args, "--print-config"]) == 0
    out, err = capsys.readouterr()
    return yaml.safe_load(out), err


def test_synthetic_data_chooses_its_preset(capsys):
    config, err = print_config(capsys, "--data", "synthetic:adding")
    assert config["preset"] == "synthetic"
    assert "preset synthetic (chosen for these settings; --preset none for the plain defaults)" in err
    opts = config["options"]
    assert (opts["lookback"], opts["sequence_length"], opts["horizon"]) == (200, 200, 1)
    assert (opts["model"], opts["loss"], opts["scaler"], opts["window_norm"]) == ("sequence", "mse", "none", "none")
    assert config["train"]["grad_clip"] > 0 and config["train"]["patience"] == 0
    config, _ = print_config(capsys, "--data", "synthetic:delay", "--sequence-length", "50", "--cell", "rnn")
    assert config["options"]["data"] == "synthetic:delay" and config["options"]["lookback"] == 50
    assert config["backbone"]["cell"] == "rnn"
    # a window shorter than the sequence reads its last steps
    assert print_config(capsys, "--data", "synthetic:adding", "--lookback", "50")[0]["options"]["lookback"] == 50
    # --preset synthetic alone is the adding problem
    assert print_config(capsys, "--preset", "synthetic")[0]["options"]["data"] == "synthetic:adding"


def test_a_saved_config_replays_the_same_run(capsys, tmp_path):
    first, _ = print_config(capsys, "--data", "synthetic:adding", "--sequence-length", "30")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(first))
    assert main(["--config", str(tmp_path / "c.yaml"), "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == first


@pytest.mark.parametrize("args, expected", [
    (["--data", "synthetic:foo"], "options.data (--data): unknown synthetic problem 'foo'; the known ones are: "
                                  "synthetic:adding, synthetic:delay"),
    (["--data", "synthetic:"], "unknown synthetic problem ''"),
    (["--data", "synthetic:delay", "--sequence-length", "10", "--delay", "11"],
     "options.delay (--delay): delay 11 is longer than the sequence length 10 (--sequence-length)"),
    (["--data", "synthetic:adding", "--lookback", "300"],
     "options.lookback (--lookback): lookback 300 is longer than the sequence length 200"),
    (["--data", "synthetic:adding", "--horizon", "5"],
     "options.horizon (--horizon): a synthetic problem has one target per sequence"),
    (["--data", "synthetic:adding", "--target", "value"], "options.target (--target): synthetic:adding has its "
                                                          "own columns (target, value, marker)"),
    (["--data", "synthetic:adding", "--sequence-length", "1"], "options.sequence_length (--sequence-length): "
                                                               "must be at least 2"),
    (["--data", "synthetic:adding", "--examples", "200000"], "options.examples (--examples): 200,000 sequences"),
    (["--lookback", "0"], "options.lookback (--lookback): must be at least 1 for a series"),
])
def test_bad_settings_are_one_line(args, expected, capsys, in_tmp):
    assert expected in one_line_error(capsys, "--task", "forecast", *args, "--print-config")


@pytest.mark.parametrize("split, expected", [
    ("150,60,0", "asks for 210 examples but --examples is 200"),
    ("0.999,0.001", "train and validation need examples"),
])
def test_a_split_that_does_not_fit_the_examples_is_one_line(split, expected, capsys, in_tmp):
    message = one_line_error(capsys, "--task", "forecast", "--data", "synthetic:adding", *TINY, "--split", split)
    assert message.startswith("options.split (--split): ") and expected in message
    assert not (in_tmp / "runs").exists()


# --- a run end to end ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    assert main(["--task", "forecast", "--data", "synthetic:adding", *TINY, "--max-epochs", "1",
                 "--run-dir", str(root / "run")]) == 0
    return root / "run"


def test_a_tiny_run_trains_and_reports_the_mean_baseline(tiny_run):
    results = read_results(tiny_run)
    assert results["status"] == "finished" and results["preset"] == "synthetic"
    assert results["data"] == {"train": 160, "val": 20, "test": 20} and results["test_split"] == "test"
    assert results["baseline"]["name"] == "train_mean"
    assert set(results["metrics"]["test"]) >= {"mse", "mae", "mase"}
    with open(tiny_run / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["example", "target", "target_forecast"] and len(rows) == 20
    test_y = generate(ADDING, 20, 20, 0, seed=0, split="test")[1]
    assert np.allclose([float(r["target"]) for r in rows], test_y, atol=1e-5)
    assert (tiny_run / "prediction.png").is_file()
    state = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)["rnn_suite"]["data_state"]
    assert state["targets"] == ["target"] and state["covariates"] == ["value", "marker"] and state["version"] == 1


def predict(capsys, run, raw: str, *extra: str) -> str:
    assert main(["--checkpoint", str(run), "--predict", raw, *extra]) == 0, capsys.readouterr().err
    return capsys.readouterr().out.strip()


def test_predict_an_inline_sequence(tiny_run, capsys):
    header, row = predict(capsys, tiny_run, "0.2 *0.5 0.1 *0.3").splitlines()
    assert header == "example,target,target_forecast"
    example, actual, forecast = row.split(",")
    assert example == "inline" and float(actual) == pytest.approx(0.8) and np.isfinite(float(forecast))


def test_predict_a_generated_example_as_the_run_scored_it(tiny_run, capsys, tmp_path):
    predict(capsys, tiny_run, "synthetic:adding@3", "--output", str(tmp_path / "p.json"))
    answer = json.loads((tmp_path / "p.json").read_text())
    assert (answer["problem"], answer["example"], answer["split"], answer["length"]) == ("adding", 3, "test", 20)
    with open(tiny_run / "predictions.csv", newline="") as handle:
        row = list(csv.DictReader(handle))[3]
    assert answer["actual"]["target"][0] == pytest.approx(float(row["target"]), rel=1e-5)
    assert answer["forecast"]["target"][0] == pytest.approx(float(row["target_forecast"]), rel=1e-4, abs=1e-5)
    last = predict(capsys, tiny_run, "synthetic:adding@-1").splitlines()[1]
    assert last.startswith("19,")
    # the same model reads the whole sequence inline: its values, the marked ones starred
    inputs = generate(ADDING, 20, 20, 0, seed=0, split="test")[0][3]
    inline = " ".join(("*" if m else "") + repr(float(v)) for v, m in inputs)
    assert float(predict(capsys, tiny_run, inline).splitlines()[1].split(",")[2]) == pytest.approx(
        answer["forecast"]["target"][0], rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("raw, expected", [
    ("0.2 *x 0.1", "--predict: '*x' is not a number; synthetic:adding reads an inline sequence of numbers, "
                   "the two marked ones starred"),
    ("series.csv", "--predict: 'series.csv' is not a number"),
    ("synthetic:delay", "--predict: this model was trained on synthetic:adding, not synthetic:delay"),
    ("synthetic:adding@20", "--predict: example 20 is outside the 20 test examples of synthetic:adding"),
    ("synthetic:nope", "--predict: unknown synthetic problem 'nope'"),
])
def test_bad_predict_input_is_one_line(tiny_run, raw, expected, capsys):
    assert expected in one_line_error(capsys, "--checkpoint", str(tiny_run), "--predict", raw)


def test_evaluate_scores_the_test_split_again_or_new_examples(tiny_run, capsys):
    results = read_results(tiny_run)
    assert main(["--checkpoint", str(tiny_run / "checkpoints" / "best.ckpt"), "--evaluate", "synthetic:adding"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["examples"] == 20 and report["split"].startswith("test split of synthetic:adding (data seed 0")
    assert report["metrics"]["mse"] == pytest.approx(results["metrics"]["test"]["mse"], rel=1e-5)
    assert report["baseline"]["test"]["mse"] == pytest.approx(results["baseline"]["test"]["mse"], rel=1e-6)
    assert main(["--checkpoint", str(tiny_run), "--evaluate", "synthetic:adding", "--data-seed", "5",
                 "--examples", "1000"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["examples"] == 100 and other["metrics"]["mse"] != report["metrics"]["mse"]
    assert "the known ones" in one_line_error(capsys, "--checkpoint", str(tiny_run), "--evaluate", "synthetic:x")
    assert "this model reads target, value, marker, and synthetic:delay has target, value" in one_line_error(
        capsys, "--checkpoint", str(tiny_run), "--evaluate", "synthetic:delay")


# --- the defaults' claim: at length 200 an LSTM learns the adding problem, a tanh RNN does not -------------

@pytest.mark.slow
@pytest.mark.parametrize("cell, hidden", [("lstm", 64), ("rnn", 130)])  # equal parameters (17,729; 17,681)
def test_at_the_defaults_an_lstm_learns_adding_and_a_tanh_rnn_does_not(cell, hidden, tmp_path):
    # about 2 minutes each on two idle CPU cores (one thread is the faster on a shared machine)
    assert main(["--task", "forecast", "--data", "synthetic:adding", "--cell", cell, "--hidden", str(hidden),
                 "--threads", "1", "--no-plot", "--run-dir", str(tmp_path / "run")]) == 0
    results = read_results(tmp_path / "run")
    mse, baseline = results["metrics"]["test"]["mse"], results["baseline"]["test"]["mse"]
    if cell == "lstm":
        assert mse < 0.1 * baseline, (mse, baseline)
    else:
        assert mse > 0.8 * baseline, (mse, baseline)

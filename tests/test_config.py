"""suite/config.py: layering, presets, errors that name the field, YAML round trips, shipped configs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suite.config import TrainConfig, build_run_config, coerce, field_flag, read_config_file
from suite.errors import ConfigError, UserError
from suite.registry import get_task

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def task():
    return get_task("forecast")


# --- presets and layering ----------------------------------------------------------------------------

def test_no_options_gives_the_seed_tutorial(task):
    cfg = build_run_config(task)
    assert cfg.task == "forecast" and cfg.preset == "seed"
    o, b, t = cfg.options, cfg.backbone, cfg.train
    assert (o.data, o.lookback, o.horizon, o.split) == ("cosine", 500, 1, "2500,500,0")
    assert (o.model, o.scaler, o.window_norm) == ("sequence", "none", "none")
    assert (b.cell, b.hidden, b.layers, b.bidirectional) == ("rnn", 32, 1, False)
    assert (t.optimizer, t.batch_size, t.max_epochs) == ("adam", 100, 10)
    assert t.lr == pytest.approx(3e-3)  # the preset beats the task default 2e-3
    assert b.init == "keras"


@pytest.mark.parametrize("explicit", [
    {"options.lookback": 96},
    {"options.horizon": 24},
    {"options.lookback": 336, "options.horizon": 96},
    {"options.data": "ETTh1.csv"},
])
def test_long_horizon_defaults_when_the_series_or_windows_are_given(task, explicit):
    cfg = build_run_config(task, explicit=explicit)
    assert cfg.preset is None
    b, t, o = cfg.backbone, cfg.train, cfg.options
    # the task's defaults beat the dataclass defaults (lstm 128, batch 32, 10 epochs, no schedule)
    assert (b.cell, b.hidden) == ("gru", 256)
    assert (t.lr, t.batch_size, t.max_epochs, t.patience, t.schedule) == (2e-3, 256, 10, 5, "cosine")
    assert o.model == "segment"
    for key, value in explicit.items():
        if key != "options.data":
            assert getattr(o, key.split(".")[1]) == value
    if "options.lookback" not in explicit:
        assert o.lookback == 96
    if "options.horizon" not in explicit:
        assert o.horizon == 96


def test_named_preset_with_data(task):
    cfg = build_run_config(task, preset="seed", explicit={"options.lookback": 100})
    assert cfg.preset == "seed" and cfg.options.lookback == 100 and cfg.options.horizon == 1
    assert cfg.backbone.cell == "rnn"


def test_unknown_preset_names_the_known_ones(task):
    with pytest.raises(ConfigError) as info:
        build_run_config(task, preset="fast")
    assert info.value.field == "preset (--preset)"
    assert "'fast'" in str(info.value) and "seed" in str(info.value)


def test_explicit_wins_over_the_preset(task):
    cfg = build_run_config(task, explicit={"backbone.hidden": 64, "train.lr": 0.01, "backbone.cell": "lstm"})
    assert cfg.preset == "seed"
    assert (cfg.backbone.hidden, cfg.train.lr, cfg.backbone.cell) == (64, 0.01, "lstm")
    assert cfg.options.lookback == 500 and cfg.train.batch_size == 100  # the rest of the preset stays


def test_layers_in_order(task):
    """task defaults < preset < file < explicit, each key decided by the latest layer that sets it."""
    file_data = {"backbone": {"cell": "lstm", "hidden": 48}, "train": {"lr": 0.02, "batch_size": 50},
                 "options": {"split": "2000,1000"}}
    cfg = build_run_config(task, file_data=file_data, file_name="run.yaml",
                           explicit={"train.lr": 0.05})
    assert cfg.preset == "seed"
    assert cfg.backbone.cell == "lstm"          # file over preset (rnn)
    assert cfg.backbone.hidden == 48            # file over preset (32)
    assert cfg.train.lr == 0.05                 # explicit over file
    assert cfg.train.batch_size == 50           # file over preset (100)
    assert cfg.options.split == "2000,1000"     # file over preset
    assert cfg.options.lookback == 500          # preset over dataclass default (96)
    assert cfg.options.loss == "mse"            # preset over dataclass default (mae)
    assert cfg.train.patience == 0              # the seed trains its 10 epochs without early stopping
    assert cfg.train.weight_decay == 0.0        # dataclass default
    long = build_run_config(task, explicit={"options.lookback": 48})
    assert long.preset is None
    assert long.train.patience == 5             # task default over dataclass default (0)


def test_file_preset_is_used_and_explicit_preset_wins(task):
    assert build_run_config(task, file_data={"preset": None, "options": {"lookback": 48,
                                                                           "horizon": 24}}).preset is None
    cfg = build_run_config(task, file_data={"preset": "seed", "options": {"lookback": 48}})
    assert cfg.preset == "seed" and cfg.options.lookback == 48 and cfg.options.horizon == 1
    # a file whose windows are given picks no preset, like the command line
    assert build_run_config(task, file_data={"options": {"horizon": 12}}).preset is None


def test_values_are_coerced_from_strings(task):
    cfg = build_run_config(task, explicit={"train.lr": "0.01", "train.batch_size": "64",
                                           "backbone.bidirectional": "yes", "train.precision": 32,
                                           "options.plot": "off"})
    assert cfg.train.lr == 0.01 and cfg.train.batch_size == 64
    assert cfg.backbone.bidirectional is True and cfg.options.plot is False
    assert cfg.train.precision == "32"


# --- errors ------------------------------------------------------------------------------------------

def test_unknown_key_in_a_file_names_file_and_key(task, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("train:\n  lrr: 0.1\n")
    data = read_config_file(path)
    with pytest.raises(UserError) as info:
        build_run_config(task, file_data=data, file_name=str(path))
    message = str(info.value)
    assert str(path) in message and "train.lrr" in message
    assert "lr" in message.split("train has:")[1]  # lists the known ones


@pytest.mark.parametrize("data,words", [
    ({"training": {"lr": 1}}, "training"),
    ({"backbone": {"cells": "gru"}}, "backbone.cells"),
    ({"options": {"window": 5}}, "options.window"),
    ({"train": ["lr", 1]}, "'train' must be a mapping"),
])
def test_bad_file_structure_names_the_file(task, data, words):
    with pytest.raises(UserError) as info:
        build_run_config(task, file_data=data, file_name="conf/x.yaml")
    assert str(info.value).startswith("conf/x.yaml")
    assert words in str(info.value)


def test_unknown_explicit_key(task):
    with pytest.raises(UserError, match=r"command line: unknown setting 'train\.speed'"):
        build_run_config(task, explicit={"train.speed": 1})


def test_read_config_file_errors(tmp_path):
    with pytest.raises(UserError, match="config file not found"):
        read_config_file(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  lr: [1\n")
    with pytest.raises(UserError) as info:
        read_config_file(bad)
    assert str(bad) in str(info.value) and "line" in str(info.value)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(UserError, match="expected a mapping"):
        read_config_file(scalar)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_config_file(empty) == {}


@pytest.mark.parametrize("layer,key,value,words", [
    ("file", "train.lr", "abc", "expected a float, got 'abc'"),
    ("file", "train.batch_size", 2.5, "expected an int, got 2.5"),
    ("file", "backbone.bidirectional", "maybe", "expected a bool"),
    ("explicit", "train.max_epochs", "ten", "expected an int, got 'ten'"),
    ("explicit", "options.lookback", True, "expected an int"),
    ("explicit", "train.lr", None, "a value is required"),
])
def test_type_errors_name_the_field(task, layer, key, value, words):
    section, name = key.split(".")
    with pytest.raises(ConfigError) as info:
        if layer == "file":
            build_run_config(task, file_data={section: {name: value}}, file_name="my.yaml")
        else:
            build_run_config(task, explicit={key: value})
    where = "my.yaml" if layer == "file" else "command line"
    assert info.value.field == f"{where}: {key}"
    assert words in str(info.value)


def test_yaml_list_for_a_text_field_is_not_silently_stringified(task):
    """BUG (suite/config.py, coerce, ``if base is str: return str(value)``): a YAML list such as
    ``target: [HUFL, OT]`` becomes the text "['HUFL', 'OT']", which later fails as an unknown column
    named "['HUFL'". It should either be joined ("HUFL,OT") or rejected naming the field."""
    try:
        cfg = build_run_config(task, file_data={"options": {"target": ["HUFL", "OT"]}}, file_name="my.yaml")
    except ConfigError as exc:
        assert exc.field == "my.yaml: options.target"
    else:
        assert cfg.options.target == "HUFL,OT"


@pytest.mark.parametrize("key,value,field,words", [
    ("train.lr", 0, "train.lr (--lr)", "greater than 0"),
    ("train.lr", -1e-3, "train.lr (--lr)", "greater than 0"),
    ("train.batch_size", 0, "train.batch_size (--batch-size)", "at least 1"),
    ("backbone.dropout", 1.0, "backbone.dropout (--dropout)", "less than 1"),
    ("backbone.dropout", -0.1, "backbone.dropout (--dropout)", "at least 0"),
    ("backbone.cell", "foo", "backbone.cell (--cell)", "expected one of rnn, lstm, gru, got 'foo'"),
    ("backbone.hidden", 0, "backbone.hidden (--hidden)", "at least 1"),
    ("train.optimizer", "adamax", "train.optimizer (--optimizer)", "adamw"),
    ("options.head_dropout", 1.5, "options.head_dropout (--head-dropout)", "less than 1"),
    ("options.lookback", 0, "options.lookback (--lookback)", "at least 1"),
])
def test_constraint_errors_name_field_and_flag(task, key, value, field, words):
    with pytest.raises(ConfigError) as info:
        build_run_config(task, explicit={key: value})
    assert info.value.field == field
    assert str(info.value).startswith(field + ": ")
    assert words in str(info.value)


def test_task_validate_runs(task):
    with pytest.raises(ConfigError) as info:
        build_run_config(task, explicit={"options.lookback": 12, "options.horizon": 12, "options.segment": 48})
    assert info.value.field == "options.segment (--segment)"


def test_constraints_at_the_bounds_are_accepted(task):
    cfg = build_run_config(task, explicit={"backbone.dropout": 0.0, "train.batch_size": 1,
                                           "train.lr": 1e-9, "train.momentum": 0.0, "backbone.layers": 1})
    assert cfg.train.batch_size == 1 and cfg.backbone.dropout == 0.0


def test_flags_and_coerce_helpers():
    flags = {f.name: field_flag(f) for f in dataclasses.fields(TrainConfig)}
    assert flags["batch_size"] == "--batch-size" and flags["lr"] == "--lr"
    assert coerce("3", int, "x") == 3 and coerce(3, float, "x") == 3.0 and coerce("off", bool, "x") is False
    assert coerce(None, int | None, "x") is None and coerce("none", int | None, "x") is None
    with pytest.raises(ConfigError, match="^x: expected an int"):
        coerce(1.5, int, "x")


# --- YAML round trip ---------------------------------------------------------------------------------

def round_trip(task, cfg):
    text = cfg.to_yaml()
    data = yaml.safe_load(text)
    assert set(data) == {"task", "preset", "backbone", "train", "options"}
    again = build_run_config(task, file_data=data, file_name="config.yaml")
    assert again.to_dict() == cfg.to_dict()
    assert again == cfg
    return again


@pytest.mark.parametrize("explicit", [
    {},
    {"options.lookback": 336, "options.horizon": 96, "options.data": "ETTh1.csv"},
    {"backbone.cell": "lstm", "backbone.layers": 3, "backbone.bidirectional": True, "backbone.dropout": 0.25,
     "train.lr": 1e-5, "train.devices": "0,1", "train.precision": "bf16-mixed", "options.covariates": "a,b",
     "options.plot": False, "options.split": "0.6,0.2,0.2"},
])
def test_yaml_round_trip(task, explicit):
    round_trip(task, build_run_config(task, explicit=explicit))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cell=st.sampled_from(("rnn", "lstm", "gru")),
    hidden=st.integers(1, 4096),
    dropout=st.floats(0.0, 0.99, allow_nan=False),
    lr=st.floats(1e-8, 10.0, allow_nan=False),
    devices=st.sampled_from(("auto", "1", "0,1", "2")),
    target=st.sampled_from(("all", "OT", "HUFL,OT", "yes", "null", "1.5")),
    lookback=st.integers(24, 1000),
    preset=st.sampled_from((None, "seed")),
)
def test_yaml_round_trip_property(task, cell, hidden, dropout, lr, devices, target, lookback, preset):
    cfg = build_run_config(task, preset=preset, explicit={
        "backbone.cell": cell, "backbone.hidden": hidden, "backbone.dropout": dropout, "train.lr": lr,
        "train.devices": devices, "options.target": target, "options.lookback": lookback})
    round_trip(task, cfg)


# --- shipped configs ---------------------------------------------------------------------------------

SHIPPED = sorted((REPO / "resources" / "configs").rglob("*.y*ml"))


@pytest.mark.parametrize("path", SHIPPED or [None], ids=[str(p.relative_to(REPO)) for p in SHIPPED] or ["none"])
def test_shipped_config_parses_and_validates(path):
    if path is None:
        pytest.skip("no YAML files under resources/configs/ yet")
    data = read_config_file(path)
    name = data.get("task") or path.parent.name
    task = get_task(name)
    cfg = build_run_config(task, file_data=data, file_name=str(path))
    assert cfg.task == task.name
    assert set(data) <= {"task", "preset", "backbone", "train", "options"}

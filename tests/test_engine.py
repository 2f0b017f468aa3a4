"""The engine's contract where trying the product found it broken (the engine issue's defects)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from suite.cli import main
from suite.config import build_run_config
from suite.registry import get_task, task_names


@pytest.mark.parametrize("name", task_names())
def test_help_shows_the_defaults_a_run_gets(name, capsys):
    """--task NAME --help states the task's defaults and default preset, as --print-config does."""
    with pytest.raises(SystemExit):
        main(["--task", name, "--help"])
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    cfg = build_run_config(get_task(name))
    for flag, value in (("--hidden", cfg.backbone.hidden), ("--lr", cfg.train.lr),
                        ("--max-epochs", cfg.train.max_epochs), ("--bidirectional", cfg.backbone.bidirectional)):
        shown = re.search(re.escape(flag) + r"\b[^(]*\(default: ([^)]*)\)", text)
        assert shown and shown.group(1) == str(value), (flag, shown and shown.group(1), value)


def _epoch_lrs(run: Path) -> list[float]:
    return [e["lr"] for e in map(json.loads, (run / "events.jsonl").read_text().splitlines())
            if e["event"] == "epoch_end"]


def test_a_cosine_schedule_follows_the_new_length_after_resume(tmp_path, capsys):
    run = tmp_path / "run"
    common = ["--schedule", "cosine", "--lr", "0.01"]
    assert main(["--task", "forecast", "--hidden", "4", "--max-epochs", "2", *common, "--run-dir", str(run)]) == 0
    assert main(["--resume", str(run), "--max-epochs", "6"]) == 0, capsys.readouterr().err
    lrs = _epoch_lrs(run)
    assert len(lrs) == 6 and lrs[:2] == pytest.approx([0.01, 0.005])
    assert all(later <= earlier + 1e-12 for earlier, later in zip(lrs, lrs[1:])), lrs  # never climbs back
    assert all(lr > 0 for lr in lrs), lrs  # the added epochs still train


def test_a_task_without_predict_or_evaluate_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    from suite.task import Task

    run = tmp_path / "run"
    assert main(["--task", "forecast", "--hidden", "4", "--max-epochs", "1", "--run-dir", str(run)]) == 0
    capsys.readouterr()
    task = type(get_task("forecast"))
    monkeypatch.setattr(task, "predict", Task.predict)
    from suite.task import TaskDataModule
    from tasks.forecast.data import ForecastDataModule

    monkeypatch.setattr(ForecastDataModule, "load_test", TaskDataModule.load_test)
    for args, expected in ((["--predict", "1,2"], "does not answer --predict"),
                           (["--evaluate", "cosine"], "cannot --evaluate other data")):
        assert main(["--checkpoint", str(run), *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and expected in err and "\n" not in err


def _plugin(**attrs):
    from dataclasses import dataclass

    from suite.config import option
    from suite.task import Task

    @dataclass
    class Options:
        length: int = option(5, "sequence length", min=1)

    return type("Plugin", (Task,), {"name": "plugin", "title": "t", "description": "d", "Config": Options,
                                    **attrs})()


@pytest.mark.parametrize("attrs, expected", [
    ({"presets": {"fast": {"train.max_epoch": 1}}}, "preset fast: unknown setting 'train.max_epoch'"),
    ({"defaults": {"options.lenght": 3}}, "defaults: unknown setting 'options.lenght'"),
    ({"presets": {"big": {"backbone.hidden": "many"}}}, "preset big: backbone.hidden: expected an int"),
    ({"preset_yields": {"options.length": ("train.nope",)}}, "preset_yields names 'train.nope'"),
])
def test_presets_and_defaults_are_checked_when_a_task_is_registered(attrs, expected):
    from suite.registry import TaskLoadError, check_task

    with pytest.raises(TaskLoadError, match=re.escape(expected)):
        check_task(_plugin(**attrs), "plugin")


def test_an_output_kind_of_its_own_is_accepted_and_shown_as_json():
    from suite.registry import check_task

    check_task(_plugin(output_kind="heatmap"), "plugin")  # the window falls back to its JSON panel
    for task in task_names():
        check_task(get_task(task), task)  # every built-in task's presets are sound


@pytest.mark.parametrize("name", ["seeds", "sweep_dir", "output"])
def test_a_task_option_may_not_reuse_a_flag_of_the_command_line(name):
    from dataclasses import make_dataclass

    from suite.config import option
    from suite.registry import TaskLoadError, check_task
    from suite.task import Task

    Options = make_dataclass("Options", [(name, int, option(1, "a clashing option", min=0))])
    task = type("Plugin", (Task,), {"name": "plugin", "title": "t", "description": "d", "Config": Options})()
    with pytest.raises(TaskLoadError, match=f"would reuse the flag --{name.replace('_', '-')}"):
        check_task(task, "plugin")

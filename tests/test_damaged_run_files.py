"""A damaged run folder is reported, never followed: the readers raise one-line UserErrors, list_runs lists
the run as damaged with the reason, --resume and --checkpoint end in one line with exit code 2, and YAML
is read with size and alias limits."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from helpers import one_line_error
from run_damage import BOMB, DAMAGES, METRICS_HEADER, STARTED, event_lines, good_results, write_damaged, write_run

from suite.config import read_config_file
from suite.errors import UserError
from suite.runs import Run, list_runs
from suite.saferead import MAX_ALIASES, read_yaml_mapping


# --- YAML with limits -----------------------------------------------------------------------------------------

def test_a_yaml_bomb_fails_fast_without_growing(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(UserError, match="YAML aliases expand to over") as info:
            read_yaml_mapping(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 20_000_000  # bytes; expanded, the document holds 387 million strings
    assert str(info.value).startswith(str(path))


def test_the_config_flag_reads_yaml_with_the_same_limits(in_tmp, capsys):
    (in_tmp / "bomb.yaml").write_text(BOMB)
    with pytest.raises(UserError, match="aliases"):
        read_config_file(in_tmp / "bomb.yaml")
    message = one_line_error(capsys, "--task", "forecast", "--config", "bomb.yaml", "--print-config")
    assert message.startswith("bomb.yaml: YAML aliases expand")


@pytest.mark.parametrize("text,words", [
    ("a: &a [1]\n" + "".join(f"k{i}: *a\n" for i in range(MAX_ALIASES + 1)), f"more than {MAX_ALIASES} YAML aliases"),
    ("a: &a [*a]\n", "a YAML alias refers to itself"),
    ('a: &a "' + "x" * 900_000 + '"\n' + "".join(f"k{i}: *a\n" for i in range(20)), "YAML aliases expand to over"),
    ("a: " + "x" * 1_000_001 + "\n", "config file too large"),
    ("a: 1\0\n", "not a text file (binary data)"),
    ("a: caf\xe9\n".encode("latin-1"), "not a UTF-8 text file"),
    ("[1, 2]\n", "expected a mapping with task, backbone, train and options, not a list"),
    ("just words\n", "not a string"),
    ("[" * 100_000, "nested too deeply"),
    ("a: 1\n---\nb: 2\n", "not valid YAML"),
])
def test_refused_yaml_names_the_file(tmp_path, text, words):
    path = tmp_path / "x.yaml"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    with pytest.raises(UserError) as info:
        read_config_file(path)
    assert str(info.value).startswith(str(path)) and words in str(info.value)
    assert "\n" not in str(info.value)


def test_a_few_aliases_and_a_byte_order_mark_are_fine(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("\ufefftrain: &t {lr: 0.01}\nbackbone: {hidden: 8}\noptions: {}\nother: *t\n")
    assert read_config_file(path)["other"] == {"lr": 0.01}
    assert read_config_file(tmp_path / "x.yaml")["backbone"] == {"hidden": 8}


def test_a_folder_given_as_config_is_one_line(in_tmp, capsys):
    (in_tmp / "conf.yaml").mkdir()
    assert "is a folder" in one_line_error(capsys, "--task", "forecast", "--config", "conf.yaml", "--print-config")


# --- the readers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", DAMAGES)
def test_each_damage_is_a_damaged_run_in_the_list(in_tmp, name):
    write_run(in_tmp / "runs" / "forecast" / "good")
    run_dir = write_damaged(in_tmp / "runs", name)
    _, _, starts, words = DAMAGES[name]
    started = time.perf_counter()
    runs = {run.path.name: run for run in list_runs()}
    assert time.perf_counter() - started < 5
    assert runs["good"].status == "finished" and runs["good"].damaged is None
    damaged = runs[name]
    assert damaged.status == "damaged" and damaged.path == run_dir and damaged.task == "forecast"
    assert damaged.damaged.startswith(starts) and words in damaged.damaged, damaged.damaged
    assert "\n" not in damaged.damaged


@pytest.mark.parametrize("name", DAMAGES)
def test_each_reader_raises_a_user_error_naming_the_file(in_tmp, name):
    run = Run(write_damaged(in_tmp / "runs", name))
    file_name = DAMAGES[name][2].split(":")[0].split(",")[0]
    reader = {"config.yaml": run.read_config, "results.json": run.results, "events.jsonl": run.events,
              "metrics.csv": run.metric_rows}[file_name]
    with pytest.raises(UserError) as info:
        reader()
    assert str(info.value).startswith(str(run.path / file_name))
    if file_name in ("results.json", "events.jsonl"):
        with pytest.raises(UserError):
            run.status()


def test_damage_past_the_start_of_a_long_metrics_file_is_found_when_it_is_read(in_tmp):
    rows = "".join(f"{i}.0,{i},0,train/loss,0.5\r\n" for i in range(5000))  # past what listing reads
    run_dir = write_run(in_tmp / "runs" / "forecast" / "long", metrics=METRICS_HEADER + rows)
    with open(run_dir / "metrics.csv", "ab") as handle:
        handle.write(b"\xff\xfe binary\n")
    (summary,) = list_runs()
    assert summary.status == "finished"  # the listing checks the start of the file only
    with pytest.raises(UserError, match=r"metrics.csv, line 5002: not a text file"):
        Run(run_dir).metric_rows()


def test_a_foreign_metrics_file_is_damage(in_tmp):
    write_run(in_tmp / "runs" / "forecast" / "other", metrics="a,b,c\r\n1,2,3\r\n")
    (summary,) = list_runs()
    assert summary.damaged.startswith("metrics.csv: not a metrics file (its first line is 'a,b,c'")


def test_what_a_killed_or_resumed_run_leaves_is_not_damage(in_tmp):
    root = in_tmp / "runs" / "forecast"
    cut = event_lines(STARTED) + '{"event": "metric", "ti'
    write_run(root / "killed", finished=False, events=cut, metrics=METRICS_HEADER + "1.0,1,0,train/lo")
    # killed mid-line, then resumed: the resumed run's first event follows the fragment on its line
    resumed = event_lines(STARTED) + '{"event": "met' + event_lines(STARTED, {"event": "error", "message": "x"})
    write_run(root / "resumed", finished=False, events=resumed)
    write_run(root / "power-cut", finished=False, events=event_lines(STARTED) + "\0" * 300)
    write_run(root / "nan", results=good_results(metrics={"val": {"mse": None}, "test": {"mse": None}}))
    write_run(root / "empty", finished=False, events="", metrics="")
    runs = {run.path.name: run for run in list_runs()}
    assert {name: (run.status, run.damaged) for name, run in runs.items()} == {
        "killed": ("incomplete", None), "resumed": ("failed", None), "power-cut": ("incomplete", None),
        "nan": ("finished", None), "empty": ("incomplete", None)}
    assert Run(root / "killed").metric_rows() == []  # the cut row is not read as a shorter number
    # the line holding the fragment is skipped, and with it the event the resumed run appended to it
    assert [e["event"] for e in Run(root / "resumed").events()] == ["started", "error"]


def test_a_dangling_config_link_is_listed_as_damaged(in_tmp):
    run_dir = write_run(in_tmp / "runs" / "forecast" / "link")
    (run_dir / "config.yaml").unlink()
    (run_dir / "config.yaml").symlink_to(in_tmp / "gone.yaml")
    (summary,) = list_runs()
    assert summary.damaged == "config.yaml: run configuration not found"


# --- --resume and --checkpoint --------------------------------------------------------------------------------

CONFIG_DAMAGE = [name for name in DAMAGES if name.startswith("config-")]
RESULTS_DAMAGE = [name for name in DAMAGES if name.startswith("results-")]


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_resume_of_a_damaged_run_is_one_line(in_tmp, capsys, name):
    """A resumed run appends to its files, so any damage is refused before it writes."""
    run_dir = write_damaged(in_tmp / "runs", name)
    message = one_line_error(capsys, "--resume", str(run_dir))
    assert message.startswith(str(run_dir / DAMAGES[name][2].split(":")[0])), message


@pytest.mark.parametrize("name", CONFIG_DAMAGE + RESULTS_DAMAGE)
def test_checkpoint_of_a_damaged_run_is_one_line(in_tmp, capsys, name):
    run_dir = write_damaged(in_tmp / "runs", name)
    message = one_line_error(capsys, "--checkpoint", str(run_dir), "--predict", "0.1,0.2,0.3")
    assert message.startswith(str(run_dir / DAMAGES[name][2].split(":")[0])), message


def test_results_written_by_the_suite_pass_the_checks(in_tmp):
    """The checks accept what training writes: every field the suite reads back, with its real type."""
    from suite.runfiles import check_results

    results = good_results(best_checkpoint="checkpoints/best.ckpt", last_checkpoint=None, test_split="test",
                           outputs=["forecast.png"], report={"anything": [1, "x"]}, epochs_completed=1)
    check_results(json.loads(json.dumps(results)), "results.json")


def test_a_run_config_read_again_comes_from_memory_until_the_file_changes(tmp_path):
    """The Runs tab re-lists every run after each one ends: configs are parsed once, and a changed file anew."""
    from suite import runfiles

    path = tmp_path / "config.yaml"
    path.write_text("task: forecast\ntrain:\n  lr: 0.01\n")
    first = runfiles.read_run_config(path)
    first["train"]["lr"] = 99  # a caller's change stays its own
    assert runfiles.read_run_config(path)["train"]["lr"] == 0.01
    path.write_text("task: forecast\ntrain:\n  lr: 0.003\n")
    assert runfiles.read_run_config(path)["train"]["lr"] == 0.003
    path.write_text("task: [")
    with pytest.raises(UserError, match="not valid YAML"):
        runfiles.read_run_config(path)

"""A run's name, tags and notes (notes.json): written atomically, read back without trusting them, listed with
the run, a damaged file reported by name without hiding the run, and removed with the run."""

from __future__ import annotations

import json

import pytest
from run_damage import write_run

from suite.errors import UserError
from suite.run_notes import NOTES_FILE, RunNotes, read_notes, split_tags, update_notes, write_notes
from suite.runs import Run, list_runs


def test_notes_round_trip_and_keep_what_is_not_changed(tmp_path):
    run = write_run(tmp_path / "forecast" / "a")
    assert read_notes(run) == RunNotes()  # none yet: empty, not an error
    written = write_notes(run, RunNotes("  ETTh1 long  ", ["ett", " long ", "ETT", ""], "lr too high?"))
    assert written == RunNotes("ETTh1 long", ["ett", "long"], "lr too high?")
    assert json.loads((run / NOTES_FILE).read_text()) == {"name": "ETTh1 long", "tags": ["ett", "long"],
                                                          "notes": "lr too high?"}
    assert not list(run.glob(".*.tmp"))  # written through a temporary file, renamed into place
    assert update_notes(run, tags=["best"]) == RunNotes("ETTh1 long", ["best"], "lr too high?")
    assert read_notes(run).tags == ["best"]
    update_notes(run, name="", tags=[], notes="")  # nothing left to say: no file
    assert not (run / NOTES_FILE).exists()
    assert split_tags("a, b ,,a") == ["a", "b"]


@pytest.mark.parametrize("text, said", [
    ("{not json", "notes.json: not valid JSON"),
    ("[1, 2]", "notes.json: expected a JSON object with name, tags and notes, not a list"),
    ('{"name": "x", "colour": "red"}', "notes.json: unknown field 'colour'"),
    ('{"tags": "ett"}', "notes.json: 'tags' must be a list of text, not a string"),
    ('{"tags": [3]}', "notes.json: 'tags': each tag must be text, not an int"),
    ('{"name": "two\\nlines"}', "notes.json: 'name': a run's name is one line"),
    ('{"notes": 5}', "notes.json: 'notes' must be text, not an int"),
])
def test_a_damaged_notes_file_is_named_and_the_run_is_still_listed(tmp_path, text, said):
    run = write_run(tmp_path / "forecast" / "a")
    (run / NOTES_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        read_notes(run)
    message = str(caught.value)
    assert message.startswith(str(run / NOTES_FILE)) and said in message and "\n" not in message
    (listed,) = list_runs(tmp_path)
    assert listed.status == "finished" and listed.damaged is None  # the run itself is fine
    assert listed.notes == RunNotes() and listed.notes_damaged.startswith(said)
    with pytest.raises(UserError):  # a partial change cannot keep what cannot be read
        update_notes(run, name="x")
    assert update_notes(run, name="x", tags=[], notes="") == RunNotes("x")  # a whole new record replaces it


def test_bad_notes_are_refused_before_anything_is_written(tmp_path):
    run = write_run(tmp_path / "forecast" / "a")
    for notes, said in ((RunNotes(tags=["a,b"]), "holds a comma"), (RunNotes("x" * 201), "at most 200"),
                        (RunNotes("a\nb"), "one line")):
        with pytest.raises(UserError, match=said):
            write_notes(run, notes)
    assert not (run / NOTES_FILE).exists()
    with pytest.raises(UserError, match="run directory not found"):
        write_notes(tmp_path / "gone", RunNotes("x"))


def test_listing_reads_the_notes_and_delete_removes_them(tmp_path):
    run = write_run(tmp_path / "forecast" / "a")
    write_notes(run, RunNotes("first try", ["ett"], "baseline wins"))
    (listed,) = list_runs(tmp_path)
    assert listed.notes == RunNotes("first try", ["ett"], "baseline wins") and listed.notes_damaged is None
    assert Run(run).delete() == []  # the notes are the run's: nothing is left behind
    assert not run.exists()


def test_run_name_and_tags_on_the_command_line_are_checked_before_anything_trains(in_tmp, capsys):
    from helpers import one_line_error

    assert one_line_error(capsys, "--task", "forecast", "--run-name", "two\nlines") == \
        "--run-name: a run's name is one line"
    assert one_line_error(capsys, "--task", "forecast", "--tag", "ett,long").startswith(
        "--tag: tag 'ett,long' holds a comma")
    run = write_run(in_tmp / "runs" / "forecast" / "a")
    assert one_line_error(capsys, "--resume", str(run), "--tag", "x") == "--resume cannot be combined with --tag"
    assert one_line_error(capsys, "--checkpoint", str(run), "--run-name", "x", "--predict", "1") == \
        "--checkpoint cannot be combined with --run-name"
    assert [p.name for p in (in_tmp / "runs" / "forecast").iterdir()] == ["a"]  # no run was started


@pytest.mark.slow  # a real (tiny) training: 10 s alone, 35 s on a loaded machine, mostly Lightning's start
def test_a_new_run_is_named_and_tagged_from_the_command_line(in_tmp, capsys):
    from suite.cli import main

    tiny = ["--task", "forecast", "--max-epochs", "1", "--examples", "200", "--lookback", "16", "--hidden", "4",
            "--threads", "1", "--no-strong-baseline", "--no-diagnostics", "--run-dir", "named"]
    assert main([*tiny, "--run-name", "tiny cosine", "--tag", "smoke", "--tag", "cosine"]) == 0, capsys.readouterr()
    assert read_notes(in_tmp / "named") == RunNotes("tiny cosine", ["smoke", "cosine"], "")

"""--export for the music task: predict.py, run where torch (and music21) cannot be imported, generates the
very pieces --predict generates with the same seed, for NADE, Bernoulli and event models: the same JSON
answer, the same MIDI bytes (and notes, read back with music21), after note-list, MIDI-file and JSON-request
primers; its numpy random numbers are PyTorch's CPU generator's, draw for draw."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest

from export_helpers import (BLOCKED, blocked_env, export_in_process, predict_exported, predict_in_process,
                            run_without_torch)

pytestmark = pytest.mark.realdata

KINDS = {"nade": {}, "bernoulli": {"distribution": "bernoulli"}, "events": {"representation": "events"}}
PRIMERS = [("C4+E4+G4 C4+E4+G4 D4+F4+A4", ()),
           ("-", ("--length", "24", "--pieces", "3", "--gen-seed", "12345")),
           ('{"primer": "C5 Bb4 A4 r", "steps": 20, "seed": 9, "temperature": 0.7, "pieces": 2}', ()),
           ("60,64,67 . 62", ("--temperature", "1.5", "--gen-seed", "4294967295", "--length", "16"))]


@pytest.fixture(scope="module")
def runs(data_root, tmp_path_factory):
    """A tiny model of each kind, trained one epoch on a slice of the JSB chorales, each exported as ONNX."""
    from suite import api
    from suite.cli import main

    folder = tmp_path_factory.mktemp("music-export")
    full = json.loads((data_root / "music/jsb_chorales/jsb-chorales-quarter.json").read_text())
    data = folder / "slice.json"
    data.write_text(json.dumps({"train": full["train"][:8], "valid": full["valid"][:2], "test": full["test"][:2]}))
    for kind, options in KINDS.items():
        api.train("music", data=str(data), hidden=16, nade_hidden=8, max_epochs=1, batch_size=4, threads=1,
                  length=32, run_dir=folder / kind, **options)
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["--checkpoint", str(folder / kind), "--export", "onnx", "--output",
                         str(folder / f"{kind}-onnx")]) == 0
    return folder


def no_music21_env() -> dict[str, str]:
    """As blocked_env, with music21 refused too: MIDI in and out needs nothing but the standard library."""
    from export_helpers import _site_dir

    env = blocked_env()
    env["PYTHONPATH"] = str(_site_dir(BLOCKED + ("music21",)))
    return env


def predictor(export: Path, *args: str, env=None):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(export / "predict.py"), *args], capture_output=True, text=True,
                          env=env or no_music21_env(), cwd=export.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("kind", list(KINDS))
def test_onnx_predictor_generates_the_same_pieces_as_predict(runs, kind, capsys):
    export = runs / f"{kind}-onnx"
    lengths = [32, 24, 20, 16]  # the run's --length, then the flag's or the request's
    # every primer for the NADE; for the others the two that take the most paths (no primer, a request)
    cases = list(zip(PRIMERS, lengths)) if kind == "nade" else list(zip(PRIMERS, lengths))[1:3]
    for (raw, flags), length in cases:
        expected = json.loads(predict_in_process(capsys, runs / kind, raw, *flags))
        got = json.loads(predictor(export, raw, *flags).stdout)
        assert got == expected  # pitches, pieces, settings and the temporary MIDI file's name
        assert len(got["steps"]) == got["primer_steps"] + length
        if raw == "-":  # three pieces drawn side by side from one generator: each its own
            assert len({json.dumps(p["steps"]) for p in got["pieces"]}) == 3


def test_midi_files_are_identical_and_read_back_note_for_note(runs, tmp_path, capsys):
    from tasks.music.scores import music21_steps

    export, raw, flags = runs / "nade-onnx", PRIMERS[0][0], ("--pieces", "2", "--gen-seed", "3")
    want, have = tmp_path / "want" / "piece.mid", tmp_path / "have" / "piece.mid"
    want.parent.mkdir()
    have.parent.mkdir()
    printed = predict_in_process(capsys, runs / "nade", raw, *flags, output=want)
    done = predictor(export, raw, *flags, "--output", str(have))
    assert printed.strip() == f"wrote {want.parent / 'piece-1.mid'}, {want.parent / 'piece-2.mid'}"
    assert done.stdout.strip() == f"wrote {have.parent / 'piece-1.mid'}, {have.parent / 'piece-2.mid'}"
    for name in ("piece-1.mid", "piece-2.mid"):
        assert (have.parent / name).read_bytes() == (want.parent / name).read_bytes()
        back, expected = music21_steps(have.parent / name, 1.0), music21_steps(want.parent / name, 1.0)
        assert back.shape == expected.shape and (back == expected).all()
    # a MIDI file as the primer, read by the predictor's own reader (music21 refused)
    raw = str(want.parent / "piece-1.mid")
    assert json.loads(predictor(export, raw, "--length", "8").stdout) == \
        json.loads(predict_in_process(capsys, runs / "nade", raw, "--length", "8"))


def test_musicxml_output_needs_music21_and_says_so_without_it(runs, tmp_path, capsys):
    """MusicXML needs music21 in the predictor too (where it is installed it is used, as by --predict)."""
    from tasks.music.scores import music21_steps

    export, raw = runs / "events-onnx", "C5 D5 E5"
    want, have = tmp_path / "want.musicxml", tmp_path / "have.musicxml"
    predict_in_process(capsys, runs / "events", raw, output=want)
    predict_exported(export, raw, output=have)
    back, expected = music21_steps(have, 1.0), music21_steps(want, 1.0)
    assert back.shape == expected.shape == (35, 88) and (back == expected).all()
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(export / "predict.py"), raw, "--output", str(tmp_path / "x.musicxml")],
                          capture_output=True, text=True, env=no_music21_env(), timeout=120)
    assert done.returncode == 2 and not (tmp_path / "x.musicxml").exists()
    assert done.stderr.strip() == "error: writing MusicXML needs music21 (pip install music21); MIDI files and " \
                                  "note lists need nothing more"


def test_torchscript_predictor_generates_the_same_pieces(runs, tmp_path, capsys):
    export = tmp_path / "ts"
    export_in_process(capsys, runs / "nade", "torchscript", export)
    assert (export / "step.pt").is_file() and (export / "nade_sampler.pt").is_file()
    raw, flags = PRIMERS[2]
    expected = json.loads(predict_in_process(capsys, runs / "nade", raw, *flags))
    # in this process: TorchScript needs torch anyway, and the ONNX tests run the same script where neither
    # torch nor the suite can be imported
    module = load_predictor(export)
    capsys.readouterr()
    assert module.main([raw, *flags]) == 0
    assert json.loads(capsys.readouterr().out) == expected


def test_numpy_random_numbers_are_torchs_cpu_generator(runs):
    """Uniforms for torch.bernoulli, exponentials for torch.multinomial: equal draw for draw, across seeds
    and successive calls (the generator's position carries over, as in a generation loop)."""
    import torch

    module = load_predictor(runs / "bernoulli-onnx")
    for seed in (0, 1, 2**31 + 7, 2**32 - 1):
        g, mine = torch.Generator().manual_seed(seed), module.TorchCPURandom(seed)
        p = torch.rand(3, 88, generator=torch.Generator().manual_seed(seed + 1))
        for _ in range(3):
            assert (torch.bernoulli(p, generator=g).numpy() == (mine.uniforms(p.numel()).reshape(3, 88)
                                                                < p.numpy())).all()
            probs = torch.softmax(torch.randn(2, 90, generator=torch.Generator().manual_seed(seed)) * 3, -1)
            want = torch.multinomial(probs, 1, generator=g)[:, 0].numpy()
            q = mine.exponentials(probs.numel()).reshape(probs.shape)
            assert (np.argmax(probs.numpy() / q, axis=-1) == want).all()
        assert (torch.empty(500).exponential_(generator=g).numpy() == mine.exponentials(500)).all()


def load_predictor(export: Path):
    spec = importlib.util.spec_from_file_location(f"exported_music_{export.name}", export / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_note_names_and_midi_primers_read_as_music21_reads_them(runs, data_root):
    from music21 import pitch

    from tasks.music.scores import music21_steps

    module = load_predictor(runs / "nade-onnx")
    names = [f"{letter}{accidental}{octave}" for letter in "CDEFGABcdefgab"
             for accidental in ("", "#", "##", "-", "--", "b", "n") for octave in ("", "0", "1", "4", "7", "9", "10")]
    assert [module.note_midi(n) for n in names] == [pitch.Pitch(n).midi for n in names]
    files = sorted((data_root / "music" / "nottingham" / "MIDI").rglob("*.mid"))[::97]
    assert len(files) >= 8
    for path in files:
        assert (module.score_roll(path, 0.5) == music21_steps(path, 0.5)).all(), path


def test_bad_primers_and_flags_are_one_line_errors(runs, capsys):
    from helpers import one_line_error

    export = runs / "nade-onnx"
    for raw, expected in (("C4 X9", "the primer 'C4 X9' is neither a file nor valid notes (step 2: 'X9' is not a "
                                    "MIDI number or a note name like C4, F#3, Bb2)"),
                          ('{"steps": 0, "tempo": 3}', "unknown request field(s) tempo; expected primer, temperature, "
                                                       "steps, seed, pieces")):
        done = run_without_torch([export / "predict.py", raw])
        assert (done.returncode, done.stderr) == (2, f"error: {expected}\n")
        assert one_line_error(capsys, "--checkpoint", str(runs / "nade"), "--predict", raw) == f"--predict: {expected}"
    done = run_without_torch([export / "predict.py", "-", "--temperature", "0"])
    assert done.returncode == 2 and done.stderr == "error: argument --temperature: must be from 0.01 to 100, got 0\n"

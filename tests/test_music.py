"""The music task: benchmark metric and baselines, NADE, readers and their bad inputs, generation."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from suite.config import build_run_config
from suite.errors import DataError, UserError
from suite.registry import get_task
from tasks.music.data import collate_pieces, read_collection
from tasks.music.encoding import common_key_shift, events_to_roll, random_shift, roll_to_events, transpose
from tasks.music.generate import generate, parse_note_list, parse_primer
from tasks.music.metrics import KeyFrequency, RepeatPrevious
from tasks.music.nade import NADE
from tasks.music.rolls import KEYS, LOW, read_json_rolls, read_mat_rolls
from tasks.music.scores import load_cache, music21_steps, read_scores, write_score

TASK = get_task("music")


def rolls_json(path, splits):
    path.write_text(json.dumps(splits))
    return path


def small_splits():
    # pieces of different lengths, so a mean over batches would differ from the mean over time steps
    return {"train": [[[60, 64, 67], [60], [62, 65]], [[67], [67, 71], [], [60, 64]], [[64]]],
            "valid": [[[60, 64], [62]], [[67, 71, 74], [60], [60], [65], [64]]],
            "test": [[[60], [64, 67], [67], []], [[62, 65]], [[60, 64, 67], [60, 64, 67], [59, 62, 67]]]}


def frame(pitches):
    f = np.zeros(KEYS)
    f[[p - LOW for p in pitches]] = 1
    return f


def config(path, **options):
    explicit = {"options.data": str(path), "backbone.hidden": 8, "train.batch_size": 2, "train.max_epochs": 1,
                **{(k if "." in k else f"options.{k}"): v for k, v in options.items()}}
    return build_run_config(TASK, explicit=explicit)


def test_key_frequency_nll_by_hand_equals_the_tasks_metric(tmp_path):
    """The per-key frequency model, written out by hand, scored by the model's own test loop."""
    import lightning as L

    splits = small_splits()
    train_frames = [frame(s) for piece in splits["train"] for s in piece]
    n = len(train_frames)
    counts = np.sum(train_frames, axis=0)
    p = (counts + 1) / (n + 2)
    total, steps = 0.0, 0
    for piece in splits["test"]:
        for s in piece:
            v = frame(s)
            total -= sum(math.log(p[k]) if v[k] else math.log(1 - p[k]) for k in range(KEYS))
            steps += 1
    by_hand = total / steps

    cfg = config(rolls_json(tmp_path / "r.json", splits), distribution="bernoulli", head_dropout=0.0)
    dm = TASK.datamodule(cfg)
    dm.setup("fit")
    assert KeyFrequency(dm.rolls["train"]).score(dm.rolls["test"])["nll"] == pytest.approx(by_hand, rel=1e-9)
    model = TASK.model(cfg, dm)
    with torch.no_grad():  # the network made to answer the frequency model whatever it reads
        model.head.weight.zero_()
        model.head.bias.copy_(torch.logit(torch.tensor(p, dtype=torch.float32)))
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    metrics = trainer.test(model, datamodule=dm, verbose=False)[0]
    assert metrics["test/nll"] == pytest.approx(by_hand, rel=1e-5)


def test_repeat_previous_baseline_is_finite_and_counts_first_steps():
    train = [np.stack([frame([60]), frame([60]), frame([62])])]
    base = RepeatPrevious(train)
    # transitions: 60 on->on once, on->off once; 62 off->on once; others off->off
    assert base.a == pytest.approx((1 + 1) / (2 + 2))
    assert base.b == pytest.approx((1 + 1) / (2 * 88 - 2 + 2))
    score = base.score([np.stack([frame([60]), frame([60])])])
    assert math.isfinite(score["nll"])
    assert score["accuracy"] == pytest.approx(1 / 2)  # first frame missed, second repeated exactly


def test_nade_likelihood_is_the_product_of_its_conditionals_and_sums_to_one():
    torch.manual_seed(0)
    keys = 5
    nade = NADE(3, keys=keys, hidden=4).double()
    with torch.no_grad():
        for p in nade.parameters():
            p.normal_(0, 1.0)
    context = torch.randn(1, 3, dtype=torch.double)
    frames = torch.tensor(list(itertools.product([0.0, 1.0], repeat=keys)), dtype=torch.double)
    log_p = nade.log_prob(context.expand(len(frames), -1), frames)
    assert torch.exp(log_p).sum().item() == pytest.approx(1.0, abs=1e-12)
    # one key at a time, straight from the definition
    with torch.no_grad():
        b_v, b_h = nade.to_visible_bias(context)[0], nade.to_hidden_bias(context)[0]
    for v, lp in zip(frames, log_p.detach()):
        total = 0.0
        for i in range(keys):
            with torch.no_grad():
                h = torch.sigmoid(b_h + (nade.W[:i] * v[:i, None]).sum(0))
                p_on = torch.sigmoid(b_v[i] + (nade.V[i] * h).sum()).item()
            total += math.log(p_on if v[i] else 1 - p_on)
        assert lp.item() == pytest.approx(total, abs=1e-10)


def test_nade_gradients_match_autograd_of_the_plain_expression():
    torch.manual_seed(1)
    nade = NADE(6, keys=7, hidden=5).double()
    context = torch.randn(11, 6, dtype=torch.double)
    frames = (torch.rand(11, 7) < 0.4).double()
    nade.log_prob(context, frames).sum().backward()
    fused = [p.grad.clone() for p in (nade.W, nade.V)]
    nade.zero_grad()
    b_v, b_h = nade.to_visible_bias(context), nade.to_hidden_bias(context)
    contrib = frames.unsqueeze(-1) * nade.W
    h = torch.sigmoid(b_h.unsqueeze(1) + torch.cumsum(contrib, 1) - contrib)
    logits = b_v + (h * nade.V).sum(-1)
    (-torch.nn.functional.binary_cross_entropy_with_logits(logits, frames, reduction="sum")).backward()
    assert torch.allclose(fused[0], nade.W.grad) and torch.allclose(fused[1], nade.V.grad)


def test_events_round_trip_and_transposition():
    melody = np.stack([frame([60]), frame([60]), frame([]), frame([62, 67]), frame([62, 67]), frame([64])])
    tokens = roll_to_events(melody)
    assert tokens.tolist() == [2 + 60 - LOW, 1, 0, 2 + 67 - LOW, 1, 2 + 64 - LOW]
    top = np.stack([frame([60]), frame([60]), frame([]), frame([67]), frame([67]), frame([64])])
    assert (events_to_roll(tokens) == top).all()
    c_major = np.stack([frame([p]) for p in (60, 62, 64, 65, 67, 69, 71, 72, 67, 60, 64, 67)])
    d_major = transpose(c_major, 2)
    assert common_key_shift(d_major) == -2
    assert (transpose(d_major, -2) == c_major).all()
    rng = np.random.default_rng(0)
    edge = np.stack([frame([21, 108])])
    assert random_shift(edge, 5, rng) == 0  # no shift keeps both ends on the keyboard


def test_collate_feeds_each_step_the_previous_one():
    a, b = torch.ones(3, KEYS), torch.full((1, KEYS), 2.0)
    inputs, targets, lengths = collate_pieces([a, b])
    assert lengths.tolist() == [3, 1] and inputs.shape == targets.shape == (2, 3, KEYS)
    assert (inputs[:, 0] == 0).all() and (inputs[0, 1:] == 1).all()


def test_note_lists_and_primer_parsing(tmp_path):
    roll = parse_note_list("C4+E4+G4 r 62,65 Bb2")
    assert [list(np.flatnonzero(f) + LOW) for f in roll] == [[60, 64, 67], [], [62, 65], [46]]
    primer_file = write_score(roll, 0.5, tmp_path / "my primer.mid")
    assert (parse_primer(str(primer_file), 0.5) == roll).all()
    with pytest.raises(UserError, match="primer file .*none.mid not found"):
        parse_primer(str(tmp_path / "none.mid"), 0.5)
    assert len(parse_primer("-", 1.0)) == 0
    with pytest.raises(UserError, match="step 2: 'X9'"):
        parse_note_list("C4 X9")
    with pytest.raises(UserError, match="outside the piano"):
        parse_note_list("120")


@pytest.fixture(scope="module")
def tiny_model():
    cfg = build_run_config(TASK, explicit={"backbone.hidden": 16, "options.nade_hidden": 8})
    dm = TASK.datamodule(cfg)  # no data is read: the state (the options) alone builds the model
    torch.manual_seed(0)
    return TASK.model(cfg, dm)


@pytest.mark.parametrize("representation", ["frames", "events"])
def test_generation_is_reproducible_and_starts_with_the_primer(representation):
    cfg = build_run_config(TASK, explicit={"backbone.hidden": 16, "options.nade_hidden": 8,
                                           "options.representation": representation})
    torch.manual_seed(0)
    model = TASK.model(cfg, TASK.datamodule(cfg))
    primer = parse_note_list("C5 C5 D5 E5" if representation == "events" else "C4+E4+G4 D4+F4 E4+G4+C5")
    one = generate(model, primer, 12, temperature=1.0, seed=3, pieces=2)
    again = generate(model, primer, 12, temperature=1.0, seed=3, pieces=2)
    other = generate(model, primer, 12, temperature=1.0, seed=4, pieces=2)
    assert all((a == b).all() for a, b in zip(one, again))
    assert any((a != b).any() for a, b in zip(one, other))
    for piece in one:
        assert len(piece) == len(primer) + 12
        assert (piece[:len(primer)] == primer).all()


def test_generated_midi_round_trips_through_music21(tiny_model, tmp_path):
    out = TASK.predict(tiny_model, json.dumps({"primer": "C4+E4+G4 C4+E4+G4 D4+F4+A4", "steps": 20, "seed": 5,
                                               "temperature": 1.0}))
    assert out["primer_steps"] == 3 and len(out["steps"]) == 23
    assert out["steps"][0] == [60, 64, 67]
    for suffix in (".mid", ".musicxml"):
        written = TASK.save_prediction(out, tmp_path / f"piece{suffix}")
        back = music21_steps(tmp_path / f"piece{suffix}", 1.0)
        expected = np.zeros((23, KEYS), dtype=np.uint8)
        for t, pitches in enumerate(out["steps"]):
            expected[t, [p - LOW for p in pitches]] = 1
        assert written == [str(tmp_path / f"piece{suffix}")]
        assert back.shape == expected.shape, suffix  # trailing silence kept: the expected number of steps
        assert (back == expected).all(), suffix


def test_readers_reject_bad_json_and_mat(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"train": [[[60]]], "valid": [[[60, "x"]]]}')
    with pytest.raises(DataError, match=r"valid\[0\].*step 0: expected integer MIDI pitches"):
        read_json_rolls(bad)
    broken = tmp_path / "broken.json"
    broken.write_text('{"train": [[[60]],\n')
    with pytest.raises(DataError, match="line 2"):
        read_json_rolls(broken)
    far = rolls_json(tmp_path / "far.json", {"train": [[[60, 12], [130]]], "valid": [[[60]]]})
    collection = read_json_rolls(far)
    assert collection.dropped_notes == 2 and collection.splits["train"][0].roll.sum() == 1
    from scipy.io import savemat

    cells = np.empty((1, 1), dtype=object)
    cells[0, 0] = np.zeros((4, 80))
    savemat(tmp_path / "narrow.mat", {"traindata": cells})
    with pytest.raises(DataError, match=r"traindata\{1\}: expected 88 columns"):
        read_mat_rolls(tmp_path / "narrow.mat")
    cells[0, 0] = np.array(["text"])
    savemat(tmp_path / "strings.mat", {"traindata": cells})
    with pytest.raises(DataError, match="expected a numeric T x 88 matrix"):
        read_mat_rolls(tmp_path / "strings.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(DataError, match="junk.mat: not a readable MATLAB file"):
        read_mat_rolls(tmp_path / "junk.mat")


@pytest.mark.realdata
def test_benchmark_json_and_mat_hold_the_same_rolls(data_root):
    js = read_json_rolls(data_root / "music/jsb_chorales/jsb-chorales-quarter.json")
    mat = read_mat_rolls(data_root / "music/polyphonic_pianoroll/JSB_Chorales.mat")
    assert [len(js.splits[s]) for s in ("train", "valid", "test")] == [229, 76, 77]
    assert sum(len(p.roll) for p in js.splits["test"]) == 4725
    assert all((a.roll == b.roll).all() for a, b in zip(js.splits["test"], mat.splits["test"]))


@pytest.mark.realdata
def test_score_folder_skips_bad_files_and_caches(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_SUITE_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "tunes"
    folder.mkdir()
    for name in ("jigs1.mid", "jigs2.mid", "reelsa-c1.mid", "waltzes1.mid"):
        (folder / name).write_bytes((data_root / "music/nottingham/MIDI" / name).read_bytes())
    (folder / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    (folder / "empty.mid").write_bytes(b"")
    (folder / "notes.txt").write_text("not music")
    cfg = config(folder, step="8th")
    collection = read_collection(cfg.options)
    assert len(collection.all_pieces()) == 4
    assert len(collection.skipped) == 3
    assert any("notes.txt: unknown file type" in s for s in collection.skipped)
    assert any(s.startswith("corrupt.mid: ") for s in collection.skipped)
    cached = list((tmp_path / "cache" / "music").glob("*.npz"))
    assert len(cached) == 1
    pieces, skipped, _ = load_cache(cached[0])
    assert [p.name for p in pieces] == sorted(p.name for p in collection.all_pieces())
    # a second read comes from the cache: nothing is parsed
    import tasks.music.scores as scores

    monkeypatch.setattr(scores, "parse_file", lambda *a: pytest.fail("parsed although cached"))
    again = read_scores(sorted(folder.iterdir()), "8th", str(folder))
    assert all((a.roll == b.roll).all() for a, b in zip(again[0], pieces))
    # a changed file changes the key: parsed again (and here it fails loudly)
    (folder / "notes.txt").write_text("changed")
    with pytest.raises(pytest.fail.Exception):
        read_scores(sorted(folder.iterdir()), "8th", str(folder))


def test_folder_of_only_bad_files_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_SUITE_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.mid").write_bytes(b"")
    (folder / "b.abc").write_text("X:1\nT:nothing\nK:C\n")
    with pytest.raises(DataError, match="no usable piece in 2 file"):
        read_collection(config(folder).options)
    with pytest.raises(DataError, match="unknown music file type '.wav'"):
        (tmp_path / "x.wav").write_bytes(b"RIFF")
        read_collection(config(tmp_path / "x.wav").options)


@pytest.mark.realdata
def test_corpus_chorales_read_through_music21(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_SUITE_CACHE", str(tmp_path / "cache"))
    collection = read_collection(config("bach", max_files=6).options)
    pieces = collection.all_pieces()
    assert len(pieces) == 6 and all(p.roll.shape[1] == KEYS and p.roll.any() for p in pieces)
    assert {len(v) for v in collection.splits.values()} - {0} and len(collection.splits["test"]) >= 1
    # four voices (instrumental parts double them): about four keys per sounding quarter-note step
    per_step = np.concatenate([p.roll.sum(1) for p in pieces])
    assert 3.0 < per_step[per_step > 0].mean() <= 4.5


@pytest.mark.realdata
def test_cli_train_predict_evaluate_on_a_slice(data_root, tmp_path, capsys):
    from helpers import cli_env, one_line_error, read_results, run_cli

    full = json.loads((data_root / "music/jsb_chorales/jsb-chorales-quarter.json").read_text())
    data = rolls_json(tmp_path / "slice.json", {"train": full["train"][:12], "valid": full["valid"][:4],
                                                "test": full["test"][:4]})
    env = cli_env(RNN_SUITE_CACHE=str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    done = run_cli("--task", "music", "--data", str(data), "--hidden", "16", "--nade-hidden", "16",
                   "--max-epochs", "2", "--batch-size", "4", "--threads", "1", "--run-dir", str(run_dir),
                   cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    results = read_results(run_dir)
    assert results["data"]["test_steps"] == sum(len(p) for p in full["test"][:4])
    assert results["baseline"]["name"] == "repeat_previous" and "key_frequency" in results["baseline"]["others"]
    assert math.isfinite(results["metrics"]["test"]["nll"])
    assert results["outputs"] == ["sample.mid"] and (run_dir / "sample.mid").read_bytes()[:4] == b"MThd"

    done = run_cli("--checkpoint", str(run_dir), "--predict", "C4+E4+G4 D4+G4+B4", "--length", "8",
                   "--pieces", "2", "--gen-seed", "7", "--musicxml", "--output", str(tmp_path / "piece.mid"),
                   cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "piece-1.mid" in done.stdout and "piece-2.musicxml" in done.stdout
    for name in ("piece-1.mid", "piece-2.mid"):
        back = music21_steps(tmp_path / name, 1.0)
        assert [list(np.flatnonzero(f) + LOW) for f in back[:2]] == [[60, 64, 67], [62, 67, 71]]
    mat = data_root / "music/polyphonic_pianoroll/JSB_Chorales.mat"
    done = run_cli("--checkpoint", str(run_dir), "--evaluate", str(mat), "--output", str(tmp_path / "e.json"),
                   cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["examples"] == 77 and math.isfinite(report["metrics"]["nll"])

    missing = str(tmp_path / "missing.mid")
    assert "missing.mid: no such file" in one_line_error(capsys, "--task", "music", "--data", missing)


def test_a_language_model_cannot_be_bidirectional():
    cfg = build_run_config(TASK, explicit={"backbone.bidirectional": True})
    with pytest.raises(UserError, match="cannot read the future"):
        TASK.datamodule(cfg)


# --- the data state in checkpoints -------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny trained run (seconds) and its best checkpoint."""
    from suite.cli import main

    folder = tmp_path_factory.mktemp("music-state")
    data = rolls_json(folder / "rolls.json", small_splits())
    assert main(["--task", "music", "--data", str(data), "--hidden", "4", "--nade-hidden", "4", "--max-epochs", "1",
                 "--threads", "1", "--run-dir", str(folder / "run")]) == 0
    return folder / "run" / "checkpoints" / "best.ckpt"


def rewritten(ckpt_path, tmp_path, data_state):
    """A copy of the checkpoint with another data state in its stamp."""
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    ckpt["rnn_suite"]["data_state"] = data_state
    torch.save(ckpt, tmp_path / "copy.ckpt")
    return tmp_path / "copy.ckpt"


def test_the_state_round_trips_and_a_checkpoint_holds_version_1(tiny_run):
    from tasks.music.data import MusicState

    state = MusicState("events", "8th", "common")
    assert MusicState.from_dict(state.to_dict()) == state and state.step_ql == 0.5
    saved = torch.load(tiny_run, map_location="cpu", weights_only=True)["rnn_suite"]["data_state"]
    assert saved == {"version": 1, "representation": "frames", "step": "quarter", "transpose": "none"}


def test_a_version_0_state_loads_and_predicts_the_same(tiny_run, tmp_path):
    from suite.trained import load_checkpoint_file
    from tasks.music.data import MusicState

    old = {"info": {"representation": "frames", "step": "quarter", "step_ql": 1.0, "transpose": "none",
                    "pieces": {"train": 3, "valid": 2, "test": 3}, "steps": {"train": 8, "valid": 7, "test": 8}}}
    assert MusicState.from_dict(old) == MusicState("frames", "quarter", "none")
    request = json.dumps({"primer": "C4+E4+G4", "steps": 6, "seed": 3})
    now, then = (load_checkpoint_file(path) for path in (tiny_run, rewritten(tiny_run, tmp_path, old)))
    assert then.datamodule.state == now.datamodule.state
    assert TASK.predict(then.model, request)["pieces"] == TASK.predict(now.model, request)["pieces"]


@pytest.mark.parametrize("damage, field", [("step", "step"), ("info", "representation")])
def test_a_damaged_state_is_one_line_naming_the_field(tiny_run, tmp_path, capsys, damage, field):
    from helpers import one_line_error

    if damage == "info":  # a version-0 state without its info
        state = {"pieces": {"train": 3}}
    else:
        state = {"version": 1, "representation": "frames", "transpose": "none"}
    message = one_line_error(capsys, "--checkpoint", str(rewritten(tiny_run, tmp_path, state)), "--predict", "C4")
    assert "music data state is unreadable" in message and f"field '{field}'" in message, message

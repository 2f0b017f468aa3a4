"""Searches: the pruner's choice (``--pruner median|none``) and its place in a sweep's identity, sampling that
differs between the processes of one study and repeats within one, the epochs a pruned trial is counted, a
trial that finished its last epoch never pruned, sweep.yaml as plain YAML, and values holding commas printed
unambiguously. The trial-process cases use stand-in children speaking the event protocol; the end-to-end ones
train tiny forecast models for 1-3 epochs."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import REPO, cli_env, one_line_error
from suite.cli import main
from suite.registry import get_task
from suite.sweeps import launch, parse_spec
from suite.sweeps.spec import LAUNCHER_ENV
from suite.sweeps.trial import TrialRun

TINY = ["--task", "forecast", "--hidden", "4", "--lookback", "8", "--horizon", "2", "--segment", "4",
        "--no-plot", "--threads", "1"]
SETTINGS = {"hidden": 4, "lookback": 8, "horizon": 2, "segment": 4, "plot": False, "threads": 1}
SPACE = ["lr=1e-6:1e-1:log", "batch-size=8:64"]


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setenv(LAUNCHER_ENV, "forkserver")


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def sweep_of(spec, seed: int = 42, **settings):
    """The engine's sweep object for ``spec`` (nothing runs: its sampler and pruner are what is looked at)."""
    from suite.sweeps.sweep import Sweep

    return Sweep("forecast", {**SETTINGS, "seed": seed, **settings}, spec, preset=None, config=None,
                 data_root=None, out=io.StringIO(), command=None)


# --- 1. the pruner ---------------------------------------------------------------------------------------
BAD = {
    "unknown pruner": (["--search", "2", "--space", "lr=1e-3:1e-1", "--pruner", "hyperband"],
                       "argument --pruner: invalid choice: 'hyperband'"),
    "pruner with a grid": (["--sweep", "cell=rnn,gru", "--pruner", "none"],
                           "--pruner belongs to --search: a grid's trials all run to their end"),
    "pruner alone": (["--pruner", "none"], "--pruner, --sweep-dir belong to a sweep"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_pruner_is_one_line_before_anything_runs(case, in_tmp, capsys):
    args, expected = BAD[case]
    message = one_line_error(capsys, *TINY, "--max-epochs", "2", *args, "--sweep-dir", str(in_tmp / "s"))
    assert expected in message, message
    assert not (in_tmp / "s").exists()


def test_the_pruner_is_part_of_a_searchs_identity_and_chooses_optunas():
    import optuna

    forecast = get_task("forecast")
    median = parse_spec(forecast, search=4, space=SPACE)
    off = parse_spec(forecast, search=4, space=SPACE, pruner="none")
    assert (median.pruner, off.pruner) == ("median", "none")
    assert median.identity("forecast", {})["pruner"] == "median"
    assert median.identity("forecast", {}) != off.identity("forecast", {})
    assert "pruner" not in parse_spec(forecast, sweep=["cell=rnn,gru"]).identity("forecast", {})  # never pruned
    chosen = {name: sweep_of(parse_spec(forecast, search=4, space=SPACE, pruner=name), max_epochs=8)
              for name in ("median", "none")}
    _, pruner, _, said = chosen["median"]._sampler_and_pruner()
    assert isinstance(pruner, optuna.pruners.MedianPruner) and said.startswith("MedianPruner(n_startup_trials=2, "
                                                                                "n_warmup_steps=2)")
    _, pruner, _, said = chosen["none"]._sampler_and_pruner()
    assert isinstance(pruner, optuna.pruners.NopPruner) and said.startswith("none")


# --- 2. sampling in several processes --------------------------------------------------------------------
class Process:
    """One sweep process's view of a shared study: the engine's sampler and pruner, made once as a process
    makes them, and its way of asking for a trial and suggesting its settings."""

    def __init__(self, sweeper, storage):
        import optuna

        self.sweeper, self.storage = sweeper, storage
        sampler, pruner, _, _ = sweeper._sampler_and_pruner()
        self.study = optuna.create_study(study_name="shared", storage=storage.backend, sampler=sampler,
                                         pruner=pruner, load_if_exists=True)

    def sample(self, count: int) -> dict[int, tuple]:
        from suite.sweeps.study import ask_new

        found = {}
        for _ in range(count):
            trial = ask_new(self.study, self.storage)
            found[trial.number] = tuple(self.sweeper._suggest(trial, p) for p in self.sweeper.spec.space)
            self.study.tell(trial, float(sum(found[trial.number])))
        return found


def test_processes_of_one_study_sample_different_startup_trials_and_one_repeats_itself(tmp_path):
    from suite.sweeps.storage import Storage

    forecast = get_task("forecast")
    spec = parse_spec(forecast, search=3, space=SPACE)
    storage = Storage(f"journal:{tmp_path / 'shared.log'}")
    first, second = Process(sweep_of(spec), storage), Process(sweep_of(spec), storage)  # one command: one --seed
    by_number: dict[int, tuple] = {}
    for _ in range(3):  # taking turns, as two processes on one storage do
        by_number.update(first.sample(1))
        by_number.update(second.sample(1))
    assert sorted(by_number) == list(range(6))
    assert len(set(by_number.values())) == 6, by_number  # within TPE's random start-up: none repeated

    alone = [Process(sweep_of(spec), Storage(f"journal:{tmp_path / f'alone-{i}.log'}")).sample(6) for i in range(2)]
    assert alone[0] == alone[1]  # one process with a fixed seed samples the same trials
    assert alone[0] == by_number  # trial n's sample depends on the seed and n, not on which process asks
    other = Process(sweep_of(spec, seed=43), Storage(f"journal:{tmp_path / 'seed43.log'}")).sample(6)
    assert set(other.values()).isdisjoint(alone[0].values())


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = cli_env(**{LAUNCHER_ENV: "forkserver", "RNN_SUITE_RUNS": str(cwd / "runs")})
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_share_one_search_and_another_pruner_is_another_sweep(in_tmp, capsys, fast):
    """Two processes of one search (--pruner none) on one journal file, as on two machines: every trial once,
    none sampled twice; then the same search with the median pruner is refused on its folder and its study."""
    import optuna

    from suite.sweeps.storage import Storage

    journal = in_tmp / "study.log"
    args = [*TINY, "--max-epochs", "2", "--search", "2", "--space", "lr=1e-5:1e-1:log",
            "--storage", f"journal:{journal}", "--study", "shared"]
    folders = [in_tmp / f"machine{i}" for i in range(2)]
    procs = [_start([*args, "--pruner", "none", "--sweep-dir", str(folder)], in_tmp) for folder in folders]
    outputs = [p.communicate(timeout=400) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert "\n  pruner: none: every trial runs to its end\n" in out, out
    trials = optuna.load_study(study_name="shared", storage=Storage(f"journal:{journal}").backend).trials
    assert sorted(t.number for t in trials) == list(range(4))
    assert {t.state.name for t in trials} == {"COMPLETE"}  # none lost
    workers = [t.user_attrs["trial"]["worker"] for t in trials]
    assert sorted(workers.count(w) for w in set(workers)) == [2, 2]  # each process added its 2
    assert len({t.params["lr"] for t in trials}) == 4, [t.params for t in trials]  # none sampled twice
    run_dirs = {t.user_attrs["trial"]["run_dir"] for t in trials}
    assert len(run_dirs) == 4 and all((Path(d) / "results.json").exists() for d in run_dirs)
    for folder in folders:  # each machine's table lists every machine's trials, each run to its end
        assert [(t["status"], t["epochs"]) for t in rows(folder / "trials.csv")] == [("COMPLETE", "2")] * 4

    text = (folders[0] / "sweep.yaml").read_text()
    assert "&" not in text and "*id" not in text, text  # plain YAML: no anchors or aliases
    spec = yaml.safe_load(text)
    assert spec["pruner"].startswith("none") and spec["spec"]["pruner"] == "none"
    assert spec["settings"] == spec["spec"]["base"]["settings"] == {
        "backbone.hidden": 4, "options.horizon": 2, "options.lookback": 8, "options.plot": False,
        "options.segment": 4, "train.max_epochs": 2}

    # the same search with the median pruner (the default) is another sweep: refused on its folder and study
    message = one_line_error(capsys, *args, "--sweep-dir", str(folders[0]))
    assert message.startswith(f'{folders[0]} holds a different sweep (pruner: "none" there, "median" here)'), \
        message
    message = one_line_error(capsys, *args, "--pruner", "median", "--sweep-dir", str(in_tmp / "other"))
    assert message.startswith('study shared holds a different sweep (pruner: "none" there, "median" here)'), \
        message
    assert len(rows(folders[0] / "trials.csv")) == 4


# --- 3 and 4. what a pruned trial trained, and a trial that ended before its stop --------------------------
def _child(max_epochs: int, stop_after: int, batches_left: int) -> str:
    """A stand-in run: epochs of 10 steps; after epoch ``stop_after`` (from 0) it reads the pruner's ``stop``,
    which takes effect after ``batches_left`` more batches (Lightning's should_stop: a validation follows,
    and that epoch is counted by epochs_completed, whole or not), or not at all once the epochs are done."""
    return f"""
import json, sys
def say(**event): print(json.dumps(event), flush=True)
say(event='started', run_dir='', epoch=0, step=0, max_epochs={max_epochs})
for e in range({max_epochs}):
    say(event='epoch_end', epoch=e, step=10 * (e + 1), metrics={{'val/mse': 1.0 / (e + 1)}})
    if e == {stop_after}:
        sys.stdin.readline()
        if e + 1 < {max_epochs}:
            step = 10 * (e + 1) + {batches_left}
            say(event='stopping', reason='stop requested', epoch=e + 1, step=step)
            say(event='epoch_end', epoch=e + 1, step=step, metrics={{'val/mse': 0.9 / (e + 1)}})
            e += 1
        break
say(event='finished', status='stopped', run_dir='', epochs_completed=e + 1, fit_seconds=0.1,
    metrics={{'val': {{'mse': 0.25}}, 'test': {{'mse': 0.5}}}})
"""


CASES = {  # max_epochs, the epoch (from 0) after which the pruner stops it, batches of the next epoch trained
    "stopped after a batch of its next epoch": (10, 1, 1, ("PRUNED", 2, 2)),
    "stopped later in its next epoch": (10, 1, 7, ("PRUNED", 2, 2)),
    "the stop came after its last epoch": (1, 0, 0, ("COMPLETE", 1, None)),
    "the stop came at the last batch of its last epoch": (3, 1, 10, ("COMPLETE", 3, None)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_trial_is_pruned_only_when_the_stop_cut_it_short_and_counts_its_whole_epochs(case, tmp_path, monkeypatch):
    max_epochs, stop_after, batches, (status, epochs, pruned_at) = CASES[case]
    monkeypatch.setattr(launch, "PROGRAM", ["-c", _child(max_epochs, stop_after, batches)])
    outcome = TrialRun([], tmp_path / "trial.log", "mse", report=lambda epoch, value: epoch == stop_after).run()
    assert (outcome.status, outcome.epochs, outcome.pruned_at) == (status, epochs, pruned_at), outcome
    assert len(outcome.curve) == epochs  # one validation per epoch it trained whole
    assert (outcome.value, outcome.test) == (0.25, 0.5)


def test_a_search_of_one_epoch_prunes_no_trial(in_tmp, capsys, fast):
    folder = in_tmp / "s"
    assert main([*TINY, "--max-epochs", "1", "--search", "4", "--space", "lr=1e-6:1e-1:log",
                 "--sweep-dir", str(folder)]) == 0
    trials = rows(folder / "trials.csv")
    assert [(t["status"], t["epochs"]) for t in trials] == [("COMPLETE", "1")] * 4, trials
    out = capsys.readouterr().out
    assert "PRUNED" not in out and "no trial is pruned, its only epoch (--max-epochs 1) being its last" in out


# --- 5 and 6. sweep.yaml and the printed values ------------------------------------------------------------
def test_sweep_yaml_is_written_without_anchors_or_aliases(tmp_path):
    from suite.sweeps.outputs import write_sweep_yaml

    shared = {"train.lr": 0.001, "options.split": "0.7,0.1,0.2"}
    data = {"settings": shared, "spec": {"base": {"settings": shared}, "grid": [["train.lr", [0.1, 0.2]]]}}
    write_sweep_yaml(tmp_path, data)
    text = (tmp_path / "sweep.yaml").read_text()
    assert "&" not in text and "*" not in text, text
    assert yaml.safe_load(text) == data


def test_values_holding_commas_or_spaces_print_unambiguously():
    from suite.sweeps.outputs import format_table, trial_line
    from suite.sweeps.records import ConfigRow
    from suite.sweeps.trial import Outcome

    forecast = get_task("forecast")
    spec = parse_spec(forecast, sweep=["split=0.7,0.1,0.2;0.6,0.2,0.2", "data=my data.csv,cosine", "lr=0.001,0.01"])
    # as the flags are typed in a shell: ';' between values holding commas, quoted where a shell needs it
    assert spec.describe() == ("grid: 'split=0.7,0.1,0.2;0.6,0.2,0.2' x 'data=my data.csv,cosine' x lr=0.001,0.01 "
                               "(8 configurations)")
    search = parse_spec(forecast, search=2, space=["split=0.7,0.1,0.2;0.6,0.2,0.2", "lr=1e-3:1e-1:log"])
    assert search.describe() == ("search: 2 trials by this process over 'split=0.7,0.1,0.2;0.6,0.2,0.2' "
                                 "lr=0.001:0.1:log")

    settings = {"split": "0.7,0.1,0.2", "data": "my data.csv", "lr": 0.001}
    config = ConfigRow(settings=settings, trials=[0], n=1, val_mean=0.5, parameters=10, rank=1, best=True)
    assert config.label() == 'split="0.7,0.1,0.2" data="my data.csv" lr=0.001'
    line = trial_line(0, settings, 42, Outcome("COMPLETE", value=0.5, test=0.6, epochs=2), "mse")
    assert line.startswith('trial 0 COMPLETE  split="0.7,0.1,0.2" data="my data.csv" lr=0.001 seed=42: val mse 0.5')
    other = ConfigRow(settings={**settings, "split": "0.6,0.2,0.2"}, trials=[1], n=1, val_mean=0.7, parameters=10,
                      rank=2)
    table = format_table([config, other], ["split", "data", "lr"], "mse").splitlines()
    assert table[1].split()[:5] == ["1", "*", '"0.7,0.1,0.2"', '"my', 'data.csv"']
    assert table[2].split()[:2] == ["2", '"0.6,0.2,0.2"']
    assert json.loads(table[1].split()[2]) == "0.7,0.1,0.2"

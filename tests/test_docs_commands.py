"""Every command in the ```bash blocks of README.md and docs/ works as written, with the data root set.

Each ``python main.py ...``, ``python -m suite.data.vectors ...`` and ``rnn-suite ...`` line (backslash
continuations joined) runs in this process, in the order the docs give them, from a working folder laid
out like a checkout: ``resources/`` and ``../shared/data`` are there. The data root is set the way the
docs set it: each document starts as a fresh shell without ``$RNN_SUITE_DATA``, and its
``export RNN_SUITE_DATA=../shared/data`` line sets it for the commands after it (a guide that needs the
data root and does not say so fails here). Training is shortened: ``--fast-dev-run`` (one batch each of
training, validation and test) and the task's own limit option where it has one. Runs, predictions and
outputs stay in the working folder.

Example files the docs only name (``sales.csv``, ``my.conllu``, ``runs/<task>/<run>``, ...) are
replaced by small real ones of the same kind; commands that need what this machine cannot have (the
Hub, an uninstalled plugin, the window) are skipped, saying why. A command that appears in several
documents runs once.
"""

from __future__ import annotations

import io
import os
import re
import shlex
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from helpers import REPO
from test_tagging_data import head_sentences

pytestmark = [pytest.mark.realdata,
              pytest.mark.filterwarnings("ignore:No positive samples")]  # one test batch may hold one class

DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
PROGRAMS = {("python", "main.py"): "cli", ("python", "-m", "suite.data.vectors"): "vectors", ("rnn-suite",): "cli"}

#: appended to a training command: one batch of each loop, and the task's own limit on the data it reads
SHORT = {"sentiment": ["--limit", "500"], "translation": ["--max-pairs", "1000"], "music": ["--max-files", "12"]}

PLUGIN = "the plugin of docs/PLUGINS.md is not installed here; tests/test_plugins.py installs it and runs these"
HUB = "a Hugging Face dataset name: needs the Hub, or a copy cached earlier (this machine is offline)"
#: command patterns that cannot run here, and why
SKIPS = {"--task adding": PLUGIN, "runs/adding/": PLUGIN, "--data imdb": HUB, "--data conll2003": HUB,
         "postgresql://": "a sweep on a PostgreSQL server: there is none here (tests/test_sweeps_runs.py shares "
                          "one study between processes through SQLite and a journal file)",
         "journal:/mnt/shared/": "a journal on a file system shared between machines, mounted at /mnt/shared "
                                 "there (tests/test_sweeps_runs.py runs a sweep on a journal file)"}

#: which earlier run stands in for ``runs/<task>/<run>``: the first one whose settings fit the command's
#: inputs (a forecast of ETTh1 rows needs a run trained on ETTh1, an English->German one will not take German)
RUN_FOR = {
    "forecast": lambda o: o["data"].endswith("ETTh1.csv"),
    "sentiment": lambda o: o["data"].endswith("sentiment/imdb"),
    "tagging": lambda o: o["data"].endswith("ud_english_ewt") and o["tag_column"] == "upos" and not o["train"],
    "translation": lambda o: o["data"].endswith("multi30k") and (o["source_lang"], o["target_lang"]) == ("de", "en"),
    "music": lambda o: o["representation"] == "frames",
}


@dataclass
class Command:
    doc: str
    line: int
    text: str  # the command as written, comment removed

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def documented_commands() -> list[Command]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in re.finditer(r"^```bash\n(.*?)^```", text, re.S | re.M):
            first = text[:block.start(1)].count("\n") + 1
            lines = block.group(1).split("\n")
            i = 0
            while i < len(lines):
                start, joined = i, lines[i]
                while joined.rstrip().endswith("\\") and i + 1 < len(lines):  # a continued line
                    i += 1
                    joined = joined.rstrip()[:-1] + " " + lines[i].strip()
                i += 1
                for part in _parts(joined):
                    found.append(Command(str(path.relative_to(REPO)), first + start, part))
    return found


def _parts(line: str) -> list[str]:
    """The commands of one shell line that these tests run (``pip ... && python main.py ...`` holds one)."""
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError:
        return []
    parts, current = [], []
    for token in tokens + ["&&"]:
        if token in ("&&", ";"):
            if current and (current[0] == "export" or _program(current)):
                parts.append(shlex.join(current))
            current = []
        else:
            current.append(token)
    return parts


def _program(argv: list[str]) -> tuple[str, list[str]] | None:
    for prefix, kind in PROGRAMS.items():
        if tuple(argv[:len(prefix)]) == prefix:
            return kind, argv[len(prefix):]
    return None


COMMANDS = documented_commands()


class Docs:
    """The working folder the commands run in, the example files made for them, and the runs they made."""

    def __init__(self, work: Path, data_root: Path, env: pytest.MonkeyPatch):
        self.work, self.root, self.env = work, data_root, env
        self.runs: list[tuple[str, Path]] = []  # (task, run folder), in the order they were made
        self.done: dict[str, int] = {}  # command -> exit code, so a repeated command runs once
        self.doc: str | None = None  # the document being read

    def run_for(self, task: str) -> Path:
        fits = RUN_FOR.get(task, lambda options: True)
        for name, path in self.runs:
            if name == task and fits(yaml.safe_load((path / "config.yaml").read_text())["options"]):
                return path
        pytest.fail(f"no earlier {task} run in the docs to stand in for runs/{task}/<run>")

    # --- example files, made when a command names them ------------------------------------------------
    def example(self, task: str | None, name: str) -> str | None:
        """A stand-in for a file the docs only name, or None where the name is not an example's."""
        make = EXAMPLES.get((task, name)) or EXAMPLES.get((None, name))
        if make is None:
            return None
        target = self.work / "examples" / (task or "any") / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            make(self, target)
        return str(target)


def _etth1_rows(n: int):
    def make(docs: Docs, target: Path) -> None:
        pd.read_csv(docs.root / "forecast/ett/ETTh1.csv", nrows=n).to_csv(target, index=False)
    return make


def _sales(docs: Docs, target: Path) -> None:
    """Daily unit sales with a price and a promotion flag: the columns the README's command names."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=400, freq="D")
    promo = (rng.random(len(days)) < 0.2).astype(int)
    price = 10 + rng.normal(0, 0.5, len(days)).round(2)
    units = (50 + 10 * np.sin(np.arange(len(days)) * 2 * np.pi / 7) + 15 * promo - 2 * (price - 10)
             + rng.normal(0, 3, len(days))).round(1)
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "units": units, "price": price, "promo": promo}).to_csv(
        target, index=False)


def _imdb_rows(split: str, n: int, columns: dict[str, str], by: str = "label"):
    """IMDB reviews, ``n`` of each value of ``by``, with the columns renamed as the command expects."""
    def make(docs: Docs, target: Path) -> None:
        frame = pd.read_csv(docs.root / "sentiment/imdb" / f"{split}.csv.gz")
        frame.groupby(by).head(n)[list(columns)].rename(columns=columns).to_csv(target, index=False)
    return make


def _vectors(docs: Docs, target: Path) -> None:
    """A word2vec/GloVe-format text file of 100 dimensions over frequent review words."""
    words = "the a and of to is in it this that was movie film good bad great not but with for".split()
    rng = np.random.default_rng(0)
    target.write_text("".join(f"{w} {' '.join(f'{v:.4f}' for v in rng.normal(0, 0.3, 100))}\n" for w in words))


def _lines(*texts: str):
    def make(docs: Docs, target: Path) -> None:
        target.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    return make


def _sentences(corpus: str, file: str, n: int):
    def make(docs: Docs, target: Path) -> None:
        head_sentences(docs.root / "tagging" / corpus / file, target, n)
    return make


def _corpus_as(lang: str):
    """A Multi30k slice in the folder layout, its German side named ``lang``: the shared data has no
    Spanish-English corpus, and the command is about the layout and the flags, not the language."""
    def make(docs: Docs, target: Path) -> None:
        target.mkdir()
        for split, n in (("train", 1000), ("val", 100), ("test", 100)):
            source = "test_2016_flickr" if split == "test" else split
            for src, dst in (("de", lang), ("en", "en")):
                path = docs.root / "translation/multi30k" / f"{source}.{src}"
                lines = path.read_text(encoding="utf-8").splitlines()
                (target / f"{split}.{dst}").write_text("\n".join(lines[:n]) + "\n", encoding="utf-8")
    return make


def _midi(docs: Docs, target: Path) -> None:
    target.write_bytes(sorted((docs.root / "music/nottingham/MIDI").glob("*.mid"))[0].read_bytes())


#: (task or None for any, name in the docs) -> how to make a stand-in of the same kind
EXAMPLES = {
    ("forecast", "sales.csv"): _sales,
    ("forecast", "new.csv"): _etth1_rows(400),  # the ETTh1 run's columns; 96 rows of history needed
    ("forecast", "other.csv"): _etth1_rows(1000),
    ("sentiment", "reviews.csv"): _imdb_rows("train", 40, {"text": "body", "rating": "stars"}, by="rating"),
    ("sentiment", "glove.6B.100d.txt"): _vectors,
    ("sentiment", "reviews.txt"): _lines("A moving, beautifully acted film.", "Dull and far too long."),
    ("sentiment", "other.csv"): _imdb_rows("test", 50, {"text": "text", "label": "label"}),
    ("tagging", "my.conllu"): _sentences("ud_english_ewt", "en_ewt-ud-train.conllu", 400),
    ("tagging", "a.conll"): _sentences("wnut17", "wnut17train.conll", 400),
    ("tagging", "b.conll"): _sentences("wnut17", "emerging.dev.conll", 100),
    ("tagging", "c.conll"): _sentences("wnut17", "emerging.test.annotated", 100),
    ("tagging", "sentences.txt"): _lines("Barack Obama visited Paris .", "I like green tea ."),
    ("tagging", "other.conllu"): _sentences("ud_english_ewt", "en_ewt-ud-test.conllu", 100),
    ("translation", "my_corpus/"): _corpus_as("es"),
    ("music", "primer.mid"): _midi,
}


@pytest.fixture(scope="module")
def docs(tmp_path_factory, data_root):
    """A working folder beside ``shared/data`` (a link to the data root) with the checkout's resources/."""
    base = tmp_path_factory.mktemp("docs")
    (base / "shared").mkdir()
    (base / "shared" / "data").symlink_to(data_root, target_is_directory=True)
    work = base / "main"
    work.mkdir()
    (work / "resources").symlink_to(REPO / "resources", target_is_directory=True)
    patch, threads = pytest.MonkeyPatch(), torch.get_num_threads()
    patch.chdir(work)
    patch.setenv("RNN_SUITE_RUNS", str(work / "runs"))
    patch.setenv("RNN_SUITE_CACHE", str(base / "cache"))  # one cache: IMDB's word vectors are learnt once
    # docs/SWEEPS.md's sweeps run dozens of trials: forked from one process that has imported torch and
    # Lightning, not a fresh interpreter's seconds of imports each (the same command line; see launch.py)
    patch.setenv("RNN_SUITE_TRIAL_LAUNCHER", "forkserver")
    yield Docs(work, data_root, patch)
    patch.undo()
    torch.set_num_threads(threads)  # --threads 1 below set it for this process


def _task_of(argv: list[str]) -> str | None:
    def value(flag: str) -> str | None:
        return argv[argv.index(flag) + 1] if flag in argv[:-1] else None

    if value("--task"):
        return value("--task")
    if value("--config") and Path(value("--config")).is_file():
        return yaml.safe_load(Path(value("--config")).read_text()).get("task")
    for flag in ("--resume", "--checkpoint"):
        match = re.match(r"runs/([\w-]+)/", value(flag) or "")
        if match:
            return match.group(1)
    return None


def _substitute(argv: list[str], docs: Docs) -> list[str]:
    task = _task_of(argv)
    out = []
    for token in argv:
        if task and re.fullmatch(rf"runs/{task}/(<run>|\d{{8}}-\d{{6}}-\.\.\.)", token):
            token = str(docs.run_for(task))
        else:
            token = docs.example(task, token) or token
        out.append(token)
    return out


def _optional(argv: list[str]) -> list[str]:
    """``[--dim 100 --window 2]`` marks optional flags (shown at their defaults): given, as written."""
    return [t.strip("[]") for t in argv if t.strip("[]")]


@pytest.mark.parametrize("command", COMMANDS, ids=[c.id for c in COMMANDS])
def test_documented_command_works(command: Command, docs: Docs, capsys):
    argv = shlex.split(command.text)
    if command.doc != docs.doc:  # each document in a fresh shell: what it needs set, it must say
        docs.doc = command.doc
        docs.env.delenv("RNN_SUITE_DATA", raising=False)
    if argv[0] == "export":
        name, _, value = argv[1].partition("=")
        docs.env.setenv(name, value)  # for the commands that follow, as a shell keeps it
        assert name != "RNN_SUITE_DATA" or Path(value).is_dir(), value
        return
    for pattern, why in SKIPS.items():
        if pattern in command.text:
            pytest.skip(why)
    kind, args = _program(argv)
    if kind == "cli" and not args:
        pytest.skip("no arguments opens the desktop application (tests/gui/ test it)")
    args = _substitute(_optional(args), docs)
    redirect = None
    if ">" in args:  # `... --print-config > my.yaml`: the shell writes stdout to the file
        at = args.index(">")
        args, redirect = args[:at], args[at + 1]
    left = [a for a in args if re.search(r"<\w+>|\.\.\.", a)]
    assert not left, f"a placeholder without a stand-in: {left}"
    if kind == "cli" and not {"--checkpoint", "--print-config", "--help", "--list-tasks"} & set(args):
        task = _task_of(args)
        args += ["--fast-dev-run", "--threads", "1"]
        if "--resume" not in args:  # a resumed run may change only training settings
            args += SHORT.get(task, [])
    # the same command in another document, in the same environment, ran already
    key = f"RNN_SUITE_DATA={os.environ.get('RNN_SUITE_DATA')} {shlex.join(args)} > {redirect}"
    if key in docs.done:
        assert docs.done[key] == 0
        return
    before = set((docs.work / "runs").glob("*/*"))
    code = _run(kind, args, redirect)
    err = capsys.readouterr().err
    docs.done[key] = code
    assert code == 0, f"{command.id}: {shlex.join(args)}\n{err[-3000:]}"
    for path in sorted(set((docs.work / "runs").glob("*/*")) - before):
        if (path / "results.json").is_file():
            docs.runs.append((path.parent.name, path))


def _run(kind: str, args: list[str], redirect: str | None) -> int:
    if kind == "vectors":
        from suite.data.vectors import main as vectors
        from suite.errors import exit_on_user_error

        return exit_on_user_error(lambda: vectors(args))
    from suite.cli import main

    if redirect is None:
        return main(args)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(args)
    Path(redirect).write_text(buffer.getvalue())
    return code

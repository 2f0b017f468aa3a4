"""The music task: recurrent language models of piano rolls and melodies that write MIDI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.config import RunConfig
from suite.errors import ConfigError, UserError
from suite.task import Baseline, Task

from .config import BACH, MusicConfig
from .extra import require_music_libraries

# The registry loads this class for --help, --list-tasks and --print-config, which must not wait for torch
# (nor need music21): numpy, torch and this task's data, model and score modules are imported in the
# functions that use them.
if TYPE_CHECKING:
    from .data import MusicDataModule
    from .models import MusicModule

MIDI_SUFFIXES = (".mid", ".midi")
XML_SUFFIXES = (".xml", ".musicxml", ".mxl")


class MusicTask(Task):
    name = "music"
    title = "Music generation"
    description = ("polyphonic piano-roll and melody language models that write MIDI (Bach chorales, "
                   "JSB/Nottingham benchmark rolls, MIDI/MusicXML/ABC folders)")
    Config = MusicConfig
    input_kind = "music"
    output_kind = "music"
    monitor = "nll"
    defaults = {
        "backbone.cell": "lstm",
        "backbone.hidden": 256,
        "train.lr": 2e-3,
        "train.batch_size": 8,
        "train.max_epochs": 40,
        # stop 5 epochs after the best validation NLL, as the other tasks do: 40 epochs are a ceiling. On
        # Nottingham (13 times JSB's training steps, minutes an epoch) a reported run's validation NLL was
        # already 2.89 at epoch 11; without a stop the default trained on for all 40
        "train.patience": 5,
        "train.grad_clip": 5.0,
    }
    presets = {
        "bernoulli": {"options.distribution": "bernoulli"},
        "melody": {"options.representation": "events", "options.step": "8th"},
    }
    preset_help = {
        "bernoulli": "88 independent keys per frame (the LSTM of the benchmark's literature)",
        "melody": "the top voice as note-on/hold/rest events at 8th-note steps",
    }

    def slug(self, cfg: RunConfig) -> str:
        opts = cfg.options
        source = BACH if opts.data == BACH else Path(opts.data).stem
        head = "events" if opts.representation == "events" else opts.distribution
        return f"{source}-{head}-{cfg.backbone.cell}{cfg.backbone.hidden}"

    def datamodule(self, cfg: RunConfig) -> MusicDataModule:
        if cfg.backbone.bidirectional:
            raise ConfigError("backbone.bidirectional (--bidirectional)",
                              "a language model cannot read the future; use --no-bidirectional")
        require_music_libraries()  # every run, load and prediction passes here first
        from .data import MusicDataModule

        return MusicDataModule(cfg)

    def model(self, cfg: RunConfig, datamodule: MusicDataModule) -> MusicModule:
        from .models import MusicModule

        return MusicModule(cfg, datamodule.state)

    def baseline(self, datamodule: MusicDataModule) -> Baseline:
        from .metrics import KeyFrequency, RepeatPrevious, TokenBigram, TokenUnigram

        rolls = datamodule.rolls
        test = rolls["test"] or rolls["valid"]
        if datamodule.state.representation == "events":
            main, other = TokenBigram(rolls["train"]), TokenUnigram(rolls["train"])
        else:
            main, other = RepeatPrevious(rolls["train"]), KeyFrequency(rolls["train"])
        return Baseline(main.name, main.score(rolls["valid"]), main.score(test),
                        {other.name: {"val": other.score(rolls["valid"]), "test": other.score(test)}})

    # --- generation ------------------------------------------------------------------------------
    def example_input(self, cfg: RunConfig) -> str:
        return "C4+E4+G4 C4+E4+G4 D4+F4+A4 B3+D4+G4" if cfg.options.representation == "frames" else "C4 E4 G4 C5"

    def predict(self, model: MusicModule, raw_input: str) -> dict[str, Any]:
        """Pieces sampled after a primer: a MIDI/MusicXML/ABC file, a note list, or '-' for none; or a
        JSON request ``{"primer", "temperature", "steps", "seed", "pieces"}`` (the desktop application's)
        whose fields override the run's generation options.

        Returns the first piece's ``steps`` (sounding MIDI pitches per step), every piece, and ``file``:
        the first piece as MIDI in a temporary folder (``--output`` writes where asked instead)."""
        from .generate import generate, parse_primer
        from .rolls import steps_from_roll

        opts, state = model.cfg.options, model.state
        primer_text, length, temperature, seed, pieces = raw_input, opts.length, opts.temperature, opts.gen_seed, opts.pieces
        request = _json_request(raw_input)
        if request is not None:  # the window's request: held to the bounds of the options it overrides
            primer_text = str(request.get("primer") or "-")
            length = _request_number(request, "steps", length, "length", int)
            seed = _request_number(request, "seed", seed, "gen_seed", int)
            pieces = _request_number(request, "pieces", pieces, "pieces", int)
            temperature = _request_number(request, "temperature", temperature, "temperature", float)
        primer = parse_primer(primer_text, state.step_ql)
        rolls = generate(model, primer, length, temperature, seed, pieces)  # it checks the bounds
        steps = [steps_from_roll(r) for r in rolls]
        return {"steps": steps[0], "primer_steps": len(primer), "step": state.step,
                "quarter_length": state.step_ql, "bpm": opts.bpm, "temperature": float(temperature),
                "seed": seed, "musicxml": opts.musicxml, "pieces": [{"steps": s} for s in steps],
                "file": _scratch_midi(rolls[0], state.step_ql, opts.bpm)}

    def save_prediction(self, output: dict[str, Any], path: Path) -> list[str]:
        """.mid/.midi (with MusicXML beside it if asked) or .musicxml/.xml: one file per piece
        (NAME-1.mid, NAME-2.mid, ... when there are several); anything else: the JSON."""
        suffix = path.suffix.lower()
        if suffix not in MIDI_SUFFIXES + XML_SUFFIXES:
            super().save_prediction(output, path)
            return [str(path)]
        import numpy as np

        from .rolls import KEYS, LOW
        from .scores import write_score

        written = []
        pieces = output["pieces"]
        for i, piece in enumerate(pieces):
            target = path if len(pieces) == 1 else path.with_name(f"{path.stem}-{i + 1}{path.suffix}")
            roll = np.zeros((len(piece["steps"]), KEYS), dtype=np.uint8)
            for t, pitches in enumerate(piece["steps"]):
                roll[t, [p - LOW for p in pitches]] = 1
            targets = [target]
            if suffix in MIDI_SUFFIXES and output.get("musicxml"):
                targets.append(target.with_suffix(".musicxml"))
            for out in targets:
                try:
                    written.append(str(write_score(roll, output["quarter_length"], out, output.get("bpm", 100))))
                except OSError as exc:
                    raise UserError(f"{out}: cannot write ({exc})") from None
        output["files"] = written
        return written

    def write_outputs(self, run_dir: Path, model: MusicModule, datamodule: MusicDataModule) -> list[str]:
        """A piece sampled from the trained model with no primer, to listen to at once."""
        from .generate import generate, parse_primer
        from .scores import write_score

        opts, step_ql = model.cfg.options, model.state.step_ql
        roll = generate(model, parse_primer("-", step_ql), opts.length, opts.temperature, opts.gen_seed)[0]
        write_score(roll, step_ql, run_dir / "sample.mid", opts.bpm)
        return ["sample.mid"]

    def render_prediction(self, output: dict[str, Any]) -> str:
        return json.dumps(output)

    def export(self, model: MusicModule, out_dir: Path, fmt: str) -> list[str]:
        """The generation step (state explicit), the NADE sampler, the settings and predict.py (export.py)."""
        from .export import export

        return export(self, model, out_dir, fmt)


def _json_request(raw: str) -> dict[str, Any] | None:
    text = raw.strip()
    if not text.startswith("{"):
        return None
    try:
        request = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--predict: not a valid JSON request ({exc.msg})") from None
    except RecursionError:  # thousands of nested brackets: the decoder recurses per level
        raise UserError("--predict: not a valid JSON request (nested too deeply)") from None
    if not isinstance(request, dict):
        raise UserError("--predict: a JSON request must be an object")
    unknown = set(request) - {"primer", "temperature", "steps", "seed", "pieces"}
    if unknown:
        raise UserError(f"--predict: unknown request field(s) {', '.join(sorted(unknown))}; expected primer, "
                        "temperature, steps, seed, pieces")
    return request


def _bounds(option: str) -> tuple[float, float]:
    meta = next(f.metadata for f in dataclasses.fields(MusicConfig) if f.name == option)
    return meta["min"], meta["max"]


def _span(low: float, high: float) -> str:
    return " to ".join(f"{v:,}" if isinstance(v, int) else f"{v:g}" for v in (low, high))


def _request_number(request: dict[str, Any], key: str, default: Any, option: str, kind: type) -> Any:
    """``request[key]`` (else ``default``) within the bounds of the option it stands for."""
    value = request.get(key, default)
    low, high = _bounds(option)
    ok = isinstance(value, (int, float) if kind is float else int) and not isinstance(value, bool)
    if not ok or not low <= value <= high:  # NaN fails every comparison, so it is refused here too
        what = "an integer" if kind is int else "a number"
        raise UserError(f"--predict: '{key}' must be {what} from {_span(low, high)}, got {value!r}")
    return value


def _scratch_midi(roll, step_ql: float, bpm: int) -> str:
    """The piece as MIDI in the temporary folder, named by its content so repeats reuse one file."""
    import hashlib
    import tempfile

    from .scores import write_score

    folder = Path(tempfile.gettempdir()) / "rnn-suite-music"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(roll.tobytes() + f"{step_ql}/{bpm}".encode()).hexdigest()[:16]
    path = folder / f"piece-{digest}.mid"
    if not path.exists():
        write_score(roll, step_ql, path, bpm)
    return str(path)

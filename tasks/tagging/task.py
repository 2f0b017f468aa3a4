"""The tagging task: part-of-speech tags and named entities, one tag per token."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.config import RunConfig
from suite.data.inputs import text_or_lines
from suite.errors import UserError
from suite.task import Baseline, Task

from .config import DEFAULTS, EWT, EWT_PRESET, WNUT17_PRESET, TaggingConfig
from .schemes import entities

# The registry loads this class for --help, --list-tasks and --print-config, which must not wait for torch:
# torch and this task's data, model, metric and token modules are imported in the functions that use them.
if TYPE_CHECKING:
    from .data import TaggedSentences, TaggingDataModule, TaggingState
    from .models import TaggingModule

PREDICT_BATCH = 64
EXAMPLE = "I watched the new Star Wars movie with Sarah in London yesterday , it was great !"


class TaggingTask(Task):
    name = "tagging"
    title = "Sequence tagging"
    description = "tag every word: parts of speech (CoNLL-U) or named entities (CoNLL/BIO), BiLSTM with " \
                  "character features and an optional CRF"
    Config = TaggingConfig
    input_kind = "text"
    output_kind = "tags"
    monitor = "score"  # entity F1 for BIO/BIOES tag sets, token accuracy otherwise
    monitor_mode = "max"
    defaults = DEFAULTS
    presets = {"ewt": EWT_PRESET, "wnut17": WNUT17_PRESET}
    preset_help = {
        "ewt": "Universal Dependencies English EWT, UPOS tags (the default when --data is not given)",
        "wnut17": "WNUT-17 emerging entities (BIO over 6 types), with a CRF",
    }

    preset_yields = {"options.embeddings": ("options.vectors_from", "options.vector_words")}

    def default_preset(self, given: dict[str, Any]) -> str | None:
        if given.get("options.data", EWT) == EWT and not given.get("options.train"):
            return "ewt"
        return None

    def slug(self, cfg: RunConfig) -> str:
        opts = cfg.options
        source = Path(opts.train or opts.data).name.replace("/", "_") or "data"
        return f"{source}-{opts.char_encoder}-{cfg.backbone.cell}{cfg.backbone.hidden}"

    def datamodule(self, cfg: RunConfig) -> TaggingDataModule:
        from .data import TaggingDataModule

        return TaggingDataModule(cfg)

    def model(self, cfg: RunConfig, datamodule: TaggingDataModule) -> TaggingModule:
        from .models import TaggingModule

        return TaggingModule(cfg, datamodule.state, datamodule.pretrained, datamodule.word_counts)

    def baseline(self, datamodule: TaggingDataModule) -> Baseline:
        from suite.baselines import add_strong

        from .baselines import fit_for

        state = datamodule.state
        naive = Baseline("most_frequent_tag", score_baseline(state, datamodule.val_set),
                         score_baseline(state, datamodule.test_set))
        return add_strong(naive, datamodule, "a linear-chain CRF, sklearn-crfsuite", lambda: fit_for(datamodule),
                          self.monitor, self.monitor_mode)

    def write_outputs(self, run_dir: Path, model: TaggingModule, datamodule: TaggingDataModule) -> list[str]:
        from .outputs import write_predictions

        return [write_predictions(run_dir / "test_predictions.conll", model, datamodule.test_set)]

    def report(self, model: TaggingModule, datamodule: TaggingDataModule) -> dict[str, Any]:
        from .outputs import per_tag_report

        return per_tag_report(model, datamodule)

    # --- interactive prediction --------------------------------------------------------------------
    def example_input(self, cfg: RunConfig) -> str:
        return EXAMPLE

    def predict(self, model: TaggingModule, raw_input: str) -> dict[str, Any]:
        """Tags for a sentence, or for every line of a text file (one sentence per line)."""
        path, lines = text_or_lines(raw_input, "sentence")
        if path is None:
            return tag_sentences(model, [raw_input])[0]
        return {"sentences": tag_sentences(model, [text for _, text in lines])}

    def predict_many(self, model: TaggingModule, inputs: list[str], *, files: bool = True) -> list[Any]:
        """Every sentence in one batched pass (``tag_sentences``, as a file of lines is); an input naming
        a file is answered as ``predict`` answers it, unless ``files=False`` (the server), where it is a
        sentence."""
        from .tokens import split_sentence

        answers: list[Any] = [None] * len(inputs)
        texts, slots = [], []
        for i, raw in enumerate(inputs):
            if files:
                path, _ = text_or_lines(raw, "sentence")
                if path is not None:
                    answers[i] = self.predict(model, raw)
                    continue
            elif not split_sentence(raw):
                raise UserError("the sentence has no words to tag")
            texts.append(raw)
            slots.append(i)
        for i, answer in zip(slots, tag_sentences(model, texts) if texts else []):
            answers[i] = answer
        return answers

    def export(self, model: TaggingModule, out_dir: Path, fmt: str) -> list[str]:
        from .export import export

        return export(self, model, out_dir, fmt)

    def explain(self, model: TaggingModule, raw_input: str, *, steps: int | None = None,
                horizon: str | None = None) -> dict[str, Any]:
        """Each word's Integrated Gradients attribution to each predicted tag's score: words x words."""
        from .explain import explain

        return explain(self, model, raw_input, steps=steps, horizon=horizon)

    def render_explanation(self, explanation: dict[str, Any]) -> str:
        from .explain import render

        return render(explanation)

    def render_prediction(self, output: dict[str, Any]) -> str:
        sentences = output.get("sentences", [output])
        return "\n\n".join(render_sentence(s) for s in sentences)


def tag_sentences(model: TaggingModule, texts: list[str]) -> list[dict[str, Any]]:
    import torch

    from .data import encode_sentences
    from .tokens import char_spans, split_sentence

    state = model.state
    tokens = [split_sentence(t) for t in texts]
    empty = [i for i, t in enumerate(tokens) if not t]
    if empty:
        raise UserError(f"--predict: line {empty[0] + 1} has no words to tag")
    dataset = encode_sentences(tokens, state)
    tags: list[list[str]] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(dataset), PREDICT_BATCH):
            batch = dataset.collate([dataset[i] for i in range(start, min(start + PREDICT_BATCH, len(dataset)))])
            ids = model.predict_ids(batch)
            tags.extend([[state.tags[j] for j in row[:n]] for row, n in zip(ids.tolist(), batch.lengths.tolist())])
    out = []
    for text, toks, tag_row in zip(texts, tokens, tags):
        spans = char_spans(text, toks)
        found = []
        if state.scheme != "none":
            for kind, first, last in entities(tag_row):
                begin, end = spans[first], spans[last]
                found.append({"type": kind, "text": " ".join(toks[first:last + 1]), "start": first, "end": last + 1,
                              "char_start": begin[0] if begin else None, "char_end": end[1] if end else None})
        out.append({"text": text, "tokens": toks, "tags": tag_row, "entities": found, "scheme": state.scheme})
    return out


def render_sentence(sentence: dict[str, Any]) -> str:
    width = max(len(t) for t in sentence["tokens"])
    lines = [f"{token.ljust(width)}  {tag}" for token, tag in zip(sentence["tokens"], sentence["tags"])]
    if sentence["scheme"] != "none":
        if sentence["entities"]:
            lines.append("entities:")
            lines += [f"  {e['type']}: {e['text']} ({span(e['start'] + 1, e['end'])})" for e in sentence["entities"]]
        else:
            lines.append("entities: none")
    return "\n".join(lines)


def span(first: int, last: int) -> str:
    return f"token {first}" if first == last else f"tokens {first}-{last}"


def score_baseline(state: TaggingState, dataset: TaggedSentences) -> dict[str, float]:
    """The most-frequent-tag baseline through the same metric as the model."""
    import torch

    from .metrics import TaggingScores

    index = {t: i for i, t in enumerate(state.tags)}
    words, default = state.baseline_words, state.baseline_default
    scores = TaggingScores(state.tags, state.scheme != "none", with_report=True)
    for start in range(0, len(dataset), 256):
        chunk = range(start, min(start + 256, len(dataset)))
        predicted = [torch.tensor([index[words.get(t, default)] for t in dataset.sentences[i].tokens]) for i in chunk]
        gold = [dataset.tags[i] for i in chunk]
        lengths = torch.tensor([len(g) for g in gold])
        pad = lambda rows: torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)  # noqa: E731
        scores.update(pad(predicted), pad(gold), lengths)
    return {k: float(v) for k, v in scores.compute().items()}

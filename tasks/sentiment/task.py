"""The sentiment task: text classification (binary or multi-class) with a recurrent encoder."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.config import RunConfig
from suite.data.inputs import text_or_lines
from suite.errors import UserError
from suite.task import Baseline, Task

from .config import DEFAULTS, SEED_PRESET, SentimentConfig

# The registry loads this class for --help, --list-tasks and --print-config, which must not wait for torch:
# torch, torchmetrics and this task's data and model modules are imported in the functions that use them.
if TYPE_CHECKING:
    from .data import SentimentDataModule, TextLabelDataset
    from .models import SentimentModule

EXAMPLE = "A moving, beautifully acted film, although the ending felt a little rushed."
#: texts per forward pass (a batch job's --predict-batch default, the server's and the exported predictor's)
PREDICT_BATCH = 64


class SentimentTask(Task):
    name = "sentiment"
    title = "Sentiment classification"
    description = "classify texts (reviews, sentences) into sentiment or any other classes"
    Config = SentimentConfig
    input_kind = "text"
    output_kind = "label"
    monitor = "acc"
    monitor_mode = "max"
    defaults = DEFAULTS
    presets = {"seed": SEED_PRESET}
    preset_help = {"seed": "the seed tutorial's Keras model: Embedding(10000, 32), SimpleRNN(32), Dense sigmoid, "
                           "rmsprop, 10 epochs of batch 128, 20% validation, the last 500 words of each review"}

    def slug(self, cfg: RunConfig) -> str:
        source = Path(cfg.options.data.rstrip("/")).name.split(".")[0] or "data"
        parts = ([cfg.preset] if cfg.preset else []) + [source, f"{cfg.backbone.cell}{cfg.backbone.hidden}"]
        return "-".join(parts)

    def datamodule(self, cfg: RunConfig) -> SentimentDataModule:
        from .data import SentimentDataModule

        return SentimentDataModule(cfg)

    def model(self, cfg: RunConfig, datamodule: SentimentDataModule) -> SentimentModule:
        from .models import SentimentModule

        # the training split (absent when a trained run is loaded) is what the n-gram member is fitted on
        return SentimentModule(cfg, datamodule.state, datamodule.vectors, datamodule.train_set)

    # --- the naive reference -----------------------------------------------------------------------
    def baseline(self, datamodule: SentimentDataModule) -> Baseline | None:
        state = datamodule.state
        if not state.class_counts:  # a state saved before the training counts were kept: no majority known
            return None
        from suite.baselines import add_strong

        from .baselines import fit_for

        classes = len(state.classes)
        naive = Baseline(f"majority class ({state.classes[state.majority]})",
                         constant_scores(datamodule.val_set, state.majority, classes),
                         constant_scores(datamodule.test_set, state.majority, classes))
        return add_strong(naive, datamodule, "TF-IDF logistic regression and NBSVM", lambda: fit_for(datamodule),
                          self.monitor, self.monitor_mode)

    def report(self, model: SentimentModule, datamodule: SentimentDataModule) -> dict[str, Any]:
        classes = datamodule.state.classes
        return {
            "classes": classes,
            "confusion_matrix": {"rows": "true class", "columns": "predicted class", "labels": classes,
                                 "matrix": model.test_confusion},
            "vocabulary_size": len(datamodule.state.vocab),
            "truncated_texts": dict(datamodule.truncated),
            **({"pretrained_vectors_found": datamodule.vectors_found} if datamodule.vectors is not None else {}),
            # the NBSVM member's fit, where this process fitted it (n-gram features used, texts, seconds), and
            # the answer's a * encoder + b * member + c, fitted on validation
            **({"ngram_member": {**model.ngrams.fitted, "mixing": [round(float(v), 6) for v in model.mixing]}}
               if getattr(model, "ngrams", None) is not None and model.ngrams.fitted else {}),
        }

    def write_outputs(self, run_dir: Path, model: SentimentModule, datamodule: SentimentDataModule) -> list[str]:
        if model.test_probabilities is None:
            return []
        ds: TextLabelDataset = datamodule.test_set
        path = run_dir / "predictions.csv"
        classes = datamodule.state.classes
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "true", "predicted"] + [f"p_{c}" for c in classes])
            for i, probs in zip(model.test_index.tolist(), model.test_probabilities.tolist()):
                best = max(range(len(probs)), key=probs.__getitem__)
                writer.writerow([i, classes[int(ds.labels[i])], classes[best]] + [f"{p:.4f}" for p in probs])
        return [path.name]

    # --- interactive prediction ----------------------------------------------------------------------
    def example_input(self, cfg: RunConfig) -> str:
        return EXAMPLE

    def predict(self, model: SentimentModule, raw_input: str) -> dict[str, Any]:
        """One text, or a file of texts (one per line): label, class probabilities, and what was read."""
        path, lines = text_or_lines(raw_input, "text")
        if path is None:
            return classify(model, [raw_input], ["--predict"])[0]
        answers = classify(model, [text for _, text in lines], [f"{path}, line {n}" for n, _ in lines])
        return {"source": str(path), "classes": model.classes, "predictions": answers}

    def predict_many(self, model: SentimentModule, inputs: list[str], *, files: bool = True,
                     batch_size: int | None = None) -> list[Any]:
        """Every text in one batched pass (``classify``, as a file of lines is); an input naming a file
        is answered as ``predict`` answers it, unless ``files=False`` (the server), where it is a text.
        ``batch_size``: texts per forward pass (None: classify's default)."""
        answers: list[Any] = [None] * len(inputs)
        texts, tokens, where, slots = [], [], [], []
        tokenize = model.preprocessor.tokens
        for i, raw in enumerate(inputs):
            if files:
                path, _ = text_or_lines(raw, "text")  # (a file is read again by predict: rare on the CLI)
                if path is not None:
                    answers[i] = self.predict(model, raw)
                    continue
            elif not raw.strip():
                raise UserError("the text is empty")
            words = tokenize(raw)  # once: classify takes them as they are
            if not words and not files:
                raise UserError("the text has no words")
            texts.append(raw)
            tokens.append(words)
            where.append("--predict")
            slots.append(i)
        for i, answer in zip(slots, classify(model, texts, where, tokens, batch_size) if texts else []):
            answers[i] = answer
        return answers

    def export(self, model: SentimentModule, out_dir: Path, fmt: str) -> list[str]:
        from .export import export

        return export(self, model, out_dir, fmt)

    def explain(self, model: SentimentModule, raw_input: str, *, steps: int | None = None,
                horizon: str | None = None) -> dict[str, Any]:
        """Each word's Integrated Gradients attribution to the predicted class's probability."""
        from .explain import explain

        return explain(self, model, raw_input, steps=steps, horizon=horizon)

    def render_explanation(self, explanation: dict[str, Any]) -> str:
        from .explain import render

        return self.render_prediction(explanation["prediction"]) + "\n" + render(explanation)

    def render_prediction(self, output: dict[str, Any]) -> str:
        if "predictions" in output:
            lines = []
            for item in output["predictions"]:
                text = item["text"] if len(item["text"]) <= 70 else item["text"][:67] + "..."
                lines.append(f"{item['label']:<12} {max(item['probabilities'].values()):6.1%}  {text}")
            return "\n".join(lines)
        probs = sorted(output["probabilities"].items(), key=lambda kv: -kv[1])
        width = max(len(name) for name, _ in probs)
        lines = [f"{output['label']} ({probs[0][1]:.1%})"]
        lines += [f"  {name:<{width}}  {p:6.1%}  {'#' * round(30 * p)}" for name, p in probs]
        lines.append(f"  ({output['tokens']} tokens read, {output['unknown_words']} not in the vocabulary)")
        if output.get("warning"):
            lines.append(f"  warning: {output['warning']}")
        return "\n".join(lines)

    def save_prediction(self, output: dict[str, Any], path: Path) -> None:
        if path.suffix.lower() != ".csv":
            return super().save_prediction(output, path)
        items = output.get("predictions") or [output]
        classes = list(items[0]["probabilities"])
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"] + [f"p_{c}" for c in classes])
            for item in items:
                writer.writerow([item["text"], item["label"]] + [f"{item['probabilities'][c]:.4f}" for c in classes])
        return None


def constant_scores(dataset: TextLabelDataset, label: int, num_classes: int) -> dict[str, float]:
    """The metrics of always answering ``label``, computed by the same metric classes as the model's."""
    import torch

    from .baselines import label_scores

    y = dataset.labels
    return label_scores(y, torch.full_like(y, label), torch.full(y.shape, float(label)), num_classes)


def classify(model: SentimentModule, texts: list[str], where: list[str],
             tokens: list[list[str]] | None = None, batch_size: int | None = None) -> list[dict[str, Any]]:
    """Label and probabilities per text, ``batch_size`` texts of about one length per forward pass (None:
    ``PREDICT_BATCH``). ``tokens``: the texts' tokens where the caller has them already (each text is
    tokenised once)."""
    import numpy as np
    import torch

    pre = model.preprocessor
    if tokens is None:
        tokens = [pre.tokens(text) for text in texts]
    encoded = []  # (ids, tokens read, unknown words, whether cut)
    for words, place in zip(tokens, where):
        if not words:
            raise UserError(f"{place}: the text has no words")
        ids, cut, unknown = pre.encode(words)
        encoded.append((ids or [pre.vocab.unk_index], len(words), unknown, cut))
    if model.training:  # eval() walks every submodule: not on each call of a server's hot loop
        model.eval()
    rows: list[list[float]] = [None] * len(texts)  # type: ignore[list-item]
    # longest first, so that each batch holds texts of about one length and pads little
    order = sorted(range(len(texts)), key=lambda i: -len(encoded[i][0]))
    size = batch_size or PREDICT_BATCH
    with torch.inference_mode():
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            lengths = [len(encoded[i][0]) for i in chunk]
            ids = np.zeros((len(chunk), lengths[0]), dtype=np.int64)  # lengths[0] is the longest
            for row, i in enumerate(chunk):
                ids[row, :lengths[row]] = encoded[i][0]
            batch = (torch.from_numpy(ids).to(model.device), torch.tensor(lengths, dtype=torch.int64))
            probs = model.probabilities(model(*batch))
            for i, p in zip(chunk, probs.float().cpu().tolist()):
                rows[i] = p
    classes = model.classes
    answers = []
    for text, (_, n_tokens, unknown, cut), p in zip(texts, encoded, rows):
        best = max(range(len(p)), key=p.__getitem__)
        warning = None
        if cut:
            warning = (f"the text has {n_tokens} tokens; the model reads {pre.opts.max_length} "
                       f"({pre.opts.truncate.replace('_', '+')})")
        answers.append({"text": text, "label": classes[best],
                        "probabilities": {c: round(v, 4) for c, v in zip(classes, p)},
                        "tokens": n_tokens, "unknown_words": unknown, "warning": warning})
    return answers

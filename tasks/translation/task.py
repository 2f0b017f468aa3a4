"""The translation task: a recurrent encoder-decoder with attention, beam search and BLEU."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.config import RunConfig
from suite.errors import UserError
from suite.task import Baseline, Task

from .config import DEFAULTS, MULTI30K, SEED_PRESET, TranslationConfig

# The registry loads this class for --help, --list-tasks and --print-config, which must not wait for torch:
# torch, tokenizers, sacrebleu and this task's data and model modules are imported in the methods that use them.
if TYPE_CHECKING:
    from .data import TranslationDataModule
    from .models import Seq2Seq

EXAMPLES = {"de": "Ein Mann fährt mit dem Fahrrad die Straße entlang.", "en": "I am cold.",
            "fr": "Je suis fatigué."}


class TranslationTask(Task):
    name = "translation"
    title = "Translation"
    description = "translate sentences with a recurrent encoder-decoder, attention and beam search " \
                  "(Multi30k, Tatoeba/Anki pairs, parallel text files)"
    Config = TranslationConfig
    input_kind = "text"
    output_kind = "text"
    monitor = "bleu"
    monitor_mode = "max"
    defaults = DEFAULTS
    presets = {"seed": SEED_PRESET}
    preset_help = {"seed": "the seed tutorial's model: a character-level LSTM(256) encoder-decoder without "
                           "attention on the first 10000 Tatoeba English-French pairs, rmsprop, batch 64, "
                           "greedy decoding"}

    def slug(self, cfg: RunConfig) -> str:
        opts = cfg.options
        source = Path(opts.data).name or "data"
        parts = [cfg.preset] if cfg.preset else []
        parts += [source, f"{opts.source_lang}-{opts.target_lang}", opts.tokenizer,
                  f"{cfg.backbone.cell}{cfg.backbone.hidden}"]
        return "-".join(parts)

    def datamodule(self, cfg: RunConfig) -> TranslationDataModule:
        from .data import TranslationDataModule

        return TranslationDataModule(cfg)

    def model(self, cfg: RunConfig, datamodule: TranslationDataModule) -> Seq2Seq:
        from .models import Seq2Seq

        if datamodule.state is None:
            raise RuntimeError("the datamodule has no tokenizers yet: call setup() or load its state first")
        return Seq2Seq(cfg, datamodule.state)

    def baseline(self, datamodule: TranslationDataModule) -> Baseline:
        """Copying the source sentence (names, numbers and cognates overlap)."""
        from .metrics import corpus_scores

        def copy(ds):
            return corpus_scores(ds.source_text, ds.target_text)

        return Baseline("copy_source", copy(datamodule.val_set), copy(datamodule.test_set))

    # --- interactive prediction ----------------------------------------------------------------------
    def example_input(self, cfg: RunConfig) -> str:
        return EXAMPLES.get(cfg.options.source_lang, "")

    def predict(self, model: Seq2Seq, raw_input: str) -> dict[str, Any]:
        import torch

        from .decoding import beam_search, greedy
        from .segmenters import UNK_ID

        text = raw_input.strip()
        if not text:
            raise UserError("--predict: expected a sentence to translate, got empty text")
        source, target = model.segmenters
        opts = model.cfg.options
        ids = source.encode(text)[: opts.max_length] or [UNK_ID]
        src = torch.tensor([ids], dtype=torch.long)
        src_len = torch.tensor([len(ids)])
        model.eval()
        if opts.beam_size > 1:
            ranked = beam_search(model, src, src_len, opts.beam_size, opts.length_penalty, opts.max_decode_ratio,
                                 keep_attention=True, n_best=opts.beam_size)[0]
        else:
            ranked = greedy(model, src, src_len, opts.max_decode_ratio, keep_attention=True)
        best = ranked[0]
        result = {
            "translation": target.decode(best.tokens),
            "source_tokens": source.pieces(ids),
            "target_tokens": target.pieces(best.tokens),
            "attention": [[round(w, 5) for w in row] for row in best.attention[: len(best.tokens)]],
            "score": round(best.normalised, 4),
            "decoding": f"beam {opts.beam_size}" if opts.beam_size > 1 else "greedy",
            "unknown_source_tokens": sum(1 for i in ids if i == UNK_ID),
        }
        if opts.beam_size > 1:
            result["beam"] = [{"translation": target.decode(h.tokens), "score": round(h.normalised, 4)}
                              for h in ranked]
        return result

    def render_prediction(self, output: dict[str, Any]) -> str:
        return output["translation"]

    def explain(self, model: Seq2Seq, raw_input: str, *, steps: int | None = None,
                horizon: str | None = None) -> dict[str, Any]:
        """Each source token's Integrated Gradients attribution to each output token's log-probability."""
        from .explain import explain

        return explain(self, model, raw_input, steps=steps, horizon=horizon)

    def render_explanation(self, explanation: dict[str, Any]) -> str:
        from .explain import render

        return self.render_prediction(explanation["prediction"]) + "\n" + render(explanation)

    # --- run outputs ---------------------------------------------------------------------------------
    def write_outputs(self, run_dir: Path, model: Seq2Seq, datamodule: TranslationDataModule) -> list[str]:
        """translations.tsv: each test source, its reference, and the greedy and beam translations."""
        outputs = {name: dict(rows) for name, rows in model.test_outputs.items()}
        if not outputs:
            return []
        data, seg = datamodule.test_set, model.segmenters[1]
        path = run_dir / "translations.tsv"
        names = sorted(outputs)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            writer.writerow(["source", "reference"] + names)
            for i in range(len(data)):
                writer.writerow([data.source_text[i], data.target_text[i]]
                                + [seg.decode(outputs[n].get(i, [])) for n in names])
        return [path.name]

    def export(self, model: Seq2Seq, out_dir: Path, fmt: str) -> list[str]:
        """The encoder and a decoder step (state explicit), the tokenizers' JSON and predict.py (export.py)."""
        from .export import export

        return export(self, model, out_dir, fmt)


__all__ = ["TranslationTask", "MULTI30K"]

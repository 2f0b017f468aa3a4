"""Multi30k German -> English with the translation task's default configuration.

The same as ``python main.py --task translation`` (data translation/multi30k, de -> en), run in-process:
BPE trained on the training split, a bidirectional GRU encoder, a GRU decoder with attention, label
smoothing, Adam with a cosine schedule; the best epoch chosen on validation BLEU (greedy). Prints
test_2016_flickr BLEU (beam and greedy) and chrF with sacreBLEU's standard settings beside the
copy-the-source baseline and published recurrent results, fit seconds and training tokens/s.
Target: beam BLEU >= 30 (goal 35) trained from scratch in under 45 minutes on 2 CPU cores.

``--limit N`` trains on the first N pairs only (with ``--max-epochs``), a quick check of the pipeline.
The last line is one comparable figure: ``test_bleu=... target=30 fit_seconds=...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suite.config import build_run_config  # noqa: E402
from suite.errors import exit_on_user_error  # noqa: E402
from suite.registry import get_task  # noqa: E402
from suite.training import quiet_libraries, train_in_process  # noqa: E402

def plain_loop_tokens_per_second(task, cfg, datamodule, batches: int = 20) -> float:
    """The same model and batches trained by a bare PyTorch loop (no Lightning): the throughput reference."""
    import itertools

    import torch

    torch.manual_seed(0)
    model = task.model(cfg, datamodule).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    loader = datamodule.train_dataloader()
    tokens, started = 0, None
    for i, batch in enumerate(itertools.islice(loader, batches + 1)):
        if i == 1:  # the first batch warms up allocations
            tokens, started = 0, time.perf_counter()
        optimizer.zero_grad()
        loss, _, _ = model.loss(batch, cfg.options.label_smoothing)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip or float("inf"))
        optimizer.step()
        tokens += int(batch[1].sum()) + int(batch[3].sum()) - len(batch[3])
    return tokens / (time.perf_counter() - started)


PUBLISHED = {"LSTM seq2seq": 13.8, "GRU": 20.6, "BiGRU+attention (greedy)": 28.3}
TARGET = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description="Multi30k de->en with the translation task's defaults "
                                                 "(target: test BLEU >= 30 with beam search).")
    parser.add_argument("--data-root", default=os.environ.get("RNN_SUITE_DATA") or str(REPO.parent / "shared" / "data"),
                        help="folder holding translation/multi30k (default: $RNN_SUITE_DATA or ../shared/data)")
    parser.add_argument("--limit", type=int, default=0, help="train on the first N pairs only (a quick check)")
    parser.add_argument("--max-epochs", type=int, help="maximum epochs (default: the task's)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    parser.add_argument("--seed", type=int, help="random seed (default: the suite's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other setting, e.g. --set options.input_feeding=true (repeatable)")
    parser.add_argument("--run-dir", help="keep the run here (default: a temporary folder, removed after)")
    args = parser.parse_args()
    data = Path(args.data_root) / "translation" / "multi30k"
    if not (data / "train.de").exists():
        parser.error(f"{data} has no train.de; pass --data-root or set RNN_SUITE_DATA")
    quiet_libraries()

    explicit = {"options.data": str(data), "train.threads": args.threads, "train.num_workers": 0}
    if args.limit:
        explicit["options.max_pairs"] = args.limit
    if args.max_epochs is not None:
        explicit["train.max_epochs"] = args.max_epochs
    if args.seed is not None:
        explicit["train.seed"] = args.seed
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        explicit[key] = value
    task = get_task("translation")
    cfg = build_run_config(task, explicit=explicit)
    b, t, o = cfg.backbone, cfg.train, cfg.options
    print(f"config: {o.tokenizer} {o.source_vocab}/{o.target_vocab} | encoder {b.cell}{b.hidden}"
          f"{' bi' if b.bidirectional else ''} x{b.layers}, decoder {o.decoder_hidden}, attention {o.attention}"
          f"{' + input feeding' if o.input_feeding else ''}, emb {o.embedding}, dropout {o.io_dropout}, "
          f"smoothing {o.label_smoothing}, beam {o.beam_size} alpha {o.length_penalty} | {t.optimizer} lr {t.lr} "
          f"{t.schedule} batch {t.batch_size} epochs {t.max_epochs} threads {t.threads or 'default'}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        datamodule = task.datamodule(cfg)
        datamodule.setup("fit")
        train = datamodule.train_set
        tokens_per_epoch = sum(len(s) + len(t) - 1 for s, t in zip(train.sources, train.targets))
        results = train_in_process(task, cfg, datamodule, args.run_dir or Path(tmp) / "run")
        total = time.perf_counter() - started
        plain = plain_loop_tokens_per_second(task, cfg, datamodule)

    test, val, base = results["metrics"]["test"], results["metrics"]["val"], results["baseline"]
    train_seconds = results["train_seconds"] or float("nan")
    tokens_per_second = tokens_per_epoch * results["epochs_completed"] / train_seconds
    split = "test_2016_flickr" if not args.limit else f"test_2016_flickr (trained on {len(train)} pairs)"
    print(f"\n{split:<34}{'BLEU':>7}{'chrF':>7}")
    print(f"{f'model, beam {o.beam_size}':<34}{test['bleu']:7.2f}{test['chrf']:7.2f}")
    print(f"{'model, greedy':<34}{test['bleu_greedy']:7.2f}{test['chrf_greedy']:7.2f}")
    print(f"{'copy the source (baseline)':<34}{base['test']['bleu']:7.2f}{base['test']['chrf']:7.2f}")
    print("published BLEU: " + ", ".join(f"{k} {v}" for k, v in PUBLISHED.items()) + f"; target {TARGET:g} "
          "(goal 35)")
    print(f"validation BLEU (greedy) {val['bleu']:.2f}; {results['epochs_completed']} epochs, fit "
          f"{results['fit_seconds']:.0f} s, {tokens_per_second:,.0f} train tokens/s (source + target), "
          f"{results['train_samples_per_second']:.0f} pairs/s (a plain PyTorch loop, same model and batches: "
          f"{plain:,.0f} tokens/s), whole run {total:.0f} s, "
          f"{results['parameters']:,} parameters, threads {t.threads or 'default'}")
    print(f"test_bleu={test['bleu']:.2f} target={TARGET:g} fit_seconds={results['fit_seconds']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

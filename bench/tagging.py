"""Sequence tagging benchmarks with the tagging task's presets: UD English EWT UPOS and WNUT-17 NER.

Each is the same as

    python main.py --task tagging --preset ewt     --data-root ../shared/data
    python main.py --task tagging --preset wnut17  --data-root ../shared/data

run in-process, from scratch: no pretrained weights. Both presets learn their word vectors from the
IMDB reviews' text in the run (the cache is emptied, so their seconds count). The best epoch is
chosen on the validation score (token accuracy for EWT, entity F1 for WNUT-17); the test split is
only reported. Printed per dataset: the test figure beside the most-frequent-tag baseline scored in the same run with the same
metric code, fit seconds, training tokens per second, and the published references.

Targets (each run under 30 minutes on this 2-core CPU): EWT UPOS test accuracy >= 0.95 (goal 0.96;
published: UDPipe 94.4, Plank et al. BiLSTM 94.6 / 95.0 with pretrained vectors); WNUT-17 entity F1
>= 0.30 (goal 0.40; shared-task best 41.9 with external resources).

``--limit N`` trains on the first N training sentences (N/4 of dev and test; 1000 or more, so that
validation holds no tag training lacks) for a quick check of the
script itself; its figures are not the benchmark's. The last line is one comparable figure:
``ewt_upos_acc=0.951 ... wnut17_f1=0.324 ... wnut17_fit_s=655 wnut17_vectors_s=30``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suite.config import build_run_config  # noqa: E402
from suite.errors import exit_on_user_error  # noqa: E402
from suite.registry import get_task  # noqa: E402
from suite.training import quiet_libraries, train_in_process  # noqa: E402

BENCHMARKS = {
    "ewt": {"folder": "tagging/ud_english_ewt", "metric": "accuracy", "label": "EWT UPOS test accuracy",
            "target": 0.95, "goal": 0.96, "published": "UDPipe 0.944, Plank et al. BiLSTM 0.946 (0.950 with "
                                                        "pretrained vectors)"},
    "wnut17": {"folder": "tagging/wnut17", "metric": "f1", "label": "WNUT-17 test entity F1",
               "target": 0.30, "goal": 0.40, "published": "shared-task best 0.419 (with external resources)"},
}


def head_sentences(src: Path, dst: Path, n: int) -> None:
    out, count = [], 0
    with open(src, encoding="utf-8") as handle:
        for line in handle:
            out.append(line)
            if not line.strip():
                count += 1
                if count >= n:
                    break
    dst.write_text("".join(out), encoding="utf-8")


def limited_copy(folder: Path, workdir: Path, limit: int) -> Path:
    """The first ``limit`` training sentences and ``limit // 4`` of the others, in a scratch folder."""
    out = workdir / f"{folder.name}-limit{limit}"
    out.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file() and path.suffix != ".md":
            head_sentences(path, out / path.name, limit if "train" in path.name else max(1, limit // 4))
    return out


def run_one(name: str, data: Path, workdir: Path, explicit: dict, data_root: str) -> dict:
    task = get_task("tagging")
    cfg = build_run_config(task, preset=name, explicit={"options.data": str(data), **explicit}, data_root=data_root)
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    results = train_in_process(task, cfg, datamodule, str(workdir / name))
    lengths = datamodule.train_set.lengths
    tokens, sentences = sum(lengths), len(lengths)
    if datamodule.aux_set is not None:  # an epoch also trains on aux_share x as many auxiliary sentences
        aux = datamodule.aux_set.lengths
        share = min(cfg.options.aux_share * sentences, len(aux))
        tokens, sentences = tokens + share * sum(aux) / len(aux), sentences + share
    results["train_tokens_per_second"] = results["train_samples_per_second"] * tokens / sentences
    results["vectors_seconds"] = datamodule.vectors_seconds
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description="EWT UPOS and WNUT-17 NER with the tagging presets.")
    parser.add_argument("--data-root", default=os.environ.get("RNN_SUITE_DATA") or str(REPO.parent / "shared" / "data"),
                        help="folder holding tagging/ (default: $RNN_SUITE_DATA or ../shared/data)")
    parser.add_argument("--datasets", default="ewt,wnut17", help="comma-separated: ewt, wnut17 (default: both)")
    parser.add_argument("--limit", type=int, default=0, help="first N training sentences only (a quick check)")
    parser.add_argument("--max-epochs", type=int, help="maximum epochs (default: the preset's)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--seed", type=int, help="random seed (default: the suite's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other setting, e.g. --set options.char_encoder=lstm (repeatable)")
    parser.add_argument("--run-dir", help="keep the runs here (default: a temporary folder, removed after)")
    args = parser.parse_args()
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(sorted(unknown))}; expected ewt, wnut17")
    quiet_libraries()
    explicit = {"train.threads": args.threads, "train.num_workers": 0}
    if args.max_epochs is not None:
        explicit["train.max_epochs"] = args.max_epochs
    if args.seed is not None:
        explicit["train.seed"] = args.seed
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        explicit[key] = value

    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.run_dir or tmp)
        for name in names:
            spec = BENCHMARKS[name]
            data = Path(args.data_root) / spec["folder"]
            if not data.is_dir():
                parser.error(f"{data} not found; pass --data-root or set RNN_SUITE_DATA")
            if args.limit:
                data = limited_copy(data, workdir, args.limit)
            # word vectors a preset learns are learnt afresh for each dataset, so their seconds count
            cache = workdir / "cache" / name
            shutil.rmtree(cache, ignore_errors=True)
            os.environ["RNN_SUITE_CACHE"] = str(cache)
            results = run_one(name, data, workdir, explicit, args.data_root)
            metric = spec["metric"]
            test, base = results["metrics"]["test"], results["baseline"]["test"]
            print(f"{spec['label']}: {test[metric]:.4f}   most-frequent-tag baseline {base[metric]:.4f}   "
                  f"(target >= {spec['target']}, goal {spec['goal']}; published: {spec['published']})")
            if metric == "f1":
                print(f"  precision {test['precision']:.4f} recall {test['recall']:.4f} token accuracy "
                      f"{test['accuracy']:.4f} (baseline P {base['precision']:.4f} R {base['recall']:.4f})")
            vectors_s = results["vectors_seconds"]
            total = results["fit_seconds"] + vectors_s
            vectors = f"word vectors learnt in {vectors_s:.0f} s + " if vectors_s else ""
            print(f"  {vectors}fit {results['fit_seconds']:.0f} s for {results['epochs_completed']} epochs "
                  f"({'under' if total < 1800 else 'OVER'} 30 min), "
                  f"{results['train_tokens_per_second']:.0f} training tokens/s, "
                  f"{results['train_samples_per_second']:.0f} sentences/s, {results['parameters']:,} parameters, "
                  f"torch threads {args.threads}", flush=True)
            figures.append(f"{name}_{'upos_acc' if name == 'ewt' else 'f1'}={test[metric]:.4f} "
                           f"{name}_baseline={base[metric]:.4f} {name}_fit_s={results['fit_seconds']:.0f}"
                           + (f" {name}_vectors_s={vectors_s:.0f}" if vectors_s else ""))
    if args.limit:
        print(f"(--limit {args.limit}: a check of the script, not the benchmark's figures)")
    print(" ".join(figures))
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))

#!/usr/bin/env python3
"""Class labels and probabilities from an exported sentiment run, as ``main.py --checkpoint RUN --predict``.

    python predict.py INPUT [--output FILE]

INPUT is a text, or a file of texts, one per line. Prints the label with each class's probability (for a
file, one line per text); --output FILE writes CSV for a .csv name (text, label, p_CLASS...) and the whole
answer as JSON otherwise.

Needs only numpy and onnxruntime (torch for a TorchScript export); reads the vocabulary and settings from
the folder it lies in, so the folder can be moved anywhere. Written by rnn-suite's --export (docs/EXPORT.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NETWORK = "classifier"
sys.path.insert(0, str(HERE))

# beside this file: the shared runtime, and the suite's text reading
from _runtime import (InputError, answer, load_session, output_path, parser, read_settings, run,  # noqa: E402
                      write_csv, write_json)
from textinput import Tokenizer, text_or_lines  # noqa: E402


class Classifier:
    def __init__(self, settings: dict):
        self.settings = settings
        self.tokenizer = Tokenizer(settings["tokenizer"])
        self.classes = settings["classes"]
        self.stoi = {token: i for i, token in enumerate(settings["vocab"])}
        self.session = load_session(HERE, NETWORK)

    def tokens(self, text: str) -> list[str]:
        tokens = self.tokenizer.tokenize(text, self.settings["lowercase"])
        if self.settings["drop_punctuation"]:
            tokens = [t for t in tokens if any(ch.isalnum() for ch in t)]
        return tokens

    def ids(self, tokens: list[str]) -> tuple[list[int], bool]:
        unk = self.settings["unk_index"]
        ids = [self.stoi.get(t, unk) for t in tokens]
        if self.settings["oov"] == "drop":
            ids = [i for i in ids if i != unk]
        limit, keep = self.settings["max_length"], self.settings["truncate"]
        cut = bool(limit) and len(ids) > limit
        if cut:
            if keep == "head":
                ids = ids[:limit]
            elif keep == "tail":
                ids = ids[-limit:]
            else:
                head = limit // 2
                ids = ids[:head] + ids[len(ids) - (limit - head):]
        return ids, cut

    def classify(self, texts: list[str], where: list[str]) -> list[dict]:
        encoded = []
        for text, place in zip(texts, where):
            tokens = self.tokens(text)
            if not tokens:
                raise InputError(f"{place}: the text has no words")
            ids, cut = self.ids(tokens)
            unknown = sum(1 for t in tokens if t not in self.stoi)
            encoded.append((ids or [self.settings["unk_index"]], len(tokens), unknown, cut))
        probs = np.empty((len(texts), len(self.classes)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i][0]))  # as the suite batches them
        size = self.settings["batch"]
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            lengths = np.array([len(encoded[i][0]) for i in chunk], dtype=np.int64)
            ids = np.zeros((len(chunk), int(lengths.max())), dtype=np.int64)
            for row, i in enumerate(chunk):
                ids[row, : lengths[row]] = encoded[i][0]
            probs[chunk] = self.session.run(["probabilities"], {"ids": ids, "lengths": lengths})[0]
        answers = []
        for i, text in enumerate(texts):
            _, n_tokens, unknown, cut = encoded[i]
            p = probs[i].tolist()
            best = max(range(len(p)), key=p.__getitem__)
            warning = None
            if cut:
                warning = (f"the text has {n_tokens} tokens; the model reads {self.settings['max_length']} "
                           f"({self.settings['truncate'].replace('_', '+')})")
            answers.append({"text": text, "label": self.classes[best],
                            "probabilities": {c: round(v, 4) for c, v in zip(self.classes, p)},
                            "tokens": n_tokens, "unknown_words": unknown, "warning": warning})
        return answers

    def predict(self, raw: str) -> dict:
        path, lines = text_or_lines(raw, "text")
        if path is None:
            return self.classify([raw], ["--predict"])[0]
        answers = self.classify([text for _, text in lines], [f"{path}, line {n}" for n, _ in lines])
        return {"source": str(path), "classes": self.classes, "predictions": answers}


def render(output: dict) -> str:
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


def save(output: dict, path: Path) -> None:
    if path.suffix.lower() != ".csv":
        return write_json(path, output)
    items = output.get("predictions") or [output]
    classes = list(items[0]["probabilities"])
    write_csv(path, ["text", "label"] + [f"p_{c}" for c in classes],
              ([item["text"], item["label"]] + [f"{item['probabilities'][c]:.4f}" for c in classes] for item in items))


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.split("\n\n")[0], "a text, or a file of texts (one per line)",
                  "write the answer: .csv as CSV, otherwise JSON").parse_args(argv)

    def work() -> None:
        out = output_path(args.output)
        output = Classifier(read_settings(HERE)).predict(args.input)
        if out is None:
            print(render(output))
        else:
            save(output, out)
            print(f"wrote {out}")

    return answer(work)


if __name__ == "__main__":
    run(main)

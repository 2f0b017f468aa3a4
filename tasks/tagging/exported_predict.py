#!/usr/bin/env python3
"""Tags from an exported tagging run, as ``main.py --checkpoint RUN --predict`` gives them.

    python predict.py INPUT [--output FILE]

INPUT is a sentence, or a file of sentences, one per line. Prints each token with its tag (and the entities,
for BIO/BIOES tag sets); --output FILE writes the answer as JSON. With a CRF the tags are the Viterbi path
over the network's tag scores and the exported transition scores; without one, each token's best tag.

Needs only numpy and onnxruntime (torch for a TorchScript export); reads the vocabularies and settings from
the folder it lies in, so the folder can be moved anywhere. Written by rnn-suite's --export (docs/EXPORT.md).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NETWORK = "tagger"
sys.path.insert(0, str(HERE))

# beside this file: the shared runtime, and the suite's text reading
from _runtime import InputError, answer, load_session, output_path, parser, read_settings, run, write_json  # noqa: E402
from textinput import Tokenizer, text_or_lines  # noqa: E402


# --- tokens ------------------------------------------------------------------------------------------
class SentenceSplitter:
    """tasks/tagging/tokens.py's split_sentence: @mentions, #hashtags, URLs kept whole, clitics split off."""

    def __init__(self, settings: dict):
        self.tokenizer = Tokenizer(settings)
        self.whole = re.compile(settings["whole"]["pattern"], settings["whole"]["flags"])
        self.clitic = re.compile(settings["clitic"]["pattern"], settings["clitic"]["flags"])

    def __call__(self, text: str) -> list[str]:
        tokens: list[str] = []
        for chunk in text.split():
            if self.whole.match(chunk):
                tokens.append(chunk)
                continue
            for token in self.tokenizer.tokenize(chunk):
                clitic = self.clitic.match(token)
                if clitic and clitic.group(1).isalpha():
                    tokens.extend([clitic.group(1), clitic.group(2)])
                else:
                    tokens.append(token)
        return tokens


def char_spans(text: str, tokens: list[str]) -> list[tuple[int, int] | None]:
    spans, cursor = [], 0
    for token in tokens:
        at = text.find(token, cursor)
        if at < 0:
            spans.append(None)
            continue
        spans.append((at, at + len(token)))
        cursor = at + len(token)
    return spans


# --- entity spans, with seqeval's conventions (tasks/tagging/schemes.py) -------------------------------
def split_tag(tag: str) -> tuple[str, str]:
    if tag == "O" or not tag:
        return "O", "_"
    prefix, _, kind = tag.partition("-")
    return prefix, (kind or "_")


def _end_of_chunk(prev_tag, tag, prev_type, type_) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _start_of_chunk(prev_tag, tag, prev_type, type_) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def entities(tags: list[str]) -> list[tuple[str, int, int]]:
    spans = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, type_ = split_tag(tag)
        if _end_of_chunk(prev_tag, prefix, prev_type, type_):
            spans.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, prefix, prev_type, type_):
            begin = i
        prev_tag, prev_type = prefix, type_
    return spans


# --- decoding -----------------------------------------------------------------------------------------
def viterbi(scores: np.ndarray, lengths: np.ndarray, start, trans, end) -> np.ndarray:
    """The best tag path per sentence (batch, time), as tasks/tagging/crf.py's decode: float32, padded
    steps carried through unchanged, 0 at padding."""
    batch, length, tags = scores.shape
    mask = np.arange(length)[None] < lengths[:, None]
    score = start[None] + scores[:, 0]
    identity = np.broadcast_to(np.arange(tags), (batch, tags))
    pointers = []
    for t in range(1, length):
        moves = score[:, :, None] + trans[None]  # (batch, from, to)
        arg = moves.argmax(axis=1)
        best = np.take_along_axis(moves, arg[:, None, :], axis=1)[:, 0]
        keep = mask[:, t, None]
        score = np.where(keep, best + scores[:, t], score)
        pointers.append(np.where(keep, arg, identity))
    path = [(score + end[None]).argmax(axis=1)]
    for ptr in reversed(pointers):
        path.append(np.take_along_axis(ptr, path[-1][:, None], axis=1)[:, 0])
    path.reverse()
    return np.where(mask, np.stack(path, axis=1), 0)


class Tagger:
    def __init__(self, settings: dict):
        self.settings = settings
        self.split = SentenceSplitter(settings["tokenizer"])
        self.words = {w: i for i, w in enumerate(settings["words"])}
        self.chars = {c: i for i, c in enumerate(settings["chars"])}
        self.tags = settings["tags"]
        crf = settings["crf"]
        self.crf = None if crf is None else tuple(np.asarray(crf[k], dtype=np.float32)
                                                   for k in ("start", "transitions", "end"))
        self.session = load_session(HERE, NETWORK)

    def clip(self, word: str) -> str:
        limit = self.settings["max_word_chars"]
        if len(word) <= limit:
            return word
        head = limit // 2
        return word[:head] + word[len(word) - (limit - head):]

    def batch(self, sentences: list[list[str]]) -> dict[str, np.ndarray]:
        """The arrays TaggedSentences.collate builds: word ids, and one row of character ids per distinct
        word form of the batch (in first-seen order here; the suite may order the rows otherwise, which
        changes nothing, as each row's features are computed on their own)."""
        unk, lower = self.settings["unk_index"], self.settings["lowercase"]
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        width = int(lengths.max())
        words = np.zeros((len(sentences), width), dtype=np.int64)
        form_numbers: dict[str, int] = {}
        numbered = []
        for row, tokens in enumerate(sentences):
            words[row, : len(tokens)] = [self.words.get(t.lower() if lower else t, unk) for t in tokens]
            numbered.append([form_numbers.setdefault(t, len(form_numbers)) for t in tokens])
        spelled = [self.clip(form) for form in form_numbers]  # in first-seen order, as the numbers are
        char_lengths = np.array([len(s) for s in spelled], dtype=np.int64)
        chars = np.zeros((len(spelled), int(char_lengths.max())), dtype=np.int64)
        for i, word in enumerate(spelled):
            chars[i, : len(word)] = [self.chars.get(ch, unk) for ch in word]
        forms = np.zeros_like(words)
        for row, numbers in enumerate(numbered):
            forms[row, : len(numbers)] = numbers
        return {"words": words, "chars": chars, "char_lengths": char_lengths, "forms": forms, "lengths": lengths}

    def tag(self, texts: list[str]) -> list[dict]:
        tokens = [self.split(t) for t in texts]
        empty = [i for i, t in enumerate(tokens) if not t]
        if empty:
            raise InputError(f"--predict: line {empty[0] + 1} has no words to tag")
        tag_rows: list[list[str]] = []
        size = self.settings["batch"]
        for start in range(0, len(tokens), size):
            scores = self.session.run(["scores"], self.batch(tokens[start:start + size]))[0]
            lengths = np.array([len(t) for t in tokens[start:start + size]])
            if self.crf is not None:
                ids = viterbi(scores.astype(np.float32), lengths, *self.crf)
            else:
                ids = np.where(np.arange(scores.shape[1])[None] < lengths[:, None], scores.argmax(axis=-1), 0)
            tag_rows += [[self.tags[j] for j in row[:n]] for row, n in zip(ids.tolist(), lengths.tolist())]
        out = []
        scheme = self.settings["scheme"]
        for text, toks, tag_row in zip(texts, tokens, tag_rows):
            spans = char_spans(text, toks)
            found = []
            if scheme != "none":
                for kind, first, last in entities(tag_row):
                    begin, end = spans[first], spans[last]
                    found.append({"type": kind, "text": " ".join(toks[first:last + 1]), "start": first,
                                  "end": last + 1, "char_start": begin[0] if begin else None,
                                  "char_end": end[1] if end else None})
            out.append({"text": text, "tokens": toks, "tags": tag_row, "entities": found, "scheme": scheme})
        return out

    def predict(self, raw: str) -> dict:
        path, lines = text_or_lines(raw, "sentence")
        if path is None:
            return self.tag([raw])[0]
        return {"sentences": self.tag([text for _, text in lines])}


def render_sentence(sentence: dict) -> str:
    width = max(len(t) for t in sentence["tokens"])
    lines = [f"{token.ljust(width)}  {tag}" for token, tag in zip(sentence["tokens"], sentence["tags"])]
    if sentence["scheme"] != "none":
        if sentence["entities"]:
            lines.append("entities:")
            for e in sentence["entities"]:
                first, last = e["start"] + 1, e["end"]
                where = f"token {first}" if first == last else f"tokens {first}-{last}"
                lines.append(f"  {e['type']}: {e['text']} ({where})")
        else:
            lines.append("entities: none")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.split("\n\n")[0], "a sentence, or a file of sentences (one per line)",
                  "write the answer as JSON").parse_args(argv)

    def work() -> None:
        out = output_path(args.output)
        output = Tagger(read_settings(HERE)).predict(args.input)
        if out is None:
            print("\n\n".join(render_sentence(s) for s in output.get("sentences", [output])))
        else:
            write_json(out, output)
            print(f"wrote {out}")

    return answer(work)


if __name__ == "__main__":
    run(main)

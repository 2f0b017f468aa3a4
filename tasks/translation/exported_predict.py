"""Translate a sentence with an exported translation model, as ``main.py --checkpoint RUN --predict TEXT``
does, with numpy, onnxruntime and the ``tokenizers`` library only (no torch, nothing of RNN Suite).

    python predict.py "Ein Hund rennt über die Wiese." [--output FILE] [--beam-size K]
                      [--length-penalty A] [--max-decode-ratio R]

It prints the translation; with ``--output FILE`` it writes the whole answer as JSON (source and target
pieces, attention, score, the beam) and prints ``wrote FILE``. Greedy and beam search follow the suite's
tasks/translation/decoding.py step for step: the same length limit (``ratio * source length + 10``), the
same length penalty, the same order among equal candidates as far as the float arithmetic allows.

The tokenizers are the ``tokenizers`` library's own JSON files (``pip install tokenizers``): the same code
that segmented the training data segments the input here, so pieces are identical, not re-implemented.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _runtime.py beside this file, wherever the folder was moved

from _runtime import InputError, answer, bounded, load_session, output_path, parser, read_settings, run, \
    write_json  # noqa: E402

NEG_INF = np.float32(-np.inf)


# --- the tokenizers ---------------------------------------------------------------------------------------
class Segmenter:
    """tasks/translation/segmenters.py's conversions over a tokenizer loaded from its JSON file."""

    def __init__(self, path: Path, unk_piece: str, special: dict):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise InputError("this translation predictor needs the tokenizers package (the segmentation the "
                               "model was trained with): pip install tokenizers") from None
        self.tokenizer = Tokenizer.from_file(str(path))
        self.unk_piece = unk_piece
        self.special = special

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def pieces(self, ids) -> list[str]:
        return [self.tokenizer.id_to_token(int(i)) or "<unk>" for i in ids]

    def decode(self, ids) -> str:
        s = self.special
        pieces = [self.unk_piece if int(i) == s["unk"] else self.tokenizer.id_to_token(int(i))
                  for i in ids if int(i) not in (s["pad"], s["bos"], s["eos"])]
        return self.tokenizer.decoder.decode([p for p in pieces if p is not None])


# --- the networks -----------------------------------------------------------------------------------------
class Model:
    def __init__(self, folder: Path, settings: dict):
        self.settings = settings
        self.encoder = load_session(folder, settings["networks"]["encoder"])
        self.step = load_session(folder, settings["networks"]["decoder_step"])
        self.states = settings["states"]
        self.feeding = settings["input_feeding"]
        self.attending = settings["attention"] != "none"
        self.inputs = settings["decoder_step_inputs"]
        self.outputs = settings["decoder_step_outputs"]

    def encode(self, src: np.ndarray, src_len: np.ndarray) -> dict:
        names = self.states + (["memory", "keys", "mask"] if self.attending else [])
        values = self.encoder.run(names, {"src": src, "src_len": src_len})
        enc = dict(zip(names, values))
        if not self.attending:  # what decoding.py keeps for attention "none": only the mask
            enc["mask"] = np.arange(src.shape[1])[None, :] < np.maximum(src_len, 1)[:, None]
        return enc

    def initial(self, enc: dict) -> dict:
        """The decoder's carried values: the state and (input feeding) the zero attentional vector."""
        carry = {name: enc[name] for name in self.states}
        if self.feeding:
            carry["feed"] = np.zeros((enc["mask"].shape[0], self.settings["feed_size"]), dtype=np.float32)
        return carry

    def decode_step(self, tokens: np.ndarray, carry: dict, enc: dict):
        """-> log-probabilities (N, V) float32, the new carried values, attention weights (N, S) or None."""
        feeds = {"tokens": tokens.astype(np.int64)}
        for name in self.inputs[1:]:
            feeds[name] = carry[name] if name in carry else enc[name]
        values = dict(zip(self.outputs, self.step.run(self.outputs, feeds)))
        new = {name: values[f"{name}_out"] for name in self.states}
        if self.feeding:
            new["feed"] = values["feed_out"]
        return values["log_probs"].astype(np.float32), new, values.get("attention")


def select(carry: dict, rows: np.ndarray, states: list[str]) -> dict:
    """The carried values of ``rows``: recurrent states are (layers, N, H), the attentional vector (N, E)."""
    return {name: (value[:, rows] if name in states else value[rows]) for name, value in carry.items()}


def select_encoded(enc: dict, rows: np.ndarray, states: list[str]) -> dict:
    return {name: (value[:, rows] if name in states else value[rows]) for name, value in enc.items()}


# --- decoding (tasks/translation/decoding.py) ---------------------------------------------------------------
class Hypothesis:
    def __init__(self, tokens, score, attention=None, normalised=0.0):
        self.tokens, self.score = tokens, score
        self.attention = attention if attention is not None else []
        self.normalised = normalised


def max_lengths(src_len: np.ndarray, ratio: float) -> np.ndarray:
    # float32, as PyTorch computes ``src_len.float() * ratio``: the limit's floor is then the same
    return np.floor(src_len.astype(np.float32) * np.float32(ratio)).astype(np.int64) + 10


def greedy(model: Model, src, src_len, ratio: float, eos: int, bos: int) -> list[Hypothesis]:
    enc = model.encode(src, src_len)
    batch = src.shape[0]
    limit = max_lengths(src_len, ratio)
    tokens = np.full(batch, bos, dtype=np.int64)
    carry = model.initial(enc)
    out = [Hypothesis([], 0.0) for _ in range(batch)]
    alive = np.ones(batch, dtype=bool)
    for t in range(int(limit.max())):
        logp, carry, weights = model.decode_step(tokens, carry, enc)
        tokens = logp.argmax(-1)  # the first of equal maxima, as torch.max on the CPU
        best = logp[np.arange(batch), tokens]
        for b in np.flatnonzero(alive).tolist():
            hyp = out[b]
            hyp.score += float(best[b])
            if weights is not None:
                hyp.attention.append(weights[b, : int(src_len[b])].tolist())
            if int(tokens[b]) == eos:
                alive[b] = False
            else:
                hyp.tokens.append(int(tokens[b]))
                if t + 1 >= int(limit[b]):
                    alive[b] = False
        if not alive.any():
            break
    for hyp in out:
        hyp.normalised = hyp.score
    return out


def topk(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest of each row, largest first, equal values in index order (torch.topk, sorted)."""
    order = np.argsort(-values, axis=-1, kind="stable")[:, :k]
    return np.take_along_axis(values, order, -1), order


def beam_search(model: Model, src, src_len, K: int, alpha: float, ratio: float, eos: int, bos: int,
                n_best: int) -> list[list[Hypothesis]]:
    states = model.states
    B = src.shape[0]
    enc = model.encode(src, src_len)
    flat = np.repeat(np.arange(B), K)
    enc = select_encoded(enc, flat, states)
    carry = model.initial(enc)
    limit = max_lengths(src_len, ratio).tolist()
    tokens = np.full(B * K, bos, dtype=np.int64)
    scores = np.zeros((B, K), dtype=np.float32)
    scores[:, 1:] = NEG_INF  # all beams start identical: expand only the first
    history = np.zeros((B * K, 0), dtype=np.int64)
    keep_attention = model.attending
    attn_hist = np.zeros((B * K, 0, src.shape[1]), dtype=np.float32) if keep_attention else None
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    for t in range(max(limit)):
        logp, carry, weights = model.decode_step(tokens, carry, enc)
        V = logp.shape[-1]
        cand = (scores.reshape(B * K, 1) + logp).reshape(B, K * V)
        top_scores, top_idx = topk(cand, 2 * K)
        from_beam, word = top_idx // V, top_idx % V
        attn_now = weights if keep_attention else None
        ended = np.argwhere((word[:, :K] == eos) & (top_scores[:, :K] > NEG_INF)).tolist()
        for b, j in ended:
            if done[b]:
                continue
            row = b * K + int(from_beam[b, j])
            finished[b].append(_hypothesis(history[row], float(top_scores[b, j]), t + 1, alpha, attn_hist,
                                           attn_now, row, int(src_len[b])))
        for b in {b for b, _ in ended}:
            if len(finished[b]) >= K:
                done[b] = True
        alive_scores = np.where(word == eos, NEG_INF, top_scores)
        keep_scores, keep = topk(alive_scores, K)
        rows = (np.arange(B)[:, None] * K + np.take_along_axis(from_beam, keep, 1)).reshape(-1)
        tokens = np.take_along_axis(word, keep, 1).reshape(-1)
        scores = keep_scores
        history = np.concatenate([history[rows], tokens[:, None]], axis=1)
        if attn_now is not None:
            attn_hist = np.concatenate([attn_hist[rows], attn_now[rows][:, None]], axis=1)
        carry = select(carry, rows, states)
        for b in range(B):
            if not done[b] and t + 1 >= limit[b]:  # out of length: the live beams end here
                for j in range(K):
                    if scores[b, j] > NEG_INF:
                        row = b * K + j
                        finished[b].append(_hypothesis(history[row], float(scores[b, j]), t + 1, alpha,
                                                       attn_hist, None, row, int(src_len[b]), ended=False))
                done[b] = True
        if all(done):
            break
    # Python's sort is stable, as the suite's: equal scores keep the order they ended in
    return [sorted(finished[b], key=lambda h: h.normalised, reverse=True)[:n_best] for b in range(B)]


def _hypothesis(history_row, score, length, alpha, attn_hist, attn_now, row, src_len, ended=True) -> Hypothesis:
    tokens = history_row[:length - 1].tolist() if ended else history_row.tolist()
    attention = []
    if attn_hist is not None:
        attention = attn_hist[row, :, :src_len].tolist()[: len(tokens)]
        if ended and attn_now is not None:
            attention.append(attn_now[row, :src_len].tolist())
    return Hypothesis(tokens, score, attention, score / (length ** alpha) if alpha else score)


# --- the answer (TranslationTask.predict) -------------------------------------------------------------------
def translate(folder: Path, settings: dict, text: str, beam_size: int, alpha: float, ratio: float) -> dict:
    text = text.strip()
    if not text:
        raise InputError("expected a sentence to translate, got empty text")
    special = settings["special_ids"]
    source = Segmenter(folder / settings["tokenizers"]["source"], "<unk>", special)
    target = Segmenter(folder / settings["tokenizers"]["target"], settings["unk_piece"], special)
    model = Model(folder, settings)
    ids = source.encode(text)[: settings["max_length"]] or [special["unk"]]
    src = np.array([ids], dtype=np.int64)
    src_len = np.array([len(ids)], dtype=np.int64)
    eos, bos = special["eos"], special["bos"]
    if beam_size > 1:
        ranked = beam_search(model, src, src_len, beam_size, alpha, ratio, eos, bos, n_best=beam_size)[0]
    else:
        ranked = greedy(model, src, src_len, ratio, eos, bos)
    best = ranked[0]
    result = {
        "translation": target.decode(best.tokens),
        "source_tokens": source.pieces(ids),
        "target_tokens": target.pieces(best.tokens),
        "attention": [[round(w, 5) for w in row] for row in best.attention[: len(best.tokens)]],
        "score": round(best.normalised, 4),
        "decoding": f"beam {beam_size}" if beam_size > 1 else "greedy",
        "unknown_source_tokens": sum(1 for i in ids if i == special["unk"]),
    }
    if beam_size > 1:
        result["beam"] = [{"translation": target.decode(h.tokens), "score": round(h.normalised, 4)}
                          for h in ranked]
    return result


def main(argv=None) -> int:
    settings = read_settings(HERE)
    bounds = settings["bounds"]
    cli = parser("Translate a sentence with this exported model, as --predict does.", "the sentence to translate",
                 "write the whole answer as JSON to FILE")
    cli.add_argument("--beam-size", type=bounded(int, *bounds["beam_size"]),
                     default=settings["beam_size"], help=f"beam width, 1: greedy (default {settings['beam_size']})")
    cli.add_argument("--length-penalty", type=bounded(float, *bounds["length_penalty"]),
                     default=settings["length_penalty"],
                     help=f"beam scores divided by length**alpha (default {settings['length_penalty']:g})")
    cli.add_argument("--max-decode-ratio", type=bounded(float, *bounds["max_decode_ratio"], low_open=True),
                     default=settings["max_decode_ratio"],
                     help=f"at most ratio * source length + 10 tokens (default {settings['max_decode_ratio']:g})")
    args = cli.parse_args(argv)

    def work() -> None:
        out = output_path(args.output)
        result = translate(HERE, settings, args.input, args.beam_size, args.length_penalty, args.max_decode_ratio)
        if out is None:
            print(result["translation"])
        else:
            write_json(out, result)
            print(f"wrote {out}")

    return answer(work)


if __name__ == "__main__":
    run(main)

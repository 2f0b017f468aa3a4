"""The encoder-decoder: a RecurrentBackbone encoder (packed), a bridge, and a one-layer recurrent decoder
with attention, input feeding and tied output embeddings as options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from suite.backbones import RecurrentBackbone, State
from suite.config import BackboneConfig, RunConfig
from suite.errors import ConfigError
from suite.task import TaskModule

from .attention import Attention
from .data import TranslationState
from .segmenters import PAD_ID


@dataclass
class Encoded:
    """What the decoder reads at every step, one row per sentence (or per beam)."""

    memory: torch.Tensor | None  # (N, S, D) encoder outputs
    keys: torch.Tensor | None  # attention keys projected once
    mask: torch.Tensor  # (N, S) true at real source tokens
    state: State  # the decoder's initial state

    def select(self, index: torch.Tensor) -> "Encoded":
        pick = (lambda t: None if t is None else t.index_select(0, index))  # noqa: E731
        return Encoded(pick(self.memory), pick(self.keys), self.mask.index_select(0, index),
                       select_state(self.state, index))


def select_state(state: State, index: torch.Tensor) -> State:
    if isinstance(state, tuple):
        return tuple(s.index_select(1, index) for s in state)
    return state.index_select(1, index)


def top_layer(backbone: RecurrentBackbone, t: torch.Tensor) -> torch.Tensor:
    """The top layer's final ``h`` (or ``c``) with both directions concatenated: ``(B, output_size)``."""
    return backbone.last_hidden(t)


class Seq2Seq(TaskModule):
    def __init__(self, cfg: RunConfig, state: TranslationState):
        super().__init__(cfg)
        opts, bb = cfg.options, cfg.backbone
        # the tokenizers travel in the datamodule's checkpoint state; the model keeps them for predict
        self.segmenters = state.segmenters
        source_vocab, target_vocab = (seg.size for seg in state.segmenters)
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        self.src_embed = nn.Embedding(source_vocab, opts.embedding, padding_idx=PAD_ID)
        self.encoder = RecurrentBackbone(opts.embedding, bb)
        memory_size = self.encoder.output_size
        hidden = opts.decoder_hidden
        self.attention_kind = opts.attention
        self.input_feeding = opts.input_feeding and opts.attention != "none"
        # the attentional vector (Luong's h~) is embedding-sized so that the output layer can be tied
        out_size = opts.embedding if opts.attention != "none" else hidden
        self.out_size = out_size
        dec_cfg = BackboneConfig(cell=bb.cell, hidden=hidden, layers=1, bidirectional=False, init=bb.init)
        self.decoder = RecurrentBackbone(opts.embedding + (out_size if self.input_feeding else 0), dec_cfg)
        self.tgt_embed = nn.Embedding(target_vocab, opts.embedding, padding_idx=PAD_ID)
        if opts.attention != "none":
            self.attention = Attention(opts.attention, hidden, memory_size, opts.embedding)
            self.combine = nn.Linear(memory_size + hidden, out_size, bias=False)
        self.bridge_kind = opts.bridge
        if opts.bridge == "copy" and memory_size != hidden:
            raise ConfigError("options.bridge (--bridge)", f"copy needs the encoder's final state size "
                                                           f"({memory_size}) to equal --decoder-hidden ({hidden})")
        if opts.bridge == "linear":
            self.bridge_h = nn.Linear(memory_size, hidden)
            if self.decoder.is_lstm:
                self.bridge_c = nn.Linear(memory_size, hidden)
        self.output = nn.Linear(out_size, target_vocab)
        if opts.tie_embeddings:
            if out_size != opts.embedding:
                raise ConfigError("options.tie_embeddings (--tie-embeddings)",
                                  f"needs --decoder-hidden ({hidden}) equal to --embedding ({opts.embedding}) "
                                  "when there is no attention")
            self.output.weight = self.tgt_embed.weight
        self.drop = nn.Dropout(opts.io_dropout)
        self.validation_outputs: list[tuple[int, list[int]]] = []
        self.test_outputs: dict[str, list[tuple[int, list[int]]]] = {}

    # --- encoder and bridge ---------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Encoded:
        src_len = src_len.clamp(min=1)
        memory, final = self.encoder(self.drop(self.src_embed(src)), src_len)
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < src_len.to(src.device)[:, None]
        batch = src.shape[0]
        if self.bridge_kind == "zero":
            state = self.decoder.initial_state(batch, src.device, memory.dtype)
        elif self.bridge_kind == "copy":
            state = (tuple(top_layer(self.encoder, s)[None] for s in final) if self.decoder.is_lstm
                     else top_layer(self.encoder, final)[None])
            if self.decoder.is_lstm != self.encoder.is_lstm:
                raise ConfigError("options.bridge (--bridge)", "copy needs the same cell in encoder and decoder")
        else:
            h_last = top_layer(self.encoder, final[0] if isinstance(final, tuple) else final)
            h = torch.tanh(self.bridge_h(h_last))[None].contiguous()
            if self.decoder.is_lstm:
                c_src = top_layer(self.encoder, final[1]) if isinstance(final, tuple) else h_last
                state = (h, torch.tanh(self.bridge_c(c_src))[None].contiguous())
            else:
                state = h
        if self.attention_kind == "none":
            return Encoded(None, None, mask, state)
        memory = self.drop(memory)
        return Encoded(memory, self.attention.keys(memory), mask, state)

    # --- decoder ---------------------------------------------------------------------------------------
    def attend(self, h: torch.Tensor, enc: Encoded) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decoder states ``(B, T, H)`` -> attentional vectors ``(B, T, out)`` and weights ``(B, T, S)``."""
        if self.attention_kind == "none":
            return h, None
        context, weights = self.attention(h, enc.keys, enc.memory, enc.mask)
        return torch.tanh(self.combine(torch.cat([context, h], dim=-1))), weights

    def decode_step(self, tokens: torch.Tensor, state: State, feed: torch.Tensor | None, enc: Encoded):
        """One step for ``(N,)`` previous tokens -> logits ``(N, V)``, state, attentional vector, weights."""
        x = self.drop(self.tgt_embed(tokens))[:, None]
        if self.input_feeding:
            x = torch.cat([x, feed[:, None]], dim=-1)
        h, state = self.decoder(x, state=state)
        out, weights = self.attend(h, enc)
        logits = self.output(self.drop(out))[:, 0]
        return logits, state, out[:, 0], None if weights is None else weights[:, 0]

    def initial_feed(self, enc: Encoded) -> torch.Tensor | None:
        if not self.input_feeding:
            return None
        return enc.mask.new_zeros((enc.mask.shape[0], self.out_size), dtype=torch.float32)

    def forward(self, src, src_len, tgt_in, tgt_in_len) -> torch.Tensor:
        """Training logits ``(B, T, V)`` for ``tgt_in`` (``<s> y1 .. yn``)."""
        enc = self.encode(src, src_len)
        ratio = self.cfg.options.teacher_forcing if self.training else 1.0
        if not self.input_feeding and ratio >= 1.0:
            # the whole target in one fused recurrent call, then attention for every step at once
            h, _ = self.decoder(self.drop(self.tgt_embed(tgt_in)), tgt_in_len.clamp(min=1), enc.state)
            out, _ = self.attend(h, enc)
            return self.output(self.drop(out))
        # input feeding or sampling the model's own tokens makes each step depend on the previous one
        state, feed, tokens = enc.state, self.initial_feed(enc), tgt_in[:, 0]
        steps = []
        for t in range(tgt_in.shape[1]):
            logits, state, feed, _ = self.decode_step(tokens, state, feed, enc)
            steps.append(logits)
            if t + 1 < tgt_in.shape[1]:
                tokens = tgt_in[:, t + 1]
                if ratio < 1.0:
                    own = logits.argmax(-1)
                    use_gold = torch.rand(tokens.shape, device=tokens.device) < ratio
                    tokens = torch.where(use_gold | (tokens == PAD_ID), tokens, own)
        return torch.stack(steps, dim=1)

    # --- training and evaluation -----------------------------------------------------------------------
    def loss(self, batch, smoothing: float) -> tuple[torch.Tensor, torch.Tensor, int]:
        src, src_len, tgt, tgt_len, _ = batch
        logits = self(src, src_len, tgt[:, :-1], tgt_len - 1)
        gold = tgt[:, 1:]
        flat, flat_gold = logits.reshape(-1, logits.shape[-1]), gold.reshape(-1)
        loss = F.cross_entropy(flat, flat_gold, ignore_index=PAD_ID, label_smoothing=smoothing)
        tokens = int((gold != PAD_ID).sum())
        with torch.no_grad():
            nll = F.cross_entropy(flat, flat_gold, ignore_index=PAD_ID) if smoothing else loss.detach()
        return loss, nll, tokens

    def step(self, batch, stage: str) -> torch.Tensor:
        smoothing = self.cfg.options.label_smoothing
        loss, nll, tokens = self.loss(batch, smoothing)
        size = len(batch[0])
        self.log(f"{stage}/loss", loss, batch_size=size, prog_bar=stage == "train", on_epoch=True,
                 on_step=stage == "train", sync_dist=stage != "train")  # under DDP: all ranks' mean
        if stage != "train":
            self.log(f"{stage}/nll", nll, batch_size=size, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        from .decoding import beam_search, greedy

        self.step(batch, "val")
        opts = self.cfg.options
        if opts.val_beam and opts.beam_size > 1:
            hyps = beam_search(self, batch[0], batch[1], opts.beam_size, opts.length_penalty, opts.max_decode_ratio)
        else:
            hyps = greedy(self, batch[0], batch[1], opts.max_decode_ratio)
        self.validation_outputs.extend(zip(batch[4].tolist(), [h.tokens for h in hyps]))

    def test_step(self, batch, batch_idx):
        from .decoding import beam_search, greedy

        self.step(batch, "test")
        opts = self.cfg.options
        index = batch[4].tolist()
        greedy_hyps = greedy(self, batch[0], batch[1], opts.max_decode_ratio)
        self.test_outputs.setdefault("greedy", []).extend(zip(index, [h.tokens for h in greedy_hyps]))
        if opts.beam_size > 1:
            beam = beam_search(self, batch[0], batch[1], opts.beam_size, opts.length_penalty, opts.max_decode_ratio)
            self.test_outputs.setdefault("beam", []).extend(zip(index, [h.tokens for h in beam]))

    def on_validation_epoch_start(self):
        self.validation_outputs = []

    def on_test_epoch_start(self):
        self.test_outputs = {}

    def on_validation_epoch_end(self):
        dataset = self.trainer.datamodule.val_set
        self.validation_outputs = self._whole_split(self.validation_outputs)
        scores = self._score(self.validation_outputs, dataset)
        self.log("val/bleu", scores["bleu"], prog_bar=True)
        self.log("val/chrf", scores["chrf"])

    def on_test_epoch_end(self):
        dataset = self.trainer.datamodule.test_set
        # kept whole: rank zero writes translations.tsv from them. Every rank gathers the same names in
        # the same order (a collective call each), whatever its own batches held.
        names = ["greedy", "beam"] if self.cfg.options.beam_size > 1 else ["greedy"]
        self.test_outputs = {name: self._whole_split(self.test_outputs.get(name, [])) for name in names}
        greedy_scores = self._score(self.test_outputs["greedy"], dataset)
        final = self._score(self.test_outputs["beam"], dataset) if "beam" in self.test_outputs else greedy_scores
        self.log("test/bleu", final["bleu"])
        self.log("test/chrf", final["chrf"])
        self.log("test/bleu_greedy", greedy_scores["bleu"])
        self.log("test/chrf_greedy", greedy_scores["chrf"])

    def _whole_split(self, outputs: list[tuple[int, list[int]]]) -> list[tuple[int, list[int]]]:
        """Every rank's ``(dataset index, tokens)`` pairs, once per example, in index order.

        Corpus BLEU and chrF are computed from n-gram counts summed over the whole split, so per-rank
        scores cannot be averaged into it: each rank gathers all the decoded sentences and scores the
        same list, and so logs the same figure (the best checkpoint and early stopping see it on every
        rank). Lightning's DistributedSampler repeats a few examples to give every rank as many; keyed
        by index, a repeat replaces its first copy, so the figure equals the single-process one.
        """
        import torch.distributed as dist

        rows = dict(outputs)
        if self.trainer.world_size > 1 and dist.is_available() and dist.is_initialized():
            # objects, not tensors: the sentences' lengths differ, and a split is a few thousand short lists
            parts: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(parts, outputs)
            rows = {}
            for part in parts:
                rows.update(part)
        return sorted(rows.items())

    def _score(self, outputs: list[tuple[int, list[int]]], dataset) -> dict[str, float]:
        """Corpus scores of the decoded sentences against their references (one pair per index)."""
        from .metrics import corpus_scores

        segmenter = self.segmenters[1]
        ordered = sorted(dict(outputs).items())
        return corpus_scores([segmenter.decode(ids) for _, ids in ordered],
                             [dataset.target_text[i] for i, _ in ordered])

    def describe(self) -> dict[str, Any]:
        return {"source_vocab": self.source_vocab, "target_vocab": self.target_vocab}

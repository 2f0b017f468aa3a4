"""The tagger: word embeddings and character features, a bidirectional recurrent encoder over the
shared RecurrentBackbone, per-token scores, and an optional CRF; and its LightningModule."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from suite.backbones import PackedRecurrence, PaddedRecurrence, RecurrentBackbone
from suite.config import BackboneConfig, RunConfig
from suite.task import TaskModule

from .crf import CRF
from .data import TagBatch, TaggingState
from .metrics import TaggingScores
from .schemes import allowed_transitions


class CharCNN(nn.Module):
    """Convolution over a word's characters, max-pooled over its real (unpadded) characters."""

    def __init__(self, num_chars: int, dim: int, features: int, kernel: int):
        super().__init__()
        self.embed = nn.Embedding(num_chars, dim, padding_idx=0)
        self.conv = nn.Conv1d(dim, features, kernel, padding=kernel // 2)
        self.output_size = features

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.embed(chars).transpose(1, 2))[:, :, : chars.shape[1]]  # (U, F, C)
        valid = torch.arange(chars.shape[1], device=chars.device)[None] < lengths.to(chars.device)[:, None]
        return x.masked_fill(~valid[:, None, :], float("-inf")).max(dim=2).values


class CharLSTM(nn.Module):
    """A bidirectional LSTM over a word's characters; its final states in both directions."""

    def __init__(self, num_chars: int, dim: int, features: int):
        super().__init__()
        self.embed = nn.Embedding(num_chars, dim, padding_idx=0)
        self.rnn = RecurrentBackbone(dim, BackboneConfig(cell="lstm", hidden=features // 2, bidirectional=True,
                                                         init="pytorch"))
        self.output_size = self.rnn.output_size

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _, state = self.rnn(self.embed(chars), lengths)
        return self.rnn.last_hidden(state)


class Tagger(nn.Module):
    def __init__(self, state: TaggingState, opts, backbone: BackboneConfig, pretrained: torch.Tensor | None = None,
                 word_counts: torch.Tensor | None = None):
        super().__init__()
        n_words, n_chars, tags = len(state.words), len(state.chars), state.tags
        # with a vector channel, ids past the training words have a fixed vector and no trainable row
        self.word_embed = nn.Embedding(state.trained_words or n_words, state.word_dim, padding_idx=0)
        self.vectors = None
        if state.vector_dim:
            table = pretrained if pretrained is not None else torch.zeros(n_words, state.vector_dim)
            self.vectors = nn.Embedding.from_pretrained(table, freeze=True, padding_idx=0)
        elif pretrained is not None:
            with torch.no_grad():
                self.word_embed.weight.copy_(pretrained)
            self.word_embed.weight.requires_grad_(not opts.freeze_embeddings)
        if opts.char_encoder == "cnn":
            self.chars = CharCNN(n_chars, opts.char_dim, opts.char_features, opts.char_kernel)
        elif opts.char_encoder == "lstm":
            self.chars = CharLSTM(n_chars, opts.char_dim, opts.char_features)
        else:
            self.chars = None
        features = state.word_dim + state.vector_dim + \
            (self.chars.output_size if self.chars is not None else 0)
        self.dropout = nn.Dropout(opts.feature_dropout)
        # only needed in training; a model loaded for prediction has no counts and needs none
        if word_counts is not None and opts.word_dropout > 0:
            chance = opts.word_dropout / (opts.word_dropout + word_counts)
            chance[:2] = 0.0  # <pad>, <unk>
            self.register_buffer("drop_chance", chance, persistent=False)
        else:
            self.drop_chance = None
        recurrence = PackedRecurrence if opts.packed else PaddedRecurrence  # equal outputs; padded is faster on CPU
        self.encoder = recurrence(features, backbone)
        self.head = nn.Linear(self.encoder.output_size, len(tags))
        self.aux_head = nn.Linear(self.encoder.output_size, len(state.aux_tags)) if state.aux_tags else None
        self.crf = CRF(len(tags), allowed_transitions(tags, state.scheme) if state.scheme != "none" else None) \
            if state.crf else None

    def forward(self, batch: TagBatch) -> torch.Tensor:
        """Per-token tag scores (B, T, K) over the batch's task's tags."""
        words = trained = batch.words
        if self.vectors is not None:
            trained = words.masked_fill(words >= self.word_embed.num_embeddings, 1)  # <unk>
        if self.training and self.drop_chance is not None:
            # a dropped word loses its vector too. Keeping the vector would mimic an unseen word that
            # has one, but scored 0.02 lower on WNUT-17 in each of three seeds: hiding the whole word
            # makes the model read the characters and the context, which is what unseen words have
            drop = torch.rand(words.shape, device=words.device) < self.drop_chance[trained]
            words, trained = words.masked_fill(drop, 1), trained.masked_fill(drop, 1)  # <unk>
        x = self.word_embed(trained)
        if self.vectors is not None:
            x = torch.cat([x, self.vectors(words)], dim=-1)
        if self.chars is not None:
            per_form = self.chars(batch.chars, batch.char_lengths)
            x = torch.cat([x, per_form[batch.forms]], dim=-1)
        out, _ = self.encoder(self.dropout(x), batch.lengths)
        return (self.aux_head if batch.task else self.head)(self.dropout(out))

    def mask(self, batch: TagBatch) -> torch.Tensor:
        t = batch.words.shape[1]
        return torch.arange(t, device=batch.words.device)[None] < batch.lengths.to(batch.words.device)[:, None]

    def loss(self, scores: torch.Tensor, batch: TagBatch) -> torch.Tensor:
        mask = self.mask(batch)
        if self.crf is not None and not batch.task:
            return self.crf.nll(scores, batch.tags, mask).mean()
        return F.cross_entropy(scores[mask], batch.tags[mask])

    def decode(self, scores: torch.Tensor, batch: TagBatch) -> torch.Tensor:
        mask = self.mask(batch)
        if self.crf is not None:
            return self.crf.decode(scores, mask)
        return scores.argmax(dim=-1).masked_fill(~mask, 0)


class TaggerEnsemble(nn.Module):
    """Taggers trained side by side on the same batches, each from its own initialisation and with its
    own dropout; each learns from its own loss. Decoding averages their tag scores and, with a CRF,
    their transition scores, so the ensemble decodes like one tagger."""

    def __init__(self, members: list[Tagger]):
        super().__init__()
        self.members = nn.ModuleList(members)

    @property
    def crf(self) -> CRF | None:
        return self.members[0].crf  # a property: registered here too, it would be saved twice

    def forward(self, batch: TagBatch) -> torch.Tensor:
        """Each member's tag scores: (members, B, T, K)."""
        return torch.stack([member(batch) for member in self.members])

    def loss(self, scores: torch.Tensor, batch: TagBatch) -> torch.Tensor:
        return torch.stack([m.loss(s, batch) for m, s in zip(self.members, scores)]).mean()

    def decode(self, scores: torch.Tensor, batch: TagBatch) -> torch.Tensor:
        mean = scores.mean(dim=0)
        if self.crf is None:
            return self.members[0].decode(mean, batch)
        parts = zip(*(m.crf.potentials() for m in self.members))
        return self.crf.decode(mean, self.members[0].mask(batch), tuple(torch.stack(p).mean(dim=0) for p in parts))


class TaggingModule(TaskModule):
    def __init__(self, cfg: RunConfig, state: TaggingState, pretrained: torch.Tensor | None = None,
                 word_counts: torch.Tensor | None = None):
        super().__init__(cfg)
        self.state = state
        members = [Tagger(state, cfg.options, cfg.backbone, pretrained, word_counts)
                   for _ in range(cfg.options.ensemble)]
        self.net = members[0] if len(members) == 1 else TaggerEnsemble(members)
        entity = state.scheme != "none"
        self.val_scores = TaggingScores(state.tags, entity, with_report=True)
        self.test_scores = TaggingScores(state.tags, entity, with_report=True)
        self.reports: dict[str, dict[str, dict[str, float]]] = {}  # the latest per-tag report per stage

    def forward(self, batch: TagBatch) -> torch.Tensor:
        return self.net(batch)

    def predict_ids(self, batch: TagBatch) -> torch.Tensor:
        return self.net.decode(self.net(batch), batch)

    def step(self, batch: TagBatch, stage: str) -> torch.Tensor:
        scores = self.net(batch)
        loss = self.net.loss(scores, batch)
        if batch.task:  # an auxiliary batch (training only)
            self.log("train/aux_loss", loss, batch_size=len(batch.lengths), on_step=True, on_epoch=False)
            return loss * self.cfg.options.aux_weight
        self.log(f"{stage}/loss", loss, prog_bar=stage == "train", batch_size=len(batch.lengths),
                 on_step=stage == "train", on_epoch=stage != "train", sync_dist=stage != "train")
        if stage != "train":
            predicted = self.net.decode(scores, batch)
            (self.val_scores if stage == "val" else self.test_scores).update(predicted, batch.tags, batch.lengths)
        return loss

    def _log_scores(self, stage: str, scores: TaggingScores) -> None:
        values = scores.compute()
        if stage == "val" and self.trainer.state.fn == "fit":  # per-tag F1 curves would crowd the plots
            values = {k: v for k, v in values.items() if not k.startswith("f1/")}
        self.log_dict({f"{stage}/{k}": v.float() for k, v in values.items()})
        self.reports[stage] = scores.last_report
        scores.reset()

    def on_validation_epoch_end(self):
        self._log_scores("val", self.val_scores)

    def on_test_epoch_end(self):
        self._log_scores("test", self.test_scores)

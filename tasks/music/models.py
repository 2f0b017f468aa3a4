"""The recurrent language model over frames (Bernoulli or NADE output) or melody events (softmax)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from suite.backbones import RecurrentBackbone
from suite.config import RunConfig
from suite.task import TaskModule

from .data import MusicState
from .encoding import START, VOCAB
from .metrics import FrameAccuracy
from .nade import NADE
from .rolls import KEYS

EVENT_EMBEDDING = 64


class MusicModule(TaskModule):
    """Reads step t-1 (nothing before the first step) and gives the distribution of step t."""

    def __init__(self, cfg: RunConfig, state: MusicState):
        super().__init__(cfg)
        opts = cfg.options
        self.state = state
        self.events = state.representation == "events"
        if self.events:
            self.embed = nn.Embedding(VOCAB + 1, EVENT_EMBEDDING)
            input_size = EVENT_EMBEDDING
        else:
            input_size = KEYS
        self.input_dropout = nn.Dropout(opts.input_dropout)
        self.rnn = RecurrentBackbone(input_size, cfg.backbone)
        self.head_dropout = nn.Dropout(opts.head_dropout)
        size = self.rnn.output_size
        self.nade = None
        if self.events:
            self.head = nn.Linear(size, VOCAB)
        elif opts.distribution == "nade":
            self.nade = NADE(size, KEYS, opts.nade_hidden)
        else:
            self.head = nn.Linear(size, KEYS)
        self.val_accuracy, self.test_accuracy = FrameAccuracy(), FrameAccuracy()

    # --- the network ------------------------------------------------------------------------------
    def contexts(self, inputs: torch.Tensor, lengths: torch.Tensor | None = None, state=None):
        x = self.embed(inputs) if self.events else inputs
        out, state = self.rnn(self.input_dropout(x), lengths, state)
        return self.head_dropout(out), state

    def log_prob(self, context: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(step | context) per step: ``context`` (n, size), ``targets`` frames (n, 88) or tokens (n,)."""
        if self.events:
            return -F.cross_entropy(self.head(context), targets, reduction="none")
        if self.nade is not None:
            return self.nade.log_prob(context, targets)
        return -F.binary_cross_entropy_with_logits(self.head(context), targets, reduction="none").sum(-1)

    @torch.no_grad()
    def draw(self, context: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None,
             greedy: bool = False) -> torch.Tensor:
        """One step for each row of ``context`` (n, size): a frame (n, 88) or a token (n,)."""
        if self.events:
            logits = self.head(context)
            if greedy:
                return logits.argmax(-1)
            return torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator)[:, 0]
        if self.nade is not None:
            return self.nade.sample(context, temperature, generator, greedy)
        logits = self.head(context)
        if greedy:
            return (logits > 0).to(context.dtype)
        return torch.bernoulli(torch.sigmoid(logits / temperature), generator=generator)

    # --- training and evaluation ------------------------------------------------------------------
    def step(self, batch, stage: str) -> torch.Tensor:
        inputs, targets, lengths = batch
        context, _ = self.contexts(inputs, lengths)
        mask = torch.arange(inputs.shape[1], device=inputs.device)[None, :] < lengths.to(inputs.device)[:, None]
        context, targets = context[mask], targets[mask]  # padding never reaches the output layer
        loss = -self.log_prob(context, targets).mean()
        steps = int(mask.sum())
        # weighted by steps, Lightning's epoch mean is the benchmark's mean over all time steps
        self.log(f"{stage}/nll", loss, batch_size=steps, prog_bar=True, sync_dist=stage != "train")
        if stage != "train":
            guess = self.draw(context, greedy=True)
            if self.events:
                self.log(f"{stage}/accuracy", (guess == targets).float().mean(), batch_size=steps,
                         sync_dist=True)
            else:
                metric = self.val_accuracy if stage == "val" else self.test_accuracy
                metric.update(guess, targets)
                self.log(f"{stage}/accuracy", metric, on_epoch=True)
        return loss

    def start_input(self, n: int) -> torch.Tensor:
        """What the network reads before a piece's first step."""
        device = next(self.parameters()).device
        if self.events:
            return torch.full((n, 1), START, dtype=torch.long, device=device)
        return torch.zeros(n, 1, KEYS, device=device)

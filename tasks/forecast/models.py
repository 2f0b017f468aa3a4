"""Forecasting networks over the shared RecurrentBackbone, and their LightningModule."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from suite.backbones import RecurrentBackbone, glorot_linear_
from suite.config import BackboneConfig, RunConfig
from suite.task import TaskModule

from .metrics import ForecastErrors

if TYPE_CHECKING:
    from .data import ForecastState

LOSSES = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.smooth_l1_loss}


class SequenceForecaster(nn.Module):
    """One recurrent step per time step; the last state feeds a linear head (the seed's model)."""

    def __init__(self, inputs: int, targets: int, horizon: int, backbone: BackboneConfig, head_dropout: float):
        super().__init__()
        self.targets, self.horizon = targets, horizon
        self.backbone = RecurrentBackbone(inputs, backbone)
        self.dropout = nn.Dropout(head_dropout)
        self.head = nn.Linear(self.backbone.output_size, horizon * targets)
        if backbone.init == "keras":
            glorot_linear_(self.head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.backbone(x)
        out = self.head(self.dropout(self.backbone.last_hidden(state)))
        return out.view(x.shape[0], self.horizon, self.targets)


class SegmentForecaster(nn.Module):
    """Segment-wise recurrence with parallel multi-step decoding (after SegRNN, Lin et al. 2023).

    The lookback window is cut into segments of ``segment`` steps, each embedded by a linear layer,
    so the recurrence runs lookback/segment steps instead of lookback. Every output segment is then
    decoded in parallel by one recurrent step from the encoder's final state, its input a learned
    position embedding (plus a channel embedding when channels are independent).
    With ``channel_independent`` every target column is a separate sequence through shared weights,
    seeing its own history and the covariates.
    """

    def __init__(self, targets: int, covariates: int, lookback: int, horizon: int, segment: int,
                 backbone: BackboneConfig, head_dropout: float, channel_independent: bool):
        super().__init__()
        self.targets, self.covariates = targets, covariates
        self.lookback, self.horizon, self.segment = lookback, horizon, segment
        self.channel_independent = channel_independent
        self.in_segments = math.ceil(lookback / segment)
        self.out_segments = math.ceil(horizon / segment)
        d = backbone.hidden
        per_segment = segment * (1 + covariates if channel_independent else targets + covariates)
        self.embed = nn.Sequential(nn.Linear(per_segment, d), nn.ReLU())
        self.encoder = RecurrentBackbone(d, backbone)
        if backbone.bidirectional:  # decoding runs forward in time from both directions' summary
            self.decoder = RecurrentBackbone(d, dataclasses.replace(backbone, bidirectional=False,
                                                                    hidden=2 * d))
        else:  # as SegRNN: the encoder's own recurrence continues into the future
            self.decoder = self.encoder
        if channel_independent:
            self.position = nn.Parameter(torch.randn(self.out_segments, d - d // 2) * 0.02)
            self.channel = nn.Parameter(torch.randn(targets, d // 2) * 0.02)
        else:
            self.position = nn.Parameter(torch.randn(self.out_segments, d) * 0.02)
        self.dropout = nn.Dropout(head_dropout)
        out_per_segment = segment if channel_independent else segment * targets
        self.head = nn.Linear(self.decoder.output_size, out_per_segment)

    def _segments(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, C) -> (B', n, features) segment inputs."""
        pad = self.in_segments * self.segment - x.shape[1]
        if pad:  # repeat the first value so every segment is full
            x = torch.cat([x[:, :1].expand(-1, pad, -1), x], dim=1)
        b, length, _ = x.shape
        if not self.channel_independent:
            return x.reshape(b, self.in_segments, -1)
        own = x[..., : self.targets].permute(0, 2, 1)  # (B, T, L)
        own = own.reshape(b * self.targets, self.in_segments, self.segment)
        if not self.covariates:
            return own
        cov = x[..., self.targets:].reshape(b, self.in_segments, self.segment * self.covariates)
        cov = cov.repeat_interleave(self.targets, dim=0)
        return torch.cat([own, cov], dim=-1)

    def _decoder_state(self, state):
        if self.decoder is self.encoder:
            return state
        def merge(h):  # (layers*2, B, d) -> (layers, B, 2d)
            layers = h.shape[0] // 2
            return h.view(layers, 2, h.shape[1], h.shape[2]).permute(0, 2, 1, 3).reshape(layers, h.shape[1], -1)
        return tuple(merge(h) for h in state) if isinstance(state, tuple) else merge(state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        _, state = self.encoder(self.embed(self._segments(x)))
        state = self._decoder_state(state)
        m = self.out_segments
        rows = state[0].shape[1] if isinstance(state, tuple) else state.shape[1]  # B or B*T
        if self.channel_independent:
            queries = torch.cat([
                self.position.unsqueeze(0).expand(self.targets, -1, -1),
                self.channel.unsqueeze(1).expand(-1, m, -1),
            ], dim=-1)  # (T, M, d)
            queries = queries.unsqueeze(0).expand(b, -1, -1, -1).reshape(rows * m, 1, -1)
        else:
            queries = self.position.unsqueeze(0).expand(b, -1, -1).reshape(rows * m, 1, -1)
        repeat = (lambda h: h.repeat_interleave(m, dim=1))
        state = tuple(repeat(h) for h in state) if isinstance(state, tuple) else repeat(state)
        out, _ = self.decoder(queries, state=state)
        out = self.head(self.dropout(out[:, 0]))  # (rows*M, segment[*T])
        if self.channel_independent:
            out = out.view(b, self.targets, m * self.segment)[..., : self.horizon].transpose(1, 2)
        else:
            out = out.view(b, m, self.segment, self.targets).reshape(b, m * self.segment, self.targets)
            out = out[:, : self.horizon]
        return out


class ForecastModule(TaskModule):
    """Windows in, multi-step forecasts out, all in the scaled space; metrics also in original units."""

    def __init__(self, cfg: RunConfig, state: ForecastState):
        super().__init__(cfg)
        opts = cfg.options
        self.state = state
        targets, covariates = len(state.targets), len(state.covariates)
        if opts.model == "segment":
            self.net = SegmentForecaster(targets, covariates, opts.lookback, opts.horizon, opts.segment,
                                         cfg.backbone, opts.head_dropout, opts.channel_independent)
        else:
            self.net = SequenceForecaster(targets + covariates, targets, opts.horizon, cfg.backbone,
                                          opts.head_dropout)
        self.window_norm = opts.window_norm
        self.targets = targets
        self.loss_fn = LOSSES[opts.loss]
        self.val_errors = ForecastErrors(state.mean, state.std, state.mase_scale)
        self.test_errors = ForecastErrors(state.mean, state.std, state.mase_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.window_norm == "none":
            return self.net(x)
        ref = x[:, -1:, :] if self.window_norm == "last" else x.mean(dim=1, keepdim=True)
        return self.net(x - ref) + ref[..., : self.targets]

    def step(self, batch, stage: str) -> torch.Tensor:
        x, y, _ = batch
        pred = self(x)
        loss = self.loss_fn(pred, y)
        self.log(f"{stage}/loss", loss, prog_bar=stage == "train", batch_size=x.shape[0],
                 on_step=stage == "train", on_epoch=stage != "train", sync_dist=stage != "train")
        if stage != "train":
            (self.val_errors if stage == "val" else self.test_errors).update(pred, y)
        return loss

    def _log_errors(self, stage: str, errors: ForecastErrors) -> None:
        self.log_dict({f"{stage}/{k}": v.float() for k, v in errors.compute().items()})
        errors.reset()

    def on_validation_epoch_end(self):
        self._log_errors("val", self.val_errors)

    def on_test_epoch_end(self):
        self._log_errors("test", self.test_errors)

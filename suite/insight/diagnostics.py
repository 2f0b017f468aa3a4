"""The training diagnostics callback (``--diagnostics``, on by default; docs/INSIGHT.md).

Every step, cheaply: the total gradient norm before clipping (Lightning calls ``on_before_optimizer_step``
before it clips), whether clipping acted (the norm above ``--grad-clip``), and the training loss, all kept
on the device until a record or an epoch's end reads them (no synchronisation per step on a GPU).

Every ``--diagnostics-every`` steps, on that step's batch before it trains (and once more after the last
step, on the last batch): one diagnostic pass (:func:`suite.insight.probe.gradient_pass`) for the curve
``||dL/dh_t||`` and the gates; the gradient norm per parameter group; and, after the optimiser step, the
update-to-weight ratio ``||w_after - w_before|| / ||w_before||`` per group.

Only rank zero records. The history goes to ``diagnostics.jsonl`` as it is made (:mod:`.store`); the
verdicts are judged over it when the run ends (:mod:`.verdicts`) and summarised in results.json.
"""

from __future__ import annotations

import functools
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from ..events import GracefulStop
from ..interrupts import Interrupted
from .probe import backbone_names, gradient_pass
from ..atomic import dumps_strict, write_text_atomic
from ..errors import UserError
from .store import FILE_NAME, VERSION, DiagnosticsWriter, read_diagnostics
from .verdicts import judge

_LAYER_SUFFIX = re.compile(r"_l(\d+)(_reverse)?$")
_NUMBERS = re.compile(r"[-+]?\d[\d.e+-]*")


def parameter_groups(module: nn.Module) -> tuple[list[nn.Parameter], list[str]]:
    """The trainable parameters and each one's group: the module that owns it, and for a recurrent layer
    its layer and direction, named as the diagnostic pass names layers (``net.backbone.l0.reverse``)."""
    names = backbone_names(module)
    fused = {id(sub.rnn): names[id(sub)] for sub in module.modules()
             if id(sub) in names and isinstance(getattr(sub, "rnn", None), nn.RNNBase)}
    params, groups = [], []
    for name, param in module.named_parameters():
        if not param.requires_grad:
            continue
        owner, _, leaf = name.rpartition(".")
        sub = module.get_submodule(owner) if owner else module
        group = owner or type(module).__name__
        match = _LAYER_SUFFIX.search(leaf)
        if isinstance(sub, nn.RNNBase) and match:
            base, own_layers = fused.get(id(sub), (owner, True))
            group = f"{base}.l{match[1]}" + (".reverse" if match[2] else "") if own_layers else base
        params.append(param)
        groups.append(group)
    return params, groups


def _timed(hook):
    """A hook whose wall time is added to the callback's ``seconds`` (what the diagnostics cost the run)."""
    @functools.wraps(hook)
    def timed(self, *args, **kwargs):
        if not self._active:
            return None
        started = time.perf_counter()
        try:
            return hook(self, *args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started
    return timed


def _stats(values: list[float]) -> dict[str, float | None]:
    finite = [v for v in values if v == v and abs(v) != float("inf")]
    if not finite:
        return {"median": None, "max": None}
    return {"median": float(f"{statistics.median(finite):.4g}"), "max": float(f"{max(finite):.4g}")}


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")


class TrainingDiagnostics(L.Callback):
    def __init__(self, every: int, run_dir: Path | None, *, grad_clip: float = 0.0, stream=None,
                 precision: str = "32"):
        self.every = every
        self.path = Path(run_dir) / FILE_NAME if run_dir is not None else None
        self.grad_clip = grad_clip
        self.stream = stream
        #: float16 mixed precision: the gradient scaler skips steps whose gradients overflow, by design
        self.scaled = precision.startswith("16")
        self.records: list[dict[str, Any]] = []
        self.epochs: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.verdicts: list[dict[str, Any]] = []
        self.monitor: str | None = None
        self.mode = "min"
        self._writer: DiagnosticsWriter | None = None
        self._write_failed = False
        #: wall seconds spent in the diagnostics' hooks (passes included), and in the pass after the last step
        #: alone (which comes after the training epochs that results.json's train_seconds times)
        self.seconds = 0.0
        self.final_seconds = 0.0
        self._active = False
        self._params: list[nn.Parameter] = []
        self._groups: list[str] = []
        self._pass_step: int | None = None
        self._pass = None
        self._pass_broken = False
        self._snapshot: list[torch.Tensor] | None = None
        self._sampled: dict[str, Any] | None = None
        self._interval: list[tuple[torch.Tensor, int]] = []
        self._epoch_norms: list[torch.Tensor] = []
        self._epoch_losses: list[torch.Tensor] = []
        self._val: dict[int, float] = {}
        self._last_batch = None
        self._last_epoch = 0

    # --- set-up -------------------------------------------------------------------------------------------
    def on_train_start(self, trainer, pl_module):
        self._active = trainer.is_global_zero
        if not self._active:
            return
        best = trainer.checkpoint_callback
        self.monitor = getattr(best, "monitor", None)
        self.mode = getattr(best, "mode", "min")
        self._params, self._groups = parameter_groups(pl_module)
        if self.path is not None:
            if self.path.exists():  # a resumed run: its history up to the checkpoint it resumes from
                self._restore(trainer.global_step)
        self._write({"kind": "start", "step": trainer.global_step, "epoch": trainer.current_epoch,
                     "every": self.every, "grad_clip": self.grad_clip, "version": VERSION})

    def _restore(self, step: int) -> None:
        try:
            lines = read_diagnostics(self.path)
        except Exception as exc:  # a damaged file must not stop a resume: start the history again
            self._note(f"the earlier diagnostics could not be read ({exc}); the history restarts here")
            self.path.unlink(missing_ok=True)
            return
        kept = [line for line in lines if line["kind"] in ("start", "record", "epoch", "note")
                and (not isinstance(line.get("step"), int) or line["step"] <= step)]
        self.records = [line for line in kept if line["kind"] == "record"]
        self.epochs = [line for line in kept if line["kind"] == "epoch"]
        self.notes = [line["message"] for line in kept if line["kind"] == "note" and isinstance(line.get("message"), str)]
        try:
            write_text_atomic(self.path, "".join(dumps_strict(line) + "\n" for line in kept))
        except (OSError, UserError) as exc:  # the training matters more than its diagnostics
            self._write_failed = True
            print(f"warning: {self.path}: training diagnostics are not recorded ({exc})", file=sys.stderr)

    def _write(self, line: dict[str, Any]) -> None:
        if self._writer is None and self.path is not None and not self._write_failed:
            self._writer = DiagnosticsWriter(self.path)  # (re)opened: fit's teardown closed it before the results
        if self._writer is not None:
            self._writer.write(line)
            self._write_failed = self._writer.failed

    def _note(self, message: str) -> None:
        said = {_NUMBERS.sub("#", note) for note in self.notes}
        if _NUMBERS.sub("#", message) in said:  # the same problem at another pass, with other figures
            return
        self.notes.append(message)
        print(f"diagnostics: {message}", file=sys.stderr)
        self._write({"kind": "note", "message": message})

    # --- every step ---------------------------------------------------------------------------------------
    @_timed
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if not self._active:
            return
        self._last_batch, self._last_epoch = batch, trainer.current_epoch
        step = trainer.global_step
        if step % self.every == 0 and self._pass_step != step:
            self._pass_step = step
            self._pass = self._diagnose(pl_module, batch)
            self._sampled = {}

    def _diagnose(self, pl_module, batch):
        if self._pass_broken:
            return None
        try:
            result = gradient_pass(pl_module, batch)
        except NotImplementedError as exc:
            self._pass_broken = True
            self._note(f"no per-step gradient curve for this task: {exc}")
            return None
        except Exception as exc:  # a diagnostic must never end a training run
            self._pass_broken = True
            self._note(f"the diagnostic pass failed ({type(exc).__name__}: {exc}); no more per-step curves")
            return None
        for problem in result.problems:
            self._note(problem)
        return result

    @_timed
    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        if not self._active:
            return
        grads = [p.grad for p in self._params]
        present = [g for g in grads if g is not None]
        if not present:
            return
        norms = torch._foreach_norm(present)
        total = torch.linalg.vector_norm(torch.stack(norms).float())
        self._interval.append((total.detach(), trainer.global_step))
        self._epoch_norms.append(total.detach())
        if self._sampled is not None and trainer.global_step == self._pass_step:
            squares: dict[str, float] = {}
            values = iter(torch.stack(norms).float().tolist())
            for g, group in zip(grads, self._groups):
                if g is not None:
                    squares[group] = squares.get(group, 0.0) + next(values) ** 2
            self._sampled["grad_norm"] = float(total)
            self._sampled["group_norms"] = {k: v ** 0.5 for k, v in squares.items()}
            self._snapshot = [p.detach().clone() for p in self._params]

    @_timed
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if not self._active:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):
            self._epoch_losses.append(loss.detach().float().reshape(()))
        if self._sampled is not None and self._pass_step == trainer.global_step - 1:
            self._record(trainer, self._pass_step, loss)

    def _record(self, trainer, step: int, loss, final: bool = False) -> None:
        sampled, self._sampled = self._sampled or {}, None
        # after the last epoch Lightning has already counted the next one
        epoch = self._last_epoch if final else trainer.current_epoch
        record: dict[str, Any] = {"kind": "record", "step": step, "epoch": epoch}
        if final:
            record["final"] = True
        if self._pass is not None:
            record["loss"] = _round(self._pass.loss)
        elif isinstance(loss, torch.Tensor):
            record["loss"] = _round(float(loss.detach()))
        if "grad_norm" in sampled:
            record["grad_norm"] = _round(sampled["grad_norm"])
        if self._interval:
            norms = torch.stack([n for n, _ in self._interval]).tolist()
            record["interval"] = {"steps": len(norms), **_stats(norms),
                                  "clipped": sum(v > self.grad_clip for v in norms) if self.grad_clip else None,
                                  "nonfinite": sum(not (v == v and abs(v) != float("inf")) for v in norms)}
            self._interval = []
        if self._snapshot is not None:
            record["groups"], record["update_ratio"] = self._updates(sampled.get("group_norms", {}))
            self._snapshot = None
        if self._pass is not None:
            record["layers"] = self._pass.layers
        self._pass = None
        self.records.append(record)
        self._write(record)
        if self.stream is not None:
            self.stream.emit("diagnostics", step=step, epoch=epoch,
                             grad_norm=record.get("grad_norm"), update_ratio=record.get("update_ratio"),
                             gradient_ratio={k: v.get("gradient_ratio") for k, v in record.get("layers", {}).items()})

    def _updates(self, group_norms: dict[str, float]) -> tuple[dict[str, dict[str, float | None]], float | None]:
        """Per group: gradient norm and update-to-weight ratio of the sampled step; and the whole model's ratio."""
        with torch.no_grad():
            after = [p.detach() for p in self._params]
            deltas = torch.stack(torch._foreach_norm(torch._foreach_sub(after, self._snapshot))).double().tolist()
            weights = torch.stack(torch._foreach_norm(self._snapshot)).double().tolist()
        moved: dict[str, float] = {}
        size: dict[str, float] = {}
        for delta, weight, group in zip(deltas, weights, self._groups):
            moved[group] = moved.get(group, 0.0) + delta ** 2
            size[group] = size.get(group, 0.0) + weight ** 2
        groups = {g: {"grad_norm": _round(group_norms.get(g)),
                      "update_ratio": _round((moved[g] / size[g]) ** 0.5) if size[g] > 0 else None}
                  for g in moved}
        total_size = sum(size.values())
        total = _round((sum(moved.values()) / total_size) ** 0.5) if total_size > 0 else None
        return groups, total

    # --- every epoch --------------------------------------------------------------------------------------
    def on_validation_end(self, trainer, pl_module):
        if not self._active or trainer.sanity_checking or trainer.state.fn != "fit" or not self.monitor:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None:
            self._val[trainer.current_epoch] = float(value)

    @_timed
    def on_train_epoch_end(self, trainer, pl_module):
        if not self._active:
            return
        epoch = trainer.current_epoch
        losses = torch.stack(self._epoch_losses).tolist() if self._epoch_losses else []
        norms = torch.stack(self._epoch_norms).tolist() if self._epoch_norms else []
        self._epoch_losses, self._epoch_norms = [], []
        finite = [v for v in losses if v == v and abs(v) != float("inf")]
        line = {"kind": "epoch", "epoch": epoch, "step": trainer.global_step,
                "train_loss": _round(sum(finite) / len(finite)) if finite and len(finite) == len(losses) else None,
                "val": _round(self._val.get(epoch)), "grad_norm": _stats(norms),
                "clipped": sum(v > self.grad_clip for v in norms) if self.grad_clip else None,
                "steps": len(norms),
                "nonfinite_grads": sum(not (v == v and abs(v) != float("inf")) for v in norms),
                "nonfinite_losses": len(losses) - len(finite)}
        self.epochs.append(line)
        self._write(line)

    # --- the end ------------------------------------------------------------------------------------------
    @_timed
    def on_train_end(self, trainer, pl_module):
        if not self._active:
            return
        last = trainer.global_step - 1
        if any(isinstance(cb, GracefulStop) and cb.interrupted for cb in trainer.callbacks):
            return  # a signal: the run saves and ends at once (a scheduler is waiting), no extra pass
        if self._last_batch is not None and last >= 0 and (not self.records or self.records[-1]["step"] < last):
            started = time.perf_counter()
            self._pass = self._diagnose(pl_module, self._last_batch)
            self.final_seconds = time.perf_counter() - started
            if self._pass is not None:
                self._sampled = {}
                self._record(trainer, last, None, final=True)
        self._last_batch = None

    def on_exception(self, trainer, pl_module, exception):
        """A run that ends in an error (a diverged loss) still leaves its verdicts, in the file and as events
        (not on stderr: a failed run says one line, its error)."""
        if not self._active or isinstance(exception, (KeyboardInterrupt, Interrupted)):
            return
        if self._epoch_norms or self._epoch_losses:  # the epoch the error ended, as far as it went
            self.on_train_epoch_end(trainer, pl_module)
        self.finish()

    def finish(self, baseline: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Judge the whole history (``baseline``: results.json's, for the underfitting rules), write the
        verdicts and emit them; returns them. Once per run."""
        if not self._active:
            return []
        name = self.monitor.split("/", 1)[-1] if self.monitor else None
        base_value = None
        if baseline and name and isinstance(baseline.get("val"), dict):
            base_value = baseline["val"].get(name)
        self.verdicts = judge(self.epochs, self.records, mode=self.mode, monitor=name, baseline=base_value,
                              baseline_name=(baseline or {}).get("name"), grad_clip=self.grad_clip,
                              scaled=self.scaled)
        self._write({"kind": "verdicts", "verdicts": self.verdicts})
        if self.stream is not None:
            for verdict in self.verdicts:
                self.stream.emit("verdict", **verdict)
        self.close()
        return self.verdicts

    def summary(self) -> dict[str, Any]:
        """results.json's ``diagnostics``: per layer the last record's gradient ratio and gates, clipping,
        norms and the verdicts (call :meth:`finish` first)."""
        with_layers = [r for r in self.records if r.get("layers")]
        last = with_layers[-1] if with_layers else {}
        layers = {name: {"gradient_ratio": info.get("gradient_ratio"), "steps": info.get("steps"),
                         "grad_first": info.get("grad_first"), "grad_last": info.get("grad_last"),
                         "gates": info.get("gates", {})}
                  for name, info in last.get("layers", {}).items()}
        steps = sum(e.get("steps") or 0 for e in self.epochs)
        clipped = sum(e.get("clipped") or 0 for e in self.epochs)
        norms = [e["grad_norm"]["median"] for e in self.epochs if (e.get("grad_norm") or {}).get("median") is not None]
        ratios = [r["update_ratio"] for r in self.records if r.get("update_ratio") is not None]
        return {
            "file": FILE_NAME if self.path is not None else None,
            "every": self.every,
            "records": len(self.records),
            "last_record_step": last.get("step"),
            "layers": layers,
            "gates": {name: info["gates"] for name, info in layers.items()},
            "clipping_rate": _round(clipped / steps) if self.grad_clip and steps else None,
            "grad_norm_median": _round(statistics.median(norms)) if norms else None,
            "update_ratio_median": _round(statistics.median(ratios)) if ratios else None,
            "seconds": round(self.seconds, 3),
            "final_pass_seconds": round(self.final_seconds, 3),
            "verdicts": self.verdicts,
            "notes": self.notes,
        }

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def teardown(self, trainer, pl_module, stage):
        self.close()

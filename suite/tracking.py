"""The standard loggers of ``--logger``, made from Lightning's own classes, and their per-run bookkeeping.

Lightning sends them what the task modules ``self.log`` (train/*, val/*, test/*); :class:`TrackingCallback`
adds the configuration as parameters and the learning rate once per epoch. The tracker packages are
imported by Lightning when a logger is made, never here, so the product runs without them.
See :mod:`suite.loggers` for the settings and the state kept for ``--resume``.
"""

from __future__ import annotations

import csv
import logging
import os
import sys
from pathlib import Path
from typing import Any

import lightning as L
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from .atomic import write_json_atomic
from .errors import UserError
from .loggers import INSTALL, LOGS, LR_NAME, parse_names, read_state, saved_id, state_path


def build_loggers(cfg: Any, run: Any) -> list[Any]:
    """Lightning loggers for ``cfg.train.logger``, continuing the run's earlier logger runs on resume."""
    names = parse_names(cfg.train.logger)
    if not names:
        return []
    logs = run.path / LOGS
    # A resumed run already has its config.yaml (a new one is given it after this): only then are logger
    # runs recorded in the folder this run's own, not leftovers in a reused --run-dir.
    state = read_state(run.path) if run.config_path.exists() else {}
    made = []
    for name in names:
        try:
            made.append(_BUILDERS[name](cfg, run, logs, state))
        except ImportError as exc:  # validation saw the package; it is there but broken
            raise UserError(f"train.logger (--logger): the {name} logger cannot start "
                            f"({_first_line(exc)}); {INSTALL}") from None
    return made


class AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer deletes an existing metrics.csv when it starts. A resumed run's rows must
    stay: this one keeps the file and continues under its header (Lightning rewrites the file only when a
    new column comes)."""

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if not path.is_file():
            return
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                header = next(csv.reader(handle), [])
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise UserError(f"{path}: cannot continue this CSV log ({exc}); move it away to start a new one") \
                from None
        self.metrics_keys = list(header)


class AppendingCSVLogger(CSVLogger):
    """Lightning's CSVLogger writing through :class:`AppendingWriter`."""

    @property
    @rank_zero_experiment
    def experiment(self) -> AppendingWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingWriter(log_dir=self.log_dir)
        return self._experiment


def _csv(cfg, run, logs: Path, state):
    # a fixed folder (logs/csv), not version_N: a resumed run appends to the same metrics.csv
    return AppendingCSVLogger(save_dir=logs, name="", version="csv")


def _tensorboard(cfg, run, logs: Path, state):
    from lightning.pytorch.loggers import TensorBoardLogger

    # a fixed folder, not version_N: a resumed run adds an event file beside the earlier ones, and
    # TensorBoard reads the folder as one run. No hp_metric placeholder (-1) among the run's scalars.
    return TensorBoardLogger(save_dir=logs, name="", version="tensorboard", default_hp_metric=False)


def _mlflow(cfg, run, logs: Path, state):
    from lightning.pytorch.loggers import MLFlowLogger

    # "Experiment with name ... not found. Creating it." is how every new store starts, not a warning
    logging.getLogger("lightning.pytorch.loggers.mlflow").setLevel(logging.ERROR)
    uri = str(cfg.train.mlflow_uri or "").strip()
    if not uri:
        # The run's own file store. MLflow 3 keeps file stores in maintenance mode and refuses them unless
        # this is set; a store inside one run folder needs nothing that the database backends add.
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    tracking_uri = uri or (logs / "mlflow").resolve().as_uri()
    try:
        return MLFlowLogger(experiment_name=cfg.task, run_name=run.path.name, tracking_uri=tracking_uri,
                            run_id=saved_id(state, "mlflow", "run_id", tracking_uri=uri),
                            tags={"rnn_suite.run_dir": str(run.path.resolve())})
    except ImportError:
        raise
    except Exception as exc:  # MlflowException and the like: a bad URI or a store it cannot write
        raise UserError(f"train.mlflow_uri (--mlflow-uri): MLflow cannot use {tracking_uri} "
                        f"({_first_line(exc)})") from None


def _wandb(cfg, run, logs: Path, state):
    from lightning.pytorch.loggers import WandbLogger

    os.environ["WANDB_MODE"] = "offline"  # offline only: nothing leaves the machine (`wandb sync` uploads)
    os.environ.setdefault("WANDB_SILENT", "true")  # its banners would mix with the suite's own output
    logger = WandbLogger(project=cfg.task, name=run.path.name, save_dir=str(logs), offline=True,
                         id=saved_id(state, "wandb", "id"), settings={"console": "off"})
    # Lightning always passes anonymous=None, which wandb answers with a deprecation line on every run
    getattr(logger, "_wandb_init", {}).pop("anonymous", None)
    return logger


_BUILDERS = {"csv": _csv, "tensorboard": _tensorboard, "mlflow": _mlflow, "wandb": _wandb}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _kind(logger: Any) -> str:
    """csv | tensorboard | mlflow | wandb, by Lightning's class (the tracker packages stay unimported)."""
    return {"AppendingCSVLogger": "csv", "TensorBoardLogger": "tensorboard", "MLFlowLogger": "mlflow",
            "WandbLogger": "wandb"}.get(type(logger).__name__, "")


def flat_params(cfg: Any) -> dict[str, Any]:
    """The run's configuration as ``section.field`` parameters (``train.lr``, ``options.lookback``)."""
    data = cfg.to_dict()
    params: dict[str, Any] = {"task": data["task"], "preset": data["preset"]}
    for section in ("backbone", "train", "options"):
        for key, value in (data.get(section) or {}).items():
            plain = value is None or isinstance(value, (bool, int, float, str))
            params[f"{section}.{key}"] = value if plain else str(value)
    return params


class TrackingCallback(L.Callback):
    """Gives the loggers the configuration when training starts and the learning rate each epoch, and
    keeps what identifies their runs in loggers.json. Rank zero only, as Lightning's loggers are."""

    def __init__(self, cfg: Any, run: Any):
        self.cfg = cfg
        self.run = run

    def on_train_start(self, trainer, pl_module):
        # not on_fit_start: a resumed run's step is restored only after that hook
        if not trainer.is_global_zero or not trainer.loggers:
            return
        (self.run.path / LOGS).mkdir(parents=True, exist_ok=True)  # W&B needs its folder to exist
        params = flat_params(self.cfg)
        for logger in trainer.loggers:
            if _kind(logger) == "mlflow":
                self._mlflow_params(logger, params)
            else:
                logger.log_hyperparams(params)
            logger.save()
        write_json_atomic(state_path(self.run.path), self._state(trainer))

    def _mlflow_params(self, logger, params: dict[str, Any]) -> None:
        """MLflow refuses to change a logged parameter. A resumed run whose training settings changed (say
        --max-epochs) keeps the first values, and records each new one as a tag ``resumed.<name>``."""
        try:
            client, run_id = logger.experiment, logger.run_id
            logged = client.get_run(run_id).data.params
        except Exception as exc:  # a tracking server that is down, or that no longer knows the run
            where = self.cfg.train.mlflow_uri or "the run's MLflow store"
            raise UserError(f"train.mlflow_uri (--mlflow-uri): MLflow at {where} cannot be used "
                            f"({_first_line(exc)})") from None
        if logged:
            client.update_run(run_id, status="RUNNING")  # it ended FINISHED or KILLED; it runs again
        fresh = {k: v for k, v in params.items() if k not in logged}
        if fresh:
            logger.log_hyperparams(fresh)
        for key, value in params.items():
            if key in logged and logged[key] != str(value)[:250]:  # Lightning keeps 250 characters
                client.set_tag(run_id, f"resumed.{key}", str(value)[:250])

    def _state(self, trainer) -> dict[str, dict[str, Any]]:
        state: dict[str, dict[str, Any]] = {}
        for logger in trainer.loggers:
            kind = _kind(logger)
            if kind == "mlflow":
                state["mlflow"] = {"run_id": logger.run_id, "experiment_id": logger.experiment_id,
                                   "tracking_uri": str(self.cfg.train.mlflow_uri or "").strip()}
            elif kind == "wandb":
                state["wandb"] = {"id": logger.experiment.id, "project": self.cfg.task}
        return state

    def on_train_epoch_start(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        # the rate this epoch trains at (an epoch schedule steps at epoch end), at the step it starts from;
        # straight to the loggers, not self.log: events.jsonl must not get a train/lr metric
        lr = next((g["lr"] for opt in trainer.optimizers for g in opt.param_groups), None)
        if lr is None:
            return
        for logger in trainer.loggers:
            logger.log_metrics({LR_NAME: float(lr)}, step=trainer.global_step)


def close_loggers(trainer: L.Trainer, status: str) -> None:
    """After the whole run (fit, validation, test): mark the MLflow run as it ended, and finish the W&B run
    (else the next run in this process would join it). Never raises over the run's own outcome."""
    if not trainer.is_global_zero:
        return
    for logger in trainer.loggers:
        kind = _kind(logger)
        try:
            logger.save()
            if kind == "mlflow" and getattr(logger, "_initialized", False):
                ended = {"interrupted": "KILLED", "failed": "FAILED"}.get(status, "FINISHED")
                logger.experiment.set_terminated(logger.run_id, ended)
            elif kind == "wandb" and getattr(logger, "_experiment", None) is not None:
                logger.experiment.finish(exit_code=0 if status in ("finished", "stopped") else 1)
        except Exception as exc:  # a tracking server gone away must not hide how the run ended
            print(f"warning: the {kind or type(logger).__name__} logger could not be closed "
                  f"({_first_line(exc)})", file=sys.stderr)

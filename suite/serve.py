"""``main.py --checkpoint RUN --serve``: an HTTP JSON API over a trained run.

FastAPI on uvicorn (the ``serve`` extra). ``POST /predict`` takes ``{"input": "..."}`` or
``{"inputs": [...]}`` and answers what ``--predict`` prints, as JSON; ``GET /health``; ``GET /info`` (the
task, its input and output kinds, the run's settings and metrics); FastAPI's ``/docs`` and
``/openapi.json``. Concurrent requests are micro-batched through one worker (suite/serving/batcher.py);
inputs are text only, and no request reads a file (suite/serving/textonly.py). Everything a request
needs (the model, results.json) is read once, here, before the server listens.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
from typing import Any, TextIO

from .errors import UserError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BATCH = 32
DEFAULT_BATCH_WAIT_MS = 5.0


def require_serve_extra() -> None:
    missing = []
    for module in ("fastapi", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise UserError(f"--serve needs {' and '.join(missing)}: pip install 'rnn-suite[serve]'")


def check_settings(host: str, port: int, max_batch: int, batch_wait_ms: float) -> None:
    if not host.strip():
        raise UserError("--host: give an address such as 127.0.0.1")
    if not 0 <= port <= 65535:
        raise UserError(f"--port: {port} is not a port (0 to 65535; 0 picks a free one)")
    if max_batch < 1:
        raise UserError(f"--max-batch: at least 1 (1 turns batching off), got {max_batch}")
    if not 0 <= batch_wait_ms <= 10_000:
        raise UserError(f"--batch-wait-ms: 0 to 10000, got {batch_wait_ms:g}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else is started: a port in use is one line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserError(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is in use (another server?); choose another with "
                            f"--port") from None
        if exc.errno == errno.EACCES:
            raise UserError(f"port {port} on {host}: permission denied (ports below 1024 need privileges); "
                            f"choose another with --port") from None
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.setblocking(False)
    return sock


def run_info(trained, settings: dict[str, Any]) -> dict[str, Any]:
    """What GET /info answers: read once, at start."""
    from . import __version__

    task, results = trained.task, None
    if trained.run is not None:
        try:
            results = trained.run.results()
        except UserError:  # a damaged results.json: the model still serves; /info says so
            results = {"status": "unreadable results.json"}
    try:
        example = task.example_input(trained.cfg)
    except Exception:  # noqa: BLE001 - a hint only
        example = None
    results = results or {}
    return {"task": task.name, "title": task.title, "input_kind": task.input_kind,
            "output_kind": task.output_kind, "run": str(trained.run.path) if trained.run else None,
            "checkpoint": str(trained.checkpoint), "status": results.get("status"),
            "metrics": results.get("metrics"), "baseline": results.get("baseline"),
            "monitor": results.get("monitor"), "example_input": example, "config": trained.cfg.to_dict(),
            "serving": settings, "version": __version__}


def warm_up(trained) -> None:
    """One prediction of the task's example before listening: lazy imports and first-call costs are paid
    here, not by the first request. Its failure (an example the run cannot answer) is no reason to stop."""
    import torch

    from .serving.textonly import refusing_files

    try:
        example = trained.task.example_input(trained.cfg)
        if example:
            with refusing_files(), torch.inference_mode():
                trained.task.predict_many(trained.model, [example], files=False)
    except Exception:  # noqa: BLE001
        pass


def serve(trained, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, max_batch: int = DEFAULT_MAX_BATCH,
          batch_wait_ms: float = DEFAULT_BATCH_WAIT_MS, out: TextIO | None = None,
          sock: socket.socket | None = None) -> int:
    """Serve ``trained`` (a :class:`suite.trained.Trained`) until SIGINT or SIGTERM; returns 0. ``sock``:
    the socket :func:`bind` gave for ``host`` and ``port`` (the command line binds before loading the
    model, so that a port in use is said at once)."""
    out = out or sys.stdout
    require_serve_extra()
    check_settings(host, port, max_batch, batch_wait_ms)
    sock = sock or bind(host, port)
    try:
        from .serving import server
        from .serving.app import MAX_BODY_BYTES, MAX_INPUTS, create_server_app
        from .serving.batcher import Batcher

        bound = sock.getsockname()[1]
        if not is_loopback(host):
            print(f"warning: --host {host} serves every network this machine is on, and the API has no "
                  f"authentication", file=sys.stderr)
        warm_up(trained)
        settings = {"host": host, "port": bound, "max_batch": max_batch, "batch_wait_ms": batch_wait_ms,
                    "max_body_bytes": MAX_BODY_BYTES, "max_inputs": MAX_INPUTS}
        batcher = Batcher(trained.task, trained.model, max_batch, batch_wait_ms)
        app = create_server_app(batcher, run_info(trained, settings))
        shown = f"[{host}]" if ":" in host else host
        source = trained.run.path if trained.run is not None else trained.checkpoint

        def started() -> None:
            print(f"serving {trained.task.name} ({source}) on http://{shown}:{bound}: POST /predict, GET /health, "
                  f"/info, /docs; batches of up to {max_batch} within {batch_wait_ms:g} ms; Ctrl-C or SIGTERM "
                  f"stops", file=out, flush=True)

        batcher.start()
        try:
            stopped_by = server.run(app, sock, started, batcher)
        finally:
            batcher.stop()
    finally:
        sock.close()
    print(f"stopped{f' by {stopped_by}' if stopped_by else ''}: {batcher.requests} requests answered in "
          f"{batcher.batches} batches", file=out, flush=True)
    return 0

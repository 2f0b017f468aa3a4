"""Micro-batching: one worker thread answers every request, several at a time.

The model is used by this one thread only (a LightningModule is not thread-safe, and a few CPU cores
are better spent on one batched forward pass than on many small ones racing). Requests queue up; the
worker takes the first, waits at most ``wait_ms`` for more (or until ``max_batch`` inputs), calls
``task.predict_many(model, inputs, files=False)`` once under ``torch.inference_mode()``, and hands each
request its own answers. When that call fails (one input the task rejects), the batch is answered again
one input at a time, so a bad input fails its own request only.

The wait ends early once the batch holds a request from every open connection (``peers``, the server's
count): an HTTP/1.1 connection carries one request at a time, so no more can come but from a connection
not yet open, and waiting would only delay a batch already as large as the clients make it (a lone client
is answered without the wait; 16 keep-alive clients in a batch of 16 without it).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import traceback
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import UserError
from ..task import Task
from .textonly import FileRefused, refused, refusing_files


class RequestFailed(Exception):
    """A request's answer is an error: an HTTP status and a one-line message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Job:
    inputs: list[str]
    single: bool  # {"input": ...}: errors say no index
    future: Future = field(default_factory=Future)


class Batcher:
    def __init__(self, task: Task, model: Any, max_batch: int = 32, wait_ms: float = 5.0,
                 peers: Callable[[], int] | None = None):
        self.task, self.model = task, model
        self.max_batch, self.wait = max_batch, wait_ms / 1000.0
        self.peers = peers  # the open connections, each at most one request (None: unknown, wait in full)
        self.requests = 0  # answered (with results or an error)
        self.batches = 0  # predict_many calls of whole micro-batches
        self.largest = 0  # inputs in the largest micro-batch
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="predict-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Answer what is queued, then end the worker."""
        self._queue.put(None)
        self._thread.join(timeout)

    def submit(self, inputs: list[str], single: bool = False) -> Future:
        job = Job(list(inputs), single)
        self._queue.put(job)
        return job.future

    # --- the worker ---------------------------------------------------------------------------------
    def _work(self) -> None:
        carried: Job | None = None
        stopping = False
        while not stopping:
            job = carried if carried is not None else self._queue.get()
            carried = None
            if job is None:
                break
            batch, count = [job], len(job.inputs)
            deadline = time.monotonic() + self.wait
            while count < self.max_batch and not self._everyone_in(len(batch)):
                remaining = deadline - time.monotonic()
                try:
                    nxt = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                if count + len(nxt.inputs) > self.max_batch:
                    carried = nxt  # the next batch starts with it
                    break
                batch.append(nxt)
                count += len(nxt.inputs)
            self._answer([j for j in batch if j.future.set_running_or_notify_cancel()])
        while True:  # stopping: what is still queued gets an answer, not a hang
            try:
                job = carried if carried is not None else self._queue.get_nowait()
            except queue.Empty:
                return
            carried = None
            if job is not None and job.future.set_running_or_notify_cancel():
                self._answer([job])

    def _everyone_in(self, requests: int) -> bool:
        return self.peers is not None and requests >= self.peers()

    def _answer(self, batch: list[Job]) -> None:
        if not batch:
            return
        inputs = [x for job in batch for x in job.inputs]
        try:
            outputs = self._call(inputs)
        except Exception:  # noqa: BLE001 - some input failed: each request is answered on its own below
            outputs = None
        if outputs is not None:
            self.batches += 1
            self.largest = max(self.largest, len(inputs))
            start = 0
            for job in batch:
                job.future.set_result(outputs[start:start + len(job.inputs)])
                start += len(job.inputs)
        else:
            for job in batch:
                self._answer_alone(job)
        self.requests += len(batch)

    def _answer_alone(self, job: Job) -> None:
        results = []
        for index, raw in enumerate(job.inputs):
            try:
                results.extend(self._call([raw]))
            except Exception as exc:  # noqa: BLE001 - a request's error, never the server's end
                job.future.set_exception(self._failure(exc, None if job.single else index))
                return
        job.future.set_result(results)

    def _call(self, inputs: list[str]) -> list[Any]:
        import torch

        with refusing_files(), torch.inference_mode():
            outputs = self.task.predict_many(self.model, inputs, files=False)
            path = refused()
        if path is not None:  # the task caught the refusal and answered anyway: still refused
            raise FileRefused("inputs are text only here: the server reads no files")
        outputs = list(outputs)
        if len(outputs) != len(inputs):
            raise RuntimeError(f"{self.task.name}.predict_many answered {len(outputs)} of {len(inputs)} inputs")
        return outputs

    def _failure(self, exc: Exception, index: int | None) -> RequestFailed:
        where = "" if index is None else f"inputs[{index}]: "
        if isinstance(exc, UserError):
            return RequestFailed(422, where + " ".join(str(exc).split()))
        if isinstance(exc, NotImplementedError):
            return RequestFailed(501, f"task '{self.task.name}' does not answer predictions")
        print(f"error: a request failed inside {self.task.name}.predict_many:", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
        return RequestFailed(500, where + f"internal error ({type(exc).__name__}); the server log has the details")

"""uvicorn over an already bound socket, stopping cleanly on SIGINT and SIGTERM."""

from __future__ import annotations

import signal
import socket
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import uvicorn


class _Server(uvicorn.Server):
    """uvicorn's server, with signals handled as the suite does: SIGINT/SIGTERM end it gracefully (a
    second SIGINT at once), and it returns instead of raising the signal again afterwards."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]):
        super().__init__(config)
        self.on_started = on_started
        self.stopped_by: str | None = None

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(signum, frame):
            self.stopped_by = self.stopped_by or signal.Signals(signum).name
            if self.should_exit and signum == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self.on_started()


def run(app, sock: socket.socket, on_started: Callable[[], None], batcher=None) -> str | None:
    """Serve ``app`` on ``sock`` until a signal; returns the signal's name. ``batcher`` (a
    :class:`suite.serving.batcher.Batcher`) is told how many connections are open."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=10, server_header=False)
    server = _Server(config, on_started)
    if batcher is not None:
        # uvicorn's own set of open connections, changed on its loop; its length is read whole (the GIL)
        connections = server.server_state.connections
        batcher.peers = lambda: len(connections)
    server.run(sockets=[sock])
    return server.stopped_by

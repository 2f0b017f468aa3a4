"""The child-process contract the window relies on: how a run ended, and where it lives."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from gui.process import RunProcess


def test_a_run_ended_by_sigterm_reads_as_interrupted_not_finished(qtbot, tmp_path):
    proc = RunProcess(["--task", "forecast", "--max-epochs", "100", "--hidden", "8", "--threads", "1",
                       "--run-dir", str(tmp_path / "run")], cwd=str(tmp_path))
    events, ended = [], []
    proc.event.connect(events.append)
    proc.ended.connect(lambda code, how: ended.append((code, how)))
    proc.start()
    qtbot.waitUntil(lambda: any(e["event"] == "epoch_end" for e in events), timeout=120_000)
    assert proc.run_dir == str((tmp_path / "run").resolve())  # from the started event
    os.kill(proc.process.processId(), signal.SIGTERM)  # as a scheduler or `kill` would
    qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    assert ended == [(143, "interrupted")]
    assert events[-1]["event"] == "interrupted"
    assert Path(proc.run_dir, "checkpoints", "last.ckpt").exists()


def test_a_child_killed_by_a_signal_reads_as_a_crash_naming_the_signal(qtbot, monkeypatch):
    import gui.process

    crash = "import os, signal, sys; print('about to crash', file=sys.stderr); os.kill(os.getpid(), signal.SIGSEGV)"
    monkeypatch.setattr(gui.process, "cli_command", lambda args: ["python", "-c", crash])
    proc = RunProcess([])
    ended, lines = [], []
    proc.ended.connect(lambda code, how: ended.append((code, how)))
    proc.log.connect(lines.append)
    proc.start()
    qtbot.waitUntil(lambda: bool(ended), timeout=30_000)
    assert ended == [(-signal.SIGSEGV, "crashed")]
    assert proc.crash == "crashed (segmentation fault)" and proc.error is None
    assert "about to crash" in lines

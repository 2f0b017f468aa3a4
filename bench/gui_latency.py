"""How long does the desktop application's event loop stall while a run trains at full speed?

Starts the real window offscreen, launches a forecast run from it (the seed preset, as the Run button
does), and measures the longest gap between ticks of a 5 ms timer until the run ends. The GUI's bar:
no stall over 50 ms. Also reports the run's training throughput beside the same run started from a
shell, since a run started from the GUI must train no slower. Throughput is measured in runs of
its own, without the 5 ms probe timer (which itself costs the GUI process CPU a user never spends),
alternating GUI and shell runs and taking medians, since back-to-back runs vary by about 10 %.

Last line: ``max_stall_ms=<value>``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def gui_run(workdir: Path, epochs: int, probe: bool = True) -> tuple[float, list[float], dict]:
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    workdir.mkdir(parents=True, exist_ok=True)
    window = MainWindow(workdir=str(workdir),
                        settings=QSettings(str(workdir / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 800)
    window.show()
    window.form.editors["train.max_epochs"].set(epochs)
    gaps: list[float] = []
    clock = QElapsedTimer()
    ticker = QTimer()
    ticker.setInterval(5)

    def tick():
        if clock.isValid():
            gaps.append(clock.nsecsElapsed() / 1e6)
        clock.restart()
        if window.process is not None and not window.process.running():
            app.quit()
    ticker.timeout.connect(tick)
    if not probe:  # only watch for the end of the run
        ticker.setInterval(200)
        clock.invalidate()
        ticker.timeout.disconnect(tick)
        ticker.timeout.connect(lambda: app.quit() if window.process is not None and not window.process.running()
                               else None)
    ticker.start()
    window.start_run()
    app.exec()
    ticker.stop()
    window.close()
    (results_path,) = workdir.glob("runs/forecast/*/results.json")
    return max(gaps) if gaps else 0.0, gaps, json.loads(results_path.read_text())


def shell_run(workdir: Path, epochs: int) -> dict:
    subprocess.run([sys.executable, str(REPO / "main.py"), "--task", "forecast", "--max-epochs", str(epochs),
                    "--run-dir", str(workdir / "shell")], check=True, capture_output=True)
    return json.loads((workdir / "shell" / "results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the seed forecast (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="GUI/shell throughput pairs (default 3)")
    args = parser.parse_args()
    gui_rates, shell_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        stall, gaps, _ = gui_run(Path(tmp) / "probe", args.epochs)
        for i in range(args.repeats):
            _, _, gui = gui_run(Path(tmp) / f"gui{i}", args.epochs, probe=False)
            gui_rates.append(gui["train_samples_per_second"])
            shell_rates.append(shell_run(Path(tmp) / f"shell{i}", args.epochs)["train_samples_per_second"])
    gaps_sorted = sorted(gaps)
    p99 = gaps_sorted[int(0.99 * (len(gaps_sorted) - 1))] if gaps_sorted else 0.0
    print(f"event-loop ticks: {len(gaps)}, p99 gap {p99:.1f} ms, longest {stall:.1f} ms (target <= 50 ms)")
    gui_rate, shell_rate = statistics.median(gui_rates), statistics.median(shell_rates)
    print(f"training throughput (median of {args.repeats}): from the GUI {gui_rate:.0f} samples/s "
          f"{[round(r) for r in gui_rates]}, from a shell {shell_rate:.0f} samples/s "
          f"{[round(r) for r in shell_rates]} (ratio {gui_rate / shell_rate:.2f}, target >= 0.95)")
    print(f"max_stall_ms={stall:.1f}")


if __name__ == "__main__":
    main()

"""Every built-in task's predictions reach its panel in the "Try it" tab in the panel's own shape.

Each case trains a tiny run through the CLI (one epoch on a slice of the real data), opens it in the
prediction panel as a user would, asks, and checks the answer is drawn by the task's panel rather
than falling back to JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_cli

pytestmark = pytest.mark.realdata


def ewt_slice(root: Path, dst: Path) -> Path:
    """150 sentences of EWT train, the last 30 of them as dev too (so dev has no tag training lacks)."""
    dst.mkdir()
    text = (root / "tagging" / "ud_english_ewt" / "en_ewt-ud-train.conllu").read_text(encoding="utf-8")
    sentences = text.split("\n\n")[:150]
    for split, part in (("train", sentences), ("dev", sentences[-30:])):
        (dst / f"en_ewt-ud-{split}.conllu").write_text("\n\n".join(part) + "\n\n", encoding="utf-8")
    return dst


def multi30k_slice(root: Path, dst: Path) -> Path:
    dst.mkdir()
    for split, keep in (("train", 300), ("val", 30), ("test_2016_flickr", 30)):
        for lang in ("de", "en"):
            lines = (root / "translation" / "multi30k" / f"{split}.{lang}").read_text(encoding="utf-8").splitlines()
            (dst / f"{split}.{lang}").write_text("\n".join(lines[:keep]) + "\n", encoding="utf-8")
    return dst


CASES = {
    "sentiment": ("LabelPanel", "a warm , funny and moving film",
                  lambda root, tmp: ["--data", str(root / "sentiment" / "rt_polarity"), "--limit", "300",
                                     "--hidden", "8", "--embedding-dim", "16"]),
    "tagging": ("TagsPanel", "The cat sat on the mat .",
                lambda root, tmp: ["--data", str(ewt_slice(root, tmp / "ewt")), "--hidden", "16", "--word-dim", "16",
                                   "--char-features", "8"]),
    "translation": ("TranslationPanel", "ein mann fährt fahrrad .",
                    lambda root, tmp: ["--data", str(multi30k_slice(root, tmp / "m30k")),
                                       "--embedding", "16", "--decoder-hidden", "32", "--hidden", "16",
                                       "--source-vocab", "300", "--target-vocab", "300"]),
    "music": ("MusicPanel", json.dumps({"primer": "60 64 67", "temperature": 1.0, "steps": 12, "seed": 3}),
              lambda root, tmp: ["--data", str(root / "music" / "jsb_chorales" / "jsb-chorales-quarter.json"),
                                 "--hidden", "16", "--nade-hidden", "8", "--batch-size", "16"]),
}


@pytest.mark.parametrize("task", sorted(CASES))
def test_the_task_answers_in_its_panel(task, qtbot, tmp_path, data_root):
    from gui.predict_panel import PredictPanel

    panel_name, request, args = CASES[task]
    run_dir = tmp_path / "run"
    done = run_cli("--task", task, *args(data_root, tmp_path), "--max-epochs", "1", "--threads", "1",
                   "--run-dir", str(run_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    panel = PredictPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_run(str(run_dir))
    qtbot.waitUntil(lambda: panel.body is not None, timeout=60_000)
    body = panel.body
    assert type(body).__name__ == panel_name
    qtbot.waitUntil(lambda: panel.job is None or not panel.job.isRunning(), timeout=60_000)
    body.output = None
    body.ask(request)
    qtbot.waitUntil(lambda: body.output is not None or panel.status.text().startswith("error"), timeout=60_000)
    assert body.output is not None, panel.status.text()
    assert body.accepts(body.output), f"{task}'s output lacks {body.expects}: {sorted(body.output)}"
    assert not body.fallback.isVisible()

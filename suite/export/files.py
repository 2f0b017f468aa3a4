"""Writing an export folder's plain files: the preprocessing state as JSON, the standalone predictor."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..atomic import dumps_strict

#: the shared runtime every predictor imports (its command line, --output, errors, network sessions)
RUNTIME = Path(__file__).with_name("_runtime.py")
RUNTIME_NAME = "_runtime.py"
PREDICTOR_NAME = "predict.py"


def write_json(out_dir: Path, name: str, data: Any) -> str:
    """``data`` as ``out_dir/name``, strict JSON (a NaN would not load in another language); returns ``name``."""
    (Path(out_dir) / name).write_text(dumps_strict(data, indent=2) + "\n", encoding="utf-8")
    return name


def install_predictor(out_dir: Path, template: Path, helpers: Sequence[Path] = ()) -> list[str]:
    """Copy the task's predictor ``template`` to ``out_dir/predict.py``, the runtime helper beside it as
    ``_runtime.py`` and each of ``helpers`` under its own name; returns the names written."""
    out_dir = Path(out_dir)
    shutil.copyfile(template, out_dir / PREDICTOR_NAME)
    shutil.copyfile(RUNTIME, out_dir / RUNTIME_NAME)
    written = [PREDICTOR_NAME, RUNTIME_NAME]
    for helper in helpers:
        helper = Path(helper)
        if helper.name in written:
            raise ValueError(f"helper {helper} would overwrite {helper.name}")
        shutil.copyfile(helper, out_dir / helper.name)
        written.append(helper.name)
    return written


#: the standalone text reader the text tasks' predictors import (``from textinput import ...``)
TEXT_INPUT = Path(__file__).with_name("textinput.py")


def tokenizer_settings() -> dict[str, Any]:
    """The suite's text normalisation and word tokeniser as their compiled patterns, for textinput.Tokenizer."""
    from ..data import text

    def saved(pattern) -> dict[str, Any]:
        return {"pattern": pattern.pattern, "flags": pattern.flags}

    return {"break": saved(text._BREAK), "tag": saved(text._TAG), "space": saved(text._SPACE),
            "token": saved(text._TOKEN), "pad": text.PAD, "unk": text.UNK}

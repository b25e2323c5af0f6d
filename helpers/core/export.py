"""Export a trained model as a folder (+ tarball) and load it back in one call.

Layout written by :func:`export_model` under ``output_dir``::

    model/
        config.json            with id2label / label2id for classifiers
        model.safetensors
        tokenizer files        tokenizer.json, tokenizer_config.json, ...
        training-logs.csv      per-step loss, learning rate, epoch
        training-logs.json     the same, plus every record the Trainer logged
        export-info.json       task, base model, metrics at export time
    <name>-model.tar           holds model/

Finding, checking and unpacking an export (folder or tarball) and reading its ``export-info.json``
live in :mod:`helpers.core.folders`, in plain Python, so that :mod:`helpers.serving` shares them
without importing torch; they are imported here under the same names.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.core import onnx
from helpers.core.errors import ExportError
from helpers.core.files import apply_umask
from helpers.core.folders import (
    REQUIRED_FILES,
    check_export,
    locate_export,
    read_export_info,
    require_family,
    unpack_tarball,
)

__all__ = ["ExportError", "ExportPaths", "REQUIRED_FILES", "check_export", "export_model", "load_export",
           "locate_export", "read_export_info", "reload_difference", "require_family", "training_logs_frame",
           "unpack_tarball", "write_tarball", "write_training_logs"]
LOG_COLUMNS = ("step", "epoch", "loss", "learning_rate", "grad_norm")


@dataclass
class ExportPaths:
    """Where :func:`export_model` wrote things."""

    model_dir: Path
    tarball: Path


def training_logs_frame(log_history: list[dict]) -> pd.DataFrame:
    """Per-step training records (those with a ``loss``) from ``Trainer.state.log_history``."""
    rows = [r for r in log_history if "loss" in r]
    df = pd.DataFrame(rows)
    for col in LOG_COLUMNS:
        if col not in df:
            df[col] = math.nan
    return df[list(LOG_COLUMNS)].reset_index(drop=True)


def write_training_logs(folder: Path, log_history: list[dict]) -> None:
    """Write ``training-logs.csv`` (per-step rows) and ``training-logs.json`` (everything)."""
    training_logs_frame(log_history).to_csv(folder / "training-logs.csv", index=False)
    (folder / "training-logs.json").write_text(
        json.dumps(log_history, indent=1, default=float), encoding="utf-8"
    )


def export_model(
    model,
    tokenizer,
    output_dir: str | Path,
    name: str,
    log_history: list[dict] | None = None,
    info: dict | None = None,
) -> ExportPaths:
    """Save ``model`` and ``tokenizer`` as ``output_dir/model`` and ``output_dir/<name>-model.tar``.

    An existing ``model/`` folder is replaced, so a re-run never mixes files of two runs. Every
    file gets the modes of the umask (:func:`helpers.core.files.apply_umask`; 0o644 usually, where
    safetensors alone would leave the weights at 0o600), and so does the tarball.

    Args:
        model: A transformers model (saved with safetensors).
        tokenizer: Its tokenizer.
        output_dir: Folder to write into (created).
        name: Prefix of the tarball, usually the task name.
        log_history: ``trainer.state.log_history`` for the training logs.
        info: Extra facts saved as ``export-info.json`` (base model, task, metrics).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model_dir = output_dir / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir()
    model.save_pretrained(model_dir, safe_serialization=True)
    tokenizer.save_pretrained(model_dir)
    write_training_logs(model_dir, log_history or [])
    (model_dir / "export-info.json").write_text(
        json.dumps(info or {}, indent=1, default=str), encoding="utf-8"
    )
    check_export(model_dir)
    apply_umask(model_dir)
    tarball = write_tarball(model_dir, output_dir / f"{name}-model.tar")
    return ExportPaths(model_dir=model_dir, tarball=tarball)


def write_tarball(folder: str | Path, tarball: str | Path) -> Path:
    """Pack ``folder`` (under its own name) into ``tarball``, replacing it only once complete.

    The tarball gets the mode of the umask, even if a leftover partial file had another.
    """
    folder, tarball = Path(folder), Path(tarball)
    partial = tarball.with_suffix(".tar.partial")
    with tarfile.open(partial, "w") as tar:
        tar.add(folder, arcname=folder.name)
    os.replace(apply_umask(partial), tarball)
    return tarball


def load_export(path: str | Path, auto_class=None, unpack_to: str | Path | None = None,
                backend: str = "pytorch"):
    """Load an exported model and its tokenizer, on CPU, in eval mode.

    Args:
        path: See :func:`locate_export`.
        auto_class: The transformers auto class; by default
            ``AutoModelForSequenceClassification``.
        unpack_to: Where to unpack a tarball.
        backend: ``"pytorch"``, or ``"onnx"`` / ``"onnx-int8"`` / ``"onnx-int8-static"`` for the
            variant exported next to the weights (:mod:`helpers.core.onnx`), which answers the same calls.

    Returns:
        ``(model, tokenizer, folder)``.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer


    onnx.check_backend(backend)
    folder = locate_export(path, unpack_to)
    auto_class = auto_class or AutoModelForSequenceClassification
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if backend != onnx.PYTORCH:
        kind = (onnx.QUESTION_ANSWERING if "QuestionAnswering" in auto_class.__name__
                else onnx.CLASSIFIER)
        return onnx.load_onnx_model(folder, backend, kind), tokenizer, folder
    model = auto_class.from_pretrained(folder).eval()
    return model, tokenizer, folder


def reload_difference(model, tokenizer, folder: str | Path, texts: list[str], auto_class=None) -> float:
    """Largest absolute logit difference between ``model`` and its export reloaded from disk.

    A correct export gives ~0 (float round-off); a head that was not saved, or a tokenizer
    that differs, gives a large value. The notebooks assert it is tiny before going on.
    """
    import torch

    reloaded, reloaded_tok, _ = load_export(folder, auto_class=auto_class)
    model.eval()

    def outputs(m, tok):
        # Every tensor the model returns: logits for classifiers, start/end logits for QA.
        out = m(**tok(texts, padding=True, truncation=True, return_tensors="pt"))
        return torch.cat([v.float().flatten() for v in out.values() if torch.is_tensor(v)])

    with torch.inference_mode():
        return float((outputs(model, tokenizer) - outputs(reloaded, reloaded_tok)).abs().max())

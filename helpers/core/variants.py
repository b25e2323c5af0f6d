"""Which ONNX variants of an export are worth deploying: each one scored, timed and gated.

:func:`export_variants` writes the variants of :mod:`helpers.core.onnx` next to the PyTorch
weights, scores each one and the PyTorch model on the same examples, and writes a
``quality-report.json`` beside each graph: both scores, the difference, the share of examples on
which the two predict the same, latency, size, and whether the variant is recommended (no metric
drops by more than ``max_drop`` points).

Nothing here knows a family. A family describes itself with a :class:`VariantAdapter` (how its
export is loaded in a backend, scored, and timed on one input) and calls :func:`export_variants`;
the adapters live in the family modules (``classification.variant_adapter`` and the like).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.core.export import write_tarball
from helpers.core.files import apply_umask
from helpers.core.onnx import (
    GRAPH_FILE,
    ONNX,
    ONNX_INT8,
    PYTORCH,
    VARIANTS,
    check_backend,
    export_onnx,
    quantize_int8,
    require_onnxruntime,
    weights_fingerprint,
)
from helpers.core.timing import measure_latency

REPORT_FILE = "quality-report.json"
DEFAULT_MAX_DROP = 1.0
"""Largest quality drop, in points (percent), that still leaves a variant recommended."""
INT8_NOTE = ("; int8 activations are quantised per batch, so an int8 prediction can differ slightly "
             "with the batch it is made in")


# ---------------------------------------------------------------------------------------
# Quality reports
# ---------------------------------------------------------------------------------------


def quality_gate(reference: dict[str, float], variant: dict[str, float],
                 max_drop: float = DEFAULT_MAX_DROP) -> dict:
    """Compare a variant's scores (in points) with the reference's.

    The variant is recommended if no metric drops by more than ``max_drop`` points; gains
    do not offset drops.
    """
    difference = {k: round(variant[k] - reference[k], 4) for k in reference}
    worst = max([0.0, *(-d for d in difference.values())])
    recommended = worst <= max_drop + 1e-9
    reason = (f"largest drop {worst:.2f} points, within the {max_drop:g} allowed" if recommended else
              f"NOT RECOMMENDED: quality drops by {worst:.2f} points, more than the {max_drop:g} allowed")
    return {"difference": difference, "largest_drop": round(worst, 4), "max_drop": max_drop,
            "recommended": bool(recommended), "verdict": reason}


def folder_size_mb(path: str | Path) -> float:
    """Size of a file, or of the weight files of a folder (``*.safetensors``), in MB."""
    path = Path(path)
    files = [path] if path.is_file() else list(path.glob("*.safetensors"))
    return round(sum(f.stat().st_size for f in files) / 1e6, 1)


def _latency(adapter: VariantAdapter, runner, repeats: int) -> dict[str, float]:
    """p50/p95 of one prediction, cycling through the test inputs (``measure_latency``)."""
    timed = measure_latency(lambda i: adapter.one(runner, i), list(range(adapter.n_inputs)), repeats)
    return {k: round(timed[k], 2) for k in ("p50_ms", "p95_ms")}


@dataclass
class VariantAdapter:
    """How one family's export is loaded, scored and timed for :func:`export_variants`."""

    kind: str
    weights_dir: Path
    load: Callable[[str], object]          # backend -> runnable model
    score: Callable[[object], tuple]       # model -> (scores in points, one prediction per test example)
    one: Callable[[object, int], object]   # (model, i) -> one prediction, for latency
    n_inputs: int
    model_and_tokenizer: Callable[[], tuple]  # the PyTorch model, tokenizer and max_length for export
    batching: str = ""                      # how the test set is batched when scored (for the report)


def export_variants(folder: str | Path, adapter: VariantAdapter, max_drop: float = DEFAULT_MAX_DROP,
                    backends: Sequence[str] = VARIANTS, tarball: str | Path | None = None,
                    latency_repeats: int = 30) -> pd.DataFrame:
    """Export the ONNX variants of ``folder``, score each on the test set, write their reports.

    Returns the table of :func:`reports_table`. ``tarball``, when given, is re-written so that it
    holds the variants too. The variant folders get the modes of the umask (``apply_umask``).
    """
    folder = Path(folder)
    backends = [check_backend(b) for b in backends if b != PYTORCH]
    fingerprint = weights_fingerprint(adapter.weights_dir)
    for backend in VARIANTS:
        if (folder / backend).exists():
            shutil.rmtree(folder / backend)
    model, tokenizer, max_length = adapter.model_and_tokenizer()
    fp32 = export_onnx(model, tokenizer, folder / ONNX / GRAPH_FILE, adapter.kind, fingerprint, max_length)
    del model
    if ONNX_INT8 in backends:
        quantize_int8(fp32, folder / ONNX_INT8 / GRAPH_FILE)
    if ONNX not in backends:
        shutil.rmtree(folder / ONNX)
    table = score_variants(folder, adapter, backends, max_drop, latency_repeats)
    for backend in backends:
        apply_umask(folder / backend)
    if tarball:
        write_tarball(folder, tarball)
    return table


def score_variants(folder: str | Path, adapter: VariantAdapter, backends: Sequence[str] = VARIANTS,
                   max_drop: float = DEFAULT_MAX_DROP, latency_repeats: int = 30) -> pd.DataFrame:
    """Score existing variants against the PyTorch model and (re)write their quality reports."""
    folder = Path(folder)
    reference = adapter.load(PYTORCH)
    ref_scores, ref_predictions = adapter.score(reference)
    ref_latency = _latency(adapter, reference, latency_repeats)
    fingerprint = weights_fingerprint(adapter.weights_dir)
    reports = {}
    for backend in backends:
        runner = adapter.load(backend)
        scores, predictions = adapter.score(runner)
        same = sum(a == b for a, b in zip(predictions, ref_predictions, strict=True))
        report = {
            "backend": backend, "kind": adapter.kind, "folder": str(folder),
            "fingerprint": fingerprint,
            "scores_in": "points (percent)", "pytorch": ref_scores, "variant": scores,
            **quality_gate(ref_scores, scores, max_drop),
            "agreement": round(100 * same / max(len(predictions), 1), 2),
            "latency_single": {"pytorch": ref_latency, "variant": _latency(adapter, runner, latency_repeats)},
            "size_mb": {"pytorch": folder_size_mb(adapter.weights_dir),
                        "variant": folder_size_mb(folder / backend / GRAPH_FILE)},
            "test_examples": adapter.n_inputs,
            "scored_in": adapter.batching + (INT8_NOTE if backend == ONNX_INT8 else ""),
            "onnxruntime": require_onnxruntime().__version__,
            "created": time.strftime("%Y-%m-%d %H:%M"),
        }
        (folder / backend / REPORT_FILE).write_text(json.dumps(report, indent=1), encoding="utf-8")
        reports[backend] = report
    return reports_table(reports)


def read_report(folder: str | Path, backend: str) -> dict | None:
    """The quality report of a variant (None for ``pytorch`` or when there is none)."""
    if check_backend(backend) == PYTORCH:
        return None
    path = Path(folder) / backend / REPORT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def reports_table(reports: dict[str, dict]) -> pd.DataFrame:
    """One row per variant: each score for PyTorch and the variant, latency, size, verdict."""
    rows = []
    for backend, r in reports.items():
        row = {"backend": backend}
        for metric, value in r["pytorch"].items():
            row[f"{metric} pytorch"] = round(value, 2)
            row[f"{metric} variant"] = round(r["variant"][metric], 2)
        row.update({"p50 ms pytorch": r["latency_single"]["pytorch"]["p50_ms"],
                    "p50 ms variant": r["latency_single"]["variant"]["p50_ms"],
                    "MB pytorch": r["size_mb"]["pytorch"], "MB variant": r["size_mb"]["variant"],
                    "agreement %": r["agreement"], "largest drop": r["largest_drop"],
                    "recommended": r["recommended"]})
        rows.append(row)
    return pd.DataFrame(rows)


def describe_backend(folder: str | Path, backend: str) -> str:
    """What the deployment notebooks print about the backend they loaded, with its quality report."""
    if check_backend(backend) == PYTORCH:
        return "backend: pytorch (the reference; eager PyTorch on CPU)"
    report = read_report(folder, backend)
    if report is None:
        return (f"backend: {backend}; no quality report next to it ({Path(folder) / backend / REPORT_FILE}): "
                "its accuracy was never measured. Re-export the variants to measure it.")
    diff = report["difference"]
    scores = ", ".join(f"{m} {report['variant'][m]:.1f} vs {v:.1f} in PyTorch ({diff[m]:+.2f})"
                       for m, v in report["pytorch"].items())
    lat, size = report["latency_single"], report["size_mb"]
    lines = [f"backend: {backend} (measured at export on {report['test_examples']} test examples, "
             f"{report['created']})", f"  scores in points: {scores}"]
    if "agreement" in report:
        lines.append(f"  same prediction as PyTorch on {report['agreement']:.1f}% of them")
    lines += [f"  one input p50: {lat['variant']['p50_ms']} ms vs {lat['pytorch']['p50_ms']} ms in PyTorch; "
              f"size {size['variant']} MB vs {size['pytorch']} MB", f"  {report['verdict']}"]
    if not report["recommended"]:
        other = "" if backend == ONNX else " or onnx"
        lines.append("  WARNING: this variant lost more quality than allowed at export. "
                     f"Prefer BACKEND='pytorch'{other} unless its speed is worth that loss to you.")
    text = "\n".join(lines)
    return text


def points(scores: dict, keys: Sequence[str], scale: float) -> dict[str, float]:
    """``scores[k] * scale`` for each of ``keys``, rounded: a family's scores in points for the gate."""
    return {k: round(float(scores[k]) * scale, 4) for k in keys}

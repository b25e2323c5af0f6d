"""Which ONNX variants of an export are worth deploying: each one gated, scored and timed.

:func:`export_variants` writes the variants of :mod:`helpers.core.onnx` next to the PyTorch
weights and writes a ``quality-report.json`` beside each graph.

**The gate decides on gate inputs, never on the test set.** Whether a variant is recommended is a
deployment decision; taking it on test scores would make the test set a selection set. The gate
inputs are inputs that are not test inputs and need no labels (unlabelled texts, training
questions, ...). The variant's prediction for each one is compared with the PyTorch model's, with
the family's own metric and PyTorch's predictions as the reference: its *agreement* with PyTorch,
in points. A variant is recommended iff every agreement metric is at least ``100 - max_drop``.

Why agreement is enough: a score that each input earns or not (accuracy, exact match, recall@1)
can only change on the inputs where the variant's prediction differs from PyTorch's, by one input
each. So a variant that agrees with PyTorch on all but d% of the gate inputs loses at most d points
of it there, whatever the labels: the gate bounds the drop on the gate inputs without a single
label. Span F1 cannot drop by more than the exact-match disagreement either. Aggregates over
classes (macro-F1) and deeper ranking scores (recall@5, MRR) are not bounded as tightly; the other
agreement metrics (answer F1, top-k overlap) say how close the rest is. The gate says nothing about
inputs unlike the gate inputs, and gate inputs the model was trained on (pseudo-labelled texts,
training questions) may be easier to agree on than new ones.

The report keeps the test scores of both models and their difference **for information**: they
are measured as before, shown beside the decision, and decide nothing.

Nothing here knows a family. A family describes itself with a :class:`VariantAdapter` (how its
export is loaded in a backend, scored on the test set, run on the gate inputs, compared, and timed
on one input) and calls :func:`export_variants`; the adapters live in the family modules
(``classification.variant_adapter`` and the like).

Report layout (``quality-report.json``, scores in points)::

    {"backend", "kind", "folder", "fingerprint", "scores_in",
     "gate": {"inputs", "source", "agreement": {metric: points}, "max_drop", "required",
              "recommended": true | false | null, "verdict"},
     "test": {"note", "examples", "pytorch": {...}, "variant": {...}, "difference": {...},
              "largest_drop", "same_prediction"},
     "latency_single", "size_mb", "scored_in", "onnxruntime", "created",
     "calibration": {"inputs", "source", "in_gate_inputs", "test_inputs_left_out", "method", ...}}
                                        (static int8 only: what it was calibrated on)

The static int8 variant is calibrated on inputs the adapter supplies (the classification family's
unlabelled texts, never test inputs, preferably not gate inputs). When they overlap the gate inputs
(a small folder), the report says how many do: the gate is then judged partly on the texts the
activation scales were fitted to.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.core.errors import ExportError
from helpers.core.export import write_tarball
from helpers.core.files import apply_umask
from helpers.core.onnx import (
    CALIBRATED,
    GRAPH_FILE,
    MAX_CALIBRATION_INPUTS,
    ONNX,
    ONNX_INT8,
    ONNX_INT8_STATIC,
    PYTORCH,
    VARIANTS,
    check_backend,
    export_onnx,
    graph_metadata,
    quantize_int8,
    quantize_int8_static,
    require_onnxruntime,
    text_feeds,
    weights_fingerprint,
)
from helpers.core.timing import measure_latency

REPORT_FILE = "quality-report.json"
DEFAULT_MAX_DROP = 1.0
"""Largest disagreement with PyTorch on the gate inputs, in points (percent), that still leaves a
variant recommended: every agreement metric must be at least ``100 - max_drop``."""
NO_GATE_VERDICT = "not decided: no gate inputs"
TEST_NOTE = "for information only: the test set decides nothing"
INT8_NOTE = ("; int8 activations are quantised per batch, so an int8 prediction can differ slightly "
             "with the batch it is made in")
STATIC_NOTE = ("; static int8: activation scales were fixed at calibration, so a prediction does not "
               "depend on the batch it is made in")
NOTES = {ONNX_INT8: INT8_NOTE, ONNX_INT8_STATIC: STATIC_NOTE}


# ---------------------------------------------------------------------------------------
# Quality reports
# ---------------------------------------------------------------------------------------


def quality_gate(agreement: dict[str, float] | None, inputs: int, max_drop: float = DEFAULT_MAX_DROP,
                 source: str = "") -> dict:
    """Decide on a variant from its agreement with PyTorch (points) on ``inputs`` gate inputs.

    Recommended iff every agreement metric is at least ``100 - max_drop``: a variant that agrees
    on all but d% of the inputs loses at most d points on them, whatever the labels (see the
    module docstring). Without gate inputs nothing is decided (``recommended`` is None); the test
    set never stands in for them.

    Returns:
        ``{"inputs", "source", "agreement", "max_drop", "required", "recommended", "verdict"}``.
    """
    required = round(100.0 - max_drop, 4)
    gate = {"inputs": int(inputs), "source": source,
            "agreement": {k: round(float(v), 4) for k, v in (agreement or {}).items()},
            "max_drop": max_drop, "required": required}
    if not inputs or not agreement:
        return {**gate, "recommended": None,
                "verdict": f"{NO_GATE_VERDICT} (inputs outside the test set on which to compare the variant "
                           "with PyTorch); the test scores do not stand in for them. Fix: re-export the "
                           "variants with gate inputs (the training notebooks pass them)."}
    metric, lowest = min(gate["agreement"].items(), key=lambda kv: kv[1])
    on = f"on {inputs} {source}".rstrip()
    recommended = lowest >= required - 1e-9
    verdict = (f"recommended: its lowest agreement with PyTorch, {lowest:.2f} points ({metric}) {on}, "
               f"reaches the {required:g} required (MAX_QUALITY_DROP {max_drop:g})" if recommended else
               f"NOT RECOMMENDED: agreement with PyTorch falls to {lowest:.2f} points ({metric}) {on}; "
               f"at least {required:g} required (MAX_QUALITY_DROP {max_drop:g})")
    return {**gate, "recommended": bool(recommended), "verdict": verdict}


def score_difference(reference: dict[str, float], variant: dict[str, float]) -> dict:
    """The variant's test scores minus PyTorch's, and the largest drop (gains do not offset drops).

    For information only: :func:`quality_gate` decides.
    """
    difference = {k: round(variant[k] - reference[k], 4) for k in reference}
    largest_drop = max([0.0, *(-d for d in difference.values())])
    return {"difference": difference, "largest_drop": round(largest_drop, 4)}


def sample_gate_inputs(items, cap: int | None, seed: int = 0):
    """At most ``cap`` distinct ``items`` (a list, Series or DataFrame), a seeded sample, in their order.

    ``cap`` None, or fewer items than ``cap``, keeps them all. Returns a list, or a DataFrame
    with a fresh index when given one.
    """
    frame = items if isinstance(items, pd.DataFrame) else pd.Series(list(items), dtype=object)
    frame = frame.drop_duplicates()
    if cap is not None and len(frame) > cap:
        frame = frame.sample(n=int(cap), random_state=seed).sort_index()
    return frame.reset_index(drop=True) if isinstance(frame, pd.DataFrame) else frame.tolist()


def outside_test(gate_inputs, test_inputs, source: str) -> tuple[list, str]:
    """The gate inputs that are not test inputs (in their order), and ``source`` saying how many
    test inputs were left out of them, for the report."""
    gate_inputs = [] if gate_inputs is None else list(gate_inputs)
    test = set(test_inputs)
    kept = [x for x in gate_inputs if x not in test]
    if len(kept) < len(gate_inputs):
        source += f" ({len(gate_inputs) - len(kept)} also in the test set left out)"
    return kept, source


def calibration_sample(pool, gate_inputs, test_inputs, cap: int | None = MAX_CALIBRATION_INPUTS,
                       seed: int = 0) -> tuple[list, dict]:
    """Calibration inputs for static int8: at most ``cap`` distinct ``pool`` items, never a test input.

    Items that are not gate inputs come first (a seeded sample of them); only when there are fewer
    than ``cap`` of those are gate inputs added (a seeded sample too), since a variant calibrated
    on the inputs that judge it may look better there than elsewhere. Returns the inputs and what
    the report records: ``{"inputs", "in_gate_inputs", "test_inputs_left_out"}``.
    """
    pool = sample_gate_inputs(pool, None)
    test, gate = set(test_inputs), set(gate_inputs or [])
    kept = [x for x in pool if x not in test]
    outside = sample_gate_inputs([x for x in kept if x not in gate], cap, seed)
    room = None if cap is None else max(int(cap) - len(outside), 0)
    inside = sample_gate_inputs([x for x in kept if x in gate], room, seed) if room != 0 else []
    chosen = outside + inside
    return chosen, {"inputs": len(chosen), "in_gate_inputs": len(inside),
                    "test_inputs_left_out": len(pool) - len(kept)}


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
    """How one family's export is loaded, gated, scored and timed for :func:`export_variants`.

    ``gate`` runs a model on the gate inputs (never test inputs; no labels) and returns one
    prediction per input, in the same order for every backend; ``agreement(variant_predictions,
    pytorch_predictions)`` compares them with the family's metric, PyTorch's as the reference, in
    points. Without ``gate`` (or with no gate inputs) the gate does not decide.
    """

    kind: str
    weights_dir: Path
    load: Callable[[str], object]          # backend -> runnable model
    score: Callable[[object], tuple]       # model -> (test scores in points, one prediction per test example)
    one: Callable[[object, int], object]   # (model, i) -> one prediction, for latency
    n_inputs: int                          # test examples
    model_and_tokenizer: Callable[[], tuple]  # the PyTorch model, tokenizer and max_length for export
    batching: str = ""                      # how inputs are batched when run (for the report)
    gate: Callable[[object], list] | None = None  # model -> one prediction per gate input
    agreement: Callable[[list, list], dict] | None = None  # (variant, pytorch predictions) -> points
    gate_source: str = ""                   # what the gate inputs are ("unlabelled texts"), for the report
    calibration: Sequence[str] | None = None  # texts to calibrate static int8 on (never test inputs)
    calibration_info: dict | None = None    # what they are, for the report ({"inputs", "source", ...})


def available_variants(adapter: VariantAdapter, backends: Sequence[str] | None = None) -> list[str]:
    """The variants to export: ``backends``, or by default every variant the adapter can make.

    By default a variant that needs calibration (:data:`~helpers.core.onnx.CALIBRATED`) is skipped,
    with a printed line saying why, when the adapter has no calibration inputs. Asked for
    explicitly without them, it is an :class:`ExportError`.
    """
    if backends is None:
        chosen = list(VARIANTS)
        if not adapter.calibration:
            chosen = [b for b in chosen if b not in CALIBRATED]
            print(f"{', '.join(CALIBRATED)}: skipped, no calibration inputs for this {adapter.kind} export "
                  "(the classification family passes its unlabelled texts as calibration_texts).", flush=True)
        return chosen
    chosen = [check_backend(b) for b in backends if b != PYTORCH]
    missing = [b for b in chosen if b in CALIBRATED]
    if missing and not adapter.calibration:
        raise ExportError(f"{', '.join(missing)} needs calibration inputs (unlabelled texts of the task, "
                          "never test texts) and this export has none. Fix: pass calibration_texts=... (the "
                          "classification family), or leave it out of backends.")
    return chosen


def export_variants(folder: str | Path, adapter: VariantAdapter, max_drop: float = DEFAULT_MAX_DROP,
                    backends: Sequence[str] | None = None, tarball: str | Path | None = None,
                    latency_repeats: int = 30) -> pd.DataFrame:
    """Export the ONNX variants of ``folder``, gate each one, score it on the test set, write the reports.

    ``backends``: by default every variant the adapter can make (:func:`available_variants`: the
    static int8 one only with calibration inputs). Returns the table of :func:`reports_table`.
    ``tarball``, when given, is re-written so that it holds the variants too. The variant folders
    get the modes of the umask (``apply_umask``).
    """
    folder = Path(folder)
    backends = available_variants(adapter, backends)
    fingerprint = weights_fingerprint(adapter.weights_dir)
    for backend in VARIANTS:
        if (folder / backend).exists():
            shutil.rmtree(folder / backend)
    model, tokenizer, max_length = adapter.model_and_tokenizer()
    fp32 = export_onnx(model, tokenizer, folder / ONNX / GRAPH_FILE, adapter.kind, fingerprint, max_length)
    del model
    if ONNX_INT8 in backends:
        quantize_int8(fp32, folder / ONNX_INT8 / GRAPH_FILE)
    if ONNX_INT8_STATIC in backends:
        quantize_int8_static(fp32, folder / ONNX_INT8_STATIC / GRAPH_FILE,
                             text_feeds(tokenizer, adapter.calibration, max_length or 256),
                             calibration=adapter.calibration_info)
    if ONNX not in backends:
        shutil.rmtree(folder / ONNX)
    table = score_variants(folder, adapter, backends, max_drop, latency_repeats)
    for backend in backends:
        apply_umask(folder / backend)
    if tarball:
        write_tarball(folder, tarball)
    return table


def smoothed(record: dict | None) -> str:
    """`` after SmoothQuant (alpha 0.8, 24 activations)`` for a report's ``smoothing`` record."""
    if not record:
        return ""
    return f" after SmoothQuant (alpha {record['alpha']}, {record['activations']} activations)"


def score_variants(folder: str | Path, adapter: VariantAdapter, backends: Sequence[str] | None = None,
                   max_drop: float = DEFAULT_MAX_DROP, latency_repeats: int = 30) -> pd.DataFrame:
    """Gate and score existing variants against the PyTorch model and (re)write their quality reports.

    ``backends``: by default every variant there is in ``folder``. The decision comes from
    :func:`quality_gate` on the gate inputs; the test scores are recorded beside it for information
    (see the module docstring).
    """
    folder = Path(folder)
    if backends is None:
        backends = [b for b in VARIANTS if (folder / b / GRAPH_FILE).is_file()]
    reference = adapter.load(PYTORCH)
    ref_gate = list(adapter.gate(reference)) if adapter.gate is not None else []
    ref_scores, ref_predictions = adapter.score(reference)
    ref_latency = _latency(adapter, reference, latency_repeats)
    fingerprint = weights_fingerprint(adapter.weights_dir)
    reports = {}
    for backend in backends:
        runner = adapter.load(backend)
        agreement = None
        if ref_gate:
            agreement = adapter.agreement(list(adapter.gate(runner)), ref_gate)
        scores, predictions = adapter.score(runner)
        same = sum(a == b for a, b in zip(predictions, ref_predictions, strict=True))
        report = {
            "backend": backend, "kind": adapter.kind, "folder": str(folder),
            "fingerprint": fingerprint, "scores_in": "points (percent)",
            "gate": quality_gate(agreement, len(ref_gate), max_drop, adapter.gate_source),
            "test": {"note": TEST_NOTE, "examples": adapter.n_inputs, "pytorch": ref_scores,
                     "variant": scores, **score_difference(ref_scores, scores),
                     "same_prediction": round(100 * same / max(len(predictions), 1), 2)},
            "latency_single": {"pytorch": ref_latency, "variant": _latency(adapter, runner, latency_repeats)},
            "size_mb": {"pytorch": folder_size_mb(adapter.weights_dir),
                        "variant": folder_size_mb(folder / backend / GRAPH_FILE)},
            "scored_in": adapter.batching + NOTES.get(backend, ""),
            "onnxruntime": require_onnxruntime().__version__,
            "created": time.strftime("%Y-%m-%d %H:%M"),
        }
        if backend in CALIBRATED:
            meta = graph_metadata(folder / backend / GRAPH_FILE)
            report["calibration"] = json.loads(meta.get("calibration", "{}"))
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
    """One row per variant: the gate (inputs, each agreement metric, recommended), then the test scores
    of PyTorch and the variant for information, the share of test predictions that are the same,
    latency and size."""
    rows = []
    for backend, r in reports.items():
        gate, test = r["gate"], r["test"]
        row = {"backend": backend, "gate inputs": gate["inputs"]}
        row.update({f"gate {metric}": round(value, 2) for metric, value in gate["agreement"].items()})
        row["recommended"] = gate["recommended"]
        for metric, value in test["pytorch"].items():
            row[f"{metric} pytorch"] = round(value, 2)
            row[f"{metric} variant"] = round(test["variant"][metric], 2)
        row.update({"test largest drop": test["largest_drop"], "same on test %": test["same_prediction"],
                    "p50 ms pytorch": r["latency_single"]["pytorch"]["p50_ms"],
                    "p50 ms variant": r["latency_single"]["variant"]["p50_ms"],
                    "MB pytorch": r["size_mb"]["pytorch"], "MB variant": r["size_mb"]["variant"]})
        rows.append(row)
    return pd.DataFrame(rows)


def describe_backend(folder: str | Path, backend: str) -> str:
    """What the deployment notebooks print about the backend they loaded: the gate's agreement and
    verdict first, then the test scores for information, latency and size."""
    if check_backend(backend) == PYTORCH:
        return "backend: pytorch (the reference; eager PyTorch on CPU)"
    report = read_report(folder, backend)
    if report is None:
        return (f"backend: {backend}; no quality report next to it ({Path(folder) / backend / REPORT_FILE}): "
                "its accuracy was never measured. Re-export the variants to measure it.")
    if "gate" not in report:
        return (f"backend: {backend}; its quality report ({report.get('created', 'undated')}) comes from an "
                "older export, which decided on the test set. WARNING: this variant was never compared with "
                "PyTorch on inputs outside the test set. Fix: re-export the variants (the training notebook "
                "with EXPORT_ONNX=True) to get a decision from the gate.")
    gate, test = report["gate"], report["test"]
    lines = [f"backend: {backend} (measured at export, {report['created']})"]
    if gate["inputs"]:
        agreement = ", ".join(f"{m} {v:.2f}" for m, v in gate["agreement"].items())
        lines.append(f"  gate: agreement with PyTorch on {gate['inputs']} {gate['source']} "
                     f"(not test inputs; no labels needed), in points: {agreement}")
    lines.append(f"  {gate['verdict']}")
    scores = ", ".join(f"{m} {test['variant'][m]:.1f} vs {v:.1f} in PyTorch ({test['difference'][m]:+.2f})"
                       for m, v in test["pytorch"].items())
    lines.append(f"  test set, for information ({test['examples']} examples; it decides nothing): {scores}; "
                 f"same prediction as PyTorch on {test['same_prediction']:.1f}% of them")
    if "calibration" in report:
        c = report["calibration"]
        lines.append(f"  calibrated on {c.get('inputs', '?')} {c.get('source', 'inputs')} "
                     f"({c.get('in_gate_inputs', '?')} of them also gate inputs, no test inputs; "
                     f"{c.get('method', '?')}{smoothed(c.get('smoothing'))}, "
                     f"{c.get('quantised_nodes', '?')} weight products int8; "
                     f"fp32: {', '.join(k for k, n in c.get('fp32_nodes', {}).items() if n)})")
    lat, size = report["latency_single"], report["size_mb"]
    lines.append(f"  one input p50: {lat['variant']['p50_ms']} ms vs {lat['pytorch']['p50_ms']} ms in "
                 f"PyTorch; size {size['variant']} MB vs {size['pytorch']} MB")
    if gate["recommended"] is False:
        other = "" if backend == ONNX else " or onnx"
        lines.append("  WARNING: this variant disagreed with PyTorch more than allowed at export. "
                     f"Prefer BACKEND='pytorch'{other} unless its speed is worth that loss to you.")
    elif gate["recommended"] is None:
        lines.append("  WARNING: whether this variant is good enough was never decided; compare it with "
                     "PyTorch on your own inputs before relying on it.")
    return "\n".join(lines)


def points(scores: dict, keys: Sequence[str], scale: float) -> dict[str, float]:
    """``scores[k] * scale`` for each of ``keys``, rounded: a family's scores in points for the gate."""
    return {k: round(float(scores[k]) * scale, 4) for k in keys}

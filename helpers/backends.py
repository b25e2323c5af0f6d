"""Fast CPU deployment: ONNX Runtime and int8 variants of an export, each with its measured cost.

From an exported classifier, extractive QA model or retriever encoder this module writes two
variants next to the PyTorch weights, inside the export folder (so the tarball carries them)::

    model/                     (or retriever/)
        model.safetensors ...  the PyTorch export
        onnx/
            model.onnx            fp32 graph, dynamic batch and sequence axes
            quality-report.json   scores of PyTorch and of this variant on the test set, the
                                  difference, the share of test examples on which the two
                                  predict the same (label, answer span, or top-k passages),
                                  latency, size, and whether it is recommended
        onnx-int8/
            model.onnx            the same graph with int8 weights (ONNX Runtime dynamic quantisation)
            quality-report.json

The graph is made by ``torch.onnx.export`` (the dynamo exporter, onnxscript's optimiser) and the
int8 weights by ``onnxruntime.quantization.quantize_dynamic``: no hand-written graph code.
(optimum's exporter would pin transformers below 5 here, so it is not used.)

Every ``model.onnx`` carries, in its metadata, the model kind, its output names and a fingerprint
(SHA-256) of the PyTorch weights it was made from. Loading a variant checks the fingerprint against
the weights in the folder, so an ONNX file copied from another model, or left over from an
earlier training run, is refused with a message that says how to re-export.

Loading goes through the families' usual loaders with a ``backend`` argument (``"pytorch"``,
``"onnx"`` or ``"onnx-int8"``): :meth:`helpers.classification.TextClassifier.from_export`,
:meth:`helpers.qa_extractive.QuestionAnswerer.from_export`, :func:`helpers.retrieval.load_retriever`.
The ONNX model objects here answer the same calls as the PyTorch ones (:class:`OnnxModel` returns
the same output objects, :class:`OnnxSentenceEncoder` the same unit-length embeddings), so every
prediction helper runs unchanged whatever the backend.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.export import ExportError, write_tarball

PYTORCH, ONNX, ONNX_INT8 = "pytorch", "onnx", "onnx-int8"
BACKENDS = (PYTORCH, ONNX, ONNX_INT8)
VARIANTS = (ONNX, ONNX_INT8)
CLASSIFIER, QUESTION_ANSWERING, ENCODER = "classifier", "question-answering", "encoder"
OUTPUT_NAMES = {
    CLASSIFIER: ("logits",),
    QUESTION_ANSWERING: ("start_logits", "end_logits"),
    ENCODER: ("sentence_embedding",),
}
GRAPH_FILE = "model.onnx"
REPORT_FILE = "quality-report.json"
DEFAULT_MAX_DROP = 1.0
"""Largest quality drop, in points (percent), that still leaves a variant recommended."""
INSTALL_HINT = "pip install onnxruntime onnx onnxscript"
INT8_NOTE = ("; int8 activations are quantised per batch, so an int8 prediction can differ slightly "
             "with the batch it is made in")
_META_PREFIX = "slm_notebooks."


class BackendError(ExportError):
    """A backend that cannot be used for this export; the message names the cause and the fix."""


def require_onnxruntime():
    """Import onnxruntime, or raise an ImportError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(
            f"The ONNX backends need onnxruntime, which is not installed. Fix: `{INSTALL_HINT}` "
            "(they are in requirements.txt), or use BACKEND='pytorch'."
        ) from err
    return onnxruntime


def check_backend(backend: str) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else a ValueError listing them."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}. Fix: use one of {', '.join(BACKENDS)}.")
    return backend


# ---------------------------------------------------------------------------------------
# Fingerprints and metadata
# ---------------------------------------------------------------------------------------


def weights_fingerprint(weights_dir: str | Path) -> str:
    """SHA-256 over the ``*.safetensors`` files of a folder (names and bytes, in name order)."""
    weights_dir = Path(weights_dir)
    files = sorted(weights_dir.glob("*.safetensors"))
    if not files:
        raise ExportError(
            f"{weights_dir} holds no *.safetensors weights. Fix: point at an export folder written "
            "by a training notebook (or re-run its export step)."
        )
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def graph_metadata(path: str | Path) -> dict[str, str]:
    """The ``slm_notebooks.*`` metadata written into ``model.onnx`` at export (prefix removed)."""
    ort = require_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return session_metadata(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]))


def session_metadata(session) -> dict[str, str]:
    """:func:`graph_metadata` of a graph already opened (no second load of the file)."""
    meta = session.get_modelmeta().custom_metadata_map
    return {k[len(_META_PREFIX):]: v for k, v in meta.items() if k.startswith(_META_PREFIX)}


def _write_metadata(path: Path, meta: dict[str, str]) -> None:
    import onnx

    graph = onnx.load(str(path))
    kept = [p for p in graph.metadata_props if not p.key.startswith(_META_PREFIX)]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    for key, value in meta.items():
        graph.metadata_props.add(key=_META_PREFIX + key, value=str(value))
    onnx.save(graph, str(path))


# ---------------------------------------------------------------------------------------
# Export and quantisation
# ---------------------------------------------------------------------------------------


def input_names(tokenizer) -> list[str]:
    """The model inputs the tokenizer makes, in a fixed order (``token_type_ids`` only if it has them)."""
    return [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]


def _wrapper(model, kind: str, names: Sequence[str]):
    import torch

    class Outputs(torch.nn.Module):
        """Positional tensors in, plain output tensors out: what the exporter needs."""

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            inputs = dict(zip(names, tensors, strict=True))
            if kind == ENCODER:
                return self.model(inputs)["sentence_embedding"]
            out = self.model(**inputs)
            return out.logits if kind == CLASSIFIER else (out.start_logits, out.end_logits)

    return Outputs().eval()


def export_onnx(model, tokenizer, path: str | Path, kind: str, fingerprint: str,
                max_length: int | None = None) -> Path:
    """Write ``model`` as an fp32 ONNX graph with dynamic batch and sequence axes.

    Args:
        model: A transformers classifier or QA model, or a ``SentenceTransformer`` (``kind="encoder"``).
        tokenizer: Its tokenizer (decides the graph's inputs).
        path: The ``.onnx`` file to write (its folder is created).
        kind: ``"classifier"``, ``"question-answering"`` or ``"encoder"``.
        fingerprint: :func:`weights_fingerprint` of the weights the model was loaded from.
        max_length: Longest input the model is used with (recorded; encoders tokenize to it).

    The graph is written as one file, which ONNX caps at 2 GB: enough for the small models this
    project trains (MiniLM is 90 MB), not for billion-parameter ones.
    """
    import torch

    require_onnxruntime()
    if kind not in OUTPUT_NAMES:
        raise ValueError(f"Unknown model kind {kind!r}; use one of {', '.join(OUTPUT_NAMES)}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = input_names(tokenizer)
    # Two texts of different lengths, so that neither axis is traced as a constant.
    example = tokenizer(["a short text", "a somewhat longer text, so that the batch needs padding"],
                        padding=True, return_tensors="pt")
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _quiet_exporter():
            torch.onnx.export(
                _wrapper(model, kind, names), tuple(example[n] for n in names), str(path),
                input_names=names, output_names=list(OUTPUT_NAMES[kind]), dynamo=True,
                dynamic_shapes=(tuple({0: batch, 1: sequence} for _ in names),), external_data=False,
            )
    finally:
        model.train(was_training)
    _write_metadata(path, {"kind": kind, "fingerprint": fingerprint, "inputs": ",".join(names),
                           "outputs": ",".join(OUTPUT_NAMES[kind]), "max_length": max_length or "",
                           "precision": "fp32"})
    return path


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's progress lines and library warnings for the duration of an export."""
    names = ("torch.onnx", "torch._dynamo", "torch.export", "onnxscript", "root")
    loggers = [logging.getLogger(n) for n in names]
    levels = [logger.level for logger in loggers]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def quantize_int8(source: str | Path, target: str | Path) -> Path:
    """Dynamic int8 quantisation of an fp32 graph (weights int8, activations quantised on the fly).

    Uses ``onnxruntime.quantization.quantize_dynamic`` with signed int8 weights, per channel
    (one scale per output column, which keeps small heads accurate). The metadata of the source
    graph is carried over, with ``precision`` set to ``int8``.
    """
    require_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = graph_metadata(source)
    with _quiet_exporter():
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    _write_metadata(target, {**meta, "precision": "int8"})
    return target


# ---------------------------------------------------------------------------------------
# Running a variant
# ---------------------------------------------------------------------------------------


def variant_file(folder: str | Path, backend: str) -> Path:
    """``folder/<backend>/model.onnx``, or a :class:`BackendError` naming the export step."""
    check_backend(backend)
    if backend == PYTORCH:
        raise ValueError("The pytorch backend has no ONNX file; load it with the family's loader.")
    path = Path(folder) / backend / GRAPH_FILE
    if not path.is_file():
        raise BackendError(
            f"{Path(folder)} has no {backend} variant ({path} is missing). Fix: run the export step "
            "that makes it (EXPORT_ONNX=True in the training notebook, or helpers.backends.export_"
            "classifier_variants / export_qa_variants / export_retriever_variants on this folder), "
            "or use BACKEND='pytorch'."
        )
    return path


def open_session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime CPU session with all graph optimisations (``threads``: intra-op threads)."""
    ort = require_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_variant(path: Path, weights_dir: Path, kind: str,
                  meta: dict[str, str] | None = None) -> dict[str, str]:
    """The graph's metadata, after checking that it was made from these weights for this kind.

    ``meta``: the graph's metadata if its session is open already (else it is read from ``path``).

    Raises:
        BackendError: the graph has no export metadata, was made for another kind of model, or
            from other weights (another model, or an earlier training run).
    """
    meta = graph_metadata(path) if meta is None else meta
    fix = ("Fix: re-export the variants from this folder (EXPORT_ONNX=True in the training notebook, "
           "or helpers.backends.export_*_variants), or use BACKEND='pytorch'.")
    if "fingerprint" not in meta:
        raise BackendError(f"{path} was not written by helpers.backends (no source fingerprint in it), so "
                           f"it cannot be checked against the weights in {weights_dir}. {fix}")
    if meta.get("kind") != kind:
        raise BackendError(f"{path} is a {meta.get('kind')} graph, but a {kind} model is being loaded. {fix}")
    if meta["fingerprint"] != weights_fingerprint(weights_dir):
        raise BackendError(
            f"{path} was exported from other weights than those in {weights_dir} (another model, or an "
            f"earlier training run): its outputs would not match the PyTorch model. {fix}"
        )
    return meta


class OnnxModel:
    """An ONNX Runtime session that answers like the transformers model it was exported from.

    Called with the tokenizer's tensors, it returns the same output class with torch tensors
    (``logits``, or ``start_logits``/``end_logits``); ``config``, ``device``, ``eval()`` and
    ``to()`` are there, so :func:`helpers.classification.predict_proba` and
    :func:`helpers.qa_extractive.predict_answers` use it unchanged.
    """

    def __init__(self, path: str | Path, config, kind: str, threads: int | None = None, session=None):
        import torch

        self.path = Path(path)
        self.config = config
        self.kind = kind
        self.session = session or open_session(self.path, threads)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.device = torch.device("cpu")
        self.training = False

    def eval(self):
        return self

    def to(self, *args, **kwargs):
        return self

    def __call__(self, **inputs):
        import torch
        from transformers.modeling_outputs import QuestionAnsweringModelOutput, SequenceClassifierOutput

        feeds = {}
        for name in self.input_names:
            value = inputs.get(name)
            if value is None and name == "token_type_ids":
                value = torch.zeros_like(inputs["input_ids"])
            feeds[name] = np.asarray(value.cpu() if hasattr(value, "cpu") else value, dtype=np.int64)
        outputs = [torch.from_numpy(o) for o in self.session.run(None, feeds)]
        if self.kind == QUESTION_ANSWERING:
            return QuestionAnsweringModelOutput(start_logits=outputs[0], end_logits=outputs[1])
        return SequenceClassifierOutput(logits=outputs[0])


def load_onnx_model(folder: str | Path, backend: str, kind: str, threads: int | None = None) -> OnnxModel:
    """The ``backend`` variant of the export in ``folder`` as an :class:`OnnxModel` (checked first)."""
    from transformers import AutoConfig

    path = variant_file(folder, backend)
    session = open_session(path, threads)
    check_variant(path, Path(folder), kind, session_metadata(session))
    return OnnxModel(path, AutoConfig.from_pretrained(folder), kind, session=session)


class OnnxSentenceEncoder:
    """An ONNX encoder graph that makes the same unit-length embeddings as its SentenceTransformer.

    ``encode(texts)`` tokenizes (truncating to the exported ``max_length``), runs the graph in
    length-sorted batches, and returns float32 rows in input order.
    """

    def __init__(self, path: str | Path, tokenizer, max_length: int, batch_size: int = 32,
                 threads: int | None = None, session=None):
        self.path = Path(path)
        self.tokenizer = tokenizer
        self.max_seq_length = int(max_length)
        self.batch_size = batch_size
        self.session = session or open_session(self.path, threads)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self._dimension = int(self.encode(["dimension probe"]).shape[1])

    def get_embedding_dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str], batch_size: int | None = None, **_) -> np.ndarray:
        from helpers.training import length_sorted_batches

        texts = [str(t).strip() for t in texts]
        out = None
        for idx in length_sorted_batches(texts, batch_size or self.batch_size):
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.max_seq_length, return_tensors="np")
            emb = self.session.run(None, {n: enc[n].astype(np.int64) for n in self.input_names})[0]
            if out is None:
                out = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
            out[idx] = emb
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def load_onnx_encoder(folder: str | Path, weights_dir: str | Path, backend: str, batch_size: int = 32,
                      threads: int | None = None) -> OnnxSentenceEncoder:
    """The ``backend`` variant in ``folder`` (a retriever export) as an :class:`OnnxSentenceEncoder`."""
    from transformers import AutoTokenizer

    path = variant_file(folder, backend)
    session = open_session(path, threads)
    meta = check_variant(path, Path(weights_dir), ENCODER, session_metadata(session))
    tokenizer = AutoTokenizer.from_pretrained(weights_dir)
    return OnnxSentenceEncoder(path, tokenizer, int(meta.get("max_length") or 256), batch_size,
                               session=session)


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


def _latency(family: _Family, runner, repeats: int) -> dict[str, float]:
    """p50/p95 of one prediction, cycling through the test inputs (:func:`helpers.timing.measure_latency`)."""
    from helpers.timing import measure_latency

    timed = measure_latency(lambda i: family.one(runner, i), list(range(family.n_inputs)), repeats)
    return {k: round(timed[k], 2) for k in ("p50_ms", "p95_ms")}


@dataclass
class _Family:
    """How one model family is loaded, scored and timed for :func:`export_variants`."""

    kind: str
    weights_dir: Path
    load: Callable[[str], object]          # backend -> runnable model
    score: Callable[[object], tuple]       # model -> (scores in points, one prediction per test example)
    one: Callable[[object, int], object]   # (model, i) -> one prediction, for latency
    n_inputs: int
    model_and_tokenizer: Callable[[], tuple]  # the PyTorch model, tokenizer and max_length for export
    batching: str = ""                      # how the test set is batched when scored (for the report)


def export_variants(folder: str | Path, family: _Family, max_drop: float = DEFAULT_MAX_DROP,
                    backends: Sequence[str] = VARIANTS, tarball: str | Path | None = None,
                    latency_repeats: int = 30) -> pd.DataFrame:
    """Export the ONNX variants of ``folder``, score each on the test set, write their reports.

    Returns the table of :func:`reports_table`. ``tarball``, when given, is re-written so that it
    holds the variants too.
    """
    folder = Path(folder)
    backends = [check_backend(b) for b in backends if b != PYTORCH]
    fingerprint = weights_fingerprint(family.weights_dir)
    for backend in VARIANTS:
        if (folder / backend).exists():
            shutil.rmtree(folder / backend)
    model, tokenizer, max_length = family.model_and_tokenizer()
    fp32 = export_onnx(model, tokenizer, folder / ONNX / GRAPH_FILE, family.kind, fingerprint, max_length)
    del model
    if ONNX_INT8 in backends:
        quantize_int8(fp32, folder / ONNX_INT8 / GRAPH_FILE)
    if ONNX not in backends:
        shutil.rmtree(folder / ONNX)
    table = score_variants(folder, family, backends, max_drop, latency_repeats)
    if tarball:
        write_tarball(folder, tarball)
    return table


def score_variants(folder: str | Path, family: _Family, backends: Sequence[str] = VARIANTS,
                   max_drop: float = DEFAULT_MAX_DROP, latency_repeats: int = 30) -> pd.DataFrame:
    """Score existing variants against the PyTorch model and (re)write their quality reports."""
    folder = Path(folder)
    reference = family.load(PYTORCH)
    ref_scores, ref_predictions = family.score(reference)
    ref_latency = _latency(family, reference, latency_repeats)
    fingerprint = weights_fingerprint(family.weights_dir)
    reports = {}
    for backend in backends:
        runner = family.load(backend)
        scores, predictions = family.score(runner)
        same = sum(a == b for a, b in zip(predictions, ref_predictions, strict=True))
        report = {
            "backend": backend, "kind": family.kind, "folder": str(folder),
            "fingerprint": fingerprint,
            "scores_in": "points (percent)", "pytorch": ref_scores, "variant": scores,
            **quality_gate(ref_scores, scores, max_drop),
            "agreement": round(100 * same / max(len(predictions), 1), 2),
            "latency_single": {"pytorch": ref_latency, "variant": _latency(family, runner, latency_repeats)},
            "size_mb": {"pytorch": folder_size_mb(family.weights_dir),
                        "variant": folder_size_mb(folder / backend / GRAPH_FILE)},
            "test_examples": family.n_inputs,
            "scored_in": family.batching + (INT8_NOTE if backend == ONNX_INT8 else ""),
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


# ---------------------------------------------------------------------------------------
# The three families
# ---------------------------------------------------------------------------------------


def _points(scores: dict, keys: Sequence[str], scale: float) -> dict[str, float]:
    return {k: round(float(scores[k]) * scale, 4) for k in keys}


def classifier_family(folder: str | Path, texts: Sequence[str], labels: Sequence[str],
                      max_length: int = 256) -> _Family:
    """Scores: accuracy and macro-F1 on ``texts``/``labels``; latency: one text."""
    from helpers.classification import TextClassifier, evaluate_classifier
    from helpers.export import load_export

    texts, labels = list(texts), list(labels)

    def load(backend):
        return TextClassifier.from_export(folder, backend=backend, max_length=max_length)

    def score(c):
        result = evaluate_classifier(c.model, c.tokenizer, texts, labels, max_length)
        return _points(result, ("accuracy", "macro_f1"), 100), result["predictions"]

    def model_and_tokenizer():
        model, tokenizer, _ = load_export(folder)
        return model, tokenizer, max_length

    return _Family(CLASSIFIER, Path(folder), load, score, lambda c, i: c.predict_proba([texts[i]]),
                   len(texts), model_and_tokenizer, "batches of 32 texts sorted by length")


def export_classifier_variants(folder, texts, labels, max_drop: float = DEFAULT_MAX_DROP,
                               tarball=None, max_length: int = 256, backends=VARIANTS) -> pd.DataFrame:
    """ONNX and int8 variants of a classifier export, scored by accuracy and macro-F1 on a test set."""
    family = classifier_family(folder, texts, labels, max_length)
    return export_variants(folder, family, max_drop, backends, tarball)


def qa_family(folder: str | Path, frame: pd.DataFrame) -> _Family:
    """Scores: exact match and F1 of the span answers on ``frame`` (question, context, answer)."""
    from helpers.export import load_export
    from helpers.qa_extractive import QuestionAnswerer, auto_class, evaluate_answers

    questions, contexts = frame["question"].tolist(), frame["context"].tolist()

    def load(backend):
        return QuestionAnswerer.from_export(folder, backend=backend)

    def score(a):
        # Span questions only: yes/no questions get the stored prior whatever the backend.
        result = evaluate_answers(a.answer(questions, contexts), frame, a.yes_no_answer)
        table = result["scores"]
        group = "span" if "span" in table.index else "all"
        scores = {f"{group}_{k}": v for k, v in _points(table.loc[group], ("exact_match", "f1"), 1).items()}
        return scores, result["predictions"]["predicted"].tolist()

    def model_and_tokenizer():
        model, tokenizer, _ = load_export(folder, auto_class())
        return model, tokenizer, QuestionAnswerer.from_export(folder).settings["max_length"]

    return _Family(QUESTION_ANSWERING, Path(folder), load, score,
                   lambda a, i: a.answer([questions[i]], [contexts[i]]), len(frame), model_and_tokenizer,
                   "batches of 16 windows")


def export_qa_variants(folder, frame: pd.DataFrame, max_drop: float = DEFAULT_MAX_DROP, tarball=None,
                       backends=VARIANTS) -> pd.DataFrame:
    """ONNX and int8 variants of an extractive QA export, scored by EM and F1 on ``frame``."""
    return export_variants(folder, qa_family(folder, frame), max_drop, backends, tarball)


def retriever_family(folder: str | Path, collection, questions: Sequence[str], gold_ids: Sequence,
                     k: int = 5) -> _Family:
    """Scores: recall@1, recall@k and MRR@10 over the collection; latency: one question's search."""
    from helpers.retrieval import ENCODER_DIR, evaluate_retriever, load_retriever, load_sentence_transformer

    questions = list(questions)

    def load(backend):
        return load_retriever(folder, backend=backend)

    def score(r):
        result = evaluate_retriever(r.encoder, collection, questions, gold_ids, ks=(1, k))
        return (_points(result.metrics, ("recall@1", f"recall@{k}", "mrr@10"), 100),
                [tuple(row[:k]) for row in result.ranked_ids.tolist()])

    def model_and_tokenizer():
        model = load_sentence_transformer(str(Path(folder) / ENCODER_DIR))
        return model, model.tokenizer, model.max_seq_length

    return _Family(ENCODER, Path(folder) / ENCODER_DIR, load, score,
                   lambda r, i: r.retrieve(questions[i], k), len(questions), model_and_tokenizer,
                   "batches of 32 texts sorted by length")


def export_retriever_variants(folder, collection, questions, gold_ids, max_drop: float = DEFAULT_MAX_DROP,
                              tarball=None, k: int = 5, backends=VARIANTS) -> pd.DataFrame:
    """ONNX and int8 variants of a retriever's encoder, scored by recall and MRR on the test questions."""
    return export_variants(folder, retriever_family(folder, collection, questions, gold_ids, k), max_drop,
                           backends, tarball)

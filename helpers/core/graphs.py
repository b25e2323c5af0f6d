"""The ONNX variants of an export at run time: their files, ONNX Runtime sessions and checks.

Everything here needs only onnxruntime (imported when first used) and the standard library: no
torch, no transformers (an import-linter contract checks it), so :mod:`helpers.serving` uses it as
it is. Writing and quantising graphs, and the model objects that answer like transformers models,
are in :mod:`helpers.core.onnx`, which imports this module and gives its names under the same names.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpers.core.errors import BackendError, ExportError

PYTORCH, ONNX, ONNX_INT8, ONNX_INT8_STATIC = "pytorch", "onnx", "onnx-int8", "onnx-int8-static"
BACKENDS = (PYTORCH, ONNX, ONNX_INT8, ONNX_INT8_STATIC)
VARIANTS = (ONNX, ONNX_INT8, ONNX_INT8_STATIC)
CALIBRATED = (ONNX_INT8_STATIC,)
"""Variants that need calibration inputs (a family that has none skips them)."""
CLASSIFIER, QUESTION_ANSWERING, ENCODER = "classifier", "question-answering", "encoder"
OUTPUT_NAMES = {
    CLASSIFIER: ("logits",),
    QUESTION_ANSWERING: ("start_logits", "end_logits"),
    ENCODER: ("sentence_embedding",),
}
GRAPH_FILE = "model.onnx"
INSTALL_HINT = "pip install onnxruntime onnx onnxscript"
META_PREFIX = "slm_notebooks."
OR_PYTORCH = "or use BACKEND='pytorch'"
"""The last words of every fix here: what else to do. :mod:`helpers.serving`, which has no PyTorch
backend, passes its own."""


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
    return {k[len(META_PREFIX):]: v for k, v in meta.items() if k.startswith(META_PREFIX)}



def variant_file(folder: str | Path, backend: str, otherwise: str = OR_PYTORCH) -> Path:
    """``folder/<backend>/model.onnx``, or a :class:`BackendError` naming the export step.

    ``otherwise``: the alternative the fix ends with.
    """
    check_backend(backend)
    if backend == PYTORCH:
        raise ValueError("The pytorch backend has no ONNX file; load it with the family's loader.")
    path = Path(folder) / backend / GRAPH_FILE
    if not path.is_file():
        raise BackendError(
            f"{Path(folder)} has no {backend} variant ({path} is missing). Fix: run the export step "
            "that makes it (EXPORT_ONNX=True in the training notebook, or the family's "
            f"export_*_variants on this folder), {otherwise}."
        )
    return path


def open_session(path: str | Path, threads: int | None = None, memory_pattern: bool = True):
    """An ONNX Runtime CPU session with all graph optimisations (``threads``: intra-op threads).

    ``memory_pattern=False`` turns off ONNX Runtime's per-shape memory plans: with inputs of ever new
    shapes (texts of any length, in batches of any size) they only pile up (measured: the peak of a
    classifier scoring a CSV went from 208 to 305 MB over 6,000 texts), at no measurable speed cost.
    """
    ort = require_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_mem_pattern = memory_pattern
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_variant(path: Path, weights_dir: Path, kind: str,
                  meta: dict[str, str] | None = None, otherwise: str = OR_PYTORCH) -> dict[str, str]:
    """The graph's metadata, after checking that it was made from these weights for this kind.

    ``meta``: the graph's metadata if its session is open already (else it is read from ``path``);
    ``otherwise``: the alternative the fix ends with.

    Raises:
        BackendError: the graph has no export metadata, was made for another kind of model, or
            from other weights (another model, or an earlier training run).
    """
    meta = graph_metadata(path) if meta is None else meta
    fix = ("Fix: re-export the variants from this folder (EXPORT_ONNX=True in the training notebook, "
           f"or the family's export_*_variants), {otherwise}.")
    if "fingerprint" not in meta:
        raise BackendError(f"{path} was not written by helpers.core.onnx (no source fingerprint in it), so "
                           f"it cannot be checked against the weights in {weights_dir}. {fix}")
    if meta.get("kind") != kind:
        raise BackendError(f"{path} is a {meta.get('kind')} graph, but a {kind} model is being loaded. {fix}")
    if meta["fingerprint"] != weights_fingerprint(weights_dir):
        raise BackendError(
            f"{path} was exported from other weights than those in {weights_dir} (another model, or an "
            f"earlier training run): its outputs would not match the PyTorch model. {fix}"
        )
    return meta

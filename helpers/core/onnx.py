"""The ONNX Runtime side of a model export: write a graph, quantise it, check it, run it.

An export folder (a classifier, an extractive QA model or a retriever encoder) may carry two
variants of its PyTorch weights, each in a folder of its own::

    model/                     (or retriever/)
        model.safetensors ...  the PyTorch export
        onnx/model.onnx        fp32 graph, dynamic batch and sequence axes
        onnx-int8/model.onnx   the same graph with int8 weights (ONNX Runtime dynamic quantisation)

The graph is made by ``torch.onnx.export`` (the dynamo exporter, onnxscript's optimiser) and the
int8 weights by ``onnxruntime.quantization.quantize_dynamic``: no hand-written graph code.
(optimum's exporter would pin transformers below 5 here, so it is not used.)

Every ``model.onnx`` carries, in its metadata, the model kind, its output names and a fingerprint
(SHA-256) of the PyTorch weights it was made from. Loading a variant checks the fingerprint against
the weights in the folder, so an ONNX file copied from another model, or left over from an
earlier training run, is refused with a message that says how to re-export.

The model objects here answer the same calls as the PyTorch ones (:class:`OnnxModel` returns the
same output objects, :class:`OnnxSentenceEncoder` the same unit-length embeddings), so every
prediction helper runs unchanged whatever the backend. Which variants are worth deploying is
measured by :mod:`helpers.core.variants`.

Finding a variant's file, opening its session and checking it against the weights need neither torch
nor transformers: they are in :mod:`helpers.core.graphs` (shared with :mod:`helpers.serving`) and
imported here under the same names.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers.core.errors import BackendError, ExportError
from helpers.core.graphs import (
    BACKENDS,
    CLASSIFIER,
    ENCODER,
    GRAPH_FILE,
    INSTALL_HINT,
    META_PREFIX,
    ONNX,
    ONNX_INT8,
    OUTPUT_NAMES,
    PYTORCH,
    QUESTION_ANSWERING,
    VARIANTS,
    check_backend,
    check_variant,
    graph_metadata,
    open_session,
    require_onnxruntime,
    session_metadata,
    variant_file,
    weights_fingerprint,
)
from helpers.core.prediction import length_sorted_batches

__all__ = [
    "BackendError", "ExportError",
    "BACKENDS", "CLASSIFIER", "ENCODER", "GRAPH_FILE", "INSTALL_HINT", "ONNX", "ONNX_INT8", "OUTPUT_NAMES",
    "PYTORCH", "QUESTION_ANSWERING", "VARIANTS", "check_backend", "check_variant", "graph_metadata",
    "open_session", "require_onnxruntime", "session_metadata", "variant_file", "weights_fingerprint",
    "input_names", "export_onnx", "quantize_int8", "OnnxModel", "load_onnx_model", "OnnxSentenceEncoder",
    "load_onnx_encoder",
]

def _write_metadata(path: Path, meta: dict[str, str]) -> None:
    import onnx

    graph = onnx.load(str(path))
    kept = [p for p in graph.metadata_props if not p.key.startswith(META_PREFIX)]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    for key, value in meta.items():
        graph.metadata_props.add(key=META_PREFIX + key, value=str(value))
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


class OnnxModel:
    """An ONNX Runtime session that answers like the transformers model it was exported from.

    Called with the tokenizer's tensors, it returns the same output class with torch tensors
    (``logits``, or ``start_logits``/``end_logits``); ``config``, ``device``, ``eval()`` and
    ``to()`` are there, so :func:`helpers.classification.predict_proba` and
    :func:`helpers.question_answering.predict_answers` use it unchanged.
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

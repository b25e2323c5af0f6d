"""The ONNX Runtime side of a model export: write a graph, quantise it, check it, run it.

An export folder (a classifier, an extractive QA model or a retriever encoder) may carry up to
three variants of its PyTorch weights, each in a folder of its own::

    model/                          (or retriever/)
        model.safetensors ...       the PyTorch export
        onnx/model.onnx             fp32 graph, dynamic batch and sequence axes
        onnx-int8/model.onnx        the same graph with int8 weights (ONNX Runtime dynamic quantisation)
        onnx-int8-static/model.onnx int8 weights and activations, activation scales calibrated on
                                    the task's own unlabelled texts (static quantisation, QDQ)

The graph is made by ``torch.onnx.export`` (the dynamo exporter, onnxscript's optimiser) and the
int8 weights by ``onnxruntime.quantization.quantize_dynamic`` / ``quantize_static``: no
hand-written graph code. (optimum's exporter would pin transformers below 5 here, so it is not used.)

The static variant quantises only the weight matrix multiplications of the encoder layers
(:func:`int8_plan`): the embedding look-ups, every normalisation (``LayerNormalization``, or its
decomposed ``ReduceMean``/``Sub``/``Pow``/``Sqrt``/``Div`` form), ``Softmax``, the products of
activations (attention scores), pooling and the head stay fp32. The nodes are found by op type and
graph position, never by name.

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
    CALIBRATED,
    CLASSIFIER,
    ENCODER,
    GRAPH_FILE,
    INSTALL_HINT,
    META_PREFIX,
    ONNX,
    ONNX_INT8,
    ONNX_INT8_STATIC,
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
    "BACKENDS", "CALIBRATED", "CLASSIFIER", "ENCODER", "GRAPH_FILE", "INSTALL_HINT", "ONNX", "ONNX_INT8",
    "ONNX_INT8_STATIC", "OUTPUT_NAMES",
    "PYTORCH", "QUESTION_ANSWERING", "VARIANTS", "check_backend", "check_variant", "graph_metadata",
    "open_session", "require_onnxruntime", "session_metadata", "variant_file", "weights_fingerprint",
    "input_names", "export_onnx", "quantize_int8", "int8_plan", "text_feeds", "quantize_int8_static",
    "MAX_CALIBRATION_INPUTS", "STATIC_METHODS", "OnnxModel", "load_onnx_model", "OnnxSentenceEncoder",
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


def quantize_int8(source: str | Path, target: str | Path, keep_fp32: Sequence[str] | None = None) -> Path:
    """Dynamic int8 quantisation of an fp32 graph (weights int8, activations quantised on the fly).

    Uses ``onnxruntime.quantization.quantize_dynamic`` with signed int8 weights, per channel
    (one scale per output column, which keeps small heads accurate). The metadata of the source
    graph is carried over, with ``precision`` set to ``int8``.

    ``keep_fp32`` None (the default) lets ONNX Runtime quantise every node it can (embeddings,
    attention products and the head included); a sequence (possibly empty) quantises only the
    weight products of :func:`int8_plan` with those optional kinds also kept fp32.
    """
    require_onnxruntime()
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = graph_metadata(source)
    with tempfile.TemporaryDirectory() as tmp, _quiet_exporter():
        if keep_fp32 is None:
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
        else:
            named = Path(tmp) / "named.onnx"
            plan = int8_plan(_named(source, named), keep_fp32)
            quantize_dynamic(str(named), str(target), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul", "Gemm"], nodes_to_quantize=plan["quantize"])
    _write_metadata(target, {**meta, "precision": "int8"})
    return target


# ---------------------------------------------------------------------------------------
# Static int8: which nodes are quantised, calibration, quantisation
# ---------------------------------------------------------------------------------------

NORMALISATION_OPS = ("LayerNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization",
                     "SkipSimplifiedLayerNormalization", "ReduceMean")
ACTIVATION_OPS = ("Gelu", "FastGelu", "BiasGelu", "Relu", "Erf", "Mul", "Tanh", "Sigmoid", "QuickGelu")
OPTIONAL_FP32 = ("attention-output", "ffn-output")
"""Weight products that :func:`int8_plan` can also keep in fp32 when asked (``keep_fp32``)."""
MAX_CALIBRATION_INPUTS = 200
STATIC_METHODS = ("minmax", "percentile", "entropy")


def int8_plan(model, keep_fp32: Sequence[str] = ()) -> dict:
    """Which nodes of an fp32 graph get int8, and which stay fp32 and why: by op type and position.

    Quantised: the ``MatMul``/``Gemm`` nodes that multiply by a weight (an initializer), except
    the head. Kept fp32 (listed by kind, for the report and the tests):

    - ``embeddings``: ``Gather`` nodes that look up rows of an initializer;
    - ``normalisation``: ``LayerNormalization`` and its fused forms, or the decomposed pattern
      (``ReduceMean`` and every node fed by one: ``Sub``, the variance's ``ReduceMean``);
    - ``softmax``: ``Softmax``;
    - ``head``: weight products from which a graph output is reached without crossing a
      normalisation (the pooler and classifier of a BERT classifier; the linear head after mean
      pooling and L2 normalisation; a QA model's span head; none in a sentence encoder);
    - ``activation-products``: products of two activations (attention scores and context);
    - ``attention-output`` / ``ffn-output``, only if named in ``keep_fp32``: the output projection
      of attention (input from the heads' reshape) or of the feed-forward block (input from its
      activation), found as weight products whose bias-add feeds the residual add before a
      normalisation.

    Everything else (pooling's ``ReduceSum``/``Div``, ``Sqrt``, reshapes, masks) has no int8 kernel
    asked of it, so it stays fp32 too.
    """
    unknown = set(keep_fp32) - set(OPTIONAL_FP32)
    if unknown:
        raise ValueError(f"keep_fp32 takes {', '.join(OPTIONAL_FP32)}; not {', '.join(sorted(unknown))}.")
    graph = model.graph
    constants = {i.name for i in graph.initializer}
    constants |= {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    reduce_mean = {o for n in graph.node if n.op_type == "ReduceMean" for o in n.output}

    def is_norm(n) -> bool:
        return n.op_type in NORMALISATION_OPS or any(i in reduce_mean for i in n.input)

    products = [n for n in graph.node if n.op_type in ("MatMul", "Gemm")]
    weighted = [n for n in products if any(i in constants for i in n.input[:2])]
    head, seen, stack = [], set(), [o.name for o in graph.output]
    while stack:
        node = producer.get(stack.pop())
        if node is None or id(node) in seen or is_norm(node):
            continue
        seen.add(id(node))
        if node in weighted:
            head.append(node)
        stack.extend(node.input)

    def output_projection(n) -> str | None:
        """"attention-output" or "ffn-output" if ``n`` -> bias Add -> residual Add -> normalisation."""
        frontier = [n]
        for _ in range(3):
            frontier = [c for f in frontier for o in f.output for c in consumers.get(o, [])]
            if any(is_norm(c) for c in frontier):
                source = producer.get(n.input[0])
                activated = source is not None and source.op_type in ACTIVATION_OPS
                return "ffn-output" if activated else "attention-output"
            if not all(c.op_type == "Add" for c in frontier):
                return None
        return None

    kept: dict[str, list[str]] = {k: [] for k in ("embeddings", "normalisation", "softmax", "head",
                                                  "activation-products", *OPTIONAL_FP32)}
    quantize = []
    for n in weighted:
        if n in head:
            kept["head"].append(n.name)
            continue
        role = output_projection(n)
        if role in keep_fp32:
            kept[role].append(n.name)
        else:
            quantize.append(n.name)
    kept["activation-products"] = [n.name for n in products if n not in weighted]
    kept["embeddings"] = [n.name for n in graph.node if n.op_type == "Gather" and n.input[0] in constants]
    kept["normalisation"] = [n.name for n in graph.node if is_norm(n)]
    kept["softmax"] = [n.name for n in graph.node if n.op_type == "Softmax"]
    return {"quantize": quantize, "fp32": kept}


def _named(path: str | Path, target: Path):
    """The graph at ``path`` with a name on every node (the quantiser selects nodes by name)."""
    import onnx

    model = onnx.load(str(path))
    names = {n.name for n in model.graph.node}
    for i, n in enumerate(model.graph.node):
        if not n.name:
            while f"node_{i}" in names:
                i += 1 << 20
            n.name = f"node_{i}"
            names.add(n.name)
    onnx.save(model, str(target))
    return model


def text_feeds(tokenizer, texts: Sequence[str], max_length: int, batch_size: int = 16,
               same_length: bool = False) -> list[dict]:
    """Calibration feeds: ``texts`` tokenised in padded, length-sorted batches, keyed by the graph's
    input names (``int64``, as the graph takes them).

    ``same_length``: one text per batch, each padded to the longest text, as ONNX Runtime's histogram
    calibrators (percentile, entropy) need: they stack the batches and fail on batches of different
    shapes.
    """
    batch_size = 1 if same_length else batch_size
    names = input_names(tokenizer)
    texts = [str(t).strip() for t in texts]
    longest = max((len(tokenizer(t, truncation=True, max_length=max_length)["input_ids"]) for t in texts),
                  default=0)
    feeds = []
    for idx in length_sorted_batches(texts, batch_size):
        padding = {"padding": "max_length", "max_length": longest} if same_length else \
            {"padding": True, "max_length": max_length}
        enc = tokenizer([texts[i] for i in idx], truncation=True, return_tensors="np", **padding)
        feeds.append({n: enc[n].astype(np.int64) for n in names})
    return feeds


STATIC_SMOOTH = 0.8
"""SmoothQuant's ``alpha`` for the static variant (:func:`smooth_activations`). In the students
trained here the first token carries activations 6-9x wider than any other token's, in a few
channels, so one scale per tensor left the other tokens few levels. Measured on the five example
folders' students (3 seeds), alpha 0.7-0.9 all beat no smoothing; see the README."""

STATIC_KEEP_FP32 = ("ffn-output",)
"""What the static variant keeps in fp32 beyond the sensitive nodes: the feed-forward output
products, whose input (after GELU) has the widest activation range. Measured on the banking
classifier: agreement with fp32 on the test set 99.2% with them fp32, 93.8% with them int8
(``benchmarks/int8_static.py``)."""


def smooth_activations(model, nodes: Sequence[str], feeds: Sequence[dict], alpha: float = 0.5) -> dict:
    """Move activation outliers into the weights before static int8 (SmoothQuant), in place.

    A few channels of a transformer's activations run far wider than the rest, and one int8
    scale per tensor must cover them, which leaves the other channels a handful of levels. For each
    activation ``x`` that feeds the weight products ``nodes`` (``MatMul`` with a weight initializer
    ``W`` of shape [in, out]), with ``a_j`` the largest ``|x_j|`` over the calibration ``feeds`` and
    ``w_j`` the largest ``|W[j, :]|`` over every product reading ``x``, this sets

        s_j = a_j ** alpha / w_j ** (1 - alpha),   x -> x / s (a new fp32 ``Mul``),   W[j, :] -> s_j W[j, :]

    which leaves every product unchanged in fp32 (``x W = (x / s)(s W)``) and evens out the
    channels that int8 sees. ``alpha`` 1 moves all of the activations' range into the weights
    (every smoothed channel peaks at 1 on the feeds); 0 moves it all onto the activations (every
    weight row peaks at 1). Products whose weight is shared or not an initializer are skipped.
    Returns what was done: activations smoothed, products rescaled, the widest channel's range
    before and after (as multiples of the median channel's).
    """
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}.")
    graph = model.graph
    init = {i.name: i for i in graph.initializer}
    uses: dict[str, int] = {}
    for n in graph.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    groups: dict[str, list] = {}
    chosen = set(nodes)
    for n in graph.node:
        if n.name in chosen and n.op_type == "MatMul" and n.input[1] in init and uses[n.input[1]] == 1 \
                and len(init[n.input[1]].dims) == 2:
            groups.setdefault(n.input[0], []).append(n)
    if not groups:
        return {"alpha": alpha, "activations": 0, "products": 0}
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, None)
                              for x in groups)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    absmax = {x: None for x in groups}
    for feed in feeds:
        for x, value in zip(names, session.run(None, feed), strict=True):
            a = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            absmax[x] = a if absmax[x] is None else np.maximum(absmax[x], a)
    before, after = [], []
    for k, (x, products) in enumerate(groups.items()):
        weights = [numpy_helper.to_array(init[n.input[1]]).astype(np.float32) for n in products]
        w = np.max([np.abs(W).max(axis=1) for W in weights], axis=0)
        a = np.maximum(absmax[x], 1e-5)
        s = np.clip(a ** alpha / np.maximum(w, 1e-5) ** (1.0 - alpha), 1e-5, None).astype(np.float32)
        before.append(float(a.max() / np.median(a)))
        after.append(float((a / s).max() / np.median(a / s)))
        scale = f"smooth_{k}_inverse_scale"
        graph.initializer.append(numpy_helper.from_array((1.0 / s).astype(np.float32), scale))
        smoothed = f"{x}_smoothed"
        graph.node.append(onnx.helper.make_node("Mul", [x, scale], [smoothed], name=f"smooth_{k}"))
        for n, W in zip(products, weights, strict=True):
            init[n.input[1]].CopyFrom(numpy_helper.from_array(W * s[:, None], n.input[1]))
            n.input[0] = smoothed
    _topological_sort(graph)
    return {"alpha": alpha, "activations": len(groups), "products": sum(map(len, groups.values())),
            "widest_channel_before": round(max(before), 1), "widest_channel_after": round(max(after), 1)}


def _topological_sort(graph) -> None:
    """Reorder ``graph.node`` so every node comes after the producers of its inputs (ONNX requires it)."""
    ready = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        rest = []
        for n in pending:
            if all(i in ready for i in n.input):
                ordered.append(n)
                ready.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise ExportError(f"graph has a cycle or a missing input near node {rest[0].name!r}")
        pending = rest
    copies = [type(n)() for n in ordered]
    for c, n in zip(copies, ordered, strict=True):
        c.CopyFrom(n)
    del graph.node[:]
    graph.node.extend(copies)


def quantize_int8_static(source: str | Path, target: str | Path, feeds: Sequence[dict],
                         method: str = "minmax", keep_fp32: Sequence[str] = STATIC_KEEP_FP32,
                         symmetric_activations: bool = False, calibration: dict | None = None,
                         smooth: float | None = STATIC_SMOOTH) -> Path:
    """Static int8 quantisation of an fp32 graph, calibrated on ``feeds`` (see :func:`text_feeds`).

    QDQ format; weights signed int8, symmetric, one scale per output column; activations uint8
    with a zero point (``symmetric_activations``: int8 around 0), their scales fixed from the
    calibration batches by ``method`` (``"minmax"``, ``"percentile"`` or ``"entropy"``). Only
    the nodes :func:`int8_plan` lists under ``quantize`` are touched, with ``keep_fp32`` (by default
    the feed-forward output products, :data:`STATIC_KEEP_FP32`) also left fp32. ``smooth`` (an
    ``alpha`` in [0, 1]) first evens out the activations' channels on the same feeds
    (:func:`smooth_activations`; :data:`STATIC_SMOOTH` by default); None leaves the graph as
    exported. ``calibration`` (what the
    feeds were: count, source) is written into the graph's metadata with the plan's counts.

    Raises:
        ExportError: no calibration feeds.
    """
    require_onnxruntime()
    import json
    import tempfile

    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if method not in STATIC_METHODS:
        raise ValueError(f"Unknown calibration method {method!r}; use one of {', '.join(STATIC_METHODS)}.")
    feeds = list(feeds)
    if not feeds:
        raise ExportError(f"Static int8 needs calibration inputs and none were given. Fix: pass the task's "
                          f"unlabelled texts (calibration_texts=...), or leave {ONNX_INT8_STATIC} out.")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(feeds)

        def get_next(self):
            return next(self.batches, None)

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = graph_metadata(source)
    with tempfile.TemporaryDirectory() as tmp:
        named = Path(tmp) / "named.onnx"
        graph = _named(source, named)
        plan = int8_plan(graph, keep_fp32)
        smoothing = None
        if smooth is not None:
            import onnx

            smoothing = smooth_activations(graph, plan["quantize"], feeds, smooth)
            onnx.save(graph, str(named))
        calibrate = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                     "entropy": CalibrationMethod.Entropy}[method]
        with _quiet_exporter():
            quantize_static(
                str(named), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QInt8 if symmetric_activations else QuantType.QUInt8,
                weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"],
                nodes_to_quantize=plan["quantize"], calibrate_method=calibrate,
                extra_options={"WeightSymmetric": True, "ActivationSymmetric": bool(symmetric_activations)},
            )
    record = {**(calibration or {}), "batches": len(feeds), "method": method, "keep_fp32": list(keep_fp32),
              "activations": "int8 symmetric" if symmetric_activations else "uint8 asymmetric",
              "weights": "int8 symmetric, per channel", "quantised_nodes": len(plan["quantize"]),
              "fp32_nodes": {k: len(v) for k, v in plan["fp32"].items()}, "smoothing": smoothing}
    _write_metadata(target, {**meta, "precision": "int8-static", "calibration": json.dumps(record)})
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

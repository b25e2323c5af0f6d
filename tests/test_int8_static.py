"""Static int8 (onnx-int8-static): what is quantised and what stays fp32, calibration, the gate.

Tiny models built here (a 2-layer BERT around the real MiniLM tokenizer): no training.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import classification as clf
from helpers.classification import TextClassifier, build_student
from helpers.core import onnx as O
from helpers.core import variants as V
from helpers.core.errors import ExportError

LABELS = ["billing", "cards", "transfers"]
TEXTS = [  # the test texts
    "hi",
    "My card was declined at the supermarket this morning.",
    "Why was I charged twice for one coffee?",
    "I sent money to my landlord three days ago and it still shows as pending, is something wrong "
    "with the transfer or with his bank, and how long should I wait before I ask for it back?",
    "pin",
    " ".join(["statement"] * 400),  # longer than 256 tokens: truncated
]
GATE_TEXTS = [  # unlabelled; the last one is also a test text, so it is left out of the gate
    "my new card has not arrived yet",
    "can I get a refund for the fee on my statement?",
    "transfer to my savings account failed",
    "what is the exchange rate for a payment abroad",
    "the cash machine kept my card",
    "Why was I charged twice for one coffee?",
]
# The task's unlabelled texts: the gate texts, two more, and a test text (never used for calibration).
CALIBRATION_TEXTS = [*GATE_TEXTS, "how do I close my account", "the app shows a pending payment"]


def export_classifier(tiny_model_dir, folder, seed=1):
    model, tok = build_student(str(tiny_model_dir), LABELS, seed=seed)
    return clf.export_classification(model, tok, folder, "tiny")


SENSITIVE = ("LayerNormalization", "Softmax", "ReduceMean", "ReduceSum", "Sqrt", "Div", "Gather", "Tanh")


def producers(graph) -> dict:
    return {o: n for n in graph.node for o in n.output}


def fed_by_dequantize(node, producer) -> bool:
    return any(producer.get(i) is not None and producer[i].op_type == "DequantizeLinear" for i in node.input)


def head_nodes(graph) -> list:
    """The weight products between the last normalisation and the output, walked by hand."""
    producer, found, name = producers(graph), [], graph.output[0].name
    while name in producer and producer[name].op_type not in ("LayerNormalization", "ReduceMean"):
        node = producer[name]
        if node.op_type in ("MatMul", "Gemm"):
            found.append(node)
        name = node.input[0] if node.op_type != "Add" or node.input[0] in producer else node.input[1]
    return found


@pytest.fixture(scope="module")
def static_export(tiny_model_dir, tmp_path_factory):
    """A tiny classifier export with its three variants; the test labels are PyTorch's own predictions."""
    paths = export_classifier(tiny_model_dir, tmp_path_factory.mktemp("clf"))
    labels = TextClassifier.from_export(paths.model_dir).predict(TEXTS)["label"].tolist()
    table = clf.export_classifier_variants(paths.model_dir, TEXTS, labels, gate_texts=GATE_TEXTS,
                                           calibration_texts=CALIBRATION_TEXTS)
    return paths, labels, table


def test_static_variant_is_written_gated_and_loads(static_export):
    paths, labels, table = static_export
    row = table.set_index("backend").loc["onnx-int8-static"]
    assert row["gate inputs"] == 5 and row["recommended"] == (row["gate label_agreement"] >= 99.0)
    report = V.read_report(paths.model_dir, "onnx-int8-static")
    calibration = report["calibration"]
    # 8 unlabelled texts; one is a test text (left out); the 2 that are not gate inputs come first,
    # then the 5 gate texts fill up to 200.
    assert calibration["inputs"] == 7 and calibration["in_gate_inputs"] == 5
    assert calibration["test_inputs_left_out"] == 1 and calibration["source"] == "unlabelled texts"
    assert calibration["method"] == "minmax" and calibration["weights"] == "int8 symmetric, per channel"
    # 2 layers x (q, k, v, attention out, ffn in); the ffn out products stay fp32 (STATIC_KEEP_FP32)
    assert calibration["quantised_nodes"] == 10 and calibration["fp32_nodes"]["ffn-output"] == 2
    assert calibration["keep_fp32"] == ["ffn-output"]
    # SmoothQuant before quantising: one Mul per activation read by int8 products (2 layers x
    # q/k/v input, attention output input, ffn input), and every int8 product rescaled.
    assert calibration["smoothing"]["alpha"] == O.STATIC_SMOOTH
    assert calibration["smoothing"]["activations"] == 6 and calibration["smoothing"]["products"] == 10
    assert calibration["fp32_nodes"]["head"] == 1  # the classifier (the mean-pooled student has no pooler)
    assert calibration["fp32_nodes"]["softmax"] == 2 and calibration["fp32_nodes"]["embeddings"] == 3
    assert "does not depend on the batch" in report["scored_in"]
    meta = O.graph_metadata(paths.model_dir / "onnx-int8-static" / O.GRAPH_FILE)
    assert meta["precision"] == "int8-static"
    assert meta["fingerprint"] == O.weights_fingerprint(paths.model_dir)

    reference = TextClassifier.from_export(paths.model_dir).predict_proba(TEXTS)
    static = TextClassifier.from_export(paths.model_dir, backend="onnx-int8-static")
    probs = static.predict_proba(TEXTS)
    assert np.abs(probs - reference).max() < 0.02 and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert static.predict(TEXTS)["label"].tolist() == labels
    # Fixed activation scales: the same text gets the same probabilities alone or in a padded batch.
    static.batch_size = 1
    assert np.abs(static.predict_proba(TEXTS) - probs).max() < 1e-3
    text = V.describe_backend(paths.model_dir, "onnx-int8-static")
    assert "backend: onnx-int8-static" in text
    assert "calibrated on 7 unlabelled texts (5 of them also gate" in text
    assert f"minmax after SmoothQuant (alpha {O.STATIC_SMOOTH}, 6 activations), 10 weight products int8; " \
        "fp32: embeddings, normalisation, softmax, head, activation-products, ffn-output)" in text


def test_sensitive_nodes_stay_fp32_in_the_static_graph(static_export):
    import onnx

    paths, _, _ = static_export
    graph = onnx.load(str(paths.model_dir / "onnx-int8-static" / O.GRAPH_FILE)).graph
    producer = producers(graph)
    ops = [n.op_type for n in graph.node]
    assert ops.count("QuantizeLinear") > 0
    quantised = [n for n in graph.node if n.op_type in ("MatMul", "Gemm") and fed_by_dequantize(n, producer)]
    assert len(quantised) == 10
    for n in quantised:  # int8 weights, one scale per output column
        dq = next(producer[i] for i in n.input if producer.get(i) is not None
                  and producer[i].op_type == "DequantizeLinear" and producer[i].input[0] in
                  {t.name for t in graph.initializer})
        weight = next(t for t in graph.initializer if t.name == dq.input[0])
        scale = next(t for t in graph.initializer if t.name == dq.input[1])
        assert weight.data_type == onnx.TensorProto.INT8 and len(scale.dims) == 1 and scale.dims[0] > 1
    for n in graph.node:
        if n.op_type in SENSITIVE:
            assert not fed_by_dequantize(n, producer), f"{n.op_type} {n.name} is fed int8"
        if n.op_type == "MatMul" and n.input[0] in producer and producer[n.input[0]].op_type == "Gelu":
            assert not fed_by_dequantize(n, producer)  # the feed-forward output products
    head = head_nodes(graph)
    assert [n.op_type for n in head] == ["Gemm"]  # the classifier, after mean pooling (no pooler)
    assert not any(fed_by_dequantize(n, producer) for n in head)
    assert not any(t.data_type == onnx.TensorProto.INT8 for t in graph.initializer if "classifier" in t.name)
    # Products of two activations (attention scores and context) are not quantised either.
    float_products = [n for n in graph.node if n.op_type == "MatMul" and not fed_by_dequantize(n, producer)]
    assert len(float_products) == 4 + 2  # attention scores and context; the feed-forward outputs


@pytest.mark.parametrize("alpha", [0.0, O.STATIC_SMOOTH, 1.0])
def test_smoothing_keeps_the_fp32_graph_exact_and_moves_the_range_as_alpha_says(static_export, tmp_path,
                                                                                 alpha):
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper
    from transformers import AutoTokenizer

    paths, _, _ = static_export
    model = O._named(paths.model_dir / "onnx" / O.GRAPH_FILE, tmp_path / "named.onnx")
    original = onnx.ModelProto()
    original.CopyFrom(model)
    tok = AutoTokenizer.from_pretrained(paths.model_dir)
    feeds = O.text_feeds(tok, CALIBRATION_TEXTS, 64, batch_size=3)
    plan = O.int8_plan(model, O.STATIC_KEEP_FP32)
    record = O.smooth_activations(model, plan["quantize"], feeds, alpha)
    assert record["activations"] == 6 and record["products"] == 10 and record["alpha"] == alpha
    onnx.checker.check_model(model)
    before = ort.InferenceSession(original.SerializeToString(), providers=["CPUExecutionProvider"])
    after = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for feed in O.text_feeds(tok, TEXTS, 64, batch_size=2):  # other texts than the calibration ones
        np.testing.assert_allclose(after.run(None, feed)[0], before.run(None, feed)[0], atol=1e-5)
    smooths = [n for n in model.graph.node if n.op_type == "Mul" and n.name.startswith("smooth_")]
    assert len(smooths) == 6
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(n.output[0], onnx.TensorProto.FLOAT, None)
                              for n in smooths)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    peaks = np.max([[np.abs(v).reshape(-1, v.shape[-1]).max(0) for v in session.run(None, f)] for f in feeds],
                   axis=0)  # [activation, channel] over the calibration feeds
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    rows = [np.max([np.abs(init[c.input[1]]).max(1) for c in model.graph.node
                    if c.op_type == "MatMul" and c.input[0] == n.output[0]], axis=0) for n in smooths]
    if alpha == 1.0:  # all of the range went into the weights: every channel peaks at 1
        np.testing.assert_allclose(peaks, 1.0, rtol=1e-4)
    if alpha == 0.0:  # all of it onto the activations: every weight row peaks at 1
        np.testing.assert_allclose(np.array(rows), 1.0, rtol=1e-4)
    spread = peaks.max(1) / np.median(peaks, axis=1)
    assert alpha == 0.0 or spread.max() < record["widest_channel_before"]
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]; got 1.5"):
        O.smooth_activations(model, plan["quantize"], feeds, 1.5)


def test_the_plan_finds_nodes_by_position_not_by_name(static_export):
    import onnx

    paths, _, _ = static_export
    model = onnx.load(str(paths.model_dir / "onnx" / O.GRAPH_FILE))
    plan = O.int8_plan(model)
    for i, n in enumerate(model.graph.node):
        n.name = f"n{(i * 7919) % 100003}"  # other names, same graph
    renamed = O.int8_plan(model)
    assert {k: len(v) for k, v in renamed["fp32"].items()} == {k: len(v) for k, v in plan["fp32"].items()}
    assert len(renamed["quantize"]) == len(plan["quantize"]) == 12
    assert len(O.int8_plan(model, ("attention-output",))["quantize"]) == 10
    kept = O.int8_plan(model, ("attention-output", "ffn-output"))
    assert len(kept["quantize"]) == 8 and len(kept["fp32"]["ffn-output"]) == 2
    with pytest.raises(ValueError, match="keep_fp32 takes attention-output, ffn-output"):
        O.int8_plan(model, ("embeddings",))


def test_decomposed_layer_norm_and_its_head_stay_fp32():
    """A graph with LayerNorm spelled out (ReduceMean/Sub/Pow/Sqrt/Div) before a linear head."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = {n: numpy_helper.from_array(rng.normal(size=(8, 8)).astype(np.float32), n)
         for n in ("w1", "w2", "head")}
    c = [numpy_helper.from_array(np.array(v, dtype=np.float32), n) for n, v in (("two", 2.0), ("eps", 1e-5))]
    spec = [("MatMul", ["x", "w1"], "a"), ("Add", ["a", "x"], "r"), ("ReduceMean", ["r"], "mu"),
            ("Sub", ["r", "mu"], "d"), ("Pow", ["d", "two"], "d2"), ("ReduceMean", ["d2"], "var"),
            ("Add", ["var", "eps"], "ve"), ("Sqrt", ["ve"], "sd"), ("Div", ["d", "sd"], "n"),
            ("MatMul", ["n", "w2"], "h"), ("Relu", ["h"], "hr"), ("MatMul", ["hr", "head"], "logits")]
    nodes = [helper.make_node(op, inputs, [out], **({"axes": [-1]} if op == "ReduceMean" else {}))
             for op, inputs, out in spec]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 8])],
                              [*w.values(), *c])
    plan = O.int8_plan(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    names = {n.output[0]: n.name for n in nodes}
    assert plan["quantize"] == [names["a"]]  # the encoder's product; everything after the norm is head
    assert plan["fp32"]["head"] == [names["logits"], names["h"]]
    assert {names["mu"], names["d"], names["var"]} <= set(plan["fp32"]["normalisation"])


def test_mean_pooled_l2_normalised_head_stays_fp32(tiny_model_dir, tmp_path):
    """The student to come: encoder, mean pooling, L2 normalisation, linear head (``logits``)."""
    import onnx
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.modeling_outputs import SequenceClassifierOutput

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.encoder = AutoModel.from_pretrained(tiny_model_dir)
            self.head = torch.nn.Linear(32, 3)

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return SequenceClassifierOutput(logits=self.head(torch.nn.functional.normalize(pooled, dim=-1)))

    model = Pooled().eval()
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    fp32 = O.export_onnx(model, tok, tmp_path / "fp32" / "model.onnx", O.CLASSIFIER, "test")
    target = O.quantize_int8_static(fp32, tmp_path / "static" / "model.onnx",
                                    O.text_feeds(tok, CALIBRATION_TEXTS, 64), calibration={"inputs": 8})
    graph = onnx.load(str(target)).graph
    producer = producers(graph)
    head = producer["logits"]
    while head.op_type not in ("MatMul", "Gemm"):  # past the bias Add
        head = next(producer[i] for i in head.input if i in producer)
    assert not fed_by_dequantize(head, producer)
    pooling = [n for n in graph.node if n.op_type in ("ReduceSum", "ReduceL2", "Sqrt", "Div", "Clip", "Max")]
    assert pooling and not any(fed_by_dequantize(n, producer) for n in pooling)
    for n in graph.node:
        if n.op_type in SENSITIVE:
            assert not fed_by_dequantize(n, producer), f"{n.op_type} {n.name} is fed int8"
    meta = json.loads(O.graph_metadata(target)["calibration"])
    assert meta["quantised_nodes"] == 10 and meta["fp32_nodes"]["head"] == 1 and meta["inputs"] == 8
    batch = tok(TEXTS, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.inference_mode():
        expected = model(**batch).logits.numpy()
    got = O.OnnxModel(target, None, O.CLASSIFIER)(**batch).logits.numpy()
    assert np.abs(got - expected).max() < 0.05 and (got.argmax(1) == expected.argmax(1)).mean() >= 5 / 6


def test_calibration_texts_are_never_test_texts_and_gate_texts_come_last():
    pool = [f"u{i}" for i in range(10)] + ["t1", "t2", "u3"]  # a duplicate and two test texts
    gate = ["u0", "u1", "u2", "u3"]
    chosen, info = V.calibration_sample(pool, gate, ["t1", "t2", "t3"], cap=4, seed=0)
    assert len(chosen) == 4 and not set(chosen) & {"t1", "t2"} and not set(chosen) & set(gate)
    assert info == {"inputs": 4, "in_gate_inputs": 0, "test_inputs_left_out": 2}
    assert V.calibration_sample(pool, gate, ["t1", "t2"], cap=4, seed=0)[0] == chosen  # seeded
    chosen, info = V.calibration_sample(pool, gate, ["t1", "t2"], cap=8, seed=0)
    assert chosen[:6] == ["u4", "u5", "u6", "u7", "u8", "u9"] and set(chosen[6:]) <= set(gate)
    assert info == {"inputs": 8, "in_gate_inputs": 2, "test_inputs_left_out": 2}
    assert V.calibration_sample(["t1"], [], ["t1"])[0] == []
    # Through the classification adapter: the test text among the unlabelled ones is left out.
    adapter = clf.variant_adapter("unused", TEXTS, ["cards"] * len(TEXTS), gate_texts=GATE_TEXTS,
                                  calibration_texts=[*CALIBRATION_TEXTS, TEXTS[0]])
    assert adapter.calibration and not set(adapter.calibration) & set(TEXTS)
    assert adapter.calibration_info["test_inputs_left_out"] == 2


def test_a_missing_calibration_set_skips_by_default_and_fails_when_asked(tiny_model_dir, tmp_path, capsys):
    paths = export_classifier(tiny_model_dir, tmp_path / "out")
    labels = ["cards", "billing", "transfers"]
    with pytest.raises(ExportError, match=r"onnx-int8-static needs calibration inputs .*calibration_texts="):
        clf.export_classifier_variants(paths.model_dir, TEXTS[:3], labels, backends=["onnx-int8-static"])
    table = clf.export_classifier_variants(paths.model_dir, TEXTS[:3], labels, backends=None)
    assert table["backend"].tolist() == ["onnx", "onnx-int8"]
    assert "onnx-int8-static: skipped, no calibration inputs" in capsys.readouterr().out
    assert not (paths.model_dir / "onnx-int8-static").exists()
    with pytest.raises(O.BackendError, match="has no onnx-int8-static variant"):
        TextClassifier.from_export(paths.model_dir, backend="onnx-int8-static")
    with pytest.raises(ExportError, match="Static int8 needs calibration inputs and none were given"):
        O.quantize_int8_static(paths.model_dir / "onnx" / O.GRAPH_FILE, tmp_path / "s.onnx", [])
    # Calibration texts that are all test texts leave nothing to calibrate on: skipped, said so.
    table = clf.export_classifier_variants(paths.model_dir, TEXTS[:3], labels, calibration_texts=TEXTS[:3])
    assert table["backend"].tolist() == ["onnx", "onnx-int8"]


def test_dynamic_int8_with_the_same_exclusions(static_export, tmp_path):
    import onnx

    paths, _, _ = static_export
    target = O.quantize_int8(paths.model_dir / "onnx" / O.GRAPH_FILE, tmp_path / "d.onnx", keep_fp32=())
    graph = onnx.load(str(target)).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("MatMulInteger") == 12 and "DequantizeLinear" not in ops  # fp32 embeddings
    assert not any(t.data_type == onnx.TensorProto.INT8 for t in graph.initializer
                   if "classifier" in t.name or "pooler" in t.name or "embeddings" in t.name)
    # ONNX Runtime's defaults (the onnx-int8 variant) also quantise the head and the embeddings.
    default = [n.op_type for n in onnx.load(str(paths.model_dir / "onnx-int8" / O.GRAPH_FILE)).graph.node]
    assert default.count("MatMulInteger") == 13 and default.count("DequantizeLinear") == 3

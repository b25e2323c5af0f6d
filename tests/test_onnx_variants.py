"""ONNX Runtime and int8 variants: round trips, parity with PyTorch, quality gate, bad input.

The gate decides on agreement with PyTorch on gate inputs (never test inputs, no labels); the test
scores sit in the report for information only.
"""

from __future__ import annotations

import shutil
import sys
import tarfile

import numpy as np
import pandas as pd
import pytest

from helpers import classification as clf
from helpers import context_relevance as R
from helpers import question_answering as qa
from helpers.classification import TextClassifier, build_student
from helpers.core import metrics as M
from helpers.core import onnx as O
from helpers.core import variants as V
from helpers.core.tasks import load_task

from .conftest import MINILM, make_qa_task, umask_set, wrong_modes

LABELS = ["billing", "cards", "transfers"]
TEXTS = [
    "hi",
    "My card was declined at the supermarket this morning.",
    "Why was I charged twice for one coffee?",
    "I sent money to my landlord three days ago and it still shows as pending, is something wrong "
    "with the transfer or with his bank, and how long should I wait before I ask for it back?",
    "pin",
    " ".join(["statement"] * 400),  # longer than 256 tokens: truncated
]
# Unlabelled texts for the gate; the last one is also a test text, so it is left out of the gate.
GATE_TEXTS = [
    "my new card has not arrived yet",
    "can I get a refund for the fee on my statement?",
    "transfer to my savings account failed",
    "what is the exchange rate for a payment abroad",
    "the cash machine kept my card",
    "Why was I charged twice for one coffee?",
]
# The task's unlabelled texts, as the notebook passes them to calibrate static int8: the gate texts,
# two more, and a test text (never used for calibration).
CALIBRATION_TEXTS = [*GATE_TEXTS, "how do I close my account", "the app shows a pending payment"]
DYNAMIC = ("onnx", "onnx-int8")  # what a family without calibration inputs exports


def export_classifier(tiny_model_dir, folder, seed=1):
    model, tok = build_student(str(tiny_model_dir), LABELS, seed=seed)
    return clf.export_classification(model, tok, folder, "tiny")


@pytest.fixture(scope="module")
def classifier_variants(tiny_model_dir, tmp_path_factory):
    """A tiny classifier export with its three variants; the test labels are PyTorch's own predictions."""
    paths = export_classifier(tiny_model_dir, tmp_path_factory.mktemp("clf"))
    labels = TextClassifier.from_export(paths.model_dir).predict(TEXTS)["label"].tolist()
    table = clf.export_classifier_variants(paths.model_dir, TEXTS, labels, tarball=paths.tarball,
                                           gate_texts=GATE_TEXTS, calibration_texts=CALIBRATION_TEXTS)
    return paths, labels, table


def test_classifier_variants_round_trip_with_reports(classifier_variants, tmp_path):
    paths, labels, table = classifier_variants
    assert table["backend"].tolist() == ["onnx", "onnx-int8", "onnx-int8-static"]
    assert bool(table.loc[0, "recommended"])
    assert table["gate inputs"].tolist() == [5, 5, 5]  # the text that is also a test text is left out
    assert table.loc[0, "gate label_agreement"] == 100.0  # fp32 ONNX predicts what PyTorch predicts
    assert table["accuracy pytorch"].tolist() == [100.0] * 3  # test labels are its own predictions
    assert table.loc[0, "accuracy variant"] == 100.0
    assert table.loc[1, "MB variant"] < 0.5 * table.loc[0, "MB variant"]  # int8 weights
    assert table.loc[2, "MB variant"] < table.loc[0, "MB variant"]  # fp32 embeddings dominate a tiny model
    for backend in O.VARIANTS:
        report = V.read_report(paths.model_dir, backend)
        gate, test = report["gate"], report["test"]
        assert gate["inputs"] == 5 and "unlabelled texts" in gate["source"]
        assert "1 also in the test set" in gate["source"]
        assert set(gate["agreement"]) == {"label_agreement"} and gate["max_drop"] == 1.0
        assert gate["recommended"] == (gate["agreement"]["label_agreement"] >= 99.0)
        # The test scores are there, for information.
        assert test["pytorch"]["accuracy"] == 100.0 and test["examples"] == len(TEXTS)
        assert set(test) >= {"pytorch", "variant", "difference", "largest_drop", "same_prediction"}
        assert set(report) >= {"latency_single", "size_mb", "scored_in", "created"}
        assert report["fingerprint"] == O.weights_fingerprint(paths.model_dir)
    onnx_report = V.read_report(paths.model_dir, "onnx")
    assert onnx_report["gate"]["recommended"] is True and onnx_report["test"]["same_prediction"] == 100.0

    reference = TextClassifier.from_export(paths.model_dir).predict_proba(TEXTS)
    # The tarball was re-written with the variants in it, and loads with any backend.
    names = tarfile.open(paths.tarball).getnames()
    assert "model/onnx/model.onnx" in names and "model/onnx-int8/quality-report.json" in names
    assert "model/onnx-int8-static/model.onnx" in names
    for backend in O.VARIANTS:
        clf = TextClassifier.from_export(paths.tarball, unpack_to=tmp_path / backend, backend=backend)
        probs = clf.predict_proba(TEXTS)
        assert probs.shape == reference.shape and np.allclose(probs.sum(1), 1, atol=1e-5)
        assert np.abs(probs - reference).max() < (1e-5 if backend == "onnx" else 0.05)
        assert clf.labels == LABELS and clf.predict_one("card").shape == (3, 2)
    assert "backend: onnx-int8" in V.describe_backend(paths.model_dir, "onnx-int8")
    text = V.describe_backend(paths.model_dir, "onnx")
    assert "agreement with PyTorch on 5 unlabelled texts" in text and "label_agreement 100.00" in text
    assert "recommended" in text and "NOT RECOMMENDED" not in text
    # The gate first, then the test scores, for information.
    assert text.index("agreement with PyTorch") < text.index("test set, for information")
    assert "accuracy 100.0 vs 100.0 in PyTorch" in text
    assert V.describe_backend(paths.model_dir, "pytorch").startswith("backend: pytorch")


def test_variant_files_get_the_modes_of_the_umask(tiny_model_dir, tmp_path):
    from helpers.core.export import unpack_tarball

    with umask_set(0o022):
        paths = export_classifier(tiny_model_dir, tmp_path / "out")
        clf.export_classifier_variants(paths.model_dir, TEXTS[:3], ["cards", "billing", "transfers"],
                                       tarball=paths.tarball, calibration_texts=CALIBRATION_TEXTS)
        unpacked = unpack_tarball(paths.tarball, tmp_path / "unpacked")
    for backend in O.VARIANTS:
        for name in (O.GRAPH_FILE, V.REPORT_FILE):
            assert (unpacked / "model" / backend / name).stat().st_mode & 0o777 == 0o644
    assert wrong_modes(tmp_path / "out", 0o022) == {}  # every file 0o644, every folder 0o755
    assert wrong_modes(unpacked, 0o022) == {}


def test_the_gate_never_looks_at_test_labels(classifier_variants):
    """Permuted test labels change the test scores, never the decision."""
    paths, labels, _ = classifier_variants
    before = {b: V.read_report(paths.model_dir, b) for b in O.VARIANTS}
    permuted = [LABELS[(LABELS.index(label) + 1) % len(LABELS)] for label in labels]  # every one wrong
    adapter = clf.variant_adapter(paths.model_dir, TEXTS, permuted, gate_texts=GATE_TEXTS,
                                  calibration_texts=CALIBRATION_TEXTS)
    V.score_variants(paths.model_dir, adapter, latency_repeats=2)
    for backend in O.VARIANTS:
        after = V.read_report(paths.model_dir, backend)
        assert after["test"]["pytorch"]["accuracy"] == 0.0  # the test scores did change
        assert {k: after["gate"][k] for k in ("inputs", "agreement", "recommended", "verdict")} == \
            {k: before[backend]["gate"][k] for k in ("inputs", "agreement", "recommended", "verdict")}
    # Leave the module's fixture as it was.
    adapter = clf.variant_adapter(paths.model_dir, TEXTS, labels, gate_texts=GATE_TEXTS,
                                  calibration_texts=CALIBRATION_TEXTS)
    V.score_variants(paths.model_dir, adapter, latency_repeats=2)


def test_fp32_onnx_matches_pytorch_within_1e_4_on_real_minilm(tmp_path):
    """The packaged MiniLM with a classification head: one padded batch of mixed lengths, and singles."""
    import torch

    from helpers.core.models import resolve_model

    model, tok = build_student(resolve_model(MINILM), LABELS, seed=3)
    path = O.export_onnx(model, tok, tmp_path / "model.onnx", O.CLASSIFIER, "test")
    onnx_model = O.OnnxModel(path, model.config, O.CLASSIFIER)
    batch = tok(TEXTS, padding=True, truncation=True, max_length=256, return_tensors="pt")
    assert batch["input_ids"].shape[1] == 256  # the long text is truncated, the short ones padded
    with torch.inference_mode():
        expected = model(**batch).logits.numpy()
    assert np.abs(onnx_model(**batch).logits.numpy() - expected).max() < 1e-4
    for i, text in enumerate(TEXTS[:3]):
        one = tok([text], return_tensors="pt")
        assert np.abs(onnx_model(**one).logits.numpy()[0] - expected[i]).max() < 1e-4
    assert not model.training  # exporting leaves the model in eval mode
    assert O.graph_metadata(path)["kind"] == "classifier"


def test_question_answering_variants_round_trip(tiny_model_dir, tmp_path):
    task_dir = make_qa_task(tmp_path / "data-qa")
    frame = pd.read_csv(task_dir / "test.csv", dtype=str, keep_default_na=False)
    model, tok = qa.build_qa_model(str(tiny_model_dir), seed=0)
    settings = {"max_length": 64, "stride": 16, "max_question_length": 32}
    paths = qa.export_question_answering(model, tok, tmp_path / "out", "qa", settings=settings,
                                         yes_no_answer="yes")
    train = pd.read_csv(task_dir / "train.csv", dtype=str, keep_default_na=False)
    # Gate inputs: the training questions (one of them yes/no) and one test question, left out.
    gate = pd.concat([train, frame.head(1)])[["question", "context"]]
    table = qa.export_qa_variants(paths.model_dir, frame, gate_frame=gate)
    assert list(table.columns[1:5]) == ["gate inputs", "gate exact_match", "gate f1", "recommended"]
    assert {"span_exact_match pytorch", "span_exact_match variant", "span_f1 pytorch",
            "span_f1 variant"} <= set(table.columns)
    gate_report = V.read_report(paths.model_dir, "onnx")["gate"]
    # 6 training questions: the yes/no one gets the stored answer in every backend, so 5 are compared.
    assert gate_report["inputs"] == 5 and "1 also in the test set" in gate_report["source"]
    assert gate_report["agreement"] == {"exact_match": 100.0, "f1": 100.0} and gate_report["recommended"]
    questions, contexts = frame["question"].tolist(), frame["context"].tolist()
    reference = qa.QuestionAnswerer.from_export(paths.model_dir).answer(questions, contexts, top_k=3)
    answerer = qa.QuestionAnswerer.from_export(paths.model_dir, backend="onnx")
    assert answerer.settings["max_length"] == 64  # the export's settings come with any backend
    got = answerer.answer(questions, contexts, top_k=3)
    assert [a["answer"] for a in got] == [a["answer"] for a in reference]  # several windows per context
    for a, b in zip(got, reference, strict=True):
        assert [c["probability"] for c in a["candidates"]] == pytest.approx(
            [c["probability"] for c in b["candidates"]], abs=1e-4)
    assert V.read_report(paths.model_dir, "onnx")["test"]["difference"] == {"span_exact_match": 0.0,
                                                                            "span_f1": 0.0}


def test_retriever_encoder_variants_round_trip(tiny_model_dir, tmp_path):
    coll = R.build_collection(load_task(make_qa_task(tmp_path / "data-qa"), kind="qa"))
    encoder = R.load_sentence_transformer(str(tiny_model_dir), max_seq_length=64)
    paths = R.export_context_relevance(encoder, coll.texts, tmp_path / "out", "tiny")
    questions = coll.test["question"].tolist()
    gate = coll.train["question"].tolist() + questions[:1]  # a test question is left out of the gate
    table = R.export_retriever_variants(paths.model_dir, coll, questions, coll.test["gold_ids"], k=2,
                                        tarball=paths.tarball, gate_questions=gate)
    assert {"recall@1 pytorch", "recall@2 variant", "mrr@10 variant", "gate top1_agreement",
            "gate top2_overlap"} <= set(table.columns)
    gate_report = V.read_report(paths.model_dir, "onnx")["gate"]
    assert gate_report["inputs"] == len(coll.train) and gate_report["recommended"]
    assert gate_report["agreement"] == {"top1_agreement": 100.0, "top2_overlap": 100.0}
    expected = R.embed_texts(encoder, coll.texts)
    assert not (paths.model_dir / "onnx-int8-static").exists()  # no calibration inputs: skipped
    for backend in DYNAMIC:
        retriever = R.load_retriever(paths.tarball, unpack_to=tmp_path / backend, backend=backend)
        assert retriever.encoder.max_seq_length == 64
        got = R.embed_texts(retriever.encoder, coll.texts)
        assert np.abs(got - expected).max() < (1e-5 if backend == "onnx" else 0.1)
        assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    onnx_retriever = R.load_retriever(paths.model_dir, backend="onnx")
    pytorch_retriever = R.load_retriever(paths.model_dir)
    for q in questions:
        ids = [h[2] for h in onnx_retriever.retrieve(q, 3)]
        assert ids == [h[2] for h in pytorch_retriever.retrieve(q, 3)]


def test_quality_gate_decides_on_agreement_with_pytorch():
    gate = V.quality_gate({"label_agreement": 99.2}, 500, 1.0, "unlabelled texts")
    assert gate["recommended"] is True and gate["inputs"] == 500 and gate["source"] == "unlabelled texts"
    assert gate["agreement"] == {"label_agreement": 99.2} and gate["max_drop"] == 1.0
    assert gate["verdict"].startswith("recommended")
    # Exactly at the bound is still within it; the lowest metric decides.
    assert V.quality_gate({"exact_match": 99.0, "f1": 99.9}, 300, 1.0)["recommended"] is True
    gate = V.quality_gate({"exact_match": 98.5, "f1": 99.7}, 300, 1.0, "questions")
    assert gate["recommended"] is False
    assert gate["verdict"].startswith("NOT RECOMMENDED: agreement with PyTorch falls to 98.50 points "
                                      "(exact_match) on 300 questions; at least 99 required")
    assert V.quality_gate({"top1_agreement": 96.0}, 50, 5.0)["recommended"] is True
    assert V.quality_gate({"top1_agreement": 96.0}, 50, 0.25)["recommended"] is False


def test_without_gate_inputs_the_gate_does_not_decide():
    for gate in (V.quality_gate(None, 0), V.quality_gate({}, 0), V.quality_gate({"f1": 100.0}, 0)):
        assert gate["recommended"] is None and gate["inputs"] == 0
        assert gate["verdict"].startswith("not decided: no gate inputs")


def test_score_difference_counts_drops_not_gains():
    diff = V.score_difference({"accuracy": 80.0, "macro_f1": 70.0}, {"accuracy": 79.5, "macro_f1": 72.0})
    assert diff == {"difference": {"accuracy": -0.5, "macro_f1": 2.0}, "largest_drop": 0.5}
    assert V.score_difference({"f1": 50.0}, {"f1": 53.0})["largest_drop"] == 0.0


def test_agreement_metrics_with_exact_numbers():
    assert M.label_agreement(["a", "b", "c", "a"], ["a", "b", "a", "a"]) == 75.0
    assert M.label_agreement(["a"] * 3, ["a"] * 3) == 100.0
    with pytest.raises(ValueError):
        M.label_agreement(["a"], ["a", "b"])
    got = M.ranking_agreement([(1, 2, 3), (4, 5, 6)], [(1, 3, 9), (5, 4, 6)], k=3)
    assert got == {"top1_agreement": 50.0, "top3_overlap": pytest.approx(100 * (2 / 3 + 1) / 2)}
    assert M.ranking_agreement([(7, 8)], [(7, 8)], k=2) == {"top1_agreement": 100.0, "top2_overlap": 100.0}
    # QA: the variant's answers scored with the family's metric, PyTorch's answers as the reference.
    got = M.answer_agreement(["Paris", "the 1990s", "blue car"], ["paris", "1990s", "red car"])
    assert got == {"exact_match": pytest.approx(200 / 3), "f1": pytest.approx(100 * 2.5 / 3)}


def test_sample_gate_inputs_is_seeded_distinct_and_in_order():
    items = [f"text {i}" for i in range(20)] + ["text 3"]
    assert V.sample_gate_inputs(items, None) == items[:20]  # duplicates dropped
    picked = V.sample_gate_inputs(items, 5, seed=1)
    assert len(picked) == 5 and picked == sorted(picked, key=items.index)
    assert picked == V.sample_gate_inputs(items, 5, seed=1) != V.sample_gate_inputs(items, 5, seed=2)
    frame = pd.DataFrame({"question": ["q1", "q2", "q2", "q3"], "context": ["c", "c", "c", "d"]})
    got = V.sample_gate_inputs(frame, 10)
    assert got["question"].tolist() == ["q1", "q2", "q3"] and got.index.tolist() == [0, 1, 2]
    assert len(V.sample_gate_inputs(pd.Series(items), 3, seed=0)) == 3


def test_outside_test_keeps_the_order_and_says_how_many_test_inputs_it_left_out():
    kept, source = V.outside_test(["a", "t1", "b", "t2", "c"], ["t1", "t2", "t3"], "unlabelled texts")
    assert kept == ["a", "b", "c"] and source == "unlabelled texts (2 also in the test set left out)"
    pairs = [("q", "c1"), ("q", "c2")]  # the same question over another context is another input
    assert V.outside_test(iter(pairs), iter([("q", "c1")]), "questions") == \
        ([("q", "c2")], "questions (1 also in the test set left out)")
    assert V.outside_test(None, ["t"], "texts") == ([], "texts")


# A family-free adapter: each "model" is its backend name, and its predictions are given.
def fake_export(tmp_path):
    folder = tmp_path / "fake"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    for backend in DYNAMIC:
        (folder / backend).mkdir()
        (folder / backend / O.GRAPH_FILE).write_bytes(b"graph")
    return folder


def fake_adapter(folder, test_labels, test_predictions, gate_predictions=None):
    """``test_predictions`` / ``gate_predictions``: per backend, its prediction per input."""

    def score(backend):
        predicted = test_predictions[backend]
        accuracy = 100 * float(np.mean([p == g for p, g in zip(predicted, test_labels, strict=True)]))
        return {"accuracy": accuracy}, list(predicted)

    return V.VariantAdapter(
        "fake", folder, lambda backend: backend, score, lambda backend, i: test_predictions[backend][i],
        len(test_labels), lambda: None, "one batch",
        gate=(lambda backend: list(gate_predictions[backend])) if gate_predictions else None,
        agreement=lambda v, r: {"label_agreement": M.label_agreement(v, r)}, gate_source="unlabelled texts")


def test_a_variant_that_agrees_on_every_gate_input_is_recommended_whatever_the_test_says(tmp_path):
    folder = fake_export(tmp_path)
    labels = list("aaaaabbbbb")
    test = {"pytorch": list("aaaaabbbbb"), "onnx": list("aaaaabbbbb"), "onnx-int8": list("bbaaabbbba")}
    gate = {"pytorch": list("ab" * 50), "onnx": list("ab" * 50), "onnx-int8": list("ab" * 50)}
    table = V.score_variants(folder, fake_adapter(folder, labels, test, gate), latency_repeats=2)
    int8 = V.read_report(folder, "onnx-int8")
    assert int8["test"]["variant"] == {"accuracy": 70.0} and int8["test"]["difference"] == {"accuracy": -30.0}
    assert int8["test"]["largest_drop"] == 30.0 and int8["test"]["same_prediction"] == 70.0
    assert int8["gate"]["agreement"] == {"label_agreement": 100.0} and int8["gate"]["recommended"] is True
    assert table["recommended"].tolist() == [True, True]
    assert table.loc[1, "accuracy pytorch"] == 100.0 and table.loc[1, "accuracy variant"] == 70.0


def test_a_variant_disagreeing_on_more_than_max_drop_percent_is_not_recommended(tmp_path):
    folder = fake_export(tmp_path)
    labels = list("aaaaabbbbb")
    test = {b: list("aaaaabbbbb") for b in ("pytorch", *O.VARIANTS)}  # the same test scores everywhere
    reference = list("ab" * 50)
    two_off = ["b", "a"] + reference[2:]  # 2 of 100 differ: 98 points of agreement
    one_off = ["b"] + reference[1:]  # 1 of 100: 99 points, exactly the bound
    gate = {"pytorch": reference, "onnx": one_off, "onnx-int8": two_off}
    table = V.score_variants(folder, fake_adapter(folder, labels, test, gate), max_drop=1.0,
                             latency_repeats=2)
    assert table["recommended"].tolist() == [True, False]
    assert table["gate label_agreement"].tolist() == [99.0, 98.0]
    int8 = V.read_report(folder, "onnx-int8")
    assert int8["test"]["difference"] == {"accuracy": 0.0}  # the test set sees no loss at all
    assert int8["gate"]["inputs"] == 100 and int8["gate"]["recommended"] is False
    text = V.describe_backend(folder, "onnx-int8")
    assert "NOT RECOMMENDED" in text and "WARNING" in text and "on 100 unlabelled texts" in text


def test_no_gate_inputs_means_not_decided_and_says_so(tmp_path):
    folder = fake_export(tmp_path)
    labels = list("aabb")
    test = {b: list("aabb") for b in ("pytorch", *O.VARIANTS)}
    table = V.score_variants(folder, fake_adapter(folder, labels, test), latency_repeats=2)
    for backend in DYNAMIC:
        report = V.read_report(folder, backend)
        assert report["gate"]["recommended"] is None and report["gate"]["inputs"] == 0
        assert report["gate"]["verdict"].startswith("not decided: no gate inputs")
        assert report["test"]["variant"] == {"accuracy": 100.0}  # still measured, for information
    assert table["recommended"].tolist() == [None, None] and table["gate inputs"].tolist() == [0, 0]
    text = V.describe_backend(folder, "onnx")
    assert "not decided: no gate inputs" in text and "test set, for information" in text
    # An empty list of gate inputs is no gate inputs either.
    empty = fake_adapter(folder, labels, test, {b: [] for b in ("pytorch", *O.VARIANTS)})
    V.score_variants(folder, empty, ["onnx"], latency_repeats=2)
    assert V.read_report(folder, "onnx")["gate"]["recommended"] is None


def test_a_report_from_before_the_gate_is_described_as_such(tmp_path):
    folder = fake_export(tmp_path)
    old = {"backend": "onnx", "pytorch": {"accuracy": 80.0}, "variant": {"accuracy": 80.0},
           "difference": {"accuracy": 0.0}, "recommended": True, "verdict": "largest drop 0.00 points",
           "test_examples": 10, "created": "2026-01-01 10:00"}
    (folder / "onnx" / V.REPORT_FILE).write_text(__import__("json").dumps(old), encoding="utf-8")
    text = V.describe_backend(folder, "onnx")
    assert "older export" in text and "re-export" in text


def test_a_damaged_variant_is_marked_not_recommended(tiny_model_dir, tmp_path):
    import onnx
    from onnx import numpy_helper

    paths = export_classifier(tiny_model_dir, tmp_path)
    labels = TextClassifier.from_export(paths.model_dir).predict(TEXTS)["label"].tolist()
    clf.export_classifier_variants(paths.model_dir, TEXTS, labels, backends=["onnx"], gate_texts=GATE_TEXTS)
    assert V.read_report(paths.model_dir, "onnx")["gate"]["recommended"]
    # Damage the head of the fp32 graph: negated weights rank the classes backwards.
    graph_file = paths.model_dir / "onnx" / "model.onnx"
    graph = onnx.load(str(graph_file))
    damaged = [t for t in graph.graph.initializer if "classifier" in t.name]
    assert damaged  # the weight (a zero bias is folded away by the exporter)
    for t in damaged:
        t.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(t), t.name))
    onnx.save(graph, str(graph_file))
    adapter = clf.variant_adapter(paths.model_dir, TEXTS, labels, gate_texts=GATE_TEXTS)
    table = V.score_variants(paths.model_dir, adapter, ["onnx"])
    report = V.read_report(paths.model_dir, "onnx")
    assert report["gate"]["recommended"] is False and report["gate"]["agreement"]["label_agreement"] < 50.0
    assert report["test"]["variant"]["accuracy"] < 50.0 and not table["recommended"][0]
    text = V.describe_backend(paths.model_dir, "onnx")
    assert "NOT RECOMMENDED" in text and "WARNING" in text and "Prefer BACKEND='pytorch'" in text
    assert not (paths.model_dir / "onnx-int8").exists()  # only the variants asked for


def test_a_backend_never_exported_names_the_export_step(tiny_model_dir, tmp_path):
    paths = export_classifier(tiny_model_dir, tmp_path / "clf")
    with pytest.raises(O.BackendError,
                       match=r"has no onnx-int8 variant .*EXPORT_ONNX=True.*BACKEND='pytorch'"):
        TextClassifier.from_export(paths.model_dir, backend="onnx-int8")
    with pytest.raises(ValueError, match=r"Unknown backend 'tensorrt'. Fix: use one of pytorch, onnx, "
                                         r"onnx-int8, onnx-int8-static"):
        TextClassifier.from_export(paths.model_dir, backend="tensorrt")
    encoder = R.load_sentence_transformer(str(tiny_model_dir))
    rpaths = R.export_context_relevance(encoder, ["one passage", "another passage"], tmp_path / "r", "r")
    with pytest.raises(O.BackendError, match=r"retriever has no onnx variant"):
        R.load_retriever(rpaths.model_dir, backend="onnx")
    assert "never measured" not in V.describe_backend(paths.model_dir, "pytorch")


def test_an_onnx_file_from_another_model_is_refused(classifier_variants, tiny_model_dir, tmp_path):
    source, _, _ = classifier_variants
    other = export_classifier(tiny_model_dir, tmp_path / "other", seed=2)  # another head
    shutil.copytree(source.model_dir / "onnx", other.model_dir / "onnx")
    with pytest.raises(O.BackendError, match=r"exported from other weights .*re-export the variants"):
        TextClassifier.from_export(other.model_dir, backend="onnx")
    # A classifier graph put where a QA model is loaded.
    with pytest.raises(O.BackendError, match=r"is a classifier graph, but a question-answering model"):
        qa.QuestionAnswerer.from_export(source.model_dir, backend="onnx")
    # A graph made elsewhere, without the export's fingerprint.
    import onnx

    graph = onnx.load(str(source.model_dir / "onnx" / "model.onnx"))
    del graph.metadata_props[:]
    onnx.save(graph, str(other.model_dir / "onnx" / "model.onnx"))
    with pytest.raises(O.BackendError, match=r"not written by helpers.core.onnx \(no source fingerprint"):
        TextClassifier.from_export(other.model_dir, backend="onnx")


def test_missing_onnxruntime_gives_the_install_command(classifier_variants, monkeypatch):
    paths, _, _ = classifier_variants
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"need onnxruntime.*pip install onnxruntime onnx onnxscript"):
        TextClassifier.from_export(paths.model_dir, backend="onnx")
    assert TextClassifier.from_export(paths.model_dir).labels == LABELS  # pytorch still works

"""ONNX Runtime and int8 variants: round trips, parity with PyTorch, quality gate, bad input."""

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


def export_classifier(tiny_model_dir, folder, seed=1):
    model, tok = build_student(str(tiny_model_dir), LABELS, seed=seed)
    return clf.export_classification(model, tok, folder, "tiny")


@pytest.fixture(scope="module")
def classifier_variants(tiny_model_dir, tmp_path_factory):
    """A tiny classifier export with both variants; the test labels are PyTorch's own predictions."""
    paths = export_classifier(tiny_model_dir, tmp_path_factory.mktemp("clf"))
    labels = TextClassifier.from_export(paths.model_dir).predict(TEXTS)["label"].tolist()
    table = clf.export_classifier_variants(paths.model_dir, TEXTS, labels, tarball=paths.tarball)
    return paths, labels, table


def test_classifier_variants_round_trip_with_reports(classifier_variants, tmp_path):
    paths, labels, table = classifier_variants
    assert table["backend"].tolist() == ["onnx", "onnx-int8"] and table["recommended"].all()
    assert table["accuracy pytorch"].tolist() == [100.0, 100.0]  # labels are its own predictions
    assert table.loc[0, "accuracy variant"] == 100.0  # fp32 ONNX predicts what PyTorch predicts
    assert table.loc[1, "MB variant"] < 0.5 * table.loc[0, "MB variant"]  # int8 weights
    for backend in O.VARIANTS:
        report = V.read_report(paths.model_dir, backend)
        assert report["pytorch"]["accuracy"] == 100.0 and report["test_examples"] == len(TEXTS)
        assert set(report) >= {"variant", "difference", "largest_drop", "recommended", "latency_single",
                               "size_mb"}
        assert report["fingerprint"] == O.weights_fingerprint(paths.model_dir)
    assert V.read_report(paths.model_dir, "onnx")["agreement"] == 100.0  # the same label for every text

    reference = TextClassifier.from_export(paths.model_dir).predict_proba(TEXTS)
    # The tarball was re-written with the variants in it, and loads with any backend.
    names = tarfile.open(paths.tarball).getnames()
    assert "model/onnx/model.onnx" in names and "model/onnx-int8/quality-report.json" in names
    for backend in O.VARIANTS:
        clf = TextClassifier.from_export(paths.tarball, unpack_to=tmp_path / backend, backend=backend)
        probs = clf.predict_proba(TEXTS)
        assert probs.shape == reference.shape and np.allclose(probs.sum(1), 1, atol=1e-5)
        assert np.abs(probs - reference).max() < (1e-5 if backend == "onnx" else 0.05)
        assert clf.labels == LABELS and clf.predict_one("card").shape == (3, 2)
    assert "backend: onnx-int8" in V.describe_backend(paths.model_dir, "onnx-int8")
    assert "within the 1 allowed" in V.describe_backend(paths.model_dir, "onnx")
    assert V.describe_backend(paths.model_dir, "pytorch").startswith("backend: pytorch")


def test_variant_files_get_the_modes_of_the_umask(tiny_model_dir, tmp_path):
    from helpers.core.export import unpack_tarball

    with umask_set(0o022):
        paths = export_classifier(tiny_model_dir, tmp_path / "out")
        clf.export_classifier_variants(paths.model_dir, TEXTS[:3], ["cards", "billing", "transfers"],
                                       tarball=paths.tarball)
        unpacked = unpack_tarball(paths.tarball, tmp_path / "unpacked")
    for backend in O.VARIANTS:
        for name in (O.GRAPH_FILE, V.REPORT_FILE):
            assert (unpacked / "model" / backend / name).stat().st_mode & 0o777 == 0o644
    assert wrong_modes(tmp_path / "out", 0o022) == {}  # every file 0o644, every folder 0o755
    assert wrong_modes(unpacked, 0o022) == {}


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
    paths = qa.export_question_answering(model, tok, tmp_path / "out", "qa", settings=settings)
    table = qa.export_qa_variants(paths.model_dir, frame)
    assert list(table.columns[1:5]) == ["span_exact_match pytorch", "span_exact_match variant",
                                        "span_f1 pytorch", "span_f1 variant"]
    questions, contexts = frame["question"].tolist(), frame["context"].tolist()
    reference = qa.QuestionAnswerer.from_export(paths.model_dir).answer(questions, contexts, top_k=3)
    answerer = qa.QuestionAnswerer.from_export(paths.model_dir, backend="onnx")
    assert answerer.settings["max_length"] == 64  # the export's settings come with any backend
    got = answerer.answer(questions, contexts, top_k=3)
    assert [a["answer"] for a in got] == [a["answer"] for a in reference]  # several windows per context
    for a, b in zip(got, reference, strict=True):
        assert [c["probability"] for c in a["candidates"]] == pytest.approx(
            [c["probability"] for c in b["candidates"]], abs=1e-4)
    assert V.read_report(paths.model_dir, "onnx")["difference"] == {"span_exact_match": 0.0, "span_f1": 0.0}


def test_retriever_encoder_variants_round_trip(tiny_model_dir, tmp_path):
    coll = R.build_collection(load_task(make_qa_task(tmp_path / "data-qa"), kind="qa"))
    encoder = R.load_sentence_transformer(str(tiny_model_dir), max_seq_length=64)
    paths = R.export_context_relevance(encoder, coll.texts, tmp_path / "out", "tiny")
    questions = coll.test["question"].tolist()
    table = R.export_retriever_variants(paths.model_dir, coll, questions, coll.test["gold_ids"], k=2,
                                        tarball=paths.tarball)
    assert {"recall@1 pytorch", "recall@2 variant", "mrr@10 variant"} <= set(table.columns)
    expected = R.embed_texts(encoder, coll.texts)
    for backend in O.VARIANTS:
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


def test_quality_gate_counts_drops_not_gains():
    gate = V.quality_gate({"accuracy": 80.0, "macro_f1": 70.0}, {"accuracy": 79.5, "macro_f1": 72.0}, 1.0)
    assert gate["recommended"] and gate["largest_drop"] == 0.5
    assert gate["difference"] == {"accuracy": -0.5, "macro_f1": 2.0}
    gate = V.quality_gate({"accuracy": 80.0, "macro_f1": 70.0}, {"accuracy": 80.0, "macro_f1": 68.8}, 1.0)
    assert not gate["recommended"] and gate["largest_drop"] == pytest.approx(1.2)
    assert gate["verdict"].startswith("NOT RECOMMENDED: quality drops by 1.20 points")
    assert V.quality_gate({"f1": 50.0}, {"f1": 49.5}, 0.25)["recommended"] is False
    assert V.quality_gate({"f1": 50.0}, {"f1": 53.0})["largest_drop"] == 0.0


def test_a_damaged_variant_is_marked_not_recommended(tiny_model_dir, tmp_path):
    import onnx
    from onnx import numpy_helper

    paths = export_classifier(tiny_model_dir, tmp_path)
    labels = TextClassifier.from_export(paths.model_dir).predict(TEXTS)["label"].tolist()
    clf.export_classifier_variants(paths.model_dir, TEXTS, labels, backends=["onnx"])
    assert V.read_report(paths.model_dir, "onnx")["recommended"]
    # Damage the head of the fp32 graph: negated weights rank the classes backwards.
    graph_file = paths.model_dir / "onnx" / "model.onnx"
    graph = onnx.load(str(graph_file))
    damaged = [t for t in graph.graph.initializer if "classifier" in t.name]
    assert damaged  # the weight (a zero bias is folded away by the exporter)
    for t in damaged:
        t.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(t), t.name))
    onnx.save(graph, str(graph_file))
    table = V.score_variants(paths.model_dir, clf.variant_adapter(paths.model_dir, TEXTS, labels), ["onnx"])
    report = V.read_report(paths.model_dir, "onnx")
    assert not report["recommended"] and report["variant"]["accuracy"] < 50.0 and not table["recommended"][0]
    text = V.describe_backend(paths.model_dir, "onnx")
    assert "NOT RECOMMENDED" in text and "WARNING" in text and "Prefer BACKEND='pytorch'" in text
    assert not (paths.model_dir / "onnx-int8").exists()  # only the variants asked for


def test_a_backend_never_exported_names_the_export_step(tiny_model_dir, tmp_path):
    paths = export_classifier(tiny_model_dir, tmp_path / "clf")
    with pytest.raises(O.BackendError,
                       match=r"has no onnx-int8 variant .*EXPORT_ONNX=True.*BACKEND='pytorch'"):
        TextClassifier.from_export(paths.model_dir, backend="onnx-int8")
    with pytest.raises(ValueError,
                       match=r"Unknown backend 'tensorrt'. Fix: use one of pytorch, onnx, onnx-int8"):
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

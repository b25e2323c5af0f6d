"""Serving without torch (helpers.serving): no torch or transformers imported, the same predictions
as the PyTorch helpers on the same ONNX variant, clear errors on incomplete exports."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from helpers import classification as clf
from helpers import question_answering as qa
from helpers import serving
from helpers.core import onnx as O
from helpers.core.errors import BackendError, ExportError
from helpers.core.export import write_tarball
from helpers.core.prediction import eval_features
from helpers.core.tasks import TaskDataError
from helpers.core.yes_no import FEATURES, YesNoReader

from .conftest import REPO, make_qa_task, write_csv

LABELS = ["billing", "cards", "transfers"]
TEXTS = [
    "hi",
    "My card was declined at the supermarket this morning.",
    "Why was I charged twice for one coffee?",
    "I sent money to my landlord three days ago and it still shows as pending, is something wrong "
    "with the transfer or with his bank?",
    "pin",
    " ".join(["statement"] * 100),  # longer than the export's 64 tokens: truncated
] * 6  # 36 texts: two batches of 32 and 4, sorted by length
QA_SETTINGS = {"max_length": 64, "stride": 16, "max_question_length": 32}
LONG_CONTEXT = " ".join(
    f"In {1800 + i} the river town of Number{i} built a bridge of stone, and its mayor {name} opened it."
    for i, name in enumerate(["Anna", "Bert", "Clara", "Dieter", "Emil", "Frida", "Gustav", "Hanna"]))


def write_variants(model, tokenizer, folder, kind: str, max_length: int) -> None:
    """The three variants of an export (no quality gate: not needed here, and slow); the static one
    calibrated on the test texts, which is fine for a test of serving, not for a real export."""
    graph = O.export_onnx(model, tokenizer, folder / "onnx" / O.GRAPH_FILE, kind,
                          O.weights_fingerprint(folder), max_length)
    O.quantize_int8(graph, folder / "onnx-int8" / O.GRAPH_FILE)
    O.quantize_int8_static(graph, folder / "onnx-int8-static" / O.GRAPH_FILE,
                           O.text_feeds(tokenizer, TEXTS, max_length))


@pytest.fixture(scope="module")
def classifier_export(tiny_model_dir, tmp_path_factory):
    model, tok = clf.build_student(str(tiny_model_dir), LABELS, seed=1)
    paths = clf.export_classification(model, tok, tmp_path_factory.mktemp("clf"), "tiny", max_length=64)
    write_variants(model, tok, paths.model_dir, O.CLASSIFIER, 64)
    write_tarball(paths.model_dir, paths.tarball)  # the tarball holds the variants too
    return paths


@pytest.fixture(scope="module")
def qa_export(tiny_model_dir, tmp_path_factory):
    model, tok = qa.build_qa_model(str(tiny_model_dir), seed=0)
    # A yes/no reader with set weights: "yes" when both paragraphs state the predicate evenly.
    reader = YesNoReader("yes", [0.0, 6.0] + [0.0] * (len(FEATURES) - 2), -3.0, {"yes": 5, "no": 5})
    paths = qa.export_question_answering(model, tok, tmp_path_factory.mktemp("qa"), "qa",
                                         settings=QA_SETTINGS, yes_no_answer=reader)
    write_variants(model, tok, paths.model_dir, O.QUESTION_ANSWERING, 64)
    return paths


@pytest.fixture(scope="module")
def qa_inputs(tmp_path_factory):
    """The tiny QA task's test questions, then long contexts (several windows), a yes/no question, a
    question longer than MAX_QUESTION_LENGTH and a row without context."""
    task = make_qa_task(tmp_path_factory.mktemp("task") / "data-qa")
    frame = pd.read_csv(task / "test.csv", dtype=str, keep_default_na=False)
    questions, contexts = frame["question"].tolist(), frame["context"].tolist()
    questions += ["Who opened the bridge of Number6?", "When was the bridge of Number1 built?",
                  "Which town built a bridge in 1805?", "Was the bridge of Number3 made of stone?",
                  "Who opened " + "the very old and very long stone bridge of the river town " * 6 + "?",
                  "Who?"]
    contexts += [LONG_CONTEXT] * 5 + [""]
    return questions, contexts


CHILD = textwrap.dedent("""
    import json, sys
    baseline = {m.split(".")[0] for m in sys.modules}
    from helpers.serving import load
    path, csv_in, csv_out, backend = sys.argv[1:5]
    model = load(path, backend=backend)
    if model.KIND == "classifier":
        one = model.predict_one("my card was declined")
        batch = model.predict(["hi", "why was I charged twice?"])
    else:
        one = model.answer_one("Who opened the bridge?", "Anna opened the bridge in 1805.")
        batch = model.answer(["Who opened it?", "Is it stone?"], ["Anna opened it.", "It is stone."])
    loaded = sorted({m.split(".")[0] for m in sys.modules} - baseline)
    if model.KIND == "classifier":
        summary = model.score_csv(csv_in, csv_out, text_column="text", chunk_size=3, progress=False)
    else:
        summary = model.answer_csv(csv_in, csv_out, chunk_size=2, progress=False)
    print(json.dumps({"one": one, "batch": batch, "rows": summary["rows"], "loaded_by_predict": loaded,
                      "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}))
""")


def run_child(path, csv_in, csv_out, backend="onnx") -> dict:
    run = subprocess.run([sys.executable, "-c", CHILD, str(path), str(csv_in), str(csv_out), backend],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_classifier_is_served_without_torch_or_transformers(classifier_export, tmp_path):
    csv_in = tmp_path / "in.csv"
    write_csv(csv_in, ["id", "text"], [[str(i), t] for i, t in enumerate(TEXTS[:7])])
    got = run_child(classifier_export.model_dir, csv_in, tmp_path / "out.csv")
    assert got["torch"] is False and got["transformers"] is False
    # Predicting imported onnxruntime, tokenizers and numpy, and nothing else from outside the stdlib.
    assert set(got["loaded_by_predict"]) - set(sys.stdlib_module_names) <= {"helpers", "numpy", "onnxruntime",
                                                                           "tokenizers"}
    assert [p["label"] for p in got["one"]][0] in LABELS and len(got["one"]) == 3
    assert sum(p["probability"] for p in got["one"]) == pytest.approx(1.0, abs=1e-5)
    assert got["rows"] == 7
    scored = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(scored.columns) == ["id", "text", "predicted_label", "confidence"]
    expected = clf.TextClassifier.from_export(classifier_export.model_dir, backend="onnx").predict(TEXTS[:7])
    assert scored["predicted_label"].tolist() == expected["label"].tolist()


def test_a_qa_model_is_served_without_torch_or_transformers(qa_export, qa_inputs, tmp_path):
    questions, contexts = qa_inputs
    csv_in = tmp_path / "in.csv"
    write_csv(csv_in, ["question", "context"], [list(r) for r in zip(questions, contexts, strict=True)])
    got = run_child(qa_export.model_dir, csv_in, tmp_path / "out.csv", backend="onnx-int8")
    assert got["torch"] is False and got["transformers"] is False
    assert set(got["loaded_by_predict"]) - set(sys.stdlib_module_names) <= {"helpers", "numpy", "onnxruntime",
                                                                           "tokenizers"}
    assert got["batch"][1]["kind"] == "yes/no" and got["batch"][1]["answer"] == "yes"
    assert got["batch"][0]["answer"] in "Anna opened it." and got["batch"][0]["kind"] == "span"
    assert got["rows"] == len(questions)
    scored = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(scored.columns) == ["question", "context", "predicted", "kind", "probability", "problem"]
    assert scored["kind"].iloc[-1] == "skipped" and "no context" in scored["problem"].iloc[-1]


@pytest.mark.parametrize("backend", O.VARIANTS)
def test_classifier_probabilities_are_those_of_the_pytorch_helpers_on_the_same_variant(classifier_export,
                                                                                      backend):
    reference = clf.TextClassifier.from_export(classifier_export.model_dir, backend=backend)
    served = serving.ServingClassifier.from_export(classifier_export.model_dir, backend=backend)
    assert served.labels == reference.labels == LABELS and served.max_length == reference.max_length == 64
    expected, got = reference.predict_proba(TEXTS), served.predict_proba(TEXTS)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert [p["label"] for p in served.predict(TEXTS)] == reference.predict(TEXTS)["label"].tolist()
    one = served.predict_one(TEXTS[3])
    assert [p["label"] for p in one] == reference.predict_one(TEXTS[3])["label"].tolist()


def test_a_tarball_serves_the_same_as_its_folder(classifier_export, tmp_path):
    from_tar = serving.load(classifier_export.tarball, unpack_to=tmp_path / "unpacked")
    from_folder = serving.load(classifier_export.model_dir)
    assert isinstance(from_tar, serving.ServingClassifier)
    np.testing.assert_array_equal(from_tar.predict_proba(TEXTS[:6]), from_folder.predict_proba(TEXTS[:6]))


def windows_holding(tokenizer, question, context, start: int, end: int) -> list[int]:
    """The windows (from 0) whose context holds the characters ``start:end``."""
    features, _ = eval_features(tokenizer, ["input_ids"], [question], [context], **QA_SETTINGS)
    spans = [[o for o in offsets if o is not None] for offsets in features["offset_mapping"]]
    return [w for w, s in enumerate(spans) if s[0][0] <= start and end <= s[-1][1]]


def test_served_yes_no_questions_get_the_exported_readers_decision(qa_export):
    served = serving.load(qa_export.model_dir)
    reference = qa.QuestionAnswerer.from_export(qa_export.model_dir)
    context = "Alder Lane\nAlder Lane is a folk band.\n\nBrook Hollow\nBrook Hollow is a {} from Kerry."
    questions = ["Are Alder Lane and Brook Hollow both bands?"] * 2
    contexts = [context.format("band"), context.format("river")]
    got = [a["answer"] for a in served.answer(questions, contexts)]
    # The prior says "yes" to both; the reader says "no" where only one of the two is a band.
    assert got == [a["answer"] for a in reference.answer(questions, contexts)] == ["yes", "no"]


@pytest.mark.parametrize("backend", O.VARIANTS)
def test_qa_answers_are_those_of_the_question_answerer_on_the_same_variant(qa_export, qa_inputs, backend):
    questions, contexts = qa_inputs
    reference = qa.QuestionAnswerer.from_export(qa_export.model_dir, backend=backend)
    served = serving.load(qa_export.model_dir, backend=backend)
    assert isinstance(served, serving.ServingQuestionAnswerer)
    assert served.settings == reference.settings
    assert served.yes_no_answer == reference.yes_no_answer == "yes"
    assert served.yes_no.to_dict() == reference.yes_no.to_dict() and served.yes_no.weights[1] == 6.0
    expected = reference.answer(questions, contexts, top_k=5)
    got = served.answer(questions, contexts, top_k=5)
    for a, b in zip(got, expected, strict=True):
        assert (a["answer"], a["kind"], a["start"], a["end"], a["skipped"]) == (
            b["answer"], b["kind"], b["start"], b["end"], b["skipped"])
        assert [c["answer"] for c in a["candidates"]] == [c["answer"] for c in b["candidates"]]
        assert [c["probability"] for c in a["candidates"]] == pytest.approx(
            [c["probability"] for c in b["candidates"]], abs=1e-5)
    kinds = [a["kind"] for a in got]
    assert kinds.count("yes/no") == 1 + sum(qa.is_yes_no_question(q) for q in questions[:-6])
    assert kinds[-1] == "skipped"
    # The long context makes several windows; the first long-context question's answer (the same in
    # both paths, as checked above) is read from its second window, not from the first.
    _, stats = eval_features(served.tokenizer, ["input_ids"], questions, contexts, **QA_SETTINGS)
    assert stats.as_dict()["max_windows_per_example"] >= 3 and stats.questions_truncated == 1
    answer = got[-6]
    assert answer["kind"] == "span"
    holding = windows_holding(served.tokenizer, questions[-6], LONG_CONTEXT, answer["start"], answer["end"])
    assert holding[0] == 1


def test_qa_defaults_and_family_names_are_those_of_the_pytorch_helpers():
    signature = inspect.signature(qa.QuestionAnswerer.__init__).parameters
    assert serving.QA_DEFAULTS == {k: signature[k].default for k in serving.QA_DEFAULTS}
    assert (serving.CLASSIFICATION, serving.QUESTION_ANSWERING_FAMILY) == (clf.FAMILY, qa.FAMILY)


def test_a_folder_without_tokenizer_json_names_the_file_and_the_fix(classifier_export, tmp_path):
    folder = shutil.copytree(classifier_export.model_dir, tmp_path / "model")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ExportError, match=r"has no tokenizer\.json .*Fix: re-run the training notebook's"):
        serving.load(folder)


def test_a_folder_without_the_onnx_variant_names_the_file_and_the_fix(classifier_export, tmp_path):
    folder = shutil.copytree(classifier_export.model_dir, tmp_path / "model")
    shutil.rmtree(folder / "onnx-int8")
    with pytest.raises(BackendError, match=r"has no onnx-int8 variant \(.*onnx-int8/model\.onnx is missing\)"
                                           r"\. Fix: .*EXPORT_ONNX=True in the training notebook") as err:
        serving.load(folder, backend="onnx-int8")
    assert "BACKEND='pytorch'" not in str(err.value) and "PyTorch helpers" in str(err.value)
    with pytest.raises(ValueError, match=r"Unknown backend 'pytorch' .* Fix: use one of onnx, onnx-int8"):
        serving.load(folder, backend="pytorch")


def test_an_onnx_file_of_other_weights_is_refused(classifier_export, qa_export, tmp_path):
    folder = shutil.copytree(classifier_export.model_dir, tmp_path / "model")
    shutil.copy(qa_export.model_dir / "onnx" / O.GRAPH_FILE, folder / "onnx" / O.GRAPH_FILE)
    with pytest.raises(BackendError, match=r"is a question-answering graph, but a classifier"):
        serving.load(folder)


def test_a_csv_without_the_text_column_names_the_columns_present(classifier_export, tmp_path):
    csv_in = tmp_path / "in.csv"
    write_csv(csv_in, ["id", "message"], [["1", "hi"]])
    model = serving.load(classifier_export.model_dir)
    with pytest.raises(TaskDataError, match=r"no column 'text' \(columns: \['id', 'message'\]\)"):
        model.score_csv(csv_in, tmp_path / "out.csv", text_column="text", progress=False)
    assert not (tmp_path / "out.csv").exists()


def test_an_export_of_another_family_is_refused_with_the_notebooks_to_use(tmp_path, classifier_export):
    folder = shutil.copytree(classifier_export.model_dir, tmp_path / "model")
    (folder / "export-info.json").write_text(json.dumps({"family": "generative-qa"}), encoding="utf-8")
    with pytest.raises(ExportError, match=r"generative-qa family.*classification-training\.ipynb"):
        serving.load(folder)


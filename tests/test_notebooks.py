"""Notebooks: static checks, and headless runs with papermill on a tiny model and task."""

from __future__ import annotations

import json
import os

import nbformat
import numpy as np
import pandas as pd
import pytest

from tests.conftest import QA_TEST, REPO, TINY_CLASSES, TINY_TEST, run_notebook

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"classification-training.ipynb", "classification-deployment.ipynb",
            "question-answering-training.ipynb", "question-answering-deployment.ipynb",
            "generative-qa-training.ipynb", "generative-qa-deployment.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_clean(path):
    raw = json.loads(path.read_text())  # nbformat.read would fill in missing cell ids
    ids = [c.get("id") for c in raw["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), "every cell needs its own id (nbformat 4.5)"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "outputs not stripped"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    assert "OUTPUT_DIR" in params[0].source
    assert "google.colab" in code[0].source, "first code cell is the Colab install cell"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # Short cells: logic belongs in helpers/ (the Colab install cell and the parameters are exempt).
    longest = max(len(c.source.splitlines()) for c in code[1:]
                  if "parameters" not in c.metadata.get("tags", []))
    assert longest <= 25, f"a code cell has {longest} lines; move logic into helpers"


@pytest.mark.notebook
def test_training_then_deployment_notebooks_on_a_tiny_model(tiny_model_dir, tiny_task, tmp_path):
    out = tmp_path / "training"
    # A relative DATA_DIR is taken from the notebooks folder, as documented.
    data_dir = os.path.relpath(tiny_task, REPO / "notebooks")
    run_notebook(
        "classification-training.ipynb", tmp_path,
        DATA_DIR=data_dir, MODEL=str(tiny_model_dir), TEACHER_MODEL=str(tiny_model_dir),
        EPOCHS=1, MIN_STEPS=3, BATCH_SIZE=4, MAX_LENGTH=32, MAX_UNSTRUCTURED=6,
        OUTPUT_DIR=str(out),
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["task"] == "tiny" and m["labels"] == list(TINY_CLASSES)
    assert m["examples"] == {"train": 12, "test": 6, "unstructured": 6,
                             "pseudo_labelled": m["examples"]["pseudo_labelled"]}
    assert 0 < m["examples"]["pseudo_labelled"] <= 6
    assert set(m["results"]) == {"teacher", "student-base", "student-labelled", "student-distilled",
                                 "student-averaged"}
    assert m["exported"] == "student-averaged" and m["round_one_share"] == 0.5
    for r in m["results"].values():
        assert 0.0 <= r["scores"]["macro_f1"] <= 1.0 and 0.0 <= r["scores"]["accuracy"] <= 1.0
        assert set(r["groups"]) == set(TINY_CLASSES) and r["n"] == 6
    assert {"teacher", "student-labelled", "student-distilled", "export"} <= set(m["seconds"])
    assert m["peak_memory_mb"] > 100  # a kernel with torch loaded is never smaller

    model_dir = out / "model"
    for f in ("config.json", "model.safetensors", "tokenizer.json", "training-logs.csv",
              "training-logs.json", "export-info.json"):
        assert (model_dir / f).is_file(), f
    logs = pd.read_csv(model_dir / "training-logs.csv")
    # Round 2 is planned as one epoch of 12 labelled + the kept pseudo-labelled texts in batches of 4 (at
    # least 3 steps), and trains that many steps on the ones round 1 agrees with;
    # every optimiser step logged.
    n_distil = 12 + m["examples"]["pseudo_labelled"]
    assert len(logs) == max(3, -(-n_distil // 4))
    assert logs["loss"].notna().all() and logs["step"].tolist() == list(range(1, len(logs) + 1))
    config = json.loads((model_dir / "config.json").read_text())
    assert sorted(config["id2label"].values()) == sorted(TINY_CLASSES)
    assert (out / "tiny-model.tar").is_file()
    for plot in ("text-lengths", "training-loss", "confusion-matrix", "per-class-f1"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 1000
    # The ONNX variants, each gated on the 6 unlabelled texts, with the exported (averaged) student's test
    # scores beside the decision for information.
    assert [v["backend"] for v in m["variants"]] == ["onnx", "onnx-int8", "onnx-int8-static"]
    assert [v["gate inputs"] for v in m["variants"]] == [6, 6, 6]
    assert m["variants"][0]["gate label_agreement"] == 100.0 and m["variants"][0]["recommended"]
    for v in m["variants"]:
        exported = 100 * m["results"]["student-averaged"]["scores"]["accuracy"]
        assert v["accuracy pytorch"] == pytest.approx(exported, abs=0.01)
    info = json.loads((model_dir / "export-info.json").read_text())
    assert info["exported"] == "student-averaged" and info["round_one_share"] == 0.5
    assert m["variants"][0]["accuracy variant"] == m["variants"][0]["accuracy pytorch"]
    assert "onnx export" in m["seconds"]
    for backend in ("onnx", "onnx-int8", "onnx-int8-static"):
        report = json.loads((model_dir / backend / "quality-report.json").read_text())
        assert report["test"]["examples"] == 6 and report["gate"]["max_drop"] == 1.0
        assert report["gate"]["inputs"] == 6 and report["gate"]["source"] == "unlabelled texts"
    # Static int8 is calibrated on the unlabelled texts: all 6 are gate inputs too (too few to keep apart).
    calibration = report["calibration"]
    assert calibration["inputs"] == 6 and calibration["in_gate_inputs"] == 6
    assert calibration["test_inputs_left_out"] == 0 and calibration["source"] == "unlabelled texts"

    # Deployment straight from the tarball, in each backend: the same rows, the same columns.
    scored = {}
    for backend in ("pytorch", "onnx", "onnx-int8", "onnx-int8-static"):
        dep = tmp_path / f"deployment-{backend}"
        executed = run_notebook(
            "classification-deployment.ipynb", tmp_path,
            MODEL_DIR=str(out / "tiny-model.tar"), INPUT_CSV=str(tiny_task / "test.csv"), BACKEND=backend,
            N_REVIEW=2, LATENCY_REPEATS=3, CHUNK_SIZE=4, OUTPUT_DIR=str(dep),
        )
        d = json.loads((dep / "metrics.json").read_text())
        assert d["backend"] == backend
        assert d["labels"] == list(TINY_CLASSES) and d["rows_scored"] == len(TINY_TEST)
        assert d["latency"]["n"] == 3 and 0 < d["latency"]["p50_ms"] <= d["latency"]["p95_ms"]
        assert d["throughput"]["texts_per_second"] > 0 and 0 < d["mean_confidence"] <= 1
        assert d["peak_memory_mb"] > 100
        assert 0.0 <= d["gold"]["accuracy"] <= 1.0
        # The torch-free path on the same variant (onnx for pytorch) gives the notebook's label.
        assert d["serving"]["backend"] == ("onnx" if backend == "pytorch" else backend)
        assert d["serving"]["same_label"] is True
        scored[backend] = pd.read_csv(d["scored_csv"])
        assert scored[backend]["question"].tolist() == [t for t, _ in TINY_TEST]
        assert scored[backend]["predicted_label"].isin(list(TINY_CLASSES)).all()
        assert len(pd.read_csv(dep / "review.csv")) == 2
        text = executed.read_text()
        assert f"backend: {backend}" in text and "100% 6/6 rows" in text  # its report, the progress bar
    assert scored["onnx"]["predicted_label"].tolist() == scored["pytorch"]["predicted_label"].tolist()
    assert np.abs(scored["onnx"]["confidence"] - scored["pytorch"]["confidence"]).max() < 1e-4


# A toy task a 2-layer random model can learn: each class has a marker word in every text.
SEPARABLE_WORDS = {"weather": "rain", "cooking": "oven", "sport": "goal"}
SEPARABLE_FILLERS = ["today", "again", "near the town", "this week", "after lunch", "for everyone",
                     "by the river", "at last", "in spring", "once more"]


def separable_rows(n_per_class: int, offset: int = 0) -> list[list[str]]:
    return [[f"{word} {SEPARABLE_FILLERS[(i + offset) % len(SEPARABLE_FILLERS)]}", label]
            for i in range(n_per_class) for label, word in SEPARABLE_WORDS.items()]


@pytest.mark.notebook
def test_classification_notebook_students_learn_a_separable_task_from_the_teachers_start(
        tiny_model_dir, tmp_path):
    from tests.conftest import make_classification_task

    task = make_classification_task(tmp_path / "data-separable", train=separable_rows(4),
                                    test=separable_rows(4, offset=4),
                                    unstructured=[f"more {r[0]}" for r in separable_rows(3, offset=7)])
    out = tmp_path / "out"
    run_notebook("classification-training.ipynb", tmp_path, DATA_DIR=str(task), MODEL=str(tiny_model_dir),
                 TEACHER_MODEL=str(tiny_model_dir), EPOCHS=1, MIN_STEPS=60, MAX_STEPS=60, BATCH_SIZE=4,
                 LEARNING_RATE=3e-3, MAX_LENGTH=16, EXPORT_ONNX=False, ROUND_ONE_SHARE=0.0,
                 OUTPUT_DIR=str(out))
    m = json.loads((out / "metrics.json").read_text())
    accuracy = {name: r["scores"]["accuracy"] for name, r in m["results"].items()}
    # The untrained student is the teacher (same encoder, same pooling, the teacher's head): it scores
    # what the teacher scores. Both trained students find the marker words.
    assert accuracy["student-base"] == pytest.approx(accuracy["teacher"]), accuracy
    assert [(r["name"], r["wanted_steps"], r["steps"]) for r in m["plan"]["runs"]] == [
        ("student-labelled", 60, 60), ("student-distilled", 60, 60)]
    assert 0 < m["agreed_pseudo_labels"] <= m["examples"]["pseudo_labelled"]
    assert accuracy["student-labelled"] >= 0.9 and accuracy["student-distilled"] >= 0.9, accuracy
    assert m["results"]["student-distilled"]["groups"]["sport"]["support"] == 4
    # ROUND_ONE_SHARE=0: round 2 is exported as it ended, no averaging
    assert m["exported"] == "student-distilled" and "student-averaged" not in m["results"]


@pytest.mark.notebook
def test_training_notebook_stops_with_a_clear_error_on_a_missing_data_dir(tmp_path):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError, match="is not a folder. Fix: point DATA_DIR"):
        run_notebook("classification-training.ipynb", tmp_path,
                     DATA_DIR=str(tmp_path / "no-such-task"), OUTPUT_DIR=str(tmp_path / "out"))


@pytest.mark.notebook
def test_deployment_notebook_names_a_missing_weights_file(tiny_model_dir, tmp_path):
    import papermill

    from helpers.classification import build_student
    from helpers.core.export import export_model

    model, tok = build_student(str(tiny_model_dir), ["a", "b"])
    paths = export_model(model, tok, tmp_path / "export", "broken")
    # An ONNX backend asked of an export that has none: the error names the export step.
    with pytest.raises(papermill.PapermillExecutionError, match=r"has no onnx variant.*EXPORT_ONNX=True"):
        run_notebook("classification-deployment.ipynb", tmp_path, MODEL_DIR=str(paths.model_dir),
                     BACKEND="onnx", OUTPUT_DIR=str(tmp_path / "dep"))
    (paths.model_dir / "model.safetensors").unlink()
    with pytest.raises(papermill.PapermillExecutionError, match=r"missing model\.safetensors"):
        run_notebook("classification-deployment.ipynb", tmp_path, MODEL_DIR=str(paths.model_dir),
                     OUTPUT_DIR=str(tmp_path / "dep"))


@pytest.mark.notebook
def test_question_answering_notebook_under_a_spent_budget_exports_the_labelled_pass(
        tiny_model_dir, tiny_qa_task, tmp_path):
    """A budget spent before training: the exported student still reads the labelled examples (one step),
    the synthetic pass and the comparison are skipped, and the notebook says so and finishes."""
    out = tmp_path / "qa-spent"
    executed = run_notebook(
        "question-answering-training.ipynb", tmp_path, DATA_DIR=str(tiny_qa_task), MODEL=str(tiny_model_dir),
        MAX_LENGTH=64, DOC_STRIDE=16, MIN_STEPS=3, BATCH_SIZE=4, SYNTHETIC_PER_CONTEXT=2,
        TIME_BUDGET_MINUTES=0.01, EXPORT_ONNX=False, OUTPUT_DIR=str(out))
    m = json.loads((out / "metrics.json").read_text())
    assert [(r["name"], r["steps"]) for r in m["plan"]["runs"]] == [
        ("synthetic-pass", 0), ("labelled-pass", 1), ("student-labelled", 0)]
    assert set(m["results"]) == {"student-base", "student-synthetic"}
    assert (out / "model" / "model.safetensors").is_file() and m["gate_inputs"] == 0
    text = executed.read_text()
    assert "the labelled-only student was not trained" in text and "synthetic-pass skipped" in text


@pytest.mark.notebook
def test_question_answering_notebooks_on_a_tiny_model(tiny_model_dir, tiny_qa_task, tmp_path):
    out = tmp_path / "qa-training"
    run_notebook(
        "question-answering-training.ipynb", tmp_path,
        DATA_DIR=str(tiny_qa_task), MODEL=str(tiny_model_dir), MAX_LENGTH=64, DOC_STRIDE=16,
        EPOCHS=1, MIN_STEPS=3, BATCH_SIZE=4, SYNTHETIC_PER_CONTEXT=2, OUTPUT_DIR=str(out),
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["task"] == "tinyqa" and m["examples"]["train"] == 6 and m["examples"]["test"] == 4
    assert m["answer_status"]["train"] == {"found": 5, "yes/no": 1}
    assert m["examples"]["synthetic"] > 0 and m["yes_no_answer"] == "yes"
    # Three tiny contexts give too few yes/no questions to fit the reader: it keeps the prior, and says so.
    assert m["yes_no_reader"]["prior"] == "yes" and m["yes_no_reader"]["weights"] == []
    assert [(r["form"], r["n"]) for r in m["yes_no_test"]] == [("unparsed", 1), ("all", 1)]
    assert m["synthetic_windows"]["examples"] == m["examples"]["synthetic"]
    assert m["labelled_windows"]["examples"] == 6 and m["labelled_windows"]["answers_without_position"] == 1
    assert set(m["results"]) == {"student-base", "student-labelled", "student-synthetic"}
    # The default 15-minute budget holds every run of a tiny model: none is cut.
    assert all(r["steps"] == r["wanted_steps"] > 0 for r in m["plan"]["runs"])
    assert [r["name"] for r in m["plan"]["runs"]] == ["synthetic-pass", "labelled-pass", "student-labelled"]
    assert m["plan"]["notes"] == [] and m["plan"]["budget_seconds"] == 900
    for r in m["results"].values():
        groups = r["groups"]
        assert groups["all"]["n"] == 4 and groups["yes/no"]["n"] == 1 and groups["span"]["n"] == 3
        assert 0 <= groups["all"]["exact_match"] <= groups["all"]["f1"] + 1e-9 <= 100 + 1e-9
        assert r["scores"]["f1"] == groups["all"]["f1"] and r["scores"]["span_f1"] == groups["span"]["f1"]
    assert m["windows"]["max_windows_per_example"] >= 2  # 64-token windows: long contexts split
    for f in ("config.json", "model.safetensors", "tokenizer.json", "training-logs.csv",
              "training-logs.json", "export-info.json"):
        assert (out / "model" / f).is_file(), f
    assert (out / "tinyqa-model.tar").is_file()
    assert [v["backend"] for v in m["variants"]] == ["onnx", "onnx-int8"]
    assert m["variants"][0]["span_f1 variant"] == m["variants"][0]["span_f1 pytorch"]
    # Gated on the training and synthetic questions answered with a span (the yes/no one is left out).
    assert 0 < m["variants"][0]["gate inputs"] <= 5 + m["examples"]["synthetic"]
    assert m["variants"][0]["gate exact_match"] == 100.0 and m["variants"][0]["recommended"]
    span_f1 = m["results"]["student-synthetic"]["groups"]["span"]["f1"]
    assert m["variants"][0]["span_f1 pytorch"] == pytest.approx(span_f1, abs=0.01)

    answered = {}
    for backend in ("onnx-int8", "onnx", "pytorch"):  # pytorch last: its outputs are checked below
        dep = tmp_path / f"qa-deployment-{backend}"
        run_notebook(
            "question-answering-deployment.ipynb", tmp_path, MODEL_DIR=str(out / "tinyqa-model.tar"),
            INPUT_CSV=str(tiny_qa_task / "test.csv"), LATENCY_REPEATS=3, BACKEND=backend, CHUNK_SIZE=3,
            OUTPUT_DIR=str(dep),
        )
        d = json.loads((dep / "metrics.json").read_text())
        assert d["backend"] == backend and d["rows_answered"] == len(QA_TEST)
        assert d["serving"]["same_answer"] is True  # the torch-free path, on the same variant
        answered[backend] = pd.read_csv(d["answered_csv"], dtype=str, keep_default_na=False)
    assert answered["onnx"]["predicted"].tolist() == answered["pytorch"]["predicted"].tolist()
    assert d["settings"]["max_length"] == 64 and d["rows_answered"] == len(QA_TEST)
    # The notebook's default example: every top answer is the context slice it points at.
    ctx = ("The quick brown fox jumps over the lazy dog. The fox is known for its speed and agility, "
           "and the dog is very sleepy.")
    assert 1 <= len(d["example"]) <= 5
    for a in d["example"]:
        assert ctx[a["start"] : a["end"]] == a["answer"] and a["answer"].strip()
    assert d["long_context"]["windows"] >= 2 and d["latency"]["n"] == 3 and d["peak_memory_mb"] > 100
    assert m["peak_memory_mb"] > 100
    answered = pd.read_csv(d["answered_csv"], dtype=str, keep_default_na=False)
    assert answered["question"].tolist() == [q for q, _, _ in QA_TEST]
    assert answered.loc[3, "kind"] == "yes/no" and answered.loc[3, "predicted"] == "yes"


@pytest.mark.notebook
@pytest.mark.parametrize("model_fixture", ["tiny_llama_dir", "tiny_t5_dir"],
                         ids=["decoder", "encoder-decoder"])
def test_generative_notebooks_on_a_tiny_model(model_fixture, request, tiny_qa_task, tmp_path):
    model_dir = request.getfixturevalue(model_fixture)
    out = tmp_path / "gen-training"
    run_notebook(
        "generative-qa-training.ipynb", tmp_path,
        DATA_DIR=os.path.relpath(tiny_qa_task, REPO / "notebooks"), MODEL=str(model_dir),
        MAX_CONTEXT_TOKENS=48, MAX_ANSWER_TOKENS=4, MAX_NEW_TOKENS=6, LORA_RANK=4, LORA_ALPHA=8,
        MIN_STEPS=3, MAX_STEPS=3, BATCH_SIZE=4, EVAL_BATCH_SIZE=3, LOAD_IN_4BIT=True, OUTPUT_DIR=str(out),
    )
    m = json.loads((out / "metrics.json").read_text())
    kind = "decoder" if model_fixture == "tiny_llama_dir" else "encoder-decoder"
    assert m["task"] == "tinyqa" and m["kind"] == kind and m["settings"]["kind"] == kind
    assert m["examples"]["train"] == 6 and m["examples"]["test"] == 4 and m["examples"]["synthetic"] > 0
    # Answers of more than 4 tokens (end of turn included) are dropped, never cut.
    assert m["lengths"]["dropped_long_answers"] >= 1 and m["lengths"]["target_tokens_max"] <= 4
    assert m["examples"]["training"] == m["lengths"]["examples"]
    assert m["examples"]["training"] + m["lengths"]["dropped_long_answers"] == 6 + m["examples"]["synthetic"]
    assert set(m["results"]) == {"untuned (zero-shot)", "LoRA-tuned"}
    for r in m["results"].values():
        assert r["n"] == 4 and r["groups"]["yes/no"]["n"] == 1
        s = r["scores"]
        assert 0 <= s["exact_match"] <= 100 and 0 <= s["f1"] <= 100 and 0 <= s["rouge_l"] <= 100
    assert 0 < m["trainable_parameters"]["share"] < 0.5
    for f in ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
              "training-logs.csv", "training-logs.json", "export-info.json"):
        assert (out / "model" / f).is_file(), f
    assert (out / "tinyqa-model.tar").is_file()
    for plot in ("answer-lengths.png", "context-lengths.png", "training-loss.png"):
        assert (out / "plots" / plot).is_file(), plot

    dep = tmp_path / "gen-deployment"
    run_notebook("generative-qa-deployment.ipynb", tmp_path, MODEL_DIR=str(out / "tinyqa-model.tar"),
                 DATA_DIR=str(tiny_qa_task), LATENCY_REPEATS=2, BATCH_SIZE=3, CHUNK_SIZE=3,
                 OUTPUT_DIR=str(dep))
    d = json.loads((dep / "metrics.json").read_text())
    assert d["kind"] == kind and d["settings"]["max_new_tokens"] == 6 and d["rows_answered"] == len(QA_TEST)
    assert d["example"]["question"] == QA_TEST[0][0] and d["example"]["new_tokens"] <= 6
    assert d["speed"]["n"] == 2 and d["speed"]["first_token_ms_p50"] > 0
    assert 0 <= d["gold"]["rouge_l"] <= 100
    answered = pd.read_csv(d["answered_csv"], dtype=str, keep_default_na=False)
    assert answered["question"].tolist() == [q for q, _, _ in QA_TEST] and "predicted" in answered
    # The deployment reproduces the training notebook's answers to the same test questions.
    tuned = m["results"]["LoRA-tuned"]["scores"]
    assert d["gold"]["exact_match"] == pytest.approx(tuned["exact_match"])
    assert d["gold"]["f1"] == pytest.approx(tuned["f1"])


@pytest.mark.notebook
def test_context_relevance_then_open_book_notebooks_on_tiny_models(tiny_model_dir, tiny_llama_dir,
                                                                    tiny_qa_task, tmp_path):
    from helpers import generative_qa as g
    from helpers import question_answering as qa
    out = tmp_path / "relevance"
    run_notebook(
        "context-relevance-training.ipynb", tmp_path, DATA_DIR=str(tiny_qa_task),
        MODEL=str(tiny_model_dir), MIN_STEPS=2, MAX_STEPS=2, BATCH_SIZE=4, MAX_LENGTH=64,
        SYNTHETIC_PER_CONTEXT=2, OUTPUT_DIR=str(out),
    )
    m = json.loads((out / "metrics.json").read_text())
    # Four unlabelled documents, then the three train and one test context not among them: two passages each.
    assert m["collection"]["documents"] == 8 and m["collection"]["passages"] == 16
    assert set(m["results"]) == {"untuned", "none negatives", "easy negatives", "hard negatives",
                                 "both negatives"}
    for r in m["results"].values():
        s = r["scores"]
        assert 0 <= s["recall@1"] <= s["recall@5"] <= 1 and 0 <= s["mrr@10"] <= 1 and r["n"] == 4
    assert m["examples"]["pairs"] == 6 + m["examples"]["synthetic"] and m["examples"]["hard_negatives"] > 0
    for f in ("index.faiss", "passages.json", "index-info.json", "encoder/config.json", "export-info.json"):
        assert (out / "retriever" / f).is_file(), f
    assert (out / "tinyqa-retriever.tar").is_file()
    for plot in ("training-loss.png", "score-distributions.png"):
        assert (out / "plots" / plot).is_file(), plot

    model, tokenizer = qa.build_qa_model(str(tiny_model_dir), seed=0)
    extractive = qa.export_question_answering(model, tokenizer, tmp_path / "ex", "tinyqa",
                                              settings={"max_length": 64, "stride": 16})
    qa.export_qa_variants(extractive.model_dir, pd.read_csv(tiny_qa_task / "test.csv", dtype=str),
                          tarball=extractive.tarball,
                          gate_frame=pd.read_csv(tiny_qa_task / "train.csv", dtype=str))
    assert [v["backend"] for v in m["variants"]] == ["onnx", "onnx-int8"]  # the retriever's encoder
    assert 6 < m["variants"][0]["gate inputs"] <= 6 + m["examples"]["synthetic"]  # training and synthetic
    assert m["variants"][0]["gate top1_agreement"] == 100.0 and m["variants"][0]["recommended"]
    gen_model, gen_tok, kind, _ = g.load_generative_model(str(tiny_llama_dir))
    generative = g.export_generative_qa(gen_model, gen_tok, tmp_path / "gen", "tinyqa", [],
                                     g.generative_settings("Answer.", 48, 4, kind))
    # The generative run answers a CSV of questions only (no gold): it is streamed in chunks, unscored.
    questions_only = tmp_path / "questions.csv"
    pd.DataFrame({"id": list("abcd"), "question": [q for q, _, _ in QA_TEST]}).to_csv(questions_only,
                                                                                      index=False)
    runs = ((extractive.tarball, "extractive", "pytorch", None),
            (extractive.tarball, "extractive", "onnx-int8", None),
            (generative.model_dir, "generative", "onnx", str(questions_only)))
    for reader, reader_kind, backend, input_csv in runs:
        dep = tmp_path / f"open-book-{reader_kind}-{backend}"
        executed = run_notebook("open-book-qa-deployment.ipynb", tmp_path,
                                RETRIEVER_DIR=str(out / "tinyqa-retriever.tar"), BACKEND=backend,
                                READER_DIR=str(reader), DATA_DIR=str(tiny_qa_task), INPUT_CSV=input_csv,
                                TOP_K=3, READ_TOP=2, LATENCY_REPEATS=2, CHUNK_SIZE=3, OUTPUT_DIR=str(dep))
        d = json.loads((dep / "metrics.json").read_text())
        assert d["backend"] == backend and f"backend: {backend}" in executed.read_text()
        assert d["reader_kind"] == reader_kind and d["passages"] == 16 and d["rows_answered"] == len(QA_TEST)
        assert d["example"]["question"] == QA_TEST[0][0] and d["latency"]["n"] == 2
        assert d["latency"]["retrieval_ms_p50"] > 0 and d["latency"]["reading_ms_p50"] > 0
        answered = pd.read_csv(d["answered_csv"], dtype=str, keep_default_na=False)
        assert answered["question"].tolist() == [q for q, _, _ in QA_TEST]
        if input_csv:  # a generative reader has no ONNX export: it says it runs in PyTorch
            assert "reader: generative, backend: pytorch" in executed.read_text()
            assert d["scores"] is None and answered["id"].tolist() == list("abcd")
            assert "100% 4/4 rows" in executed.read_text()
        else:
            assert 0 <= d["scores"]["exact_match"] <= 100
            assert 0 <= d["scores"]["gold_read"] <= d["scores"]["gold_retrieved"] <= 100

    import papermill

    # The retriever given as the reader: a clear error, naming the fix.
    with pytest.raises(papermill.PapermillExecutionError,
                       match="not a question-answering export .*family is context-relevance"):
        run_notebook("open-book-qa-deployment.ipynb", tmp_path, RETRIEVER_DIR=str(out / "retriever"),
                     READER_DIR=str(out / "retriever"), DATA_DIR=str(tiny_qa_task),
                     OUTPUT_DIR=str(tmp_path / "x"))

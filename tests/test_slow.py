"""Slow tests: the real packaged models (all-MiniLM-L6-v2, SmolLM2-135M-Instruct) on the
project's own data, with quality floors.

They catch what tiny random models cannot: a training loop that runs but learns nothing, a
teacher that ignores the descriptions, an export that reloads with a random head.
"""

from __future__ import annotations

import json

import pytest

from helpers.core.tasks import load_task
from tests.conftest import MINILM, REPO, run_notebook

pytestmark = pytest.mark.slow


def test_teacher_on_banking_beats_chance_by_far():
    from helpers.classification import FewShotTeacher, evaluate_teacher
    from helpers.core.embeddings import SentenceEncoder

    task = load_task(REPO / "data-banking-routing")
    teacher = FewShotTeacher(SentenceEncoder(MINILM), task.labels).fit(
        task.train["question"], task.train["answer"], task.classes)
    m = evaluate_teacher(teacher, task.test["question"], task.test["answer"]).scores
    # 8 balanced classes: chance is 0.125. Measured 0.79 with the packaged MiniLM.
    assert m["accuracy"] >= 0.65 and m["macro_f1"] >= 0.65


def test_training_notebook_defaults_on_banking(tmp_path):
    """The README's main job, on its defaults: the distilled student learns the task."""
    out = tmp_path / "out"
    # No time budget: on a loaded machine the plan would cut the runs (that is its job, tested in
    # test_budget.py); this test holds the recipe to quality floors. On a quiet 2-core machine the
    # default plan cuts nothing here (276 s of the 600).
    run_notebook("classification-training.ipynb", tmp_path, OUTPUT_DIR=str(out), TIME_BUDGET_MINUTES=None)
    m = json.loads((out / "metrics.json").read_text())
    r = {name: v["scores"]["accuracy"] for name, v in m["results"].items()}
    assert m["model"] == MINILM and m["examples"]["pseudo_labelled"] == 200
    # The student starts from the teacher's head: before training it is the teacher (0.789), and a
    # loop that learns nothing stays there.
    assert r["student-base"] == pytest.approx(r["teacher"], abs=0.01)
    # Measured (seed 42): teacher 0.789, labelled-only 0.875, distilled 0.906, averaged (exported) 0.891.
    # Floors leave room for run-to-run noise on other CPUs without letting a broken loop through.
    assert m["exported"] == "student-averaged"
    assert r["student-labelled"] >= 0.75 and r["student-distilled"] >= 0.80
    assert r["student-averaged"] >= 0.80 and r["student-averaged"] >= r["teacher"] + 0.04
    assert m["results"]["student-averaged"]["scores"]["macro_f1"] >= 0.80
    assert [r["name"] for r in m["plan"]["runs"]] == ["student-labelled", "student-distilled"]

    # The export serves: the deployment notebook on the test set reproduces the accuracy.
    dep = tmp_path / "dep"
    run_notebook("classification-deployment.ipynb", tmp_path, MODEL_DIR=str(out / "model"),
                 OUTPUT_DIR=str(dep), LATENCY_REPEATS=10)
    d = json.loads((dep / "metrics.json").read_text())
    assert d["gold"]["accuracy"] == pytest.approx(r["student-averaged"], abs=1e-9)

    # The ONNX variants, gated on the 400 unlabelled texts (measured on the averaged export: fp32 agrees
    # on all 400, dynamic int8 on 395, under the 99 points required; on test, for information, fp32 the
    # same on all 128 texts, dynamic int8 90.6 vs 89.1, +1.6 points, the same label on 96.1%).
    v = {row["backend"]: row for row in m["variants"]}
    assert v["onnx"]["gate inputs"] == 400 and v["onnx"]["gate label_agreement"] >= 99
    assert v["onnx"]["recommended"] and v["onnx"]["same on test %"] >= 99
    assert v["onnx"]["accuracy variant"] == v["onnx"]["accuracy pytorch"]
    assert v["onnx-int8"]["accuracy variant"] >= v["onnx-int8"]["accuracy pytorch"] - 1.0
    assert v["onnx-int8"]["same on test %"] >= 95 and v["onnx-int8"]["gate label_agreement"] >= 95
    assert v["onnx-int8"]["recommended"] == (v["onnx-int8"]["gate label_agreement"] >= 99.0)
    assert v["onnx-int8"]["MB variant"] < 0.3 * v["onnx-int8"]["MB pytorch"]
    # Served with the int8 backend, the test set gives the accuracy its report promised.
    run_notebook("classification-deployment.ipynb", tmp_path, MODEL_DIR=str(out / "model"),
                 BACKEND="onnx-int8", OUTPUT_DIR=str(dep), LATENCY_REPEATS=10)
    d = json.loads((dep / "metrics.json").read_text())
    assert 100 * d["gold"]["accuracy"] == pytest.approx(v["onnx-int8"]["accuracy variant"], abs=0.01)


def test_question_answering_notebook_defaults_on_hotpotqa(tmp_path):
    """The extractive QA notebook on its defaults (real MiniLM, data-hotpotqa): it learns spans."""
    out = tmp_path / "qa"
    # No time budget (as for banking): the plan would cut runs on a loaded machine, by design
    # (test_budget.py); this test holds the recipe to quality floors.
    run_notebook("question-answering-training.ipynb", tmp_path, OUTPUT_DIR=str(out), TIME_BUDGET_MINUTES=None)
    m = json.loads((out / "metrics.json").read_text())
    assert [(r["name"], r["steps"]) for r in m["plan"]["runs"]] == [
        ("synthetic-pass", 100), ("labelled-pass", 40), ("student-labelled", 40)]
    r = {name: result["groups"] for name, result in m["results"].items()}
    # Measured on span questions: untrained 0.9 F1, labelled only 29.9, synthetic then
    # labelled 49.7. The floors are far above what an untrained or broken loop reaches.
    assert r["student-base"]["span"]["f1"] < 10
    assert r["student-labelled"]["span"]["f1"] >= 15
    assert r["student-synthetic"]["span"]["f1"] >= 30
    assert m["windows"]["examples_with_several_windows"] >= 10  # long contexts were split
    assert m["examples"]["synthetic"] >= 500

    # ONNX variants (measured: gated on 297 training and synthetic span questions, fp32 agrees on all,
    # int8 EM 79.8 / F1 84.0 against PyTorch's answers, so the 1-point gate marks it as not
    # recommended; on test, for information, fp32 identical, int8 span EM 42.4 vs 45.5, F1 46.1 vs 49.7).
    v = {row["backend"]: row for row in m["variants"]}
    assert v["onnx"]["gate inputs"] >= 250 and v["onnx"]["gate exact_match"] == 100.0
    assert v["onnx"]["span_f1 variant"] == v["onnx"]["span_f1 pytorch"] and v["onnx"]["recommended"]
    assert v["onnx-int8"]["span_f1 variant"] >= v["onnx-int8"]["span_f1 pytorch"] - 8  # not broken
    gate = min(v["onnx-int8"]["gate exact_match"], v["onnx-int8"]["gate f1"])
    assert v["onnx-int8"]["recommended"] == (gate >= 99.0)


def test_smollm2_lora_few_steps_lowers_the_loss_and_the_export_answers(tmp_path):
    """The real SmolLM2-135M-Instruct, a few LoRA steps: the loss falls, the export reloads and answers
    in short answers that end on their own."""
    import torch

    from helpers import generative_qa as g
    from helpers.core import lora
    from helpers.core.training import TrainConfig
    from tests.conftest import SMOLLM2

    task = load_task(REPO / "data-hotpotqa", kind="qa")
    model, tokenizer, kind, _ = g.load_generative_model(SMOLLM2, seed=0)
    examples = g.build_training_examples(task.train.head(16), tokenizer, task.description, 96, kind)

    def loss() -> float:
        model.eval()
        with torch.no_grad():
            return float(model(**g.collate_for_training(tokenizer, examples[:8])).loss)

    model = lora.apply_lora(model, lora.LoraSettings(dropout=0.0), kind)
    before = loss()
    config = TrainConfig(epochs=1, min_steps=6, max_steps=6, learning_rate=3e-4, batch_size=4,
                         warmup_ratio=0.0)
    g.train_generative(model, tokenizer, examples, config)
    after = loss()
    # Measured: 3.34 -> 1.23. The untuned model answers in sentences, so the short gold answers
    # cost it a lot; a loop that does not train leaves the loss where it was.
    assert after < 0.6 * before, (before, after)

    merged = g.merge_adapters(model, SMOLLM2)
    settings = g.generative_settings(task.description, 96, 16, kind)
    paths = g.export_generative_qa(merged, tokenizer, tmp_path, "hotpotqa", None, settings)
    assert g.export_difference(merged, tokenizer, paths.model_dir, examples[:2]) < 1e-3
    answerer = g.GenerativeAnswerer.from_export(paths.tarball, unpack_to=tmp_path / "unpacked")
    test = task.test.head(8)
    answers = answerer.answer_batch(test["question"], test["context"], batch_size=4)
    # Six steps teach the format (measured: "Bosch", "2010", "No", ... where the untuned model
    # wrote sentences); the notebook-defaults test below holds the quality floors.
    assert all(a and len(a.split()) <= 6 for a in answers), answers
    streamed = answerer.stream(test["question"].iloc[0], test["context"].iloc[0])
    assert streamed.text == answers[0] and streamed.new_tokens < 16  # it stopped by itself


def test_generative_notebook_defaults_on_hotpotqa(tmp_path):
    """The generative QA notebook on its defaults (SmolLM2 + LoRA, data-hotpotqa)."""
    out = tmp_path / "gen"
    run_notebook("generative-qa-training.ipynb", tmp_path, OUTPUT_DIR=str(out))
    m = json.loads((out / "metrics.json").read_text())
    untuned, tuned = (m["results"][name]["scores"] for name in ("untuned (zero-shot)", "LoRA-tuned"))
    # Measured: untuned EM 0 / F1 11.9 (13.5 words per answer), tuned EM 47.1 / F1 48.9 (1.4 words).
    assert untuned["exact_match"] < 10 and untuned["answer_words"] > 5
    assert tuned["exact_match"] >= 30 and tuned["f1"] >= untuned["f1"] + 20
    assert tuned["answer_words"] < 3
    assert m["examples"]["synthetic"] == 100 and m["lengths"]["dropped_long_answers"] == 0


def test_context_relevance_notebook_defaults_on_hotpotqa(tmp_path):
    """The retriever notebook on its defaults with one kind of negatives (real MiniLM).

    On data-hotpotqa the untuned MiniLM already finds the answer passage in its top 5 for 76%
    of the test questions, and fine-tuning on 50 labelled plus synthetic questions raises that
    by one question at most (measured: 0.757 before, 0.771 after with both negatives): the
    misses are bridge questions whose answer passage never names the question's entity. What
    fine-tuning does move is the score gap between each question's gold passage and its best
    wrong one (measured: -0.149 before, -0.113 after). The floors catch a loop that learns
    nothing or damages the encoder, and a collection or gold mapping gone wrong.
    """
    out = tmp_path / "relevance"
    run_notebook("context-relevance-training.ipynb", tmp_path, COMPARE_NEGATIVES=False, OUTPUT_DIR=str(out))
    m = json.loads((out / "metrics.json").read_text())
    untuned, tuned = (m["results"][name]["scores"] for name in ("untuned", "both negatives"))
    assert m["collection"]["documents"] == 340 and m["collection"]["passages"] > 340
    assert untuned["recall@5"] >= 0.6 and untuned["mrr@10"] >= 0.35
    assert tuned["recall@5"] >= untuned["recall@5"] and tuned["mrr@10"] >= untuned["mrr@10"]
    assert tuned["mean_gap"] >= untuned["mean_gap"] + 0.02  # gold passages move up
    assert m["examples"]["hard_negatives"] >= 0.9 * m["examples"]["pairs"]

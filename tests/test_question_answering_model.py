"""Extractive QA: training, prediction, evaluation tables and export on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import question_answering as qa
from helpers.core.evaluation import results_table
from helpers.core.export import reload_difference
from helpers.core.metrics import squad_scores
from helpers.core.tasks import load_task
from helpers.core.training import TrainConfig


@pytest.mark.parametrize(
    "question, expected",
    [("Were both born in Ohio?", True), ("  does it flow north?", True), ("Is it?", True),
     ("Who wrote it?", False), ("Island of what?", False), ("Which was first, A or B?", False)],
)
def test_is_yes_no_question(question, expected):
    assert qa.is_yes_no_question(question) is expected


def test_yes_no_prior_takes_the_majority_and_ties_go_to_yes():
    assert qa.YesNoPrior(["yes", "No", "no", "Paris"]).answer == "no"
    assert qa.YesNoPrior(["yes", "no"]).answer == "yes"
    assert qa.YesNoPrior(["Paris"]).counts == {"yes": 0, "no": 0}


def test_tiny_qa_task_loads_and_answers_are_located(tiny_qa_task):
    task = load_task(tiny_qa_task, kind="qa")
    train, test = qa.locate_answers(task.train), qa.locate_answers(task.test)
    table = qa.answer_status_table(train, test)
    assert table.loc["found", "train"] == 5 and table.loc["yes/no", "train"] == 1
    assert table.loc["total"].tolist() == [6, 4]


def test_train_predict_export_round_trip(tiny_model_dir, tiny_qa_task, tmp_path):
    task = load_task(tiny_qa_task, kind="qa")
    train, test = qa.locate_answers(task.train), qa.locate_answers(task.test)
    model, tok = qa.build_qa_model(str(tiny_model_dir), seed=0)
    config = TrainConfig(epochs=1, min_steps=40, batch_size=4, max_length=64, learning_rate=3e-3, seed=0)
    history, stats = qa.train_qa(model, tok, train, config, stride=16)
    losses = [r["loss"] for r in history if "loss" in r]
    assert len(losses) == 40 and np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
    assert stats.answers_without_position == 1 and stats.examples == 6
    assert stats.windows > stats.examples - 1  # 64-token windows: some contexts need two

    # After 40 steps on 5 span examples the tiny model answers its own training questions.
    settings = {"max_length": 64, "stride": 16, "n_best": 10, "max_answer_length": 10,
                "max_question_length": 32}
    spans = train[train["answer_start"] >= 0]
    preds = qa.predict_answers(model, tok, spans["question"].tolist(), spans["context"].tolist(),
                               **settings)
    assert sum(p["answer"] == a for p, a in zip(preds, spans["answer_text"], strict=True)) >= 3
    for p, c in zip(preds, spans["context"], strict=True):
        assert c[p["start"] : p["end"]] == p["answer"] and 0 < p["probability"] <= 1

    result = qa.evaluate_model(model, tok, test, "yes", settings)
    groups = result.groups
    assert groups["yes/no"]["n"] == 1 and groups["yes/no"]["exact_match"] == 0.0  # gold "no"
    assert groups["span"]["n"] == 3 and groups["all"]["n"] == 4 and result.n == 4
    table = results_table({"x": result}, decimals=2)
    assert list(table.columns) == ["exact_match", "f1", "span_exact_match", "span_f1", "yes_no_accuracy"]
    assert table.loc["x", "yes_no_accuracy"] == 0.0
    assert result.scores["f1"] == groups["all"]["f1"] and result.as_dict()["groups"]["all"]["n"] == 4

    paths = qa.export_question_answering(model, tok, tmp_path / "out", "tinyqa", history, settings, "yes")
    info = json.loads((paths.model_dir / "export-info.json").read_text())
    assert info["family"] == "question-answering" and info["task"] == "tinyqa"
    assert info["qa_settings"] == {**settings, "yes_no_answer": "yes"}
    with pytest.raises(ValueError, match=r"Unknown QA settings \['doc_stride'\]"):
        qa.export_question_answering(model, tok, tmp_path / "bad", "x", settings={"doc_stride": 16})
    assert reload_difference(model, tok, paths.model_dir, ["q?"], auto_class=qa.auto_class()) < 1e-5
    answerer = qa.QuestionAnswerer.from_export(paths.tarball, unpack_to=tmp_path / "u")
    assert answerer.settings["max_length"] == 64 and answerer.yes_no_answer == "yes"
    assert answerer.settings["max_question_length"] == 32  # every saved setting comes back
    again = answerer.answer(spans["question"].tolist(), spans["context"].tolist())
    assert [a["answer"] for a in again] == [p["answer"] for p in preds]
    assert answerer.answer(["Is Dorrow a town?"], [task.train["context"][2]])[0]["kind"] == "yes/no"
    top = answerer.answer_one(spans["question"].iloc[0], spans["context"].iloc[0], top_k=3)
    assert list(top.columns) == ["answer", "probability", "score", "start", "end"]
    assert len(top) == 3 and top["probability"].is_monotonic_decreasing
    assert top["answer"].iloc[0] == again[0]["answer"]  # the best of the three is the answer

    # A CSV answered in chunks of 3 gives what answering it whole gives, with running scores.
    out = answerer.answer_csv(tiny_qa_task / "train.csv", tmp_path / "answered.csv", chunk_size=3,
                              progress=False)
    whole = answerer.answer(task.train["question"].tolist(), task.train["context"].tolist())
    back = pd.read_csv(out["output_csv"], dtype=str, keep_default_na=False)
    assert out["rows"] == len(task.train) == len(back)
    assert list(back.columns[:3]) == ["question", "answer", "context"]
    assert back["predicted"].tolist() == [a["answer"] for a in whole]
    expected = squad_scores(back["predicted"], back["answer"])
    assert out["gold"]["f1"] == pytest.approx(expected["f1"]) and out["gold"]["n"] == len(back)
    assert out["gold"]["exact_match"] == pytest.approx(expected["exact_match"])
    assert out["skipped"] == {} and set(back["problem"]) == {""}

    # Rows that cannot be answered are reported by data row and skipped; the others are answered
    # as before, and other_answers count as gold answers.
    rows = task.train.assign(other_answers="").copy()
    rows.loc[1, "context"] = ""
    rows.loc[3, "question"] = "   "
    rows.loc[4, "other_answers"] = back["predicted"][4] + "|something else"
    rows.to_csv(tmp_path / "bad.csv", index=False)
    out = answerer.answer_csv(tmp_path / "bad.csv", tmp_path / "bad-answered.csv", chunk_size=2,
                              progress=False)
    bad = pd.read_csv(out["output_csv"], dtype=str, keep_default_na=False)
    assert list(out["skipped"]) == [2, 4] and "no context" in out["skipped"][2]
    assert "empty question" in out["skipped"][4]
    assert bad["kind"].tolist()[1] == bad["kind"].tolist()[3] == "skipped"
    assert bad["predicted"][1] == bad["predicted"][3] == ""
    kept = [0, 2, 5]
    assert bad["predicted"][kept].tolist() == back["predicted"][kept].tolist()
    assert bad["predicted"][4] == back["predicted"][4]
    golds = [[a] for a in rows["answer"]]
    golds[4].append(back["predicted"][4])
    assert out["gold"]["exact_match"] == pytest.approx(squad_scores(bad["predicted"], golds)["exact_match"])


def test_training_refuses_a_frame_without_any_located_answer(tiny_model_dir):
    model, tok = qa.build_qa_model(str(tiny_model_dir))
    frame = pd.DataFrame({"question": ["Is it?"], "context": ["Some text."], "answer_start": [-1],
                          "answer_text": ["yes"]})
    with pytest.raises(qa.QAInputError, match="nothing to learn"):
        qa.train_qa(model, tok, frame, TrainConfig(max_steps=1, max_length=32), stride=4)


def test_window_report_counts_long_contexts(tiny_model_dir):
    from helpers.core.models import load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir))
    frame = pd.DataFrame({"question": ["q one", "q two"],
                          "context": ["short text", " ".join(str(n) for n in range(10, 70))]})
    report = qa.window_report(tok, frame, max_length=32, stride=8)
    assert report["context_tokens"] == [2, 60] and report["examples_with_several_windows"] == 1
    # room = 32 - 2 question tokens - 3 specials = 27; step 19: 60 tokens need 3 windows.
    assert report["windows"] == 1 + 3 and report["max_windows_per_example"] == 3


def test_frame_from_squad_records_keeps_every_gold_answer():
    records = [
        {"question": " Who? ", "context": "Ann went.", "answers": {"text": ["Ann", "Ann"],
                                                                  "answer_start": [0, 0]}},
        {"question": "None?", "context": "x", "answers": {"text": [], "answer_start": []}},
        {"question": "Which team won?", "context": "The Denver Broncos won.",
         "answers": {"text": ["Denver Broncos", "The Broncos", "Broncos", "Broncos"],
                     "answer_start": [4, 0, 11, 11]}},
    ]
    frame = qa.frame_from_squad_records(records)
    assert frame.to_dict("list") == {
        "question": ["Who?", "None?", "Which team won?"], "answer": ["Ann", "", "Denver Broncos"],
        "context": ["Ann went.", "x", "The Denver Broncos won."], "answer_start": [0, -1, 4],
        "other_answers": ["", "", '["The Broncos", "Broncos"]']}
    # The case: "Broncos" scored against the first gold alone was EM 0 / F1 66.7; the
    # official script takes the best over all three: 100 / 100.
    result = qa.evaluate_answers([span("Broncos")], frame.iloc[[2]], None)
    assert result.scores["exact_match"] == 100.0 and result.scores["f1"] == 100.0


def span(text, probability=0.5):
    return {"answer": text, "probability": probability, "start": 0, "end": len(text), "skipped": None}


def test_evaluation_decides_from_the_question_alone_as_deployment_does():
    questions = ["The bridge opened before 1950, right?", "Did the bridge open before 1950?",
                 "Is it the Lune or the Sable?", "Where is the bridge?"]
    frame = pd.DataFrame({"question": questions, "answer": ["yes", "yes", "Lune", "Dorrow"],
                          "context": ["The bridge opened in 1907 in Dorrow over the Lune."] * 4})
    predictions = [span("1907"), span("1907"), span("Lune"), span("Dorrow")]
    result = qa.evaluate_answers(predictions, frame, yes_no_answer="yes")
    table = result.predictions
    # A statement with a gold "yes" is not a yes/no question: its span is scored, and it misses.
    assert table["predicted"].tolist() == ["1907", "yes", "yes", "Dorrow"]
    assert table["kind"].tolist() == ["span", "yes/no", "yes/no", "span"]
    assert table["f1"].tolist() == [0.0, 1.0, 0.0, 1.0]
    # Reported by the gold answer's kind, scored by what was predicted.
    assert result.groups["yes/no"] == {"exact_match": 50.0, "f1": 50.0, "n": 2}
    assert result.groups["span"] == {"exact_match": 50.0, "f1": 50.0, "n": 2}
    # The gold answers never change a prediction: any other golds give the same predicted column.
    for golds in (["no", "no", "no", "no"], ["1907", "yes", "Sable", "yes"]):
        other = qa.evaluate_answers(predictions, frame.assign(answer=golds), "yes")
        assert other.predictions["predicted"].tolist() == table["predicted"].tolist()
    # And they are what the deployed answerer says for the same model outputs.
    decided = [qa.decide_answer(q, p, "yes") for q, p in zip(questions, predictions, strict=True)]
    assert [d["answer"] for d in decided] == table["predicted"].tolist()


def test_evaluation_scores_a_skipped_row_as_a_miss_and_names_it():
    frame = pd.DataFrame({"question": ["Where?", "Who?"], "answer": ["Dorrow", "Ann"],
                          "context": ["Dorrow.", ""]})
    skipped = {**span(""), "skipped": "it has no context. Fix: every question needs its passage."}
    result = qa.evaluate_answers([span("Dorrow"), skipped], frame, "yes")
    assert result.scores["exact_match"] == 50.0 and result.details["skipped"] == {1: skipped["skipped"]}
    assert result.predictions["kind"].tolist() == ["span", "skipped"]



"""Teacher, pseudo-label selection, student training and prediction on tiny models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.classification import (
    FewShotTeacher,
    TextClassifier,
    agreed_pseudo_labels,
    build_student,
    evaluate_classifier,
    predict_proba,
    select_pseudo_labels,
    token_length_report,
    train_classifier,
)
from helpers.core.embeddings import SentenceEncoder
from helpers.core.tasks import TaskDataError, load_task
from helpers.core.training import TrainConfig, planned_steps
from tests.conftest import MINILM, TINY_CLASSES


class FakeEncoder:
    """Maps each text to a fixed vector, so the teacher's head can be checked exactly."""

    def __init__(self, table):
        self.table = table

    def encode(self, texts):
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def test_sentence_encoder_keeps_order_and_normalises(tiny_model_dir):
    enc = SentenceEncoder(str(tiny_model_dir), batch_size=2)
    texts = ["a much longer text than the others, with many words", "short", "mid length text"]
    emb = enc.encode(texts)
    assert emb.shape == (3, 32)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # Embedding one text alone gives the same vector as inside the length-sorted batches.
    assert np.allclose(enc.encode([texts[1]])[0], emb[1], atol=1e-5)


def test_teacher_learns_from_examples_and_descriptions():
    # x and y have three examples each; z has none and is reachable only through its description.
    table = {
        "x1": [1, 0, 0], "x2": [0.9, 0.1, 0], "x3": [0.8, 0, 0.1],
        "y1": [0, 1, 0], "y2": [0.1, 0.9, 0], "y3": [0, 0.8, 0.1],
        "desc x": [1, 0.1, 0], "desc y": [0.1, 1, 0], "desc z": [0, 0.1, 1],
        "new x": [0.7, 0.2, 0.1], "new y": [0.2, 0.7, 0.1], "new z": [0.1, 0.1, 0.7],
    }
    texts, labels = ["x1", "x2", "x3", "y1", "y2", "y3"], ["x", "x", "x", "y", "y", "y"]

    def fit(descriptions):
        return FewShotTeacher(FakeEncoder(table), ["x", "y", "z"], c_grid=(1.0, 10.0)).fit(
            texts, labels, descriptions)

    # The dict's order is not the labels' order: each description must reach its own class.
    t = fit({"z": "desc z", "x": "desc x", "y": "desc y"})
    # Both values of C separate the examples of every fold: a tie, which goes to the smaller C.
    assert t.cv_scores_ == {1.0: 1.0, 10.0: 1.0} and t.c_ == 1.0
    probs = t.predict_proba(["new x", "new y", "new z"])
    assert probs.shape == (3, 3) and np.allclose(probs.sum(1), 1)
    assert t.predict(["new x", "new y", "new z"]) == ["x", "y", "z"]
    # Swap the descriptions of x and z: z's anchor now sits among the x examples and x's in z's
    # corner, so the text near "desc z" goes to x.
    swapped = fit({"x": "desc z", "y": "desc y", "z": "desc x"})
    assert swapped.predict(["new y", "new z"]) == ["y", "x"]
    # Without its description z is never predicted: it has no training point at all.
    without = fit({"x": "desc x", "y": "desc y"})
    assert without.predict(["new z"]) != ["z"] and (without.predict_proba(list(table))[:, 2] == 0).all()


@pytest.mark.parametrize("descriptions", [{}, None, {"A": "  "}])
def test_teacher_without_any_class_description_learns_from_the_examples(descriptions):
    table = {"a1": [1, 0], "a2": [0.9, 0.1], "b1": [0, 1], "b2": [0.1, 0.9], "new a": [0.8, 0.3],
             "new b": [0.3, 0.8]}
    t = FewShotTeacher(FakeEncoder(table), ["A", "B", "C"], default_c=7.0)
    t.fit(["a1", "a2", "b1", "b2"], ["A", "A", "B", "B"], descriptions)
    probs = t.predict_proba(["new a", "new b"])
    # Integer classes: the columns are the labels' (C, never seen, gets 0), not float positions.
    assert probs.shape == (2, 3) and (probs[:, 2] == 0).all() and np.allclose(probs.sum(1), 1)
    assert t.predict(["new a", "new b"]) == ["A", "B"]


def test_teacher_without_enough_examples_for_cv_uses_default_c():
    table = {"a": [1, 0], "b": [0, 1], "da": [1, 0.2], "db": [0.2, 1]}
    t = FewShotTeacher(FakeEncoder(table), ["A", "B"], default_c=7.0)
    t.fit(["a", "b"], ["A", "B"], {"A": "da", "B": "db"})
    assert t.c_ == 7.0 and t.cv_scores_ == {}
    with pytest.raises(ValueError, match=r"labels \['C'\] are not among"):
        t.fit(["a"], ["C"], {})


def test_select_pseudo_labels_is_balanced_and_most_confident_first():
    texts = [f"t{i}" for i in range(8)]
    probs = np.array([
        [0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4], [0.95, 0.05],  # five predicted "a"
        [0.2, 0.8], [0.4, 0.6], [0.45, 0.55],                          # three predicted "b"
    ])
    kept = select_pseudo_labels(texts, probs, ["a", "b"], keep_fraction=0.5)
    # k = round(0.5 * 8 / 2) = 2 per class
    assert kept["label"].value_counts().to_dict() == {"a": 2, "b": 2}
    assert kept[kept.label == "a"]["text"].tolist() == ["t4", "t0"]
    assert kept[kept.label == "b"]["text"].tolist() == ["t5", "t6"]
    strict = select_pseudo_labels(texts, probs, ["a", "b"], keep_fraction=1.0, min_confidence=0.7)
    assert sorted(strict["text"]) == ["t0", "t1", "t2", "t4", "t5"]
    assert (strict["confidence"] >= 0.7).all()


def test_agreed_pseudo_labels_keep_the_rows_the_student_labels_the_same():
    texts = [f"t{i}" for i in range(6)]
    probs = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.1, 0.9, 0.0],
                      [0.2, 0.7, 0.1], [0.0, 0.1, 0.9], [0.1, 0.0, 0.9]])
    pseudo = select_pseudo_labels(texts, probs, ["a", "b", "c"], keep_fraction=1.0)
    student = {"t0": [0.6, 0.4, 0.0], "t1": [0.3, 0.7, 0.0],   # agrees on t0, not on t1
               "t2": [0.2, 0.5, 0.3], "t3": [0.1, 0.3, 0.6],   # agrees on t2, not on t3
               "t4": [0.0, 0.2, 0.8], "t5": [0.0, 0.3, 0.7]}   # agrees on both
    agreed = agreed_pseudo_labels(pseudo, np.array([student[t] for t in pseudo["text"]]), ["a", "b", "c"])
    assert sorted(agreed["text"]) == ["t0", "t2", "t4", "t5"]
    assert agreed.set_index("text")["label"].to_dict() == {"t0": "a", "t2": "b", "t4": "c", "t5": "c"}
    assert agreed.set_index("text")["student_confidence"].to_dict() == {"t0": 0.6, "t2": 0.5, "t4": 0.8,
                                                                         "t5": 0.7}
    assert list(agreed.columns) == [*pseudo.columns, "student_confidence"]
    assert agreed_pseudo_labels(pseudo.iloc[:0], np.zeros((0, 3)), ["a", "b", "c"]).empty
    with pytest.raises(ValueError, match=r"expected \(6, 3\)"):
        agreed_pseudo_labels(pseudo, np.zeros((6, 2)), ["a", "b", "c"])


def test_select_pseudo_labels_ties_are_deterministic():
    probs = np.tile([[0.6, 0.4]], (5, 1))
    kept = select_pseudo_labels(list("abcde"), probs, ["x", "y"], keep_fraction=0.8)
    assert kept["text"].tolist() == ["a", "b"]  # k = 2, ties kept in original order
    assert kept["label"].tolist() == ["x", "x"] and kept["source_row"].tolist() == [0, 1]


def test_select_pseudo_labels_ties_go_to_the_earlier_row_after_higher_confidence():
    # Columns in the order ["y", "x"]: the kept rows come class by class in that order.
    conf = {0: ("x", 0.6), 1: ("y", 0.7), 2: ("x", 0.9), 3: ("x", 0.6), 4: ("y", 0.7),
            5: ("x", 0.6), 6: ("y", 0.8), 7: ("x", 0.6), 8: ("y", 0.7), 9: ("x", 0.9)}
    probs = np.array([[c, 1 - c] if label == "y" else [1 - c, c] for label, c in conf.values()])
    kept = select_pseudo_labels([f"t{i}" for i in conf], probs, ["y", "x"], keep_fraction=0.6)
    # k = round(0.6 * 10 / 2) = 3 per class. y: t6 (0.8), then t1, t4, t8 tie at 0.7 -> t1, t4.
    # x: t2 and t9 tie at 0.9 -> t2, t9; then t0, t3, t5, t7 tie at 0.6 -> t0.
    assert list(kept.itertuples(index=False, name=None)) == [
        ("t6", "y", 0.8, 6), ("t1", "y", 0.7, 1), ("t4", "y", 0.7, 4),
        ("t2", "x", 0.9, 2), ("t9", "x", 0.9, 9), ("t0", "x", 0.6, 0)]
    # Sixty rows, every third more confident: enough for an unstable sort to shuffle the ties.
    probs = np.array([[0.8, 0.2] if i % 3 == 0 else [0.6, 0.4] for i in range(60)])
    kept = select_pseudo_labels([f"r{i}" for i in range(60)], probs, ["x", "y"], keep_fraction=1.0)
    # k = 30: the twenty 0.8 rows (0, 3, ..., 57) in row order, then the first ten 0.6 rows.
    expected = list(range(0, 60, 3)) + [i for i in range(60) if i % 3][:10]
    assert kept["source_row"].tolist() == expected and set(kept["label"]) == {"x"}
    for _ in range(2):
        pd.testing.assert_frame_equal(select_pseudo_labels(
            [f"r{i}" for i in range(60)], probs, ["x", "y"], keep_fraction=1.0), kept)


def test_select_pseudo_labels_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        select_pseudo_labels(["a"], np.ones((2, 2)) / 2, ["x", "y"])


def test_build_student_is_seeded_before_the_head(tiny_model_dir):
    m1, _ = build_student(str(tiny_model_dir), ["a", "b", "c"], seed=3)
    m2, _ = build_student(str(tiny_model_dir), ["a", "b", "c"], seed=3)
    m3, _ = build_student(str(tiny_model_dir), ["a", "b", "c"], seed=4)
    w = lambda m: m.classifier.weight.detach().numpy()  # noqa: E731
    assert np.array_equal(w(m1), w(m2)) and not np.array_equal(w(m1), w(m3))
    assert m1.config.id2label == {0: "a", 1: "b", 2: "c"}


def test_training_lowers_the_loss_and_learns_the_tiny_task(tiny_model_dir, tiny_task):
    task = load_task(tiny_task)
    model, tok = build_student(str(tiny_model_dir), task.labels, seed=0)
    config = TrainConfig(epochs=60, learning_rate=3e-3, batch_size=4, max_length=32, seed=0)
    history = train_classifier(model, tok, task.train["question"], task.train["answer"], config)
    losses = [r["loss"] for r in history if "loss" in r]
    assert len(losses) == 180  # 3 steps per epoch x 60 epochs, logged every step
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    train_pred = TextClassifier(model, tok).predict(task.train["question"].tolist())
    assert (train_pred["label"] == task.train["answer"]).mean() >= 0.9


def test_train_classifier_rejects_unknown_labels(tiny_model_dir):
    model, tok = build_student(str(tiny_model_dir), ["a", "b"])
    with pytest.raises(ValueError, match=r"labels \['z'\] are not among"):
        train_classifier(model, tok, ["x"], ["z"], TrainConfig(max_steps=1))


def test_predict_proba_matches_unbatched(tiny_model_dir):
    model, tok = build_student(str(tiny_model_dir), ["a", "b"], seed=1)
    texts = ["one", "a longer sentence here", "two words", "x"]
    batched = predict_proba(model, tok, texts, batch_size=3)
    single = np.concatenate([predict_proba(model, tok, [t]) for t in texts])
    assert np.allclose(batched, single, atol=1e-5) and np.allclose(batched.sum(1), 1, atol=1e-5)


def test_text_classifier_predict_one_and_score_csv(tiny_model_dir, tmp_path):
    model, tok = build_student(str(tiny_model_dir), list(TINY_CLASSES), seed=1)
    clf = TextClassifier(model, tok)
    one = clf.predict_one("rain tomorrow")
    assert one["label"].tolist() != [] and set(one["label"]) == set(TINY_CLASSES)
    assert one["probability"].is_monotonic_decreasing
    assert one["probability"].sum() == pytest.approx(1.0, abs=1e-5)

    src = tmp_path / "in.csv"
    texts = ["sun", "bread", "goal", "rain", "cake"]
    pd.DataFrame({"id": ["7", "8", "9", "10", "11"], "text": texts,
                  "answer": ["weather", "food", "sport", "weather", "food"]}).to_csv(src, index=False)
    out = tmp_path / "out" / "scored.csv"
    scored = clf.score_csv(src, out, text_column="text", chunk_size=2, n_review=3, progress=False)
    back = pd.read_csv(out, dtype={"id": str})
    assert back["id"].tolist() == ["7", "8", "9", "10", "11"]  # other columns kept, order kept
    assert list(back.columns) == ["id", "text", "answer", "predicted_label", "confidence"]
    assert back["predicted_label"].isin(list(TINY_CLASSES)).all() and scored.rows == 5
    # The summary equals what the whole file says, though chunks of 2 were seen one at a time.
    assert scored.label_counts.to_dict() == back["predicted_label"].value_counts().to_dict()
    assert scored.mean_confidence == pytest.approx(back["confidence"].mean(), abs=1e-6)
    assert scored.review["id"].tolist() == back.nsmallest(3, "confidence")["id"].tolist()
    expected = np.mean(back["predicted_label"] == back["answer"])
    assert scored.gold["accuracy"] == pytest.approx(expected)
    probs = clf.predict_proba(texts)
    assert back["confidence"].to_numpy() == pytest.approx(probs.max(1), abs=1e-6)
    with pytest.raises(TaskDataError, match=r"no column 'question'.*Fix: rename the column"):
        clf.score_csv(src, out, progress=False)


def test_token_length_report_counts_truncation():
    from helpers.core.models import load_tokenizer

    tok = load_tokenizer(MINILM)
    rep = token_length_report(tok, ["one two", "one two three four five six seven"], max_length=5)
    assert rep["lengths"] == [4, 9] and rep["truncated"] == 1 and rep["max"] == 9
    assert rep["truncated_share"] == 0.5


@pytest.mark.parametrize(
    "n, config, expected",
    [
        (64, TrainConfig(epochs=10, batch_size=16), 40),          # 4 batches x 10 epochs
        (65, TrainConfig(epochs=10, batch_size=16), 50),          # a partial batch counts
        (64, TrainConfig(epochs=10, batch_size=16, min_steps=150), 150),  # small set: floor
        (640, TrainConfig(epochs=10, batch_size=16, min_steps=150), 400),  # large: epochs rule
        (640, TrainConfig(epochs=10, min_steps=150, max_steps=7), 7),    # cap
        (6400, TrainConfig(epochs=10, batch_size=16, max_steps=400), 400),  # time budget
        (64, TrainConfig(epochs=10, batch_size=16, max_steps=400), 40),  # cap not reached
        (3, TrainConfig(epochs=0.1, batch_size=16), 1),           # never zero steps
    ],
)
def test_planned_steps(n, config, expected):
    assert planned_steps(n, config) == expected


def test_min_steps_is_what_the_trainer_runs(tiny_model_dir, tiny_task):
    task = load_task(tiny_task)
    model, tok = build_student(str(tiny_model_dir), task.labels, seed=0)
    config = TrainConfig(epochs=1, min_steps=7, batch_size=4, max_length=32)
    history = train_classifier(model, tok, task.train["question"], task.train["answer"], config)
    assert [r["step"] for r in history if "loss" in r] == list(range(1, 8))
    # The schedule spans the 7 planned steps: one warm-up step (10%, from 0), the peak at
    # step 2, then a linear decay to the end, not to the end of the single planned epoch.
    lrs = [r["learning_rate"] for r in history if "loss" in r]
    assert lrs[0] == 0.0 and lrs[1] == pytest.approx(config.learning_rate)
    assert all(a > b for a, b in zip(lrs[1:], lrs[2:], strict=False)) and lrs[-1] > 0


def test_evaluate_classifier_scores_in_model_label_order(tiny_model_dir):
    model, tok = build_student(str(tiny_model_dir), ["b", "a"], seed=2)
    texts = ["one text", "another text", "third"]
    probs = predict_proba(model, tok, texts)
    pred = [["b", "a"][i] for i in probs.argmax(1)]
    result = evaluate_classifier(model, tok, texts, ["a", "a", "b"])
    assert result.details["labels"] == ["b", "a"] and result.predictions["predicted"].tolist() == pred
    assert list(result.groups) == ["b", "a"]
    assert result.scores["accuracy"] == pytest.approx(np.mean(np.array(pred) == ["a", "a", "b"]))


# ---------------------------------------------------------------------------------------
# The student starts from the teacher (issue 19)
# ---------------------------------------------------------------------------------------

STARTS = [("card was declined at the shop", "card"), ("my card got refused again", "card"),
          ("the card does not work abroad", "card"), ("where is my new card", "card"),
          ("send money to my sister", "transfer"), ("a transfer has not arrived", "transfer"),
          ("how long does a bank transfer take", "transfer"), ("cancel the transfer I made", "transfer"),
          ("what is the fee for cash", "fees"), ("why was I charged a fee", "fees"),
          ("fees on my statement", "fees"), ("the charge for withdrawing cash", "fees")]
NEW_TEXTS = ["declined card", "transfer pending for days", "extra fee on cash", "hello there", "x"]


def _fitted(model_dir, labels=("card", "transfer", "fees"), rows=STARTS, max_length=64):
    teacher = FewShotTeacher(SentenceEncoder(str(model_dir), max_length=max_length), list(labels), seed=0)
    texts, gold = zip(*[r for r in rows if r[1] in labels], strict=True)
    return teacher.fit(list(texts), list(gold), {"card": "payment cards"}), list(texts), list(gold)


@pytest.mark.parametrize("labels", [("card", "transfer", "fees"), ("card", "transfer")])
def test_the_untrained_student_predicts_what_the_teacher_predicts(tiny_model_dir, labels):
    from helpers.classification import start_from_teacher

    teacher, texts, gold = _fitted(tiny_model_dir, labels)
    model, tok = build_student(str(tiny_model_dir), list(labels), seed=5)
    before = predict_proba(model, tok, NEW_TEXTS, max_length=64)
    used = start_from_teacher(model, tok, teacher, str(tiny_model_dir), texts, gold, max_length=64)
    assert used is teacher  # same encoder, same length: the head is copied, nothing refitted
    after = predict_proba(model, tok, NEW_TEXTS, max_length=64)
    # The binary case too: sklearn's one row of weights becomes two logits with the same softmax.
    assert np.allclose(after, teacher.predict_proba(NEW_TEXTS), atol=1e-5)
    assert not np.allclose(before, after, atol=1e-3)


def test_a_student_on_another_encoder_gets_the_teachers_recipe_fitted_on_its_own_features(tiny_model_dir):
    from helpers.classification import ModelEncoder, start_from_teacher

    teacher, texts, gold = _fitted(tiny_model_dir, max_length=64)
    model, tok = build_student(str(tiny_model_dir), teacher.labels, seed=5)
    # Another name (as for MODEL != TEACHER_MODEL), so the teacher's head cannot be assumed to fit.
    used = start_from_teacher(model, tok, teacher, "some/other-model", texts, gold, {"card": "payment cards"},
                              64)
    assert used is not teacher and isinstance(used.encoder, ModelEncoder) and used.c_ is not None
    assert np.allclose(predict_proba(model, tok, NEW_TEXTS, max_length=64), used.predict_proba(NEW_TEXTS),
                       atol=1e-5)


def test_a_teacher_head_that_does_not_fit_the_student_is_refused(tiny_model_dir):
    from helpers.classification import init_head_from_teacher

    teacher, _, _ = _fitted(tiny_model_dir)
    model, _ = build_student(str(tiny_model_dir), ["fees", "card", "transfer"])  # another label order
    with pytest.raises(ValueError, match="does not fit the student"):
        init_head_from_teacher(model, teacher)
    with pytest.raises(RuntimeError, match="fit the teacher"):
        init_head_from_teacher(model, FewShotTeacher(teacher.encoder, teacher.labels))


def test_soft_targets_train_and_one_hot_rows_equal_class_ids(tiny_model_dir):
    import torch

    from helpers.classification import soft_targets

    model, tok = build_student(str(tiny_model_dir), ["a", "b", "c"], seed=0)
    enc = tok(["one text", "another one"], padding=True, return_tensors="pt")
    ids = torch.tensor([2, 0])
    one_hot = torch.tensor(soft_targets(["c", "a"], ["a", "b", "c"]))
    assert one_hot.tolist() == [[0, 0, 1], [1, 0, 0]]
    with torch.no_grad():
        hard = model(**enc, labels=ids).loss
        soft = model(**enc, labels=one_hot).loss
        weighted = model(**enc, labels=ids, weights=torch.tensor([1.0, 0.0])).loss
        first = model(**{k: v[:1] for k, v in enc.items()}, labels=ids[:1]).loss
    assert soft.item() == pytest.approx(hard.item(), abs=1e-6)
    assert weighted.item() == pytest.approx(first.item(), abs=1e-5)  # weight 0 drops the second text
    with pytest.raises(ValueError, match="unknown|not among"):
        soft_targets(["z"], ["a"])


def test_training_on_soft_targets_moves_the_student_towards_them(tiny_model_dir):
    texts = [f"text number {i}" for i in range(8)]
    targets = np.tile(np.array([[0.7, 0.2, 0.1]], dtype=np.float32), (8, 1))
    model, tok = build_student(str(tiny_model_dir), ["a", "b", "c"], seed=0)
    config = TrainConfig(epochs=1, min_steps=40, learning_rate=1e-2, batch_size=4, max_length=16)
    history = train_classifier(model, tok, texts, targets, config)
    assert len([r for r in history if "loss" in r]) == 40
    mean = predict_proba(model, tok, texts, max_length=16).mean(0)
    # Soft targets are learnt as distributions, not as their argmax (which would drive "a" to 1).
    assert mean == pytest.approx([0.7, 0.2, 0.1], abs=0.08)
    with pytest.raises(ValueError, match="soft labels have shape"):
        train_classifier(model, tok, texts, targets[:, :2], TrainConfig(max_steps=1))
    with pytest.raises(ValueError, match="one weight per text"):
        train_classifier(model, tok, texts, targets, TrainConfig(max_steps=1), weights=[1.0])


def test_frozen_layers_do_not_change_in_training(tiny_model_dir):
    from helpers.classification import freeze_lower_layers

    model, tok = build_student(str(tiny_model_dir), ["a", "b"], seed=0)
    total = sum(p.numel() for p in model.parameters())
    embeddings = sum(p.numel() for p in model.encoder.embeddings.parameters())
    layer = sum(p.numel() for p in model.encoder.encoder.layer[0].parameters())
    assert freeze_lower_layers(model, -1) == total
    assert freeze_lower_layers(model, 1) == total - embeddings - layer
    frozen = model.encoder.encoder.layer[0].output.dense.weight.detach().clone()
    free = model.encoder.encoder.layer[1].output.dense.weight.detach().clone()
    train_classifier(model, tok, ["a text", "b text", "other"], ["a", "b", "a"],
                     TrainConfig(epochs=1, min_steps=5, learning_rate=1e-2, batch_size=2, max_length=16))
    assert np.array_equal(model.encoder.encoder.layer[0].output.dense.weight.detach(), frozen)
    assert not np.array_equal(model.encoder.encoder.layer[1].output.dense.weight.detach(), free)


def test_average_weights_is_the_midpoint_of_two_rounds_and_leaves_integer_buffers(tiny_model_dir):
    from helpers.classification import average_weights, weights_snapshot

    model, tok = build_student(str(tiny_model_dir), ["a", "b"], seed=0)
    round1 = weights_snapshot(model)
    assert all(v.is_floating_point() for v in round1.values())
    buffers = {k: v.clone() for k, v in model.state_dict().items() if not v.is_floating_point()}
    train_classifier(model, tok, ["a text", "b text", "other"], ["a", "b", "a"],
                     TrainConfig(epochs=1, min_steps=3, learning_rate=1e-2, batch_size=2, max_length=16))
    round2 = weights_snapshot(model)
    moved = [k for k in round1 if not torch.equal(round1[k], round2[k])]
    assert "classifier.weight" in moved and len(moved) > 2
    average_weights(model, round1)
    state = model.state_dict()
    for key in round1:
        assert torch.allclose(state[key], (round1[key] + round2[key]) / 2, atol=1e-6), key
    assert all(torch.equal(state[k], v) for k, v in buffers.items())
    average_weights(model, round1, share=1.0)  # all the way back: the snapshot itself
    assert all(torch.allclose(model.state_dict()[k], v, atol=1e-6) for k, v in round1.items())
    # the averaged model is a working model: its probabilities are rows that sum to one
    assert np.allclose(predict_proba(model, tok, ["a text"], max_length=16).sum(1), 1.0)


def test_average_weights_refuses_a_snapshot_of_another_model(tiny_model_dir):
    from helpers.classification import average_weights, weights_snapshot

    model, _ = build_student(str(tiny_model_dir), ["a", "b"], seed=0)
    other, _ = build_student(str(tiny_model_dir), ["a", "b", "c"], seed=0)
    before = weights_snapshot(model)
    with pytest.raises(ValueError, match="classifier.weight: the snapshot has shape"):
        average_weights(model, weights_snapshot(other))
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())  # nothing half-averaged
    partial = weights_snapshot(model)
    partial.pop("classifier.bias")
    with pytest.raises(ValueError, match="lacks 1 of the model's weights"):
        average_weights(model, partial)
    with pytest.raises(ValueError, match="share must lie in"):
        average_weights(model, weights_snapshot(model), share=1.5)


def test_mean_pooling_student_saves_reloads_and_old_exports_still_load(tiny_model_dir, tmp_path):
    import json

    from transformers import AutoModelForSequenceClassification

    from helpers.classification import MeanPoolingClassifier, StudentClassifier

    model, tok = build_student(str(tiny_model_dir), ["a", "b"], seed=0)
    model.save_pretrained(tmp_path / "new")
    config = json.loads((tmp_path / "new" / "config.json").read_text())
    assert config["classifier_pooling"] == "mean" and config["architectures"] == ["MeanPoolingClassifier"]
    again = StudentClassifier.from_pretrained(tmp_path / "new")
    assert isinstance(again, MeanPoolingClassifier)
    assert np.allclose(predict_proba(model, tok, NEW_TEXTS), predict_proba(again, tok, NEW_TEXTS), atol=1e-6)
    # An export written before the student had the teacher's head: a plain sequence classifier.
    old = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    old.save_pretrained(tmp_path / "old")
    old = StudentClassifier.from_pretrained(tmp_path / "old")
    assert type(old).__name__ == "BertForSequenceClassification"


def test_pseudo_label_quality_is_read_from_the_cross_fitted_labels():
    from helpers.classification import pseudo_label_quality

    teacher = FewShotTeacher(None, ["x", "y"])
    teacher.cross_fitted_ = pd.DataFrame({"label": ["x", "x", "y", "y", "y"],
                                          "predicted": ["x", "y", "y", "y", "x"],
                                          "confidence": [0.9, 0.55, 0.8, 0.7, 0.6]})
    pseudo = pd.DataFrame({"text": ["t1", "t2"], "label": ["x", "y"], "confidence": [0.95, 0.65]})
    q = pseudo_label_quality(teacher, pseudo)
    # 3 of 5 right overall; of the 3 at or above the kept bar (0.65), 3 are right (0.9, 0.8, 0.7).
    assert q["accuracy"] == pytest.approx(0.6) and q["kept_accuracy"] == pytest.approx(1.0)
    assert q["labelled_above_bar"] == 3 and q["confidence_bar"] == 0.65
    teacher.cross_fitted_ = None
    assert pseudo_label_quality(teacher, pseudo)["accuracy"] is None


def test_the_teacher_keeps_cross_fitted_labels_of_every_labelled_text():
    points = [[1, 0], [0.9, 0.1], [0.8, 0.3], [0.2, 1], [0.1, 0.9], [0.5, 0.45]]
    table = {f"t{i}": v for i, v in enumerate(points)}
    teacher = FewShotTeacher(FakeEncoder(table), ["x", "y"], seed=0)
    teacher.fit(list(table), ["x", "x", "x", "y", "y", "y"])
    cf = teacher.cross_fitted_
    assert cf["label"].tolist() == ["x", "x", "x", "y", "y", "y"] and len(cf) == 6
    assert cf["predicted"].isin(["x", "y"]).all()
    assert ((cf["confidence"] >= 0.5) & (cf["confidence"] <= 1)).all()


def test_distillation_set_puts_the_teachers_rows_after_the_labelled_texts():
    from helpers.classification import distillation_set

    probs = np.array([[0.6, 0.4], [0.1, 0.9], [0.5, 0.5]], dtype=np.float32)
    pseudo = pd.DataFrame({"text": ["u2", "u0"], "label": ["y", "x"], "confidence": [0.9, 0.6],
                           "source_row": [1, 0]})
    texts, targets = distillation_set(["g"], ["y"], pseudo, probs, ["x", "y"], soft=True)
    assert texts == ["g", "u2", "u0"]
    assert np.allclose(targets, [[0, 1], [0.1, 0.9], [0.6, 0.4]])
    hard = distillation_set(["g"], ["y"], pseudo, probs, ["x", "y"], soft=False)
    assert hard == (["g", "u2", "u0"], ["y", "y", "x"])

"""Metrics, checked against values worked out by hand: classification, SQuAD EM/F1, ROUGE-L."""

from __future__ import annotations

import pytest

from helpers.core.metrics import (
    classification_metrics,
    exact_match,
    normalize_answer,
    per_class_frame,
    rouge_l,
    squad_scores,
    squad_scores_by_group,
    token_f1,
)

# --- classification -------------------------------------------------------------------------------


def test_classification_metrics_hand_computed_values():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "b", "a"]
    m = classification_metrics(gold, pred, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    # a: P=2/3 R=2/3 F1=2/3; b: P=2/3 R=1 F1=0.8; c: P=0 R=0 F1=0 (a dead class)
    assert m["per_class"]["a"]["f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.8)
    assert m["per_class"]["c"]["f1"] == 0.0 and m["per_class"]["c"]["support"] == 1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    assert m["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    frame = per_class_frame(m["per_class"])
    assert frame.index.tolist() == ["a", "b", "c"] and frame.loc["b", "recall"] == 1.0


def test_label_never_in_gold_still_counts_in_macro_f1():
    m = classification_metrics(["a", "b"], ["a", "b"], ["a", "b", "c"])
    assert m["accuracy"] == 1.0 and m["macro_f1"] == pytest.approx(2 / 3)


def test_classification_metrics_length_mismatch_and_empty():
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        classification_metrics(["a", "b"], ["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no examples"):
        classification_metrics([], [], ["a"])


# --- SQuAD: normalisation, exact match, token F1 -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Eiffel Tower", "eiffel tower"),
        # Articles go only as whole words: "theatre", "another" and "anthem" keep their letters.
        ("theatre", "theatre"),
        ("Another anthem", "another anthem"),
        ("A an THE", ""),
        ("Hello, world!", "hello world"),
        # ASCII punctuation is deleted, not replaced by a space, as in the SQuAD script.
        ("rock-and-roll", "rockandroll"),
        ("\u201cQuoted\u201d \u2018it\u2019s\u2019 \u2013 fine \u2014 ok", "quoted its fine ok"),
        ("Zürich", "zürich"),
        ("Café Crème", "café crème"),
        # "u" + combining diaeresis is composed to the same "ü" as the precomposed form.
        ("Zu\u0308rich", "z\u00fcrich"),
        ("  lots \t of\n  space  ", "lots of space"),
        ("", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_match():
    assert exact_match("The Eiffel Tower!", "eiffel tower") == 1.0
    assert exact_match("it\u2019s", "it's") == 1.0
    assert exact_match("Eiffel Tower", "Eiffel") == 0.0
    assert exact_match("", "") == 1.0


def test_token_f1_partial_overlap():
    # pred tokens: eiffel tower in paris (4); gold: eiffel tower (2); overlap 2
    # P = 2/4, R = 2/2, F1 = 2 * 1/2 * 1 / (3/2) = 2/3
    assert token_f1("the Eiffel tower in Paris", "Eiffel Tower") == pytest.approx(2 / 3)
    assert token_f1("Eiffel Tower", "eiffel tower.") == 1.0
    assert token_f1("London", "Paris") == 0.0


def test_token_f1_counts_repeats_as_a_multiset():
    # pred: paris x3, gold: paris x1 -> overlap min(3, 1) = 1; P = 1/3, R = 1, F1 = (2/3) / (4/3) = 1/2
    # (a set-based overlap would wrongly give 1.0)
    assert token_f1("Paris Paris Paris", "Paris") == pytest.approx(0.5)
    # pred: paris x1, gold: paris x2 -> overlap 1; P = 1, R = 1/2, F1 = 1 / (3/2) = 2/3
    assert token_f1("Paris", "Paris Paris") == pytest.approx(2 / 3)


def test_token_f1_empty_answers():
    assert token_f1("", "") == 1.0
    # "the" and "a" both normalise to nothing
    assert token_f1("the", "a") == 1.0
    assert token_f1("", "Paris") == 0.0
    assert token_f1("Paris", "") == 0.0


def test_max_over_several_golds():
    # vs "Paris": F1 0; vs "tower": P = 1/2, R = 1, F1 = 2/3;
    # vs "eiffel tower paris": P = 2/2, R = 2/3, F1 = (4/3) / (5/3) = 4/5; no exact match
    s = squad_scores(["Eiffel Tower"], [["Paris", "tower", "Eiffel Tower Paris"]])
    assert s["per_example"][0]["exact_match"] == 0.0
    assert s["per_example"][0]["f1"] == pytest.approx(0.8)
    # the second gold matches exactly, wherever it sits in the list (a tuple is fine too)
    s = squad_scores(["Eiffel Tower"], [("Paris", "the Eiffel tower.")])
    assert s["per_example"][0] == {"exact_match": 1.0, "f1": 1.0}


def test_squad_scores_averages():
    # ex 0: EM 1, F1 1; ex 1: EM 0, F1 2/3 (see partial overlap above); ex 2: EM 0, F1 0
    # EM = 1/3 -> 33.33; F1 = (1 + 2/3 + 0) / 3 = 5/9 -> 55.56
    s = squad_scores(
        ["Paris", "the Eiffel tower in Paris", "blue"],
        ["paris", ["Eiffel Tower"], "red"],
    )
    assert s["n"] == 3
    assert s["exact_match"] == pytest.approx(100 / 3)
    assert s["f1"] == pytest.approx(500 / 9)
    assert [e["exact_match"] for e in s["per_example"]] == [1.0, 0.0, 0.0]
    assert [e["f1"] for e in s["per_example"]] == pytest.approx([1.0, 2 / 3, 0.0])


def test_squad_scores_by_group():
    # yesno: "yes"/"yes" EM 1 F1 1, "no"/"yes" EM 0 F1 0 -> 50, 50, n 2
    # span: EM 0; F1 max(2/3 vs "Eiffel Tower",
    #   vs "tour Eiffel": overlap 1, P = 1/4, R = 1/2, F1 = (1/4) / (3/4) = 1/3) = 2/3 -> 66.67, n 1
    # all: EM 1/3 -> 33.33; F1 (1 + 0 + 2/3) / 3 = 5/9 -> 55.56, n 3
    table = squad_scores_by_group(
        ["yes", "no", "the Eiffel tower in Paris"],
        ["yes", "Yes.", ["Eiffel Tower", "tour Eiffel"]],
        ["yesno", "yesno", "span"],
    )
    assert list(table.index) == ["span", "yesno", "all"]
    assert list(table.columns) == ["exact_match", "f1", "n"]
    assert table["exact_match"].tolist() == pytest.approx([0.0, 50.0, 100 / 3])
    assert table["f1"].tolist() == pytest.approx([200 / 3, 50.0, 500 / 9])
    assert table["n"].tolist() == [1, 2, 3]
    assert table["n"].dtype.kind == "i"


def test_squad_scores_errors():
    with pytest.raises(ValueError, match="2 gold answers but 1 predictions"):
        squad_scores(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no examples"):
        squad_scores([], [])
    with pytest.raises(ValueError, match="example 1 has an empty list of gold answers"):
        squad_scores(["x", "y"], ["x", []])
    with pytest.raises(ValueError, match="example 1 has an empty list of gold answers"):
        squad_scores_by_group(["x", "y"], ["x", []], ["g", "g"])
    with pytest.raises(ValueError, match="2 group labels but 3 predictions"):
        squad_scores_by_group(["x", "y", "z"], ["x", "y", "z"], ["g", "h"])
    with pytest.raises(ValueError, match='named "all"'):
        squad_scores_by_group(["x"], ["x"], ["all"])


# --- generative answers: ROUGE-L ----------------------------------------------------------------------


def test_rouge_l_against_hand_computed_values():
    # "The cat sat on the mat" vs "the cat is on the mat": articles go, leaving
    # [cat sat on mat] vs [cat is on mat]; LCS = cat on mat = 3, P = R = 3/4, F = 0.75.
    assert rouge_l(["The cat sat on the mat"], ["the cat is on the mat"]) == pytest.approx(75.0)
    # "Paris" vs "Paris, France": LCS 1, P = 1, R = 1/2, F = 2PR/(P+R) = 2/3.
    assert rouge_l(["Paris"], ["Paris, France"]) == pytest.approx(200 / 3)
    # Order matters (subsequence, not bag): "b a" vs "a b" has LCS 1, F = 1/2.
    assert rouge_l(["mat cat"], ["cat mat"]) == pytest.approx(50.0)
    # Mean over examples, best gold per example, accents kept, empty prediction scores 0.
    assert rouge_l(["Paris", "München", ""], [["London", "Paris"], "münchen", "x"]) == pytest.approx(
        200 / 3)



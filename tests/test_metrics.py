"""Classification metrics, checked against values worked out by hand."""

from __future__ import annotations

import pytest

from helpers.core.metrics import classification_metrics, per_class_frame


def test_hand_computed_values():
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


def test_length_mismatch_and_empty():
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        classification_metrics(["a", "b"], ["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no examples"):
        classification_metrics([], [], ["a"])

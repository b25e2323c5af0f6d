"""The training helpers shared by every family."""

from __future__ import annotations

import pytest


def test_chain_histories_counts_steps_on_across_stages():
    from helpers.core.training import chain_histories

    a = [{"loss": 3.0, "step": 1}, {"loss": 2.0, "step": 2}, {"train_runtime": 1.0, "step": 2}]
    b = [{"loss": 1.5, "step": 1}, {"loss": 1.0, "step": 2}, {"loss": 0.5, "step": 3}]
    joined = chain_histories(a, b)
    assert [r["step"] for r in joined] == [1, 2, 2, 3, 4, 5]
    assert [r["stage"] for r in joined] == [0, 0, 0, 1, 1, 1]
    assert a[0] == {"loss": 3.0, "step": 1}  # inputs untouched


def test_feature_dataset_serves_the_present_keys_and_checks_lengths():
    from helpers.core.training import FeatureDataset

    ds = FeatureDataset({"input_ids": [[1, 2], [3]], "labels": [0, 1], "other": [9, 9]},
                        ("input_ids", "token_type_ids", "labels"))
    assert len(ds) == 2 and ds[1] == {"input_ids": [3], "labels": 1}
    with pytest.raises(ValueError, match="differ in length"):
        FeatureDataset({"input_ids": [[1]], "labels": [0, 1]}, ("input_ids", "labels"))


def test_length_sorted_batches_cover_every_text_once_shortest_first():
    from helpers.core.training import length_sorted_batches

    texts = ["ccc", "a", "bb", "dddd", "a"]
    batches = [b.tolist() for b in length_sorted_batches(texts, 2)]
    assert batches == [[1, 4], [2, 0], [3]]  # stable: equal lengths keep their order
    assert list(length_sorted_batches([], 4)) == []

"""The one evaluation result type and its comparison table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from helpers.core.evaluation import Evaluation, plain, results_table


def _ev(scores, n=2, groups=None):
    return Evaluation(scores=scores, predictions=pd.DataFrame({"x": range(n)}), groups=groups or {})


def test_results_table_rows_in_order_columns_as_first_seen_and_rounded():
    table = results_table({"teacher": _ev({"accuracy": 0.123456, "macro_f1": 0.5}),
                           "student": _ev({"accuracy": 1.0, "macro_f1": 0.25, "extra": 2.0})})
    assert table.index.tolist() == ["teacher", "student"]
    assert table.columns.tolist() == ["accuracy", "macro_f1", "extra"]
    assert table.loc["teacher", "accuracy"] == 0.1235 and np.isnan(table.loc["teacher", "extra"])
    assert results_table({"a": _ev({"f1": 1 / 3})}, decimals=2).loc["a", "f1"] == 0.33
    assert results_table({"a": _ev({"f1": 1 / 3})}, decimals=None).loc["a", "f1"] == 1 / 3
    chosen = results_table({"a": _ev({"f1": 1.0, "em": 0.0})}, columns=["em"])
    assert chosen.columns.tolist() == ["em"]


def test_as_dict_is_json_ready_and_leaves_predictions_and_details_out():
    ev = Evaluation(scores={"f1": np.float32(0.5), "gap": float("nan")},
                    predictions=pd.DataFrame({"q": ["a", "b", "c"]}),
                    groups={"span": {"n": np.int64(3), "f1": np.float64(0.25)}},
                    details={"embeddings": np.zeros((3, 2))})
    record = ev.as_dict()
    assert record == {"scores": {"f1": 0.5, "gap": None}, "groups": {"span": {"n": 3, "f1": 0.25}}, "n": 3}
    assert json.loads(json.dumps(record)) == record
    assert plain((np.int32(1), [np.float64(2.5)])) == [1, [2.5]]

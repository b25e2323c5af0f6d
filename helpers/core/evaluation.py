"""One result type for every family's evaluation, and one table that compares several of them.

Every ``evaluate_*`` function of a family (``classification.evaluate_classifier``,
``question_answering.evaluate_model``, ``generative_qa.evaluate_generative``,
``context_relevance.evaluate_retriever``, ``open_book_qa.evaluate_open_book``) returns an
:class:`Evaluation`; the notebooks put several side by side with :func:`results_table` and
record them with :meth:`Evaluation.as_dict` (see :class:`helpers.core.notebook.RunRecord`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
import pandas as pd


@dataclass
class Evaluation:
    """One model's scores on one set of examples.

    Attributes:
        scores: The headline figures, one row of the comparison table (accuracy and macro-F1;
            EM and F1; recall@k and MRR; ...), in the family's own units.
        predictions: One row per example: its input, the gold answer, the prediction and any
            per-example score, for error analysis.
        groups: The same kind of scores per class or per kind of question
            (``{"span": {...}, "yes/no": {...}}``, ``{label: {"precision", ...}}``).
        details: What a family's plots need beyond that (a confusion matrix, ranked passage
            ids, embeddings); never written to ``metrics.json``.
    """

    scores: dict[str, float]
    predictions: pd.DataFrame
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """How many examples were scored."""
        return len(self.predictions)

    def as_dict(self) -> dict:
        """``{"scores", "groups", "n"}`` as plain JSON-ready values (predictions and details left out)."""
        return {"scores": plain(self.scores), "groups": plain(self.groups), "n": self.n}


def results_table(evaluations: Mapping[str, Evaluation], columns: Sequence[str] | None = None,
                  decimals: int | None = 4) -> pd.DataFrame:
    """One row per evaluation (named by its key), one column per score.

    Args:
        evaluations: ``{name: Evaluation}``, in the order the rows should appear.
        columns: The scores to show (default: every score, in the order they first appear).
        decimals: Rounding of the table (None: none).
    """
    table = pd.DataFrame({name: ev.scores for name, ev in evaluations.items()}).T.astype(float)
    if columns is not None:
        table = table[list(columns)]
    return table.round(decimals) if decimals is not None else table


def plain(value):
    """``value`` as JSON-ready Python values.

    An :class:`Evaluation` becomes its :meth:`~Evaluation.as_dict`, a DataFrame its list of row
    records, a path its string; NumPy scalars and arrays, tuples and NaN (as None) are converted
    inside dicts and lists too.
    """
    if isinstance(value, Evaluation):
        return value.as_dict()
    if isinstance(value, pd.DataFrame):
        return plain(value.to_dict("records"))
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value

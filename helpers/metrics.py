"""Metrics computed locally (no ``evaluate.load``, which needs the hub)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def classification_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Macro-F1 averages over every label in ``labels``, so a class that is never predicted
    (a "dead" class) pulls it down even when accuracy looks fine.

    Args:
        y_true: Gold labels.
        y_pred: Predicted labels.
        labels: All labels, in the order used for the per-class scores and the matrix.

    Returns:
        ``{"accuracy", "macro_f1", "per_class": {label: {...}}, "confusion": [[...]],
        "labels": [...]}``; the confusion matrix has gold labels as rows.
    """
    y_true, y_pred, labels = list(y_true), list(y_pred), list(labels)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold labels but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError("no examples to score")
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            label: {
                "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "labels": labels,
    }


def per_class_frame(metrics: dict) -> pd.DataFrame:
    """The per-class part of :func:`classification_metrics` as a table."""
    return pd.DataFrame(metrics["per_class"]).T[["precision", "recall", "f1", "support"]]


def comparison_table(results: dict[str, dict], columns: Sequence[str] = ("accuracy", "macro_f1")):
    """One row per model (``{name: metrics}``), the given metric columns, rounded to 4 places."""
    return pd.DataFrame(
        {name: {c: m[c] for c in columns} for name, m in results.items()}
    ).T.astype(float).round(4)


def confusion_frame(metrics: dict) -> pd.DataFrame:
    """The confusion matrix with gold labels as rows and predictions as columns."""
    labels = metrics["labels"]
    return pd.DataFrame(
        np.asarray(metrics["confusion"]),
        index=pd.Index(labels, name="gold"),
        columns=pd.Index(labels, name="predicted"),
    )

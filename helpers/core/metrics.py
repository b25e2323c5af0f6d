"""Metrics computed locally (no ``evaluate.load``, which needs the hub)."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
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


def per_class_frame(per_class: dict[str, dict]) -> pd.DataFrame:
    """Per-class scores (an Evaluation's ``groups``) as a table: precision, recall, F1, support."""
    return pd.DataFrame(per_class).T[["precision", "recall", "f1", "support"]]


# Hand-written answers use typographic quotes and dashes; SQuAD's ASCII-only punctuation set would
# leave them in and turn "it’s" vs "it's" into a miss.
_TYPOGRAPHIC_PUNCTUATION = "\u2018\u2019\u201c\u201d\u2013\u2014"  # ‘ ’ “ ” – —
_PUNCTUATION_TABLE = str.maketrans("", "", string.punctuation + _TYPOGRAPHIC_PUNCTUATION)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 answer normalisation, extended for hand-written unicode text.

    Lower-cases, deletes punctuation (``string.punctuation`` plus the typographic quotes and
    dashes ‘ ’ “ ” – —), removes the whole-word articles a/an/the and collapses whitespace.
    Accents are kept; the text is NFC-composed first so that a precomposed "ü" and "u" followed
    by a combining diaeresis compare equal.

    Args:
        text: A predicted or gold answer.

    Returns:
        The normalised answer; tokens are separated by single spaces.
    """
    text = unicodedata.normalize("NFC", text).lower()
    text = text.translate(_PUNCTUATION_TABLE)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 if the answers are equal after :func:`normalize_answer`, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 between two answers, SQuAD style.

    Tokens are the whitespace-separated words of the normalised answers, and the overlap is
    counted as a multiset, so a word repeated in the prediction only matches as often as it
    occurs in the gold answer.

    Args:
        prediction: The predicted answer.
        gold: One acceptable gold answer.

    Returns:
        F1 in [0, 1]; 1.0 when both normalise to nothing, 0.0 when exactly one does.
    """
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        # An empty answer (e.g. "no answer") is right only when the gold is empty too.
        return float(pred_tokens == gold_tokens)
    overlap = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions: Sequence[str], golds: Sequence[str | Sequence[str]]) -> dict:
    """Exact match and token F1 over a set of question-answering examples.

    Each example is scored against every one of its acceptable answers and keeps the best
    exact match and, separately, the best F1, as in the official SQuAD script.

    Args:
        predictions: One predicted answer per example.
        golds: Per example, one gold answer or a list of acceptable gold answers.

    Returns:
        ``{"exact_match", "f1", "n", "per_example"}``: the two means as percentages (0-100),
        the number of examples and, per example, ``{"exact_match", "f1"}`` in [0, 1].

    Raises:
        ValueError: If the lengths differ, there are no examples, or an example has an empty
            list of gold answers.
    """
    predictions, golds = list(predictions), list(golds)
    if len(predictions) != len(golds):
        raise ValueError(f"{len(golds)} gold answers but {len(predictions)} predictions")
    if not predictions:
        raise ValueError("no examples to score")
    per_example = []
    for i, (prediction, gold) in enumerate(zip(predictions, golds, strict=True)):
        # A bare string is itself a Sequence[str], so it has to be recognised before iterating.
        answers = [gold] if isinstance(gold, str) else list(gold)
        if not answers:
            raise ValueError(f"example {i} has an empty list of gold answers")
        per_example.append({
            "exact_match": max(exact_match(prediction, a) for a in answers),
            "f1": max(token_f1(prediction, a) for a in answers),
        })
    return {
        "exact_match": 100.0 * float(np.mean([e["exact_match"] for e in per_example])),
        "f1": 100.0 * float(np.mean([e["f1"] for e in per_example])),
        "n": len(per_example),
        "per_example": per_example,
    }


def squad_scores_by_group(
    predictions: Sequence[str], golds: Sequence[str | Sequence[str]], groups: Sequence[str]
) -> pd.DataFrame:
    """:func:`squad_scores` per group (e.g. yes/no vs span questions) and overall.

    Args:
        predictions: One predicted answer per example.
        golds: Per example, one gold answer or a list of acceptable gold answers.
        groups: The group of each example.

    Returns:
        One row per group value in sorted order, then an ``"all"`` row; columns
        ``exact_match`` and ``f1`` (percentages) and ``n``.

    Raises:
        ValueError: On the conditions of :func:`squad_scores`, if ``groups`` has a different
            length, or if a group is called ``"all"`` (it would clash with the overall row).
    """
    groups = list(groups)
    scores = squad_scores(predictions, golds)
    if len(groups) != scores["n"]:
        raise ValueError(f"{len(groups)} group labels but {scores['n']} predictions")
    if "all" in groups:
        raise ValueError('a group is named "all", which is reserved for the overall row')
    per_example = pd.DataFrame(scores["per_example"])
    per_example["group"] = groups
    table = per_example.groupby("group", sort=True).agg(
        exact_match=("exact_match", "mean"), f1=("f1", "mean"), n=("f1", "size")
    )
    table[["exact_match", "f1"]] *= 100.0
    table.loc["all"] = [scores["exact_match"], scores["f1"], scores["n"]]
    return table.astype({"exact_match": float, "f1": float, "n": int})


class _NormalizedTokenizer:
    """Tokens for ROUGE: the words of :func:`normalize_answer`.

    rouge-score's default tokenizer replaces every non-ASCII letter by a space ("München" becomes
    "m nchen"); sharing the SQuAD normalisation keeps accents and makes ROUGE-L, EM and F1 see the
    same words.
    """

    def tokenize(self, text: str) -> list[str]:
        return normalize_answer(text).split()


def rouge_l(predictions: Sequence[str], golds: Sequence[str | Sequence[str]]) -> float:
    """Mean ROUGE-L F-measure, as a percentage (0-100).

    ROUGE-L is the F-measure of the longest common subsequence of words, so it rewards answers
    that keep the gold's words in order even when extra words surround them. Words are those of
    :func:`normalize_answer` (no stemming); an example with several gold answers keeps the best.
    An empty prediction or gold scores 0.

    Args:
        predictions: One generated answer per example.
        golds: Per example, one gold answer or a list of acceptable gold answers.

    Raises:
        ImportError: If the ``rouge-score`` package is missing.
        ValueError: If the lengths differ, there are no examples, or an example has an empty
            list of gold answers.
    """
    try:
        from rouge_score import rouge_scorer
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("ROUGE-L needs the rouge-score package. Fix: pip install rouge-score") from err
    predictions, golds = list(predictions), list(golds)
    if len(predictions) != len(golds):
        raise ValueError(f"{len(golds)} gold answers but {len(predictions)} predictions")
    if not predictions:
        raise ValueError("no examples to score")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=_NormalizedTokenizer())
    scores = []
    for i, (prediction, gold) in enumerate(zip(predictions, golds, strict=True)):
        answers = [gold] if isinstance(gold, str) else list(gold)
        if not answers:
            raise ValueError(f"example {i} has an empty list of gold answers")
        scores.append(max(scorer.score(a, prediction)["rougeL"].fmeasure for a in answers))
    return 100.0 * float(np.mean(scores))


# ---------------------------------------------------------------------------------------
# Agreement between two models' predictions (no labels: one model is the reference)
# ---------------------------------------------------------------------------------------


def _paired(predictions: Sequence, reference: Sequence) -> tuple[list, list]:
    predictions, reference = list(predictions), list(reference)
    if len(predictions) != len(reference):
        raise ValueError(f"{len(reference)} reference predictions but {len(predictions)} predictions")
    if not predictions:
        raise ValueError("no predictions to compare")
    return predictions, reference


def label_agreement(predictions: Sequence, reference: Sequence) -> float:
    """The share of inputs on which ``predictions`` equal ``reference``, in percent (0-100).

    With the reference model's predictions as labels, this is the accuracy of the other model
    against it: a model that agrees on all but d% of inputs is at most d points less accurate
    than the reference on them, whatever the true labels.

    Raises:
        ValueError: If the lengths differ or there are no predictions.
    """
    predictions, reference = _paired(predictions, reference)
    return 100.0 * float(np.mean([p == r for p, r in zip(predictions, reference, strict=True)]))


def ranking_agreement(rankings: Sequence[Sequence], reference: Sequence[Sequence],
                      k: int) -> dict[str, float]:
    """How closely two retrievers' rankings match, per query, in percent (0-100).

    Returns:
        ``{"top1_agreement": share of queries with the same first result,
        f"top{k}_overlap": mean over queries of |top-k ∩ reference top-k| / k}``. Recall@1 can
        differ by at most the first figure's shortfall from 100, whatever the gold passages.

    Raises:
        ValueError: If the lengths differ, there are no rankings, or ``k`` < 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rankings, reference = _paired(rankings, reference)
    top1 = [bool(len(a)) and bool(len(b)) and a[0] == b[0] for a, b in zip(rankings, reference, strict=True)]
    overlap = [len(set(list(a)[:k]) & set(list(b)[:k])) / k for a, b in zip(rankings, reference, strict=True)]
    return {"top1_agreement": 100.0 * float(np.mean(top1)),
            f"top{k}_overlap": 100.0 * float(np.mean(overlap))}


def answer_agreement(answers: Sequence[str], reference: Sequence[str]) -> dict[str, float]:
    """SQuAD exact match and F1 of ``answers`` with a reference model's answers as the gold, in percent.

    :func:`squad_scores` with one reference answer per input: a model whose answers match the
    reference's on all but d% of inputs is at most d points of exact match below it.

    Raises:
        ValueError: If the lengths differ or there are no answers.
    """
    answers, reference = _paired(answers, reference)
    scores = squad_scores(answers, reference)
    return {"exact_match": scores["exact_match"], "f1": scores["f1"]}

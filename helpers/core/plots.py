"""Plots for the notebooks (matplotlib only). Each returns the figure and can save it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from helpers.core.evaluation import Evaluation
from helpers.core.export import training_logs_frame


def _save(fig, path: str | Path | None):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig


def plot_training_loss(histories: dict[str, list[dict]], path: str | Path | None = None):
    """Training loss per step, one line per run (``{run name: trainer log history}``)."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, history in histories.items():
        logs = training_logs_frame(history).dropna(subset=["loss"])
        ax.plot(logs["step"], logs["loss"], label=name, lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Training loss per step")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def plot_confusion_matrix(
    confusion: Sequence[Sequence[int]], labels: Sequence[str], title: str = "Confusion matrix",
    path: str | Path | None = None,
):
    """Counts with gold labels as rows and predictions as columns."""
    cm = np.asarray(confusion)
    size = max(4.5, 0.6 * len(labels) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > threshold else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return _save(fig, path)


def plot_per_class_f1(results: dict[str, Evaluation], path: str | Path | None = None):
    """Grouped bars: per-class F1 of each model (``{model name: Evaluation}``, F1 from its ``groups``)."""
    names = list(results)
    labels = list(next(iter(results.values())).groups)
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(labels) + 2), 4))
    x = np.arange(len(labels))
    for k, name in enumerate(names):
        f1 = [results[name].groups[label]["f1"] for label in labels]
        ax.bar(x + k * width - 0.4 + width / 2, f1, width, label=name)
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1")
    ax.set_title("Per-class F1 on the test set")
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(1.01, 0.0))  # outside the bars
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_length_histogram(
    lengths: Sequence[int], max_length: int | None = None, title: str = "Text length in tokens",
    path: str | Path | None = None, limit_name: str = "MAX_LENGTH", beyond: str = "truncated",
):
    """Histogram of token lengths with the limit as a vertical line.

    The legend names the limit (``limit_name``) and counts the lengths above it and what
    happens to them (``beyond``: "truncated" for inputs, "dropped" for generative answers).
    """
    lengths = np.asarray(lengths)
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.hist(lengths, bins=min(40, max(5, len(np.unique(lengths)))), color="#4c72b0")
    if max_length is not None:
        cut = int((lengths > max_length).sum())
        ax.axvline(max_length, color="crimson", ls="--",
                   label=f"{limit_name}={max_length} ({cut} of {len(lengths)} {beyond})")
        ax.legend(fontsize=8)
    ax.set_xlabel("tokens")
    ax.set_ylabel("texts")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_score_distributions(evaluations: dict[str, Evaluation], path: str | Path | None = None):
    """Histograms of question-passage scores: each question's gold passage vs its best wrong one.

    Args:
        evaluations: ``{name: Evaluation}`` of ``context_relevance.evaluate_retriever``, whose
            predictions hold ``positive_score`` and ``best_negative_score`` per question;
            one panel each. The further apart the two histograms, the better the retriever
            separates relevant from irrelevant passages.
    """
    fig, axes = plt.subplots(1, len(evaluations), figsize=(4.2 * len(evaluations), 3.3), sharey=True,
                             squeeze=False)
    for ax, (name, ev) in zip(axes[0], evaluations.items(), strict=True):
        gold, best_wrong = ev.predictions["positive_score"], ev.predictions["best_negative_score"].dropna()
        bins = np.linspace(min(gold.min(), best_wrong.min()), 1.0, 25)
        ax.hist(gold, bins=bins, alpha=0.6, color="#55a868", label="gold passage")
        ax.hist(best_wrong, bins=bins, alpha=0.6, color="#c44e52", label="best wrong passage")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("cosine similarity to the question")
    axes[0][0].set_ylabel("questions")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)

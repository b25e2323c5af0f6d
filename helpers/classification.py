"""Text classification: a few-shot teacher, pseudo-labelling, a fine-tuned student, deployment.

The workflow the notebooks follow:

1. :class:`FewShotTeacher` learns a linear head on frozen sentence embeddings of the
   labelled examples and of the class descriptions (no training loop, seconds on CPU).
2. The teacher labels the unlabelled texts; :func:`select_pseudo_labels` keeps the ones it
   is most sure of, the same number per class.
3. :func:`train_classifier` fine-tunes a transformer sequence classifier (the student)
   with the transformers ``Trainer`` on the labelled plus the pseudo-labelled texts.
4. :class:`TextClassifier` wraps a student (in memory or exported) for prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from helpers.core.embeddings import SentenceEncoder
from helpers.core.evaluation import Evaluation
from helpers.core.export import ExportPaths, export_model, load_export, require_family
from helpers.core.metrics import classification_metrics, label_agreement
from helpers.core.models import load_pretrained, load_tokenizer
from helpers.core.onnx import CLASSIFIER, MAX_CALIBRATION_INPUTS
from helpers.core.streaming import StreamedCsv
from helpers.core.training import (
    MODEL_INPUTS,
    FeatureDataset,
    TrainConfig,
    length_sorted_batches,
    run_trainer,
)
from helpers.core.variants import (
    DEFAULT_MAX_DROP,
    VariantAdapter,
    calibration_sample,
    export_variants,
    outside_test,
    points,
)

__all__ = [
    "FAMILY", "FewShotTeacher", "select_pseudo_labels", "build_student", "train_classifier",
    "predict_proba", "softmax", "evaluate_predictions", "evaluate_classifier", "evaluate_teacher",
    "token_length_report", "TextClassifier", "CsvScoring", "export_classification", "variant_adapter",
    "export_classifier_variants"
]

FAMILY = "classification"
"""The family's name: its notebooks are ``classification-*.ipynb``; its exports say so in export-info.json."""

# ---------------------------------------------------------------------------------------
# Teacher
# ---------------------------------------------------------------------------------------


class FewShotTeacher:
    """Logistic regression on frozen sentence embeddings of examples and class descriptions.

    Each class description is embedded and added to the training points as one more example
    of its class (weighted by ``description_weight``), so classes with few examples still
    get an anchor. The regularisation strength ``C`` is chosen by stratified cross-validation
    on the labelled examples only (never on the test set); with fewer than two examples in
    some class it falls back to ``default_c``.

    Args:
        encoder: A :class:`~helpers.core.embeddings.SentenceEncoder`.
        labels: Class labels, in the order of the probability columns.
        c_grid: Candidate values of ``C``.
        default_c: ``C`` when cross-validation is impossible.
        description_weight: Sample weight of each class description.
        seed: Seed of the cross-validation split.
    """

    def __init__(
        self,
        encoder: SentenceEncoder,
        labels: Sequence[str],
        c_grid: Sequence[float] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0),
        default_c: float = 10.0,
        description_weight: float = 1.0,
        seed: int = 0,
    ):
        self.encoder = encoder
        self.labels = list(labels)
        self.c_grid = tuple(c_grid)
        self.default_c = default_c
        self.description_weight = description_weight
        self.seed = seed
        self.c_: float | None = None
        self.cv_scores_: dict[float, float] = {}
        self.head_ = None

    def fit(self, texts: Sequence[str], labels: Sequence[str], descriptions: dict[str, str] | None = None):
        """Embed the examples and descriptions and fit the linear head; returns ``self``.

        ``descriptions`` may leave out classes, or be empty or None: those classes learn from
        their examples alone.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not among the teacher's labels {self.labels}")
        y = np.array([self.labels.index(label) for label in labels])
        x = self.encoder.encode(list(texts))
        desc_labels = [lab for lab in self.labels if (descriptions or {}).get(lab, "").strip()]
        # No descriptions at all: no anchors, the examples alone (an empty encode has no width).
        x_desc = (self.encoder.encode([descriptions[lab] for lab in desc_labels]) if desc_labels
                  else np.empty((0, x.shape[1]), dtype=x.dtype))
        y_desc = np.array([self.labels.index(lab) for lab in desc_labels], dtype=y.dtype)

        def head(c: float):
            return LogisticRegression(C=c, max_iter=5000, class_weight="balanced")

        counts = np.bincount(y, minlength=len(self.labels))
        folds = int(min(5, counts[counts > 0].min())) if len(y) else 0
        if folds >= 2 and len(set(y)) >= 2:
            cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
            # Descriptions are not in the folds: CV measures how well the examples generalise.
            for c in self.c_grid:
                self.cv_scores_[c] = float(
                    cross_val_score(head(c), x, y, cv=cv, scoring="f1_macro").mean()
                )
            best = max(self.cv_scores_.values())
            # Ties go to the stronger regularisation (the smaller C).
            self.c_ = min(c for c, s in self.cv_scores_.items() if s >= best - 1e-9)
        else:
            self.c_ = self.default_c
        weights = np.concatenate([np.ones(len(y)), np.full(len(y_desc), self.description_weight)])
        self.head_ = head(self.c_).fit(
            np.concatenate([x, x_desc]), np.concatenate([y, y_desc]), sample_weight=weights
        )
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, one column per label in ``self.labels`` order."""
        if self.head_ is None:
            raise RuntimeError("call fit() before predict_proba()")
        probs = self.head_.predict_proba(self.encoder.encode(list(texts)))
        full = np.zeros((len(probs), len(self.labels)), dtype=np.float64)
        full[:, self.head_.classes_] = probs
        return full

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable label of each text."""
        return [self.labels[i] for i in self.predict_proba(texts).argmax(1)]


def select_pseudo_labels(
    texts: Sequence[str],
    probs: np.ndarray,
    labels: Sequence[str],
    keep_fraction: float = 0.5,
    min_confidence: float = 0.0,
) -> pd.DataFrame:
    """Keep the teacher's most confident labels, the same number per class.

    The rule: every class may keep ``k = round(keep_fraction * len(texts) / n_classes)``
    texts: those the teacher assigns to it with the highest probability, and none below
    ``min_confidence``. A class the teacher rarely predicts keeps fewer (all it has); no class
    can crowd out the others, so the kept set is balanced as far as the teacher allows.

    Args:
        texts: Unlabelled texts.
        probs: Teacher probabilities, shape (len(texts), len(labels)).
        labels: Column labels of ``probs``.
        keep_fraction: Share of the unlabelled texts to keep if every class had enough.
        min_confidence: Lowest probability a kept label may have.

    Returns:
        A frame with ``text``, ``label``, ``confidence`` and ``source_row`` (the text's position in
        ``texts``), grouped by label in the order of ``labels``, then by confidence (descending),
        ties broken by the text's original position.
    """
    probs = np.asarray(probs, dtype=float)
    if probs.shape != (len(texts), len(labels)):
        raise ValueError(f"probs has shape {probs.shape}, expected ({len(texts)}, {len(labels)})")
    if not 0.0 <= keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction must be in [0, 1], got {keep_fraction}")
    per_class = int(round(keep_fraction * len(texts) / max(1, len(labels))))
    pred, conf = probs.argmax(1), probs.max(1)
    rows = []
    for c, label in enumerate(labels):
        idx = np.flatnonzero((pred == c) & (conf >= min_confidence))
        idx = idx[np.lexsort((idx, -conf[idx]))][:per_class]
        rows += [(texts[i], label, float(conf[i]), int(i)) for i in idx]
    return pd.DataFrame(rows, columns=["text", "label", "confidence", "source_row"])


# ---------------------------------------------------------------------------------------
# Student
# ---------------------------------------------------------------------------------------


def build_student(model_name: str, labels: Sequence[str], seed: int = 42):
    """A sequence classifier with a new, untrained head for ``labels``, and its tokenizer.

    The seed is set *before* the head is created, so the same seed gives the same head.
    """
    from transformers import AutoModelForSequenceClassification, set_seed

    set_seed(seed)
    labels = list(labels)
    tokenizer = load_tokenizer(model_name, require_fast=False)
    model = load_pretrained(
        AutoModelForSequenceClassification,
        model_name,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    return model, tokenizer


def train_classifier(
    model,
    tokenizer,
    texts: Sequence[str],
    labels: Sequence[str],
    config: TrainConfig,
    output_dir: str | Path | None = None,
) -> list[dict]:
    """Fine-tune ``model`` in place with the transformers ``Trainer``; returns the log history.

    Dynamic padding (each batch padded to its longest text), a linear schedule with warm-up,
    no checkpoints written (the notebook exports the final model itself).

    Args:
        model: From :func:`build_student`.
        tokenizer: Its tokenizer.
        texts: Training texts.
        labels: Their labels (strings in ``model.config.label2id``).
        config: Hyper-parameters.
        output_dir: Trainer scratch folder (a temporary folder by default).
    """
    from transformers import DataCollatorWithPadding

    if len(texts) != len(labels) or not len(texts):
        raise ValueError(f"need as many labels as texts (got {len(texts)} and {len(labels)})")
    label2id = model.config.label2id
    unknown = sorted(set(labels) - set(label2id))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the model's labels {list(label2id)}")
    enc = tokenizer(list(texts), truncation=True, max_length=config.max_length)
    dataset = FeatureDataset({**enc, "labels": [label2id[label] for label in labels]},
                             (*MODEL_INPUTS, "labels"))
    return run_trainer(model, tokenizer, dataset, config, DataCollatorWithPadding(tokenizer),
                       output_dir)


@torch.inference_mode()
def predict_proba(
    model, tokenizer, texts: Sequence[str], batch_size: int = 32, max_length: int = 256
) -> np.ndarray:
    """Class probabilities for ``texts`` (columns in ``model.config.id2label`` order)."""
    model.eval()
    texts = list(texts)
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    for idx in length_sorted_batches(texts, batch_size):
        enc = tokenizer(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
            return_tensors="pt",
        ).to(model.device)
        out[idx] = softmax(model(**enc).logits.float().cpu().numpy())
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in NumPy.

    Done outside torch on purpose: a torch op here starts torch's thread pool, whose idle threads
    keep spinning and take the CPU from ONNX Runtime's (measured: 340 instead of 470 texts/s).
    """
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def evaluate_predictions(texts: Sequence[str], gold: Sequence[str], predicted: Sequence[str],
                         labels: Sequence[str]) -> Evaluation:
    """Score predicted labels against the gold ones (:func:`~helpers.core.metrics.classification_metrics`).

    Returns:
        An :class:`~helpers.core.evaluation.Evaluation`: ``scores`` accuracy and macro-F1,
        ``groups`` precision/recall/F1/support per label, ``predictions`` (text, label,
        predicted), ``details`` the confusion matrix (gold labels as rows) and the labels.
    """
    metrics = classification_metrics(gold, predicted, labels)
    frame = pd.DataFrame({"text": list(texts), "label": list(gold), "predicted": list(predicted)})
    return Evaluation(scores={"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]},
                      predictions=frame, groups=metrics["per_class"],
                      details={"confusion": metrics["confusion"], "labels": metrics["labels"]})


def evaluate_classifier(
    model, tokenizer, texts: Sequence[str], labels: Sequence[str], max_length: int = 256,
    batch_size: int = 32,
) -> Evaluation:
    """:func:`evaluate_predictions` of ``model`` on labelled texts, in the model's ``id2label`` order."""
    id2label = model.config.id2label
    names = [id2label[i] for i in range(len(id2label))]
    probs = predict_proba(model, tokenizer, texts, batch_size, max_length)
    return evaluate_predictions(texts, labels, [names[i] for i in probs.argmax(1)], names)


def evaluate_teacher(teacher: FewShotTeacher, texts: Sequence[str], labels: Sequence[str]) -> Evaluation:
    """:func:`evaluate_predictions` of a fitted teacher on labelled texts, in the teacher's label order."""
    return evaluate_predictions(texts, labels, teacher.predict(texts), teacher.labels)


def token_length_report(tokenizer, texts: Sequence[str], max_length: int) -> dict:
    """Token counts of ``texts`` (special tokens included) and how many ``max_length`` truncates."""
    lengths = np.array([len(ids) for ids in tokenizer(list(texts))["input_ids"]])
    truncated = int((lengths > max_length).sum())
    return {
        "texts": int(len(lengths)),
        "mean": float(lengths.mean()),
        "p50": float(np.percentile(lengths, 50)),
        "p95": float(np.percentile(lengths, 95)),
        "max": int(lengths.max()),
        "max_length": int(max_length),
        "truncated": truncated,
        "truncated_share": truncated / len(lengths),
        "lengths": lengths.tolist(),
    }


# ---------------------------------------------------------------------------------------
# Prediction and deployment
# ---------------------------------------------------------------------------------------


class TextClassifier:
    """A sequence classifier ready for prediction (in memory or loaded from an export).

    Args:
        model: A transformers sequence classifier with ``id2label`` in its config.
        tokenizer: Its tokenizer.
        max_length: Longest input in tokens.
        batch_size: Texts per forward pass for batch prediction.
    """

    def __init__(self, model, tokenizer, max_length: int = 256, batch_size: int = 32):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size

    @classmethod
    def from_export(cls, path: str | Path, unpack_to: str | Path | None = None, backend: str = "pytorch",
                    **kwargs):
        """Load an export folder, its parent ``OUTPUT_DIR``, or a ``<name>-model.tar``.

        ``backend``: ``"pytorch"``, ``"onnx"``, ``"onnx-int8"`` or ``"onnx-int8-static"`` (see
        :mod:`helpers.core.onnx`).
        """

        model, tokenizer, folder = load_export(path, unpack_to=unpack_to, backend=backend)
        info = require_family(folder, FAMILY, "classification-training.ipynb")
        settings = {"max_length": int(info["max_length"])} if "max_length" in info else {}
        return cls(model, tokenizer, **{**settings, **kwargs})

    @property
    def labels(self) -> list[str]:
        """Labels in the order of the probability columns."""
        id2label = self.model.config.id2label
        return [id2label[i] for i in range(len(id2label))]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, one column per label."""
        return predict_proba(self.model, self.tokenizer, texts, self.batch_size, self.max_length)

    def predict(self, texts: Sequence[str]) -> pd.DataFrame:
        """The label and its probability (``confidence``) for each text."""
        probs = self.predict_proba(texts)
        labels = self.labels
        return pd.DataFrame(
            {"label": [labels[i] for i in probs.argmax(1)], "confidence": probs.max(1)}
        )

    def predict_one(self, text: str) -> pd.DataFrame:
        """Every label with its probability for one text, most probable first."""
        probs = self.predict_proba([text])[0]
        order = np.argsort(-probs, kind="stable")
        return pd.DataFrame(
            {"label": [self.labels[i] for i in order], "probability": probs[order]}
        )

    def score_csv(
        self,
        input_csv: str | Path,
        output_csv: str | Path,
        text_column: str = "question",
        chunk_size: int = 1000,
        n_review: int = 10,
        progress: bool = True,
    ) -> CsvScoring:
        """Add ``predicted_label`` and ``confidence`` columns to a CSV of any size, chunk by chunk.

        All other columns are kept as they are. Only a summary stays in memory: label counts,
        the ``n_review`` least confident rows, and (when the CSV has an ``answer`` column of gold
        labels) the pairs needed for accuracy. See :func:`helpers.core.streaming.stream_csv`.

        Raises:
            TaskDataError: the text column is missing (the message lists the columns there are),
                or the file has no rows.
        """

        def score(chunk: pd.DataFrame) -> pd.DataFrame:
            pred = self.predict(chunk[text_column].tolist())
            return chunk.assign(predicted_label=pred["label"].values, confidence=pred["confidence"].values)

        run = StreamedCsv(input_csv, output_csv, score, [text_column], chunk_size, progress)
        confidence_sum, counts, review, gold, predicted = 0.0, pd.Series(dtype=int), None, [], []
        for chunk in run:
            confidence_sum += float(chunk["confidence"].sum())
            counts = counts.add(chunk["predicted_label"].value_counts(), fill_value=0)
            low = chunk.nsmallest(n_review, "confidence")
            review = low if review is None else pd.concat([review, low]).nsmallest(n_review, "confidence")
            if "answer" in chunk:
                gold += chunk["answer"].tolist()
                predicted += chunk["predicted_label"].tolist()
        return CsvScoring(
            output_csv=run.output_csv, rows=run.rows, seconds=run.seconds,
            label_counts=counts.astype(int).sort_values(ascending=False),
            mean_confidence=confidence_sum / run.rows, review=review.reset_index(drop=True),
            gold=classification_metrics(gold, predicted, self.labels) if gold else None,
        )


@dataclass
class CsvScoring:
    """What :meth:`TextClassifier.score_csv` wrote and the summary it kept.

    Attributes:
        output_csv: The scored CSV.
        rows: Rows scored.
        seconds: Wall time, reading and writing included.
        label_counts: Rows per predicted label, most frequent first.
        mean_confidence: Mean probability of the predicted label.
        review: The least confident rows (all columns), least confident first.
        gold: :func:`~helpers.core.metrics.classification_metrics` against an ``answer`` column, or None.
    """

    output_csv: Path
    rows: int
    seconds: float
    label_counts: pd.Series
    mean_confidence: float
    review: pd.DataFrame
    gold: dict | None


def export_classification(model, tokenizer, output_dir: str | Path, name: str,
                          log_history: list[dict] | None = None, max_length: int = 256,
                          info: dict | None = None) -> ExportPaths:
    """Export a trained classifier (:func:`helpers.core.export.export_model`) as this family.

    ``export-info.json`` carries the family, the task ``name``, the labels in the order of the
    model's outputs and ``max_length`` (which :meth:`TextClassifier.from_export` uses), then
    ``info`` (base model, teacher, training settings, test metrics).
    """
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return export_model(model, tokenizer, output_dir, name, log_history, info={
        "family": FAMILY, "task": name, "labels": labels, "max_length": int(max_length), **(info or {})})


# ---------------------------------------------------------------------------------------
# ONNX variants: this family's adapter to the quality gate
# ---------------------------------------------------------------------------------------


def variant_adapter(folder: str | Path, texts: Sequence[str], labels: Sequence[str],
                    max_length: int = 256, gate_texts: Sequence[str] | None = None,
                    gate_source: str = "unlabelled texts", calibration_texts: Sequence[str] | None = None,
                    calibration_source: str = "unlabelled texts",
                    max_calibration: int | None = MAX_CALIBRATION_INPUTS, seed: int = 0) -> VariantAdapter:
    """Gate: ``label_agreement`` with PyTorch on ``gate_texts`` (no labels; any that is also a test
    text is left out). Test scores, for information: accuracy and macro-F1 on ``texts``/``labels``.
    Latency: one text.

    Calibration of the static int8 variant: a seeded sample of at most ``max_calibration`` of
    ``calibration_texts`` (the task's unlabelled texts), never a test text, texts that are not gate
    inputs first (:func:`~helpers.core.variants.calibration_sample`). Without them the static
    variant is skipped."""
    texts, labels = list(texts), list(labels)
    gate, gate_source = outside_test(gate_texts, texts, gate_source)
    calibration, calibration_info = None, None
    if calibration_texts is not None:
        calibration, calibration_info = calibration_sample(calibration_texts, gate, texts,
                                                           max_calibration, seed)
        calibration_info["source"] = calibration_source

    def load(backend):
        return TextClassifier.from_export(folder, backend=backend, max_length=max_length)

    def score(c):
        result = evaluate_classifier(c.model, c.tokenizer, texts, labels, max_length)
        return points(result.scores, ("accuracy", "macro_f1"), 100), result.predictions["predicted"].tolist()

    def model_and_tokenizer():
        model, tokenizer, _ = load_export(folder)
        return model, tokenizer, max_length

    return VariantAdapter(CLASSIFIER, Path(folder), load, score, lambda c, i: c.predict_proba([texts[i]]),
                          len(texts), model_and_tokenizer, "batches of 32 texts sorted by length",
                          gate=(lambda c: c.predict(gate)["label"].tolist()) if gate else None,
                          agreement=lambda v, r: {"label_agreement": label_agreement(v, r)},
                          gate_source=gate_source, calibration=calibration or None,
                          calibration_info=calibration_info)


def export_classifier_variants(folder, texts, labels, max_drop: float = DEFAULT_MAX_DROP,
                               tarball=None, max_length: int = 256, backends=None,
                               gate_texts: Sequence[str] | None = None,
                               gate_source: str = "unlabelled texts",
                               calibration_texts: Sequence[str] | None = None) -> pd.DataFrame:
    """ONNX and int8 variants of a classifier export, gated on ``gate_texts`` and scored on a test set.

    A variant is recommended iff it predicts PyTorch's label on at least ``100 - max_drop`` % of
    ``gate_texts`` (texts that are not test texts, such as the task's unlabelled texts; no labels
    needed). Accuracy and macro-F1 on ``texts``/``labels`` (the test set) are reported beside it,
    for information. Without ``gate_texts`` nothing is decided (``recommended`` None).

    ``calibration_texts`` (the task's unlabelled texts; up to 200 are sampled, never a test text)
    calibrate the static int8 variant (``onnx-int8-static``); without them it is skipped.
    """
    adapter = variant_adapter(folder, texts, labels, max_length, gate_texts, gate_source, calibration_texts)
    return export_variants(folder, adapter, max_drop, backends, tarball)

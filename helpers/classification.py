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

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from helpers.core.budget import TrainingPlan, measure_step_seconds, plan_runs, timing_picks
from helpers.core.embeddings import SentenceEncoder
from helpers.core.evaluation import Evaluation
from helpers.core.export import ExportPaths, export_model, load_export, require_family
from helpers.core.metrics import classification_metrics, label_agreement
from helpers.core.models import load_pretrained, load_tokenizer
from helpers.core.onnx import CLASSIFIER, MAX_CALIBRATION_INPUTS
from helpers.core.prediction import length_sorted_batches, softmax
from helpers.core.streaming import StreamedCsv
from helpers.core.training import MODEL_INPUTS, FeatureDataset, TrainConfig, planned_steps, run_trainer
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
        self.cross_fitted_: pd.DataFrame | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[str], descriptions: dict[str, str] | None = None):
        """Embed the examples and descriptions and fit the linear head; returns ``self``.

        ``descriptions`` may leave out classes, or be empty or None: those classes learn from
        their examples alone.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score

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
            # Each labelled text as the teacher would label it had it not seen it: what its
            # pseudo-labels are worth, estimated without the test set (see pseudo_label_quality).
            oof = cross_val_predict(head(self.c_), x, y, cv=cv, method="predict_proba")
            self.cross_fitted_ = pd.DataFrame({"label": [self.labels[i] for i in y],
                                               "predicted": [self.labels[i]
                                                             for i in np.unique(y)[oof.argmax(1)]],
                                               "confidence": oof.max(1)})
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


def pseudo_label_quality(teacher: FewShotTeacher, pseudo: pd.DataFrame) -> dict:
    """What the kept pseudo-labels are likely worth, estimated on the labelled texts alone.

    The teacher's cross-fitted labels of the labelled texts (each from a head that did not see it,
    :attr:`FewShotTeacher.cross_fitted_`) stand in for its labels of new texts: ``accuracy`` over all
    of them, and ``kept_accuracy`` over those at least as confident as the least confident kept
    pseudo-label (the bar the kept ones cleared). ``None`` when cross-fitting was impossible (a class
    with one labelled text). A few dozen texts make this a rough estimate (±7 points at 48).
    """
    cf = teacher.cross_fitted_
    if cf is None or not len(cf):
        return {"accuracy": None, "kept_accuracy": None, "labelled_texts": 0}
    bar = float(pseudo["confidence"].min()) if len(pseudo) else 1.0
    kept = cf[cf["confidence"] >= bar]
    correct = cf["label"] == cf["predicted"]
    return {"accuracy": float(correct.mean()),
            "kept_accuracy": float(correct[kept.index].mean()) if len(kept) else None,
            "labelled_texts": int(len(cf)), "confidence_bar": bar, "labelled_above_bar": int(len(kept))}


def agreed_pseudo_labels(pseudo: pd.DataFrame, student_probs: np.ndarray,
                         labels: Sequence[str]) -> pd.DataFrame:
    """The kept pseudo-labels that a second reader confirms: rows of ``pseudo`` (from
    :func:`select_pseudo_labels`) whose label is also the student's most probable one.

    The student trained on the labelled texts alone errs differently from the teacher (it learnt
    from gold labels, the teacher from a few dozen texts through a frozen encoder); where both
    agree, the label is more often right than where either speaks alone. ``student_probs`` has one
    row per row of ``pseudo``, columns in ``labels`` order. Adds ``student_confidence``.
    """
    student_probs = np.asarray(student_probs, dtype=float)
    if student_probs.shape != (len(pseudo), len(labels)):
        raise ValueError(f"student_probs has shape {student_probs.shape}, "
                         f"expected ({len(pseudo)}, {len(labels)})")
    predicted = np.asarray(labels, dtype=object)[student_probs.argmax(1)]
    agreed = pseudo.assign(student_confidence=student_probs.max(1))
    return agreed[predicted == pseudo["label"].to_numpy()].reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# Student
# ---------------------------------------------------------------------------------------


class MeanPoolingClassifier(torch.nn.Module):
    """A sentence encoder's recipe with a linear head: encoder → mean pooling over the tokens →
    L2 normalisation → ``Linear(hidden, labels)``.

    It computes exactly the features the few-shot teacher's head was fitted on (the
    :class:`~helpers.core.embeddings.SentenceEncoder` recipe), so the teacher's head can be copied
    in (:func:`init_head_from_teacher`) and training starts at the teacher's accuracy. A
    transformers ``*ForSequenceClassification`` head reads the first token through a pooler
    instead; on the packaged MiniLM, a probe on that feature scores 10-20 points below one on the
    mean (measured on the four example tasks), so such a head could not start where the teacher is.

    ``labels`` in the forward pass are class ids (cross-entropy) or rows of probabilities (soft
    targets: cross-entropy against the teacher's distribution); ``weights`` (optional) weigh each
    example's loss. The config is the encoder's own with ``id2label``, ``label2id`` and
    ``classifier_pooling = "mean"`` added; :meth:`save_pretrained` writes it with the weights, and
    :meth:`from_pretrained` reads them back (see :class:`StudentClassifier` for loading any export).
    """

    ARCHITECTURE = "MeanPoolingClassifier"

    def __init__(self, encoder, config=None):
        super().__init__()
        self.encoder = encoder
        self.config = config or encoder.config
        self.classifier = torch.nn.Linear(self.config.hidden_size, self.config.num_labels)

    @classmethod
    def wrap(cls, encoder, labels: Sequence[str]):
        """A classifier over ``encoder`` for ``labels`` (a new head, from the current torch seed)."""
        import copy

        config = copy.deepcopy(encoder.config)
        labels = list(labels)
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        config.architectures = [cls.ARCHITECTURE]
        config.classifier_pooling = "mean"
        return cls(encoder, config)

    @property
    def device(self):
        return self.classifier.weight.device

    def embed(self, input_ids, attention_mask, token_type_ids=None):
        """L2-normalised mean of the last hidden states over the real (unpadded) tokens."""
        kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None, weights=None):
        from transformers.modeling_outputs import SequenceClassifierOutput

        logits = self.classifier(self.embed(input_ids, attention_mask, token_type_ids))
        loss = None
        if labels is not None:
            if labels.dim() == 2:  # soft targets: a probability row per example
                per_example = -(labels.to(logits.dtype) * torch.log_softmax(logits, -1)).sum(-1)
            else:
                per_example = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
            if weights is None:
                loss = per_example.mean()
            else:
                weights = weights.to(per_example.dtype)
                loss = (per_example * weights).sum() / weights.sum().clamp(min=1e-9)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def save_pretrained(self, folder, safe_serialization: bool = True, **_):
        """Write ``config.json`` and ``model.safetensors`` into ``folder``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.config.save_pretrained(folder)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, folder, **_):
        """Load what :meth:`save_pretrained` wrote (on CPU, in eval mode)."""
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel

        config = AutoConfig.from_pretrained(folder)
        model = cls(AutoModel.from_config(config), config)
        model.load_state_dict(load_file(str(Path(folder) / "model.safetensors")), strict=True)
        return model.eval()


class StudentClassifier:
    """Loads any classification export: a :class:`MeanPoolingClassifier` (``classifier_pooling =
    "mean"`` in its config), or any transformers sequence classifier (exports made before the
    student had the teacher's head, or a folder of someone else's)."""

    __name__ = "StudentClassifier"

    @staticmethod
    def from_pretrained(folder, **kwargs):
        from transformers import AutoConfig, AutoModelForSequenceClassification

        if getattr(AutoConfig.from_pretrained(folder), "classifier_pooling", None) == "mean":
            return MeanPoolingClassifier.from_pretrained(folder)
        return AutoModelForSequenceClassification.from_pretrained(folder, **kwargs)


def build_student(model_name: str, labels: Sequence[str], seed: int = 42):
    """A :class:`MeanPoolingClassifier` over ``model_name`` with a new head for ``labels``, and its
    tokenizer. The seed is set *before* the head is created, so the same seed gives the same head;
    :func:`init_head_from_teacher` then replaces it with the teacher's."""
    from transformers import AutoModel, set_seed

    set_seed(seed)
    tokenizer = load_tokenizer(model_name, require_fast=False)
    model = MeanPoolingClassifier.wrap(load_pretrained(AutoModel, model_name), labels)
    return model.eval(), tokenizer  # in eval mode, as transformers loads models; training sets train mode


def init_head_from_teacher(model: MeanPoolingClassifier, teacher: FewShotTeacher) -> None:
    """Copy a fitted teacher's linear head into ``model``'s classifier.

    The teacher must read the same features: its encoder is the student's encoder, with the same
    mean pooling and normalisation. The student's untrained predictions are then the teacher's.
    A binary logistic regression has one row of weights; it becomes logits ``(0, w·x + b)``, which
    give the same probabilities. A class the teacher never saw gets a bias of -30 (never chosen).
    """
    head = teacher.head_
    if head is None:
        raise RuntimeError("fit the teacher before copying its head")
    coef, intercept = np.asarray(head.coef_, dtype=np.float32), np.asarray(head.intercept_, dtype=np.float32)
    if coef.shape[0] == 1 and len(head.classes_) == 2:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.array([0.0, intercept[0]], dtype=np.float32)
    n_labels, width = model.classifier.weight.shape
    if coef.shape[1] != width or [model.config.id2label[i] for i in range(n_labels)] != teacher.labels:
        raise ValueError(
            f"the teacher's head ({coef.shape[1]} features, labels {teacher.labels}) does not fit the "
            f"student ({width} features, labels {list(model.config.label2id)}): the teacher must use the "
            "student's encoder and the same labels in the same order"
        )
    weight = np.zeros((n_labels, width), dtype=np.float32)
    bias = np.full(n_labels, -30.0, dtype=np.float32)
    weight[head.classes_], bias[head.classes_] = coef, intercept
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(weight))
        model.classifier.bias.copy_(torch.from_numpy(bias))


def freeze_lower_layers(model: MeanPoolingClassifier, layers: int) -> int:
    """Freeze the embeddings and the lowest ``layers`` transformer layers (0: the embeddings only;
    -1: nothing). Returns the number of parameters left trainable.

    Frozen layers need no backward pass (time) and keep the features the teacher's head was fitted
    on (quality, with a few dozen labelled texts). Works on BERT-like encoders (``embeddings`` and
    ``encoder.layer``); others are left as they are.
    """
    if layers >= 0:
        encoder = model.encoder
        frozen = [getattr(encoder, "embeddings", None)]
        stack = getattr(getattr(encoder, "encoder", None), "layer", None)
        if stack is not None:
            frozen += list(stack[:layers])
        for module in filter(None, frozen):
            for p in module.parameters():
                p.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def weights_snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s floating-point weights (for :func:`average_weights` after more training)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}


def average_weights(model: torch.nn.Module, snapshot: dict[str, torch.Tensor], share: float = 0.5) -> None:
    """Set ``model``'s weights, in place, to ``share * snapshot + (1 - share) * current``.

    ``snapshot`` is an earlier point of the same training (:func:`weights_snapshot`), e.g. the
    labelled-only round before the distillation round continued from it. Both ends start from the
    same weights, so the straight line between them stays in one basin of the loss; its midpoint
    keeps what each end learnt and averages out much of the noise the last round added (weight-space
    ensembling, as in WiSE-FT and model soups). Integer buffers (position ids) are left alone.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must lie in [0, 1], got {share}")
    floats = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
    missing = sorted(k for k in floats if k not in snapshot)
    if missing:
        raise ValueError(f"the snapshot lacks {len(missing)} of the model's weights (first: {missing[0]}); "
                         "take it from this model with weights_snapshot")
    for key, value in floats.items():  # all checked before any weight changes
        if snapshot[key].shape != value.shape:
            raise ValueError(f"{key}: the snapshot has shape {tuple(snapshot[key].shape)}, "
                             f"the model {tuple(value.shape)}")
    with torch.no_grad():
        for key, value in floats.items():
            value.mul_(1.0 - share).add_(snapshot[key].to(value.dtype), alpha=share)


def soft_targets(labels: Sequence[str], all_labels: Sequence[str]) -> np.ndarray:
    """One-hot rows for gold labels (the labelled examples' targets beside the teacher's probabilities)."""
    index = {label: i for i, label in enumerate(all_labels)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ValueError(f"labels {unknown} are not among {list(all_labels)}")
    out = np.zeros((len(labels), len(all_labels)), dtype=np.float32)
    out[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    return out


class ModelEncoder:
    """The sentence embeddings of a :class:`MeanPoolingClassifier`'s own encoder, with the
    :class:`~helpers.core.embeddings.SentenceEncoder` interface (``encode``): a teacher fitted on it
    reads exactly the student's features."""

    def __init__(self, model: MeanPoolingClassifier, tokenizer, max_length: int = 256, batch_size: int = 32):
        self.model, self.tokenizer = model, tokenizer
        self.max_length, self.batch_size = max_length, batch_size

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        was_training = self.model.training
        self.model.eval()
        texts = list(texts)
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        for idx in length_sorted_batches(texts, self.batch_size):
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt").to(self.model.device)
            inputs = {k: v for k, v in enc.items() if k in MODEL_INPUTS}
            out[idx] = self.model.embed(**inputs).float().cpu().numpy()
        self.model.train(was_training)
        return out


def start_from_teacher(model: MeanPoolingClassifier, tokenizer, teacher: FewShotTeacher, model_name: str,
                       texts: Sequence[str], labels: Sequence[str], descriptions: dict | None = None,
                       max_length: int = 256) -> FewShotTeacher:
    """Give the student the teacher's head, so that its training starts at the teacher's accuracy.

    When the teacher reads the student's own features (``TEACHER_MODEL`` is ``MODEL``, same
    ``max_length``), its head is copied as it is. Otherwise the same few-shot head is fitted on the
    student's own frozen embeddings of the labelled texts and class descriptions (the teacher's
    recipe, on the student's encoder) and that is copied. Returns the teacher whose head was copied.
    """
    encoder = teacher.encoder
    same = (getattr(encoder, "model_name", None) == model_name
            and getattr(encoder, "max_length", None) == max_length)
    if not same:
        teacher = FewShotTeacher(ModelEncoder(model, tokenizer, max_length), teacher.labels,
                                 seed=teacher.seed).fit(texts, labels, descriptions)
    init_head_from_teacher(model, teacher)
    return teacher


def distillation_set(train_texts: Sequence[str], train_labels: Sequence[str], pseudo: pd.DataFrame,
                     probs: np.ndarray, labels: Sequence[str], soft: bool = True):
    """The distilled student's training set: the labelled texts, then the kept pseudo-labelled ones.

    With ``soft``, targets are probability rows: one-hot for the labelled texts, the teacher's whole
    distribution for the pseudo-labelled ones (``probs`` rows at ``pseudo["source_row"]``), so a text
    the teacher hesitates on teaches its hesitation instead of a hard guess. Without, the targets are
    labels (gold, then the teacher's). Returns ``(texts, targets)`` for :func:`train_classifier`.
    """
    texts = list(train_texts) + pseudo["text"].tolist()
    if not soft:
        return texts, list(train_labels) + pseudo["label"].tolist()
    probs = np.asarray(probs, dtype=np.float32)
    return texts, np.vstack([soft_targets(train_labels, labels), probs[pseudo["source_row"].to_numpy()]])


class TargetCollator:
    """Pads the token inputs of a batch (dynamic padding) and stacks its ``labels`` (class ids or
    probability rows) and ``weights`` as tensors."""

    def __init__(self, tokenizer):
        from transformers import DataCollatorWithPadding

        self.pad = DataCollatorWithPadding(tokenizer)

    def __call__(self, items: list[dict]) -> dict:
        extra = {key: torch.tensor(np.array([item[key] for item in items]))
                 for key in ("labels", "weights") if key in items[0]}
        batch = self.pad([{k: v for k, v in item.items() if k not in extra} for item in items])
        batch.update(extra)
        return batch


def train_classifier(
    model,
    tokenizer,
    texts: Sequence[str],
    labels,
    config: TrainConfig,
    output_dir: str | Path | None = None,
    weights: Sequence[float] | None = None,
    time_limit: float | None = None,
) -> list[dict]:
    """Fine-tune ``model`` in place with the transformers ``Trainer``; returns the log history.

    Dynamic padding (each batch padded to its longest text), a linear schedule with warm-up,
    no checkpoints written (the notebook exports the final model itself).

    Args:
        model: From :func:`build_student`.
        tokenizer: Its tokenizer.
        texts: Training texts.
        labels: Their labels (strings in ``model.config.label2id``), or an array of shape
            (texts, labels) of target probabilities (soft labels: the teacher's distribution, one-hot
            rows for gold labels; :class:`MeanPoolingClassifier` only).
        config: Hyper-parameters.
        output_dir: Trainer scratch folder (a temporary folder by default).
        weights: Optional weight of each text's loss.
        time_limit: Wall-clock seconds after which training stops at the end of its step
            (:meth:`~helpers.core.budget.TrainingPlan.time_limit`); None: no limit.
    """
    label2id = model.config.label2id
    if isinstance(labels, np.ndarray) and labels.ndim == 2:
        if labels.shape != (len(texts), len(label2id)) or not len(texts):
            raise ValueError(f"soft labels have shape {labels.shape}, "
                             f"expected ({len(texts)}, {len(label2id)})")
        targets = labels.astype(np.float32).tolist()
    else:
        labels = list(labels)
        if len(texts) != len(labels) or not len(texts):
            raise ValueError(f"need as many labels as texts (got {len(texts)} and {len(labels)})")
        unknown = sorted(set(labels) - set(label2id))
        if unknown:
            raise ValueError(f"labels {unknown} are not among the model's labels {list(label2id)}")
        targets = [label2id[label] for label in labels]
    enc = tokenizer(list(texts), truncation=True, max_length=config.max_length)
    features = {**enc, "labels": targets}
    if weights is not None:
        if len(weights) != len(texts):
            raise ValueError(f"need one weight per text (got {len(weights)} for {len(texts)})")
        features["weights"] = [float(w) for w in weights]
    dataset = FeatureDataset(features, (*MODEL_INPUTS, "labels", "weights"))
    return run_trainer(model, tokenizer, dataset, config, TargetCollator(tokenizer), output_dir, time_limit)


def _timing_batches(model, tokenizer, texts: Sequence[str], config: TrainConfig,
                    quantiles=(0.25, 0.5, 0.75)) -> list[dict]:
    """A few training batches of ``texts``, as training builds them, for :func:`measure_step_seconds`."""
    enc = tokenizer(list(texts), truncation=True, max_length=config.max_length)
    lengths = [len(ids) for ids in enc["input_ids"]]
    picks = timing_picks(lengths, config.batch_size, config.group_by_length, config.seed, quantiles)
    n = model.config.num_labels
    collate = TargetCollator(tokenizer)
    keys = [k for k in MODEL_INPUTS if k in enc]
    return [collate([{**{k: enc[k][i] for k in keys}, "labels": [1.0 / n] * n} for i in pick])
            for pick in picks]


def plan_students(model, tokenizer, labelled_texts: Sequence[str], distil_texts: Sequence[str],
                  config: TrainConfig, budget_minutes: float | None, spent_seconds: float,
                  reserved_seconds: float, min_distilled_share: float = 0.3) -> TrainingPlan:
    """Measure a training step on the folder's own texts and plan the student's two rounds to fit the budget.

    The student trains in two rounds: first on the labelled texts alone (``student-labelled``, never
    skipped, at least one step), then on the labelled texts plus the pseudo-labels it agrees with
    (``student-distilled``). When both do not fit, both are cut by the same share of their steps (the
    second round builds on the first: neither is starved for the other); when that share is under
    ``min_distilled_share``, the second round is skipped and the first gets what is left (it is then
    what is exported: a distillation cut to a stub would only add the teacher's noise). ``model`` is
    timed as it will train (frozen layers and all); its weights do not change. The time the
    measuring itself takes is counted as spent.

    Args:
        model: A student from :func:`build_student` (after :func:`freeze_lower_layers`).
        tokenizer: Its tokenizer.
        labelled_texts: The first round's texts.
        distil_texts: The second round's texts at most (labelled + all kept pseudo-labelled texts).
        config: The runs' settings: their wanted steps are :func:`planned_steps` of it.
        budget_minutes: The whole notebook's budget; None or <= 0: no budget.
        spent_seconds: Already spent (``record.elapsed()``).
        reserved_seconds: For the stages after training (:func:`reserve_seconds`).
        min_distilled_share: Smallest share of its wanted steps the second round is run with.
    """
    start = time.perf_counter()
    step = {"student-distilled": measure_step_seconds(
        model, _timing_batches(model, tokenizer, distil_texts, config))}
    step["student-labelled"] = measure_step_seconds(
        model, _timing_batches(model, tokenizer, labelled_texts, config, quantiles=(0.5,)), warmup=0)
    wanted = {"student-labelled": planned_steps(len(labelled_texts), config),
              "student-distilled": planned_steps(len(distil_texts), config)}
    budget = budget_minutes * 60 if budget_minutes and budget_minutes > 0 else None
    spent = spent_seconds + time.perf_counter() - start
    return plan_runs(wanted, step, budget, spent, reserved_seconds,
                     min_share={"student-distilled": min_distilled_share}, proportional=True)


def reserve_seconds(seconds_per_text: float, test_texts: int, gate_texts: int, variants: int,
                    calibration_texts: int = 0, relabel_texts: int = 0) -> float:
    """Time to keep for what follows training: three students scored on the test set (round 1, round
    2, their average), the export, and ``variants`` ONNX variants converted (~15 s each, measured
    with MiniLM-L6) and run with PyTorch on the gate and test texts, plus ``calibration_texts`` run
    through the graph for the static int8 variant (counted twice: calibration records every
    activation). ``seconds_per_text`` is a forward pass's cost per text, measured on the folder (the
    teacher's embedding stage); ONNX Runtime is faster than that, so this errs long.
    ``relabel_texts``: the pseudo-labelled texts the labelled-only student reads between the rounds."""
    evaluation = 3 * test_texts * seconds_per_text + relabel_texts * seconds_per_text
    gate = (variants + 1) * (gate_texts + test_texts) * seconds_per_text if variants else 0.0
    calibration = 2 * calibration_texts * seconds_per_text if variants else 0.0
    return round(10.0 + evaluation + gate + calibration + 15.0 * variants, 1)


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

        model, tokenizer, folder = load_export(path, StudentClassifier, unpack_to=unpack_to, backend=backend)
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
        model, tokenizer, _ = load_export(folder, StudentClassifier)
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
                               calibration_texts: Sequence[str] | None = None,
                               max_calibration: int | None = MAX_CALIBRATION_INPUTS) -> pd.DataFrame:
    """ONNX and int8 variants of a classifier export, gated on ``gate_texts`` and scored on a test set.

    A variant is recommended iff it predicts PyTorch's label on at least ``100 - max_drop`` % of
    ``gate_texts`` (texts that are not test texts, such as the task's unlabelled texts; no labels
    needed). Accuracy and macro-F1 on ``texts``/``labels`` (the test set) are reported beside it,
    for information. Without ``gate_texts`` nothing is decided (``recommended`` None).

    ``calibration_texts`` (the task's unlabelled texts; up to ``max_calibration`` are sampled, never a
    test text)
    calibrate the static int8 variant (``onnx-int8-static``); without them it is skipped.
    """
    adapter = variant_adapter(folder, texts, labels, max_length, gate_texts, gate_source, calibration_texts,
                              max_calibration=max_calibration)
    return export_variants(folder, adapter, max_drop, backends, tarball)

"""Serving without torch: run a classification or extractive QA export with ONNX Runtime.

For services and small containers. Predicting needs only ``onnxruntime``, ``tokenizers`` and
``numpy``; scoring a CSV adds ``pandas`` (imported when a CSV is scored). Neither torch nor
transformers is imported, here or in anything this module imports (an import-linter contract in
``pyproject.toml`` checks the import graph, and ``tests/test_serving.py`` checks ``sys.modules``)::

    from helpers.serving import load
    model = load("outputs/classification-training/model", backend="onnx-int8")  # folder, OUTPUT_DIR or .tar
    model.predict(["my card was declined twice today"])    # [{"label": ..., "confidence": ...}]
    qa = load("outputs/question-answering-training/model")  # backend="onnx" by default
    qa.answer(["Who founded Bosch?"], ["Robert Bosch founded it in 1886."])

The export is the one the training notebooks write with ``EXPORT_ONNX=True``: the tokenizer is
read from its ``tokenizer.json``, the labels from ``config.json``, the settings (``max_length``,
the QA windows, the yes/no answer) from ``export-info.json``, and the graph from
``<backend>/model.onnx``, checked against the weights it was made from exactly as the PyTorch
helpers check it. Everything between the tokenizer and the answers is the code the PyTorch path
runs (:mod:`helpers.core.prediction`: batches, softmax, QA windows, span decoding, the yes/no
decision), so the predictions are those of ``TextClassifier`` / ``QuestionAnswerer`` with the same
``backend``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers.core.errors import ExportError
from helpers.core.folders import locate_export, read_export_info, require_family
from helpers.core.graphs import (
    CLASSIFIER,
    ONNX,
    QUESTION_ANSWERING,
    VARIANTS,
    check_variant,
    open_session,
    session_metadata,
    variant_file,
)
from helpers.core.prediction import (
    MODEL_INPUTS,
    answer_windows,
    decide_answer,
    eval_features,
    length_sorted_batches,
    softmax,
)
from helpers.core.yes_no import yes_no_decider

__all__ = ["CLASSIFICATION", "QUESTION_ANSWERING_FAMILY", "QA_DEFAULTS", "ServingClassifier",
           "ServingQuestionAnswerer", "load", "load_tokenizer", "pad_batch"]

CLASSIFICATION, QUESTION_ANSWERING_FAMILY = "classification", "question-answering"
"""The families served, as their exports name themselves in ``export-info.json``."""
QA_DEFAULTS = {"max_length": 384, "stride": 128, "n_best": 20, "max_answer_length": 30,
               "max_question_length": 64, "batch_size": 16, "yes_no_answer": None, "yes_no_reader": None}
"""``QuestionAnswerer``'s defaults, for settings an export does not record (a test keeps them equal)."""
_OTHERWISE = ("or, where torch is installed, load the export with the PyTorch helpers "
              "(helpers.classification.TextClassifier, helpers.question_answering.QuestionAnswerer)")


def load_tokenizer(folder: str | Path):
    """The ``tokenizers.Tokenizer`` of an export (its ``tokenizer.json``), or an ExportError with the fix."""
    from tokenizers import Tokenizer

    path = Path(folder) / "tokenizer.json"
    if not path.is_file():
        raise ExportError(
            f"{Path(folder)} has no tokenizer.json ({path} is missing), which serving without torch "
            "reads the tokenizer from. Fix: re-run the training notebook's export step, which saves it for "
            "every fast tokenizer (or unpack the whole <name>-model.tar again), or copy tokenizer.json from "
            "the model the export was trained from into the folder."
        )
    return Tokenizer.from_file(str(path))


def _padding(folder: Path, tokenizer) -> tuple[int, int]:
    """``(pad id, pad type id)`` from ``tokenizer_config.json``, as transformers pads."""
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    pad = config.get("pad_token")
    pad = pad.get("content") if isinstance(pad, dict) else pad
    pad_id = tokenizer.token_to_id(pad) if pad else None
    return int(pad_id or 0), int(config.get("pad_token_type_id") or 0)


def pad_batch(batch: dict[str, Sequence[Sequence[int]]], names: Sequence[str], pad_id: int = 0,
              pad_type_id: int = 0) -> dict[str, np.ndarray]:
    """Token id lists padded at the end to the longest, as int64 arrays for the graph's ``names``.

    ``attention_mask`` is 1 on tokens and 0 on padding; ``token_type_ids`` is padded with
    ``pad_type_id``, or all zeros when the batch has none (as ``OnnxModel`` feeds it).
    """
    rows = batch["input_ids"]
    width = max((len(r) for r in rows), default=0)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    types = np.full((len(rows), width), pad_type_id if "token_type_ids" in batch else 0, dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = batch["attention_mask"][i] if "attention_mask" in batch else 1
        if "token_type_ids" in batch:
            types[i, : len(row)] = batch["token_type_ids"][i]
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {n: arrays[n] for n in names}


class _Graph:
    """A checked ONNX Runtime session of an export's variant, fed padded token ids."""

    def __init__(self, folder: Path, backend: str, kind: str, threads: int | None = None):
        if backend not in VARIANTS:
            raise ValueError(f"Unknown backend {backend!r} for serving without torch. Fix: use one of "
                             f"{', '.join(VARIANTS)} (the pytorch backend needs torch).")
        self.path = variant_file(folder, backend, _OTHERWISE)
        self.session = open_session(self.path, threads, memory_pattern=False)  # flat memory over a CSV
        self.meta = check_variant(self.path, folder, kind, session_metadata(self.session), _OTHERWISE)
        self.names = [i.name for i in self.session.get_inputs()]
        self.backend = backend

    def run(self, batch: dict, pad: tuple[int, int]) -> list[np.ndarray]:
        return self.session.run(None, pad_batch(batch, self.names, *pad))


class ServingClassifier:
    """A classification export's ONNX variant: labels and probabilities, one text, batches or a CSV.

    Texts are tokenised as ``TextClassifier`` tokenises them (special tokens, truncation at the
    export's ``max_length``) and run in length-sorted batches of ``batch_size`` padded to their
    longest text, so the probabilities are those of ``TextClassifier.from_export(..., backend=...)``.
    """

    KIND = "classifier"

    def __init__(self, folder: str | Path, backend: str = ONNX, batch_size: int = 32,
                 threads: int | None = None, max_length: int | None = None):
        self.folder = Path(folder)
        info = require_family(self.folder, CLASSIFICATION, "classification-training.ipynb")
        self.graph = _Graph(self.folder, backend, CLASSIFIER, threads)
        self.tokenizer = load_tokenizer(self.folder)
        self.pad = _padding(self.folder, self.tokenizer)
        id2label = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))["id2label"]
        self.labels = [id2label[str(i)] for i in range(len(id2label))]
        self.max_length = int(max_length or info.get("max_length") or 256)
        self.batch_size = batch_size

    @classmethod
    def from_export(cls, path: str | Path, backend: str = ONNX, unpack_to: str | Path | None = None,
                    **kwargs) -> ServingClassifier:
        """Load an export folder, its ``OUTPUT_DIR`` or a ``<name>-model.tar`` (into ``unpack_to``)."""
        return cls(locate_export(path, unpack_to), backend, **kwargs)

    def _encode(self, texts: Sequence[str]) -> dict[str, list]:
        backend = self.tokenizer
        backend.enable_truncation(self.max_length, stride=0, strategy="longest_first", direction="right")
        backend.no_padding()
        encodings = backend.encode_batch(list(texts), add_special_tokens=True)
        return {"input_ids": [e.ids for e in encodings], "token_type_ids": [e.type_ids for e in encodings],
                "attention_mask": [e.attention_mask for e in encodings]}

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, one row per text, one column per label (in :attr:`labels` order)."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for idx in length_sorted_batches(texts, self.batch_size):
            logits = self.graph.run(self._encode([texts[i] for i in idx]), self.pad)[0]
            out[idx] = softmax(logits.astype(np.float32))
        return out

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """``{"label", "confidence"}`` for each text (the most probable label and its probability)."""
        probs = self.predict_proba(texts)
        return [{"label": self.labels[int(i)], "confidence": float(p[i])}
                for i, p in zip(probs.argmax(1), probs, strict=True)]

    def predict_one(self, text: str) -> list[dict]:
        """Every label with its probability for one text, most probable first."""
        probs = self.predict_proba([text])[0]
        return [{"label": self.labels[i], "probability": float(probs[i])}
                for i in np.argsort(-probs, kind="stable")]

    def score_csv(self, input_csv: str | Path, output_csv: str | Path, text_column: str = "question",
                  chunk_size: int = 1000, n_review: int = 10, progress: bool = True) -> dict:
        """Add ``predicted_label`` and ``confidence`` to a CSV of any size, chunk by chunk (needs pandas).

        As ``TextClassifier.score_csv`` (:func:`helpers.core.streaming.stream_csv`: every column kept,
        the output renamed into place when complete), with the summary as a dict: ``output_csv``,
        ``rows``, ``seconds``, ``label_counts`` (most frequent first), ``mean_confidence`` and
        ``review``, the ``n_review`` least confident rows.

        Raises:
            TaskDataError: the text column is missing (the message lists the columns there are),
                or the file has no rows.
        """
        from helpers.core.streaming import StreamedCsv

        def score(chunk):
            pred = self.predict(chunk[text_column].tolist())
            return chunk.assign(predicted_label=[p["label"] for p in pred],
                                confidence=[p["confidence"] for p in pred])

        run = StreamedCsv(input_csv, output_csv, score, [text_column], chunk_size, progress)
        counts: Counter = Counter()
        confidence_sum, review = 0.0, None
        for chunk in run:
            confidence_sum += float(chunk["confidence"].sum())
            counts.update(chunk["predicted_label"].tolist())
            low = chunk.nsmallest(n_review, "confidence")
            review = low if review is None else _smallest(review, low, n_review)
        return {"output_csv": run.output_csv, "rows": run.rows, "seconds": run.seconds,
                "label_counts": dict(counts.most_common()), "mean_confidence": confidence_sum / run.rows,
                "review": review.reset_index(drop=True)}


def _smallest(review, low, n: int):
    """The ``n`` least confident rows of two frames."""
    import pandas as pd

    return pd.concat([review, low]).nsmallest(n, "confidence")


class ServingQuestionAnswerer:
    """An extractive QA export's ONNX variant: answers, one question, batches or a CSV.

    The windows (question and context, the context alone truncated, ``stride`` tokens shared),
    the batches of ``batch_size`` windows, the span decoding and the yes/no answer are
    ``QuestionAnswerer``'s own code (:mod:`helpers.core.prediction`), with the export's settings,
    so the answers are those of ``QuestionAnswerer.from_export(..., backend=...)``.
    """

    KIND = "extractive"
    """As ``QuestionAnswerer.KIND``: it answers with spans of the context."""

    def __init__(self, folder: str | Path, backend: str = ONNX, threads: int | None = None, **overrides):
        self.folder = Path(folder)
        info = require_family(self.folder, QUESTION_ANSWERING_FAMILY, "question-answering-training.ipynb")
        unknown = sorted(set(overrides) - set(QA_DEFAULTS))
        if unknown:
            raise ValueError(f"Unknown QA settings {unknown}. Fix: use only {', '.join(QA_DEFAULTS)}.")
        settings = {**QA_DEFAULTS, **info.get("qa_settings", {}), **overrides}
        self.yes_no_answer = settings.pop("yes_no_answer")
        self.yes_no = yes_no_decider(self.yes_no_answer, settings.pop("yes_no_reader"))
        self.settings = settings
        self.graph = _Graph(self.folder, backend, QUESTION_ANSWERING, threads)
        self.tokenizer = load_tokenizer(self.folder)
        self.pad = _padding(self.folder, self.tokenizer)

    @classmethod
    def from_export(cls, path: str | Path, backend: str = ONNX, unpack_to: str | Path | None = None,
                    **kwargs) -> ServingQuestionAnswerer:
        """Load an export folder, its ``OUTPUT_DIR`` or a ``<name>-model.tar`` (into ``unpack_to``)."""
        return cls(locate_export(path, unpack_to), backend, **kwargs)

    def answer(self, questions: Sequence[str], contexts: Sequence[str], top_k: int = 1) -> list[dict]:
        """One dict per question, as ``QuestionAnswerer.answer``: ``answer``, ``score``, ``probability``,
        ``start``, ``end``, ``candidates``, ``skipped`` and ``kind`` (``span``, ``yes/no``, ``skipped``)."""
        s = self.settings
        names = [n for n in MODEL_INPUTS if n in self.graph.names]
        features, stats = eval_features(self.tokenizer, names, list(questions), list(contexts),
                                        s["max_length"], s["stride"], s["max_question_length"])

        def run(batch: dict) -> tuple[np.ndarray, np.ndarray]:
            start, end = self.graph.run(batch, self.pad)[:2]
            return start, end

        out = answer_windows(features, stats, contexts, run, s["batch_size"], s["n_best"],
                             s["max_answer_length"], top_k)
        return [decide_answer(q, r, self.yes_no, c) for q, r, c in zip(questions, out, contexts, strict=True)]

    def answer_one(self, question: str, context: str, top_k: int = 5) -> list[dict]:
        """The ``top_k`` answers for one question (``answer``, ``probability``, ``score``, ``start``,
        ``end``); a yes/no or skipped question gets one entry with its ``kind``."""
        result = self.answer([question], [context], top_k=top_k)[0]
        if result["kind"] == "yes/no":
            return [{"answer": result["answer"], "kind": "yes/no"}]
        if result["kind"] == "skipped":
            return [{"answer": "", "kind": "skipped", "problem": result["skipped"]}]
        return result["candidates"]

    def answer_csv(self, input_csv: str | Path, output_csv: str | Path, chunk_size: int = 500,
                   progress: bool = True, n_preview: int = 10) -> dict:
        """Answer a CSV (``question`` and ``context`` columns) chunk by chunk into a new CSV (needs pandas).

        Adds ``predicted``, ``kind``, ``probability`` and ``problem``, as ``QuestionAnswerer.answer_csv``.
        Returns ``{"output_csv", "rows", "seconds", "preview", "skipped"}`` (no gold scores: those
        need the metrics of the PyTorch side).
        """
        from helpers.core.streaming import StreamedCsv

        def score(chunk):
            out = self.answer(chunk["question"].tolist(), chunk["context"].tolist())
            return chunk.assign(predicted=[a["answer"] for a in out], kind=[a["kind"] for a in out],
                                probability=[round(a["probability"], 4) for a in out],
                                problem=[a["skipped"] or "" for a in out])

        run = StreamedCsv(input_csv, output_csv, score, ["question", "context"], chunk_size, progress,
                          n_preview)
        skipped = {}
        for chunk in run:
            skipped |= {int(i) + 1: p for i, p in chunk["problem"].items() if p}
        return run.summary(skipped=skipped)


def load(path: str | Path, backend: str = ONNX, unpack_to: str | Path | None = None, **kwargs):
    """The export at ``path`` (folder, ``OUTPUT_DIR`` or tarball) as a :class:`ServingClassifier` or a
    :class:`ServingQuestionAnswerer`, by the family its ``export-info.json`` names."""
    start = time.perf_counter()
    folder = locate_export(path, unpack_to)
    family = read_export_info(folder).get("family")
    served = {CLASSIFICATION: ServingClassifier, QUESTION_ANSWERING_FAMILY: ServingQuestionAnswerer}
    if family not in served:
        raise ExportError(
            f"{folder} is an export of the {family or 'unnamed'} family; serving without torch runs "
            f"{' and '.join(served)} exports. Fix: point at the OUTPUT_DIR (or model folder, or tarball) of "
            "classification-training.ipynb or question-answering-training.ipynb, or use "
            "ServingClassifier / ServingQuestionAnswerer directly for an export written before the family "
            "was recorded."
        )
    model = served[family](folder, backend, **kwargs)
    model.load_seconds = time.perf_counter() - start
    return model

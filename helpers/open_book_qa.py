"""Open-book question answering over a whole collection: retrieve passages, then read them.

A :class:`helpers.context_relevance.Retriever` finds the ``top_k`` passages most similar to the
question; the best ``read_top`` of them, joined in rank order, are the context a reader
answers from. The reader is an export of either QA family:

* extractive (``question-answering-training.ipynb``): it points at a span of the joined
  passages, so the passage the answer comes from is known exactly;
* generative (``generative-qa-training.ipynb``): it writes the answer; its source is the
  first read passage that contains it (none when the answer is not in the passages).

Each answer carries its source passage and the time spent retrieving and reading.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from helpers import generative_qa, question_answering
from helpers.context_relevance import contains_answer, gold_sets
from helpers.core.evaluation import Evaluation
from helpers.core.export import ExportError, locate_export, read_export_info
from helpers.core.metrics import exact_match, token_f1
from helpers.core.streaming import StreamedCsv
from helpers.core.tasks import gold_answers
from helpers.generative_qa import GenerativeAnswerer
from helpers.question_answering import QuestionAnswerer

__all__ = [
    "EXTRACTIVE", "GENERATIVE", "READERS", "SEPARATOR", "reader_kind", "load_reader", "reader_backend",
    "OpenBookAnswer", "OpenBookQA", "evaluate_open_book", "latency_split"
]

EXTRACTIVE, GENERATIVE = QuestionAnswerer.KIND, GenerativeAnswerer.KIND
READERS = {question_answering.FAMILY: (EXTRACTIVE, question_answering.SETTINGS_KEY),
           generative_qa.FAMILY: (GENERATIVE, generative_qa.SETTINGS_KEY)}
"""The families whose exports can read: their reader kind and the settings their exports carry."""
SEPARATOR = "\n\n"
"""What joins the read passages into one context."""


def reader_kind(path, unpack_to=None) -> tuple[str, Path]:
    """``("extractive" | "generative", folder)`` of a QA export, from its ``export-info.json``.

    Raises:
        ExportError: If the folder is not an export of one of the two QA training notebooks
            (a classifier, a retriever, a bare model folder), naming what it found and the fix.
    """
    try:
        folder = locate_export(path, unpack_to)
    except ExportError as err:
        # A folder of another family (a retriever has no config.json) is named as such.
        family = read_export_info(path).get("family") if Path(path).is_dir() else None
        if family:
            raise ExportError(_wrong_kind(path, family)) from err
        raise ExportError(f"READER_DIR: {err}") from err
    info = read_export_info(folder)
    for family, (kind, settings_key) in READERS.items():
        # Exports written before they named their family are known by their settings.
        if info.get("family") == family or ("family" not in info and settings_key in info):
            return kind, folder
    raise ExportError(_wrong_kind(folder, info.get("family") or "unknown (no export-info.json)"))


def _wrong_kind(folder, family: str) -> str:
    return (f"READER_DIR {folder} is not a question-answering export (its family is {family}). Fix: "
            "point READER_DIR at the OUTPUT_DIR (or model/ folder, or tarball) of "
            "question-answering-training.ipynb or generative-qa-training.ipynb.")


def load_reader(path, unpack_to=None, backend: str = "pytorch"):
    """Load a QA export as a reader: ``(kind, QuestionAnswerer | GenerativeAnswerer)``.

    ``backend`` applies to an extractive reader (see :mod:`helpers.core.onnx`); a generative
    reader has no ONNX export and always runs in PyTorch (:func:`reader_backend` says which ran).
    """
    kind, folder = reader_kind(path, unpack_to)
    if kind == GENERATIVE:
        return kind, GenerativeAnswerer.from_export(folder)
    return kind, QuestionAnswerer.from_export(folder, backend=backend)


def reader_backend(kind: str, backend: str) -> str:
    """The backend a reader of ``kind`` runs in when ``backend`` was asked for."""
    return backend if kind == EXTRACTIVE else "pytorch"


@dataclass
class OpenBookAnswer:
    """One answer and where it came from.

    Attributes:
        question: The question.
        answer: The reader's answer (``""`` when it found none).
        source_id: Collection id of the passage the answer comes from (-1: none of the read
            passages holds it, e.g. a generated "yes").
        source_passage: That passage's text (``""`` when ``source_id`` is -1).
        passages: The retrieved ``(passage, score, id)``, best first.
        retrieval_ms: Time to embed the question and search the index.
        reading_ms: Time the reader took.
    """

    question: str
    answer: str
    source_id: int
    source_passage: str
    passages: list = field(default_factory=list)
    retrieval_ms: float = 0.0
    reading_ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def _source_of_span(passages: Sequence[tuple], start: int) -> int:
    """Index (into ``passages``) of the read passage holding character ``start`` of the joined context."""
    offset = 0
    for i, (text, _, _) in enumerate(passages):
        if offset <= start < offset + len(text):
            return i
        offset += len(text) + len(SEPARATOR)
    return -1


class OpenBookQA:
    """Question in, answer out, over every passage of a retriever's collection.

    Args:
        retriever: A :class:`helpers.context_relevance.Retriever`.
        reader: A :class:`helpers.question_answering.QuestionAnswerer` or a
            :class:`helpers.generative_qa.GenerativeAnswerer`: anything with a ``KIND`` and a
            ``read(questions, contexts)`` that answers a batch with ``answer``, ``kind`` and ``start``.
        top_k: Passages retrieved (and reported) per question.
        read_top: The best of them joined into the reader's context (at most ``top_k``).
    """

    def __init__(self, retriever, reader, top_k: int = 5, read_top: int = 2):
        if not 1 <= read_top <= top_k:
            raise ValueError(f"READ_TOP must be between 1 and TOP_K={top_k}, got {read_top}")
        if top_k > len(retriever):
            raise ValueError(f"TOP_K={top_k} but the collection holds {len(retriever)} passages. "
                             f"Fix: set TOP_K to at most {len(retriever)}.")
        self.retriever, self.reader = retriever, reader
        self.kind = reader.KIND
        self.top_k, self.read_top = top_k, read_top

    def _read(self, questions: list[str], retrieved: list[list[tuple]]) -> list[tuple[str, int]]:

        contexts = [SEPARATOR.join(p[0] for p in hits[:self.read_top]) for hits in retrieved]
        out = []
        for r, hits in zip(self.reader.read(questions, contexts), retrieved, strict=True):
            read = hits[:self.read_top]
            if r["kind"] == "span" and r["start"] >= 0:  # a pointer into the joined passages
                i = _source_of_span(read, r["start"])
            elif r["kind"] == "generated":  # free text: the first read passage that holds it
                i = next((i for i, p in enumerate(read) if contains_answer(p[0], r["answer"])), -1)
            else:  # no answer, or a yes/no answer that no passage spells out
                i = -1
            out.append((r["answer"], i))
        return out

    def answer_many(self, questions: Sequence[str]) -> list[OpenBookAnswer]:
        """Answers to many questions (retrieval batched, then reading batched).

        ``retrieval_ms`` and ``reading_ms`` are each batch stage's time divided by the number
        of questions.
        """
        questions = [str(q) for q in questions]
        if not questions:
            return []
        start = time.perf_counter()
        retrieved = self.retriever.retrieve_many(questions, self.top_k)
        retrieval = (time.perf_counter() - start) * 1000 / len(questions)
        start = time.perf_counter()
        read = self._read(questions, retrieved)
        reading = (time.perf_counter() - start) * 1000 / len(questions)
        return [OpenBookAnswer(q, a, hits[i][2] if i >= 0 else -1, hits[i][0] if i >= 0 else "", hits,
                               retrieval, reading)
                for q, (a, i), hits in zip(questions, read, retrieved, strict=True)]

    def answer_csv(self, input_csv, output_csv, chunk_size: int = 200, progress: bool = True,
                   n_preview: int = 10) -> dict:
        """Answer a CSV of questions of any size (a ``question`` column) into a new CSV, chunk by chunk.

        Adds ``predicted``, ``source_id`` and ``source_passage`` to every row and keeps the other
        columns (see :func:`helpers.core.streaming.stream_csv`).

        Returns:
            ``{"output_csv", "rows", "seconds", "preview"}`` (``preview``: the first rows).
        """

        def score(chunk: pd.DataFrame) -> pd.DataFrame:
            answers = self.answer_many(chunk["question"].tolist())
            return chunk.assign(predicted=[a.answer for a in answers],
                                source_id=[a.source_id for a in answers],
                                source_passage=[a.source_passage for a in answers])

        run = StreamedCsv(input_csv, output_csv, score, ["question"], chunk_size, progress, n_preview)
        for _ in run:
            pass
        return run.summary()

    def answer(self, question: str) -> OpenBookAnswer:
        """The answer to one question, its source passage, the retrieved passages and the timings.

        Raises:
            RetrievalInputError: an empty question.
        """
        return self.answer_many([question])[0]


def evaluate_open_book(system: OpenBookQA, frame: pd.DataFrame, gold_ids: Sequence) -> Evaluation:
    """Answer every question of ``frame`` and score the whole pipeline.

    Args:
        system: The retriever and reader.
        frame: ``question`` and ``answer`` columns (and ``other_answers``: every gold answer counts,
            the best match is kept).
        gold_ids: Per question, its gold passage ids (``Collection.test["gold_ids"]``).

    Returns:
        An :class:`~helpers.core.evaluation.Evaluation` whose ``scores`` are the SQuAD EM/F1 of the
        answers (percent) and the share (percent) of questions with a gold passage among the
        ``top_k`` retrieved (``gold_retrieved``) and among the ``read_top`` read (``gold_read``).
    """

    answers = system.answer_many(frame["question"].tolist())
    golds = gold_sets(gold_ids)
    rows = []
    for a, answers_ok, g in zip(answers, gold_answers(frame), golds, strict=True):
        ids = [p[2] for p in a.passages]
        rows.append({"question": a.question, "answer": answers_ok[0], "prediction": a.answer,
                     "exact_match": 100.0 * max(exact_match(a.answer, x) for x in answers_ok),
                     "f1": 100.0 * max(token_f1(a.answer, x) for x in answers_ok),
                     "gold_retrieved": any(i in g for i in ids),
                     "gold_read": any(i in g for i in ids[:system.read_top]),
                     "source_id": a.source_id, "top_id": ids[0]})
    table = pd.DataFrame(rows)
    scores = {"exact_match": float(table["exact_match"].mean()), "f1": float(table["f1"].mean()),
              "gold_retrieved": 100.0 * float(table["gold_retrieved"].mean()),
              "gold_read": 100.0 * float(table["gold_read"].mean())}
    return Evaluation(scores=scores, predictions=table)


def latency_split(system: OpenBookQA, questions: Sequence[str]) -> dict:
    """Per-question latency, one question at a time: retrieval, reading and total (p50/p95 ms)."""
    import numpy as np

    questions = list(questions)
    if not questions:
        raise ValueError("No questions to time.")
    system.answer(questions[0])  # warm-up
    runs = [system.answer(q) for q in questions]
    out = {"n": len(runs)}
    for name, values in (("retrieval", [r.retrieval_ms for r in runs]),
                         ("reading", [r.reading_ms for r in runs]),
                         ("total", [r.retrieval_ms + r.reading_ms for r in runs])):
        out[f"{name}_ms_p50"] = float(np.percentile(values, 50))
        out[f"{name}_ms_p95"] = float(np.percentile(values, 95))
    return out

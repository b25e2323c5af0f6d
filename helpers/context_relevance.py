"""Dense retrieval over a QA task's documents: collection, faiss index, mined negatives,
bi-encoder fine-tuning with sentence-transformers, evaluation and export.

The pieces, in the order a notebook uses them:

* :func:`build_collection`: the passages to search (``unstructured.csv`` plus every train and
  test context, so each gold context can be retrieved), merged when repeated, with the passage
  id of each question's gold context.
* :func:`embed_texts` and :class:`VectorIndex`: normalised float32 embeddings in an exact
  (flat) faiss index; inner product, i.e. cosine similarity, for search.
* :func:`mine_negatives`: per (question, positive passage) an *easy* negative (the passage
  farthest from the positive in L2 distance) and a *hard* one (the nearest passage that is not
  the positive and does not contain the answer), found exactly with ``faiss.IndexFlatL2``.
* :func:`train_bi_encoder`: ``MultipleNegativesRankingLoss`` (in-batch negatives plus the mined
  ones) with ``SentenceTransformerTrainer``, on CPU.
* :func:`retrieval_metrics` and :func:`evaluate_retriever`: recall@k and MRR@k.
* :func:`export_context_relevance` and :func:`load_retriever`: the encoder and the index of the
  collection in one folder, loaded back as a :class:`Retriever`.

Every result that has ties is made deterministic: equal scores or distances go to the lowest
passage id.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import onnx
from helpers.core.evaluation import Evaluation
from helpers.core.export import ExportError, ExportPaths, unpack_tarball, write_tarball, write_training_logs
from helpers.core.files import apply_umask
from helpers.core.metrics import ranking_agreement
from helpers.core.models import describe_failure, resolve_model
from helpers.core.onnx import ENCODER
from helpers.core.text import YES_NO, split_paragraphs, split_sentences
from helpers.core.training import ProgressPrinter, TrainConfig, planned_steps, trainer_settings
from helpers.core.variants import (
    DEFAULT_MAX_DROP,
    VariantAdapter,
    export_variants,
    outside_test,
    points,
)

__all__ = [
    "NEGATIVE_KINDS", "INDEX_FILES", "FAMILY", "ENCODER_DIR", "RETRIEVER_DIR", "RetrievalInputError",
    "Collection", "training_pairs", "negative_candidates", "split_passages", "build_collection",
    "normalize_rows", "embed_texts", "VectorIndex", "contains_answer", "mine_negatives", "training_frame",
    "gold_passages", "gold_sets", "gold_ranks", "retrieval_metrics", "evaluate_retriever",
    "load_sentence_transformer", "train_bi_encoder", "Retriever", "export_context_relevance",
    "locate_retriever", "load_retriever", "variant_adapter", "export_retriever_variants"
]

NEGATIVE_KINDS = ("easy", "hard", "both", "none")
INDEX_FILES = ("index.faiss", "passages.json", "index-info.json")
FAMILY = "context-relevance"
"""The family's name: its notebook is ``context-relevance-training.ipynb``; its exports say so."""
ENCODER_DIR = "encoder"
RETRIEVER_DIR = "retriever"


class RetrievalInputError(ValueError):
    """Inputs that retrieval cannot use as they are; the message says where and how to fix them."""


# ---------------------------------------------------------------------------------------
# The collection of passages
# ---------------------------------------------------------------------------------------


@dataclass
class Collection:
    """The passages a retriever searches, and which of them answer each question.

    Documents (``unstructured.csv`` rows, then train and test contexts not seen before) are
    merged when repeated and cut into passages (:func:`split_passages`); a question's gold
    passages are the passages of its own context that contain its answer, or all of that
    context's passages when none does (a yes/no answer, or an answer the cut split).

    Attributes:
        texts: The passages, document by document in the order above.
        sources: For each passage, the file its document was first seen in (``unstructured``,
            ``train`` or ``test``).
        doc_ids: For each passage, the index of its document.
        documents: The documents, merged, before cutting.
        train: The train rows (``question``, ``answer``, ``context``) with ``doc_id``,
            ``gold_ids`` (a tuple of passage ids) and ``gold_id`` (the first of them: the
            positive a ranking loss trains on).
        test: The same for the test rows.
        counts: Rows read, documents and passages kept, repeats merged (see :meth:`report`).
    """

    texts: list[str]
    sources: list[str]
    doc_ids: list[int]
    train: pd.DataFrame
    test: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    documents: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def duplicates_removed(self) -> int:
        """Rows of ``unstructured.csv`` that repeat an earlier document and were merged into it."""
        return self.counts.get("unstructured_duplicates", 0)

    def with_gold(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (``question``, ``answer``, ``context``) with ``doc_id``, ``gold_ids`` and
        ``gold_id`` added, for contexts that are documents of the collection (e.g. synthetic
        questions written from ``unstructured.csv``).

        Raises:
            RetrievalInputError: a context that is not one of the collection's documents.
        """
        keys = {_text_key(d): i for i, d in reversed(list(enumerate(self.documents)))}
        passages: dict[int, list[int]] = {}
        for pid, d in enumerate(self.doc_ids):
            passages.setdefault(d, []).append(pid)
        docs, golds = [], []
        for row, (answer, context) in enumerate(zip(frame["answer"], frame["context"], strict=True)):
            d = keys.get(_text_key(context))
            if d is None:
                raise RetrievalInputError(
                    f"Row {row + 1}: its context is not a document of the collection. Fix: build the "
                    "collection from the task that holds it (build_collection adds train and test contexts)."
                )
            holding = tuple(i for i in passages[d] if contains_answer(self.texts[i], answer))
            docs.append(d)
            golds.append(holding or tuple(passages[d]))
        return frame.reset_index(drop=True).assign(
            doc_id=np.asarray(docs, dtype=np.int64), gold_ids=golds,
            gold_id=np.asarray([g[0] for g in golds], dtype=np.int64))

    def passages_of(self, doc_ids) -> np.ndarray:
        """Passage ids of the given documents (e.g. those of the training contexts)."""
        return np.flatnonzero(np.isin(np.asarray(self.doc_ids), np.asarray(list(doc_ids))))

    def report(self) -> str:
        """One paragraph on what the collection holds and what was merged."""
        c = self.counts
        return (
            f"{c['documents']} documents: {c['from_unstructured']} from unstructured.csv "
            f"({c['unstructured_rows']} rows, {c['unstructured_duplicates']} repeated rows merged), "
            f"{c['added_from_train']} train and {c['added_from_test']} test contexts not in it added "
            f"({c['train_rows']} train and {c['test_rows']} test questions; "
            f"{c['labelled_contexts_found']} of their contexts were already in the collection). "
            f"Cut into {c['passages']} passages of at most {c['passage_words'] or 'all'} words. "
            f"{c['answers_in_one_passage']} of the labelled questions have their answer in a passage; "
            "the others (yes/no, or an answer split by a cut) count every passage of their context as gold."
        )


def training_pairs(collection: Collection, synthetic: pd.DataFrame | None = None) -> pd.DataFrame:
    """The (question, gold passage) pairs to train on: the labelled train questions, then the
    synthetic ones (written from the collection's documents), with a ``source`` column.

    Synthetic comparison and bridge questions ("Who was born first, A or B?", "Where was the
    director of Isle of Larks born?") are left out: they need both of their passages, so neither can
    be the gold with the other among the negatives."""
    frames = [collection.train.assign(source="labelled")]
    if synthetic is not None and "kind" in synthetic:
        synthetic = synthetic[~synthetic["kind"].isin(["comparison", "bridge"])]
    if synthetic is not None and len(synthetic):
        located = collection.with_gold(synthetic[["question", "answer", "context"]])
        frames.append(located.assign(source="synthetic"))
    return pd.concat(frames, ignore_index=True)


def negative_candidates(collection: Collection) -> np.ndarray:
    """Passage ids that may serve as training negatives: all but those of test-only documents,
    so that no test passage is seen in training."""
    test_only = set(collection.test["doc_id"]) - set(collection.train["doc_id"])
    return np.flatnonzero(~np.isin(np.asarray(collection.doc_ids), list(test_only)))


def split_passages(text: str, max_words: int | None) -> list[tuple[int, int]]:
    """Character spans that cut a document into passages of at most ``max_words`` words.

    Passages never cross a paragraph (blocks between blank lines, titles on their own lines or
    ``Title: text``, as :func:`helpers.core.text.split_paragraphs` finds them) and end at sentence ends: whole
    sentences are packed into a passage while they fit. A single sentence longer than
    ``max_words`` is a passage of its own, never cut mid-sentence. The spans cover the text
    (titles included) but leave out white space between passages.

    Args:
        text: One document.
        max_words: Word budget per passage; ``None`` keeps the document whole.

    Returns:
        ``(start, end)`` pairs in order; ``text[start:end]`` is the passage.
    """

    def trimmed(a: int, b: int) -> tuple[int, int]:
        piece = text[a:b]
        return a + len(piece) - len(piece.lstrip()), a + len(piece.rstrip())

    if not text.strip():
        return []
    if max_words is None:
        return [trimmed(0, len(text))]
    if max_words < 1:
        raise ValueError(f"PASSAGE_WORDS must be >= 1 or None, got {max_words}")
    spans = []
    for start, end in [(para.title_start, para.end) for para in split_paragraphs(text)]:
        # Units: sentences, each extended back to cover what precedes it (a title, spaces).
        cuts = [a for a, _ in split_sentences(text[start:end])]
        bounds = sorted({0, *cuts[1:]}) + [end - start]
        units = [(start + a, start + b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        current, words = None, 0
        for a, b in units:
            n = len(text[a:b].split())
            if current is not None and words + n > max_words:
                spans.append(trimmed(*current))
                current, words = None, 0
            current = (current[0] if current else a, b)
            words += n
        if current is not None:
            spans.append(trimmed(*current))
    return [sp for sp in spans if sp[1] > sp[0]]


def _text_key(text: str) -> str:
    """Two passages are the same when they match after collapsing runs of white space."""
    return " ".join(str(text).split())


def _check_not_blank(values: pd.Series, where: str | Path, column: str) -> None:
    blank = values.astype(str).str.strip() == ""
    if blank.any():
        rows = (np.flatnonzero(blank.to_numpy()) + 1).tolist()
        shown = ", ".join(map(str, rows[:10])) + (" ..." if len(rows) > 10 else "")
        raise RetrievalInputError(
            f"{where}, row {rows[0]}: column {column!r} is empty or only white space "
            f"({len(rows)} such cell(s), rows {shown}; rows count from 1 after the header). "
            "Fix: fill the cell(s) or delete those rows."
        )


def build_collection(task, passage_words: int | None = 100) -> Collection:
    """The passages of a QA task (``load_task(..., kind="qa")``) and each question's gold passages.

    Args:
        task: A :class:`helpers.core.tasks.Task` of kind ``"qa"`` (frames ``train``, ``test`` with
            ``question``, ``answer``, ``context``; ``unstructured`` with ``context``).
        passage_words: Most words per passage (:func:`split_passages`); ``None`` keeps each
            document whole. 100 is the passage size of Karpukhin et al. 2020 (DPR); an encoder
            reads only its first ``max_seq_length`` tokens, so long documents must be cut.

    Returns:
        A :class:`Collection`. Repeated documents (the same text up to white space) are merged,
        never an error: the first occurrence is kept and the repeats counted.

    Raises:
        RetrievalInputError: an empty or all-blank context or question, naming file and row.
    """
    folder = Path(getattr(task, "data_dir", "."))
    frames = {"unstructured": task.unstructured, "train": task.train, "test": task.test}
    for name, frame in frames.items():
        needed = ("context",) if name == "unstructured" else ("question", "answer", "context")
        missing = [c for c in needed if c not in frame]
        if missing:
            raise RetrievalInputError(
                f"{folder / (name + '.csv')}: missing column(s) {missing}. Fix: load the task with "
                "load_task(DATA_DIR, kind='qa'); train.csv and test.csv need question, answer, "
                "context and unstructured.csv needs context."
            )
        for column in ("context", "question") if name != "unstructured" else ("context",):
            _check_not_blank(frame[column].reset_index(drop=True), folder / f"{name}.csv", column)

    documents: list[str] = []
    doc_sources: list[str] = []
    ids: dict[str, int] = {}
    counts = {"unstructured_rows": len(task.unstructured), "train_rows": len(task.train),
              "test_rows": len(task.test), "unstructured_duplicates": 0, "labelled_contexts_found": 0}

    def add(text: str, source: str) -> tuple[int, bool]:
        key = _text_key(text)
        if key in ids:
            return ids[key], False
        ids[key] = len(documents)
        documents.append(str(text))
        doc_sources.append(source)
        return ids[key], True

    for text in task.unstructured["context"]:
        if not add(text, "unstructured")[1]:
            counts["unstructured_duplicates"] += 1
    counts["from_unstructured"] = len(documents)
    for name in ("train", "test"):
        before = len(documents)
        for text in frames[name]["context"]:
            # A labelled context counts as found only when an earlier file (or row) holds it.
            counts["labelled_contexts_found"] += int(_text_key(text) in ids)
            add(text, name)
        counts[f"added_from_{name}"] = len(documents) - before

    texts, sources, doc_ids = [], [], []
    for d, (document, source) in enumerate(zip(documents, doc_sources, strict=True)):
        for start, end in split_passages(document, passage_words):
            texts.append(document[start:end])
            sources.append(source)
            doc_ids.append(d)

    collection = Collection(texts=texts, sources=sources, doc_ids=doc_ids, train=pd.DataFrame(),
                            test=pd.DataFrame(), counts=counts, documents=documents)
    for name in ("train", "test"):
        located = collection.with_gold(frames[name][["question", "answer", "context"]])
        pairs = zip(located.answer, located.gold_ids, strict=True)
        counts["answers_in_one_passage"] = counts.get("answers_in_one_passage", 0) + sum(
            any(contains_answer(texts[i], a) for i in g) for a, g in pairs)
        setattr(collection, name, located)
    counts |= {"documents": len(documents), "passages": len(texts), "passage_words": passage_words}
    return collection


# ---------------------------------------------------------------------------------------
# Embeddings and the faiss index
# ---------------------------------------------------------------------------------------


def _check_texts(texts: Sequence[str], what: str) -> list[str]:
    # A missing value (None, NaN from pandas) is blank, never the text "nan".
    texts = [t if isinstance(t, str) else "" if t is None or pd.isna(t) else str(t) for t in texts]
    for i, t in enumerate(texts):
        if not t.strip():
            raise RetrievalInputError(
                f"{what} {i} (counting from 0) is empty or only white space. Fix: remove it or give "
                "it some words (blank rows of a CSV read as empty strings)."
            )
    return texts


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as C-contiguous float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


def embed_texts(encoder, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """Unit-length float32 embeddings of ``texts``, shape ``(len(texts), dimension)``.

    Args:
        encoder: A ``SentenceTransformer`` or a :class:`helpers.core.embeddings.SentenceEncoder`
            (or anything with ``encode(list_of_texts) -> array``).
        texts: The texts; none may be blank.
        batch_size: Texts per forward pass (``SentenceTransformer`` only).
    """
    texts = _check_texts(texts, "Text")
    if _is_sentence_transformer(encoder):
        if not texts:
            return np.zeros((0, encoder.get_embedding_dimension()), dtype=np.float32)
        emb = encoder.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                             normalize_embeddings=True, show_progress_bar=False)
    else:
        emb = encoder.encode(texts)
    emb = np.asarray(emb, dtype=np.float32)
    return normalize_rows(emb.reshape(1, -1) if emb.ndim == 1 else emb)


def _is_sentence_transformer(obj) -> bool:
    # Never import sentence-transformers just to ask: if it is not imported yet, ``obj`` cannot be
    # one of its models (an ONNX encoder would otherwise pay a 2-second import on its first query).
    module = sys.modules.get("sentence_transformers")
    return module is not None and isinstance(obj, module.SentenceTransformer)


class VectorIndex:
    """An exact (flat) faiss index over passage embeddings, with the passages themselves.

    Args:
        embeddings: ``(n, dimension)`` embeddings, one row per passage (made float32).
        texts: The ``n`` passages.
        encoder: Name of the encoder that made the embeddings (kept in ``index-info.json``).
        metric: ``"ip"`` (inner product: cosine similarity on unit vectors; for search) or
            ``"l2"`` (squared Euclidean distance).
    """

    def __init__(self, embeddings: np.ndarray, texts: Sequence[str], encoder: str = "",
                 metric: str = "ip"):
        import faiss

        embeddings = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32))
        if embeddings.ndim != 2 or embeddings.shape[0] == 0:
            raise RetrievalInputError(
                f"An index needs a 2-D array with one row per passage, got shape {embeddings.shape}. "
                "Fix: embed at least one passage (embed_texts)."
            )
        if len(texts) != embeddings.shape[0]:
            raise RetrievalInputError(
                f"{len(texts)} passages but {embeddings.shape[0]} embeddings. Fix: embed exactly "
                "the passages given."
            )
        if metric not in ("ip", "l2"):
            raise ValueError(f"metric must be 'ip' or 'l2', not {metric!r}")
        self.texts = list(texts)
        self.encoder = str(encoder)
        self.metric = metric
        self.dimension = int(embeddings.shape[1])
        flat = faiss.IndexFlatIP if metric == "ip" else faiss.IndexFlatL2
        self.index = flat(self.dimension)
        self.index.add(embeddings)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, query_embeddings: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best passages for each query.

        Args:
            query_embeddings: ``(m, dimension)`` (or one ``(dimension,)`` vector).
            k: Passages per query, at most the collection size.

        Returns:
            ``(scores, ids)``, both ``(m, k)``: best first (highest inner product, or smallest
            squared L2 distance), equal scores in increasing id order.

        Raises:
            RetrievalInputError: ``k`` out of range or a dimension that does not match.
        """
        queries = np.atleast_2d(np.asarray(query_embeddings, dtype=np.float32))
        if queries.ndim != 2 or queries.shape[1] != self.dimension:
            raise RetrievalInputError(
                f"Query embeddings have shape {queries.shape}; this index holds {self.dimension}-"
                f"dimensional vectors (encoder {self.encoder or 'unknown'}). Fix: embed the queries "
                "with the encoder that built the index."
            )
        if not 1 <= k <= len(self):
            raise RetrievalInputError(
                f"k={k} but the collection holds {len(self)} passage(s). Fix: ask for k between 1 "
                f"and {len(self)}, or add passages to the collection."
            )
        scores, ids = self.index.search(np.ascontiguousarray(queries), int(k))
        key = -scores if self.metric == "ip" else scores
        # faiss's order within equal scores is unspecified; make it lowest id first.
        order = np.lexsort((ids, key), axis=1)
        return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1).astype(np.int64)

    def save(self, folder: str | Path) -> Path:
        """Write ``index.faiss``, ``passages.json`` and ``index-info.json`` into ``folder``."""
        import faiss

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / "index.faiss"))
        (folder / "passages.json").write_text(
            json.dumps(self.texts, ensure_ascii=False, indent=0), encoding="utf-8"
        )
        info = {"encoder": self.encoder, "dimension": self.dimension, "count": len(self),
                "metric": self.metric, "faiss_index": type(self.index).__name__}
        (folder / "index-info.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> VectorIndex:
        """Read an index written by :meth:`save`.

        Raises:
            ExportError: the folder or one of its files is missing, or the files disagree.
        """
        import faiss

        folder = Path(folder)
        if not folder.is_dir():
            raise ExportError(
                f"Index folder {folder} does not exist. Fix: point at the folder that "
                f"VectorIndex.save or export_context_relevance wrote ({', '.join(INDEX_FILES)})."
            )
        missing = [f for f in INDEX_FILES if not (folder / f).is_file()]
        if missing:
            raise ExportError(
                f"Index folder {folder} is missing {', '.join(missing)}. Fix: re-run the export "
                f"(an index folder needs {', '.join(INDEX_FILES)}), or unpack the whole tarball again."
            )
        info = json.loads((folder / "index-info.json").read_text(encoding="utf-8"))
        texts = json.loads((folder / "passages.json").read_text(encoding="utf-8"))
        index = faiss.read_index(str(folder / "index.faiss"))
        if index.ntotal != len(texts) or index.d != info.get("dimension", index.d):
            raise ExportError(
                f"Index folder {folder}: index.faiss holds {index.ntotal} vectors of dimension "
                f"{index.d}, but passages.json has {len(texts)} passages and index-info.json says "
                f"dimension {info.get('dimension')}. Fix: re-run the export; files of two runs are mixed."
            )
        self = cls.__new__(cls)
        self.texts = list(texts)
        self.encoder = str(info.get("encoder", ""))
        self.metric = "ip" if index.metric_type == faiss.METRIC_INNER_PRODUCT else "l2"
        self.dimension = int(index.d)
        self.index = index
        return self


# ---------------------------------------------------------------------------------------
# Negative mining
# ---------------------------------------------------------------------------------------


def contains_answer(text: str, answer: str) -> bool:
    """Whether ``text`` holds ``answer`` as a whole word or phrase, ignoring case.

    ``yes``/``no`` answers are never spans, so no text "contains" them (else every passage with
    the word "no" would count). Whole words only: "Ann" is not found in "Annual".
    """
    answer = str(answer).strip()
    if not answer or answer.lower() in YES_NO:
        return False
    return re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", str(text), re.IGNORECASE) is not None


def _sorted_neighbours(embeddings: np.ndarray, positive_ids: np.ndarray, chunk_size: int):
    """For each positive id: every passage id by squared L2 distance, nearest first (ties: lowest id),
    and the distances in that order. Exact, via ``faiss.IndexFlatL2`` searched with k = n."""
    import faiss

    n = embeddings.shape[0]
    index = faiss.IndexFlatL2(embeddings.shape[1])
    index.add(embeddings)
    for start in range(0, len(positive_ids), chunk_size):
        chunk = positive_ids[start:start + chunk_size]
        dist, ids = index.search(np.ascontiguousarray(embeddings[chunk]), n)
        order = np.lexsort((ids, dist), axis=1)
        yield chunk, np.take_along_axis(ids, order, 1), np.take_along_axis(dist, order, 1)


def mine_negatives(embeddings: np.ndarray, texts: Sequence[str], pairs: pd.DataFrame,
                   kind: str = "both", candidates: Sequence[int] | None = None,
                   chunk_size: int = 256, doc_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Mine an easy and/or a hard negative passage for each (question, positive passage).

    * easy negative: the passage farthest from the positive in L2 distance;
    * hard negative: the passage nearest to the positive that is not the positive and does not
      contain the answer (:func:`contains_answer`), so that it is not a second right passage.

    Neighbours are measured between passage embeddings (the positive's, not the question's),
    exactly, with ``faiss.IndexFlatL2``; equal distances go to the lowest passage id, so the
    result is deterministic.

    Args:
        embeddings: ``(n, dimension)`` passage embeddings, row ``i`` for ``texts[i]``.
        texts: The ``n`` passages.
        pairs: Columns ``question``, ``gold_id`` (the positive's passage id) and optionally
            ``answer`` (without it, no passage is excluded for holding the answer), e.g.
            ``Collection.train``.
        kind: ``"easy"``, ``"hard"`` or ``"both"``.
        candidates: Passage ids allowed as negatives (default: all), e.g. to keep test passages
            out of training.
        chunk_size: Positives searched at once (memory: ``chunk_size * n`` floats).
        doc_ids: The document of each passage (``Collection.doc_ids``). With it, and a ``doc_id``
            column in ``pairs``, no passage of the question's own document is a negative: it
            may hold the other half of a multi-hop answer.

    Returns:
        One row per pair: ``question``, ``answer`` (when given), ``positive_id``, ``positive``,
        then for easy ``easy_id``, ``easy_negative``, ``easy_distance`` and for hard ``hard_id``,
        ``hard_negative``, ``hard_distance`` (L2 distances to the positive). A pair without any
        allowed hard negative (every other passage holds the answer) gets ``hard_id`` -1 and no
        text; :func:`training_frame` drops it.
    """
    if kind not in ("easy", "hard", "both"):
        raise ValueError(f"kind must be 'easy', 'hard' or 'both', not {kind!r}")
    embeddings = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32))
    n = len(texts)
    if embeddings.ndim != 2 or embeddings.shape[0] != n:
        raise RetrievalInputError(
            f"{n} passages but embeddings of shape {embeddings.shape}. Fix: one embedding row per passage."
        )
    if n < 2:
        raise RetrievalInputError(
            f"The collection holds {n} passage(s); mining a negative needs at least 2. "
            "Fix: add passages (unstructured.csv)."
        )
    missing = [c for c in ("question", "gold_id") if c not in pairs]
    if missing:
        raise RetrievalInputError(f"pairs lacks column(s) {missing}; it needs question and gold_id.")
    _check_texts(list(pairs["question"]), "Question")
    gold = np.asarray(pairs["gold_id"], dtype=np.int64)
    if len(gold) and (gold.min() < 0 or gold.max() >= n):
        raise RetrievalInputError(f"gold_id values must be passage ids in 0..{n - 1}.")
    allowed = np.ones(n, dtype=bool)
    if candidates is not None:
        allowed[:] = False
        allowed[np.asarray(list(candidates), dtype=np.int64)] = True
    answers = list(pairs["answer"]) if "answer" in pairs else [""] * len(pairs)
    passage_doc = np.asarray(doc_ids, dtype=np.int64) if doc_ids is not None else None
    if passage_doc is not None and len(passage_doc) != n:
        raise RetrievalInputError(f"{n} passages but {len(passage_doc)} doc_ids. Fix: one per passage.")
    own_docs = (list(pairs["doc_id"]) if passage_doc is not None and "doc_id" in pairs
                else [None] * len(pairs))

    unique = np.unique(gold)
    nearest: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for chunk, ids, dist in _sorted_neighbours(embeddings, unique, chunk_size):
        for row, pos in enumerate(chunk):
            nearest[int(pos)] = (ids[row], np.sqrt(np.maximum(dist[row], 0.0)))

    rows = []
    for question, answer, pos, own in zip(pairs["question"], answers, gold, own_docs, strict=True):
        ids, dist = nearest[int(pos)]
        keep = allowed[ids] & (ids != pos)
        if own is not None:
            keep &= passage_doc[ids] != int(own)
        row = {"question": question}
        if "answer" in pairs:
            row["answer"] = answer
        row |= {"positive_id": int(pos), "positive": texts[pos]}
        if kind in ("easy", "both"):
            cand_ids, cand_dist = ids[keep], dist[keep]
            if len(cand_ids):
                # Farthest first; among equal distances the lowest id (ids ascend within ties).
                far = np.flatnonzero(cand_dist == cand_dist.max())[0]
                row |= {"easy_id": int(cand_ids[far]), "easy_negative": texts[cand_ids[far]],
                        "easy_distance": float(cand_dist[far])}
            else:
                row |= {"easy_id": -1, "easy_negative": None, "easy_distance": float("nan")}
        if kind in ("hard", "both"):
            row |= {"hard_id": -1, "hard_negative": None, "hard_distance": float("nan")}
            for cid, cdist in zip(ids[keep], dist[keep], strict=True):
                if not contains_answer(texts[cid], answer):
                    row |= {"hard_id": int(cid), "hard_negative": texts[cid], "hard_distance": float(cdist)}
                    break
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("easy_id", "hard_id", "positive_id"):
        if col in frame:
            frame[col] = frame[col].astype(np.int64)
    return frame


def training_frame(mined: pd.DataFrame, negatives: str = "both") -> pd.DataFrame:
    """The columns a ranking loss trains on: ``anchor``, ``positive`` and the chosen negatives.

    Args:
        mined: The output of :func:`mine_negatives` (or any frame with ``question``,
            ``positive`` and the negative columns asked for).
        negatives: ``"none"`` (in-batch negatives only), ``"easy"``, ``"hard"`` or ``"both"``
            (columns ``easy_negative`` then ``hard_negative``).

    Rows that lack a chosen negative are dropped and their count printed.
    """
    if negatives not in NEGATIVE_KINDS:
        raise ValueError(f"negatives must be one of {NEGATIVE_KINDS}, not {negatives!r}")
    columns = {"none": [], "easy": ["easy_negative"], "hard": ["hard_negative"],
               "both": ["easy_negative", "hard_negative"]}[negatives]
    missing = [c for c in ["question", "positive", *columns] if c not in mined]
    if missing:
        raise RetrievalInputError(
            f"The mined frame lacks {missing} for negatives={negatives!r}. Fix: mine with "
            "mine_negatives(..., kind='both') (or the kind you train with)."
        )
    frame = pd.DataFrame({"anchor": mined["question"], "positive": mined["positive"]})
    for i, col in enumerate(columns, start=1):
        frame[f"negative_{i}"] = mined[col]
    present = frame.notna().all(axis=1)
    if not present.all():
        print(f"{int((~present).sum())} of {len(frame)} pairs have no {negatives} negative "
              "(every other passage holds the answer) and are left out.", flush=True)
    return frame[present].reset_index(drop=True).astype(str)


def gold_passages(texts: Sequence[str], contexts: Sequence[str], answers: Sequence[str]) -> list[tuple]:
    """Per question, the ids of the passages that answer it, found by text alone.

    For deployment, where only the exported passages are known: a passage belongs to a
    question's context when it is a part of that context (white space collapsed); the gold
    passages are those parts that contain the answer, or all the parts when none does (as in
    :func:`build_collection`). A context none of whose passages is in the collection gets ``()``.
    """
    keys = [_text_key(t) for t in texts]
    golds = []
    for context, answer in zip(contexts, answers, strict=True):
        context_key = _text_key(context)
        parts = [i for i, k in enumerate(keys) if k and k in context_key]
        holding = tuple(i for i in parts if contains_answer(texts[i], answer))
        golds.append(holding or tuple(parts))
    return golds


# ---------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------


def gold_sets(gold_ids) -> list[frozenset]:
    return [frozenset(int(i) for i in g) if isinstance(g, (tuple, list, set, frozenset, np.ndarray))
            else frozenset([int(g)]) for g in gold_ids]


def gold_ranks(ranked_ids: np.ndarray, gold_ids: Sequence) -> np.ndarray:
    """1-based position of each question's first gold passage in its ranked list; 0 where absent.

    ``gold_ids`` holds, per question, one passage id or a collection of ids (any of them counts).
    """
    ranked = np.atleast_2d(np.asarray(ranked_ids))
    golds = gold_sets(gold_ids)
    if ranked.shape[0] != len(golds):
        raise ValueError(f"{ranked.shape[0]} ranked lists but {len(golds)} gold ids")
    hit = np.array([[int(i) in g for i in row] for row, g in zip(ranked, golds, strict=True)],
                   dtype=bool).reshape(ranked.shape)
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0)


def retrieval_metrics(ranked_ids: np.ndarray, gold_ids: Sequence, ks: Sequence[int] = (1, 5),
                      mrr_at: int = 10) -> dict[str, float]:
    """Recall@k for each k, and MRR@``mrr_at``, over questions with one or more gold passages.

    recall@k is the share of questions with a gold passage among their first k; MRR@m the mean
    of 1/rank of the first gold passage, counted 0 when none is among the first m.

    Args:
        ranked_ids: ``(questions, K)`` passage ids, best first, with ``K >= max(ks, mrr_at)``.
        gold_ids: Per question, its gold passage id or a collection of them.

    Returns:
        ``{"recall@1": ..., "recall@5": ..., "mrr@10": ...}`` (floats in [0, 1]).
    """
    ranked = np.atleast_2d(np.asarray(ranked_ids))
    deepest = max([*ks, mrr_at])
    if ranked.shape[1] < deepest:
        raise RetrievalInputError(
            f"The ranked lists hold {ranked.shape[1]} passages, but recall@{max(ks)} / MRR@{mrr_at} "
            f"need {deepest}. Fix: search with k={deepest}, or lower ks / mrr_at to at most "
            f"{ranked.shape[1]} (the collection size caps k)."
        )
    ranks = gold_ranks(ranked, gold_ids)
    if len(ranks) == 0:
        raise ValueError("retrieval_metrics needs at least one question")
    found = ranks > 0
    out = {f"recall@{k}": float(np.mean(found & (ranks <= k))) for k in ks}
    within = found & (ranks <= mrr_at)
    out[f"mrr@{mrr_at}"] = float(np.mean(np.where(within, 1.0 / np.maximum(ranks, 1), 0.0)))
    return out


def evaluate_retriever(encoder, collection, questions: Sequence[str], gold_ids: Sequence[int],
                       ks: Sequence[int] = (1, 5), mrr_at: int = 10,
                       batch_size: int = 32) -> Evaluation:
    """Embed the collection and the questions, search, and score the ranking.

    Returns:
        An :class:`~helpers.core.evaluation.Evaluation`: ``scores`` recall@k for each k, MRR@m and
        ``mean_gap`` (per question, its gold passage's cosine score minus the best wrong
        passage's, averaged: higher separates better); ``predictions`` per question ``question``,
        ``gold_id``, ``rank`` (1-based rank of its first gold passage, 0 if not in the top
        ``depth``), ``positive_score``, ``best_negative_score``, ``top_id``; ``details``
        ``ranked_ids`` and ``ranked_scores`` (``(questions, depth)``, best first), ``negative_scores``
        (every retrieved wrong passage's score) and ``passage_embeddings`` (the collection's
        embeddings by this encoder, to mine with without embedding the collection again).

    Args:
        encoder: A ``SentenceTransformer`` or a ``SentenceEncoder`` (see :func:`embed_texts`).
        collection: The passages (a :class:`Collection` or a list of texts).
        questions: The questions.
        gold_ids: Per question, its gold passage id or a collection of them
            (``Collection.test["gold_ids"]``).
        ks, mrr_at: As in :func:`retrieval_metrics`.

    A collection smaller than the deepest k is ranked whole (``ranked_ids`` padded with -1).

    Raises:
        RetrievalInputError: blank questions.
    """
    texts = collection.texts if isinstance(collection, Collection) else list(collection)
    questions = _check_texts(list(questions), "Question")
    golds = gold_sets(gold_ids)
    if len(golds) != len(questions):
        raise ValueError(f"{len(questions)} questions but {len(golds)} gold ids")
    depth = max([*ks, mrr_at])
    passages = embed_texts(encoder, texts, batch_size)
    queries = embed_texts(encoder, questions, batch_size)
    index = VectorIndex(passages, texts, metric="ip")
    scores, ids = index.search(queries, min(depth, len(texts)))
    if depth > len(texts):
        # A collection smaller than the deepest k: every passage is ranked, and recall@k counts
        # the whole collection (the lists are padded with id -1).
        pad = depth - len(texts)
        ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=np.nan)
    ranks = gold_ranks(ids, golds)
    positive = np.array([float((passages[sorted(g)] @ q).max()) for q, g in zip(queries, golds, strict=True)],
                        dtype=np.float32)
    wrong = np.array([[i >= 0 and int(i) not in g for i in row] for row, g in zip(ids, golds, strict=True)],
                     dtype=bool).reshape(ids.shape)
    gold = np.array([min(g) for g in golds], dtype=np.int64)
    best_negative = np.array([s[w][0] if w.any() else np.nan for s, w in zip(scores, wrong, strict=True)],
                             dtype=np.float32)
    table = pd.DataFrame({"question": questions, "gold_id": gold, "rank": ranks,
                          "positive_score": positive, "best_negative_score": best_negative,
                          "top_id": ids[:, 0]})
    metrics = retrieval_metrics(ids, golds, ks, mrr_at)
    metrics["mean_gap"] = float((table["positive_score"] - table["best_negative_score"]).mean())
    return Evaluation(scores=metrics, predictions=table,
                      details={"ranked_ids": ids, "ranked_scores": scores, "negative_scores": scores[wrong],
                               "passage_embeddings": passages})


# ---------------------------------------------------------------------------------------
# The bi-encoder
# ---------------------------------------------------------------------------------------


def load_sentence_transformer(name, max_seq_length: int | None = None):
    """A ``SentenceTransformer`` on CPU whose embeddings are mean-pooled and unit length.

    Args:
        name: A hub id, a local folder (``resolve_model`` resolves the packaged MiniLM), or an
            already loaded ``SentenceTransformer`` (used as it is). A folder without a
            sentence-transformers config (a plain transformers ``save_pretrained``) gets mean
            pooling; a ``Normalize`` step is appended to any model that lacks one, because the
            index scores by inner product.
        max_seq_length: Longest input in tokens (default: the model's own setting).
    """
    if _is_sentence_transformer(name):
        model = name
    else:
        from sentence_transformers import SentenceTransformer


        path = resolve_model(name)
        try:
            model = SentenceTransformer(path, device="cpu")
        except OSError as err:
            raise describe_failure(str(name), err) from err
    from sentence_transformers.sentence_transformer.modules import Normalize

    if not isinstance(model[-1], Normalize):
        model.append(Normalize())
    if max_seq_length:
        model.max_seq_length = int(max_seq_length)
    return model


def train_bi_encoder(model_name, mined: pd.DataFrame, negatives: str = "both",
                     config: TrainConfig | None = None, output_dir: str | Path | None = None):
    """Fine-tune a bi-encoder on (question, positive passage[, negatives]) with a ranking loss.

    The loss is ``MultipleNegativesRankingLoss``: each question must score its positive above
    every other passage in the batch (in-batch negatives) and above its own mined negatives.
    Batches never hold the same text twice (``BatchSamplers.NO_DUPLICATES``), so a passage is
    never used as a negative for a question it answers.

    Args:
        model_name: Hub id or folder (see :func:`load_sentence_transformer`), or a loaded model
            (trained in place).
        mined: The output of :func:`mine_negatives`.
        negatives: ``"easy"``, ``"hard"``, ``"both"`` or ``"none"`` (in-batch only).
        config: Epochs (at least ``min_steps`` steps, at most ``max_steps``), batch size,
            learning rate, warm-up, ``max_length``, seed, ``report_to``. The default is
            ``TrainConfig(epochs=3, learning_rate=3e-5, batch_size=16)``.
        output_dir: Trainer scratch folder (a temporary one by default); no checkpoints are saved.

    Returns:
        ``(model, log_history)``: the trained ``SentenceTransformer`` (CPU, eval mode) and the
        trainer's per-step records (``loss``, ``learning_rate``, ``epoch``, ``step``).
    """
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import PrinterCallback, set_seed

    config = config or TrainConfig(epochs=3, learning_rate=3e-5, batch_size=16)
    frame = training_frame(mined, negatives)
    if len(frame) < 2:
        raise RetrievalInputError(
            f"{len(frame)} training pair(s); in-batch negatives need at least 2. Fix: add labelled "
            "questions (train.csv), or train with negatives='none' if hard negatives are missing."
        )
    set_seed(config.seed)
    model = load_sentence_transformer(model_name, max_seq_length=config.max_length)
    total = planned_steps(len(frame), config)
    print(f"Training the bi-encoder on {len(frame)} pairs (negatives: {negatives}) for {total} steps, "
          f"batch {config.batch_size}", flush=True)
    args = SentenceTransformerTrainingArguments(**trainer_settings(config, total, output_dir), use_cpu=True,
                                                batch_sampler=BatchSamplers.NO_DUPLICATES)
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=Dataset.from_pandas(frame, preserve_index=False),
        loss=MultipleNegativesRankingLoss(model), callbacks=[ProgressPrinter(total)],
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    model.eval()
    return model, list(trainer.state.log_history)


# ---------------------------------------------------------------------------------------
# Export and the deployed retriever
# ---------------------------------------------------------------------------------------


class Retriever:
    """A question in, the best passages out: an encoder and the index of its collection.

    Args:
        encoder: A ``SentenceTransformer`` (or ``SentenceEncoder``) that made the index.
        index: A :class:`VectorIndex` of the collection (inner product on unit vectors).
        batch_size: Questions per forward pass in :meth:`retrieve_many`.
    """

    def __init__(self, encoder, index: VectorIndex, batch_size: int = 32):
        self.encoder = encoder
        self.index = index
        self.batch_size = batch_size

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def from_export(cls, path: str | Path, unpack_to: str | Path | None = None) -> Retriever:
        """Load what :func:`export_context_relevance` wrote (see :func:`load_retriever`)."""
        return load_retriever(path, unpack_to)

    def retrieve_many(self, questions: Sequence[str], k: int = 5) -> list[list[tuple[str, float, int]]]:
        """For each question, its ``k`` best passages as ``(passage, score, id)``, best first."""
        questions = _check_texts(list(questions), "Question")
        if not questions:
            return []
        scores, ids = self.index.search(embed_texts(self.encoder, questions, self.batch_size), k)
        return [[(self.index.texts[i], float(s), int(i)) for s, i in zip(srow, irow, strict=True)]
                for srow, irow in zip(scores, ids, strict=True)]

    def retrieve(self, question: str, k: int = 5) -> list[tuple[str, float, int]]:
        """The ``k`` passages most similar to ``question`` as ``(passage, cosine score, id)``.

        Raises:
            RetrievalInputError: an empty question, or ``k`` larger than the collection.
        """
        return self.retrieve_many([question], k)[0]


def export_context_relevance(model, texts: Sequence[str], output_dir: str | Path, name: str,
                             log_history: list[dict] | None = None, info: dict | None = None,
                             batch_size: int = 32) -> ExportPaths:
    """Save the encoder and an index of ``texts`` as ``output_dir/retriever`` (and a tarball).

    ``export-info.json`` carries the family, the task ``name``, then ``info``.

    Layout::

        retriever/
            encoder/            the SentenceTransformer (config, weights, tokenizer, pooling)
            index.faiss  passages.json  index-info.json
            training-logs.csv  training-logs.json  export-info.json
        <name>-retriever.tar   holds retriever/

    An existing ``retriever/`` folder is replaced. The index is built here, with ``model``, so
    the two always match. Every file gets the modes of the umask (0o644 usually; see
    :func:`helpers.core.files.apply_umask`).

    Args:
        model: A ``SentenceTransformer`` (see :func:`load_sentence_transformer`).
        texts: The collection's passages.
        output_dir: Folder to write into (created).
        name: Prefix of the tarball, usually the task name.
        log_history: The trainer's records, for the training logs.
        info: Extra facts for ``export-info.json`` (base model, metrics, settings).
    """
    output_dir = Path(output_dir)
    folder = output_dir / RETRIEVER_DIR
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model = load_sentence_transformer(model)
    model.save(str(folder / ENCODER_DIR))
    embeddings = embed_texts(model, texts, batch_size)
    base = (info or {}).get("base_model") or getattr(model.model_card_data, "base_model", None) or ""
    VectorIndex(embeddings, texts, encoder=str(base), metric="ip").save(folder)
    write_training_logs(folder, log_history or [])
    info = {"family": FAMILY, "task": name, **(info or {})}
    (folder / "export-info.json").write_text(json.dumps(info, indent=1, default=str), encoding="utf-8")
    apply_umask(folder)
    return ExportPaths(model_dir=folder, tarball=write_tarball(folder, output_dir / f"{name}-retriever.tar"))


def locate_retriever(path: str | Path, unpack_to: str | Path | None = None) -> Path:
    """The ``retriever/`` folder behind ``path`` (that folder, the folder holding it, or the tarball)."""
    path = Path(path)
    if path.is_file() and tarfile.is_tarfile(path):
        path = unpack_tarball(path, unpack_to) / RETRIEVER_DIR
    elif path.is_dir() and not (path / ENCODER_DIR).exists() and (path / RETRIEVER_DIR).is_dir():
        path = path / RETRIEVER_DIR
    if not path.is_dir():
        raise ExportError(
            f"Retriever export {path} does not exist. Fix: run the context-relevance training "
            "notebook's export step and point at its OUTPUT_DIR/retriever folder or the .tar file."
        )
    missing = [f for f in (*INDEX_FILES, f"{ENCODER_DIR}/modules.json", f"{ENCODER_DIR}/config.json")
               if not (path / f).is_file()]
    if missing:
        raise ExportError(
            f"Retriever export {path} is missing {', '.join(missing)}. Fix: re-run the export "
            "(export_context_relevance), or unpack the whole <name>-retriever.tar again."
        )
    return path


def load_retriever(path: str | Path, unpack_to: str | Path | None = None,
                   backend: str = "pytorch") -> Retriever:
    """Load an export of :func:`export_context_relevance` as a :class:`Retriever` (CPU, eval mode).

    ``backend``: ``"pytorch"``, or ``"onnx"`` / ``"onnx-int8"`` for the encoder variant exported into
    the folder (:func:`export_retriever_variants`); the index is the same.

    Raises:
        ExportError: a missing folder or file, or an index that does not fit the encoder.
    """

    onnx.check_backend(backend)
    folder = locate_retriever(path, unpack_to)
    index = VectorIndex.load(folder)
    if backend == onnx.PYTORCH:
        encoder = load_sentence_transformer(str(folder / ENCODER_DIR)).eval()
    else:
        encoder = onnx.load_onnx_encoder(folder, folder / ENCODER_DIR, backend)
    if encoder.get_embedding_dimension() != index.dimension:
        raise ExportError(
            f"Retriever export {folder}: the encoder makes {encoder.get_embedding_dimension()}-"
            f"dimensional embeddings but the index holds {index.dimension}-dimensional ones. "
            "Fix: re-run the export; the files come from two different runs."
        )
    return Retriever(encoder, index)


# ---------------------------------------------------------------------------------------
# ONNX variants: this family's adapter to the quality gate
# ---------------------------------------------------------------------------------------


def variant_adapter(folder: str | Path, collection, questions: Sequence[str], gold_ids: Sequence,
                    k: int = 5, gate_questions: Sequence[str] | None = None,
                    gate_source: str = "training questions") -> VariantAdapter:
    """Gate: on ``gate_questions`` (no gold passages needed; a test question is left out), the
    variant's top-k over the exported index against PyTorch's, as deployment searches it:
    ``top1_agreement`` and ``top{k}_overlap`` (:func:`~helpers.core.metrics.ranking_agreement`).

    Test scores, for information: recall@1, recall@k and MRR@10 over the collection (both passages
    and questions embedded by the variant); latency: one question's search.
    """
    questions = list(questions)
    asked = [q for q in ([] if gate_questions is None else gate_questions)
             if isinstance(q, str) and q.strip()]
    gate, gate_source = outside_test(asked, questions, gate_source)

    def load(backend):
        return load_retriever(folder, backend=backend)

    def score(r):
        result = evaluate_retriever(r.encoder, collection, questions, gold_ids, ks=(1, k))
        return (points(result.scores, ("recall@1", f"recall@{k}", "mrr@10"), 100),
                [tuple(row[:k]) for row in result.details["ranked_ids"].tolist()])

    def run_gate(r):
        return [tuple(hit[2] for hit in hits) for hits in r.retrieve_many(gate, min(k, len(r)))]

    def model_and_tokenizer():
        model = load_sentence_transformer(str(Path(folder) / ENCODER_DIR))
        return model, model.tokenizer, model.max_seq_length

    return VariantAdapter(ENCODER, Path(folder) / ENCODER_DIR, load, score,
                          lambda r, i: r.retrieve(questions[i], k), len(questions), model_and_tokenizer,
                          "batches of 32 texts sorted by length", gate=run_gate if gate else None,
                          agreement=lambda v, ref: ranking_agreement(v, ref, k), gate_source=gate_source)


def export_retriever_variants(folder, collection, questions, gold_ids, max_drop: float = DEFAULT_MAX_DROP,
                              tarball=None, k: int = 5, backends=None,
                              gate_questions: Sequence[str] | None = None,
                              gate_source: str = "training questions") -> pd.DataFrame:
    """ONNX and int8 variants of a retriever's encoder, gated on ``gate_questions``, tested on ``questions``.

    A variant is recommended iff, on ``gate_questions`` (questions that are not test questions,
    such as the training and synthetic ones; no gold passages needed), the share of questions with
    the same first passage as PyTorch and the mean top-k overlap with PyTorch are both at least
    ``100 - max_drop``. Recall and MRR on the test questions are reported beside it, for
    information. Without ``gate_questions`` nothing is decided (``recommended`` None).
    """
    adapter = variant_adapter(folder, collection, questions, gold_ids, k, gate_questions, gate_source)
    return export_variants(folder, adapter, max_drop, backends, tarball)

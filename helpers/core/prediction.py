"""From model outputs to predictions, with numpy and a ``tokenizers.Tokenizer`` only (no torch).

What both ways of running an export share, the PyTorch families (:mod:`helpers.classification`,
:mod:`helpers.question_answering`) and the torch-free :mod:`helpers.serving`, so that the two give
the same predictions from one implementation:

- batching: :func:`length_sorted_batches` and the model input names (:data:`MODEL_INPUTS`);
- classification: :func:`softmax`;
- extractive QA: the windows over (question, context) pairs (:func:`cap_questions`,
  :func:`tokenize_windows`, :func:`eval_features`), span decoding (:func:`postprocess_predictions`),
  the loop from windows to answers (:func:`answer_windows`) and what is answered
  (:func:`decide_answer`, with the yes/no prior). :mod:`helpers.question_answering` documents the
  contract (windows, stride, offsets, spans).

The tokenizer functions take the *backend* tokenizer, a ``tokenizers.Tokenizer``: a transformers fast
tokenizer's ``backend_tokenizer``, or one read from an export's ``tokenizer.json``. They set its
truncation and padding on every call, as transformers does, so that what an earlier call (or the
saved ``tokenizer.json``) left there never matters. An import-linter contract checks that this
module imports neither torch nor transformers.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from helpers.core.text import is_yes_no_question, split_paragraphs

MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> Iterator[np.ndarray]:
    """Index arrays of up to ``batch_size`` texts, shortest first, for inference in batches.

    Texts of similar length share a batch, so padding (and time) stays low. The sort is stable,
    and callers write each batch's results back at its indices, which restores the input order.
    """
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in NumPy.

    Done outside torch on purpose: a torch op here starts torch's thread pool, whose idle threads
    keep spinning and take the CPU from ONNX Runtime's (measured: 340 instead of 470 texts/s).
    """
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------
# Extractive QA: windows
# ---------------------------------------------------------------------------------------

PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
"""A blank line: no answer span crosses one (see :func:`postprocess_predictions`)."""


def paragraph_breaks(context: str) -> list[tuple[int, int]]:
    """Character ranges no answer may cross: blank lines, and the line break that ends a title
    standing on a line of its own (``"Inverness\nInverness is a city"``: a span from the title into
    the text answers nothing). Titles as :func:`helpers.core.text.split_paragraphs` finds them."""
    breaks = [(m.start(), m.end()) for m in PARAGRAPH_BREAK.finditer(context)]
    for para in split_paragraphs(context):
        gap = context[para.title_start:para.start]
        if para.title and "\n" in gap:
            cut = para.title_start + gap.rindex("\n")
            breaks.append((cut, cut + 1))
    return sorted(breaks)


def crosses_break(breaks: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` holds a whole range of ``breaks`` (:func:`paragraph_breaks`)."""
    return any(start <= a and b <= end for a, b in breaks)


def past_marks(context: str, end: int) -> int:
    """``end`` moved past the combining marks and format characters right after it, which a
    tokenizer may cover with no token (the accent of a decomposed "é"): a span keeps its accents."""
    while end < len(context) and unicodedata.category(context[end]) in ("Mn", "Me", "Cf"):
        end += 1
    return end


class QAInputError(ValueError):
    """Settings or inputs that cannot make windows; the message says which and how to fix it."""


@dataclass
class WindowStats:
    """What :func:`helpers.question_answering.prepare_train_features` / :func:`eval_features` did."""

    examples: int = 0
    windows: int = 0
    windows_per_example: list[int] = field(default_factory=list)
    questions_truncated: int = 0
    labelled_windows: int = 0
    answers_without_position: int = 0
    answers_across_paragraphs: int = 0
    answers_longer_than_window: int = 0
    skipped: dict[int, str] = field(default_factory=dict)
    """Input rows that could not be made into windows (by position in the inputs), and why."""

    def as_dict(self) -> dict:
        counts = np.asarray(self.windows_per_example or [0])
        return {
            "examples": self.examples,
            "windows": self.windows,
            "max_windows_per_example": int(counts.max()),
            "examples_with_several_windows": int((counts > 1).sum()),
            "questions_truncated": self.questions_truncated,
            "labelled_windows": self.labelled_windows,
            "answers_without_position": self.answers_without_position,
            "answers_across_paragraphs": self.answers_across_paragraphs,
            "answers_longer_than_window": self.answers_longer_than_window,
            "rows_skipped": len(self.skipped),
        }


def encode_plain(backend, texts: Sequence[str]) -> list:
    """``texts`` tokenised alone: no special tokens, no truncation, no padding (``tokenizers.Encoding``s)."""
    backend.no_truncation()
    backend.no_padding()
    return backend.encode_batch(list(texts), add_special_tokens=False)


def _cut_question(backend, question: str, ids: list, offsets: list, max_question_length: int):
    """``question`` cut to at most ``max_question_length`` tokens: ``(text, tokens)``.

    The cut falls at the end of a token; a word-piece tokenizer can split the shorter text
    differently, so the cut is re-counted and moved back a token until it fits.
    """
    if len(ids) <= max_question_length:
        return question, len(ids)
    for k in range(max_question_length, 0, -1):
        text = question[: offsets[k - 1][1]]
        n = len(encode_plain(backend, [text])[0].ids)
        if n <= max_question_length:
            return text, n
    return "", 0


def _row_problem(question, context) -> str | None:
    if not isinstance(context, str) or not context.strip():
        return "no context. Fix: every question needs its passage"
    if not isinstance(question, str) or not question.strip():
        return "an empty question. Fix: write the question, or delete the row"
    return None


def _check_settings(backend, max_length: int, stride: int, max_question_length: int) -> int:
    """Settings under which no question could ever fit are refused; returns the special tokens."""
    special = backend.num_special_tokens_to_add(True)
    if max_question_length < 1:
        raise QAInputError(f"MAX_QUESTION_LENGTH must be at least 1, got {max_question_length}")
    if stride < 0 or stride >= max_length - special - 1:
        raise QAInputError(
            f"DOC_STRIDE={stride} must be between 0 and the room for context beside a one-token "
            f"question, {max_length - special - 1} tokens (MAX_LENGTH={max_length} minus {special} special "
            "tokens and the question). Fix: lower DOC_STRIDE (a quarter of MAX_LENGTH is usual) or raise "
            "MAX_LENGTH."
        )
    return special


def cap_questions(backend, questions: Sequence[str], contexts: Sequence[str], max_length: int,
                  stride: int, max_question_length: int):
    """Cut questions to ``max_question_length`` tokens, then check each row has room for context.

    Returns:
        ``(kept, capped, cut, rooms, skipped)``: positions of the rows that make windows, their
        (cut) questions and room for context in tokens, how many questions were cut, and the skipped rows
        ``{position: reason}``.
    """
    special = _check_settings(backend, max_length, stride, max_question_length)
    skipped: dict[int, str] = {}
    for i, (q, c) in enumerate(zip(questions, contexts, strict=True)):
        problem = _row_problem(q, c)
        if problem:
            skipped[i] = f"it has {problem}."
    candidates = [i for i in range(len(questions)) if i not in skipped]
    encodings = encode_plain(backend, [questions[i] for i in candidates]) if candidates else []
    kept, capped, cut, rooms = [], [], 0, []
    for i, e in zip(candidates, encodings, strict=True):
        ids, offsets = e.ids, e.offsets
        q, n = _cut_question(backend, questions[i], ids, offsets, max_question_length)
        room = max_length - n - special
        if n == 0 or stride >= room:
            skipped[i] = (
                f"DOC_STRIDE={stride} must be smaller than the room for context in a "
                f"window, which is {room} tokens for this question (MAX_LENGTH={max_length} minus {n} "
                f"question tokens, cut from {len(ids)}, and {special} special tokens). Fix: lower "
                "DOC_STRIDE or MAX_QUESTION_LENGTH, or raise MAX_LENGTH."
            )
            continue
        cut += n < len(ids)
        kept.append(i)
        capped.append(q)
        rooms.append(room)
    return kept, capped, cut, rooms, dict(sorted(skipped.items()))


def check_inputs(questions, contexts) -> None:
    """As many questions as contexts, or a :class:`QAInputError`."""
    if len(questions) != len(contexts):
        raise QAInputError(f"{len(questions)} questions but {len(contexts)} contexts")


class Windows:
    """The windows of (question, context) pairs, as a fast tokenizer's call with
    ``return_overflowing_tokens=True`` gives them: ``windows[key][w]`` for ``input_ids``,
    ``offset_mapping``, ``overflow_to_sample_mapping`` and the model inputs in ``names``;
    ``sequence_ids(w)``."""

    def __init__(self, encodings: list, sample: list[int], names: Sequence[str]):
        self.encodings, self.sample = encodings, sample
        self.keys = ["input_ids", *(k for k in MODEL_INPUTS[1:] if k in names), "offset_mapping",
                     "overflow_to_sample_mapping"]
        self._columns: dict[str, list] = {}  # read once: callers index windows[key][w] in a loop

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def __getitem__(self, key: str) -> list:
        if key not in self.keys:
            raise KeyError(key)
        if key == "overflow_to_sample_mapping":
            return self.sample
        if key not in self._columns:
            attribute = {"input_ids": "ids", "token_type_ids": "type_ids",
                         "offset_mapping": "offsets"}.get(key, key)
            self._columns[key] = [getattr(e, attribute) for e in self.encodings]
        return self._columns[key]

    def sequence_ids(self, w: int) -> list[int | None]:
        return self.encodings[w].sequence_ids


def tokenize_windows(backend, names: Sequence[str], questions, contexts, max_length, stride,
                     max_question_length):
    """Windows of the rows that fit: ``(windows, kept, cut, rooms, skipped)``; the windows'
    ``overflow_to_sample_mapping`` points into ``kept`` (see :func:`cap_questions` for the rest).

    Question first, context second, truncation of the context only (``only_second``) into windows of
    ``max_length`` tokens sharing ``stride`` context tokens, no padding; ``names``: the model inputs
    to keep (``token_type_ids`` only if the model takes them).
    """
    check_inputs(questions, contexts)
    kept, capped, cut, rooms, skipped = cap_questions(backend, questions, contexts, max_length, stride,
                                                      max_question_length)
    if not kept:
        return None, kept, cut, rooms, skipped
    backend.enable_truncation(max_length, stride=stride, strategy="only_second", direction="right")
    backend.no_padding()
    encodings = backend.encode_batch(list(zip(capped, [contexts[i] for i in kept], strict=True)),
                                     add_special_tokens=True)
    windows, sample = [], []
    for local, e in enumerate(encodings):
        for w in [e, *(e.overflowing or [])]:
            windows.append(w)
            sample.append(local)
    return Windows(windows, sample, names), kept, cut, rooms, skipped


def eval_features(backend, names: Sequence[str], questions: Sequence[str], contexts: Sequence[str],
                  max_length: int = 384, stride: int = 128,
                  max_question_length: int = 64) -> tuple[dict, WindowStats]:
    """Windows for prediction, with the offsets post-processing needs (see
    :func:`helpers.question_answering.prepare_eval_features`, which checks a transformers
    tokenizer and calls this with its backend)."""
    enc, kept, cut, _, skipped = tokenize_windows(backend, names, questions, contexts, max_length, stride,
                                                  max_question_length)
    features: dict[str, list] = {"input_ids": [], "attention_mask": [], "example_index": [],
                                 "offset_mapping": []}
    if enc is not None:
        features |= {k: list(enc[k]) for k in MODEL_INPUTS if k in enc}
        features["example_index"] = [kept[local] for local in enc["overflow_to_sample_mapping"]]
        features["offset_mapping"] = [
            [tuple(o) if s == 1 else None
             for o, s in zip(enc["offset_mapping"][w], enc.sequence_ids(w), strict=True)]
            for w in range(len(enc["input_ids"]))
        ]
    counts = Counter(features["example_index"])
    stats = WindowStats(
        examples=len(questions), windows=len(features["example_index"]),
        windows_per_example=[counts[i] for i in range(len(questions)) if i not in skipped],
        questions_truncated=cut, skipped=skipped,
    )
    return features, stats


# ---------------------------------------------------------------------------------------
# Extractive QA: spans and answers
# ---------------------------------------------------------------------------------------


def postprocess_predictions(
    start_logits: Sequence[np.ndarray],
    end_logits: Sequence[np.ndarray],
    example_index: Sequence[int],
    offset_mapping: Sequence[Sequence[tuple[int, int] | None]],
    contexts: Sequence[str],
    n_best: int = 20,
    max_answer_length: int = 30,
    top_k: int = 1,
) -> list[dict]:
    """Turn per-window start/end logits into answers, numpy only.

    For each example: gather its windows; in each, take the ``n_best`` highest start and end
    logits; skip pairs outside the context, reversed, longer than ``max_answer_length``
    tokens, with empty text, or across a paragraph break (:func:`paragraph_breaks`: a blank line,
    so an answer never spans two paragraphs, nor two passages that open-book QA reads joined by one;
    or the end of a title on its own line); score = start + end logit;
    de-duplicate by character span
    (the best score wins); softmax over the kept candidates gives probabilities. Ties are
    broken by window, then start, then end position, so results are deterministic.

    Args:
        start_logits, end_logits: One 1-D array per window (padding positions may be
            included; they carry no offsets and are skipped).
        example_index: The example of each window.
        offset_mapping: Per window, ``(start, end)`` for context tokens and ``None`` elsewhere
            (as made by :func:`prepare_eval_features`).
        contexts: The contexts, by example index.
        n_best: Start and end positions considered per window.
        max_answer_length: Longest answer, in tokens.
        top_k: Answers returned per example.

    Returns:
        One dict per example: ``answer`` (``""`` if none is valid), ``score``,
        ``probability``, ``start``, ``end`` (character offsets, -1 if none) and
        ``candidates``, the ``top_k`` best as dicts with the same keys.
    """
    if max_answer_length < 1:
        raise QAInputError(f"max_answer_length must be at least 1, got {max_answer_length}")
    per_example: dict[int, list[tuple]] = {i: [] for i in range(len(contexts))}
    breaks: dict[int, list[tuple[int, int]]] = {}
    for w, ex in enumerate(example_index):
        if ex not in breaks:
            breaks[ex] = paragraph_breaks(contexts[ex])
        starts, ends = np.asarray(start_logits[w], dtype=np.float64), np.asarray(end_logits[w],
                                                                                dtype=np.float64)
        offsets = offset_mapping[w]
        n = min(len(offsets), len(starts), len(ends))
        # Stable sort on the negated logits: equal logits keep position order.
        best_starts = np.argsort(-starts[:n], kind="stable")[:n_best]
        best_ends = np.argsort(-ends[:n], kind="stable")[:n_best]
        for s in best_starts:
            for e in best_ends:
                if offsets[s] is None or offsets[e] is None or e < s or e - s + 1 > max_answer_length:
                    continue
                c0, c1 = offsets[s][0], past_marks(contexts[ex], offsets[e][1])
                text = contexts[ex][c0:c1]
                if c1 <= c0 or not text.strip() or crosses_break(breaks[ex], c0, c1):
                    continue
                per_example[ex].append((float(starts[s] + ends[e]), w, int(s), int(e), c0, c1))
    results = []
    for ex, cands in per_example.items():
        best: dict[tuple[int, int], tuple] = {}
        for cand in sorted(cands, key=lambda c: (-c[0], c[1], c[2], c[3])):
            best.setdefault((cand[4], cand[5]), cand)
        ranked = list(best.values())
        if not ranked:
            empty = {"answer": "", "score": float("-inf"), "probability": 0.0, "start": -1, "end": -1}
            results.append({**empty, "candidates": []})
            continue
        scores = np.array([c[0] for c in ranked])
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        top = [
            {"answer": contexts[ex][c[4] : c[5]], "score": c[0], "probability": float(p),
             "start": c[4], "end": c[5]}
            for c, p in zip(ranked[:top_k], probs[:top_k], strict=True)
        ]
        results.append({**top[0], "candidates": top})
    return results


def answer_windows(features: dict, stats: WindowStats, contexts: Sequence[str],
                   run: Callable[[dict], tuple[np.ndarray, np.ndarray]], batch_size: int = 16,
                   n_best: int = 20, max_answer_length: int = 30, top_k: int = 1) -> list[dict]:
    """Answers from :func:`eval_features`' windows: batches → ``run`` → :func:`postprocess_predictions`.

    ``run`` takes a batch (``{input name: lists of token ids}``, unpadded, ``batch_size`` windows in
    window order) and returns its start and end logits as ``(windows, positions)`` arrays, padded
    at the end; the PyTorch families run their model, :mod:`helpers.serving` an ONNX Runtime session.
    Every result has ``skipped``: None, or why the row could not be answered (it then has the
    empty answer); one such row never stops the others.
    """
    keys = [k for k in MODEL_INPUTS if k in features]
    starts, ends = [], []
    for b in range(0, len(features["input_ids"]), batch_size):
        batch = {k: features[k][b : b + batch_size] for k in keys}
        start, end = run(batch)
        for i, ids in enumerate(batch["input_ids"]):
            starts.append(np.asarray(start[i, : len(ids)], dtype=np.float32))
            ends.append(np.asarray(end[i, : len(ids)], dtype=np.float32))
    results = postprocess_predictions(starts, ends, features["example_index"], features["offset_mapping"],
                                      [c if isinstance(c, str) else "" for c in contexts], n_best,
                                      max_answer_length, top_k)
    for i, r in enumerate(results):
        r["skipped"] = stats.skipped.get(i)
    return results


def decide_answer(question: str, result: dict, yes_no_answer, context: str = "") -> dict:
    """What is answered to ``question``, from the input alone, in deployment and evaluation alike.

    A skipped row keeps its empty answer (``kind`` ``"skipped"``); a yes/no question
    (:func:`is_yes_no_question`) gets ``yes_no_answer`` when one is set: a fixed answer (the prior),
    or a :class:`~helpers.core.yes_no.YesNoReader` that decides from the question and ``context``;
    anything else keeps its span. The gold answer never enters: evaluation scores exactly what
    deployment would say.
    """
    if result.get("skipped"):
        return {**result, "kind": "skipped"}
    if yes_no_answer and is_yes_no_question(question):
        answer = yes_no_answer if isinstance(yes_no_answer, str) else yes_no_answer.decide(question, context)
        return {**result, "kind": "yes/no", "answer": answer, "start": -1, "end": -1}
    return {**result, "kind": "span"}

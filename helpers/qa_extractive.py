"""Extractive question answering: answer location, window features, span post-processing.

The contract (design notes §5), in short:

- (question, context) pairs are tokenised with truncation of the *context only*, into windows
  of at most ``max_length`` tokens that overlap by ``stride`` tokens. ``stride`` has the fast
  tokenizer's meaning: the number of context tokens shared by consecutive windows (older
  scripts called the *step* between windows the stride; here the step is ``room - stride``).
- Question and context tokens are told apart with ``sequence_ids()``, never ``token_type_ids``
  (models such as DistilBERT or RoBERTa have none), and the context is the first..last token
  with sequence id 1.
- A training window is labelled with the answer's first and last token only if it holds the
  whole answer; otherwise it points at the no-answer position (CLS, else BOS, else 0).
- Post-processing is numpy-only: per example, top-n start and end logits over all its
  windows, invalid pairs skipped, de-duplicated by character span, softmax over the kept
  candidates; an example with no valid candidate gets ``""``.

Every function takes its settings as explicit arguments, so it can be tested and reused.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

YES_NO = {"yes", "no"}


class QAInputError(ValueError):
    """Settings or inputs that cannot make windows; the message says which and how to fix it."""


# ---------------------------------------------------------------------------------------
# Locating answers in their contexts
# ---------------------------------------------------------------------------------------


def locate_answer(context: str, answer: str, start: int | None = None) -> tuple[int, str]:
    """Character start of ``answer`` in ``context``, and how it was found.

    Args:
        context: The passage.
        answer: The gold answer text; surrounding whitespace is ignored.
        start: A character start given with the data, if any.

    Returns:
        ``(start, status)``. ``status`` is ``"given"`` (the given start is right),
        ``"repaired"`` (the given start was wrong; the occurrence nearest to it is used),
        ``"found"`` (no start given; the first occurrence), ``"found-case"`` (only a
        case-insensitive match), ``"yes/no"`` or ``"not-found"`` (then ``start`` is -1).
    """
    text = answer.strip()
    if not text:
        return -1, "empty"
    if start is not None and start >= 0 and context[start : start + len(text)] == text:
        return start, "given"
    hits = [m.start() for m in re.finditer(re.escape(text), context)]
    if hits:
        if start is not None and start >= 0:
            return min(hits, key=lambda h: (abs(h - start), h)), "repaired"
        return hits[0], "found"
    if text.lower() in YES_NO:
        return -1, "yes/no"
    low = context.lower().find(text.lower())
    if low >= 0:
        return low, "found-case"
    return -1, "not-found"


def locate_answers(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``answer_start``, ``answer_text`` and ``answer_status`` columns to a QA frame.

    ``frame`` has ``question``, ``answer``, ``context`` and optionally ``answer_start``. The
    answer text is taken from the context at the located start (so a case-insensitive match
    uses the context's spelling), stripped of surrounding whitespace.
    """
    starts, texts, statuses = [], [], []
    given = frame["answer_start"] if "answer_start" in frame else [None] * len(frame)
    for context, answer, g in zip(frame["context"], frame["answer"], given, strict=True):
        g = None if g is None or g == "" or pd.isna(g) else int(g)
        s, status = locate_answer(context, answer, g)
        starts.append(s)
        texts.append(context[s : s + len(answer.strip())] if s >= 0 else answer.strip())
        statuses.append(status)
    return frame.assign(answer_start=starts, answer_text=texts, answer_status=statuses)


# ---------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------


@dataclass
class WindowStats:
    """What :func:`prepare_train_features` / :func:`prepare_eval_features` did."""

    examples: int = 0
    windows: int = 0
    windows_per_example: list[int] = field(default_factory=list)
    questions_truncated: int = 0
    labelled_windows: int = 0
    answers_without_position: int = 0
    answers_longer_than_window: int = 0

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
            "answers_longer_than_window": self.answers_longer_than_window,
        }


def _require_fast(tokenizer) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise QAInputError(
            f"{type(tokenizer).__name__} is a slow tokenizer: extractive QA needs a fast tokenizer "
            "(it maps tokens back to character offsets). Fix: load it with use_fast=True "
            "(helpers.models.load_tokenizer does), or pick a model that has a tokenizer.json."
        )


def no_answer_index(tokenizer, input_ids: Sequence[int]) -> int:
    """Where a window without the answer points: the CLS token, else BOS, else position 0."""
    for token_id in (tokenizer.cls_token_id, tokenizer.bos_token_id):
        if token_id is not None and token_id in input_ids:
            return list(input_ids).index(token_id)
    return 0


def _cap_questions(tokenizer, questions: Sequence[str], max_length: int, stride: int,
                   max_question_length: int) -> tuple[list[str], int, list[int]]:
    """Cut questions to ``max_question_length`` tokens; check every window has room for context."""
    special = tokenizer.num_special_tokens_to_add(pair=True)
    enc = tokenizer(list(questions), add_special_tokens=False, return_offsets_mapping=True)
    capped, cut, lengths = [], 0, []
    for i, (q, ids, offsets) in enumerate(zip(questions, enc["input_ids"], enc["offset_mapping"],
                                             strict=True)):
        if len(ids) + special + 1 > max_length:
            raise QAInputError(
                f"question {i} is {len(ids)} tokens long, which leaves no room for context in "
                f"MAX_LENGTH={max_length} tokens ({special} special tokens). Fix: shorten the "
                "question, or raise MAX_LENGTH."
            )
        if len(ids) > max_question_length:
            q = q[: offsets[max_question_length - 1][1]]
            cut += 1
            ids = ids[:max_question_length]
        room = max_length - len(ids) - special
        if stride >= room:
            raise QAInputError(
                f"DOC_STRIDE={stride} must be smaller than the room for context in a window, which "
                f"is {room} tokens for question {i} (MAX_LENGTH={max_length} minus {len(ids)} "
                f"question tokens and {special} special tokens). Fix: lower DOC_STRIDE (a quarter of "
                "MAX_LENGTH is usual) or raise MAX_LENGTH."
            )
        capped.append(q)
        lengths.append(len(ids))
    return capped, cut, lengths


def _check_inputs(questions, contexts) -> None:
    if len(questions) != len(contexts):
        raise QAInputError(f"{len(questions)} questions but {len(contexts)} contexts")
    for i, (q, c) in enumerate(zip(questions, contexts, strict=True)):
        if not isinstance(c, str) or not c.strip():
            raise QAInputError(f"example {i} has no context. Fix: every question needs its passage.")
        if not isinstance(q, str) or not q.strip():
            raise QAInputError(f"example {i} has an empty question.")


def _tokenize_windows(tokenizer, questions, contexts, max_length, stride, max_question_length):
    _require_fast(tokenizer)
    _check_inputs(questions, contexts)
    if tokenizer.padding_side != "right":
        # Question first, context second: the window arithmetic assumes right padding.
        raise QAInputError("the tokenizer pads on the left; set tokenizer.padding_side = 'right'")
    capped, cut, _ = _cap_questions(tokenizer, questions, max_length, stride, max_question_length)
    enc = tokenizer(
        capped, list(contexts), truncation="only_second", max_length=max_length, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True, padding=False,
    )
    return enc, cut


def _context_range(sequence_ids: Sequence[int | None]) -> tuple[int, int]:
    ids = [i for i, s in enumerate(sequence_ids) if s == 1]
    return ids[0], ids[-1]


def prepare_train_features(
    tokenizer,
    questions: Sequence[str],
    contexts: Sequence[str],
    answer_starts: Sequence[int],
    answer_texts: Sequence[str],
    max_length: int = 384,
    stride: int = 128,
    max_question_length: int = 64,
) -> tuple[dict, WindowStats]:
    """Windows with start/end token labels for training.

    Examples whose answer has no position (``answer_start < 0``: yes/no, not found) are left
    out and counted: they cannot teach a span. An answer longer than any window is counted
    and its windows point at the no-answer position.

    Args:
        tokenizer: A *fast* tokenizer.
        questions, contexts: The examples.
        answer_starts: Character start of each answer (-1 when it has none).
        answer_texts: Answer texts as they stand in the context.
        max_length: Tokens per window, question and special tokens included.
        stride: Context tokens shared by consecutive windows.
        max_question_length: Questions are cut to this many tokens (counted in the stats).

    Returns:
        ``(features, stats)``; ``features`` has ``input_ids``, ``attention_mask`` (and
        ``token_type_ids`` if the tokenizer makes them), ``start_positions``,
        ``end_positions`` and ``example_index`` (the position in the inputs), one entry per
        window.

    Raises:
        QAInputError: a slow tokenizer, a missing context, ``stride`` not below the room for
            context, or a question that leaves no room for context.
    """
    stats = WindowStats(examples=len(questions))
    keep = [i for i, s in enumerate(answer_starts) if s is not None and s >= 0]
    stats.answers_without_position = len(questions) - len(keep)
    features: dict[str, list] = {"start_positions": [], "end_positions": [], "example_index": []}
    if not keep:
        return features, stats
    enc, stats.questions_truncated = _tokenize_windows(
        tokenizer, [questions[i] for i in keep], [contexts[i] for i in keep], max_length, stride,
        max_question_length,
    )
    model_keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc]
    for k in model_keys:
        features[k] = []
    covered: Counter = Counter()
    contained: set[int] = set()
    for w in range(len(enc["input_ids"])):
        local = enc["overflow_to_sample_mapping"][w]
        example = keep[local]
        offsets = enc["offset_mapping"][w]
        first, last = _context_range(enc.sequence_ids(w))
        start_char = answer_starts[example]
        end_char = start_char + len(answer_texts[example])
        cls = no_answer_index(tokenizer, enc["input_ids"][w])
        start_tok = end_tok = cls
        if offsets[first][0] <= start_char and offsets[last][1] >= end_char:
            # First context token that ends after the answer starts; last that starts before
            # it ends: a word-piece holding part of the answer counts as part of the span.
            start_tok = next(t for t in range(first, last + 1) if offsets[t][1] > start_char)
            end_tok = next(t for t in range(last, first - 1, -1) if offsets[t][0] < end_char)
            contained.add(example)
            stats.labelled_windows += 1
        covered[example] += 1
        for k in model_keys:
            features[k].append(enc[k][w])
        features["start_positions"].append(start_tok)
        features["end_positions"].append(end_tok)
        features["example_index"].append(example)
    stats.windows = len(features["example_index"])
    stats.windows_per_example = [covered[i] for i in keep]
    stats.answers_longer_than_window = sum(
        1 for i in keep if i not in contained and _answer_tokens(tokenizer, answer_texts[i])
        > max_length - tokenizer.num_special_tokens_to_add(pair=True) - 1
    )
    return features, stats


def _answer_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def prepare_eval_features(
    tokenizer,
    questions: Sequence[str],
    contexts: Sequence[str],
    max_length: int = 384,
    stride: int = 128,
    max_question_length: int = 64,
) -> tuple[dict, WindowStats]:
    """Windows for prediction, with the offsets post-processing needs.

    ``offset_mapping`` keeps the character offsets of context tokens only; every other
    position (question, special and padding tokens) is ``None``, so a question's offsets can
    never be read as context offsets.

    Returns:
        ``(features, stats)``; ``features`` has the model inputs, ``offset_mapping`` and
        ``example_index``, one entry per window.
    """
    enc, cut = _tokenize_windows(tokenizer, questions, contexts, max_length, stride,
                                 max_question_length)
    features: dict[str, list] = {
        k: list(enc[k]) for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc
    }
    features["example_index"] = list(enc["overflow_to_sample_mapping"])
    features["offset_mapping"] = [
        [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][w], enc.sequence_ids(w),
                                                     strict=True)]
        for w in range(len(enc["input_ids"]))
    ]
    counts = Counter(features["example_index"])
    stats = WindowStats(
        examples=len(questions), windows=len(features["example_index"]),
        windows_per_example=[counts[i] for i in range(len(questions))], questions_truncated=cut,
    )
    return features, stats


# ---------------------------------------------------------------------------------------
# Post-processing
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
    tokens, or with empty text; score = start + end logit; de-duplicate by character span
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
    for w, ex in enumerate(example_index):
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
                c0, c1 = offsets[s][0], offsets[e][1]
                if c1 <= c0 or not contexts[ex][c0:c1].strip():
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

"""Filters and generation: reject degenerate questions, and write a spread of questions per context.

:func:`generate_questions` runs splitting, candidates, rewriting and the filters over many
contexts; :func:`describe_generation` summarises the result.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Collection, Sequence

import pandas as pd

from helpers.core.text import STOPWORDS, Paragraph, sentence_spans, split_paragraphs
from helpers.synthetic_questions.candidates import Candidate, find_answer_candidates
from helpers.synthetic_questions.lexicon import NON_PERSON_WORDS
from helpers.synthetic_questions.rewriting import cloze_to_question

KINDS = ("date", "number", "person", "place", "name")
COLUMNS = ["question", "answer", "answer_start", "context", "kind", "context_index"]


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def question_rejection_reason(
    question: str,
    answer: str,
    sentence: str,
    seen: Collection[str] = (),
    min_question_words: int = 4,
    max_question_words: int = 30,
) -> str | None:
    """Why a generated question is degenerate, or None when it is kept.

    Args:
        question: The question.
        answer: Its answer text.
        sentence: The sentence it was made from.
        seen: Normalised questions already kept (see :func:`normalise_question`).
        min_question_words: Fewest words allowed.
        max_question_words: Most words allowed.

    Returns:
        ``"trivial_answer"`` (only a stop word or punctuation), ``"too_short"``,
        ``"too_long"``, ``"answer_in_question"``, ``"same_as_sentence"``, ``"duplicate"``,
        or None.
    """
    if not re.search(r"\w", answer) or answer.strip().lower() in STOPWORDS:
        return "trivial_answer"
    n_words = len(question.split())
    if n_words < min_question_words:
        return "too_short"
    if n_words > max_question_words:
        return "too_long"
    if re.search(rf"(?<!\w){re.escape(answer.strip().lower())}(?!\w)", question.lower()):
        return "answer_in_question"
    if _norm(question) == _norm(sentence):
        return "same_as_sentence"
    if normalise_question(question) in seen:
        return "duplicate"
    return None


def normalise_question(question: str) -> str:
    """Lowercased words of a question, the key under which duplicates are detected."""
    return _norm(question)


def _title_entities(paragraphs: list[Paragraph], context: str) -> tuple[set[str], set[str]]:
    """Known people and names from the paragraph titles.

    A title of two to four capitalised words whose paragraph mentions a birth, a death or
    "he"/"she" is taken for a person; every title (without a "(novel)"-like qualifier) is a
    known name.
    """
    people, names = set(), set()
    for para in paragraphs:
        title = re.sub(r"\s*\([^)]*\)\s*$", "", para.title).strip()
        if not title:
            continue
        names.add(title)
        body = context[para.start : para.end]
        words = title.split()
        capitalised = [w for w in words if w[0].isupper()]
        looks_personal = re.search(r"\b(?:born|died)\b|(?:^|[.!?]\s+)(?:He|She)\b", body)
        if (
            2 <= len(capitalised) <= 4 and looks_personal
            and not any(w.lower() in NON_PERSON_WORDS for w in words)
        ):
            people.add(title)
    return people, names


def _pick(
    groups: list[tuple[int, list[tuple[str, Candidate]]]], k: int, rng: random.Random, seen: set[str]
) -> list[tuple[str, Candidate, int]]:
    """Up to ``k`` questions, one sentence at a time, alternating between paragraphs.

    Each round visits the sentences in a shuffled order that alternates paragraphs and takes
    one question per sentence, preferring the answer kind used least so far, so the picks
    spread over sentences, both paragraphs and kinds before any sentence gives a second one.
    """
    by_para: dict[int, list[int]] = {}
    for gi, (para, options) in enumerate(groups):
        rng.shuffle(options)
        by_para.setdefault(para, []).append(gi)
    paras = sorted(by_para)
    rng.shuffle(paras)
    for p in paras:
        rng.shuffle(by_para[p])
    order = []
    while any(by_para[p] for p in paras):
        for p in paras:
            if by_para[p]:
                order.append(by_para[p].pop(0))
    chosen: list[tuple[str, Candidate, int]] = []
    kinds: Counter = Counter()
    local: set[str] = set()
    while len(chosen) < k and any(groups[g][1] for g in order):
        for g in order:
            options = groups[g][1]
            while options and len(chosen) < k:
                best = min(range(len(options)), key=lambda i: (kinds[options[i][1].kind], i))
                question, cand = options.pop(best)
                key = normalise_question(question)
                if key in seen or key in local:
                    continue
                chosen.append((question, cand, g))
                kinds[cand.kind] += 1
                local.add(key)
                break
    return chosen


def generate_questions(
    contexts: Sequence[str],
    max_per_context: int = 3,
    seed: int = 0,
    min_question_words: int = 4,
    max_question_words: int = 30,
) -> pd.DataFrame:
    """Synthetic (question, answer, answer_start, context) rows for extractive QA.

    For each context: split it into paragraphs and sentences, find answer candidates in
    every sentence, turn each into a question with :func:`cloze_to_question`, drop the
    degenerate ones (:func:`question_rejection_reason`) and keep up to ``max_per_context``,
    spread over sentences, paragraphs and answer kinds. A question already generated for an
    earlier context is a duplicate and is dropped.

    Args:
        contexts: The contexts, in order.
        max_per_context: Most questions per context.
        seed: Seed of the choice among candidates; the same seed gives the same frame.
        min_question_words: Fewest words in a question.
        max_question_words: Most words in a question.

    Returns:
        Columns ``question, answer, answer_start, context, kind, context_index``, where
        ``context[answer_start:answer_start + len(answer)] == answer`` on every row.
    """
    rng = random.Random(seed)
    rows = []
    seen: set[str] = set()
    for ci, context in enumerate(contexts):
        if not isinstance(context, str) or not context.strip():
            continue
        paragraphs = split_paragraphs(context)
        people, names = _title_entities(paragraphs, context)
        spans = [
            (pi, s, e) for pi, p in enumerate(paragraphs) for s, e in sentence_spans(context, p.start, p.end)
        ]
        # A first pass finds people named with a cue ("by Larry Page") so that a later bare
        # mention ("Page visited Stanford") is recognised too.
        for _, s, e in spans:
            found = find_answer_candidates(context[s:e], people, names)
            people |= {c.text for c in found if c.kind == "person"}
        groups = []
        for pi, s, e in spans:
            sentence = context[s:e]
            options = []
            for cand in find_answer_candidates(sentence, people, names):
                question = cloze_to_question(sentence, cand)
                if question is None:
                    continue
                reason = question_rejection_reason(
                    question, cand.text, sentence, (), min_question_words, max_question_words
                )
                if reason is None:
                    options.append((question, Candidate(cand.text, cand.start + s, cand.end + s, cand.kind)))
            if options:
                groups.append((pi, options))
        for question, cand, _ in _pick(groups, max_per_context, rng, seen):
            seen.add(normalise_question(question))
            rows.append([question, cand.text, cand.start, context, cand.kind, ci])
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype({"answer_start": int, "context_index": int})


def describe_generation(df: pd.DataFrame, n_contexts: int) -> dict:
    """Counts that summarise a :func:`generate_questions` frame.

    Args:
        df: The generated frame.
        n_contexts: How many contexts went in (contexts without questions leave no row).

    Returns:
        ``{"total", "per_kind": {kind: count}, "contexts_with_questions",
        "contexts_with_none", "mean_per_context"}``.
    """
    counts = df["kind"].value_counts() if len(df) else pd.Series(dtype=int)
    with_questions = int(df["context_index"].nunique()) if len(df) else 0
    return {
        "total": int(len(df)),
        "per_kind": {kind: int(counts.get(kind, 0)) for kind in KINDS},
        "contexts_with_questions": with_questions,
        "contexts_with_none": int(n_contexts - with_questions),
        "mean_per_context": float(len(df) / n_contexts) if n_contexts else 0.0,
    }

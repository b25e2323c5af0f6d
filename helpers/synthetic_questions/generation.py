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

from helpers.core.text import STOPWORDS, Paragraph, bare_title, sentence_spans, split_paragraphs
from helpers.synthetic_questions.bridge import bridge_phrases, bridge_question
from helpers.synthetic_questions.candidates import Candidate, find_answer_candidates
from helpers.synthetic_questions.comparison import comparison_questions
from helpers.synthetic_questions.lexicon import DETERMINERS, NON_PERSON_WORDS, PREPOSITIONS
from helpers.synthetic_questions.rewriting import cloze_to_question

KINDS = ("date", "number", "person", "place", "name", "comparison", "bridge")
COLUMNS = ["question", "answer", "answer_start", "context", "kind", "context_index"]
DROPPED_COLUMNS = ["question", "answer", "kind", "context_index", "reason"]
REASONS = ("trivial_answer", "too_short", "too_long", "answer_in_question", "answer_words_in_question",
           "fragment", "unresolved_pronoun", "same_as_sentence", "duplicate")
"""Why a written question is dropped, in the order the checks run (see :func:`question_rejection_reason`)."""

_PRONOUN = re.compile(r"\b(he|she|it|they|him|her|them|his|its|their)\b", re.IGNORECASE)
_PERSONAL, _PLURAL = {"he", "she", "him", "her", "his"}, {"they", "them", "their"}
_PARENTHETICAL = re.compile(r"\s+\([^()]*\)")
_DANGLING = {"the", "a", "an", "and", "or", "but", "nor", "whose", "which", "that", "its", "his", "her",
             "their", "is", "was", "were", "are"}


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
    """Why a generated question would not be accepted by a reader, or None when it is kept.

    Args:
        question: The question.
        answer: Its answer text.
        sentence: The sentence it was made from.
        seen: Normalised questions already kept (see :func:`normalise_question`).
        min_question_words: Fewest words allowed.
        max_question_words: Most words allowed.

    Returns:
        One of :data:`REASONS`, the first that applies: ``"trivial_answer"`` (only a stop word or
        punctuation), ``"too_short"``, ``"too_long"``, ``"answer_in_question"`` (the whole answer),
        ``"answer_words_in_question"`` (a content word or number of the answer: the question gives
        it away), ``"fragment"`` (unbalanced brackets or quotes, or it stops on an article, a
        conjunction, a comma or a verb with nothing after it: a cut-off clause),
        ``"unresolved_pronoun"`` (a he/it/they with nothing in the question it could refer to;
        :func:`resolve_pronoun` names the paragraph's subject where it can), ``"same_as_sentence"``,
        ``"duplicate"``; or None.
    """
    if not re.search(r"\w", answer) or answer.strip().lower() in STOPWORDS:
        return "trivial_answer"
    n_words = len(question.split())
    if n_words < min_question_words:
        return "too_short"
    if n_words > max_question_words:
        return "too_long"
    low = question.lower()
    if re.search(rf"(?<!\w){re.escape(answer.strip().lower())}(?!\w)", low):
        return "answer_in_question"
    asked = set(re.findall(r"\w+", low))
    if any(w in asked for w in re.findall(r"\w+", answer.lower())
           if w not in STOPWORDS and (len(w) > 2 or w.isdigit())):
        return "answer_words_in_question"
    if _is_fragment(question):
        return "fragment"
    if _unresolved_pronoun(question):
        return "unresolved_pronoun"
    if _norm(question) == _norm(sentence):
        return "same_as_sentence"
    if normalise_question(question) in seen:
        return "duplicate"
    return None


def _is_fragment(question: str) -> bool:
    """Unbalanced brackets or quotes, or a last word that cannot end a question."""
    if question.count("(") != question.count(")") or question.count("[") != question.count("]"):
        return True
    if question.count('"') % 2 or re.search(r"[,;:\-–(]\s*\?$", question):
        return True
    if re.search(r",\s+(?:he|she|they)\s", question):  # "In what year did Marie, she qualify ...?"
        return True
    words = re.findall(r"[\w']+", question)
    return bool(words) and words[-1].lower() in _DANGLING


def _unresolved_pronoun(question: str) -> bool:
    """A pronoun with no name before it in the question ("Who was it coached by?", "What did they
    release?"); one after a name may refer to it ("... Robert Koch Institute ... as its first director")."""
    match = _PRONOUN.search(question)
    if not match:
        return False
    names = re.findall(r"\b[A-Z][\w'-]*", question[:match.start()])
    return len(names) < 2  # the first word is capitalised anyway


def tidy_question(question: str) -> str:
    """A question without its parenthetical asides ("Who (1913 – 1986) was ..." → "Who was ..."): a
    reader never needs them, and they carry dates and names that are not asked about."""
    tidy = _PARENTHETICAL.sub("", question)
    return re.sub(r"\s+([?,])", r"\1", tidy)


def resolve_pronoun(question: str, title: str, is_person: bool) -> str:
    """The question with its first he/she/it (him, his, her, its) replaced by ``title``, the subject of
    the paragraph the question was written from ("What was his first film?" → "What was Stanley
    Kubrick's first film?"). Left as it is when there is no title, when the pronoun is plural, or when
    it does not fit the title (he/she for a title that is not a person, it for a person):
    :func:`question_rejection_reason` then drops it as ``"unresolved_pronoun"``. Later pronouns stay:
    they now have the title before them."""
    match = _PRONOUN.search(question)
    title = bare_title(title)
    if not match or not title:
        return question
    word = match.group(1).lower()
    if word in _PLURAL or (word in _PERSONAL) != is_person:
        return question
    after = question[match.end():].lstrip()
    following = re.match(r"[\w']+", after)
    object_her = word == "her" and (not following or following.group(0).lower() in DETERMINERS | PREPOSITIONS)
    if word in {"his", "its"} or (word == "her" and not object_her):
        name = title + ("'" if title.endswith("s") else "'s")
    else:
        name = title
    if match.start() == 0:
        name = name[0].upper() + name[1:]
    return question[:match.start()] + name + question[match.end():]


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
        title = bare_title(para.title)
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
    """Synthetic (question, answer, answer_start, context) rows for extractive QA
    (:func:`generate_with_dropped` without the dropped questions).

    Returns:
        Columns ``question, answer, answer_start, context, kind, context_index``, where
        ``context[answer_start:answer_start + len(answer)] == answer`` on every row.
    """
    return generate_with_dropped(contexts, max_per_context, seed, min_question_words, max_question_words)[0]


def generate_with_dropped(
    contexts: Sequence[str],
    max_per_context: int = 3,
    seed: int = 0,
    min_question_words: int = 4,
    max_question_words: int = 30,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic questions for extractive QA, and the ones the filters dropped, with the reason.

    For each context: split it into paragraphs and sentences; write one comparison question
    across two of its paragraphs where their dated facts allow (kind ``"comparison"``, see
    :mod:`helpers.synthetic_questions.comparison`; the answer is a title), and one bridge question
    where a paragraph names another's subject as the maker of its own (kind ``"bridge"``: "Where
    was the director of Isle of Larks born?", see :mod:`helpers.synthetic_questions.bridge`; it goes
    through the same filters); find answer candidates
    in every sentence, turn each into a question with :func:`cloze_to_question`, drop the ones a
    reader would not accept (:func:`question_rejection_reason`, after :func:`tidy_question` and
    :func:`resolve_pronoun`) and fill up to ``max_per_context``, spread over sentences, paragraphs
    and answer kinds. A question already generated for an earlier context is a duplicate and is
    dropped.

    Args:
        contexts: The contexts, in order.
        max_per_context: Most questions per context.
        seed: Seed of the choice among candidates; the same seed gives the same frame.
        min_question_words: Fewest words in a question.
        max_question_words: Most words in a question.

    Returns:
        ``(kept, dropped)``: the questions as :func:`generate_questions` returns them, and every
        written question a filter dropped (columns :data:`DROPPED_COLUMNS`; ``reason`` is one of
        :data:`REASONS`). Questions left over once a context has its ``max_per_context`` are in
        neither.
    """
    dropped: list = []
    rng, compare_rng = random.Random(seed), random.Random(seed + 1)
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
        groups, bridges = [], []
        phrases = bridge_phrases(context, paragraphs)
        for pi, s, e in spans:
            sentence = context[s:e]
            title = paragraphs[pi].title
            subject = bare_title(title)
            phrase = phrases.get(subject)
            options = []
            for cand in find_answer_candidates(sentence, people, names):
                question = cloze_to_question(sentence, cand)
                if question is None:
                    continue
                question = resolve_pronoun(tidy_question(question), title, subject in people)
                reason = question_rejection_reason(
                    question, cand.text, sentence, (), min_question_words, max_question_words
                )
                if reason is None:
                    options.append((question, Candidate(cand.text, cand.start + s, cand.end + s, cand.kind)))
                else:
                    dropped.append([question, cand.text, cand.kind, ci, reason])
                bridged = None if not phrase or reason else bridge_question(question, subject, phrase)
                if bridged is not None:
                    why = question_rejection_reason(bridged, cand.text, sentence, (), min_question_words,
                                                    max_question_words)
                    if why is None:
                        at = Candidate(cand.text, cand.start + s, cand.end + s, "bridge")
                        bridges.append((bridged, at))
                    else:
                        dropped.append([bridged, cand.text, "bridge", ci, why])
            if options:
                groups.append((pi, options))
        budget = max_per_context
        for question, fact in comparison_questions(context, paragraphs, compare_rng, people)[:1]:
            if budget and normalise_question(question) not in seen:
                seen.add(normalise_question(question))
                rows.append([question, fact.title, fact.start, context, "comparison", ci])
                budget -= 1
        rng.shuffle(bridges)
        for question, cand in bridges[:1]:
            if budget and normalise_question(question) not in seen:
                seen.add(normalise_question(question))
                rows.append([question, cand.text, cand.start, context, "bridge", ci])
                budget -= 1
        for question, cand, _ in _pick(groups, budget, rng, seen):
            seen.add(normalise_question(question))
            rows.append([question, cand.text, cand.start, context, cand.kind, ci])
    df = pd.DataFrame(rows, columns=COLUMNS)
    return (df.astype({"answer_start": int, "context_index": int}),
            pd.DataFrame(dropped, columns=DROPPED_COLUMNS).astype({"context_index": int}))


def describe_generation(df: pd.DataFrame, n_contexts: int, dropped: pd.DataFrame | None = None) -> dict:
    """Counts that summarise a :func:`generate_questions` frame.

    Args:
        df: The generated frame.
        n_contexts: How many contexts went in (contexts without questions leave no row).
        dropped: The dropped questions of :func:`generate_with_dropped`, counted by reason if given.

    Returns:
        ``{"total", "per_kind": {kind: count}, "contexts_with_questions",
        "contexts_with_none", "mean_per_context"}``, and ``"dropped": {reason: count}`` (every reason
        of :data:`REASONS`) with ``dropped``.
    """
    counts = df["kind"].value_counts() if len(df) else pd.Series(dtype=int)
    with_questions = int(df["context_index"].nunique()) if len(df) else 0
    stats = {
        "total": int(len(df)),
        "per_kind": {kind: int(counts.get(kind, 0)) for kind in KINDS},
        "contexts_with_questions": with_questions,
        "contexts_with_none": int(n_contexts - with_questions),
        "mean_per_context": float(len(df) / n_contexts) if n_contexts else 0.0,
    }
    if dropped is not None:
        reasons = dropped["reason"].value_counts()
        stats["dropped"] = {reason: int(reasons.get(reason, 0)) for reason in REASONS}
    return stats


def dropped_examples(dropped: pd.DataFrame, per_reason: int = 2, seed: int = 0) -> pd.DataFrame:
    """A few dropped questions of each reason (a seeded sample), for the notebook to show."""
    if dropped.empty:
        return dropped
    parts = [group.sample(min(per_reason, len(group)), random_state=seed)
             for _, group in dropped.groupby("reason", sort=False)]
    order = {reason: i for i, reason in enumerate(REASONS)}
    table = pd.concat(parts).sort_values("reason", key=lambda r: r.map(order), kind="stable")
    return table[["reason", "question", "answer", "kind"]].reset_index(drop=True)

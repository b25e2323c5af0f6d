"""Comparison questions across a context's paragraphs: which of two titled subjects came first.

Real multi-hop questions often compare two entities, one per paragraph ("Who was born first,
Ada Brun or Karl Weiss?", "Which was founded earlier, Harrow Mill or the Salt Road company?").
The answer is one of the two titles, so it is a span of the context, and reading it needs a fact
from each paragraph. The facts read here are a year tied to a verb in the first two sentences
of a titled paragraph (the sentences about the title itself): born, founded, formed, released,
published, opened, built. Two paragraphs whose facts share a verb and differ in year give a
question; no question is written when anything is unclear (no title, two different verbs, the
same year, the title not found where the paragraph starts).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from helpers.core.text import Paragraph, bare_title, sentence_spans, split_paragraphs
from helpers.core.yes_no import describe
from helpers.synthetic_questions.lexicon import is_participle

YEAR = r"(1\d{3}|20\d{2})"
# The verb of a fact as the question says it, from the verbs the text may use.
VERBS = {
    "born": "born", "founded": "founded", "established": "founded", "formed": "formed",
    "released": "released", "published": "published", "opened": "opened", "built": "built",
    "constructed": "built", "completed": "built",
}
_FACT = re.compile(rf"\b({'|'.join(VERBS)})\b[^.;]{{0,60}}?\b(?:in|on|of)\s+(?:[^.;\d]{{0,20}})?{YEAR}\b",
                   re.IGNORECASE)
# "Ada Brun (born 3 May 1901 ...)", "Ada Brun (3 May 1901 – 1987)": a life's dates right after the
# name (a film's "(1997)" is not one: it has neither "born" nor a range).
_LIFE = re.compile(rf"^[^.(]{{0,80}}\((?:born\s+[^()\d]{{0,30}}?(?:\d{{1,2}}\s+)?(?:[A-Z][a-z]+\s+)?{YEAR}\b"
                   rf"|[^()\d]{{0,30}}?(?:\d{{1,2}}\s+)?(?:[A-Z][a-z]+\s+)?{YEAR}\s*[–-])")


@dataclass(frozen=True)
class Fact:
    """A paragraph's dated fact: its title (as the context spells it, at ``start``), verb and year."""

    title: str
    start: int
    verb: str
    year: int


def paragraph_fact(context: str, paragraph: Paragraph, people: frozenset[str] | set[str] = frozenset()
                   ) -> Fact | None:
    """The first dated fact about a titled paragraph's subject, or None. A birth counts only for a
    title in ``people`` (a film's paragraph may well say who was born when)."""
    title = bare_title(paragraph.title)
    if not title or not context.startswith(title, paragraph.title_start):
        return None
    body = context[paragraph.title_start:paragraph.end]
    person = title in people
    life = _LIFE.match(body)
    if life and person:
        return Fact(title, paragraph.title_start, "born", int(life.group(1) or life.group(2)))
    for start, end in sentence_spans(context, paragraph.start, paragraph.end)[:2]:
        match = _FACT.search(context[start:end])
        if match and (match.group(1).lower() == "born") == person:
            return Fact(title, paragraph.title_start, VERBS[match.group(1).lower()], int(match.group(2)))
    return None


def comparison_questions(context: str, paragraphs: list[Paragraph], rng: random.Random,
                         people: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, Fact]]:
    """Comparison questions between pairs of paragraphs of ``context``, each with the fact that answers
    it (``people``: the titles that are people, see :func:`paragraph_fact`).

    "Who was born first, A or B?" for people, "Which was founded first, A or B?" for the other verbs,
    or the same with "later" / "more recently"; the order of A and B and the direction are drawn from
    ``rng``. The answer is the answering fact's title, at ``fact.start`` in the context.
    """
    facts = [f for f in (paragraph_fact(context, p, people) for p in paragraphs) if f is not None]
    questions = []
    for i, a in enumerate(facts):
        for b in facts[i + 1:]:
            if a.verb != b.verb or a.year == b.year or a.title == b.title:
                continue
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            earliest = rng.random() < 0.5
            answer = min(a, b, key=lambda f: f.year) if earliest else max(a, b, key=lambda f: f.year)
            when = "first" if earliest else ("later" if a.verb == "born" else "more recently")
            who = "Who" if a.verb == "born" else "Which"
            questions.append((f"{who} was {a.verb} {when}, {first.title} or {second.title}?", answer))
    return questions


# ---------------------------------------------------------------------------------------
# Yes/no comparisons, for the yes/no reader (helpers.core.yes_no)
# ---------------------------------------------------------------------------------------

_GRAIN = ("year", "decade", "century")


@dataclass(frozen=True)
class Described:
    """A titled paragraph's subject and what its first sentence says it is (:func:`describe`)."""

    title: str
    noun: str
    origin: str
    past: bool


def paragraph_description(context: str, paragraph: Paragraph) -> Described | None:
    """The subject's description from the first sentence of a titled paragraph, or None."""
    title = bare_title(paragraph.title)
    spans = sentence_spans(context, paragraph.start, paragraph.end)
    if not title or not spans:
        return None
    d = describe(context[spans[0][0]:spans[0][1]], is_participle)
    return None if d is None else Described(title, d.noun, d.origin, d.past)


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in set("aeiou"):
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "sh", "ch", "x", "z")) else "s")


@dataclass(frozen=True)
class _Known:
    """One titled paragraph of the corpus (its text with the title, in the title-line layout) and
    what the writer read off it."""

    text: str
    fact: Fact | None
    description: Described | None


def _both_question(a: Described, b: Described, rng: random.Random) -> tuple[str, str]:
    with_origin = bool(a.origin) and rng.random() < 0.5
    what = f"{a.origin} {_plural(a.noun)}" if with_origin else _plural(a.noun)
    holds = b.noun == a.noun and (not with_origin or b.origin == a.origin)
    verb = "Were" if a.past or b.past else "Are"
    return f"{verb} {a.title} and {b.title} both {what}?", "yes" if holds else "no"


def yes_no_examples(contexts, seed: int = 0, limit: int = 400) -> list[tuple[str, str, str, str]]:
    """Yes/no comparison questions between pairs of titled paragraphs of the corpus, with their
    answers read off the paragraphs' facts: ``(question, "yes" | "no", context, form)``; the context
    is the two paragraphs (title line, text, a blank line between), in a drawn order.

    - form ``"both"``: "Are A and B both bands?" (or "... both Australian bands?") from what each
      first sentence says its subject is (:func:`paragraph_description`); the second subject is
      drawn as often among paragraphs that describe the same kind of thing as among the rest, so
      that "no" also comes from two bands of different origins, not only from a band and a river;
    - form ``"same"``: "Were A and B born in the same decade?" from two dated facts that share a verb
      (:func:`paragraph_fact`; the grain, year, decade or century, is drawn), and "Are A and B from
      the same country?" from the origins of two descriptions (half the partners share it).

    At most ``limit`` questions, half of each form where there are enough; deterministic under ``seed``.
    """
    rng = random.Random(seed)
    known = []
    for context in contexts:
        if not isinstance(context, str) or not context.strip():
            continue
        for p in split_paragraphs(context):
            fact = paragraph_fact(context, p)
            description = paragraph_description(context, p)
            if fact or description:
                text = f"{p.title}\n{context[p.start:p.end].strip()}"
                known.append(_Known(text, fact, description))
    described = [k for k in known if k.description]
    by_noun: dict[str, list[_Known]] = {}
    for k in described:
        by_noun.setdefault(k.description.noun, []).append(k)
    dated = [k for k in known if k.fact]
    both, same = [], []
    for a in rng.sample(described, len(described)):
        kin = [k for k in by_noun[a.description.noun] if k.description.title != a.description.title]
        pool = kin if kin and rng.random() < 0.5 else described
        b = rng.choice(pool)
        if b.description.title != a.description.title:
            both.append((a, b, *_both_question(a.description, b.description, rng), "both"))
    for a in rng.sample(dated, len(dated)):
        partners = [k for k in dated if k.fact.verb == a.fact.verb and k.fact.title != a.fact.title]
        if partners:
            b = rng.choice(partners)
            grain = _GRAIN[rng.randrange(3)]
            size = {"year": 1, "decade": 10, "century": 100}[grain]
            answer = "yes" if a.fact.year // size == b.fact.year // size else "no"
            question = f"Were {a.fact.title} and {b.fact.title} {a.fact.verb} in the same {grain}?"
            same.append((a, b, question, answer, "same"))
    with_origin = [k for k in described if k.description.origin]
    for a in rng.sample(with_origin, len(with_origin)):
        kin = [k for k in with_origin if k.description.origin == a.description.origin
               and k.description.title != a.description.title]
        b = rng.choice(kin if kin and rng.random() < 0.5 else with_origin)
        if b.description.title != a.description.title:
            answer = "yes" if b.description.origin == a.description.origin else "no"
            verb = "Were" if a.description.past or b.description.past else "Are"
            where = "of the same nationality" if a.fact and a.fact.verb == "born" else "from the same country"
            question = f"{verb} {a.description.title} and {b.description.title} {where}?"
            same.append((a, b, question, answer, "same"))
    same = rng.sample(same, len(same))
    n_same = min(len(same), limit // 2)
    out = []
    for a, b, question, answer, form in same[:n_same] + both[:limit - n_same]:
        first, second = (a, b) if rng.random() < 0.5 else (b, a)
        out.append((question, answer, f"{first.text}\n\n{second.text}", form))
    return out

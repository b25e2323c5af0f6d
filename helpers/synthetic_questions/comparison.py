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

from helpers.core.text import Paragraph, sentence_spans

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
    title = re.sub(r"\s*\([^)]*\)\s*$", "", paragraph.title).strip()
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

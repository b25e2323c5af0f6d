"""Bridge questions: a question about one paragraph's subject, which it names only through another paragraph.

Real multi-hop questions reach their answer through a bridge entity: "Where was the director of
Isle of Larks born?" needs the film's paragraph to learn who directed it (Maurice Dell), then
Maurice Dell's paragraph for the answer. The writer builds them from two titled paragraphs of a
context: paragraph 1 (title T) says its subject was "directed by E" (or written, founded, designed
... by E) where E is the title of paragraph 2, so E is "the director of T"; a single-paragraph
question about paragraph 2 that names E ("Where was Maurice Dell born?") then has E replaced by
that phrase. The answer stays where it was, in paragraph 2.

Only a relation stated about T itself counts: in the first sentence of its paragraph ("Isle of
Larks is a 1962 comedy film directed by Maurice Dell"), or in a later sentence whose subject is T
("It was designed by ...", "The school was established by ..."): "four locomotives built by E" says
nothing about who built T.
"""

from __future__ import annotations

import re

from helpers.core.text import Paragraph, bare_title, sentence_spans

AGENTS = {
    "directed": "director", "co-directed": "co-director", "written": "writer", "co-written": "co-writer",
    "founded": "founder", "co-founded": "co-founder", "established": "founder", "designed": "designer",
    "produced": "producer", "painted": "painter", "built": "builder", "published": "publisher",
    "created": "creator", "composed": "composer", "developed": "developer", "invented": "inventor",
    "discovered": "discoverer", "illustrated": "illustrator", "sculpted": "sculptor", "edited": "editor",
    "commissioned": "commissioner", "manufactured": "manufacturer", "owned": "owner", "operated": "operator",
}
"""A participle that can link a work to its maker ("directed by E"), and the maker it makes E."""

_BY = "|".join(sorted(AGENTS, key=len, reverse=True))
# "It was designed by", "The school was established by", "Largely written and produced by".
_ABOUT_TITLE = re.compile(r"^(?:It|The\s+[a-z]+(?:\s+[a-z]+)?|[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)\s+"
                          r"(?:was|is|were|are)\s+(?:\w+ly\s+)?(?:[a-z-]+\s+and\s+)?$")


def bridge_phrases(context: str, paragraphs: list[Paragraph]) -> dict[str, str]:
    """``{E: "the director of T"}`` for each paragraph title E that another paragraph (title T) names
    as the maker of its subject (see the module docstring). The first relation found for E wins."""
    titles = {bare_title(p.title) for p in paragraphs if bare_title(p.title)}
    out: dict[str, str] = {}
    for p in paragraphs:
        work = bare_title(p.title)
        if not work:
            continue
        for k, (s, e) in enumerate(sentence_spans(context, p.start, p.end)[:3]):
            sentence = context[s:e]
            for m in re.finditer(rf"\b((?:[a-z-]+(?:,\s*|,?\s+and\s+))*)({_BY})\s+by\s+", sentence):
                maker = _maker_at(sentence, m.end(), titles - {work})
                if maker is None or maker in out:
                    continue
                if k == 0 or _ABOUT_TITLE.match(sentence[:m.start()]):
                    # "written and directed by E": the relation listed first in AGENTS names E.
                    verbs = [v for v in re.findall(r"[a-z-]+", m.group(1)) if v in AGENTS] + [m.group(2)]
                    verb = min(verbs, key=list(AGENTS).index)
                    out[maker] = f"the {AGENTS[verb]} of {work}"
    return out


def _maker_at(sentence: str, at: int, titles: set[str]) -> str | None:
    """The title that follows ``at`` ("by E", "by the Dublin practice E"), or None."""
    rest = sentence[at:]
    for t in sorted(titles, key=len, reverse=True):
        i = rest.find(t)
        if i < 0 or rest[i + len(t):i + len(t) + 1].isalnum():
            continue
        if i == 0 or re.fullmatch(r"the\s+(?:[\w'’-]+\s+){0,4}", rest[:i]):
            return t
    return None


def bridge_question(question: str, entity: str, phrase: str) -> str | None:
    """``question`` with its one mention of ``entity`` replaced by ``phrase``, or None when it names
    ``entity`` not exactly once, only in the possessive ("Maurice Dell's first film"), or in the phrase."""
    if question.count(entity) != 1 or entity in phrase:
        return None
    at = question.index(entity)
    after = question[at + len(entity):at + len(entity) + 2]
    if after in {"'s", "’s"} or (at and question[at - 1].isalnum()) or after[:1].isalnum():
        return None
    text = phrase[0].upper() + phrase[1:] if at == 0 else phrase
    return question[:at] + text + question[at + len(entity):]

"""Yes/no questions that compare two entities, decided from what the context says about each.

Multi-hop yes/no questions mostly take two forms: "Are A and B both P?" / "Did both A and B P?"
(does the predicate hold of each?) and "Were A and B born in the same year?" / "... from the same
country?" (do their facts agree?). A span model cannot answer them, and the prior ("yes" when the
labelled data says yes more often) is right about half the time.

:class:`YesNoReader` reads the question (:func:`parse_yes_no`), finds each entity's evidence in the
context (the paragraph titled after it, else the paragraph that names it) and measures a few
comparable facts (:func:`yes_no_features`): how much of the predicate each paragraph states, in one
sentence and in all; whether their years agree; whether they name the same places and describe
their subjects with the same words. A logistic regression over these features (a handful of
weights, stored as plain numbers in the export, so serving needs neither torch nor scikit-learn)
is fitted on the labelled yes/no questions and the synthetic ones the question writer derives from
the unlabelled documents' facts. A question that does not parse, or a reader with too little to
learn from, gets the prior.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from helpers.core.text import STOPWORDS, is_yes_no_question, sentence_spans, split_paragraphs

_AUX = r"(?:is|are|was|were|do|does|did|has|have|had|can|could)"
_BOTH_MID = re.compile(rf"^{_AUX}\s+(?P<a>.+?)\s+and\s+(?P<rest>.+?)\s+both\s+(?P<pred>.+)$", re.IGNORECASE)
_BOTH_FRONT = re.compile(rf"^{_AUX}\s+both\s+(?P<a>.+?)\s+and\s+(?P<rest>.+)$", re.IGNORECASE)
_SAME = re.compile(rf"^{_AUX}\s+(?P<a>.+?)\s+and\s+(?P<rest>.+?)\s+the\s+same\s+(?P<noun>[\w-]+)\b",
                   re.IGNORECASE)
_WORD = re.compile(r"[\w'’&.-]+")
_YEAR = re.compile(r"\b(1\d{3}|20\d{2})\b")
_NAME_LINKS = {"of", "de", "van", "von", "der", "den", "del", "da", "di", "du", "la", "le", "&", "y", "i"}
# The granularity of a "same ..." question about dates, in years.
_SPANS = {"year": 1, "decade": 10, "century": 100}
FEATURES = (
    "same_form", "cover_ratio", "value_ratio",
    "year_known", "year_agrees", "origin_known", "origin_agrees", "places_shared", "description_overlap",
)
"""The features of a question, in the order of :attr:`YesNoReader.weights`."""


_DESCRIPTION = re.compile(r"\b(is|was|are|were)\s+(?:a|an|one of the)\s+(?P<np>[^,;.()\"]+)")
_NP_STOP = {"in", "of", "from", "on", "at", "by", "for", "with", "that", "which", "who", "whose", "and",
            "based", "located", "known", "best", "founded", "formed", "born", "to", "near", "since", "as"}


@dataclass(frozen=True)
class Description:
    """What a sentence says its subject is: "... is an Australian rock band formed ..." → ``noun``
    "band", ``origin`` "Australian" (a capitalised first word; empty when there is none), ``past``
    for "was"/"were"."""

    noun: str
    origin: str
    past: bool


def describe(sentence: str, is_participle=lambda w: w.endswith("ed")) -> Description | None:
    """The subject's description in a defining sentence ("X is a/an ..."), or None when unclear.

    The noun phrase after the article ends at a preposition, a relative pronoun or a participle
    (``is_participle`` tells those; the question writer passes its fuller test); a phrase cut short
    by a comma ("a small, quiet ...") is not taken, nor a last word that is not a lowercase noun.
    """
    m = _DESCRIPTION.search(sentence)
    if m is None:
        return None
    words, cut = [], False
    for w in m.group("np").split():
        if w.lower() in _NP_STOP or (words and (w.lower().endswith("ing") or is_participle(w.lower()))):
            cut = True
            break
        words.append(w)
    if not cut and sentence[m.end():m.end() + 1] == ",":
        return None
    if not words or not words[-1].isalpha() or not words[-1].islower() or len(words[-1]) < 3:
        return None
    origin = words[0] if len(words) > 1 and words[0][:1].isupper() else ""
    return Description(words[-1].lower(), origin, m.group(1).lower() in {"was", "were"})


@dataclass(frozen=True)
class YesNoQuery:
    """A parsed comparison: ``form`` ``"both"`` (``predicate`` of each) or ``"same"`` (the same ``noun``)."""

    form: str
    a: str
    b: str
    predicate: str
    noun: str = ""


def _name_prefix(text: str) -> tuple[str, str]:
    """The leading name of ``text`` ("the Vltava flow through X" → ("the Vltava", "flow through X"))."""
    words = text.split()
    k = 1 if words and words[0].lower() == "the" else 0
    while k < len(words):
        w = words[k]
        if w[:1].isupper() or w[:1].isdigit():
            k += 1
        elif w.lower() in _NAME_LINKS and k + 1 < len(words) and words[k + 1][:1].isupper():
            k += 2
        else:
            break
    return " ".join(words[:k]), " ".join(words[k:])


def parse_yes_no(question: str) -> YesNoQuery | None:
    """The comparison a yes/no question asks, or None when it is not one of the two forms."""
    q = question.strip().rstrip("?").strip()
    if not is_yes_no_question(q):
        return None
    m = _SAME.match(q)
    if m:
        b, relation = _name_prefix(m.group("rest"))
        if b:
            return YesNoQuery("same", m.group("a"), b, relation, m.group("noun").lower())
    m = _BOTH_MID.match(q)
    if m and _name_prefix(m.group("rest"))[1] == "":
        return YesNoQuery("both", m.group("a"), m.group("rest"), m.group("pred"))
    m = _BOTH_FRONT.match(q)
    if m:
        b, predicate = _name_prefix(m.group("rest"))
        if b and predicate:
            return YesNoQuery("both", m.group("a"), b, predicate)
    return None


def _stem(word: str) -> str:
    w = word.lower().strip("'’.-")
    return w[:4] if len(w) > 4 else w


def _content(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 1}


def _capitalised(text: str, skip: set[str]) -> set[str]:
    """Stems of the capitalised words of ``text`` that do not start a sentence, outside ``skip``."""
    out = set()
    for m in _WORD.finditer(text):
        w = m.group()
        before = text[:m.start()].rstrip()
        if w[:1].isupper() and before and before[-1] not in ".!?\n" and w.lower() not in STOPWORDS:
            out.add(_stem(w))
    return out - skip


def evidence(context: str, name: str) -> str:
    """The text of the paragraph about ``name``: the one whose title it matches best, else the first
    that names it, else the whole context."""
    paragraphs = split_paragraphs(context)
    wanted = _content(name)
    best, score = None, 0.0
    for p in paragraphs:
        if p.title and wanted:
            s = len(wanted & _content(p.title)) / len(wanted)
            if s > score:
                best, score = p, s
    if best is not None and score >= 0.5:
        return context[best.start:best.end]
    last = name.split()[-1] if name.split() else ""
    for p in paragraphs:
        if last and last in context[p.title_start:p.end]:
            return context[p.start:p.end]
    return context


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, 0, len(text))] or [text]


def _cover(words: set[str], text: str) -> float:
    return len(words & _content(text)) / len(words) if words else 1.0


def _year(text: str, relation: set[str]) -> int | None:
    """The year of the sentence that states ``relation`` best (its first year), else the first year."""
    sentences = sorted(_sentences(text), key=lambda s: -len(relation & _content(s)))
    for s in sentences:
        m = _YEAR.search(s)
        if m:
            return int(m.group())
    return None


def _ratio(pair: list[float]) -> float:
    """How evenly two paragraphs state a predicate: the smaller cover over the larger (1 when equal,
    also when neither states it)."""
    return 1.0 if pair[1] == 0 else pair[0] / pair[1]


def yes_no_features(query: YesNoQuery, context: str) -> list[float]:
    """The :data:`FEATURES` of ``query`` over ``context``, each in [0, 1]."""
    ev = [evidence(context, query.a), evidence(context, query.b)]
    names = _content(query.a) | _content(query.b)
    predicate = _content(query.predicate) - names
    if query.form == "both":
        values = _capitalised(" x " + query.predicate, set()) - names
        cover = sorted(_cover(predicate, e) for e in ev)
        value = sorted(_cover(values, e) for e in ev)
        return [0.0, _ratio(cover), _ratio(value), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    span = _SPANS.get(query.noun)
    years = [_year(e, predicate) for e in ev] if span else [None, None]
    known = all(y is not None for y in years)
    agrees = known and years[0] // span == years[1] // span
    origins = [(d.origin if (d := describe(_sentences(e)[0])) else "") for e in ev]
    origin_known = all(origins)
    leads = [" ".join(_sentences(e)[:2]) for e in ev]
    places = [_capitalised(t, names) for t in leads]
    described = [_content(t) - names for t in leads]
    overlap = len(described[0] & described[1]) / max(1, min(len(described[0]), len(described[1])))
    same_origin = origin_known and _stem(origins[0]) == _stem(origins[1])
    return [1.0, 0.0, 0.0, float(known), float(agrees), float(origin_known), float(same_origin),
            float(bool(places[0] & places[1])), overlap]


@dataclass
class YesNoReader:
    """Decides yes/no comparison questions; :meth:`fit` it, :meth:`decide` with it, store it with
    :meth:`to_dict`. ``weights`` is empty when it fell back to the ``prior`` for every question."""

    prior: str
    weights: list[float] = field(default_factory=list)
    bias: float = 0.0
    fitted_on: dict = field(default_factory=dict)

    MIN_PER_ANSWER = 5
    """Fewest examples of each answer the regression is fitted on; fewer keeps the prior."""

    @classmethod
    def fit(cls, questions: Sequence[str], contexts: Sequence[str], answers: Sequence[str], prior: str,
            c: float = 1.0) -> YesNoReader:
        """Fit the regression on the questions that parse (``answers`` "yes"/"no", any case)."""
        rows, ys = [], []
        for q, ctx, a in zip(questions, contexts, answers, strict=True):
            query = parse_yes_no(q) if isinstance(q, str) and isinstance(ctx, str) else None
            if query is not None and str(a).strip().lower() in {"yes", "no"}:
                rows.append(yes_no_features(query, ctx))
                ys.append(int(str(a).strip().lower() == "yes"))
        counts = {"yes": sum(ys), "no": len(ys) - sum(ys)}
        if min(counts.values()) < cls.MIN_PER_ANSWER:
            return cls(prior, fitted_on=counts)
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, class_weight="balanced").fit(rows, ys)
        return cls(prior, [float(w) for w in model.coef_[0]], float(model.intercept_[0]), counts)

    def probability(self, question: str, context: str) -> float | None:
        """P(yes) for a comparison question, or None when the reader has no answer of its own."""
        query = parse_yes_no(question) if self.weights else None
        if query is None:
            return None
        z = self.bias + sum(w * x for w, x in zip(self.weights, yes_no_features(query, context), strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def decide(self, question: str, context: str) -> str:
        """"yes" or "no": the regression's answer where the question parses, else the prior."""
        p = self.probability(question, context)
        return self.prior if p is None else ("yes" if p >= 0.5 else "no")

    def to_dict(self) -> dict:
        return {"prior": self.prior, "features": list(FEATURES), "weights": self.weights, "bias": self.bias,
                "fitted_on": self.fitted_on}

    @classmethod
    def from_dict(cls, data: dict) -> YesNoReader:
        if data.get("weights") and list(data.get("features", [])) != list(FEATURES):
            raise ValueError(f"the stored yes/no reader has features {data.get('features')}, this version "
                             f"reads {list(FEATURES)}: export the model again with this version of helpers")
        return cls(data["prior"], list(data.get("weights", [])), float(data.get("bias", 0.0)),
                   dict(data.get("fitted_on", {})))


def yes_no_decider(prior: str | None, reader: dict | YesNoReader | None):
    """What a reader answers yes/no questions with: the stored :class:`YesNoReader` when there is one
    (as a dict from ``export-info.json`` or already built), else the ``prior`` (may be None)."""
    if reader is None:
        return prior
    return reader if isinstance(reader, YesNoReader) else YesNoReader.from_dict(reader)

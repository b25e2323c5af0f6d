"""Cloze to question: a sentence and an answer span become a wh-question without the answer.

:func:`cloze_to_question` cuts the sentence to the clause holding the answer, replaces the
answer by a wh-phrase and moves it to the front, inverting subject and verb when a rule fits.
"""

from __future__ import annotations

import re

from helpers.core.text import AUX_ALL, AUX_INVERT, HAVE, NAME_PARTICLES, SENTENCE_STARTERS, STOPWORDS
from helpers.synthetic_questions.candidates import (
    Candidate,
    is_demonym,
    looks_like_verb,
    next_word,
    prev_word_adjacent,
    unit_after,
)
from helpers.synthetic_questions.lexicon import (
    AMBIGUOUS_PAST,
    APPROXIMATORS,
    CURRENCY_WORDS,
    DETERMINERS,
    FOLLOW_WORDS,
    HONORIFICS,
    IRREGULAR_PAST,
    MONTH_RE,
    NUMBER_WORDS,
    PARTICIPLES,
    PLACE_ADJECTIVES,
    PLACE_CUE_RE,
    PRE_ADJECTIVE,
    PREPOSITIONS,
    ROLE_NOUNS,
    VERB_ADVERBS,
    Token,
    is_participle,
    past_base,
    tokenize,
)


def _present_base(word: str) -> str:
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
        return w[:-2]
    return w[:-1]


_NOUN_SUFFIXES = ("tion", "sion", "ment", "ness", "ance", "ence", "ship", "ism")


def _lower_first(text: str) -> str:
    """Lowercase the first word when it is capitalised only because it opened the sentence.

    Names keep their capital. A common word is a determiner or preposition, another
    function word not followed by a capitalised one ("The Nile" gives "the Nile", "All
    About My Mother" stays), a word with a noun suffix ("Construction") or a word before a
    lowercase noun ("Commercial whaling", but not "Polish mathematicians").
    """
    words = [t for t in tokenize(text) if t.is_word][:2]
    acronym = bool(words) and words[0].text.isupper() and len(words[0].text) > 1
    if not words or not words[0].is_cap or "." in words[0].text or acronym:
        return text
    word, nxt = words[0].text, words[1].text if len(words) > 1 else ""
    low = word.lower()
    if low in DETERMINERS or low in PREPOSITIONS:
        common = True
    elif low in STOPWORDS or low in SENTENCE_STARTERS or low in NUMBER_WORDS:
        common = not nxt[:1].isupper()
    else:
        suffix_noun = low.endswith(_NOUN_SUFFIXES) and not nxt[:1].isupper()
        # A capitalised word before a lowercase noun is an adjective or a common noun ("Frequent
        # flooding", "Rotating wheels"), unlike "Uruguay beat" or "Polish mathematicians".
        before_noun = (
            nxt[:1].islower() and not looks_like_verb(nxt) and nxt.lower() not in FOLLOW_WORDS
            and nxt.lower() not in NAME_PARTICLES and not is_demonym(word)
            and (not _is_present(nxt.lower()) or low.endswith(("ing", "al", "ed", "ive", "ous", "ful")))
        )
        common = suffix_noun or before_noun
    if not common:
        return text
    i = words[0].start
    return text[:i] + text[i].lower() + text[i + 1 :]


def _cut_before(sentence: str, pos: int, word: str) -> int:
    """Offset of ``word`` that ends (with spaces) right before ``pos``."""
    return len(sentence[:pos].rstrip(" ")) - len(word)


def _removal_and_wh(sentence: str, cand: Candidate) -> tuple[int, int, str]:
    """The span to cut out (the answer plus its cue words) and the wh-phrase replacing it."""
    a, b = cand.start, cand.end
    prev = prev_word_adjacent(sentence, a)
    prev_low = prev.lower()
    if cand.kind == "date":
        bare_year = re.fullmatch(r"\d{3,4}(?: (?:BC|BCE|AD|CE))?|AD \d{1,4}", cand.text) is not None
        if prev_low in {"early", "late", "mid"}:
            a = _cut_before(sentence, a, prev)  # "in late February 2022"
            prev = prev_word_adjacent(sentence, a)
            prev_low = prev.lower()
        if bare_year and prev_low in {"in", "around", "circa"}:
            return _cut_before(sentence, a, prev), b, "In what year"
        if bare_year and prev_low in {"by", "since", "until", "till", "before", "after", "from"}:
            return _cut_before(sentence, a, prev), b, f"{prev_low.capitalize()} what year"
        if prev_low in {"in", "on", "during", "around", "circa"}:
            return _cut_before(sentence, a, prev), b, "When"
        return a, b, "When"
    if cand.kind == "number":
        age = re.search(r"(?:,\s*aged|\bat the age of)\s+$", sentence[:a])
        if age:
            return age.start(), b, "At what age"  # "died in 1971 at the age of 27"
        unit, unit_end = unit_after(sentence, b)
        start = a
        stripped = True
        while stripped:  # "only about 30 metres" goes as a whole
            stripped = False
            for approx in APPROXIMATORS:
                if re.search(rf"(?:^|\s){re.escape(approx)} $", sentence[:start].lower()):
                    start -= len(approx) + 1
                    stripped = True
                    break
        if cand.text[:1] in "$£€" or unit in CURRENCY_WORDS:
            return start, unit_end if unit in CURRENCY_WORDS else b, "How much"
        if cand.text.endswith("%"):
            return start, b, "What percentage"
        if unit:
            # "382 kilograms of lunar rocks and soil": the "of" phrase travels with the noun.
            of_phrase = re.match(
                r" of ([a-z][\w-]*(?: (?:and )?[a-z][\w-]*){0,3}?)"
                r"(?=[,.;]|$| (?:in|on|at|to|from|by|with|for)\b)",
                sentence[unit_end:],
            )
            if of_phrase and not set(of_phrase.group(1).split()) & (STOPWORDS - {"and"}):
                return start, unit_end + of_phrase.end(), f"How many {unit} of {of_phrase.group(1)}"
            return start, unit_end, f"How many {unit}"
        return start, b, "What number"
    start = a
    if a > 0 and b < len(sentence) and sentence[a - 1] in "'‘\"“" and sentence[b] in "'’\"”":
        a, b = a - 1, b + 1  # a quoted title goes with its quotes
        start = a
        prev = prev_word_adjacent(sentence, start)
        prev_low = prev.lower()
    if prev_low in {"the", "a", "an"} or (prev_low in {"his", "her", "its", "their"} and cand.kind == "name"):
        start = _cut_before(sentence, start, prev)  # "his [Slavonic Dances] made him famous"
        prev = prev_word_adjacent(sentence, start)
    if cand.kind == "place":
        cue = PLACE_CUE_RE.search(sentence[:a])
        if cue:
            start = cue.start()
        elif re.search(r"[A-Z][\w'’.-]*,\s*$", sentence[:a]):
            start = len(sentence[:a].rstrip(" ").rstrip(","))  # "Menlo Park, California" loses ", California"
        qualifier = re.match(r",\s+[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*(?=[,.;]|$)", sentence[b:])
        if qualifier:
            b += qualifier.end()  # "Menlo Park, California": the state goes with the town
        return start, b, "Where"
    if cand.kind == "person":
        if prev in HONORIFICS:
            start = _cut_before(sentence, start, prev)
        role = re.search(
            r"\b(?:the|a|an|his|her|its|their)\s+(?:[\w-]+\s+){0,2}?([\w-]+)\s+$",
            sentence[:start],
            re.IGNORECASE,
        )
        if role and role.group(1).lower() in ROLE_NOUNS:
            start = role.start()  # "the engineer Tommy Flowers" goes as a whole
        return start, b, "Who"
    return start, b, "What"


_CLAUSE_BREAK_RE = re.compile(
    r";\s+|,\s+(?:and|but|so|yet|while|whereas|although|though|when|where|until|before|after)\s+"
    r"|\s+(?:when|where|while|whereas|although|though|because)\s+"
    r"|,\s+(?P<rel>who|which)\s+"
)
_LEADING_SUBORDINATE_RE = re.compile(
    r"^(?:When|While|Although|Though|Because|If|Once|As|Whereas)\s+([^,]{3,}),\s+"
)
# "After Gabriel left in 1975 the drummer Phil Collins took over": no comma, so the clause is
# taken to end where a new subject starts after a number or a name.
_LEADING_SUBORDINATE_NOCOMMA_RE = re.compile(
    r"^(?:After|Before|Until|When|While|Once|Although|Though|Because|As)\s+([^,]{3,}?(?:\d{3,4}s?|[A-Z][\w'’-]*))"
    r"\s+(?=(?:the|he|she|it|they|his|her|its|their|this|these|a|an)\s)"
)
_ADJUNCT_PREPS = {
    "contrary", "instead", "apart", "according", "due", "thanks", "near", "outside", "inside",
    "beyond", "behind", "beside", "against", "towards",
    "in", "on", "at", "during", "after", "before", "by", "since", "until", "from", "despite",
    "like", "with", "for", "over", "under", "between", "through", "throughout", "within",
    "following", "among", "around", "unlike", "upon", "as", "without", "along", "across",
}
_SUBJECT_STARTS = {
    "he", "she", "it", "they", "we", "i", "the", "his", "her", "its", "their", "this", "these",
    "those", "a", "an", "there",
}
_PRONOUNS = {"he", "she", "it", "they", "we", "i"}
_DATE_ADJUNCT_RE = re.compile(
    rf"^(?:In|On|By|From|Since|Until|After|Before|During)\s+(?:(?:early|late|mid)\s+)?"
    rf"(?:\d{{1,2}}\s+)?(?:{MONTH_RE}\s+)?\d{{3,4}}s?\s+(?!and\b|or\b|to\b)(?=[A-Za-z])"
)
# ", who had proposed the idea," or ", launched in 1921," inside a clause, before its verb.
_EMBEDDED_RE = re.compile(
    r",\s+(?:who|which|whose|(?:(?:\w+ly|also|later|now|then|once|still|often)\s+)?"
    r"(?:[a-z]+(?:ed|en)|known|born|built|made|written|held|led))\s[^,;]+,\s+"
)


def _drop_embedded(sentence: str, cand: Candidate) -> tuple[str, Candidate]:
    """Remove relative clauses and participle phrases set off by commas that don't hold the answer."""
    for _ in range(3):
        for m in _EMBEDDED_RE.finditer(sentence):
            nxt = next_word(sentence, m.end() - 1)
            if m.start() < cand.end and cand.start < m.end() or not nxt:
                continue
            if not (nxt.lower() in AUX_INVERT or nxt.lower() in HAVE or past_base(nxt.lower())):
                continue
            sentence = sentence[: m.start()] + " " + sentence[m.end() :]
            if cand.start >= m.end():
                shift = m.end() - m.start() - 1
                cand = Candidate(cand.text, cand.start - shift, cand.end - shift, cand.kind)
            break
        else:
            break
    return sentence, cand


def _antecedent(text: str) -> str | None:
    """The name right before a ", who"/", which" (the subject of the relative clause), if any."""
    word = r"(?:[A-Z][\w'’.-]*|of|de|von|van|the)"
    m = re.search(rf"({word}(?:\s+{word})*)\s*$", text)
    if m and m.group(1)[0].isupper():
        return m.group(1)
    return None


def _clause(sentence: str, ra: int, rb: int) -> tuple[str, int, int] | None:
    """The clause of ``sentence`` holding ``[ra, rb)`` and the offsets within it.

    This is Lewis et al.'s sub-clause extraction: the sentence is cut at semicolons and at
    conjunctions that open a new clause; a clause without a subject of its own ("and became
    ...") keeps the one before, and a ", who"/", which" clause takes the name before it as
    its subject ("Coco Chanel, who opened a shop" -> "Coco Chanel opened a shop"). None when
    such a clause has no name before it.
    """
    segments: list[tuple[int, int, str]] = []  # (start, end, relative pronoun or "")
    body_start = 0
    lead = _LEADING_SUBORDINATE_RE.match(sentence)
    if lead is None:
        lead = _LEADING_SUBORDINATE_NOCOMMA_RE.match(sentence)
        if lead and not any(looks_like_verb(t.text) for t in tokenize(lead.group(1))[1:] if t.text.islower()):
            lead = None
    if lead:
        segments.append((lead.start(1), lead.end(1), ""))
        body_start = lead.end()
    cur, rel = body_start, ""
    for br in _CLAUSE_BREAK_RE.finditer(sentence, body_start):
        segments.append((cur, br.start(), rel))
        cur, rel = br.end(), br.group("rel") or ""
    segments.append((cur, len(sentence), rel))

    def lacks_subject(k: int) -> bool:
        s, e, rel = segments[k]
        if rel:
            return True
        first = re.match(r"\s*([\w'’-]+)", sentence[s:e])
        word = first.group(1) if first else ""
        # "... and became X", "... while crossing Y" continue the clause before; "... and goods
        # passed ..." has a subject of its own.
        return word[:1].islower() and (
            looks_like_verb(word) or word.lower() in PARTICIPLES or (word.endswith("ing") and len(word) > 4)
        )

    for k, (s, e, rel) in enumerate(segments):
        if not (s <= ra and rb <= e):
            continue
        name = _antecedent(sentence[: s - len(rel) - 2].rstrip(" ,")) if rel and k > 0 else None
        if name is not None:
            prefix = name + " "
            return prefix + sentence[s:e], ra - s + len(prefix), rb - s + len(prefix)
        if rel:
            return None  # "..., which Bezos saw as a symbol": no subject to give the relative clause
        # A clause without its own subject ("... and became a figure of X") borrows the one before.
        first = k
        while first > 0 and lacks_subject(first) and not (lead and first == 1):
            first -= 1
        s = segments[first][0]
        return sentence[s:e], ra - s, rb - s
    return sentence, ra, rb


def _adjunct(clause: str) -> tuple[int, str]:
    """A leading adjunct of ``clause``: its length and its type, or ``(0, "")``.

    Types: "prep" ("In 1799", "At its peak,"), "participle" ("Completed in 1976 by X,",
    "Largely written by Y,") and "np" ("A talented athlete, he ...").
    """
    words = [t for t in tokenize(clause) if t.is_word]
    if len(words) < 3:
        return 0, ""
    first = words[0].lower
    if first in _ADJUNCT_PREPS:
        kind = "prep"
    elif (
        is_participle(first) or (first.endswith("ly") and is_participle(words[1].lower))
        or (first.endswith("ing") and len(first) > 4 and first not in STOPWORDS)
    ):
        kind = "participle"
    elif first in DETERMINERS:
        kind = "np"
    else:
        return 0, ""
    comma = clause.find(",")
    if comma != -1:
        head = [t for t in tokenize(clause[:comma]) if t.is_word]
        after = next_word(clause, comma + 1).lower() if next_word(clause, comma + 1) else ""
        inner = after in {"while", "when", "after", "before", "although", "though"}
        if inner and clause.find(",", comma + 1) != -1:
            # "On the night of X, while sailing north, the Endeavour struck": skip the inner clause.
            comma = clause.find(",", comma + 1)
            after = next_word(clause, comma + 1).lower() if next_word(clause, comma + 1) else ""
        relative = next((j for j, t in enumerate(head) if t.lower in {"that", "which", "who"}), len(head))
        head_text = clause[: head[relative - 1].end] if relative else ""
        finite = any(  # "With a wingspan that can exceed 3.4 metres," is still an adjunct
            t.lower in AUX_ALL or t.lower in _PRONOUNS
            or (t.lower in IRREGULAR_PAST and t.lower not in PARTICIPLES)
            for t in head[1:relative]
        ) or (kind != "participle" and _find_verb(head_text, len(head_text), len(head_text)) is not None)
        if kind == "participle" and after in _PRONOUNS:
            finite = False  # "Using telescopes he helped grind himself, he discovered": the pronoun decides
        # A second adjunct may follow: "In 1736, in a result regarded as ..., Euler proved".
        starts_clause = (
            after in _SUBJECT_STARTS | _ADJUNCT_PREPS or next_word(clause, comma + 1)[:1].isupper()
        )
        if kind == "np":
            starts_clause = after in _PRONOUNS  # "The Nile, the longest river, flows" is no adjunct
        if len(head) <= 14 and not finite and starts_clause:
            return comma + 1, kind
    if kind != "prep":
        return 0, ""
    date = _DATE_ADJUNCT_RE.match(clause)
    if date:
        return date.end(), kind
    for k in range(2, min(len(words), 12)):
        prev = words[k - 1].lower
        if (
            words[k].lower in _SUBJECT_STARTS and prev not in PREPOSITIONS
            and not prev.endswith("ing") and not looks_like_verb(prev)  # "After leaving the X in 1993 she"
        ):
            return words[k].start, kind
        if looks_like_verb(words[k].text):
            return 0, ""
    return 0, ""


def _clean(question: str) -> str:
    q = re.sub(r"\s+", " ", question).strip()
    q = re.sub(r"^(Who|What|Where|When),\s*", r"\1 ", q)  # "Who, built an observatory"
    q = re.sub(r"\(\s*\)", "", q)
    q = re.sub(r"\s+([,.;:!?)])", r"\1", q)
    q = re.sub(r"([,;])(?:\s*[,;])+", r"\1", q)
    q = re.sub(r"\(\s+", "(", q)
    q = re.sub(r"\s+", " ", q).strip()
    q = re.sub(r"(?:[\s,;:.!?-]|\b(?:and|or|but|the|a|an)\b)+$", "", q)
    return q[:1].upper() + q[1:] + "?" if q else ""


def _finite_after(main: str, words: list[Token], k: int, stop_at_comma: bool = False) -> bool:
    """Whether a finite verb, not coordinated by "and"/"or", follows word ``k`` of a clause."""
    comma = main.find(",", words[k].end) if stop_at_comma else -1
    for m in range(k + 1, len(words)):
        if comma != -1 and words[m].start > comma:
            break
        low, prev = words[m].lower, words[m - 1].lower
        if words[m].is_cap or prev in AUX_ALL | {"and", "or", "to"} or low in AMBIGUOUS_PAST:
            continue
        if low in AUX_INVERT or low in HAVE or (low in IRREGULAR_PAST and low not in AMBIGUOUS_PAST):
            return True
        if _is_present(low) and main[: words[m].start].rstrip().endswith(","):
            return True  # "..., completed in 1907, contains"
        adjectival = prev in DETERMINERS | PREPOSITIONS | NUMBER_WORDS or prev.endswith("ly")
        if past_base(low) and not adjectival:
            return True
    return False


def _verb_kind(main: str, words: list[Token], k: int) -> str | None:
    """Whether word ``k`` of a clause can be its main verb: "aux", "have", "past", "present" or None."""
    t, low = words[k], words[k].lower
    if t.is_cap or not t.text.isalpha():
        return None
    # A capitalised word before is the end of a name, whatever its lowercase form ("Talk to Her won").
    prev = words[k - 1].lower if not words[k - 1].is_cap else ""
    if prev == "to" or prev in AUX_ALL:
        return None  # an infinitive or a participle: "to have lived", "being struck"
    if low in AUX_INVERT:
        return "aux"
    if low in HAVE:
        return "have"
    nxt = words[k + 1].lower if k + 1 < len(words) else ""
    if low in AMBIGUOUS_PAST and not (words[k - 1].lower in _PRONOUNS or words[k - 1].is_cap):
        return None  # "an international hit", "a set of"
    if past_base(low) is not None:
        if prev in DETERMINERS or prev in PREPOSITIONS:
            return None
        before_prev = words[k - 2].lower if k >= 2 else ""
        adjective_slot = (
            prev in PRE_ADJECTIVE or prev in NUMBER_WORDS or prev.isdigit() or prev.endswith(("ly", "est"))
        )
        if (
            low not in IRREGULAR_PAST and nxt[:1].islower() and nxt not in FOLLOW_WORDS
            and (before_prev in DETERMINERS or prev in NUMBER_WORDS) and adjective_slot
        ):
            return None  # an adjective: "the first preserved specimen", "its nine stacked platforms"
        before = main[: words[k - 1].end if prev.endswith("ly") else t.start].rstrip()
        if before.endswith(",") and _finite_after(main, words, k):
            return None  # opens a participle phrase: "X, built around 1327, are"
        participle_form = low not in IRREGULAR_PAST or low in PARTICIPLES  # not "began", "wrote"
        if participle_form and nxt == "by" and words[k - 1].lower not in _PRONOUNS:
            return None  # a passive participle: "the version choreographed by Marius Petipa"
        if (
            low not in IRREGULAR_PAST and k + 1 < len(words) and words[k + 1].is_cap
            and words[k - 1].lower not in _PRONOUNS and _finite_after(main, words, k, stop_at_comma=True)
        ):
            return None  # "an observatory called Stjerneborg was added"
        if (
            participle_form and words[k - 1].lower not in _PRONOUNS and nxt in PREPOSITIONS
            and _finite_after(main, words, k, stop_at_comma=True)
        ):
            return None  # a reduced relative: "the film released in 1939 won"
        return "past"
    if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3 and low not in STOPWORDS:
        if nxt in {"and", "or", "of"} or main[t.end : t.end + 1] == ",":
            return None  # a plural noun: "communications and observation tower", "mathematicians, including"
        j = k - 1
        while j > 0 and words[j].lower in VERB_ADVERBS:
            j -= 1
        if words[j].lower in {"he", "she", "it"}:
            return "present"
        later = _finite_after(main, words, k, stop_at_comma=True)
        # "The Nile flows", "Tanzania also contains"; a plural at the clause end is no verb
        # ("... and the Hussite legends").
        if words[j].is_cap and words[j].lower not in STOPWORDS and nxt and not later:
            return "present"
        noun_next = nxt[:1].islower() and nxt not in FOLLOW_WORDS
        plain_subject = words[0].lower in DETERMINERS and all(
            w.text.islower() and w.lower not in STOPWORDS for w in words[1:k]
        )
        if k >= 2 and plain_subject and not later and not noun_next:
            return "present"  # "The name means three stars", not "His later films include"
        before = main[: t.start].rstrip()
        if before.endswith(",") and before.count(",") % 2 == 0 and not later:
            return "present"  # after an appositive: "Its main building, completed in 1907, contains"
    return None


def _in_appositive(main: str, pos: int) -> bool:
    """Whether ``pos`` is inside an open ", a/the ..." appositive ("The record holder, a tree nicknamed")."""
    before = main[:pos]
    return before.count(",") % 2 == 1 and re.search(r",\s+(?:a|an|the)\s+[^,]*$", before) is not None


def _find_verb(main: str, ra: int, rb: int) -> tuple[list[Token], int, str, int] | None:
    """The main verb of a clause: ``(words, verb index, kind, index where the verb group starts)``."""
    words = [t for t in tokenize(main) if t.is_word]
    for k in range(1, min(len(words), 20)):
        if ra <= words[k].start < rb or _in_appositive(main, words[k].start):
            continue
        if words[k].lower in {"which", "who", "that", "whose"}:
            return None  # the first verb would belong to a relative clause
        kind = _verb_kind(main, words, k)
        if kind:
            adv = k
            while adv > 1 and (words[adv - 1].lower in VERB_ADVERBS or words[adv - 1].lower.endswith("ly")):
                adv -= 1
            return words, k, kind, adv
    return None


def _simple_subject(subject: str) -> str:
    """Drop an appositive from a subject: "The 1896 Olympics, the first Games," -> "The 1896 Olympics"."""
    subject = subject.strip()
    m = re.match(r"^(.+?),\s+(?:the|a|an)\s+[^,]+,$", subject)
    subject = (m.group(1) if m else subject).strip()
    if subject.endswith(",") and "," in subject[:-1]:
        return subject  # keep the comma that closes "a Kodak engineer, Steven Sasson,"
    return subject.strip(" ,")


def _invert(main: str, ra: int, rb: int, wh: str, cue_removed: bool) -> str | None:
    """Wh-fronting with subject-verb inversion on one clause; None when no rule fits.

    ``[ra, rb)`` is the span to remove (empty at the end when the answer was in an adjunct);
    ``cue_removed`` says the span starts with its preposition, so it may sit inside the
    subject as a modifier ("Its former brewery in Amsterdam is ...").
    """
    found = _find_verb(main, ra, rb)
    if found is None:
        return None
    words, vi, kind, adv = found
    subj_end = words[adv].start
    if ra < subj_end:
        leftover = (main[:ra] + main[rb:subj_end]).strip(" ,")
        left_words = [t for t in tokenize(leftover) if t.is_word]
        # Nothing but a determiner or adjectives left ("The rear-engined [Porsche 911]"): the
        # answer was the subject, as in "Who was born in 1819?".
        if all(
            t.lower in DETERMINERS or "-" in t.text
            or t.lower.endswith(("ed", "ing", "ern", "al", "ic", "ous", "ive"))
            for t in left_words
        ):
            return f"{wh} {main[subj_end:]}"
        head = main[:ra].strip().rstrip(",")
        determined = re.match(r"(?:the|a|an|its|his|her|their)\s+(.+)$", head, re.IGNORECASE)
        if determined and not main[rb:subj_end].strip(" ,") and wh in ("Who", "What"):
            # "A sequel novel, [Porno], appeared" / "The programming language [Ada] was named"
            # -> "Which sequel novel appeared ...?"
            noun = determined.group(1).strip()
            last_word = noun.split()[-1].lower() if noun else ""
            short = len(noun.split()) <= 4 and "," not in noun
            if short and noun[:1].islower() and last_word not in PREPOSITIONS:
                return f"Which {noun} {main[subj_end:]}"
        if not (cue_removed and rb <= subj_end):
            return None
        dangling = re.match(r"^(.*?),\s+((?:\w+ly\s+)?[a-z]+)$", leftover)
        if dangling and is_participle(dangling.group(2).split()[-1]):
            # "Apollo 13, launched [in April 1970], had to ..." -> "When was Apollo 13 launched?"
            head_subject = _lower_first(dangling.group(1).strip(" ,"))
            return f"{wh} {_be_for(head_subject)} {head_subject} {dangling.group(2)}"
        last = [t for t in tokenize(leftover) if t.is_word][-1].lower
        if looks_like_verb(last) or last in PARTICIPLES:
            return None  # the answer belonged to a verb inside the subject: "a tree that was found [in 2006]"
        subject = leftover
        ra = rb = len(main)
    else:
        subject = main[:subj_end]
    subject = _simple_subject(subject)
    if not subject or len(tokenize(subject)) > 14:
        return None
    verb = words[vi]
    adverbs = main[subj_end : verb.start].strip()
    # "He moved to Madrid and became a figure of X", "... and in 2006 launched X": ask about the
    # verb phrase that holds the answer.
    passive = kind == "aux" and vi + 1 < len(words) and is_participle(words[vi + 1].lower)
    finite_past = {"past", "have"}
    for m in range(vi + 1, len(words) - 1):
        if words[m].start >= ra:
            break
        if words[m].lower not in {"and", "but"}:
            continue
        n = m + 1
        while n < len(words) and ra <= words[n].start < rb:
            n += 1  # "and [in 2006] launched"
        skipped_answer = n > m + 1
        dated = n + 2 < len(words) and words[n].lower in PREPOSITIONS and words[n + 1].text[0].isdigit()
        if not skipped_answer and dated:
            n += 2  # "and in 2006 launched [Amazon Web Services]": the date goes with the first verb
        if n >= len(words):
            continue
        nxt_kind = _verb_kind(main, words, n)
        w = words[n]
        after_w = words[n + 1].lower if n + 1 < len(words) else ""
        if (
            nxt_kind is None and kind == "present" and w.text.islower() and _is_present(w.lower)
            and main[w.end : w.end + 1] != ","
            and (after_w in PREPOSITIONS | DETERMINERS or after_w in PLACE_ADJECTIVES)
        ):
            nxt_kind = "present"  # "rises in X and flows ... for 2,330 kilometres"
        clearly_finite = w.lower in IRREGULAR_PAST and w.lower not in PARTICIPLES  # "became", "grew"
        compatible = (
            nxt_kind in ("aux", "have") or nxt_kind == kind or passive or {kind, nxt_kind} <= finite_past
            or (nxt_kind == "past" and clearly_finite)
        )
        if (
            nxt_kind and compatible and (w.end <= ra or skipped_answer)
            and not looks_like_verb(words[m - 1].text)  # "written and directed" are participles
            and words[m - 1].lower not in PARTICIPLES
        ):
            vi, verb, kind, adverbs = n, w, nxt_kind, ""
            if skipped_answer:
                ra = rb = len(main)  # the answer sat between "and" and the verb: it is gone
                main = main[: words[m + 1].start] + main[w.start :]
                words = [t for t in tokenize(main) if t.is_word]
                verb = next(t for t in words if t.start == words[m + 1].start)
                vi = words.index(verb)
            break
    rest = main[verb.end : ra] + " " + main[rb:]
    subject = _lower_first(subject)
    low = verb.lower
    if kind == "aux":
        return f"{wh} {low} {subject} {adverbs} {rest}"
    if kind == "have":
        nxt = next((w for w in words[vi + 1 :] if w.lower not in VERB_ADVERBS), None)
        participle = nxt is not None and (nxt.lower in PARTICIPLES or nxt.lower.endswith("ed"))
        if participle and not ra <= nxt.start < rb:
            return f"{wh} {low} {subject} {adverbs} {rest}"
        return f"{wh} {HAVE[low]} {subject} {adverbs} have {rest}"
    if kind == "past":
        # "He trained and worked in Sydney" -> "did he train and work".
        rest = re.sub(
            r"^(\s*and\s+)(\w+)", lambda m: m.group(1) + (past_base(m.group(2)) or m.group(2)), rest
        )
        return f"{wh} did {subject} {adverbs} {past_base(low)} {rest}"
    return f"{wh} does {subject} {adverbs} {_present_base(low)} {rest}"


def _coordinated(sentence: str, cand: Candidate) -> bool:
    """Whether a name is one item of a list ("Mali, Niger and Nigeria"); cutting it leaves debris."""
    if cand.kind not in ("person", "place", "name"):
        return False
    before = sentence[: cand.start].rstrip().rstrip("'‘\"“").rstrip()
    # "the guitarist Peter Buck": look past a determiner and a role or two.
    before = re.sub(
        r"(?:^|\s)(?:the|a|an|his|her|its|their)(?:\s+[\w-]+){0,3}$", "", before, flags=re.IGNORECASE
    )
    after = re.sub(r"^['’\"”]", "", sentence[cand.end :])
    item = r"(?:(?:the|a|an|his|her|its|their)\s+(?:[\w-]+\s+){0,2})?[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*"
    return bool(
        re.search(r"\b(?:and|or|&|including|such as)$", before)
        or (re.search(r"[A-Z][\w'’.-]*['’]?,$", before) and re.match(rf",\s+{item}|\s+(?:and|or)\b", after))
        or re.match(r"\s+(?:and|or|&)\b", after)
        or re.match(rf",\s+{item}(?:,|\s+(?:and|or)\b)", after)
    )


def _trim_after_answer(clause: str, ra: int, rb: int) -> str:
    """Cut what follows the answer where a new verb phrase starts ("... and in 1993 urged ...")."""
    found = _find_verb(clause, ra, rb)
    if found is None or found[0][found[1]].start > ra:
        return clause  # the verb comes after the answer: "Its stadium, opened in 1996, was renamed"
    for m in re.finditer(r"(?:,\s*|\s+)(?:and|but)\s+|,\s+(?=(?:\w+ly\s+)?[a-z-]+\b)", clause[rb:]):
        before = [t for t in tokenize(clause[: rb + m.start()]) if t.is_word]
        after = [t for t in tokenize(clause[rb + m.end() :]) if t.is_word][:4]
        if not before or not after:
            return clause
        numbers = before[-1].text[0].isdigit() and after[0].text[0].isdigit()
        if numbers or (before[-1].is_cap and after[0].is_cap):
            continue  # a range or a pair of names: "between 1180 and 1225", "Christo and Jeanne-Claude"
        if looks_like_verb(before[-1].text) or before[-1].lower in PARTICIPLES:
            return clause  # "written and directed": two participles, one phrase
        for t in after if re.search(r"\b(?:and|but)\b", m.group()) else after[:2]:
            if t.lower == "and":
                break
            if not t.is_cap and (t.lower in AUX_INVERT or past_base(t.lower.split("-")[-1])):
                return clause[: rb + m.start()]
        return clause
    return clause


_DANGLING_RE = (
    # a preposition before a comma: "named after, opened in 1926"
    r"\b(?:of|by|for|with|to|from|in|at|on|after|about|as|outside|inside|into|onto|beyond|under|over|"
    r"between|through|across|towards|against|among|within|without|around|during|near)\s*,|\b(?:and|or),\s"
    # a preposition or an article right before "of": "after of reconstruction", "the of"
    r"|\b(?:the|a|an|during|after|before|between|with|into|from|under|near|towards|since|until|at|by|in|on)\s+of\b"
    # an article before a preposition or a verb: "the in", "the were"
    r"|\b(?:the|a|an)\s+(?:in|on|at|of|by|to|for|with|from|as|and|or|is|was|were|are|has|had)\b"
    r"|,\s+(?:for|of|by|in|at|on|to|with|from|after|about)\?$|\bto to\b"
)


def _is_present(word: str) -> bool:
    plural_like = word.endswith("s") and not word.endswith(("ss", "us", "is"))
    return plural_like and len(word) > 3 and word not in STOPWORDS


def _be_for(subject: str) -> str:
    head = re.split(r",", subject.strip())[0].split()
    last = head[-1].lower() if head else ""
    plural = last in {"they", "we"} or (_is_present(last) and last[:1].islower())
    return "were" if plural else "was"


def cloze_to_question(sentence: str, candidate: Candidate) -> str | None:
    """Turn a sentence and an answer span into a wh-question without the answer.

    The wh-phrase comes from the kind and the cue words: a bare year after "in" gives "In
    what year" (the preposition goes), a full date "When", a number with a counted noun
    "How many <noun>" (the noun moves with it), money "How much", a bare number "What
    number", a person "Who", a place "Where" (its "in"/"at"/"from"/"near" goes), any other
    name "What". The sentence is cut to the clause holding the answer; relative clauses and
    participle phrases set off by commas that don't hold the answer are dropped; a leading
    prepositional adjunct ("In 1799", "At its peak,") is dropped when it holds the answer
    and moved to the end otherwise. When the answer is the subject, the wh-word replaces it;
    when it follows the verb, the subject and an auxiliary (was, is, can, had + participle,
    ...) swap, and a simple past or present verb takes "did"/"does" ("X founded Y in 1850"
    -> "In what year did X found Y?"). When no rule fits, the identity mapping "wh-phrase +
    rest of the clause" is used, as in Lewis et al.

    Args:
        sentence: The sentence holding the answer.
        candidate: The answer span (see :func:`find_answer_candidates`).

    Returns:
        The question ending with "?", or None when the result would be degenerate (an
        answer that is one item of a list, a preposition left before a comma, too little
        left to ask about).
    """
    if sentence[candidate.start : candidate.end] != candidate.text or not candidate.text.strip():
        return None
    if _coordinated(sentence, candidate):
        return None
    sentence, candidate = _drop_embedded(sentence, candidate)
    ra, rb, wh = _removal_and_wh(sentence, candidate)
    cue_removed = ra < candidate.start and candidate.kind in ("date", "place")
    cut = _clause(sentence, ra, rb)
    if cut is None:
        return None
    clause, ra, rb = cut
    lead = len(clause) - len(clause.lstrip())
    clause, ra, rb = clause.strip(), ra - lead, rb - lead
    if rb < len(clause) and clause[-1] in ".!?":
        clause = clause[:-1]
    clause = _trim_after_answer(clause, ra, rb)
    if re.match(r",\s+(?:who|which|whose)\b", clause[rb:]):
        clause = clause[:rb]  # a relative clause about the answer
    # An appositive right after the answer describes it ("Steventon, a village in Hampshire").
    appositive = re.match(r",\s+(?:a|an|the|one|now|then)\b[^,]*(?:,|$)", clause[rb:])
    if appositive and not any(
        t.lower in AUX_ALL or t.lower in IRREGULAR_PAST or past_base(t.lower)
        for t in tokenize(appositive.group())
    ):
        tail = clause[rb + appositive.end() :]
        clause = clause[:rb] + ("," + tail if tail.strip() and appositive.group().endswith(",") else tail)
    enclosed = clause[:ra].rstrip().endswith(",") or clause[ra:rb].lstrip().startswith(",")
    if enclosed and clause[rb:].startswith(","):
        clause = clause[:rb] + clause[rb + 1 :]  # "the last emperor, Puyi, was" -> "the last emperor was"

    moved: list[str] = []
    strand = ""
    question = None
    for _ in range(2):
        adj, adj_kind = _adjunct(clause)
        if not adj:
            break
        head, main = clause[:adj], clause[adj:]
        shift = adj + len(main) - len(main.lstrip())
        main = main.strip()
        if rb <= adj:
            core = clause.find(",", rb)
            core = adj if core == -1 or core > adj else core
            leftover = (clause[:ra] + clause[rb:core]).strip(" ,")
            left_words = [t for t in tokenize(leftover) if t.is_word]
            if adj_kind == "participle" and left_words:
                # "Completed [in 1976] by X, it held ..." -> "In what year was it completed by X?"
                found = _find_verb(main, len(main), len(main))
                if found is None:
                    break
                subject = _lower_first(_simple_subject(main[: found[0][found[3]].start]))
                question = f"{wh} {_be_for(subject)} {subject} {leftover[0].lower()}{leftover[1:]}"
                break
            if len(left_words) == 1 and left_words[0].lower in _ADJUNCT_PREPS:
                strand = left_words[0].lower  # "during [the Second World War]" -> "... during?"
            elif left_words and adj_kind == "prep":
                strand = _lower_first(leftover)  # "With a wingspan that can exceed [3.4 metres], ..."
            elif left_words:
                break
            clause, ra, rb = main, len(main), len(main)
        else:
            if adj_kind == "prep":
                moved.append(_lower_first(head.strip(" ,")))
            clause, ra, rb = main, ra - shift, rb - shift
    if question is None:
        question = _invert(clause, ra, rb, wh, cue_removed)
        if question is None:
            question = f"{wh} {_lower_first(clause[:ra] + ' ' + clause[rb:])}"
        question = " ".join([question, strand, *moved])
    # A participle left alone at the end lost its phrase to the answer: "..., introduced [in 1963]".
    tail = re.search(r",\s+(?:\w+ly\s+)?([a-z]+)\s*$", question)
    if tail and is_participle(tail.group(1)) and _has_verb(question[: tail.start()], wh):
        question = question[: tail.start()]
    question = _clean(question)
    return None if _is_degenerate(question, wh) else question


def _has_verb(question: str, wh: str) -> bool:
    body = [t for t in tokenize(question) if t.is_word][len(wh.split()) :]
    return any(
        t.lower in AUX_ALL or past_base(t.lower) or t.lower in PARTICIPLES or _is_present(t.lower)
        for t in body
    )


def _is_degenerate(question: str, wh: str) -> bool:
    """Whether cutting the answer out left a broken question."""
    if not _has_verb(question, wh):
        return True  # no verb left: "In what year Steven Spielberg's film version?"
    if re.search(_DANGLING_RE, question):
        return True  # a preposition whose object was cut out of the middle of a phrase
    q_words = [t for t in tokenize(question) if t.is_word]
    for t, u in zip(q_words, q_words[1:], strict=False):
        cut_object = t.lower in PREPOSITIONS - {"to"} or t.lower in {"called", "named", "nicknamed"}
        finite = u.lower in AUX_INVERT or u.lower in HAVE
        finite = finite or (past_base(u.lower) is not None and u.lower not in PARTICIPLES)
        if cut_object and not u.is_cap and finite:
            return True  # "its zither score by [Anton Karas] became a hit": the object is gone
    content = [w for w in re.findall(r"\w+", question) if w.lower() not in {"what", "year", "in"}]
    return len(question.split()) < 3 or len(content) < 2

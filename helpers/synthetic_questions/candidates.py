"""Answer candidates: the dates, numbers, people, places and other names in a sentence.

:func:`find_answer_candidates` finds them as :class:`Candidate` spans; the rules around
capitalised runs decide what is a name and what kind of name it is.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from helpers.core.text import AUX_ALL, NAME_PARTICLES, SENTENCE_STARTERS, STOPWORDS
from helpers.synthetic_questions.lexicon import (
    DEMONYM_SUFFIXES,
    DEMONYMS,
    EPITHETS,
    FIELDS,
    FOLLOW_WORDS,
    HONORIFICS,
    IRREGULAR_PAST,
    IRREGULAR_PLURALS,
    LANGUAGES,
    LEADING_PARTICLES,
    MONTH_RE,
    MONTH_SET,
    NON_PERSON_WORDS,
    NOT_PLACE_WORDS,
    NUMBER_WORDS,
    PLACE_ADJECTIVES,
    PLACE_CUE_RE,
    ROLE_NOUNS,
    WEEKDAYS,
    YEAR_CUES,
    Token,
    is_participle,
    past_base,
    tokenize,
)


@dataclass(frozen=True)
class Candidate:
    """An answer span within a sentence.

    Attributes:
        text: The answer, ``sentence[start:end]``.
        start: Offset in the sentence.
        end: Offset just past the answer.
        kind: One of ``"date"``, ``"number"``, ``"person"``, ``"place"``, ``"name"``.
    """

    text: str
    start: int
    end: int
    kind: str


_FULL_DATE_RE = re.compile(
    rf"\b\d{{1,2}} {MONTH_RE},? \d{{3,4}}\b|\b{MONTH_RE} \d{{1,2}}, \d{{3,4}}\b"
)
_MONTH_YEAR_RE = re.compile(rf"\b{MONTH_RE},? \d{{4}}\b")
_DAY_MONTH_RE = re.compile(rf"\b\d{{1,2}} {MONTH_RE}\b|\b{MONTH_RE} \d{{1,2}}\b(?!,? \d)")
_ERA_RE = re.compile(r"(?<![\w.,])\d{1,4} (?:BC|BCE|AD|CE)\b|\bAD \d{1,4}\b")
_YEAR_RE = re.compile(r"(?<![\w.,\-–/$£€])(?:1\d{3}|20\d{2})(?![\w\-–/%]|[.,]\d|['’]s)")
_NUMBER_RE = re.compile(
    r"(?P<cur>[$£€])?(?<![\w.,\-–/])(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"(?:\s(?:hundred|thousand|million|billion|trillion)\b)?(?P<pct>%)?(?![\w\-–/]|[.,]\d)"
)
_NUMBER_WORD_RE = re.compile(
    r"\b(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")(?:-(?:one|two|three|four|"
    r"five|six|seven|eight|nine))?(?:\s(?:hundred|thousand|million|billion)\b)?\b",
    re.IGNORECASE,
)
_RANGE_AFTER = re.compile(rf"^\s*(?:and|or|to|until|-|–)\s*(?:\d|{MONTH_RE}\b)")


def prev_word_adjacent(text: str, pos: int) -> str:
    """The word right before ``pos`` when only spaces separate them (no punctuation)."""
    m = re.search(r"([\w.'’-]+) +$", text[:pos])
    return m.group(1) if m else ""


def next_word(text: str, pos: int) -> str:
    m = re.match(r" +([\w'’-]+)", text[pos:])
    return m.group(1) if m else ""


def _is_range_part(sentence: str, start: int, end: int) -> bool:
    """Whether a date or number is one end of a range or a pair ("between 1555 and 1561")."""
    before = sentence[:start]
    if _RANGE_AFTER.match(sentence[end:]):
        return True
    if re.search(r"\bbetween\s+$", before):
        return True
    return bool(re.search(r"\d\s*(?:and|or|to|until|-|–)\s*$", before))


def _date_spans(sentence: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in spans)

    for rx in (_FULL_DATE_RE, _MONTH_YEAR_RE, _ERA_RE, _DAY_MONTH_RE):
        for m in rx.finditer(sentence):
            if free(m.start(), m.end()) and not _is_range_part(sentence, m.start(), m.end()):
                spans.append((m.start(), m.end()))
    for m in _YEAR_RE.finditer(sentence):
        # A bare year counts only after a time preposition; "a 1988 Italian drama" and
        # "the 1930 World Cup" use the year as an adjective.
        if not free(m.start(), m.end()) or _is_range_part(sentence, m.start(), m.end()):
            continue
        if prev_word_adjacent(sentence, m.start()).lower() in YEAR_CUES:
            spans.append((m.start(), m.end()))
    return sorted(spans)


def unit_after(sentence: str, end: int) -> tuple[str, int]:
    """The counted noun after a number ("30 metres", "980 surviving buildings"), and its end."""
    m = re.match(r" ([a-z][\w'’-]*)(?: ([a-z][\w'’-]*))?", sentence[end:])
    if not m:
        return "", end

    def plural(w: str) -> bool:
        return w in IRREGULAR_PLURALS or (
            w.endswith("s") and not w.endswith(("ss", "us", "is")) and w not in STOPWORDS and len(w) > 2
        )

    first, second = m.group(1), m.group(2)
    if first in STOPWORDS or "-" in first:
        return "", end
    if plural(first):
        return first, end + 1 + len(first)
    adjective = first in _UNIT_ADJECTIVES or first.endswith(
        ("ed", "ing", "al", "ic", "ous", "ive", "ful", "ar", "ent", "ant", "able", "ible", "less", "ese",
         "ian")
    )
    if second and plural(second) and adjective:
        return f"{first} {second}", end + m.end()  # "980 surviving buildings", "786,000 square kilometres"
    return "", end


_UNIT_ADJECTIVES = {
    "square", "cubic", "further", "main", "major", "new", "old", "great", "small", "large", "other",
    "more", "separate", "full", "young", "adult", "hard", "light", "nautical", "million", "billion",
}


def _number_spans(sentence: str, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans = []
    for m in _NUMBER_RE.finditer(sentence):
        a, b = m.start(), m.end()
        num = m.group("num")
        if any(not (b <= s or a >= e) for s, e in taken) or _is_range_part(sentence, a, b):
            continue
        if re.fullmatch(r"1\d{3}|20\d{2}", num) and "." not in m.group() and not m.group("cur"):
            continue  # a year without a time preposition: not a count
        prev = prev_word_adjacent(sentence, a)
        if prev and prev[0].isupper() and prev.lower() not in STOPWORDS:
            continue  # part of a name: "Apollo 11", "Expo 58"
        if prev.lower() in {"no.", "number"} or re.match(r"\s+[A-Z]", sentence[b:]):
            continue  # "No. 8", "The 400 Blows"
        # A bare number is only worth a question with its counted noun, as money, a percentage
        # or an age; "What number ..." questions about the rest read badly.
        is_age = re.search(r"(?:,\s*aged|\bat the age of)\s+$", sentence[:a]) is not None
        if not (unit_after(sentence, b)[0] or m.group("cur") or m.group("pct") or is_age):
            continue
        spans.append((a, b))
    for m in _NUMBER_WORD_RE.finditer(sentence):
        a, b = m.start(), m.end()
        if any(not (b <= s or a >= e) for s, e in taken + spans) or m.group()[0].isupper():
            continue
        prev = prev_word_adjacent(sentence, a).lower()
        # "the first five editions" and "one of" are not counts worth asking about.
        if prev in {"the", "first", "last", "of", "its", "his", "her", "their", "all"}:
            continue
        if unit_after(sentence, b)[0]:
            if prev == "a" and m.group().lower() in {"hundred", "dozen"}:
                a -= 2  # "a hundred zeros"
            spans.append((a, b))
    return sorted(spans)


def is_demonym(word: str) -> bool:
    low = word.lower().split("-")[-1]
    singular = low[:-1] if low.endswith("s") else low  # "Americans"
    return any(w in DEMONYMS or w in LANGUAGES or w.endswith(DEMONYM_SUFFIXES) for w in {low, singular})


def looks_like_verb(word: str) -> bool:
    low = word.lower()
    return low in AUX_ALL or low in IRREGULAR_PAST or past_base(low) is not None


def _overlaps(a: int, b: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(not (b <= s or a >= e) for s, e in spans)


def _name_runs(tokens: list[Token], sentence: str, blocked: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Index ranges ``[i, j)`` of runs of capitalised tokens, particles allowed inside."""

    def usable_cap(t: Token, inside: bool = False) -> bool:
        calendar = t.text in MONTH_SET or t.text in WEEKDAYS
        return (
            t.is_word and t.is_cap and (inside or not calendar)  # "on Monday" no, "Blue Monday" yes
            and t.text != "I" and not _overlaps(t.start, t.end, blocked)
        )

    def joined(a: Token, b: Token) -> bool:
        return sentence[a.end : b.start] == " "

    def free_number(t: Token) -> bool:
        return (
            t.text.isdigit() and len(t.text) <= 4 and not _overlaps(t.start, t.end, blocked)
            and sentence[t.end : t.end + 1] not in ("-", "–")  # not the 4 of "Argentina 4-2"
        )

    runs = []
    i, n = 0, len(tokens)
    while i < n:
        t = tokens[i]
        lead = (
            t.lower in LEADING_PARTICLES and i + 1 < n and usable_cap(tokens[i + 1])
            and joined(t, tokens[i + 1]) and (i == 0 or not tokens[i - 1].is_cap)
        )
        if not (usable_cap(t) or lead):
            i += 1
            continue
        start = i
        # A number in front belongs to the name: "the 1990 World Cup".
        if i > 0 and free_number(tokens[i - 1]) and joined(tokens[i - 1], t):
            start = i - 1
        last = i
        k = i + 1
        while k < n and joined(tokens[k - 1], tokens[k]):
            u = tokens[k]
            if usable_cap(u, inside=True):
                last = k
            elif free_number(u) and (k == last + 1 or tokens[k - 1].lower == "of"):
                last = k  # "Apollo 11", "Blade Runner 2049"
            elif u.lower in NAME_PARTICLES:
                # Particles continue the name only up to a capitalised word: "Mies van der Rohe",
                # "Institute of the Arts", "The Legend of 1900"; a bare "the" only before an
                # epithet ("Ivan the Terrible"), not in "In Manchester the Geiger-Marsden experiment".
                j = k
                while j < n and tokens[j].lower in NAME_PARTICLES and not tokens[j].is_cap:
                    j += 1
                year_of = j < n and tokens[j - 1].lower == "of" and free_number(tokens[j])
                if not (j < n and (usable_cap(tokens[j], inside=True) or year_of)):
                    break
                if u.lower == "the" and tokens[k - 1].is_cap and tokens[j].text not in EPITHETS:
                    break
            else:
                break
            k += 1
        runs.append((start, last + 1))
        i = last + 1
    return runs


def _token_spans(tokens: list[Token], runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(tokens[i].start, tokens[j - 1].end) for i, j in runs]


_QUOTED_RE = re.compile(r"(?<!\w)['‘\"“]([A-Z][^'‘’\"“”]{0,60}?)['’\"”](?!\w)")


def _quoted_title_runs(
    tokens: list[Token], sentence: str, blocked: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Token ranges of quoted titles: 'Stairway to Heaven', 'Love Me Do'."""
    starts = {t.start: k for k, t in enumerate(tokens)}
    ends = {t.end: k for k, t in enumerate(tokens)}
    runs = []
    for m in _QUOTED_RE.finditer(sentence):
        a, b = m.start(1), m.end(1)
        if a in starts and b in ends and not _overlaps(a, b, blocked):
            runs.append((starts[a], ends[b] + 1))
    return runs


def _known_name_runs(
    tokens: list[Token], sentence: str, names: set[str], blocked: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Token ranges where a known name (a paragraph title) occurs whole, longest names first.

    A title found inside a longer capitalised run ("Nile" in "the White Nile") is left to
    the ordinary name rules.
    """
    spans: list[tuple[int, int]] = []
    starts = {t.start: k for k, t in enumerate(tokens)}
    ends = {t.end: k for k, t in enumerate(tokens)}
    for name in sorted(names, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sentence):
            a, b = m.start(), m.end()
            if a not in starts or b not in ends or _overlaps(a, b, blocked + spans):
                continue
            i, j = starts[a], ends[b] + 1
            before_cap = i > 0 and tokens[i - 1].is_cap and sentence[tokens[i - 1].end : a] == " " and (
                tokens[i - 1].lower not in STOPWORDS | SENTENCE_STARTERS
            )
            after_cap = j < len(tokens) and tokens[j].is_cap and sentence[b : tokens[j].start] == " "
            if before_cap or after_cap or re.match(r"['’]s\b", sentence[b:]):
                continue
            spans.append((a, b))
    return sorted((starts[a], ends[b] + 1) for a, b in spans)


_PERSON_AFTER_RE = re.compile(r",\s*(?:who|born)\b|\s+(?:was|were)\s+born\b|\s+(?:died|wrote|said)\b")


def _name_kind(
    sentence: str, run: list[Token], honorific: bool, people: set[str], surnames: set[str],
    titles: set[str], previous: Candidate | None,
) -> str:
    """"place", "person" or "name" for a run of capitalised words, from the words around it."""
    a, b = run[0].start, run[-1].end
    text = sentence[a:b]
    prev = prev_word_adjacent(sentence, a)
    prev_low = prev.lower()
    before = sentence[:a]
    after = sentence[b:]
    cue = PLACE_CUE_RE.search(before)
    if cue and text.lower() not in LANGUAGES and text.lower() not in FIELDS:
        with_the = cue.group("the") is not None
        if not with_the or (len(run) > 1 and run[-1].lower not in NOT_PLACE_WORDS):
            return "place"  # "in Como", "in southern Egypt", "at the University of Pavia"
    touching_previous = previous is not None and re.fullmatch(
        r"\s*(?:,|and|,\s*and)\s*", sentence[previous.end : a]
    )
    if touching_previous and previous.kind == "place" and re.fullmatch(r",\s*", sentence[previous.end : a]):
        return "place"  # "Menlo Park, California"
    non_person = any(t.lower in NON_PERSON_WORDS for t in run) or any(c.isdigit() for c in text)
    if non_person:
        return "name"
    role_before_comma = re.search(r"\b([\w-]+),\s*$", before)
    if text in titles and text not in people:
        return "name"
    if (
        text in people
        or (len(run) == 1 and text in surnames)
        or honorific
        or prev_low in ROLE_NOUNS
        or prev_low == "by"
        or (role_before_comma is not None and role_before_comma.group(1).lower() in ROLE_NOUNS)
        or _PERSON_AFTER_RE.match(after)
        or (touching_previous and previous.kind == "person")
    ):
        return "person"
    return "name"


def find_answer_candidates(
    sentence: str,
    known_people: Collection[str] = (),
    known_names: Collection[str] = (),
) -> list[Candidate]:
    """Answer spans in one sentence: dates, numbers, people, places and other names.

    Dates are full dates ("16 December 1775"), month and year ("January 1813"), day and
    month, years with an era ("196 BC") and bare years 1000-2099 after a time preposition
    ("in 1819"); one end of a range ("between 1555 and 1561") is skipped. Numbers need a
    counted noun, which stays out of the answer ("30" in "30 metres"), or come as money
    ("$25 billion"), a percentage or an age ("at the age of 27"); number words count only
    with a noun. Names are quoted titles ('Love Me Do'), known names found whole, and runs
    of capitalised words with particles inside ("Nicholas of Verdun"); a run at the start
    of the sentence needs two words or to be known, and a single word before a lowercase
    noun is taken for an adjective ("Italian physicist") and skipped. A name after "in",
    "at", "from" or "near" is a place; one after a role noun, an honorific or "by", or
    followed by ", who" or "was born", is a person; the rest are plain names.

    Args:
        sentence: One sentence.
        known_people: Names known to be people (for example paragraph titles about people).
        known_names: Other known names, allowed even as one word at the sentence start.

    Returns:
        Non-overlapping candidates in order of position.
    """
    people = set(known_people)
    # "Page" alone is Larry Page; "Bavaria" is not Ludwig II of Bavaria.
    surnames = {p.split()[-1] for p in people if len(p.split()) > 1 and not set(p.split()) & NAME_PARTICLES}
    titles = set(known_names)
    names = titles | people
    dates = _date_spans(sentence)
    numbers = _number_spans(sentence, dates)
    found = [Candidate(sentence[a:b], a, b, "date") for a, b in dates]
    found += [Candidate(sentence[a:b], a, b, "number") for a, b in numbers]

    tokens = tokenize(sentence)
    first_word = next((i for i, t in enumerate(tokens) if t.is_word), None)
    known_runs = _quoted_title_runs(tokens, sentence, dates + numbers)
    known_runs += _known_name_runs(
        tokens, sentence, names, dates + numbers + _token_spans(tokens, known_runs)
    )
    known_runs.sort()
    blocked = dates + numbers + _token_spans(tokens, known_runs)
    other_runs = _name_runs(tokens, sentence, blocked)
    runs = sorted([(i, j, True) for i, j in known_runs] + [(i, j, False) for i, j in other_runs])
    previous: Candidate | None = None
    for i, j, known in runs:
        run = tokens[i:j]
        if known:
            kind = _name_kind(sentence, run, False, people, surnames, titles, previous)
            previous = Candidate(sentence[run[0].start : run[-1].end], run[0].start, run[-1].end, kind)
            found.append(previous)
            continue
        # A capitalised opener ("The", "In", "Its", "Nicknamed") is not part of the name after it,
        # unless the whole run is a known name ("All About My Mother").
        opener = run[0].lower in STOPWORDS | SENTENCE_STARTERS or is_participle(run[0].lower) or (
            run[0].lower.endswith("ing") and len(run) > 1
        )
        if i == first_word and opener and sentence[run[0].start : run[-1].end] not in names:
            run, i = run[1:], i + 1
            while run and run[0].lower in NAME_PARTICLES and not run[0].is_cap:
                run, i = run[1:], i + 1
        honorific = False
        while (
            len(run) > 1 and run[0].text in HONORIFICS and run[1].is_cap
            and not any(t.lower in NON_PERSON_WORDS for t in run[1:])  # "King John's Castle" stays whole
        ):
            run, i, honorific = run[1:], i + 1, True
        while run and not run[-1].is_cap and not run[-1].text.isdigit():
            run = run[:-1]
        if not run or not any(t.is_cap for t in run):
            continue
        a, b = run[0].start, run[-1].end
        text = sentence[a:b]
        words = [t for t in run if t.is_cap]
        at_start = i == first_word
        after = sentence[b:]
        nxt = next_word(sentence, b)
        if re.match(r"['’]s\b", after) or run[-1].text.endswith(("'s", "’s")):
            continue  # possessive: "Captain Ahab's obsessive hunt"
        if sentence[:a].rstrip().endswith((")", "(")):
            continue  # "(What's the Story) Morning Glory": a title cut in two
        name_words = [t for t in run if t.is_cap or t.text.isdigit()]
        if at_start and len(name_words) < 2 and text not in names and text not in surnames:
            continue  # "Construction began", "Napoleon made": can't tell a name from a common word
        single = len(run) == 1
        if single and (is_demonym(text) or text.lower() in FIELDS):
            continue  # "Irish", "Americans"; "Physics" in "the Nobel Prize in Physics"
        if all(is_demonym(t.text) or t.lower in PLACE_ADJECTIVES for t in words):
            continue  # "Latin American", "South Korean"
        if nxt and nxt[0].islower() and nxt.lower() not in FOLLOW_WORDS and after[:1] == " ":
            # A lowercase word right after: a verb keeps the name, a noun makes it an adjective
            # ("Italian physicist", "Earth orbit").
            after_next = next_word(sentence, b + 1 + len(nxt)).lower()
            verbish = looks_like_verb(nxt) or (
                nxt.endswith("s") and not nxt.endswith(("ss", "us", "is"))
                and (not single or at_start or prev_word_adjacent(sentence, a) == "The")
                and not looks_like_verb(after_next)  # "Nobel Prize winners have been"
            )
            if is_demonym(run[-1].text) or not verbish:
                continue
        kind = _name_kind(sentence, run, honorific, people, surnames, titles, previous)
        cand = Candidate(text, a, b, kind)
        found.append(cand)
        previous = cand
    found.sort(key=lambda c: c.start)
    return found

"""Text utilities every family may use: yes/no questions (and, below, sentence and paragraph splitting)."""

from __future__ import annotations

import re
from dataclasses import dataclass

YES_NO = {"yes", "no"}
"""Answers a span model cannot point at: they are answered apart (see ``question_answering.YesNoPrior``)."""

YES_NO_START = re.compile(
    r"^\s*(is|are|was|were|do|does|did|can|could|has|have|had|will|would|should)\b", re.IGNORECASE
)


def is_yes_no_question(question: str) -> bool:
    """A question that opens with an auxiliary verb ("Were both ...", "Does X ...") expects yes/no.

    A span model cannot point at "yes" or "no" (they are rarely in the context), so such
    questions are answered apart: see ``question_answering.YesNoPrior``.
    """
    return bool(YES_NO_START.match(question))


# ---------------------------------------------------------------------------------------
# Paragraphs and sentences
# ---------------------------------------------------------------------------------------

# The word lists below serve the splitters; the synthetic question writer shares them
# (helpers.synthetic_questions.lexicon adds its own on top).

# A period after these never ends a sentence ("St. James's Gate", "No. 8", "Mr. Darcy").
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "prof", "sen", "gen", "col", "lt", "capt", "sgt", "rev",
    "hon", "gov", "mt", "ft", "no", "nos", "vol", "vs", "approx", "ca", "cf", "fig", "pp", "op",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}
# These end sentences often enough ("... Apple Inc. The company ...") that the next word decides.
_AMBIGUOUS_ABBREVIATIONS = {"co", "inc", "ltd", "corp", "bros", "jr", "sr", "etc"}

# Words that open a new sentence; after an ambiguous abbreviation they mean the sentence ended.
SENTENCE_STARTERS = {
    "the", "a", "an", "he", "she", "it", "they", "we", "i", "his", "her", "its", "their", "this",
    "these", "those", "there", "in", "on", "at", "after", "before", "during", "from", "by",
    "since", "when", "while", "although", "however", "as", "for", "with", "despite", "today",
    "later", "both", "each", "some", "many", "most", "all", "one", "two", "our", "my", "few",
    "several", "another", "other", "such", "contrary",
}

STOPWORDS = {
    "a", "an", "the", "and", "or", "but", "nor", "of", "in", "on", "at", "to", "from", "by",
    "for", "with", "into", "onto", "as", "than", "that", "this", "these", "those", "it", "its",
    "he", "she", "they", "we", "i", "you", "him", "her", "his", "them", "their", "our", "my",
    "your", "was", "is", "were", "are", "be", "been", "being", "had", "has", "have", "do",
    "does", "did", "will", "would", "can", "could", "may", "might", "must", "shall", "should",
    "which", "who", "whom", "whose", "what", "where", "when", "why", "how", "there", "here",
    "not", "no", "so", "if", "then", "also", "about", "after", "before", "during", "until",
    "since", "while", "over", "under", "between", "through", "near", "up", "down", "out", "off",
    "some", "all", "each", "both", "many", "most", "such", "only", "other", "another", "any",
    "like", "despite", "although", "though", "because", "around", "among", "against", "upon",
    "within", "without", "following", "today", "later", "once", "one",
}

# Lowercase particles allowed inside a name: "Nicholas of Verdun", "Wernher von Braun".
NAME_PARTICLES = {
    "of", "de", "van", "von", "der", "den", "del", "della", "di", "da", "du", "la", "le", "the",
    "y", "dos", "das", "do", "bin", "ibn", "al", "&", "dei", "degli", "delle", "des", "zu", "ter", "ten",
}

AUX_INVERT = {
    "was", "is", "were", "are", "can", "could", "will", "would", "should", "may", "might",
    "must",
}
HAVE = {"had": "did", "has": "does", "have": "do"}
AUX_ALL = AUX_INVERT | set(HAVE) | {"be", "been", "being"}


def bare_title(title: str | None) -> str:
    """A title without its trailing qualifier: "Dune (novel)" → "Dune"; None → ""."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", title or "").strip()


@dataclass(frozen=True)
class Paragraph:
    """One titled paragraph of a context.

    Attributes:
        title: The title without its colon; empty when the paragraph has none.
        title_start: Offset of the title (equal to ``start`` when there is none).
        start: Offset of the paragraph text after ``"Title: "``.
        end: Offset just past the paragraph text.
    """

    title: str
    title_start: int
    start: int
    end: int


def _is_nonfinal_period(word: str, next_word: str) -> bool:
    """Whether the period closing ``word`` belongs to an abbreviation rather than ending a sentence."""
    bare = word.lstrip("(\"'‘“")[:-1]
    low = bare.lower()
    if low == "no" and next_word[:1].isdigit():
        return True
    if low in _ABBREVIATIONS and low != "no":
        return True
    if len(bare) == 1 and bare.isalpha() and bare.isupper():
        return True  # an initial: "J. R. R. Tolkien"
    if re.fullmatch(r"(?:[^\W\d_]\.)+[^\W\d_]", bare) or low in _AMBIGUOUS_ABBREVIATIONS:
        # "A.C. Milan" continues, "the U.S. In 1990 ..." does not.
        return next_word.lower() not in SENTENCE_STARTERS
    return False


def _is_title_token_ok(tok: str) -> bool:
    core = tok.strip("()\"'‘’“”,")
    if not core.endswith("."):
        return not tok.endswith(("?", "!"))
    bare = core[:-1]
    return (
        len(bare) == 1
        or bare.lower() in _ABBREVIATIONS
        or bare.lower() in _AMBIGUOUS_ABBREVIATIONS
        or re.fullmatch(r"(?:[^\W\d_]\.)+[^\W\d_]", bare) is not None
    )


def _valid_title(title: str) -> bool:
    """Whether ``title`` (the text before a colon) looks like a paragraph title, not a clause."""
    title = title.strip()
    if not title or not (title[0].isupper() or title[0].isdigit()):
        return False
    tokens = title.split()
    if len(tokens) > 12:
        return False
    lowercase_content = 0
    depth = 0
    for tok in tokens:
        depth += tok.count("(")
        core = tok.strip("()\"'‘’“”,").lower()
        if depth == 0:
            if (core in AUX_ALL and not tok[0].isupper()) or not _is_title_token_ok(tok):
                return False
            if tok[0].islower() and core not in STOPWORDS and core not in NAME_PARTICLES:
                lowercase_content += 1
        depth = max(0, depth - tok.count(")"))
    # "Blue whale", "Ein deutsches Requiem" pass; "The reasons were simple" does not.
    return lowercase_content <= 2


_BOUNDARY_RE = re.compile(r"[.!?][\"'’”)\]]*\s+")


_NAME_ENDINGS = {"inc.", "ltd.", "co.", "corp.", "jr.", "sr.", "bros.", "plc.", "cie."}
"""Abbreviations that may end a title on its own line ("Krauss & Co."), unlike "St." or "Dr."."""
_BLANK_LINE_RE = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_LINE_RE = re.compile(r"[^\n]+")


def _is_title_line(line: str, next_line: str | None) -> bool:
    """Whether ``line`` is a title on its own line: a short title-like phrase, balanced brackets,
    no colon at its end, followed by a line that starts a paragraph (capital, digit, quote, bracket)."""
    line = line.strip()
    if next_line is None or not line or len(line) > 120 or line.endswith((":", ";", ",", "?", "!")):
        return False
    last = line.split()[-1]
    if last in STOPWORDS or last in NAME_PARTICLES:
        return False  # a hard-wrapped line cut after "the", "of", "and": not a title
    acronym = re.fullmatch(r"(?:[^\W\d_]\.){2,}", last)
    if line.endswith(".") and not (acronym or last.lower() in _NAME_ENDINGS):
        return False  # a sentence, or a line cut after "St.", not a title ("F.C." and "Inc." may end one)
    first = next_line.strip()[:1]
    if not first or not (first.isupper() or first.isdigit() or first in "\"'‘“(["):
        return False
    return line.count("(") == line.count(")") and _valid_title(line)


def _colon_paragraphs(text: str, start: int, end: int) -> list[Paragraph]:
    """``Title: text`` paragraphs of ``text[start:end]`` (one block, titles inline)."""
    starts = [start] + [m.end() for m in _BOUNDARY_RE.finditer(text, start, end)]
    titles: list[tuple[int, int, int]] = []  # (title_start, colon, body_start)
    floor = start
    for m in re.compile(r":\s+").finditer(text, start, end):
        colon, body = m.start(), m.end()
        if body >= end or not (text[body].isupper() or text[body].isdigit() or text[body] in "\"'‘“"):
            continue
        for s in starts:
            if s < floor or s >= colon or colon - s > 120:
                continue
            title = text[s:colon]
            if title.count("(") == title.count(")") and _valid_title(title):
                titles.append((s, colon, body))
                floor = body
                break
    block = text[start:end]
    lead = start + len(block) - len(block.lstrip())
    if not titles:
        stripped = start + len(block.rstrip())
        return [Paragraph("", lead, lead, stripped)] if block.strip() else []
    paragraphs = []
    if text[start: titles[0][0]].strip():
        paragraphs.append(Paragraph("", lead, lead, start + len(text[start: titles[0][0]].rstrip())))
    for i, (ts, colon, body) in enumerate(titles):
        stop = titles[i + 1][0] if i + 1 < len(titles) else end
        stop = len(text[:stop].rstrip())
        paragraphs.append(Paragraph(text[ts:colon].strip(), ts, body, max(stop, body)))
    return paragraphs


def _line_paragraphs(text: str, lines: list[tuple[int, int]], titled: list[bool]) -> list[Paragraph]:
    """Paragraphs of one block whose titles stand on lines of their own (``titled[i]``: line ``i``
    is a title); the lines up to the next title are the paragraph, those before the first title
    one untitled paragraph."""
    paragraphs, i = [], 0
    while i < len(lines):
        j = i + 1 if titled[i] else i
        k = j
        while k < len(lines) and not titled[k]:
            k += 1
        if k > j:
            title = text[lines[i][0]:lines[i][1]].strip() if titled[i] else ""
            paragraphs.append(Paragraph(title, lines[i][0], lines[j][0], lines[k - 1][1]))
        i = k
    return paragraphs


def split_paragraphs(text: str) -> list[Paragraph]:
    """Split a context into its titled paragraphs, whatever its layout.

    Three layouts are read, alone or mixed: documents separated by blank lines; a title on a line
    of its own above its paragraph (``"Stefan Hell\nStefan Walter Hell (born 1962) is ..."``, as
    scraped Wikipedia text comes); and ``"Title One: text. Title Two: text."`` on one line. A block
    with titles on their own lines takes no inline titles, so ``"(ICAO: KSGU)"`` in its text stays
    text. An inline title is a short phrase at the start of a block or right after a sentence end,
    followed by a colon and a capitalised word; when several sentence ends precede the colon, the
    earliest one that still gives a plausible title wins, so a title with initials
    (``"J. L. B. Smith:"``) is kept whole. Text without titles is one paragraph per block.

    Args:
        text: The context.

    Returns:
        The paragraphs in order; their ``start:end`` ranges never include a title.
    """
    cuts = [0] + [x for m in _BLANK_LINE_RE.finditer(text) for x in (m.start(), m.end())] + [len(text)]
    blocks = []  # the non-empty lines of each block, as (start, end)
    for start, end in zip(cuts[::2], cuts[1::2], strict=True):
        lines = [(m.start() + len(m.group()) - len(m.group().lstrip()), m.start() + len(m.group().rstrip()))
                 for m in _LINE_RE.finditer(text, start, end) if m.group().strip()]
        if lines:
            blocks.append(lines)
    paragraphs, pending = [], None  # pending: a title alone in its block, for the next block's text
    for b, lines in enumerate(blocks):
        if pending is not None:
            lines = [pending, *lines]
        texts = [text[a:z] for a, z in lines]
        titled = [_is_title_line(t, nxt) for t, nxt in zip(texts, [*texts[1:], None], strict=True)]
        following = text[blocks[b + 1][0][0]:blocks[b + 1][0][1]] if b + 1 < len(blocks) else None
        if len(lines) == 1 and _is_title_line(texts[0], following):
            pending = lines[0]
            continue
        pending = None
        if any(titled):
            paragraphs.extend(_line_paragraphs(text, lines, titled))
        else:
            paragraphs.extend(_colon_paragraphs(text, lines[0][0], lines[-1][1]))
    return paragraphs


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cur = start
    for m in _BOUNDARY_RE.finditer(text, start, end):
        nxt = text[m.end() : end]
        first = nxt.lstrip("\"'‘“(")[:1]
        if not first or not (first.isupper() or first.isdigit()):
            continue
        gap = m.group()[len(m.group().rstrip()):]
        if text[m.start()] == "." and not (len(gap) >= 2 and "\n" not in gap):
            # Two spaces after a period end a sentence whatever the word ("on Orange St.  In 1970");
            # one space after an abbreviation or an initial does not.
            word = text[max(text.rfind(" ", start, m.start()), start - 1) + 1 : m.start() + 1]
            next_word = re.match(r"[\w'’.-]*", nxt.lstrip("\"'‘“(")).group()
            if _is_nonfinal_period(word, next_word):
                continue
        sent_end = m.end() - len(m.group()) + len(m.group().rstrip())
        if text[cur:sent_end].strip():
            spans.append((cur, sent_end))
        cur = m.end()
    tail_end = len(text[:end].rstrip())
    if cur < tail_end and text[cur:tail_end].strip():
        spans.append((cur, tail_end))
    return spans


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``.

    Periods after abbreviations ("Mr.", "St.", "No. 8"), initials ("J. R. R. Tolkien") and
    inside numbers ("3.5") do not end a sentence; a dotted acronym ("U.S.") ends one only
    when a typical sentence opener follows. Paragraph titles (see :func:`split_paragraphs`)
    are left out, so ``"... cathedral. Jane Austen: Jane Austen was born ..."`` gives a
    sentence starting at ``"Jane Austen was born"``.

    Args:
        text: Any text; typically a two-paragraph context.

    Returns:
        ``(start, end)`` pairs with ``text[start:end]`` the sentence, end punctuation included.
    """
    spans = []
    for para in split_paragraphs(text):
        spans.extend(sentence_spans(text, para.start, para.end))
    return spans

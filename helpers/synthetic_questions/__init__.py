"""Synthetic extractive-QA training questions from unlabelled contexts, by cloze translation.

After Lewis et al. (2019), "Unsupervised Question Answering by Cloze Translation": pick an
answer span in a sentence (a date, a number or a capitalised name), cut the sentence down to
the clause that holds it, replace the span by a wh-word chosen from the kind of answer and
move that wh-phrase to the front, inverting subject and verb when a simple rule applies and
falling back to the identity mapping ("wh-word + the rest of the clause") when none does.

Everything is plain Python and regular expressions, deterministic under a seed: no tagger,
no parser, no model. The rules aim for precision over recall; a candidate that looks doubtful
is dropped rather than turned into a misleading question.

The contexts this is written for are two titled paragraphs on one line
(``"Title One: text. Title Two: text."``); :func:`split_paragraphs` finds the titles so that
no sentence starts with one, and the titles seed the sets of known people and names.

Typical use::

    df = generate_questions(unstructured["context"], max_per_context=3, seed=0)
    describe_generation(df, n_contexts=len(unstructured))
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pandas as pd

KINDS = ("date", "number", "person", "place", "name")
COLUMNS = ["question", "answer", "answer_start", "context", "kind", "context_index"]

# ---------------------------------------------------------------------------------------
# Word lists
# ---------------------------------------------------------------------------------------

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
_MONTH_SET = set(MONTHS)
_WEEKDAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

# A period after these never ends a sentence ("St. James's Gate", "No. 8", "Mr. Darcy").
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "prof", "sen", "gen", "col", "lt", "capt", "sgt", "rev",
    "hon", "gov", "mt", "ft", "no", "nos", "vol", "vs", "approx", "ca", "cf", "fig", "pp", "op",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}
# These end sentences often enough ("... Apple Inc. The company ...") that the next word decides.
_AMBIGUOUS_ABBREVIATIONS = {"co", "inc", "ltd", "corp", "bros", "jr", "sr", "etc"}

# Words that open a new sentence; after an ambiguous abbreviation they mean the sentence ended.
_SENTENCE_STARTERS = {
    "the", "a", "an", "he", "she", "it", "they", "we", "i", "his", "her", "its", "their", "this",
    "these", "those", "there", "in", "on", "at", "after", "before", "during", "from", "by",
    "since", "when", "while", "although", "however", "as", "for", "with", "despite", "today",
    "later", "both", "each", "some", "many", "most", "all", "one", "two", "our", "my", "few",
    "several", "another", "other", "such", "contrary",
}

_STOPWORDS = {
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
_NAME_PARTICLES = {
    "of", "de", "van", "von", "der", "den", "del", "della", "di", "da", "du", "la", "le", "the",
    "y", "dos", "das", "do", "bin", "ibn", "al", "&", "dei", "degli", "delle", "des", "zu", "ter", "ten",
}
_EPITHETS = {
    "Great", "Terrible", "Conqueror", "Elder", "Younger", "Bold", "Wise", "Good", "Pious", "Fair",
    "Magnificent", "Navigator", "Confessor", "Just", "Lionheart", "Red", "Fat", "Bald", "Lame",
}
_LEADING_PARTICLES = {"von", "van", "de", "da", "di", "du", "del", "der", "le", "la"}

_AUX_INVERT = {
    "was", "is", "were", "are", "can", "could", "will", "would", "should", "may", "might",
    "must",
}
_HAVE = {"had": "did", "has": "does", "have": "do"}
_AUX_ALL = _AUX_INVERT | set(_HAVE) | {"be", "been", "being"}

_IRREGULAR_PAST = {
    "became": "become", "began": "begin", "bought": "buy", "broke": "break", "brought": "bring",
    "built": "build", "came": "come", "caught": "catch", "chose": "choose", "created": "create",
    "drew": "draw", "drove": "drive", "fell": "fall", "felt": "feel", "fought": "fight",
    "flew": "fly", "forgave": "forgive", "found": "find", "froze": "freeze", "gave": "give",
    "went": "go", "grew": "grow", "heard": "hear", "held": "hold", "hung": "hang", "kept": "keep",
    "knew": "know", "led": "lead", "left": "leave", "lost": "lose", "made": "make", "meant": "mean",
    "met": "meet", "overcame": "overcome", "paid": "pay", "ran": "run", "rode": "ride",
    "rose": "rise", "said": "say", "sang": "sing", "sank": "sink", "saw": "see", "sent": "send",
    "shot": "shoot", "sold": "sell", "spent": "spend", "spoke": "speak", "stood": "stand",
    "struck": "strike", "swam": "swim", "taught": "teach", "thought": "think", "told": "tell",
    "took": "take", "undertook": "undertake", "withdrew": "withdraw", "won": "win", "wore": "wear",
    "wrote": "write", "added": "add", "did": "do", "beat": "beat", "died": "die", "tied": "tie",
    "lied": "lie", "cost": "cost", "set": "set", "put": "put", "cut": "cut", "hit": "hit",
    "spread": "spread", "shut": "shut", "split": "split", "cast": "cast", "burst": "burst",
    "used": "use", "owed": "owe", "fed": "feed", "fled": "flee", "forbade": "forbid",
    "hid": "hide", "lay": "lie", "sought": "seek", "stole": "steal", "woke": "wake",
}
# Past forms that are also common nouns or base forms: verbs only right after a pronoun or a name.
_AMBIGUOUS_PAST = {"set", "put", "cut", "hit", "spread", "cast"}
_NOT_PAST = {
    "hundred", "sacred", "naked", "wicked", "kindred", "hatred", "rugged", "ragged", "beloved",
    "speed", "breed", "creed", "greed", "indeed", "embed", "aged",
}
_PARTICIPLES = {
    "born", "set", "put", "cut", "cast", "spread", "hit",
    "been", "become", "begun", "bought", "broken", "brought", "built", "come", "caught",
    "chosen", "done", "drawn", "driven", "fallen", "felt", "fought", "flown", "found", "given",
    "gone", "grown", "heard", "held", "hung", "kept", "known", "led", "left", "lost", "made",
    "met", "paid", "run", "said", "seen", "sent", "shot", "sold", "spent", "spoken", "stood",
    "struck", "taught", "thought", "told", "taken", "won", "worn", "written", "risen", "got",
    "gotten", "had", "sung", "sunk",
}
# Words between a subject and its verb that belong with the verb ("he also commissioned").
_VERB_ADVERBS = {
    "also", "never", "later", "then", "first", "once", "still", "often", "now", "already",
    "soon", "eventually", "finally", "subsequently", "originally", "initially", "always",
    "again", "both", "not", "briefly", "famously", "successfully", "jointly",
}

# After a name, these words show the name ended there (so it is not an adjective as in
# "an Italian physicist").
_FOLLOW_WORDS = _STOPWORDS | _AUX_ALL | _VERB_ADVERBS | {
    "whereas", "via", "across", "along", "towards", "beyond", "per", "plus", "versus", "ago",
    "itself", "himself", "herself", "themselves", "together", "alone", "instead", "too",
}

_PLACE_CUES = {"in", "at", "from", "near"}
_YEAR_CUES = {"in", "by", "since", "until", "till", "before", "after", "around", "circa", "from"}
_APPROXIMATORS = (
    "more than", "less than", "fewer than", "at least", "at most", "up to", "about", "around",
    "some", "nearly", "almost", "roughly", "approximately", "over", "under", "only", "just",
    "exactly", "barely",
)
_NUMBER_WORDS = {
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "dozen",
}
_IRREGULAR_PLURALS = {
    "people", "men", "women", "children", "feet", "teeth", "mice", "geese", "cattle", "staff",
    "sheep", "deer", "fish", "personnel", "crew",
}
_CURRENCY_WORDS = {
    "dollars", "pounds", "euros", "francs", "marks", "yen", "rupees", "roubles", "rubles",
    "guineas", "lire", "pesetas", "shillings", "crowns", "guilders", "pesos",
}

# Capitalised words used as adjectives ("Irish dry stout", "Swiss, English and Catalan players").
_DEMONYMS = {
    "american", "african", "korean", "german", "mexican", "roman", "catalan", "cuban",
    "moroccan", "tibetan", "anglican", "lutheran", "republican", "swiss", "french", "dutch",
    "greek", "thai", "czech", "welsh", "scots", "soviet", "arab", "arabic", "catholic",
    "protestant", "gothic", "baroque", "islamic", "muslim", "hindu", "buddhist", "latin",
    "celtic", "norse", "nordic", "inuit", "maori", "aztec", "inca", "mayan", "israeli",
    "iraqi", "pakistani", "bengali", "saudi", "nepali", "slavic", "baltic", "hellenic",
    "romanesque", "neoclassical", "impressionist", "cubist", "romantic", "classical", "modern",
    "nazi", "communist", "socialist", "democratic", "imperial", "royal", "national", "federal",
    "biblical", "olympic", "jesuit", "benedictine", "franciscan", "gregorian", "elizabethan",
    "edwardian", "medieval", "viking", "sami", "quechua",
}
_DEMONYM_SUFFIXES = ("ian", "ean", "ese", "ish")

_LANGUAGES = {
    "english", "french", "german", "latin", "greek", "italian", "spanish", "russian", "arabic",
    "chinese", "japanese", "korean", "hebrew", "portuguese", "dutch", "scots", "welsh", "irish",
    "gaelic", "hindi", "persian", "turkish", "polish", "swedish", "norwegian", "danish", "czech",
    "hungarian", "sanskrit", "esperanto", "finnish", "icelandic", "mandarin", "cantonese",
}

# A name with one of these words is an organisation, a place or a thing, not a person.
_NON_PERSON_WORDS = {
    "university", "college", "company", "club", "church", "museum", "academy", "society",
    "institute", "institution", "party", "army", "navy", "council", "corporation", "group",
    "bank", "records", "press", "foundation", "association", "school", "cathedral", "basilica",
    "hall", "park", "square", "river", "lake", "mount", "mountains", "island", "islands", "sea",
    "ocean", "street", "road", "bridge", "tower", "palace", "castle", "stadium", "station",
    "centre", "center", "gate", "city", "kingdom", "empire", "republic", "states", "union", "war",
    "award", "awards", "prize", "cup", "games", "olympics", "festival", "film", "league",
    "championship", "guide", "orchestra", "theatre", "theater", "hospital", "house", "garden",
    "gardens", "temple", "mosque", "abbey", "bay", "gulf", "desert", "valley", "province",
    "county", "region", "dynasty", "airport", "canal", "dam", "reserve", "laboratory", "opera",
    "philharmonic", "inc", "ltd", "co.", "f.c.", "fc", "ag", "building", "arena", "field",
    "coast", "peninsula", "channel", "strait", "falls", "forest", "highlands", "delta",
    "symphony", "commission", "committee", "agency", "department", "ministry", "parliament",
    "senate", "congress", "court", "prison", "railway", "port", "harbour", "village", "town",
    "district", "state", "country", "fountain", "world", "site", "heritage", "pacific",
    "atlantic", "north", "south", "east", "west", "northern", "southern", "eastern", "western",
    "new", "old", "great", "little", "upper", "lower", "central", "basin", "plateau", "alps",
}

# Role nouns right before a name mark a person ("the engineer Tommy Flowers").
_ROLE_NOUNS = {
    "writer", "author", "novelist", "poet", "playwright", "dramatist", "engineer",
    "mathematician", "physicist", "chemist", "biologist", "botanist", "zoologist", "astronomer",
    "scientist", "inventor", "philosopher", "historian", "economist", "architect", "painter",
    "artist", "sculptor", "composer", "conductor", "pianist", "violinist", "cellist", "musician",
    "singer", "songwriter", "guitarist", "drummer", "bassist", "vocalist", "frontman", "actor",
    "actress", "director", "filmmaker", "producer", "screenwriter", "cartoonist",
    "photographer", "journalist", "editor", "publisher", "footballer", "player", "coach",
    "manager", "president", "chairman", "founder", "co-founder", "admiral", "commander",
    "explorer", "navigator", "goldsmith", "businessman", "businesswoman", "entrepreneur",
    "industrialist", "banker", "merchant", "designer", "surgeon", "physician", "doctor", "nurse",
    "teacher", "professor", "student", "pupil", "son", "daughter", "brother", "brothers",
    "sister", "sisters", "father", "mother", "wife", "husband", "nephew", "niece", "uncle",
    "aunt", "grandson", "granddaughter", "widow", "partner", "friend", "colleague", "rival",
    "successor", "predecessor", "assistant", "curator", "astronaut", "astronauts", "pilot",
    "priest", "monk", "sultan", "chancellor", "minister", "senator", "governor", "mayor",
    "officer", "soldier", "aviator", "lawyer", "judge", "tenor", "soprano", "dancer",
    "choreographer", "critic", "theorist", "geologist", "naturalist", "pathologist",
    "bacteriologist", "crystallographer", "physiologist", "psychologist", "pioneer",
    "collaborator", "co-founders", "founders", "members", "member", "bandmate", "emperor",
    "perfumer", "lieutenant-governor", "climber", "geographer", "educator", "missionary", "cousin",
}
_HONORIFICS = {
    "President", "King", "Queen", "Emperor", "Empress", "Prince", "Princess", "Pope", "Sir",
    "Lord", "Lady", "Dame", "Captain", "General", "Admiral", "Archbishop", "Bishop", "Mr",
    "Mrs", "Ms", "Dr", "Mr.", "Mrs.", "Ms.", "Dr.", "Professor", "Prof.", "Tsar", "Tsarina",
    "Duke", "Duchess", "Count", "Countess", "Baron", "Baroness", "Chancellor", "Senator",
    "Governor", "Colonel", "Lieutenant", "Sergeant", "Marshal", "Rabbi", "Cardinal",
}
_PERSON_AFTER_RE = re.compile(r",\s*(?:who|born)\b|\s+(?:was|were)\s+born\b|\s+(?:died|wrote|said)\b")
_DETERMINERS = {"the", "a", "an", "its", "his", "her", "their", "this", "that", "these", "those", "our"}
_PREPOSITIONS = {
    "of", "in", "on", "at", "to", "from", "by", "for", "with", "into", "onto", "as", "than",
    "about", "after", "before", "during", "until", "since", "over", "under", "between",
    "through", "near", "around", "among", "against", "upon", "within", "without", "across",
    "along", "towards", "via", "like",
}
_PLACE_ADJECTIVES = (
    "northern", "southern", "eastern", "western", "central", "north", "south", "east", "west",
    "northeastern", "northwestern", "southeastern", "southwestern", "rural", "downtown", "coastal",
    "present-day", "modern-day", "upper", "lower", "inner", "outer",
)
# The preposition cue of a place, with an optional "the" and compass words: "in southern Egypt".
_PLACE_CUE_RE = re.compile(
    r"(?<![\w-])(?:in|at|from|near)\s+(?P<the>the\s+)?(?:(?:" + "|".join(_PLACE_ADJECTIVES) + r")\s+){0,2}$",
    re.IGNORECASE,
)
# "the Nobel Prize in Physics": after "in", a field of study is no place.
_FIELDS = {
    "physics", "chemistry", "medicine", "literature", "economics", "mathematics", "physiology",
    "peace", "biology", "astronomy", "philosophy", "law", "engineering", "music", "art", "arts",
    "history", "science", "sciences", "architecture", "fiction", "poetry", "drama", "theology",
}
# "in the Second World War" is a time, not a place.
_NOT_PLACE_WORDS = {
    "war", "award", "awards", "prize", "cup", "games", "olympics", "festival", "film", "league",
    "championship", "revolution", "crisis", "battle", "era", "age", "period", "dynasty", "reign",
    "renaissance", "reformation", "depression", "movement", "series", "show", "final", "finals",
}
_PRE_ADJECTIVE = {"first", "last", "newly", "recently", "most", "least", "well", "best", "only", "second"}

# ---------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"(?:[^\W\d_]\.){2,}"  # dotted acronyms: A.C., R.E.M.
    r"|[^\W\d_]\.(?=\s+\w)"  # initials: the K. of Philip K. Dick
    r"|(?:St|Dr|Mr|Mrs|Ms|Mt|Ft|Co|No|Op|Jr|Sr|Prof|Gen|Capt|Sgt|Rev|Lt|Col)\.(?=\s)"
    r"|\d+(?:[.,]\d+)*"
    r"|\w+(?:['’\-/&]\w+)*"
    r"|[^\w\s]"
)


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()

    @property
    def is_cap(self) -> bool:
        return self.text[0].isupper()


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


# ---------------------------------------------------------------------------------------
# Paragraphs and sentences
# ---------------------------------------------------------------------------------------


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
        return next_word.lower() not in _SENTENCE_STARTERS
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
        if tok.startswith("("):
            depth += 1
        core = tok.strip("()\"'‘’“”,").lower()
        if depth == 0:
            if core in _AUX_ALL or not _is_title_token_ok(tok):
                return False
            if tok[0].islower() and core not in _STOPWORDS and core not in _NAME_PARTICLES:
                lowercase_content += 1
        if tok.endswith(")"):
            depth = max(0, depth - 1)
    # "Blue whale", "Ein deutsches Requiem" pass; "The reasons were simple" does not.
    return lowercase_content <= 2


_BOUNDARY_RE = re.compile(r"[.!?][\"'’”)\]]*\s+")


def split_paragraphs(text: str) -> list[Paragraph]:
    """Split a context into its ``Title: text`` paragraphs.

    A title is a short phrase at the start of the text or right after a sentence end,
    followed by a colon and a capitalised word. When several sentence ends precede the
    colon, the earliest one that still gives a plausible title wins, so a title with
    initials ("J. L. B. Smith:") is kept whole. Text without titles is one paragraph.

    Args:
        text: The context.

    Returns:
        The paragraphs in order; their ``start:end`` ranges never include a title.
    """
    starts = [0] + [m.end() for m in _BOUNDARY_RE.finditer(text)]
    titles: list[tuple[int, int, int]] = []  # (title_start, colon, body_start)
    floor = 0
    for m in re.finditer(r":\s+", text):
        colon, body = m.start(), m.end()
        if body >= len(text) or not (text[body].isupper() or text[body].isdigit() or text[body] in "\"'‘“"):
            continue
        for s in starts:
            if s < floor or s >= colon or colon - s > 120:
                continue
            if _valid_title(text[s:colon]):
                titles.append((s, colon, body))
                floor = body
                break
    if not titles:
        stripped = text.rstrip()
        lead = len(text) - len(text.lstrip())
        return [Paragraph("", lead, lead, len(stripped))] if stripped else []
    paragraphs = []
    if text[: titles[0][0]].strip():
        lead = len(text) - len(text.lstrip())
        paragraphs.append(Paragraph("", lead, lead, len(text[: titles[0][0]].rstrip())))
    for i, (ts, colon, body) in enumerate(titles):
        end = titles[i + 1][0] if i + 1 < len(titles) else len(text)
        end = len(text[:end].rstrip())
        paragraphs.append(Paragraph(text[ts:colon].strip(), ts, body, max(end, body)))
    return paragraphs


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cur = start
    for m in _BOUNDARY_RE.finditer(text, start, end):
        nxt = text[m.end() : end]
        first = nxt.lstrip("\"'‘“(")[:1]
        if not first or not (first.isupper() or first.isdigit()):
            continue
        if text[m.start()] == ".":
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
        spans.extend(_sentence_spans(text, para.start, para.end))
    return spans


# ---------------------------------------------------------------------------------------
# Answer candidates
# ---------------------------------------------------------------------------------------


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


_MONTH_RE = "(?:" + "|".join(MONTHS) + ")"
_FULL_DATE_RE = re.compile(
    rf"\b\d{{1,2}} {_MONTH_RE},? \d{{3,4}}\b|\b{_MONTH_RE} \d{{1,2}}, \d{{3,4}}\b"
)
_MONTH_YEAR_RE = re.compile(rf"\b{_MONTH_RE},? \d{{4}}\b")
_DAY_MONTH_RE = re.compile(rf"\b\d{{1,2}} {_MONTH_RE}\b|\b{_MONTH_RE} \d{{1,2}}\b(?!,? \d)")
_ERA_RE = re.compile(r"(?<![\w.,])\d{1,4} (?:BC|BCE|AD|CE)\b|\bAD \d{1,4}\b")
_YEAR_RE = re.compile(r"(?<![\w.,\-–/$£€])(?:1\d{3}|20\d{2})(?![\w\-–/%]|[.,]\d|['’]s)")
_NUMBER_RE = re.compile(
    r"(?P<cur>[$£€])?(?<![\w.,\-–/])(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"(?:\s(?:hundred|thousand|million|billion|trillion)\b)?(?P<pct>%)?(?![\w\-–/]|[.,]\d)"
)
_NUMBER_WORD_RE = re.compile(
    r"\b(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")(?:-(?:one|two|three|four|"
    r"five|six|seven|eight|nine))?(?:\s(?:hundred|thousand|million|billion)\b)?\b",
    re.IGNORECASE,
)
_RANGE_AFTER = re.compile(rf"^\s*(?:and|or|to|until|-|–)\s*(?:\d|{_MONTH_RE}\b)")


def _prev_word_adjacent(text: str, pos: int) -> str:
    """The word right before ``pos`` when only spaces separate them (no punctuation)."""
    m = re.search(r"([\w.'’-]+) +$", text[:pos])
    return m.group(1) if m else ""


def _next_word(text: str, pos: int) -> str:
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
        if _prev_word_adjacent(sentence, m.start()).lower() in _YEAR_CUES:
            spans.append((m.start(), m.end()))
    return sorted(spans)


def _unit_after(sentence: str, end: int) -> tuple[str, int]:
    """The counted noun after a number ("30 metres", "980 surviving buildings"), and its end."""
    m = re.match(r" ([a-z][\w'’-]*)(?: ([a-z][\w'’-]*))?", sentence[end:])
    if not m:
        return "", end

    def plural(w: str) -> bool:
        return w in _IRREGULAR_PLURALS or (
            w.endswith("s") and not w.endswith(("ss", "us", "is")) and w not in _STOPWORDS and len(w) > 2
        )

    first, second = m.group(1), m.group(2)
    if first in _STOPWORDS or "-" in first:
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
        prev = _prev_word_adjacent(sentence, a)
        if prev and prev[0].isupper() and prev.lower() not in _STOPWORDS:
            continue  # part of a name: "Apollo 11", "Expo 58"
        if prev.lower() in {"no.", "number"} or re.match(r"\s+[A-Z]", sentence[b:]):
            continue  # "No. 8", "The 400 Blows"
        # A bare number is only worth a question with its counted noun, as money, a percentage
        # or an age; "What number ..." questions about the rest read badly.
        is_age = re.search(r"(?:,\s*aged|\bat the age of)\s+$", sentence[:a]) is not None
        if not (_unit_after(sentence, b)[0] or m.group("cur") or m.group("pct") or is_age):
            continue
        spans.append((a, b))
    for m in _NUMBER_WORD_RE.finditer(sentence):
        a, b = m.start(), m.end()
        if any(not (b <= s or a >= e) for s, e in taken + spans) or m.group()[0].isupper():
            continue
        prev = _prev_word_adjacent(sentence, a).lower()
        # "the first five editions" and "one of" are not counts worth asking about.
        if prev in {"the", "first", "last", "of", "its", "his", "her", "their", "all"}:
            continue
        if _unit_after(sentence, b)[0]:
            if prev == "a" and m.group().lower() in {"hundred", "dozen"}:
                a -= 2  # "a hundred zeros"
            spans.append((a, b))
    return sorted(spans)


def _is_demonym(word: str) -> bool:
    low = word.lower().split("-")[-1]
    singular = low[:-1] if low.endswith("s") else low  # "Americans"
    return any(w in _DEMONYMS or w in _LANGUAGES or w.endswith(_DEMONYM_SUFFIXES) for w in {low, singular})


def _looks_like_verb(word: str) -> bool:
    low = word.lower()
    return low in _AUX_ALL or low in _IRREGULAR_PAST or _past_base(low) is not None


def _overlaps(a: int, b: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(not (b <= s or a >= e) for s, e in spans)


def _name_runs(tokens: list[_Token], sentence: str, blocked: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Index ranges ``[i, j)`` of runs of capitalised tokens, particles allowed inside."""

    def usable_cap(t: _Token, inside: bool = False) -> bool:
        calendar = t.text in _MONTH_SET or t.text in _WEEKDAYS
        return (
            t.is_word and t.is_cap and (inside or not calendar)  # "on Monday" no, "Blue Monday" yes
            and t.text != "I" and not _overlaps(t.start, t.end, blocked)
        )

    def joined(a: _Token, b: _Token) -> bool:
        return sentence[a.end : b.start] == " "

    def free_number(t: _Token) -> bool:
        return (
            t.text.isdigit() and len(t.text) <= 4 and not _overlaps(t.start, t.end, blocked)
            and sentence[t.end : t.end + 1] not in ("-", "–")  # not the 4 of "Argentina 4-2"
        )

    runs = []
    i, n = 0, len(tokens)
    while i < n:
        t = tokens[i]
        lead = (
            t.lower in _LEADING_PARTICLES and i + 1 < n and usable_cap(tokens[i + 1])
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
            elif u.lower in _NAME_PARTICLES:
                # Particles continue the name only up to a capitalised word: "Mies van der Rohe",
                # "Institute of the Arts", "The Legend of 1900"; a bare "the" only before an
                # epithet ("Ivan the Terrible"), not in "In Manchester the Geiger-Marsden experiment".
                j = k
                while j < n and tokens[j].lower in _NAME_PARTICLES and not tokens[j].is_cap:
                    j += 1
                year_of = j < n and tokens[j - 1].lower == "of" and free_number(tokens[j])
                if not (j < n and (usable_cap(tokens[j], inside=True) or year_of)):
                    break
                if u.lower == "the" and tokens[k - 1].is_cap and tokens[j].text not in _EPITHETS:
                    break
            else:
                break
            k += 1
        runs.append((start, last + 1))
        i = last + 1
    return runs


def _token_spans(tokens: list[_Token], runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(tokens[i].start, tokens[j - 1].end) for i, j in runs]


_QUOTED_RE = re.compile(r"(?<!\w)['‘\"“]([A-Z][^'‘’\"“”]{0,60}?)['’\"”](?!\w)")


def _quoted_title_runs(
    tokens: list[_Token], sentence: str, blocked: list[tuple[int, int]]
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
    tokens: list[_Token], sentence: str, names: set[str], blocked: list[tuple[int, int]]
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
                tokens[i - 1].lower not in _STOPWORDS | _SENTENCE_STARTERS
            )
            after_cap = j < len(tokens) and tokens[j].is_cap and sentence[b : tokens[j].start] == " "
            if before_cap or after_cap or re.match(r"['’]s\b", sentence[b:]):
                continue
            spans.append((a, b))
    return sorted((starts[a], ends[b] + 1) for a, b in spans)


def _name_kind(
    sentence: str, run: list[_Token], honorific: bool, people: set[str], surnames: set[str],
    titles: set[str], previous: Candidate | None,
) -> str:
    """"place", "person" or "name" for a run of capitalised words, from the words around it."""
    a, b = run[0].start, run[-1].end
    text = sentence[a:b]
    prev = _prev_word_adjacent(sentence, a)
    prev_low = prev.lower()
    before = sentence[:a]
    after = sentence[b:]
    cue = _PLACE_CUE_RE.search(before)
    if cue and text.lower() not in _LANGUAGES and text.lower() not in _FIELDS:
        with_the = cue.group("the") is not None
        if not with_the or (len(run) > 1 and run[-1].lower not in _NOT_PLACE_WORDS):
            return "place"  # "in Como", "in southern Egypt", "at the University of Pavia"
    touching_previous = previous is not None and re.fullmatch(
        r"\s*(?:,|and|,\s*and)\s*", sentence[previous.end : a]
    )
    if touching_previous and previous.kind == "place" and re.fullmatch(r",\s*", sentence[previous.end : a]):
        return "place"  # "Menlo Park, California"
    non_person = any(t.lower in _NON_PERSON_WORDS for t in run) or any(c.isdigit() for c in text)
    if non_person:
        return "name"
    role_before_comma = re.search(r"\b([\w-]+),\s*$", before)
    if text in titles and text not in people:
        return "name"
    if (
        text in people
        or (len(run) == 1 and text in surnames)
        or honorific
        or prev_low in _ROLE_NOUNS
        or prev_low == "by"
        or (role_before_comma is not None and role_before_comma.group(1).lower() in _ROLE_NOUNS)
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
    surnames = {p.split()[-1] for p in people if len(p.split()) > 1 and not set(p.split()) & _NAME_PARTICLES}
    titles = set(known_names)
    names = titles | people
    dates = _date_spans(sentence)
    numbers = _number_spans(sentence, dates)
    found = [Candidate(sentence[a:b], a, b, "date") for a, b in dates]
    found += [Candidate(sentence[a:b], a, b, "number") for a, b in numbers]

    tokens = _tokens(sentence)
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
        opener = run[0].lower in _STOPWORDS | _SENTENCE_STARTERS or _is_participle(run[0].lower) or (
            run[0].lower.endswith("ing") and len(run) > 1
        )
        if i == first_word and opener and sentence[run[0].start : run[-1].end] not in names:
            run, i = run[1:], i + 1
            while run and run[0].lower in _NAME_PARTICLES and not run[0].is_cap:
                run, i = run[1:], i + 1
        honorific = False
        while (
            len(run) > 1 and run[0].text in _HONORIFICS and run[1].is_cap
            and not any(t.lower in _NON_PERSON_WORDS for t in run[1:])  # "King John's Castle" stays whole
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
        nxt = _next_word(sentence, b)
        if re.match(r"['’]s\b", after) or run[-1].text.endswith(("'s", "’s")):
            continue  # possessive: "Captain Ahab's obsessive hunt"
        if sentence[:a].rstrip().endswith((")", "(")):
            continue  # "(What's the Story) Morning Glory": a title cut in two
        name_words = [t for t in run if t.is_cap or t.text.isdigit()]
        if at_start and len(name_words) < 2 and text not in names and text not in surnames:
            continue  # "Construction began", "Napoleon made": can't tell a name from a common word
        single = len(run) == 1
        if single and (_is_demonym(text) or text.lower() in _FIELDS):
            continue  # "Irish", "Americans"; "Physics" in "the Nobel Prize in Physics"
        if all(_is_demonym(t.text) or t.lower in _PLACE_ADJECTIVES for t in words):
            continue  # "Latin American", "South Korean"
        if nxt and nxt[0].islower() and nxt.lower() not in _FOLLOW_WORDS and after[:1] == " ":
            # A lowercase word right after: a verb keeps the name, a noun makes it an adjective
            # ("Italian physicist", "Earth orbit").
            after_next = _next_word(sentence, b + 1 + len(nxt)).lower()
            verbish = _looks_like_verb(nxt) or (
                nxt.endswith("s") and not nxt.endswith(("ss", "us", "is"))
                and (not single or at_start or _prev_word_adjacent(sentence, a) == "The")
                and not _looks_like_verb(after_next)  # "Nobel Prize winners have been"
            )
            if _is_demonym(run[-1].text) or not verbish:
                continue
        kind = _name_kind(sentence, run, honorific, people, surnames, titles, previous)
        cand = Candidate(text, a, b, kind)
        found.append(cand)
        previous = cand
    found.sort(key=lambda c: c.start)
    return found


# ---------------------------------------------------------------------------------------
# Cloze to question
# ---------------------------------------------------------------------------------------

_VOWELS = set("aeiou")


def _past_base(word: str) -> str | None:
    """Base form of a simple-past verb ("founded" -> "found"), or None when unsure or not one."""
    w = word.lower()
    if w in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[w]
    if not w.isalpha() or not w.endswith("ed") or len(w) < 5 or w in _NOT_PAST:
        return None
    stem = w[:-2]
    if w.endswith("ied"):
        return w[:-3] + "y"
    if w.endswith("eed"):
        return w[:-1]
    if w.endswith(("ued", "ced", "ved", "zed")):
        return w[:-1]
    if stem[-1] == stem[-2] and stem[-1] not in _VOWELS:
        if stem.endswith("ell") and len(re.findall(r"[aeiouy]+", stem)) > 1:
            return stem[:-1]  # travelled, cancelled, modelled
        if w in {"controlled", "patrolled", "enrolled", "signalled", "equalled", "totalled", "fuelled"}:
            return stem[:-1]
        return stem if stem[-1] in "lsfz" else stem[:-1]  # called, passed; stopped
    if stem.endswith(("bl", "pl", "tl", "dl", "gl", "kl", "cl", "fl", "zl", "iat", "uat")):
        return stem + "e"
    if w.endswith("ged"):
        if stem.endswith("ng") and not stem.endswith(("chang", "rang", "eng")):
            return stem  # belonged
        return stem + "e"  # changed, judged, managed
    if w.endswith("sed"):
        return stem if stem in {"focus", "bias"} else stem + "e"
    if stem.endswith("th"):
        return None
    if stem.endswith("x") or (stem[-1] in "wy" and stem[-2] in _VOWELS):
        return stem  # fixed, played, allowed
    if stem[-1] not in _VOWELS and stem[-2] not in _VOWELS:
        return stem  # two consonants: founded, invented, published, attacked
    if stem[-2] in _VOWELS and stem[-3] in _VOWELS:
        return stem  # two vowels: claimed, remained, joined
    if len(re.findall(r"[aeiouy]+", stem)) <= 1:
        return stem + "e"  # one syllable with one vowel: named, voted, ruled
    ending = stem[-2:]
    if ending in {"er", "en", "on", "el", "al", "op", "om"}:
        return stem  # entered, opened, developed
    if ending == "it":
        return stem + "e" if stem.endswith(("unit", "vit", "nit", "cit")) else stem
    if ending == "et":
        return stem + "e" if stem.endswith(("plet", "let", "pet")) else stem
    if ending == "ot":
        return stem + "e" if stem.endswith(("mot", "vot")) else stem
    if ending == "or" and stem[:-2].endswith(_NO_E_OR):
        return stem  # honoured spelled the American way, sponsored
    return stem + "e"  # located, decided, combined, captured, described


_NO_E_OR = ("hon", "col", "fav", "lab", "anch", "spons", "monit", "ment", "tail", "auth", "cens", "doct")


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
    words = [t for t in _tokens(text) if t.is_word][:2]
    acronym = bool(words) and words[0].text.isupper() and len(words[0].text) > 1
    if not words or not words[0].is_cap or "." in words[0].text or acronym:
        return text
    word, nxt = words[0].text, words[1].text if len(words) > 1 else ""
    low = word.lower()
    if low in _DETERMINERS or low in _PREPOSITIONS:
        common = True
    elif low in _STOPWORDS or low in _SENTENCE_STARTERS or low in _NUMBER_WORDS:
        common = not nxt[:1].isupper()
    else:
        suffix_noun = low.endswith(_NOUN_SUFFIXES) and not nxt[:1].isupper()
        # A capitalised word before a lowercase noun is an adjective or a common noun ("Frequent
        # flooding", "Rotating wheels"), unlike "Uruguay beat" or "Polish mathematicians".
        before_noun = (
            nxt[:1].islower() and not _looks_like_verb(nxt) and nxt.lower() not in _FOLLOW_WORDS
            and nxt.lower() not in _NAME_PARTICLES and not _is_demonym(word)
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
    prev = _prev_word_adjacent(sentence, a)
    prev_low = prev.lower()
    if cand.kind == "date":
        bare_year = re.fullmatch(r"\d{3,4}(?: (?:BC|BCE|AD|CE))?|AD \d{1,4}", cand.text) is not None
        if prev_low in {"early", "late", "mid"}:
            a = _cut_before(sentence, a, prev)  # "in late February 2022"
            prev = _prev_word_adjacent(sentence, a)
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
        unit, unit_end = _unit_after(sentence, b)
        start = a
        stripped = True
        while stripped:  # "only about 30 metres" goes as a whole
            stripped = False
            for approx in _APPROXIMATORS:
                if re.search(rf"(?:^|\s){re.escape(approx)} $", sentence[:start].lower()):
                    start -= len(approx) + 1
                    stripped = True
                    break
        if cand.text[:1] in "$£€" or unit in _CURRENCY_WORDS:
            return start, unit_end if unit in _CURRENCY_WORDS else b, "How much"
        if cand.text.endswith("%"):
            return start, b, "What percentage"
        if unit:
            # "382 kilograms of lunar rocks and soil": the "of" phrase travels with the noun.
            of_phrase = re.match(
                r" of ([a-z][\w-]*(?: (?:and )?[a-z][\w-]*){0,3}?)"
                r"(?=[,.;]|$| (?:in|on|at|to|from|by|with|for)\b)",
                sentence[unit_end:],
            )
            if of_phrase and not set(of_phrase.group(1).split()) & (_STOPWORDS - {"and"}):
                return start, unit_end + of_phrase.end(), f"How many {unit} of {of_phrase.group(1)}"
            return start, unit_end, f"How many {unit}"
        return start, b, "What number"
    start = a
    if a > 0 and b < len(sentence) and sentence[a - 1] in "'‘\"“" and sentence[b] in "'’\"”":
        a, b = a - 1, b + 1  # a quoted title goes with its quotes
        start = a
        prev = _prev_word_adjacent(sentence, start)
        prev_low = prev.lower()
    if prev_low in {"the", "a", "an"} or (prev_low in {"his", "her", "its", "their"} and cand.kind == "name"):
        start = _cut_before(sentence, start, prev)  # "his [Slavonic Dances] made him famous"
        prev = _prev_word_adjacent(sentence, start)
    if cand.kind == "place":
        cue = _PLACE_CUE_RE.search(sentence[:a])
        if cue:
            start = cue.start()
        elif re.search(r"[A-Z][\w'’.-]*,\s*$", sentence[:a]):
            start = len(sentence[:a].rstrip(" ").rstrip(","))  # "Menlo Park, California" loses ", California"
        qualifier = re.match(r",\s+[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*(?=[,.;]|$)", sentence[b:])
        if qualifier:
            b += qualifier.end()  # "Menlo Park, California": the state goes with the town
        return start, b, "Where"
    if cand.kind == "person":
        if prev in _HONORIFICS:
            start = _cut_before(sentence, start, prev)
        role = re.search(
            r"\b(?:the|a|an|his|her|its|their)\s+(?:[\w-]+\s+){0,2}?([\w-]+)\s+$",
            sentence[:start],
            re.IGNORECASE,
        )
        if role and role.group(1).lower() in _ROLE_NOUNS:
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
    rf"(?:\d{{1,2}}\s+)?(?:{_MONTH_RE}\s+)?\d{{3,4}}s?\s+(?!and\b|or\b|to\b)(?=[A-Za-z])"
)
# ", who had proposed the idea," or ", launched in 1921," inside a clause, before its verb.
_EMBEDDED_RE = re.compile(
    r",\s+(?:who|which|whose|(?:(?:\w+ly|also|later|now|then|once|still|often)\s+)?"
    r"(?:[a-z]+(?:ed|en)|known|born|built|made|written|held|led))\s[^,;]+,\s+"
)


def _is_participle(word: str) -> bool:
    low = word.lower()
    return low in _PARTICIPLES or (low.endswith("ed") and _past_base(low) is not None)


def _drop_embedded(sentence: str, cand: Candidate) -> tuple[str, Candidate]:
    """Remove relative clauses and participle phrases set off by commas that don't hold the answer."""
    for _ in range(3):
        for m in _EMBEDDED_RE.finditer(sentence):
            nxt = _next_word(sentence, m.end() - 1)
            if m.start() < cand.end and cand.start < m.end() or not nxt:
                continue
            if not (nxt.lower() in _AUX_INVERT or nxt.lower() in _HAVE or _past_base(nxt.lower())):
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
        if lead and not any(_looks_like_verb(t.text) for t in _tokens(lead.group(1))[1:] if t.text.islower()):
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
            _looks_like_verb(word) or word.lower() in _PARTICIPLES or (word.endswith("ing") and len(word) > 4)
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
    words = [t for t in _tokens(clause) if t.is_word]
    if len(words) < 3:
        return 0, ""
    first = words[0].lower
    if first in _ADJUNCT_PREPS:
        kind = "prep"
    elif (
        _is_participle(first) or (first.endswith("ly") and _is_participle(words[1].lower))
        or (first.endswith("ing") and len(first) > 4 and first not in _STOPWORDS)
    ):
        kind = "participle"
    elif first in _DETERMINERS:
        kind = "np"
    else:
        return 0, ""
    comma = clause.find(",")
    if comma != -1:
        head = [t for t in _tokens(clause[:comma]) if t.is_word]
        after = _next_word(clause, comma + 1).lower() if _next_word(clause, comma + 1) else ""
        inner = after in {"while", "when", "after", "before", "although", "though"}
        if inner and clause.find(",", comma + 1) != -1:
            # "On the night of X, while sailing north, the Endeavour struck": skip the inner clause.
            comma = clause.find(",", comma + 1)
            after = _next_word(clause, comma + 1).lower() if _next_word(clause, comma + 1) else ""
        relative = next((j for j, t in enumerate(head) if t.lower in {"that", "which", "who"}), len(head))
        head_text = clause[: head[relative - 1].end] if relative else ""
        finite = any(  # "With a wingspan that can exceed 3.4 metres," is still an adjunct
            t.lower in _AUX_ALL or t.lower in _PRONOUNS
            or (t.lower in _IRREGULAR_PAST and t.lower not in _PARTICIPLES)
            for t in head[1:relative]
        ) or (kind != "participle" and _find_verb(head_text, len(head_text), len(head_text)) is not None)
        if kind == "participle" and after in _PRONOUNS:
            finite = False  # "Using telescopes he helped grind himself, he discovered": the pronoun decides
        # A second adjunct may follow: "In 1736, in a result regarded as ..., Euler proved".
        starts_clause = (
            after in _SUBJECT_STARTS | _ADJUNCT_PREPS or _next_word(clause, comma + 1)[:1].isupper()
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
            words[k].lower in _SUBJECT_STARTS and prev not in _PREPOSITIONS
            and not prev.endswith("ing") and not _looks_like_verb(prev)  # "After leaving the X in 1993 she"
        ):
            return words[k].start, kind
        if _looks_like_verb(words[k].text):
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


def _finite_after(main: str, words: list[_Token], k: int, stop_at_comma: bool = False) -> bool:
    """Whether a finite verb, not coordinated by "and"/"or", follows word ``k`` of a clause."""
    comma = main.find(",", words[k].end) if stop_at_comma else -1
    for m in range(k + 1, len(words)):
        if comma != -1 and words[m].start > comma:
            break
        low, prev = words[m].lower, words[m - 1].lower
        if words[m].is_cap or prev in _AUX_ALL | {"and", "or", "to"} or low in _AMBIGUOUS_PAST:
            continue
        if low in _AUX_INVERT or low in _HAVE or (low in _IRREGULAR_PAST and low not in _AMBIGUOUS_PAST):
            return True
        if _is_present(low) and main[: words[m].start].rstrip().endswith(","):
            return True  # "..., completed in 1907, contains"
        adjectival = prev in _DETERMINERS | _PREPOSITIONS | _NUMBER_WORDS or prev.endswith("ly")
        if _past_base(low) and not adjectival:
            return True
    return False


def _verb_kind(main: str, words: list[_Token], k: int) -> str | None:
    """Whether word ``k`` of a clause can be its main verb: "aux", "have", "past", "present" or None."""
    t, low = words[k], words[k].lower
    if t.is_cap or not t.text.isalpha():
        return None
    # A capitalised word before is the end of a name, whatever its lowercase form ("Talk to Her won").
    prev = words[k - 1].lower if not words[k - 1].is_cap else ""
    if prev == "to" or prev in _AUX_ALL:
        return None  # an infinitive or a participle: "to have lived", "being struck"
    if low in _AUX_INVERT:
        return "aux"
    if low in _HAVE:
        return "have"
    nxt = words[k + 1].lower if k + 1 < len(words) else ""
    if low in _AMBIGUOUS_PAST and not (words[k - 1].lower in _PRONOUNS or words[k - 1].is_cap):
        return None  # "an international hit", "a set of"
    if _past_base(low) is not None:
        if prev in _DETERMINERS or prev in _PREPOSITIONS:
            return None
        before_prev = words[k - 2].lower if k >= 2 else ""
        adjective_slot = (
            prev in _PRE_ADJECTIVE or prev in _NUMBER_WORDS or prev.isdigit() or prev.endswith(("ly", "est"))
        )
        if (
            low not in _IRREGULAR_PAST and nxt[:1].islower() and nxt not in _FOLLOW_WORDS
            and (before_prev in _DETERMINERS or prev in _NUMBER_WORDS) and adjective_slot
        ):
            return None  # an adjective: "the first preserved specimen", "its nine stacked platforms"
        before = main[: words[k - 1].end if prev.endswith("ly") else t.start].rstrip()
        if before.endswith(",") and _finite_after(main, words, k):
            return None  # opens a participle phrase: "X, built around 1327, are"
        participle_form = low not in _IRREGULAR_PAST or low in _PARTICIPLES  # not "began", "wrote"
        if participle_form and nxt == "by" and words[k - 1].lower not in _PRONOUNS:
            return None  # a passive participle: "the version choreographed by Marius Petipa"
        if (
            low not in _IRREGULAR_PAST and k + 1 < len(words) and words[k + 1].is_cap
            and words[k - 1].lower not in _PRONOUNS and _finite_after(main, words, k, stop_at_comma=True)
        ):
            return None  # "an observatory called Stjerneborg was added"
        if (
            participle_form and words[k - 1].lower not in _PRONOUNS and nxt in _PREPOSITIONS
            and _finite_after(main, words, k, stop_at_comma=True)
        ):
            return None  # a reduced relative: "the film released in 1939 won"
        return "past"
    if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3 and low not in _STOPWORDS:
        if nxt in {"and", "or", "of"} or main[t.end : t.end + 1] == ",":
            return None  # a plural noun: "communications and observation tower", "mathematicians, including"
        j = k - 1
        while j > 0 and words[j].lower in _VERB_ADVERBS:
            j -= 1
        if words[j].lower in {"he", "she", "it"}:
            return "present"
        later = _finite_after(main, words, k, stop_at_comma=True)
        # "The Nile flows", "Tanzania also contains"; a plural at the clause end is no verb
        # ("... and the Hussite legends").
        if words[j].is_cap and words[j].lower not in _STOPWORDS and nxt and not later:
            return "present"
        noun_next = nxt[:1].islower() and nxt not in _FOLLOW_WORDS
        plain_subject = words[0].lower in _DETERMINERS and all(
            w.text.islower() and w.lower not in _STOPWORDS for w in words[1:k]
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


def _find_verb(main: str, ra: int, rb: int) -> tuple[list[_Token], int, str, int] | None:
    """The main verb of a clause: ``(words, verb index, kind, index where the verb group starts)``."""
    words = [t for t in _tokens(main) if t.is_word]
    for k in range(1, min(len(words), 20)):
        if ra <= words[k].start < rb or _in_appositive(main, words[k].start):
            continue
        if words[k].lower in {"which", "who", "that", "whose"}:
            return None  # the first verb would belong to a relative clause
        kind = _verb_kind(main, words, k)
        if kind:
            adv = k
            while adv > 1 and (words[adv - 1].lower in _VERB_ADVERBS or words[adv - 1].lower.endswith("ly")):
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
        left_words = [t for t in _tokens(leftover) if t.is_word]
        # Nothing but a determiner or adjectives left ("The rear-engined [Porsche 911]"): the
        # answer was the subject, as in "Who was born in 1819?".
        if all(
            t.lower in _DETERMINERS or "-" in t.text
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
            if short and noun[:1].islower() and last_word not in _PREPOSITIONS:
                return f"Which {noun} {main[subj_end:]}"
        if not (cue_removed and rb <= subj_end):
            return None
        dangling = re.match(r"^(.*?),\s+((?:\w+ly\s+)?[a-z]+)$", leftover)
        if dangling and _is_participle(dangling.group(2).split()[-1]):
            # "Apollo 13, launched [in April 1970], had to ..." -> "When was Apollo 13 launched?"
            head_subject = _lower_first(dangling.group(1).strip(" ,"))
            return f"{wh} {_be_for(head_subject)} {head_subject} {dangling.group(2)}"
        last = [t for t in _tokens(leftover) if t.is_word][-1].lower
        if _looks_like_verb(last) or last in _PARTICIPLES:
            return None  # the answer belonged to a verb inside the subject: "a tree that was found [in 2006]"
        subject = leftover
        ra = rb = len(main)
    else:
        subject = main[:subj_end]
    subject = _simple_subject(subject)
    if not subject or len(_tokens(subject)) > 14:
        return None
    verb = words[vi]
    adverbs = main[subj_end : verb.start].strip()
    # "He moved to Madrid and became a figure of X", "... and in 2006 launched X": ask about the
    # verb phrase that holds the answer.
    passive = kind == "aux" and vi + 1 < len(words) and _is_participle(words[vi + 1].lower)
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
        dated = n + 2 < len(words) and words[n].lower in _PREPOSITIONS and words[n + 1].text[0].isdigit()
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
            and (after_w in _PREPOSITIONS | _DETERMINERS or after_w in _PLACE_ADJECTIVES)
        ):
            nxt_kind = "present"  # "rises in X and flows ... for 2,330 kilometres"
        clearly_finite = w.lower in _IRREGULAR_PAST and w.lower not in _PARTICIPLES  # "became", "grew"
        compatible = (
            nxt_kind in ("aux", "have") or nxt_kind == kind or passive or {kind, nxt_kind} <= finite_past
            or (nxt_kind == "past" and clearly_finite)
        )
        if (
            nxt_kind and compatible and (w.end <= ra or skipped_answer)
            and not _looks_like_verb(words[m - 1].text)  # "written and directed" are participles
            and words[m - 1].lower not in _PARTICIPLES
        ):
            vi, verb, kind, adverbs = n, w, nxt_kind, ""
            if skipped_answer:
                ra = rb = len(main)  # the answer sat between "and" and the verb: it is gone
                main = main[: words[m + 1].start] + main[w.start :]
                words = [t for t in _tokens(main) if t.is_word]
                verb = next(t for t in words if t.start == words[m + 1].start)
                vi = words.index(verb)
            break
    rest = main[verb.end : ra] + " " + main[rb:]
    subject = _lower_first(subject)
    low = verb.lower
    if kind == "aux":
        return f"{wh} {low} {subject} {adverbs} {rest}"
    if kind == "have":
        nxt = next((w for w in words[vi + 1 :] if w.lower not in _VERB_ADVERBS), None)
        participle = nxt is not None and (nxt.lower in _PARTICIPLES or nxt.lower.endswith("ed"))
        if participle and not ra <= nxt.start < rb:
            return f"{wh} {low} {subject} {adverbs} {rest}"
        return f"{wh} {_HAVE[low]} {subject} {adverbs} have {rest}"
    if kind == "past":
        # "He trained and worked in Sydney" -> "did he train and work".
        rest = re.sub(
            r"^(\s*and\s+)(\w+)", lambda m: m.group(1) + (_past_base(m.group(2)) or m.group(2)), rest
        )
        return f"{wh} did {subject} {adverbs} {_past_base(low)} {rest}"
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
        before = [t for t in _tokens(clause[: rb + m.start()]) if t.is_word]
        after = [t for t in _tokens(clause[rb + m.end() :]) if t.is_word][:4]
        if not before or not after:
            return clause
        numbers = before[-1].text[0].isdigit() and after[0].text[0].isdigit()
        if numbers or (before[-1].is_cap and after[0].is_cap):
            continue  # a range or a pair of names: "between 1180 and 1225", "Christo and Jeanne-Claude"
        if _looks_like_verb(before[-1].text) or before[-1].lower in _PARTICIPLES:
            return clause  # "written and directed": two participles, one phrase
        for t in after if re.search(r"\b(?:and|but)\b", m.group()) else after[:2]:
            if t.lower == "and":
                break
            if not t.is_cap and (t.lower in _AUX_INVERT or _past_base(t.lower.split("-")[-1])):
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
    return plural_like and len(word) > 3 and word not in _STOPWORDS


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
        t.lower in _AUX_ALL or t.lower in _IRREGULAR_PAST or _past_base(t.lower)
        for t in _tokens(appositive.group())
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
            left_words = [t for t in _tokens(leftover) if t.is_word]
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
    if tail and _is_participle(tail.group(1)) and _has_verb(question[: tail.start()], wh):
        question = question[: tail.start()]
    question = _clean(question)
    return None if _is_degenerate(question, wh) else question


def _has_verb(question: str, wh: str) -> bool:
    body = [t for t in _tokens(question) if t.is_word][len(wh.split()) :]
    return any(
        t.lower in _AUX_ALL or _past_base(t.lower) or t.lower in _PARTICIPLES or _is_present(t.lower)
        for t in body
    )


def _is_degenerate(question: str, wh: str) -> bool:
    """Whether cutting the answer out left a broken question."""
    if not _has_verb(question, wh):
        return True  # no verb left: "In what year Steven Spielberg's film version?"
    if re.search(_DANGLING_RE, question):
        return True  # a preposition whose object was cut out of the middle of a phrase
    q_words = [t for t in _tokens(question) if t.is_word]
    for t, u in zip(q_words, q_words[1:], strict=False):
        cut_object = t.lower in _PREPOSITIONS - {"to"} or t.lower in {"called", "named", "nicknamed"}
        finite = u.lower in _AUX_INVERT or u.lower in _HAVE
        finite = finite or (_past_base(u.lower) is not None and u.lower not in _PARTICIPLES)
        if cut_object and not u.is_cap and finite:
            return True  # "its zither score by [Anton Karas] became a hit": the object is gone
    content = [w for w in re.findall(r"\w+", question) if w.lower() not in {"what", "year", "in"}]
    return len(question.split()) < 3 or len(content) < 2


# ---------------------------------------------------------------------------------------
# Filters and generation
# ---------------------------------------------------------------------------------------


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
    if not re.search(r"\w", answer) or answer.strip().lower() in _STOPWORDS:
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
            and not any(w.lower() in _NON_PERSON_WORDS for w in words)
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
            (pi, s, e) for pi, p in enumerate(paragraphs) for s, e in _sentence_spans(context, p.start, p.end)
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

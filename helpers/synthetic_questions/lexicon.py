"""The question writer's word lists, the regexes its parts share, its tokenizer and verb-form tests.

The lists the sentence splitter needs too (stop words, sentence starters, name particles,
auxiliaries) live with the splitter in :mod:`helpers.core.text`, the lower layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from helpers.core.text import AUX_ALL, STOPWORDS

# ---------------------------------------------------------------------------------------
# Word lists
# ---------------------------------------------------------------------------------------

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
MONTH_SET = set(MONTHS)
WEEKDAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

MONTH_RE = "(?:" + "|".join(MONTHS) + ")"

EPITHETS = {
    "Great", "Terrible", "Conqueror", "Elder", "Younger", "Bold", "Wise", "Good", "Pious", "Fair",
    "Magnificent", "Navigator", "Confessor", "Just", "Lionheart", "Red", "Fat", "Bald", "Lame",
}
LEADING_PARTICLES = {"von", "van", "de", "da", "di", "du", "del", "der", "le", "la"}

IRREGULAR_PAST = {
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
AMBIGUOUS_PAST = {"set", "put", "cut", "hit", "spread", "cast"}
_NOT_PAST = {
    "hundred", "sacred", "naked", "wicked", "kindred", "hatred", "rugged", "ragged", "beloved",
    "speed", "breed", "creed", "greed", "indeed", "embed", "aged",
}
PARTICIPLES = {
    "born", "set", "put", "cut", "cast", "spread", "hit",
    "been", "become", "begun", "bought", "broken", "brought", "built", "come", "caught",
    "chosen", "done", "drawn", "driven", "fallen", "felt", "fought", "flown", "found", "given",
    "gone", "grown", "heard", "held", "hung", "kept", "known", "led", "left", "lost", "made",
    "met", "paid", "run", "said", "seen", "sent", "shot", "sold", "spent", "spoken", "stood",
    "struck", "taught", "thought", "told", "taken", "won", "worn", "written", "risen", "got",
    "gotten", "had", "sung", "sunk",
}
# Words between a subject and its verb that belong with the verb ("he also commissioned").
VERB_ADVERBS = {
    "also", "never", "later", "then", "first", "once", "still", "often", "now", "already",
    "soon", "eventually", "finally", "subsequently", "originally", "initially", "always",
    "again", "both", "not", "briefly", "famously", "successfully", "jointly",
}

# After a name, these words show the name ended there (so it is not an adjective as in
# "an Italian physicist").
FOLLOW_WORDS = STOPWORDS | AUX_ALL | VERB_ADVERBS | {
    "whereas", "via", "across", "along", "towards", "beyond", "per", "plus", "versus", "ago",
    "itself", "himself", "herself", "themselves", "together", "alone", "instead", "too",
}

_PLACE_CUES = {"in", "at", "from", "near"}
YEAR_CUES = {"in", "by", "since", "until", "till", "before", "after", "around", "circa", "from"}
APPROXIMATORS = (
    "more than", "less than", "fewer than", "at least", "at most", "up to", "about", "around",
    "some", "nearly", "almost", "roughly", "approximately", "over", "under", "only", "just",
    "exactly", "barely",
)
NUMBER_WORDS = {
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "dozen",
}
IRREGULAR_PLURALS = {
    "people", "men", "women", "children", "feet", "teeth", "mice", "geese", "cattle", "staff",
    "sheep", "deer", "fish", "personnel", "crew",
}
CURRENCY_WORDS = {
    "dollars", "pounds", "euros", "francs", "marks", "yen", "rupees", "roubles", "rubles",
    "guineas", "lire", "pesetas", "shillings", "crowns", "guilders", "pesos",
}

# Capitalised words used as adjectives ("Irish dry stout", "Swiss, English and Catalan players").
DEMONYMS = {
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
DEMONYM_SUFFIXES = ("ian", "ean", "ese", "ish")

LANGUAGES = {
    "english", "french", "german", "latin", "greek", "italian", "spanish", "russian", "arabic",
    "chinese", "japanese", "korean", "hebrew", "portuguese", "dutch", "scots", "welsh", "irish",
    "gaelic", "hindi", "persian", "turkish", "polish", "swedish", "norwegian", "danish", "czech",
    "hungarian", "sanskrit", "esperanto", "finnish", "icelandic", "mandarin", "cantonese",
}

# A name with one of these words is an organisation, a place or a thing, not a person.
NON_PERSON_WORDS = {
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
ROLE_NOUNS = {
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
HONORIFICS = {
    "President", "King", "Queen", "Emperor", "Empress", "Prince", "Princess", "Pope", "Sir",
    "Lord", "Lady", "Dame", "Captain", "General", "Admiral", "Archbishop", "Bishop", "Mr",
    "Mrs", "Ms", "Dr", "Mr.", "Mrs.", "Ms.", "Dr.", "Professor", "Prof.", "Tsar", "Tsarina",
    "Duke", "Duchess", "Count", "Countess", "Baron", "Baroness", "Chancellor", "Senator",
    "Governor", "Colonel", "Lieutenant", "Sergeant", "Marshal", "Rabbi", "Cardinal",
}

DETERMINERS = {"the", "a", "an", "its", "his", "her", "their", "this", "that", "these", "those", "our"}
PREPOSITIONS = {
    "of", "in", "on", "at", "to", "from", "by", "for", "with", "into", "onto", "as", "than",
    "about", "after", "before", "during", "until", "since", "over", "under", "between",
    "through", "near", "around", "among", "against", "upon", "within", "without", "across",
    "along", "towards", "via", "like",
}
PLACE_ADJECTIVES = (
    "northern", "southern", "eastern", "western", "central", "north", "south", "east", "west",
    "northeastern", "northwestern", "southeastern", "southwestern", "rural", "downtown", "coastal",
    "present-day", "modern-day", "upper", "lower", "inner", "outer",
)
# The preposition cue of a place, with an optional "the" and compass words: "in southern Egypt".
PLACE_CUE_RE = re.compile(
    r"(?<![\w-])(?:in|at|from|near)\s+(?P<the>the\s+)?(?:(?:" + "|".join(PLACE_ADJECTIVES) + r")\s+){0,2}$",
    re.IGNORECASE,
)
# "the Nobel Prize in Physics": after "in", a field of study is no place.
FIELDS = {
    "physics", "chemistry", "medicine", "literature", "economics", "mathematics", "physiology",
    "peace", "biology", "astronomy", "philosophy", "law", "engineering", "music", "art", "arts",
    "history", "science", "sciences", "architecture", "fiction", "poetry", "drama", "theology",
}
# "in the Second World War" is a time, not a place.
NOT_PLACE_WORDS = {
    "war", "award", "awards", "prize", "cup", "games", "olympics", "festival", "film", "league",
    "championship", "revolution", "crisis", "battle", "era", "age", "period", "dynasty", "reign",
    "renaissance", "reformation", "depression", "movement", "series", "show", "final", "finals",
}
PRE_ADJECTIVE = {"first", "last", "newly", "recently", "most", "least", "well", "best", "only", "second"}

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
class Token:
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


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


# ---------------------------------------------------------------------------------------
# Verb forms
# ---------------------------------------------------------------------------------------

_VOWELS = set("aeiou")


def past_base(word: str) -> str | None:
    """Base form of a simple-past verb ("founded" -> "found"), or None when unsure or not one."""
    w = word.lower()
    if w in IRREGULAR_PAST:
        return IRREGULAR_PAST[w]
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


def is_participle(word: str) -> bool:
    low = word.lower()
    return low in PARTICIPLES or (low.endswith("ed") and past_base(low) is not None)

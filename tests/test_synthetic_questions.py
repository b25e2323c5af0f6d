"""Synthetic QA by cloze translation: sentences, answer candidates, questions, filters, generation."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from helpers.core.text import split_paragraphs, split_sentences
from helpers.synthetic_questions import (
    COLUMNS,
    DROPPED_COLUMNS,
    REASONS,
    Candidate,
    cloze_to_question,
    describe_generation,
    dropped_examples,
    find_answer_candidates,
    generate_questions,
    generate_with_dropped,
    normalise_question,
    question_rejection_reason,
    resolve_pronoun,
    tidy_question,
)
from tests.conftest import REPO

UNSTRUCTURED = REPO / "data-hotpotqa" / "unstructured.csv"

AUSTEN = (
    "Pride and Prejudice: Pride and Prejudice is a novel published anonymously in January 1813 by "
    "Thomas Egerton of London. It follows Elizabeth Bennet and her changing opinion of the proud Mr. Darcy. "
    "Jane Austen: Jane Austen was born on 16 December 1775 in the rectory at Steventon, a village in "
    "Hampshire. She died in Winchester in 1817 and is buried in its cathedral."
)
MELVILLE = "Herman Melville was born in 1819 in New York City into a merchant family."


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def candidate(sentence: str, text: str) -> Candidate:
    return next(c for c in find_answer_candidates(sentence) if c.text == text)


def by_text(sentence: str, **known) -> dict[str, str]:
    return {c.text: c.kind for c in find_answer_candidates(sentence, **known)}


@pytest.fixture(scope="module")
def contexts() -> list[str]:
    return pd.read_csv(UNSTRUCTURED)["context"].tolist()


@pytest.fixture(scope="module")
def generated(contexts) -> pd.DataFrame:
    return generate_questions(contexts, max_per_context=3, seed=0)


# ---------------------------------------------------------------------------------------
# Sentences and paragraphs
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Mr. Darcy met Dr. Watson on St. James's Street. They talked.",
            ["Mr. Darcy met Dr. Watson on St. James's Street.", "They talked."],
        ),
        (
            "J. R. R. Tolkien wrote The Hobbit. It appeared in 1937.",
            ["J. R. R. Tolkien wrote The Hobbit.", "It appeared in 1937."],
        ),
        (
            "The tilt reached 5.5 degrees by 1990. Engineers then reduced it.",
            ["The tilt reached 5.5 degrees by 1990.", "Engineers then reduced it."],
        ),
        (
            "A.C. Milan won the cup. He moved to the U.S. In 1990 he retired.",
            ["A.C. Milan won the cup.", "He moved to the U.S.", "In 1990 he retired."],
        ),
        ("Is it finished? Yes! It is.", ["Is it finished?", "Yes!", "It is."]),
        ("It played Symphony No. 8 twice. Nobody left.", ["It played Symphony No. 8 twice.", "Nobody left."]),
        # Two spaces after a period end a sentence even after an abbreviation; a line break does not.
        ("It stood on Orange St.  In 1970 it closed.", ["It stood on Orange St.", "In 1970 it closed."]),
        ("It stood on St.\nJames Street.  It closed.", ["It stood on St.\nJames Street.", "It closed."]),
    ],
)
def test_split_sentences_edge_cases(text, expected):
    assert sentences(text) == expected


def test_split_sentences_leaves_titles_out():
    got = sentences(AUSTEN)
    assert got[0].startswith("Pride and Prejudice is a novel")
    assert got[2].startswith("Jane Austen was born")
    assert got[1].endswith("Mr. Darcy.")  # the title "Jane Austen:" is no part of the sentence before
    assert not any(":" in s for s in got)
    assert len(got) == 4


def test_split_paragraphs_keeps_titles_with_initials_whole():
    text = "Coelacanth: A second species was found in the late 1990s. J. L. B. Smith: Smith was a chemist."
    paras = split_paragraphs(text)
    assert [p.title for p in paras] == ["Coelacanth", "J. L. B. Smith"]
    assert text[paras[1].start : paras[1].end] == "Smith was a chemist."
    assert sentences(text) == ["A second species was found in the late 1990s.", "Smith was a chemist."]


def test_text_without_titles_is_one_paragraph():
    paras = split_paragraphs("The reasons were simple: cost and time. Nothing else.")
    assert len(paras) == 1 and paras[0].title == ""


HELL_SGU = (
    "Stefan Hell\nStefan Walter Hell (born 23 December 1962) is a Romanian-born German physicist and one of "
    "the directors of the Max Planck Institute.  He shared the Nobel Prize in Chemistry in 2014.\n\n"
    "SGU\nSt. George Regional Airport (ICAO: KSGU, FAA LID: SGU) is a city-owned, public-use airport "
    "located five nautical miles (9 km) southwest of St. George.  The city had 39,843 people in 2010.\n"
)


def titled(text: str) -> list[tuple[str, str]]:
    return [(p.title, text[p.start:p.end]) for p in split_paragraphs(text)]


def test_titles_on_their_own_lines_stay_out_of_the_text_and_colons_in_it_are_not_titles():
    got = titled(HELL_SGU)
    assert [t for t, _ in got] == ["Stefan Hell", "SGU"]
    assert got[0][1].startswith("Stefan Walter Hell (born") and got[0][1].endswith("Chemistry in 2014.")
    assert got[1][1].startswith("St. George Regional Airport (ICAO: KSGU") and got[1][1].endswith("in 2010.")
    assert sentences(HELL_SGU) == [
        "Stefan Walter Hell (born 23 December 1962) is a Romanian-born German physicist and one of the "
        "directors of the Max Planck Institute.",
        "He shared the Nobel Prize in Chemistry in 2014.",
        "St. George Regional Airport (ICAO: KSGU, FAA LID: SGU) is a city-owned, public-use airport located "
        "five nautical miles (9 km) southwest of St. George.",
        "The city had 39,843 people in 2010.",
    ]


WHALE, SHARK = "The blue whale is huge.  It eats krill.", "It is a fish. It is slow."


@pytest.mark.parametrize("layout", [
    f"Blue whale\n{WHALE}\nWhale shark\n{SHARK}",  # titles on their own lines
    f"Blue whale\n\n{WHALE}\n\n\nWhale shark\n\n{SHARK}",  # ... with blank lines everywhere
    f"Blue whale: {WHALE}\n\nWhale shark: {SHARK}",  # inline titles, blank-line breaks
    f"Blue whale: {WHALE} Whale shark: {SHARK}",  # inline titles on one line
    f"  Blue whale\r\n{WHALE}\r\n \r\nWhale shark\r\n{SHARK}\r\n",  # Windows line ends, stray spaces
])
def test_every_layout_gives_the_same_titles_paragraphs_and_sentences(layout):
    assert titled(layout) == [("Blue whale", WHALE), ("Whale shark", SHARK)]
    assert sentences(layout) == ["The blue whale is huge.", "It eats krill.", "It is a fish.", "It is slow."]


def test_untitled_blocks_and_wrapped_lines():
    wrapped = "The river rises in the hills\nand flows south.  It is 40 km long."
    text = f"{wrapped}\n\nNo title here either."
    assert titled(text) == [("", wrapped), ("", "No title here either.")]
    assert sentences(text)[0] == "The river rises in the hills\nand flows south."
    one_line = "St. George Regional Airport (ICAO: KSGU) is an airport. It is small."
    assert titled(one_line) == [("", one_line)]  # an open bracket before the colon: not a title
    assert titled("Intro\n\nSome text. More.\n\nTail") == [("Intro", "Some text. More."), ("", "Tail")]


TITLES = ["Blue whale", "Stefan Hell", "SGU", "The Quiet Harbour (film)", "J. L. B. Smith", "FC Rostov",
          "Battle of Lützen (1632)", "St. Olaf College", "Kellerman Field", "1984 (novel)",
          "Tender Is the Night", "Grimsdale Rovers F.C."]
SENTENCES = ["Mr. Darcy met Dr. Watson on St. James's Street.", "J. R. R. Tolkien wrote The Hobbit.",
             "The tilt reached 5.5 degrees by 1990.", "It played Symphony No. 8 twice.", "Nobody left.",
             "Its code (ICAO: KSGU) is listed.", "\"Go,\" she said, \"now.\"", "Is it finished?",
             "The club was founded in 1923 in Rostov-on-Don, Russia.", "It has 3 runways; one is closed."]
PARTS = st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=4)
LAYOUTS = {
    "lines": lambda docs: "\n".join(f"{t}\n{body}" for t, body in docs),
    "lines, blank lines": lambda docs: "\n\n".join(f"{t}\n{body}" for t, body in docs),
    "title blocks": lambda docs: "\n\n".join(f"{t}\n\n{body}" for t, body in docs),
    "inline": lambda docs: " ".join(f"{t}: {body}" for t, body in docs),
    "inline, blank lines": lambda docs: "\n\n".join(f"{t}: {body}" for t, body in docs),
}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TITLES), PARTS,
                          st.lists(st.sampled_from([" ", "  "]), min_size=3, max_size=3)),
                min_size=1, max_size=3, unique_by=lambda doc: doc[0]),
       st.sampled_from(sorted(LAYOUTS)))
def test_any_layout_gives_back_its_titles_paragraphs_and_sentences(docs, layout):
    bodies = [(title, "".join(s + spaces[i % 3] for i, s in enumerate(parts)).rstrip())
              for title, parts, spaces in docs]
    text = LAYOUTS[layout](bodies)
    note(repr(text))
    assert titled(text) == bodies
    assert sentences(text) == [s for _, parts, _ in docs for s in parts]


def test_contexts_with_titles_on_their_own_lines_split_into_their_documents_and_sentences():
    contexts = pd.read_csv(REPO / "data-hotpotqa-lines" / "unstructured.csv")["context"].tolist()
    for context in contexts:
        documents = context.split("\n\n")
        paragraphs = split_paragraphs(context)
        assert [p.title for p in paragraphs] == [d.split("\n")[0] for d in documents]
        assert [context[p.start:p.end] for p in paragraphs] == [d.split("\n")[1] for d in documents]
        for a, b in split_sentences(context):
            sentence = context[a:b]
            assert sentence == sentence.strip() and "\n" not in sentence and "  " not in sentence
            assert sentence[-1] in ".!?'\")”"


def test_real_contexts_split_into_two_paragraphs_and_clean_sentences(contexts):
    for context in contexts:
        assert len(split_paragraphs(context)) == 2
        for a, b in split_sentences(context):
            sentence = context[a:b]
            assert sentence == sentence.strip() and ": " not in sentence
            assert sentence[-1] in ".!?'\""


# ---------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------


def test_candidates_of_each_kind():
    assert by_text(MELVILLE) == {"Herman Melville": "person", "1819": "date", "New York City": "place"}
    austen = "Jane Austen was born on 16 December 1775 in the rectory at Steventon, a village in Hampshire."
    assert by_text(austen) == {
        "Jane Austen": "person", "16 December 1775": "date", "Steventon": "place", "Hampshire": "place",
    }
    published = "It was published anonymously in January 1813 by Thomas Egerton of London."
    assert by_text(published) == {"January 1813": "date", "Thomas Egerton of London": "person"}
    assert by_text("It became part of the holding company Alphabet in 2015.") == {
        "Alphabet": "name", "2015": "date",
    }
    assert by_text("Staff included the engineer Tommy Flowers.") == {"Tommy Flowers": "person"}


def test_number_candidates_leave_the_counted_noun_out():
    assert by_text("The Nile flows about 6,650 kilometres north.")["6,650"] == "number"
    assert by_text("By 1990 the tilt had reached about 5.5 degrees.") == {"1990": "date", "5.5": "number"}
    assert by_text("He taught there for about forty years.") == {"forty": "number"}
    assert by_text("It cost roughly $25 billion at the time.") == {"$25 billion": "number"}


def test_names_keep_particles_and_skip_adjectives():
    assert by_text("Wernher von Braun was born in Wirsitz.")["Wernher von Braun"] == "person"
    assert "Nicholas of Verdun" in by_text("It is attributed to the goldsmith Nicholas of Verdun.")
    assert by_text("Alessandro Volta was an Italian physicist.") == {"Alessandro Volta": "name"}
    # a lone capitalised word at the sentence start is only a name when known to be one
    assert by_text("Construction began in 1173.") == {"1173": "date"}
    assert by_text("Napoleon made him a count.") == {}
    assert by_text("Napoleon made him a count.", known_names={"Napoleon"}) == {"Napoleon": "name"}
    page = by_text("Page visited Stanford.", known_people={"Larry Page"})
    assert page == {"Page": "person", "Stanford": "name"}


def test_precise_dates_and_numbers():
    # the year is an adjective here, and "Italian" no name
    assert by_text("Cinema Paradiso is a 1988 Italian drama.") == {"Cinema Paradiso": "name"}
    assert by_text("It was built between 1406 and 1420.") == {}  # one end of a range
    assert by_text("Apollo 11 landed in July 1969.") == {"Apollo 11": "name", "July 1969": "date"}
    assert by_text("It was inscribed in 196 BC at Memphis.") == {"196 BC": "date", "Memphis": "place"}


def test_candidate_offsets_point_into_the_sentence(contexts):
    for context in contexts[:40]:
        for a, b in split_sentences(context):
            sentence = context[a:b]
            found = find_answer_candidates(sentence)
            for c in found:
                assert sentence[c.start : c.end] == c.text
            assert all(x.end <= y.start for x, y in zip(found, found[1:], strict=False))


# ---------------------------------------------------------------------------------------
# Cloze to question
# ---------------------------------------------------------------------------------------


def test_melville_year_gives_an_in_what_year_question():
    question = cloze_to_question(MELVILLE, candidate(MELVILLE, "1819"))
    assert question.startswith(("When", "In what year")) and "1819" not in question
    assert question == "In what year was Herman Melville born in New York City into a merchant family?"


@pytest.mark.parametrize(
    "sentence, answer, expected",
    [
        (MELVILLE, "New York City", "Where was Herman Melville born in 1819 into a merchant family?"),
        (MELVILLE, "Herman Melville", "Who was born in 1819 in New York City into a merchant family?"),
        (
            "Jane Austen was born on 16 December 1775 in the rectory at Steventon, a village in Hampshire.",
            "16 December 1775",
            "When was Jane Austen born in the rectory at Steventon, a village in Hampshire?",
        ),
        (
            "The company introduced a special yeast strain in 1886.",
            "1886",
            "In what year did the company introduce a special yeast strain?",
        ),
        (
            "The Nile flows about 6,650 kilometres north through eleven countries.",
            "6,650",
            "How many kilometres does the Nile flow north through eleven countries?",
        ),
        ("In 1799 he built the voltaic pile.", "1799", "In what year did he build the voltaic pile?"),
        (
            "Cinema Paradiso is a 1988 Italian drama written and directed by Giuseppe Tornatore.",
            "Giuseppe Tornatore",
            "Who is Cinema Paradiso a 1988 Italian drama written and directed by?",
        ),
        ("He died in Winchester in 1817.", "Winchester", "Where did he die in 1817?"),
        (
            "By 1990 the tilt had reached about 5.5 degrees.",
            "1990",
            "By what year had the tilt reached about 5.5 degrees?",
        ),
        ("It cost roughly $25 billion at the time.", "$25 billion", "How much did it cost at the time?"),
        (
            "He moved to Madrid in the late 1960s and became a central figure of the Movida Madrileña.",
            "Movida Madrileña",
            "What did he become a central figure of?",
        ),
        (
            "Apollo 13, launched in April 1970, had to abandon its landing.",
            "April 1970",
            "When was Apollo 13 launched?",
        ),
        (
            "He died in Paris in July 1971 at the age of 27.",
            "27",
            "At what age did he die in Paris in July 1971?",
        ),
    ],
)
def test_exact_questions(sentence, answer, expected):
    assert cloze_to_question(sentence, candidate(sentence, answer)) == expected


def test_identity_mapping_when_no_inversion_rule_fits():
    # a plural present verb ("live") is not recognised, so the wh-word goes in front of the rest
    sentence = "Three species of long-beaked echidna live in New Guinea."
    assert cloze_to_question(sentence, candidate(sentence, "New Guinea")) == (
        "Where three species of long-beaked echidna live?"
    )


def test_number_without_a_counted_noun_asks_what_number():
    sentence = "The winning ticket was 42 in the draw."
    question = cloze_to_question(sentence, Candidate("42", 23, 25, "number"))
    assert question == "What number was the winning ticket in the draw?"


def test_degenerate_questions_are_none():
    lists = "It flows through Mali, Niger and Nigeria."
    for name in ("Mali", "Niger", "Nigeria"):
        assert cloze_to_question(lists, candidate(lists, name)) is None  # one item of a list
    assert cloze_to_question(MELVILLE, Candidate("1820", 28, 32, "date")) is None  # not the sentence's text
    assert cloze_to_question("Paris.", Candidate("Paris", 0, 5, "place")) is None  # nothing left to ask


# ---------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------


def test_each_filter_has_a_reason():
    sentence = "Herman Melville was born in 1819."
    good = "In what year was Herman Melville born?"
    assert question_rejection_reason(good, "1819", sentence) is None
    assert question_rejection_reason("Who was he?", "Melville", sentence) == "too_short"
    assert question_rejection_reason("Who " + "very " * 30 + "long?", "Melville", sentence) == "too_long"
    leaked = question_rejection_reason("When was Melville born in 1819?", "1819", sentence)
    assert leaked == "answer_in_question"
    # Both a leak and a copy of the sentence: the leak is checked first, so it is the reason given.
    both = question_rejection_reason("Herman Melville was born in 1819?", "1819", sentence)
    assert both == "answer_in_question"
    copied = question_rejection_reason("Herman Melville was born in 1819?", "Boston", sentence)
    assert copied == "same_as_sentence"
    assert question_rejection_reason(good, "the", sentence) == "trivial_answer"
    assert question_rejection_reason(good, " , ", sentence) == "trivial_answer"
    seen = {normalise_question("In what year was Herman Melville born ?")}
    assert question_rejection_reason(good, "1819", sentence, seen) == "duplicate"


def test_questions_that_give_the_answer_away_or_are_cut_off_are_dropped():
    sentence = "The lighthouse at Skerry Point was designed by Alan Stevenson in 1838."
    # a word of the answer in the question is enough
    assert question_rejection_reason("Who was the Stevenson lighthouse designed by?", "Alan Stevenson",
                                     sentence) == "answer_words_in_question"
    assert question_rejection_reason("How many keepers lived at the 1838 lighthouse?", "1838 keepers",
                                     sentence) == "answer_words_in_question"
    # stop words of the answer do not count
    assert question_rejection_reason("Who designed the lighthouse at Skerry Point?",
                                     "the engineer Stevenson", sentence) is None
    for cut in ("How many people is Durban home to about a third of its?",
                "Who (born Friedrich Stowasser?",
                'What was the "Kettle Point quarry?',
                "What did the company sell to the,?",
                "Where did the railway reach in 1904 and?",
                "In what year did Marie, she qualify as a surveyor?"):
        assert question_rejection_reason(cut, "Ontario", sentence) == "fragment", cut


def test_a_pronoun_with_nothing_to_refer_to_is_dropped_and_one_after_a_name_is_kept():
    sentence = "It was coached by Vince Lombardi from 1959."
    for question in ("Who was it coached by?", "What is it called?", "What did they release in 1979?",
                     "In what year did his father leave?"):
        assert question_rejection_reason(question, "Vince Lombardi", sentence) == "unresolved_pronoun"
    kept = "In what year was the Robert Koch Institute founded, with Koch as its first director?"
    assert question_rejection_reason(kept, "1891", "The institute was founded in 1891.") is None


def test_resolve_pronoun_names_the_paragraph_subject_where_it_fits():
    assert resolve_pronoun("Who was it coached by?", "Green Bay Packers", False) == (
        "Who was Green Bay Packers coached by?")
    assert resolve_pronoun("What was his first film?", "Stanley Kubrick", True) == (
        "What was Stanley Kubrick's first film?")
    assert resolve_pronoun("What was its best-selling title?", "Mirrorsoft (company)", False) == (
        "What was Mirrorsoft's best-selling title?")  # the qualifier goes
    assert resolve_pronoun("Where did her brother study?", "Agnes Ruth", True) == (
        "Where did Agnes Ruth's brother study?")  # "her" before a noun: possessive
    assert resolve_pronoun("Who trained her in 1921?", "Agnes Ruth", True) == (
        "Who trained Agnes Ruth in 1921?")
    assert resolve_pronoun("What did she publish after his death?", "James Ensors", True) == (
        "What did James Ensors publish after his death?")  # the first only; names ending in s
    assert resolve_pronoun("What were his brothers' names?", "James Ensors", True) == (
        "What were James Ensors' brothers' names?")
    # nothing that fits: the question is left for the filter
    for question, title, person in (("Who was it coached by?", "Vince Lombardi", True),
                                    ("When did he retire?", "Green Bay Packers", False),
                                    ("What did they release?", "Joy Division", False),
                                    ("When did he retire?", "", True)):
        assert resolve_pronoun(question, title, person) == question
    unchanged = "When was the bridge opened?"
    assert resolve_pronoun(unchanged, "Tay Bridge", False) == unchanged


def test_tidy_question_drops_parenthetical_asides_but_not_brackets_inside_names():
    assert tidy_question("Who (1913 – 1986) was a British director?") == "Who was a British director?"
    assert tidy_question("What did Durban (Zulu: eThekwini) become?") == "What did Durban become?"
    assert tidy_question("Who designed Himmelb(l)au's tower?") == "Who designed Himmelb(l)au's tower?"


def test_generation_reports_every_dropped_question_with_its_reason(contexts):
    kept, dropped = generate_with_dropped(contexts[:80], max_per_context=3, seed=0)
    pd.testing.assert_frame_equal(kept, generate_questions(contexts[:80], max_per_context=3, seed=0))
    assert list(dropped.columns) == DROPPED_COLUMNS and len(dropped) > 0
    assert set(dropped["reason"]) <= set(REASONS) - {"duplicate"}  # duplicates never get that far
    for row in dropped.itertuples():  # the reason is the filter's own verdict on what was written
        assert question_rejection_reason(row.question, row.answer, "") == row.reason
    for row in kept[kept["kind"] != "comparison"].itertuples():  # a comparison names its answer
        assert question_rejection_reason(row.question, row.answer, "") is None
    stats = describe_generation(kept, 80, dropped)
    assert sum(stats["dropped"].values()) == len(dropped) and list(stats["dropped"]) == list(REASONS)
    assert stats["dropped"]["unresolved_pronoun"] > 0 and stats["dropped"]["answer_words_in_question"] > 0
    assert "dropped" not in describe_generation(kept, 80)
    sample = dropped_examples(dropped, per_reason=2, seed=0)
    assert sample.groupby("reason").size().max() <= 2 and set(sample["reason"]) == set(dropped["reason"])
    assert list(sample["reason"]) == sorted(sample["reason"], key=REASONS.index)
    pd.testing.assert_frame_equal(dropped, generate_with_dropped(contexts[:80], max_per_context=3, seed=0)[1])


def test_pronouns_are_resolved_to_the_title_in_generated_questions():
    context = ("Vera Lindqvist\nVera Lindqvist was a Swedish botanist. She studied at Uppsala University "
               "from 1921 and later became its first female professor. Her herbarium was given to the "
               "museum in Lund in 1968.")
    kept, dropped = generate_with_dropped([context], max_per_context=10, seed=0)
    assert set(kept["question"]) >= {
        "From what year did Vera Lindqvist study at Uppsala University?",  # she
        "In what year was Vera Lindqvist's herbarium given to the museum in Lund?",  # her (possessive)
    }
    assert not kept["question"].str.contains(r"\b(?:she|her)\b", case=False).any() and dropped.empty


COMPARED = (
    "Ada Brun\nAda Brun (3 May 1901 – 1987) was a Norwegian cartographer who mapped the fjords of "
    "Finnmark.\n\nKarl Weiss\nKarl Weiss (born 12 June 1894) was an Austrian surveyor. He led the "
    "first survey of the Hohe Tauern.\n\nTitanic Dawn (1997)\nTitanic Dawn is a 1997 film about a "
    "shipwreck. Its director was born in 1950."
)


def test_comparison_facts_are_dated_facts_about_each_title():
    from helpers.synthetic_questions.comparison import Fact, paragraph_fact

    paragraphs = split_paragraphs(COMPARED)
    people = {"Ada Brun", "Karl Weiss"}
    facts = [paragraph_fact(COMPARED, p, people) for p in paragraphs]
    assert facts[:2] == [Fact("Ada Brun", 0, "born", 1901),
                         Fact("Karl Weiss", COMPARED.index("Karl Weiss"), "born", 1894)]
    assert facts[2] is None  # a film's year is no birth, and its director's birth is not the film's
    assert paragraph_fact(COMPARED, paragraphs[0], set()) is None  # a birth only for a person's title
    bands = "Harbour Lights: The band was formed in 1971 in Hull.\nGrey Coast: The band was formed in 1968."
    got = [paragraph_fact(bands, p) for p in split_paragraphs(bands)]
    assert [(f.title, f.verb, f.year) for f in got] == [("Harbour Lights", "formed", 1971),
                                                        ("Grey Coast", "formed", 1968)]


def test_comparison_questions_are_answered_by_the_right_title_in_both_directions():
    import random

    from helpers.synthetic_questions.comparison import comparison_questions

    paragraphs = split_paragraphs(COMPARED)
    seen = set()
    for seed in range(12):
        [(question, fact)] = comparison_questions(COMPARED, paragraphs, random.Random(seed),
                                                  {"Ada Brun", "Karl Weiss"})
        first = "first" in question
        assert fact.title == ("Karl Weiss" if first else "Ada Brun")  # born 1894 and 1901
        names = "(Ada Brun|Karl Weiss)"
        assert re.fullmatch(rf"Who was born (first|later), {names} or {names}\?", question)
        assert COMPARED[fact.start:fact.start + len(fact.title)] == fact.title
        seen.add(question)
    assert len(seen) == 4  # both orders, both directions
    # different verbs, or the same year: nothing to compare
    mixed = "Harbour Lights: The band was formed in 1971.\nGrey Coast: The company was founded in 1968."
    same = "Harbour Lights: The band was formed in 1971.\nGrey Coast: The band was formed in 1971."
    for text in (mixed, same):
        assert comparison_questions(text, split_paragraphs(text), random.Random(0)) == []


def test_generated_comparison_questions_have_their_title_as_a_span(contexts):
    lines = pd.read_csv(REPO / "data-hotpotqa-lines" / "unstructured.csv")["context"].tolist()
    df = generate_questions(lines, max_per_context=3, seed=0)
    compared = df[df["kind"] == "comparison"]
    assert len(compared) >= 20 and df.groupby("context_index").size().max() <= 3
    for row in compared.itertuples():
        assert row.context[row.answer_start:row.answer_start + len(row.answer)] == row.answer
        assert row.answer in row.question
        assert re.match(r"(Who|Which) was \w+ (first|later|more recently), ", row.question)
    assert generate_questions(lines[:20], max_per_context=0).empty


def test_word_limits_are_parameters():
    question = "In what year was Herman Melville born?"
    assert question_rejection_reason(question, "1819", "x", min_question_words=8) == "too_short"
    assert question_rejection_reason(question, "1819", "x", max_question_words=6) == "too_long"


def test_generation_applies_the_filters(generated):
    for row in generated[generated["kind"] != "comparison"].itertuples():
        assert question_rejection_reason(row.question, row.answer, "") is None
        assert not re.search(rf"(?<!\w){re.escape(row.answer.lower())}(?!\w)", row.question.lower())
        assert 4 <= len(row.question.split()) <= 30
        assert row.question.endswith("?") and row.question[0].isupper()
    assert generated["question"].map(normalise_question).is_unique
    strict = generate_questions([AUSTEN], max_per_context=10, min_question_words=10)
    assert (strict["question"].str.split().str.len() >= 10).all()


def test_a_repeated_context_yields_no_duplicate_questions():
    df = generate_questions([AUSTEN, AUSTEN], max_per_context=2)
    assert df["question"].map(normalise_question).is_unique
    assert set(df["context_index"]) <= {0, 1}


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------


def test_frame_shape_and_types():
    df = generate_questions([AUSTEN, "", "No names or dates here at all."])
    assert list(df.columns) == COLUMNS
    assert df["answer_start"].dtype.kind == "i" and df["context_index"].dtype.kind == "i"
    assert set(df["context_index"]) == {0}
    empty = generate_questions([])
    assert list(empty.columns) == COLUMNS and empty.empty


def test_cap_per_context(contexts):
    for cap in (1, 2):
        df = generate_questions(contexts[:60], max_per_context=cap, seed=3)
        assert df.groupby("context_index").size().max() <= cap
    assert generate_questions(contexts[:10], max_per_context=0).empty


def test_picks_spread_over_both_paragraphs_and_sentences():
    df = generate_questions([AUSTEN], max_per_context=2, seed=0)
    second = split_paragraphs(AUSTEN)[1].start
    assert len(df) == 2
    assert sorted(df["answer_start"] >= second) == [False, True]
    df = generate_questions([AUSTEN], max_per_context=4, seed=0)
    spans = split_sentences(AUSTEN)
    hit = {next(i for i, (a, b) in enumerate(spans) if a <= s < b) for s in df["answer_start"]}
    assert len(hit) >= 3


def test_deterministic_under_the_seed(contexts, generated):
    pd.testing.assert_frame_equal(generated, generate_questions(contexts, max_per_context=3, seed=0))
    other = generate_questions(contexts, max_per_context=3, seed=1)
    assert not other.equals(generated)  # another seed picks other candidates somewhere
    assert len(other) == pytest.approx(len(generated), rel=0.05)


def test_answer_offsets_hold_on_the_real_data(contexts, generated):
    assert len(generated) > 0
    for row in generated.itertuples():
        assert row.context == contexts[row.context_index]
        assert row.context[row.answer_start : row.answer_start + len(row.answer)] == row.answer
    roomy = generate_questions(contexts, max_per_context=50, seed=5)
    for row in roomy.itertuples():
        assert row.context[row.answer_start : row.answer_start + len(row.answer)] == row.answer


def test_coverage_and_variety_on_the_real_data(contexts, generated):
    stats = describe_generation(generated, len(contexts))
    assert stats["contexts_with_questions"] >= 0.8 * len(contexts)
    assert sum(1 for n in stats["per_kind"].values() if n > 0) >= 3


def test_describe_generation_counts():
    df = pd.DataFrame(
        {
            "question": ["q1?", "q2?", "q3?"], "answer": ["a", "b", "c"], "answer_start": [0, 0, 0],
            "context": ["a", "b", "c"], "kind": ["date", "date", "place"], "context_index": [0, 0, 2],
        }
    )
    stats = describe_generation(df, n_contexts=4)
    assert stats["total"] == 3
    assert stats["per_kind"] == {"date": 2, "number": 0, "person": 0, "place": 1, "name": 0, "comparison": 0,
                                 "bridge": 0}
    assert stats["contexts_with_questions"] == 2 and stats["contexts_with_none"] == 2
    assert stats["mean_per_context"] == pytest.approx(0.75)
    assert describe_generation(df.iloc[:0], 5)["contexts_with_none"] == 5


# Two titled paragraphs in the title-line layout, written for these tests: the film's paragraph
# names its director, whose own paragraph holds the answers.
BRIDGED = (
    "Harbour of Reeds\n"
    "Harbour of Reeds is a 1958 Dutch drama film directed by Pieter Vannoort.  It follows a lock keeper "
    "on the Zuiderzee.  Its score was built by the composer Jan Ossel around two folk songs.\n\n"
    "Pieter Vannoort\n"
    "Pieter Vannoort was a Dutch film director.  Vannoort was born in Zwolle in 1911.  He studied "
    "painting at the Rijksakademie before joining the studio of Filmfabriek Hollandia in 1934."
)


def test_bridge_phrases_name_a_maker_through_the_work_it_made():
    from helpers.synthetic_questions.bridge import bridge_phrases

    director = {"Pieter Vannoort": "the director of Harbour of Reeds"}
    assert bridge_phrases(BRIDGED, split_paragraphs(BRIDGED)) == director
    inline = BRIDGED.replace("Harbour of Reeds\n", "Harbour of Reeds: ", 1).replace("\n\nPieter Vannoort\n",
                                                                                    " Pieter Vannoort: ")
    assert bridge_phrases(inline, split_paragraphs(inline)) == director
    # "written and directed by": the director; "the Dublin practice X": a description before the name.
    both = BRIDGED.replace("film directed by", "film written and directed by the painter")
    assert bridge_phrases(both, split_paragraphs(both)) == director
    # A later sentence whose subject is something else says nothing about who made the film.
    other = BRIDGED.replace("directed by Pieter Vannoort", "set in Friesland").replace(
        "Its score was built by the composer Jan Ossel", "Four sets were built by Pieter Vannoort")
    assert bridge_phrases(other, split_paragraphs(other)) == {}
    later = BRIDGED.replace("directed by Pieter Vannoort", "set in Friesland").replace(
        "Its score was built by the composer Jan Ossel", "It was directed by Pieter Vannoort")
    assert bridge_phrases(later, split_paragraphs(later)) == director


@pytest.mark.parametrize("question, expected", [
    ("Where was Pieter Vannoort born?", "Where was the director of Harbour of Reeds born?"),
    ("Pieter Vannoort studied what?", "The director of Harbour of Reeds studied what?"),
    ("What was Pieter Vannoort's first film?", None),  # the possessive reads badly
    ("Did Pieter Vannoort meet Pieter Vannoort?", None),  # not exactly once
    ("Where was Pieter Vannoorts born?", None),  # inside a longer word
])
def test_bridge_question_replaces_the_one_mention(question, expected):
    from helpers.synthetic_questions.bridge import bridge_question

    assert bridge_question(question, "Pieter Vannoort", "the director of Harbour of Reeds") == expected
    inside = "the son of Harbour of Reeds"  # the phrase names the entity it replaces
    assert bridge_question("Who made Harbour of Reeds?", "Harbour of Reeds", inside) is None


def test_generated_bridge_questions_point_at_the_second_paragraph():
    kept, dropped = generate_with_dropped([BRIDGED], max_per_context=3, seed=0)
    bridge = kept[kept["kind"] == "bridge"]
    assert len(bridge) == 1, kept
    row = bridge.iloc[0]
    assert "the director of Harbour of Reeds" in row["question"] and "Vannoort" not in row["question"]
    assert row["context"][row["answer_start"]:row["answer_start"] + len(row["answer"])] == row["answer"]
    assert row["answer_start"] > BRIDGED.index("\n\nPieter Vannoort")  # in the director's paragraph
    assert question_rejection_reason(row["question"], row["answer"], "") is None
    assert set(dropped["reason"]) <= set(REASONS)
    again = generate_with_dropped([BRIDGED], max_per_context=3, seed=0)[0]
    pd.testing.assert_frame_equal(kept, again)


def test_lines_folder_gets_bridge_questions_and_retrieval_leaves_them_out():
    from helpers.context_relevance import training_pairs

    lines = pd.read_csv(REPO / "data-hotpotqa-lines" / "unstructured.csv")["context"].tolist()
    df = generate_questions(lines, max_per_context=3, seed=0)
    bridged = df[df["kind"] == "bridge"]
    assert len(bridged) >= 20 and bridged["question"].str.contains(r"\bthe \w+ of ").all()
    assert df.groupby("context_index")["kind"].apply(lambda k: (k == "bridge").sum()).max() == 1

    class Stub:  # training_pairs reads only .train and .with_gold
        train = pd.DataFrame({"question": ["q"], "answer": ["a"], "context": ["c"]})

        @staticmethod
        def with_gold(frame):
            return frame

    pairs = training_pairs(Stub, df)
    assert len(pairs) == 1 + (~df["kind"].isin(["comparison", "bridge"])).sum()

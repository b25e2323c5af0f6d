"""The yes/no reader: parsing comparison questions, the compared facts, the fitted head, its export."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import question_answering as qa
from helpers.core.prediction import decide_answer
from helpers.core.yes_no import (
    FEATURES,
    YesNoQuery,
    YesNoReader,
    describe,
    evidence,
    parse_yes_no,
    yes_no_decider,
    yes_no_features,
)
from helpers.synthetic_questions.comparison import yes_no_examples

# Titled paragraphs in the title-line layout, written for these tests: bands and rivers with their
# origins and years, so that "both" and "same" questions have answers one can check by hand.
BANDS = [
    ("The Copper Gulls", "Australian", "band", 1986, "Perth"),
    ("Salt Meridian", "Australian", "band", 1991, "Adelaide"),
    ("Violet Tram", "British", "band", 1979, "Leeds"),
    ("Northbound Owls", "British", "band", 1988, "Bristol"),
    ("Les Ombres Bleues", "French", "band", 1984, "Lyon"),
    ("Kettle Harbour", "Canadian", "band", 1995, "Halifax"),
    ("Marram Sound", "Irish", "band", 1981, "Galway"),
    ("Glass Orchard", "Canadian", "band", 1999, "Winnipeg"),
]
RIVERS = [
    ("Brenn River", "Austrian", "river", 1902, "Tyrol"),
    ("Ostra River", "Swedish", "river", 1911, "Dalarna"),
    ("Vell River", "Norwegian", "river", 1923, "Telemark"),
    ("Carra River", "Irish", "river", 1897, "Mayo"),
]


def paragraph(title: str, origin: str, noun: str, year: int, place: str) -> str:
    if noun == "band":
        return (f"{title}\n{title} is an {origin} rock {noun} formed in {place} in {year}. "
                f"The group released four albums and toured widely.")
    return (f"{title}\n{title} is a {origin} {noun} that rises near {place}. "
            f"A dam on it was built in {year} and still supplies the valley towns.")


CORPUS = ["\n\n".join(paragraph(*a) for a in pair) for pair in zip(BANDS, BANDS[1:] + RIVERS, strict=False)]
CORPUS += ["\n\n".join(paragraph(*a) for a in pair) for pair in zip(RIVERS, RIVERS[::-1], strict=True)]


def two(a, b) -> str:
    return paragraph(*a) + "\n\n" + paragraph(*b)


@pytest.mark.parametrize("question, expected", [
    ("Are The Copper Gulls and Violet Tram both Australian bands?",
     YesNoQuery("both", "The Copper Gulls", "Violet Tram", "Australian bands")),
    ("Did both the Petronas Towers and Taipei 101 hold the title?",
     YesNoQuery("both", "the Petronas Towers", "Taipei 101", "hold the title")),
    ("Were Antoni Gaudí and Lluís Domènech i Montaner both born in Catalonia?",
     YesNoQuery("both", "Antoni Gaudí", "Lluís Domènech i Montaner", "born in Catalonia")),
    ("Were Roald Amundsen and Robert Falcon Scott from the same country?",
     YesNoQuery("same", "Roald Amundsen", "Robert Falcon Scott", "from", "country")),
    ("Were Charles Dickens and Charlotte Brontë born in the same year?",
     YesNoQuery("same", "Charles Dickens", "Charlotte Brontë", "born in", "year")),
    ("Is the Rhine longer than the Elbe?", None),  # a yes/no question of another form
    ("Who was born first, Ada or Karl?", None),  # not a yes/no question
])
def test_parse_yes_no_reads_both_forms_and_leaves_the_rest(question, expected):
    assert parse_yes_no(question) == expected


def test_describe_reads_noun_and_origin_and_refuses_unclear_phrases():
    d = describe("Violet Tram is an English indie rock band formed in Leeds in 1979.")
    assert (d.noun, d.origin, d.past) == ("band", "English", False)
    d = describe("Ada Brun was a painter who lived in Oslo.")
    assert (d.noun, d.origin, d.past) == ("painter", "", True)
    assert describe("The Shiba is a small, agile dog.") is None  # cut by a comma on an adjective
    assert describe("It rained all day.") is None


def test_evidence_is_the_paragraph_titled_after_the_entity_in_any_layout():
    lines = two(BANDS[0], RIVERS[1])
    assert evidence(lines, "the Ostra River").startswith("Ostra River is a Swedish river")
    assert evidence(lines, "The Copper Gulls").startswith("The Copper Gulls is an Australian")
    inline = "Copper Gulls: The band formed in Perth. Ostra River: The river rises near Dalarna."
    assert evidence(inline, "Ostra River") == "The river rises near Dalarna."
    assert evidence("No titles here at all.", "Ostra River") == "No titles here at all."


def test_features_compare_what_each_paragraph_states():
    both = parse_yes_no("Are The Copper Gulls and Salt Meridian both Australian bands?")
    f = dict(zip(FEATURES, yes_no_features(both, two(BANDS[0], BANDS[1])), strict=True))
    assert f["same_form"] == 0 and f["cover_ratio"] == 1 and f["value_ratio"] == 1
    uneven = parse_yes_no("Are The Copper Gulls and Violet Tram both Australian bands?")
    f = dict(zip(FEATURES, yes_no_features(uneven, two(BANDS[0], BANDS[2])), strict=True))
    assert f["value_ratio"] == 0 and f["cover_ratio"] == 0.5  # "band" in both, "Australian" in one

    years = parse_yes_no("Were The Copper Gulls and Northbound Owls formed in the same decade?")
    f = dict(zip(FEATURES, yes_no_features(years, two(BANDS[0], BANDS[3])), strict=True))
    assert f["same_form"] == 1 and f["year_known"] == 1 and f["year_agrees"] == 1  # 1986, 1988
    years = parse_yes_no("Were The Copper Gulls and Northbound Owls formed in the same year?")
    f = dict(zip(FEATURES, yes_no_features(years, two(BANDS[0], BANDS[3])), strict=True))
    assert f["year_agrees"] == 0
    origin = parse_yes_no("Are Violet Tram and Northbound Owls from the same country?")
    f = dict(zip(FEATURES, yes_no_features(origin, two(BANDS[2], BANDS[3])), strict=True))
    assert f["origin_known"] == 1 and f["origin_agrees"] == 1 and f["year_known"] == 0


def test_yes_no_examples_answer_from_the_paragraphs_facts_and_repeat_under_a_seed():
    rows = yes_no_examples(CORPUS, seed=3)
    assert rows == yes_no_examples(CORPUS, seed=3) and rows != yes_no_examples(CORPUS, seed=4)
    facts = {t: (o, n, y) for t, o, n, y, _ in BANDS + RIVERS}
    seen = set()
    for question, answer, context, form in rows:
        query = parse_yes_no(question)
        assert query is not None and query.form == form, question
        (oa, na, ya), (ob, nb, yb) = facts[query.a], facts[query.b]
        assert query.a in context and query.b in context
        if query.noun == "country":
            expected = oa == ob
        elif query.noun in {"year", "decade", "century"}:
            size = {"year": 1, "decade": 10, "century": 100}[query.noun]
            expected = ya // size == yb // size
        else:  # "both bands" or "both Australian bands"
            expected = na == nb and (query.predicate.split()[0] != oa or oa == ob)
        assert (answer == "yes") == expected, question
        seen.add((form, answer))
    assert seen == {("both", "yes"), ("both", "no"), ("same", "yes"), ("same", "no")}


def test_reader_fits_decides_and_keeps_the_prior_when_it_cannot():
    rows = yes_no_examples(CORPUS * 3, seed=0)
    q, a, c, _ = zip(*rows, strict=True)
    reader = YesNoReader.fit(q, c, a, prior="no")
    assert len(reader.weights) == len(FEATURES) and sum(reader.fitted_on.values()) == len(rows)
    right = sum(reader.decide(x, y) == z for x, y, z in zip(q, c, a, strict=True))
    assert right / len(rows) >= 0.9
    assert reader.decide("Are The Copper Gulls and Salt Meridian both Australian bands?",
                         two(BANDS[0], BANDS[1])) == "yes"
    assert reader.decide("Are The Copper Gulls and Violet Tram both Australian bands?",
                         two(BANDS[0], BANDS[2])) == "no"
    assert reader.decide("Is the Brenn River longer than the Ostra River?", CORPUS[-1]) == "no"  # prior
    assert reader.probability("Is the Brenn River longer?", CORPUS[-1]) is None

    few = YesNoReader.fit(q[:6], c[:6], a[:6], prior="yes")
    assert few.weights == [] and few.decide(q[0], c[0]) == "yes"  # too few of each answer


def test_reader_round_trips_through_a_dict_and_refuses_other_features():
    q, a, c, _ = zip(*yes_no_examples(CORPUS * 3, seed=1), strict=True)
    reader = YesNoReader.fit(q, c, a, prior="yes")
    again = YesNoReader.from_dict(json.loads(json.dumps(reader.to_dict())))
    assert [again.decide(x, y) for x, y in zip(q, c, strict=True)] == [
        reader.decide(x, y) for x, y in zip(q, c, strict=True)]
    assert yes_no_decider("yes", None) == "yes"
    assert isinstance(yes_no_decider("yes", reader.to_dict()), YesNoReader)
    stale = {**reader.to_dict(), "features": ["cover_min"]}
    with pytest.raises(ValueError, match="export the model again"):
        YesNoReader.from_dict(stale)


def test_decide_answer_asks_the_reader_with_the_question_context():
    q, a, c, _ = zip(*yes_no_examples(CORPUS * 3, seed=2), strict=True)
    reader = YesNoReader.fit(q, c, a, prior="yes")
    span = {"answer": "Perth", "start": 3, "end": 8, "skipped": None}
    question = "Are Violet Tram and {} both British bands?"
    yes = decide_answer(question.format("Northbound Owls"), span, reader, two(BANDS[2], BANDS[3]))
    no = decide_answer(question.format("The Copper Gulls"), span, reader, two(BANDS[2], BANDS[0]))
    assert (yes["answer"], yes["kind"], yes["start"]) == ("yes", "yes/no", -1) and no["answer"] == "no"
    assert decide_answer("Where did they form?", span, reader, CORPUS[0])["answer"] == "Perth"


def test_fit_yes_no_reader_reports_sources_and_held_out_accuracy():
    train = pd.DataFrame({"question": ["Are Violet Tram and Northbound Owls both British bands?", "Who?"],
                          "answer": ["Yes", "Perth"], "context": [two(BANDS[2], BANDS[3]), CORPUS[0]]})
    reader, report = qa.fit_yes_no_reader(train, CORPUS * 3, seed=0)
    assert reader.prior == "yes" and reader.weights
    synthetic = report[report["source"] == "synthetic"].set_index("form")
    assert set(synthetic.index) == {"both", "same"}
    assert (synthetic["held_out_accuracy"] >= 80).all() and (synthetic["held_out_n"] > 0).all()
    labelled = report[report["source"] == "labelled"]
    assert labelled[["form", "n", "yes_share"]].values.tolist() == [["both", 1, 100.0]]
    test = pd.DataFrame({"question": ["Are Violet Tram and The Copper Gulls both British bands?",
                                      "Are Violet Tram and Northbound Owls both British bands?", "Who?"],
                         "answer": ["no", "yes", "x"],
                         "context": [two(BANDS[2], BANDS[0]), two(BANDS[2], BANDS[3]), CORPUS[0]]})
    table = qa.yes_no_test_table(test, reader).set_index("form")
    assert table.loc["all", "n"] == 2 and table.loc["all", "prior_accuracy"] == 50.0
    assert table.loc["all", "reader_accuracy"] == 100.0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120), st.text(max_size=300))
def test_parsing_and_features_never_fail_and_stay_in_range(question, context):
    query = parse_yes_no(question)
    if query is None:
        query = YesNoQuery("both" if len(question) % 2 else "same", question[:10], question[10:20],
                           question[20:], "year")
    values = yes_no_features(query, context)
    assert len(values) == len(FEATURES) and all(0.0 <= v <= 1.0 for v in values)

"""Open-book QA: retriever + reader, source passages, the pipeline's scores, reader exports."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import open_book_qa as ob
from helpers.context_relevance import RetrievalInputError
from helpers.core.export import ExportError
from tests.conftest import QA_UNLABELLED, FakeClock

PASSAGES = ["Lake Vorn was first mapped in 1832 by Ilse Marten.",
            "Ilse Marten was born in Kessel in 1801.", "The Copper Bridge crosses the river Lune.",
            "Dorrow is a market town."]


class FakeRetriever:
    """Returns fixed rankings: question i gets RANKED[i] (ids into PASSAGES) with falling scores."""

    def __init__(self, ranked: dict[str, list[int]]):
        self.ranked = ranked

    def __len__(self) -> int:
        return len(PASSAGES)

    def retrieve_many(self, questions, k):
        for q in questions:
            if not q.strip():
                raise RetrievalInputError("Question 0 (counting from 0) is empty")
        return [[(PASSAGES[i], 1.0 - 0.1 * r, i) for r, i in enumerate(self.ranked[q][:k])]
                for q in questions]


class FakeGenerativeReader:
    KIND = "generative"

    def __init__(self, answers: dict[str, str]):
        self.answers, self.contexts = answers, []

    def read(self, questions, contexts):
        self.contexts.extend(contexts)
        return [{"answer": self.answers[q], "kind": "generated", "start": -1} for q in questions]


class FakeExtractiveReader:
    """Answers with a fixed string, located in the context it is given (the span's start)."""

    KIND = "extractive"

    def __init__(self, answers: dict[str, str]):
        self.answers = answers

    def read(self, questions, contexts):
        out = []
        for q, c in zip(questions, contexts, strict=True):
            start = c.find(self.answers[q])
            out.append({"answer": self.answers[q] if start >= 0 else "", "start": start, "kind": "span"})
        return out


RANKED = {"Where was Ilse Marten born?": [0, 1, 2, 3], "What does the bridge cross?": [3, 2, 0, 1],
          "Who mapped Lake Vorn?": [2, 3, 1, 0]}


def test_the_extractive_reader_reads_the_top_passages_and_names_the_source():
    system = ob.OpenBookQA(FakeRetriever(RANKED), FakeExtractiveReader(
        {"Where was Ilse Marten born?": "Kessel", "What does the bridge cross?": "Lune",
         "Who mapped Lake Vorn?": "Ilse Marten"}), top_k=3, read_top=2)
    kessel, lune, mapped = system.answer_many(list(RANKED))
    assert (kessel.answer, kessel.source_id, kessel.source_passage) == ("Kessel", 1, PASSAGES[1])
    assert (lune.answer, lune.source_id) == ("Lune", 2)  # the second passage read
    # "Ilse Marten" is in passage 1 only, which ranks third: it is retrieved but not read.
    assert [p[2] for p in mapped.passages] == [2, 3, 1] and (mapped.answer, mapped.source_id) == ("", -1)


class TimedRetriever(FakeRetriever):
    def __init__(self, ranked, clock, ms: dict[str, float]):
        super().__init__(ranked)
        self.clock, self.ms = clock, ms

    def retrieve_many(self, questions, k):
        for q in questions:
            self.clock.advance(self.ms[q])
        return super().retrieve_many(questions, k)


class TimedReader(FakeExtractiveReader):
    def __init__(self, answers, clock, ms: dict[str, float]):
        super().__init__(answers)
        self.clock, self.ms = clock, ms

    def read(self, questions, contexts):
        for q in questions:
            self.clock.advance(self.ms[q])
        return super().read(questions, contexts)


def test_each_answer_carries_its_share_of_the_batch_times(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(ob.time, "perf_counter", clock)
    questions = list(RANKED)
    system = ob.OpenBookQA(TimedRetriever(RANKED, clock, dict(zip(questions, [5, 10, 15], strict=True))),
                           TimedReader({q: "x" for q in questions}, clock,
                                       dict(zip(questions, [20, 30, 10], strict=True))),
                           top_k=3, read_top=2)
    answers = system.answer_many(questions)
    # Retrieval took 5 + 10 + 15 = 30 ms for three questions, reading 20 + 30 + 10 = 60 ms.
    assert [a.retrieval_ms for a in answers] == pytest.approx([10.0] * 3)
    assert [a.reading_ms for a in answers] == pytest.approx([20.0] * 3)


def test_latency_split_times_one_question_at_a_time(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(ob.time, "perf_counter", clock)
    q1, q2 = list(RANKED)[:2]
    system = ob.OpenBookQA(TimedRetriever(RANKED, clock, {q1: 4, q2: 8}),
                           TimedReader({q1: "x", q2: "x"}, clock, {q1: 10, q2: 30}), top_k=3, read_top=2)
    timing = ob.latency_split(system, [q1, q2])
    # After a warm-up: retrieval [4, 8] ms, reading [10, 30], total [14, 38]; p95 interpolates
    # 95% of the way from the smaller to the larger value.
    assert timing == pytest.approx({
        "n": 2, "retrieval_ms_p50": 6.0, "retrieval_ms_p95": 7.8, "reading_ms_p50": 20.0,
        "reading_ms_p95": 29.0, "total_ms_p50": 26.0, "total_ms_p95": 36.8})


def test_a_csv_of_questions_is_answered_in_chunks_with_its_sources(tmp_path):
    system = ob.OpenBookQA(FakeRetriever(RANKED), FakeExtractiveReader(
        {"Where was Ilse Marten born?": "Kessel", "What does the bridge cross?": "Lune",
         "Who mapped Lake Vorn?": "Ilse Marten"}), top_k=3, read_top=2)
    src = tmp_path / "questions.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "question": list(RANKED)}).to_csv(src, index=False)
    out = system.answer_csv(src, tmp_path / "answered.csv", chunk_size=2, progress=False)
    back = pd.read_csv(out["output_csv"], dtype=str, keep_default_na=False)
    assert out["rows"] == 3 and back["id"].tolist() == ["a", "b", "c"]
    assert back["predicted"].tolist() == ["Kessel", "Lune", ""]
    assert back["source_id"].tolist() == ["1", "2", "-1"] and back["source_passage"][0] == PASSAGES[1]
    pd.DataFrame({"query": ["x"]}).to_csv(src, index=False)
    with pytest.raises(ValueError, match=r"no column 'question'"):
        system.answer_csv(src, tmp_path / "answered.csv", progress=False)


def test_the_generative_reader_gets_the_joined_passages_and_its_source_is_found():
    reader = FakeGenerativeReader({"Where was Ilse Marten born?": "Kessel",
                                   "What does the bridge cross?": "yes"})
    system = ob.OpenBookQA(FakeRetriever(RANKED), reader, top_k=4, read_top=2)
    kessel, yes = system.answer_many(["Where was Ilse Marten born?", "What does the bridge cross?"])
    assert system.kind == "generative"
    assert reader.contexts[0] == PASSAGES[0] + ob.SEPARATOR + PASSAGES[1]
    assert (kessel.source_id, yes.source_id, yes.source_passage) == (1, -1, "")


def test_span_offsets_map_to_the_right_passage():
    hits = [("abc", 0.9, 7), ("defg", 0.8, 3)]
    joined = ob.SEPARATOR.join(h[0] for h in hits)
    assert [ob._source_of_span(hits, joined.index(ch)) for ch in "adg"] == [0, 1, 1]
    assert ob._source_of_span(hits, 3) == -1  # inside the separator


def test_pipeline_scores_count_retrieved_and_read_gold_passages():
    frame = pd.DataFrame({"question": list(RANKED), "answer": ["Kessel", "the river Lune", "Ilse Marten"]})
    system = ob.OpenBookQA(FakeRetriever(RANKED), FakeExtractiveReader(
        {"Where was Ilse Marten born?": "Kessel", "What does the bridge cross?": "river Lune",
         "Who mapped Lake Vorn?": "Ilse Marten"}), top_k=3, read_top=2)
    result = ob.evaluate_open_book(system, frame, [(1,), (2,), (0, 1)])
    s = result.scores
    # Gold retrieved (top 3): yes, yes, yes (1 is third); read (top 2): yes, yes, no.
    assert (s["gold_retrieved"], s["gold_read"]) == (100.0, pytest.approx(200 / 3))
    # Answers: exact; "river Lune" is exact after normalisation (the article); "" for the third.
    assert s["exact_match"] == pytest.approx(200 / 3) and result.n == 3
    assert result.predictions["source_id"].tolist() == [1, 2, -1]
    # A further gold answer that the third prediction ("") matches nowhere changes nothing; one the
    # second matches word for word makes no difference either (already exact); one for the first
    # that is not its answer leaves its exact match.
    again = ob.evaluate_open_book(system, frame.assign(other_answers=["Kessel town", "", "nobody|"
                                                                      "someone"]), [(1,), (2,), (0, 1)])
    assert again.scores == s
    frame = frame.assign(answer=["Kessel town", "river Lune", "Ilse Marten"],
                         other_answers=["Kessel", "", ""])
    assert ob.evaluate_open_book(system, frame, [(1,), (2,), (0, 1)]).scores["exact_match"] == \
        pytest.approx(200 / 3)  # "Kessel" counts through other_answers


def test_bad_settings_and_an_empty_question_are_clear_errors():
    with pytest.raises(ValueError, match="READ_TOP must be between 1 and TOP_K=2"):
        ob.OpenBookQA(FakeRetriever(RANKED), FakeExtractiveReader({}), top_k=2, read_top=3)
    with pytest.raises(ValueError, match="TOP_K=5 but the collection holds 4 passages"):
        ob.OpenBookQA(FakeRetriever(RANKED), FakeExtractiveReader({}), top_k=5, read_top=1)
    system = ob.OpenBookQA(FakeRetriever(RANKED), FakeExtractiveReader({}), top_k=2, read_top=1)
    with pytest.raises(RetrievalInputError, match="empty"):
        system.answer("   ")


def test_reader_exports_are_recognised_and_a_wrong_kind_is_refused(tmp_path, tiny_model_dir,
                                                                  tiny_llama_dir):
    from helpers import generative_qa as g
    from helpers import question_answering as qa

    model, tokenizer = qa.build_qa_model(str(tiny_model_dir), seed=0)
    extractive = qa.export_question_answering(model, tokenizer, tmp_path / "ex", "t",
                                              settings={"max_length": 64, "stride": 16})
    kind, reader = ob.load_reader(extractive.tarball, unpack_to=tmp_path / "unpacked")
    assert kind == "extractive" and reader.settings["max_length"] == 64

    gen_model, gen_tok, gen_kind, _ = g.load_generative_model(str(tiny_llama_dir))
    generative = g.export_generative_qa(gen_model, gen_tok, tmp_path / "gen", "t", [],
                                     g.generative_settings("Answer.", 32, 4, gen_kind))
    kind, reader = ob.load_reader(generative.model_dir)
    assert kind == "generative" and reader.settings["max_new_tokens"] == 4

    from helpers import classification as clf

    student, student_tok = clf.build_student(str(tiny_model_dir), ["a", "b"])
    classifier = clf.export_classification(student, student_tok, tmp_path / "cls", "t")
    with pytest.raises(ExportError, match="not a question-answering export.*family is classification"):
        ob.load_reader(classifier.model_dir)
    with pytest.raises(ExportError, match="READER_DIR: Export folder .* does not exist"):
        ob.load_reader(tmp_path / "nowhere")
    from helpers import context_relevance as R

    encoder = R.load_sentence_transformer(str(tiny_model_dir))
    retriever = R.export_context_relevance(encoder, ["a passage.", "another."], tmp_path / "ret", "t")
    with pytest.raises(ExportError, match="not a question-answering export.*family is context-relevance"):
        ob.load_reader(retriever.model_dir)


def test_a_real_pipeline_on_tiny_models_answers_from_a_retrieved_passage(tiny_model_dir, tiny_qa_task):
    from helpers import context_relevance as R
    from helpers import question_answering as qa
    from helpers.core.tasks import load_task

    collection = R.build_collection(load_task(tiny_qa_task, kind="qa"), passage_words=100)
    encoder = R.load_sentence_transformer(str(tiny_model_dir))
    index = R.VectorIndex(R.embed_texts(encoder, collection.texts), collection.texts)
    retriever = R.Retriever(encoder, index)
    # The tiny model's weights and the head's seed fix what the random reader answers.
    model, tokenizer = qa.build_qa_model(str(tiny_model_dir), seed=0)
    reader = qa.QuestionAnswerer(model, tokenizer, max_length=64, stride=16)
    system = ob.OpenBookQA(retriever, reader, top_k=3, read_top=2)
    top, second = system.answer_many([collection.test.question[0], collection.test.question[3]])
    # Two answers, one from each read passage: its id and text are the source.
    for result, read in ((top, 0), (second, 1)):
        assert len(result.passages) == 3 and result.passages[0][1] >= result.passages[2][1]
        assert result.answer, "the seeded reader gives a non-empty span"
        passage, _, passage_id = result.passages[read]
        assert (result.source_id, result.source_passage) == (passage_id, passage)
        assert result.answer in result.source_passage
    assert system.answer(collection.test.question[0]).answer == top.answer  # alone as in a batch
    timing = ob.latency_split(system, collection.test.question[:2])
    # With two questions the median is the mean, and a mean of sums is the sum of the means.
    assert timing["n"] == 2 and timing["retrieval_ms_p50"] > 0 and timing["reading_ms_p50"] > 0
    assert timing["total_ms_p50"] == pytest.approx(timing["retrieval_ms_p50"] + timing["reading_ms_p50"])
    assert QA_UNLABELLED[0].startswith(collection.texts[0])  # unstructured.csv comes first

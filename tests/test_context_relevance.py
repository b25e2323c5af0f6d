"""Retrieval helpers: collection, faiss index, negative mining, metrics, bi-encoder, export."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers import context_relevance as R
from helpers.core.export import ExportError
from helpers.core.tasks import load_task
from helpers.core.training import TrainConfig
from tests.conftest import QA_CONTEXTS, umask_set, write_csv, wrong_modes

# ---------------------------------------------------------------------------------------
# A toy collection whose neighbours are known (2-D points, distances by hand)
#
#   id  point    text                                  from 0   from 4
#   0   (0, 0)   the positive of question 0              -        5
#   1   (1, 0)   holds "kessel" (the answer, any case)   1        4
#   2   (0, 2)   "Kesselring" (not the answer word)      2        sqrt(29)
#   3   (-2, 0)                                          2        7
#   4   (5, 0)                                           5        -
#   5   (0, -5)                                          5        sqrt(50)
# ---------------------------------------------------------------------------------------

TOY_POINTS = np.array([[0, 0], [1, 0], [0, 2], [-2, 0], [5, 0], [0, -5]], dtype=np.float32)
TOY_TEXTS = [
    "Alpha: the surveyor was born in Kessel.",
    "Beta: a road leads to kessel from the coast.",
    "Gamma: the Kesselring family owned a mill.",
    "Delta: a harbour town.",
    "Epsilon: a mountain pass.",
    "Zeta: a river delta.",
]
TOY_PAIRS = pd.DataFrame({
    "question": ["Where was the surveyor born?", "Is the pass open in winter?"],
    "answer": ["Kessel", "yes"],
    "gold_id": [0, 4],
})


def test_mining_finds_known_farthest_and_nearest_with_answer_exclusion_and_ties():
    mined = R.mine_negatives(TOY_POINTS, TOY_TEXTS, TOY_PAIRS, kind="both")
    q0, q1 = mined.iloc[0], mined.iloc[1]
    assert (q0.positive_id, q0.positive) == (0, TOY_TEXTS[0])
    # Farthest from 0: 4 and 5 tie at distance 5 -> the lower id, 4.
    assert (q0.easy_id, q0.easy_negative, q0.easy_distance) == (4, TOY_TEXTS[4], 5.0)
    # Nearest to 0 is 1, but it holds the answer ("kessel", case ignored); then 2 and 3 tie at
    # distance 2 -> 2, which holds "Kesselring" but not the answer word.
    assert (q0.hard_id, q0.hard_negative, q0.hard_distance) == (2, TOY_TEXTS[2], 2.0)
    # From 4: farthest is 5 (sqrt 50 > 7), nearest 1; a yes/no answer excludes nothing.
    assert (q1.easy_id, q1.hard_id) == (5, 1)
    assert q1.easy_distance == pytest.approx(math.sqrt(50))
    assert list(mined.columns) == [
        "question", "answer", "positive_id", "positive", "easy_id", "easy_negative", "easy_distance",
        "hard_id", "hard_negative", "hard_distance",
    ]


def test_mining_kinds_candidates_and_missing_hard_negative(capsys):
    easy = R.mine_negatives(TOY_POINTS, TOY_TEXTS, TOY_PAIRS, kind="easy")
    hard = R.mine_negatives(TOY_POINTS, TOY_TEXTS, TOY_PAIRS, kind="hard")
    assert "hard_id" not in easy and "easy_id" not in hard
    assert easy.easy_id.tolist() == [4, 5] and hard.hard_id.tolist() == [2, 1]
    # Passages 2 and 4 not allowed as negatives: the ties go to 3 and 5 instead.
    limited = R.mine_negatives(TOY_POINTS, TOY_TEXTS, TOY_PAIRS, candidates=[0, 1, 3, 5])
    assert limited.easy_id.tolist() == [5, 5] and limited.hard_id.tolist() == [3, 1]
    # Every other passage holds the answer word "a": no hard negative, and training drops the pair.
    pairs = pd.DataFrame({"question": ["q?", "r?"], "answer": ["a", "yes"], "gold_id": [0, 1]})
    mined = R.mine_negatives(TOY_POINTS, TOY_TEXTS, pairs, kind="both")
    assert mined.hard_id.tolist() == [-1, 0] and pd.isna(mined.hard_negative[0])
    frame = R.training_frame(mined, "hard")
    assert frame.anchor.tolist() == ["r?"] and "1 of 2 pairs have no hard negative" in capsys.readouterr().out
    assert len(R.training_frame(mined, "easy")) == 2


def test_mining_matches_brute_force_on_random_points():
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(40, 6)).astype(np.float32)
    texts = [f"passage {i} with word w{i % 7}" for i in range(40)]
    pairs = pd.DataFrame({"question": [f"q{i}" for i in range(25)],
                          "answer": [f"w{i % 7}" for i in range(25)],
                          "gold_id": rng.integers(0, 40, size=25)})
    mined = R.mine_negatives(emb, texts, pairs, chunk_size=4)  # several chunks, repeated positives
    dist = ((emb[:, None, :].astype(np.float64) - emb[None, :, :]) ** 2).sum(-1)
    for row, (answer, pos) in zip(mined.itertuples(), zip(pairs.answer, pairs.gold_id, strict=True),
                                  strict=True):
        others = np.arange(40) != pos
        assert row.easy_id == int(np.argmax(np.where(others, dist[pos], -1)))
        ok = others & np.array([answer not in t.split() for t in texts])
        assert row.hard_id == int(np.argmin(np.where(ok, dist[pos], np.inf)))
        assert row.hard_distance == pytest.approx(math.sqrt(dist[pos, row.hard_id]), rel=1e-4)


def test_contains_answer_whole_words_any_case_never_yes_no():
    assert R.contains_answer("Born in KESSEL, 1801.", "Kessel")
    assert R.contains_answer("It is 412 metres long.", "412 metres")
    assert not R.contains_answer("The Kesselring mill.", "Kessel")
    assert not R.contains_answer("No, yes, known.", "no")
    assert not R.contains_answer("anything", "  ")


def test_training_frame_columns_per_kind():
    mined = R.mine_negatives(TOY_POINTS, TOY_TEXTS, TOY_PAIRS)
    assert list(R.training_frame(mined, "none").columns) == ["anchor", "positive"]
    both = R.training_frame(mined, "both")
    assert list(both.columns) == ["anchor", "positive", "negative_1", "negative_2"]
    assert both.negative_1.tolist() == [TOY_TEXTS[4], TOY_TEXTS[5]]
    assert both.negative_2.tolist() == [TOY_TEXTS[2], TOY_TEXTS[1]]
    with pytest.raises(ValueError, match="negatives must be one of"):
        R.training_frame(mined, "medium")
    with pytest.raises(R.RetrievalInputError, match="lacks.*hard_negative"):
        R.training_frame(R.mine_negatives(TOY_POINTS, TOY_TEXTS, TOY_PAIRS, kind="easy"), "both")


def test_mining_refuses_tiny_collections_and_blank_questions():
    with pytest.raises(R.RetrievalInputError, match="holds 1 passage.*at least 2"):
        R.mine_negatives(TOY_POINTS[:1], TOY_TEXTS[:1], TOY_PAIRS.iloc[:1].assign(gold_id=0))
    with pytest.raises(R.RetrievalInputError, match="Question 1 .*empty"):
        R.mine_negatives(TOY_POINTS, TOY_TEXTS, TOY_PAIRS.assign(question=["ok?", "  "]))


# ---------------------------------------------------------------------------------------
# Metrics, by hand
# ---------------------------------------------------------------------------------------

RANKED = np.array([
    [3, 1, 2, 0, 4, 5, 6, 7, 8, 9],   # gold 3 at rank 1
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 0],   # gold 5 at rank 5
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],   # gold 9 at rank 10
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],   # gold 42 absent
])
GOLD = [3, 5, 9, 42]


def test_retrieval_metrics_by_hand():
    assert R.gold_ranks(RANKED, GOLD).tolist() == [1, 5, 10, 0]
    m = R.retrieval_metrics(RANKED, GOLD, ks=(1, 5), mrr_at=10)
    assert m == pytest.approx({"recall@1": 0.25, "recall@5": 0.5, "mrr@10": (1 + 1 / 5 + 1 / 10) / 4})
    # MRR@5 ignores the hit at rank 10; recall@10 counts it.
    m5 = R.retrieval_metrics(RANKED, GOLD, ks=(10,), mrr_at=5)
    assert m5 == pytest.approx({"recall@10": 0.75, "mrr@5": (1 + 1 / 5) / 4})
    with pytest.raises(R.RetrievalInputError, match="hold 3 passages.*need 10"):
        R.retrieval_metrics(RANKED[:, :3], GOLD)


class LookupEncoder:
    """A stand-in encoder with hand-made vectors (the SentenceEncoder interface)."""

    def __init__(self, vectors: dict[str, list[float]]):
        self.vectors = vectors

    def encode(self, texts):
        return np.array([self.vectors[t] for t in texts], dtype=np.float32)


def test_evaluate_retriever_by_hand():
    passages = ["p0", "p1", "p2"]
    encoder = LookupEncoder({"p0": [1, 0], "p1": [0, 1], "p2": [-1, 0],
                             "q to p0": [1, 0], "q to p1": [1, 1], "q to p2": [0, 1]})
    ev = R.evaluate_retriever(encoder, passages, ["q to p0", "q to p1", "q to p2"], [0, 1, 2],
                              ks=(1, 2), mrr_at=3)
    # q1 scores p0 and p1 equally (0.707): the tie goes to p0, so its gold is second.
    assert ev.details["ranked_ids"].tolist() == [[0, 1, 2], [0, 1, 2], [1, 0, 2]]
    assert ev.predictions["rank"].tolist() == [1, 2, 3]
    gold, best_wrong = [1.0, math.sqrt(0.5), 0.0], [0.0, math.sqrt(0.5), 1.0]
    assert ev.scores == pytest.approx(
        {"recall@1": 1 / 3, "recall@2": 2 / 3, "mrr@3": (1 + 1 / 2 + 1 / 3) / 3,
         "mean_gap": sum(g - w for g, w in zip(gold, best_wrong, strict=True)) / 3}, abs=1e-6)
    assert ev.predictions["positive_score"].tolist() == pytest.approx(gold, abs=1e-6)
    assert sorted(ev.details["negative_scores"].tolist()) == pytest.approx(
        sorted([0.0, -1.0, math.sqrt(0.5), -math.sqrt(0.5), 1.0, 0.0]), abs=1e-6)
    assert ev.predictions["best_negative_score"].tolist() == pytest.approx(best_wrong, abs=1e-6)
    # Deeper than the collection: all three are ranked, the rest padded; recall@5 counts them all.
    small = R.evaluate_retriever(encoder, passages, ["q to p2"], [2], ks=(1, 5), mrr_at=10)
    assert small.details["ranked_ids"].tolist() == [[1, 0, 2, -1, -1, -1, -1, -1, -1, -1]]
    expected = {"recall@1": 0.0, "recall@5": 1.0, "mrr@10": 1 / 3, "mean_gap": -1.0}
    assert small.scores == pytest.approx(expected, abs=1e-6)
    assert sorted(small.details["negative_scores"].tolist()) == pytest.approx([0.0, 1.0], abs=1e-6)


# ---------------------------------------------------------------------------------------
# The index: search, save/load, bad input
# ---------------------------------------------------------------------------------------


def _random_index(metric="ip", n=30, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    emb = R.normalize_rows(rng.normal(size=(n, dim)))
    return R.VectorIndex(emb, [f"passage {i}\nline two" for i in range(n)], encoder="toy-enc", metric=metric)


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_index_save_load_round_trip(tmp_path, metric):
    index = _random_index(metric)
    queries = R.normalize_rows(np.random.default_rng(1).normal(size=(5, 8)))
    scores, ids = index.search(queries, 4)
    loaded = R.VectorIndex.load(index.save(tmp_path / "idx"))
    scores2, ids2 = loaded.search(queries, 4)
    np.testing.assert_array_equal(ids, ids2)
    np.testing.assert_array_equal(scores, scores2)
    assert (loaded.texts, loaded.encoder, loaded.metric, loaded.dimension, len(loaded)) == (
        index.texts, "toy-enc", metric, 8, 30)
    # Best first: scores fall for inner product, distances rise for L2.
    step = np.diff(scores, axis=1)
    assert (step <= 0).all() if metric == "ip" else (step >= 0).all()


def test_index_search_breaks_ties_by_lowest_id():
    emb = np.array([[0, 1], [1, 0], [0, 1], [1, 0], [0.6, 0.8]], dtype=np.float32)
    index = R.VectorIndex(emb, list("abcde"))
    scores, ids = index.search(np.array([[1, 0], [0, 1]], dtype=np.float32), 3)
    assert ids.tolist() == [[1, 3, 4], [0, 2, 4]]
    np.testing.assert_allclose(scores, [[1, 1, 0.6], [1, 1, 0.8]], atol=1e-6)


def test_index_bad_input(tmp_path):
    index = R.VectorIndex(np.eye(3, dtype=np.float32), ["a", "b", "c"])
    with pytest.raises(R.RetrievalInputError, match=r"k=5 but the collection holds 3 passage.*Fix"):
        index.search(np.eye(3, dtype=np.float32), 5)
    with pytest.raises(R.RetrievalInputError, match="3-dimensional"):
        index.search(np.ones((1, 4), dtype=np.float32), 1)
    with pytest.raises(R.RetrievalInputError, match="2 passages but 3 embeddings"):
        R.VectorIndex(np.eye(3, dtype=np.float32), ["a", "b"])
    folder = index.save(tmp_path / "idx")
    (folder / "passages.json").unlink()
    with pytest.raises(ExportError, match="missing passages.json.*Fix"):
        R.VectorIndex.load(folder)
    with pytest.raises(ExportError, match="does not exist"):
        R.VectorIndex.load(tmp_path / "nowhere")


# ---------------------------------------------------------------------------------------
# The collection of a QA task
# ---------------------------------------------------------------------------------------


def contexts_as_documents(folder):
    """The tiny QA task with its own labelled contexts as its unstructured.csv (a leak it warns about),
    so that every passage of the collection is some question's gold."""
    write_csv(folder / "unstructured.csv", ["context"], [[c] for c in QA_CONTEXTS])
    with pytest.warns(UserWarning, match=r"hold a context of test\.csv"):
        return load_task(folder, kind="qa")


def test_build_collection_maps_gold_contexts(tiny_qa_task):
    coll = R.build_collection(contexts_as_documents(tiny_qa_task), passage_words=None)
    assert coll.texts == QA_CONTEXTS and coll.sources == ["unstructured"] * 4
    assert coll.train.gold_id.tolist() == [0, 0, 1, 1, 2, 2]
    assert coll.test.gold_id.tolist() == [0, 1, 3, 3]
    assert all(coll.texts[g] == c for g, c in zip(coll.train.gold_id, coll.train.context, strict=True))
    assert coll.duplicates_removed == 0 and coll.counts["added_from_train"] == 0


def test_build_collection_merges_duplicates_and_adds_labelled_contexts(tmp_path, tiny_qa_task):
    # unstructured.csv: context 0, a repeat of it with other white space, context 1, context 1 again.
    spaced = "  " + QA_CONTEXTS[0].replace(" ", "\n ", 1) + " "
    write_csv(tiny_qa_task / "unstructured.csv", ["context"],
              [[QA_CONTEXTS[0]], [spaced], [QA_CONTEXTS[1]], [QA_CONTEXTS[1]]])
    coll = R.build_collection(load_task(tiny_qa_task, kind="qa"), passage_words=None)
    # Kept in order: unstructured (0, 1), then train's new context 2, then test's new context 3.
    assert coll.texts == QA_CONTEXTS
    assert coll.sources == ["unstructured", "unstructured", "train", "test"]
    assert coll.duplicates_removed == 2
    assert coll.counts["added_from_train"] == 1
    assert (coll.counts["added_from_test"], coll.counts["passages"]) == (1, 4)
    assert coll.train.gold_id.tolist() == [0, 0, 1, 1, 2, 2]
    assert coll.test.gold_id.tolist() == [0, 1, 3, 3]
    assert "2 repeated rows merged" in coll.report()


def test_training_pairs_leave_out_synthetic_comparison_questions(tiny_qa_task):
    coll = R.build_collection(contexts_as_documents(tiny_qa_task), passage_words=100)
    synthetic = pd.DataFrame({
        "question": ["When was Ilse Marten born?", "Who was born first, Ilse Marten or Miriam Hale?"],
        "answer": ["1801", "Ilse Marten"], "context": [QA_CONTEXTS[0], QA_CONTEXTS[0]],
        "kind": ["date", "comparison"]})
    pairs = R.training_pairs(coll, synthetic)
    assert pairs["source"].tolist() == ["labelled"] * 6 + ["synthetic"]
    assert pairs["question"].iloc[-1] == "When was Ilse Marten born?"
    assert len(R.training_pairs(coll, synthetic.drop(columns="kind"))) == 8  # without kinds, all kept


def test_passages_never_cross_a_paragraph_and_end_at_sentence_ends():
    text = ("Lake Vorn: Lake Vorn is a glacial lake. It was first mapped in 1832. Ilse Marten: "
            "Ilse Marten was born in Kessel.\n\nA plain paragraph of one sentence here. And a second one.")
    pieces = [text[a:b] for a, b in R.split_passages(text, 8)]
    assert pieces == ["Lake Vorn: Lake Vorn is a glacial lake.", "It was first mapped in 1832.",
                      "Ilse Marten: Ilse Marten was born in Kessel.",
                      "A plain paragraph of one sentence here.", "And a second one."]
    # A large budget still cuts at paragraphs, never across them; None keeps the document whole.
    assert [text[a:b] for a, b in R.split_passages(text, 100)] == [
        "Lake Vorn: Lake Vorn is a glacial lake. It was first mapped in 1832.",
        "Ilse Marten: Ilse Marten was born in Kessel.",
        "A plain paragraph of one sentence here. And a second one."]
    assert R.split_passages(text, None) == [(0, len(text))]
    # A sentence longer than the budget is kept whole.
    assert [text[a:b] for a, b in R.split_passages(text, 2)][0] == "Lake Vorn: Lake Vorn is a glacial lake."
    with pytest.raises(ValueError, match="PASSAGE_WORDS"):
        R.split_passages(text, 0)


def test_gold_passages_are_those_of_the_context_holding_the_answer(tiny_qa_task):
    coll = R.build_collection(contexts_as_documents(tiny_qa_task), passage_words=100)
    # Every tiny context has two titled paragraphs: eight passages.
    assert len(coll) == 8 and coll.doc_ids == [0, 0, 1, 1, 2, 2, 3, 3]
    # "Ilse Marten" is in both paragraphs of context 0; "1801" only in the second.
    assert coll.train.gold_ids.tolist()[:2] == [(0, 1), (1,)]
    assert coll.train.gold_id.tolist()[:2] == [0, 1]
    # The yes/no question's gold is every passage of its context.
    assert coll.train.gold_ids.tolist()[5] == (4, 5) and coll.test.gold_ids.tolist()[3] == (6, 7)
    assert coll.counts["answers_in_one_passage"] == 8 and "8 passages" in coll.report()
    for golds, answer in zip(coll.test.gold_ids, coll.test.answer, strict=True):
        assert answer in ("no",) or all(answer in coll.texts[g] for g in golds)
    # Recall counts any gold passage of a question.
    assert coll.test.gold_ids.tolist() == [(1,), (2,), (7,), (6, 7)]
    ranked = np.array([[0, 1], [5, 2], [2, 3], [7, 6]])
    assert R.gold_ranks(ranked, coll.test.gold_ids).tolist() == [2, 2, 0, 1]


def test_mining_skips_the_passages_of_the_questions_own_document():
    # Passages 0 and 1 are one document; 1 is nearest to 0 but may hold the other hop.
    points = np.array([[0.0, 0.0], [0.1, 0.0], [0.3, 0.0], [5.0, 0.0]], dtype=np.float32)
    texts = ["alpha", "beta", "gamma", "delta"]
    pairs = pd.DataFrame({"question": ["q?"], "answer": ["x"], "gold_id": [0], "doc_id": [0]})
    mined = R.mine_negatives(points, texts, pairs, doc_ids=[0, 0, 1, 2])
    assert (mined.hard_id[0], mined.easy_id[0]) == (2, 3)
    assert R.mine_negatives(points, texts, pairs).hard_id[0] == 1  # without doc_ids: the neighbour


def test_build_collection_rejects_blank_question_and_context(tiny_qa_task):
    task = load_task(tiny_qa_task, kind="qa")
    task.train.loc[1, "question"] = "   "
    with pytest.raises(R.RetrievalInputError, match=r"train\.csv, row 2: column 'question' is empty.*Fix"):
        R.build_collection(task)
    task = load_task(tiny_qa_task, kind="qa")
    task.unstructured.loc[3, "context"] = "\n"
    with pytest.raises(R.RetrievalInputError, match=r"unstructured\.csv, row 4: column 'context'"):
        R.build_collection(task)


# ---------------------------------------------------------------------------------------
# The bi-encoder on the tiny model: loading, training, export, the Retriever
# ---------------------------------------------------------------------------------------


def test_bare_transformers_folder_loads_with_mean_pooling_and_normalisation(tiny_model_dir):
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling

    from helpers.core.embeddings import SentenceEncoder

    model = R.load_sentence_transformer(str(tiny_model_dir), max_seq_length=256)
    assert isinstance(model[1], Pooling) and model[1].pooling_mode == "mean"
    assert isinstance(model[-1], Normalize)
    texts = ["A short one.", QA_CONTEXTS[1]]
    ours = R.embed_texts(model, texts)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # The same numbers as the package's own mean-pooling encoder.
    np.testing.assert_allclose(ours, SentenceEncoder(str(tiny_model_dir)).encode(texts), atol=1e-5)


def test_training_export_and_retriever_round_trip(tmp_path, tiny_qa_task, tiny_model_dir):
    coll = R.build_collection(contexts_as_documents(tiny_qa_task))
    untrained = R.load_sentence_transformer(str(tiny_model_dir))
    mined = R.mine_negatives(R.embed_texts(untrained, coll.texts), coll.texts, coll.train,
                             doc_ids=coll.doc_ids)
    config = TrainConfig(epochs=1, min_steps=3, batch_size=3, learning_rate=1e-3, seed=7, max_length=128)
    model, history = R.train_bi_encoder(str(tiny_model_dir), mined, negatives="both", config=config)
    losses = [r["loss"] for r in history if "loss" in r]
    assert len(losses) == 3 and all(math.isfinite(x) and x > 0 for x in losses)
    questions = coll.test.question.tolist()
    trained_q = R.embed_texts(model, questions)
    assert np.abs(trained_q - R.embed_texts(untrained, questions)).max() > 1e-4  # it learnt something

    paths = R.export_context_relevance(model, coll.texts, tmp_path / "out", "tinyqa", log_history=history,
                               info={"base_model": str(tiny_model_dir)})
    assert paths.tarball.is_file() and (paths.model_dir / "training-logs.csv").is_file()
    retriever = R.load_retriever(paths.tarball, unpack_to=tmp_path / "unpacked")
    np.testing.assert_allclose(R.embed_texts(retriever.encoder, questions), trained_q, atol=1e-6)
    assert retriever.index.encoder == str(tiny_model_dir) and len(retriever) == len(coll) == 8

    hits = retriever.retrieve(questions[0], k=2)
    scores, ids = R.VectorIndex(R.embed_texts(model, coll.texts), coll.texts).search(trained_q[:1], 2)
    assert [h[2] for h in hits] == ids[0].tolist()
    assert [h[1] for h in hits] == pytest.approx(scores[0].tolist(), abs=1e-5)
    assert hits[0][0] == coll.texts[ids[0, 0]]
    with pytest.raises(ValueError, match="Question 0 .*empty"):
        retriever.retrieve("  ")
    with pytest.raises(R.RetrievalInputError, match="k=9 but the collection holds 8"):
        retriever.retrieve(questions[0], k=9)

    # Same seed, same data: the same losses.
    _, again = R.train_bi_encoder(str(tiny_model_dir), mined, negatives="both", config=config)
    assert [r["loss"] for r in again if "loss" in r] == pytest.approx(losses, rel=1e-5)


def test_load_retriever_reports_missing_files(tmp_path, tiny_model_dir):
    model = R.load_sentence_transformer(str(tiny_model_dir))
    paths = R.export_context_relevance(model, ["first passage", "second passage"], tmp_path, "x")
    (paths.model_dir / "encoder" / "config.json").unlink()
    with pytest.raises(ExportError, match="missing encoder/config.json.*Fix"):
        R.load_retriever(tmp_path)
    (paths.model_dir / "index.faiss").unlink()
    with pytest.raises(ExportError, match="missing index.faiss, encoder/config.json.*Fix"):
        R.load_retriever(tmp_path / "retriever")
    with pytest.raises(ExportError, match="does not exist"):
        R.load_retriever(tmp_path / "nowhere")


def test_retriever_export_files_get_the_modes_of_the_umask(tmp_path, tiny_model_dir):
    model = R.load_sentence_transformer(str(tiny_model_dir))
    with umask_set(0o022):
        paths = R.export_context_relevance(model, ["first passage", "second passage"], tmp_path / "out", "x")
    assert (paths.model_dir / "encoder" / "model.safetensors").stat().st_mode & 0o777 == 0o644
    assert wrong_modes(tmp_path / "out", 0o022) == {}

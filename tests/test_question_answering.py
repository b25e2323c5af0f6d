"""Extractive QA preprocessing and post-processing: every edge case of its contract (the README's
"How extractive question answering works").

Runs on the real fast tokenizer of the packaged MiniLM (uncased WordPiece, [CLS] q [SEP] c [SEP])
and on hand-made tokenizers without CLS, with hand-made contexts.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from helpers.core.models import load_tokenizer
from helpers.question_answering import (
    QAInputError,
    locate_answer,
    locate_answers,
    no_answer_index,
    postprocess_predictions,
    prepare_eval_features,
    prepare_train_features,
)
from tests.conftest import MINILM

# 40 two-digit numbers, each one token in this vocabulary ("10 11 ... 49"), so window
# arithmetic can be checked by hand: word i is str(10 + i) at character 3 * i.
WORDS = " ".join(str(10 + i) for i in range(40))


def word(i: int) -> str:
    return str(10 + i)


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(MINILM)


def word_start(i: int) -> int:
    return i * 3  # "10 " is three characters


def span_text(tok, features, w):
    """The tokens between the labelled start and end of window ``w``, joined."""
    ids = features["input_ids"][w][features["start_positions"][w] : features["end_positions"][w] + 1]
    return tok.decode(ids)


def context_tokens(tok, features, w):
    seq = tok.convert_ids_to_tokens(features["input_ids"][w])
    sep = [i for i, t in enumerate(seq) if t == "[SEP]"]
    return seq[sep[0] + 1 : sep[1]]


# --- locating answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "context, answer, start, expected",
    [
        ("Paris is in France.", "France", None, (12, "found")),
        ("Paris is in France.", "France", 12, (12, "given")),
        ("Paris is in France.", "France  ", None, (12, "found")),  # trailing whitespace
        # Twice in the context: the given start decides; a wrong one moves to the nearest.
        ("A cat and a cat.", "cat", 12, (12, "given")),
        ("A cat and a cat.", "cat", 10, (12, "repaired")),
        ("A cat and a cat.", "cat", 3, (2, "repaired")),
        ("Zürich lies on a lake.", "Zürich", None, (0, "found")),  # accents
        ("The city of paris.", "Paris", None, (12, "found-case")),
        ("Is it so? It is.", "yes", None, (-1, "yes/no")),
        ("It is well known.", "no", None, (-1, "yes/no")),  # not the "no" in "known"
        ("No, it is not.", "No", 0, (-1, "yes/no")),  # even where it stands in the text
        ("The Annual report by Ann.", "Ann", None, (21, "found")),  # whole word first
        ("Annual reports.", "Ann", None, (0, "found")),  # else any occurrence
        ("Nothing here.", "Berlin", None, (-1, "not-found")),
        ("Nothing here.", "   ", None, (-1, "empty")),
    ],
)
def test_locate_answer(context, answer, start, expected):
    assert locate_answer(context, answer, start) == expected


def test_locate_answers_adds_columns_and_uses_the_context_spelling():
    frame = pd.DataFrame({
        "question": ["q1", "q2", "q3"], "answer": ["paris", "no", "Rome "],
        "context": ["It is Paris.", "No way.", "Rome, then Rome."],
        "answer_start": ["", "", "11"],
    })
    out = locate_answers(frame)
    assert out["answer_start"].tolist() == [6, -1, 11]
    assert out["answer_text"].tolist() == ["Paris", "no", "Rome"]
    assert out["answer_status"].tolist() == ["found-case", "yes/no", "given"]


# --- windows ------------------------------------------------------------------------------


def test_context_that_fits_in_one_window(tok):
    ctx = "The Eiffel Tower was finished in 1889 in Paris."
    f, stats = prepare_train_features(tok, ["When was it finished?"], [ctx], [ctx.index("1889")],
                                      ["1889"], max_length=64, stride=16)
    assert stats.windows == 1 and f["example_index"] == [0] and stats.labelled_windows == 1
    assert span_text(tok, f, 0) == "1889"


def test_many_windows_overlap_by_stride_and_cover_every_context_token(tok):
    # [CLS] q [SEP] ctx [SEP]: room = 20 - 3 question tokens - 3 specials = 14 per window.
    f, stats = prepare_eval_features(tok, ["what is it"], [WORDS], max_length=20, stride=4)
    windows = [context_tokens(tok, f, w) for w in range(stats.windows)]
    room = 14
    assert all(len(w) <= room for w in windows)
    # Consecutive windows share exactly `stride` tokens; the step is room - stride.
    for a, b in zip(windows, windows[1:], strict=False):
        assert a[-4:] == b[:4]
    seen = [t for w in windows for t in w]
    all_tokens = tok.tokenize(WORDS)
    assert set(all_tokens) == set(seen) and windows[0][0] == all_tokens[0]
    assert windows[-1][-1] == all_tokens[-1]
    expected = 1 + -(-(len(all_tokens) - room) // (room - 4))
    assert stats.windows == expected == len(windows) and stats.windows_per_example == [expected]


def test_answer_in_the_overlap_is_labelled_in_both_windows(tok):
    # "find it" is 2 tokens: room = 20 - 2 - 3 = 15. Window 1 holds words 0..14, window 2
    # starts at word 11 (stride 4): word 12 is in both.
    q = "find it"
    f, _ = prepare_train_features(tok, [q], [WORDS], [word_start(12)], [word(12)], max_length=20,
                                  stride=4)
    labelled = [w for w in range(len(f["example_index"])) if f["start_positions"][w] != 0]
    assert labelled == [0, 1]
    assert all(span_text(tok, f, w) == word(12) for w in labelled)


def test_answer_cut_by_a_window_edge_points_at_cls_there(tok):
    # Words 14 and 15 straddle the end of window 1 (words 0..14); window 2 (words 11..25)
    # holds both.
    answer = f"{word(14)} {word(15)}"
    f, stats = prepare_train_features(tok, ["find it"], [WORDS], [word_start(14)], [answer],
                                      max_length=20, stride=4)
    assert (f["start_positions"][0], f["end_positions"][0]) == (0, 0)  # [CLS]
    assert span_text(tok, f, 1) == answer and stats.labelled_windows == 1


def test_answer_longer_than_a_window_is_counted_and_never_labelled(tok):
    answer = WORDS[: word_start(20) - 1]  # words 0..19: 20 tokens > 15 per window
    f, stats = prepare_train_features(tok, ["find it"], [WORDS], [0], [answer], max_length=20,
                                      stride=4)
    assert stats.answers_longer_than_window == 1 and stats.labelled_windows == 0
    assert set(f["start_positions"]) == {0} and set(f["end_positions"]) == {0}


def test_answer_longer_than_the_room_beside_a_long_question_is_counted(tok):
    # A 7-token question leaves 20 - 7 - 3 = 10 context tokens per window: a 12-token answer
    # fits no window, although it is shorter than MAX_LENGTH minus the special tokens.
    question = "find it find it find it find"
    answer = WORDS[: word_start(12) - 1]
    f, stats = prepare_train_features(tok, [question], [WORDS], [0], [answer], max_length=20,
                                      stride=4)
    assert len(tok(question, add_special_tokens=False)["input_ids"]) == 7
    assert stats.answers_longer_than_window == 1 and stats.labelled_windows == 0


@pytest.mark.parametrize("answer, where", [(word(0), "first"), (word(39), "last")])
def test_answer_at_the_first_or_last_context_token(tok, answer, where):
    f, _ = prepare_train_features(tok, ["find it"], [WORDS], [WORDS.index(answer)], [answer],
                                  max_length=64, stride=8)
    seq = f["input_ids"][0]
    sep = [i for i, t in enumerate(seq) if t == tok.sep_token_id]
    pos = sep[0] + 1 if where == "first" else sep[1] - 1
    assert f["start_positions"][0] == f["end_positions"][0] == pos


def test_answer_inside_a_word_piece_labels_the_piece_that_holds_it(tok):
    ctx = "He died in 1817 at home."
    f, _ = prepare_train_features(tok, ["digit?"], [ctx], [ctx.index("1817") + 3], ["7"],
                                  max_length=32, stride=4)
    # "1817" is one token in this vocabulary: it is the labelled span, not [CLS].
    assert span_text(tok, f, 0) == "1817"


def test_accents_keep_character_offsets(tok):
    ctx = "La ville de Genève est près du lac Léman."
    f, _ = prepare_eval_features(tok, ["où?"], [ctx], max_length=48, stride=8)
    offsets = [o for o in f["offset_mapping"][0] if o is not None]
    pieces = [ctx[a:b] for a, b in offsets]
    # Offsets index the original (accented) text, piece by piece, with nothing lost.
    assert "".join(pieces) == ctx.replace(" ", "") and "Lé" in pieces


def test_an_answer_ending_in_a_decomposed_accent_is_labelled_and_given_back_whole(tok):
    # NFD "José": the tokenizer strips the combining accent, so no token covers the last character.
    context = "Le président est Jose\u0301"
    answer = "Jose\u0301"
    f, stats = prepare_train_features(tok, ["Qui?"], [context], [context.index(answer)], [answer],
                                      max_length=32, stride=4)
    assert stats.labelled_windows == 1
    s, e = f["start_positions"][0], f["end_positions"][0]
    assert tok.decode(f["input_ids"][0][s : e + 1]) == "jose"
    # Perfect logits give the answer back with its accent.
    ev, _ = prepare_eval_features(tok, ["Qui?"], [context], max_length=32, stride=4)
    n = len(ev["input_ids"][0])
    out = postprocess_predictions([peaked(n, s)], [peaked(n, e)], ev["example_index"], ev["offset_mapping"],
                                  [context])
    assert out[0]["answer"] == answer and out[0]["end"] == len(context)


def test_an_answer_across_a_blank_line_is_not_taught_and_counted(tok):
    context = "The first paragraph ends here.\n\nThe second one starts here."
    answer = "here.\n\nThe second"
    f, stats = prepare_train_features(tok, ["What?"], [context], [context.index(answer)], [answer],
                                      max_length=64, stride=4)
    assert stats.answers_across_paragraphs == 1 and f["example_index"] == []


def test_the_given_start_decides_when_the_answer_occurs_twice(tok):
    ctx = "Anna met Bob. Later Bob met Carl."
    second = ctx.index("Bob", 10)
    f, _ = prepare_train_features(tok, ["who?"], [ctx], [second], ["Bob"], max_length=32, stride=4)
    offsets = prepare_eval_features(tok, ["who?"], [ctx], max_length=32, stride=4)[0]["offset_mapping"]
    assert offsets[0][f["start_positions"][0]] == (second, second + 3)


def test_examples_without_a_position_are_left_out_and_counted(tok):
    f, stats = prepare_train_features(tok, ["q one", "is it?", "q three"], ["a b c"] * 3, [0, -1, 2],
                                      ["a", "yes", "b"], max_length=16, stride=2)
    assert f["example_index"] == [0, 2] and stats.answers_without_position == 1


def test_question_offsets_are_never_context_offsets(tok):
    f, _ = prepare_eval_features(tok, ["where is the lake?"], ["the lake is here"], max_length=32,
                                 stride=4)
    seq_ids = [None, 0, 0, 0, 0, 0, None, 1, 1, 1, 1, None]
    assert [o is not None for o in f["offset_mapping"][0]] == [s == 1 for s in seq_ids]


def test_long_questions_are_capped_and_counted(tok):
    long_q = " ".join(["why"] * 30)
    f, stats = prepare_eval_features(tok, [long_q], ["short context here"], max_length=48, stride=4,
                                     max_question_length=10)
    assert stats.questions_truncated == 1
    seq = tok.convert_ids_to_tokens(f["input_ids"][0])
    assert seq.count("why") == 10 and seq[-4:-1] == ["short", "context", "here"]


# --- bad input ----------------------------------------------------------------------------


def test_stride_not_below_the_room_for_context_skips_the_row_and_impossible_settings_are_refused(tok):
    # "find it" is 2 tokens: 20 - 2 - 3 special = 15 tokens of room, not more than DOC_STRIDE=15.
    f, stats = prepare_eval_features(tok, ["find it", "a"], [WORDS, WORDS], max_length=20, stride=15)
    assert list(stats.skipped) == [0] and set(f["example_index"]) == {1}
    assert re.match(r"DOC_STRIDE=15 must be smaller than the room .* which is 15 tokens", stats.skipped[0])
    _, stats = prepare_eval_features(tok, ["find it"], [WORDS], max_length=20, stride=14)  # one less fits
    assert stats.skipped == {}
    # No question of even one token could fit beside DOC_STRIDE=16: a settings error, said at once.
    with pytest.raises(QAInputError, match=r"DOC_STRIDE=16 must be between 0 and .* 16 tokens"):
        prepare_eval_features(tok, ["a"], [WORDS], max_length=20, stride=16)


def test_a_long_question_is_cut_before_the_room_is_checked(tok):
    # The case: a 258-token question with the defaults (384 / 128 / 64) used to be refused
    # before being cut, and took its whole batch down with it.
    long_q = " ".join(["why"] * 258)
    assert len(tok(long_q, add_special_tokens=False)["input_ids"]) == 258
    questions, contexts = ["where is the lake?", long_q, "who found it?"], [WORDS] * 3
    f, stats = prepare_eval_features(tok, questions, contexts)
    assert stats.skipped == {} and stats.questions_truncated == 1
    assert sorted(set(f["example_index"])) == [0, 1, 2]
    window = tok.convert_ids_to_tokens(f["input_ids"][f["example_index"].index(1)])
    assert window.count("why") == 64 and len(window) <= 384
    # Training windows too, with the answer labelled.
    start = WORDS.index(word(5))
    f, stats = prepare_train_features(tok, questions, contexts, [start] * 3, [word(5)] * 3)
    assert stats.skipped == {} and stats.labelled_windows >= 3


def test_a_row_that_cannot_fit_is_skipped_by_its_input_position_and_the_others_go_on(tok):
    # MAX_QUESTION_LENGTH above MAX_LENGTH: a 40-token question leaves no room even once cut.
    questions = ["where is it?", " ".join(["why"] * 40), "who is it?"]
    f, stats = prepare_eval_features(tok, questions, ["the lake is here"] * 3, max_length=32, stride=4,
                                     max_question_length=64)
    assert list(stats.skipped) == [1] and "cut from 40" in stats.skipped[1]
    assert sorted(set(f["example_index"])) == [0, 2] and stats.as_dict()["rows_skipped"] == 1
    # In training, the row named is the row of the input, not of the rows with an answer position:
    # row 0 is a yes/no answer (no position), row 1 has no context, row 2 is fine.
    f, stats = prepare_train_features(tok, ["is it?", "where?", "where is it?"],
                                      ["ctx", " ", "the lake is here"], [-1, 0, 4], ["yes", "the", "lake"],
                                      max_length=32, stride=4)
    assert stats.skipped == {1: "it has no context. Fix: every question needs its passage."}
    assert f["example_index"] == [2] and stats.answers_without_position == 1


@pytest.mark.parametrize("context", ["", "   ", None])
def test_a_missing_context_skips_only_its_row(tok, context):
    f, stats = prepare_eval_features(tok, ["q?", "where is the lake?"], [context, "the lake is here"],
                                     max_length=32, stride=4)
    assert list(stats.skipped) == [0] and "no context" in stats.skipped[0]
    assert f["example_index"] == [1]


def test_a_slow_tokenizer_is_refused_with_the_fix(tmp_path, tok):
    from transformers import BertTokenizerLegacy

    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    (tmp_path / "vocab.txt").write_text("\n".join(t for t, _ in vocab) + "\n", encoding="utf-8")
    slow = BertTokenizerLegacy(vocab_file=str(tmp_path / "vocab.txt"))
    assert not slow.is_fast
    with pytest.raises(QAInputError, match="needs a fast tokenizer.*use_fast=True"):
        prepare_train_features(slow, ["q?"], ["a b"], [0], ["a"], max_length=16, stride=2)


# --- tokenizers without CLS ---------------------------------------------------------------


def word_level_tokenizer(template_single: str, template_pair: str, specials: dict):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "<pad>": 1, "<s>": 2, "</s>": 3}
    for w in "find it".split() + WORDS.split():
        vocab.setdefault(w, len(vocab))
    t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    t.post_processor = processors.TemplateProcessing(
        single=template_single, pair=template_pair, special_tokens=[(s, vocab[s]) for s in specials])
    return PreTrainedTokenizerFast(tokenizer_object=t, pad_token="<pad>", unk_token="[UNK]", **{
        k: v for k, v in specials.items()})


@pytest.mark.parametrize(
    "single, pair, specials, expected",
    [
        ("$A </s>", "$A </s> $B </s>", {"</s>": "</s>"}, 0),  # no CLS, no BOS: position 0
        ("<s> $A </s>", "<s> $A </s> $B </s>", {"<s>": "<s>", "</s>": "</s>"}, 0),  # BOS
    ],
)
def test_tokenizer_without_cls(single, pair, specials, expected):
    kwargs = {"eos_token": "</s>"} | ({"bos_token": "<s>"} if "<s>" in specials else {})
    t = word_level_tokenizer(single, pair, {v: v for v in specials})
    t = type(t)(tokenizer_object=t.backend_tokenizer, pad_token="<pad>", unk_token="[UNK]", **kwargs)
    assert t.cls_token_id is None
    f, stats = prepare_train_features(t, ["find it"], [WORDS], [word_start(30)], [word(30)],
                                      max_length=12, stride=2)
    ids = f["input_ids"]
    assert all(no_answer_index(t, i) == expected for i in ids)
    labelled = [w for w in range(len(ids)) if f["start_positions"][w] != expected]
    assert labelled and all(t.decode(ids[w][f["start_positions"][w]:f["end_positions"][w] + 1]) == word(30)
                            for w in labelled)


def test_no_answer_index_prefers_cls_then_bos():
    class Tok:
        cls_token_id, bos_token_id = None, 5

    assert no_answer_index(Tok, [9, 5, 7]) == 1
    Tok.bos_token_id = None
    assert no_answer_index(Tok, [9, 5, 7]) == 0


# --- post-processing ----------------------------------------------------------------------


def peaked(n, at, high=10.0):
    x = np.zeros(n)
    x[at] = high
    return x


def test_round_trip_labels_to_answers_across_windows(tok):
    questions = ["find it", "and this"]
    answers = [f"{word(25)} {word(26)}", word(2)]
    starts = [word_start(25), word_start(2)]
    train, _ = prepare_train_features(tok, questions, [WORDS] * 2, starts, answers, max_length=20,
                                      stride=4)
    evalf, _ = prepare_eval_features(tok, questions, [WORDS] * 2, max_length=20, stride=4)
    assert evalf["example_index"] == train["example_index"]
    n = [len(ids) for ids in evalf["input_ids"]]
    s = [peaked(k, p) for k, p in zip(n, train["start_positions"], strict=True)]
    e = [peaked(k, p) for k, p in zip(n, train["end_positions"], strict=True)]
    out = postprocess_predictions(s, e, evalf["example_index"], evalf["offset_mapping"], [WORDS] * 2)
    assert [o["answer"] for o in out] == answers
    assert out[0]["start"] == starts[0] and out[0]["end"] == starts[0] + len(answers[0])


CTX = "abc def ghi"
OFFSETS = [None, (0, 3), (4, 7), (8, 11), None]  # [CLS] abc def ghi [SEP]


def test_invalid_pairs_are_skipped_and_probabilities_sum_to_one():
    start = np.array([50.0, 1.0, 2.0, 0.0, 40.0])  # CLS and SEP score highest: never chosen
    end = np.array([50.0, 0.0, 1.0, 3.0, 40.0])
    out = postprocess_predictions([start], [end], [0], [OFFSETS], [CTX], n_best=5,
                                  max_answer_length=30, top_k=10)[0]
    assert out["answer"] == "def ghi"  # start 2 + end 3 = 5 beats "def" (3) and "ghi" (3)
    spans = [(c["start"], c["end"]) for c in out["candidates"]]
    assert len(spans) == len(set(spans)) and all(e > s for s, e in spans)
    # Reversed pairs never appear: no candidate ends before it starts.
    assert sum(c["probability"] for c in out["candidates"]) == pytest.approx(1.0)
    assert out["candidates"][0]["probability"] > out["candidates"][1]["probability"]


@pytest.mark.parametrize("gap", ["\n\n", "\n \t\n", "\r\n\r\n"])
def test_a_span_never_crosses_a_blank_line(gap):
    # Two paragraphs (or two read passages joined by a blank line): the best-scoring pair spans
    # both, so the best span inside one of them wins instead.
    ctx = f"abc def{gap}ghi jkl"
    g = ctx.index("ghi")
    offsets = [None, (0, 3), (4, 7), (g, g + 3), (g + 4, g + 7), None]
    start, end = np.array([0, 1.0, 9.0, 2.0, 0, 0]), np.array([0, 0, 1.0, 2.0, 9.0, 0])
    out = postprocess_predictions([start], [end], [0], [offsets], [ctx], n_best=6, top_k=10)[0]
    assert out["answer"] == "ghi jkl"  # 2 + 9 beats "def" (9 + 1); "def ... jkl" (18) is no candidate
    # Six pairs inside one paragraph or the other; none of the three across.
    assert all(gap not in c["answer"] for c in out["candidates"]) and len(out["candidates"]) == 6
    # A single line break is no paragraph break.
    one = ctx.replace(gap, "\n")
    h = one.index("ghi")
    offsets = [None, (0, 3), (4, 7), (h, h + 3), (h + 4, h + 7), None]
    assert postprocess_predictions([start], [end], [0], [offsets], [one], n_best=6)[0]["answer"] == \
        "def\nghi jkl"


def test_a_span_never_runs_from_a_title_on_its_own_line_into_its_text(tok):
    # "Inverness\nInverness is ...": the best pair runs from the title into the text; the title alone
    # and spans inside the text stay candidates. A wrapped line inside a paragraph is no break.
    ctx = "Inverness\nInverness is a city.\n\nRiver Ness\nIt flows north."
    offsets = [None, (0, 9), (10, 19), (23, 29), (32, 37), None]
    start, end = np.array([0, 9.0, 1.0, 0, 0, 0]), np.array([0, 1.0, 9.0, 2.0, 0, 0])
    out = postprocess_predictions([start], [end], [0], [offsets], [ctx], n_best=6, top_k=10)[0]
    assert out["answer"] == "Inverness" and out["start"] == 0  # 9 + 1 beats "Inverness" in the text (1 + 9)
    assert all("\n" not in c["answer"] for c in out["candidates"])
    wrapped = "The city lies on the\nRiver Ness. It is old."
    w = wrapped.index("River")
    offsets = [None, (w - 4, w - 1), (w, w + 5), (w + 6, w + 10), None]
    start, end = np.array([0, 9.0, 0, 0, 0]), np.array([0, 0, 0, 9.0, 0])
    got = postprocess_predictions([start], [end], [0], [offsets], [wrapped], n_best=5)[0]
    assert got["answer"] == "the\nRiver Ness"
    # Training: an answer that runs from the title into the text is not taught, and is counted.
    f, stats = prepare_train_features(tok, ["Where?"], [ctx], [0], ["Inverness\nInverness"], max_length=64,
                                      stride=4)
    assert stats.answers_across_paragraphs == 1 and f["example_index"] == []
    f, stats = prepare_train_features(tok, ["Where?"], [ctx], [10], ["Inverness"], max_length=64, stride=4)
    assert stats.answers_across_paragraphs == 0 and f["example_index"] == [0]


def test_max_answer_length_one_keeps_single_tokens_only():
    start = np.array([0.0, 5.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 0.0, 5.0, 0.0])
    out = postprocess_predictions([start], [end], [0], [OFFSETS], [CTX], max_answer_length=1,
                                  top_k=20)[0]
    # Single tokens only: "abc" (5) and "ghi" (5) tie, then "def" (0); the earlier start wins the tie.
    assert [(c["answer"], c["score"]) for c in out["candidates"]] == [
        ("abc", 5.0), ("ghi", 5.0), ("def", 0.0)]


def test_every_candidate_invalid_gives_an_empty_answer():
    start = np.array([0.0, 0.0, 0.0, 9.0, 0.0])
    end = np.array([0.0, 9.0, 0.0, 0.0, 0.0])
    # Only the pair (ghi -> abc) is in the top 1: reversed, so nothing is valid.
    out = postprocess_predictions([start], [end], [0], [OFFSETS], [CTX], n_best=1)[0]
    assert out["answer"] == "" and out["start"] == -1 and out["candidates"] == []


def test_duplicate_spans_from_overlapping_windows_are_merged():
    ctx = "abc def"
    offsets = [None, (0, 3), (4, 7), None]
    a = np.array([0.0, 1.0, 3.0, 0.0])
    b = np.array([0.0, 0.0, 2.0, 0.0])  # the same span "def" seen again, lower score
    out = postprocess_predictions([a, b], [a, b], [0, 0], [offsets, offsets], [ctx], top_k=10)[0]
    spans = [(c["start"], c["end"]) for c in out["candidates"]]
    assert spans.count((4, 7)) == 1 and out["score"] == pytest.approx(6.0)


# Ties are broken by window, then start token, then end token (the lowest wins). Each case has
# exactly two best candidates with equal scores; the rule's winner must come first, every run.
TIE_CASES = {
    # "abc" (start token 1: 2 + 2) and "def" (start token 2: 3 + 1) tie at 4: the lower start wins.
    "start": ([[0.0, 2.0, 3.0, 0.0, 0.0]], [[0.0, 2.0, 1.0, 0.0, 0.0]], [OFFSETS], CTX,
              ("abc", "def")),
    # Same start token 1; ends 1 and 2 both add 1 (2 + 1): the lower end, "abc", beats "abc def".
    "end": ([[0.0, 2.0, 0.0, 0.0, 0.0]], [[0.0, 1.0, 1.0, 0.0, 0.0]], [OFFSETS], CTX,
            ("abc", "abc def")),
    # Two overlapping windows of "abc def ghi jkl": "ghi" (window 0, token 3) and "jkl" (window 1,
    # token 2) both score 2 + 2; the earlier window wins although its start token is later.
    "window": ([[0.0, 0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 2.0, 0.0]],
               [[0.0, 0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 2.0, 0.0]],
               [OFFSETS, [None, (8, 11), (12, 15), None]], CTX + " jkl", ("ghi", "jkl")),
}


@pytest.mark.parametrize("case", list(TIE_CASES))
def test_ties_are_broken_by_window_then_start_then_end(case):
    starts, ends, offsets, ctx, (winner, runner_up) = TIE_CASES[case]
    runs = [postprocess_predictions([np.array(s) for s in starts], [np.array(e) for e in ends],
                                    [0] * len(starts), offsets, [ctx], top_k=3)[0]
            for _ in range(3)]
    first, second, third = runs[0]["candidates"]
    assert first["score"] == second["score"] > third["score"]  # an exact tie of two
    assert (first["answer"], second["answer"]) == (winner, runner_up) and runs[0]["answer"] == winner
    assert first["probability"] == second["probability"]
    assert runs[1:] == runs[:1] * 2  # every run gives the same result


def test_examples_without_windows_get_an_empty_answer():
    out = postprocess_predictions([], [], [], [], ["a context"])
    assert out[0]["answer"] == "" and out[0]["probability"] == 0.0


def test_max_answer_length_below_one_is_refused():
    with pytest.raises(QAInputError, match="at least 1"):
        postprocess_predictions([], [], [], [], [], max_answer_length=0)

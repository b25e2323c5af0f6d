"""Property tests (hypothesis) for the invariants the question-answering families rest on.

Extractive QA runs on the real fast tokenizer of the packaged MiniLM (uncased WordPiece:
accents are stripped, CJK characters are one token each, punctuation is split off), over random
contexts made of Latin words with accents (precomposed and decomposed), CJK runs, numbers,
punctuation, newlines and runs of spaces, with random answer spans and random, *valid* window
settings. Generative QA runs on the real SmolLM2 tokenizer (with its chat template, without it,
and as the stand-in of an encoder-decoder model, as in ``tests/test_generative_qa*.py``).

Settings are always valid: questions are 1-12 words, ``max_length`` leaves room for the uncut
question, and ``stride < max_length - max_question_length - special tokens``, so neither the
refusal of an over-long question nor the refusal of a too-large stride is ever exercised here
(those have their own example tests).

The expected values are computed independently of the helpers' internals: from the context
tokenised alone (``offset_mapping``), never from the helpers' own window arithmetic.
"""

from __future__ import annotations

import copy
import functools
import unicodedata

import hypothesis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from helpers.core.models import load_tokenizer
from helpers.core.prediction import crosses_break, paragraph_breaks
from helpers.generative_qa import (
    DECODER,
    ENCODER_DECODER,
    IGNORE_INDEX,
    answer_lengths,
    build_prompt,
    build_training_example,
    end_of_turn_id,
    filter_by_answer_length,
)
from helpers.question_answering import (
    postprocess_predictions,
    prepare_eval_features,
    prepare_train_features,
)
from tests.conftest import MINILM, load_smollm2_tokenizer

# The machine is shared: no deadline, no example database written into the work tree.
PROPERTY = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def minilm():
    """The real MiniLM tokenizer, loaded once (hypothesis forbids function-scoped fixtures)."""
    return load_tokenizer(MINILM)


@functools.cache
def smollm2(variant: str):
    """The real SmolLM2 tokenizer: ``"chat"`` as shipped, ``"plain"`` without its chat template."""
    tok = load_smollm2_tokenizer()
    if variant == "plain":
        tok = copy.deepcopy(tok)
        tok.chat_template = None
    return tok


def special_tokens() -> int:
    return minilm().num_special_tokens_to_add(pair=True)


# ---------------------------------------------------------------------------------------
# Strategies: words, passages, answers, valid window settings
# ---------------------------------------------------------------------------------------

LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ACCENTED = "éèêëàâäåçñöøüßÉÅÖÜÇłŁœ"
CJK = "東京北京大学日本語中文字漢山川"
PUNCTUATION = [",", ".", "!", "?", ";", ":", "—", "–", "(", ")", "“", "”", "'", '"', "...", "%", "/", "-"]
# Decomposed accents (a base letter then a combining mark) and a ligature: offsets must still
# index the original characters.
ODD_WORDS = ["Mu\u0308nchen", "Cafe\u0301", "e\u0301te\u0301", "ﬁne", "Straße", "ÅNGSTRÖM", "l'été"]
SEPARATORS = [" ", "  ", "    ", "\n", "\n\n", " \n", "\n  ", "\t", "\u00a0", " \u3000"]


def _number(n: int, form: int) -> str:
    return [str(n), f"{n:,}", f"{n / 100:.2f}", f"{n}%", f"({n})"][form]


core_words = st.one_of(
    st.text(alphabet=LATIN, min_size=1, max_size=10),
    st.text(alphabet=LATIN + ACCENTED, min_size=1, max_size=10),
    st.text(alphabet=CJK, min_size=1, max_size=4),
    st.builds(_number, st.integers(0, 10**7), st.integers(0, 4)),
    st.sampled_from(ODD_WORDS),
)
# A word is what lies between two separators: it may carry punctuation on either side, or be
# punctuation alone.
words = st.one_of(
    core_words,
    st.sampled_from(PUNCTUATION),
    st.builds(lambda a, w, b: a + w + b, st.sampled_from(["", "(", "“", "'"]), core_words,
              st.sampled_from(["", ",", ".", ")", "”", "!", "?", ":", "..."])),
)


@st.composite
def passages(draw, min_words=1, max_words=40):
    """``(text, spans)``: words joined by whitespace runs; ``spans`` are the words' character spans."""
    parts = draw(st.lists(words, min_size=min_words, max_size=max_words))
    text = draw(st.sampled_from(["", " ", "\n", "  \n"]))
    spans = []
    for i, w in enumerate(parts):
        if i:
            text += draw(st.sampled_from(SEPARATORS))
        spans.append((len(text), len(text) + len(w)))
        text += w
    text += draw(st.sampled_from(["", " ", "\n", ".\n"]))
    return text, spans


questions = st.lists(words, min_size=1, max_size=12).map(lambda ws: " ".join(ws) + "?")


def _boundary_char(ch: str) -> bool:
    """A character an answer may start or end on: not a space, not a bare combining mark."""
    return not ch.isspace() and not unicodedata.combining(ch)


@st.composite
def qa_examples(draw, whole_words=True, max_answer_words=6):
    """A question, a context and an answer span of it.

    ``whole_words``: the answer is words ``i..j`` (it starts and ends at a whitespace boundary,
    which is always a token boundary for this tokenizer). Otherwise it starts and ends on any
    non-space character, possibly inside a word-piece.
    """
    context, spans = draw(passages())
    i = draw(st.integers(0, len(spans) - 1))
    j = draw(st.integers(i, min(len(spans) - 1, i + max_answer_words - 1)))
    start, end = spans[i][0], spans[j][1]
    if not whole_words:
        firsts = [p for p in range(*spans[i]) if _boundary_char(context[p])]
        start = draw(st.sampled_from(firsts))
        lasts = [p for p in range(max(start, spans[j][0]), spans[j][1]) if _boundary_char(context[p])]
        end = draw(st.sampled_from(lasts)) + 1
    return {"question": draw(questions), "context": context, "start": start, "text": context[start:end]}


def context_offsets(context: str) -> list[tuple[int, int]]:
    """The character offsets of the context tokenised alone."""
    enc = minilm()(context, add_special_tokens=False, return_offsets_mapping=True)
    return [tuple(o) for o in enc["offset_mapping"]]


def answer_token_range(example) -> tuple[int, int]:
    """First and last token (of the context tokenised alone) that overlap the answer's characters."""
    start, end = example["start"], example["start"] + len(example["text"])
    hit = [t for t, (a, b) in enumerate(context_offsets(example["context"])) if a < end and b > start]
    assert hit, f"the answer {example['text']!r} overlaps no token"
    return hit[0], hit[-1]


def token_aligned(example) -> bool:
    """The answer starts where a token starts and ends where a token ends (in the context alone).

    True of whole words, except a word ending in a character no token covers: the normaliser strips
    a decomposed accent, so the token of "Cafe\u0301" ends before its combining mark."""
    offsets = context_offsets(example["context"])
    end = example["start"] + len(example["text"])
    return example["start"] in {a for a, _ in offsets} and end in {b for _, b in offsets}


def ends_covered(example) -> bool:
    """The answer's first and last characters are covered by tokens (of the context alone)."""
    offsets = context_offsets(example["context"])
    t0, t1 = answer_token_range(example)
    return offsets[t0][0] <= example["start"] and example["start"] + len(example["text"]) <= offsets[t1][1]



def question_tokens(question: str) -> int:
    return len(minilm()(question, add_special_tokens=False)["input_ids"])


@st.composite
def window_settings(draw, examples, every_answer_fits=False):
    """Valid ``(max_length, stride, max_question_length)`` for ``examples``.

    ``stride < max_length - max_question_length - special tokens`` (room for context beside any
    capped question), and ``max_length`` leaves room for context beside every *uncut* question.
    ``every_answer_fits``: ``stride >= answer tokens - 1``, so that every answer lies wholly
    inside at least one window.
    """
    special = special_tokens()
    longest_question = max(question_tokens(e["question"]) for e in examples)
    min_stride = 0
    if every_answer_fits:
        min_stride = max(b - a + 1 for a, b in map(answer_token_range, examples)) - 1
    max_question_length = draw(st.integers(1, 24))
    stride = draw(st.integers(min_stride, min_stride + 12))
    low = max(max_question_length + special + stride + 1, longest_question + special + 1)
    return draw(st.integers(low, low + 24)), stride, max_question_length


@st.composite
def qa_batches(draw, whole_words=True, every_answer_fits=False, max_answer_words=6):
    examples = draw(st.lists(qa_examples(whole_words, max_answer_words), min_size=1, max_size=3))
    return examples, draw(window_settings(examples, every_answer_fits))


def crosses_paragraphs(example) -> bool:
    """Whether the answer crosses a paragraph break of its context (:func:`paragraph_breaks`)."""
    start = example["start"]
    return crosses_break(paragraph_breaks(example["context"]), start, start + len(example["text"]))


def train_and_eval(examples, max_length, stride, max_question_length):
    tok = minilm()
    # Answers across a paragraph break (a blank line, the end of a title on its own line) are never
    # taught nor returned (unit tests pin that): left out here.
    assume(not any(map(crosses_paragraphs, examples)))
    qs, cs = [e["question"] for e in examples], [e["context"] for e in examples]
    train, stats = prepare_train_features(tok, qs, cs, [e["start"] for e in examples],
                                          [e["text"] for e in examples], max_length, stride,
                                          max_question_length)
    evalf, _ = prepare_eval_features(tok, qs, cs, max_length, stride, max_question_length)
    # Same windows both ways (every example has a position here): eval offsets describe train windows.
    assert train["input_ids"] == evalf["input_ids"]
    assert train["example_index"] == evalf["example_index"]
    return train, evalf, stats


def window_context(evalf, w) -> tuple[int, list[tuple[int, int]]]:
    """Position of window ``w``'s first context token, and its context tokens' offsets."""
    offsets = evalf["offset_mapping"][w]
    positions = [p for p, o in enumerate(offsets) if o is not None]
    assert positions, f"window {w} has no context token"
    assert positions == list(range(positions[0], positions[-1] + 1)), "context tokens not contiguous"
    return positions[0], [offsets[p] for p in positions]


def windows_in_context(evalf, examples) -> list[tuple[int, int, int]]:
    """Per window, ``(first context position, a, b)``: its context tokens are those ``a..b-1`` of the
    context tokenised alone (found by matching offsets, in order, after the previous window's ``a``)."""
    out, previous = [], {}
    for w, ex in enumerate(evalf["example_index"]):
        first, offsets = window_context(evalf, w)
        alone = context_offsets(examples[ex]["context"])
        a = next((a for a in range(previous.get(ex, 0), len(alone) - len(offsets) + 1)
                  if alone[a : a + len(offsets)] == offsets), None)
        assert a is not None, f"window {w}'s context tokens are not a run of the context's tokens"
        previous[ex] = a
        out.append((first, a, a + len(offsets)))
    return out


def is_labelled(train, w) -> bool:
    # The no-answer index of this tokenizer is [CLS], at position 0.
    return (train["start_positions"][w], train["end_positions"][w]) != (0, 0)


# ---------------------------------------------------------------------------------------
# 1. Labelled windows decode to their gold characters
# ---------------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=150)
@given(qa_batches(whole_words=True))
def test_a_labelled_window_decodes_exactly_to_the_gold_answer(batch):
    """Guaranteed: an answer that starts where a token starts and ends where a token ends (whole
    words, here) comes back character for character: ``context[offsets[s][0]:offsets[e][1]] ==
    answer``. Offsets are the only way back to characters, so nothing else can come back exactly:
    an answer ending inside a word-piece comes back as its smallest token-aligned cover (the next
    test), and a word ending in a decomposed accent (whose token ends before the combining mark) is
    left to property 2, where it fails."""
    examples, (max_length, stride, max_question_length) = batch
    assume(all(map(token_aligned, examples)))
    train, evalf, stats = train_and_eval(examples, max_length, stride, max_question_length)
    labelled = 0
    for w, ex in enumerate(train["example_index"]):
        assert len(train["input_ids"][w]) <= max_length
        if not is_labelled(train, w):
            continue
        labelled += 1
        s, e = train["start_positions"][w], train["end_positions"][w]
        offsets = evalf["offset_mapping"][w]
        assert offsets[s] is not None and offsets[e] is not None, "a label outside the context"
        assert s <= e
        assert examples[ex]["context"][offsets[s][0] : offsets[e][1]] == examples[ex]["text"]
    assert stats.labelled_windows == labelled


@settings(PROPERTY, max_examples=100)
@given(qa_batches(whole_words=False))
def test_a_labelled_span_is_the_smallest_token_cover_of_any_answer(batch):
    """An answer starting or ending inside a word-piece: the labelled span holds all its characters,
    and its first and last tokens both overlap the answer (no token-aligned span is smaller)."""
    examples, (max_length, stride, max_question_length) = batch
    train, evalf, _ = train_and_eval(examples, max_length, stride, max_question_length)
    for w, ex in enumerate(train["example_index"]):
        if not is_labelled(train, w):
            continue
        start = examples[ex]["start"]
        end = start + len(examples[ex]["text"])
        offsets = evalf["offset_mapping"][w]
        (s0, s1), (e0, e1) = offsets[train["start_positions"][w]], offsets[train["end_positions"][w]]
        assert s0 <= start < s1 and e0 < end <= e1


# ---------------------------------------------------------------------------------------
# 2. Labelled exactly when the window holds the whole answer
# ---------------------------------------------------------------------------------------


def check_labelled_exactly_when_the_window_holds_the_answer(examples, max_length, stride,
                                                           max_question_length):
    train, evalf, _ = train_and_eval(examples, max_length, stride, max_question_length)
    ranges = windows_in_context(evalf, examples)
    labelled_examples = set()
    for w, ex in enumerate(train["example_index"]):
        first, a, b = ranges[w]
        # The answer's tokens: those of the context (tokenised alone) overlapping its characters.
        t0, t1 = answer_token_range(examples[ex])
        holds = a <= t0 and t1 < b
        note(f"window {w}: context tokens {a}..{b - 1}, answer tokens {t0}..{t1}")
        assert is_labelled(train, w) == holds
        if holds:
            labelled_examples.add(ex)
            # ...and the labels are the answer's first and last token, at their window positions.
            assert train["start_positions"][w] == first + t0 - a
            assert train["end_positions"][w] == first + t1 - a
        else:
            assert train["input_ids"][w][0] == minilm().cls_token_id
    # Windows share `stride` tokens, so an answer of at most stride + 1 tokens is in some window.
    for ex, example in enumerate(examples):
        t0, t1 = answer_token_range(example)
        if t1 - t0 + 1 <= stride + 1:
            assert ex in labelled_examples


# The smallest failure hypothesis found (fixed since: containment is now decided by tokens): a
# one-token context "Café" with a decomposed accent (NFD, "Cafe" + U+0301) that no token covers, the
# whole context as the answer, one window holding its one token.
NFD_CAFE = ([{"question": "A?", "context": "Cafe\u0301", "start": 0, "text": "Cafe\u0301"}], (6, 0, 1))


@settings(PROPERTY, max_examples=150)
@hypothesis.example(NFD_CAFE)
@given(st.booleans().flatmap(lambda whole: qa_batches(whole_words=whole, max_answer_words=10)))
def test_a_window_is_labelled_exactly_when_it_holds_the_whole_answer(batch):
    """Any answer (whole words or not, decomposed accents included): labelled exactly in the windows
    whose context tokens include every token that overlaps the answer's characters."""
    examples, (max_length, stride, max_question_length) = batch
    check_labelled_exactly_when_the_window_holds_the_answer(examples, max_length, stride,
                                                           max_question_length)


@settings(PROPERTY, max_examples=150)
@given(st.booleans().flatmap(lambda whole: qa_batches(whole_words=whole, max_answer_words=10)))
def test_an_answer_covered_by_its_tokens_is_labelled_exactly_where_a_window_holds_it(batch):
    """The same property for answers whose first and last characters some token covers (all but
    the failure above), so that the rest of it stays guarded while that one is open."""
    examples, (max_length, stride, max_question_length) = batch
    assume(all(map(ends_covered, examples)))
    check_labelled_exactly_when_the_window_holds_the_answer(examples, max_length, stride,
                                                           max_question_length)


# ---------------------------------------------------------------------------------------
# 3. Consecutive windows share `stride` context tokens and together cover the context
# ---------------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=150)
@given(st.lists(st.tuples(questions, passages(max_words=60)), min_size=1, max_size=3), st.data())
def test_windows_overlap_by_stride_and_cover_every_context_token(pairs, data):
    """Every window holds at most ``max_length`` tokens and all but the last are full; window k + 1
    opens with the last ``stride`` context tokens of window k, then only new ones; the windows of an
    example, overlaps removed, are its context tokenised alone (a single window: all of it)."""
    examples = [{"question": q, "context": c} for q, (c, _) in pairs]
    max_length, stride, max_question_length = data.draw(window_settings(examples))
    tok = minilm()
    evalf, stats = prepare_eval_features(tok, [e["question"] for e in examples],
                                         [e["context"] for e in examples], max_length, stride,
                                         max_question_length)
    assert sorted(evalf["example_index"]) == evalf["example_index"]
    for ex, example in enumerate(examples):
        ws = [w for w, i in enumerate(evalf["example_index"]) if i == ex]
        assert ws, f"example {ex} has no window"
        assert stats.windows_per_example[ex] == len(ws)
        windows = [window_context(evalf, w)[1] for w in ws]
        for w in ws:
            assert len(evalf["input_ids"][w]) <= max_length
        for k, (this, following) in enumerate(zip(windows, windows[1:], strict=False)):
            note(f"window {k}: {len(this)} context tokens, next: {len(following)}")
            # Every window but the last is full, and hands its last `stride` tokens to the next.
            assert len(evalf["input_ids"][ws[k]]) == max_length
            assert this[len(this) - stride :] == following[:stride]
            # ...and only those: the next window starts right after them with new tokens.
            assert following[stride:] and following[stride][0] >= this[-1][1]
        # Together the windows are the whole context, each token once beyond the overlaps.
        covered = windows[0] + [o for nxt in windows[1:] for o in nxt[stride:]]
        assert covered == context_offsets(example["context"])


# ---------------------------------------------------------------------------------------
# 4. Perfect logits give back the gold answer
# ---------------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=100)
@given(qa_batches(whole_words=True, every_answer_fits=True), st.integers(0, 5), st.integers(1, 20))
def test_perfect_logits_give_back_the_gold_answer(batch, spare, n_best):
    """For answers that start and end on token boundaries (post-processing returns
    ``context[offsets[s][0]:offsets[e][1]]``, so nothing else can come back exactly) of at most
    ``max_answer_length`` tokens, and ``stride`` large enough that each is wholly in some window.
    Answers that cross a paragraph break are left out: post-processing refuses every span that
    crosses one (its contract, not a failure)."""
    examples, (max_length, stride, max_question_length) = batch
    assume(all(map(token_aligned, examples)))
    assume(not any(map(crosses_paragraphs, examples)))
    tok = minilm()
    contexts = [e["context"] for e in examples]
    evalf, _ = prepare_eval_features(tok, [e["question"] for e in examples], contexts, max_length,
                                     stride, max_question_length)
    longest = max(b - a + 1 for a, b in map(answer_token_range, examples))
    starts, ends = [], []
    for w, ex in enumerate(evalf["example_index"]):
        gold_start = examples[ex]["start"]
        gold_end = gold_start + len(examples[ex]["text"])
        offsets = evalf["offset_mapping"][w]
        # The answer's tokens, found from the eval offsets alone (whole words: exact boundaries).
        s = next((p for p, o in enumerate(offsets) if o is not None and o[0] == gold_start), None)
        e = next((p for p, o in enumerate(offsets) if o is not None and o[1] == gold_end), None)
        if s is None or e is None:  # not wholly in this window: the no-answer position ([CLS])
            s = e = 0
        start_logits, end_logits = np.zeros(len(offsets)), np.zeros(len(offsets))
        start_logits[s] = end_logits[e] = 10.0
        starts.append(start_logits)
        ends.append(end_logits)
    out = postprocess_predictions(starts, ends, evalf["example_index"], evalf["offset_mapping"],
                                  contexts, n_best=n_best, max_answer_length=longest + spare)
    for example, result in zip(examples, out, strict=True):
        assert result["answer"] == example["text"]
        assert (result["start"], result["end"]) == (example["start"], example["start"] + len(example["text"]))


# ---------------------------------------------------------------------------------------
# Generative QA on the real SmolLM2 tokenizer
# ---------------------------------------------------------------------------------------

TASK = "Answer the question using the context."
# (tokenizer variant, kind, the end-of-turn token's name): the chat template ends an assistant turn
# with <|im_end|>; without a template, and for an encoder-decoder, the answer ends with eos. No T5 or
# BART tokenizer ships offline: the encoder-decoder kind runs on the SmolLM2 tokenizer, as the tiny
# T5 of conftest does (what that path needs, an eos and a pad token, it has).
GENERATIVE = [("chat", DECODER, "<|im_end|>"), ("plain", DECODER, "eos"), ("chat", ENCODER_DECODER, "eos")]
GENERATIVE_IDS = ["decoder-chat-template", "decoder-plain", "encoder-decoder"]


@pytest.fixture(scope="module", params=GENERATIVE, ids=GENERATIVE_IDS)
def generative(request):
    variant, kind, end_name = request.param
    tok = smollm2(variant)
    end = tok.eos_token_id if end_name == "eos" else tok.convert_tokens_to_ids(end_name)
    return tok, kind, end


answers = st.builds(lambda text_spans: text_spans[0].strip(), passages(max_words=12)).filter(bool)


# ---------------------------------------------------------------------------------------
# 5. The label mask: the answer's tokens and the end-of-turn token, nothing else
# ---------------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=40)
@given(passages(max_words=30), questions, answers, st.one_of(st.none(), st.integers(0, 40)))
def test_the_loss_sees_exactly_the_answer_and_the_end_of_turn(generative, passage, question, answer,
                                                              max_context_tokens):
    tok, kind, end = generative
    assert end_of_turn_id(tok, kind) == end
    prompt = build_prompt(tok, TASK, passage[0], question, max_context_tokens, kind)
    example = build_training_example(tok, prompt, answer, kind)
    answer_ids = tok(answer, add_special_tokens=False)["input_ids"]
    assert tok.decode(answer_ids, clean_up_tokenization_spaces=False) == answer
    if kind == ENCODER_DECODER:
        # The prompt is the encoder's input (with the tokenizer's own special tokens); the labels
        # are the decoder's target alone, none of them masked.
        assert example["input_ids"] == tok(prompt)["input_ids"]
        assert example["labels"] == answer_ids + [end]
        assert example["attention_mask"] == [1] * len(example["input_ids"])
        return
    prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    ids, labels = example["input_ids"], example["labels"]
    assert len(ids) == len(labels) == len(example["attention_mask"]) and set(example["attention_mask"]) == {1}
    assert ids[: len(prompt_ids)] == prompt_ids
    learnt = [p for p, label in enumerate(labels) if label != IGNORE_INDEX]
    # Exactly the positions after the prompt: the answer's tokens, then the end-of-turn token
    # (for SmolLM2 also the pad id, which appears in the prompt too and is masked there).
    assert learnt == list(range(len(prompt_ids), len(ids)))
    assert [ids[p] for p in learnt] == answer_ids + [end]
    assert [labels[p] for p in learnt] == [ids[p] for p in learnt]


# ---------------------------------------------------------------------------------------
# 6. The answer-length filter: at most n tokens kept, n + 1 dropped, nothing lost or reordered
# ---------------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=30)
@given(st.lists(answers, min_size=1, max_size=8), st.data())
def test_the_answer_length_filter_keeps_exactly_the_answers_of_at_most_n_tokens(generative, texts, data):
    tok, kind, end = generative
    # A row one token longer than another (" the" is one more token after a non-space character),
    # so that the n / n + 1 boundary is in every frame.
    pivot = data.draw(st.sampled_from(texts))
    rows = texts + [pivot + " the"]
    order = data.draw(st.permutations(range(len(rows))))
    # An index that is neither 0..n-1 nor sorted: the split must keep it, row by row.
    shift = data.draw(st.integers(-50, 50))
    index = [shift + 3 * k for k in data.draw(st.permutations(range(len(rows))))]
    frame = pd.DataFrame({"answer": [rows[i] for i in order], "row": list(range(len(rows)))}, index=index)
    counted = [len(tok(a, add_special_tokens=False)["input_ids"]) + 1 for a in frame["answer"]]
    lengths = answer_lengths(frame, tok, kind=kind)
    assert lengths.tolist() == counted and list(lengths.index) == index
    pivot_length = counted[frame["answer"].tolist().index(pivot)]
    assert pivot_length + 1 == counted[frame["answer"].tolist().index(pivot + " the")]
    n = data.draw(st.one_of(st.just(pivot_length), st.sampled_from(counted),
                            st.integers(min(counted) - 2, max(counted) + 1)))
    if min(counted) > n:
        with pytest.raises(ValueError, match=f"MAX_ANSWER_TOKENS={n} "):
            filter_by_answer_length(frame, tok, n, kind)
        return
    kept, dropped, filter_lengths = filter_by_answer_length(frame, tok, n, kind)
    pd.testing.assert_series_equal(filter_lengths, lengths)
    fits = [c <= n for c in counted]
    # The rows (all columns, original index) in the frame's order, split by length alone.
    pd.testing.assert_frame_equal(kept, frame[fits])
    pd.testing.assert_frame_equal(dropped, frame[[not f for f in fits]])
    assert sorted([*kept["row"], *dropped["row"]]) == sorted(frame["row"])
    if n == pivot_length:
        assert pivot in kept["answer"].tolist() and pivot + " the" in dropped["answer"].tolist()

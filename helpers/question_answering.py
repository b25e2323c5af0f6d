"""Extractive question answering: answer location, window features, span post-processing.

The contract (the README's "How extractive question answering works"), in short:

- (question, context) pairs are tokenised with truncation of the *context only*, into windows
  of at most ``max_length`` tokens that overlap by ``stride`` tokens. ``stride`` has the fast
  tokenizer's meaning: the number of context tokens shared by consecutive windows (older
  scripts called the *step* between windows the stride; here the step is ``room - stride``).
- Question and context tokens are told apart with ``sequence_ids()``, never ``token_type_ids``
  (models such as DistilBERT or RoBERTa have none), and the context is the first..last token
  with sequence id 1.
- A training window is labelled with the answer's first and last token only if it holds the
  whole answer; otherwise it points at the no-answer position (CLS, else BOS, else 0).
- Post-processing is numpy-only: per example, top-n start and end logits over all its
  windows, invalid pairs skipped (a span never crosses a blank line), de-duplicated by character
  span, softmax over the kept candidates; an example with no valid candidate gets ``""``.
- The windows for prediction, the span decoding and the answer decision (yes/no prior) live in
  :mod:`helpers.core.prediction`, which needs neither torch nor transformers: the torch-free
  :mod:`helpers.serving` runs the same code, so the two give the same answers. They are imported
  here under the same names.

Every function takes its settings as explicit arguments, so it can be tested and reused.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core.budget import (
    RunPlan,
    TrainingPlan,
    measure_token_seconds,
    padded_tokens_per_batch,
    timing_picks,
)
from helpers.core.evaluation import Evaluation
from helpers.core.export import ExportPaths, export_model, load_export, require_family
from helpers.core.metrics import answer_agreement, squad_scores, squad_scores_by_group
from helpers.core.models import load_pretrained, load_tokenizer
from helpers.core.onnx import QUESTION_ANSWERING
from helpers.core.prediction import (
    MODEL_INPUTS,
    PARAGRAPH_BREAK,
    QAInputError,
    WindowStats,
    answer_windows,
    crosses_break,
    decide_answer,
    eval_features,
    paragraph_breaks,
    postprocess_predictions,
    tokenize_windows,
)
from helpers.core.streaming import StreamedCsv
from helpers.core.tasks import OTHER_ANSWERS, Task, gold_answers
from helpers.core.text import YES_NO, is_yes_no_question
from helpers.core.training import FeatureDataset, TrainConfig, planned_steps, run_trainer
from helpers.core.variants import (
    DEFAULT_MAX_DROP,
    VariantAdapter,
    export_variants,
    outside_test,
    points,
)
from helpers.core.yes_no import FEATURES as YES_NO_FEATURES
from helpers.core.yes_no import YesNoReader, parse_yes_no, yes_no_decider
from helpers.synthetic_questions.comparison import yes_no_examples

__all__ = [
    "FAMILY", "SETTINGS_KEY", "SETTINGS", "PARAGRAPH_BREAK", "QAInputError", "locate_answer",
    "locate_answers", "WindowStats", "no_answer_index", "prepare_train_features", "prepare_eval_features",
    "postprocess_predictions", "YesNoPrior", "YesNoReader", "YES_NO_FEATURES", "fit_yes_no_reader",
    "yes_no_test_table", "build_qa_model", "train_qa", "predict_answers", "decide_answer",
    "is_yes_no_question", "QuestionAnswerer", "auto_class", "answer_status_table", "window_report",
    "evaluate_answers", "evaluate_model", "frame_from_squad_records", "load_hub_task",
    "export_question_answering", "variant_adapter", "export_qa_variants"
]

FAMILY = "question-answering"
"""The family's name: its notebooks are ``question-answering-*.ipynb``; its exports say so."""
SETTINGS_KEY = "qa_settings"
"""Key of ``export-info.json`` holding the window and answer settings of :class:`QuestionAnswerer`."""
SETTINGS = ("max_length", "stride", "n_best", "max_answer_length", "max_question_length")


# ---------------------------------------------------------------------------------------
# Locating answers in their contexts
# ---------------------------------------------------------------------------------------


def locate_answer(context: str, answer: str, start: int | None = None) -> tuple[int, str]:
    """Character start of ``answer`` in ``context``, and how it was found.

    Args:
        context: The passage.
        answer: The gold answer text; surrounding whitespace is ignored.
        start: A character start given with the data, if any.

    Returns:
        ``(start, status)``. ``status`` is ``"given"`` (the given start is right),
        ``"repaired"`` (the given start was wrong; the occurrence nearest to it is used),
        ``"found"`` (no start given; the first occurrence), ``"found-case"`` (only a
        case-insensitive match), ``"yes/no"`` or ``"not-found"`` (then ``start`` is -1).
    """
    text = answer.strip()
    if not text:
        return -1, "empty"
    if text.lower() in YES_NO:
        # Never a span, even where the letters occur ("no" in "known").
        return -1, "yes/no"
    if start is not None and start >= 0 and context[start : start + len(text)] == text:
        return start, "given"
    # Whole-word occurrences first ("Ann" should not match inside "Annual"), then any.
    whole = [m.start() for m in re.finditer(rf"(?<!\w){re.escape(text)}(?!\w)", context)]
    hits = whole or [m.start() for m in re.finditer(re.escape(text), context)]
    if hits:
        if start is not None and start >= 0:
            return min(hits, key=lambda h: (abs(h - start), h)), "repaired"
        return hits[0], "found"
    low = re.search(rf"(?<!\w){re.escape(text)}(?!\w)", context, re.IGNORECASE)
    if low:
        return low.start(), "found-case"
    return -1, "not-found"


def locate_answers(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``answer_start``, ``answer_text`` and ``answer_status`` columns to a QA frame.

    ``frame`` has ``question``, ``answer``, ``context`` and optionally ``answer_start``. The
    answer text is taken from the context at the located start (so a case-insensitive match
    uses the context's spelling), stripped of surrounding whitespace.
    """
    starts, texts, statuses = [], [], []
    given = frame["answer_start"] if "answer_start" in frame else [None] * len(frame)
    for context, answer, g in zip(frame["context"], frame["answer"], given, strict=True):
        g = None if g is None or g == "" or pd.isna(g) else int(g)
        s, status = locate_answer(context, answer, g)
        starts.append(s)
        texts.append(context[s : s + len(answer.strip())] if s >= 0 else answer.strip())
        statuses.append(status)
    return frame.assign(answer_start=starts, answer_text=texts, answer_status=statuses)


# ---------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------


def _require_fast(tokenizer) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise QAInputError(
            f"{type(tokenizer).__name__} is a slow tokenizer: extractive QA needs a fast tokenizer "
            "(it maps tokens back to character offsets). Fix: load it with use_fast=True "
            "(helpers.core.models.load_tokenizer does), or pick a model that has a tokenizer.json."
        )


def no_answer_index(tokenizer, input_ids: Sequence[int]) -> int:
    """Where a window without the answer points: the CLS token, else BOS, else position 0."""
    for token_id in (tokenizer.cls_token_id, tokenizer.bos_token_id):
        if token_id is not None and token_id in input_ids:
            return list(input_ids).index(token_id)
    return 0


def _backend(tokenizer) -> tuple:
    """``(backend tokenizer, model input names)`` of a transformers tokenizer, for the window functions
    of :mod:`helpers.core.prediction`, after checking that it is fast (it maps tokens to character
    offsets) and pads on the right."""
    _require_fast(tokenizer)
    if tokenizer.padding_side != "right":
        # Question first, context second: the window arithmetic assumes right padding.
        raise QAInputError("the tokenizer pads on the left; set tokenizer.padding_side = 'right'")
    return tokenizer.backend_tokenizer, tokenizer.model_input_names


def _windows(tokenizer, questions, contexts, max_length, stride, max_question_length):
    """:func:`helpers.core.prediction.tokenize_windows` with a transformers tokenizer."""
    return tokenize_windows(*_backend(tokenizer), questions, contexts, max_length, stride,
                            max_question_length)


def _context_range(sequence_ids: Sequence[int | None]) -> tuple[int, int]:
    ids = [i for i, s in enumerate(sequence_ids) if s == 1]
    return ids[0], ids[-1]


def prepare_train_features(
    tokenizer,
    questions: Sequence[str],
    contexts: Sequence[str],
    answer_starts: Sequence[int],
    answer_texts: Sequence[str],
    max_length: int = 384,
    stride: int = 128,
    max_question_length: int = 64,
) -> tuple[dict, WindowStats]:
    """Windows with start/end token labels for training.

    Examples whose answer has no position (``answer_start < 0``: yes/no, not found) are left
    out and counted: they cannot teach a span. An answer longer than any window is counted
    and its windows point at the no-answer position.

    Args:
        tokenizer: A *fast* tokenizer.
        questions, contexts: The examples.
        answer_starts: Character start of each answer (-1 when it has none).
        answer_texts: Answer texts as they stand in the context.
        max_length: Tokens per window, question and special tokens included.
        stride: Context tokens shared by consecutive windows.
        max_question_length: Questions are cut to this many tokens (counted in the stats).

    Returns:
        ``(features, stats)``; ``features`` has ``input_ids``, ``attention_mask`` (and
        ``token_type_ids`` if the tokenizer makes them), ``start_positions``,
        ``end_positions`` and ``example_index`` (the position in the inputs), one entry per
        window. A row that cannot make a window (no context, an empty question, no room for
        context beside its cut question) is left out and named in ``stats.skipped`` by its
        position in the inputs, with the reason.

    Raises:
        QAInputError: a slow tokenizer, or settings under which no question fits
            (``stride`` not below the room for context beside a one-token question).
    """
    stats = WindowStats(examples=len(questions))
    keep = [i for i, s in enumerate(answer_starts) if s is not None and s >= 0]
    stats.answers_without_position = len(questions) - len(keep)
    # Post-processing never returns a span across a paragraph break: such an answer cannot be taught.
    across = [i for i in keep if crosses_break(paragraph_breaks(contexts[i]), answer_starts[i],
                                               answer_starts[i] + len(answer_texts[i]))]
    stats.answers_across_paragraphs = len(across)
    keep = [i for i in keep if i not in across]
    features: dict[str, list] = {"start_positions": [], "end_positions": [], "example_index": []}
    if not keep:
        return features, stats
    enc, kept, stats.questions_truncated, rooms, skipped = _windows(
        tokenizer, [questions[i] for i in keep], [contexts[i] for i in keep], max_length, stride,
        max_question_length,
    )
    # Positions in the inputs, not among the rows with an answer position.
    stats.skipped = {keep[p]: reason for p, reason in skipped.items()}
    if enc is None:
        return features, stats
    model_keys = [k for k in MODEL_INPUTS if k in enc]
    for k in model_keys:
        features[k] = []
    bounds = _answer_token_bounds(tokenizer, [contexts[keep[p]] for p in kept],
                                  [answer_starts[keep[p]] for p in kept],
                                  [answer_texts[keep[p]] for p in kept])
    covered: Counter = Counter()
    contained: set[int] = set()
    for w in range(len(enc["input_ids"])):
        local = enc["overflow_to_sample_mapping"][w]
        example = keep[kept[local]]
        offsets = enc["offset_mapping"][w]
        first, last = _context_range(enc.sequence_ids(w))
        start_char = answer_starts[example]
        end_char = start_char + len(answer_texts[example])
        cls = no_answer_index(tokenizer, enc["input_ids"][w])
        start_tok = end_tok = cls
        # Containment by tokens: the window holds the first and the last token of the answer
        # (characters no token covers, such as a decomposed accent at its end, do not count).
        token_start, token_end = bounds[local]
        if token_start < token_end and offsets[first][0] <= token_start and offsets[last][1] >= token_end:
            # First context token that ends after the answer starts; last that starts before
            # it ends: a word-piece holding part of the answer counts as part of the span.
            start_tok = next(t for t in range(first, last + 1) if offsets[t][1] > start_char)
            end_tok = next(t for t in range(last, first - 1, -1) if offsets[t][0] < end_char)
            contained.add(example)
            stats.labelled_windows += 1
        covered[example] += 1
        for k in model_keys:
            features[k].append(enc[k][w])
        features["start_positions"].append(start_tok)
        features["end_positions"].append(end_tok)
        features["example_index"].append(example)
    stats.windows = len(features["example_index"])
    rows = [keep[p] for p in kept]
    stats.windows_per_example = [covered[i] for i in rows]
    # Longer than the room for context beside its own (capped) question: no window can hold it.
    stats.answers_longer_than_window = sum(
        1 for i, room in zip(rows, rooms, strict=True)
        if i not in contained and _answer_tokens(tokenizer, answer_texts[i]) > room
    )
    return features, stats


def _answer_token_bounds(tokenizer, contexts, starts, texts) -> list[tuple[int, int]]:
    """Per example, the character start of the first context token that overlaps the answer and the
    end of the last one (the context tokenised alone); ``(0, 0)`` when no token overlaps it."""
    enc = tokenizer(list(contexts), add_special_tokens=False, return_offsets_mapping=True)
    bounds = []
    for offsets, start, text in zip(enc["offset_mapping"], starts, texts, strict=True):
        end = start + len(text)
        hit = [(a, b) for a, b in offsets if b > start and a < end and b > a]
        bounds.append((hit[0][0], hit[-1][1]) if hit else (0, 0))
    return bounds


def _answer_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def prepare_eval_features(
    tokenizer,
    questions: Sequence[str],
    contexts: Sequence[str],
    max_length: int = 384,
    stride: int = 128,
    max_question_length: int = 64,
) -> tuple[dict, WindowStats]:
    """Windows for prediction, with the offsets post-processing needs.

    ``offset_mapping`` keeps the character offsets of context tokens only; every other
    position (question, special and padding tokens) is ``None``, so a question's offsets can
    never be read as context offsets.

    Questions longer than ``max_question_length`` tokens are cut first; a row that still cannot
    make a window (see :func:`prepare_train_features`) gets none and is named in ``stats.skipped``,
    and the other rows go on.

    Returns:
        ``(features, stats)``; ``features`` has the model inputs, ``offset_mapping`` and
        ``example_index``, one entry per window.
    """
    return eval_features(*_backend(tokenizer), questions, contexts, max_length, stride, max_question_length)


# ---------------------------------------------------------------------------------------
# Models: build, train, predict
# ---------------------------------------------------------------------------------------

class YesNoPrior:
    """Answers yes/no questions with the more frequent of "yes" and "no" in the labelled data.

    A deliberate baseline: a handful of yes/no examples cannot train a yes/no decision, and
    the notebooks report yes/no questions separately so that its (near-chance) accuracy is
    never hidden inside the span scores. Ties go to "yes".
    """

    def __init__(self, answers: Sequence[str]):
        counts = Counter(a.strip().lower() for a in answers if a.strip().lower() in YES_NO)
        self.counts = {"yes": counts["yes"], "no": counts["no"]}
        self.answer = "yes" if counts["yes"] >= counts["no"] else "no"


YES_NO_COLUMNS = ["question", "answer", "context", "form"]


def _yes_no_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["answer"].astype(str).str.strip().str.lower().isin(YES_NO)]


def fit_yes_no_reader(train: pd.DataFrame, contexts: Sequence[str], seed: int = 0, limit: int = 400,
                      holdout: float = 0.2) -> tuple[YesNoReader, pd.DataFrame]:
    """The yes/no reader (:class:`~helpers.core.yes_no.YesNoReader`) fitted on the labelled yes/no
    questions of ``train`` and the synthetic ones written from ``contexts``
    (:func:`~helpers.synthetic_questions.comparison.yes_no_examples`, at most ``limit``).

    Before the final fit, a share ``holdout`` of the synthetic questions is held out and answered by
    a reader fitted on the rest: that accuracy, by form, is the only check there is before the test
    set (a folder has a handful of labelled yes/no questions at most). The prior is
    :class:`YesNoPrior`'s; questions the reader cannot parse get it.

    Returns:
        ``(reader, report)``: ``report`` has one row per source and form (``n``, ``yes`` share, and
        for synthetic rows ``held_out_n`` and ``held_out_accuracy`` in percent).
    """
    prior = YesNoPrior(train["answer"]).answer
    synthetic = pd.DataFrame(yes_no_examples(contexts, seed, limit), columns=YES_NO_COLUMNS)
    labelled = _yes_no_rows(train).assign(form=lambda f: [
        q.form if (q := parse_yes_no(x)) else "unparsed" for x in f["question"]])[YES_NO_COLUMNS]
    held = synthetic.sample(frac=holdout, random_state=seed) if len(synthetic) else synthetic
    rest = pd.concat([synthetic.drop(held.index), labelled])
    check = YesNoReader.fit(rest["question"], rest["context"], rest["answer"], prior)
    held = held.assign(right=[check.decide(q, c) == a.lower() for q, c, a in
                              zip(held["question"], held["context"], held["answer"], strict=True)])
    both = pd.concat([synthetic, labelled])
    reader = YesNoReader.fit(both["question"], both["context"], both["answer"], prior)
    rows = []
    for source, frame in (("synthetic", synthetic), ("labelled", labelled)):
        for form, g in frame.groupby("form"):
            h = held[held["form"] == form] if source == "synthetic" else held.iloc[:0]
            rows.append({"source": source, "form": form, "n": len(g),
                         "yes_share": round(100 * (g["answer"].str.lower() == "yes").mean(), 1),
                         "held_out_n": len(h) if len(h) else None,
                         "held_out_accuracy": round(100 * h["right"].mean(), 1) if len(h) else None})
    return reader, pd.DataFrame(rows, columns=["source", "form", "n", "yes_share", "held_out_n",
                                               "held_out_accuracy"])


def yes_no_test_table(test: pd.DataFrame, reader: YesNoReader) -> pd.DataFrame:
    """The test set's yes/no questions answered by the prior and by ``reader``: per form (and in all),
    ``n`` and accuracy in percent of each. The gold answer only scores."""
    rows = _yes_no_rows(test)
    if rows.empty:
        return pd.DataFrame(columns=["form", "n", "prior_accuracy", "reader_accuracy"])
    gold = rows["answer"].str.strip().str.lower()
    forms = [q.form if (q := parse_yes_no(x)) else "unparsed" for x in rows["question"]]
    frame = pd.DataFrame({"form": forms,
                          "prior": (gold == reader.prior).to_numpy(),
                          "reader": [reader.decide(q, c) == g for q, c, g in
                                     zip(rows["question"], rows["context"], gold, strict=True)]})
    out = [{"form": form, "n": len(g), "prior_accuracy": round(100 * g["prior"].mean(), 1),
            "reader_accuracy": round(100 * g["reader"].mean(), 1)}
           for form, g in [*frame.groupby("form"), ("all", frame)]]
    return pd.DataFrame(out)


def build_qa_model(model_name: str, seed: int = 42):
    """A question-answering model (a new span head on ``model_name``) and its fast tokenizer.

    The seed is set before the head is created, so the same seed gives the same head.
    """
    from transformers import AutoModelForQuestionAnswering, set_seed


    set_seed(seed)
    tokenizer = load_tokenizer(model_name, require_fast=True)
    model = load_pretrained(AutoModelForQuestionAnswering, model_name)
    return model, tokenizer


def train_qa(
    model,
    tokenizer,
    frame: pd.DataFrame,
    config,
    stride: int = 128,
    max_question_length: int = 64,
    output_dir=None,
    time_limit: float | None = None,
) -> tuple[list[dict], WindowStats]:
    """Fine-tune a QA model in place on a frame with located answers.

    Args:
        model, tokenizer: From :func:`build_qa_model`.
        frame: ``question``, ``context``, ``answer_start``, ``answer_text`` (see
            :func:`locate_answers`); rows with ``answer_start < 0`` are left out and counted.
        config: A :class:`helpers.core.training.TrainConfig`; ``config.max_length`` is the window.
        stride: Context tokens shared by consecutive windows.
        max_question_length: Questions are cut to this many tokens.
        output_dir: Trainer scratch folder (temporary by default).
        time_limit: Wall-clock seconds after which training stops at the end of its step
            (:meth:`~helpers.core.budget.TrainingPlan.time_limit`); None: no limit.

    Returns:
        ``(log_history, window_stats)``.
    """
    from transformers import DataCollatorWithPadding

    features, stats = _train_features(tokenizer, frame, config.max_length, stride, max_question_length)
    if not stats.labelled_windows:
        skipped = "".join(f" Row {i} (from 0) was skipped: {why}"
                          for i, why in list(stats.skipped.items())[:3])
        raise QAInputError(
            f"none of the {stats.examples} training examples has an answer located in a window, so "
            f"there is nothing to learn. Fix: check that the answers are spans of their contexts.{skipped}"
        )
    history = run_trainer(model, tokenizer, FeatureDataset(features, TRAIN_KEYS), config,
                          DataCollatorWithPadding(tokenizer), output_dir, time_limit)
    return history, stats


TRAIN_KEYS = (*MODEL_INPUTS, "start_positions", "end_positions")

# What a Trainer step costs beyond the timed forward, backward and update (gradient clipping, the
# schedule, collating, logging, the run's start), as a factor: measured 3.1 s against 2.76 s timed
# per step of data-hotpotqa's synthetic windows on a quiet 2-core machine.
STEP_MARGIN = 1.15

# The runs of the notebook's students, in the order they run: the exported student reads the synthetic
# questions, then the labelled examples; the labelled-only student (the comparison) comes last.
SYNTHETIC_PASS, LABELLED_PASS, LABELLED_ONLY = "synthetic-pass", "labelled-pass", "student-labelled"


def _train_features(tokenizer, frame: pd.DataFrame, max_length: int, stride: int, max_question_length: int):
    """:func:`prepare_train_features` of a frame with located answers."""
    return prepare_train_features(
        tokenizer, frame["question"].tolist(), frame["context"].tolist(), frame["answer_start"].tolist(),
        frame["answer_text"].tolist(), max_length, stride, max_question_length)


def _timing_batches(tokenizer, features: dict, config: TrainConfig, quantiles) -> list[dict]:
    """A few training batches of ``features`` (windows), as training builds them, for timing a step."""
    from transformers import DataCollatorWithPadding

    lengths = [len(ids) for ids in features["input_ids"]]
    picks = timing_picks(lengths, config.batch_size, config.group_by_length, config.seed, quantiles)
    keys = [k for k in TRAIN_KEYS if k in features]
    collate = DataCollatorWithPadding(tokenizer)
    return [collate([{k: features[k][i] for k in keys} for i in pick]) for pick in picks]


def plan_students(model, tokenizer, train: pd.DataFrame, synthetic: pd.DataFrame, config: TrainConfig,
                  synthetic_config: TrainConfig, stride: int, max_question_length: int,
                  budget_minutes: float | None, spent_seconds: float, reserved_seconds: float,
                  compare: bool = True, min_synthetic_share: float = 0.5) -> TrainingPlan:
    """Time a training step on this folder's windows and plan the students' runs to fit the budget.

    The runs, in the order they run: the exported student's pass over the synthetic questions
    (:data:`SYNTHETIC_PASS`, ``synthetic_config``), its pass over the labelled examples
    (:data:`LABELLED_PASS`, ``config``), and, with ``compare``, the labelled-only student
    (:data:`LABELLED_ONLY`), which takes exactly the labelled pass's steps so that the two differ
    only by the synthetic questions; it is optional: the exported student's passes keep no time
    for it, so when they run slower than timed it is cut or skipped, not they
    (:meth:`~helpers.core.budget.TrainingPlan.fits`). What is given up, first to last
    (:func:`allocate_qa_steps`): synthetic steps down to ``min_synthetic_share`` of those wanted,
    then the comparison, then more synthetic steps, the labelled pass last. ``model`` is timed as it
    will train; its weights do not change. A step's cost is timed per padded token, pooled over
    batches of both runs' windows at typical lengths (:func:`~helpers.core.budget.measure_token_seconds`),
    and applied to each run's mean padded batch (:func:`~helpers.core.budget.padded_tokens_per_batch`),
    plus :data:`STEP_MARGIN`. The timing (five steps, the first untimed) counts as spent.

    Args:
        model, tokenizer: The untrained student (:func:`build_qa_model`).
        train, synthetic: Frames with located answers (:func:`locate_answers`); ``synthetic`` may be empty.
        config, synthetic_config: The labelled and the synthetic runs' settings; the steps they want
            are :func:`~helpers.core.training.planned_steps` of their windows.
        stride, max_question_length: As for :func:`train_qa`.
        budget_minutes: The whole notebook's budget; None or <= 0: no budget.
        spent_seconds: Already spent (``record.elapsed()``).
        reserved_seconds: For the stages after training (:func:`reserve_seconds`).
        compare: Plan the labelled-only student.
        min_synthetic_share: Keep the comparison only if the synthetic pass still gets this share of
            its wanted steps.
    """
    start = time.perf_counter()
    labelled, _ = _train_features(tokenizer, train, config.max_length, stride, max_question_length)
    by_run = {LABELLED_PASS: (labelled, config)}
    if len(synthetic):
        by_run[SYNTHETIC_PASS] = (_train_features(tokenizer, synthetic, synthetic_config.max_length, stride,
                                                max_question_length)[0], synthetic_config)
    batches = [b for name, quantiles in ((SYNTHETIC_PASS, (0.25, 0.5, 0.75)), (LABELLED_PASS, (0.5,)))
               if name in by_run for b in _timing_batches(tokenizer, *by_run[name], quantiles)]
    per_token, update = measure_token_seconds(model, batches)
    step, wanted = {}, {SYNTHETIC_PASS: 0}
    for name, (windows, run_config) in by_run.items():
        lengths = [len(ids) for ids in windows["input_ids"]]
        tokens = padded_tokens_per_batch(lengths, run_config.batch_size, run_config.group_by_length,
                                         run_config.seed)
        step[name] = STEP_MARGIN * (update + per_token * tokens)
        wanted[name] = planned_steps(len(lengths), run_config)
    step.setdefault(SYNTHETIC_PASS, step[LABELLED_PASS])
    step[LABELLED_ONLY] = step[LABELLED_PASS]
    wanted[LABELLED_ONLY] = wanted[LABELLED_PASS] if compare else 0
    wanted = {name: wanted[name] for name in (SYNTHETIC_PASS, LABELLED_PASS, LABELLED_ONLY)}
    budget = budget_minutes * 60 if budget_minutes and budget_minutes > 0 else None
    spent = spent_seconds + time.perf_counter() - start
    left = None if budget is None else budget - spent - reserved_seconds
    steps, notes = allocate_qa_steps(wanted, step, left, min_synthetic_share)
    if not len(synthetic):
        notes.insert(0, "no synthetic questions: the exported student reads the labelled examples only")
    runs = [RunPlan(name, wanted[name], steps[name], round(steps[name] * step[name], 1),
                    optional=name == LABELLED_ONLY) for name in wanted]
    return TrainingPlan(budget, round(spent, 1), round(reserved_seconds, 1),
                        {k: round(v, 3) for k, v in step.items()}, runs, notes)


def allocate_qa_steps(wanted: dict[str, int], step_seconds: dict[str, float], left: float | None,
                      min_synthetic_share: float = 0.5) -> tuple[dict[str, int], list[str]]:
    """Steps for :data:`SYNTHETIC_PASS`, :data:`LABELLED_PASS` and :data:`LABELLED_ONLY` that fit in
    ``left`` seconds, and notes on what was given up (see :func:`plan_students`).

    The labelled pass gets its steps first (at least one, even if nothing fits: the exported student
    always sees the labelled examples). The comparison runs with exactly as many steps, and only if
    the synthetic pass can still have ``min_synthetic_share`` of its steps beside it; otherwise its
    time goes to the synthetic pass. ``left`` None: every run gets what it wants.
    """
    steps = dict(wanted)
    if left is None:
        return steps, []
    notes = []
    syn, lab, comparison = wanted[SYNTHETIC_PASS], wanted[LABELLED_PASS], wanted[LABELLED_ONLY]
    syn_cost, lab_cost = step_seconds[SYNTHETIC_PASS], step_seconds[LABELLED_PASS]
    steps[LABELLED_PASS] = min(lab, max(1, math.floor(left / lab_cost)))
    if steps[LABELLED_PASS] < lab:
        notes.append(f"{LABELLED_PASS} cut to {steps[LABELLED_PASS]} of {lab} steps: {lab} would take "
                     f"~{lab * lab_cost:.0f} s, {max(0.0, left):.0f} s were left for training")
    rest = left - steps[LABELLED_PASS] * lab_cost
    if comparison:
        beside = rest - steps[LABELLED_PASS] * step_seconds[LABELLED_ONLY]
        fits = min(syn, math.floor(max(0.0, beside) / syn_cost))
        if beside >= 0 and fits >= min_synthetic_share * syn:
            steps[LABELLED_ONLY], rest = steps[LABELLED_PASS], beside
        else:
            steps[LABELLED_ONLY] = 0
            notes.append(f"{LABELLED_ONLY} (the comparison) skipped: beside it the synthetic pass would get "
                         f"{fits} of its {syn} steps, under {min_synthetic_share:.0%}")
    steps[SYNTHETIC_PASS] = min(syn, math.floor(max(0.0, rest) / syn_cost))
    if steps[SYNTHETIC_PASS] < syn:
        notes.append(f"{SYNTHETIC_PASS} skipped: no time was left" if not steps[SYNTHETIC_PASS] else
                     f"{SYNTHETIC_PASS} cut to {steps[SYNTHETIC_PASS]} of {syn} steps to fit the budget")
    return steps, notes


def reserve_seconds(seconds_per_question: float, test_questions: int, gate_questions: int, variants: int,
                    students: int = 2) -> float:
    """Time to keep for what follows training: ``students`` scored on the test set, the export and its
    reload check, and ``variants`` ONNX variants converted (~20 s each, measured with MiniLM-L6) and
    run with PyTorch on the gate and test questions. ``seconds_per_question`` is PyTorch's cost per
    question, measured on the folder (the untrained student's evaluation); ONNX Runtime is faster
    than that, so this errs long."""
    evaluation = students * test_questions * seconds_per_question
    gate = (variants + 1) * (gate_questions + test_questions) * seconds_per_question if variants else 0.0
    return round(20.0 + evaluation + gate + 20.0 * variants, 1)


def predict_answers(
    model,
    tokenizer,
    questions: Sequence[str],
    contexts: Sequence[str],
    max_length: int = 384,
    stride: int = 128,
    n_best: int = 20,
    max_answer_length: int = 30,
    top_k: int = 1,
    batch_size: int = 16,
    max_question_length: int = 64,
) -> list[dict]:
    """Answer each question from its context: windows → logits → :func:`postprocess_predictions`.

    Every result has ``skipped``: None, or why the row could not be answered (it then has the
    empty answer); one such row never stops the others.
    """
    import torch

    features, stats = prepare_eval_features(tokenizer, questions, contexts, max_length, stride,
                                            max_question_length)
    model.eval()

    def run(batch: dict) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            out = model(**tokenizer.pad(batch, return_tensors="pt").to(model.device))
        return out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()

    return answer_windows(features, stats, contexts, run, batch_size, n_best, max_answer_length, top_k)


class QuestionAnswerer:
    """An extractive QA model ready to answer (in memory or loaded from an export).

    Yes/no questions (:func:`is_yes_no_question`) get ``yes_no_answer`` when it is set
    (the training notebook stores its :class:`YesNoPrior` in the export), otherwise the span.
    """

    KIND = "extractive"
    """What kind of reader this is for ``open_book_qa`` (it answers with spans of the context)."""

    def __init__(self, model, tokenizer, max_length: int = 384, stride: int = 128, n_best: int = 20,
                 max_answer_length: int = 30, yes_no_answer: str | None = None, batch_size: int = 16,
                 max_question_length: int = 64, yes_no_reader: dict | YesNoReader | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.settings = {"max_length": max_length, "stride": stride, "n_best": n_best,
                         "max_answer_length": max_answer_length, "batch_size": batch_size,
                         "max_question_length": max_question_length}
        self.yes_no_answer = yes_no_answer
        self.yes_no = yes_no_decider(yes_no_answer, yes_no_reader)

    @classmethod
    def from_export(cls, path, unpack_to=None, backend: str = "pytorch", **overrides):
        """Load an export folder, its ``OUTPUT_DIR`` or tarball; settings come from ``export-info.json``.

        ``backend``: ``"pytorch"``, ``"onnx"`` or ``"onnx-int8"`` (see :mod:`helpers.core.onnx`).
        """
        from transformers import AutoModelForQuestionAnswering


        model, tokenizer, folder = load_export(path, AutoModelForQuestionAnswering, unpack_to, backend)
        info = require_family(folder, FAMILY, "question-answering-training.ipynb").get(SETTINGS_KEY, {})
        return cls(model, tokenizer, **{**info, **overrides})

    def answer(self, questions: Sequence[str], contexts: Sequence[str], top_k: int = 1) -> list[dict]:
        """One dict per question (see :func:`postprocess_predictions`), plus ``kind`` and ``skipped``
        (:func:`decide_answer`)."""
        out = predict_answers(self.model, self.tokenizer, questions, contexts, top_k=top_k,
                              **self.settings)
        return [decide_answer(q, r, self.yes_no, c) for q, r, c in zip(questions, out, contexts, strict=True)]

    def read(self, questions: Sequence[str], contexts: Sequence[str]) -> list[dict]:
        """The reader interface of ``open_book_qa`` (shared with the generative reader): one dict per
        question with ``answer``, ``kind`` (``"span"``, ``"yes/no"`` or ``"skipped"``) and ``start``, the
        answer's character offset in its context (-1 when it is not a span)."""
        return self.answer(questions, contexts)

    def answer_csv(self, input_csv, output_csv, chunk_size: int = 500, progress: bool = True,
                   n_preview: int = 10) -> dict:
        """Answer a CSV of any size (``question`` and ``context`` columns) into a new CSV, chunk by chunk.

        Adds ``predicted``, ``kind``, ``probability`` and ``problem`` to every row, keeping the other
        columns (see :func:`helpers.core.streaming.stream_csv`). Only running scores stay in memory.
        A row that cannot be answered (say, an empty context) gets kind ``skipped`` and its reason in
        ``problem``; the other rows go on.

        Returns:
            ``{"output_csv", "rows", "seconds", "preview" (the first rows), "gold", "skipped"}``;
            ``gold`` is ``{"exact_match", "f1", "n"}`` against the ``answer`` column (and
            ``other_answers``, :func:`helpers.core.tasks.gold_answers`), or None; ``skipped`` maps
            the data row number (from 1, header excluded) of each skipped row to its reason.
        """
        def score(chunk: pd.DataFrame) -> pd.DataFrame:
            out = self.answer(chunk["question"].tolist(), chunk["context"].tolist())
            return chunk.assign(predicted=[a["answer"] for a in out], kind=[a["kind"] for a in out],
                                probability=[round(a["probability"], 4) for a in out],
                                problem=[a["skipped"] or "" for a in out])

        run = StreamedCsv(input_csv, output_csv, score, ["question", "context"], chunk_size, progress,
                          n_preview)
        em, f1, skipped = 0.0, 0.0, {}
        for chunk in run:
            # Chunks keep the file's row index: data row = index + 1.
            skipped |= {int(i) + 1: p for i, p in chunk["problem"].items() if p}
            if "answer" in chunk:
                scores = squad_scores(chunk["predicted"], gold_answers(chunk))
                em, f1 = em + scores["exact_match"] * len(chunk), f1 + scores["f1"] * len(chunk)
        n = run.rows
        gold = {"exact_match": em / n, "f1": f1 / n, "n": n} if run.has("answer") else None
        return run.summary(gold=gold, skipped=skipped)

    def answer_one(self, question: str, context: str, top_k: int = 5) -> pd.DataFrame:
        """The ``top_k`` answers for one question, with score, probability and character span."""
        result = self.answer([question], [context], top_k=top_k)[0]
        if result["kind"] == "yes/no":
            return pd.DataFrame([{"answer": result["answer"], "kind": "yes/no"}])
        if result["kind"] == "skipped":
            return pd.DataFrame([{"answer": "", "kind": "skipped", "problem": result["skipped"]}])
        return pd.DataFrame(result["candidates"], columns=["answer", "probability", "score", "start", "end"])


# ---------------------------------------------------------------------------------------
# Data checks, evaluation tables, hub datasets
# ---------------------------------------------------------------------------------------


def auto_class():
    """The transformers auto class of this family (for loading exports)."""
    from transformers import AutoModelForQuestionAnswering

    return AutoModelForQuestionAnswering


def answer_status_table(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """How the answers of each split were located (``answer_status`` from :func:`locate_answers`)."""
    table = pd.DataFrame({"train": train["answer_status"].value_counts(),
                          "test": test["answer_status"].value_counts()}).fillna(0).astype(int)
    order = ["given", "found", "found-case", "repaired", "yes/no", "not-found", "empty"]
    table = table.reindex([s for s in order if s in table.index])
    table.loc["total"] = table.sum()
    return table


def window_report(tokenizer, frame: pd.DataFrame, max_length: int, stride: int,
                  max_question_length: int = 64) -> dict:
    """Context lengths in tokens and how many windows the examples of ``frame`` need."""
    _, stats = prepare_eval_features(tokenizer, frame["question"].tolist(), frame["context"].tolist(),
                                     max_length, stride, max_question_length)
    encoded = tokenizer(frame["context"].tolist(), add_special_tokens=False)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    return {**{k: v for k, v in stats.as_dict().items() if "answer" not in k and "labelled" not in k},
            "context_tokens_p50": float(np.percentile(lengths, 50)),
            "context_tokens_max": int(max(lengths)), "context_tokens": lengths}


def evaluate_answers(predictions: Sequence[dict], frame: pd.DataFrame,
                     yes_no_answer: str | YesNoReader | None) -> Evaluation:
    """Score predictions against the gold answers of ``frame``, answering as deployment does.

    Each prediction goes through :func:`decide_answer`, which looks at the question only. Every
    gold answer counts (``answer`` and ``other_answers``, :func:`helpers.core.tasks.gold_answers`):
    the best match is kept, as in the SQuAD script. Rows are *reported* in groups by their gold
    answer, ``"yes/no"`` when it is yes or no and ``"span"`` otherwise; the group never changes
    what was predicted.

    Returns:
        An :class:`~helpers.core.evaluation.Evaluation`: ``scores`` EM and F1 over all questions,
        over span questions (``span_exact_match``, ``span_f1``) and the yes/no accuracy, each where
        there are such questions; ``groups`` ``{"span" | "yes/no" | "all": {exact_match, f1, n}}``;
        ``predictions`` (question, answer, predicted, kind: how it was answered, gold_kind,
        probability, f1); ``details["skipped"]``: rows that could not be answered, by position.
    """
    rows, skipped = [], {}
    golds = gold_answers(frame)
    rows_in = zip(frame["question"], frame["context"], golds, predictions, strict=True)
    for i, (q, c, gold, p) in enumerate(rows_in):
        decided = decide_answer(q, p, yes_no_answer, c)
        if decided["kind"] == "skipped":
            skipped[i] = decided["skipped"]
        probability = None if decided["kind"] == "yes/no" else round(decided["probability"], 4)
        rows.append({"question": q, "answer": gold[0], "predicted": decided["answer"],
                     "kind": decided["kind"], "gold_kind": "yes/no" if gold[0].lower() in YES_NO else "span",
                     "probability": probability})
    table = pd.DataFrame(rows)
    per = squad_scores(table["predicted"], golds)["per_example"]
    table["f1"] = [round(x["f1"], 3) for x in per]
    by_group = squad_scores_by_group(table["predicted"], golds, table["gold_kind"])
    groups = {g: {"exact_match": float(r["exact_match"]), "f1": float(r["f1"]), "n": int(r["n"])}
              for g, r in by_group.iterrows()}
    scores = {"exact_match": groups["all"]["exact_match"], "f1": groups["all"]["f1"]}
    if "span" in groups:
        scores |= {"span_exact_match": groups["span"]["exact_match"], "span_f1": groups["span"]["f1"]}
    if "yes/no" in groups:
        scores |= {"yes_no_accuracy": groups["yes/no"]["exact_match"]}
    return Evaluation(scores=scores, predictions=table, groups=groups, details={"skipped": skipped})


def evaluate_model(model, tokenizer, frame: pd.DataFrame, yes_no_answer: str | YesNoReader | None,
                   settings: dict) -> Evaluation:
    """:func:`predict_answers` on ``frame`` then :func:`evaluate_answers`."""
    preds = predict_answers(model, tokenizer, frame["question"].tolist(), frame["context"].tolist(),
                            **settings)
    return evaluate_answers(preds, frame, yes_no_answer)


def frame_from_squad_records(records) -> pd.DataFrame:
    """``question, answer, context, answer_start, other_answers`` from SQuAD-format records.

    ``answer`` and ``answer_start`` are the first gold answer's (the one training uses); every
    other distinct gold answer goes to ``other_answers`` as a JSON list, so that scoring takes the
    best match over all of them, as the official SQuAD script does.
    """
    rows = []
    for r in records:
        answers = r["answers"]
        texts = [t.strip() for t in answers["text"]]
        text = texts[0] if texts else ""
        start = answers["answer_start"][0] if answers["answer_start"] else -1
        others = list(dict.fromkeys(t for t in texts[1:] if t and t != text))
        rows.append({"question": r["question"].strip(), "answer": text, "context": r["context"],
                     "answer_start": start, OTHER_ANSWERS: json.dumps(others) if others else ""})
    return pd.DataFrame(rows)


def load_hub_task(name: str, train_split: str, test_split: str):
    """A SQuAD-format hub dataset as a QA :class:`~helpers.core.tasks.Task` (needs ``datasets`` and network).

    The training contexts, de-duplicated, stand in for ``unstructured.csv``.
    """
    try:
        from datasets import load_dataset
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("HUB_DATASET needs the `datasets` package: pip install datasets") from err
    from pathlib import Path


    train = frame_from_squad_records(load_dataset(name, split=train_split))
    test = frame_from_squad_records(load_dataset(name, split=test_split))
    unstructured = pd.DataFrame({"context": train["context"].drop_duplicates().tolist()})
    return Task(name=name.replace("/", "-"), kind="qa", data_dir=Path("."),
                description=f"Hub dataset {name} ({train_split} / {test_split})", classes={},
                train=train, test=test, unstructured=unstructured)


def _yes_no_settings(yes_no_answer: str | YesNoReader | None) -> dict:
    if isinstance(yes_no_answer, YesNoReader):
        return {"yes_no_answer": yes_no_answer.prior, "yes_no_reader": yes_no_answer.to_dict()}
    return {"yes_no_answer": yes_no_answer}


def export_question_answering(model, tokenizer, output_dir, name: str, log_history: list[dict] | None = None,
                              settings: dict | None = None, yes_no_answer: str | YesNoReader | None = None,
                              info: dict | None = None) -> ExportPaths:
    """Export a trained QA model (:func:`helpers.core.export.export_model`) as this family.

    ``export-info.json`` carries the family, the task ``name`` and, under ``qa_settings``, the
    window and answer ``settings`` (keys of :data:`SETTINGS`) and the yes/no answer (the prior, and
    the :class:`~helpers.core.yes_no.YesNoReader`'s weights when ``yes_no_answer`` is one), which
    :meth:`QuestionAnswerer.from_export` reads back; then ``info``.

    Raises:
        ValueError: a setting that :class:`QuestionAnswerer` does not take.
    """
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"Unknown QA settings {unknown}. Fix: use only {', '.join(SETTINGS)}.")
    return export_model(model, tokenizer, output_dir, name, log_history, info={
        "family": FAMILY, "task": name, SETTINGS_KEY: {**settings, **_yes_no_settings(yes_no_answer)},
        **(info or {})})


# ---------------------------------------------------------------------------------------
# ONNX variants: this family's adapter to the quality gate
# ---------------------------------------------------------------------------------------


def variant_adapter(folder: str | Path, frame: pd.DataFrame, gate_frame: pd.DataFrame | None = None,
                    gate_source: str = "questions not in the test set") -> VariantAdapter:
    """Gate: exact match and F1 of the variant's answers against PyTorch's answers on ``gate_frame``
    (question, context; no answers needed). Only questions answered with a span are compared: a
    question the stored yes/no prior answers gets the same answer whatever the backend. A row that
    is also a test row (same question and context) is left out.

    Test scores, for information: exact match and F1 of the span answers on ``frame`` (question,
    context, answer).
    """
    questions, contexts = frame["question"].tolist(), frame["context"].tolist()
    pairs = [] if gate_frame is None else zip(gate_frame["question"], gate_frame["context"], strict=True)
    gate, gate_source = outside_test(pairs, zip(questions, contexts, strict=True),
                                     gate_source + " answered with a span")

    def load(backend):
        return QuestionAnswerer.from_export(folder, backend=backend)

    def score(a):
        # Span questions only: yes/no questions get the stored answer whatever the backend.
        result = evaluate_answers(a.answer(questions, contexts), frame, a.yes_no)
        group = "span" if "span" in result.groups else "all"
        scores = points(result.groups[group], ("exact_match", "f1"), 1)
        scores = {f"{group}_{k}": v for k, v in scores.items()}
        return scores, result.predictions["predicted"].tolist()

    def run_gate(a):
        out = a.answer([q for q, _ in gate], [c for _, c in gate])
        return [r["answer"] for r in out if r["kind"] == "span"]

    def model_and_tokenizer():
        model, tokenizer, _ = load_export(folder, auto_class())
        return model, tokenizer, QuestionAnswerer.from_export(folder).settings["max_length"]

    return VariantAdapter(QUESTION_ANSWERING, Path(folder), load, score,
                          lambda a, i: a.answer([questions[i]], [contexts[i]]), len(frame),
                          model_and_tokenizer, "batches of 16 windows", gate=run_gate if gate else None,
                          agreement=answer_agreement, gate_source=gate_source)


def export_qa_variants(folder, frame: pd.DataFrame, max_drop: float = DEFAULT_MAX_DROP, tarball=None,
                       backends=None, gate_frame: pd.DataFrame | None = None,
                       gate_source: str = "questions not in the test set") -> pd.DataFrame:
    """ONNX and int8 variants of an extractive QA export, gated on ``gate_frame`` and scored on ``frame``.

    A variant is recommended iff the exact match and F1 of its answers against PyTorch's answers on
    ``gate_frame`` (question and context pairs that are not test rows, such as the training and
    synthetic questions; no answers needed) are both at least ``100 - max_drop``. Span EM and F1
    on ``frame`` (the test set) are reported beside it, for information. Without ``gate_frame``
    nothing is decided (``recommended`` None).
    """
    adapter = variant_adapter(folder, frame, gate_frame, gate_source)
    return export_variants(folder, adapter, max_drop, backends, tarball)

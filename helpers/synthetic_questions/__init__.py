"""Synthetic extractive-QA training questions from unlabelled contexts, by cloze translation.

After Lewis et al. (2019), "Unsupervised Question Answering by Cloze Translation": pick an
answer span in a sentence (a date, a number or a capitalised name), cut the sentence down to
the clause that holds it, replace the span by a wh-word chosen from the kind of answer and
move that wh-phrase to the front, inverting subject and verb when a simple rule applies and
falling back to the identity mapping ("wh-word + the rest of the clause") when none does.

Everything is plain Python and regular expressions, deterministic under a seed: no tagger,
no parser, no model. The rules aim for precision over recall; a candidate that looks doubtful
is dropped rather than turned into a misleading question.

The contexts this is written for are titled paragraphs, in any of the layouts
:func:`helpers.core.text.split_paragraphs` reads (titles on their own lines with blank lines
between documents, as scraped Wikipedia text comes, or ``"Title One: text. Title Two: text."``
on one line). It finds the titles so that no sentence starts with one, and the titles seed the
sets of known people and names.

The modules, from the bottom up:

- ``lexicon``: the word lists, the regexes the parts share, the tokenizer and the verb-form
  tests (the lists the splitter needs too live in :mod:`helpers.core.text`);
- ``candidates``: answer spans in a sentence (:func:`find_answer_candidates`, :class:`Candidate`);
- ``rewriting``: a sentence and an answer span to a question (:func:`cloze_to_question`);
- ``comparison``: questions that compare two paragraphs' dated facts ("Who was born first, A or B?"),
  and the yes/no comparisons the yes/no reader learns from (:func:`~.comparison.yes_no_examples`);
- ``bridge``: a question about one paragraph's subject named through another ("Where was the
  director of Isle of Larks born?");
- ``generation``: the filters (:func:`question_rejection_reason`, :func:`normalise_question`), the
  tidying (:func:`tidy_question`, :func:`resolve_pronoun`) and the run over contexts
  (:func:`generate_questions`, :func:`generate_with_dropped`, :func:`describe_generation`).

Paragraph and sentence splitting (``Paragraph``, ``split_paragraphs``, ``split_sentences``)
is in :mod:`helpers.core.text`, where every family can use it.

Typical use::

    df = generate_questions(unstructured["context"], max_per_context=3, seed=0)
    describe_generation(df, n_contexts=len(unstructured))
"""

from __future__ import annotations

from helpers.synthetic_questions.candidates import Candidate, find_answer_candidates
from helpers.synthetic_questions.generation import (
    COLUMNS,
    DROPPED_COLUMNS,
    KINDS,
    REASONS,
    describe_generation,
    dropped_examples,
    generate_questions,
    generate_with_dropped,
    normalise_question,
    question_rejection_reason,
    resolve_pronoun,
    tidy_question,
)
from helpers.synthetic_questions.rewriting import cloze_to_question

__all__ = [
    "COLUMNS",
    "DROPPED_COLUMNS",
    "KINDS",
    "REASONS",
    "Candidate",
    "cloze_to_question",
    "describe_generation",
    "dropped_examples",
    "find_answer_candidates",
    "generate_questions",
    "generate_with_dropped",
    "normalise_question",
    "question_rejection_reason",
    "resolve_pronoun",
    "tidy_question",
]

"""Text utilities every family may use: yes/no questions (and, below, sentence and paragraph splitting)."""

from __future__ import annotations

import re

YES_NO = {"yes", "no"}
"""Answers a span model cannot point at: they are answered apart (see ``question_answering.YesNoPrior``)."""

YES_NO_START = re.compile(
    r"^\s*(is|are|was|were|do|does|did|can|could|has|have|had|will|would|should)\b", re.IGNORECASE
)


def is_yes_no_question(question: str) -> bool:
    """A question that opens with an auxiliary verb ("Were both ...", "Does X ...") expects yes/no.

    A span model cannot point at "yes" or "no" (they are rarely in the context), so such
    questions are answered apart: see ``question_answering.YesNoPrior``.
    """
    return bool(YES_NO_START.match(question))

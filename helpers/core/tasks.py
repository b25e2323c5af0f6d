"""Load and validate a task folder (the distil labs folder format).

A task folder holds ``job_description.json``, ``train.csv``, ``test.csv`` and
``unstructured.csv``. Every rejection raises :class:`TaskDataError` with a
message that names the file, the row (when there is one) and the fix. Nothing
is dropped silently: a problem either stops loading or is reported in
``Task.warnings``.

Row numbers in messages count data rows from 1, the header not included, which
is the row number a spreadsheet shows minus one.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

TASK_FILES = ("job_description.json", "train.csv", "test.csv", "unstructured.csv")

# Columns each kind of task expects, per file.
COLUMNS = {
    "classification": {"labelled": ("question", "answer"), "unstructured": ("context",)},
    "qa": {"labelled": ("question", "answer", "context"), "unstructured": ("context",),
           # The character offset of the answer in its context, where the data has it, and further
           # acceptable answers (scored as SQuAD does: the best match over all of them counts).
           "optional": ("answer_start", "other_answers")},
}
OTHER_ANSWERS = "other_answers"
"""Optional QA column: further acceptable answers, ``A|B`` or a JSON list ``["A|B", "C"]``."""


class TaskDataError(ValueError):
    """A task folder that cannot be used as it is; the message says where and how to fix it."""


@dataclass
class Task:
    """A validated task folder.

    Attributes:
        name: Folder name without a leading ``data-`` (``banking-routing``).
        kind: ``"classification"`` or ``"qa"``.
        data_dir: Absolute path of the folder.
        description: The task description from ``job_description.json``.
        classes: Label -> description, in the order of the job description (empty for QA).
        train: Labelled training rows (``question``, ``answer`` [, ``context``]).
        test: Labelled test rows, same columns.
        unstructured: Unlabelled texts or documents (``context``).
        warnings: Problems worth knowing that did not stop loading.
    """

    name: str
    kind: str
    data_dir: Path
    description: str
    classes: dict[str, str]
    train: pd.DataFrame
    test: pd.DataFrame
    unstructured: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """Class labels in a fixed order (the job description's)."""
        return list(self.classes)

    def summary(self) -> pd.DataFrame:
        """Rows per file and, for classification, per class."""
        if self.kind != "classification":
            return pd.DataFrame(
                {"rows": [len(self.train), len(self.test), len(self.unstructured)]},
                index=["train", "test", "unstructured"],
            )
        counts = pd.DataFrame(
            {
                "train": self.train["answer"].value_counts(),
                "test": self.test["answer"].value_counts(),
            }
        ).reindex(self.labels).fillna(0).astype(int)
        counts.loc["total"] = counts.sum()
        return counts

    def sample(
        self,
        max_train: int | None = None,
        max_test: int | None = None,
        max_unstructured: int | None = None,
        seed: int = 0,
    ) -> Task:
        """A copy with at most this many rows per file (``None`` keeps every row).

        Labelled rows are drawn in turn from each class (for QA, at random), so any cap of
        at least the number of classes keeps every class; rows keep their original order.
        """
        by = "answer" if self.kind == "classification" else None
        return replace(
            self,
            train=_capped(self.train, max_train, by, seed),
            test=_capped(self.test, max_test, by, seed),
            unstructured=_capped(self.unstructured, max_unstructured, None, seed),
        )


def _capped(df: pd.DataFrame, cap: int | None, by: str | None, seed: int) -> pd.DataFrame:
    if cap is None or cap >= len(df):
        return df
    if cap < 1:
        raise ValueError(f"a sample cap must be at least 1 or None, got {cap}")
    shuffled = df.sample(frac=1.0, random_state=seed)
    if by is not None:
        # Round-robin over classes: the first pick of every class, then the second, ...
        rank = shuffled.groupby(by, sort=False).cumcount()
        shuffled = shuffled.assign(_rank=rank.values).sort_values("_rank", kind="stable")
        shuffled = shuffled.drop(columns="_rank")
    return shuffled.head(cap).sort_index()


def task_name(data_dir: str | Path) -> str:
    """``data-banking-routing`` -> ``banking-routing``; other folder names are kept."""
    name = Path(data_dir).resolve().name
    return name[len("data-"):] if name.startswith("data-") and len(name) > 5 else name


def load_task(data_dir: str | Path, kind: str = "classification") -> Task:
    """Load a task folder and validate it.

    Args:
        data_dir: The folder, relative to the current directory or absolute.
        kind: ``"classification"`` (columns ``question``, ``answer``) or ``"qa"``
            (``question``, ``answer``, ``context``).

    Returns:
        The validated :class:`Task`. Warnings (duplicates across train and test) are
        also issued with :func:`warnings.warn`.

    Raises:
        TaskDataError: with the file, row and fix, for any problem listed in the README's "Bring your
            own data".
    """
    if kind not in COLUMNS:
        raise ValueError(f"kind must be one of {sorted(COLUMNS)}, not {kind!r}")
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise TaskDataError(
            f"DATA_DIR {str(data_dir)!r} (resolved to {folder.resolve()}) is not a folder. "
            f"Fix: point DATA_DIR at a task folder holding {', '.join(TASK_FILES)}; "
            "relative paths are taken from the notebook's working directory."
        )
    folder = folder.resolve()
    missing = [f for f in TASK_FILES if not (folder / f).is_file()]
    if missing:
        raise TaskDataError(
            f"{folder} is missing {', '.join(missing)}. Fix: a task folder needs all of "
            f"{', '.join(TASK_FILES)} (see the README's 'Bring your own data')."
        )

    description, classes = _read_job_description(folder / "job_description.json", kind)
    cols = COLUMNS[kind]
    optional = cols.get("optional", ())
    train = read_task_csv(folder / "train.csv", cols["labelled"], optional)
    test = read_task_csv(folder / "test.csv", cols["labelled"], optional)
    for name, frame in (("train.csv", train), ("test.csv", test)):
        _check_answer_starts(folder / name, frame)
        _check_other_answers(folder / name, frame)
    unstructured = read_task_csv(folder / "unstructured.csv", cols["unstructured"])

    found: list[str] = []
    if kind == "classification":
        _check_labels(folder, train, test, classes)
        found += _unlabelled_test_texts(folder, test, unstructured)
    else:
        found += _unlabelled_test_contexts(folder, test, unstructured)
    found += _duplicates_across(folder, train, test)

    task = Task(
        name=task_name(folder),
        kind=kind,
        data_dir=folder,
        description=description,
        classes=classes,
        train=train,
        test=test,
        unstructured=unstructured,
        warnings=found,
    )
    for message in found:
        warnings.warn(message, stacklevel=2)
    return task


def read_task_csv(path: str | Path, columns: tuple[str, ...], optional: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read one CSV of a task folder as text, exactly as written, and check it.

    ``optional`` columns are kept when present (their cells may be blank) and never required.

    Every cell is read as a string (``"NA"`` or ``"None"`` stay text), leading and
    trailing white space is kept in the data but an all-blank cell counts as empty.

    Raises:
        TaskDataError: non-UTF-8 bytes, an empty file, missing or extra columns, empty cells.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise TaskDataError(
            f"{path}: not UTF-8 (byte {err.start}, line {line} of the file: "
            f"{raw[max(0, err.start - 20): err.start + 20]!r}). Fix: re-save the file as "
            "UTF-8 (in a spreadsheet: 'CSV UTF-8'; in Python: df.to_csv(path, encoding='utf-8'))."
        ) from None
    if not text.strip():
        raise TaskDataError(
            f"{path} is empty. Fix: write a header row ({','.join(columns)}) and at least one row."
        )
    try:
        df = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=True
        )
    except pd.errors.ParserError as err:
        raise TaskDataError(
            f"{path}: cannot be parsed as CSV ({err}). Fix: quote cells that contain commas, "
            "quotes or line breaks (spreadsheets and Python's csv module do this for you)."
        ) from None

    header = [str(c) for c in df.columns]
    stripped = [c.strip() for c in header]
    missing = [c for c in columns if c not in stripped]
    extra = [c for c, s in zip(header, stripped, strict=True) if s not in columns and s not in optional]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        hint = ""
        if missing and extra:
            hint = f" (rename {extra[0]!r} to {missing[0]!r}?)"
        raise TaskDataError(
            f"{path}: {' and '.join(parts)}; the header is {header}. "
            f"Fix: the header must be exactly {','.join(columns)}{hint}"
            + (f" (optionally also {', '.join(optional)})." if optional else ".")
        )
    df.columns = stripped
    df = df[list(columns) + [c for c in optional if c in stripped]]
    if df.empty:
        raise TaskDataError(
            f"{path} has a header but no rows. Fix: add at least one row under "
            f"{','.join(columns)}."
        )
    for col in columns:
        blank = df[col].str.strip() == ""
        if blank.any():
            rows = (blank[blank].index + 1).tolist()
            shown = ", ".join(map(str, rows[:10])) + (" ..." if len(rows) > 10 else "")
            raise TaskDataError(
                f"{path}, row {rows[0]}: column {col!r} is empty ({len(rows)} empty cell(s) "
                f"in {col!r}, rows {shown}; rows count from 1 after the header). "
                "Fix: fill the cell(s) or delete those rows."
            )
    return df.reset_index(drop=True)


def _check_answer_starts(path: Path, frame: pd.DataFrame) -> None:
    if "answer_start" not in frame:
        return
    bad = ~frame["answer_start"].str.strip().str.fullmatch(r"\d*")
    if bad.any():
        row = int(bad[bad].index[0]) + 1
        raise TaskDataError(
            f"{path}, row {row}: answer_start {frame['answer_start'][row - 1]!r} is not a character "
            "offset. Fix: a whole number >= 0 (where the answer starts in the context), or leave it "
            "blank to have the answer searched for."
        )


def parse_other_answers(cell: str) -> list[str]:
    """The answers of one ``other_answers`` cell: ``""`` → none, ``A|B`` → two, ``["A|B", "C"]``
    (a JSON list, for answers that hold a ``|``) → two.

    Raises:
        ValueError: a JSON list that does not parse or holds something else than text, or an
            empty answer (``A||B``).
    """
    cell = str(cell).strip()
    if not cell:
        return []
    if cell.startswith("["):
        try:
            answers = json.loads(cell)
        except json.JSONDecodeError as err:
            raise ValueError(f"{cell!r} starts like a JSON list but is not one ({err.msg})") from None
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise ValueError(f"{cell!r} is not a JSON list of texts")
    else:
        answers = cell.split("|")
    answers = [a.strip() for a in answers]
    if not all(answers):
        raise ValueError(f"{cell!r} holds an empty answer")
    return answers


def gold_answers(frame: pd.DataFrame) -> list[list[str]]:
    """Per row, every acceptable answer: ``answer`` first, then those of ``other_answers`` if the
    frame has that column. Scoring takes the best match over them, as the SQuAD script does."""
    others = frame[OTHER_ANSWERS] if OTHER_ANSWERS in frame else [""] * len(frame)
    out = []
    for answer, cell in zip(frame["answer"].astype(str), others, strict=True):
        blank = cell is None or (not isinstance(cell, str) and pd.isna(cell))
        extra = [] if blank else parse_other_answers(cell)
        out.append([answer.strip(), *(a for a in extra if a != answer.strip())])
    return out


def _check_other_answers(path: Path, frame: pd.DataFrame) -> None:
    if OTHER_ANSWERS not in frame:
        return
    for row, cell in enumerate(frame[OTHER_ANSWERS], start=1):
        try:
            parse_other_answers(cell)
        except ValueError as err:
            raise TaskDataError(
                f"{path}, row {row}: {OTHER_ANSWERS} {err}. Fix: separate the answers with '|' "
                '(Broncos|The Broncos), or write a JSON list (["A|B", "C"]) when an answer holds a '
                "'|'; leave the cell blank when there is only the answer."
            ) from None


def _read_job_description(path: Path, kind: str) -> tuple[str, dict[str, str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TaskDataError(f"{path}: not UTF-8. Fix: re-save the file as UTF-8.") from None
    if not text.strip():
        raise TaskDataError(
            f'{path} is empty. Fix: write {{"task_description": "...", '
            f'"classes_description": {{"label": "what it means", ...}}}}.'
        )
    try:
        job = json.loads(text)
    except json.JSONDecodeError as err:
        raise TaskDataError(
            f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}). "
            "Fix: check quotes and commas, e.g. with `python -m json.tool`."
        ) from None
    if not isinstance(job, dict):
        raise TaskDataError(f"{path}: expected a JSON object at the top level.")
    description = job.get("task_description")
    if not isinstance(description, str) or not description.strip():
        raise TaskDataError(
            f"{path}: 'task_description' is missing or empty. Fix: add a sentence or two "
            "saying what the model should do; the teacher and the prompts use it."
        )
    classes = job.get("classes_description") or {}
    if kind == "classification":
        if not isinstance(classes, dict) or len(classes) < 2:
            raise TaskDataError(
                f"{path}: 'classes_description' must map at least two labels to a description, "
                f"got {classes!r}. Fix: add one entry per label used in train.csv and test.csv."
            )
        empty = [label for label, d in classes.items() if not isinstance(d, str) or not d.strip()]
        if empty:
            raise TaskDataError(
                f"{path}: classes_description has no description for {empty}. "
                "Fix: describe each class in a sentence; the teacher learns from it."
            )
    return description.strip(), {str(k): str(v) for k, v in dict(classes).items()}


def _check_labels(folder: Path, train: pd.DataFrame, test: pd.DataFrame, classes: dict) -> None:
    known = set(classes)
    for name, df in (("train.csv", train), ("test.csv", test)):
        unknown = ~df["answer"].isin(known)
        if unknown.any():
            row = int(unknown.idxmax()) + 1
            label = df.loc[row - 1, "answer"]
            n = int(unknown.sum())
            close = _closest(label, known)
            raise TaskDataError(
                f"{folder / name}, row {row}: label {label!r} is not in job_description.json "
                f"({n} row(s) with unknown labels: {sorted(set(df.loc[unknown, 'answer']))[:5]}). "
                f"Known labels: {sorted(known)}. Fix: correct the label"
                + (f" (did you mean {close!r}?)" if close else "")
                + " or add it to classes_description."
            )
    unseen = sorted(set(test["answer"]) - set(train["answer"]))
    if unseen:
        row = int(test.index[test["answer"] == unseen[0]][0]) + 1
        raise TaskDataError(
            f"{folder / 'test.csv'}, row {row}: label {unseen[0]!r} never occurs in train.csv "
            f"(test labels missing from train: {unseen}). Fix: add labelled examples of it to "
            "train.csv; a class the student never saw cannot be learnt or fairly tested."
        )


def _closest(label: str, known: set[str]) -> str | None:
    key = re.sub(r"[^a-z0-9]", "", label.lower())
    for candidate in sorted(known):
        if re.sub(r"[^a-z0-9]", "", candidate.lower()) == key:
            return candidate
    return None


def _duplicates_across(folder: Path, train: pd.DataFrame, test: pd.DataFrame) -> list[str]:
    def key(df: pd.DataFrame) -> pd.Series:
        text = df["question"] + ("\x00" + df["context"] if "context" in df else "")
        return text.str.strip().str.lower()

    train_keys = set(key(train))
    dup = key(test).isin(train_keys)
    if not dup.any():
        return []
    rows = (dup[dup].index + 1).tolist()
    return [
        f"{folder / 'test.csv'}: {len(rows)} row(s) also appear in train.csv (rows {rows[:10]}); "
        "test scores will be optimistic. Fix: remove them from one of the two files."
    ]


def _unlabelled_test_texts(folder: Path, test: pd.DataFrame, unstructured: pd.DataFrame) -> list:
    test_keys = set(test["question"].str.strip().str.lower())
    leak = unstructured["context"].str.strip().str.lower().isin(test_keys)
    return _leak_warning(folder, leak, "repeat a text of test.csv",
                         "the student would be trained on test texts.")


def _unlabelled_test_contexts(folder: Path, test: pd.DataFrame, unstructured: pd.DataFrame) -> list:
    """QA: documents of ``unstructured.csv`` that are test contexts, or hold one whole."""
    test_contexts = {c for c in test["context"].str.strip().str.lower() if c}
    # Containment only for passages long enough not to occur by chance (not "Paris").
    long_contexts = [c for c in test_contexts if len(c) >= 100]
    documents = unstructured["context"].str.strip().str.lower()
    leak = documents.map(lambda d: d in test_contexts or any(c in d for c in long_contexts))
    return _leak_warning(folder, leak, "hold a context of test.csv",
                         "synthetic questions written from them would train the student on test "
                         "contexts and make test scores optimistic.")


def _leak_warning(folder: Path, leak: pd.Series, what: str, why: str) -> list[str]:
    """The warning for the rows of ``unstructured.csv`` flagged in ``leak`` (none if there are none)."""
    if not leak.any():
        return []
    rows = (leak[leak].index + 1).tolist()
    return [f"{folder / 'unstructured.csv'}: {len(rows)} row(s) {what} (rows {rows[:10]}); {why} "
            "Fix: remove them from unstructured.csv."]

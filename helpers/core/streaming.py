"""Score a CSV of any size chunk by chunk, with a progress bar, without holding it in memory.

:func:`stream_csv` reads ``chunk_size`` rows at a time, hands each chunk to a scoring function,
appends the scored chunk to the output CSV and yields it, so the caller keeps only what it
aggregates (counts, a few rows to review, running scores). The output is written to
``<output>.partial`` and renamed when the last row is done: a run that stops half-way never
leaves a file that looks complete. Every input column is kept, in its order, as text.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from helpers.core.tasks import TaskDataError


def count_rows(path: str | Path) -> int:
    """Data rows of a CSV (the header excluded; quoted line breaks counted as one row)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return max(sum(1 for _ in csv.reader(fh)) - 1, 0)


class ProgressBar:
    """A text progress bar for rows, printed at most every ``every`` seconds and once at the end.

    Plain lines rather than a widget, so that it reads the same in JupyterLab, Colab, a
    terminal and a papermill log.
    """

    def __init__(self, total: int, label: str = "rows", every: float = 5.0, width: int = 30, stream=None):
        self.total, self.label, self.every, self.width = total, label, every, width
        self.stream = stream or sys.stdout
        self.done = 0
        self.start = time.perf_counter()
        self._last = -float("inf")

    def line(self) -> str:
        seconds = max(time.perf_counter() - self.start, 1e-9)
        share = self.done / self.total if self.total else 1.0
        filled = int(round(share * self.width))
        rate = self.done / seconds
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%} {self.done:,}/{self.total:,} "
                f"{self.label} · {rate:,.0f} {self.label}/s · {seconds:,.0f} s elapsed, ~{left:,.0f} s left")

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self._last >= self.every or self.done >= self.total:
            print(self.line(), file=self.stream, flush=True)
            self._last = now


def stream_csv(
    input_csv: str | Path,
    output_csv: str | Path,
    score: Callable[[pd.DataFrame], pd.DataFrame],
    required: Sequence[str],
    chunk_size: int = 1000,
    progress: bool = True,
) -> Iterator[pd.DataFrame]:
    """Score ``input_csv`` into ``output_csv`` chunk by chunk; yield each scored chunk.

    Args:
        input_csv: The CSV to score (read as text; empty cells stay empty strings).
        output_csv: Where the input columns plus the scored ones go.
        score: Takes a chunk, returns it with the new columns (row order kept).
        required: Columns the input must have.
        chunk_size: Rows per chunk.
        progress: Print a progress bar.

    Raises:
        FileNotFoundError: ``input_csv`` does not exist.
        TaskDataError: the file is empty or has no rows, a required column is missing, or a
            chunk cannot be scored (the message gives the file, the rows and the cause).
    """
    input_csv, output_csv = Path(input_csv), Path(output_csv)
    if not input_csv.is_file():
        raise FileNotFoundError(f"{input_csv} does not exist. Fix: point INPUT_CSV at the CSV to score.")
    total = count_rows(input_csv)
    if total == 0:
        raise TaskDataError(f"{input_csv} has no data rows. Fix: a header line and at least one row "
                            "are needed.")
    output_csv.parent.mkdir(parents=True, exist_ok=True)
    partial = output_csv.with_name(output_csv.name + ".partial")
    bar = ProgressBar(total) if progress else None
    first_row = 1
    try:
        reader = pd.read_csv(input_csv, dtype=str, keep_default_na=False, chunksize=chunk_size)
        for n, chunk in enumerate(reader):
            missing = [c for c in required if c not in chunk.columns]
            if missing:
                raise TaskDataError(
                    f"{input_csv}: no column {', '.join(map(repr, missing))} "
                    f"(columns: {list(chunk.columns)}). "
                    "Fix: rename the column in the file, or pass the name of the column that holds it."
                )
            last_row = first_row + len(chunk) - 1
            try:
                scored = score(chunk)
            except (ValueError, KeyError) as err:
                raise TaskDataError(f"{input_csv}, data rows {first_row}-{last_row} "
                                    f"(chunk rows count from 0): {err}") from err
            scored.to_csv(partial, mode="w" if n == 0 else "a", header=n == 0, index=False)
            if bar:
                bar.update(len(chunk))
            first_row = last_row + 1
            yield scored
        os.replace(partial, output_csv)
    finally:
        if partial.exists():
            partial.unlink()


class StreamedCsv:
    """:func:`stream_csv` with the bookkeeping every family's ``*_csv`` method needs.

    Iterate over it to get the scored chunks (and keep running scores); meanwhile it counts the
    rows, keeps the first ``n_preview`` of them and times the whole run. :meth:`summary` then
    gives what those methods return: ``{"output_csv", "rows", "seconds", "preview", **extra}``.
    """

    def __init__(self, input_csv: str | Path, output_csv: str | Path,
                 score: Callable[[pd.DataFrame], pd.DataFrame], required: Sequence[str],
                 chunk_size: int = 1000, progress: bool = True, n_preview: int = 10):
        self.input_csv, self.output_csv = Path(input_csv), Path(output_csv)
        self.score, self.required = score, list(required)
        self.chunk_size, self.progress, self.n_preview = chunk_size, progress, n_preview
        self.rows, self.seconds, self.preview = 0, 0.0, None

    def __iter__(self) -> Iterator[pd.DataFrame]:
        start = time.perf_counter()
        for chunk in stream_csv(self.input_csv, self.output_csv, self.score, self.required,
                                self.chunk_size, self.progress):
            self.rows += len(chunk)
            if self.preview is None:
                self.preview = chunk.head(self.n_preview)
            elif len(self.preview) < self.n_preview:
                self.preview = pd.concat([self.preview, chunk.head(self.n_preview - len(self.preview))])
            yield chunk
        self.seconds = time.perf_counter() - start

    def has(self, column: str) -> bool:
        """Whether the file has ``column`` (known once a chunk was read), e.g. gold ``answer``s."""
        return self.preview is not None and column in self.preview

    def summary(self, **extra) -> dict:
        """``{"output_csv", "rows", "seconds", "preview"}`` of the finished run, then ``extra``."""
        return {"output_csv": self.output_csv, "rows": self.rows, "seconds": self.seconds,
                "preview": self.preview, **extra}

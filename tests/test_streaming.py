"""Chunked CSV scoring: every row once, in order, columns kept, clear errors, no half files."""

import pandas as pd
import pytest

from helpers.core.streaming import ProgressBar, StreamedCsv, count_rows, stream_csv
from helpers.core.tasks import TaskDataError


def upper(chunk):
    return chunk.assign(upper=chunk["text"].str.upper())


def write(path, rows, columns=("id", "text")):
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def test_streams_every_row_once_in_order_and_keeps_columns(tmp_path, capsys):
    rows = [[str(i), f"text {i}\nsecond line" if i == 3 else f"t{i}"] for i in range(7)]
    src = write(tmp_path / "in.csv", rows)
    assert count_rows(src) == 7  # the quoted line break is one row
    seen = [len(c) for c in stream_csv(src, tmp_path / "out.csv", upper, ["text"], chunk_size=3)]
    assert seen == [3, 3, 1]
    back = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert back["id"].tolist() == [str(i) for i in range(7)] and list(back.columns) == ["id", "text", "upper"]
    assert back["upper"][3] == "TEXT 3\nSECOND LINE"
    out = capsys.readouterr().out
    assert "100% 7/7 rows" in out and not (tmp_path / "out.csv.partial").exists()


def test_missing_column_empty_file_and_missing_file(tmp_path):
    src = write(tmp_path / "in.csv", [["1", "a"]])
    with pytest.raises(TaskDataError, match=r"in.csv: no column 'question' \(columns: \['id', 'text'\]\)"):
        list(stream_csv(src, tmp_path / "o.csv", upper, ["question"], progress=False))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(TaskDataError, match="empty.csv has no data rows"):
        list(stream_csv(tmp_path / "empty.csv", tmp_path / "o.csv", upper, ["text"], progress=False))
    (tmp_path / "header.csv").write_text("id,text\n")
    with pytest.raises(TaskDataError, match="header.csv has no data rows"):
        list(stream_csv(tmp_path / "header.csv", tmp_path / "o.csv", upper, ["text"], progress=False))
    with pytest.raises(FileNotFoundError, match="nope.csv does not exist"):
        list(stream_csv(tmp_path / "nope.csv", tmp_path / "o.csv", upper, ["text"], progress=False))
    assert not (tmp_path / "o.csv").exists()


def test_a_failing_chunk_names_its_rows_and_leaves_no_output(tmp_path):
    src = write(tmp_path / "in.csv", [[str(i), "" if i == 4 else "x"] for i in range(6)])

    def picky(chunk):
        if (chunk["text"] == "").any():
            raise ValueError("example 1 has an empty text")
        return chunk

    with pytest.raises(TaskDataError, match=r"in.csv, data rows 4-6 .*example 1 has an empty text"):
        list(stream_csv(src, tmp_path / "o.csv", picky, ["text"], chunk_size=3, progress=False))
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.csv.partial").exists()


def test_progress_bar_prints_at_most_every_interval_and_at_the_end(capsys):
    bar = ProgressBar(10, every=3600)
    for _ in range(5):
        bar.update(2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("[######") and "20% 2/10" in lines[0]
    assert lines[1].startswith("[" + "#" * 30 + "]") and "100% 10/10 rows" in lines[1]


def test_streamed_csv_counts_rows_keeps_the_first_ones_and_summarises(tmp_path):
    src = write(tmp_path / "in.csv", [[str(i), f"t{i}"] for i in range(7)])
    run = StreamedCsv(src, tmp_path / "out.csv", upper, ["text"], chunk_size=3, progress=False, n_preview=4)
    assert not run.has("text")  # nothing read yet
    # Chunks keep the file's row index, so a caller can name data rows (index + 1).
    assert [c.index.tolist() for c in run] == [[0, 1, 2], [3, 4, 5], [6]]
    summary = run.summary(gold=None)
    assert summary["rows"] == 7 and summary["output_csv"] == tmp_path / "out.csv" and summary["gold"] is None
    # The preview is the first rows of the file, across chunks.
    assert summary["preview"]["id"].tolist() == ["0", "1", "2", "3"] and summary["seconds"] > 0
    assert run.has("upper") and run.has("id") and not run.has("answer")

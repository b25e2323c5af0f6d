"""Task loading and validation: every rejection names the file, the row and the fix."""

from __future__ import annotations

import json
import re
import warnings

import pytest

from helpers.core.tasks import TaskDataError, gold_answers, load_task, task_name
from tests.conftest import REPO, TINY_TEST, TINY_TRAIN, make_classification_task, write_csv


def test_loads_a_valid_folder(tiny_task):
    task = load_task(tiny_task)
    assert task.name == "tiny"
    assert task.labels == ["weather", "cooking", "sport"]
    assert len(task.train) == 12 and len(task.test) == 6 and len(task.unstructured) == 9
    assert list(task.train.columns) == ["question", "answer"]
    summary = task.summary()
    assert summary.loc["weather", "train"] == 4 and summary.loc["total", "test"] == 6
    assert task.warnings == []


def test_relative_data_dir(tiny_task, monkeypatch):
    monkeypatch.chdir(tiny_task.parent)
    assert load_task("data-tiny").data_dir == tiny_task.resolve()


def test_text_is_kept_exactly(tmp_path):
    # "NA", "None" and "null" are texts, not missing values; nothing is lost.
    train = TINY_TRAIN + [["NA", "sport"], ["None", "weather"], ["null", "cooking"]]
    task = load_task(make_classification_task(tmp_path / "t", train=train))
    assert task.train["question"].tolist()[-3:] == ["NA", "None", "null"]


def test_missing_data_dir(tmp_path):
    with pytest.raises(TaskDataError, match=r"is not a folder.*Fix: point DATA_DIR"):
        load_task(tmp_path / "no-such-folder")


def test_missing_file(tiny_task):
    (tiny_task / "unstructured.csv").unlink()
    with pytest.raises(TaskDataError, match=r"missing unstructured\.csv.*Fix"):
        load_task(tiny_task)


def test_missing_answer_column(tiny_task):
    write_csv(tiny_task / "train.csv", ["question", "label"], TINY_TRAIN)
    with pytest.raises(TaskDataError) as err:
        load_task(tiny_task)
    msg = str(err.value)
    assert "train.csv" in msg and "missing column(s) ['answer']" in msg
    assert "unexpected column(s) ['label']" in msg and "rename 'label' to 'answer'" in msg


def test_extra_column(tiny_task):
    write_csv(tiny_task / "test.csv", ["question", "answer", "id"],
              [r + [str(i)] for i, r in enumerate(TINY_TEST)])
    with pytest.raises(TaskDataError, match=r"test\.csv: unexpected column\(s\) \['id'\]"):
        load_task(tiny_task)


def test_empty_csv(tiny_task):
    (tiny_task / "test.csv").write_bytes(b"")
    with pytest.raises(TaskDataError, match=r"test\.csv is empty\. Fix: write a header row"):
        load_task(tiny_task)


def test_header_only_csv(tiny_task):
    write_csv(tiny_task / "unstructured.csv", ["context"], [])
    with pytest.raises(TaskDataError, match=r"unstructured\.csv has a header but no rows"):
        load_task(tiny_task)


def test_empty_cell_names_row_and_column(tiny_task):
    rows = [r[:] for r in TINY_TRAIN]
    rows[4][0] = "   "
    write_csv(tiny_task / "train.csv", ["question", "answer"], rows)
    with pytest.raises(TaskDataError) as err:
        load_task(tiny_task)
    assert re.search(r"train\.csv, row 5: column 'question' is empty", str(err.value))
    assert "Fix: fill the cell" in str(err.value)


def test_non_utf8_file(tiny_task):
    (tiny_task / "train.csv").write_bytes(
        "question,answer\nCaf\u00e9 prices,cooking\n".encode("latin-1")
    )
    with pytest.raises(TaskDataError) as err:
        load_task(tiny_task)
    assert "train.csv: not UTF-8" in str(err.value) and "line 2" in str(err.value)
    assert "re-save the file as UTF-8" in str(err.value)


def test_utf8_with_bom_is_accepted(tiny_task):
    text = (tiny_task / "train.csv").read_text(encoding="utf-8")
    (tiny_task / "train.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert len(load_task(tiny_task).train) == len(TINY_TRAIN)


def test_unknown_label_in_train(tiny_task):
    rows = [r[:] for r in TINY_TRAIN]
    rows[2][1] = "Weather"
    write_csv(tiny_task / "train.csv", ["question", "answer"], rows)
    with pytest.raises(TaskDataError) as err:
        load_task(tiny_task)
    msg = str(err.value)
    assert "train.csv, row 3: label 'Weather' is not in job_description.json" in msg
    assert "did you mean 'weather'?" in msg


def test_test_label_absent_from_train_and_job_description(tiny_task):
    rows = TINY_TEST + [["The museum opens a new wing.", "culture"]]
    write_csv(tiny_task / "test.csv", ["question", "answer"], rows)
    with pytest.raises(TaskDataError, match=r"test\.csv, row 7: label 'culture' is not in job_desc"):
        load_task(tiny_task)


def test_test_label_never_seen_in_train(tmp_path):
    classes = {"a": "class a", "b": "class b", "c": "class c"}
    folder = make_classification_task(
        tmp_path / "t", classes=classes,
        train=[["x one", "a"], ["y one", "b"]],
        test=[["x two", "a"], ["z two", "c"]],
    )
    with pytest.raises(TaskDataError, match=r"test\.csv, row 2: label 'c' never occurs in train"):
        load_task(folder)


def test_bad_job_description(tiny_task):
    (tiny_task / "job_description.json").write_text("{'task_description': 1}", encoding="utf-8")
    with pytest.raises(TaskDataError, match=r"job_description\.json: not valid JSON \(line 1"):
        load_task(tiny_task)
    (tiny_task / "job_description.json").write_text(
        json.dumps({"task_description": "x", "classes_description": {"a": "A", "b": ""}}))
    with pytest.raises(TaskDataError, match=r"no description for \['b'\]"):
        load_task(tiny_task)


def test_duplicates_across_train_and_test_warn(tiny_task):
    rows = TINY_TEST + [[TINY_TRAIN[0][0].upper(), "weather"]]
    write_csv(tiny_task / "test.csv", ["question", "answer"], rows)
    with pytest.warns(UserWarning, match=r"1 row\(s\) also appear in train\.csv \(rows \[7\]\)"):
        task = load_task(tiny_task)
    assert len(task.test) == 7 and len(task.warnings) == 1


def test_qa_kind_requires_context(tmp_path):
    folder = tmp_path / "qa"
    folder.mkdir()
    (folder / "job_description.json").write_text(json.dumps({"task_description": "Answer."}))
    write_csv(folder / "train.csv", ["question", "answer"], [["Who?", "Ann"]])
    write_csv(folder / "test.csv", ["question", "answer", "context"], [["Who?", "Ann", "Ann."]])
    write_csv(folder / "unstructured.csv", ["context"], [["Ann went home."]])
    with pytest.raises(TaskDataError, match=r"train\.csv: missing column\(s\) \['context'\]"):
        load_task(folder, kind="qa")


def test_task_name():
    assert task_name("/x/data-banking-routing") == "banking-routing"
    assert task_name("/x/my-task") == "my-task"


QA_FOLDERS = ("data-hotpotqa", "data-hotpotqa-lines")


@pytest.mark.parametrize("folder", sorted(p.name for p in REPO.glob("data-*") if p.name not in QA_FOLDERS))
def test_shipped_classification_folders_are_valid(folder):
    task = load_task(REPO / folder)
    counts = task.summary()
    assert (counts.loc[task.labels, "train"] >= 6).all()
    assert (counts.loc[task.labels, "test"] >= 12).all()
    assert len(task.unstructured) >= 300
    assert task.warnings == []
    # No unlabelled text repeats a test text (that would leak the test set into training).
    assert not set(task.unstructured["context"].str.lower()) & set(task.test["question"].str.lower())
    assert (REPO / folder / "README.md").is_file()


def test_unlabelled_copies_of_test_texts_warn(tiny_task):
    write_csv(tiny_task / "unstructured.csv", ["context"], [["Fog at dawn."], [TINY_TEST[1][0]]])
    with pytest.warns(UserWarning, match=r"unstructured\.csv: 1 row\(s\) repeat a text of test"):
        load_task(tiny_task)


def test_sample_caps_keep_every_class_and_the_row_order(tiny_task):
    task = load_task(tiny_task)
    small = task.sample(max_train=5, max_test=3, max_unstructured=4, seed=1)
    assert len(small.train) == 5 and len(small.test) == 3 and len(small.unstructured) == 4
    # Round-robin draw: 5 rows over 3 classes keeps every class (2, 2, 1).
    assert sorted(small.train["answer"].value_counts().tolist()) == [1, 2, 2]
    assert set(small.test["answer"]) == set(task.labels)
    assert small.train.index.is_monotonic_increasing  # original order kept
    assert small.train.isin(task.train).all().all()
    # Same seed, same sample; None and large caps keep everything; the original is untouched.
    assert small.train.equals(task.sample(max_train=5, seed=1).train)
    assert task.sample(None, 100, None).test.equals(task.test) and len(task.train) == 12
    with pytest.raises(ValueError, match="at least 1"):
        task.sample(max_train=0)


def test_qa_answer_start_is_optional_and_checked(tiny_qa_task):
    import pandas as pd

    for name in ("train.csv", "test.csv"):
        df = pd.read_csv(tiny_qa_task / name, dtype=str, keep_default_na=False)
        df["answer_start"] = ""
        df.to_csv(tiny_qa_task / name, index=False)
    task = load_task(tiny_qa_task, kind="qa")
    assert list(task.train.columns) == ["question", "answer", "context", "answer_start"]
    df = pd.read_csv(tiny_qa_task / "train.csv", dtype=str, keep_default_na=False)
    df.loc[2, "answer_start"] = "twelve"
    df.to_csv(tiny_qa_task / "train.csv", index=False)
    with pytest.raises(TaskDataError, match=r"train\.csv, row 3: answer_start 'twelve' is not a character"):
        load_task(tiny_qa_task, kind="qa")


def test_qa_answer_column_missing_names_the_optional_one(tiny_qa_task):
    import pandas as pd

    df = pd.read_csv(tiny_qa_task / "test.csv", dtype=str).rename(columns={"answer": "label"})
    df.to_csv(tiny_qa_task / "test.csv", index=False)
    expected = r"missing column\(s\) \['answer'\].*optionally also answer_start"
    with pytest.raises(TaskDataError, match=expected):
        load_task(tiny_qa_task, kind="qa")


@pytest.mark.parametrize("column", ["answer", "context"])
def test_qa_empty_answer_or_context_names_the_row(tiny_qa_task, column):
    import pandas as pd

    df = pd.read_csv(tiny_qa_task / "train.csv", dtype=str, keep_default_na=False)
    df.loc[3, column] = "  "
    df.to_csv(tiny_qa_task / "train.csv", index=False)
    with pytest.raises(TaskDataError, match=rf"train\.csv, row 4: column '{column}' is empty.*Fix: fill"):
        load_task(tiny_qa_task, kind="qa")


@pytest.mark.parametrize("folder", QA_FOLDERS)
def test_shipped_qa_folders_are_valid_and_their_answers_are_located(folder):
    from helpers.question_answering import locate_answers

    task = load_task(REPO / folder, kind="qa")
    assert len(task.train) >= 40 and len(task.test) >= 60 and len(task.unstructured) >= 200
    assert task.warnings == [] and (REPO / folder / "README.md").is_file()
    for frame in (task.train, task.test):
        status = locate_answers(frame)["answer_status"].value_counts()
        # Every answer is a span of its context, except the yes/no ones (a few, not none).
        assert set(status.index) <= {"found", "yes/no"} and 1 <= status.get("yes/no", 0) <= 0.15 * len(frame)


def test_qa_unlabelled_copies_of_test_contexts_warn(tiny_qa_task):
    import pandas as pd

    from tests.conftest import QA_TEST

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fixture itself is clean
        load_task(tiny_qa_task, kind="qa")
    documents = pd.read_csv(tiny_qa_task / "unstructured.csv", dtype=str)["context"].tolist()
    # Row 2 is a test context itself; row 4 holds one inside a longer document.
    documents[1] = QA_TEST[0][2]
    documents[3] = "Notes from the archive. " + QA_TEST[1][2] + " More notes."
    write_csv(tiny_qa_task / "unstructured.csv", ["context"], [[d] for d in documents])
    with pytest.warns(UserWarning, match=r"unstructured\.csv: 2 row\(s\) hold a context of test\.csv "
                                         r"\(rows \[2, 4\]\); synthetic questions"):
        task = load_task(tiny_qa_task, kind="qa")
    assert len(task.warnings) == 1 and len(task.unstructured) == 4  # warned, nothing dropped


def test_qa_other_answers_are_optional_parsed_and_checked(tiny_qa_task):
    import pandas as pd

    df = pd.read_csv(tiny_qa_task / "test.csv", dtype=str, keep_default_na=False)
    df["other_answers"] = ["", "the Lune|River Lune", '["16|20", "sixteen-twenty"]', ""]
    df.to_csv(tiny_qa_task / "test.csv", index=False)
    task = load_task(tiny_qa_task, kind="qa")
    assert gold_answers(task.test) == [["Kessel"], ["Lune", "the Lune", "River Lune"],
                                       ["1620", "16|20", "sixteen-twenty"], ["no"]]
    assert gold_answers(task.train) == [[a] for a in task.train["answer"]]  # no column: the answer
    for bad, why in (("Lune||the Lune", "holds an empty answer"),
                     ('["Lune", 3]', "is not a JSON list of texts"),
                     ('["Lune"', "starts like a JSON list but is not one")):
        df.loc[1, "other_answers"] = bad
        df.to_csv(tiny_qa_task / "test.csv", index=False)
        with pytest.raises(TaskDataError, match=rf"test\.csv, row 2: other_answers .*{re.escape(why)}.*"
                                                r"Fix: separate the answers with '\|'"):
            load_task(tiny_qa_task, kind="qa")

"""Peak memory of serving without torch (helpers.serving), against the PyTorch helpers.

Each case runs in a fresh process, which reports its own peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and whether torch was imported:

- one input: import, load the export, predict one text (or answer one question);
- a CSV: import, load, score a CSV chunk by chunk (``score_csv`` / ``answer_csv``).

The classification CSV repeats the texts of ``data-banking-routing/unstructured.csv`` with a
varying suffix up to ``--rows`` rows; the QA CSV repeats the ``data-hotpotqa`` test questions with
their contexts up to ``--qa-rows``. The exports default to the training notebooks' outputs
(``outputs/classification-training/model``, ``outputs/question-answering-training/model``),
read only. Prints a Markdown table.

    python benchmarks/serving_memory.py                      # 100,000 classification rows
    python benchmarks/serving_memory.py --rows 10000 --pytorch-rows 2000 --qa-rows 200
    python benchmarks/serving_memory.py --classification DIR --backends onnx-int8 --lean-only --pytorch-rows 0
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    path, family, backend, helpers, csv_in, batch = sys.argv[1:7]
    kwargs = {"batch_size": int(batch)} if int(batch) else {}
    start = time.perf_counter()
    if helpers == "serving":
        from helpers import serving
        model = serving.load(path, backend=backend, **kwargs)
    elif family == "classification":
        from helpers.classification import TextClassifier
        model = TextClassifier.from_export(path, backend=backend)
    else:
        from helpers.question_answering import QuestionAnswerer
        model = QuestionAnswerer.from_export(path, backend=backend)
    loaded = time.perf_counter() - start
    rows = 1
    if csv_in == "-":
        if family == "classification":
            model.predict(["my card was declined twice today"])
        else:
            model.answer(["Who founded the company?"], ["The company was founded by Robert Bosch in 1886."])
    else:
        out = csv_in + f".{helpers}.{backend}.scored.csv"
        if family == "classification":
            rows = model.score_csv(csv_in, out, text_column="text", chunk_size=1000, progress=False)
            rows = rows["rows"] if isinstance(rows, dict) else rows.rows
        else:
            rows = model.answer_csv(csv_in, out, chunk_size=200, progress=False)["rows"]
    seconds = time.perf_counter() - start - loaded
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rows": rows,
                      "load_s": loaded, "seconds": seconds, "torch": "torch" in sys.modules}))
""")


def classification_csv(path: Path, rows: int) -> Path:
    with open(REPO / "data-banking-routing" / "unstructured.csv", newline="", encoding="utf-8") as fh:
        texts = [r["context"] for r in csv.DictReader(fh)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for i in range(rows):
            text = texts[i % len(texts)]
            # Vary the rows: every pass over the texts gets its own suffix, some passes none.
            suffix = "" if (i // len(texts)) % 3 == 0 else f" (ref {i // len(texts)})"
            writer.writerow([i, text + suffix])
    return path


def qa_csv(path: Path, rows: int) -> Path:
    with open(REPO / "data-hotpotqa" / "test.csv", newline="", encoding="utf-8") as fh:
        pairs = [(r["question"], r["context"]) for r in csv.DictReader(fh)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question", "context"])
        for i in range(rows):
            writer.writerow(pairs[i % len(pairs)])
    return path


def measure(path: Path, family: str, backend: str, helpers: str, csv_in: Path | None, batch: int) -> dict:
    argv = [str(path), family, backend, helpers, str(csv_in) if csv_in else "-", str(batch)]
    run = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    if run.returncode:
        raise RuntimeError(run.stderr[-3000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classification", type=Path,
                        default=REPO / "outputs" / "classification-training" / "model")
    parser.add_argument("--qa", type=Path, default=REPO / "outputs" / "question-answering-training" / "model")
    parser.add_argument("--rows", type=int, default=100_000, help="classification CSV rows, served")
    parser.add_argument("--pytorch-rows", type=int, default=10_000,
                        help="classification CSV rows through the PyTorch helpers (slower)")
    parser.add_argument("--qa-rows", type=int, default=500, help="QA CSV rows (1-3 windows a question)")
    parser.add_argument("--lean-batch", type=int, default=8, help="classification batch of the lean runs")
    parser.add_argument("--backends", nargs="+", default=["onnx", "onnx-int8", "onnx-int8-static"],
                        help="classification variants served (those the export has)")
    parser.add_argument("--lean-only", action="store_true",
                        help="score the big CSV at --lean-batch only, not also at the default batch")
    parser.add_argument("--lean-qa-batch", type=int, default=2, help="QA windows per batch of the lean runs")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="serving-memory-"))
    cases = []  # (family, backend, helpers, csv, batch size: 0 for the default)
    if args.classification.is_dir():
        big = classification_csv(work / "classification.csv", args.rows)
        small = (classification_csv(work / "classification-small.csv", args.pytorch_rows)
                 if args.pytorch_rows else None)
        served = [b for b in args.backends if (args.classification / b).is_dir()]
        for backend in served:
            cases += [("classification", backend, "serving", None, 0),
                      ("classification", backend, "serving", big, args.lean_batch)]
            if not args.lean_only:
                cases.append(("classification", backend, "serving", big, 0))
        for backend in ("pytorch", "onnx-int8") if args.pytorch_rows else ():
            cases += [("classification", backend, "pytorch", None, 0),
                      ("classification", backend, "pytorch", small, 0)]
    if args.qa.is_dir():
        questions = qa_csv(work / "qa.csv", args.qa_rows)
        for backend in ("onnx", "onnx-int8"):
            cases += [("question-answering", backend, "serving", None, 0),
                      ("question-answering", backend, "serving", questions, 0),
                      ("question-answering", backend, "serving", questions, args.lean_qa_batch)]
        cases += [("question-answering", "pytorch", "pytorch", None, 0),
                  ("question-answering", "pytorch", "pytorch", questions, 0)]

    print("| export | path | backend | batch | work | peak RSS | torch imported | load | rows/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for family, backend, helpers, csv_in, batch in cases:
        path = args.classification if family == "classification" else args.qa
        r = measure(path, family, backend, helpers, csv_in, batch)
        work_done = "one input" if csv_in is None else f"CSV, {r['rows']:,} rows"
        rate = "" if csv_in is None else f"{r['rows'] / r['seconds']:,.0f}"
        label = "helpers.serving" if helpers == "serving" else "PyTorch helpers"
        size = batch or ("32" if family == "classification" else "16 windows")
        print(f"| {family} | {label} | {backend} | {size} | {work_done} | {r['peak_mb']:,.0f} MB | "
              f"{'yes' if r['torch'] else 'no'} | {r['load_s']:.1f} s | {rate} |", flush=True)


if __name__ == "__main__":
    main()

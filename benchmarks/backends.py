"""Deployment backends side by side: eager PyTorch, ONNX Runtime, ONNX Runtime int8.

For each classification task folder (the four example tasks by default) this runs
``classification-training.ipynb`` on its defaults, which exports the distilled student with its
``onnx`` and ``onnx-int8`` variants, gates each on its agreement with PyTorch over the unlabelled
texts and scores it on the test set (for information). Then, for the first task's
model, each backend is measured in a fresh process of its own (so peak memory is its own):

* single-text latency p50/p95 for short texts (the test questions) and paragraph-long ones
  (consecutive test texts joined to at least ``--paragraph-words`` words), tokenization included;
* batched throughput (texts/s) at several batch sizes over the short texts;
* load time and peak resident memory.

It prints three tables (speed with ratios to eager PyTorch; accuracy and macro-F1 per task and
backend with the differences; training throughput of the default training run) and writes them
to ``outputs/benchmarks/backends/summary.md`` and ``summary.json``.

    python benchmarks/backends.py                        # train the four tasks, then measure
    python benchmarks/backends.py --reuse                # keep trainings already in --out
    python benchmarks/backends.py data-banking-routing   # one task (yours, say)

Targets on 2 CPU cores for the MiniLM classifier: one short text p50 <= 5 ms, >= 400 short
texts/s batched, int8 accuracy within 0.5 points of PyTorch on every task.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.classification_tasks import DEFAULT_TASKS  # noqa: E402

BACKENDS = ("pytorch", "onnx", "onnx-int8")
BATCH_SIZES = (1, 8, 32, 128)


def paragraphs(texts: list[str], words: int) -> list[str]:
    """Consecutive texts joined until each paragraph holds at least ``words`` words."""
    out, current = [], []
    for t in texts:
        current.append(t.strip().rstrip(".") + ".")
        if sum(len(c.split()) for c in current) >= words:
            out.append(" ".join(current))
            current = []
    return out


def measure(model_dir: str, backend: str, csv: str, paragraph_words: int, repeats: int) -> dict:
    """Everything measured for one backend, in this (fresh) process."""
    from helpers.classification import TextClassifier
    from helpers.core.timing import measure_latency, peak_memory_mb

    texts = pd.read_csv(csv, dtype=str, keep_default_na=False)["question"].tolist()
    long = paragraphs(texts, paragraph_words)
    start = time.perf_counter()
    classifier = TextClassifier.from_export(model_dir, backend=backend)
    load_s = time.perf_counter() - start
    one = classifier.predict_proba
    short = measure_latency(lambda t: one([t]), texts, repeats=repeats)
    para = measure_latency(lambda t: one([t]), long, repeats=max(repeats // 2, 10))
    # Throughput as batch scoring sees it: a chunk of texts, sorted by length inside
    # predict_proba (little padding), in batches of b.
    pool = (texts * (1024 // len(texts) + 1))[:1024]
    throughput = {}
    for b in BATCH_SIZES:
        classifier.batch_size = b
        one(pool[:b])
        start = time.perf_counter()
        one(pool)
        throughput[b] = len(pool) / (time.perf_counter() - start)
    tok = classifier.tokenizer
    return {
        "backend": backend, "load_s": load_s,
        "short_p50_ms": short["p50_ms"], "short_p95_ms": short["p95_ms"],
        "paragraph_p50_ms": para["p50_ms"], "paragraph_p95_ms": para["p95_ms"],
        "short_tokens_mean": sum(len(tok(t)["input_ids"]) for t in texts) / len(texts),
        "paragraph_tokens_mean": sum(min(len(tok(t)["input_ids"]), 256) for t in long) / len(long),
        **{f"texts_per_s_b{b}": v for b, v in throughput.items()},
        "peak_memory_mb": peak_memory_mb(),
    }


def stream(model_dir: str, backend: str, csv: str, rows: int) -> dict:
    """Score a CSV of ``rows`` rows (the test texts, cycled) chunk by chunk; rows/s and peak memory."""
    import tempfile

    from helpers.classification import TextClassifier
    from helpers.core.timing import peak_memory_mb

    texts = pd.read_csv(csv, dtype=str, keep_default_na=False)["question"]
    folder = Path(tempfile.mkdtemp(prefix="stream-"))
    big = folder / "big.csv"
    for start in range(0, rows, 10_000):
        n = min(10_000, rows - start)
        chunk = pd.DataFrame({"id": range(start, start + n), "question": [texts.iloc[i % len(texts)]
                                                                          for i in range(start, start + n)]})
        chunk.to_csv(big, mode="w" if start == 0 else "a", header=start == 0, index=False)
    classifier = TextClassifier.from_export(model_dir, backend=backend)
    before = peak_memory_mb()
    result = classifier.score_csv(big, folder / "scored.csv", progress=False)
    return {"backend": backend, "rows": result.rows, "rows_per_s": result.rows / result.seconds,
            "peak_before_mb": before, "peak_after_mb": peak_memory_mb(),
            "csv_mb": big.stat().st_size / 1e6}


def measure_in_subprocess(model_dir: Path, backend: str, csv: Path, args, stream_rows: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--measure", str(model_dir), backend, str(csv),
           "--paragraph-words", str(args.paragraph_words), "--repeats", str(args.repeats)]
    if stream_rows:
        cmd = [sys.executable, __file__, "--stream", str(model_dir), backend, str(csv), str(stream_rows)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if done.returncode:
        raise RuntimeError(f"measuring {backend} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def train(folder: str, out: Path, reuse: bool, extra: dict) -> dict:
    from helpers.core.notebook import execute_notebook

    data_dir = Path(folder) if Path(folder).is_absolute() else REPO / folder
    target = out / data_dir.name
    metrics = target / "training" / "metrics.json"
    if not (reuse and metrics.is_file()):
        target.mkdir(parents=True, exist_ok=True)
        execute_notebook("classification-training", target / "classification-training.ipynb",
                         {"DATA_DIR": str(data_dir), "OUTPUT_DIR": str(target / "training"),
                          "EXPORT_ONNX": True, **extra})
    m = json.loads(metrics.read_text())
    logs = json.loads((target / "training" / "model" / "training-logs.json").read_text())
    final = next((r for r in reversed(logs) if "train_samples_per_second" in r), {})
    return {"task": m["task"], "data_dir": data_dir, "model_dir": target / "training" / "model",
            "variants": m["variants"], "train_wall_s": sum(m["seconds"].values()),
            "distill_s": m["seconds"].get("student-distilled"),
            "train_texts_per_s": final.get("train_samples_per_second"),
            "train_examples": m["examples"]["train"] + m["examples"]["pseudo_labelled"]}


def markdown(table: pd.DataFrame, index: bool = True) -> str:
    """A pipe table (no extra dependency)."""
    frame = table.reset_index() if index else table
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def speed_table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows).set_index("backend")
    base = table.loc["pytorch"]
    table["short p50 speed-up"] = base["short_p50_ms"] / table["short_p50_ms"]
    table["b32 throughput ratio"] = table["texts_per_s_b32"] / base["texts_per_s_b32"]
    return table.round(2)


def batch_one_int8(t: dict) -> tuple[float, float]:
    """int8 accuracy and agreement with PyTorch when every text is its own batch (as single requests are)."""
    import numpy as np

    from helpers.classification import TextClassifier

    test = pd.read_csv(t["data_dir"] / "test.csv", dtype=str, keep_default_na=False)
    reference = TextClassifier.from_export(t["model_dir"]).predict(test["question"].tolist())["label"]
    int8 = TextClassifier.from_export(t["model_dir"], backend="onnx-int8", batch_size=1)
    predicted = int8.predict(test["question"].tolist())["label"]
    return 100 * float(np.mean(predicted == test["answer"])), 100 * float(np.mean(predicted == reference))


def quality_table(trained: list[dict]) -> pd.DataFrame:
    rows = []
    for t in trained:
        v = {r["backend"]: r for r in t["variants"]}
        single_accuracy, single_agreement = batch_one_int8(t)
        rows.append({
            "task": t["task"], "accuracy pytorch": v["onnx"]["accuracy pytorch"],
            "accuracy onnx": v["onnx"]["accuracy variant"],
            "accuracy int8": v["onnx-int8"]["accuracy variant"],
            "int8 accuracy diff": v["onnx-int8"]["accuracy variant"] - v["onnx"]["accuracy pytorch"],
            "macro-F1 pytorch": v["onnx"]["macro_f1 pytorch"],
            "macro-F1 int8": v["onnx-int8"]["macro_f1 variant"],
            "int8 macro-F1 diff": v["onnx-int8"]["macro_f1 variant"] - v["onnx"]["macro_f1 pytorch"],
            "onnx agreement %": v["onnx"]["same on test %"],
            "int8 agreement %": v["onnx-int8"]["same on test %"],
            "int8 accuracy, batch 1": single_accuracy, "int8 agreement %, batch 1": single_agreement,
            "int8 gate inputs": v["onnx-int8"]["gate inputs"],
            "int8 gate agreement %": v["onnx-int8"]["gate label_agreement"],
            "int8 recommended": v["onnx-int8"]["recommended"],
        })
    return pd.DataFrame(rows).round(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tasks", nargs="*", default=DEFAULT_TASKS)
    parser.add_argument("--out", default=str(REPO / "outputs" / "benchmarks" / "backends"))
    parser.add_argument("--reuse", action="store_true", help="reuse trainings already in --out")
    parser.add_argument("--paragraph-words", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a training-notebook parameter (JSON value)")
    parser.add_argument("--stream-rows", type=int, nargs="*", default=[],
                        help="also score CSVs of these many rows with onnx-int8: rows/s and peak memory")
    parser.add_argument("--measure", nargs=3, metavar=("MODEL_DIR", "BACKEND", "CSV"), help=argparse.SUPPRESS)
    parser.add_argument("--stream", nargs=4, metavar=("MODEL_DIR", "BACKEND", "CSV", "ROWS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.measure:
        print(json.dumps(measure(*args.measure, args.paragraph_words, args.repeats)))
        return
    if args.stream:
        print(json.dumps(stream(*args.stream[:3], int(args.stream[3]))))
        return
    out = Path(args.out)
    extra = {k: json.loads(v) for k, v in args.p}
    trained = [train(t, out, args.reuse, extra) for t in args.tasks]
    first = trained[0]
    speed = speed_table([measure_in_subprocess(first["model_dir"], b, first["data_dir"] / "test.csv", args)
                         for b in BACKENDS])
    quality = quality_table(trained)
    training = pd.DataFrame([{k: t[k] for k in ("task", "train_examples", "train_texts_per_s", "distill_s",
                                                 "train_wall_s")} for t in trained]).round(1)
    machine = (f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPU threads, "
               f"Python {platform.python_version()}")
    test_csv = first["data_dir"] / "test.csv"
    streamed = pd.DataFrame([measure_in_subprocess(first["model_dir"], "onnx-int8", test_csv, args, n)
                             for n in args.stream_rows]).round(1)
    text = (f"# Backends benchmark ({machine})\n\nSpeed, {first['task']} classifier:\n\n"
            f"{markdown(speed)}\n\nQuality on each test set (points):\n\n{markdown(quality, False)}"
            f"\n\nTraining (default run, PyTorch):\n\n{markdown(training, False)}\n"
            + (f"\nCSV scoring in chunks (onnx-int8):\n\n{markdown(streamed, False)}\n"
               if len(streamed) else ""))
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps({
        "machine": machine, "speed": speed.reset_index().to_dict("records"),
        "quality": quality.to_dict("records"), "training": training.to_dict("records")},
        indent=1, default=str))
    print(text)


if __name__ == "__main__":
    main()

"""Int8 recipes side by side on trained classifiers: dynamic, static (calibrated), and what lies between.

For each trained classification export (``<exports>/<task>/model``, written by
``classification-training.ipynb`` with ``OUTPUT_DIR=<exports>/<task>``) this writes the fp32 ONNX
graph once, then one int8 graph per recipe (``--recipes``), and measures each against the fp32
graph (which matches PyTorch to 1e-4) at batch 1 and in batches of 32 sorted by length:

* accuracy on the test set and its difference from fp32, in points;
* agreement with fp32 (share of texts given the same label) on the test set, and on the
  unlabelled texts that were not used for calibration;
* one short text p50 latency (the test texts, tokenization included) and the graph's size.

Calibration texts are what the training notebook's export uses: a seeded sample of at most 200
unlabelled texts, never a test text, those outside the gate sample first
(``helpers.core.variants.calibration_sample``). With ``--gate`` the gate's verdicts are read from
the export's quality reports (the variants re-made by ``export_classifier_variants``, as the notebook
does, when the export has no static one).

    python benchmarks/int8_static.py --exports outputs/int8-bench
    python benchmarks/int8_static.py --exports outputs/int8-bench --tasks injury --recipes dynamic static

Tables go to ``<out>/summary.md`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TASKS = ["banking-routing", "ecommerce", "mental-health", "injury", "injury-hard"]
# name -> (kind, options)
RECIPES = {
    "dynamic": ("dynamic", {"keep_fp32": None}),  # the onnx-int8 variant: ONNX Runtime's defaults
    "dynamic-excl": ("dynamic", {"keep_fp32": ()}),
    "dynamic-excl-ffn": ("dynamic", {"keep_fp32": ("ffn-output",)}),
    # the onnx-int8-static variant: SmoothQuant (STATIC_SMOOTH), MinMax, uint8 activations, FFN output fp32
    "static": ("static", {}),
    "static-unsmoothed": ("static", {"smooth": None}),  # the variant before SmoothQuant
    "static-smooth-0.5": ("static", {"smooth": 0.5}),
    "static-smooth-0.7": ("static", {"smooth": 0.7}),
    "static-smooth-0.9": ("static", {"smooth": 0.9}),
    "static-all": ("static", {"keep_fp32": (), "smooth": None}),  # every encoder weight product int8
    "static-all-smooth": ("static", {"keep_fp32": ()}),
    "static-sym": ("static", {"keep_fp32": (), "symmetric_activations": True, "smooth": None}),
    "static-percentile": ("static", {"keep_fp32": (), "method": "percentile", "smooth": None}),
    "static-entropy": ("static", {"keep_fp32": (), "method": "entropy", "smooth": None}),
    "static-attn-fp32": ("static", {"keep_fp32": ("attention-output",), "smooth": None}),
}
GATE_CAP, GATE_SEED = 500, 42  # the training notebook's MAX_GATE_INPUTS and SEED


def labels_of(model, tokenizer, texts, batch_size, max_length):
    from helpers.classification import predict_proba

    return predict_proba(model, tokenizer, texts, batch_size, max_length).argmax(1)


def measure_task(data_dir: Path, model_dir: Path, work: Path, recipes: list[str], repeats: int) -> list[dict]:
    """Each int8 recipe against the fp32 graph of the export in ``model_dir``, on ``data_dir``'s texts."""
    from transformers import AutoConfig, AutoTokenizer

    from helpers.classification import StudentClassifier
    from helpers.core import onnx as O
    from helpers.core.export import load_export
    from helpers.core.tasks import load_task
    from helpers.core.timing import measure_latency
    from helpers.core.variants import calibration_sample, sample_gate_inputs

    data = load_task(data_dir)
    task = data.name
    test_texts, test_labels = data.test["question"].tolist(), data.test["answer"].tolist()
    unlabelled = data.unstructured["context"].tolist()
    gate = sample_gate_inputs(data.unstructured["context"], GATE_CAP, GATE_SEED)
    calibration, info = calibration_sample(unlabelled, gate, test_texts)
    used = set(calibration) | set(test_texts)
    held_out = [t for t in dict.fromkeys(unlabelled) if t not in used]
    info.update(held_out_unlabelled=len(held_out), gate_inputs=len(gate))

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = AutoConfig.from_pretrained(model_dir)
    max_length = int(json.loads((model_dir / "export-info.json").read_text())["max_length"])
    folder = work / task
    model, _, _ = load_export(model_dir, StudentClassifier)
    fp32 = O.export_onnx(model, tokenizer, folder / "fp32.onnx", O.CLASSIFIER,
                         O.weights_fingerprint(model_dir), max_length)
    gold = np.array([config.label2id[label] for label in test_labels])

    def evaluate(path: Path) -> dict:
        runner = O.OnnxModel(path, config, O.CLASSIFIER)
        out = {}
        for b in (1, 32):
            out[f"test b{b}"] = labels_of(runner, tokenizer, test_texts, b, max_length)
            out[f"held b{b}"] = labels_of(runner, tokenizer, held_out, b, max_length)
        timed = measure_latency(lambda t: labels_of(runner, tokenizer, [t], 1, max_length), test_texts,
                                repeats)
        out["p50 ms"] = timed["p50_ms"]
        out["MB"] = path.stat().st_size / 1e6
        return out

    ref = evaluate(fp32)
    with_torch = labels_of(model, tokenizer, test_texts, 32, max_length)
    del model
    rows = []
    base = {"task": task, "calibration": info}
    acc = {b: 100 * float(np.mean(ref[f"test b{b}"] == gold)) for b in (1, 32)}
    rows.append({**base, "recipe": "fp32 onnx", "acc b32": acc[32], "acc b1": acc[1],
                 "same as pytorch on test": 100 * float(np.mean(with_torch == ref["test b32"])),
                 "p50 ms": ref["p50 ms"], "MB": ref["MB"], "build s": 0.0})
    feeds = O.text_feeds(tokenizer, calibration, max_length)
    fixed = O.text_feeds(tokenizer, calibration, max_length, same_length=True)  # histogram calibrators
    for name in recipes:
        kind, options = RECIPES[name]
        path = folder / f"{name}.onnx"
        start = time.perf_counter()
        if kind == "dynamic":
            O.quantize_int8(fp32, path, **options)
        else:
            histogram = options.get("method", "minmax") != "minmax"
            O.quantize_int8_static(fp32, path, fixed if histogram else feeds, calibration=info, **options)
        built = time.perf_counter() - start
        got = evaluate(path)
        row = {**base, "recipe": name, "build s": round(built, 1), "p50 ms": got["p50 ms"], "MB": got["MB"]}
        for b in (32, 1):
            a = 100 * float(np.mean(got[f"test b{b}"] == gold))
            row[f"acc b{b}"] = a
            row[f"diff b{b}"] = a - acc[b]
            row[f"agree test b{b}"] = 100 * float(np.mean(got[f"test b{b}"] == ref[f"test b{b}"]))
            row[f"agree unl b{b}"] = 100 * float(np.mean(got[f"held b{b}"] == ref[f"held b{b}"]))
        row["b1 = b32 on test"] = 100 * float(np.mean(got["test b1"] == got["test b32"]))
        rows.append(row)
        print(f"  {task:16s} {name:18s} diff b32 {row['diff b32']:+.2f} b1 {row['diff b1']:+.2f} | "
              f"agree test {row['agree test b32']:.1f}/{row['agree test b1']:.1f} unl "
              f"{row['agree unl b32']:.1f}/{row['agree unl b1']:.1f} | {row['p50 ms']:.1f} ms "
              f"{row['MB']:.0f} MB ({built:.0f} s)", flush=True)
    return rows


def gate_reports(task: str, exports: Path) -> list[dict]:
    """The gate's verdicts from the export's quality reports (its variants re-made as the training
    notebook makes them when the export has no static one)."""
    from helpers import classification as clf
    from helpers.core.tasks import load_task
    from helpers.core.variants import read_report, sample_gate_inputs

    data = load_task(REPO / f"data-{task}")
    model_dir = exports / task / "model"
    gate = sample_gate_inputs(data.unstructured["context"], GATE_CAP, GATE_SEED)
    if read_report(model_dir, "onnx-int8-static") is None:  # trained before the notebook made it
        test = data.test
        clf.export_classifier_variants(model_dir, test["question"].tolist(), test["answer"].tolist(),
                                       gate_texts=gate, calibration_texts=data.unstructured["context"])
    rows = []
    for backend in ("onnx", "onnx-int8", "onnx-int8-static"):
        r = read_report(model_dir, backend)
        rows.append({"task": task, "backend": backend, "gate inputs": r["gate"]["inputs"],
                     "gate agreement": r["gate"]["agreement"]["label_agreement"],
                     "recommended": r["gate"]["recommended"],
                     "test acc diff": r["test"]["difference"]["accuracy"],
                     "same on test %": r["test"]["same_prediction"],
                     "calibration": r.get("calibration", {}).get("inputs"),
                     "calibration in gate": r.get("calibration", {}).get("in_gate_inputs")})
    return rows


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table, numbers to 2 decimals (no extra dependency)."""
    def cell(v):
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exports", required=True, help="folder holding <task>/model for each task")
    parser.add_argument("--tasks", nargs="*", default=TASKS)
    parser.add_argument("--recipes", nargs="*", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--repeats", type=int, default=30, help="latency repeats")
    parser.add_argument("--gate", action="store_true", help="also re-export the variants and print the gate")
    parser.add_argument("--out", default=str(REPO / "outputs" / "benchmarks" / "int8"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from helpers.core.notebook import setup_notebook

    setup_notebook()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    exports = Path(args.exports).resolve()
    rows, gates = [], []
    for task in args.tasks:
        rows += measure_task(REPO / f"data-{task}", exports / task / "model", out / "graphs", args.recipes,
                             args.repeats)
        if args.gate:
            gates += gate_reports(task, exports)
    table = pd.DataFrame(rows)
    calibration = {r["task"]: r["calibration"] for r in rows}
    cols = ["task", "recipe", "acc b32", "diff b32", "acc b1", "diff b1", "agree test b32", "agree test b1",
            "agree unl b32", "agree unl b1", "b1 = b32 on test", "p50 ms", "MB", "build s"]
    text = "Int8 recipes against the fp32 graph (points; agreement = same label as fp32)\n\n"
    text += markdown(table[[c for c in cols if c in table]]) + "\n\nCalibration per task:\n\n"
    text += "\n".join(f"- {t}: {json.dumps(c)}" for t, c in calibration.items()) + "\n"
    if gates:
        text += "\nThe gate (export_classifier_variants, as the training notebook):\n\n"
        text += markdown(pd.DataFrame(gates)) + "\n"
    print("\n" + text)
    (out / "summary.md").write_text(text, encoding="utf-8")
    summary = {"rows": table.drop(columns="calibration").to_dict("records"), "calibration": calibration,
               "gate": gates}
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

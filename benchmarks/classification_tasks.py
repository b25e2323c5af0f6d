"""Train and deploy on every classification task folder, over several seeds; print quality and speed.

For each task folder and seed this runs ``classification-training.ipynb`` on its default
parameters (``SEED`` set), and reads back what the notebook measured: teacher, labelled-only and
distilled accuracy on the test set, the wall time of each stage, and the plan the time budget made.
The first seed of each task also exports the ONNX variants, runs ``classification-deployment.ipynb``
on the export (latency, throughput, memory) and compares the int8 variants (dynamic and static)
with the fp32 graph at batch 1 and in batches of 32 (``benchmarks/int8_static.py``). Later seeds
skip the export (``EXPORT_ONNX=False``): it does not change the scores.

    python benchmarks/classification_tasks.py                           # the four example tasks
    python benchmarks/classification_tasks.py --seeds 42 7 13 data-injury-hard
    python benchmarks/classification_tasks.py /path/to/data-mine        # your own folders
    python benchmarks/classification_tasks.py -p TIME_BUDGET_MINUTES 0  # unbudgeted

Runs go to ``outputs/benchmarks/classification/<task>/seed-<seed>/``; each finished run is
appended to ``runs.jsonl`` there and not repeated when the script is run again (delete the file to
start over). ``summary.md`` holds the tables: mean ± standard deviation over seeds (with the
lowest), per-stage seconds, and the int8 differences. The targets the project holds itself to:
the distilled student at or above both the teacher and the labelled-only student, the training
notebook inside ``TIME_BUDGET_MINUTES`` (10) on 2 CPU cores, int8 within 0.5 points of fp32.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_TASKS = ["data-banking-routing", "data-ecommerce", "data-mental-health", "data-injury"]
DEFAULT_SEEDS = [42, 7, 13]
STUDENTS = {"teacher": "teacher", "student-labelled": "labelled", "student-distilled": "distilled",
            "student-averaged": "averaged"}


def parse_args(doc: str, default_tasks: list[str], family: str, seeds: bool = False):
    """Command line shared by the benchmarks: task folders, ``-p NAME VALUE``, ``--out``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("tasks", nargs="*", default=default_tasks, help="task folders")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a training-notebook parameter (value parsed as JSON if it can be)")
    parser.add_argument("--out", default=str(REPO / "outputs" / "benchmarks" / family))
    if seeds:
        parser.add_argument("--seeds", nargs="+", type=int, default=DEFAULT_SEEDS)
        parser.add_argument("--no-int8", action="store_true", help="skip the int8 comparison")
        parser.add_argument("--no-deploy", action="store_true", help="skip the deployment notebook")
    args = parser.parse_args()
    args.out = str(Path(args.out).resolve())  # notebooks run in notebooks/: a relative path would land there
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    extra = {}
    for key, value in args.p:
        try:
            extra[key] = json.loads(value)
        except json.JSONDecodeError:
            extra[key] = value
    return args, extra


def data_path(folder: str) -> Path:
    return Path(folder).resolve() if Path(folder).is_absolute() or Path(folder).exists() else REPO / folder


def train_and_deploy(family: str, folder: str, out: Path, extra: dict,
                     deploy: bool = True) -> tuple[float, dict, dict | None]:
    """Run ``<family>-training`` on a task folder into ``out``, then (``deploy``) ``<family>-deployment``
    on its export and test set; returns the training wall time and both ``metrics.json``."""
    from helpers.core.notebook import execute_notebook

    data_dir = data_path(folder)
    out.mkdir(parents=True, exist_ok=True)
    wall = execute_notebook(f"{family}-training", out / f"{family}-training.ipynb",
                            {"DATA_DIR": str(data_dir), "OUTPUT_DIR": str(out / "training"), **extra})
    read = lambda p: json.loads(p.read_text())  # noqa: E731
    if not deploy:
        return wall, read(out / "training" / "metrics.json"), None
    execute_notebook(f"{family}-deployment", out / f"{family}-deployment.ipynb",
                     {"MODEL_DIR": str(out / "training" / "model"), "DATA_DIR": str(data_dir),
                      "OUTPUT_DIR": str(out / "deployment")})
    return wall, read(out / "training" / "metrics.json"), read(out / "deployment" / "metrics.json")


def run_row(folder: str, seed: int, wall: float, t: dict, d: dict | None) -> dict:
    """One run's figures: accuracy and macro-F1 per model, seconds per stage, the plan."""
    row = {"task": Path(folder).name, "seed": seed, "train_wall_s": round(wall, 1),
           "train_peak_mb": t["peak_memory_mb"]}
    for key, short in STUDENTS.items():
        scores = t["results"].get(key, {}).get("scores", {})
        row[f"{short}_acc"] = scores.get("accuracy", np.nan)
        row[f"{short}_f1"] = scores.get("macro_f1", np.nan)
    row["exported"] = t.get("exported")
    if row["exported"]:
        row["exported_acc"] = t["results"][row["exported"]]["scores"]["accuracy"]
    row.update({f"s_{stage}": round(s, 1) for stage, s in t["seconds"].items()})
    plan = t.get("plan", {})
    row["plan_steps"] = {r["name"]: r["steps"] for r in plan.get("runs", [])}
    row["plan_notes"] = plan.get("notes", [])
    row["truncated_texts"] = t.get("truncated_texts")
    if d is not None:
        row.update(p50_ms=round(d["latency"]["p50_ms"], 1),
                   texts_per_s=round(d["throughput"]["texts_per_second"], 1),
                   deploy_peak_mb=d["peak_memory_mb"])
    return row


def int8_rows(folder: str, out: Path) -> list[dict]:
    """Dynamic and static int8 against the fp32 graph on the first seed's export (batch 1 and 32)."""
    from benchmarks.int8_static import measure_task

    rows = measure_task(data_path(folder), out / "training" / "model", out / "int8", ["dynamic", "static"],
                        repeats=10)
    return [{k: v for k, v in r.items() if k != "calibration"} for r in rows]


def spread(values: pd.Series) -> str:
    """``mean ± sd (min)`` of accuracies, in points; one value alone is printed as it is."""
    v = 100 * values.dropna()
    if v.empty:
        return "-"
    if len(v) == 1:
        return f"{v.iloc[0]:.1f}"
    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f} (min {v.min():.1f})"


def at_or_above(acc: pd.Series, best_source: pd.Series) -> str:
    """``k of n``: the seeds at which ``acc`` is at or above the better source (a missing score is not)."""
    return f"{int((acc >= best_source - 1e-9).sum())} of {len(acc)}"


def exported_accuracy(g: pd.DataFrame) -> pd.Series:
    """The exported student's accuracy per run. Runs recorded before the notebook named its export
    exported the averaged student if there was one (the first averaging runs), else round 2."""
    acc = g["exported_acc"] if "exported_acc" in g else pd.Series(np.nan, index=g.index)
    for fallback in ("averaged_acc", "distilled_acc"):
        if fallback in g:
            acc = acc.fillna(g[fallback])
    return acc


def summarise(runs: pd.DataFrame, int8: pd.DataFrame) -> str:
    """The markdown tables of ``summary.md``."""
    from benchmarks.int8_static import markdown

    quality, stages = [], []
    for task, g in runs.groupby("task", sort=False):
        best_source = g[["teacher_acc", "labelled_acc"]].max(axis=1, skipna=True)
        gain = 100 * (exported_accuracy(g) - best_source)
        quality.append({"task": task, "seeds": len(g), "teacher": spread(g["teacher_acc"]),
                        "labelled only (round 1)": spread(g["labelled_acc"]),
                        "distilled (round 2)": spread(g["distilled_acc"]),
                        **({"averaged": spread(g["averaged_acc"])} if "averaged_acc" in g else {}),
                        "exported − best source (worst)": f"{gain.mean():+.1f} ({gain.min():+.1f})",
                        "exported at or above both": at_or_above(exported_accuracy(g), best_source),
                        "round 2 at or above both": at_or_above(g["distilled_acc"], best_source),
                        "notebook wall s": f"{g['train_wall_s'].mean():.0f} "
                                           f"(max {g['train_wall_s'].max():.0f})"})
        cols = [c for c in g.columns if c.startswith("s_")]
        stages.append({"task": task, **{c[2:]: round(g[c].mean(), 0) for c in cols}})
    text = ("Accuracy on the test set, in points: mean ± standard deviation over seeds (lowest seed).\n"
            "'exported − best source': the exported student (the averaged one unless round 2 was skipped)\n"
            "minus the better of teacher and labelled-only student, per seed: mean (worst seed).\n\n"
            + markdown(pd.DataFrame(quality)))
    text += "\n\nSeconds per notebook stage (mean over seeds; onnx export on the first seed only):\n\n"
    text += markdown(pd.DataFrame(stages).fillna(0.0))
    if not int8.empty:
        cols = ["task", "recipe", "acc b1", "diff b1", "acc b32", "diff b32", "agree test b1",
                "agree test b32",
                "agree unl b1", "agree unl b32", "p50 ms", "MB"]
        text += ("\n\nInt8 against the fp32 graph, first seed's export (points; agreement = same label as"
                 " fp32,"
                 " on the test set and on unlabelled texts not used for calibration):\n\n")
        text += markdown(int8[[c for c in cols if c in int8]])
    return text + "\n"


def main() -> None:
    args, extra = parse_args(__doc__, DEFAULT_TASKS, "classification", seeds=True)
    from helpers.core.notebook import setup_notebook

    setup_notebook()
    out_root = Path(args.out)
    out_root.mkdir(parents=True, exist_ok=True)
    log = out_root / "runs.jsonl"
    done = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for i, seed in enumerate(args.seeds):  # every task at one seed before the next seed
        for folder in args.tasks:
            name = Path(folder).name
            if any(r["task"] == name and r.get("seed") == seed and r.get("kind") == "run" for r in done):
                continue
            first = i == 0
            out = out_root / name / f"seed-{seed}"
            params = {**extra, "SEED": seed, **({} if first else {"EXPORT_ONNX": False})}
            wall, t, d = train_and_deploy("classification", folder, out, params,
                                          deploy=first and not args.no_deploy)
            new = [{"kind": "run", **run_row(folder, seed, wall, t, d)}]
            if first and not args.no_int8 and params.get("EXPORT_ONNX", True):
                new += [{"kind": "int8", "seed": seed, **r} for r in int8_rows(folder, out)]
            with log.open("a") as fh:
                fh.writelines(json.dumps(r, default=str) + "\n" for r in new)
            done += new
            r = new[0]
            print(f"{name} seed {seed}: teacher {r['teacher_acc']:.3f} labelled {r['labelled_acc']:.3f} "
                  f"distilled {r['distilled_acc']:.3f} | {r['train_wall_s']:.0f} s", flush=True)

    names = [Path(f).name for f in args.tasks]
    all_rows = pd.DataFrame(done)
    runs = all_rows[(all_rows["kind"] == "run") & all_rows["task"].isin(names)
                    & all_rows["seed"].isin(args.seeds)]
    int8 = (all_rows[(all_rows["kind"] == "int8") & all_rows["task"].isin(names)]
            if "kind" in all_rows else pd.DataFrame())
    runs.drop(columns="kind").to_csv(out_root / "summary.csv", index=False)
    text = summarise(runs, int8)
    (out_root / "summary.md").write_text(text, encoding="utf-8")
    print("\n" + text)
    worst = exported_accuracy(runs) - runs[["teacher_acc", "labelled_acc"]].max(axis=1)
    print(f"the exported student >= both sources in {(worst >= -1e-9).sum()} of {len(runs)} runs; "
          f"slowest training notebook: {runs['train_wall_s'].max():.0f} s")


if __name__ == "__main__":
    main()

"""Train (and deploy) the extractive QA notebooks over folders and seeds; print EM/F1 and wall time.

Runs ``question-answering-training.ipynb`` on its default parameters (``SEED`` set) on each QA task
folder at each seed, then ``question-answering-deployment.ipynb`` on the first seed's export and the
task's test set (latency, throughput, peak memory).

    python benchmarks/question_answering.py                                   # both QA folders, 3 seeds
    python benchmarks/question_answering.py --seeds 42 /path/to/data-my-qa    # your own folder
    python benchmarks/question_answering.py -p TIME_BUDGET_MINUTES null       # without the budget

Each run is appended to ``runs.jsonl`` under ``--out`` (``outputs/benchmarks/question-answering``),
so a stopped benchmark resumes where it stopped; ``summary.md`` holds mean ± standard deviation
over seeds (lowest seed) for each student: EM and F1 on all test questions, F1 on span questions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from classification_tasks import parse_args, train_and_deploy

DEFAULT_TASKS = ["data-hotpotqa", "data-hotpotqa-lines"]
STUDENTS = ("student-base", "student-labelled", "student-synthetic")


def run_row(task: str, seed: int, wall: float, t: dict, d: dict | None) -> dict:
    """One run's figures: EM/F1 per student, the plan, seconds per stage, deployment speed."""
    row = {"task": task, "seed": seed, "train_wall_s": round(wall, 1), "train_peak_mb": t["peak_memory_mb"],
           "synthetic": t["examples"]["synthetic"],
           "plan_steps": {r["name"]: r["steps"] for r in t.get("plan", {}).get("runs", [])}}
    for name in STUDENTS:
        groups = t["results"].get(name, {}).get("groups", {})
        row[f"{name}_em"] = groups.get("all", {}).get("exact_match")
        row[f"{name}_f1"] = groups.get("all", {}).get("f1")
        row[f"{name}_span_f1"] = groups.get("span", {}).get("f1")
    row.update({f"s_{stage}": round(s, 1) for stage, s in t["seconds"].items()})
    if d is not None:
        row.update(p50_ms=round(d["latency"]["p50_ms"], 1), p95_ms=round(d["latency"]["p95_ms"], 1),
                   questions_per_s=round(d["throughput"]["texts_per_second"], 1),
                   deploy_peak_mb=d["peak_memory_mb"])
    return row


def spread(values: pd.Series) -> str:
    """``mean ± sd (min)``; one value alone as it is; ``-`` when there is none."""
    v = values.dropna().astype(float)
    if v.empty:
        return "-"
    return f"{v.iloc[0]:.1f}" if len(v) == 1 else f"{v.mean():.1f} ± {v.std(ddof=1):.1f} (min {v.min():.1f})"


def summarise(runs: pd.DataFrame) -> str:
    """The markdown table of ``summary.md``."""
    lines = ["| task | seeds | student | EM | F1 | span F1 | notebook wall s |",
             "|---|---|---|---|---|---|---|"]
    for task, g in runs.groupby("task", sort=False):
        for name in STUDENTS:
            lines.append(f"| {task} | {len(g)} | {name} | {spread(g[f'{name}_em'])} "
                         f"| {spread(g[f'{name}_f1'])} | {spread(g[f'{name}_span_f1'])} "
                         f"| {g['train_wall_s'].mean():.0f} "
                         f"(max {g['train_wall_s'].max():.0f}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args, extra = parse_args(__doc__, DEFAULT_TASKS, "question-answering", seeds=True)
    out_root = Path(args.out)
    out_root.mkdir(parents=True, exist_ok=True)
    log = out_root / "runs.jsonl"
    done = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for i, seed in enumerate(args.seeds):  # every folder at one seed before the next
        for folder in args.tasks:
            task = Path(folder).name
            if any(r["task"] == task and r["seed"] == seed for r in done):
                continue
            first = i == 0
            params = {**extra, "SEED": seed, **({} if first else {"EXPORT_ONNX": False})}
            out = out_root / task / f"seed-{seed}"
            wall, t, d = train_and_deploy("question-answering", folder, out, params,
                                          deploy=first and not args.no_deploy)
            row = run_row(task, seed, wall, t, d)
            with log.open("a") as fh:
                fh.write(json.dumps(row, default=str) + "\n")
            done.append(row)
            labelled = row["student-labelled_f1"]
            print(f"{task} seed {seed}: F1 base {row['student-base_f1']:.1f}, labelled "
                  f"{'-' if labelled is None else f'{labelled:.1f}'}, synthetic "
                  f"{row['student-synthetic_f1']:.1f} | {wall:.0f} s", flush=True)
    names = [Path(f).name for f in args.tasks]
    runs = pd.DataFrame(done)
    runs = runs[runs["task"].isin(names) & runs["seed"].isin(args.seeds)]
    runs.to_csv(out_root / "summary.csv", index=False)
    text = summarise(runs)
    (out_root / "summary.md").write_text(text, encoding="utf-8")
    print("\n" + text)


if __name__ == "__main__":
    main()

"""A time budget for a training notebook: measure what a step costs on the folder's own texts, then
plan the runs to fit, and say what was given up.

The cost of a run on a CPU is set by its optimiser steps and the tokens in each batch, and the
tokens depend on the folder: product descriptions of 400 tokens cost ten times what bank requests
of 20 do. So nothing here assumes a cost: :func:`measure_step_seconds` times real training steps
on batches of the folder's texts, and :func:`plan_runs` divides the time that is left between the
runs, most important first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class RunPlan:
    """One training run of a plan.

    Attributes:
        name: The run (``"student-distilled"``, ...).
        wanted_steps: Steps the parameters ask for.
        steps: Steps planned (0: the run is skipped).
        seconds: Estimated wall time of the planned steps.
        optional: Earlier runs keep no time for it: when they run slow, it gets what is left
            (:meth:`TrainingPlan.fits`), not they less.
    """

    name: str
    wanted_steps: int
    steps: int
    seconds: float
    optional: bool = False


@dataclass
class TrainingPlan:
    """What :func:`plan_runs` decided, and why.

    Attributes:
        budget_seconds: The whole notebook's budget (None: no budget).
        spent_seconds: Already spent when the plan was made.
        reserved_seconds: Kept for what comes after training (evaluation, export, variants).
        step_seconds: Measured seconds per optimiser step, per run.
        runs: The runs, most important first.
        notes: What the plan gave up, in words (empty when nothing was).
    """

    budget_seconds: float | None
    spent_seconds: float
    reserved_seconds: float
    step_seconds: dict[str, float]
    runs: list[RunPlan]
    notes: list[str] = field(default_factory=list)

    def steps(self, name: str) -> int:
        """Planned steps of run ``name`` (0 if skipped or not in the plan)."""
        return next((r.steps for r in self.runs if r.name == name), 0)

    def time_limit(self, name: str, elapsed_seconds: float) -> float | None:
        """Wall-clock seconds run ``name`` may take, starting now (``elapsed_seconds`` into the
        notebook): the budget less what is spent, what is reserved for after training, and the
        planned time of the runs after it that are not optional. The run stops there even if its
        steps are not done (:class:`~helpers.core.training.Deadline`), so a step slower than measured
        cannot push the notebook past its budget. None without a budget."""
        if self.budget_seconds is None:
            return None
        names = [r.name for r in self.runs]
        later = sum(r.seconds for r in self.runs[names.index(name) + 1:] if not r.optional)
        return max(0.0, self.budget_seconds - self.reserved_seconds - elapsed_seconds - later)

    def fits(self, name: str, elapsed_seconds: float, share: float = 0.5) -> bool:
        """Whether run ``name`` should start now: it has planned steps, and (under a budget) at least
        ``share`` of its planned time is still left for it (:meth:`time_limit`); an optional run
        after slower runs than planned may have lost it."""
        run = next((r for r in self.runs if r.name == name), None)
        if run is None or run.steps == 0:
            return False
        limit = self.time_limit(name, elapsed_seconds)
        return limit is None or limit >= share * run.seconds

    def as_dict(self) -> dict:
        """Plain values for ``metrics.json``."""
        return asdict(self)

    def describe(self) -> str:
        """A few lines for the notebook: the budget, each run, and what was given up."""
        lines = []
        if self.budget_seconds is None:
            lines.append("no time budget: every run takes the steps its parameters ask for")
        else:
            left = self.budget_seconds - self.spent_seconds - self.reserved_seconds
            lines.append(f"budget {self.budget_seconds / 60:.1f} min: {self.spent_seconds:.0f} s spent, "
                         f"{self.reserved_seconds:.0f} s kept for evaluation and export, "
                         f"{left:.0f} s for training")
        for run in self.runs:
            state = ("skipped" if run.steps == 0 else
                     f"{run.steps} steps (~{run.seconds:.0f} s at {self.step_seconds[run.name]:.2f} s/step)")
            cut = "" if run.steps in (0, run.wanted_steps) else f", {run.wanted_steps} wanted"
            lines.append(f"  {run.name}: {state}{cut}")
        lines += [f"  gave up: {note}" for note in self.notes]
        return "\n".join(lines)


def measure_step_seconds(model, batches: Sequence[dict], warmup: int = 1) -> float:
    """Mean wall time of a training step over ``batches``: forward, backward, and an AdamW update.

    ``batches`` are ready model inputs (tensors, with labels), built from the folder's own texts the
    way training builds them. The first ``warmup`` batches are run and not timed (first calls
    allocate). The update is timed on copies of the trainable weights, so no weight of ``model``
    changes; gradients are cleared afterwards.
    """
    if not batches:
        raise ValueError("measure_step_seconds needs at least one batch")
    steps = _timed_steps(model, batches, warmup)
    return float(np.mean([seconds for seconds, _ in steps])) + _update_seconds(model)


def measure_token_seconds(model, batches: Sequence[dict], warmup: int = 1) -> tuple[float, float]:
    """What a training step costs per padded token, pooled over ``batches`` of different lengths.

    Returns ``(seconds per token of forward and backward, seconds of one AdamW update)``; a step
    over a batch of ``t`` padded tokens then costs about ``update + t * per_token``
    (:func:`padded_tokens_per_batch` gives ``t`` for a run). Pooling the batches of several runs
    gives each run a steadier estimate than timing its own one or two batches: on a 2-core CPU,
    one step's time varies by a fifth or more. Weights and gradients are left as
    :func:`measure_step_seconds` leaves them.
    """
    if not batches:
        raise ValueError("measure_token_seconds needs at least one batch")
    steps = _timed_steps(model, batches, warmup)
    tokens = sum(n for _, n in steps)
    return sum(seconds for seconds, _ in steps) / max(1, tokens), _update_seconds(model)


def _timed_steps(model, batches: Sequence[dict], warmup: int) -> list[tuple[float, int]]:
    """``(seconds, padded tokens)`` of a forward and backward pass over each batch, the first
    ``warmup`` run untimed before; gradients cleared after each, the training mode restored."""
    was_training = model.training
    model.train()
    steps = []
    try:
        for i, batch in enumerate([*batches[:warmup], *batches]):
            start = time.perf_counter()
            model(**batch).loss.backward()
            if i >= warmup:
                tokens = int(batch["input_ids"].numel()) if "input_ids" in batch else 0
                steps.append((time.perf_counter() - start, tokens))
            model.zero_grad(set_to_none=True)
    finally:
        model.train(was_training)
    return steps


def padded_tokens_per_batch(lengths: Sequence[int], batch_size: int, group_by_length: bool,
                            seed: int = 0, repeats: int = 5) -> float:
    """Mean tokens in a training batch once padded to its longest item (dynamic padding), as the
    Trainer draws them: in random order, or grouped by length (the order shuffled, then sorted
    longest first within mega-batches of 50 batches, as transformers' length-grouped sampler
    does). Averaged over ``repeats`` seeded orders."""
    lengths = np.asarray(lengths)
    if not len(lengths) or batch_size < 1:
        return 0.0
    rng = np.random.default_rng(seed)
    totals = []
    for _ in range(repeats):
        order = rng.permutation(len(lengths))
        if group_by_length:
            mega = 50 * batch_size
            order = np.concatenate([sorted(order[i:i + mega], key=lambda j: -lengths[j])
                                    for i in range(0, len(order), mega)])
        batches = [lengths[order[i:i + batch_size]] for i in range(0, len(order), batch_size)]
        totals.append(np.mean([b.max() * len(b) for b in batches]))
    return float(np.mean(totals))


def _update_seconds(model) -> float:
    """Wall time of one AdamW update of ``model``'s trainable weights, timed on copies of them."""
    import torch

    copies = [p.detach().clone().requires_grad_(True) for p in model.parameters() if p.requires_grad]
    if not copies:
        return 0.0
    for c in copies:
        c.grad = torch.ones_like(c)
    optimiser = torch.optim.AdamW(copies, lr=1e-5)
    optimiser.step()  # the first step allocates the moments
    start = time.perf_counter()
    optimiser.step()
    return time.perf_counter() - start


def representative_lengths(lengths: Sequence[int], batch_size: int,
                           quantiles=(0.25, 0.5, 0.75)) -> list[list[int]]:
    """Indices of a few batches whose lengths are typical of training with length-grouped batches:
    ``batch_size`` neighbours in the length order at each quantile (what a step there costs)."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    n = len(order)
    picks = []
    for q in quantiles:
        start = min(max(0, int(q * n) - batch_size // 2), max(0, n - batch_size))
        picks.append(order[start:start + batch_size].tolist())
    return picks


def timing_picks(lengths: Sequence[int], batch_size: int, group_by_length: bool, seed: int,
                 quantiles=(0.25, 0.5, 0.75)) -> list:
    """Indices of a few batches as training draws them, one per quantile: neighbours in length when
    batches are grouped by length (:func:`representative_lengths`), else random ones (each padded to
    its longest item), seeded."""
    if group_by_length:
        return representative_lengths(lengths, batch_size, quantiles)
    rng = np.random.default_rng(seed)
    return [rng.choice(len(lengths), min(batch_size, len(lengths)), replace=False) for _ in quantiles]


def plan_runs(
    wanted: dict[str, int],
    step_seconds: dict[str, float],
    budget_seconds: float | None,
    spent_seconds: float,
    reserved_seconds: float,
    min_share: dict[str, float] | None = None,
    proportional: bool = False,
) -> TrainingPlan:
    """Divide the time left between training runs, in the order of ``wanted`` (most important first).

    Greedy (the default): each run gets the steps it wants if they fit in what is left, else what
    fits. Proportional: when not every run fits, each gets the same share of its wanted steps (for
    runs that build on each other, such as a second round continuing the first, where starving the
    later one wastes the earlier). Either way, a run that would get less than ``min_share[name]`` of
    its wanted steps is skipped instead (a run cut to a stub only adds noise), the least important
    first; the first run is never skipped but gets at least one step.

    Args:
        wanted: Steps each run asks for, most important first.
        step_seconds: Measured seconds per step of each run.
        budget_seconds: The whole notebook's budget; None plans every run in full.
        spent_seconds: Already spent.
        reserved_seconds: To keep for the stages after training.
        min_share: Smallest useful share of each run's wanted steps (default 0 for the first run,
            0.3 for the others).
        proportional: Cut every run by the same share rather than the last ones first.
    """
    left = None if budget_seconds is None else budget_seconds - spent_seconds - reserved_seconds
    floors = {name: (min_share or {}).get(name, 0.0 if i == 0 else 0.3) for i, name in enumerate(wanted)}
    if proportional and left is not None:
        runs, notes = _proportional_runs(wanted, step_seconds, floors, left)
    else:
        runs, notes = _greedy_runs(wanted, step_seconds, floors, left)
    return TrainingPlan(budget_seconds, round(spent_seconds, 1), round(reserved_seconds, 1),
                        {k: round(v, 3) for k, v in step_seconds.items()}, runs, notes)


def _greedy_runs(wanted, step_seconds, floors, left) -> tuple[list[RunPlan], list[str]]:
    """:func:`plan_runs`' runs, each given what it wants or what is left, in order."""
    runs, notes = [], []
    for i, (name, steps) in enumerate(wanted.items()):
        cost = step_seconds[name]
        planned = steps if left is None else min(steps, max(0, math.floor(left / cost)))
        if i == 0:
            planned = max(1, planned)
        elif planned < max(1, floors[name] * steps):
            if planned < steps:
                notes.append(f"{name} skipped: {steps} steps would take ~{steps * cost:.0f} s, "
                             f"{max(0.0, left):.0f} s were left")
            planned = 0
        if 0 < planned < steps:
            notes.append(f"{name} cut to {planned} of {steps} steps to fit the budget")
        runs.append(RunPlan(name, steps, planned, round(planned * cost, 1)))
        if left is not None:
            left -= planned * cost
    return runs, notes


def _proportional_runs(wanted, step_seconds, floors, left) -> tuple[list[RunPlan], list[str]]:
    """:func:`plan_runs`' runs, every one cut by one share; runs whose floor is above it are dropped,
    the least important first, and the share recomputed without them."""
    names, notes = list(wanted), []
    active = list(names)
    while True:
        need = sum(wanted[n] * step_seconds[n] for n in active)
        share = 1.0 if need <= left else max(0.0, left) / need
        short = [n for n in active[1:] if share < floors[n] or math.floor(share * wanted[n]) < 1]
        if not short:
            break
        dropped = short[-1]
        active.remove(dropped)
        notes.append(f"{dropped} skipped: every run would get {share:.0%} of its steps, under its "
                     f"minimum of {floors[dropped]:.0%} ({wanted[dropped]} steps would take "
                     f"~{wanted[dropped] * step_seconds[dropped]:.0f} s, {max(0.0, left):.0f} s were left "
                     "for all runs)")
    runs = []
    for i, name in enumerate(names):
        steps, cost = wanted[name], step_seconds[name]
        planned = min(steps, math.floor(share * steps + 1e-9)) if name in active else 0
        if i == 0:
            planned = max(1, planned)
        if 0 < planned < steps:
            notes.append(f"{name} cut to {planned} of {steps} steps to fit the budget")
        runs.append(RunPlan(name, steps, planned, round(planned * cost, 1)))
    return runs, notes


def affordable_inputs(cap: int, available: int, seconds_per_input: float, budget_minutes: float | None,
                      share: float = 0.1, floor: int = 100) -> int:
    """How many inputs a stage after training (the variants' gate, the static calibration) may use:
    at most ``cap`` and ``available``, and under a budget no more than fit in ``share`` of it at the
    measured ``seconds_per_input`` (every pass the stage makes over one input), but not under
    ``floor`` (fewer would decide nothing). Long texts thus get a smaller gate, short ones the full."""
    n = min(int(cap), int(available))
    if budget_minutes and budget_minutes > 0 and seconds_per_input > 0:
        n = min(n, max(int(floor), math.floor(share * budget_minutes * 60 / seconds_per_input)))
    return max(0, n)

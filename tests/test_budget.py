"""The time budget: planning runs into what is left, and measuring a step without training."""

from __future__ import annotations

import pytest
import torch

from helpers.core.budget import (
    measure_step_seconds,
    measure_token_seconds,
    padded_tokens_per_batch,
    plan_runs,
    representative_lengths,
)

WANTED = {"student-distilled": 300, "student-labelled": 150}
STEP = {"student-distilled": 0.5, "student-labelled": 0.2}


def test_without_a_budget_every_run_gets_its_steps():
    plan = plan_runs(WANTED, STEP, None, spent_seconds=100, reserved_seconds=50)
    assert [r.steps for r in plan.runs] == [300, 150] and plan.notes == []
    assert plan.runs[0].seconds == 150.0 and "no time budget" in plan.describe()


def test_a_budget_that_fits_changes_nothing():
    plan = plan_runs(WANTED, STEP, 600, spent_seconds=300, reserved_seconds=60)  # 240 s left, 180 needed
    assert plan.steps("student-distilled") == 300 and plan.steps("student-labelled") == 150
    assert plan.notes == []


def test_the_comparison_run_is_cut_before_the_exported_one():
    plan = plan_runs(WANTED, STEP, 600, spent_seconds=300, reserved_seconds=125)  # 175 s left
    assert plan.steps("student-distilled") == 300  # 150 s
    assert plan.steps("student-labelled") == 125  # the 25 s left
    assert plan.notes == ["student-labelled cut to 125 of 150 steps to fit the budget"]


def test_a_comparison_run_cut_to_a_stub_is_skipped_and_the_plan_says_so():
    plan = plan_runs(WANTED, STEP, 600, spent_seconds=300, reserved_seconds=145)  # 155 s left, 5 s after
    assert plan.steps("student-distilled") == 300 and plan.steps("student-labelled") == 0
    assert len(plan.notes) == 1 and plan.notes[0].startswith("student-labelled skipped")
    assert "skipped" in plan.describe() and "gave up" in plan.describe()


def test_the_exported_run_is_cut_but_never_skipped():
    plan = plan_runs(WANTED, STEP, 600, spent_seconds=590, reserved_seconds=60)  # nothing left
    assert plan.steps("student-distilled") == 1 and plan.steps("student-labelled") == 0
    cut = plan_runs(WANTED, STEP, 600, spent_seconds=400, reserved_seconds=100)  # 100 s: 200 steps
    assert cut.steps("student-distilled") == 200
    assert "student-distilled cut to 200 of 300 steps" in cut.describe()


def test_a_run_not_in_the_plan_has_no_steps():
    plan = plan_runs({"student-distilled": 10}, {"student-distilled": 1.0}, None, 0, 0)
    assert plan.steps("student-labelled") == 0
    assert plan.as_dict()["runs"][0] == {"name": "student-distilled", "wanted_steps": 10, "steps": 10,
                                         "seconds": 10.0, "optional": False}


def test_representative_batches_are_neighbours_in_length_at_the_quantiles():
    lengths = [50, 10, 40, 20, 30, 60, 70, 80]
    picks = representative_lengths(lengths, batch_size=2)
    assert [sorted(lengths[i] for i in pick) for pick in picks] == [[20, 30], [40, 50], [60, 70]]
    assert representative_lengths([5], batch_size=4) == [[0], [0], [0]]  # fewer texts than a batch


def test_measuring_a_step_changes_no_weight_and_leaves_no_gradient():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 2))

    class WithLoss(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = model

        def forward(self, x, labels):
            return type("Out", (), {"loss": torch.nn.functional.cross_entropy(self.net(x), labels)})()

    wrapped = WithLoss().eval()
    before = [p.detach().clone() for p in model.parameters()]
    batches = [{"x": torch.randn(4, 8), "labels": torch.tensor([0, 1, 0, 1])} for _ in range(3)]
    seconds = measure_step_seconds(wrapped, batches)
    assert seconds > 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())
    assert not wrapped.training  # left in the mode it was in
    with pytest.raises(ValueError, match="at least one batch"):
        measure_step_seconds(wrapped, [])


def test_token_seconds_pool_batches_and_change_nothing(tiny_model_dir):
    from helpers import question_answering as qa

    model, _ = qa.build_qa_model(str(tiny_model_dir), seed=0)
    before = [p.detach().clone() for p in model.parameters()]

    def batch(length):
        ids = torch.full((4, length), 1000)
        zeros = torch.zeros(4, dtype=torch.long)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "start_positions": zeros,
                "end_positions": zeros}

    per_token, update = measure_token_seconds(model, [batch(16), batch(48), batch(64)])
    assert per_token > 0 and update >= 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters()) and not model.training
    with pytest.raises(ValueError, match="at least one batch"):
        measure_token_seconds(model, [])


def test_padded_tokens_per_batch_follow_the_samplers():
    # equal lengths: no padding either way
    assert padded_tokens_per_batch([10] * 64, 16, group_by_length=False) == 160.0
    assert padded_tokens_per_batch([10] * 64, 16, group_by_length=True) == 160.0
    # one long item per 16: random batches often pad to it, grouped ones only once
    lengths = [10] * 60 + [200] * 4
    grouped = padded_tokens_per_batch(lengths, 16, group_by_length=True)
    assert grouped == (200 * 16 + 10 * 16 * 3) / 4  # the four long ones share one batch, padded to 200
    assert padded_tokens_per_batch(lengths, 16, group_by_length=False) > 2 * grouped
    assert padded_tokens_per_batch([], 16, True) == 0.0
    assert padded_tokens_per_batch([30, 20], 16, False) == 60.0  # one short batch


def test_a_planned_run_gets_exactly_its_steps_and_length_grouped_batches():
    from transformers import TrainingArguments

    from helpers.core.training import TrainConfig, planned_steps, trainer_settings, with_steps

    config = with_steps(TrainConfig(epochs=10, min_steps=150, max_steps=300, group_by_length=True), 42)
    assert planned_steps(10_000, config) == 42 and planned_steps(3, config) == 42
    settings = trainer_settings(config, 42, "/tmp/unused")
    assert settings["train_sampling_strategy"] == "group_by_length"
    assert TrainingArguments(**settings).train_sampling_strategy == "group_by_length"  # a name 5.x knows
    assert trainer_settings(TrainConfig(), 5, "/tmp/unused")["train_sampling_strategy"] == "random"


def test_reserve_seconds_grows_with_what_follows_training():
    from helpers.classification import reserve_seconds

    # 10 s fixed + 3 students x 100 test texts x 0.01 s + 15 s per variant
    assert reserve_seconds(0.01, 100, 0, 0) == 13.0
    # three variants: 4 passes over 400 gate + 100 test texts, and 200 calibration texts counted twice
    assert reserve_seconds(0.01, 100, 400, 3, 200) == 13.0 + 4 * 5.0 + 4.0 + 45.0
    assert reserve_seconds(0.01, 100, 400, 0, 200) == 13.0  # no export, no calibration
    # the relabelling pass between the two rounds: one forward pass per pseudo-labelled text
    assert reserve_seconds(0.01, 100, 0, 0, relabel_texts=500) == 13.0 + 5.0


def test_round_two_cut_below_its_minimum_share_is_skipped_and_round_one_is_never_skipped():
    wanted = {"student-labelled": 150, "student-distilled": 160}
    step = {"student-labelled": 2.0, "student-distilled": 2.0}
    # 400 s left: round 1 takes 300, round 2 would get 50 of 160 steps (31%): run, cut
    plan = plan_runs(wanted, step, 1000, 400, 200, min_share={"student-distilled": 0.3})
    assert (plan.steps("student-labelled"), plan.steps("student-distilled")) == (150, 50)
    # 380 s left: 40 of 160 (25%) is a stub: skipped, and said so
    plan = plan_runs(wanted, step, 1000, 420, 200, min_share={"student-distilled": 0.3})
    assert (plan.steps("student-labelled"), plan.steps("student-distilled")) == (150, 0)
    assert plan.notes == ["student-distilled skipped: 160 steps would take ~320 s, 80 s were left"]
    # nothing left: round 1 still gets a step
    plan = plan_runs(wanted, step, 600, 700, 200, min_share={"student-distilled": 0.3})
    assert (plan.steps("student-labelled"), plan.steps("student-distilled")) == (1, 0)


def test_a_proportional_plan_cuts_both_rounds_by_one_share_or_drops_the_second():
    wanted = {"student-labelled": 150, "student-distilled": 160}
    step = {"student-labelled": 2.0, "student-distilled": 2.0}
    floor = {"student-distilled": 0.3}
    # 400 s left for 620 s of steps: both get 64.5% (greedy would give 150 and 50)
    plan = plan_runs(wanted, step, 1000, 400, 200, min_share=floor, proportional=True)
    assert (plan.steps("student-labelled"), plan.steps("student-distilled")) == (96, 103)
    assert sum(r.seconds for r in plan.runs) <= 400
    assert plan.notes == ["student-labelled cut to 96 of 150 steps to fit the budget",
                          "student-distilled cut to 103 of 160 steps to fit the budget"]
    # 150 s left: a share of 24% is under round 2's floor: it is dropped, round 1 takes all 150 s
    plan = plan_runs(wanted, step, 1000, 650, 200, min_share=floor, proportional=True)
    assert (plan.steps("student-labelled"), plan.steps("student-distilled")) == (75, 0)
    assert plan.notes[0].startswith("student-distilled skipped: every run would get 24% of its steps")
    assert plan.notes[1] == "student-labelled cut to 75 of 150 steps to fit the budget"
    # enough time, or no budget: every run in full, nothing given up
    for budget, spent in ((1000, 100), (None, 0)):
        plan = plan_runs(wanted, step, budget, spent, 200, min_share=floor, proportional=True)
        assert [r.steps for r in plan.runs] == [150, 160] and plan.notes == []
    # nothing left at all: round 1 still gets a step
    plan = plan_runs(wanted, step, 600, 700, 200, min_share=floor, proportional=True)
    assert (plan.steps("student-labelled"), plan.steps("student-distilled")) == (1, 0)


@pytest.mark.parametrize("left", [0, 7, 150, 333, 619, 620, 5000])
def test_a_proportional_plan_never_overspends_beyond_the_first_step(left):
    wanted = {"a": 150, "b": 160, "c": 40}
    step = {"a": 2.0, "b": 1.5, "c": 4.0}
    plan = plan_runs(wanted, step, 1000, 1000 - left, 0, min_share={"b": 0.3, "c": 0.5}, proportional=True)
    spent = sum(r.seconds for r in plan.runs)
    assert spent <= max(left, step["a"]) + 1e-9
    shares = [r.steps / r.wanted_steps for r in plan.runs if r.steps]
    assert max(shares) - min(shares) < 0.02 or len(shares) == 1  # one share for every run kept
    assert plan.steps("a") >= 1


def test_gate_and_calibration_inputs_shrink_to_a_share_of_the_budget_for_long_texts():
    from helpers.core.budget import affordable_inputs

    # short texts: 4 passes x 5 ms per input, a tenth of 10 minutes buys 3,000: the cap holds
    assert affordable_inputs(500, 1000, 0.02, 10) == 500
    assert affordable_inputs(500, 300, 0.02, 10) == 300  # fewer texts than the cap
    # long texts: 4 passes x 0.1 s: 60 s buy 150
    assert affordable_inputs(500, 1000, 0.4, 10) == 150
    # very long ones: never under the floor (fewer would decide nothing), unless there are fewer texts
    assert affordable_inputs(500, 1000, 5.0, 10) == 100 and affordable_inputs(500, 40, 5.0, 10) == 40
    assert affordable_inputs(500, 1000, 0.4, None) == 500  # no budget: the cap


def test_plan_students_times_both_rounds_labelled_first_and_counts_its_own_time(tiny_model_dir):
    from helpers.classification import build_student, plan_students
    from helpers.core.models import load_tokenizer
    from helpers.core.training import TrainConfig

    model, _ = build_student(str(tiny_model_dir), ["a", "b"], seed=0)
    tokenizer = load_tokenizer(str(tiny_model_dir))
    config = TrainConfig(epochs=1, min_steps=2, max_steps=50, batch_size=4, max_length=32,
                         group_by_length=True)
    labelled = [f"labelled text number {i}" for i in range(8)]
    distil = labelled + [f"a longer unlabelled text, number {i}, with more words in it" for i in range(40)]
    before = [p.detach().clone() for p in model.parameters()]
    plan = plan_students(model, tokenizer, labelled, distil, config, None, spent_seconds=0.0,
                         reserved_seconds=0.0)
    assert [(r.name, r.wanted_steps, r.steps) for r in plan.runs] == [
        ("student-labelled", 2, 2), ("student-distilled", 12, 12)]
    assert plan.spent_seconds > 0  # the timing itself is spent time
    assert set(plan.step_seconds) == {"student-labelled", "student-distilled"}
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_a_runs_time_limit_is_the_budget_left_after_the_reserve_and_the_later_runs():
    wanted = {"student-labelled": 150, "student-distilled": 160}
    step = {"student-labelled": 2.0, "student-distilled": 2.0}
    plan = plan_runs(wanted, step, 1000, 400, 200, min_share={"student-distilled": 0.3}, proportional=True)
    later = plan.runs[1].seconds  # 103 steps x 2 s
    assert later == 206.0
    assert plan.time_limit("student-labelled", 400) == pytest.approx(1000 - 200 - 400 - later)
    assert plan.time_limit("student-distilled", 700) == pytest.approx(100.0)  # whatever is left
    assert plan.time_limit("student-distilled", 990) == 0.0  # never negative: the run takes one step
    assert plan_runs(wanted, step, None, 0, 0).time_limit("student-labelled", 50) is None


def test_training_stops_at_its_time_limit_after_at_least_one_step(tiny_model_dir):
    from helpers.classification import build_student, train_classifier
    from helpers.core.training import TrainConfig

    model, tok = build_student(str(tiny_model_dir), ["a", "b"], seed=0)
    texts, labels = ["a text", "b text", "other", "more"], ["a", "b", "a", "b"]
    config = TrainConfig(epochs=1, min_steps=12, max_steps=12, batch_size=2, max_length=16)
    history = train_classifier(model, tok, texts, labels, config, time_limit=0.0)
    assert [r["step"] for r in history if "loss" in r] == [1]  # spent at once: one step, then stop
    history = train_classifier(model, tok, texts, labels, config, time_limit=3600.0)
    assert [r["step"] for r in history if "loss" in r] == list(range(1, 13))  # far off: every step


QA_WANTED = {"synthetic-pass": 100, "labelled-pass": 40, "student-labelled": 40}
QA_STEP = {"synthetic-pass": 4.0, "labelled-pass": 5.0, "student-labelled": 5.0}


def _qa_steps(left, share=0.5, wanted=QA_WANTED):
    from helpers.question_answering import allocate_qa_steps

    steps, notes = allocate_qa_steps(wanted, QA_STEP, left, share)
    return (steps["synthetic-pass"], steps["labelled-pass"], steps["student-labelled"]), notes


def test_qa_plan_without_a_budget_or_with_room_runs_everything():
    assert _qa_steps(None) == ((100, 40, 40), [])
    assert _qa_steps(800) == ((100, 40, 40), [])  # 400 + 200 + 200 s needed


def test_qa_plan_cuts_the_synthetic_pass_first_then_drops_the_comparison_then_cuts_more():
    # 700 s: both labelled runs (400 s) fit beside 75 synthetic steps (75% >= 50%)
    steps, notes = _qa_steps(700)
    assert steps == (75, 40, 40) and notes == ["synthetic-pass cut to 75 of 100 steps to fit the budget"]
    # 560 s: beside the comparison only 40 of 100 synthetic steps would fit: it is skipped and its
    # time goes to the synthetic pass (360 s: 90 steps)
    steps, notes = _qa_steps(560)
    assert steps == (90, 40, 0)
    assert notes[0] == ("student-labelled (the comparison) skipped: beside it the synthetic pass would get "
                        "40 of its 100 steps, under 50%")
    assert notes[1] == "synthetic-pass cut to 90 of 100 steps to fit the budget"
    # with a lower minimum share, the comparison is kept at that cost
    assert _qa_steps(560, share=0.4)[0] == (40, 40, 40)


def test_qa_plan_always_gives_the_labelled_pass_a_step_and_never_spends_what_is_not_there():
    steps, notes = _qa_steps(150)  # not even the labelled pass fits: cut, nothing else
    assert steps == (0, 30, 0)
    assert notes[0].startswith("labelled-pass cut to 30 of 40 steps")
    assert notes[-1] == "synthetic-pass skipped: no time was left"
    assert _qa_steps(-50)[0] == (0, 1, 0)  # overspent already: one step
    for left in range(0, 1000, 37):
        (syn, lab, comp), _ = _qa_steps(left)
        assert syn * 4.0 + (lab + comp) * 5.0 <= max(left, 5.0)
        assert comp in (0, lab)  # the comparison takes exactly the labelled pass's steps, or none


def test_qa_plan_without_synthetic_questions_or_comparison():
    assert _qa_steps(100_000, wanted={**QA_WANTED, "synthetic-pass": 0}) == ((0, 40, 40), [])
    steps, notes = _qa_steps(250, wanted={**QA_WANTED, "student-labelled": 0})
    assert steps == (12, 40, 0) and notes == ["synthetic-pass cut to 12 of 100 steps to fit the budget"]


def test_qa_plan_students_times_the_folder_windows_and_lists_the_runs_in_running_order(tiny_model_dir):
    import pandas as pd

    from helpers import question_answering as qa
    from helpers.core.training import TrainConfig

    model, tokenizer = qa.build_qa_model(str(tiny_model_dir), seed=0)
    context = "Lake Vorn lies in the north. It is 58 kilometres long and was mapped in 1821 by Ada Brun."
    train = qa.locate_answers(pd.DataFrame({"question": ["How long is Lake Vorn?"] * 6,
                                            "context": [context] * 6, "answer": ["58 kilometres"] * 6}))
    synthetic = qa.locate_answers(pd.DataFrame({"question": ["When was it mapped?"] * 20,
                                                "context": [context] * 20, "answer": ["1821"] * 20}))
    config = TrainConfig(epochs=1, min_steps=3, max_steps=50, batch_size=4, max_length=64,
                         group_by_length=True)
    syn_config = TrainConfig(epochs=2, min_steps=0, max_steps=50, batch_size=4, max_length=64,
                             group_by_length=True)
    before = [p.detach().clone() for p in model.parameters()]
    plan = qa.plan_students(model, tokenizer, train, synthetic, config, syn_config, 16, 32, None, 0.0, 0.0)
    assert [(r.name, r.wanted_steps, r.steps) for r in plan.runs] == [
        ("synthetic-pass", 10, 10), ("labelled-pass", 3, 3), ("student-labelled", 3, 3)]
    assert plan.spent_seconds > 0 and all(s > 0 for s in plan.step_seconds.values())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    # a budget overspent already: the labelled pass keeps one step, the others are given up, and the
    # time limit of each run counts the runs after it
    plan = qa.plan_students(model, tokenizer, train, synthetic.head(0), config, syn_config, 16, 32,
                            1, 61.0, 0.0, compare=False)
    assert [r.steps for r in plan.runs] == [0, 1, 0]
    assert plan.notes[0].startswith("no synthetic questions") and plan.time_limit("labelled-pass", 60) == 0.0
    assert [r.optional for r in plan.runs] == [False, False, True]


def test_an_optional_run_gets_what_the_others_leave_and_is_skipped_when_too_little_is():
    from helpers.core.budget import RunPlan, TrainingPlan

    runs = [RunPlan("synthetic-pass", 100, 100, 400.0), RunPlan("labelled-pass", 40, 40, 160.0),
            RunPlan("student-labelled", 40, 40, 160.0, optional=True)]
    plan = TrainingPlan(1000, 40, 200, {}, runs)
    # the exported student's passes keep no time for the comparison: only for each other
    assert plan.time_limit("synthetic-pass", 40) == 1000 - 200 - 40 - 160
    assert plan.time_limit("labelled-pass", 440) == 1000 - 200 - 440
    # on plan, the comparison starts with its time; after slow passes, with less, or not at all
    assert plan.fits("student-labelled", 600) and plan.time_limit("student-labelled", 600) == 200
    assert plan.fits("student-labelled", 720)  # 80 s left: half of its 160
    assert not plan.fits("student-labelled", 730)  # 70 s: under half
    assert not TrainingPlan(1000, 40, 200, {}, [RunPlan("student-labelled", 40, 0, 0.0, True)]).fits(
        "student-labelled", 0)  # planned away
    assert TrainingPlan(None, 0, 0, {}, runs).fits("student-labelled", 10_000)  # no budget


def test_qa_reserve_counts_the_students_the_export_and_the_variants():
    from helpers.question_answering import reserve_seconds

    assert reserve_seconds(0.1, 100, 0, 0, students=2) == 20.0 + 20.0
    # two variants: three passes over 300 gate + 100 test questions, 20 s each to convert
    assert reserve_seconds(0.1, 100, 300, 2, students=1) == 20.0 + 10.0 + 3 * 40.0 + 40.0


def test_a_qa_run_stops_at_its_time_limit(tiny_model_dir):
    import pandas as pd

    from helpers import question_answering as qa
    from helpers.core.training import TrainConfig

    model, tokenizer = qa.build_qa_model(str(tiny_model_dir), seed=0)
    context = "The bridge at Ormsby was opened in 1904 and carries the railway over the river Tane."
    frame = qa.locate_answers(pd.DataFrame({"question": ["When was the bridge opened?"] * 8,
                                            "context": [context] * 8, "answer": ["1904"] * 8}))
    history, _ = qa.train_qa(model, tokenizer, frame, TrainConfig(min_steps=20, max_steps=20, batch_size=4,
                                                                  max_length=64), 16, 32, time_limit=0.0)
    assert max(r.get("step", 0) for r in history) == 1  # stopped after its first step

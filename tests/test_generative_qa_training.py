"""Generative QA end to end on tiny models: LoRA, training, merge, export, deployment, streaming."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
import torch

from helpers import generative_qa as g
from helpers.core import lora
from helpers.core.evaluation import results_table
from helpers.core.export import ExportError
from helpers.core.training import TrainConfig
from tests.conftest import QA_CONTEXTS, QA_TEST, QA_TRAIN

TASK = "Answer the question from the context with a short phrase."
TRAIN = pd.DataFrame(QA_TRAIN, columns=["question", "answer", "context"])
TEST = pd.DataFrame(QA_TEST, columns=["question", "answer", "context"])


@pytest.fixture(params=["tiny_llama_dir", "tiny_t5_dir"], ids=["decoder", "encoder-decoder"])
def tiny_generative_dir(request):
    return request.getfixturevalue(request.param)


def _train(folder, steps=6, lr=3e-2, settings=None):
    model, tokenizer, kind, notes = g.load_generative_model(str(folder), seed=0)
    model = lora.apply_lora(model, settings or lora.LoraSettings(rank=4, alpha=8, dropout=0.0), kind)
    examples = g.build_training_examples(TRAIN, tokenizer, TASK, 64, kind)
    config = TrainConfig(epochs=1, min_steps=steps, max_steps=steps, learning_rate=lr, batch_size=3,
                         warmup_ratio=0.0)
    history = g.train_generative(model, tokenizer, examples, config)
    return model, tokenizer, kind, examples, history


def test_kind_is_read_from_the_config(tiny_llama_dir, tiny_t5_dir):
    assert g.load_generative_model(str(tiny_llama_dir))[2] == "decoder"
    assert g.load_generative_model(str(tiny_t5_dir))[2] == "encoder-decoder"


def test_encoder_only_model_name_is_a_clear_error(tiny_model_dir):
    with pytest.raises(ValueError, match="encoder-only.*extractive QA notebook"):
        g.load_generative_model(str(tiny_model_dir))


def test_encoder_decoder_examples_put_the_prompt_in_the_encoder_and_end_with_eos(tiny_t5_dir):
    _, tokenizer, kind, _ = g.load_generative_model(str(tiny_t5_dir))
    prompt = g.build_prompt(tokenizer, TASK, QA_CONTEXTS[0], "Who mapped it?", kind=kind)
    assert prompt.startswith("### Task\n") and "<|im_start|>" not in prompt  # never the chat template
    example = g.build_training_example(tokenizer, prompt, "Ilse Marten", kind)
    answer_ids = tokenizer("Ilse Marten", add_special_tokens=False)["input_ids"]
    assert example["labels"] == answer_ids + [tokenizer.eos_token_id]  # target alone, no prompt
    assert example["input_ids"] == tokenizer(prompt)["input_ids"]
    lengths = g.answer_lengths(pd.DataFrame({"answer": ["Ilse Marten"]}), tokenizer, kind=kind)
    assert lengths.iloc[0] == len(example["labels"])


def _loss(model, tokenizer, examples) -> float:
    model.eval()
    with torch.no_grad():
        return float(model(**g.collate_for_training(tokenizer, examples)).loss)


def test_lora_trains_only_the_adapters_and_the_loss_goes_down(tiny_generative_dir):
    model, tokenizer, kind, _ = g.load_generative_model(str(tiny_generative_dir), seed=0)
    model = lora.apply_lora(model, lora.LoraSettings(rank=4, alpha=8, dropout=0.0), kind)
    examples = g.build_training_examples(TRAIN, tokenizer, TASK, 64, kind)
    before = _loss(model, tokenizer, examples)
    config = TrainConfig(epochs=1, min_steps=12, max_steps=12, learning_rate=3e-2, batch_size=3,
                         warmup_ratio=0.0)
    history = g.train_generative(model, tokenizer, examples, config)
    counts = lora.trainable_parameters(model)
    assert 0 < counts["trainable"] < 0.2 * counts["total"]
    assert all("lora_" in n for n, p in model.named_parameters() if p.requires_grad)
    assert len([h["loss"] for h in history if "loss" in h]) == 12
    # Same six examples, same eval mode: the adapters lowered the loss of the answers.
    assert _loss(model, tokenizer, examples) < before - 0.1


def test_wrong_target_modules_name_the_real_layers(tiny_llama_dir):
    model, _, kind, _ = g.load_generative_model(str(tiny_llama_dir))
    with pytest.raises(ValueError, match="matches no layer.*q_proj"):
        lora.apply_lora(model, lora.LoraSettings(target_modules=["query", "value"]), kind)


def test_every_answer_longer_than_the_limit_trains_nothing(tiny_llama_dir):
    _, tokenizer, kind, _ = g.load_generative_model(str(tiny_llama_dir))
    with pytest.raises(ValueError, match="MAX_ANSWER_TOKENS=1 .*Fix: set MAX_ANSWER_TOKENS to at least"):
        g.filter_by_answer_length(TRAIN, tokenizer, 1, kind)
    with pytest.raises(ValueError, match="Nothing was trained"):
        g.train_generative(None, tokenizer, [], TrainConfig())


def test_merged_export_reloads_with_the_same_logits_and_answers(tiny_generative_dir, tmp_path):
    model, tokenizer, kind, examples, history = _train(tiny_generative_dir)
    settings = g.generative_settings(TASK, 64, 8, kind)
    with pytest.raises(ValueError, match="merge them first"):
        g.export_generative_qa(model, tokenizer, tmp_path, "tiny", history, settings)
    merged = lora.merge_lora(model)
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    paths = g.export_generative_qa(merged, tokenizer, tmp_path, "tiny", history, settings, {"task": "tiny"})
    assert g.export_difference(merged, tokenizer, paths.model_dir, examples[:3]) < 1e-4
    for name in ("generation_config.json", "training-logs.csv", "training-logs.json", "export-info.json"):
        assert (paths.model_dir / name).is_file()
    generation = json.loads((paths.model_dir / "generation_config.json").read_text())
    assert generation["do_sample"] is False and generation["max_new_tokens"] == 8
    assert g.end_of_turn_id(tokenizer, kind) in generation["eos_token_id"]
    answerer = g.GenerativeAnswerer.from_export(paths.tarball, unpack_to=tmp_path / "unpacked")
    prompts = g.build_prompts(TEST, tokenizer, TASK, 64, kind)
    expected = g.generate_answers(merged, tokenizer, prompts, 8, batch_size=2)
    assert answerer.answer_batch(TEST["question"], TEST["context"], batch_size=2) == expected
    assert answerer.answer(TEST["question"][0], TEST["context"][0]) == expected[0]


def test_unmerged_adapter_would_show_in_the_reload_check(tiny_llama_dir, tmp_path):
    model, tokenizer, kind, examples, history = _train(tiny_llama_dir)
    merged = lora.merge_lora(model)
    settings = g.generative_settings(TASK, 64, 8, kind)
    paths = g.export_generative_qa(merged, tokenizer, tmp_path, "tiny", history, settings)
    with torch.no_grad():  # as if the adapter's update had been lost: the base weights differ
        next(p for n, p in merged.named_parameters() if "q_proj" in n).add_(0.5)
    assert g.export_difference(merged, tokenizer, paths.model_dir, examples[:3]) > 1e-3


def _script(model, tokenizer, tokens: list[str], stop: int):
    """Make the model write ``tokens`` then ``stop``, whatever the prompt; returns a reset function."""
    ids = [tokenizer.convert_tokens_to_ids(t) for t in tokens] + [stop]
    assert tokenizer.unk_token_id not in ids
    state = {"step": 0}

    def force(module, args, output):
        output[..., :] = -1e4
        output[..., ids[min(state["step"], len(ids) - 1)]] = 0.0
        state["step"] += 1
        return output

    model.get_output_embeddings().register_forward_hook(force)
    return lambda: state.update(step=0)


def test_streaming_hands_out_the_same_answer_piece_by_piece(tiny_generative_dir):
    model, tokenizer, kind, _ = g.load_generative_model(str(tiny_generative_dir), seed=0)
    answerer = g.GenerativeAnswerer(model, tokenizer, g.generative_settings(TASK, 64, 12, kind))
    # "The Lune river." in four tokens ("Ġ" is GPT-2 BPE's leading space), then the end of turn.
    reset = _script(model, tokenizer, ["The", "ĠL", "une", "Ġriver", "."], g.end_of_turn_id(tokenizer, kind))
    pieces = []
    result = answerer.stream(TEST["question"][1], TEST["context"][1], on_text=pieces.append)
    assert result.text == "The Lune river." == "".join(pieces)
    assert len(pieces) >= 3 and result.new_tokens == 6  # five answer tokens and the stop
    assert 0 < result.first_token_s < result.total_s
    # The decoding rate counts the tokens after the first over the time after the first.
    assert result.tokens_per_s == pytest.approx(5 / (result.total_s - result.first_token_s))
    reset()
    assert answerer.answer(TEST["question"][1], TEST["context"][1]) == result.text
    reset()
    speed = g.generation_speed(answerer, TEST["question"][:1], TEST["context"][:1])
    assert speed["n"] == 1 and speed["first_token_ms_p50"] > 0


def test_streaming_stops_at_max_new_tokens_without_a_stop(tiny_llama_dir):
    model, tokenizer, kind, _ = g.load_generative_model(str(tiny_llama_dir), seed=0)
    _script(model, tokenizer, ["Par", "is"] * 10, stop=tokenizer.convert_tokens_to_ids("Par"))
    pieces = []
    result = g.stream_answer(model, tokenizer, g.build_prompt(tokenizer, TASK, "x", "y?"), 5, pieces.append)
    assert result.new_tokens == 5 and result.text == "ParisParisPar" == "".join(pieces)


def test_answerer_refuses_an_empty_question_and_a_wrong_kind_of_export(tiny_llama_dir, tmp_path):
    model, tokenizer, kind, _ = g.load_generative_model(str(tiny_llama_dir))
    answerer = g.GenerativeAnswerer(model, tokenizer, g.generative_settings(TASK, 64, 4, kind))
    with pytest.raises(ValueError, match="question is empty"):
        answerer.answer("  ", "context")
    from helpers.core.export import export_model

    paths = export_model(model, tokenizer, tmp_path, "not-generative", [])  # a bare model: no prompt settings
    with pytest.raises(ExportError, match="not an export of the generative QA training notebook"):
        g.GenerativeAnswerer.from_export(paths.model_dir)
    (paths.model_dir / "model.safetensors").unlink()
    with pytest.raises(ExportError, match="missing model.safetensors"):
        g.GenerativeAnswerer.from_export(paths.model_dir)


def test_evaluation_scores_each_answer_and_the_table_has_every_metric(tiny_llama_dir):
    model, tokenizer, kind, _ = g.load_generative_model(str(tiny_llama_dir), seed=0)
    result = g.evaluate_generative(model, tokenizer, TEST, TASK, 64, 4, batch_size=2)
    assert list(result.predictions.columns) == ["question", "answer", "prediction", "exact_match", "f1",
                                                "rouge_l", "answer_type"]
    assert result.n == len(TEST) and result.groups["yes/no"]["n"] == 1 and result.details["seconds"] > 0
    assert result.scores["exact_match"] == result.predictions["exact_match"].mean()
    table = results_table({"untuned": result}, decimals=2)
    assert list(table.columns) == ["exact_match", "f1", "rouge_l", "yes_no_accuracy", "answer_words"]
    scored = g.score_predictions(TEST, ["Kessel", "the river Lune", "1620 by fishermen", "No."])
    assert scored["exact_match"].tolist() == [100.0, 0.0, 0.0, 100.0]
    assert scored["answer_type"].tolist() == ["other", "other", "other", "yes/no"]
    assert scored["f1"].tolist()[1] == pytest.approx(100 * 2 * 0.5 * 1 / 1.5)  # "river lune" vs "lune"
    assert scored["rouge_l"].tolist()[2] == pytest.approx(100 * 2 * (1 / 3) / (1 + 1 / 3))


def test_qlora_on_cpu_says_it_is_unavailable_and_goes_on(tiny_llama_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    supported, reason = lora.qlora_support()
    assert not supported and "CUDA GPU" in reason and "plain LoRA" in reason
    model, _, kind, notes = g.load_generative_model(str(tiny_llama_dir), load_in_4bit=True)
    assert any("plain LoRA" in n for n in notes)
    assert getattr(model.config, "quantization_config", None) is None
    assert kind == "decoder"


def test_answers_cut_off_by_the_context_limit_are_counted(tiny_llama_dir):
    _, tokenizer, _, _ = g.load_generative_model(str(tiny_llama_dir))
    frame = pd.DataFrame({
        "answer": ["Lake Vorn", "kessel", "yes", "Atlantis"],
        "context": [QA_CONTEXTS[0]] * 4,
    })
    # Ten tokens keep "Lake Vorn: Lake Vorn is a glacial lake" but not Kessel, at the very end.
    assert "Kessel" not in g.truncate_context(tokenizer, QA_CONTEXTS[0], 10)
    assert g.answers_cut_off(frame, tokenizer, 10).tolist() == [False, True, False, False]
    assert not g.answers_cut_off(frame, tokenizer, None).any()


def test_adapters_of_quantised_weights_are_merged_onto_a_full_precision_copy_of_the_base(tiny_llama_dir):
    model, tokenizer, kind, examples, _ = _train(tiny_llama_dir)
    assert not g.is_quantized(model)
    in_place = g.merge_adapters(copy.deepcopy(model), str(tiny_llama_dir))  # plain weights: merged in place
    assert not any("lora_" in n for n, _ in in_place.named_parameters())
    # A 4-bit base needs a CUDA GPU, so mark the base as transformers marks a quantised model and change
    # its frozen weights as rounding to 4 bits would: the merge must not add the update into them.
    base = model.get_base_model()
    base.hf_quantizer = object()
    assert g.is_quantized(model)
    with torch.no_grad():
        next(p for n, p in base.named_parameters() if n.endswith("q_proj.base_layer.weight")).mul_(0.0)
    onto_copy = g.merge_adapters(model, str(tiny_llama_dir))
    batch = g.collate_for_training(tokenizer, examples[:3])
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        expected, got = in_place(**inputs).logits, onto_copy(**inputs).logits
    assert torch.allclose(expected, got, atol=1e-5)  # the fresh full-precision base, plus the same adapters
    assert getattr(onto_copy, "hf_quantizer", None) is None

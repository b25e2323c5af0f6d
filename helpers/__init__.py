"""The helper package behind the notebooks: every piece of logic worth testing lives here.

Two layers (checked by the import-linter contracts in ``pyproject.toml``):

``helpers.core``
    Shared machinery that never imports a family: task folders (``tasks``), model names with or
    without a hub (``models``), frozen sentence embeddings (``embeddings``), the Trainer run
    (``training``), LoRA (``lora``), metrics, the one evaluation result type and comparison table
    (``evaluation``), plots, timing, CSV scoring in chunks (``streaming``), notebook set-up and the
    run record behind ``metrics.json`` (``notebook``), export folders and tarballs (``export``,
    ``errors``), ONNX Runtime variants (``onnx``) and their quality gate (``variants``), and text
    utilities (``text``: yes/no questions, paragraphs and sentences).

The families, one module each, named as their notebooks are
    ``classification``, ``question_answering`` (extractive), ``generative_qa``,
    ``context_relevance`` and, on top of the QA families and the retriever, ``open_book_qa``.
    Each says what is public (``__all__``), exports itself with ``export_<family>()`` (which writes
    the family's name and settings into ``export-info.json``) and owns its adapter to the quality
    gate (``variant_adapter``). ``synthetic_questions`` is the QA families' offline teacher, a
    subpackage split by concern (lexicon, answer candidates, cloze-to-question rewriting,
    generation).

``serving``
    Classification and extractive QA exports served with onnxruntime, tokenizers and numpy only:
    no torch, no transformers (an import-linter contract checks its whole import graph). It shares
    the families' prediction code through ``helpers.core.prediction``, ``graphs`` and ``folders``.

``python scripts/import_graph.py`` prints the import graph's levels and cycles.
"""

__version__ = "0.1.0"

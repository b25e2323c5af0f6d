"""Shared machinery below every family; nothing in here imports a family (import-linter checks it).

``tasks`` (load and validate a task folder), ``models`` (model names with or without a hub),
``embeddings`` (frozen sentence embeddings), ``training`` (Trainer settings, datasets, batching),
``lora``, ``metrics`` (classification, SQuAD EM/F1, ROUGE-L), ``evaluation`` (the one result
type and comparison table), ``plots``, ``timing``, ``streaming`` (CSVs scored chunk by chunk),
``notebook`` (set-up, papermill, the run record), ``errors``, ``files`` (the modes of written
files), ``export`` (writing model folders and tarballs, loading them into PyTorch), ``folders``
(finding, checking and unpacking exports), ``onnx`` (ONNX Runtime variants: writing, quantising,
models that answer like transformers ones), ``graphs`` (a variant's file, session and checks),
``variants`` (the variant quality gate) and ``text`` (yes/no questions, sentence and paragraph
splitting). ``folders`` and ``graphs`` import neither torch nor transformers, for
:mod:`helpers.serving`.
"""

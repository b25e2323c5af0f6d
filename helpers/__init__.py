"""The thin helper package behind the fine-tuning notebooks.

One module per concern: ``tasks`` (load and validate a task folder), ``models``
(resolve a model name with or without the hub), ``embeddings`` (frozen sentence
embeddings), ``classification`` (teacher, student, distillation, deployment),
``metrics``, ``plots``, ``export`` and ``timing``.
"""

__version__ = "0.1.0"

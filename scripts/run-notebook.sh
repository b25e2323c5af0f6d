#!/usr/bin/env bash
# Execute notebooks/<name>.ipynb headlessly with papermill, from the notebooks folder (so the
# notebook's relative defaults such as DATA_DIR="../data-banking-routing" hold).
# The executed notebook, with all its outputs, goes to outputs/<name>/<name>.ipynb.
# Usage: scripts/run-notebook.sh classification-training [-p DATA_DIR /abs/path ...]
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/run-notebook.sh <notebook name without .ipynb> [papermill options]}"
shift
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TOKENIZERS_PARALLELISM=false
mkdir -p "outputs/$name"
exec "${PYTHON:-python3}" -m papermill "notebooks/$name.ipynb" "outputs/$name/$name.ipynb" \
  --cwd notebooks -k python3 --log-level WARNING "$@"

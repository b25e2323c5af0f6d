#!/usr/bin/env bash
# The test command: unit tests, notebook runs with papermill, and the slow tests on the
# real packaged model; it lists the 25 slowest at the end. Extra arguments go to pytest (e.g. -m "not slow" for a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 WANDB_MODE=disabled TOKENIZERS_PARALLELISM=false
exec "${PYTHON:-python3}" -m pytest -ra --durations=25 "$@"

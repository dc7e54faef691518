#!/usr/bin/env bash
# The README's first command: set up, then run the whole system with simulators until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/yiwang run "$@"

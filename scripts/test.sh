#!/usr/bin/env bash
# The README's second command (and CI's): set up, check style and types, run every test against
# a real TimescaleDB and Mosquitto that the test fixtures start on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
echo "== ruff";  .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy";  .venv/bin/mypy
echo "== import contract (pyproject.toml [tool.importlinter])"; .venv/bin/lint-imports --no-cache
echo "== pytest"; .venv/bin/pytest "$@"

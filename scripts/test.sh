#!/usr/bin/env bash
# Set up a virtual environment with juece and its test dependencies, run the type checker (mypy, configured in
# pyproject.toml: a type error fails the run), then the test suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh --run-slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest "$@"

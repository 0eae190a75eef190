#!/usr/bin/env bash
# ruff (lint and format) and mypy over the workspace: `./mash lint`; `./mash test` with no arguments runs it first.
# mypy: the libraries strictly (pyproject.toml), every service as it is; a new service or desk is found by its folder.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin="$root/.venv/bin"
"$bin/ruff" check libs services deploy tests
"$bin/ruff" format --check --quiet libs services deploy tests
packages=(-p mash_contracts -p mash_runtime -p mash_desk)
paths=(libs/contracts libs/runtime libs/desk)
for init in services/*/mash_*/__init__.py; do
  dir=$(dirname "$init")
  packages+=(-p "$(basename "$dir")")
  paths+=("$(dirname "$dir")")
done
MYPYPATH=$(IFS=:; echo "${paths[*]}") "$bin/mypy" --python-executable "$bin/python" "${packages[@]}"

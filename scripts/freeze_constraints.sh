#!/usr/bin/env bash
# Writes constraints.txt: the versions of a clean install of the project's dependencies ('.[dev]'), from
# `pip freeze` of a fresh virtual environment, the project itself left out. Run it after changing pyproject.toml.
set -euo pipefail
python=${1:-python3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --upgrade pip
"$scratch/venv/bin/python" -m pip install --quiet '.[dev]'
{
  echo "# pip freeze of a clean install of '.[dev]' (scripts/freeze_constraints.sh); make install uses it with -c."
  "$scratch/venv/bin/python" -m pip freeze --exclude-editable | grep -vi '^analytics[-_]dagster[= @]'
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pinned packages"

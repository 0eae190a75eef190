#!/usr/bin/env bash
# Installs what the project needs into .venv, once; re-runs only when a pyproject or the pins change.
# Java 17 and Maven must be on the machine (Kafka's jars are fetched by `mash kafka start` via mvn).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
python=${MASH_PYTHON:-$(command -v python3.11 || command -v python3)}

for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "setup: '$tool' is required (Java 17 and Maven run the embedded Kafka broker)" >&2; exit 1; }
done
command -v npm >/dev/null || { echo "setup: 'npm' is required (it vendors GOV.UK Frontend and axe-core into services/web)" >&2; exit 1; }

packages=(libs/contracts libs/runtime libs/desk services/intake services/police_desk services/health_desk services/social_care services/education_desk services/probation_desk services/adult_social_care_desk services/decision services/analysis services/web deploy/cli deploy/tools)
stamp=$(cd "$root" && cat constraints.txt requirements-dev.txt "${packages[@]/%//pyproject.toml}" services/web/package-lock.json | sha256sum | cut -c1-16)
if [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$stamp" ] && [ -x "$venv/bin/python" ] \
  && [ -f "$root/services/web/mash_web/static/govuk-frontend.min.css" ]; then
  exit 0
fi

echo "setup: installing the workspace into $venv ..." >&2
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"

editable=()
for p in "${packages[@]}"; do editable+=(-e "$root/$p"); done
PYTHONWARNINGS=ignore "$venv/bin/python" -m pip install -q --disable-pip-version-check -c "$root/constraints.txt" "${editable[@]}" -r "$root/requirements-dev.txt"

# The web front door's assets come from npm (pinned by package-lock.json) and are copied beside its code, never committed.
web="$root/services/web"
(cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2)
govuk="$web/node_modules/govuk-frontend/dist/govuk"
static="$web/mash_web/static"
mkdir -p "$static"
rm -rf "$static/assets"
cp "$govuk/govuk-frontend.min.css" "$govuk/govuk-frontend.min.js" "$static/"
cp -R "$govuk/assets" "$static/assets"
echo "$stamp" > "$venv/.stamp"

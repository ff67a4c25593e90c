#!/usr/bin/env bash
# Rewrites every src/*/PublicAPI.Unshipped.txt from the code (nothing has shipped yet, so all of it is "unshipped").
# Run it after a deliberate change of the public surface, then review the diff: that diff is the API review.
set -euo pipefail
cd "$(dirname "$0")/.."
for project in src/*/*.csproj; do
  dir=$(dirname "$project")
  printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
  dotnet format analyzers "$project" --diagnostics RS0016 --severity info -v q
  echo "$(grep -vc '^#' "$dir/PublicAPI.Unshipped.txt") public symbols in $dir"
done

#!/usr/bin/env bash
# Builds the documentation site (docs/*.md and the API reference of the four library packages under src/) with docfx,
# the version pinned in .config/dotnet-tools.json. Any docfx warning (a broken link, an invalid cross reference, a project
# that does not load) fails the build. Needs no network beyond the NuGet restore; the site is written to docs/_site/.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet tool restore
# docs/api/ is generated (git-ignored): start clean so that a removed type leaves no stale page behind.
rm -rf docs/api docs/_site
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# metadata (docs/api/*.yml from the projects' XML docs) then build; --warningsAsErrors makes docfx exit non-zero on a warning.
rc=0
dotnet docfx docs/docfx.json --warningsAsErrors 2>&1 | tee "$log" || rc=$?
# Belt and braces: docfx's closing summary must also count no warning and no error.
if [ "$rc" -ne 0 ] || ! grep -qE '^ +0 warning\(s\)$' "$log" || ! grep -qE '^ +0 error\(s\)$' "$log"; then
  echo "[docs] failed (docfx exit $rc): fix the warnings and errors above" >&2
  exit 1
fi
echo "[docs] site: $PWD/docs/_site/index.html"

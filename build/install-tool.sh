#!/usr/bin/env bash
# Puts registry-policy on PATH from this checkout, with only the .NET SDK: packs the tool into a local source
# (artifacts/tool/) and installs it as a .NET tool, or updates an earlier install.
#   bash build/install-tool.sh                      # global tool (~/.dotnet/tools must be on PATH)
#   bash build/install-tool.sh --tool-path DIR      # into DIR instead
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
where=(--global)
if [ "${1:-}" = "--tool-path" ]; then
  [ -n "${2:-}" ] || { echo "usage: $0 [--tool-path DIR]" >&2; exit 2; }
  where=(--tool-path "$2")
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--tool-path DIR]" >&2; exit 2
fi
out="$PWD/artifacts/tool"
rm -rf "$out"
dotnet pack src/RegistryPolicy.Cli -c Release -o "$out" -nologo -v q
package=$(ls "$out"/RegistryPolicy.Cli.*.nupkg | head -n 1)
version=$(basename "$package" .nupkg); version=${version#RegistryPolicy.Cli.}
dotnet tool install "${where[@]}" --add-source "$out" RegistryPolicy.Cli --version "$version" 2>/dev/null ||
  dotnet tool update "${where[@]}" --add-source "$out" RegistryPolicy.Cli --version "$version"
if [ "${where[0]}" = "--global" ]; then dir="$HOME/.dotnet/tools"; else dir="${where[1]}"; fi
echo "registry-policy $version installed in $dir"
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "note: $dir is not on PATH; add it:  export PATH=\"$dir:\$PATH\"" ;;
esac
echo "try: registry-policy doctor -f samples/kyma-cluster.yaml"

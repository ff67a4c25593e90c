#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser with SharpFuzz and AFL++ (docs/testing.md, "Fuzzing").
#
#   bash fuzz/run.sh                    every target; FUZZ_SECONDS (default 600) split evenly across them
#   bash fuzz/run.sh all 1800           every target, 1800 s in all
#   bash fuzz/run.sh TARGET [SECONDS]   one target (default: the whole FUZZ_SECONDS)
#
# Builds fuzz/RegistryPolicy.Fuzz in Release, copies the output under $FUZZ_OUT (default $TMPDIR/registry-policy-fuzz),
# instruments the copy's RegistryPolicy.dll and YamlDotNet.dll with the sharpfuzz tool (installed once under the fuzz
# project's bin/), and runs afl-fuzz on one target at a time, seeded from fuzz/corpus/TARGET, with the dictionary of its
# format from fuzz/dictionaries. After each target it prints
# one summary line from AFL's fuzzer_stats, and replays what AFL saved through an uninstrumented copy (exception, stack,
# inputs slower than 1 s). Exits 1 when any target saved a crash (and, with FUZZ_FAIL_ON_HANGS=1, a hang), 2 when
# afl-fuzz could not fuzz for an environmental reason: it never passes without having fuzzed.
#
# Other settings: FUZZ_TIMEOUT_MS (afl-fuzz -t, default 5000: a new .NET child process must start within it after every
# crash), FUZZ_SLOW_MS (default 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

target_arg=${1:-all}
seconds_arg=${2:-}
work=${FUZZ_OUT:-${TMPDIR:-/tmp}/registry-policy-fuzz}
timeout_ms=${FUZZ_TIMEOUT_MS:-5000}
slow_ms=${FUZZ_SLOW_MS:-1000}
sharpfuzz_version=2.3.0

die() { echo "[fuzz] error: $*" >&2; exit 2; }
trap 'echo "[fuzz] error: line $LINENO failed unexpectedly (exit $?)" >&2' ERR

case "$work" in "$repo"|"$repo"/*) die "FUZZ_OUT ($work) must be outside the repository";; esac
command -v dotnet >/dev/null || die "dotnet not found on PATH"
command -v afl-fuzz >/dev/null || die "afl-fuzz not found on PATH (Debian package afl++; .ci/run installs it)"

# 1. Build, and make two copies of the output: one to instrument, one to replay findings with (line numbers intact).
project=fuzz/RegistryPolicy.Fuzz
echo "[fuzz] building $project (Release)"
dotnet build "$project" -c Release -nologo -clp:ErrorsOnly >/dev/null || { dotnet build "$project" -c Release -nologo -clp:ErrorsOnly || true; die "the fuzz project does not build"; }
output="$project/bin/Release/net10.0"
[ -f "$output/RegistryPolicy.Fuzz.dll" ] || die "$output/RegistryPolicy.Fuzz.dll was not built"
mkdir -p "$work"
rm -rf "$work/instrumented" "$work/plain"
cp -r "$output" "$work/instrumented"
cp -r "$output" "$work/plain"

# 2. Instrument with the sharpfuzz tool (a dotnet tool; installed from the NuGet feed into a tool path under bin/).
tools="$repo/$project/bin/tools"
if [ ! -x "$tools/sharpfuzz" ]; then
  echo "[fuzz] installing SharpFuzz.CommandLine $sharpfuzz_version into $tools"
  dotnet tool install SharpFuzz.CommandLine --version "$sharpfuzz_version" --tool-path "$tools" >/dev/null \
    || die "could not install the dotnet tool SharpFuzz.CommandLine $sharpfuzz_version"
fi
for assembly in RegistryPolicy.dll RegistryPolicy.AspNetCore.dll RegistryPolicy.Kubernetes.dll YamlDotNet.dll; do
  "$tools/sharpfuzz" "$work/instrumented/$assembly" || die "sharpfuzz could not instrument $assembly"
done
# The harness's own checks too (only the Targets class, never Program: nothing instrumented may run before the fork
# server attaches the coverage map). Otherwise a broken contract adds no coverage of its own, and AFL drops it as a
# crash it has already seen whenever the library code it ran is the same.
"$tools/sharpfuzz" "$work/instrumented/RegistryPolicy.Fuzz.dll" RegistryPolicy.Fuzz.Targets || die "sharpfuzz could not instrument the fuzz targets"
echo "[fuzz] instrumented RegistryPolicy.dll, RegistryPolicy.AspNetCore.dll, RegistryPolicy.Kubernetes.dll, YamlDotNet.dll and the Targets class in $work/instrumented"

# 3. Which targets, and for how long each.
mapfile -t all_targets < <(dotnet "$work/plain/RegistryPolicy.Fuzz.dll" list)
[ "${#all_targets[@]}" -gt 0 ] || die "the fuzz program lists no targets"
if [ "$target_arg" = all ]; then
  targets=("${all_targets[@]}")
  total=${seconds_arg:-${FUZZ_SECONDS:-600}}
  per=$(( total / ${#targets[@]} ))
else
  known=0
  for t in "${all_targets[@]}"; do [ "$t" = "$target_arg" ] && known=1; done
  [ "$known" = 1 ] || die "unknown target '$target_arg'; targets: ${all_targets[*]}"
  targets=("$target_arg")
  per=${seconds_arg:-${FUZZ_SECONDS:-600}}
fi
[ "$per" -ge 10 ] || die "$per s per target is too short to fuzz (the .NET fork server alone takes seconds to start)"

# AFL++ in a container, as root: core_pattern may be unwritable (and piped), the CPU governor unreadable, and the other
# core busy with someone else's build, so none of those checks may stop it. The target is 'dotnet', not an
# AFL-instrumented ELF: SharpFuzz's fork server speaks AFL's protocol on fds 198/199 itself.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
export AFL_FORKSRV_INIT_TMOUT=${AFL_FORKSRV_INIT_TMOUT:-60000} AFL_SKIP_CRASHES=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

stat_of() { [ -f "$2" ] && awk -F' *: *' -v k="$1" '$1 == k { print $2; exit }' "$2" || true; }

failed=0
crashed=()
echo "[fuzz] ${#targets[@]} target(s), $per s each, afl-fuzz -t $timeout_ms; output under $work/findings"
for target in "${targets[@]}"; do
  seeds="$repo/fuzz/corpus/$target"
  [ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ] || die "no seed corpus in fuzz/corpus/$target"
  dictionary=()
  case "$target" in
    snapshot-json*|watch-event) dictionary=(-x "$repo/fuzz/dictionaries/kubernetes-json.dict") ;;
    snapshot-yaml|policy|changes|test-suite|kubeconfig) dictionary=(-x "$repo/fuzz/dictionaries/kubernetes-yaml.dict") ;;
    swap-map|mirror-registries|registry-info) dictionary=(-x "$repo/fuzz/dictionaries/image-swap.dict") ;;
    dockerconfigjson) dictionary=(-x "$repo/fuzz/dictionaries/dockerconfigjson.dict") ;;
    image-reference) dictionary=(-x "$repo/fuzz/dictionaries/image-reference.dict") ;;
    admission-review) dictionary=(-x "$repo/fuzz/dictionaries/admission-review.dict") ;;
  esac
  out="$work/findings/$target"
  rm -rf "$out"
  mkdir -p "$out"
  log="$out.log"
  set +e
  timeout --signal=INT --kill-after=30 $(( per + 300 )) \
    afl-fuzz -i "$seeds" -o "$out" "${dictionary[@]}" -t "$timeout_ms" -m none -V "$per" -- "$(command -v dotnet)" "$work/instrumented/RegistryPolicy.Fuzz.dll" "$target" \
    </dev/null >"$log" 2>&1
  rc=$?
  set -e
  stats="$out/default/fuzzer_stats"
  execs=$(stat_of execs_done "$stats")
  if [ "$rc" -ne 0 ] || [ -z "$execs" ] || [ "$execs" = 0 ]; then
    echo "[fuzz] afl-fuzz could not fuzz target $target (exit $rc, execs_done '${execs:-none}'); the end of $log:" >&2
    { grep -v '^\s*$' "$log" || true; } | tail -n 25 >&2
    exit 2
  fi

  crashes=$(stat_of saved_crashes "$stats"); crashes=${crashes:-$(stat_of unique_crashes "$stats")}
  hangs=$(stat_of saved_hangs "$stats"); hangs=${hangs:-$(stat_of unique_hangs "$stats")}
  # What AFL saved, replayed without instrumentation: exceptions with file:line, and inputs slower than FUZZ_SLOW_MS.
  replay="$out.replay"
  dotnet "$work/plain/RegistryPolicy.Fuzz.dll" replay "$target" "$out/default/queue" "$out/default/crashes" "$out/default/hangs" \
    --slow-ms "$slow_ms" >"$replay" 2>&1 || true
  slow=$(grep -c '^SLOW' "$replay" || true)
  echo "target=$target execs_done=$execs execs_per_sec=$(stat_of execs_per_sec "$stats") saved_crashes=${crashes:-0} saved_hangs=${hangs:-0} slow_inputs=$slow"
  if [ "${crashes:-0}" -gt 0 ] || [ "$slow" -gt 0 ]; then
    # One line per distinct signature (awk reads to the end: no SIGPIPE, which pipefail and set -e would make fatal).
    awk '/^distinct findings:/ { on = 1 } on && n++ < 60 { print "    " $0 }' "$replay"
    echo "    (all of it: $replay; inputs: $out/default/crashes, $out/default/hangs)"
  fi
  if [ "${crashes:-0}" -gt 0 ] || { [ "${FUZZ_FAIL_ON_HANGS:-0}" = 1 ] && [ "${hangs:-0}" -gt 0 ]; }; then
    failed=1
    crashed+=("$target")
  fi
done

if [ "$failed" -ne 0 ]; then
  echo "[fuzz] FAILED: findings in ${crashed[*]}. Minimise each with" \
    "'dotnet $work/plain/RegistryPolicy.Fuzz.dll minimize TARGET CRASH fuzz/regressions/TARGET/NAME' and commit it (docs/testing.md)." >&2
  exit 1
fi
echo "[fuzz] no crashes"

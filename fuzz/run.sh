#!/usr/bin/env bash
# Coverage-guided fuzzing of Harness's readers (fuzz/README.md): builds the fuzz targets in Release into a fresh
# folder, instruments Harness's libraries with SharpFuzz, writes the seeds, and runs Debian's afl-fuzz on each target.
#   bash fuzz/run.sh TARGET|all [--seconds N] [--jobs J]     (targets: bash fuzz/run.sh list)
# Prints execs, corpus, edges and findings per target; a finding's input is replayed through the contract and its
# file named. Work folder: $FUZZ_WORK (default /tmp/harness-fuzz); sample data: $HARNESS_SAMPLE (../shared).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_WORK:-/tmp/harness-fuzz}
sample=${HARNESS_SAMPLE:-$repo/../shared/cifar10-sample}
jpeg=${HARNESS_JPEG:-$repo/../shared/cifar10-jpeg}
seconds=60 jobs=1 which=
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -*) echo "error: unknown option $1 (--seconds N, --jobs J)" >&2; exit 2 ;;
    *) which=$1; shift ;;
  esac
done
[ -n "$which" ] || { echo "usage: bash fuzz/run.sh TARGET|all|list [--seconds N] [--jobs J]" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 5 ]] || { echo "error: --seconds must be a whole number ≥ 5 (got $seconds)" >&2; exit 2; }
[[ $jobs =~ ^[1-8]$ ]] || { echo "error: --jobs must lie in 1..8 (got $jobs)" >&2; exit 2; }
command -v afl-fuzz >/dev/null || { echo "error: afl-fuzz not found (apt-get install afl++)" >&2; exit 2; }
export PATH=$PATH:$HOME/.dotnet/tools
command -v sharpfuzz >/dev/null || dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0 >/dev/null \
  || { echo "error: the sharpfuzz tool is missing and could not be installed" >&2; exit 2; }

stamp=$(date +%Y%m%d-%H%M%S)
# bin: instrumented, for afl-fuzz only (instrumented code needs afl-fuzz's shared memory); plain: the same build
# uninstrumented, which writes the seeds and replays findings.
bin=$work/$stamp/bin plain=$work/$stamp/plain seeds=$work/$stamp/seeds findings=$work/$stamp/findings
mkdir -p "$work/$stamp/findings"
echo "work folder $work/$stamp; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet publish "$repo/fuzz/Harness.Fuzz" -c Release -o "$plain" -v q >/dev/null || { echo "error: build failed" >&2; exit 1; }
if [ "$which" = list ]; then dotnet "$plain/harness-fuzz.dll" list; exit 0; fi
cp -r "$plain" "$bin"
# Only Harness's own libraries are instrumented (not the fuzz program, SharpFuzz, dnlib or the runtime), once each.
for dll in "$bin"/Harness.*.dll; do sharpfuzz "$dll" >/dev/null || { echo "error: sharpfuzz failed on $dll" >&2; exit 1; }; done
dotnet "$plain/harness-fuzz.dll" seeds "$seeds" || exit 1
/usr/bin/python3 "$repo/fuzz/seeds.py" "$seeds" "$([ -d "$sample" ] && echo "$sample")" >/dev/null 2>&1 \
  || echo "note: fuzz/seeds.py did not run (Debian's python3-torch, python3-torchvision, python3-onnx); Harness's own seeds only"
cp "$repo"/configs/*.json "$seeds/study-config/" 2>/dev/null
[ -d "$jpeg" ] && find "$jpeg" -name '*.jpg' | head -3 | while read -r f; do cp "$f" "$seeds/image/cifar-$(basename "$f")"; done
mkdir -p "$seeds/cifar-binary" "$seeds/cifar-python"
[ -n "$(ls -A "$seeds/cifar-binary")" ] || head -c 3073 /dev/zero >"$seeds/cifar-binary/zero.bin"
[ -n "$(ls -A "$seeds/cifar-python")" ] || cp "$seeds/pickle/"* "$seeds/cifar-python/"

targets=$(dotnet "$plain/harness-fuzz.dll" list | cut -f1)
[ "$which" = all ] || { echo "$targets" | grep -qx "$which" || { echo "error: no fuzz target '$which' (targets: $(echo $targets))" >&2; exit 2; }; targets=$which; }

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FORKSRV_INIT_TMOUT=60000
export DOTNET_GCHeapHardLimit=0x60000000 DOTNET_TieredPGO=0
fuzz_one() { # the target's dictionary: generated (seeds/dict) or committed (fuzz/dict)
  local t=$1 name dict=()
  name=$(dotnet "$plain/harness-fuzz.dll" list | awk -F'\t' -v t="$t" '$1 == t {print $2}')
  for d in "$seeds/dict/$name" "$repo/fuzz/dict/$name"; do [ "$name" != - ] && [ -f "$d" ] && { dict=(-x "$d"); break; }; done
  afl-fuzz -i "$seeds/$t" -o "$findings/$t" -t 3000 -m none -V "$seconds" "${dict[@]}" -- /usr/bin/dotnet "$bin/harness-fuzz.dll" run "$t" \
    >"$work/$stamp/$t.log" 2>&1
}
running=0
for t in $targets; do
  fuzz_one "$t" &
  running=$((running + 1))
  [ "$running" -ge "$jobs" ] && { wait -n; running=$((running - 1)); }
done
wait

printf '%-14s %10s %8s %7s %12s %8s %6s\n' target execs exec/s corpus edges crashes hangs
open=0
for t in $targets; do
  s=$findings/$t/default/fuzzer_stats
  if [ ! -f "$s" ]; then printf '%-14s did not run: %s\n' "$t" "$(tail -2 "$work/$stamp/$t.log" | tr '\n' ' ')"; open=$((open + 1)); continue; fi
  v() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$s"; }
  printf '%-14s %10s %8s %7s %12s %8s %6s\n' "$t" "$(v execs_done)" "$(v execs_per_sec)" "$(v corpus_count)" \
    "$(v edges_found)/$(v total_edges)" "$(v saved_crashes)" "$(v saved_hangs)"
  for kind in crashes hangs; do
    for f in "$findings/$t/default/$kind"/id:*; do
      [ -f "$f" ] || continue
      open=$((open + 1))
      echo "  $kind: $f"
      timeout 60 dotnet "$plain/harness-fuzz.dll" replay "$t" "$f" 2>/dev/null | head -3 | sed 's/^/    /'
    done
  done
done
echo "findings: $open (work folder $work/$stamp)"
[ "$open" -eq 0 ]

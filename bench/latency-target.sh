#!/usr/bin/env bash
# Pruning to a measured latency (prune channel --target-latency), checked in a process of its own:
# for each network, batch size and target, prune to the target (ONNX Runtime, float, 224 px, --threads), find the
# uniform ratio that meets the same target (--compare-uniform), then re-measure the pruned network against its base
# with `bench onnx --pruned` in a separate process. Prints one markdown table.
#   bash bench/latency-target.sh [OUT_DIR]        (ARCHS, BATCHES, TARGETS, THREADS, RUNTIME, HARNESS override)
# SMOKE=1: one small case (ResNet-18, batch 1, target 0.5, a throw-away cache) to check that the script runs.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-latency-target-results}"
harness="${HARNESS:-}"
if [[ -z "$harness" ]]; then
  dotnet publish "$here/src/Cli" -c Release -o "$out/bin" >/dev/null
  harness="$out/bin/harness"
fi
archs="${ARCHS:-efficientnet_b0 resnet18 mobilenet_v2}"
batches="${BATCHES:-1 32}"
targets="${TARGETS:-0.5 0.3}"
threads="${THREADS:-2}"
runtime="${RUNTIME:-onnx}"
cache=()
if [[ "${SMOKE:-0}" == 1 ]]; then archs=resnet18; batches=1; targets=0.5; cache=(--latency-cache "$out/cache"); fi
mkdir -p "$out"
rows="$out/rows.md"
: > "$rows"
for arch in $archs; do
  for b in $batches; do
    for t in $targets; do
      name="${arch}_${t}_${runtime}_b${b}"
      echo "== $name" >&2
      if ! "$harness" prune channel --weights none --arch "$arch" --target-latency "$t" --runtime "$runtime" --batch-size "$b" \
        --threads "$threads" --compare-uniform --out "$out/$name.pth" --force --json "${cache[@]}" > "$out/$name.json" 2> "$out/$name.log"; then
        echo "| $arch | $b | $t | failed: $(grep -v NNPACK "$out/$name.log" | tail -1) |" >> "$rows"
        continue
      fi
      "$harness" bench onnx --arch "$arch" --pruned "$out/$name.pth" --batch-sizes "$b" --no-eager --no-int8 --threads "$threads" \
        --runs "$([[ $b == 1 ]] && echo 60 || echo 40)" --json > "$out/$name.bench.json" 2>> "$out/$name.log"
      python3 - "$out/$name.json" "$out/$name.bench.json" "$arch" "$b" "$t" >> "$rows" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); bench = json.load(open(sys.argv[2]))
lat, uni = p["latency"], p["uniform"]
base = next(r for r in bench["rows"] if r["model"] == "base")
pr = next(r for r in bench["rows"] if r["model"] != "base")
again = pr["onnxRuntimeMs"] / base["onnxRuntimeMs"]
ok = "yes" if again <= lat["targetFraction"] * (1 + lat["tolerance"]) else "NO"
reached = "" if uni["measuredFraction"] <= lat["targetFraction"] else " (not reached)"
print(f"| {sys.argv[3]} | {sys.argv[4]} | {float(sys.argv[5]):g} | {lat['measuredFraction']:.3f} | {again:.3f} | {ok} | "
      f"{lat['macs'] / lat['baseMacs']:.3f} | {p['parametersAfter'] / 1e6:.2f} M | {len(lat['attempts']) - 2} | "
      f"{lat['importanceRemoved']:.0f} | "
      f"{uni['ratio']:.3f} | {uni['measuredFraction']:.3f}{reached} | {uni['macs'] / lat['baseMacs']:.3f} | {uni['parameters'] / 1e6:.2f} M | {uni['importanceRemoved']:.0f} | "
      f"{'cache' if lat['tableFromCache'] else 'measured'} |")
PY
    done
  done
done
echo "ONNX Runtime float, 224 px, $threads threads, $runtime; latency as a fraction of the base network's, timed side by side"
echo "| network | batch | target | measured in the search | re-measured (bench onnx, own process) | ≤ target + 5 % | MACs kept | parameters | allocations measured | importance removed | uniform ratio | uniform measured | uniform MACs kept | uniform parameters | uniform importance removed | latency model |"
echo "| --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
cat "$rows"

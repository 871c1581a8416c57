#!/usr/bin/env bash
# Builds evsnn at an earlier revision beside this tree and times both on the
# same input in one run: `evsnn bench` (inference of the paper network,
# event engine, images/s at T = 5 and 20) and `evsnn bench --train` (event
# trainer, samples/s), alternating old and new R times so that the shared
# machine's load falls on both alike; prints every run and the medians'
# ratio new / old.
# Usage: bench/compare-versions.sh [REV] [R]   (REV default de554c8, the last
# commit of version 0.1.0 before networks became graphs; R default 5)
# Needs a built tree in build/ (scripts/quickstart test makes one).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-de554c8}
runs=${2:-5}
new=$PWD/build/evsnn
[ -x "$new" ] || { echo "compare-versions: build/evsnn missing: run scripts/quickstart test first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "compare-versions: building $rev in $work" >&2
git archive "$rev" | tar -x -C "$work"
(cd "$work" && ./autogen.sh >/dev/null 2>&1 && mkdir build && cd build && ../configure -q >/dev/null &&
  make -s -j"$(nproc)" evsnn >/dev/null 2>&1)
old=$work/build/evsnn
data=${EVSNN_DATA:-datasets/mnist}
cg_data=datasets/sample # callgrind: the small committed sample, read in seconds
[ -d "$data" ] || data=datasets/sample

# infer BIN: "img/s at T=5, img/s at T=20" of the event engine.
infer() { "$1" bench --data "$data" --threads 2 --repeat 1 --steps 5,20 2>/dev/null |
  awk '$1 == 5 || $1 == 20 { printf "%s ", $2 }'; }
# train BIN: samples/s of the event trainer.
train() { "$1" bench --train --data "$data" --batches 20 --repeat 1 --threads 2 2>/dev/null |
  awk '$1 == "event" && $2 ~ /^[0-9]/ { print $2 }'; }

: >"$work/old.txt"; : >"$work/new.txt"
for r in $(seq "$runs"); do
  for v in old new; do
    bin=$old; [ $v = new ] && bin=$new
    line="$(infer "$bin")$(train "$bin")"
    echo "run $r $v: T5 img/s, T20 img/s, train samples/s: $line"
    echo "$line" >>"$work/$v.txt"
  done
done
# With CALLGRIND=1, also the instructions each spends on the same small
# inference and training runs (valgrind --tool=callgrind): repeatable
# whatever the machine's load.
if [ "${CALLGRIND:-0}" = 1 ]; then
  for v in old new; do
    bin=$old; [ $v = new ] && bin=$new
    for what in "bench --limit 300 --steps 5 --repeat 1" "bench --train --batches 4 --repeat 1"; do
      EVSNN_KERNELS=avx2 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" $what --data "$cg_data" --threads 1 \
        >/dev/null 2>"$work/cg.txt" || true
      echo "callgrind $v, $what: $(grep -o 'refs: *[0-9,]*' "$work/cg.txt" | tr -d ', ' | cut -d: -f2) instructions"
    done
  done
fi
median() { sort -n | awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for col in 1 2 3; do
  name=$(echo "inference-T5 inference-T20 training" | cut -d' ' -f$col)
  o=$(cut -d' ' -f$col "$work/old.txt" | median)
  n=$(cut -d' ' -f$col "$work/new.txt" | median)
  awk -v name="$name" -v o="$o" -v n="$n" 'BEGIN { printf "%-16s old %10.0f  new %10.0f  new/old %.3f\n", name, o, n, n / o }'
done

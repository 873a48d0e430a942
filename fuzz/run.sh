#!/bin/bash
# Run one libFuzzer target for a bounded time (make fuzz, make fuzz-ci).
#   fuzz/run.sh build/fuzz/fuzz_scheme SECONDS
#
# Every seed of fuzz/corpus/<target> (the regression inputs included) runs
# first; new inputs go to build/fuzz/corpus/<target>, crashes to
# build/fuzz/crashes/<target>-*; a crash, a leak, a sanitizer report or a
# failed check fails the run.  fuzz/<target>.dict is used when present.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$1
secs=${2:-60}
name=$(basename "$bin")
seeds=fuzz/corpus/$name
work=build/fuzz/corpus/$name
crashes=build/fuzz/crashes

if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "apisec: no seeds in $seeds" >&2
    exit 1
fi

mkdir -p "$work" "$crashes"

dict=()
if [ -f "fuzz/$name.dict" ]; then
    dict=(-dict="fuzz/$name.dict")
fi

echo "== $name: $(ls "$seeds" | wc -l) seeds, ${secs}s"

# -timeout: one input taking more than 10 s is a hang; -rss_limit_mb: a
# runaway allocation is a bug too; -max_len: the largest seed is far below
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1

if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -print_final_stats=1 \
        -artifact_prefix="$crashes/$name-" "${dict[@]}" \
        "$work" "$seeds" > "build/fuzz/$name.log" 2>&1
then
    tail -60 "build/fuzz/$name.log" >&2
    echo "apisec: FAIL: $name found a bug; the input is in $crashes" \
         "(reproduce: $bin $crashes/$name-...)" >&2
    exit 1
fi

grep -E '^stat::(number_of_executed_units|new_units_added)|^#[0-9]+.*DONE' \
    "build/fuzz/$name.log" | sed 's/^/   /' || true

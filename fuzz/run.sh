#!/usr/bin/env bash
# Fuzz one target (or `all`, one after another) with AFL++ for a number of executions
# (default 10,000,000), then print its execs_done, run time, paths found and crashes.
#
#   cargo install cargo-afl --locked && cargo afl config --build   # once: AFL++ 4.x
#   fuzz/run.sh chat_line               # 10 M executions of one target
#   fuzz/run.sh all 1000000             # every target, 1 M executions each
#
# Findings land in fuzz/out/<target>/default/{crashes,hangs}/ (git-ignored). A crash becomes a
# regression input in fuzz/regressions/<target>/ (run by `tests/it/fuzzing.rs`) and a unit test
# beside the code it fixes.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh <target|all> [executions]}
execs=${2:-10000000}
export CARGO_INCREMENTAL=0
cargo afl build --release --locked --quiet

targets=()
if [[ $target == all ]]; then
    for bin in src/bin/*.rs; do targets+=("$(basename "$bin" .rs)"); done
else
    targets=("$target")
fi

mkdir -p out
for t in "${targets[@]}"; do
    out=out/$t
    # A run that stopped half way goes on from its queue (`-i -`); a new one starts from the seeds.
    input=seeds/$t
    if [[ -f $out/default/fuzzer_stats ]]; then input=-; fi
    # No UI, no CPU pinning (the cores are shared), no core_pattern check; -E stops after about
    # $execs executions; -t: 1 s per input is a hang.
    AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 \
        AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SHUFFLE_QUEUE=1 \
        cargo afl fuzz -i "$input" -o "$out" -E "$execs" -t 1000 "target/release/$t" \
        > "out/$t.log" 2>&1 || { tail -20 "out/$t.log"; exit 1; }
    stats=$out/default/fuzzer_stats
    printf '%-24s' "$t"
    for key in execs_done run_time execs_per_sec corpus_count saved_crashes saved_hangs; do
        printf ' %s=%s' "$key" "$(awk -F' *: *' -v k="$key" '$1 == k {print $2}' "$stats")"
    done
    echo
done

#!/bin/sh
# run-fuzz.sh FUZZER ARTIFACT_DIR SEED_DIR...
#
# Runs a libFuzzer target for $FUZZ_SECONDS seconds (default 20) on a fresh
# corpus made of the JSON files under the SEED_DIRs (expected.json aside), each
# behind every one of the 16 selector bytes fuzz_normalize.c reads first, so
# every payload is tried as every forge and event. Exits non-zero when the
# fuzzer finds a crash, a leak, undefined behaviour or an input that runs too
# long; that input is left in ARTIFACT_DIR (replay: FUZZER ARTIFACT_DIR/crash-...).
set -eu

if [ "$#" -lt 3 ]; then
    echo "usage: run-fuzz.sh FUZZER ARTIFACT_DIR SEED_DIR..." >&2
    exit 2
fi
fuzzer=$1
artifacts=$2
shift 2
seconds=${FUZZ_SECONDS:-20}

corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-normalize.XXXXXX")
trap 'rm -rf "$corpus"' EXIT INT TERM

n=0
for f in $(find "$@" -name '*.json' ! -name expected.json | sort); do
    i=0
    while [ "$i" -lt 16 ]; do
        # The selector byte, written as an octal escape.
        # shellcheck disable=SC2059
        printf "\\$(printf '%03o' "$i")" >"$corpus/seed-$n-$i"
        cat "$f" >>"$corpus/seed-$n-$i"
        i=$((i + 1))
    done
    n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
    echo "run-fuzz.sh: no JSON files under $*" >&2
    exit 1
fi

mkdir -p "$artifacts"
echo "run-fuzz.sh: $n seeds x 16 selectors for ${seconds}s; findings go to $artifacts/"
# The fuzzer's exit status is the test's.
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus"

#!/bin/sh
# run-fuzz.sh FUZZER ARTIFACT_DIR SELECTORS GLOB SEED_DIR...
#
# Runs a libFuzzer target for $FUZZ_SECONDS seconds (default 20) on a fresh
# corpus made of the files matching GLOB under the SEED_DIRs (expected.json
# aside), each behind every one of the SELECTORS selector bytes the target
# reads first (fuzz_normalize.c: 16, each forge and event; fuzz_profile.c: 8, a
# Dockerfile and each kind of package-source file), so every seed is tried as
# each. Exits non-zero when the fuzzer finds a crash, a leak, undefined
# behaviour, an input that runs too long or takes too much memory; that input
# is left in ARTIFACT_DIR (replay: FUZZER ARTIFACT_DIR/crash-...).
set -eu

if [ "$#" -lt 5 ]; then
    echo "usage: run-fuzz.sh FUZZER ARTIFACT_DIR SELECTORS GLOB SEED_DIR..." >&2
    exit 2
fi
fuzzer=$1
artifacts=$2
selectors=$3
glob=$4
shift 4
seconds=${FUZZ_SECONDS:-20}
name=$(basename "$fuzzer")

corpus=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
trap 'rm -rf "$corpus"' EXIT INT TERM

n=0
for f in $(find "$@" -type f -name "$glob" ! -name expected.json | sort); do
    i=0
    while [ "$i" -lt "$selectors" ]; do
        # The selector byte, written as an octal escape.
        # shellcheck disable=SC2059
        printf "\\$(printf '%03o' "$i")" >"$corpus/seed-$n-$i"
        cat "$f" >>"$corpus/seed-$n-$i"
        i=$((i + 1))
    done
    n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
    echo "run-fuzz.sh: no files named $glob under $*" >&2
    exit 1
fi

mkdir -p "$artifacts"
echo "run-fuzz.sh: $name, $n seeds x $selectors selectors for ${seconds}s; findings go to $artifacts/"
# The fuzzer's exit status is the test's.
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus"

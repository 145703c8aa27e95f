#!/bin/sh
# run-fuzz-profile.sh FUZZER ARTIFACT_DIR SEED_DIR...
#
# Runs fuzz_profile for $FUZZ_SECONDS seconds (default 20) on a fresh corpus
# made of every file under the SEED_DIRs (the profile's fixtures), each behind
# every one of the 8 selector bytes fuzz_profile.c reads first, so every file is
# tried as a Dockerfile and as each kind of package-source file. Exits non-zero
# when the fuzzer finds a crash, a leak, undefined behaviour, an input that runs
# too long or takes too much memory; that input is left in ARTIFACT_DIR
# (replay: FUZZER ARTIFACT_DIR/crash-...).
set -eu

if [ "$#" -lt 3 ]; then
    echo "usage: run-fuzz-profile.sh FUZZER ARTIFACT_DIR SEED_DIR..." >&2
    exit 2
fi
fuzzer=$1
artifacts=$2
shift 2
seconds=${FUZZ_SECONDS:-20}

corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-profile.XXXXXX")
trap 'rm -rf "$corpus"' EXIT INT TERM

n=0
for f in $(find "$@" -type f | sort); do
    i=0
    while [ "$i" -lt 8 ]; do
        # shellcheck disable=SC2059
        printf "\\$(printf '%03o' "$i")" >"$corpus/seed-$n-$i"
        cat "$f" >>"$corpus/seed-$n-$i"
        i=$((i + 1))
    done
    n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
    echo "run-fuzz-profile.sh: no files under $*" >&2
    exit 1
fi

mkdir -p "$artifacts"
echo "run-fuzz-profile.sh: $n seeds x 8 readers for ${seconds}s; findings go to $artifacts/"
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus"

#!/usr/bin/env bash
# A newcomer's first run, timed: in a fresh clone in a temporary folder, with empty package caches
# and no uv on PATH (as on a new machine), `make local` until the article's curl first answers 200,
# and `make test` to its end. Prints each run and the median.
#
#   bench/first_run.sh [RUNS]        RUNS fresh clones each (default 3)
#   ONLY=local bench/first_run.sh    just the first curl (or ONLY=test)
#
# Targets on 2 cores: first curl <= 90 s, whole `make test` <= 5 minutes. Uses the ports of
# Pulumi.local.yaml, so stop a running `make local` first.
set -euo pipefail

RUNS=${1:-3}
ONLY=${ONLY:-both}
CURL_DEADLINE=600
REPO=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
URL="http://127.0.0.1:8000/local/predicted-ratings/321?items=101,131,162&"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

fresh_clone() {  # a clean clone with its own empty caches; prints its folder
  local folder="$SCRATCH/run-$1-$2"
  git clone --quiet "$REPO" "$folder/ratings-api"
  mkdir -p "$folder/cache"
  echo "$folder"
}

in_fresh_env() {  # run a command as on a new machine: empty caches, uv bootstrapped by make
  local folder=$1; shift
  env -C "$folder/ratings-api" UV_CACHE_DIR="$folder/cache/uv" PIP_CACHE_DIR="$folder/cache/pip" \
    USE_SYSTEM_UV=0 "$@"
}

time_first_curl() {  # seconds from `make local` to the first 200 of the article's curl
  local folder started pid status=""
  folder=$(fresh_clone local "$1")
  started=$(date +%s.%N)
  setsid bash -c "$(declare -f in_fresh_env); in_fresh_env '$folder' make local" >"$folder/local.log" 2>&1 &
  pid=$!  # setsid made it a process-group leader: Ctrl-C for the whole group is kill -INT -PID
  while [ "$status" != 200 ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      cp "$folder/local.log" "${TMPDIR:-/tmp}/first_run-local-$1.log"
      echo "make local stopped before answering; its log is kept in ${TMPDIR:-/tmp}/first_run-local-$1.log" >&2
      tail -20 "$folder/local.log" >&2; return 1
    fi
    if awk "BEGIN{exit !($(date +%s.%N) - $started > $CURL_DEADLINE)}"; then
      echo "no answer within $CURL_DEADLINE s" >&2; kill -INT -- "-$pid"; return 1
    fi
    sleep 0.2
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL" || true)
  done
  elapsed "$started"
  kill -INT -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

time_make_test() {  # seconds of a whole `make test`, venv included
  local folder started
  folder=$(fresh_clone test "$1")
  started=$(date +%s.%N)
  if ! in_fresh_env "$folder" make test >"$folder/test.log" 2>&1; then
    cp "$folder/test.log" "${TMPDIR:-/tmp}/first_run-test-$1.log"
    echo "make test failed; its log is kept in ${TMPDIR:-/tmp}/first_run-test-$1.log, the end:" >&2
    tail -20 "$folder/test.log" >&2; return 1
  fi
  elapsed "$started"
}

elapsed() { awk -v now="$(date +%s.%N)" -v then="$1" 'BEGIN {printf "%.1f\n", now - then}'; }
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

for what in local test; do
  [ "$ONLY" = both ] || [ "$ONLY" = "$what" ] || continue
  figures=()
  for run in $(seq "$RUNS"); do
    if [ "$what" = local ]; then seconds=$(time_first_curl "$run"); else seconds=$(time_make_test "$run"); fi
    printf '%-28s run %d: %6.1f s\n' "$([ "$what" = local ] && echo 'make local -> first curl' || echo 'make test')" \
      "$run" "$seconds"
    figures+=("$seconds")
  done
  printf '%-28s median of %d: %6.1f s\n\n' "$what" "$RUNS" "$(printf '%s\n' "${figures[@]}" | median)"
done

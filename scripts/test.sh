#!/usr/bin/env bash
# Installs what is missing, builds mailwire and runs every test (unit, fuzz-seed replay, and the
# integration tests against real Dovecot and Postfix, which CTest starts and stops itself).
#   scripts/test.sh              Release build with default options, then the full suite (what the
#                                README and CI run); compiler warnings are kept in build/warnings.log
#   scripts/test.sh --sanitize   ASan+UBSan build in build-asan, unit tests only
#   scripts/test.sh --fuzz N     clang+libFuzzer build in build-fuzz, each fuzz target for N seconds
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-full}
jobs=$(nproc)

bash scripts/install-deps.sh

case "$mode" in
full)
  # A plain Release build, exactly what a packager types: no -Werror (CI checks warnings.log).
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j"$jobs" 2>&1 | tee build/build.log
  grep -E '(warning|error):' build/build.log > build/warnings.log || true
  ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600
  ;;
--sanitize)
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMAILWIRE_SANITIZE=ON -DMAILWIRE_WERROR=ON
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit --timeout 600
  ;;
--fuzz)
  seconds=${2:-30}
  # The library itself is instrumented too (fuzzer-no-link), so libFuzzer sees coverage in it.
  cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
        -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
        -DMAILWIRE_BUILD_FUZZERS=ON -DMAILWIRE_BUILD_TESTS=OFF -DMAILWIRE_BUILD_TOOLS=OFF -DMAILWIRE_WERROR=ON
  cmake --build build-fuzz -j"$jobs"
  for f in build-fuzz/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f"); short=${name#fuzz_}
    work=$(mktemp -d)
    cp -r "fuzz/corpus/$short/." "$work/" 2>/dev/null || true
    echo "== $name for ${seconds}s"
    "$f" -max_total_time="$seconds" -max_len=65536 -timeout=10 -print_final_stats=0 "$work" 2>&1 | tail -n 2
    rm -rf "$work"
  done
  ;;
*)
  echo "usage: scripts/test.sh [--sanitize | --fuzz SECONDS]" >&2
  exit 2
  ;;
esac

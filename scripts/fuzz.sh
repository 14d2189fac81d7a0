#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for SECONDS each (default 120), starting from the seed corpus in
# fuzz/seeds/<target>/ (copied into fuzz/corpus/<target>/, which keeps what the fuzzer finds).
# Kept out of CI. Needs cargo-fuzz (`cargo install cargo-fuzz`); on the stable toolchain the -Z flags
# cargo-fuzz passes are allowed through RUSTC_BOOTSTRAP=1.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# A crash is saved under fuzz/artifacts/<target>/; reproduce it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/crash-…
# and add it to tests/regression.rs before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-120}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(csv_table xlsx_table values termin_fnr)
fi
export RUSTC_BOOTSTRAP=1
status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  cp -n fuzz/seeds/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
  echo "== $t: ${secs}s"
  # -rss_limit_mb: the readers must not need more than this for any input; -max_len keeps inputs small
  # enough to be mutated quickly (the 1 MiB record limit is tested in the error catalogue).
  # -detect_leaks=0: LeakSanitizer reports glibc's 32-byte thread-local destructor registration
  # (__cxa_thread_atexit_impl) as a leak; it is not one of ours.
  if ! cargo fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -timeout=20 -detect_leaks=0 \
      -print_final_stats=1 2>&1 | tee "fuzz/last-$t.log" | grep -E "^(#[0-9]+.*DONE|==|SUMMARY|stat::number_of_executed_units|stat::peak_rss_mb|Done)" ; then
    :
  fi
  if grep -qE "ERROR: libFuzzer|panicked|SUMMARY: .*Sanitizer" "fuzz/last-$t.log"; then
    echo "!! $t found a crash: see fuzz/last-$t.log and fuzz/artifacts/$t/"
    status=1
  fi
done
exit $status

#!/usr/bin/env bash
# Whole-process benchmark of issue #6: wall time and peak memory (RSS) of
#   generate   tilskudd generate --persons N --seed 2024 (only when the data is not cached)
#   floor      tokenizing the same CSV files with csv::ByteRecord (examples/floor.rs)
#   termin     tilskudd termin 2024-Q4 on the generated extract, and again with one thread (RAYON_NUM_THREADS=1),
#              checking that both give byte-identical outputs
#   write floor  writing as many bytes as termin's output files hold (dd ... conv=fsync)
#   I/O floor  floor + write floor: termin's wall time is given as a ratio to it too
#   chained    tilskudd termin 2025-Q1 --paid <2024-Q4's utbetalt.csv>: the everyday case, with a ledger
# measured with /usr/bin/time -v, printed as a Markdown table with the ratio to the floor.
#
# Usage: benches/run.sh [100k] [1m] [10m] [xlsx] (default: 100k 1m; xlsx = the 100k extract as one workbook,
#                                                 converted by tests/perf_xlsx_input.rs)
#        benches/run.sh 1m-fnr                   (any size with -fnr: the same extract with personer.csv sorted
#                                                 by fnr, as a register may deliver it, not in case order)
#        REGEN=1 benches/run.sh 1m               (regenerate cached data, and so time `generate`)
#        REPEAT=3 benches/run.sh 1m              (best of 3 runs for floor and termin; default 1)
#        TILSKUDD_BIN=path benches/run.sh 1m     (time another tilskudd binary, e.g. a local merge with the engine)
# Data is cached under target/bench-data/<size>/ (10m needs about 1.2 GB of disk; a -fnr size adds
# target/bench-data/<size>-fnr/, its personer.csv sorted and the other files hard links where possible).
set -uo pipefail

cd "$(dirname "$0")/.."
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(100k 1m)
REPEAT=${REPEAT:-1}
DATA=target/bench-data
GEN=target/release/tilskudd
BIN=${TILSKUDD_BIN:-$GEN}
FLOOR=target/release/examples/floor

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (Debian package 'time') ..." >&2
    apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; } \
        || { echo "error: /usr/bin/time is missing and could not be installed" >&2; exit 1; }
fi

echo "building release binaries ..." >&2
cargo build --release --quiet --bin tilskudd --example floor || { echo "error: release build failed" >&2; exit 1; }

# Each measurement's log (a temporary file) is removed when the script ends.
LOGS=()
trap 'rm -f "${LOGS[@]}"' EXIT

# measure LABEL CMD... : runs CMD under /usr/bin/time -v; sets WALL (s), USER (s), RSS (MiB), RC; stderr in $LOG.
measure() {
    local label=$1; shift
    LOG=$(mktemp)
    LOGS+=("$LOG")
    /usr/bin/time -v "$@" >/dev/null 2>"$LOG"
    RC=$?
    # GNU time reports the command's exit status; it exits with it too.
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; printf "%.3f", s }' "$LOG")
    RSS=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$LOG")
    USER=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f + %.2f", u, s }' "$LOG")
    echo "  $label: ${WALL}s (user + sys ${USER} s), ${RSS} MiB, exit $RC" >&2
}

# best LABEL CMD...: best wall time of $REPEAT runs (RSS of that run).
best() {
    local label=$1; shift
    local bw="" br="" brc=0 blog="" bu=""
    for _ in $(seq "$REPEAT"); do
        measure "$label" "$@"
        if [ -z "$bw" ] || awk -v a="$WALL" -v b="$bw" 'BEGIN { exit !(a < b) }'; then
            bw=$WALL; br=$RSS; brc=$RC; blog=$LOG; bu=$USER
        fi
    done
    WALL=$bw; RSS=$br; RC=$brc; LOG=$blog; USER=$bu
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "–" }'; }

ROWS=()
XLSX=""
REGENERATED=" "
for size in "${SIZES[@]}"; do
    if [ "$size" = xlsx ]; then XLSX=1; continue; fi
    base=${size%-fnr}
    case "$base" in
        100k) n=100000 ;;
        1m) n=1000000 ;;
        10m) n=10000000 ;;
        *) echo "error: unknown size '$size' (use 100k, 1m or 10m, each optionally with -fnr)" >&2; exit 2 ;;
    esac
    dir=$DATA/$base
    echo "== $base ($n persons) in $dir" >&2
    # REGEN regenerates each size once per call (1m and 1m-fnr share the data).
    if { [ -n "${REGEN:-}" ] && [[ $REGENERATED != *" $base "* ]]; } || [ ! -f "$dir/satser.csv" ]; then
        REGENERATED+="$base "
        rm -rf "$dir" "$dir-fnr"
        measure generate "$GEN" generate --persons "$n" --seed 2024 --out "$dir"
        if [ "$RC" -ne 0 ]; then echo "error: generate failed:" >&2; cat "$LOG" >&2; exit 1; fi
        ROWS+=("| $base | generate | $WALL | $USER | $RSS | – | ok |")
    else
        ROWS+=("| $base | generate | (cached) | – | – | – | – |")
    fi
    if [ "$size" != "$base" ]; then
        # The same files, personer.csv sorted by fnr (the first column; 11 digits, so text order is number
        # order): a case's persons are scattered instead of listed together.
        if [ ! -f "$dir-fnr/satser.csv" ]; then
            echo "sorting $dir/dsf/personer.csv by fnr into $dir-fnr ..." >&2
            rm -rf "$dir-fnr" && mkdir -p "$dir-fnr/dsf" || exit 1
            head -1 "$dir/dsf/personer.csv" > "$dir-fnr/dsf/personer.csv" || exit 1
            tail -n +2 "$dir/dsf/personer.csv" | LC_ALL=C sort -t, -k1,1 >> "$dir-fnr/dsf/personer.csv" || exit 1
            link() { ln -f "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
            link "$dir/dsf/flyttinger.csv" "$dir-fnr/dsf/flyttinger.csv" && link "$dir/kommuner.csv" "$dir-fnr/kommuner.csv" \
                || exit 1
            # satser.csv last: its presence says the folder is complete.
            link "$dir/satser.csv" "$dir-fnr/satser.csv" || exit 1
        fi
        dir=$dir-fnr
    fi
    mib=$(du -sm "$dir" | cut -f1)

    best floor "$FLOOR" "$dir"
    fw=$WALL
    ROWS+=("| $size | floor (ByteRecord, ${mib} MiB) | $WALL | $USER | $RSS | 1.0× | exit $RC |")

    out=$(mktemp -d)
    best termin "$BIN" termin 2024-Q4 --dsf "$dir/dsf" --rates "$dir/satser.csv" --kommuner "$dir/kommuner.csv" \
        --config fixtures/example/tilskudd.conf --out "$out/out" --allow-unadopted-rates --force
    if [ "$RC" -eq 0 ] || [ "$RC" -eq 3 ]; then
        ROWS+=("| $size | termin 2024-Q4 | $WALL | $USER | $RSS | $(ratio "$WALL" "$fw") | ok (exit $RC) |")
        tw=$WALL
        mv "$out/out" "$out/all-cores"
        omib=$(du -cm "$out"/all-cores/*.csv | tail -1 | cut -f1)
        measure "write floor" dd if=/dev/zero of="$out/w" bs=1M count="$omib" conv=fsync
        ROWS+=("| $size | write floor (${omib} MiB = termin's CSV output, dd conv=fsync) | $WALL | $USER | $RSS | $(ratio "$WALL" "$fw") | exit $RC |")
        # Reading the inputs and writing the outputs, with no work between: what no termin can beat.
        iof=$(awk -v a="$fw" -v b="$WALL" 'BEGIN { printf "%.3f", a + b }')
        ROWS+=("| $size | termin 2024-Q4 against the I/O floor (floor + write floor = $iof s) | $tw | – | – | $(ratio "$tw" "$iof") of the I/O floor | – |")
        rm -f "$out/w"
        measure "termin 1 thread" env RAYON_NUM_THREADS=1 "$BIN" termin 2024-Q4 --dsf "$dir/dsf" \
            --rates "$dir/satser.csv" --kommuner "$dir/kommuner.csv" --config fixtures/example/tilskudd.conf --out "$out/out" --allow-unadopted-rates --force
        same="identical to all cores"
        diff -rq "$out/all-cores" "$out/out" >/dev/null 2>&1 || same="DIFFERS from all cores"
        ROWS+=("| $size | termin 2024-Q4, 1 thread | $WALL | $USER | $RSS | $(ratio "$WALL" "$fw") | exit $RC, output $same |")
        rm -rf "$out/out"
        ledger_lines=$(($(wc -l < "$out/all-cores/utbetalt.csv") - 1))
        best "termin chained" "$BIN" termin 2025-Q1 --dsf "$dir/dsf" --rates "$dir/satser.csv" --kommuner "$dir/kommuner.csv" \
            --config fixtures/example/tilskudd.conf --paid "$out/all-cores/utbetalt.csv" --out "$out/out" --allow-unadopted-rates --force
        ROWS+=("| $size | termin 2025-Q1 --paid (Q4's ledger, $ledger_lines lines) | $WALL | $USER | $RSS | $(ratio "$WALL" "$fw") | exit $RC |")
    else
        msg=$(grep -v -E '^\s|Command (being timed|exited)' "$LOG" | head -1 | cut -c1-80)
        echo "  termin FAILED (exit $RC): $msg" >&2
        ROWS+=("| $size | termin 2024-Q4 | – | – | – | – | FAILED (exit $RC): $msg |")
    fi
    rm -rf "$out"
done

if [ -n "$XLSX" ]; then
    dir=$DATA/100k
    echo "== 100k as Excel ($dir/dsf.xlsx)" >&2
    [ -f "$dir/satser.csv" ] || "$GEN" generate --persons 100000 --seed 2024 --out "$dir" >/dev/null
    if [ ! -f "$dir/dsf.xlsx" ]; then
        TILSKUDD_XLSX_SIZE=100k cargo test --release --quiet --test perf_xlsx_input -- --ignored >&2 \
            || { echo "error: converting to xlsx failed" >&2; exit 1; }
    fi
    out=$(mktemp -d)
    best "termin xlsx" "$BIN" termin 2024-Q4 --dsf "$dir/dsf.xlsx" --rates "$dir/satser.csv" \
        --kommuner "$dir/kommuner.csv" --config fixtures/example/tilskudd.conf --out "$out/out" \
        --allow-unadopted-rates --force
    ROWS+=("| 100k xlsx | termin 2024-Q4 from dsf.xlsx ($(du -m "$dir/dsf.xlsx" | cut -f1) MiB) | $WALL | $USER | $RSS | – | exit $RC (target < 10 s) |")
    rm -rf "$out"
fi

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(lscpu | awk -F': +' '/Model name/ { print $2; exit }')"
echo
echo "| size | step | wall (s) | CPU user + sys (s) | peak RSS (MiB) | ratio to floor | result |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"

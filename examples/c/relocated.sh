#!/usr/bin/env bash
# An install tree moves as a folder: it records no path of the machine it
# was built on (no RUNPATH or RPATH, no symlink), a copy of it elsewhere
# runs once IREE's library is named (IREE_COMPILER_LIB), and without one
# `irex` says in one line where it looked, naming both ways to give it.
#
#   relocated.sh PREFIX IREE_COMPILER_LIB MODEL WORKDIR
set -euo pipefail
prefix=$1 compiler=$2 model=$3 work=$4
fail() { echo "relocated: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work"

links=$(find "$prefix" -type l)
[ -z "$links" ] || fail "symlinks in the tree: $links"
for file in "$prefix/bin/irex" "$prefix/libexec/irex/irex" "$prefix/lib/libirex.so"; do
  if readelf -d "$file" | grep -E '\((RUNPATH|RPATH)\)'; then
    fail "$file records a library search path"
  fi
done

cp -r "$prefix" "$work/moved"
irex="$work/moved/bin/irex"
IREE_COMPILER_LIB=$compiler "$irex" export "$model" -o "$work/export" --seq-len 8 --no-compile \
  2>"$work/export.log" || fail "the moved tree's export failed: $(cat "$work/export.log")"
[ -s "$work/export/model.mlirbc" ] && [ -s "$work/export/model.irpa" ] || fail "no export written"

# No library named and no python that has IREE's package: one clear line.
if env -u IREE_COMPILER_LIB IREX_PYTHON=/nonexistent/python3 "$irex" --version \
  >"$work/out.log" 2>"$work/none.log"; then
  fail "ran without IREE's library"
fi
[ "$(wc -l <"$work/none.log")" -eq 1 ] || fail "not one line: $(cat "$work/none.log")"
for said in "IREE_COMPILER_LIB" "iree-base-compiler" "/nonexistent/python3"; do
  grep -q -- "$said" "$work/none.log" || fail "the error does not name $said: $(cat "$work/none.log")"
done
if IREE_COMPILER_LIB=/nonexistent/libIREECompiler.so "$irex" --version 2>"$work/err.log"; then
  fail "ran with a missing IREE_COMPILER_LIB"
fi
grep -q "IREE_COMPILER_LIB is \`/nonexistent/libIREECompiler.so\`, which is not a file" "$work/err.log" \
  || fail "a wrong IREE_COMPILER_LIB is not named: $(cat "$work/err.log")"
echo "relocated: a copy of the tree exports; without IREE's library: $(cat "$work/none.log")"

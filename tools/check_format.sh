#!/usr/bin/env bash
# Checks that every C++ file in the repository is formatted as .clang-format says, and lists the
# ones that are not. With --fix, formats them in place instead.
#
# The files are those git tracks (*.cc, *.h, *.c), so a new file is checked as soon as it is
# added. clang-format comes from tools/setup.sh; its output depends on its version, so the
# Debian-pinned clang-format-14 is preferred.
#
# BUILD and .bzl files are not checked: buildifier is not packaged in Debian.
#
# Usage: tools/check_format.sh [--fix]     Exit status: 0 when every file is formatted.
set -euo pipefail
cd "$(dirname "$0")/.."

fix=false
case "${1:-}" in
  --fix) fix=true ;;
  "") ;;
  *) echo "usage: $0 [--fix]" >&2; exit 2 ;;
esac

clang_format=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z $clang_format ]]; then
  echo "check_format: clang-format not found (run tools/setup.sh)" >&2
  exit 2
fi

mapfile -t files < <(git ls-files -- '*.cc' '*.h' '*.c')
if ((${#files[@]} == 0)); then
  echo "check_format: no C++ files found (is this a git checkout?)" >&2
  exit 2
fi

# One clang-format run over all files: --dry-run reports "FILE:LINE:COL: ... code should be
# clang-formatted" at each place that differs (and quotes the line), and fails if any does.
"$clang_format" --style=file --dump-config >/dev/null  # A broken .clang-format stops here.
present=()
for f in "${files[@]}"; do
  if [[ -f $f ]]; then present+=("$f"); fi  # Deleted in the working tree, still in the index.
done
status=0
report=$("$clang_format" --style=file --dry-run --Werror "${present[@]}" 2>&1) || status=$?
mapfile -t unformatted < <(grep -e 'code should be clang-formatted' <<<"$report" | cut -d: -f1 |
  sort -u)
if ((status != 0 && ${#unformatted[@]} == 0)); then
  echo "check_format: clang-format failed: $report" >&2
  exit 2
fi

if ((${#unformatted[@]} == 0)); then
  echo "check_format: ${#files[@]} C++ files formatted"
  exit 0
fi
if $fix; then
  "$clang_format" --style=file -i "${unformatted[@]}"
  printf 'check_format: formatted %s\n' "${unformatted[@]}"
  exit 0
fi
printf 'check_format: not formatted: %s\n' "${unformatted[@]}"
echo "check_format: ${#unformatted[@]} of ${#files[@]} C++ files differ from .clang-format;" \
  "run tools/check_format.sh --fix" >&2
exit 1

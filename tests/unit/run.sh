#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Runs each unit test binary and sums their tallies into one closing line.
passed=0 failed=0
for t in "$@"; do
	out=$("$t") || true
	echo "$out"
	set -- $(echo "$out" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' | tail -n 1)
	if [ $# -ne 2 ]; then
		echo "$t: crashed or printed no tally" >&2
		failed=$((failed + 1))
		continue
	fi
	passed=$((passed + $1)) failed=$((failed + $2))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# make fuzz: each libFuzzer target for SECONDS, from its committed corpus
# (tests/fuzz/corpus/NAME); what it finds new goes to .output/fuzz/corpus/,
# never into the tree. SECONDS 0 (make fuzz-replay, part of make test): the
# committed corpus once through each target. One line per target; exits 1
# on any crash, leak or timeout, whose input is kept as .output/fuzz/NAME-*.
usage="usage: tests/fuzz/run.sh SECONDS FUZZ_BINARY..."
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
secs=$1
shift
src=$(dirname "$0")
failed=0
for bin; do
	name=${bin##*/fuzz_}
	out=$(dirname "$bin")
	log=$out/$name.log
	if [ ! -d "$src/corpus/$name" ]; then
		echo "fuzz $name: no seed corpus: add tests/fuzz/corpus/$name/ (tests/fuzz/README.md)" >&2
		failed=1
		continue
	fi
	if [ "$secs" = 0 ]; then
		"$bin" -runs=0 -timeout=10 -artifact_prefix="$out/$name-" "$src/corpus/$name" >"$log" 2>&1
	else
		mkdir -p "$out/corpus/$name"
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$out/$name-" "$out/corpus/$name" "$src/corpus/$name" >"$log" 2>&1
	fi
	rc=$?
	# "#N DONE cov: C ft: F corp: K/..." closes a run that ended well
	stats=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 \2 \3 \4/p' "$log" | tail -n 1)
	if [ $rc -ne 0 ] || [ -z "$stats" ]; then
		echo "fuzz $name: FAILED (exit $rc); $log says:" >&2
		grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$log" | head -n 5 >&2
		failed=1
		continue
	fi
	set -- $stats
	if [ "$secs" = 0 ]; then
		printf 'fuzz %-9s replayed %s inputs: cov %s ft %s\n' "$name" "$(ls "$src/corpus/$name" | wc -l)" "$2" "$3"
	else
		printf 'fuzz %-9s %s runs in %ss: cov %s ft %s corpus %s\n' "$name" "$1" "$secs" "$2" "$3" "$4"
	fi
done
exit $failed

#!/bin/sh
# run.sh: run the libFuzzer harnesses for `make fuzz-run` and `make fuzz-regress`
# (tests/fuzz/fuzz.mk).
#
#   run.sh campaign DIR SECONDS NAME...
#	Fuzz each harness DIR/fuzz_NAME for SECONDS, one after the other, on
#	DIR/corpus/NAME (a scratch copy of tests/fuzz/corpus/NAME, kept from
#	run to run; new entries go there, never into the git tree), also
#	reading tests/fuzz/regress/NAME.  Crashing inputs go to
#	DIR/artifacts/NAME/, the whole output to DIR/NAME.campaign.log.
#	Prints executions, exec/s, cov, ft, corpus size and crashes per
#	harness; exits 1 if any harness crashed.
#
#   run.sh regress DIR 0 NAME...
#	Run each harness once over every file of tests/fuzz/corpus/NAME and
#	tests/fuzz/regress/NAME: no mutation, so it is quick and
#	deterministic.  Exits 1 if any input crashes.

set -u

mode=$1
dir=$2
secs=$3
shift 3

# The value of "key: N" in the last line of a log that has one.
field() {
	grep -E "^#[0-9]+.* $1: " "$2" | tail -n 1 |
	    sed -n "s/.* $1: \([0-9]*\).*/\1/p"
}

failed=""
for name in "$@"; do
	bin=$dir/fuzz_$name
	seeds=tests/fuzz/corpus/$name
	regress=tests/fuzz/regress/$name
	log=$dir/$name.$mode.log
	dirs=""
	[ -d "$seeds" ] && dirs="$seeds"
	[ -d "$regress" ] && dirs="$dirs $regress"

	case $mode in
	campaign)
		corpus=$dir/corpus/$name
		arts=$dir/artifacts/$name
		mkdir -p "$corpus" "$arts"
		[ -d "$seeds" ] && cp -p "$seeds"/* "$corpus"/
		extra=""
		[ -d "$regress" ] && extra=$regress
		start=$(date +%s)
		# shellcheck disable=SC2086
		"$bin" -max_total_time="$secs" -print_final_stats=1 \
		    -artifact_prefix="$arts/" "$corpus" $extra >"$log" 2>&1
		rc=$?
		took=$(( $(date +%s) - start ))
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		[ -n "$execs" ] || execs=$(grep -E '^#[0-9]+' "$log" |
		    tail -n 1 | sed 's/^#\([0-9]*\).*/\1/')
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
		ncorp=$(find "$corpus" -type f | wc -l)
		crashes=0
		if [ "$rc" -ne 0 ]; then
			crashes=1
			failed="$failed $name"
		fi
		printf '%-9s %10s execs %7s exec/s  cov: %-5s ft: %-6s corpus: %5s files  %4ss  crashes: %d\n' \
		    "$name" "${execs:-?}" "${rate:-?}" "$(field cov "$log")" \
		    "$(field ft "$log")" "$ncorp" "$took" "$crashes"
		if [ "$rc" -ne 0 ]; then
			echo "--- $name crashed (exit $rc); the report, from $log:"
			grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error|artifact_prefix|Test unit written)' \
			    "$log" | head -n 20
		fi
		;;
	regress)
		# shellcheck disable=SC2086
		files=$(find $dirs -type f 2>/dev/null | sort)
		n=$(echo "$files" | grep -c .)
		if [ "$n" -eq 0 ]; then
			echo "$name: no inputs"
			continue
		fi
		# shellcheck disable=SC2086
		"$bin" -timeout=10 -rss_limit_mb=2048 $files >"$log" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ]; then
			printf '%-9s %4d inputs, no crash\n' "$name" "$n"
		else
			failed="$failed $name"
			printf '%-9s %4d inputs: CRASH (exit %d); from %s:\n' \
			    "$name" "$n" "$rc" "$log"
			grep -E '^(Running:|==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error)' \
			    "$log" | tail -n 12
		fi
		;;
	*)
		echo "usage: run.sh campaign|regress DIR SECONDS NAME..." >&2
		exit 2
		;;
	esac
done

if [ -n "$failed" ]; then
	echo "fuzz $mode: crashed:$failed"
	exit 1
fi
exit 0

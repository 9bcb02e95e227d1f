# SPDX-License-Identifier: GPL-2.0
#
# KTAP for shell suites.  A suite defines functions, one per test, and ends
# with `ktap_run test_a test_b ...`.  A test passes when its function
# returns 0, is skipped when it calls `skip REASON`; `log` and `expect`
# print diagnostics as "# " lines.  ktap_run exits 0 only when no test
# failed.

log() {
	echo "# $*"
}

# Run a command, logging it; its status is returned.
run() {
	log "\$ $*"
	"$@"
}

# expect DESCRIPTION COMMAND...: run COMMAND quietly; on failure log
# DESCRIPTION and return 1.
expect() {
	local what=$1
	shift
	if ! "$@" >/dev/null 2>&1; then
		log "FAILED: $what ($*)"
		return 1
	fi
}

skip() {
	echo "$*" > "$KTAP_SKIP"
	return 4
}

ktap_run() {
	local n=0 failed=0 t rc
	KTAP_SKIP=$(mktemp)
	echo "KTAP version 1"
	echo "1..$#"
	for t in "$@"; do
		n=$((n + 1))
		: > "$KTAP_SKIP"
		( set -e; "$t" )
		rc=$?
		if [ -s "$KTAP_SKIP" ]; then
			echo "ok $n $t # SKIP $(cat "$KTAP_SKIP")"
		elif [ $rc = 0 ]; then
			echo "ok $n $t"
		else
			echo "not ok $n $t"
			failed=$((failed + 1))
		fi
	done
	rm -f "$KTAP_SKIP"
	echo "# $((n - failed)) passed, $failed failed"
	[ $failed = 0 ]
}

# Shared by the CLI tests (sourced): a scratch directory removed on exit, and
# check counting. Each helper counts one check and records a failure with a
# message; the script ends with `finish NAME`, whose status is the verdict.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # condition-command description
    checks=$((checks + 1))
    eval "$1" || fail "$2"
}
run() { # expected-rc description command...   (stdout -> $tmp/out, stderr -> $tmp/err)
    local want=$1 what=$2
    shift 2
    checks=$((checks + 1))
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, want $want ($(head -c 400 "$tmp/err"))"
}
run_in() { # expected-rc description stdin-file command...
    local want=$1 what=$2 input=$3
    shift 3
    checks=$((checks + 1))
    "$@" <"$input" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, want $want ($(head -c 400 "$tmp/err"))"
}
has() { # file text description
    checks=$((checks + 1))
    grep -qF -- "$2" "$1" || fail "$3: '$2' not in $(basename "$1") ($(head -c 300 "$1"))"
}
finish() { # script-name
    echo "$1: $checks checks, $failures failed"
    [ "$failures" -eq 0 ]
}

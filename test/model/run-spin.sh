#!/bin/sh
# Check test/model/narrator.pml with spin: generate pan, compile it, run it, parse the result.
#
# usage: run-spin.sh [-n NAME] [-D DEF]... [-c PAN_CFLAG]... [-a PAN_ARG]... [-e EXPECT]
#                    [-w WORKDIR] [-m MEMLIM_MB] [-O LEVEL] [-s] [-q] [-p MODEL]
#   -n NAME      name of the run (work subdirectory, summary line)
#   -D DEF       model parameter or mutation, passed to spin (e.g. -D N=5 -D MUT_NO_MERGE)
#   -c FLAG      extra C flag for pan (e.g. -c -DHC4, -c -DBITSTATE)
#   -a ARG       extra pan run-time argument (e.g. -a -w28)
#   -e EXPECT    "ok" (default): the search must complete with 0 errors;
#                "violation:P[,P...]": spin must report a violation of one of the named
#                properties S1, S2, ORD, I3, S4, POOL (the trail is then replayed and its event
#                trace printed)
#   -w WORKDIR   where pan is built (default: ${TMPDIR:-/tmp}/narrator-spin)
#   -m MB        pan memory limit (-DMEMLIM, default 4096)
#   -O LEVEL     gcc optimisation of pan (default 2; 0 compiles in a fraction of the time,
#                which is what small searches such as the mutation checks want)
#   -s           search for the shortest counterexample (-DREACH, pan -i); slower
#   -q           do not print the counterexample trace
#   -p MODEL     model file (default: narrator.pml next to this script)
#
# Prints one summary line
#   RESULT <name> <ok|violation|FAIL> errors=E states=S transitions=T depth=D mem_mb=M time_s=X
# and exits 0 when the outcome is the expected one, 1 otherwise, 2 on usage or tool errors.
set -u

here=$(cd "$(dirname "$0")" && pwd)
model="$here/narrator.pml"
name=run
defs=""
cflags=""
pargs=""
expect=ok
work="${TMPDIR:-/tmp}/narrator-spin"
memlim=4096
olevel=2
shortest=0
quiet=0

while getopts "n:D:c:a:e:w:m:O:sqp:" opt; do
    case "$opt" in
    n) name=$OPTARG ;;
    D) defs="$defs -D$OPTARG" ;;
    c) cflags="$cflags $OPTARG" ;;
    a) pargs="$pargs $OPTARG" ;;
    e) expect=$OPTARG ;;
    w) work=$OPTARG ;;
    m) memlim=$OPTARG ;;
    O) olevel=$OPTARG ;;
    s) shortest=1 ;;
    q) quiet=1 ;;
    p) model=$OPTARG ;;
    *) echo "usage: see the header of $0" >&2; exit 2 ;;
    esac
done

case "$expect" in
ok | violation:*) ;;
*) echo "run-spin: bad -e '$expect' (ok or violation:TEXT)" >&2; exit 2 ;;
esac
for tool in spin gcc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "run-spin: $tool not found" >&2; exit 2; }
done
[ -r "$model" ] || { echo "run-spin: cannot read $model" >&2; exit 2; }

dir="$work/$name"
rm -rf "$dir" && mkdir -p "$dir" || exit 2
cp "$model" "$dir/model.pml" || exit 2
cd "$dir" || exit 2

# shellcheck disable=SC2086
if ! spin $defs -a model.pml >spin.log 2>&1; then
    echo "run-spin: spin -a failed:" >&2; cat spin.log >&2; exit 2
fi
if [ "$shortest" = 1 ]; then
    cflags="$cflags -DREACH"
    pargs="$pargs -i"
fi
# pan is generated code: its own warnings are not ours to fix (-w).
# shellcheck disable=SC2086
if ! gcc -O"$olevel" -w -DSAFETY -DMEMLIM="$memlim" $cflags -o pan pan.c >gcc.log 2>&1; then
    echo "run-spin: compiling pan failed:" >&2; cat gcc.log >&2; exit 2
fi

t0=$(date +%s.%N)
# -m: search depth bound (the model's runs are a few hundred steps); -n: no unreached report
# shellcheck disable=SC2086
./pan -m100000 -n $pargs >pan.log 2>&1
t1=$(date +%s.%N)

num() { # first number on the first line matching $1
    grep -m1 -- "$1" pan.log | sed -E 's/^[^0-9]*([0-9.e+]+).*/\1/'
}
errors=$(grep -m1 'errors:' pan.log | sed -E 's/.*errors: *([0-9]+).*/\1/')
states=$(num 'states, stored')
trans=$(num 'transitions (= stored+matched)')
depth=$(grep -m1 'depth reached' pan.log | sed -E 's/.*depth reached ([0-9]+).*/\1/')
mem=$(num 'total actual memory usage')
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
[ -n "$errors" ] || errors="?"

incomplete=""
grep -q 'max search depth too small' pan.log && incomplete="depth bound reached"
grep -qi 'out of memory' pan.log && incomplete="out of memory"
grep -q 'MEMLIM' pan.log && incomplete="memory limit reached"
grep -q 'Search not completed' pan.log && [ "$errors" = 0 ] && incomplete="search not completed"

# property name of each assertion in the model, from the text spin prints for it
prop() {
    case "$1" in
    *'cd[hv]==hd'*) echo S2 ;;
    *'rlo['* | *'cd[rv['*) echo S1 ;;
    *minprop* | *maxcv*) echo ORD ;;
    *'!=rd['*) echo I3 ;;
    *'pool['*) echo POOL ;;
    *'==chain'*) echo S4 ;;
    *) echo UNKNOWN ;;
    esac
}
violated=$(grep 'assertion violated' pan.log | while IFS= read -r line; do prop "$line"; done |
    sort -u | tr '\n' ' ')

outcome=FAIL
rc=1
case "$expect" in
ok)
    if [ "$errors" = 0 ] && [ -z "$incomplete" ]; then outcome=ok; rc=0; fi
    ;;
violation:*)
    if [ "$errors" != 0 ] && [ "$errors" != "?" ]; then
        for p in $(echo "${expect#violation:}" | tr ',' ' '); do
            case " $violated " in *" $p "*) outcome=violation; rc=0 ;; esac
        done
    fi
    ;;
esac

grep -E 'error:|Warning|hash factor|bitstate' pan.log | sort -u | sed 's/^/  pan: /'
grep -m1 'assertion violated' pan.log | sed 's/^/  pan: /'
[ -n "$violated" ] && echo "  violated properties: $violated"
[ -n "$incomplete" ] && echo "  run-spin: $incomplete"
if [ "$errors" != 0 ] && [ "$errors" != "?" ] && [ -f model.pml.trail ] && [ "$quiet" = 0 ]; then
    echo "  counterexample (events of the trail):"
    # shellcheck disable=SC2086
    spin $defs -t model.pml 2>&1 | grep -E '^ *(SE[0-9]|chain:|spin: text of failed)' | sed -E 's/^ +//; s/ +/ /g; s/^/    /'
fi
echo "RESULT $name $outcome errors=$errors states=${states:-?} transitions=${trans:-?}" \
    "depth=${depth:-?} mem_mb=${mem:-?} time_s=$secs (expected: $expect)"
exit $rc

#!/usr/bin/env bash
# e2e install: `cmake --install` to a temporary prefix, then an application built out of
# tree with `pkg-config --cflags --libs narrator` and with find_package(narrator) runs
# against a real network. narrator.pc used to carry prefix=/usr/local whatever the prefix.
. "$(dirname "$0")/lib.sh"
: "${NR_BUILD_DIR:?}"
HERE=$(cd "$(dirname "$0")" && pwd)
P="$E2E_DIR/prefix"
cmake --install "$NR_BUILD_DIR" --prefix "$P" >"$E2E_DIR/install.log" 2>&1 ||
    { cat "$E2E_DIR/install.log"; fail "cmake --install"; }
PC=$(find "$P" -name narrator.pc)
[ -n "$PC" ] || fail "no narrator.pc installed"
grep -q '^prefix=/usr/local' "$PC" && fail "narrator.pc names /usr/local, not the prefix"
export PKG_CONFIG_PATH=$(dirname "$PC")
flags=$(pkg-config --cflags --libs narrator) || fail "pkg-config narrator"
libdir=$(pkg-config --variable=libdir narrator)
[ -f "$libdir/libnarrator.so" ] || fail "pkg-config's libdir $libdir has no libnarrator.so"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$E2E_DIR/ae-pc" "$HERE/install_ae/ae.c" $flags \
    -Wl,-rpath,"$libdir" || fail "an AE does not build with pkg-config --cflags --libs narrator"
cmake -S "$HERE/install_ae" -B "$E2E_DIR/ae-cmake" -DCMAKE_PREFIX_PATH="$P" \
    >"$E2E_DIR/ae-cmake.log" 2>&1 || { cat "$E2E_DIR/ae-cmake.log"; fail "find_package(narrator)"; }
cmake --build "$E2E_DIR/ae-cmake" >>"$E2E_DIR/ae-cmake.log" 2>&1 ||
    { cat "$E2E_DIR/ae-cmake.log"; fail "the find_package AE does not build"; }

E2E_UP_ARGS=--no-chain net_up 3
( ae_env 0; "$E2E_DIR/ae-pc" rec-pc ) || fail "the pkg-config AE against the network"
( ae_env 1; "$E2E_DIR/ae-cmake/ae" rec-cmake ) || fail "the find_package AE against the network"
libs=$(ldd "$E2E_DIR/ae-cmake/ae")
grep -q "$P" <<<"$libs" || fail "the find_package AE does not use the installed library"
log "PASS"

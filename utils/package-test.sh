#!/usr/bin/env bash
# utils/package-test.sh: check the tcsplitter .deb the way a machine without Swift would see it.
#
# Usage: bash utils/package-test.sh [PATH.deb]
#   Without an argument it runs utils/package.sh (same OUT_DIR) and tests the .deb it wrote.
#   The package is unpacked with dpkg -x into a temporary root (nothing is installed), then:
#   --version and --help run with no LD_LIBRARY_PATH and an empty one, the version matches
#   Sources/TCSplitterCore/Version.swift, ldd lists no Swift library, the man page, completions,
#   docs, conffiles and units are there, and systemd-analyze verify accepts the units (skipped,
#   with a message, where systemd-analyze is missing).
# Last line: "package-test: N passed, M failed"; the exit status is non-zero on any failure.
set -uo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO_DIR"

passed=0
failed=0
failures=()
pass() {
    passed=$((passed + 1))
    printf 'ok    %s\n' "$1"
}
fail() {
    failed=$((failed + 1))
    failures+=("$1")
    printf 'FAIL  %s\n' "$1"
    [[ -n ${2:-} ]] && printf '%s\n' "$2" | sed 's/^/      /'
    return 0
}
# check NAME COMMAND...: passes when COMMAND exits 0; its output is shown on failure.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}
finish() {
    if ((failed)); then
        printf 'failed: %s\n' "${failures[@]}"
    fi
    printf 'package-test: %d passed, %d failed\n' "$passed" "$failed"
    ((failed == 0))
    exit
}

VERSION=$(sed -n 's/^[[:space:]]*public static let current[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' \
    Sources/TCSplitterCore/Version.swift)
if [[ -z $VERSION ]]; then
    fail "read the version from Sources/TCSplitterCore/Version.swift"
    finish
fi

if [[ $# -ge 1 ]]; then
    DEB=$1
else
    echo "package-test: building the package (utils/package.sh)"
    if ! DEB=$(bash utils/package.sh | tail -1); then
        fail "utils/package.sh builds the package"
        finish
    fi
fi
if [[ ! -f $DEB ]]; then
    fail "package file exists: $DEB"
    finish
fi
pass "package file exists: $DEB"
echo "package-test: testing $DEB ($(du -h "$DEB" | cut -f1)) against version $VERSION"

WORK=$(mktemp -d -t tcsplitter-package-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"
mkdir -p "$ROOT"
if ! out=$(dpkg -x "$DEB" "$ROOT" 2>&1); then
    fail "dpkg -x unpacks the package" "$out"
    finish
fi
pass "dpkg -x unpacks the package"
BIN="$ROOT/usr/bin/tcsplitter"

# --- control data ----------------------------------------------------------------------------
field() { dpkg-deb -f "$DEB" "$1"; }
check "Package: is tcsplitter" test "$(field Package)" = tcsplitter
check "Version: $(field Version) equals Version.swift's $VERSION" test "$(field Version)" = "$VERSION"
check "Architecture: is this machine's ($(dpkg --print-architecture))" \
    test "$(field Architecture)" = "$(dpkg --print-architecture)"
check "file name is tcsplitter_${VERSION}_ARCH.deb" \
    test "$(basename "$DEB")" = "tcsplitter_${VERSION}_$(field Architecture).deb"
DEPENDS=$(field Depends)
depends_names=$(sed 's/, /\n/g' <<<"$DEPENDS" | awk 'NF { print $1 }')
check "Depends: names libisal2 ($DEPENDS)" grep -Fqx libisal2 <<<"$depends_names"
check "conffiles are /etc/default/tcsplitter-{server,client}" \
    test "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles | sort | tr '\n' ' ')" = \
    "/etc/default/tcsplitter-client /etc/default/tcsplitter-server "

# --- the binary, without a Swift toolchain's libraries -----------------------------------------
check "usr/bin/tcsplitter is executable" test -x "$BIN"
v1=$(env -u LD_LIBRARY_PATH "$BIN" --version 2>&1)
check "--version without LD_LIBRARY_PATH prints $VERSION (got '$v1')" test "$v1" = "$VERSION"
v2=$(LD_LIBRARY_PATH='' "$BIN" --version 2>&1)
check "--version with LD_LIBRARY_PATH= prints $VERSION (got '$v2')" test "$v2" = "$VERSION"
help_ok() { "$@" --help >"$WORK/help" 2>&1 && grep -q '^USAGE: tcsplitter' "$WORK/help" && grep -q 'SUBCOMMANDS' "$WORK/help"; }
check "--help without LD_LIBRARY_PATH exits 0 with USAGE and SUBCOMMANDS" help_ok env -u LD_LIBRARY_PATH "$BIN"
check "--help with LD_LIBRARY_PATH= exits 0 with USAGE and SUBCOMMANDS" help_ok env LD_LIBRARY_PATH= "$BIN"

# A real tunnel on loopback, run by the unpacked binary alone: echo <- server <- client <- probe
# (1 MiB, SHA-256 checked, with a pre-shared key). Bounded: 30 s for the probe, then all stop.
tunnel_smoke() {
    local base=$((20000 + RANDOM % 20000)) pids=() rc=0 p
    local echo_p=$base fling=$((base + 1)) sync=$((base + 2)) listen=$((base + 3))
    head -c 32 /dev/urandom | base64 >"$WORK/key"
    run_bg() {
        env -u LD_LIBRARY_PATH "$BIN" "$@" >>"$WORK/tunnel.log" 2>&1 &
        pids+=($!)
    }
    wait_port() {
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
            sleep 0.1
        done
        echo "nothing listens on 127.0.0.1:$1" >>"$WORK/tunnel.log"
        return 1
    }
    run_bg echo --listen "127.0.0.1:$echo_p"
    run_bg server --lFling "127.0.0.1:$fling" --lSync "127.0.0.1:$sync" --forward "127.0.0.1:$echo_p" \
        --key-file "$WORK/key" --log-level warning
    wait_port "$echo_p" && wait_port "$fling" && wait_port "$sync" || rc=1
    if ((rc == 0)); then
        run_bg client --listen "127.0.0.1:$listen" --rFling "127.0.0.1:$fling" --rSync "127.0.0.1:$sync" \
            --key-file "$WORK/key" --log-level warning
        wait_port "$listen" || rc=1
    fi
    if ((rc == 0)); then
        timeout 40 env -u LD_LIBRARY_PATH "$BIN" probe --connect "127.0.0.1:$listen" --bytes 1MiB \
            --timeout 30000 >>"$WORK/tunnel.log" 2>&1 || rc=1
    fi
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    ((rc == 0)) || tail -20 "$WORK/tunnel.log"
    return "$rc"
}
check "a loopback tunnel (echo, server, client, probe of 1 MiB with a key) works" tunnel_smoke

LDD=$(LD_LIBRARY_PATH='' ldd "$BIN" 2>&1)
echo "$LDD" | sed 's/^/      ldd: /'
check "ldd lists no Swift library (libswift*, Foundation, dispatch, ICU)" \
    bash -c '! grep -Eq "libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|libicu" <<<"$1"' _ "$LDD"
check "ldd finds every library" bash -c '! grep -q "not found" <<<"$1"' _ "$LDD"
# Every library ldd shows belongs to a package that Depends: names.
while read -r lib; do
    pkg=$(dpkg -S "$lib" 2>/dev/null | sed -n 1p | cut -d: -f1)
    [[ -z $pkg ]] && pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | sed -n 1p | cut -d: -f1)
    if [[ -z $pkg ]]; then
        fail "dpkg -S knows $lib"
    else
        check "Depends: covers $lib ($pkg)" grep -Fqx "$pkg" <<<"$depends_names"
    fi
done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<<"$LDD")

# --- man page and completions ---------------------------------------------------------------
MAN="$ROOT/usr/share/man/man1/tcsplitter.1.gz"
check "man page usr/share/man/man1/tcsplitter.1.gz exists" test -s "$MAN"
name_section=$(zcat "$MAN" 2>/dev/null | awk '/^\.Sh /{ insec = ($2 == "NAME") ; next } insec')
check "man page's NAME section mentions tcsplitter" grep -q tcsplitter <<<"$name_section"
check "man page's footer names tcsplitter $VERSION" bash -c 'zcat "$1" | grep -qx "\.Os tcsplitter $2"' _ "$MAN" "$VERSION"
check "man page documents the tunnel flags (--rFling)" bash -c 'zcat "$1" | grep -q rFling' _ "$MAN"
if command -v man >/dev/null; then
    check "man renders the page" bash -c 'MANWIDTH=80 man -l "$1" 2>/dev/null | grep -q "tcsplitter"' _ "$MAN"
fi
for f in usr/share/bash-completion/completions/tcsplitter usr/share/zsh/vendor-completions/_tcsplitter \
    usr/share/fish/vendor_completions.d/tcsplitter.fish; do
    check "completion $f exists and names tcsplitter" grep -q tcsplitter "$ROOT/$f"
done
check "bash completion parses (bash -n)" bash -n "$ROOT/usr/share/bash-completion/completions/tcsplitter"

# --- docs, settings files, units ------------------------------------------------------------
for f in README.md sysctl.clean sysctl.dirty copyright changelog.gz; do
    check "usr/share/doc/tcsplitter/$f exists" test -s "$ROOT/usr/share/doc/tcsplitter/$f"
done
for end in server client; do
    def="$ROOT/etc/default/tcsplitter-$end"
    unit="$ROOT/lib/systemd/system/tcsplitter-$end.service"
    check "etc/default/tcsplitter-$end exists with commented examples" grep -q '^#TCS_' "$def"
    check "etc/default/tcsplitter-$end sets nothing by default" bash -c '! grep -Ev "^[[:space:]]*(#|$)" "$1"' _ "$def"
    check "tcsplitter-$end.service runs /usr/bin/tcsplitter $end" grep -q "^ExecStart=/usr/bin/tcsplitter $end " "$unit"
    check "tcsplitter-$end.service reads /etc/default/tcsplitter-$end" \
        grep -Eq "^EnvironmentFile=-?/etc/default/tcsplitter-$end\$" "$unit"
    check "tcsplitter-$end.service uses no repository script" bash -c '! grep -Eq "(start-tcs|tcs-(server|client)\.sh|/opt/tcsplitter|/usr/local)" "$1"' _ "$unit"
done

if command -v systemd-analyze >/dev/null; then
    # verify wants ExecStart's binary to exist: copies of the units that run the unpacked one.
    mkdir -p "$WORK/units"
    for end in server client; do
        sed "s|^ExecStart=/usr/bin/tcsplitter |ExecStart=$BIN |" \
            "$ROOT/lib/systemd/system/tcsplitter-$end.service" >"$WORK/units/tcsplitter-$end.service"
    done
    # Documentation=man:tcsplitter(1) is looked up with man: point it at the unpacked page.
    man_opt=(--man=no)
    command -v man >/dev/null && man_opt=(--man=yes)
    for end in server client; do
        check "systemd-analyze verify tcsplitter-$end.service" \
            env MANPATH="$ROOT/usr/share/man" SYSTEMD_LOG_LEVEL=notice \
            systemd-analyze verify "${man_opt[@]}" "$WORK/units/tcsplitter-$end.service"
    done
else
    echo "skip  systemd-analyze verify: systemd-analyze is not installed (apt-get install systemd)"
fi

finish

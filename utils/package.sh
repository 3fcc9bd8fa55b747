#!/usr/bin/env bash
# utils/package.sh: build tcsplitter_VERSION_ARCH.deb, a package whose target machine needs no
# Swift toolchain (the Swift runtime and Foundation are linked into the binary).
#
# Usage: bash utils/package.sh            (from anywhere; the .deb lands in $OUT_DIR)
#
# Needs, on a fresh Debian 12 (bookworm) machine, besides a Swift 6 toolchain on PATH:
#   apt-get packages: libisal-dev pkg-config   (to build: ISA-L, found through pkg-config)
#                     dpkg-dev                 (dpkg-shlibdeps for versioned Depends:)
#                     binutils                 (strip)
# (dpkg, gzip and libc-bin's ldd are part of every Debian system.) Missing ones are installed
# with apt-get update + apt-get install (through sudo when not root); SKIP_APT=1 skips that.
#
# Environment:
#   OUT_DIR     where the .deb goes (default: .build/package/ in the repository)
#   MAINTAINER  the control file's Maintainer: (default: git's user.name <user.email>)
#   SOURCE_DATE_EPOCH  the man page's date (default: the last commit's date)
#
# The version has ONE source: TCSplitterVersion.current in Sources/TCSplitterCore/Version.swift.
# The script reads it from there and fails unless the built binary's --version says the same;
# the man page's footer and the package's Version: are that string.
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO_DIR"

APT_PACKAGES=(libisal-dev pkg-config dpkg-dev binutils)
OUT_DIR=${OUT_DIR:-$REPO_DIR/.build/package}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd -- "$OUT_DIR" && pwd -P)

log() { printf 'package: %s\n' "$*" >&2; }
die() {
    printf 'package: error: %s\n' "$*" >&2
    exit 1
}

# --- system packages ------------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    [[ ${SKIP_APT:-0} == 1 ]] && die "missing apt packages: ${missing[*]} (SKIP_APT=1 is set)"
    SUDO=""
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || die "missing apt packages ${missing[*]}; not root and no sudo"
        SUDO=sudo
    fi
    log "installing ${missing[*]}"
    $SUDO apt-get update -o DPkg::Lock::Timeout=300 -qq
    $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}"
fi
command -v swift >/dev/null || die "no swift on PATH: install a Swift 6 toolchain (swift.org) first"

# --- version and architecture ---------------------------------------------------------------
VERSION_FILE=Sources/TCSplitterCore/Version.swift
VERSION=$(sed -n 's/^[[:space:]]*public static let current[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$VERSION_FILE")
[[ -n $VERSION ]] || die "no 'public static let current = \"...\"' in $VERSION_FILE"
[[ $VERSION =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "version '$VERSION' is not a valid Debian version"
ARCH=$(dpkg --print-architecture)
DEB="$OUT_DIR/tcsplitter_${VERSION}_${ARCH}.deb"
log "tcsplitter $VERSION for $ARCH"

# --- release build, Swift runtime linked in -------------------------------------------------
# On Linux --static-swift-stdlib links the Swift runtime, Foundation (with its ICU data) and
# Dispatch statically; what stays dynamic is the C/C++ system libraries and ISA-L.
BUILD_FLAGS=(-c release --static-swift-stdlib)
log "swift build ${BUILD_FLAGS[*]} --product tcsplitter"
swift build "${BUILD_FLAGS[@]}" --product tcsplitter
BIN_DIR=$(swift build "${BUILD_FLAGS[@]}" --show-bin-path)
BIN="$BIN_DIR/tcsplitter"
[[ -x $BIN ]] || die "no binary at $BIN"

# --- staging tree ---------------------------------------------------------------------------
STAGE="$OUT_DIR/root"
rm -rf "$STAGE"
install -d -m 755 "$STAGE/DEBIAN" "$STAGE/usr/bin" "$STAGE/usr/share/man/man1" \
    "$STAGE/usr/share/doc/tcsplitter" "$STAGE/lib/systemd/system" "$STAGE/etc/default" \
    "$STAGE/usr/share/bash-completion/completions" "$STAGE/usr/share/zsh/vendor-completions" \
    "$STAGE/usr/share/fish/vendor_completions.d"
PKG_BIN="$STAGE/usr/bin/tcsplitter"
install -m 755 "$BIN" "$PKG_BIN"
# As Debian's dh_strip does for programs: debug info and the symbol table go (117 -> 71 MB);
# the Swift metadata sections (swift5_*) that reflection and ArgumentParser need stay.
strip --remove-section=.comment "$PKG_BIN"

# No Swift library may be loaded at run time: the target has no toolchain.
LDD=$(LD_LIBRARY_PATH='' ldd "$PKG_BIN") || die "ldd failed on $PKG_BIN"
printf '%s\n' "$LDD" | sed 's/^/package: ldd: /' >&2
if grep -Eq 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|libicu|not found' <<<"$LDD"; then
    die "the binary still needs a Swift runtime library (or one is missing); see ldd above"
fi

BIN_VERSION=$(env -u LD_LIBRARY_PATH "$PKG_BIN" --version)
[[ $BIN_VERSION == "$VERSION" ]] || die "tcsplitter --version says '$BIN_VERSION', $VERSION_FILE says '$VERSION'"

# --- man page: swift-argument-parser's generate-manual ----------------------------------------
# The same tool that argument-parser's GenerateManual plugin runs, built from the checkout the
# package resolved, and run on the very binary being packaged. (The plugin itself rebuilds every
# product in release mode without --static-swift-stdlib, which would replace the binary above.)
AP_DIR="$REPO_DIR/.build/checkouts/swift-argument-parser"
[[ -d $AP_DIR/Tools/generate-manual ]] || die "no swift-argument-parser checkout with Tools/generate-manual at $AP_DIR"
TOOLS_SCRATCH="$REPO_DIR/.build/package-tools"
log "building generate-manual from $(git -C "$AP_DIR" describe --tags 2>/dev/null || echo "$AP_DIR")"
swift build -c release --package-path "$AP_DIR" --scratch-path "$TOOLS_SCRATCH" --product generate-manual
GEN_MANUAL="$(swift build -c release --package-path "$AP_DIR" --scratch-path "$TOOLS_SCRATCH" --show-bin-path)/generate-manual"
if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
    MAN_DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)
else
    MAN_DATE=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
fi
MAN_TMP=$(mktemp -d)
trap 'rm -rf "$MAN_TMP"' EXIT
env -u LD_LIBRARY_PATH "$GEN_MANUAL" "$PKG_BIN" --date "$MAN_DATE" --section 1 --output-directory "$MAN_TMP"
[[ -s $MAN_TMP/tcsplitter.1 ]] || die "generate-manual wrote no tcsplitter.1"
# mdoc's .Os names the software in the page's footer: "tcsplitter VERSION". The help texts'
# blank lines (paragraphs) become .Pp, mdoc's paragraph break (groff warns on blank lines).
sed -i -e "s/^\.Os\$/.Os tcsplitter $VERSION/" -e 's/^[[:space:]]*$/.Pp/' "$MAN_TMP/tcsplitter.1"
grep -qx "\.Os tcsplitter $VERSION" "$MAN_TMP/tcsplitter.1" || die "man page has no .Os line to stamp"
gzip -9n <"$MAN_TMP/tcsplitter.1" >"$STAGE/usr/share/man/man1/tcsplitter.1.gz"
chmod 644 "$STAGE/usr/share/man/man1/tcsplitter.1.gz"

# --- shell completions ----------------------------------------------------------------------
# bash-completion sources the file, so the generated #!/bin/bash line is dropped.
"$PKG_BIN" --generate-completion-script bash | sed '1{/^#!/d}' >"$STAGE/usr/share/bash-completion/completions/tcsplitter"
"$PKG_BIN" --generate-completion-script zsh >"$STAGE/usr/share/zsh/vendor-completions/_tcsplitter"
"$PKG_BIN" --generate-completion-script fish >"$STAGE/usr/share/fish/vendor_completions.d/tcsplitter.fish"
chmod 644 "$STAGE"/usr/share/bash-completion/completions/tcsplitter \
    "$STAGE"/usr/share/zsh/vendor-completions/_tcsplitter \
    "$STAGE"/usr/share/fish/vendor_completions.d/tcsplitter.fish

# --- systemd units and their settings files (conffiles) -------------------------------------
# /lib/systemd/system: where bookworm's packages ship units (the merged-/usr move is later).
for end in server client; do
    install -m 644 "utils/deploy/tcsplitter-$end.service" "$STAGE/lib/systemd/system/"
    install -m 644 "utils/deploy/tcsplitter-$end.default" "$STAGE/etc/default/tcsplitter-$end"
done
printf '/etc/default/tcsplitter-server\n/etc/default/tcsplitter-client\n' >"$STAGE/DEBIAN/conffiles"

# --- documentation --------------------------------------------------------------------------
install -m 644 README.md sysctl.clean sysctl.dirty "$STAGE/usr/share/doc/tcsplitter/"
# The README links into docs/: ship it beside it so the links resolve.
install -d "$STAGE/usr/share/doc/tcsplitter/docs"
install -m 644 docs/*.md "$STAGE/usr/share/doc/tcsplitter/docs/"
first_year=$(git log --reverse --format=%cs 2>/dev/null | sed -n 1p | cut -c1-4)
last_year=$(git log -1 --format=%cs 2>/dev/null | cut -c1-4)
COPYRIGHT_YEARS=${first_year:-$(date +%Y)}
[[ -n $last_year && $last_year != "$COPYRIGHT_YEARS" ]] && COPYRIGHT_YEARS+="-$last_year"
SWIFT_VERSION=$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([^ ]*\).*/\1/p' | sed -n 1p)
{
    cat <<EOF
tcsplitter $VERSION, built by utils/package.sh from commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown).

tcsplitter: Copyright (c) $COPYRIGHT_YEARS the tcsplitter authors. The source tree carries no license file;
ask its maintainers before redistributing this package.

/usr/bin/tcsplitter is statically linked with:
  Swift $SWIFT_VERSION runtime, Foundation, Dispatch: Copyright (c) Apple Inc. and the Swift project
    authors; Apache-2.0 with Runtime Library Exception (https://swift.org/LICENSE.txt).
    Foundation's internationalization data is ICU's (Unicode License v3).
EOF
    for d in .build/checkouts/*/; do
        name=$(basename "$d")
        ver=$(git -C "$d" describe --tags 2>/dev/null || echo unknown)
        lic=$(find "$d" -maxdepth 1 -iname 'license*' | sed -n 1p)
        first=$([[ -n $lic ]] && grep -m1 -v '^[[:space:]]*$' "$lic" | sed 's/^[[:space:]]*//' || true)
        [[ $first == "Apache License" ]] && first="Apache-2.0"
        extra=""
        [[ $name == swift-crypto ]] && extra="; includes BoringSSL (OpenSSL and ISC licenses)"
        printf '  %s %s: Copyright (c) the %s authors; %s%s.\n' "$name" "$ver" "$name" "${first:-see its source}" "$extra"
    done
    cat <<'EOF'
It loads from the system: ISA-L (libisal2, BSD-3-Clause), libstdc++6, libgcc-s1, libc6.

On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.
EOF
} >"$STAGE/usr/share/doc/tcsplitter/copyright"
chmod 644 "$STAGE/usr/share/doc/tcsplitter/copyright"
# A native package's changelog: one entry for this version.
if [[ -z ${MAINTAINER:-} ]]; then
    name=$(git config user.name 2>/dev/null || true)
    email=$(git config user.email 2>/dev/null || true)
    MAINTAINER="${name:-tcsplitter maintainers} <${email:-root@localhost}>"
fi
CHANGELOG_DATE=$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
printf 'tcsplitter (%s) unstable; urgency=medium\n\n  * Built by utils/package.sh from commit %s.\n\n -- %s  %s\n' \
    "$VERSION" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$MAINTAINER" "$CHANGELOG_DATE" |
    gzip -9n >"$STAGE/usr/share/doc/tcsplitter/changelog.gz"
chmod 644 "$STAGE/usr/share/doc/tcsplitter/changelog.gz"

# --- Depends: every library ldd shows, mapped to its package -------------------------------
# dpkg -S names the package of each library (libisal.so.2 -> libisal2); dpkg-shlibdeps adds the
# minimum versions. Every package found through dpkg -S must be in the final list.
lib_packages=()
while read -r path; do
    pkg=""
    for candidate in "$path" "$(readlink -f "$path")" "/usr$path" "${path#/usr}"; do
        [[ -n $candidate ]] || continue
        pkg=$(dpkg -S "$candidate" 2>/dev/null | sed -n 1p | cut -d: -f1) && [[ -n $pkg ]] && break
    done
    [[ -n $pkg ]] || die "no Debian package owns $path (dpkg -S)"
    log "depends: $path -> $pkg"
    lib_packages+=("$pkg")
done < <(LD_LIBRARY_PATH='' ldd "$PKG_BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
mapfile -t lib_packages < <(printf '%s\n' "${lib_packages[@]}" | sort -u)
printf '%s\n' "${lib_packages[@]}" | grep -qx libisal2 || die "ldd shows no ISA-L (libisal2)"

SHLIBS_TMP="$MAN_TMP/shlibs"
mkdir -p "$SHLIBS_TMP/debian"
printf 'Source: tcsplitter\n\nPackage: tcsplitter\nArchitecture: any\n' >"$SHLIBS_TMP/debian/control"
DEPENDS=""
if shlibs=$(cd "$SHLIBS_TMP" && dpkg-shlibdeps -O "$PKG_BIN" 2>"$SHLIBS_TMP/err"); then
    DEPENDS=$(sed -n 's/^shlibs:Depends=//p' <<<"$shlibs")
else
    log "dpkg-shlibdeps failed ($(head -1 "$SHLIBS_TMP/err")); Depends: without versions"
fi
# Package names compared as plain strings (libstdc++6 has regex characters in it).
mapfile -t named < <(sed 's/, /\n/g' <<<"$DEPENDS" | awk 'NF { print $1 }')
for pkg in "${lib_packages[@]}"; do
    if ! printf '%s\n' "${named[@]}" | grep -Fqx -- "$pkg"; then
        DEPENDS=${DEPENDS:+$DEPENDS, }$pkg
    fi
done
log "Depends: $DEPENDS"

# --- control file and checksums -------------------------------------------------------------
INSTALLED_SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<EOF
Package: tcsplitter
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_SIZE
Depends: $DEPENDS
Recommends: procps
Section: net
Priority: optional
Description: one TCP stream split over many short-lived TCP connections
 tcsplitter carries each TCP connection made to its client end over a pool
 of short-lived TCP connections (with optional Reed-Solomon FEC through
 ISA-L and a pre-shared key) to its server end, which joins the stream
 again and forwards it. systemd units tcsplitter-server and
 tcsplitter-client are included (not enabled); their settings are in
 /etc/default/tcsplitter-server and /etc/default/tcsplitter-client.
 .
 The Swift runtime is linked into the binary: no Swift toolchain needed.
EOF
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
    xargs -d '\n' md5sum) >"$STAGE/DEBIAN/md5sums"
chmod 644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/md5sums"

# --- the .deb -------------------------------------------------------------------------------
rm -f "$DEB"
dpkg-deb --build --root-owner-group "$STAGE" "$DEB" >&2
log "contents:"
dpkg-deb -c "$DEB" >&2
log "$(dpkg-deb -f "$DEB" Package Version Architecture Depends | tr '\n' ' ')"
log "wrote $DEB ($(du -h "$DEB" | cut -f1))"
printf '%s\n' "$DEB"

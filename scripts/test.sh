#!/usr/bin/env bash
# The project's single "run every test" command, for a fresh Debian machine (run as root).
#
#  1. Installs the system packages the tests and tools need, if any is missing:
#     keepalived, tshark, nginx, iproute2, nftables, curl, procps (reference peer, packet checks, the
#     namespace lab); perl (Time::HiRes: the differential suite's notify scripts stamp
#     CLOCK_MONOTONIC); qemu-system-x86, busybox-static, kmod, ipvsadm, lz4 (the IPVS VM of
#     lab/src/vm.rs: this machine's kernel has no IPVS); debootstrap (the clean Debian 12 root
#     real/tests/deb_package.rs installs the package in). apt-get update runs only when something
#     is missing; nothing is ever removed (--no-remove). Without root this step passes only if
#     everything is already installed.
#  2. cargo fmt --check, cargo clippy -D warnings, cargo doc with warnings denied.
#  3. cargo nextest run --workspace (installed with cargo install if missing), then the
#     doctests with cargo test --doc (nextest does not run them).
#  4. Each fuzz target for 20 s (fuzz_step below; NOT RUN without nightly and cargo-fuzz).
#
# Every step of 2 and 3 runs even if an earlier one failed; the summary at the end lists
# each step, and the exit status is 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(keepalived tshark nginx iproute2 nftables curl procps perl
    qemu-system-x86 busybox-static kmod ipvsadm lz4 debootstrap prometheus)

header() {
    printf '\n==> %s\n' "$*"
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_packages() {
    local missing=()
    local p
    for p in "${PACKAGES[@]}"; do
        is_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "all ${#PACKAGES[@]} system packages present"
        return 0
    fi
    echo "missing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: not root, cannot install: ${missing[*]}" >&2
        echo "       run as root, or: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # tshark's dumpcap would otherwise ask whether non-root users may capture.
    echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
    apt-get update -q
    local rest=() qemu=0
    for p in "${missing[@]}"; do
        if [ "$p" = qemu-system-x86 ] && qemu_utils_from_backports; then
            qemu=1
        else
            rest+=("$p")
        fi
    done
    if [ "${#rest[@]}" -gt 0 ]; then
        apt-get install -y -q --no-install-recommends --no-remove "${rest[@]}"
    fi
    if [ "$qemu" -eq 1 ]; then
        install_qemu_from_backports
    fi
}

# Whether qemu-utils is installed from bookworm-backports: it Breaks Debian 12's
# qemu-system-common (7.2), so apt would remove it to install qemu-system-x86 from bookworm.
qemu_utils_from_backports() {
    is_installed qemu-utils && dpkg-query -W -f='${Version}' qemu-utils | grep -q 'bpo12'
}

# qemu-system-x86 from bookworm-backports, matching that qemu-utils, through a temporary
# sources list (nothing is added to /etc/apt).
install_qemu_from_backports() {
    local tmp
    tmp=$(mktemp -d)
    mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
    local key=/usr/share/keyrings/debian-archive-keyring.gpg
    {
        echo "deb [signed-by=$key] http://deb.debian.org/debian bookworm main"
        echo "deb [signed-by=$key] http://deb.debian.org/debian bookworm-updates main"
        echo "deb [signed-by=$key] http://deb.debian.org/debian-security bookworm-security main"
        echo "deb [signed-by=$key] http://deb.debian.org/debian bookworm-backports main"
    } >"$tmp/sources.list"
    local opts=(-o "Dir::Etc::sourcelist=$tmp/sources.list" -o Dir::Etc::sourceparts=-
        -o "Dir::State::lists=$tmp/lists" -o "Dir::Cache::archives=$tmp/archives")
    echo "qemu-utils is from bookworm-backports: qemu-system-x86 comes from there too"
    apt-get "${opts[@]}" update -q
    apt-get "${opts[@]}" install -y -q --no-install-recommends --no-remove \
        -t bookworm-backports qemu-system-x86
    rm -rf "$tmp"
}

header "[1/7] system packages"
install_packages

if ! cargo nextest --version >/dev/null 2>&1; then
    header "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi
if ! cargo deb --version >/dev/null 2>&1; then
    header "installing cargo-deb"
    cargo install cargo-deb --locked
fi

RESULTS=()
FAILED=0

# run_step NAME COMMAND...: run it, record pass or fail and the time taken, go on either way.
run_step() {
    local name=$1
    shift
    header "$name: $*"
    local start=$SECONDS
    if "$@"; then
        RESULTS+=("PASS  $name ($((SECONDS - start)) s)")
    else
        RESULTS+=("FAIL  $name ($((SECONDS - start)) s)")
        FAILED=1
    fi
}

run_step "[2/7] format" cargo fmt --all -- --check
run_step "[3/7] clippy" cargo clippy --workspace --all-targets -- -D warnings
run_step "[4/7] docs" env RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps
run_step "[5/7] tests" cargo nextest run --workspace --no-fail-fast
run_step "[6/7] doctests" cargo test --doc --workspace

# Fuzz smoke run (FUZZING.md): every cargo-fuzz target of fuzz/ for FUZZ_SECONDS (20) from
# the seed corpus fuzz/seeds.py builds, so the targets keep building and their invariants
# keep holding. Built without a sanitizer (the project has no unsafe code; it builds faster
# and runs twice the executions). Needs the nightly toolchain and cargo-fuzz (installed
# here when missing): without them the step is recorded NOT RUN, never PASS.
fuzz_step() {
    local name=$1
    if ! cargo +nightly --version >/dev/null 2>&1; then
        RESULTS+=("NOT RUN  $name (no nightly toolchain: rustup toolchain install nightly)")
        return 0
    fi
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        header "installing cargo-fuzz"
        cargo install cargo-fuzz --locked || true
    fi
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        RESULTS+=("NOT RUN  $name (cargo-fuzz is missing and could not be installed)")
        return 0
    fi
    run_step "$name" fuzz_smoke
}

fuzz_smoke() {
    # A target folder of its own: a developer's sanitizer build in fuzz/target stays built.
    local t dict failed=0 opts=(-a -s none --target-dir fuzz/target/smoke)
    python3 fuzz/seeds.py || echo "fuzz/seeds.py failed: the targets start without seeds"
    cargo +nightly fuzz build "${opts[@]}" || return 1
    for t in $(cargo +nightly fuzz list); do
        case $t in
            keepalived_conf) dict=(-dict=fuzz/dict/keepalived.dict) ;;
            experiment_toml) dict=(-dict=fuzz/dict/experiment.dict) ;;
            compare_trace) dict=(-dict=fuzz/dict/trace.dict) ;;
            *) dict=() ;;
        esac
        mkdir -p "fuzz/corpus/$t"
        header "fuzz $t for ${FUZZ_SECONDS:-20} s"
        cargo +nightly fuzz run "${opts[@]}" "$t" "fuzz/corpus/$t" -- \
            -max_total_time="${FUZZ_SECONDS:-20}" -timeout=10 -print_final_stats=1 "${dict[@]}" ||
            failed=1
    done
    return "$failed"
}

fuzz_step "[7/7] fuzz"

header "summary"
printf '%s\n' "${RESULTS[@]}"
if [ "$FAILED" -ne 0 ]; then
    echo "scripts/test.sh: SOME STEPS FAILED"
    exit 1
fi
if printf '%s\n' "${RESULTS[@]}" | grep -q '^NOT RUN'; then
    echo "scripts/test.sh: every step that ran passed; some did NOT RUN (above)"
else
    echo "scripts/test.sh: all steps passed"
fi

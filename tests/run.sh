#!/usr/bin/env bash
# Runs every test on a fresh Debian 12 machine (README's Quick start, second command; .ci/run calls it).
# 1. installs the system packages the tests need when they are missing,
# 2. checks formatting and lints, 3. runs the whole suite (workspace, all targets),
# 4. builds, installs, checks and purges the Debian package (tests/package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the test suite needs. A test that needs one fails loudly when it is missing.
packages=(nginx libnginx-mod-rtmp ffmpeg chromium systemd stunnel4 sudo obs-studio xvfb adduser)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo is not installed (install Rust with rustup)" >&2; exit 1; }

# Tests only talk to 127.0.0.1; never through a proxy.
export NO_PROXY="127.0.0.1,localhost,::1" no_proxy="127.0.0.1,localhost,::1"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Library, binaries, integration tests and doc tests (benchmarks are run by hand: docs/benchmarks.md).
cargo test --workspace --locked
# The Debian package: build, install, check as the service's user, purge (tests/package.sh).
bash tests/package.sh

#!/usr/bin/env bash
# The Debian package, end to end (tests/run.sh runs it after the test suite; needs root or
# passwordless sudo, and installs cargo-deb when missing):
#   builds stream-control_<version>_<arch>.deb with cargo-deb (release-small),
#   installs it with dpkg -i into this machine,
#   checks what it installed (binary, units, the conffile, the system user, the modes),
#   runs check-config and doctor as the service's user, and systemd-analyze verify on the units,
#   purges it and checks that nothing is left but the system user and group (which Debian
#   packages keep: files elsewhere may still carry their ids).
set -euo pipefail
cd "$(dirname "$0")/.."

# The cargo-deb this project was packaged with (Cargo.toml's [package.metadata.deb]).
CARGO_DEB_VERSION="${CARGO_DEB_VERSION:-3.8.0}"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
fail() { echo "package test: $*" >&2; exit 1; }

if ! cargo deb --version >/dev/null 2>&1; then
  echo "installing cargo-deb $CARGO_DEB_VERSION"
  cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi

# A package left installed by an interrupted run would make the checks meaningless.
if dpkg-query -W -f='${Status}' stream-control 2>/dev/null | grep -qE "ok (installed|config-files)|half"; then
  $sudo dpkg --purge stream-control >/dev/null
fi

deb="$(cargo deb --locked --profile release-small 2>/dev/null | tail -n 1)"
[ -f "$deb" ] || fail "cargo deb did not print the package's path (got '$deb')"
case "$(basename "$deb")" in
  stream-control_*_*.deb) ;;
  *) fail "unexpected package name: $deb" ;;
esac
echo "built $deb ($(du -h "$deb" | cut -f1))"

$sudo dpkg -i "$deb" >/dev/null

# What the package installed.
[ -x /usr/bin/stream-control ] || fail "/usr/bin/stream-control is missing"
for unit in stream-control.service stream-control@.service; do
  [ -f "/lib/systemd/system/$unit" ] || fail "$unit is missing"
done
dpkg-query -W -f='${Conffiles}\n' stream-control | grep -q "^ /etc/stream-control/config.ron " \
  || fail "/etc/stream-control/config.ron is not a conffile"
getent passwd stream-control >/dev/null || fail "no stream-control user"
[ "$(stat -c '%a %U' /var/lib/stream-control)" = "700 stream-control" ] \
  || fail "/var/lib/stream-control is $(stat -c '%a %U' /var/lib/stream-control)"
[ "$(stat -c '%a %G' /etc/stream-control/config.ron)" = "640 stream-control" ] \
  || fail "/etc/stream-control/config.ron is $(stat -c '%a %G' /etc/stream-control/config.ron)"
[ -f /etc/sudoers.d/stream-control ] && fail "a sudoers drop-in was installed without being asked for"

# As the service's user, where the service runs.
as_service() { (cd /var/lib/stream-control && $sudo runuser -u stream-control -- "$@"); }
as_service stream-control check-config /etc/stream-control/config.ron >/dev/null \
  || fail "check-config as the service's user"
doctor="$(as_service stream-control doctor --config /etc/stream-control/config.ron)" \
  || { echo "$doctor" >&2; fail "doctor as the service's user"; }
echo "$doctor" | grep -q "✓ config:" || fail "doctor did not check the configuration: $doctor"

# The installed units with the installed binary (verify checks the program exists).
verify="$(systemd-analyze verify --man=no /lib/systemd/system/stream-control.service 2>&1)"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"

$sudo dpkg --purge stream-control >/dev/null

# Nothing left but the user and group.
for path in /usr/bin/stream-control /lib/systemd/system/stream-control.service \
  /lib/systemd/system/stream-control@.service /usr/share/doc/stream-control \
  /usr/share/stream-control /etc/stream-control /var/lib/stream-control; do
  [ ! -e "$path" ] || fail "$path is left after purge"
done
dpkg-query -W -f='${Status}' stream-control 2>/dev/null | grep -qE "ok (installed|config-files)" \
  && fail "dpkg still lists the package"
getent passwd stream-control >/dev/null || fail "the system user was removed (policy keeps it)"
echo "package test passed: installed, checked as the service's user, purged clean"

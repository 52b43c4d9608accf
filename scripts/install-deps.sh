#!/usr/bin/env bash
# Installs the Debian packages mailwire needs to build, test and run its demo.
# Idempotent: only missing packages are installed. Needs root (or sudo).
# Dovecot and Postfix are installed without starting system daemons on the
# standard ports: the test harness runs its own private instances.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git
  libssl-dev openssl ca-certificates
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libidn2-dev zlib1g-dev libicu-dev libgmime-3.0-dev
  clang libclang-rt-14-dev clang-format doxygen
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd
  postfix
  # Cyrus IMAP and Exim for the interop tests (#13) conflict with dovecot/postfix: the harness
  # unpacks them (apt-get download + dpkg -x); only their non-conflicting libraries are installed.
  libical3 libidn12 libjansson4 libpq5 libwrap0 libxapian30 libxml2 libsqlite3-0 libldap-2.5-0
  libkrb5-3 libicu72 libdb5.3 libsasl2-2 libsasl2-modules libsasl2-modules-db libnsl2 libpcre3
  libpcre2-8-0 libgnutls30 libgnutls-dane0 libunbound8 libevent-2.1-7
  python3 tmux curl
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections

# Keep the packages' postinst scripts from starting system daemons.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# policy-rc.d kept the packages from starting system daemons on the standard ports; the test
# harness runs private instances and never needs them.

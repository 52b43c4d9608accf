#!/usr/bin/env bash
# The mailwire tour: build, start private Dovecot + Postfix servers, and let the `mailwire` CLI
# show how they want to be talked to — and what happens with the classic mistakes.
#
#   scripts/demo.sh                     build everything in ./build, then the tour
#   MAILWIRE_BUILD_DIR=dir              build directory (default: build)
#   MAILWIRE_DEMO_TARGET=mailwire_cli   build only the CLI (faster)
#   MAILWIRE_SKIP_DEPS=1                do not run scripts/install-deps.sh first
#
# Runs without a terminal; exits 0 when every step behaved as narrated. The servers are stopped
# at the end, also on Ctrl-C.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MAILWIRE_BUILD_DIR:-$ROOT/build}
MWS=$ROOT/tests/support/servers/mwservers

if [ -t 1 ]; then B=$'\e[1m'; D=$'\e[2m'; G=$'\e[32m'; R=$'\e[31m'; N=$'\e[0m'; else B= D= G= R= N=; fi
failures=0
steps=0

say() { printf '%s\n' "$*" | fold -s -w 100; }
chapter() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
# run EXPECTED_EXIT CMD... — shows the command, runs it, checks the exit code.
run() {
    local expected=$1
    shift
    steps=$((steps + 1))
    printf '%s$ %s%s\n' "$D" "$(printf '%q ' "$@" | sed "s|$BUILD/apps/mailwire/||g")" "$N"
    "$@"
    local rc=$?
    if [ "$rc" -eq "$expected" ]; then
        printf '%s[exit %d, as expected]%s\n' "$G" "$rc" "$N"
    else
        printf '%s[exit %d, expected %d: NOT as narrated]%s\n' "$R" "$rc" "$expected" "$N"
        failures=$((failures + 1))
    fi
}

# ---- dependencies and build ---------------------------------------------------------------------
# install-deps.sh is idempotent and returns at once when every package is there.
if [ -x "$ROOT/scripts/install-deps.sh" ] && [ -z "${MAILWIRE_SKIP_DEPS:-}" ]; then
    chapter "Checking the Debian packages"
    "$ROOT/scripts/install-deps.sh" || exit 1
fi
chapter "Building mailwire"
cmake -S "$ROOT" -B "$BUILD" >/dev/null || exit 1
cmake --build "$BUILD" -j2 ${MAILWIRE_DEMO_TARGET:+--target "$MAILWIRE_DEMO_TARGET"} || exit 1
MW=$BUILD/apps/mailwire/mailwire
[ -x "$MW" ] || { echo "no CLI at $MW (MAILWIRE_BUILD_TOOLS off?)" >&2; exit 1; }

# ---- servers --------------------------------------------------------------------------------------
DIR=$(mktemp -d /tmp/mailwire-demo.XXXXXX)
cleanup() {
    "$MWS" stop "$DIR" >/dev/null 2>&1
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'printf "\ninterrupted; stopping the servers\n"; exit 130' INT TERM

chapter "Starting private Dovecot and Postfix servers"
"$MWS" start "$DIR" || exit 1
envget() { sed -n "s/^$1=//p" "$DIR/env" | head -n 1; }
H=$(envget HOST)
CA=$(envget CA_FILE)
IMAP=$(envget IMAP_PORT) IMAPS=$(envget IMAPS_PORT) POP3=$(envget POP3_PORT) POP3S=$(envget POP3S_PORT)
SUB=$(envget SUBMISSION_PORT) SMTPS=$(envget SMTPS_PORT)
SELF_HOST=$(envget SELFSIGNED_HOST) SELF_CERT=$(envget SELFSIGNED_CERT)
USER1=$(envget USER1)
export MAILWIRE_DEMO_PASSWORD=$(envget PASS1)
# The servers listen on random ports, so the tour names them; a real server uses 143/993/...
PORTS="imap:$IMAP,imap:$IMAPS,pop3:$POP3,pop3:$POP3S"
[ -n "$SUB" ] && PORTS="$PORTS,smtp:$SUB,smtp:$SMTPS"

# ---- 1. probe -------------------------------------------------------------------------------------
chapter "1. Ask the server how it wants to be talked to"
say "mailwire probe connects the way a client would and reports what it saw: does the port greet in plaintext or wait for TLS, what it offers before and after STARTTLS, which TLS versions it accepts, the certificate chain, and a verdict. The test CA is made per run, so we pass it with --cafile."
run 0 "$MW" probe "$H:$IMAP" --cafile "$CA"
say ""
say "The same for every endpoint at once (--all; on a real server it checks 143 993 110 995 587 465). Here only the verdicts:"
steps=$((steps + 1))
out=$("$MW" probe "$H" --all --ports "$PORTS" --cafile "$CA" --wait 1)
rc=$?
# Headings, verdicts and the summary, with their continuation lines.
printf '%s\n' "$out" | awk '/^[0-9]|^summary/ { print; keep = 0; next }
    /^  verdict|^  (imap|pop3|smtp) / { print; keep = 1; next }
    keep && /^                    / { print; next }
    { keep = 0 }'
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "imap              use implicit_tls on port $IMAPS"; then
    printf '%s[as expected: implicit TLS preferred, RFC 8314]%s\n' "$G" "$N"
else
    printf '%s[NOT as narrated (exit %d)]%s\n' "$R" "$rc" "$N"
    failures=$((failures + 1))
fi

# ---- 2. the classic mistakes ------------------------------------------------------------------------
chapter "2. Classic mistake: implicit TLS to the plaintext port"
say "Port $IMAP greets in plaintext and expects STARTTLS. Starting TLS right away makes OpenSSL say 'unexpected packet format'; mailwire says what really happened (exit 4):"
run 4 "$MW" imap caps --host "$H" --port "$IMAP" --security tls --cafile "$CA"

chapter "3. Classic mistake: plaintext/STARTTLS to the implicit-TLS port"
say "Port $IMAPS waits for a TLS ClientHello and says nothing. A client expecting a greeting would hang; mailwire recognises the silence (exit 4):"
run 4 "$MW" imap caps --host "$H" --port "$IMAPS" --security starttls --cafile "$CA" --timeout 2

# ---- 3. certificates --------------------------------------------------------------------------------
chapter "4. A self-signed certificate is rejected"
say "$SELF_HOST serves a self-signed certificate. Verification is on by default, so this fails (exit 5) and the error lists each problem in words:"
run 5 "$MW" imap caps --host "$SELF_HOST" --port "$IMAPS" --security tls --cafile "$CA"

chapter "5. Accepting it on purpose: --cafile"
say "If you trust that certificate, trust it explicitly: pass it (or its CA) with --cafile. Everything else is still checked (name, dates):"
run 0 "$MW" imap caps --host "$SELF_HOST" --port "$IMAPS" --security tls --cafile "$SELF_CERT"

chapter "6. Accepting it on purpose: a certificate callback with a pinned key"
say "Or pin its key, the way ssh remembers host keys. probe shows the pin; --pin with --trust-pin installs a certificate callback that accepts exactly that key. In the library it reads:"
cat <<'CODE'
    client.tls().pins = {"sha256/...from probe..."};
    client.on_certificate([](const mailwire::certificate_check& c) { return c.pin_matched; });
CODE
PIN=$("$MW" probe "$SELF_HOST:$IMAPS" --protocol imap --wait 1 | sed -n 's/^    pin *//p' | head -n 1)
say "pin of $SELF_HOST: ${PIN:-(none found)}"
run 0 "$MW" imap caps --host "$SELF_HOST" --port "$IMAPS" --security tls --pin "$PIN" --trust-pin
say "Any other key is refused, even on a server whose chain verifies (exit 5):"
run 5 "$MW" imap caps --host "$H" --port "$IMAPS" --security tls --cafile "$CA" --pin "$PIN" --trust-pin

# ---- 4. logging in, with a transcript -----------------------------------------------------------------
chapter "7. Logging in, with a protocol transcript"
say "mailwire picks the strongest SASL mechanism both sides know (SCRAM-SHA-256 here). Passwords never go on the command line (--password-env names a variable) and never into the transcript:"
LOG=$DIR/imap.log
run 0 "$MW" imap caps --host "$H" --port "$IMAP" --security starttls --cafile "$CA" \
    --user "$USER1" --password-env MAILWIRE_DEMO_PASSWORD --log "$LOG"
steps=$((steps + 1))
grep -E '^C: ' "$LOG"
if grep -qE 'AUTHENTICATE|LOGIN' "$LOG" && ! grep -qF "$MAILWIRE_DEMO_PASSWORD" "$LOG"; then
    printf '%s[the transcript has the login, not the password]%s\n' "$G" "$N"
else
    printf '%s[NOT as narrated: transcript check failed]%s\n' "$R" "$N"
    failures=$((failures + 1))
fi

# ---- end --------------------------------------------------------------------------------------------
chapter "Done"
if [ "$failures" -eq 0 ]; then
    say "All $steps steps behaved as narrated. Stopping the servers."
    exit 0
fi
say "$failures of $steps steps did not behave as narrated."
exit 1

#!/bin/sh
# run_example.sh ENV_FILE PROGRAM [NAME=KEY ...] [-- ARGS...]
#
# Runs an example against the test servers: for each NAME=KEY, sets MAILWIRE_EXAMPLE_<NAME> to the
# value of KEY in ENV_FILE (written by tests/support/servers/mwservers; KEY=VALUE lines, no quoting).
# NAME=sha256:KEY sets it to the SHA-256 fingerprint of the certificate file named by KEY, and
# NAME=literal:VALUE to VALUE.
# The remaining ARGS are passed on to PROGRAM.
set -eu
env_file=$1 program=$2
shift 2
lookup() {
    while IFS= read -r line; do
        case $line in "$1="*) printf '%s\n' "${line#*=}"; return 0 ;; esac
    done < "$env_file"
    echo "run_example.sh: $1 is not in $env_file" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --) shift; break ;;
    *=literal:*) export "MAILWIRE_EXAMPLE_${1%%=*}=${1#*=literal:}" ;;
    *=sha256:*)
        file=$(lookup "${1#*=sha256:}")
        value=$(openssl x509 -noout -fingerprint -sha256 -in "$file" | sed 's/^[^=]*=//')
        export "MAILWIRE_EXAMPLE_${1%%=*}=$value" ;;
    *=*) export "MAILWIRE_EXAMPLE_${1%%=*}=$(lookup "${1#*=}")" ;;
    *) break ;;
    esac
    shift
done
exec "$program" "$@"

#!/usr/bin/env bash
# What the test suite needs beyond Python packages, on a fresh machine: `make test` runs this first.
# - PostgreSQL and RabbitMQ (the lease, dagster dev and lake-events tests use the machine's servers):
#   started if they are installed and down.
# - Debian's Dovecot (IMAP + LMTP: the emailed login codes), Chromium (Google sign-in and the UI tests
#   through Playwright) and redis-server (the API replicas' shared rate limits): installed if missing.
# The OpenSearch-API, MongoDB-wire and Kafka servers come from PyPI with the test dependencies; the tests
# start them, and the emulator, on free ports.
set -euo pipefail

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if command -v rabbitmq-server >/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  $SUDO rabbitmq-server -detached || true
  for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
fi

need=()
{ [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/lmtp ]; } || need+=(dovecot-imapd dovecot-lmtpd)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)  # the API replicas test starts its own
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]} from Debian's packages (the tests use them)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

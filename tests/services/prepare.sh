#!/usr/bin/env bash
# What the test suite needs beyond Python packages, on a fresh Debian machine with nothing running:
# `make test` runs this first, then reads the settings it writes to .xget/test-services.env.
# - Debian packages, installed when missing (scripts/debian-packages.sh: as root or with sudo, otherwise it
#   stops and prints the command): PostgreSQL and RabbitMQ (the lease, dagster dev and lake-events tests),
#   Dovecot (IMAP + LMTP: the emailed login codes), Chromium (Google sign-in and the UI tests through
#   Playwright) and redis-server (the API replicas' shared rate limits; that test starts its own).
# - PostgreSQL: the machine's server when it takes `root` on 127.0.0.1:5432 without a password (started if
#   it is installed and down); otherwise a cluster of the suite's own on a free port, kept in $TMPDIR
#   between runs (set XGET_TEST_POSTGRES_URL to use another server).
# - RabbitMQ: the machine's server on 127.0.0.1:5672 (guest/guest), started if down.
# The OpenSearch-API, MongoDB-wire, Kafka and S3 servers come from PyPI with the test dependencies; the
# tests start them, and the emulator, on free ports.
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/debian-packages.sh postgresql rabbitmq-server redis-server dovecot-imapd dovecot-lmtpd chromium

SUDO=(); [ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)
mkdir -p .xget
out=.xget/test-services.env
: >"$out"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_takes_root() { psql -h 127.0.0.1 -p "$1" -U root -d postgres -Atqc 'select 1' >/dev/null 2>&1; }

# -- PostgreSQL ----------------------------------------------------------------------------------------
if [ -n "${XGET_TEST_POSTGRES_URL:-}" ]; then
  echo "XGET_TEST_POSTGRES_URL=$XGET_TEST_POSTGRES_URL" >>"$out"
else
  if [ -z "${XGET_TEST_OWN_POSTGRES:-}" ] && ! port_open 5432 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
      "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
  fi
  if [ -z "${XGET_TEST_OWN_POSTGRES:-}" ] && pg_takes_root 5432; then
    echo "PostgreSQL: the machine's server on 127.0.0.1:5432"
  else
    # The suite's own cluster: trust auth for `root` on 127.0.0.1 only, its data in a folder of its own.
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
    data="${TMPDIR:-/tmp}/xget-test-postgres-$(id -u)"
    as_owner=(); [ "$(id -u)" -eq 0 ] && as_owner=(runuser -u postgres --)
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data"; [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
      "${as_owner[@]}" "$bin/initdb" -D "$data" -U root -A trust --no-sync >/dev/null
    fi
    port=$(cat "$data/xget-port" 2>/dev/null || true)
    if [ -z "$port" ] || ! pg_takes_root "$port"; then
      port=$(free_port)
      echo "$port" | "${as_owner[@]}" tee "$data/xget-port" >/dev/null
      "${as_owner[@]}" "$bin/pg_ctl" -D "$data" -l "$data/log" -w -o "-p $port -k $data -c listen_addresses=127.0.0.1" start >/dev/null
    fi
    pg_takes_root "$port" || { echo "error: the suite's own PostgreSQL did not start: see $data/log" >&2; exit 1; }
    echo "PostgreSQL: the suite's own cluster on 127.0.0.1:$port ($data)"
    echo "XGET_TEST_POSTGRES_URL=postgresql+psycopg2://root@127.0.0.1:$port/postgres" >>"$out"
  fi
fi

# -- RabbitMQ ------------------------------------------------------------------------------------------
if [ -n "${XGET_TEST_RABBITMQ_URL:-}" ]; then
  echo "XGET_TEST_RABBITMQ_URL=$XGET_TEST_RABBITMQ_URL" >>"$out"
elif ! port_open 5672; then
  "${SUDO[@]}" rabbitmq-server -detached || {
    echo "error: RabbitMQ is down and could not be started: run \`sudo rabbitmq-server -detached\`" >&2
    exit 1
  }
  for _ in $(seq 1 90); do port_open 5672 && break; sleep 1; done
  port_open 5672 || { echo "error: RabbitMQ did not start within 90 s" >&2; exit 1; }
  echo "RabbitMQ: started the machine's server on 127.0.0.1:5672"
fi

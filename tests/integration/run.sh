#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Integration tests: real PostgreSQL, real agent, as root. Debian's python3
# (not a pyenv one on PATH) sees python3-pytest, -psycopg2, -prometheus-client.
set -e
cd "$(dirname "$0")"
if [ "$(id -u)" != 0 ]; then
	echo "integration tests load eBPF programs: run 'sudo make test'" >&2
	exit 1
fi
exec /usr/bin/python3 -m pytest -v -p no:cacheprovider "$@"

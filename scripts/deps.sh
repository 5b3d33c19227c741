#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Installs the Debian packages odtrace needs to build, test and demo; with
# --build, only what `make` needs (deploy/Dockerfile's build stage).
# Idempotent and quiet when everything is already there.
set -eu
BUILD="gcc libc6-dev clang llvm make pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libmicrohttpd-dev libgnutls28-dev libyaml-dev systemtap-sdt-dev libpq-dev libprotobuf-c-dev protobuf-c-compiler
libcurl4-openssl-dev libsnappy-dev libcap-dev"
TEST="binutils util-linux iproute2
postgresql postgresql-contrib prometheus redis-server redis-tools wrk
python3 python3-pytest python3-psycopg2 python3-prometheus-client
python3-grpcio python3-protobuf python3-snappy python3-yaml protobuf-compiler openssl tmux
libclang-rt-14-dev"
case "${1:-}" in
--build) PKGS=$BUILD ;;
"") PKGS="$BUILD $TEST" ;;
*) echo "usage: scripts/deps.sh [--build]" >&2; exit 2 ;;
esac
missing=$(dpkg-query -W -f '${Package} ${db:Status-Status}\n' $PKGS 2>/dev/null |
	awk '$2 != "installed" {print $1}')
# dpkg-query says nothing about packages it has never heard of
for p in $PKGS; do
	dpkg-query -W -f '${Package}\n' "$p" >/dev/null 2>&1 || missing="$missing $p"
done
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
[ -z "${missing# }" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "make deps: missing Debian packages: $missing" >&2
	echo "make deps: run 'sudo make deps' (or sudo make test / sudo make demo)" >&2
	exit 1
fi
echo "make deps: installing $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null

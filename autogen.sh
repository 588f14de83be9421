#!/bin/sh
# Generates configure from a git checkout. dovecot.m4 comes from dovecot-dev.
set -e
cd "$(dirname "$0")"
if [ ! -f /usr/share/aclocal/dovecot.m4 ]; then
	echo "autogen.sh: /usr/share/aclocal/dovecot.m4 not found: install the Debian package dovecot-dev" >&2
	exit 1
fi
autoreconf --install --force

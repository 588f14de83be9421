#!/bin/sh
# Generates configure from a git checkout. dovecot.m4 comes from dovecot-dev.
set -e
cd "$(dirname "$0")"
if [ ! -f /usr/share/aclocal/dovecot.m4 ]; then
	echo "autogen.sh: /usr/share/aclocal/dovecot.m4 not found: install the Debian package dovecot-dev" >&2
	exit 1
fi
# Dovecot 2.4's dovecot.m4 requires this aux file for its unit test
# wrapper (RUN_TEST), which this project does not use; 2.3's writes its
# wrapper itself. An empty one satisfies automake on both.
mkdir -p build-aux
[ -f build-aux/run-test.sh.in ] ||
	echo '# not used: see autogen.sh' >build-aux/run-test.sh.in
autoreconf --install --force

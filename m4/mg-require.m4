dnl Dependency checks that stop configure with one line naming the Debian
dnl package to install, instead of a compiler error half-way through make.

AC_DEFUN([MG_REQUIRE_DOVECOT],[
	AS_IF([test "x$with_dovecot" = "x"], [with_dovecot=/usr/lib/dovecot])
	AS_IF([test ! -f "$with_dovecot/dovecot-config"],
	      [AC_MSG_ERROR([$with_dovecot/dovecot-config not found: install the Debian package dovecot-dev (or pass --with-dovecot=DIR)])])
	DC_DOVECOT
	DC_DOVECOT_MODULEDIR
	AS_IF([test ! -f "$dovecot_pkgincludedir/auth-common.h"],
	      [AC_MSG_ERROR([$dovecot_pkgincludedir/auth-common.h not found: install the Debian package dovecot-dev])])
	authdb_moduledir="$dovecot_moduledir/auth"
	AC_SUBST([authdb_moduledir])
	dnl 2.4 reads settings from dovecot.conf through a settings module
	AC_MSG_CHECKING([whether Dovecot is 2.4 or later])
	mg_save_CPPFLAGS=$CPPFLAGS
	CPPFLAGS="$CPPFLAGS -I$dovecot_pkgincludedir"
	AC_PREPROC_IFELSE([AC_LANG_SOURCE([[
#include "config.h"
#if DOVECOT_VERSION_MAJOR < 2 || (DOVECOT_VERSION_MAJOR == 2 && DOVECOT_VERSION_MINOR < 4)
#error 2.3
#endif
]])], [mg_dovecot_24=yes], [mg_dovecot_24=no])
	CPPFLAGS=$mg_save_CPPFLAGS
	AC_MSG_RESULT([$mg_dovecot_24])
	AM_CONDITIONAL([DOVECOT_24], [test "x$mg_dovecot_24" = "xyes"])
])

AC_DEFUN([MG_REQUIRE_LDAP],[
	AC_CHECK_HEADER([ldap.h], [],
		[AC_MSG_ERROR([ldap.h not found: install the Debian package libldap-dev])])
	AC_CHECK_LIB([ldap], [ldap_initialize], [LDAP_LIBS="-lldap -llber"],
		[AC_MSG_ERROR([libldap not found: install the Debian package libldap-dev])])
	AC_SUBST([LDAP_LIBS])
])

AC_DEFUN([MG_REQUIRE_GLIB],[
	PKG_CHECK_MODULES([GLIB], [glib-2.0 >= 2.66], [],
		[AC_MSG_ERROR([glib-2.0 >= 2.66 not found: install the Debian package libglib2.0-dev])])
])

dnl --enable-sanitizers builds everything with ASan and UBSan.
AC_DEFUN([MG_SANITIZERS],[
	AC_ARG_ENABLE([sanitizers],
		[AS_HELP_STRING([--enable-sanitizers], [build with AddressSanitizer and UndefinedBehaviorSanitizer])],
		[], [enable_sanitizers=no])
	SANITIZER_CFLAGS=""
	AS_IF([test "x$enable_sanitizers" = "xyes"],
	      [SANITIZER_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"])
	AC_SUBST([SANITIZER_CFLAGS])
	AM_CONDITIONAL([SANITIZERS], [test "x$enable_sanitizers" = "xyes"])
])

dnl ---------------------------------------------------------------------
dnl Fuzzing (tests/fuzz/README): `make fuzz` builds the libFuzzer targets
dnl with clang, whatever CC is. FUZZ_CC is the first clang that links a
dnl -fsanitize=fuzzer,address,undefined program, else "no" (then `make
dnl fuzz` says what to install; nothing else needs it).
AC_DEFUN([MG_FUZZ],[
	AC_ARG_VAR([FUZZ_CC], [clang used by `make fuzz` (needs libFuzzer)])
	AC_MSG_CHECKING([for a clang with libFuzzer (make fuzz)])
	AS_IF([test "x$FUZZ_CC" = "x"], [
		FUZZ_CC=no
		for mg_fuzz_cc in clang clang-14 clang-15 clang-16 clang-17; do
			cat >conftest-fuzz.c <<_MG_EOF
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{ return (int)(data == NULL && size > 0); }
_MG_EOF
			if $mg_fuzz_cc -fsanitize=fuzzer,address,undefined \
				-o conftest-fuzz conftest-fuzz.c \
				>/dev/null 2>&AS_MESSAGE_LOG_FD; then
				FUZZ_CC=$mg_fuzz_cc
				break
			fi
		done
		rm -f conftest-fuzz conftest-fuzz.c
	])
	AC_MSG_RESULT([$FUZZ_CC])
])
dnl ---- end of fuzzing ------------------------------------------------

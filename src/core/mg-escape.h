#ifndef MG_ESCAPE_H
#define MG_ESCAPE_H

/* Escaping of untrusted text (user names, mostly) before it is put into an
   LDAP search filter, a DN or a log line. Nothing here allocates: the
   caller passes an output buffer of at least MG_ESCAPE_BUFSIZE(len) bytes,
   or the text to clean in place. */

#include <stdbool.h>
#include <stddef.h>

#define MG_ESCAPE_BUFSIZE(len) ((len) * 3 + 1)

/* RFC 4515 assertion value: '*', '(', ')', '\\', NUL, every byte below 0x20
   and every byte from 0x7f up become \XX (lower-case hex), so neither
   metacharacters nor invalid UTF-8 can change what the filter means.
   Returns the length written, not counting the terminating NUL. */
size_t mg_escape_filter_value(const char *src, size_t len, char *dst);

/* RFC 4514 attribute value in a DN: ',', '+', '"', '\\', '<', '>', ';',
   '=' and a leading '#' or leading/trailing space are backslash-escaped;
   NUL, control bytes and bytes from 0x7f up become \XX.
   Returns the length written, not counting the terminating NUL. */
size_t mg_escape_dn_value(const char *src, size_t len, char *dst);

/* The value of one hex digit (either case), or -1: for reading the \XX
   escapes of filters and DNs. */
int mg_escape_hex_value(char c);

/* Makes text that came from a client or a directory safe to put into a
   log line, in place: control characters (C0, DEL, C1, U+2028, U+2029),
   which could end the line and start a forged one, and bytes that are not
   valid UTF-8 each become '?'. Returns the new length (never longer). */
size_t mg_escape_log_text(char *text);

/* Whether mg_escape_log_text() would leave text as it is. */
bool mg_escape_is_log_safe(const char *text);

#endif

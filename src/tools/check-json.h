#ifndef CHECK_JSON_H
#define CHECK_JSON_H

/* Just enough JSON to print one object: members are appended to a
   GString in order, strings escaped per RFC 8259. */

#include <glib.h>

/* Appends value as a JSON string, or null when value is NULL. Bytes that
   are not UTF-8 (a directory may hold any) become U+FFFD, so the output
   always parses. */
void check_json_string(GString *out, const char *value);

/* Appends ,"key": (no comma before the first member of an object, i.e.
   when out ends with '{'). The value follows. */
void check_json_key(GString *out, const char *key);

#endif

#ifndef MG_ERROR_H
#define MG_ERROR_H

/* Errors of the pure core. The core allocates nothing for its error
   messages: the caller owns one of these (usually on the stack) and copies
   the text out if it must outlive the call. */

#define MG_ERROR_MAX 1024

struct mg_error {
	char message[MG_ERROR_MAX];
};

/* Formats into error->message (truncated to fit). error may be NULL. */
void mg_error_set(struct mg_error *error, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

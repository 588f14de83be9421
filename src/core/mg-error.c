#include <stdarg.h>
#include <stdio.h>

#include "mg-error.h"

void mg_error_set(struct mg_error *error, const char *fmt, ...)
{
	va_list args;

	if (error == NULL)
		return;
	if (fmt == NULL) {
		error->message[0] = '\0';
		return;
	}
	va_start(args, fmt);
	/* vsnprintf truncates and always terminates: a long message is cut,
	   never overflowed. */
	vsnprintf(error->message, sizeof(error->message), fmt, args);
	va_end(args);
}

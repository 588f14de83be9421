#ifndef MG_FUZZ_H
#define MG_FUZZ_H

/* Shared by the fuzz targets. Each target defines LLVMFuzzerTestOneInput();
   libFuzzer drives it under `make fuzz` (clang), replay-main.c drives it
   over the saved inputs under `make check` (any compiler). A broken
   property aborts, which both drivers report as a failure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg-entry-view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: fuzz property failed: %s\n", \
			__FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* malloc that cannot fail quietly: the core's out-of-memory paths are not
   what the fuzzers are after. */
static inline void *fuzz_malloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);

	FUZZ_ASSERT(p != NULL);
	return p;
}

/* The input as a NUL-terminated string (cut at its first NUL, if any). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = fuzz_malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A settings line's key or value as Dovecot's reader hands it over:
   spaces and tabs around it (and a CR at the end) removed, in place. */
static inline char *fuzz_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* A settings line: false for a blank or comment line, else the trimmed
   key and value (value "" when there is no '='), cut in place. */
static inline bool fuzz_split_line(char *line, char **key_r, char **value_r)
{
	char *key = fuzz_trim(line), *eq;

	if (*key == '\0' || *key == '#')
		return false;
	eq = strchr(key, '=');
	if (eq == NULL) {
		*key_r = key;
		*value_r = "";
		return true;
	}
	*eq = '\0';
	*value_r = fuzz_trim(eq + 1);
	*key_r = fuzz_trim(key);
	return true;
}

/* A directory entry made of static tables: attribute name (compared
   case-insensitively, as the core expects) -> NULL-terminated values. */
struct fuzz_attr {
	const char *name;
	const char *const *values;
};

struct fuzz_entry {
	const struct fuzz_attr *attrs;
	unsigned int count;
};

static inline unsigned int
fuzz_entry_get_values(void *context, const char *attr,
		      const char *const **values_r)
{
	const struct fuzz_entry *entry = context;
	unsigned int i, n;

	FUZZ_ASSERT(attr != NULL);
	for (i = 0; i < entry->count; i++) {
		if (strcasecmp(entry->attrs[i].name, attr) != 0)
			continue;
		for (n = 0; entry->attrs[i].values[n] != NULL; n++) ;
		if (n == 0)
			return 0;
		*values_r = entry->attrs[i].values;
		return n;
	}
	return 0;
}

static inline struct mg_entry_view fuzz_entry_view(struct fuzz_entry *entry)
{
	struct mg_entry_view view = {
		.get_values = fuzz_entry_get_values,
		.context = entry,
	};
	return view;
}

#define FUZZ_VALUES(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* One fixed entry with a bit of everything the filter language can test:
   several object classes, integers (negative, leading zeros), an empty
   value, 8-bit bytes, filter metacharacters, a numeric-OID name. */
static const struct fuzz_attr fuzz_fixed_attrs[] __attribute__((unused)) = {
	{ "objectClass", FUZZ_VALUES("top", "person", "organizationalPerson",
				     "inetOrgPerson", "contact") },
	{ "uid", FUZZ_VALUES("alice") },
	{ "cn", FUZZ_VALUES("Alice Example", "alice") },
	{ "mail", FUZZ_VALUES("alice@example.org",
			      "Alice.Example@Example.ORG") },
	{ "uidNumber", FUZZ_VALUES("1000") },
	{ "gidNumber", FUZZ_VALUES("-0042") },
	{ "targetAddress", FUZZ_VALUES("SMTP:alice@remote.example") },
	{ "msExchRecipientTypeDetails", FUZZ_VALUES("2147483648") },
	{ "description", FUZZ_VALUES("caf\xc3\xa9 (*) \\ \x7f") },
	{ "empty", FUZZ_VALUES("") },
	{ "sn", FUZZ_VALUES("   Example   Alice  ") },
	{ "objectCategory", FUZZ_VALUES("CN=Person,CN=Schema,"
					 "CN=Configuration,DC=example,DC=org") },
	{ "homeMDB", FUZZ_VALUES("CN=Mailbox DB\\, 1 ,CN=Databases,"
				 "DC=example,DC=org", "cn=x+uid=y") },
	{ "userAccountControl", FUZZ_VALUES("514") },
	{ "mailEnabled", FUZZ_VALUES("TRUE") },
	{ "homeDirectory", FUZZ_VALUES("/home/Alice") },
	{ "2.5.4.3", FUZZ_VALUES("by oid") },
};

static inline struct fuzz_entry *fuzz_fixed_entry(void)
{
	static struct fuzz_entry entry = {
		fuzz_fixed_attrs,
		sizeof(fuzz_fixed_attrs) / sizeof(fuzz_fixed_attrs[0]),
	};
	return &entry;
}

#endif

/* Fuzz target: the Exchange audit-trail texts.

   Input layout: byte 0 holds flags (which optional fields are present),
   bytes 1-2 a buffer size (little endian, modulo 1200), the rest
   NUL-separated fields: nt_domain, org, site, alias_attr, user, master,
   addr, the entry's alias value, its legacyExchangeDN, a base DN.

   mg_exchange_names_init() must point params at the right strings and
   build the X.500 DNs it documents (cut to their 512-byte arrays). Then,
   for every event kind, mg_exchange_format_line() and
   mg_exchange_format_description() keep snprintf()'s contract: the return
   value is the full length whatever the size, the buffer (exactly `size`
   bytes, so ASan sees any overrun) holds the first size-1 bytes of the
   full text, NUL-terminated, and size 0 writes nothing. The same for
   mg_exchange_x500_dn() and the defaults derived from a base DN. */

#include "fuzz.h"
#include "mg-exchange.h"

enum {
	FIELD_DOMAIN,
	FIELD_ORG,
	FIELD_SITE,
	FIELD_ALIAS_ATTR,
	FIELD_USER,
	FIELD_MASTER,
	FIELD_ADDR,
	FIELD_ALIAS_VALUE,
	FIELD_LEGACY_DN,
	FIELD_BASE,
	FIELD_COUNT
};

#define FLAG_MASTER 0x01
#define FLAG_ALIAS_VALUE 0x02
#define FLAG_LEGACY_DN 0x04
#define FLAG_NO_ALIAS_ATTR 0x08

#define FUZZ_MAX_SIZE 1200

typedef size_t format_func(enum mg_exchange_event_kind kind,
			   const struct mg_exchange_params *params,
			   char *buf, size_t size);

/* The whole text (malloc-owned), checking the length contract on the way. */
static char *format_full(format_func *format, enum mg_exchange_event_kind kind,
			 const struct mg_exchange_params *params, size_t *len_r)
{
	size_t len = format(kind, params, NULL, 0);
	char *full = fuzz_malloc(len + 1);

	FUZZ_ASSERT(format(kind, params, full, len + 1) == len);
	FUZZ_ASSERT(strlen(full) == len);
	*len_r = len;
	return full;
}

static void check_cut(const char *full, size_t len, const char *buf,
		      size_t size)
{
	size_t kept = len < size ? len : size - 1;

	FUZZ_ASSERT(strlen(buf) == kept);
	FUZZ_ASSERT(memcmp(buf, full, kept) == 0);
}

static void check_format(format_func *format, enum mg_exchange_event_kind kind,
			 const struct mg_exchange_params *params, size_t size)
{
	size_t len;
	char *full = format_full(format, kind, params, &len), *buf;

	if (size > 0) {
		buf = fuzz_malloc(size);
		FUZZ_ASSERT(format(kind, params, buf, size) == len);
		check_cut(full, len, buf, size);
		free(buf);
	}
	/* the sizes around the full length, where off-by-ones live */
	for (size_t s = len > 2 ? len - 2 : 1; s <= len + 2; s++) {
		buf = fuzz_malloc(s);
		FUZZ_ASSERT(format(kind, params, buf, s) == len);
		check_cut(full, len, buf, s);
		free(buf);
	}
	free(full);
}

typedef size_t base_func(const char *base, char *buf, size_t size);

static void check_base_default(base_func *derive, const char *base,
			       size_t size, bool upper)
{
	size_t len = derive(base, NULL, 0);
	char *full = fuzz_malloc(len + 1), *buf;

	FUZZ_ASSERT(derive(base, full, len + 1) == len);
	FUZZ_ASSERT(strlen(full) == len);
	/* a value from the DN, cut to the core's 255-byte buffer */
	FUZZ_ASSERT(len <= 255);
	if (len > 0 && !upper)
		FUZZ_ASSERT(strstr(base, full) != NULL);
	for (size_t i = 0; upper && i < len; i++)
		FUZZ_ASSERT(!(full[i] >= 'a' && full[i] <= 'z'));
	if (size > 0) {
		buf = fuzz_malloc(size);
		FUZZ_ASSERT(derive(base, buf, size) == len);
		check_cut(full, len, buf, size);
		free(buf);
	}
	free(full);
}

static void check_x500(const char *org, const char *site, const char *alias,
		       size_t size)
{
	size_t len = mg_exchange_x500_dn(org, site, alias, NULL, 0);
	char *full = fuzz_malloc(len + 1), *buf;

	FUZZ_ASSERT(mg_exchange_x500_dn(org, site, alias, full, len + 1) == len);
	FUZZ_ASSERT(len == strlen(org) + strlen(site) + strlen(alias) +
		    strlen("/o=/ou=/cn=Recipients/cn="));
	if (size > 0) {
		buf = fuzz_malloc(size);
		FUZZ_ASSERT(mg_exchange_x500_dn(org, site, alias, buf, size) ==
			    len);
		check_cut(full, len, buf, size);
		free(buf);
	}
	free(full);
}

/* names->*_x500 must be what the X.500 builder (or the entry) says, cut
   to the array. */
static void check_x500_field(const char *field, size_t field_size,
			     const char *expected)
{
	size_t len = strlen(expected);
	size_t kept = len < field_size ? len : field_size - 1;

	FUZZ_ASSERT(strnlen(field, field_size) == kept);
	FUZZ_ASSERT(memcmp(field, expected, kept) == 0);
}

static char *x500(const char *org, const char *site, const char *alias)
{
	size_t len = mg_exchange_x500_dn(org, site, alias, NULL, 0);
	char *dn = fuzz_malloc(len + 1);

	(void)mg_exchange_x500_dn(org, site, alias, dn, len + 1);
	return dn;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *fields[FIELD_COUNT];
	struct mg_exchange_identity identity;
	struct mg_exchange_names names;
	struct fuzz_attr attrs[2];
	struct fuzz_entry entry = { attrs, 0 };
	struct mg_entry_view view = fuzz_entry_view(&entry);
	const char *legacy_values[2] = { NULL, NULL };
	const char *alias_values[2] = { NULL, NULL };
	const char *const *values;
	const char *master, *alias;
	char *text, *p, *end, *expected;
	unsigned int flags, i;
	size_t buf_size;

	if (size < 3)
		return 0;
	flags = data[0];
	buf_size = (data[1] | (size_t)data[2] << 8) % FUZZ_MAX_SIZE;
	text = fuzz_malloc(size - 3 + 1);
	memcpy(text, data + 3, size - 3);
	text[size - 3] = '\0';
	end = text + (size - 3);
	for (i = 0, p = text; i < FIELD_COUNT; i++) {
		fields[i] = p;
		p += strlen(p);
		if (p < end)
			p++;
	}

	identity.nt_domain = fields[FIELD_DOMAIN];
	identity.org = fields[FIELD_ORG];
	identity.site = fields[FIELD_SITE];
	identity.alias_attr = (flags & FLAG_NO_ALIAS_ATTR) != 0 ? NULL :
		fields[FIELD_ALIAS_ATTR];
	master = (flags & FLAG_MASTER) != 0 ? fields[FIELD_MASTER] : NULL;

	/* the legacyExchangeDN first: an alias_attr spelled that way reads
	   it, as a directory would answer */
	if ((flags & FLAG_LEGACY_DN) != 0) {
		attrs[entry.count].name = "legacyExchangeDN";
		legacy_values[0] = fields[FIELD_LEGACY_DN];
		attrs[entry.count++].values = legacy_values;
	}
	if ((flags & FLAG_ALIAS_VALUE) != 0 && identity.alias_attr != NULL) {
		attrs[entry.count].name = identity.alias_attr;
		alias_values[0] = fields[FIELD_ALIAS_VALUE];
		attrs[entry.count++].values = alias_values;
	}

	memset(&names, 'x', sizeof(names));
	mg_exchange_names_init(&names, &identity, &view, fields[FIELD_USER],
			       master, fields[FIELD_ADDR]);

	/* which strings params point at */
	alias = fields[FIELD_USER];
	if (identity.alias_attr != NULL &&
	    fuzz_entry_get_values(&entry, identity.alias_attr, &values) > 0)
		alias = values[0];
	FUZZ_ASSERT(names.params.domain == identity.nt_domain);
	FUZZ_ASSERT(names.params.login ==
		    (master != NULL ? master : fields[FIELD_USER]));
	FUZZ_ASSERT(names.params.alias == alias);
	FUZZ_ASSERT(names.params.addr == fields[FIELD_ADDR]);
	FUZZ_ASSERT(names.params.login_x500 == names.login_x500);
	FUZZ_ASSERT(names.params.target_x500 == names.target_x500);

	/* the X.500 DNs */
	if (fuzz_entry_get_values(&entry, "legacyExchangeDN", &values) > 0) {
		check_x500_field(names.target_x500, sizeof(names.target_x500),
				 values[0]);
	} else {
		expected = x500(identity.org, identity.site, alias);
		check_x500_field(names.target_x500, sizeof(names.target_x500),
				 expected);
		free(expected);
	}
	if (master != NULL) {
		expected = x500(identity.org, identity.site, master);
		check_x500_field(names.login_x500, sizeof(names.login_x500),
				 expected);
		free(expected);
	} else {
		FUZZ_ASSERT(strcmp(names.login_x500, names.target_x500) == 0);
	}

	for (i = MG_EXCHANGE_IS_LOGON_FAILURE;
	     i <= MG_EXCHANGE_IMAP4_LOGON_SUCCESS; i++) {
		const struct mg_exchange_event *event = mg_exchange_event_get(i);
		size_t line_len, desc_len;
		char *line, *desc;

		FUZZ_ASSERT(event != NULL && event->source != NULL);
		check_format(mg_exchange_format_line, i, &names.params,
			     buf_size);
		check_format(mg_exchange_format_description, i, &names.params,
			     buf_size);
		/* the line is "SOURCE: Event ID N (TYPE, CATEGORY): " and the
		   description */
		line = format_full(mg_exchange_format_line, i, &names.params,
				   &line_len);
		desc = format_full(mg_exchange_format_description, i,
				   &names.params, &desc_len);
		FUZZ_ASSERT(line_len > desc_len);
		FUZZ_ASSERT(strcmp(line + line_len - desc_len, desc) == 0);
		FUZZ_ASSERT(strncmp(line, event->source,
				    strlen(event->source)) == 0);
		free(line);
		free(desc);
	}

	check_x500(identity.org, identity.site, fields[FIELD_USER], buf_size);
	check_base_default(mg_exchange_default_domain, fields[FIELD_BASE],
			   buf_size, true);
	check_base_default(mg_exchange_default_org, fields[FIELD_BASE],
			   buf_size, false);
	check_base_default(mg_exchange_default_site, fields[FIELD_BASE],
			   buf_size, false);
	free(text);
	return 0;
}

/* A Dovecot 2.3 settings file as 2.4 dovecot.conf settings. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mg-convert24.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

struct conv_buf {
	char *data;
	size_t len, size;
};

enum conv_where {
	CONV_SHARED,
	CONV_PASSDB,
	CONV_USERDB,
};

enum conv_kind {
	/* taken as it is by both releases (a password) */
	CONV_LITERAL,
	/* no variables in either release */
	CONV_PLAIN,
	/* LDAP URLs: no variables, %XX an escaped character in both */
	CONV_URL,
	CONV_BOOL,
	/* the request's variables (a filter, a DN) */
	CONV_REQUEST,
	/* and the found entry's attributes */
	CONV_ENTRY,
	/* an attribute map: a fields { } block */
	CONV_ATTRS,
	/* sasl_bind and sasl_mech: one 2.4 setting */
	CONV_SASL,
	/* tls_require_cert: a certificate checked (yes) or not (no) */
	CONV_REQUIRE_CERT,
	/* no 2.4 setting: translatable only at its default */
	CONV_NONE,
};

struct conv_key {
	const char *key;
	/* the 2.4 setting; for CONV_ATTRS the block */
	const char *name24;
	enum conv_where where;
	enum conv_kind kind;
	/* the 2.3 default, for CONV_ATTRS and CONV_NONE */
	const char *default23;
};

static const struct conv_key conv_keys[] = {
	{ "uris", "mailbox_guard_uris", CONV_SHARED, CONV_URL, NULL },
	{ "dn", "mailbox_guard_auth_dn", CONV_SHARED, CONV_PLAIN, NULL },
	{ "dnpass", "mailbox_guard_auth_dn_password", CONV_SHARED,
	  CONV_LITERAL, NULL },
	{ "sasl_bind", NULL, CONV_SHARED, CONV_SASL, NULL },
	{ "sasl_mech", NULL, CONV_SHARED, CONV_SASL, NULL },
	{ "sasl_authz_id", "mailbox_guard_auth_sasl_authz_id", CONV_SHARED,
	  CONV_PLAIN, NULL },
	{ "base", "mailbox_guard_base", CONV_SHARED, CONV_REQUEST, NULL },
	{ "scope", "mailbox_guard_scope", CONV_SHARED, CONV_PLAIN, NULL },
	{ "tls", "mailbox_guard_starttls", CONV_SHARED, CONV_BOOL, NULL },
	/* TLS: Dovecot 2.4's own ssl_client_* */
	{ "tls_ca_cert_file", "ssl_client_ca_file", CONV_SHARED, CONV_PLAIN,
	  NULL },
	{ "tls_ca_cert_dir", "ssl_client_ca_dir", CONV_SHARED, CONV_PLAIN,
	  NULL },
	{ "tls_cert_file", "ssl_client_cert_file", CONV_SHARED, CONV_PLAIN,
	  NULL },
	{ "tls_key_file", "ssl_client_key_file", CONV_SHARED, CONV_PLAIN,
	  NULL },
	{ "tls_require_cert", "ssl_client_require_valid_cert", CONV_SHARED,
	  CONV_REQUIRE_CERT, NULL },
	{ "recipient_profile", "mailbox_guard_recipient_profile", CONV_SHARED,
	  CONV_PLAIN, NULL },
	{ "custom_recipient_match", "mailbox_guard_custom_recipient_match",
	  CONV_SHARED, CONV_PLAIN, NULL },
	{ "mailbox_match", "mailbox_guard_mailbox_match", CONV_SHARED,
	  CONV_PLAIN, NULL },
	{ "custom_recipient_result", "mailbox_guard_custom_recipient_result",
	  CONV_SHARED, CONV_PLAIN, NULL },
	{ "custom_recipient_reason", "mailbox_guard_custom_recipient_reason",
	  CONV_SHARED, CONV_ENTRY, NULL },
	{ "exchange_events", "mailbox_guard_exchange_events", CONV_SHARED,
	  CONV_BOOL, NULL },
	{ "diagnostics_logging", "mailbox_guard_diagnostics_logging",
	  CONV_SHARED, CONV_PLAIN, NULL },
	{ "nt_domain", "mailbox_guard_nt_domain", CONV_SHARED, CONV_PLAIN,
	  NULL },
	{ "exchange_org", "mailbox_guard_exchange_org", CONV_SHARED,
	  CONV_PLAIN, NULL },
	{ "exchange_site", "mailbox_guard_exchange_site", CONV_SHARED,
	  CONV_PLAIN, NULL },
	{ "mailbox_alias_attr", "mailbox_guard_mailbox_alias_attr",
	  CONV_SHARED, CONV_PLAIN, NULL },
	{ "audit_only", "mailbox_guard_audit_only", CONV_SHARED, CONV_BOOL,
	  NULL },
	{ "connections", "mailbox_guard_connections", CONV_SHARED, CONV_PLAIN,
	  NULL },
	{ "max_pending", "mailbox_guard_max_pending", CONV_SHARED, CONV_PLAIN,
	  NULL },
	{ "request_timeout", "mailbox_guard_request_timeout", CONV_SHARED,
	  CONV_PLAIN, NULL },
	{ "change_feed", NULL, CONV_SHARED, CONV_NONE, "no" },
	{ "pass_filter", "passdb_mailbox_guard_filter", CONV_PASSDB,
	  CONV_REQUEST, NULL },
	{ "auth_bind", "passdb_mailbox_guard_bind", CONV_PASSDB, CONV_BOOL,
	  NULL },
	{ "auth_bind_userdn", "passdb_mailbox_guard_bind_userdn", CONV_PASSDB,
	  CONV_REQUEST, NULL },
	{ "default_pass_scheme", "passdb_default_password_scheme",
	  CONV_PASSDB, CONV_PLAIN, NULL },
	{ "pass_attrs", "fields", CONV_PASSDB, CONV_ATTRS,
	  "uid=user,userPassword=password" },
	{ "user_filter", "userdb_mailbox_guard_filter", CONV_USERDB,
	  CONV_REQUEST, NULL },
	{ "iterate_filter", "userdb_mailbox_guard_iterate_filter",
	  CONV_USERDB, CONV_REQUEST, NULL },
	{ "iterate_attrs", "userdb_mailbox_guard_iterate_fields", CONV_USERDB,
	  CONV_ATTRS, "uid=user" },
	{ "iterate_page_size", "userdb_mailbox_guard_iterate_page_size",
	  CONV_USERDB, CONV_PLAIN, NULL },
	{ "user_attrs", "fields", CONV_USERDB, CONV_ATTRS,
	  "homeDirectory=home,uidNumber=uid,gidNumber=gid" },
};

/* 2.3's variables (auth-request-var-expand.c) as 2.4 writes them. */
static const struct {
	char short_key;
	const char *key23, *expr24;
} conv_var_table[] = {
	{ 'u', "user", "user" },
	{ 'n', "username", "user | username" },
	{ 'd', "domain", "user | domain" },
	{ 's', "service", "protocol" },
	{ 'h', "home", "home" },
	{ 'l', "lip", "local_ip" },
	{ 'r', "rip", "remote_ip" },
	{ 'p', "pid", "client_pid" },
	{ 'w', "password", "password" },
	{ 'm', "mech", "mechanism" },
	{ 'c', "secured", "secured" },
	{ 'a', "lport", "local_port" },
	{ 'b', "rport", "remote_port" },
	{ 'k', "cert", "cert" },
	{ '\0', "login_user", "login_user" },
	{ '\0', "login_username", "login_user | username" },
	{ '\0', "login_domain", "login_user | domain" },
	{ '\0', "session", "session" },
	{ '\0', "real_lip", "real_local_ip" },
	{ '\0', "real_rip", "real_remote_ip" },
	{ '\0', "real_lport", "real_local_port" },
	{ '\0', "real_rport", "real_remote_port" },
	{ '\0', "domain_first", "domain_first" },
	{ '\0', "domain_last", "domain_last" },
	{ '\0', "master_user", "master_user" },
	{ '\0', "session_pid", "session_pid" },
	{ '\0', "orig_user", "original_user" },
	{ '\0', "orig_username", "original_user | username" },
	{ '\0', "orig_domain", "original_user | domain" },
	{ '\0', "auth_user", "auth_user" },
	{ '\0', "auth_username", "auth_user | username" },
	{ '\0', "auth_domain", "auth_user | domain" },
	{ '\0', "local_name", "local_name" },
	{ '\0', "client_id", "client_id" },
	{ '\0', "local_ip", "local_ip" },
	{ '\0', "remote_ip", "remote_ip" },
	{ '\0', "local_port", "local_port" },
	{ '\0', "remote_port", "remote_port" },
	{ '\0', "real_local_ip", "real_local_ip" },
	{ '\0', "real_remote_ip", "real_remote_ip" },
	{ '\0', "real_local_port", "real_local_port" },
	{ '\0', "real_remote_port", "real_remote_port" },
	{ '\0', "mechanism", "mechanism" },
	{ '\0', "original_user", "original_user" },
	{ '\0', "original_username", "original_user | username" },
	{ '\0', "original_domain", "original_user | domain" },
};

struct conv {
	const struct mg_convert24_pair *pairs;
	unsigned int count;
	struct conv_buf shared, untranslated, passdb, userdb;
	struct mg_convert24 *result;
	bool out_of_memory;
};

/* What one value's variables became. */
struct conv_vars_result {
	/* the template used %$ */
	bool used_value;
	/* why it has no translation, when it hasn't */
	struct mg_error error;
	bool failed;
};

static void buf_append(struct conv *conv, struct conv_buf *buf,
		       const char *data, size_t len)
{
	if (conv->out_of_memory)
		return;
	if (buf->len + len + 1 > buf->size) {
		size_t size = (buf->len + len + 1) * 2;
		char *data2 = realloc(buf->data, size);

		if (data2 == NULL) {
			conv->out_of_memory = true;
			return;
		}
		buf->data = data2;
		buf->size = size;
	}
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

static void buf_puts(struct conv *conv, struct conv_buf *buf, const char *s)
{
	buf_append(conv, buf, s, strlen(s));
}

/* s with every control byte as '?', for a comment or a message */
static void buf_puts_printable(struct conv *conv, struct conv_buf *buf,
			       const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];

		buf_append(conv, buf, &c, 1);
	}
}

static void conv_vars_fail(struct conv_vars_result *vr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conv_vars_fail(struct conv_vars_result *vr, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(vr->error.message, sizeof(vr->error.message), fmt, args);
	va_end(args);
	vr->failed = true;
}

/* A key of the file as a value dovecot.conf reads as it is: an unknown
   key can be anything (but an '=' or a space). */
static void conv_put_key_name(struct conv *conv, struct conv_buf *buf,
			      const char *key)
{
	for (; *key != '\0'; key++) {
		char c = *key;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-'))
			c = '_';
		buf_append(conv, buf, &c, 1);
	}
}

static void conv_problem(struct conv *conv, const char *key,
			 const char *why)
{
	struct conv_buf msg = { NULL, 0, 0 };
	struct mg_convert24 *result = conv->result;
	char **problems;

	buf_puts_printable(conv, &msg, key, strlen(key));
	buf_puts(conv, &msg, ": ");
	buf_puts_printable(conv, &msg, why, strlen(why));
	buf_puts(conv, &conv->untranslated, "# ");
	buf_puts(conv, &conv->untranslated, msg.data == NULL ? "" : msg.data);
	buf_puts(conv, &conv->untranslated,
		 "\nmailbox_guard_not_translated = ");
	conv_put_key_name(conv, &conv->untranslated, key);
	buf_puts(conv, &conv->untranslated, "\n");
	if (conv->out_of_memory) {
		free(msg.data);
		return;
	}
	problems = realloc(result->problems,
			   (result->problem_count + 1) * sizeof(*problems));
	if (problems == NULL) {
		conv->out_of_memory = true;
		free(msg.data);
		return;
	}
	result->problems = problems;
	problems[result->problem_count++] = msg.data;
}

/* The value a key has in the file: its last one, or NULL. */
static const char *conv_value(const struct conv *conv, const char *key)
{
	for (unsigned int i = conv->count; i > 0; i--) {
		if (strcmp(conv->pairs[i - 1].key, key) == 0)
			return conv->pairs[i - 1].value;
	}
	return NULL;
}

static bool has_control(const char *value)
{
	for (; *value != '\0'; value++) {
		if ((unsigned char)*value < 0x20 || *value == 0x7f)
			return true;
	}
	return false;
}

/* A value as dovecot.conf reads it back: in double quotes, with '"' and
   '\' escaped, when it would otherwise be read as something else (a
   comment, a file to read, a variable, a quoted string, a continued
   line, or lose its outer spaces). */
static void conv_put_value(struct conv *conv, struct conv_buf *buf,
			   const char *value)
{
	size_t len = strlen(value);
	bool quote = len > 0 &&
		(strchr("<$' \t", value[0]) != NULL ||
		 strchr(" \t\\", value[len - 1]) != NULL ||
		 strpbrk(value, "#\"") != NULL);

	if (!quote) {
		buf_puts(conv, buf, value);
		return;
	}
	buf_puts(conv, buf, "\"");
	for (; *value != '\0'; value++) {
		if (*value == '"' || *value == '\\')
			buf_puts(conv, buf, "\\");
		buf_append(conv, buf, value, 1);
	}
	buf_puts(conv, buf, "\"");
}

static void conv_put_setting(struct conv *conv, struct conv_buf *buf,
			     const char *indent, const char *name,
			     const char *value)
{
	buf_puts(conv, buf, indent);
	buf_puts(conv, buf, name);
	buf_puts(conv, buf, " = ");
	conv_put_value(conv, buf, value);
	buf_puts(conv, buf, "\n");
}

/* 2.3 has no attribute "dn" (no server returns one), 2.4's %{ldap:dn} is
   the entry's DN: which was meant can't be told. */
#define CONV_DN_WHY "2.3 finds no attribute dn, 2.4's %{ldap:dn} is the " \
	"entry's DN"

static const char *conv_var_expr(const char *key23, size_t len, bool braced)
{
	for (size_t i = 0; i < N_ELEMENTS(conv_var_table); i++) {
		if (!braced && len == 1 && conv_var_table[i].short_key == key23[0])
			return conv_var_table[i].expr24;
		if (braced && strlen(conv_var_table[i].key23) == len &&
		    strncmp(conv_var_table[i].key23, key23, len) == 0)
			return conv_var_table[i].expr24;
	}
	return NULL;
}

/* provider:name[:default] into expr: 2.3 gives the default (or "") for
   what is missing, 2.4 an error unless "| default" follows. Returns
   false when key names no provider. */
static bool conv_provider(struct conv *conv, struct conv_buf *expr,
			  const char *key, size_t len, bool entry,
			  struct conv_vars_result *vr)
{
	static const char *const providers[] = {
		"ldap:", "ldap_multi:", "passdb:", "userdb:", "env:"
	};
	const char *colon, *name, *def = NULL;
	size_t plen = 0, name_len, def_len = 0;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(providers); i++) {
		plen = strlen(providers[i]);
		if (len > plen && strncmp(key, providers[i], plen) == 0)
			break;
	}
	if (i == N_ELEMENTS(providers))
		return false;
	if (i < 2 && !entry) {
		conv_vars_fail(vr, "%%{%.*s}: an attribute of the found "
			       "entry, which isn't known when searching",
			       (int)len, key);
		return true;
	}
	name = key + plen;
	name_len = len - plen;
	/* env:NAME has no default */
	colon = i == 4 ? NULL : memchr(name, ':', name_len);
	if (colon != NULL) {
		def = colon + 1;
		def_len = name_len - (colon - name) - 1;
		name_len = colon - name;
		if (memchr(def, '\'', def_len) != NULL ||
		    memchr(def, '\\', def_len) != NULL) {
			conv_vars_fail(vr, "%%{%.*s}: a default holding a "
				       "quote or a backslash", (int)len, key);
			return true;
		}
	}
	if (name_len == 0 || memchr(name, ' ', name_len) != NULL ||
	    memchr(name, '|', name_len) != NULL) {
		conv_vars_fail(vr, "%%{%.*s}: not a name", (int)len, key);
		return true;
	}
	if (i < 2 && name_len == 2 && strncasecmp(name, "dn", 2) == 0) {
		conv_vars_fail(vr, "%%{%.*s}: %s", (int)len, key, CONV_DN_WHY);
		return true;
	}
	buf_append(conv, expr, key, plen + name_len);
	if (def != NULL) {
		buf_puts(conv, expr, " | default('");
		buf_append(conv, expr, def, def_len);
		buf_puts(conv, expr, "')");
	} else if (i < 2) {
		/* 2.3: "" for an attribute the entry lacks */
		buf_puts(conv, expr, " | default");
	}
	return true;
}

/* The expression of one 2.3 variable, key_len bytes at key (braced:
   written %{key}), into expr. */
static void conv_var_key(struct conv *conv, struct conv_buf *expr,
			 const char *key, size_t key_len, bool braced,
			 bool entry, const char *attr,
			 struct conv_vars_result *vr)
{
	const char *name;

	if (!braced && key[0] == '$') {
		if (attr == NULL) {
			conv_vars_fail(vr, "%%$: no attribute it would stand "
				       "for here");
			return;
		}
		vr->used_value = true;
		buf_puts(conv, expr, "ldap:");
		buf_puts(conv, expr, attr);
		return;
	}
	name = conv_var_expr(key, key_len, braced);
	if (name != NULL) {
		buf_puts(conv, expr, name);
		return;
	}
	if (braced && conv_provider(conv, expr, key, key_len, entry, vr))
		return;
	conv_vars_fail(vr, "%%%s%.*s%s: a variable 2.4 has no translation "
		       "for", braced ? "{" : "", (int)key_len, key,
		       braced ? "}" : "");
}

/* One 2.3 variable at p (just after its '%') into out; returns what
   follows it. */
static const char *conv_var(struct conv *conv, struct conv_buf *out,
			    const char *p, bool entry, const char *attr,
			    struct conv_vars_result *vr)
{
	struct conv_buf expr = { NULL, 0, 0 };
	const char *mods = p, *key;
	size_t key_len, mods_len;
	bool braced = false;

	while (*p == 'L' || *p == 'U')
		p++;
	mods_len = p - mods;
	if (*p == '\0') {
		conv_vars_fail(vr, "a '%%' at the end");
		return p;
	}
	if (*p == '{') {
		const char *end = strchr(p, '}');

		if (end == NULL) {
			conv_vars_fail(vr, "a %%{ without its }");
			return p + strlen(p);
		}
		key = p + 1;
		key_len = end - key;
		p = end + 1;
		braced = true;
	} else if (strchr("ETXRHNMD-.0123456789", *p) != NULL) {
		conv_vars_fail(vr, "%%%.*s%c: 2.3's modifier '%c' has no "
			       "2.4 translation here", (int)mods_len, mods,
			       *p, *p);
		return p + 1;
	} else {
		key = p++;
		key_len = 1;
	}
	if (!braced && mods_len == 0 && key[0] == '%') {
		/* a per cent sign: 2.4 takes "%%" as two, and the plugin
		   refuses a '%' that starts no %{variable} */
		buf_puts(conv, out, "%{literal('\\x25')}");
		return p;
	}
	conv_var_key(conv, &expr, key, key_len, braced, entry, attr, vr);
	if (!vr->failed) {
		buf_puts(conv, out, "%{");
		buf_puts(conv, out, expr.data == NULL ? "" : expr.data);
		for (size_t i = 0; i < mods_len; i++) {
			buf_puts(conv, out, mods[i] == 'L' ?
				 " | lower" : " | upper");
		}
		buf_puts(conv, out, "}");
	}
	free(expr.data);
	return p;
}

/* Text between variables. Dovecot 2.4.1's var_expand() (Debian 13)
   drops a part that is exactly "y" (so "=nologin=y" would give ""):
   written as a literal() it stays. */
static void conv_text(struct conv *conv, struct conv_buf *out,
		      const char *text, size_t len)
{
	if (len == 1 && text[0] == 'y')
		buf_puts(conv, out, "%{literal('y')}");
	else
		buf_append(conv, out, text, len);
}

/* value with 2.3's variables in 2.4's syntax into out. entry: the found
   entry's %{ldap:...} mean something here; attr: what %$ stands for. */
static void conv_vars(struct conv *conv, struct conv_buf *out,
		      const char *value, bool entry, const char *attr,
		      struct conv_vars_result *vr)
{
	const char *p = value, *pct;

	while (!vr->failed && (pct = strchr(p, '%')) != NULL) {
		conv_text(conv, out, p, pct - p);
		p = conv_var(conv, out, pct + 1, entry, attr, vr);
	}
	if (!vr->failed)
		conv_text(conv, out, p, strlen(p));
}

/* A value of a key without variables: 2.3 takes it as it is, and so does
   2.4 but for a '%' other than in "%%", which it refuses. */
static bool conv_plain_ok(const char *value)
{
	for (const char *p = strchr(value, '%'); p != NULL;
	     p = strchr(p + 2, '%')) {
		if (p[1] != '%')
			return false;
	}
	return true;
}

static bool conv_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		(c >= 'A' && c <= 'F');
}

static bool conv_url_ok(const char *value)
{
	for (const char *p = strchr(value, '%'); p != NULL;
	     p = strchr(p + 1, '%')) {
		if (!conv_hex(p[1]) || !conv_hex(p[2]))
			return false;
	}
	return true;
}

static struct conv_buf *conv_block(struct conv *conv, enum conv_where where)
{
	switch (where) {
	case CONV_SHARED:
		break;
	case CONV_PASSDB:
		return &conv->passdb;
	case CONV_USERDB:
		return &conv->userdb;
	}
	return &conv->shared;
}

static const char *conv_indent(enum conv_where where)
{
	return where == CONV_SHARED ? "" : "  ";
}

static void conv_simple(struct conv *conv, const struct conv_key *key,
			const char *value)
{
	struct conv_buf *buf = conv_block(conv, key->where);
	struct conv_vars_result vr = { .failed = false };
	struct conv_buf out = { NULL, 0, 0 };

	if (has_control(value)) {
		/* dovecot.conf can't hold them as they are */
		conv_problem(conv, key->key, "the value holds control "
			     "characters");
		return;
	}
	switch (key->kind) {
	case CONV_LITERAL:
		conv_put_setting(conv, buf, conv_indent(key->where),
				 key->name24, value);
		return;
	case CONV_PLAIN:
		if (!conv_plain_ok(value)) {
			conv_problem(conv, key->key, "a '%' (not \"%%\"), which "
				     "2.4 refuses in a setting without "
				     "variables");
			return;
		}
		conv_put_setting(conv, buf, conv_indent(key->where),
				 key->name24, value);
		return;
	case CONV_URL:
		if (!conv_url_ok(value)) {
			conv_problem(conv, key->key, "a '%' not followed by two "
				     "hex digits (an escaped character)");
			return;
		}
		conv_put_setting(conv, buf, conv_indent(key->where),
				 key->name24, value);
		return;
	case CONV_BOOL:
		if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "y") == 0)
			value = "yes";
		else if (strcasecmp(value, "no") == 0 ||
			 strcasecmp(value, "n") == 0)
			value = "no";
		else {
			conv_problem(conv, key->key, "expected yes or no");
			return;
		}
		conv_put_setting(conv, buf, conv_indent(key->where),
				 key->name24, value);
		return;
	case CONV_REQUIRE_CERT:
		if (strcasecmp(value, "demand") == 0 ||
		    strcasecmp(value, "hard") == 0)
			value = "yes";
		else if (strcasecmp(value, "never") == 0 ||
			 strcasecmp(value, "allow") == 0 ||
			 strcasecmp(value, "try") == 0)
			value = "no";
		else {
			conv_problem(conv, key->key, "expected never, allow, "
				     "try, demand or hard");
			return;
		}
		conv_put_setting(conv, buf, conv_indent(key->where),
				 key->name24, value);
		return;
	case CONV_REQUEST:
	case CONV_ENTRY:
		conv_vars(conv, &out, value, key->kind == CONV_ENTRY, NULL, &vr);
		if (vr.failed)
			conv_problem(conv, key->key, vr.error.message);
		else
			conv_put_setting(conv, buf, conv_indent(key->where),
					 key->name24,
					 out.data == NULL ? "" : out.data);
		free(out.data);
		return;
	case CONV_NONE:
		if (strcmp(value, key->default23) != 0) {
			char why[128];

			snprintf(why, sizeof(why), "2.4 has no setting for it "
				 "yet (only its default, %s, holds there)",
				 key->default23);
			conv_problem(conv, key->key, why);
		}
		return;
	case CONV_ATTRS:
	case CONV_SASL:
		break;
	}
}

static bool conv_field_name_ok(const char *name, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

/* Adds field to names (",a,b,"); false when it is there already. */
static bool conv_field_once(struct conv *conv, struct conv_buf *names,
			    const char *field, size_t len)
{
	struct conv_buf needle = { NULL, 0, 0 };
	bool found;

	buf_puts(conv, &needle, ",");
	buf_append(conv, &needle, field, len);
	buf_puts(conv, &needle, ",");
	found = names->data != NULL && needle.data != NULL &&
		strstr(names->data, needle.data) != NULL;
	if (!found) {
		if (names->data == NULL)
			buf_puts(conv, names, ",");
		buf_append(conv, names, field, len);
		buf_puts(conv, names, ",");
	}
	free(needle.data);
	return !found;
}

/* One item of an attribute map ("attr", "attr=field", "=field=template"
   or "attr=field=template") as a line of fields { }; vr says why when it
   has no translation. */
static void conv_attr_item(struct conv *conv, struct conv_buf *fields,
			   const char *item, size_t len,
			   struct conv_buf *names, struct conv_vars_result *vr)
{
	const char *eq = memchr(item, '=', len), *field, *template = NULL;
	size_t attr_len, field_len;
	char *attr = NULL, *tmpl = NULL;
	struct conv_buf value = { NULL, 0, 0 };

	if (item[0] == '@') {
		conv_vars_fail(vr, "'@' items are not supported");
		return;
	}
	if (eq == NULL) {
		attr_len = len;
		field = item;
		field_len = len;
	} else {
		const char *eq2;

		attr_len = eq - item;
		field = eq + 1;
		eq2 = memchr(field, '=', len - attr_len - 1);
		field_len = eq2 == NULL ? len - attr_len - 1 :
			(size_t)(eq2 - field);
		if (eq2 != NULL)
			template = eq2 + 1;
	}
	if (!conv_field_name_ok(field, field_len)) {
		conv_vars_fail(vr, "'%.*s': a field name 2.4's fields { } "
			       "can't hold", (int)field_len, field);
		return;
	}
	if (attr_len == 0 && template == NULL) {
		conv_vars_fail(vr, "'%.*s': neither attribute nor template",
			       (int)field_len, field);
		return;
	}
	/* a field set twice depends on which attributes the entry has */
	if (!conv_field_once(conv, names, field, field_len)) {
		conv_vars_fail(vr, "the field '%.*s' is set twice",
			       (int)field_len, field);
		return;
	}
	if (attr_len == 2 && strncasecmp(item, "dn", 2) == 0) {
		conv_vars_fail(vr, "'dn=%.*s': %s", (int)field_len, field,
			       CONV_DN_WHY);
		return;
	}
	if (attr_len > 0) {
		attr = strndup(item, attr_len);
		if (attr == NULL || strpbrk(attr, "{}|:%\" ") != NULL) {
			if (attr != NULL)
				conv_vars_fail(vr, "'%s': not an attribute "
					       "name", attr);
			else
				conv->out_of_memory = true;
			free(attr);
			return;
		}
	}
	if (template == NULL) {
		buf_puts(conv, &value, "%{ldap:");
		buf_puts(conv, &value, attr);
		buf_puts(conv, &value, "}");
	} else {
		tmpl = strndup(template, len - (template - item));
		if (tmpl == NULL) {
			conv->out_of_memory = true;
			free(attr);
			return;
		}
		conv_vars(conv, &value, tmpl, true, attr, vr);
		if (!vr->failed && attr != NULL && !vr->used_value) {
			/* 2.3 sets the field only when the entry has attr:
			   an expansion that fails without it (and adds
			   nothing) does that on 2.4 */
			buf_puts(conv, &value, "%{ldap:");
			buf_puts(conv, &value, attr);
			buf_puts(conv, &value, " | substr(0, 0)}");
		}
	}
	if (!vr->failed) {
		buf_puts(conv, fields, "    ");
		buf_append(conv, fields, field, field_len);
		buf_puts(conv, fields, " = ");
		conv_put_value(conv, fields,
			       value.data == NULL ? "" : value.data);
		buf_puts(conv, fields, "\n");
	}
	free(value.data);
	free(tmpl);
	free(attr);
}

static void conv_attrs(struct conv *conv, const struct conv_key *key,
		       const char *value, bool is_default)
{
	struct conv_buf *buf = conv_block(conv, key->where);
	struct conv_buf fields = { NULL, 0, 0 }, names = { NULL, 0, 0 };
	const char *p = value;
	bool failed = false;

	if (has_control(value)) {
		conv_problem(conv, key->key, "the value holds control "
			     "characters");
		return;
	}
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		const char *item = p;
		struct conv_vars_result vr = { .failed = false };

		p += len;
		if (*p == ',')
			p++;
		while (len > 0 && (*item == ' ' || *item == '\t')) {
			item++;
			len--;
		}
		while (len > 0 && (item[len - 1] == ' ' ||
				   item[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		conv_attr_item(conv, &fields, item, len, &names, &vr);
		if (vr.failed) {
			conv_problem(conv, key->key, vr.error.message);
			failed = true;
		}
	}
	free(names.data);
	if (failed) {
		free(fields.data);
		return;
	}
	if (is_default) {
		buf_puts(conv, buf, "  # 2.3's default ");
		buf_puts(conv, buf, key->key);
		buf_puts(conv, buf, " (2.4 has none)\n");
	}
	buf_puts(conv, buf, "  ");
	buf_puts(conv, buf, key->name24);
	buf_puts(conv, buf, " {\n");
	if (fields.data != NULL)
		buf_puts(conv, buf, fields.data);
	buf_puts(conv, buf, "  }\n");
	free(fields.data);
}

static void conv_sasl(struct conv *conv)
{
	const char *bind = conv_value(conv, "sasl_bind");
	const char *mech = conv_value(conv, "sasl_mech");

	if (bind == NULL || strcasecmp(bind, "no") == 0 ||
	    strcasecmp(bind, "n") == 0)
		return;
	if (strcasecmp(bind, "yes") != 0 && strcasecmp(bind, "y") != 0) {
		conv_problem(conv, "sasl_bind", "expected yes or no");
		return;
	}
	if (mech == NULL)
		mech = "EXTERNAL";
	if (has_control(mech) || strpbrk(mech, " \t,\"%") != NULL ||
	    mech[0] == '\0') {
		conv_problem(conv, "sasl_mech", "not one mechanism name");
		return;
	}
	conv_put_setting(conv, &conv->shared, "",
			 "mailbox_guard_auth_sasl_mechanisms", mech);
}

static const struct conv_key *conv_key_find(const char *key)
{
	for (size_t i = 0; i < N_ELEMENTS(conv_keys); i++) {
		if (strcmp(conv_keys[i].key, key) == 0)
			return &conv_keys[i];
	}
	return NULL;
}

static void conv_unknown_keys(struct conv *conv)
{
	for (unsigned int i = 0; i < conv->count; i++) {
		const char *key = conv->pairs[i].key;
		bool later = false;

		if (conv_key_find(key) != NULL)
			continue;
		for (unsigned int j = i + 1; j < conv->count && !later; j++)
			later = strcmp(conv->pairs[j].key, key) == 0;
		if (!later)
			conv_problem(conv, key, "not a setting of the 2.3 "
				     "settings file");
	}
}

static void conv_header(struct conv *conv, struct conv_buf *out,
			const char *source)
{
	buf_puts(conv, out, "# The mailbox_guard passdb and userdb for "
		 "Dovecot 2.4, converted from the\n# Dovecot 2.3 settings "
		 "file");
	if (source != NULL) {
		buf_puts(conv, out, " ");
		buf_puts_printable(conv, out, source, strlen(source));
	}
	buf_puts(conv, out, " by mailbox-guard-check --to-2.4.\n");
}

bool mg_convert24(const struct mg_convert24_pair *pairs, unsigned int count,
		  const char *source, struct mg_convert24 *result_r,
		  struct mg_error *error_r)
{
	struct conv conv = {
		.pairs = pairs,
		.count = count,
		.result = result_r,
	};
	struct conv_buf out = { NULL, 0, 0 };

	memset(result_r, 0, sizeof(*result_r));
	for (size_t i = 0; i < N_ELEMENTS(conv_keys); i++) {
		const struct conv_key *key = &conv_keys[i];
		const char *value = conv_value(&conv, key->key);

		if (key->kind == CONV_ATTRS)
			conv_attrs(&conv, key, value != NULL ? value :
				   key->default23, value == NULL);
		else if (key->kind == CONV_SASL) {
			if (strcmp(key->key, "sasl_bind") == 0)
				conv_sasl(&conv);
		} else if (value != NULL)
			conv_simple(&conv, key, value);
	}
	conv_unknown_keys(&conv);

	conv_header(&conv, &out, source);
	if (conv.shared.data != NULL)
		buf_puts(&conv, &out, conv.shared.data);
	if (conv.untranslated.data != NULL) {
		buf_puts(&conv, &out, "\n# Not translated (Dovecot 2.4 "
			 "refuses to start with this):\n");
		buf_puts(&conv, &out, conv.untranslated.data);
	}
	buf_puts(&conv, &out, "\npassdb mailbox_guard {\n"
		 "  driver = mailbox_guard\n");
	if (conv.passdb.data != NULL)
		buf_puts(&conv, &out, conv.passdb.data);
	buf_puts(&conv, &out, "}\nuserdb mailbox_guard {\n"
		 "  driver = mailbox_guard\n");
	if (conv.userdb.data != NULL)
		buf_puts(&conv, &out, conv.userdb.data);
	buf_puts(&conv, &out, "}\n");
	free(conv.shared.data);
	free(conv.untranslated.data);
	free(conv.passdb.data);
	free(conv.userdb.data);
	result_r->text = out.data;
	if (conv.out_of_memory) {
		mg_error_set(error_r, "out of memory");
		return false;
	}
	return true;
}

void mg_convert24_clear(struct mg_convert24 *result)
{
	for (unsigned int i = 0; i < result->problem_count; i++)
		free(result->problems[i]);
	free(result->problems);
	free(result->text);
	memset(result, 0, sizeof(*result));
}

struct conv_read {
	struct mg_convert24_pair *pairs;
	unsigned int count;
};

static bool conv_read_setting(void *context, const char *path,
			      unsigned int line, const struct stat *st,
			      const char *key, const char *value,
			      struct mg_error *error_r)
{
	struct conv_read *read = context;
	struct mg_convert24_pair *pairs;
	char *k = strdup(key), *v = strdup(value);

	(void)path;
	(void)line;
	(void)st;
	pairs = realloc(read->pairs, (read->count + 1) * sizeof(*pairs));
	if (k == NULL || v == NULL || pairs == NULL) {
		free(k);
		free(v);
		if (pairs != NULL)
			read->pairs = pairs;
		mg_error_set(error_r, "out of memory");
		return false;
	}
	read->pairs = pairs;
	pairs[read->count].key = k;
	pairs[read->count++].value = v;
	return true;
}

static const struct mg_conf_reader_callbacks conv_read_callbacks = {
	.setting = conv_read_setting,
};

bool mg_convert24_file(const char *path, mg_config_warning_t *warning,
		       void *context, struct mg_convert24 *result_r,
		       struct mg_error *error_r)
{
	struct conv_read read = { NULL, 0 };
	struct mg_config *config;
	bool ok;

	memset(result_r, 0, sizeof(*result_r));
	/* refused as the plugin refuses it, with its warnings */
	config = mg_config_load(path, warning, context, error_r);
	if (config == NULL)
		return false;
	mg_config_free(&config);
	/* the keys as the file gives them (the defaults aren't keys) */
	ok = mg_conf_read(path, &conv_read_callbacks, &read, error_r) &&
		mg_convert24(read.pairs, read.count, path, result_r, error_r);
	for (unsigned int i = 0; i < read.count; i++) {
		free((char *)read.pairs[i].key);
		free((char *)read.pairs[i].value);
	}
	free(read.pairs);
	return ok;
}

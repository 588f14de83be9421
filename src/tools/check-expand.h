#ifndef CHECK_EXPAND_H
#define CHECK_EXPAND_H

/* %-variables in pass_filter, base and custom_recipient_reason, as the
   plugin's login expands them: %u %n %d %s %r and their long names
   %{user} %{username} %{domain} %{service} %{rip}, %{master_user}, the
   modifiers L (lower case) and U (upper case), %% for a percent sign, and
   in templates that read the entry %{ldap:attr[:default]},
   %{ldap_multi:attr[:default]} (all values, comma-separated) and %$.
   Anything else is an error naming it, never a silent guess.
   Built for Dovecot 2.4 (check-expand-24.c in place of check-expand-23.c),
   2.4's forms instead:
   %{user}, %{protocol}, %{remote_ip}, %{master_user}, %{ldap:attr},
   %{ldap_multi:attr}, %{ldap:dn}, %{literal('text')}, and the filters
   lower, upper, username, domain and default[('text')]. */

#include <stddef.h>
#include <stdbool.h>
#include <glib.h>

struct check_entry;

struct check_expand_vars {
	const char *user;
	const char *service;
	const char *rip;
	/* NULL unless a master user logs in for user */
	const char *master_user;
};

/* mg_escape_filter_value() or mg_escape_dn_value(): applied to every
   substituted variable, never to the template's own text. */
typedef size_t check_escape_func_t(const char *src, size_t len, char *dst);

struct check_expand_context {
	const struct check_expand_vars *vars;
	/* NULL: no escaping */
	check_escape_func_t *escape;
	/* NULL: %{ldap:...} is an error */
	const struct check_entry *entry;
	/* %$; NULL: %$ is an error */
	const char *dollar;
};

/* Appends template, expanded, to out. Returns false with *error_r
   (g_free() it) when it uses something unsupported. */
bool check_expand(GString *out, const char *template,
		  const struct check_expand_context *ctx, char **error_r);

/* auth_username_format applied to user, for the formats the tool
   applies exactly (2.3: one of %u %n %d or their long names, with at most
   an L or U modifier; 2.4: %{user} with the filters lower, upper,
   username and domain): a new string, or NULL for any other format. */
char *check_expand_username_format(const char *format, const char *user);

/* Adds to attrs (char *, g_free'd by the array) every attribute template
   names as %{ldap:attr} or %{ldap_multi:attr}, once each, compared
   case-insensitively. */
void check_expand_add_ldap_attrs(const char *template, GPtrArray *attrs);

/* Adds attr to attrs unless it is there already (case-insensitive). */
void check_expand_add_attr(GPtrArray *attrs, const char *attr);

#endif

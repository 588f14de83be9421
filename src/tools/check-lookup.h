#ifndef CHECK_LOOKUP_H
#define CHECK_LOOKUP_H

/* The one search of a login, as the plugin makes it: base and filter
   expanded for the user with every value escaped, the attributes the
   plugin reads asked for by name, and the entry chosen and classified by
   the core. */

#include <glib.h>
#include "mg-classify.h"
#include "mg-config.h"

struct check_entry;
struct check_expand_vars;
struct check_ldap;
struct check_pass_attrs;

enum check_lookup_status {
	CHECK_LOOKUP_FOUND,
	CHECK_LOOKUP_UNKNOWN,
	/* several mailboxes matched: the login tempfails */
	CHECK_LOOKUP_AMBIGUOUS,
};

struct check_lookup {
	char *base;
	enum mg_scope scope;
	char *filter;

	/* struct check_entry *, as the search returned them */
	GPtrArray *entries;
	enum check_lookup_status status;
	/* with FOUND: one of entries, its kind and the rule that decided */
	const struct check_entry *entry;
	enum mg_kind kind;
	const char *rule;
	/* what the plugin logs about duplicates, or NULL */
	char *note;
};

/* "*" (every user attribute) plus what the plugin requests by name:
   the classifier's attributes (operational ones such as Home-MDB come
   back only so), the alias attribute, legacyExchangeDN, the attributes
   of custom_recipient_reason and pass_attrs. NULL-terminated. */
GPtrArray *check_lookup_search_attrs(const struct mg_config *config,
				     const struct check_pass_attrs *pass_attrs);

/* Expands the search for vars: pass_filter under base, or with
   auth_bind_userdn (and no master user) the entry that DN names. Returns
   false with *error_r set when a template uses what can't be expanded
   (the plugin tempfails then). */
bool check_lookup_prepare(struct check_lookup *lookup,
			  const struct mg_config *config,
			  const struct check_expand_vars *vars,
			  char **error_r);

/* Whether a and b are the same search (then one answer serves both). */
bool check_lookup_same_search(const struct check_lookup *a,
			      const struct check_lookup *b);

/* Searches and classifies. Returns false with *error_r set when LDAP
   failed. */
bool check_lookup_run(struct check_lookup *lookup,
		      const struct mg_config *config, struct check_ldap *ldap,
		      const char *const *attrs, char **error_r);

void check_lookup_clear(struct check_lookup *lookup);

#endif

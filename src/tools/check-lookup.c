/* The login's search and the choice among what it found. */

#include <string.h>
#include "mg-escape.h"
#include "check-entry.h"
#include "check-expand.h"
#include "check-ldap.h"
#include "check-pass-attrs.h"
#include "check-lookup.h"

GPtrArray *check_lookup_search_attrs(const struct mg_config *config,
				     const struct check_pass_attrs *pass_attrs)
{
	GPtrArray *attrs = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(attrs, g_strdup("*"));
	for (const char *const *attr = mg_classifier_attrs(config->classifier);
	     *attr != NULL; attr++)
		check_expand_add_attr(attrs, *attr);
	check_expand_add_ldap_attrs(config->custom_recipient_reason, attrs);
	check_expand_add_attr(attrs, config->mailbox_alias_attr);
	check_expand_add_attr(attrs, "legacyExchangeDN");
	check_pass_attrs_add_search_attrs(pass_attrs, attrs);
	g_ptr_array_add(attrs, NULL);
	return attrs;
}

static char *expand_escaped(const char *template,
			    const struct check_expand_vars *vars,
			    check_escape_func_t *escape, const char *what,
			    char **error_r)
{
	struct check_expand_context ctx = { vars, escape, NULL, NULL };
	GString *str = g_string_new(NULL);
	char *error;

	if (check_expand(str, template, &ctx, &error))
		return g_string_free(str, FALSE);
	*error_r = g_strdup_printf("can't expand %s %s: %s", what, template,
				   error);
	g_free(error);
	g_string_free(str, TRUE);
	return NULL;
}

bool check_lookup_prepare(struct check_lookup *lookup,
			  const struct mg_config *config,
			  const struct check_expand_vars *vars,
			  char **error_r)
{
	memset(lookup, 0, sizeof(*lookup));
	if (config->auth_bind_userdn != NULL && vars->master_user == NULL) {
		/* the plugin binds as this DN and reads that entry */
		lookup->base = expand_escaped(config->auth_bind_userdn, vars,
					      mg_escape_dn_value,
					      "auth_bind_userdn", error_r);
		lookup->scope = MG_SCOPE_BASE;
		lookup->filter = g_strdup("(objectClass=*)");
		return lookup->base != NULL;
	}
	lookup->base = expand_escaped(config->base, vars, mg_escape_dn_value,
				      "base", error_r);
	if (lookup->base == NULL)
		return false;
	lookup->scope = config->scope;
	lookup->filter = expand_escaped(config->pass_filter, vars,
					mg_escape_filter_value, "filter",
					error_r);
	return lookup->filter != NULL;
}

bool check_lookup_same_search(const struct check_lookup *a,
			      const struct check_lookup *b)
{
	return a->scope == b->scope && strcmp(a->base, b->base) == 0 &&
		strcmp(a->filter, b->filter) == 0;
}

/* The DNs of the entries other than except; only the mailboxes' when
   only_mailboxes. */
static char *dn_list(GPtrArray *entries, const enum mg_kind *kinds,
		     const struct check_entry *except, bool only_mailboxes)
{
	GString *str = g_string_new(NULL);

	for (unsigned int i = 0; i < entries->len; i++) {
		const struct check_entry *entry = entries->pdata[i];

		if (entry == except ||
		    (only_mailboxes && kinds[i] != MG_KIND_MAILBOX))
			continue;
		if (str->len > 0)
			g_string_append(str, ", ");
		g_string_append(str, entry->dn);
	}
	return g_string_free(str, FALSE);
}

/* Several entries matched: the core picks, the notes say what the
   plugin's log would. */
static void choose(struct check_lookup *lookup, const struct mg_config *config)
{
	unsigned int count = lookup->entries->len, chosen, mailboxes;
	struct mg_entry_view *views = g_new(struct mg_entry_view, count);
	enum mg_kind *kinds = g_new(enum mg_kind, count);
	const char **rules = g_new(const char *, count);
	char *dns;

	for (unsigned int i = 0; i < count; i++)
		check_entry_view_init(&views[i], lookup->entries->pdata[i]);
	mailboxes = mg_classify_choose(config->classifier, views, count,
				       kinds, rules, &chosen);
	if (mailboxes > 1) {
		lookup->status = CHECK_LOOKUP_AMBIGUOUS;
		dns = dn_list(lookup->entries, kinds, NULL, true);
		lookup->note = g_strdup_printf("the filter matched %u entries "
			"with a mailbox, refusing to choose: %s",
			mailboxes, dns);
	} else {
		lookup->status = CHECK_LOOKUP_FOUND;
		lookup->entry = lookup->entries->pdata[chosen];
		lookup->kind = kinds[chosen];
		lookup->rule = rules[chosen];
		dns = dn_list(lookup->entries, kinds, lookup->entry, false);
		lookup->note = g_strdup_printf("the filter matched %u entries; "
			"using %s (%s), ignoring %s", count,
			lookup->entry->dn, mg_kind_name(lookup->kind), dns);
	}
	g_free(dns);
	g_free(rules);
	g_free(kinds);
	g_free(views);
}

bool check_lookup_run(struct check_lookup *lookup,
		      const struct mg_config *config, struct check_ldap *ldap,
		      const char *const *attrs, char **error_r)
{
	struct mg_entry_view view;

	if (!check_ldap_search(ldap, lookup->base, lookup->scope,
			       lookup->filter, attrs, &lookup->entries,
			       error_r))
		return false;
	if (lookup->entries->len == 0) {
		lookup->status = CHECK_LOOKUP_UNKNOWN;
	} else if (lookup->entries->len == 1) {
		lookup->status = CHECK_LOOKUP_FOUND;
		lookup->entry = lookup->entries->pdata[0];
		check_entry_view_init(&view, lookup->entry);
		lookup->kind = mg_classify(config->classifier, &view,
					   &lookup->rule);
	} else {
		choose(lookup, config);
	}
	return true;
}

void check_lookup_clear(struct check_lookup *lookup)
{
	g_free(lookup->base);
	g_free(lookup->filter);
	g_free(lookup->note);
	if (lookup->entries != NULL)
		g_ptr_array_unref(lookup->entries);
	memset(lookup, 0, sizeof(*lookup));
}

#ifndef CHECK_PASS_ATTRS_H
#define CHECK_PASS_ATTRS_H

/* What pass_attrs (the syntax of Dovecot's LDAP driver: "attr=field",
   "=field=template", "attr=field=template", a bare "attr") makes of the
   entry a login found: the user name the login goes on with, which the
   Exchange lines and custom_recipient_reason name, and whether the passdb
   gets a password to verify at all (an entry without one refuses every
   password, the right one included). */

#include <stdbool.h>
#include <glib.h>

struct check_entry;
struct check_expand_vars;
struct check_pass_attrs;

/* Returns NULL with *error_r set when an item is malformed (the plugin
   refuses to start then). */
struct check_pass_attrs *check_pass_attrs_parse(const char *text,
						char **error_r);
void check_pass_attrs_free(struct check_pass_attrs **attrs);

/* Items one by one (Dovecot 2.4's fields { }): ldap_attr=field when
   template is NULL, =field=template when ldap_attr is NULL. */
struct check_pass_attrs *check_pass_attrs_new(void);
void check_pass_attrs_add(struct check_pass_attrs *attrs,
			  const char *ldap_attr, const char *field,
			  const char *template);

/* Adds the LDAP attributes the items read to attrs (char *). */
void check_pass_attrs_add_search_attrs(const struct check_pass_attrs *attrs,
				       GPtrArray *search_attrs);

struct check_pass_attrs_result {
	/* g_free() it */
	char *user;
	bool has_password;
};

/* Applies the items to entry in order, as the passdb does; vars->user is
   the login's user. Returns false with *error_r set when a template does
   not expand. */
bool check_pass_attrs_apply(const struct check_pass_attrs *attrs,
			    const struct check_entry *entry,
			    const struct check_expand_vars *vars,
			    struct check_pass_attrs_result *result_r,
			    char **error_r);

#endif

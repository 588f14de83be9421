#ifndef CHECK_EXPAND_PRIVATE_H
#define CHECK_EXPAND_PRIVATE_H

/* What check-expand.c shares with the release's check-expand-23.c or
   check-expand-24.c (the variable forms that differ). */

#include "check-expand.h"

#define CHECK_EXPAND_LDAP_FUNC "ldap:"
#define CHECK_EXPAND_LDAP_MULTI_FUNC "ldap_multi:"

/* A variable's long name and the key check_expand_var_value() knows it
   by ('\0' for master_user). */
struct check_expand_var_name {
	char key;
	const char *name;
};

/* the release's: the names its %{NAME} knows */
extern const struct check_expand_var_name check_expand_var_names[];
extern const unsigned int check_expand_var_names_count;

/* shared: the value of the variable key */
char *check_expand_var_value(const struct check_expand_vars *vars, char key);
/* shared: the value of %{ldap:...}, %{ldap_multi:...} or a named
   variable, or NULL with *error_r set */
char *check_expand_named_value(const struct check_expand_context *ctx,
			       const char *name, char **error_r);

/* the release's: how many modifier letters (2.3's L, U) start p */
size_t check_expand_modifiers_len(const char *p);
/* the release's: the value of %{EXPR}, or NULL with *error_r set */
char *check_expand_braced(const struct check_expand_context *ctx,
			  const char *expr, char **error_r);
/* the release's: a variable without braces at *p (2.3's %u, %$, ...):
   its value in *value_r and *p moved past it; false when there is none */
bool check_expand_unbraced(const struct check_expand_context *ctx,
			   const char **p, char **value_r);

#endif

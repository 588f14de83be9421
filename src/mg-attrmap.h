#ifndef MG_ATTRMAP_H
#define MG_ATTRMAP_H

/* pass_attrs and user_attrs: which entry attributes become which passdb or
   userdb fields, in the syntax of Dovecot's LDAP driver:
   "ldapAttr=field" copies an attribute, "=field=template" expands a
   template with Dovecot's %-variables and %{ldap:attr}, %{ldap_multi:attr}
   (all values, comma-separated), and "ldapAttr=field=template" expands the
   template only when the entry has ldapAttr, with %$ as its value. */

#include "mg-entry.h"

struct auth_request;

struct mg_attrmap_item {
	/* NULL for "=field=template" */
	const char *ldap_attr;
	const char *field;
	/* NULL for "ldapAttr=field" */
	const char *template;
};

ARRAY_DEFINE_TYPE(mg_attrmap_item, struct mg_attrmap_item);

/* Parses text into items allocated from pool. Returns FALSE with error_r
   on a malformed item. */
bool mg_attrmap_parse(pool_t pool, const char *text,
		      ARRAY_TYPE(mg_attrmap_item) *items,
		      const char **error_r);

/* Adds every LDAP attribute the items read (copied or named in
   %{ldap:...}) to attrs, once each. */
void mg_attrmap_add_attrs(const ARRAY_TYPE(mg_attrmap_item) *items,
			  pool_t pool, ARRAY_TYPE(const_string) *attrs);

/* Adds every attribute a template names in %{ldap:...} to attrs. */
void mg_attrmap_add_template_attrs(const char *template, pool_t pool,
				   ARRAY_TYPE(const_string) *attrs);

/* Adds attr (copied into pool) to attrs unless it is there already,
   compared case-insensitively as LDAP attribute names are. */
void mg_attrs_add(pool_t pool, ARRAY_TYPE(const_string) *attrs,
		  const char *attr);

/* Expands a template for entry; %$ is value (may be NULL when the template
   has no %$). Returns -1 with error_r on failure. */
int mg_attrmap_expand(struct auth_request *request,
		      const struct mg_entry *entry, const char *template,
		      const char *value, const char **value_r,
		      const char **error_r);

/* Checks a value for a field that renames the user (user, username,
   domain): Dovecot logs a rename as it is, so a value with control
   characters or invalid UTF-8 is an error (-1 with error_r), never a
   login. */
int mg_attrmap_check_rename(const char *field, const char *value,
			    const char **error_r);

typedef void mg_attrmap_field_callback_t(struct auth_request *request,
					 const char *field,
					 const char *const *values,
					 void *context);

/* Calls callback for every field the items give for entry; an attribute
   the entry lacks gives no field. Returns -1 with error_r when a template
   fails to expand. */
int mg_attrmap_apply(const ARRAY_TYPE(mg_attrmap_item) *items,
		     struct auth_request *request, const struct mg_entry *entry,
		     mg_attrmap_field_callback_t *callback, void *context,
		     const char **error_r);
#define mg_attrmap_apply(items, request, entry, callback, context, error_r) \
	mg_attrmap_apply(items, request, entry - \
		CALLBACK_TYPECHECK(callback, void (*)( \
			struct auth_request *, const char *, \
			const char *const *, typeof(context))), \
		(mg_attrmap_field_callback_t *)callback, context, error_r)

#endif

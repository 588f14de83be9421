#ifndef MG_FIELDS_H
#define MG_FIELDS_H

/* The found entry's attributes as the login's fields, per release:
   2.3's pass_attrs and user_attrs through mg-attrmap (mg-fields-23.c);
   2.4's passdb and userdb fields { } blocks, expanded by Dovecot with the
   entry's attributes as %{ldap:attr} and %{ldap_multi:attr}
   (mg-fields-24.c). */

struct auth_request;
struct mg_db;
struct mg_entry;

/* Sets the passdb fields for entry. Returns -1 with error_r (naming the
   setting) when one fails to expand or would rename the user to a name
   holding control characters. */
int mg_fields_passdb(struct mg_db *db, struct auth_request *request,
		     const struct mg_entry *entry, const char **error_r);
/* The same for the userdb fields. */
int mg_fields_userdb(struct mg_db *db, struct auth_request *request,
		     const struct mg_entry *entry, const char **error_r);

#endif

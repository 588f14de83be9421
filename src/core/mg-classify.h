#ifndef MG_CLASSIFY_H
#define MG_CLASSIFY_H

/* Decides whether a directory entry has a mailbox here or is a custom
   recipient (an address whose mail goes elsewhere), and by which rule.
   The recipient profiles hold what each directory family uses to mark
   "no mailbox here"; an admin's own filters replace or narrow them. */

#include <stdbool.h>
#include "mg-error.h"
#include "mg-entry-view.h"

enum mg_profile {
	MG_PROFILE_NONE,
	MG_PROFILE_EXCHANGE55,
	MG_PROFILE_AD,
	MG_PROFILE_OPENLDAP,
};

enum mg_kind {
	MG_KIND_MAILBOX,
	MG_KIND_CUSTOM_RECIPIENT,
};

struct mg_classifier;

/* Parses a profile name ("none", "exchange55", "ad", "openldap").
   Returns false for anything else. */
bool mg_profile_parse(const char *name, enum mg_profile *profile_r);
const char *mg_profile_name(enum mg_profile profile);

/* custom_text replaces the profile's filter when not NULL; mailbox_text,
   when not NULL, must also match for an entry to count as a mailbox.
   Returns NULL with error_r filled when a filter does not parse. The
   classifier is malloc-owned: free it with mg_classifier_free(). */
struct mg_classifier *
mg_classifier_new(enum mg_profile profile, const char *custom_text,
		  const char *mailbox_text, struct mg_error *error_r);
void mg_classifier_free(struct mg_classifier **classifier);

/* Classifies entry. *rule_r (never NULL on return) names the rule that
   decided: the matching custom-recipient sub-filter, "!" followed by the
   mailbox_match text, or "mailbox" when nothing marked the entry. It points
   into the classifier. */
enum mg_kind mg_classify(const struct mg_classifier *classifier,
			 const struct mg_entry_view *entry,
			 const char **rule_r);

/* Several entries matched one login's filter. Classifies each (kinds_r
   and rules_r hold count elements) and sets *chosen_r to the entry the
   login uses: the only mailbox among them, so that a contact sharing an
   address with its user does not lock the user out; with no mailbox, the
   first entry. Returns the number of mailboxes: more than one means the
   directory is ambiguous and the login must not proceed. */
unsigned int mg_classify_choose(const struct mg_classifier *classifier,
				const struct mg_entry_view *entries,
				unsigned int count, enum mg_kind *kinds_r,
				const char **rules_r, unsigned int *chosen_r);

/* Every attribute the classification reads, for the search to request by
   name (this includes operational ones such as Exchange 5.5's Home-MDB).
   NULL-terminated, owned by the classifier. */
const char *const *mg_classifier_attrs(const struct mg_classifier *classifier);

const char *mg_kind_name(enum mg_kind kind);

#endif

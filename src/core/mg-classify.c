/* Entry classification: mailbox here, or custom recipient. */

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mg-filter.h"
#include "mg-classify.h"

#define MG_CLASSIFY_MAX_ATTRS 64

struct mg_classifier {
	struct mg_filter *custom;
	struct mg_filter *mailbox;
	char *not_mailbox_rule;
	const char *attrs[MG_CLASSIFY_MAX_ATTRS + 1];
};

struct mg_profile_def {
	const char *name;
	const char *custom_filter;
	/* Read by the classification or the audit trail but not named in
	   the filter; Home-MDB is operational and so is never returned
	   unless asked for by name. */
	const char *const extra_attrs[4];
};

static const struct mg_profile_def profile_defs[] = {
	[MG_PROFILE_NONE] = { "none", NULL, { NULL } },
	[MG_PROFILE_EXCHANGE55] = {
		"exchange55",
		"(|(objectClass=remote-address)(objectClass=custom-recipient))",
		{ "Home-MDB", "Target-Address", NULL },
	},
	[MG_PROFILE_AD] = {
		"ad",
		"(|(objectClass=contact)"
		"(msExchRecipientTypeDetails=64)"
		"(msExchRecipientTypeDetails=128)"
		"(msExchRecipientTypeDetails=2147483648)"
		"(&(targetAddress=*)(!(homeMDB=*))))",
		{ "legacyExchangeDN", "mailNickname", NULL },
	},
	[MG_PROFILE_OPENLDAP] = {
		"openldap",
		"(|(objectClass=nisMailAlias)"
		"(objectClass=CourierMailAlias)"
		"(objectClass=PostfixBookMailForward)"
		"(deliveryMode=forwardonly)"
		"(deliveryMode=nombox)"
		"(accountStatus=noaccess)"
		"(&(mailRoutingAddress=*)(!(mailHost=*))))",
		{ NULL },
	},
};

bool mg_profile_parse(const char *name, enum mg_profile *profile_r)
{
	for (size_t i = 0; i < sizeof(profile_defs) / sizeof(*profile_defs); i++) {
		if (strcmp(profile_defs[i].name, name) == 0) {
			*profile_r = (enum mg_profile)i;
			return true;
		}
	}
	return false;
}

const char *mg_profile_name(enum mg_profile profile)
{
	return profile_defs[profile].name;
}

const char *mg_kind_name(enum mg_kind kind)
{
	return kind == MG_KIND_MAILBOX ? "mailbox" : "custom_recipient";
}

/* An attribute that is not asked for by name is not returned, and the
   rule naming it would quietly never match: past the bound is an error. */
static bool classifier_add_attr(struct mg_classifier *classifier,
				const char *attr, struct mg_error *error_r)
{
	size_t i;

	for (i = 0; classifier->attrs[i] != NULL; i++) {
		if (strcasecmp(classifier->attrs[i], attr) == 0)
			return true;
	}
	if (i == MG_CLASSIFY_MAX_ATTRS) {
		mg_error_set(error_r, "custom_recipient_match and "
			     "mailbox_match read more than %d attributes "
			     "(%s is one too many)", MG_CLASSIFY_MAX_ATTRS,
			     attr);
		return false;
	}
	classifier->attrs[i] = attr;
	return true;
}

static bool classifier_add_filter_attrs(struct mg_classifier *classifier,
					const struct mg_filter *filter,
					struct mg_error *error_r)
{
	if (filter == NULL)
		return true;
	for (const char *const *attr = mg_filter_attrs(filter);
	     *attr != NULL; attr++) {
		if (!classifier_add_attr(classifier, *attr, error_r))
			return false;
	}
	return true;
}

static bool classifier_parse(const char *what, const char *text,
			     struct mg_filter **filter_r,
			     struct mg_error *error_r)
{
	struct mg_error error;

	*filter_r = mg_filter_parse(text, &error);
	if (*filter_r == NULL) {
		mg_error_set(error_r, "%s: %s", what, error.message);
		return false;
	}
	/* a leaf the local matcher would judge differently from the server
	   could let a custom recipient in: refuse the filter */
	if (!mg_filter_check_local(*filter_r, &error)) {
		mg_error_set(error_r, "%s: filter not evaluated locally: %s",
			     what, error.message);
		return false;
	}
	return true;
}

struct mg_classifier *
mg_classifier_new(enum mg_profile profile, const char *custom_text,
		  const char *mailbox_text, struct mg_error *error_r)
{
	struct mg_classifier *classifier;
	const char *custom = custom_text != NULL ? custom_text :
		profile_defs[profile].custom_filter;

	classifier = calloc(1, sizeof(*classifier));
	if (classifier == NULL) {
		mg_error_set(error_r, "out of memory");
		return NULL;
	}
	if ((custom != NULL &&
	     !classifier_parse(custom_text != NULL ?
			       "custom_recipient_match" : "recipient_profile",
			       custom,
			       &classifier->custom, error_r)) ||
	    (mailbox_text != NULL &&
	     !classifier_parse("mailbox_match", mailbox_text,
			       &classifier->mailbox, error_r))) {
		mg_classifier_free(&classifier);
		return NULL;
	}
	if (classifier->mailbox != NULL) {
		const char *text = mg_filter_text(classifier->mailbox);

		classifier->not_mailbox_rule = malloc(strlen(text) + 2);
		if (classifier->not_mailbox_rule == NULL) {
			mg_error_set(error_r, "out of memory");
			mg_classifier_free(&classifier);
			return NULL;
		}
		classifier->not_mailbox_rule[0] = '!';
		strcpy(classifier->not_mailbox_rule + 1, text);
	}
	if (!classifier_add_filter_attrs(classifier, classifier->custom,
					 error_r) ||
	    !classifier_add_filter_attrs(classifier, classifier->mailbox,
					 error_r)) {
		mg_classifier_free(&classifier);
		return NULL;
	}
	for (const char *const *attr = profile_defs[profile].extra_attrs;
	     *attr != NULL; attr++) {
		if (!classifier_add_attr(classifier, *attr, error_r)) {
			mg_classifier_free(&classifier);
			return NULL;
		}
	}
	return classifier;
}

void mg_classifier_free(struct mg_classifier **_classifier)
{
	struct mg_classifier *classifier = *_classifier;

	if (classifier == NULL)
		return;
	*_classifier = NULL;
	mg_filter_free(&classifier->custom);
	mg_filter_free(&classifier->mailbox);
	free(classifier->not_mailbox_rule);
	free(classifier);
}

enum mg_kind mg_classify(const struct mg_classifier *classifier,
			 const struct mg_entry_view *entry,
			 const char **rule_r)
{
	if (classifier->custom != NULL &&
	    mg_filter_match(classifier->custom, entry, rule_r))
		return MG_KIND_CUSTOM_RECIPIENT;
	if (classifier->mailbox != NULL &&
	    !mg_filter_match(classifier->mailbox, entry, NULL)) {
		*rule_r = classifier->not_mailbox_rule;
		return MG_KIND_CUSTOM_RECIPIENT;
	}
	*rule_r = "mailbox";
	return MG_KIND_MAILBOX;
}

unsigned int mg_classify_choose(const struct mg_classifier *classifier,
				const struct mg_entry_view *entries,
				unsigned int count, enum mg_kind *kinds_r,
				const char **rules_r, unsigned int *chosen_r)
{
	unsigned int mailboxes = 0;

	*chosen_r = 0;
	for (unsigned int i = 0; i < count; i++) {
		kinds_r[i] = mg_classify(classifier, &entries[i], &rules_r[i]);
		if (kinds_r[i] == MG_KIND_MAILBOX && mailboxes++ == 0)
			*chosen_r = i;
	}
	return mailboxes;
}

const char *const *mg_classifier_attrs(const struct mg_classifier *classifier)
{
	return classifier->attrs;
}

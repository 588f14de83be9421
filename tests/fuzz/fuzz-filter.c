/* Fuzz target: the RFC 4515 filter parser and the local matcher.

   Any input: parsing either fails with an error message, or succeeds;
   then the check for local evaluation either refuses it with a message
   (and so does a classifier given it), or passes and then
   - the canonical text (mg_filter_text) parses again to the same text and
     the same attribute list, and both filters decide the same on a fixed
     entry, with the same rule;
   - a match names a rule that is a sub-filter of the canonical text and
     that itself matches the entry;
   - (!filter) decides the opposite;
   - a classifier built from the text as custom_recipient_match agrees. */

#include "fuzz.h"
#include "mg-classify.h"
#include "mg-filter.h"

/* mg-filter.c's MG_FILTER_MAX_LENGTH: canonical text can grow past the
   input (an unescaped 8-bit byte becomes \XX), so text longer than this
   cannot be fed back. */
#define FUZZ_FILTER_MAX_LENGTH (64 * 1024)

static void check_error(const struct mg_error *error)
{
	size_t len = strnlen(error->message, sizeof(error->message));

	FUZZ_ASSERT(len < sizeof(error->message));
	FUZZ_ASSERT(strncmp(error->message, "filter: ", 8) == 0);
}

/* Parses a text the local matcher accepted in another form. */
static struct mg_filter *parse_checked(const char *text)
{
	struct mg_error error;
	struct mg_filter *filter = mg_filter_parse(text, &error);

	if (filter != NULL && !mg_filter_check_local(filter, &error))
		mg_filter_free(&filter);
	return filter;
}

static void check_local_refused(const char *text,
				const struct mg_error *error)
{
	struct mg_classifier *classifier;
	struct mg_error class_error;
	size_t len = strnlen(error->message, sizeof(error->message));

	FUZZ_ASSERT(len > 0 && len < sizeof(error->message));
	if (strlen(text) > FUZZ_FILTER_MAX_LENGTH)
		return;
	classifier = mg_classifier_new(MG_PROFILE_AD, text, NULL,
				       &class_error);
	FUZZ_ASSERT(classifier == NULL);
	FUZZ_ASSERT(strncmp(class_error.message, "custom_recipient_match: ",
			    24) == 0);
	classifier = mg_classifier_new(MG_PROFILE_NONE, NULL, text,
				       &class_error);
	FUZZ_ASSERT(classifier == NULL);
	FUZZ_ASSERT(strncmp(class_error.message, "mailbox_match: ", 15) == 0);
}

static void check_attrs_equal(const struct mg_filter *a,
			      const struct mg_filter *b)
{
	const char *const *x = mg_filter_attrs(a), *const *y = mg_filter_attrs(b);

	FUZZ_ASSERT(x != NULL && y != NULL);
	for (; *x != NULL && *y != NULL; x++, y++)
		FUZZ_ASSERT(strcmp(*x, *y) == 0);
	FUZZ_ASSERT(*x == NULL && *y == NULL);
}

static void check_attrs(const struct mg_filter *filter)
{
	const char *const *attrs = mg_filter_attrs(filter);
	const char *text = mg_filter_text(filter);

	FUZZ_ASSERT(attrs != NULL);
	for (unsigned int i = 0; attrs[i] != NULL; i++) {
		FUZZ_ASSERT(attrs[i][0] != '\0');
		FUZZ_ASSERT(strstr(text, attrs[i]) != NULL);
		for (unsigned int j = 0; j < i; j++)
			FUZZ_ASSERT(strcasecmp(attrs[i], attrs[j]) != 0);
	}
}

static bool match(const struct mg_filter *filter,
		  const struct mg_entry_view *view, const char **rule_r)
{
	const char *rule = NULL;
	bool matched = mg_filter_match(filter, view, &rule);

	if (matched) {
		FUZZ_ASSERT(rule != NULL);
		FUZZ_ASSERT(rule[0] == '(');
		FUZZ_ASSERT(strstr(mg_filter_text(filter), rule) != NULL);
	}
	*rule_r = rule;
	/* without rule_r the decision is the same */
	FUZZ_ASSERT(mg_filter_match(filter, view, NULL) == matched);
	return matched;
}

static void check_rule_matches(const char *rule,
			       const struct mg_entry_view *view)
{
	struct mg_error error;
	struct mg_filter *sub;
	const char *sub_rule;

	if (strlen(rule) > FUZZ_FILTER_MAX_LENGTH)
		return;
	(void)error;
	sub = parse_checked(rule);
	FUZZ_ASSERT(sub != NULL);
	FUZZ_ASSERT(strcmp(mg_filter_text(sub), rule) == 0);
	FUZZ_ASSERT(match(sub, view, &sub_rule));
	mg_filter_free(&sub);
}

static void check_negation(const char *text, bool matched,
			   const struct mg_entry_view *view)
{
	size_t len = strlen(text);
	struct mg_error error;
	struct mg_filter *not;
	const char *rule;
	char *not_text;

	if (len + 3 > FUZZ_FILTER_MAX_LENGTH)
		return;
	not_text = fuzz_malloc(len + 4);
	memcpy(not_text, "(!", 2);
	memcpy(not_text + 2, text, len);
	memcpy(not_text + 2 + len, ")", 2);
	not = mg_filter_parse(not_text, &error);
	/* one more level may pass the depth limit */
	if (not != NULL) {
		FUZZ_ASSERT(mg_filter_check_local(not, &error));
		FUZZ_ASSERT(strcmp(mg_filter_text(not), not_text) == 0);
		FUZZ_ASSERT(match(not, view, &rule) == !matched);
		if (!matched)
			FUZZ_ASSERT(strcmp(rule, not_text) == 0);
		mg_filter_free(&not);
	} else {
		check_error(&error);
	}
	free(not_text);
}

static void check_classifier(const char *text, bool matched,
			     const char *rule, const struct mg_entry_view *view)
{
	struct mg_error error;
	struct mg_classifier *classifier;
	const char *class_rule = NULL;
	enum mg_kind kind;

	classifier = mg_classifier_new(MG_PROFILE_AD, text, NULL, &error);
	FUZZ_ASSERT(classifier != NULL);
	kind = mg_classify(classifier, view, &class_rule);
	FUZZ_ASSERT(class_rule != NULL);
	if (matched) {
		FUZZ_ASSERT(kind == MG_KIND_CUSTOM_RECIPIENT);
		FUZZ_ASSERT(strcmp(class_rule, rule) == 0);
	} else {
		FUZZ_ASSERT(kind == MG_KIND_MAILBOX);
		FUZZ_ASSERT(strcmp(class_rule, "mailbox") == 0);
	}
	mg_classifier_free(&classifier);
	FUZZ_ASSERT(classifier == NULL);

	/* the same text as mailbox_match: an entry it does not match is a
	   custom recipient by "!TEXT" */
	classifier = mg_classifier_new(MG_PROFILE_NONE, NULL, text, &error);
	FUZZ_ASSERT(classifier != NULL);
	kind = mg_classify(classifier, view, &class_rule);
	FUZZ_ASSERT(kind == (matched ? MG_KIND_MAILBOX :
			     MG_KIND_CUSTOM_RECIPIENT));
	if (!matched) {
		FUZZ_ASSERT(class_rule[0] == '!');
		FUZZ_ASSERT(strcmp(class_rule + 1, text) == 0);
	}
	mg_classifier_free(&classifier);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_entry *entry = fuzz_fixed_entry();
	struct mg_entry_view view = fuzz_entry_view(entry);
	struct mg_error error;
	struct mg_filter *filter, *again;
	const char *text, *rule, *rule_again;
	char *input = fuzz_strndup(data, size);
	bool matched;

	memset(&error, 'x', sizeof(error));
	filter = mg_filter_parse(input, &error);
	if (filter == NULL) {
		check_error(&error);
		free(input);
		return 0;
	}
	text = mg_filter_text(filter);
	FUZZ_ASSERT(text != NULL && text[0] == '(');
	FUZZ_ASSERT(text[strlen(text) - 1] == ')');
	check_attrs(filter);
	/* unchecked, nothing matches */
	FUZZ_ASSERT(!mg_filter_match(filter, &view, NULL));
	if (!mg_filter_check_local(filter, &error)) {
		check_local_refused(text, &error);
		mg_filter_free(&filter);
		free(input);
		return 0;
	}

	matched = match(filter, &view, &rule);
	if (matched)
		check_rule_matches(rule, &view);

	if (strlen(text) <= FUZZ_FILTER_MAX_LENGTH) {
		again = parse_checked(text);
		FUZZ_ASSERT(again != NULL);
		FUZZ_ASSERT(strcmp(mg_filter_text(again), text) == 0);
		check_attrs_equal(filter, again);
		FUZZ_ASSERT(match(again, &view, &rule_again) == matched);
		if (matched)
			FUZZ_ASSERT(strcmp(rule, rule_again) == 0);
		mg_filter_free(&again);
		check_negation(text, matched, &view);
		check_classifier(text, matched, rule, &view);
	}
	mg_filter_free(&filter);
	FUZZ_ASSERT(filter == NULL);
	free(input);
	return 0;
}

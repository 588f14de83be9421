/* Fuzz target: settings validation (mg_config_set, mg_config_finish).

   The input is read as a settings file: one "key = value" per line, blank
   lines and '#' comments skipped, spaces around key and value trimmed (as
   Dovecot's reader hands them to the plugin). Every line goes to
   mg_config_set(), then mg_config_finish() judges the whole. A refusal
   must come with a terminated, non-empty message; an accepted config must
   hold what finish promises (required keys, consistent pairs, derived
   names, a classifier), a second finish must accept it again, and freeing
   must release everything (LeakSanitizer checks under `make fuzz`). */

#include "fuzz.h"
#include "mg-config.h"

#define FUZZ_CONFIG_MAX_LINES 512

static void error_poison(struct mg_error *error)
{
	memset(error, 'x', sizeof(*error));
}

static void check_error(const struct mg_error *error)
{
	size_t len = strnlen(error->message, sizeof(error->message));

	FUZZ_ASSERT(len > 0 && len < sizeof(error->message));
}

static void check_finished(const struct mg_config *config)
{
	struct fuzz_entry *entry = fuzz_fixed_entry();
	struct mg_entry_view view = fuzz_entry_view(entry);
	const char *const *attrs;
	const char *rule = NULL;
	enum mg_kind kind;
	unsigned int i;

	FUZZ_ASSERT(config->uris != NULL && config->base != NULL);
	FUZZ_ASSERT((config->dn == NULL) == (config->dnpass == NULL));
	FUZZ_ASSERT((config->tls_cert_file == NULL) ==
		    (config->tls_key_file == NULL));
	FUZZ_ASSERT(config->auth_bind_userdn == NULL || config->auth_bind);
	FUZZ_ASSERT(!config->sasl_bind || config->dn == NULL);
	FUZZ_ASSERT(config->pass_filter != NULL && config->user_filter != NULL &&
		    config->iterate_filter != NULL);
	FUZZ_ASSERT(config->nt_domain != NULL && config->exchange_org != NULL &&
		    config->exchange_site != NULL &&
		    config->mailbox_alias_attr != NULL);
	FUZZ_ASSERT(config->connections >= 1 &&
		    config->connections <= 100000);
	FUZZ_ASSERT(config->max_pending >= 1 &&
		    config->max_pending <= 100000);
	FUZZ_ASSERT(config->request_timeout_msecs >= 1 &&
		    config->request_timeout_msecs <= 3600 * 1000);
	FUZZ_ASSERT(config->classifier != NULL);

	attrs = mg_classifier_attrs(config->classifier);
	for (i = 0; attrs[i] != NULL; i++)
		FUZZ_ASSERT(i < 64 && attrs[i][0] != '\0');
	kind = mg_classify(config->classifier, &view, &rule);
	FUZZ_ASSERT(kind == MG_KIND_MAILBOX ||
		    kind == MG_KIND_CUSTOM_RECIPIENT);
	FUZZ_ASSERT(rule != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct mg_config *config = mg_config_new();
	struct mg_error error;
	char *line, *next;
	unsigned int lines = 0;

	FUZZ_ASSERT(config != NULL);
	for (line = text; line != NULL && lines < FUZZ_CONFIG_MAX_LINES;
	     line = next, lines++) {
		char *key, *value;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (!fuzz_split_line(line, &key, &value))
			continue;
		error_poison(&error);
		if (!mg_config_set(config, key, value, &error))
			check_error(&error);
	}
	error_poison(&error);
	if (mg_config_finish(config, &error)) {
		check_finished(config);
		/* finishing again rebuilds the classifier, keeps the rest */
		error_poison(&error);
		FUZZ_ASSERT(mg_config_finish(config, &error));
		check_finished(config);
	} else {
		check_error(&error);
	}
	mg_config_free(&config);
	FUZZ_ASSERT(config == NULL);
	free(text);
	return 0;
}

#ifndef MG_REFUSAL_H
#define MG_REFUSAL_H

/* Refusing a custom recipient whose password was right: the reason the
   client is shown, the failure-or-tempfail choice, and the log line. */

#include "passdb.h"

struct mg_db;
struct mg_lookup_result;

/* Sets what the refusal needs on request, writes its audit trail and
   returns the passdb result to answer with: OK with nologin and reason (so
   every login service refuses with the reason), INTERNAL_FAILURE (a
   temporary failure), or plain OK with audit_only. */
enum passdb_result mg_refusal_apply(struct mg_db *db,
				    struct auth_request *request,
				    const struct mg_lookup_result *lookup);

#endif

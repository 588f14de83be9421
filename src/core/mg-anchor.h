#ifndef MG_ANCHOR_H
#define MG_ANCHOR_H

/* Whether a filter template (pass_filter, user_filter: RFC 4515 with
   Dovecot's %-variables still in it) can only match an entry that holds
   the login's name in one of its values. The change feed relies on it:
   an entry it hears of that holds no cached login's name, nor its local
   part, can't change any cached answer.

   Anchored: an equality assertion whose value is exactly the user name
   (%u, %n, %{user}, %{username}, with L or U in front; 2.4's %{user}
   with only the filters username, lower, upper), or the user name
   followed by "@" and a constant domain; an AND with at least one
   anchored part; an OR whose parts all are. Anything else (a NOT, a
   presence or substring test, ~= >= <=, an extensible match, another
   variable standing alone) is not anchored. A template that does not
   parse is not anchored either. */

#include <stdbool.h>

bool mg_anchor_filter(const char *template);

#endif

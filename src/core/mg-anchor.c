/* Is a filter template anchored on the login's name? */

#include <string.h>
#include "mg-anchor.h"

/* Depth, as the filter parser's */
#define MG_ANCHOR_MAX_DEPTH 64

/* A part of a braced variable, spaces around it ignored: [*p, '|' or
   '}'). Advances *p past it; false when it is not one of names. */
static bool mg_anchor_braced_part(const char **p, const char *const *names)
{
	const char *start, *end;

	while (**p == ' ')
		(*p)++;
	start = *p;
	while (**p != '\0' && **p != '|' && **p != '}' && **p != ' ')
		(*p)++;
	end = *p;
	while (**p == ' ')
		(*p)++;
	for (; *names != NULL; names++) {
		if (strlen(*names) == (size_t)(end - start) &&
		    strncmp(start, *names, (size_t)(end - start)) == 0)
			return true;
	}
	return false;
}

/* Length of a braced user-name variable at p ('{'), or 0: 2.3's
   "{user}", "{username}"; 2.4's "{user}" with filters that keep it the
   login's name or its local part ("{user | username | lower}"). */
static size_t mg_anchor_braced(const char *p)
{
	static const char *const names[] = { "user", "username", NULL };
	static const char *const filters[] = {
		"username", "lower", "upper", NULL
	};
	const char *start = p++;

	if (!mg_anchor_braced_part(&p, names))
		return 0;
	while (*p == '|') {
		p++;
		if (!mg_anchor_braced_part(&p, filters))
			return 0;
	}
	return *p == '}' ? (size_t)(p + 1 - start) : 0;
}

/* Length of the user-name variable at p ("%Lu", "%{username}",
   "%{user | username}"), or 0. */
static size_t mg_anchor_user_var(const char *p)
{
	const char *start = p;
	size_t len;

	if (*p++ != '%')
		return 0;
	if (*p == 'L' || *p == 'U')
		p++;
	if (*p == 'u' || *p == 'n')
		return (size_t)(p + 1 - start);
	if (*p != '{' || (len = mg_anchor_braced(p)) == 0)
		return 0;
	return (size_t)(p - start) + len;
}

/* The value of an equality, [value, end): the user name, or the user
   name "@" a constant. */
static bool mg_anchor_value(const char *value, const char *end)
{
	size_t len = mg_anchor_user_var(value);
	const char *p;

	if (len == 0 || value + len > end)
		return false;
	p = value + len;
	if (p == end)
		return true;
	if (*p != '@' || p + 1 == end)
		return false;
	for (p++; p < end; p++) {
		if (*p == '%' || *p == '*' || *p == '\\')
			return false;
	}
	return true;
}

/* One item, [p, end) without its parentheses: attr=value. */
static bool mg_anchor_item(const char *p, const char *end)
{
	const char *eq = memchr(p, '=', (size_t)(end - p));

	if (eq == NULL || eq == p)
		return false;
	/* ~=, >=, <=, attr:rule:= */
	if (strchr("~<>:", eq[-1]) != NULL)
		return false;
	for (const char *a = p; a < eq; a++) {
		if (*a == ':' || *a == '%')
			return false;
	}
	return mg_anchor_value(eq + 1, end);
}

/* The end of the parenthesized filter starting at p ('('), or NULL. */
static const char *mg_anchor_close(const char *p)
{
	unsigned int depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p;
	}
	return NULL;
}

static bool mg_anchor_parse(const char *p, const char *end,
			    unsigned int depth, bool *anchored_r);

/* The parts of an AND or OR, [p, end). */
static bool mg_anchor_parts(const char *p, const char *end, bool is_and,
			    unsigned int depth, bool *anchored_r)
{
	bool any = false, all = true, part;
	const char *close;

	if (p == end)
		return false;
	while (p < end) {
		if (*p != '(' || (close = mg_anchor_close(p)) == NULL ||
		    close >= end)
			return false;
		if (!mg_anchor_parse(p, close + 1, depth + 1, &part))
			return false;
		any = any || part;
		all = all && part;
		p = close + 1;
	}
	*anchored_r = is_and ? any : all;
	return true;
}

/* [p, end) is one parenthesized filter. */
static bool mg_anchor_parse(const char *p, const char *end,
			    unsigned int depth, bool *anchored_r)
{
	if (depth > MG_ANCHOR_MAX_DEPTH || end - p < 3 || *p != '(' ||
	    end[-1] != ')')
		return false;
	p++;
	end--;
	switch (*p) {
	case '&':
		return mg_anchor_parts(p + 1, end, true, depth, anchored_r);
	case '|':
		return mg_anchor_parts(p + 1, end, false, depth, anchored_r);
	case '!':
		*anchored_r = false;
		return true;
	default:
		*anchored_r = mg_anchor_item(p, end);
		return true;
	}
}

bool mg_anchor_filter(const char *template)
{
	const char *end, *close;
	bool anchored;

	if (template == NULL)
		return false;
	end = template + strlen(template);
	if (*template != '(')
		return mg_anchor_item(template, end);
	close = mg_anchor_close(template);
	if (close == NULL || close + 1 != end)
		return false;
	return mg_anchor_parse(template, end, 0, &anchored) && anchored;
}

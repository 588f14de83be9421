#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg-escape.h"
#include "mg-match.h"
#include "mg-schema.h"
#include "mg-filter.h"

#define MG_FILTER_MAX_DEPTH 64
#define MG_FILTER_MAX_LENGTH (64 * 1024)

enum mg_node_type {
	MG_NODE_AND,
	MG_NODE_OR,
	MG_NODE_NOT,
	MG_NODE_EQUAL,
	MG_NODE_APPROX,
	MG_NODE_GREATER_OR_EQUAL,
	MG_NODE_LESS_OR_EQUAL,
	MG_NODE_PRESENT,
	MG_NODE_SUBSTRING,
	MG_NODE_EXTENSIBLE
};

/* How a leaf is evaluated locally, set by mg_filter_check_local(). */
enum mg_eval {
	/* not checked: matches nothing */
	MG_EVAL_NONE,
	MG_EVAL_PRESENT,
	MG_EVAL_STRING_EQUAL,
	MG_EVAL_STRING_SUBSTRINGS,
	MG_EVAL_INTEGER_EQUAL,
	MG_EVAL_INTEGER_GREATER_OR_EQUAL,
	MG_EVAL_INTEGER_LESS_OR_EQUAL,
	MG_EVAL_DN_EQUAL,
	MG_EVAL_BYTES_EQUAL,
	MG_EVAL_OBJECT_CLASS,
	MG_EVAL_BITS_AND,
	MG_EVAL_BITS_OR,
};

#define MG_RULE_BIT_AND "1.2.840.113556.1.4.803"
#define MG_RULE_BIT_OR "1.2.840.113556.1.4.804"

struct mg_node {
	enum mg_node_type type;
	/* Canonical text, handed out as the rule of a match. */
	char *text;

	/* AND, OR, NOT */
	struct mg_node **children;
	unsigned int child_count;

	/* leaves; an extensible match may lack attr */
	char *attr;
	/* Equality, approx, ordering and extensible use one value.
	   Substrings use initial, any..., final (initial and final may be
	   empty). Decoded assertion bytes: \00 makes NUL possible. */
	struct mg_value *values;
	unsigned int value_count;
	/* extensible: the matching rule (NULL when none) and ":dn" */
	char *rule;
	bool dn_attrs;

	/* local evaluation: how, and the assertion values prepared for it
	   (as many as values) */
	enum mg_eval eval;
	bool fold;
	struct mg_value *prepared;
};

struct mg_filter {
	struct mg_node *root;
	bool checked_local;
	/* NULL-terminated; the strings belong to the nodes. */
	const char **attrs;
	unsigned int attr_count;
};

struct mg_parser {
	const char *text;
	size_t pos;
	unsigned int depth;
	struct mg_filter *filter;
	struct mg_error *error;
};

/* Growable byte buffer; a failed allocation is remembered and reported
   once at the end instead of checked after every append. */
struct mg_buf {
	char *data;
	size_t len;
	size_t size;
	bool failed;
};

static const char *const node_operators[] = {
	[MG_NODE_AND] = "&",
	[MG_NODE_OR] = "|",
	[MG_NODE_NOT] = "!",
	[MG_NODE_EQUAL] = "=",
	[MG_NODE_APPROX] = "~=",
	[MG_NODE_GREATER_OR_EQUAL] = ">=",
	[MG_NODE_LESS_OR_EQUAL] = "<=",
	[MG_NODE_PRESENT] = "=",
	[MG_NODE_SUBSTRING] = "=",
	[MG_NODE_EXTENSIBLE] = ":=",
};


static bool buf_reserve(struct mg_buf *buf, size_t extra)
{
	size_t size;
	char *data;

	if (buf->failed)
		return false;
	if (buf->len + extra + 1 <= buf->size)
		return true;
	size = buf->size == 0 ? 32 : buf->size;
	while (size < buf->len + extra + 1)
		size *= 2;
	data = realloc(buf->data, size);
	if (data == NULL) {
		buf->failed = true;
		return false;
	}
	buf->data = data;
	buf->size = size;
	return true;
}

static void buf_append(struct mg_buf *buf, const void *data, size_t len)
{
	if (!buf_reserve(buf, len))
		return;
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

static void buf_append_str(struct mg_buf *buf, const char *str)
{
	buf_append(buf, str, strlen(str));
}

static void buf_append_escaped(struct mg_buf *buf,
			       const struct mg_value *value)
{
	if (!buf_reserve(buf, MG_ESCAPE_BUFSIZE(value->len)))
		return;
	buf->len += mg_escape_filter_value(value->data, value->len,
					   buf->data + buf->len);
}

/* Hands the bytes over (always NUL-terminated, even when empty) or frees
   them when an allocation failed on the way. */
static bool buf_take(struct mg_buf *buf, struct mg_value *value_r)
{
	if (!buf_reserve(buf, 0)) {
		free(buf->data);
		return false;
	}
	buf->data[buf->len] = '\0';
	value_r->data = buf->data;
	value_r->len = buf->len;
	return true;
}

static void node_free(struct mg_node *node)
{
	unsigned int i;

	if (node == NULL)
		return;
	for (i = 0; i < node->child_count; i++)
		node_free(node->children[i]);
	for (i = 0; i < node->value_count; i++) {
		free(node->values[i].data);
		if (node->prepared != NULL)
			free(node->prepared[i].data);
	}
	free(node->children);
	free(node->values);
	free(node->prepared);
	free(node->rule);
	free(node->attr);
	free(node->text);
	free(node);
}

static void parse_error(struct mg_parser *p, size_t offset,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void parse_error(struct mg_parser *p, size_t offset,
			const char *fmt, ...)
{
	char reason[MG_ERROR_MAX];
	va_list args;

	va_start(args, fmt);
	vsnprintf(reason, sizeof(reason), fmt, args);
	va_end(args);
	mg_error_set(p->error, "filter: offset %zu: %s", offset, reason);
}

static void parse_expected(struct mg_parser *p, const char *what)
{
	unsigned char c = (unsigned char)p->text[p->pos];

	if (c == '\0') {
		parse_error(p, p->pos, "expected %s, found end of filter",
			    what);
	} else if (c > 0x20 && c < 0x7f) {
		parse_error(p, p->pos, "expected %s, found '%c'", what, c);
	} else {
		parse_error(p, p->pos, "expected %s, found byte 0x%02x",
			    what, c);
	}
}

static void parse_out_of_memory(struct mg_parser *p)
{
	parse_error(p, p->pos, "out of memory");
}

static struct mg_node *node_new(struct mg_parser *p, enum mg_node_type type)
{
	struct mg_node *node = calloc(1, sizeof(*node));

	if (node == NULL) {
		parse_out_of_memory(p);
		return NULL;
	}
	node->type = type;
	return node;
}

static bool node_add_child(struct mg_parser *p, struct mg_node *node,
			   struct mg_node *child)
{
	struct mg_node **children;

	children = realloc(node->children,
			   (node->child_count + 1) * sizeof(*children));
	if (children == NULL) {
		node_free(child);
		parse_out_of_memory(p);
		return false;
	}
	children[node->child_count++] = child;
	node->children = children;
	return true;
}

static bool node_add_value(struct mg_parser *p, struct mg_node *node,
			   struct mg_buf *buf)
{
	struct mg_value *values;

	values = realloc(node->values,
			 (node->value_count + 1) * sizeof(*values));
	if (values == NULL) {
		free(buf->data);
		parse_out_of_memory(p);
		return false;
	}
	node->values = values;
	if (!buf_take(buf, &values[node->value_count])) {
		parse_out_of_memory(p);
		return false;
	}
	node->value_count++;
	return true;
}

static bool node_is_list(const struct mg_node *node)
{
	return node->type == MG_NODE_AND || node->type == MG_NODE_OR ||
		node->type == MG_NODE_NOT;
}

static void node_append_value_text(const struct mg_node *node,
				   struct mg_buf *buf)
{
	unsigned int i;

	if (node->attr != NULL)
		buf_append_str(buf, node->attr);
	if (node->dn_attrs)
		buf_append_str(buf, ":dn");
	if (node->rule != NULL) {
		buf_append_str(buf, ":");
		buf_append_str(buf, node->rule);
	}
	buf_append_str(buf, node_operators[node->type]);
	if (node->type == MG_NODE_PRESENT) {
		buf_append_str(buf, "*");
		return;
	}
	for (i = 0; i < node->value_count; i++) {
		if (i > 0)
			buf_append_str(buf, "*");
		buf_append_escaped(buf, &node->values[i]);
	}
}

/* Built from the decoded tree, not copied from the input, so equivalent
   spellings (\2A vs \2a, \41 vs A) give the same rule text. */
static bool node_build_text(struct mg_parser *p, struct mg_node *node)
{
	struct mg_buf buf = { 0 };
	struct mg_value text;
	unsigned int i;

	buf_append_str(&buf, "(");
	if (node_is_list(node)) {
		buf_append_str(&buf, node_operators[node->type]);
		for (i = 0; i < node->child_count; i++)
			buf_append_str(&buf, node->children[i]->text);
	} else {
		node_append_value_text(node, &buf);
	}
	buf_append_str(&buf, ")");
	if (!buf_take(&buf, &text)) {
		parse_out_of_memory(p);
		return false;
	}
	node->text = text.data;
	return true;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_attr_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.';
}

/* RFC 4512 keystring: ALPHA *(ALPHA / DIGIT / "-"). On failure *bad_r is
   the index of the offending byte. */
static bool keystring_check(const char *attr, size_t len, size_t *bad_r)
{
	size_t i;

	for (i = 1; i < len; i++) {
		if (!is_alpha(attr[i]) && !is_digit(attr[i]) &&
		    attr[i] != '-') {
			*bad_r = i;
			return false;
		}
	}
	return true;
}

/* RFC 4512 numericoid: numbers without leading zeros joined by dots. */
static bool numericoid_check(const char *attr, size_t len, size_t *bad_r)
{
	size_t i = 0;

	for (;;) {
		if (i == len || !is_digit(attr[i]))
			break;
		if (attr[i] == '0' && i + 1 < len && is_digit(attr[i + 1])) {
			i++;
			break;
		}
		while (i < len && is_digit(attr[i]))
			i++;
		if (i == len)
			return true;
		if (attr[i] != '.')
			break;
		i++;
	}
	*bad_r = i;
	return false;
}

static bool attr_check(const char *attr, size_t len, size_t *bad_r)
{
	if (is_alpha(attr[0]))
		return keystring_check(attr, len, bad_r);
	if (is_digit(attr[0]))
		return numericoid_check(attr, len, bad_r);
	*bad_r = 0;
	return false;
}

static bool filter_add_attr(struct mg_parser *p, const char *attr)
{
	struct mg_filter *filter = p->filter;
	const char **attrs;
	unsigned int i;

	for (i = 0; i < filter->attr_count; i++) {
		if (mg_schema_name_cmp(filter->attrs[i], attr) == 0)
			return true;
	}
	attrs = realloc(filter->attrs,
			(filter->attr_count + 2) * sizeof(*attrs));
	if (attrs == NULL) {
		parse_out_of_memory(p);
		return false;
	}
	attrs[filter->attr_count++] = attr;
	attrs[filter->attr_count] = NULL;
	filter->attrs = attrs;
	return true;
}

/* An RFC 4512 descr or numericoid (an attribute type or a matching rule)
   starting at p->pos; leaves p->pos after it. */
static bool parse_oid(struct mg_parser *p, const char *what)
{
	size_t start = p->pos, bad;

	while (is_attr_char(p->text[p->pos]))
		p->pos++;
	if (p->pos == start) {
		parse_expected(p, what);
		return false;
	}
	if (!attr_check(p->text + start, p->pos - start, &bad)) {
		parse_error(p, start + bad, "invalid %s, expected a name "
			    "(ALPHA then ALPHA, DIGIT or '-') or a numeric OID",
			    what);
		return false;
	}
	return true;
}

static char *parse_copy(struct mg_parser *p, size_t start)
{
	char *copy = strndup(p->text + start, p->pos - start);

	if (copy == NULL)
		parse_out_of_memory(p);
	return copy;
}

/* An attribute description: a type and its options (cn;lang-en). Leaves
   p->pos on what follows it. */
static char *parse_attr(struct mg_parser *p)
{
	size_t start = p->pos, option;

	if (!parse_oid(p, "attribute description"))
		return NULL;
	while (p->text[p->pos] == ';') {
		option = ++p->pos;
		while (is_alpha(p->text[p->pos]) ||
		       is_digit(p->text[p->pos]) || p->text[p->pos] == '-')
			p->pos++;
		if (p->pos == option) {
			parse_expected(p, "attribute option");
			return NULL;
		}
	}
	return parse_copy(p, start);
}

static bool parse_one_value(struct mg_parser *p, struct mg_node *node);

/* After the attribute, if any: [":dn"] [":" rule] ":=" value. */
static bool parse_extensible(struct mg_parser *p, struct mg_node *node)
{
	size_t start;

	node->type = MG_NODE_EXTENSIBLE;
	if (strncasecmp(p->text + p->pos, ":dn:", 4) == 0) {
		node->dn_attrs = true;
		p->pos += 3;
	}
	if (p->text[p->pos] == ':' && p->text[p->pos + 1] != '=') {
		start = ++p->pos;
		if (!parse_oid(p, "matching rule"))
			return false;
		node->rule = parse_copy(p, start);
		if (node->rule == NULL)
			return false;
	}
	if (node->attr == NULL && node->rule == NULL) {
		parse_error(p, p->pos, "an extensible match without an "
			    "attribute needs a matching rule");
		return false;
	}
	if (p->text[p->pos] != ':' || p->text[p->pos + 1] != '=') {
		parse_expected(p, "':='");
		return false;
	}
	p->pos += 2;
	return parse_one_value(p, node);
}

static bool parse_escape(struct mg_parser *p, struct mg_buf *buf)
{
	int high = mg_escape_hex_value(p->text[p->pos + 1]);
	int low = high < 0 ? -1 : mg_escape_hex_value(p->text[p->pos + 2]);
	char c;

	if (low < 0) {
		parse_error(p, p->pos,
			    "expected two hex digits after '\\'");
		return false;
	}
	c = (char)(high * 16 + low);
	buf_append(buf, &c, 1);
	p->pos += 3;
	return true;
}

/* Reads assertion value bytes, decoding \XX, up to ')', '*' or the end;
   the caller decides which of those may follow. */
static bool parse_value(struct mg_parser *p, struct mg_buf *buf)
{
	for (;;) {
		char c = p->text[p->pos];

		switch (c) {
		case '\0':
		case ')':
		case '*':
			return true;
		case '(':
			parse_error(p, p->pos, "unescaped '(' in value, "
				    "expected \\28");
			return false;
		case '\\':
			if (!parse_escape(p, buf))
				return false;
			break;
		default:
			buf_append(buf, &c, 1);
			p->pos++;
			break;
		}
	}
}

static bool parse_one_value(struct mg_parser *p, struct mg_node *node)
{
	struct mg_buf buf = { 0 };

	if (!parse_value(p, &buf)) {
		free(buf.data);
		return false;
	}
	if (p->text[p->pos] == '*') {
		free(buf.data);
		parse_error(p, p->pos, "unescaped '*' in value, "
			    "expected \\2a");
		return false;
	}
	return node_add_value(p, node, &buf);
}

/* After '=': equality, presence (only "*") or substrings (a*b*c). */
static bool parse_equality_values(struct mg_parser *p, struct mg_node *node)
{
	struct mg_buf buf = { 0 };

	for (;;) {
		if (!parse_value(p, &buf)) {
			free(buf.data);
			return false;
		}
		/* An empty piece between two '*'s says nothing, and LDAP
		   servers reject it as an empty "any" substring. */
		if (buf.len == 0 && node->value_count > 0 &&
		    p->text[p->pos] == '*') {
			free(buf.data);
			parse_error(p, p->pos, "expected a value between "
				    "two '*'s");
			return false;
		}
		if (!node_add_value(p, node, &buf))
			return false;
		if (p->text[p->pos] != '*')
			break;
		p->pos++;
		memset(&buf, 0, sizeof(buf));
	}
	if (node->value_count == 1)
		node->type = MG_NODE_EQUAL;
	else if (node->value_count == 2 && node->values[0].len == 0 &&
		 node->values[1].len == 0)
		node->type = MG_NODE_PRESENT;
	else
		node->type = MG_NODE_SUBSTRING;
	return true;
}

static bool parse_filter_type(struct mg_parser *p, struct mg_node *node)
{
	const char *s = p->text + p->pos;

	if (s[0] == '=') {
		p->pos++;
		return parse_equality_values(p, node);
	}
	if ((s[0] == '~' || s[0] == '>' || s[0] == '<') && s[1] == '=') {
		node->type = s[0] == '~' ? MG_NODE_APPROX :
			s[0] == '>' ? MG_NODE_GREATER_OR_EQUAL :
			MG_NODE_LESS_OR_EQUAL;
		p->pos += 2;
		return parse_one_value(p, node);
	}
	parse_expected(p, "'=', '~=', '>=' or '<='");
	return false;
}

/* attr, operator and value; stops before the closing ')'. */
static struct mg_node *parse_item(struct mg_parser *p)
{
	struct mg_node *node = node_new(p, MG_NODE_EQUAL);

	if (node == NULL)
		return NULL;
	if (p->text[p->pos] != ':') {
		node->attr = parse_attr(p);
		if (node->attr == NULL) {
			node_free(node);
			return NULL;
		}
	}
	if (!(p->text[p->pos] == ':' ? parse_extensible(p, node) :
	      parse_filter_type(p, node)) ||
	    (node->attr != NULL && !filter_add_attr(p, node->attr)) ||
	    !node_build_text(p, node)) {
		node_free(node);
		return NULL;
	}
	return node;
}

static struct mg_node *parse_filter(struct mg_parser *p);

static struct mg_node *parse_list(struct mg_parser *p, enum mg_node_type type)
{
	struct mg_node *node = node_new(p, type), *child;

	if (node == NULL)
		return NULL;
	while (p->text[p->pos] == '(') {
		child = parse_filter(p);
		if (child == NULL || !node_add_child(p, node, child)) {
			node_free(node);
			return NULL;
		}
	}
	if (p->text[p->pos] != ')') {
		parse_expected(p, "'(' or ')'");
		node_free(node);
		return NULL;
	}
	return node;
}

static struct mg_node *parse_not(struct mg_parser *p)
{
	struct mg_node *node, *child;

	if (p->text[p->pos] != '(') {
		parse_expected(p, "'(' after '!'");
		return NULL;
	}
	child = parse_filter(p);
	if (child == NULL)
		return NULL;
	node = node_new(p, MG_NODE_NOT);
	if (node == NULL) {
		node_free(child);
		return NULL;
	}
	if (!node_add_child(p, node, child)) {
		node_free(node);
		return NULL;
	}
	return node;
}

static struct mg_node *parse_filter_body(struct mg_parser *p)
{
	switch (p->text[p->pos]) {
	case '&':
		p->pos++;
		return parse_list(p, MG_NODE_AND);
	case '|':
		p->pos++;
		return parse_list(p, MG_NODE_OR);
	case '!':
		p->pos++;
		return parse_not(p);
	default:
		return parse_item(p);
	}
}

static struct mg_node *parse_filter(struct mg_parser *p)
{
	struct mg_node *node;

	if (p->text[p->pos] != '(') {
		parse_expected(p, "'('");
		return NULL;
	}
	/* The tree is walked recursively, so its depth bounds the stack. */
	if (++p->depth > MG_FILTER_MAX_DEPTH) {
		parse_error(p, p->pos, "filter nested deeper than %d levels",
			    MG_FILTER_MAX_DEPTH);
		return NULL;
	}
	p->pos++;
	node = parse_filter_body(p);
	if (node == NULL)
		return NULL;
	if (p->text[p->pos] != ')') {
		parse_expected(p, "')'");
		node_free(node);
		return NULL;
	}
	p->pos++;
	p->depth--;
	if (node_is_list(node) && !node_build_text(p, node)) {
		node_free(node);
		return NULL;
	}
	return node;
}

void mg_filter_free(struct mg_filter **_filter)
{
	struct mg_filter *filter = *_filter;

	if (filter == NULL)
		return;
	*_filter = NULL;
	node_free(filter->root);
	free(filter->attrs);
	free(filter);
}

static struct mg_filter *filter_new(struct mg_error *error_r)
{
	struct mg_filter *filter = calloc(1, sizeof(*filter));

	if (filter != NULL)
		filter->attrs = calloc(1, sizeof(*filter->attrs));
	if (filter == NULL || filter->attrs == NULL) {
		free(filter);
		mg_error_set(error_r, "filter: out of memory");
		return NULL;
	}
	return filter;
}

struct mg_filter *mg_filter_parse(const char *text, struct mg_error *error_r)
{
	struct mg_parser p = { .text = text, .error = error_r };
	struct mg_filter *filter;

	if (text == NULL) {
		mg_error_set(error_r, "filter: offset 0: no filter given");
		return NULL;
	}
	if (strnlen(text, MG_FILTER_MAX_LENGTH + 1) > MG_FILTER_MAX_LENGTH) {
		mg_error_set(error_r, "filter: offset %d: longer than the "
			     "limit of %d bytes", MG_FILTER_MAX_LENGTH,
			     MG_FILTER_MAX_LENGTH);
		return NULL;
	}
	filter = filter_new(error_r);
	if (filter == NULL)
		return NULL;
	p.filter = filter;
	/* Without parentheses only a single item is allowed (as OpenLDAP's
	   tools do), never "&(a=b)(c=d)". */
	filter->root = text[0] == '(' ? parse_filter(&p) : parse_item(&p);
	if (filter->root != NULL && text[p.pos] != '\0')
		parse_expected(&p, "end of filter");
	else if (filter->root != NULL)
		return filter;
	mg_filter_free(&filter);
	return NULL;
}

/* Loosely an integer (a sign and digits): what integerMatch can compare.
   A server's values are canonical; this only keeps junk out. */
static bool is_integer(const char *str, size_t len)
{
	size_t i = len > 0 && str[0] == '-' ? 1 : 0;

	if (i == len)
		return false;
	for (; i < len; i++) {
		if (!is_digit(str[i]))
			return false;
	}
	return true;
}

static bool match_integer(const struct mg_node *node, const char *value,
			  int *cmp_r)
{
	size_t len = strlen(value);

	if (!is_integer(value, len))
		return false;
	*cmp_r = mg_match_integer_compare(value, len, node->values[0].data,
					  node->values[0].len);
	return true;
}

static bool match_value(const struct mg_node *node, const char *value)
{
	const struct mg_value *prepared = node->prepared;
	int cmp;

	switch (node->eval) {
	case MG_EVAL_NONE:
		return false;
	case MG_EVAL_PRESENT:
		return true;
	case MG_EVAL_STRING_EQUAL:
		return mg_match_string_equal(value, &prepared[0], node->fold);
	case MG_EVAL_STRING_SUBSTRINGS:
		return mg_match_string_substrings(value, prepared,
						  node->value_count,
						  node->fold);
	case MG_EVAL_INTEGER_EQUAL:
		return match_integer(node, value, &cmp) && cmp == 0;
	case MG_EVAL_INTEGER_GREATER_OR_EQUAL:
		return match_integer(node, value, &cmp) && cmp >= 0;
	case MG_EVAL_INTEGER_LESS_OR_EQUAL:
		return match_integer(node, value, &cmp) && cmp <= 0;
	case MG_EVAL_DN_EQUAL:
		return mg_match_dn_equal(value, &prepared[0]);
	case MG_EVAL_BYTES_EQUAL:
		return strlen(value) == node->values[0].len &&
			memcmp(value, node->values[0].data,
			       node->values[0].len) == 0;
	case MG_EVAL_OBJECT_CLASS:
		return mg_schema_class_is_a(value, node->values[0].data);
	case MG_EVAL_BITS_AND:
	case MG_EVAL_BITS_OR:
		return mg_match_bits(value, node->values[0].data,
				     node->eval == MG_EVAL_BITS_AND);
	}
	return false;
}

static bool match_leaf(const struct mg_node *node,
		       const struct mg_entry_view *entry)
{
	const char *const *values = NULL;
	unsigned int i, count;

	count = entry->get_values(entry->context, node->attr, &values);
	for (i = 0; i < count; i++) {
		if (values[i] != NULL && match_value(node, values[i]))
			return true;
	}
	return false;
}

static bool node_match(const struct mg_node *node,
		       const struct mg_entry_view *entry, const char **rule_r)
{
	unsigned int i;
	bool matched;

	switch (node->type) {
	case MG_NODE_OR:
		for (i = 0; i < node->child_count; i++) {
			if (node_match(node->children[i], entry, rule_r))
				return true;
		}
		return false;
	case MG_NODE_AND:
		matched = true;
		for (i = 0; i < node->child_count && matched; i++)
			matched = node_match(node->children[i], entry, NULL);
		break;
	case MG_NODE_NOT:
		matched = !node_match(node->children[0], entry, NULL);
		break;
	default:
		matched = match_leaf(node, entry);
		break;
	}
	if (matched && rule_r != NULL)
		*rule_r = node->text;
	return matched;
}

bool mg_filter_match(const struct mg_filter *filter,
		     const struct mg_entry_view *entry, const char **rule_r)
{
	return filter->checked_local && node_match(filter->root, entry, rule_r);
}

/* ---- checking a filter for local evaluation ---- */

static void check_refuse(struct mg_error *error_r, const struct mg_node *node,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "LEAF: why: what to write instead", the leaf cut short if it is long. */
static void check_refuse(struct mg_error *error_r, const struct mg_node *node,
			 const char *fmt, ...)
{
	char reason[MG_ERROR_MAX];
	va_list args;

	va_start(args, fmt);
	vsnprintf(reason, sizeof(reason), fmt, args);
	va_end(args);
	mg_error_set(error_r, "%.80s%s: %s", node->text,
		     strlen(node->text) > 80 ? "..." : "", reason);
}

static bool node_prepare(struct mg_node *node, struct mg_error *error_r)
{
	/* a check that failed before may have prepared the leaf */
	if (node->prepared != NULL)
		return true;
	node->prepared = calloc(node->value_count, sizeof(*node->prepared));
	if (node->prepared == NULL) {
		mg_error_set(error_r, "out of memory");
		return false;
	}
	return true;
}

/* Only printable ASCII: servers fold and normalize Unicode (RFC 4518),
   which this matcher does not. */
static bool check_ascii(const struct mg_value *value)
{
	for (size_t i = 0; i < value->len; i++) {
		unsigned char c = (unsigned char)value->data[i];

		if (c < 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

static bool check_string_equal(struct mg_node *node, bool fold,
			       struct mg_error *error_r)
{
	struct mg_value *value = &node->values[0];
	char *norm;

	if (!check_ascii(value)) {
		check_refuse(error_r, node, "only printable ASCII values are "
			     "compared locally the way servers compare them "
			     "(%s): use a presence test or another attribute",
			     fold ? "caseIgnoreMatch" : "caseExactMatch");
		return false;
	}
	if (!node_prepare(node, error_r))
		return false;
	norm = realloc(node->prepared[0].data, value->len + 1);
	if (norm == NULL) {
		mg_error_set(error_r, "out of memory");
		return false;
	}
	node->prepared[0].data = norm;
	node->prepared[0].len = mg_match_string_normalize(value->data,
							  value->len, fold,
							  norm);
	if (node->prepared[0].len == 0) {
		check_refuse(error_r, node, "an empty value (or only spaces) "
			     "is not a valid assertion: use (%s=*) to test "
			     "presence", node->attr);
		return false;
	}
	node->eval = MG_EVAL_STRING_EQUAL;
	node->fold = fold;
	return true;
}

static bool check_substrings(struct mg_node *node, bool fold,
			     struct mg_error *error_r)
{
	if (!node_prepare(node, error_r))
		return false;
	for (unsigned int i = 0; i < node->value_count; i++) {
		const struct mg_value *value = &node->values[i];
		char *norm;

		if (!check_ascii(value)) {
			check_refuse(error_r, node, "only printable ASCII "
				     "substrings are compared locally the way "
				     "servers compare them");
			return false;
		}
		/* RFC 4518 gives a space next to '*' a meaning servers
		   implement differently */
		if (value->len > 0 && (value->data[0] == ' ' ||
				       value->data[value->len - 1] == ' ')) {
			check_refuse(error_r, node, "a space next to '*' or "
				     "at either end is compared differently "
				     "by different servers: write the "
				     "substrings without it");
			return false;
		}
		norm = realloc(node->prepared[i].data, value->len + 1);
		if (norm == NULL) {
			mg_error_set(error_r, "out of memory");
			return false;
		}
		node->prepared[i].data = norm;
		node->prepared[i].len =
			mg_match_string_normalize(value->data, value->len,
						  fold, norm);
	}
	node->eval = MG_EVAL_STRING_SUBSTRINGS;
	node->fold = fold;
	return true;
}

/* What an admin probably meant by a value that is not a canonical
   integer: " +0128 " is 128. Empty when nothing integer-like is there. */
static void integer_suggestion(const struct mg_value *value, char *buf,
			       size_t size)
{
	const char *p = value->data, *end = value->data + value->len;
	bool negative = false;
	size_t n = 0;

	buf[0] = '\0';
	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	if (p < end && (*p == '+' || *p == '-'))
		negative = *p++ == '-';
	if (p == end)
		return;
	for (const char *q = p; q < end; q++) {
		if (!is_digit(*q))
			return;
	}
	while (p + 1 < end && *p == '0')
		p++;
	if (negative && !(end - p == 1 && *p == '0'))
		buf[n++] = '-';
	while (p < end && n + 1 < size)
		buf[n++] = *p++;
	buf[n] = '\0';
}

static bool check_integer(struct mg_node *node, struct mg_error *error_r)
{
	const struct mg_value *value = &node->values[0];
	char suggestion[64];

	if (strlen(value->data) == value->len &&
	    mg_match_integer_valid(value->data, value->len))
		return true;
	integer_suggestion(value, suggestion, sizeof(suggestion));
	if (suggestion[0] != '\0') {
		check_refuse(error_r, node, "%s holds integers, and servers "
			     "take the value only without leading zeros, '+' "
			     "or spaces: write %s", node->attr, suggestion);
	} else {
		check_refuse(error_r, node, "%s holds integers and the value "
			     "is not one", node->attr);
	}
	return false;
}

static bool check_dn(struct mg_node *node, struct mg_error *error_r)
{
	const struct mg_value *value = &node->values[0];
	const char *why = NULL;
	char *norm;
	size_t len;

	if (strlen(value->data) != value->len) {
		check_refuse(error_r, node, "%s holds DNs and the value holds "
			     "a NUL byte", node->attr);
		return false;
	}
	if (!node_prepare(node, error_r))
		return false;
	norm = realloc(node->prepared[0].data,
		       mg_match_dn_size(value->data, value->len));
	if (norm == NULL) {
		mg_error_set(error_r, "out of memory");
		return false;
	}
	node->prepared[0].data = norm;
	if (memchr(value->data, '=', value->len) == NULL) {
		/* AD's category is a DN, where admins write a class name */
		if (mg_schema_name_cmp(node->attr, "objectCategory") == 0) {
			check_refuse(error_r, node, "objectCategory holds the "
				     "DN of a schema entry (CN=Person,CN=Schema,"
				     "CN=Configuration,...), never '%.40s': write "
				     "(objectClass=%.40s), or the full DN",
				     value->data, value->data);
		} else {
			check_refuse(error_r, node, "%s holds DNs and '%.40s' "
				     "is not one: write the full DN",
				     node->attr, value->data);
		}
		return false;
	}
	if (!mg_match_dn_normalize(value->data, value->len, true, norm, &len,
				   &why)) {
		check_refuse(error_r, node, "%s holds DNs and the value is not "
			     "one the local matcher compares as servers do "
			     "(%s): write the DN with attribute names and one "
			     "value per RDN", node->attr, why);
		return false;
	}
	node->prepared[0].len = len;
	node->eval = MG_EVAL_DN_EQUAL;
	return true;
}

static bool check_object_class(struct mg_node *node, struct mg_error *error_r)
{
	const struct mg_value *value = &node->values[0];
	size_t bad;

	if (value->len > 0 && is_digit(value->data[0])) {
		check_refuse(error_r, node, "entries list their object classes "
			     "by name: write the class's name instead of "
			     "its OID");
		return false;
	}
	if (value->len == 0 || strlen(value->data) != value->len ||
	    !is_alpha(value->data[0]) ||
	    !keystring_check(value->data, value->len, &bad)) {
		check_refuse(error_r, node, "'%.40s' is not an object class "
			     "name", value->data);
		return false;
	}
	node->eval = MG_EVAL_OBJECT_CLASS;
	return true;
}

static bool check_equality(struct mg_node *node,
			   const struct mg_schema_attr *attr,
			   struct mg_error *error_r)
{
	switch (attr->equality) {
	case MG_RULE_CASE_IGNORE:
	case MG_RULE_CASE_EXACT:
		return check_string_equal(node, attr->equality ==
					  MG_RULE_CASE_IGNORE, error_r);
	case MG_RULE_INTEGER:
		if (!check_integer(node, error_r))
			return false;
		node->eval = MG_EVAL_INTEGER_EQUAL;
		return true;
	case MG_RULE_DN:
		return check_dn(node, error_r);
	case MG_RULE_BOOLEAN:
		if (strcmp(node->values[0].data, "TRUE") != 0 &&
		    strcmp(node->values[0].data, "FALSE") != 0) {
			check_refuse(error_r, node, "%s is a boolean: servers "
				     "take only TRUE or FALSE, in capitals",
				     node->attr);
			return false;
		}
		node->eval = MG_EVAL_BYTES_EQUAL;
		return true;
	case MG_RULE_OBJECT_CLASS:
		return check_object_class(node, error_r);
	case MG_RULE_NONE:
		break;
	}
	check_refuse(error_r, node, "%s has no equality rule: test its "
		     "presence with (%s=*)", node->attr, node->attr);
	return false;
}

static bool check_extensible(struct mg_node *node,
			     const struct mg_schema_attr *attr,
			     struct mg_error *error_r)
{
	bool bit_and;

	if (node->rule == NULL)
		return check_equality(node, attr, error_r);
	bit_and = strcmp(node->rule, MG_RULE_BIT_AND) == 0;
	if (!bit_and && strcmp(node->rule, MG_RULE_BIT_OR) != 0) {
		check_refuse(error_r, node, "matching rule %.60s is not "
			     "evaluated locally: only " MG_RULE_BIT_AND
			     " (bit AND) and " MG_RULE_BIT_OR " (bit OR) are",
			     node->rule);
		return false;
	}
	if (attr->equality != MG_RULE_INTEGER) {
		check_refuse(error_r, node, "the bit rules apply to integer "
			     "attributes and %s is not one", node->attr);
		return false;
	}
	if (!mg_match_bits_valid(node->values[0].data, node->values[0].len)) {
		check_refuse(error_r, node, "the bit mask must be a decimal "
			     "integer from 0 to 18446744073709551615 without "
			     "leading zeros");
		return false;
	}
	node->eval = bit_and ? MG_EVAL_BITS_AND : MG_EVAL_BITS_OR;
	return true;
}

static bool check_ordering(struct mg_node *node,
			   const struct mg_schema_attr *attr,
			   struct mg_error *error_r)
{
	if (attr->ordering != MG_RULE_INTEGER) {
		check_refuse(error_r, node, "%s has no ordering rule the local "
			     "matcher evaluates (only integer attributes have "
			     "one here): use = or a presence test",
			     node->attr);
		return false;
	}
	if (!check_integer(node, error_r))
		return false;
	node->eval = node->type == MG_NODE_GREATER_OR_EQUAL ?
		MG_EVAL_INTEGER_GREATER_OR_EQUAL :
		MG_EVAL_INTEGER_LESS_OR_EQUAL;
	return true;
}

/* The attribute as the directory returns it, or an error saying what to
   write instead. */
static const struct mg_schema_attr *
check_attr(const struct mg_node *node, struct mg_error *error_r)
{
	const struct mg_schema_attr *attr;

	if (node->dn_attrs) {
		check_refuse(error_r, node, ":dn also matches the values in "
			     "the entry's DN, which the local matcher does not "
			     "evaluate: remove :dn, or test the attribute");
		return NULL;
	}
	if (node->attr == NULL) {
		check_refuse(error_r, node, "an extensible match without an "
			     "attribute is not evaluated locally: name the "
			     "attribute");
		return NULL;
	}
	if (strchr(node->attr, ';') != NULL) {
		check_refuse(error_r, node, "attribute options are not "
			     "evaluated locally: write the attribute without "
			     "';...'");
		return NULL;
	}
	attr = mg_schema_attr_find(node->attr);
	if (is_digit(node->attr[0])) {
		check_refuse(error_r, node, "the directory returns attributes "
			     "by name, never by OID: write %s",
			     attr != NULL ? attr->name :
			     "the name the server's schema gives it");
		return NULL;
	}
	if (attr == NULL) {
		check_refuse(error_r, node, "%s is not among the attributes "
			     "whose names and matching rules the local matcher "
			     "knows (mailbox-guard.conf(5), LOCAL MATCHING)",
			     node->attr);
		return NULL;
	}
	if (mg_schema_name_cmp(attr->name, node->attr) != 0) {
		check_refuse(error_r, node, "%s is another name of %s, the "
			     "name the directory returns: write %s",
			     node->attr, attr->name, attr->name);
		return NULL;
	}
	return attr;
}

static bool check_leaf(struct mg_node *node, struct mg_error *error_r)
{
	const struct mg_schema_attr *attr = check_attr(node, error_r);

	if (attr == NULL)
		return false;
	switch (node->type) {
	case MG_NODE_PRESENT:
		node->eval = MG_EVAL_PRESENT;
		return true;
	case MG_NODE_EQUAL:
		return check_equality(node, attr, error_r);
	case MG_NODE_EXTENSIBLE:
		return check_extensible(node, attr, error_r);
	case MG_NODE_GREATER_OR_EQUAL:
	case MG_NODE_LESS_OR_EQUAL:
		return check_ordering(node, attr, error_r);
	case MG_NODE_SUBSTRING:
		if (attr->substrings != MG_RULE_CASE_IGNORE &&
		    attr->substrings != MG_RULE_CASE_EXACT) {
			check_refuse(error_r, node, "%s has no substrings rule, "
				     "so a server never matches it with '*' "
				     "in a value: write the whole value",
				     node->attr);
			return false;
		}
		return check_substrings(node, attr->substrings ==
					MG_RULE_CASE_IGNORE, error_r);
	case MG_NODE_APPROX:
		check_refuse(error_r, node, "approximate matching is each "
			     "server's own: write = instead of ~=");
		return false;
	default:
		break;
	}
	mg_error_set(error_r, "%s: not a leaf", node->text);
	return false;
}

static bool node_check_local(struct mg_node *node, struct mg_error *error_r)
{
	if (!node_is_list(node))
		return check_leaf(node, error_r);
	for (unsigned int i = 0; i < node->child_count; i++) {
		if (!node_check_local(node->children[i], error_r))
			return false;
	}
	return true;
}

bool mg_filter_check_local(struct mg_filter *filter, struct mg_error *error_r)
{
	if (!filter->checked_local) {
		if (!node_check_local(filter->root, error_r))
			return false;
		filter->checked_local = true;
	}
	return true;
}

const char *mg_filter_text(const struct mg_filter *filter)
{
	return filter->root->text;
}

const char *const *mg_filter_attrs(const struct mg_filter *filter)
{
	return filter->attrs;
}

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg-escape.h"
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
	MG_NODE_SUBSTRING
};

/* Decoded assertion bytes: \00 makes NUL possible, so keep the length. */
struct mg_value {
	char *data;
	size_t len;
};

struct mg_node {
	enum mg_node_type type;
	/* Canonical text, handed out as the rule of a match. */
	char *text;

	/* AND, OR, NOT */
	struct mg_node **children;
	unsigned int child_count;

	/* leaves */
	char *attr;
	/* Equality, approx and ordering use one value. Substrings use
	   initial, any..., final (initial and final may be empty). */
	struct mg_value *values;
	unsigned int value_count;
};

struct mg_filter {
	struct mg_node *root;
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
};

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ASCII-only case folding: the locale must not change what matches. */
static bool bytes_equal_icase(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
			return false;
	}
	return true;
}

static int compare_strings_icase(const char *a, size_t a_len,
				 const char *b, size_t b_len)
{
	size_t i;

	for (i = 0; i < a_len && i < b_len; i++) {
		unsigned char ca = fold((unsigned char)a[i]);
		unsigned char cb = fold((unsigned char)b[i]);

		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	if (a_len == b_len)
		return 0;
	return a_len < b_len ? -1 : 1;
}

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
	for (i = 0; i < node->value_count; i++)
		free(node->values[i].data);
	free(node->children);
	free(node->values);
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

static void node_append_value_text(const struct mg_node *node,
				   struct mg_buf *buf)
{
	unsigned int i;

	buf_append_str(buf, node->attr);
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
	if (node->attr == NULL) {
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
		if (compare_strings_icase(filter->attrs[i],
					  strlen(filter->attrs[i]), attr,
					  strlen(attr)) == 0)
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

/* Reads an attribute description and leaves p->pos on what follows it. */
static char *parse_attr(struct mg_parser *p)
{
	size_t start = p->pos, len, bad;
	char *attr;

	while (is_attr_char(p->text[p->pos]))
		p->pos++;
	len = p->pos - start;
	if (p->text[p->pos] == ';') {
		parse_error(p, p->pos,
			    "attribute options (';...') are not supported");
		return NULL;
	}
	if (p->text[p->pos] == ':') {
		parse_error(p, p->pos, "extensible match is not supported");
		return NULL;
	}
	if (len == 0) {
		parse_expected(p, "attribute description");
		return NULL;
	}
	if (!attr_check(p->text + start, len, &bad)) {
		parse_error(p, start + bad, "invalid attribute description, "
			    "expected a name (ALPHA then ALPHA, DIGIT or '-') "
			    "or a numeric OID");
		return NULL;
	}
	attr = strndup(p->text + start, len);
	if (attr == NULL)
		parse_out_of_memory(p);
	return attr;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_escape(struct mg_parser *p, struct mg_buf *buf)
{
	int high = hex_value(p->text[p->pos + 1]);
	int low = high < 0 ? -1 : hex_value(p->text[p->pos + 2]);
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
	node->attr = parse_attr(p);
	if (node->attr == NULL || !parse_filter_type(p, node) ||
	    !filter_add_attr(p, node->attr) || !node_build_text(p, node)) {
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
	if (node->attr == NULL && !node_build_text(p, node)) {
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

static const char *find_icase(const char *haystack, size_t haystack_len,
			      const struct mg_value *needle)
{
	size_t i;

	for (i = 0; i + needle->len <= haystack_len; i++) {
		if (bytes_equal_icase(haystack + i, needle->data, needle->len))
			return haystack + i;
	}
	return NULL;
}

static bool match_equal(const char *value, const struct mg_value *assertion)
{
	return strlen(value) == assertion->len &&
		bytes_equal_icase(value, assertion->data, assertion->len);
}

static bool match_substring(const char *value, const struct mg_node *node)
{
	const struct mg_value *initial = &node->values[0];
	const struct mg_value *final = &node->values[node->value_count - 1];
	size_t len = strlen(value);
	const char *pos = value, *end;
	unsigned int i;

	if (len < initial->len + final->len)
		return false;
	end = value + len - final->len;
	if (!bytes_equal_icase(value, initial->data, initial->len) ||
	    !bytes_equal_icase(end, final->data, final->len))
		return false;
	pos += initial->len;
	/* Leftmost match of each "any" piece leaves the most room for the
	   ones after it, so greedy search is enough. */
	for (i = 1; i + 1 < node->value_count; i++) {
		pos = find_icase(pos, (size_t)(end - pos), &node->values[i]);
		if (pos == NULL)
			return false;
		pos += node->values[i].len;
	}
	return true;
}

static bool is_integer(const char *str, size_t len)
{
	size_t i = str[0] == '-' ? 1 : 0;

	if (i == len)
		return false;
	for (; i < len; i++) {
		if (!is_digit(str[i]))
			return false;
	}
	return true;
}

/* Compares decimal digit strings of any length, so big numbers cannot
   overflow: sign first, then magnitude by length and digits. */
static int compare_integers(const char *a, size_t a_len,
			    const char *b, size_t b_len)
{
	int a_sign = a[0] == '-' ? -1 : 1, b_sign = b[0] == '-' ? -1 : 1;
	int ret;

	if (a_sign < 0) {
		a++;
		a_len--;
	}
	if (b_sign < 0) {
		b++;
		b_len--;
	}
	while (a_len > 0 && a[0] == '0') {
		a++;
		a_len--;
	}
	while (b_len > 0 && b[0] == '0') {
		b++;
		b_len--;
	}
	if (a_len == 0)
		a_sign = 0;
	if (b_len == 0)
		b_sign = 0;
	if (a_sign != b_sign)
		return a_sign < b_sign ? -1 : 1;
	if (a_len != b_len)
		ret = a_len < b_len ? -1 : 1;
	else
		ret = memcmp(a, b, a_len);
	return a_sign < 0 ? -ret : ret;
}

static int compare_ordering(const char *value,
			    const struct mg_value *assertion)
{
	size_t len = strlen(value);

	if (is_integer(value, len) &&
	    is_integer(assertion->data, assertion->len))
		return compare_integers(value, len, assertion->data,
					assertion->len);
	return compare_strings_icase(value, len, assertion->data,
				     assertion->len);
}

static bool match_value(const struct mg_node *node, const char *value)
{
	switch (node->type) {
	case MG_NODE_EQUAL:
	case MG_NODE_APPROX:
		return match_equal(value, &node->values[0]);
	case MG_NODE_GREATER_OR_EQUAL:
		return compare_ordering(value, &node->values[0]) >= 0;
	case MG_NODE_LESS_OR_EQUAL:
		return compare_ordering(value, &node->values[0]) <= 0;
	case MG_NODE_PRESENT:
		return true;
	case MG_NODE_SUBSTRING:
		return match_substring(value, node);
	default:
		return false;
	}
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
	return node_match(filter->root, entry, rule_r);
}

const char *mg_filter_text(const struct mg_filter *filter)
{
	return filter->root->text;
}

const char *const *mg_filter_attrs(const struct mg_filter *filter)
{
	return filter->attrs;
}

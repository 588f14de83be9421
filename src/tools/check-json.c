/* JSON strings with proper escaping. */

#include "check-json.h"

static void append_char(GString *out, gunichar c)
{
	switch (c) {
	case '"':
		g_string_append(out, "\\\"");
		return;
	case '\\':
		g_string_append(out, "\\\\");
		return;
	case '\n':
		g_string_append(out, "\\n");
		return;
	case '\r':
		g_string_append(out, "\\r");
		return;
	case '\t':
		g_string_append(out, "\\t");
		return;
	}
	if (c < 0x20 || c == 0x7f)
		g_string_append_printf(out, "\\u%04x", c);
	else
		g_string_append_unichar(out, c);
}

void check_json_string(GString *out, const char *value)
{
	const char *p = value;

	if (value == NULL) {
		g_string_append(out, "null");
		return;
	}
	g_string_append_c(out, '"');
	while (*p != '\0') {
		gunichar c = g_utf8_get_char_validated(p, -1);

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			append_char(out, 0xfffd);
			p++;
			continue;
		}
		append_char(out, c);
		p = g_utf8_next_char(p);
	}
	g_string_append_c(out, '"');
}

void check_json_key(GString *out, const char *key)
{
	if (out->len > 0 && out->str[out->len - 1] != '{' &&
	    out->str[out->len - 1] != '[')
		g_string_append_c(out, ',');
	check_json_string(out, key);
	g_string_append_c(out, ':');
}

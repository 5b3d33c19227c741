/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <string.h>
#include "contract/common_abi.h"
#include "pg/normalize.h"

/* What the last token was: decides whether a '-' belongs to a number. */
enum last { L_START, L_OPERAND, L_OPERATOR };

struct out {
	char *s;
	size_t len, cap;	/* cap excludes the NUL */
	int space;		/* whitespace or a comment came before the next token */
	enum last last;
};

static int ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

static int ident_start(unsigned char c)
{
	return ident_char(c) && c != '$' && !(c >= '0' && c <= '9');
}

static int digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static void put(struct out *o, const char *p, size_t n)
{
	if (o->space && o->len) {
		if (o->len < o->cap)
			o->s[o->len++] = ' ';
	}
	o->space = 0;
	if (n > o->cap - o->len)
		n = o->cap - o->len;
	memcpy(o->s + o->len, p, n);
	o->len += n;
}

/* The output ends with "?," or "?, ": where the next placeholder folds. */
static int after_list_comma(const struct out *o)
{
	size_t n = o->len;

	if (n && o->s[n - 1] == ' ')
		n--;
	return n >= 2 && o->s[n - 1] == ',' && o->s[n - 2] == '?';
}

static void placeholder(struct out *o)
{
	if (after_list_comma(o)) {
		while (o->s[o->len - 1] != '?')
			o->len--;
		o->space = 0;
	} else {
		put(o, "?", 1);
	}
	o->last = L_OPERAND;
}

/* "(?)" then "," then "(?)" (VALUES rows), spaces optional: keeps the first. */
static void close_paren(struct out *o)
{
	size_t n;

	put(o, ")", 1);
	o->last = L_OPERAND;
	n = o->len;
	if (n < 7 || memcmp(o->s + n - 3, "(?)", 3))
		return;
	n -= 3;
	if (o->s[n - 1] == ' ')
		n--;
	if (o->s[n - 1] != ',')
		return;
	n--;
	if (n && o->s[n - 1] == ' ')
		n--;
	if (n >= 3 && !memcmp(o->s + n - 3, "(?)", 3))
		o->len = n;
}

/* End of a '...' string from i (just past the opening quote); escapes:
 * E'' strings take backslash escapes. src_len if unterminated. */
static size_t string_end(const char *s, size_t i, size_t len, int backslash)
{
	while (i < len) {
		if (backslash && s[i] == '\\') {
			i += 2;
			continue;
		}
		if (s[i] == '\'') {
			if (i + 1 < len && s[i + 1] == '\'') {	/* '' is a quote inside */
				i += 2;
				continue;
			}
			return i + 1;
		}
		i++;
	}
	return len;
}

/* Length of a dollar-quote tag "$tag$" at s[i], or 0 if there is none. */
static size_t dollar_tag(const char *s, size_t i, size_t len)
{
	size_t j = i + 1;

	if (j < len && s[j] == '$')
		return 2;
	if (j >= len || !ident_start((unsigned char)s[j]))
		return 0;
	while (j < len && ident_char((unsigned char)s[j]) && s[j] != '$')
		j++;
	return j < len && s[j] == '$' ? j - i + 1 : 0;
}

static size_t dollar_end(const char *s, size_t i, size_t len, size_t tag_at, size_t tag_len)
{
	for (; i + tag_len <= len; i++)
		if (s[i] == '$' && !memcmp(s + i, s + tag_at, tag_len))
			return i + tag_len;
	return len;
}

/* A numeric constant from i: digits, '.', letters (0x1F, 1e5, 1_000) and
 * the sign of an exponent. */
static size_t number_end(const char *s, size_t i, size_t len)
{
	while (i < len) {
		unsigned char c = s[i];

		if ((c == '+' || c == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E') && i + 1 < len &&
		    digit((unsigned char)s[i + 1]))
			i++;
		else if (ident_char(c) || c == '.')
			i++;
		else
			break;
	}
	return i;
}

size_t normalize__sql(char *dst, size_t dst_len, const char *src, size_t src_len)
{
	struct out o = { .s = dst, .cap = dst_len ? dst_len - 1 : 0 };
	size_t i = 0, len = src_len, n;

	if (!dst_len)
		return 0;
	n = strnlen(src, src_len);
	if (n < len)
		len = n;
	while (i < len) {
		unsigned char c = src[i];

		if (c <= ' ' || c == 0x7f) {
			o.space = 1;
			i++;
		} else if (c == '-' && i + 1 < len && src[i + 1] == '-') {
			while (i < len && src[i] != '\n')
				i++;
			o.space = 1;
		} else if (c == '/' && i + 1 < len && src[i + 1] == '*') {
			int depth = 1;	/* PostgreSQL's comments nest */

			for (i += 2; i < len && depth; i++) {
				if (src[i] == '/' && i + 1 < len && src[i + 1] == '*')
					depth++, i++;
				else if (src[i] == '*' && i + 1 < len && src[i + 1] == '/')
					depth--, i++;
			}
			o.space = 1;
		} else if (c == '\'') {
			i = string_end(src, i + 1, len, 0);
			placeholder(&o);
		} else if (c == '$' && (n = dollar_tag(src, i, len))) {
			i = dollar_end(src, i + n, len, i, n);
			placeholder(&o);
		} else if (c == '$' && i + 1 < len && digit((unsigned char)src[i + 1])) {
			for (n = i + 1; n < len && digit((unsigned char)src[n]); n++)
				;
			put(&o, src + i, n - i);	/* a parameter, not a value */
			o.last = L_OPERAND;
			i = n;
		} else if (digit(c) || (c == '.' && i + 1 < len && digit((unsigned char)src[i + 1]))) {
			i = number_end(src, i, len);
			placeholder(&o);
		} else if (c == '-' && o.last != L_OPERAND && i + 1 < len &&
			   (digit((unsigned char)src[i + 1]) ||
			    (src[i + 1] == '.' && i + 2 < len && digit((unsigned char)src[i + 2])))) {
			i = number_end(src, i + 1, len);	/* "= -5": the sign is the value's */
			placeholder(&o);
		} else if (c == '"') {
			for (n = i + 1; n < len; n++) {
				if (src[n] == '"' && !(n + 1 < len && src[n + 1] == '"'))
					break;
				if (src[n] == '"')
					n++;
			}
			if (n >= len)	/* cut inside: dropped, as a literal would be */
				break;
			put(&o, src + i, n + 1 - i);
			o.last = L_OPERAND;
			i = n + 1;
		} else if (ident_start(c)) {
			for (n = i; n < len && ident_char((unsigned char)src[n]); n++)
				;
			/* E'..', B'..', X'..', N'..' and U&'..' are string constants */
			if (n - i == 1 && n < len && src[n] == '\'' && strchr("EeBbXxNn", c)) {
				i = string_end(src, n + 1, len, c == 'E' || c == 'e');
				placeholder(&o);
			} else if (n - i == 1 && (c == 'U' || c == 'u') && n + 1 < len &&
				   src[n] == '&' && src[n + 1] == '\'') {
				i = string_end(src, n + 2, len, 0);
				placeholder(&o);
			} else {
				put(&o, src + i, n - i);
				o.last = L_OPERAND;
				i = n;
			}
		} else {
			if (c == ')')
				close_paren(&o);
			else
				put(&o, src + i, 1);
			o.last = c == ')' || c == ']' ? L_OPERAND : L_OPERATOR;
			i++;
		}
	}
	dst[o.len] = '\0';
	return o.len;
}

uint64_t normalize__fingerprint(const char *normalized)
{
	uint64_t h = FNV64_INIT;

	for (const unsigned char *p = (const unsigned char *)normalized; *p; p++)
		h = fnv64__byte(h, *p);
	return h;
}

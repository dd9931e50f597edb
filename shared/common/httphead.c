/*
 * httphead.c: HTTP/1.x head parser; see httphead.h.
 */
#include <string.h>
#include <strings.h>

#include "httphead.h"

/* RFC 9110 tchar. */
static int
httphead_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	return (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

size_t
httphead_end(const char *buf, size_t len, size_t from)
{
	size_t i;

	/*
	 * A head ends at an empty line: LF (CR) LF.  The search may resume
	 * where an earlier one stopped, so back up over an LF CR that may
	 * have ended the bytes scanned before.
	 */
	from = from > 2 ? from - 2 : 0;
	for (i = from; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return (i + 2);
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return (i + 3);
	}
	return (0);
}

int
httphead_plausible(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == ' ')
			return (i > 0);
		if (!httphead_tchar((unsigned char)buf[i]) || i >= 32)
			return (0);
	}
	return (1);
}

/*
 * Take one line from [*pos, end): sets the span without its line ending and
 * moves *pos past it.  Returns -1 when the line holds a bare CR or NUL.
 */
static int
httphead_line(const char *buf, size_t end, size_t *pos,
    struct httphead_span *line)
{
	size_t i = *pos, n;

	while (i < end && buf[i] != '\n')
		i++;
	if (i >= end)
		return (-1);
	n = i - *pos;
	if (n > 0 && buf[i - 1] == '\r')
		n--;
	line->s_p = buf + *pos;
	line->s_n = n;
	for (size_t j = 0; j < n; j++) {
		if (line->s_p[j] == '\r' || line->s_p[j] == '\0')
			return (-1);
	}
	*pos = i + 1;
	return (0);
}

/* Parse "HTTP/1.x" exactly; returns minor or -1 (malformed) or -2 (other). */
static int
httphead_version(const char *p, size_t n)
{
	if (n != 8 || strncmp(p, "HTTP/", 5) != 0 || p[6] != '.' ||
	    p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
		return (-1);
	if (p[5] != '1')
		return (-2);
	return (p[7] - '0');
}

static int
httphead_headers(const char *buf, size_t end, size_t pos, struct httphead *out)
{
	struct httphead_span line;

	out->hh_nheaders = 0;
	for (;;) {
		struct httphead_header *h;
		size_t i, vs, ve;

		if (httphead_line(buf, end, &pos, &line) != 0)
			return (HTTPHEAD_E_MALFORMED);
		if (line.s_n == 0)
			break;
		/* Obsolete line folding: refused (RFC 9112 section 5.2). */
		if (line.s_p[0] == ' ' || line.s_p[0] == '\t')
			return (HTTPHEAD_E_MALFORMED);
		for (i = 0; i < line.s_n && line.s_p[i] != ':'; i++) {
			if (!httphead_tchar((unsigned char)line.s_p[i]))
				return (HTTPHEAD_E_MALFORMED);
		}
		if (i == 0 || i == line.s_n)
			return (HTTPHEAD_E_MALFORMED);
		if (out->hh_nheaders == HTTPHEAD_MAX_HEADERS)
			return (HTTPHEAD_E_TOO_MANY);
		h = &out->hh_headers[out->hh_nheaders++];
		h->h_name.s_p = line.s_p;
		h->h_name.s_n = i;
		vs = i + 1;
		ve = line.s_n;
		while (vs < ve && (line.s_p[vs] == ' ' || line.s_p[vs] == '\t'))
			vs++;
		while (ve > vs &&
		    (line.s_p[ve - 1] == ' ' || line.s_p[ve - 1] == '\t'))
			ve--;
		for (i = vs; i < ve; i++) {
			unsigned char c = (unsigned char)line.s_p[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return (HTTPHEAD_E_MALFORMED);
		}
		h->h_value.s_p = line.s_p + vs;
		h->h_value.s_n = ve - vs;
	}
	out->hh_len = pos;
	return (HTTPHEAD_OK);
}

int
httphead_parse_request(const char *buf, size_t len, struct httphead *out)
{
	struct httphead_span line;
	size_t end, pos = 0, i, sp1, sp2;
	int minor;

	memset(out, 0, sizeof (*out));
	if ((end = httphead_end(buf, len, 0)) == 0)
		return (HTTPHEAD_INCOMPLETE);
	if (httphead_line(buf, end, &pos, &line) != 0 || line.s_n == 0)
		return (HTTPHEAD_E_MALFORMED);

	/* method SP request-target SP HTTP-version */
	for (i = 0; i < line.s_n && line.s_p[i] != ' '; i++) {
		if (!httphead_tchar((unsigned char)line.s_p[i]))
			return (HTTPHEAD_E_MALFORMED);
	}
	if (i == 0 || i == line.s_n)
		return (HTTPHEAD_E_MALFORMED);
	sp1 = i;
	for (i = sp1 + 1; i < line.s_n && line.s_p[i] != ' '; i++) {
		unsigned char c = (unsigned char)line.s_p[i];
		if (c <= 0x20 || c >= 0x7f)
			return (HTTPHEAD_E_MALFORMED);
	}
	if (i == sp1 + 1 || i == line.s_n)
		return (HTTPHEAD_E_MALFORMED);
	sp2 = i;
	minor = httphead_version(line.s_p + sp2 + 1, line.s_n - sp2 - 1);
	if (minor == -1)
		return (HTTPHEAD_E_MALFORMED);
	if (minor == -2)
		return (HTTPHEAD_E_VERSION);
	out->hh_method.s_p = line.s_p;
	out->hh_method.s_n = sp1;
	out->hh_target.s_p = line.s_p + sp1 + 1;
	out->hh_target.s_n = sp2 - sp1 - 1;
	out->hh_minor = minor;
	return (httphead_headers(buf, end, pos, out));
}

int
httphead_parse_response(const char *buf, size_t len, struct httphead *out)
{
	struct httphead_span line;
	size_t end, pos = 0;
	int minor;

	memset(out, 0, sizeof (*out));
	if ((end = httphead_end(buf, len, 0)) == 0)
		return (HTTPHEAD_INCOMPLETE);
	if (httphead_line(buf, end, &pos, &line) != 0)
		return (HTTPHEAD_E_MALFORMED);
	/* HTTP-version SP 3DIGIT SP [reason] */
	if (line.s_n < 12 || line.s_p[8] != ' ' ||
	    (line.s_n > 12 && line.s_p[12] != ' '))
		return (HTTPHEAD_E_MALFORMED);
	minor = httphead_version(line.s_p, 8);
	if (minor == -1)
		return (HTTPHEAD_E_MALFORMED);
	if (minor == -2)
		return (HTTPHEAD_E_VERSION);
	for (int i = 9; i < 12; i++) {
		if (line.s_p[i] < '0' || line.s_p[i] > '9')
			return (HTTPHEAD_E_MALFORMED);
	}
	out->hh_status = (line.s_p[9] - '0') * 100 + (line.s_p[10] - '0') * 10 +
	    (line.s_p[11] - '0');
	out->hh_minor = minor;
	out->hh_reason.s_p = line.s_p + (line.s_n > 12 ? 13 : 12);
	out->hh_reason.s_n = line.s_n > 12 ? line.s_n - 13 : 0;
	return (httphead_headers(buf, end, pos, out));
}

int
httphead_span_ieq(const struct httphead_span *sp, const char *s)
{
	size_t n = strlen(s);

	return (sp->s_n == n && strncasecmp(sp->s_p, s, n) == 0);
}

const struct httphead_span *
httphead_get(const struct httphead *h, const char *name)
{
	for (size_t i = 0; i < h->hh_nheaders; i++) {
		if (httphead_span_ieq(&h->hh_headers[i].h_name, name))
			return (&h->hh_headers[i].h_value);
	}
	return (NULL);
}

size_t
httphead_count(const struct httphead *h, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < h->hh_nheaders; i++) {
		if (httphead_span_ieq(&h->hh_headers[i].h_name, name))
			n++;
	}
	return (n);
}

int
httphead_has_token(const struct httphead_span *v, const char *token)
{
	size_t tl = strlen(token), i = 0;

	while (i < v->s_n) {
		size_t s, e;

		while (i < v->s_n && (v->s_p[i] == ' ' || v->s_p[i] == '\t' ||
		    v->s_p[i] == ','))
			i++;
		s = i;
		while (i < v->s_n && v->s_p[i] != ',')
			i++;
		e = i;
		while (e > s && (v->s_p[e - 1] == ' ' || v->s_p[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v->s_p + s, token, tl) == 0)
			return (1);
	}
	return (0);
}

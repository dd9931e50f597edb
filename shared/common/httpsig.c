/*
 * httpsig.c: HTTP Signatures; see httpsig.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "httpsig.h"

static int
httpsig_blank(char c)
{
	return (c == ' ' || c == '\t');
}

static int
httpsig_token_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
}

int
httpsig_parse(const char *v, size_t n, struct httpsig *out, char *err,
    size_t errlen)
{
	static const char *const known[] = { "keyId", "algorithm", "headers",
	    "signature" };
	struct httpsig_span *slot[4];
	unsigned char seen_other[8][32];
	size_t nother = 0, i = 0;

	memset(out, 0, sizeof (*out));
	slot[0] = &out->hs_keyid;
	slot[1] = &out->hs_algorithm;
	slot[2] = &out->hs_headers;
	slot[3] = &out->hs_signature;
	if (n < 10 || strncasecmp(v, "Signature", 9) != 0 ||
	    !httpsig_blank(v[9])) {
		snprintf(err, errlen, "the Authorization scheme must be "
		    "Signature");
		return (HTTPSIG_E_SCHEME);
	}
	i = 10;
	for (;;) {
		size_t ns, ne, vs, ve;
		int k = -1;

		while (i < n && httpsig_blank(v[i]))
			i++;
		if (i == n)
			break;
		ns = i;
		while (i < n && httpsig_token_char(v[i]))
			i++;
		ne = i;
		if (ne == ns || i + 1 >= n || v[i] != '=' || v[i + 1] != '"') {
			snprintf(err, errlen, "Authorization: expected "
			    "name=\"value\"");
			return (HTTPSIG_E_SYNTAX);
		}
		i += 2;
		vs = i;
		while (i < n && v[i] != '"') {
			unsigned char c = (unsigned char)v[i];

			if (c < 0x20 || c == 0x7f || c == '\\') {
				snprintf(err, errlen, "Authorization: a bad "
				    "character in a value");
				return (HTTPSIG_E_SYNTAX);
			}
			i++;
		}
		if (i == n) {
			snprintf(err, errlen, "Authorization: a value without "
			    "its closing quote");
			return (HTTPSIG_E_SYNTAX);
		}
		ve = i++;
		if (ve - vs > HTTPSIG_VALUE_MAX) {
			snprintf(err, errlen, "Authorization: a value of more "
			    "than %d bytes", HTTPSIG_VALUE_MAX);
			return (HTTPSIG_E_TOO_LONG);
		}
		for (int j = 0; j < 4; j++) {
			if (strlen(known[j]) == ne - ns &&
			    memcmp(known[j], v + ns, ne - ns) == 0)
				k = j;
		}
		if (k >= 0) {
			if (slot[k]->p != NULL) {
				snprintf(err, errlen, "Authorization: %s given "
				    "twice", known[k]);
				return (HTTPSIG_E_REPEATED);
			}
			slot[k]->p = v + vs;
			slot[k]->n = ve - vs;
		} else {
			/* Others are not used, but not repeated either. */
			if (ne - ns >= sizeof (seen_other[0]) ||
			    nother == sizeof (seen_other) /
			    sizeof (seen_other[0])) {
				snprintf(err, errlen, "Authorization: too many "
				    "or too long parameters");
				return (HTTPSIG_E_SYNTAX);
			}
			for (size_t j = 0; j < nother; j++) {
				if (strlen((char *)seen_other[j]) == ne - ns &&
				    memcmp(seen_other[j], v + ns, ne - ns) ==
				    0) {
					snprintf(err, errlen, "Authorization: "
					    "%.*s given twice", (int)(ne - ns),
					    v + ns);
					return (HTTPSIG_E_REPEATED);
				}
			}
			memcpy(seen_other[nother], v + ns, ne - ns);
			seen_other[nother++][ne - ns] = '\0';
		}
		while (i < n && httpsig_blank(v[i]))
			i++;
		if (i == n)
			break;
		if (v[i] != ',') {
			snprintf(err, errlen, "Authorization: expected a comma "
			    "between parameters");
			return (HTTPSIG_E_SYNTAX);
		}
		i++;
	}
	for (int j = 0; j < 4; j++) {
		if (j != 2 && (slot[j]->p == NULL || slot[j]->n == 0)) {
			snprintf(err, errlen, "Authorization: no %s",
			    known[j]);
			return (HTTPSIG_E_MISSING);
		}
	}
	if (out->hs_headers.p == NULL) {
		out->hs_headers.p = "date";
		out->hs_headers.n = 4;
	}
	{
		uint8_t sig[B64_DECLEN(HTTPSIG_VALUE_MAX)];

		if (b64_decode(out->hs_signature.p, out->hs_signature.n, sig,
		    sizeof (sig)) <= 0) {
			snprintf(err, errlen, "Authorization: the signature is "
			    "not base64");
			return (HTTPSIG_E_SYNTAX);
		}
	}
	return (HTTPSIG_OK);
}

int
httpsig_keyid(const char *keyid, size_t n, struct httpsig_span *account,
    struct httpsig_span *user, struct httpsig_span *fingerprint)
{
	const char *seg[5];
	size_t segn[5], i = 1;
	int ns = 0;

	if (n < 2 || keyid[0] != '/')
		return (-1);
	for (;;) {
		size_t s = i;

		while (i < n && keyid[i] != '/')
			i++;
		if (ns == 4 || i == s)
			return (-1);	/* too many parts, or an empty one */
		seg[ns] = keyid + s;
		segn[ns++] = i - s;
		if (i == n)
			break;
		i++;
		if (i == n)
			return (-1);	/* a trailing slash */
	}
	user->p = "";
	user->n = 0;
	if (ns == 3 && segn[1] == 4 && memcmp(seg[1], "keys", 4) == 0) {
		*fingerprint = (struct httpsig_span){ seg[2], segn[2] };
	} else if (ns == 4 && segn[2] == 4 && memcmp(seg[2], "keys", 4) == 0) {
		*user = (struct httpsig_span){ seg[1], segn[1] };
		*fingerprint = (struct httpsig_span){ seg[3], segn[3] };
	} else {
		return (-1);
	}
	*account = (struct httpsig_span){ seg[0], segn[0] };
	return (0);
}

int
httpsig_names(const char *headers, size_t hn, const char *name)
{
	size_t i = 0, l = strlen(name);

	while (i < hn) {
		size_t s;

		while (i < hn && headers[i] == ' ')
			i++;
		s = i;
		while (i < hn && headers[i] != ' ')
			i++;
		if (i - s == l && strncasecmp(headers + s, name, l) == 0)
			return (1);
	}
	return (0);
}

/* Append fmt-free bytes to out; -1 when out of room. */
static int
httpsig_put(char *out, size_t cap, size_t *o, const char *p, size_t n)
{
	if (*o + n >= cap)
		return (-1);
	memcpy(out + *o, p, n);
	*o += n;
	out[*o] = '\0';
	return (0);
}

int
httpsig_signing_string(const char *headers, size_t hn,
    const char *method, size_t mn, const char *target, size_t tn,
    httpsig_lookup_f *lookup, void *arg, char *out, size_t cap, char *err,
    size_t errlen)
{
	size_t i = 0, o = 0;
	int lines = 0;

	if (cap == 0)
		return (-1);
	out[0] = '\0';
	while (i < hn) {
		char name[64];
		size_t s, l;

		while (i < hn && headers[i] == ' ')
			i++;
		if (i == hn)
			break;
		s = i;
		while (i < hn && headers[i] != ' ')
			i++;
		l = i - s;
		if (l >= sizeof (name) || ++lines > HTTPSIG_LINES_MAX) {
			snprintf(err, errlen, "too many or too long signed "
			    "header names");
			return (-1);
		}
		for (size_t k = 0; k < l; k++) {
			char c = headers[s + k];

			name[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		name[l] = '\0';
		if (lines > 1 && httpsig_put(out, cap, &o, "\n", 1) != 0)
			goto toolong;
		if (strcmp(name, "(request-target)") == 0) {
			if (httpsig_put(out, cap, &o, "(request-target): ",
			    18) != 0)
				goto toolong;
			for (size_t k = 0; k < mn; k++) {
				char c = method[k];

				c = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
				if (httpsig_put(out, cap, &o, &c, 1) != 0)
					goto toolong;
			}
			if (httpsig_put(out, cap, &o, " ", 1) != 0 ||
			    httpsig_put(out, cap, &o, target, tn) != 0)
				goto toolong;
		} else if (strcmp(name, "request-line") == 0) {
			if (httpsig_put(out, cap, &o, method, mn) != 0 ||
			    httpsig_put(out, cap, &o, " ", 1) != 0 ||
			    httpsig_put(out, cap, &o, target, tn) != 0 ||
			    httpsig_put(out, cap, &o, " HTTP/1.1", 9) != 0)
				goto toolong;
		} else {
			struct httpsig_span v;

			if (name[0] == '(' || lookup(arg, name, l, &v) != 0) {
				snprintf(err, errlen, "the signed header %s is "
				    "not in the request (or is there twice)",
				    name);
				return (-1);
			}
			if (httpsig_put(out, cap, &o, name, l) != 0 ||
			    httpsig_put(out, cap, &o, ": ", 2) != 0 ||
			    httpsig_put(out, cap, &o, v.p, v.n) != 0)
				goto toolong;
		}
	}
	if (lines == 0) {
		snprintf(err, errlen, "no header is signed");
		return (-1);
	}
	return ((int)o);
toolong:
	snprintf(err, errlen, "the signing string is too long");
	return (-1);
}

int
httpsig_format(char *out, size_t cap, const char *keyid,
    const char *algorithm, const char *headers, const char *signature)
{
	int n;

	if (headers != NULL)
		n = snprintf(out, cap, "Signature keyId=\"%s\",algorithm=\"%s\","
		    "headers=\"%s\",signature=\"%s\"", keyid, algorithm,
		    headers, signature);
	else
		n = snprintf(out, cap, "Signature keyId=\"%s\",algorithm=\"%s\","
		    "signature=\"%s\"", keyid, algorithm, signature);
	return (n < 0 || (size_t)n >= cap ? -1 : n);
}

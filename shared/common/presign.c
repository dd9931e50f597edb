/*
 * presign.c: presigned URLs; see presign.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "presign.h"

int
presign_parse(const char *q, size_t n, struct presign *out, char *err,
    size_t errlen)
{
	size_t i = 0, used = 0;
	const char *expires = NULL;

	memset(out, 0, offsetof(struct presign, pq_buf));
	if (n >= PRESIGN_QUERY_MAX) {
		snprintf(err, errlen, "query string too long");
		return (PRESIGN_E_SYNTAX);
	}
	while (i < n) {
		size_t s = i, eq, e;
		struct presign_param *pp;
		int dn, dv;

		while (i < n && q[i] != '&')
			i++;
		e = i++;
		if (e == s)
			continue;		/* "a=1&&b=2" */
		for (eq = s; eq < e && q[eq] != '='; eq++)
			;
		if (out->pq_nparams == PRESIGN_PARAMS_MAX) {
			snprintf(err, errlen, "more than %d query parameters",
			    PRESIGN_PARAMS_MAX);
			return (PRESIGN_E_SYNTAX);
		}
		pp = &out->pq_params[out->pq_nparams];
		dn = b64_pct_decode(q + s, eq - s, out->pq_buf + used,
		    sizeof (out->pq_buf) - used);
		if (dn <= 0) {
			snprintf(err, errlen, "a bad query parameter name");
			return (PRESIGN_E_SYNTAX);
		}
		pp->pp_name = out->pq_buf + used;
		used += (size_t)dn + 1;
		dv = b64_pct_decode(q + (eq < e ? eq + 1 : e), eq < e ?
		    e - eq - 1 : 0, out->pq_buf + used,
		    sizeof (out->pq_buf) - used);
		if (dv < 0 || memchr(pp->pp_name, '\0', (size_t)dn) != NULL ||
		    memchr(out->pq_buf + used, '\0', (size_t)dv) != NULL) {
			snprintf(err, errlen, "a bad value for %s",
			    pp->pp_name);
			return (PRESIGN_E_SYNTAX);
		}
		pp->pp_value = out->pq_buf + used;
		used += (size_t)dv + 1;
		for (int k = 0; k < out->pq_nparams; k++) {
			if (strcmp(out->pq_params[k].pp_name, pp->pp_name) ==
			    0) {
				snprintf(err, errlen, "the query parameter %s is "
				    "given twice", pp->pp_name);
				return (PRESIGN_E_REPEATED);
			}
		}
		out->pq_nparams++;
		if (strcmp(pp->pp_name, "algorithm") == 0)
			out->pq_algorithm = pp->pp_value;
		else if (strcmp(pp->pp_name, "keyId") == 0)
			out->pq_keyid = pp->pp_value;
		else if (strcmp(pp->pp_name, "method") == 0)
			out->pq_method = pp->pp_value;
		else if (strcmp(pp->pp_name, "signature") == 0)
			out->pq_signature = pp->pp_value;
		else if (strcmp(pp->pp_name, "expires") == 0)
			expires = pp->pp_value;
	}
	if (out->pq_signature == NULL) {
		snprintf(err, errlen, "no signature");
		return (PRESIGN_E_NONE);
	}
	if (out->pq_algorithm == NULL || out->pq_keyid == NULL ||
	    expires == NULL || out->pq_signature[0] == '\0' ||
	    out->pq_algorithm[0] == '\0' || out->pq_keyid[0] == '\0') {
		snprintf(err, errlen, "a presigned URL needs algorithm, "
		    "expires, keyId and signature");
		return (PRESIGN_E_MISSING);
	}
	/* Methods: upper-case tokens, comma-separated ("GET,HEAD"). */
	if (out->pq_method != NULL && (out->pq_method[0] == '\0' ||
	    out->pq_method[strspn(out->pq_method,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ,")] != '\0')) {
		snprintf(err, errlen, "method must be methods such as GET,HEAD");
		return (PRESIGN_E_SYNTAX);
	}
	{
		char *end;
		long long v;

		errno = 0;
		v = strtoll(expires, &end, 10);
		if (errno != 0 || *end != '\0' || expires[0] < '0' ||
		    expires[0] > '9' || v < 0) {
			snprintf(err, errlen, "expires must be seconds since "
			    "the epoch");
			return (PRESIGN_E_EXPIRES);
		}
		out->pq_expires = (int64_t)v;
	}
	return (PRESIGN_OK);
}

/* As JavaScript's a.localeCompare(b) orders ASCII names: case second. */
static int
presign_cmp(const void *a, const void *b)
{
	const struct presign_param *x = *(const struct presign_param *const *)a;
	const struct presign_param *y = *(const struct presign_param *const *)b;
	int c = strcasecmp(x->pp_name, y->pp_name);

	return (c != 0 ? c : strcmp(x->pp_name, y->pp_name));
}

static int
presign_put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (*o + n >= cap)
		return (-1);
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return (0);
}

static int
presign_put_enc(char *out, size_t cap, size_t *o, const char *s)
{
	int n = b64_pct_encode(s, strlen(s), out + *o, cap - *o);

	if (n < 0)
		return (-1);
	*o += (size_t)n;
	return (0);
}

int
presign_string(const struct presign *p, const char *host, size_t hn,
    const char *path, size_t pn, char *out, size_t cap)
{
	const struct presign_param *sorted[PRESIGN_PARAMS_MAX];
	const char *m = p->pq_method != NULL ? p->pq_method : "GET";
	size_t o = 0;
	int ns = 0;

	if (cap == 0)
		return (-1);
	out[0] = '\0';
	for (int i = 0; i < p->pq_nparams; i++) {
		if (strcmp(p->pq_params[i].pp_name, "signature") != 0)
			sorted[ns++] = &p->pq_params[i];
	}
	qsort(sorted, (size_t)ns, sizeof (sorted[0]), presign_cmp);
	if (presign_put(out, cap, &o, m, strlen(m)) != 0 ||
	    presign_put(out, cap, &o, "\n", 1) != 0 ||
	    presign_put(out, cap, &o, host, hn) != 0 ||
	    presign_put(out, cap, &o, "\n", 1) != 0 ||
	    presign_put(out, cap, &o, path, pn) != 0 ||
	    presign_put(out, cap, &o, "\n", 1) != 0)
		return (-1);
	for (int i = 0; i < ns; i++) {
		if ((i > 0 && presign_put(out, cap, &o, "&", 1) != 0) ||
		    presign_put_enc(out, cap, &o, sorted[i]->pp_name) != 0 ||
		    presign_put(out, cap, &o, "=", 1) != 0 ||
		    presign_put_enc(out, cap, &o, sorted[i]->pp_value) != 0)
			return (-1);
	}
	return ((int)o);
}

int
presign_query(const char *algorithm, const char *keyid, int64_t expires,
    const char *methods, char *out, size_t cap)
{
	char alg[64], exp[32];
	size_t o = 0, al = strlen(algorithm);

	if (al >= sizeof (alg) || cap == 0)
		return (-1);
	for (size_t i = 0; i <= al; i++) {
		char c = algorithm[i];

		alg[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	snprintf(exp, sizeof (exp), "%lld", (long long)expires);
	/* Already in order: algorithm, expires, keyId, method. */
	if (presign_put(out, cap, &o, "algorithm=", 10) != 0 ||
	    presign_put_enc(out, cap, &o, alg) != 0 ||
	    presign_put(out, cap, &o, "&expires=", 9) != 0 ||
	    presign_put(out, cap, &o, exp, strlen(exp)) != 0 ||
	    presign_put(out, cap, &o, "&keyId=", 7) != 0 ||
	    presign_put_enc(out, cap, &o, keyid) != 0)
		return (-1);
	if (strchr(methods, ',') != NULL &&
	    (presign_put(out, cap, &o, "&method=", 8) != 0 ||
	    presign_put_enc(out, cap, &o, methods) != 0))
		return (-1);
	return ((int)o);
}

int
presign_mint_string(const char *methods, const char *host, const char *path,
    const char *query, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s\n%s\n%s\n%s", methods, host, path,
	    query);

	return (n < 0 || (size_t)n >= cap ? -1 : n);
}

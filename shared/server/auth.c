/*
 * auth.c: the credential check before an attach; see auth.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "b64.h"
#include "httpsig.h"
#include "presign.h"

static const struct {
	const char	*name;
	int		status;
} auth_codes[AUTH_NCODES] = {
	[AUTH_OK] = { "OK", 0 },
	[AUTH_MISSING] = { "MissingAuthorization", 401 },
	[AUTH_INVALID] = { "InvalidAuthorization", 401 },
	[AUTH_BAD_KEYID] = { "InvalidKeyId", 401 },
	[AUTH_NO_KEY] = { "KeyNotFound", 401 },
	[AUTH_BAD_ALGORITHM] = { "InvalidAlgorithm", 401 },
	[AUTH_BAD_SIGNATURE] = { "InvalidSignature", 401 },
	[AUTH_CLOCK_SKEW] = { "ClockSkew", 401 },
	[AUTH_EXPIRED] = { "RequestExpired", 401 },
	[AUTH_TOO_FAR] = { "ExpiryTooFar", 401 },
	[AUTH_OTHER_ACCOUNT] = { "AuthorizationFailed", 403 },
};

const char *
auth_code_name(int code)
{
	return (code >= 0 && code < AUTH_NCODES ? auth_codes[code].name :
	    "Unknown");
}

int
auth_code_status(int code)
{
	return (code >= 0 && code < AUTH_NCODES ? auth_codes[code].status :
	    500);
}

static int
auth_fail(struct auth_result *r, int code, const char *msg)
{
	r->ar_code = code;
	r->ar_status = auth_codes[code].status;
	r->ar_name = auth_codes[code].name;
	if (msg != NULL)
		snprintf(r->ar_message, sizeof (r->ar_message), "%s", msg);
	return (code);
}

int
auth_parse_date(const char *s, size_t n, int64_t *t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	int day = -1, mon = -1;
	time_t v;

	/* "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    s[25] != ' ' || memcmp(s + 26, "GMT", 3) != 0)
		return (-1);
	for (int i = 0; i < 7; i++)
		if (memcmp(s, days[i], 3) == 0)
			day = i;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, months[i], 3) == 0)
			mon = i;
	if (day < 0 || mon < 0)
		return (-1);
	{
		static const int digits[] = { 5, 6, 12, 13, 14, 15, 17, 18,
		    20, 21, 23, 24 };

		for (size_t i = 0; i < sizeof (digits) / sizeof (digits[0]);
		    i++)
			if (s[digits[i]] < '0' || s[digits[i]] > '9')
				return (-1);
	}
	memset(&tm, 0, sizeof (tm));
	tm.tm_mday = (s[5] - '0') * 10 + (s[6] - '0');
	tm.tm_mon = mon;
	tm.tm_year = (s[12] - '0') * 1000 + (s[13] - '0') * 100 +
	    (s[14] - '0') * 10 + (s[15] - '0') - 1900;
	tm.tm_hour = (s[17] - '0') * 10 + (s[18] - '0');
	tm.tm_min = (s[20] - '0') * 10 + (s[21] - '0');
	tm.tm_sec = (s[23] - '0') * 10 + (s[24] - '0');
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return (-1);
	v = timegm(&tm);
	/* timegm() normalizes 31 Feb into March: a date that is not one. */
	if (tm.tm_mon != mon || tm.tm_wday != day)
		return (-1);
	*t = (int64_t)v;
	return (0);
}

/* The only value of header name, or NULL (none, or more than one). */
static const struct httphead_span *
auth_header(const struct httphead *h, const char *name)
{
	return (httphead_count(h, name) == 1 ? httphead_get(h, name) : NULL);
}

static int
auth_lookup(void *arg, const char *name, size_t n,
    struct httpsig_span *value)
{
	const struct httphead *h = arg;
	const struct httphead_span *v;
	char nm[64];

	if (n >= sizeof (nm))
		return (-1);
	memcpy(nm, name, n);
	nm[n] = '\0';
	if ((v = auth_header(h, nm)) == NULL)
		return (-1);
	value->p = v->s_p;
	value->n = v->s_n;
	return (0);
}

/*
 * Verify sig64 (base64) over data with the key named by keyid, for
 * account[0..an).  The shared end of both forms.
 */
static int
auth_verify_key(const char *keyid, size_t kn, const char *alg, size_t algn,
    const char *sig64, size_t sign, const char *data, size_t dn,
    const char *account, size_t an, const struct keystore *ks,
    struct auth_result *r)
{
	struct httpsig_span ka, ku, kf;
	uint8_t sig[B64_DECLEN(HTTPSIG_VALUE_MAX)];
	const struct sshkey *k;
	const EVP_MD *md;
	int siglen, type, rv;

	if (httpsig_keyid(keyid, kn, &ka, &ku, &kf) != 0)
		return (auth_fail(r, AUTH_BAD_KEYID, "the keyId must be "
		    "/<account>/keys/<fingerprint>"));
	snprintf(r->ar_key_account, sizeof (r->ar_key_account), "%.*s",
	    (int)(ka.n > 64 ? 64 : ka.n), ka.p);
	snprintf(r->ar_fingerprint, sizeof (r->ar_fingerprint), "%.*s",
	    (int)(kf.n > 79 ? 79 : kf.n), kf.p);
	if (sshkey_alg(alg, algn, &type, &md) != SSHKEY_OK)
		return (auth_fail(r, AUTH_BAD_ALGORITHM, "the algorithm must "
		    "be rsa-, ecdsa-sha256/384/512 or ed25519"));
	if (ku.n > 0)
		return (auth_fail(r, AUTH_NO_KEY, "sub-user keys are not "
		    "served here"));
	if ((k = keystore_find(ks, ka.p, ka.n, kf.p, kf.n)) == NULL)
		return (auth_fail(r, AUTH_NO_KEY, "no such key"));
	snprintf(r->ar_fingerprint, sizeof (r->ar_fingerprint), "%s",
	    k->k_sha256);
	if ((siglen = b64_decode(sig64, sign, sig, sizeof (sig))) <= 0)
		return (auth_fail(r, AUTH_INVALID, "the signature is not "
		    "base64"));
	rv = sshkey_verify(k, alg, algn, (const uint8_t *)data, dn, sig,
	    (size_t)siglen);
	if (rv == SSHKEY_E_MISMATCH || rv == SSHKEY_E_ALG)
		return (auth_fail(r, AUTH_BAD_ALGORITHM, "the algorithm does "
		    "not match the key"));
	if (rv != SSHKEY_OK)
		return (auth_fail(r, AUTH_BAD_SIGNATURE, "the signature does "
		    "not verify"));
	if (ka.n != an || memcmp(ka.p, account, an) != 0)
		return (auth_fail(r, AUTH_OTHER_ACCOUNT, "the key is not of "
		    "the account in the path"));
	return (auth_fail(r, AUTH_OK, ""));
}

static int
auth_signed(const struct httphead *h, const struct httphead_span *authz,
    const char *account, size_t an, const struct keystore *ks,
    const struct auth_settings *s, struct auth_result *r)
{
	char err[160], data[8192];
	const struct httphead_span *date;
	struct httpsig hs;
	int64_t t;
	int dn;

	r->ar_form = "signature";
	if (httpsig_parse(authz->s_p, authz->s_n, &hs, err,
	    sizeof (err)) != HTTPSIG_OK)
		return (auth_fail(r, AUTH_INVALID, err));
	if (!httpsig_names(hs.hs_headers.p, hs.hs_headers.n, "date"))
		return (auth_fail(r, AUTH_INVALID, "the Date header must be "
		    "signed"));
	if ((date = auth_header(h, "Date")) == NULL ||
	    auth_parse_date(date->s_p, date->s_n, &t) != 0)
		return (auth_fail(r, AUTH_INVALID, "one Date header in "
		    "IMF-fixdate form (RFC 9110) is needed"));
	if (t > s->as_now + s->as_skew || t < s->as_now - s->as_skew)
		return (auth_fail(r, AUTH_CLOCK_SKEW, "the Date is too far "
		    "from the server's clock"));
	dn = httpsig_signing_string(hs.hs_headers.p, hs.hs_headers.n,
	    h->hh_method.s_p, h->hh_method.s_n, h->hh_target.s_p,
	    h->hh_target.s_n, auth_lookup, (void *)(uintptr_t)h, data,
	    sizeof (data), err, sizeof (err));
	if (dn < 0)
		return (auth_fail(r, AUTH_INVALID, err));
	return (auth_verify_key(hs.hs_keyid.p, hs.hs_keyid.n,
	    hs.hs_algorithm.p, hs.hs_algorithm.n, hs.hs_signature.p,
	    hs.hs_signature.n, data, (size_t)dn, account, an, ks, r));
}

/* Whether the comma-separated methods hold GET. */
static bool
auth_has_get(const char *m)
{
	for (const char *p = m; *p != '\0'; ) {
		size_t l = strcspn(p, ",");

		if (l == 3 && memcmp(p, "GET", 3) == 0)
			return (true);
		p += l;
		if (*p == ',')
			p++;
	}
	return (false);
}

static int
auth_presigned(const struct httphead *h, const char *path, size_t pn,
    const char *query, size_t qn, const char *account, size_t an,
    const struct keystore *ks, const struct auth_settings *s,
    struct auth_result *r)
{
	static struct presign pq;	/* 8 KiB: not on the stack */
	const struct httphead_span *host;
	char err[160], data[PRESIGN_QUERY_MAX + 1024];
	int dn, rv;

	r->ar_form = "presigned";
	rv = presign_parse(query, qn, &pq, err, sizeof (err));
	if (rv == PRESIGN_E_NONE)
		return (auth_fail(r, AUTH_MISSING, "a signed request or a "
		    "presigned URL is needed"));
	if (rv != PRESIGN_OK)
		return (auth_fail(r, AUTH_INVALID, err));
	if (s->as_now > pq.pq_expires)
		return (auth_fail(r, AUTH_EXPIRED, "the URL has expired"));
	if (pq.pq_expires - s->as_now > s->as_presign_max)
		return (auth_fail(r, AUTH_TOO_FAR, "the URL expires further "
		    "ahead than this server allows"));
	if (pq.pq_method != NULL && !auth_has_get(pq.pq_method))
		return (auth_fail(r, AUTH_BAD_SIGNATURE, "the URL is not "
		    "signed for GET"));
	if ((host = auth_header(h, "Host")) == NULL)
		return (auth_fail(r, AUTH_INVALID, "one Host header is "
		    "needed"));
	if ((dn = presign_string(&pq, host->s_p, host->s_n, path, pn, data,
	    sizeof (data))) < 0)
		return (auth_fail(r, AUTH_INVALID, "the URL is too long"));
	return (auth_verify_key(pq.pq_keyid, strlen(pq.pq_keyid),
	    pq.pq_algorithm, strlen(pq.pq_algorithm), pq.pq_signature,
	    strlen(pq.pq_signature), data, (size_t)dn, account, an, ks, r));
}

int
auth_check(const struct httphead *h, const char *account, size_t an,
    const struct keystore *ks, const struct auth_settings *s,
    struct auth_result *r)
{
	const char *t = h->hh_target.s_p, *q;
	size_t tn = h->hh_target.s_n;

	memset(r, 0, sizeof (*r));
	r->ar_form = "";
	/* The path of an absolute-form target: after "scheme://host". */
	if (tn > 0 && t[0] != '/') {
		const char *ss = memchr(t, ':', tn), *slash;

		if (ss == NULL || (size_t)(t + tn - ss) < 3 || ss[1] != '/' ||
		    ss[2] != '/' || (slash = memchr(ss + 3, '/',
		    (size_t)(t + tn - ss - 3))) == NULL)
			return (auth_fail(r, AUTH_INVALID, "bad target"));
		tn -= (size_t)(slash - t);
		t = slash;
	}
	if (httphead_count(h, "Authorization") > 1)
		return (auth_fail(r, AUTH_INVALID, "Authorization given "
		    "twice"));
	if (httphead_count(h, "Authorization") == 1)
		return (auth_signed(h, httphead_get(h, "Authorization"),
		    account, an, ks, s, r));
	if ((q = memchr(t, '?', tn)) != NULL)
		return (auth_presigned(h, t, (size_t)(q - t), q + 1,
		    (size_t)(t + tn - q - 1), account, an, ks, s, r));
	return (auth_fail(r, AUTH_MISSING, "a signed request or a presigned "
	    "URL is needed"));
}

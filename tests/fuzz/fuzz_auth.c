/*
 * fuzz_auth.c: libFuzzer harness for the credential parsers: the
 * Authorization header (shared/common/httpsig.c), the presigned URL's
 * query (shared/common/presign.c) and base64 (shared/common/b64.c).
 *
 * The first byte picks what the rest is fed to.  Checks beyond "no crash":
 *
 *   - an accepted Authorization has its keyId, algorithm, headers and
 *     signature spans inside the input (or "date" when headers was not
 *     given), none empty, none over HTTPSIG_VALUE_MAX; a keyId that parses
 *     splits into parts inside it; a signing string built from it fits
 *     its buffer and is NUL-terminated at its length;
 *   - an accepted query has algorithm, keyId, signature and expires >= 0,
 *     no two parameters with one name, and its signed string is built
 *     deterministically and NUL-terminated;
 *   - base64 that decodes re-encodes to the same text (the decoder is
 *     strict: one text per byte string).
 */
#include "b64.h"
#include "fuzzutil.h"
#include "httpsig.h"
#include "presign.h"

static int
lookup(void *arg, const char *name, size_t n, struct httpsig_span *v)
{
	(void) arg;
	if (n == 1 && name[0] == 'x')
		return (-1);
	v->p = name;		/* any value: the name itself */
	v->n = n;
	return (0);
}

static void
fuzz_authz(const char *s, size_t n)
{
	struct httpsig hs;
	struct httpsig_span a, u, f;
	char err[128], out[1024];
	int rv = httpsig_parse(s, n, &hs, err, sizeof (err)), m;

	if (rv != HTTPSIG_OK) {
		FUZZ_CHECK(rv < 0 && memchr(err, '\0', sizeof (err)) != NULL);
		return;
	}
	FUZZ_CHECK(fuzz_within(hs.hs_keyid.p, hs.hs_keyid.n, s, n));
	FUZZ_CHECK(fuzz_within(hs.hs_algorithm.p, hs.hs_algorithm.n, s, n));
	FUZZ_CHECK(fuzz_within(hs.hs_signature.p, hs.hs_signature.n, s, n));
	FUZZ_CHECK(fuzz_within(hs.hs_headers.p, hs.hs_headers.n, s, n) ||
	    (hs.hs_headers.n == 4 && memcmp(hs.hs_headers.p, "date", 4) == 0));
	FUZZ_CHECK(hs.hs_keyid.n > 0 && hs.hs_keyid.n <= HTTPSIG_VALUE_MAX);
	FUZZ_CHECK(hs.hs_signature.n > 0 && hs.hs_signature.n % 4 == 0);
	if (httpsig_keyid(hs.hs_keyid.p, hs.hs_keyid.n, &a, &u, &f) == 0) {
		FUZZ_CHECK(a.n > 0 && f.n > 0);
		FUZZ_CHECK(fuzz_within(a.p, a.n, hs.hs_keyid.p, hs.hs_keyid.n));
		FUZZ_CHECK(fuzz_within(f.p, f.n, hs.hs_keyid.p, hs.hs_keyid.n));
		FUZZ_CHECK(fuzz_within(u.p, u.n, hs.hs_keyid.p,
		    hs.hs_keyid.n));
	}
	m = httpsig_signing_string(hs.hs_headers.p, hs.hs_headers.n, "GET",
	    3, "/t", 2, lookup, NULL, out, sizeof (out), err, sizeof (err));
	if (m >= 0)
		FUZZ_CHECK((size_t)m < sizeof (out) && out[m] == '\0' &&
		    strlen(out) == (size_t)m);
}

static void
fuzz_query(const char *s, size_t n)
{
	static struct presign p;
	char err[128], out[PRESIGN_QUERY_MAX * 3 + 64], again[sizeof (out)];
	int rv = presign_parse(s, n, &p, err, sizeof (err)), m;

	if (rv != PRESIGN_OK)
		return;
	FUZZ_CHECK(p.pq_algorithm != NULL && p.pq_keyid != NULL &&
	    p.pq_signature != NULL && p.pq_expires >= 0);
	for (int i = 0; i < p.pq_nparams; i++)
		for (int j = i + 1; j < p.pq_nparams; j++)
			FUZZ_CHECK(strcmp(p.pq_params[i].pp_name,
			    p.pq_params[j].pp_name) != 0);
	m = presign_string(&p, "h:1", 3, "/p", 2, out, sizeof (out));
	/* The query line, after the methods, host and path, never signs the
	   signature. */
	FUZZ_CHECK(m > 0 && out[m] == '\0');
	{
		const char *q = strstr(out, "\n/p\n") + 4;

		FUZZ_CHECK(strncmp(q, "signature=", 10) != 0 &&
		    strstr(q, "&signature=") == NULL);
	}
	FUZZ_CHECK(p.pq_keyid[0] != '\0' && p.pq_algorithm[0] != '\0');
	FUZZ_CHECK(presign_string(&p, "h:1", 3, "/p", 2, again,
	    sizeof (again)) == m && memcmp(out, again, (size_t)m) == 0);
}

static void
fuzz_b64(const char *s, size_t n)
{
	uint8_t dec[4096];
	char enc[B64_ENCLEN(sizeof (dec)) + 1];
	int m = b64_decode(s, n, dec, sizeof (dec));

	if (m < 0)
		return;
	FUZZ_CHECK(b64_encode(dec, (size_t)m, enc, sizeof (enc)) == (int)n);
	FUZZ_CHECK(memcmp(enc, s, n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;

	if (size < 1)
		return (0);
	switch (data[0] % 3) {
	case 0:
		fuzz_authz(s, size - 1);
		break;
	case 1:
		fuzz_query(s, size - 1);
		break;
	default:
		fuzz_b64(s, size - 1);
		break;
	}
	return (0);
}

/*
 * presign.h: presigned URLs, as node-manta (smartdc-auth's signUrl, the
 * msign command, mlogin's agent configuration) makes them:
 *
 *	/acct/medusa/attach/ID/slave?algorithm=RSA-SHA256&expires=1796426136
 *	    &keyId=%2Facct%2Fkeys%2Faa%3A19...&signature=<base64, %-encoded>
 *
 * The signature is over "<METHODS>\n<host>\n<path>\n<query>": the signed
 * methods, sorted and comma-joined ("GET" unless a "method" parameter
 * names several, as msign's "GET,HEAD"); the host as the client dialed it
 * (its Host header); the path; and every query parameter but "signature",
 * sorted by name, each name and value percent-encoded as b64_pct_encode()
 * does, "name=value" joined by "&".
 *
 * Pure: no I/O, no allocation, no globals.
 */
#ifndef MEDUSA_PRESIGN_H
#define MEDUSA_PRESIGN_H

#include <stddef.h>
#include <stdint.h>

#define	PRESIGN_PARAMS_MAX	16
#define	PRESIGN_QUERY_MAX	8192

struct presign_param {
	const char	*pp_name;	/* decoded, NUL-terminated, in pq_buf */
	const char	*pp_value;
};

struct presign {
	struct presign_param pq_params[PRESIGN_PARAMS_MAX];
	int		pq_nparams;
	const char	*pq_algorithm;	/* these point at values above */
	const char	*pq_keyid;
	const char	*pq_method;	/* NULL: "GET" */
	const char	*pq_signature;	/* base64 (decoded from %-escapes) */
	int64_t		pq_expires;	/* seconds since the epoch */
	char		pq_buf[PRESIGN_QUERY_MAX];
};

enum presign_result {
	PRESIGN_OK = 0,
	PRESIGN_E_NONE = -1,	/* no signature parameter: not presigned */
	PRESIGN_E_SYNTAX = -2,	/* a bad escape, too many or too long */
	PRESIGN_E_REPEATED = -3,
	PRESIGN_E_MISSING = -4,	/* algorithm, expires or keyId */
	PRESIGN_E_EXPIRES = -5	/* expires is not a number */
};

/*
 * Parse a query string (without the "?").  A result of enum
 * presign_result; err says what is wrong.
 */
int presign_parse(const char *q, size_t n, struct presign *out, char *err,
    size_t errlen);

/*
 * The signed string of a parsed URL: methods (pq_method or "GET"), host,
 * path, and the canonical query.  Returns the length (out NUL-terminated),
 * or -1 if cap is too small.
 */
int presign_string(const struct presign *, const char *host, size_t hn,
    const char *path, size_t pn, char *out, size_t cap);

/*
 * Minting: the canonical query (without the signature) for a URL signed
 * with algorithm (upper-cased, as node-manta does) by keyid, expiring at
 * expires, for methods (sorted, comma-joined: a "method" parameter only
 * when there are several).  Returns the length, or -1.
 */
int presign_query(const char *algorithm, const char *keyid, int64_t expires,
    const char *methods, char *out, size_t cap);

/*
 * The signed string for minting: "<methods>\n<host>\n<path>\n<query>".
 * Returns the length, or -1.
 */
int presign_mint_string(const char *methods, const char *host,
    const char *path, const char *query, char *out, size_t cap);

#endif

/*
 * httpsig.h: HTTP Signatures (draft-cavage-http-signatures) as npm
 * http-signature writes and reads them, and as node-manta signs its
 * requests:
 *
 *	Authorization: Signature keyId="/acct/keys/aa:bb:...",
 *	    algorithm="rsa-sha256",headers="date",signature="<base64>"
 *
 * Pure: no I/O, no allocation, no globals.  Spans point into the caller's
 * buffer.
 *
 * httpsig_parse() takes the whole header value: the scheme "Signature"
 * (any case), then name="value" pairs separated by commas (blanks around
 * them allowed).  Refused: another scheme, a pair without a quoted value,
 * a backslash or control character in a value, a repeated name, a missing
 * keyId, algorithm or signature, a value over HTTPSIG_VALUE_MAX bytes, a
 * signature that is not base64.  Unknown names (created, expires, opaque,
 * ...) are allowed and not used.  headers defaults to "date".
 */
#ifndef MEDUSA_HTTPSIG_H
#define MEDUSA_HTTPSIG_H

#include <stddef.h>

#define	HTTPSIG_VALUE_MAX	4096
#define	HTTPSIG_LINES_MAX	16	/* headers named in one signature */

struct httpsig_span {
	const char	*p;
	size_t		n;
};

struct httpsig {
	struct httpsig_span	hs_keyid;
	struct httpsig_span	hs_algorithm;
	struct httpsig_span	hs_headers;	/* "date" if not given */
	struct httpsig_span	hs_signature;	/* base64, checked */
};

enum httpsig_result {
	HTTPSIG_OK = 0,
	HTTPSIG_E_SCHEME = -1,	/* not "Signature ..." */
	HTTPSIG_E_SYNTAX = -2,	/* unquoted, bad characters, bad base64 */
	HTTPSIG_E_REPEATED = -3,
	HTTPSIG_E_MISSING = -4,	/* keyId, algorithm or signature */
	HTTPSIG_E_TOO_LONG = -5
};

/* Parse an Authorization value.  A result of enum httpsig_result. */
int httpsig_parse(const char *v, size_t n, struct httpsig *out, char *err,
    size_t errlen);

/*
 * A keyId: "/<account>/keys/<fingerprint>" or, for a sub-user,
 * "/<account>/<user>/keys/<fingerprint>" (user empty otherwise).  Spans
 * into keyid.  0, or -1 if it has neither form or a part is empty.
 */
int httpsig_keyid(const char *keyid, size_t n, struct httpsig_span *account,
    struct httpsig_span *user, struct httpsig_span *fingerprint);

/*
 * Where the signing string gets a header's value: the value of the header
 * named name[0..n) (lower case), or -1 if the request has none (or more
 * than one: which one was signed would be a guess).
 */
typedef int httpsig_lookup_f(void *arg, const char *name, size_t n,
    struct httpsig_span *value);

/*
 * Build the signing string for the space-separated header names
 * headers[0..hn) into out[cap] (NUL-terminated): lines "name: value"
 * joined by "\n", names lower-cased; "(request-target)" is "<method in
 * lower case> <target>", "request-line" (an older draft's) is "<METHOD>
 * <target> HTTP/1.1".  Returns the length, or -1 with err (a header the
 * request lacks, too many names, too long).
 */
int httpsig_signing_string(const char *headers, size_t hn,
    const char *method, size_t mn, const char *target, size_t tn,
    httpsig_lookup_f *lookup, void *arg, char *out, size_t cap, char *err,
    size_t errlen);

/*
 * Whether the space-separated list headers[0..hn) names name (case
 * ignored).  1 or 0.
 */
int httpsig_names(const char *headers, size_t hn, const char *name);

/*
 * Write an Authorization value: Signature keyId="...",algorithm="...",
 * headers="...",signature="..." (headers left out when NULL).  Returns the
 * length (out NUL-terminated), or -1 if cap is too small.
 */
int httpsig_format(char *out, size_t cap, const char *keyid,
    const char *algorithm, const char *headers, const char *signature);

#endif

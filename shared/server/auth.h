/*
 * auth.h: may this request attach to a session of this account?  The
 * rule (the original's, which Manta's web tier enforced): only with a
 * credential of the account named in the path.  Two credential forms,
 * either for either role:
 *
 *	a signed request	Authorization: Signature ... over at least
 *				the Date header (httpsig.h), which must be
 *				within the allowed clock skew of now
 *	a presigned URL		the query's algorithm, expires, keyId,
 *				signature (presign.h), expiring in the
 *				future but not too far
 *
 * With both, the Authorization header is the one checked.  Pure apart
 * from the public-key arithmetic (no I/O, no logging).
 *
 * Refusals (status, code): the table in auth.c, auth_codes[]:
 *
 *	401 MissingAuthorization  no credential at all
 *	401 InvalidAuthorization  a malformed Authorization header or
 *				  presigned query (missing, repeated or
 *				  unquoted parameters, bad base64, too long,
 *				  a Date that is not signed or not a date)
 *	401 InvalidKeyId          a keyId of neither /acct/keys/fp form
 *	401 KeyNotFound           no such key for the keyId's account
 *	401 InvalidAlgorithm      unknown or refused (sha1, hmac, dsa), or
 *				  not the key's type
 *	401 InvalidSignature      the signature does not verify (anything
 *				  signed was changed: path, host, query,
 *				  role, date)
 *	401 ClockSkew             Date too far from the reflector's clock
 *	401 RequestExpired        a presigned URL past its expiry
 *	401 ExpiryTooFar          a presigned URL valid further ahead than
 *				  allowed
 *	403 AuthorizationFailed   a valid credential of another account
 */
#ifndef MEDUSA_AUTH_H
#define MEDUSA_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "httphead.h"
#include "keystore.h"

enum auth_code {
	AUTH_OK = 0,
	AUTH_MISSING,
	AUTH_INVALID,
	AUTH_BAD_KEYID,
	AUTH_NO_KEY,
	AUTH_BAD_ALGORITHM,
	AUTH_BAD_SIGNATURE,
	AUTH_CLOCK_SKEW,
	AUTH_EXPIRED,
	AUTH_TOO_FAR,
	AUTH_OTHER_ACCOUNT,
	AUTH_NCODES
};

struct auth_settings {
	int64_t		as_now;		/* seconds since the epoch */
	int64_t		as_skew;	/* max |Date - now|, s */
	int64_t		as_presign_max;	/* max expires - now, s */
};

struct auth_result {
	int		ar_code;	/* enum auth_code */
	int		ar_status;	/* 0, 401 or 403 */
	const char	*ar_name;	/* "KeyNotFound", ... */
	const char	*ar_form;	/* "signature", "presigned", "" */
	char		ar_message[160];
	/* For the log line (never the signature or the query): */
	char		ar_key_account[65];
	char		ar_fingerprint[80];
};

/*
 * Check the request h (method, target, headers) for a credential of
 * account[0..an).  Returns ar_code (AUTH_OK or a refusal), with res
 * filled either way.
 */
int auth_check(const struct httphead *h, const char *account, size_t an,
    const struct keystore *ks, const struct auth_settings *s,
    struct auth_result *res);

/* The code's name ("ClockSkew") and HTTP status. */
const char *auth_code_name(int code);
int auth_code_status(int code);

/*
 * Parse an IMF-fixdate (RFC 9110 section 5.6.7: "Sun, 06 Nov 1994
 * 08:49:37 GMT", as JavaScript's toUTCString() writes it).  0 with *t
 * (seconds since the epoch), or -1.
 */
int auth_parse_date(const char *s, size_t n, int64_t *t);

#endif

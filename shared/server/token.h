/*
 * token.h: resume tokens.  At linkup the reflector hands each side that
 * can resume a token bound to the account, the session id and the side's
 * role, valid until an expiry; a side that comes back after its
 * connection was lost shows it (X-Medusa-Resume-Token) as proof that it
 * is the same party, and may then take the place of a connection of its
 * role that the reflector still believes alive.
 *
 *	token = "1." <expiry, decimal seconds since the epoch> "."
 *	        <base64url, unpadded, of HMAC-SHA256(secret,
 *	         "medusa-resume\0" account "\0" id "\0" role "\0" expiry)>
 *
 * Any worker of any reflector host that has the deployment's secret
 * (config "secret_file") can check a token: nothing about the session
 * needs to be remembered.  Pure but for the HMAC.
 */
#ifndef MEDUSA_TOKEN_H
#define MEDUSA_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define	TOKEN_MAX		80	/* with its NUL */
#define	TOKEN_SECRET_MIN	16
#define	TOKEN_SECRET_MAX	256

enum token_result {
	TOKEN_OK = 0,
	TOKEN_BAD = -1,		/* malformed, or not for this session/role */
	TOKEN_EXPIRED = -2
};

/*
 * Make the token of (account, id, role) valid until expires.  Returns its
 * length (out NUL-terminated, cap >= TOKEN_MAX), or -1.
 */
int token_make(const uint8_t *secret, size_t sn, const char *account,
    const char *id, size_t idn, int role, int64_t expires, char *out,
    size_t cap);

/* Check tok[0..n) for (account, id, role) at now.  A token_result. */
int token_check(const uint8_t *secret, size_t sn, const char *account,
    const char *id, size_t idn, int role, int64_t now, const char *tok,
    size_t n);

#endif

/*
 * token.c: resume tokens; see token.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "token.h"

/* The MAC of the token's fields, base64url without padding, into out. */
static int
token_mac(const uint8_t *secret, size_t sn, const char *account,
    const char *id, size_t idn, int role, int64_t expires, char *out,
    size_t cap)
{
	uint8_t md[EVP_MAX_MD_SIZE], msg[1024];
	unsigned int mdlen = 0;
	char exp[24], b64[64];
	size_t an = strlen(account), o = 0, el;
	int n;

	el = (size_t)snprintf(exp, sizeof (exp), "%lld", (long long)expires);
	if (14 + an + 1 + idn + 1 + 1 + 1 + el > sizeof (msg))
		return (-1);
	memcpy(msg, "medusa-resume", 14);	/* with its NUL */
	o = 14;
	memcpy(msg + o, account, an + 1);
	o += an + 1;
	memcpy(msg + o, id, idn);
	o += idn;
	msg[o++] = '\0';
	msg[o++] = (uint8_t)('0' + role);
	msg[o++] = '\0';
	memcpy(msg + o, exp, el);
	o += el;
	if (HMAC(EVP_sha256(), secret, (int)sn, msg, o, md, &mdlen) == NULL)
		return (-1);
	if ((n = b64_encode(md, mdlen, b64, sizeof (b64))) < 0)
		return (-1);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	if ((size_t)n >= cap)
		return (-1);
	for (int i = 0; i < n; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[n] = '\0';
	return (n);
}

int
token_make(const uint8_t *secret, size_t sn, const char *account,
    const char *id, size_t idn, int role, int64_t expires, char *out,
    size_t cap)
{
	char mac[64];
	int n;

	if (token_mac(secret, sn, account, id, idn, role, expires, mac,
	    sizeof (mac)) < 0)
		return (-1);
	n = snprintf(out, cap, "1.%lld.%s", (long long)expires, mac);
	return (n < 0 || (size_t)n >= cap ? -1 : n);
}

int
token_check(const uint8_t *secret, size_t sn, const char *account,
    const char *id, size_t idn, int role, int64_t now, const char *tok,
    size_t n)
{
	char mac[64], exp[24];
	const char *dot;
	size_t el, ml;
	long long expires = 0;

	if (n < 4 || n >= TOKEN_MAX || tok[0] != '1' || tok[1] != '.')
		return (TOKEN_BAD);
	if ((dot = memchr(tok + 2, '.', n - 2)) == NULL)
		return (TOKEN_BAD);
	el = (size_t)(dot - (tok + 2));
	if (el == 0 || el >= sizeof (exp))
		return (TOKEN_BAD);
	for (size_t i = 0; i < el; i++) {
		if (tok[2 + i] < '0' || tok[2 + i] > '9')
			return (TOKEN_BAD);
		expires = expires * 10 + (tok[2 + i] - '0');
		if (expires > 1LL << 40)
			return (TOKEN_BAD);
	}
	if ((size_t)token_mac(secret, sn, account, id, idn, role,
	    (int64_t)expires, mac, sizeof (mac)) != (ml = n - el - 3) ||
	    CRYPTO_memcmp(mac, dot + 1, ml) != 0)
		return (TOKEN_BAD);
	if ((int64_t)expires < now)
		return (TOKEN_EXPIRED);
	return (TOKEN_OK);
}

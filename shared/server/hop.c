/*
 * hop.c: the X-Medusa-Hop header between reflector hosts.  See hop.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hop.h"

#define	HOP_PROBES	64	/* hop_seen: slots looked at per nonce */

static int
hop_hexfield(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (-1);
	}
	return (0);
}

static int
hop_peerfield(const char *s, size_t n)
{
	if (n == 0 || n >= HOP_PEER_MAX)
		return (-1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] > '~')
			return (-1);
	}
	return (0);
}

/* The mac of the fields, 64 hex digits and a NUL, into out[65]. */
static int
hop_mac(const uint8_t *secret, size_t sn, const char *method,
    const char *path, int64_t ts, const char *nonce, const char *peer,
    char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char msg[4096];
	int n;

	n = snprintf(msg, sizeof (msg), "medusa-hop%c1%c%s%c%s%c%lld%c%s%c%s",
	    0, 0, method, 0, path, 0, (long long)ts, 0, nonce, 0, peer);
	if (n < 0 || (size_t)n >= sizeof (msg))
		return (-1);
	if (HMAC(EVP_sha256(), secret, (int)sn, (const uint8_t *)msg,
	    (size_t)n, md, &mdlen) == NULL || mdlen != 32)
		return (-1);
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
	return (0);
}

int
hop_make(const uint8_t *secret, size_t sn, const char *method,
    const char *path, int64_t ts, const char *nonce, const char *peer,
    char *out, size_t cap)
{
	char mac[65];
	int n;

	if (ts < 0 || strlen(nonce) != HOP_NONCE_LEN ||
	    hop_hexfield(nonce, HOP_NONCE_LEN) != 0 ||
	    hop_peerfield(peer, strlen(peer)) != 0 ||
	    hop_mac(secret, sn, method, path, ts, nonce, peer, mac) != 0)
		return (-1);
	n = snprintf(out, cap, "1 %lld %s %s %s", (long long)ts, nonce, peer,
	    mac);
	return (n < 0 || (size_t)n >= cap ? -1 : n);
}

int
hop_check(const uint8_t *secret, size_t sn, const char *method,
    const char *path, const char *v, size_t n, int64_t now, int64_t window,
    struct hop_info *info)
{
	const char *f[5], *end = v + n;
	size_t fl[5];
	char mac[65];
	long long ts = 0;
	int nf = 0;

	memset(info, 0, sizeof (*info));
	/* Five fields, one space between each, nothing around them. */
	for (const char *p = v; p <= end && nf < 5; nf++) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));

		f[nf] = p;
		fl[nf] = (size_t)((sp != NULL ? sp : end) - p);
		if (fl[nf] == 0)
			return (HOP_BAD);
		if (sp == NULL) {
			nf++;
			break;
		}
		p = sp + 1;
	}
	if (nf != 5 || f[4] + fl[4] != end)
		return (HOP_BAD);
	if (fl[0] != 1 || f[0][0] != '1')
		return (HOP_BAD);
	if (fl[1] > 18 || (fl[1] > 1 && f[1][0] == '0'))
		return (HOP_BAD);
	for (size_t i = 0; i < fl[1]; i++) {
		if (f[1][i] < '0' || f[1][i] > '9')
			return (HOP_BAD);
		ts = ts * 10 + (f[1][i] - '0');
	}
	if (fl[2] != HOP_NONCE_LEN || hop_hexfield(f[2], fl[2]) != 0 ||
	    hop_peerfield(f[3], fl[3]) != 0 || fl[4] != 64)
		return (HOP_BAD);
	info->hi_ts = ts;
	memcpy(info->hi_nonce, f[2], HOP_NONCE_LEN);
	info->hi_nonce[HOP_NONCE_LEN] = '\0';
	memcpy(info->hi_peer, f[3], fl[3]);
	info->hi_peer[fl[3]] = '\0';
	if (hop_mac(secret, sn, method, path, ts, info->hi_nonce,
	    info->hi_peer, mac) != 0 || CRYPTO_memcmp(mac, f[4], 64) != 0) {
		memset(info, 0, sizeof (*info));
		return (HOP_BAD);
	}
	if (ts < now - window || ts > now + window)
		return (HOP_STALE);
	return (HOP_OK);
}

struct hop_slot {
	char	hs_nonce[HOP_NONCE_LEN];
	int64_t	hs_ts;			/* 0: empty */
};

struct hop_seen {
	struct hop_slot	*hs_slots;
	size_t		hs_cap;
};

struct hop_seen *
hop_seen_new(size_t cap)
{
	struct hop_seen *s;

	if (cap < HOP_PROBES || (s = calloc(1, sizeof (*s))) == NULL)
		return (NULL);
	if ((s->hs_slots = calloc(cap, sizeof (*s->hs_slots))) == NULL) {
		free(s);
		return (NULL);
	}
	s->hs_cap = cap;
	return (s);
}

void
hop_seen_free(struct hop_seen *s)
{
	if (s == NULL)
		return;
	free(s->hs_slots);
	free(s);
}

/*
 * Open addressing over at most HOP_PROBES slots from the nonce's home (the
 * nonce is random: its first 16 hex digits are the hash).  A slot whose
 * entry left the window is free again; an insertion always lands within
 * the probes, so a lookup never needs to look further.
 */
int
hop_seen_add(struct hop_seen *s, const char *nonce, int64_t ts, int64_t now,
    int64_t window)
{
	uint64_t h = 0;
	struct hop_slot *free_slot = NULL;

	for (int i = 0; i < 16; i++) {
		char c = nonce[i];

		h = h << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	for (size_t i = 0; i < HOP_PROBES; i++) {
		struct hop_slot *sl = &s->hs_slots[(h + i) % s->hs_cap];
		int live = sl->hs_ts != 0 && sl->hs_ts >= now - window;

		if (live && memcmp(sl->hs_nonce, nonce, HOP_NONCE_LEN) == 0)
			return (HOP_REPLAY);
		if (!live && free_slot == NULL)
			free_slot = sl;
	}
	if (free_slot == NULL)
		return (HOP_FULL);
	memcpy(free_slot->hs_nonce, nonce, HOP_NONCE_LEN);
	/* Kept until its ts leaves the window (at least 1: 0 is empty). */
	free_slot->hs_ts = ts > 0 ? ts : 1;
	return (HOP_OK);
}

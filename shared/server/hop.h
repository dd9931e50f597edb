/*
 * hop.h: the hop between reflector hosts (issue 16).  A worker that gets
 * an attach for a session another host owns checks the credential there,
 * then dials the owner's advertise address and sends the request head as
 * received with one more header line:
 *
 *	X-Medusa-Hop: 1 <ts> <nonce> <peer> <mac>
 *
 *	ts	decimal seconds since the epoch, when the hop was made
 *	nonce	32 lowercase hex digits (128 random bits)
 *	peer	the original client's address as the first host saw it
 *		(no spaces; logged by the owner as the connection's peer)
 *	mac	64 lowercase hex digits: HMAC-SHA256(secret,
 *		"medusa-hop\0" "1\0" method "\0" path "\0" ts "\0" nonce
 *		"\0" peer) with the deployment's secret (config
 *		"secret_file", shared by the hosts)
 *
 * The owner believes the hop (skips the credential check, never forwards
 * it again) only when the mac is right, ts is within the window of now,
 * and the nonce was not seen within the window (hop_seen).  Nothing about
 * the address it came from counts.  hop_make and hop_check are pure but
 * for the HMAC; hop_seen is a bounded table, O(1) per check.
 */
#ifndef MEDUSA_HOP_H
#define MEDUSA_HOP_H

#include <stddef.h>
#include <stdint.h>

#define	HOP_HEADER	"X-Medusa-Hop"
#define	HOP_NONCE_LEN	32
#define	HOP_PEER_MAX	64		/* with its NUL */
#define	HOP_VALUE_MAX	(2 + 21 + HOP_NONCE_LEN + 1 + HOP_PEER_MAX + 64 + 4)

enum hop_result {
	HOP_OK = 0,
	HOP_BAD = -1,		/* malformed, or the mac is wrong */
	HOP_STALE = -2,		/* ts out of the window */
	HOP_REPLAY = -3,	/* the nonce was seen within the window */
	HOP_FULL = -4		/* hop_seen has no room (refuse: 503) */
};

struct hop_info {
	int64_t	hi_ts;
	char	hi_nonce[HOP_NONCE_LEN + 1];
	char	hi_peer[HOP_PEER_MAX];
};

/*
 * The header's value (without the name) for (method, path, ts, nonce,
 * peer), into out.  Its length, or -1 (a field too long or malformed).
 */
int hop_make(const uint8_t *secret, size_t sn, const char *method,
    const char *path, int64_t ts, const char *nonce, const char *peer,
    char *out, size_t cap);

/*
 * Check the value v[0..n) for (method, path) at now, ts within +-window
 * seconds.  A hop_result; on HOP_OK (and HOP_STALE) info is filled.
 */
int hop_check(const uint8_t *secret, size_t sn, const char *method,
    const char *path, const char *v, size_t n, int64_t now, int64_t window,
    struct hop_info *info);

/* Nonces seen within the window: a table of bounded size. */
struct hop_seen;

struct hop_seen *hop_seen_new(size_t cap);
void hop_seen_free(struct hop_seen *);
/*
 * Remember nonce (seen at ts) unless it is already there and ts' of it is
 * within window of now.  HOP_OK, HOP_REPLAY, or HOP_FULL.
 */
int hop_seen_add(struct hop_seen *, const char *nonce, int64_t ts,
    int64_t now, int64_t window);

#endif

/*
 * whop.c: the owner's side of the hop between reflector hosts (issue 16;
 * hop.h).  An attach that carries X-Medusa-Hop was forwarded by another
 * host of the deployment after that host checked its credential.  It is
 * believed only when hop_check() accepts it with the deployment's secret
 * (mac, time window) and its nonce was not seen within the window: then
 * the credential check is skipped and the attach is never forwarded
 * again.  Anything else is refused before the upgrade: 403 with a JSON
 * body (503 when the table of nonces is full), one rate-limited line, and
 * a count.  Only the header's presence decides: an attach without it is
 * an ordinary one, checked as ever.
 */
#include <stdlib.h>
#include <string.h>

#include "hop.h"
#include "httphead.h"
#include "mlog.h"
#include "netutil.h"
#include "worker.h"

#define	WHOP_WINDOW	30		/* s, either side of now */
#define	WHOP_NONCES	65536		/* nonces held within the window */
#define	WHOP_PATH_MAX	4096

static struct {
	struct hop_seen	*wh_seen;
	struct mlog_limit wh_lim;
	uint64_t	wh_in;		/* hops believed */
	uint64_t	wh_refused;
} wh;

/* After wresume_configure(): the secret is the deployment's, from there. */
void
whop_configure(const struct proto_config *m)
{
	(void) m;
	if (wh.wh_seen == NULL && (wh.wh_seen = hop_seen_new(WHOP_NONCES)) ==
	    NULL) {
		mlog(MLOG_FATAL, "cannot allocate the hop nonce table", "");
		exit(1);
	}
}

/*
 * 0: no hop header; 1: a hop believed (skip the credential check, do not
 * forward); -1: refused, and c is answered.
 */
int
whop_check(struct conn *c, const struct httphead *h)
{
	const struct httphead_span *v = httphead_get(h, HOP_HEADER);
	char method[16], path[WHOP_PATH_MAX];
	struct hop_info info;
	int64_t now = (int64_t)(netutil_now_ms() / 1000);
	const uint8_t *secret;
	size_t sn;
	int rv;

	secret = wresume_secret(&sn);
	if (v == NULL)
		return (0);
	if (h->hh_method.s_n >= sizeof (method) ||
	    h->hh_target.s_n >= sizeof (path) || sn == 0 ||
	    httphead_count(h, HOP_HEADER) != 1) {
		rv = HOP_BAD;
	} else {
		memcpy(method, h->hh_method.s_p, h->hh_method.s_n);
		method[h->hh_method.s_n] = '\0';
		memcpy(path, h->hh_target.s_p, h->hh_target.s_n);
		path[h->hh_target.s_n] = '\0';
		rv = hop_check(secret, sn, method, path,
		    v->s_p, v->s_n, now, WHOP_WINDOW, &info);
		if (rv == HOP_OK)
			rv = hop_seen_add(wh.wh_seen, info.hi_nonce,
			    info.hi_ts, now, WHOP_WINDOW);
	}
	if (rv == HOP_OK) {
		wh.wh_in++;
		mlog(MLOG_DEBUG, "forwarded attach accepted", "req_id=%s "
		    "peer=%s origin_peer=%s", conn_reqid(c), conn_peer(c),
		    info.hi_peer);
		return (1);
	}
	wh.wh_refused++;
	{
		unsigned long skipped;
		static const char *why[] = { "ok", "bad", "stale", "replayed",
		    "nonce table full" };

		if (mlog_allow(&wh.wh_lim, &skipped))
			mlog(MLOG_WARN, "forwarded attach refused", "req_id=%s "
			    "peer=%s reason=\"%s\" times_since_last_line=%lu",
			    conn_reqid(c), conn_peer(c), why[-rv], skipped);
	}
	if (rv == HOP_FULL)
		conn_http_error(c, 503, "ServiceUnavailable",
		    "too many forwarded attaches", "Retry-After: 1\r\n");
	else
		conn_http_error(c, 403, "Forbidden",
		    "forwarded attach refused", NULL);
	return (-1);
}

void
whop_counts(uint64_t *in, uint64_t *refused)
{
	*in = wh.wh_in;
	*refused = wh.wh_refused;
}

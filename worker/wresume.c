/*
 * wresume.c: the reflector's part in sessions that survive (docs/
 * PROTOCOL.md, "Resuming").  The ends hold what a session cannot lose:
 * mlogin and the agent number what they send, keep what the other has not
 * acknowledged, and replay it after a lost connection.  The reflector only
 * has to let a side come back:
 *
 *  - A side announces that it can resume with "X-Medusa-Resume: 1".  At a
 *    linkup where both sides did, each gets a token (token.h) in its
 *    linkup: proof, later, that it is the same party; and the link's id,
 *    random and new at every linkup (session.c session_new_link), which
 *    each end names in its resume: an end takes only the resume of its
 *    latest link (shared/client/resume.h).
 *  - A side that comes back shows its token ("X-Medusa-Resume-Token"),
 *    with a credential of the account as any attach.  The token must be
 *    for this account, session and role, unexpired; then the side may take
 *    the place of a connection of its role that the reflector still
 *    believes alive (the old one is closed), and a session this worker has
 *    never seen (it crashed, or this is another host) is made afresh.
 *  - Refusals: 403 InvalidResumeToken, 403 ResumeTokenExpired, and 410
 *    SessionEnded when this worker remembers the session ended for good
 *    (a bounded list of tombstones, gone with the worker: then the pairing
 *    time-out answers instead).
 *
 * session.c decides what a lost connection means for a resumable session
 * (it waits for the side to come back, bounded by the pairing time-out).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "httphead.h"
#include "mlog.h"
#include "route.h"
#include "shard.h"
#include "token.h"
#include "worker.h"

#define	WRESUME_TOMBSTONES	4096
#define	WRESUME_HEADER		"X-Medusa-Resume"
#define	WRESUME_TOKEN_HEADER	"X-Medusa-Resume-Token"

struct tombstone {
	uint32_t	t_hash;
	int64_t		t_until;
	char		t_key[ROUTE_ACCOUNT_MAX + 1 + ROUTE_ID_MAX + 1];
};

static struct wresume {
	uint8_t		wr_secret[TOKEN_SECRET_MAX];
	size_t		wr_secretlen;
	int64_t		wr_ttl;		/* s, a token's life */
	/* Sessions that ended for good, oldest overwritten first. */
	struct tombstone wr_stones[WRESUME_TOMBSTONES];
	unsigned	wr_next;
	struct mlog_limit wr_lim;
} wr;

void
wresume_configure(const struct proto_config *m)
{
	size_t n = m->pc_secret.ps_n;

	if (n > sizeof (wr.wr_secret))
		n = sizeof (wr.wr_secret);
	memcpy(wr.wr_secret, m->pc_secret.ps_p, n);
	wr.wr_secretlen = n;
	wr.wr_ttl = (int64_t)(m->pc_token_ttl_ms / 1000);
	if (wr.wr_ttl < 1)
		wr.wr_ttl = 1;
}

/* The deployment's secret (also the hop's: whop.c). */
const uint8_t *
wresume_secret(size_t *n)
{
	*n = wr.wr_secretlen;
	return (wr.wr_secret);
}

/* "<account>/<id>" or "<id>": the account ("" for none) and the id. */
static void
wresume_split(const char *key, size_t keylen, char *acct, size_t acap,
    const char **id, size_t *idn)
{
	const char *slash = memchr(key, '/', keylen);
	size_t an = slash != NULL ? (size_t)(slash - key) : 0;

	if (an >= acap)
		an = acap - 1;
	memcpy(acct, key, an);
	acct[an] = '\0';
	*id = slash != NULL ? slash + 1 : key;
	*idn = keylen - (size_t)(*id - key);
}

int
wresume_token(const char *key, size_t keylen, int role, char *out,
    size_t cap)
{
	char acct[ROUTE_ACCOUNT_MAX + 1];
	const char *id;
	size_t idn;

	wresume_split(key, keylen, acct, sizeof (acct), &id, &idn);
	return (token_make(wr.wr_secret, wr.wr_secretlen, acct, id, idn, role,
	    (int64_t)time(NULL) + wr.wr_ttl, out, cap) < 0 ? -1 : 0);
}

void
wresume_tombstone(const char *key, size_t keylen)
{
	struct tombstone *t = &wr.wr_stones[wr.wr_next++ %
	    WRESUME_TOMBSTONES];

	if (keylen >= sizeof (t->t_key))
		return;
	memcpy(t->t_key, key, keylen);
	t->t_key[keylen] = '\0';
	t->t_hash = shard_hash(key, keylen);
	t->t_until = (int64_t)time(NULL) + wr.wr_ttl;
}

static bool
wresume_ended(const char *key, size_t keylen)
{
	uint32_t h = shard_hash(key, keylen);
	int64_t now = (int64_t)time(NULL);

	for (unsigned i = 0; i < WRESUME_TOMBSTONES; i++) {
		const struct tombstone *t = &wr.wr_stones[i];

		if (t->t_hash == h && t->t_until >= now &&
		    strlen(t->t_key) == keylen &&
		    memcmp(t->t_key, key, keylen) == 0)
			return (true);
	}
	return (false);
}

int
wresume_attach(struct conn *c, const struct httphead *h, const char *key,
    size_t keylen, int role, bool *replace)
{
	const struct httphead_span *v = httphead_get(h, WRESUME_HEADER);
	const struct httphead_span *tok;
	char acct[ROUTE_ACCOUNT_MAX + 1];
	const char *id, *code, *msg;
	unsigned long skipped;
	size_t idn;
	int rv, status;

	*replace = false;
	conn_set_resumes(c, v != NULL && v->s_n == 1 && v->s_p[0] == '1');
	if ((tok = httphead_get(h, WRESUME_TOKEN_HEADER)) == NULL)
		return (0);
	wresume_split(key, keylen, acct, sizeof (acct), &id, &idn);
	rv = token_check(wr.wr_secret, wr.wr_secretlen, acct, id, idn, role,
	    (int64_t)time(NULL), tok->s_p, tok->s_n);
	if (rv == TOKEN_OK && !wresume_ended(key, keylen)) {
		*replace = true;
		wmetrics_count(PROTO_EVC_RESUMED, 1);
		return (0);
	}
	wmetrics_count(rv == TOKEN_OK ? PROTO_EVC_RESUME_ENDED :
	    rv == TOKEN_EXPIRED ? PROTO_EVC_RESUME_EXPIRED :
	    PROTO_EVC_RESUME_INVALID, 1);
	if (rv == TOKEN_OK) {
		status = 410;
		code = "SessionEnded";
		msg = "the session has ended; it cannot be resumed";
	} else {
		status = 403;
		code = rv == TOKEN_EXPIRED ? "ResumeTokenExpired" :
		    "InvalidResumeToken";
		msg = rv == TOKEN_EXPIRED ? "the resume token has expired" :
		    "the resume token is not for this session and role";
	}
	if (mlog_allow(&wr.wr_lim, &skipped))
		mlog(MLOG_INFO, "resume refused", "req_id=%s peer=%s "
		    "session=%.*s role=%s status=%d code=%s "
		    "times_since_last_line=%lu", conn_reqid(c), conn_peer(c),
		    (int)keylen, key, route_role_name(role), status, code,
		    skipped);
	conn_http_refuse(c, status, code, msg, NULL);
	return (-1);
}

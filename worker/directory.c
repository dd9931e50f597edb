/*
 * directory.c: the session directory's client.  See directory.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>
#include <openssl/rand.h>

#include "config.h"
#include "directory.h"
#include "mlog.h"

#define	DIR_BACKOFF_MIN	0.1
#define	DIR_BACKOFF_MAX	5.0
#define	DIR_INFLIGHT_MAX 4096	/* requests waiting for Redis */
#define	DIR_REFRESH_MAX	(DIR_INFLIGHT_MAX * 3 / 4)	/* of them refreshes */
/*
 * Releases waiting for room in the backlog: sessions that end together (a
 * shutdown, a load generator gone) release their claims in a burst; those
 * past the backlog wait here rather than lapse in the TTL.  One per
 * session at most; past this bound they lapse.
 */
#define	DIR_WAIT_MAX	(1u << 16)	/* about 40 MB of requests at most */
#define	DIR_RECLAIMS	2	/* a claim's key gone before its GET: again */

/* Compare scripts: act only while the value is still ours. */
static const char dir_script_refresh[] =
    "if redis.call('get',KEYS[1])==ARGV[1] then "
    "return redis.call('pexpire',KEYS[1],ARGV[2]) else return 0 end";
static const char dir_script_release[] =
    "if redis.call('get',KEYS[1])==ARGV[1] then "
    "return redis.call('del',KEYS[1]) else return 0 end";
/* A stale claim of this host (ARGV[2]: "<advertise> ") is taken over. */
static const char dir_script_takeover[] =
    "local v=redis.call('get',KEYS[1]) "
    "if v==false or string.sub(v,1,string.len(ARGV[2]))==ARGV[2] then "
    "return redis.call('set',KEYS[1],ARGV[1],'PX',ARGV[3]) "
    "else return 0 end";

enum dir_op { DOP_CLAIM, DOP_GET, DOP_REFRESH, DOP_RELEASE, DOP_TAKEOVER };

struct dir_req {
	enum dir_op	dr_op;
	dir_cb_t	*dr_cb;
	void		*dr_arg;
	int		dr_done;	/* answered (or timed out) */
	int		dr_claim;	/* a claim (its GET may take over) */
	int		dr_reclaims;	/* times claimed again (DIR_RECLAIMS) */
	ev_timer	dr_timer;
	struct dir_req	*dr_next;	/* waiting for room (releases) */
	char		dr_key[512];
};

static struct {
	struct ev_loop		*d_loop;
	int			d_on;
	struct config_redis	d_url;
	char			d_advertise[CONFIG_HOSTPORT_MAX];
	long long		d_ttl_ms;
	redisAsyncContext	*d_ac;
	int			d_up;		/* connected (and authed) */
	double			d_backoff;
	ev_timer		d_retry;
	unsigned		d_inflight;
	struct dir_req		*d_wait;	/* releases waiting for room */
	struct dir_req		**d_wait_tail;
	unsigned		d_nwait;
	struct mlog_limit	d_warn;
	struct dir_counters	d_ct;
} dir;

static void dir_connect(void);
static void dir_issue(struct dir_req *);
static void dir_pump_waiting(void);
static void dir_drop_waiting(void);

static void
dir_answer(struct dir_req *r, int result, const char *addr)
{
	if (r->dr_done)
		return;
	r->dr_done = 1;
	ev_timer_stop(dir.d_loop, &r->dr_timer);
	if (result == DIR_DOWN)
		dir.d_ct.dc_errors++;
	if (r->dr_cb != NULL)
		r->dr_cb(r->dr_arg, result, addr != NULL ? addr : "");
}

static void
dir_outage(const char *why)
{
	unsigned long skipped;

	if (mlog_allow(&dir.d_warn, &skipped))
		mlog(MLOG_WARN, "session directory unreachable; serving "
		    "sessions locally", "error=\"%s\" errors=%llu skipped=%lu",
		    why, (unsigned long long)dir.d_ct.dc_errors, skipped);
}

static void
dir_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dir_req *r = w->data;

	(void) loop;
	(void) revents;
	dir.d_ct.dc_timeouts++;
	dir_outage("time-out");
	/* The late reply (or the disconnect) frees r. */
	dir_answer(r, DIR_DOWN, NULL);
}

/* The owner's address out of "<addr> <fence>". */
static void
dir_owner(const redisReply *rep, char *addr, size_t cap)
{
	const char *sp;
	size_t n;

	addr[0] = '\0';
	if (rep == NULL || rep->type != REDIS_REPLY_STRING)
		return;
	sp = memchr(rep->str, ' ', rep->len);
	n = sp != NULL ? (size_t)(sp - rep->str) : rep->len;
	if (n < cap) {
		memcpy(addr, rep->str, n);
		addr[n] = '\0';
	}
}

static void
dir_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct dir_req *r = priv;
	redisReply *rep = reply;
	char addr[CONFIG_HOSTPORT_MAX];

	(void) ac;
	dir.d_inflight--;
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		dir_outage(rep != NULL ? "error reply" : "disconnected");
		dir_answer(r, DIR_DOWN, NULL);
		free(r);
		return;
	}
	/*
	 * A claim (or takeover) that Redis granted after its time-out: the
	 * session was told "down" and does not hold it, so nothing would
	 * refresh or release it; an orphan until its TTL.  Released now
	 * (compare-and-delete: only while it is still this fence's).
	 */
	if (r->dr_done && rep->type == REDIS_REPLY_STATUS &&
	    (r->dr_op == DOP_CLAIM || r->dr_op == DOP_TAKEOVER)) {
		mlog(MLOG_DEBUG, "a claim granted after its time-out; "
		    "releasing it", "key=%s", r->dr_key);
		r->dr_op = DOP_RELEASE;
		dir_issue(r);
		return;
	}
	switch (r->dr_op) {
	case DOP_CLAIM:
		if (rep->type == REDIS_REPLY_STATUS) {
			dir_answer(r, DIR_OWNER, NULL);
			break;
		}
		/* Taken: whose is it?  The same request goes on. */
		if (!r->dr_done) {
			r->dr_claim = 1;
			r->dr_op = DOP_GET;
			dir_issue(r);
			return;
		}
		break;
	case DOP_GET:
		dir_owner(rep, addr, sizeof (addr));
		if (addr[0] == '\0' && r->dr_claim && !r->dr_done &&
		    r->dr_reclaims < DIR_RECLAIMS) {
			/*
			 * Taken when we claimed, gone when we asked whose:
			 * released meanwhile (by its owner, or by us: an
			 * earlier claim of this session granted late).
			 */
			r->dr_reclaims++;
			r->dr_op = DOP_CLAIM;
			dir_issue(r);
			return;
		} else if (addr[0] == '\0')
			dir_answer(r, DIR_NONE, NULL);
		else if (strcmp(addr, dir.d_advertise) == 0 &&
		    r->dr_claim && !r->dr_done) {
			/* Ours but not this session's: a stale claim. */
			r->dr_op = DOP_TAKEOVER;
			dir_issue(r);
			return;
		} else if (strcmp(addr, dir.d_advertise) == 0)
			dir_answer(r, DIR_OWNER, NULL);
		else
			dir_answer(r, DIR_OTHER, addr);
		break;
	case DOP_TAKEOVER:
		if (rep->type == REDIS_REPLY_STATUS) {
			dir.d_ct.dc_takeovers++;
			dir_answer(r, DIR_OWNER, NULL);
		} else {
			dir_answer(r, DIR_NONE, NULL);	/* lost a race */
		}
		break;
	case DOP_REFRESH:
	case DOP_RELEASE:
		dir_answer(r, rep->type == REDIS_REPLY_INTEGER &&
		    rep->integer == 1 ? DIR_OWNER : DIR_NONE, NULL);
		break;
	}
	free(r);
}

/* A reply (NULL: the connection is gone); then room for a waiting release. */
static void
dir_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	dir_reply(ac, reply, priv);
	if (dir.d_ac != NULL && dir.d_up)
		dir_pump_waiting();
}

static void
dir_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void) loop;
	(void) w;
	(void) revents;
	dir_connect();
}

static void
dir_schedule_retry(void)
{
	double j;

	/* Jitter: 50..100% of the back-off, so hosts do not retry in step. */
	j = dir.d_backoff * (0.5 + 0.5 * ((double)random() / RAND_MAX));
	ev_timer_stop(dir.d_loop, &dir.d_retry);
	ev_timer_set(&dir.d_retry, j, 0);
	ev_timer_start(dir.d_loop, &dir.d_retry);
	dir.d_backoff *= 2;
	if (dir.d_backoff > DIR_BACKOFF_MAX)
		dir.d_backoff = DIR_BACKOFF_MAX;
}

static void
dir_connect_cb(const redisAsyncContext *ac, int status)
{
	(void) ac;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		dir.d_ac = NULL;
		dir.d_up = 0;
		dir_outage("connect failed");
		dir_schedule_retry();
		return;
	}
	dir.d_up = 1;
	dir.d_backoff = DIR_BACKOFF_MIN;
	dir.d_ct.dc_connects++;
	mlog(MLOG_INFO, "session directory connected", "host=\"%s\" port=%d",
	    dir.d_url.cr_host, dir.d_url.cr_port);
}

static void
dir_disconnect_cb(const redisAsyncContext *ac, int status)
{
	(void) ac;
	(void) status;
	dir.d_ac = NULL;
	dir.d_up = 0;
	dir_drop_waiting();
	if (dir.d_on) {
		dir_outage("disconnected");
		dir_schedule_retry();
	}
}

static void
dir_connect(void)
{
	redisAsyncContext *ac;

	ac = redisAsyncConnect(dir.d_url.cr_host, dir.d_url.cr_port);
	if (ac == NULL || ac->err != 0) {
		dir_outage(ac != NULL ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		dir_schedule_retry();
		return;
	}
	(void) redisLibevAttach(dir.d_loop, ac);
	(void) redisAsyncSetConnectCallback(ac, dir_connect_cb);
	(void) redisAsyncSetDisconnectCallback(ac, dir_disconnect_cb);
	dir.d_ac = ac;
	/* Queued now, sent once connected, answered in order. */
	if (dir.d_url.cr_password[0] != '\0')
		(void) redisAsyncCommand(ac, NULL, NULL, "AUTH %s",
		    dir.d_url.cr_password);
	if (dir.d_url.cr_db != 0)
		(void) redisAsyncCommand(ac, NULL, NULL, "SELECT %d",
		    dir.d_url.cr_db);
}

static void
dir_issue(struct dir_req *r)
{
	char val[DIR_VALUE_MAX];
	int rv = REDIS_ERR;

	if (dir.d_ac != NULL && dir.d_up && r->dr_op == DOP_RELEASE &&
	    dir.d_inflight >= DIR_INFLIGHT_MAX && !r->dr_done &&
	    dir.d_nwait < DIR_WAIT_MAX) {
		/* Its time-out runs from when it is sent. */
		ev_timer_stop(dir.d_loop, &r->dr_timer);
		r->dr_next = NULL;
		*dir.d_wait_tail = r;
		dir.d_wait_tail = &r->dr_next;
		dir.d_nwait++;
		return;
	}
	if (dir.d_ac == NULL || !dir.d_up ||
	    dir.d_inflight >= DIR_INFLIGHT_MAX) {
		dir_outage(dir.d_ac == NULL ? "not connected" : "backlog");
		dir_answer(r, DIR_DOWN, NULL);
		free(r);
		return;
	}
	switch (r->dr_op) {
	case DOP_CLAIM:
		/* dr_key holds "key\0fence". */
		snprintf(val, sizeof (val), "%s %s", dir.d_advertise,
		    r->dr_key + strlen(r->dr_key) + 1);
		rv = redisAsyncCommand(dir.d_ac, dir_reply_cb, r,
		    "SET %s %s NX PX %lld", r->dr_key, val, dir.d_ttl_ms);
		break;
	case DOP_GET:
		rv = redisAsyncCommand(dir.d_ac, dir_reply_cb, r, "GET %s",
		    r->dr_key);
		break;
	case DOP_REFRESH:
		snprintf(val, sizeof (val), "%s %s", dir.d_advertise,
		    r->dr_key + strlen(r->dr_key) + 1);
		rv = redisAsyncCommand(dir.d_ac, dir_reply_cb, r,
		    "EVAL %s 1 %s %s %lld", dir_script_refresh, r->dr_key, val,
		    dir.d_ttl_ms);
		break;
	case DOP_TAKEOVER: {
		char mine[CONFIG_HOSTPORT_MAX + 2];

		snprintf(val, sizeof (val), "%s %s", dir.d_advertise,
		    r->dr_key + strlen(r->dr_key) + 1);
		snprintf(mine, sizeof (mine), "%s ", dir.d_advertise);
		rv = redisAsyncCommand(dir.d_ac, dir_reply_cb, r,
		    "EVAL %s 1 %s %s %s %lld", dir_script_takeover, r->dr_key,
		    val, mine, dir.d_ttl_ms);
		break;
	}
	case DOP_RELEASE:
		snprintf(val, sizeof (val), "%s %s", dir.d_advertise,
		    r->dr_key + strlen(r->dr_key) + 1);
		rv = redisAsyncCommand(dir.d_ac, dir_reply_cb, r,
		    "EVAL %s 1 %s %s", dir_script_release, r->dr_key, val);
		break;
	}
	if (rv != REDIS_OK) {
		dir_answer(r, DIR_DOWN, NULL);
		free(r);
		return;
	}
	dir.d_inflight++;
}

/* Send waiting releases while the backlog has room. */
static void
dir_pump_waiting(void)
{
	struct dir_req *r;

	while ((r = dir.d_wait) != NULL && dir.d_inflight < DIR_INFLIGHT_MAX) {
		dir.d_wait = r->dr_next;
		if (dir.d_wait == NULL)
			dir.d_wait_tail = &dir.d_wait;
		dir.d_nwait--;
		ev_timer_set(&r->dr_timer, DIR_TIMEOUT, 0);
		ev_timer_start(dir.d_loop, &r->dr_timer);
		dir_issue(r);
	}
}

/* The connection is gone: waiting releases cannot be sent (they lapse). */
static void
dir_drop_waiting(void)
{
	struct dir_req *r;

	while ((r = dir.d_wait) != NULL) {
		dir.d_wait = r->dr_next;
		dir_answer(r, DIR_DOWN, NULL);
		free(r);
	}
	dir.d_wait_tail = &dir.d_wait;
	dir.d_nwait = 0;
}

static void
dir_start(enum dir_op op, const char *key, const char *fence, dir_cb_t *cb,
    void *arg)
{
	struct dir_req *r;
	size_t kn = strlen(key), fn = fence != NULL ? strlen(fence) : 0;

	if ((r = calloc(1, sizeof (*r))) == NULL || !dir.d_on ||
	    kn + 1 + fn + 1 > sizeof (r->dr_key)) {
		free(r);
		dir.d_ct.dc_errors++;
		if (cb != NULL)
			cb(arg, DIR_DOWN, "");
		return;
	}
	r->dr_op = op;
	r->dr_cb = cb;
	r->dr_arg = arg;
	memcpy(r->dr_key, key, kn + 1);
	if (fence != NULL)
		memcpy(r->dr_key + kn + 1, fence, fn + 1);
	ev_timer_init(&r->dr_timer, dir_timeout_cb, DIR_TIMEOUT, 0);
	r->dr_timer.data = r;
	ev_timer_start(dir.d_loop, &r->dr_timer);
	dir.d_ct.dc_requests++;
	dir_issue(r);
}

int
dir_init(struct ev_loop *loop, const char *url, const char *advertise,
    double ttl)
{
	char err[128];

	memset(&dir, 0, sizeof (dir));
	dir.d_loop = loop;
	if (url == NULL || url[0] == '\0')
		return (0);
	if (config_redis_url(url, &dir.d_url, err, sizeof (err)) != 0)
		return (-1);
	snprintf(dir.d_advertise, sizeof (dir.d_advertise), "%s", advertise);
	dir.d_ttl_ms = (long long)(ttl * 1000);
	dir.d_backoff = DIR_BACKOFF_MIN;
	dir.d_wait_tail = &dir.d_wait;
	ev_timer_init(&dir.d_retry, dir_retry_cb, 0, 0);
	dir.d_on = 1;
	dir_connect();
	return (0);
}

void
dir_fini(void)
{
	if (!dir.d_on)
		return;
	dir.d_on = 0;
	ev_timer_stop(dir.d_loop, &dir.d_retry);
	dir_drop_waiting();
	/* Pending callbacks hear DIR_DOWN (a NULL reply) and free theirs. */
	if (dir.d_ac != NULL)
		redisAsyncFree(dir.d_ac);
	dir.d_ac = NULL;
}

int
dir_enabled(void)
{
	return (dir.d_on);
}

int
dir_busy(void)
{
	return (dir.d_on && dir.d_ac != NULL && dir.d_up &&
	    (dir.d_inflight > 0 || dir.d_nwait > 0));
}

void
dir_fence(char *fence)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[DIR_FENCE_LEN / 2];

	if (RAND_bytes(b, sizeof (b)) != 1) {
		for (size_t i = 0; i < sizeof (b); i++)
			b[i] = (uint8_t)random();
	}
	for (size_t i = 0; i < sizeof (b); i++) {
		fence[2 * i] = hex[b[i] >> 4];
		fence[2 * i + 1] = hex[b[i] & 0xf];
	}
	fence[DIR_FENCE_LEN] = '\0';
}

void
dir_claim(const char *key, const char *fence, dir_cb_t *cb, void *arg)
{
	dir_start(DOP_CLAIM, key, fence, cb, arg);
}

void
dir_refresh(const char *key, const char *fence, dir_cb_t *cb, void *arg)
{
	dir_start(DOP_REFRESH, key, fence, cb, arg);
}

unsigned
dir_refresh_room(void)
{
	if (!dir.d_on || dir.d_ac == NULL || !dir.d_up ||
	    dir.d_inflight >= DIR_REFRESH_MAX)
		return (0);
	return (DIR_REFRESH_MAX - dir.d_inflight);
}

void
dir_release(const char *key, const char *fence, dir_cb_t *cb, void *arg)
{
	dir_start(DOP_RELEASE, key, fence, cb, arg);
}

void
dir_lookup(const char *key, dir_cb_t *cb, void *arg)
{
	dir_start(DOP_GET, key, NULL, cb, arg);
}

const struct dir_counters *
dir_counters(void)
{
	return (&dir.d_ct);
}

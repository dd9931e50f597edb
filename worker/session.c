/*
 * session.c: the worker's session table, pairing, relaying and session
 * timers.  See the big theory statement in worker/main.c.
 *
 * A session is in the hash table (keyed by its lowercased id) while it is
 * waiting or forwarding; when it ends it leaves the table at once, so the
 * id is free for a new session, and lingers in the "closing" state until
 * both of its connections have finished their close handshakes.
 *
 * Each session has one timer, set to its next deadline: the pairing
 * time-out and the next "wait" pulse while waiting, the idle time-out while
 * forwarding.  A relayed message only records the time; the timer finds
 * out at expiry whether the session really was idle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "directory.h"
#include "mlog.h"
#include "netutil.h"
#include "route.h"
#include "shard.h"
#include "token.h"
#include "worker.h"
#include "wsframe.h"

#define	MSG_WAIT	"medusa:{\"type\":\"wait\"}"
#define	MSG_LINKUP	"medusa:{\"type\":\"linkup\"}"
#define	MSG_DETACHED	"medusa:{\"type\":\"detached\"}"

struct session {
	char		*s_id;
	size_t		s_idlen;
	int		s_state;	/* proto.h SSTATE_* */
	struct conn	*s_master;
	struct conn	*s_slave;
	uint64_t	s_create_ms;	/* wall clock, for /status */
	ev_tstamp	s_created;	/* monotonic */
	ev_tstamp	s_last_activity;
	ev_tstamp	s_next_wait;	/* next "wait" pulse */
	ev_timer	s_timer;	/* pairing, wait pulse or idle deadline */
	uint64_t	s_bytes;
	uint64_t	s_msgs;
	uint64_t	s_bytes_s2m;	/* of s_bytes, slave to master */
	/*
	 * Each side's last address and key fingerprint ("": none checked),
	 * for the audit line (session_end()).
	 */
	char		s_peer[2][64];	/* master, slave */
	char		s_fp[2][80];
	bool		s_linked;	/* linked up once (counted) */
	bool		s_resumable;	/* both sides can resume (at linkup) */
	char		s_link[17];	/* this linkup's id: 16 hex, random */
	bool		s_freed;	/* on the reaper's list */
	bool		s_nomove;	/* a handoff could not move it */
	bool		s_claimed;	/* the directory says it is ours */
	char		s_fence[DIR_FENCE_LEN + 1];	/* "": no claim */
	struct session	*s_hnext;	/* hash chain (waiting, forwarding) */
	struct session	*s_next;	/* all sessions */
	struct session	*s_prev;
};

/*
 * This file's state: every session of the worker, in the table while it
 * waits or forwards and on one of three lists, and the counts REPORT
 * sends.
 */
static struct sessions {
	struct ev_loop	*ss_loop;
	const struct wconf *ss_conf;	/* main.c's, from CONFIG */
	struct session	**ss_table;	/* hash of waiting/forwarding */
	size_t		ss_tsize;	/* buckets, a power of two */
	size_t		ss_tcount;
	struct session	*ss_list;	/* all sessions, closing included */
	struct session	*ss_moving;	/* held while a successor takes them */
	struct session	*ss_dead;	/* ended, to free (the reaper) */
	struct session	*ss_walk;	/* the status walk's next, on ss_list */
	uint64_t	ss_nstate[SSTATE_MAX];
	ev_timer	ss_refresh;	/* directory claims' refresh tick */
	struct session	*ss_rnext;	/* the refresh round's next, on ss_list */
	unsigned	ss_rticks;	/* ticks into this round */
	char		ss_next_fence[DIR_FENCE_LEN + 1];	/* claimed */
	struct session_dir_counters ss_dir;
} ss;

static void session_note_peer(struct session *, const struct conn *);
static void session_timer_cb(EV_P_ ev_timer *, int);
static void session_claim(struct session *);
static void session_unclaim(struct session *);
static void session_end(struct session *, struct conn *from, int evc,
    uint16_t code, const uint8_t *reason, size_t reasonlen);

/* --- table ------------------------------------------------------------ */

/*
 * The sessions of one worker all share a shard (hash mod nshards), so the
 * low bits of shard_hash() are alike here: mix them before taking buckets.
 */
static size_t
session_bucket(const char *id, size_t n)
{
	uint32_t h = shard_hash(id, n);

	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return (h & (ss.ss_tsize - 1));
}

void
session_init(struct ev_loop *loop, const struct wconf *conf)
{
	ss.ss_loop = loop;
	ss.ss_conf = conf;
	ss.ss_tsize = 1024;
	ss.ss_table = calloc(ss.ss_tsize, sizeof (struct session *));
	if (ss.ss_table == NULL) {
		mlog(MLOG_FATAL, "cannot allocate the session table", "");
		exit(1);
	}
}

static void
session_table_grow(void)
{
	size_t nsize = ss.ss_tsize * 2;
	struct session **nt, **ot = ss.ss_table;
	size_t osize = ss.ss_tsize;

	if ((nt = calloc(nsize, sizeof (struct session *))) == NULL)
		return;		/* longer chains, still correct */
	ss.ss_table = nt;
	ss.ss_tsize = nsize;
	for (size_t i = 0; i < osize; i++) {
		struct session *s, *next;

		for (s = ot[i]; s != NULL; s = next) {
			size_t b = session_bucket(s->s_id, s->s_idlen);

			next = s->s_hnext;
			s->s_hnext = nt[b];
			nt[b] = s;
		}
	}
	free(ot);
}

struct session *
session_find(const char *id, size_t idlen)
{
	struct session *s;

	for (s = ss.ss_table[session_bucket(id, idlen)]; s != NULL;
	    s = s->s_hnext) {
		if (s->s_idlen == idlen && memcmp(s->s_id, id, idlen) == 0)
			return (s);
	}
	return (NULL);
}

static void
session_table_remove(struct session *s)
{
	struct session **pp = &ss.ss_table[session_bucket(s->s_id, s->s_idlen)];

	for (; *pp != NULL; pp = &(*pp)->s_hnext) {
		if (*pp == s) {
			*pp = s->s_hnext;
			s->s_hnext = NULL;
			ss.ss_tcount--;
			return;
		}
	}
}

/* Sessions in the table: waiting or forwarding. */
size_t
session_count(void)
{
	return (ss.ss_tcount);
}

/* Sessions here, closing included (not those held for a move). */
size_t
session_count_all(void)
{
	size_t n = 0;

	for (struct session *s = ss.ss_list; s != NULL; s = s->s_next)
		n++;
	return (n);
}

bool
session_any(void)
{
	return (ss.ss_list != NULL);
}

/* What REPORT says of the sessions. */
void
session_counts(struct proto_report *r)
{
	for (int i = 0; i < PROTO_REPORT_STATES; i++)
		r->prp_sessions[i] = ss.ss_nstate[i];
	if (dir_enabled()) {
		const struct dir_counters *d = dir_counters();

		r->prp_dir[PROTO_DIRC_REQUESTS] = d->dc_requests;
		r->prp_dir[PROTO_DIRC_ERRORS] = d->dc_errors;
		r->prp_dir[PROTO_DIRC_TIMEOUTS] = d->dc_timeouts;
		r->prp_dir[PROTO_DIRC_CONNECTS] = d->dc_connects;
		r->prp_dir[PROTO_DIRC_TAKEOVERS] = d->dc_takeovers;
	}
	r->prp_dir[PROTO_DIRC_CLAIMS] = ss.ss_dir.sdc_claims;
	r->prp_dir[PROTO_DIRC_CLAIMS_OTHER] = ss.ss_dir.sdc_other;
	r->prp_dir[PROTO_DIRC_REFRESHES] = ss.ss_dir.sdc_refreshes;
	r->prp_dir[PROTO_DIRC_RELEASES] = ss.ss_dir.sdc_releases;
	whop_counts(&r->prp_dir[PROTO_DIRC_HOPS_IN],
	    &r->prp_dir[PROTO_DIRC_HOP_REFUSED]);
	forward_counts(&r->prp_dir[PROTO_DIRC_FWD_OUT],
	    &r->prp_dir[PROTO_DIRC_FWD_FAILED]);
}

const char *
session_id(const struct session *s)
{
	return (s->s_id);
}

/* Take s off a list (ss_list or ss_moving); the status walk skips it. */
static void
session_list_remove(struct session **head, struct session *s)
{
	if (ss.ss_walk == s)
		ss.ss_walk = s->s_next;
	if (ss.ss_rnext == s)
		ss.ss_rnext = s->s_next;
	if (s->s_prev != NULL)
		s->s_prev->s_next = s->s_next;
	else
		*head = s->s_next;
	if (s->s_next != NULL)
		s->s_next->s_prev = s->s_prev;
	s->s_next = s->s_prev = NULL;
}

static void
session_list_add(struct session **head, struct session *s)
{
	s->s_prev = NULL;
	s->s_next = *head;
	if (*head != NULL)
		(*head)->s_prev = s;
	*head = s;
}

static void
session_set_state(struct session *s, int state)
{
	ss.ss_nstate[s->s_state]--;
	s->s_state = state;
	ss.ss_nstate[s->s_state]++;
}

static struct session *
session_new(const char *id, size_t idlen, int state)
{
	struct session *s;
	size_t b;

	if ((s = calloc(1, sizeof (*s))) == NULL)
		return (NULL);
	if ((s->s_id = malloc(idlen + 1)) == NULL) {
		free(s);
		return (NULL);
	}
	memcpy(s->s_id, id, idlen);
	s->s_id[idlen] = '\0';
	s->s_idlen = idlen;
	s->s_state = state;
	ss.ss_nstate[state]++;
	s->s_create_ms = netutil_now_ms();
	s->s_created = s->s_last_activity = ev_now(ss.ss_loop);
	ev_init(&s->s_timer, session_timer_cb);
	s->s_timer.data = s;

	if (ss.ss_tcount >= ss.ss_tsize)
		session_table_grow();
	b = session_bucket(id, idlen);
	s->s_hnext = ss.ss_table[b];
	ss.ss_table[b] = s;
	ss.ss_tcount++;
	session_list_add(&ss.ss_list, s);
	session_claim(s);
	return (s);
}

/*
 * A session is over: out of the table and the list now, its memory freed
 * by the reaper, so a caller further up still holding it reads valid
 * memory (and s_freed tells it the session is gone).
 */
static void
session_free(struct session *s)
{
	if (s->s_freed)
		return;
	s->s_freed = true;
	ev_timer_stop(ss.ss_loop, &s->s_timer);
	if (s->s_state != SSTATE_CLOSING) {
		session_table_remove(s);
		session_unclaim(s);
	}
	ss.ss_nstate[s->s_state]--;
	session_list_remove(&ss.ss_list, s);
	s->s_next = ss.ss_dead;
	ss.ss_dead = s;
}

void
session_reap(void)
{
	struct session *s;

	while ((s = ss.ss_dead) != NULL) {
		ss.ss_dead = s->s_next;
		free(s->s_id);
		free(s);
	}
}

/* --- directory claims -------------------------------------------------- */

/*
 * With a session directory (directory.h), a session's first side here
 * claims it for this host: the claim's key is "medusa:s:<account>/<id>"
 * (account "" for a bare id), lowercased, and its fence is the session's
 * own, so only this session can refresh or release it.  The answer comes
 * later: the claim carries the session's id and fence (a ticket), not the
 * session, which may be gone by then; a claim won for a session that is
 * gone (or that started again under another fence) is released at once.
 * A claim of another host (the two sides of the session reached two
 * hosts) is counted; until forwarding exists the session is served here.
 * Directory down: counted (directory.c), the session is served here.
 * Claims are refreshed every claim_ttl/3 while their session lives and
 * released at its end (compare-and-delete), so a dead host's lapse.
 */
struct session_ticket {
	char	st_fence[DIR_FENCE_LEN + 1];
	size_t	st_idlen;
	char	st_id[];
};

void
session_dir_key(char *key, size_t cap, const char *id, size_t idlen)
{
	size_t n;

	n = (size_t)snprintf(key, cap, "medusa:s:%s%.*s",
	    memchr(id, '/', idlen) != NULL ? "" : "/", (int)idlen, id);
	for (size_t i = 0; i < n && i < cap; i++) {
		if (key[i] >= 'A' && key[i] <= 'Z')
			key[i] = (char)(key[i] - 'A' + 'a');
	}
}

static void
session_claimed_cb(void *arg, int result, const char *addr)
{
	struct session_ticket *t = arg;
	struct session *s = session_find(t->st_id, t->st_idlen);
	bool live = s != NULL && strcmp(s->s_fence, t->st_fence) == 0;
	char key[ROUTE_ID_MAX + 64];

	switch (result) {
	case DIR_OWNER:
		ss.ss_dir.sdc_claims++;
		if (live) {
			s->s_claimed = true;
		} else {
			session_dir_key(key, sizeof (key), t->st_id,
			    t->st_idlen);
			dir_release(key, t->st_fence, NULL, NULL);
		}
		break;
	case DIR_OTHER:
		ss.ss_dir.sdc_other++;
		mlog(MLOG_INFO, "session claimed by another host; served "
		    "here", "session=%.*s owner=%s", (int)t->st_idlen,
		    t->st_id, addr);
		break;
	default:
		break;
	}
	free(t);
}

/*
 * Claims are refreshed in rounds of claim_ttl/3, each round a walk of
 * ss_list with a cursor (ss_rnext, moved on when its session leaves the
 * list) spread over SESSION_RSLICES ticks: each tick sends its share of
 * the sessions held now, and no more than the directory's backlog takes
 * (dir_refresh_room(): hiredis pipelines them on one connection).  A
 * share the backlog could not take waits for the next tick; a round not
 * done when its time is up goes on at twice the pace (the next starts
 * when it ends).  Sessions made during a round that land behind the
 * cursor have a fresh claim: the next round refreshes them.
 */
#define	SESSION_RSLICES	16

static void
session_refresh_cb(EV_P_ ev_timer *w, int revents)
{
	char key[ROUTE_ID_MAX + 64];
	uint64_t n = 0, quota;
	unsigned room;
	struct session *s;

	(void) loop;
	(void) w;
	(void) revents;
	for (int i = 0; i < SSTATE_MAX; i++)
		n += ss.ss_nstate[i];
	if (ss.ss_rnext == NULL && ss.ss_rticks + 1 >= SESSION_RSLICES) {
		ss.ss_rnext = ss.ss_list;	/* a new round */
		ss.ss_rticks = 0;
	} else {
		ss.ss_rticks++;
	}
	/*
	 * A share of every session now (the list grows and shrinks during a
	 * round); a round overdue (the backlog was full) takes twice that.
	 */
	quota = (n + SESSION_RSLICES - 1) / SESSION_RSLICES;
	if (ss.ss_rticks + 1 >= SESSION_RSLICES)
		quota *= 2;
	room = dir_refresh_room();
	while ((s = ss.ss_rnext) != NULL && quota > 0 && room > 0) {
		ss.ss_rnext = s->s_next;
		quota--;
		if (!s->s_claimed || s->s_state == SSTATE_CLOSING)
			continue;
		session_dir_key(key, sizeof (key), s->s_id, s->s_idlen);
		dir_refresh(key, s->s_fence, NULL, NULL);
		ss.ss_dir.sdc_refreshes++;
		room--;
	}
}

static void
session_claim(struct session *s)
{
	struct session_ticket *t;
	char key[ROUTE_ID_MAX + 64];

	if (!dir_enabled())
		return;
	if (ss.ss_next_fence[0] != '\0') {
		/* Claimed before the attach (main.c): the claim is this one. */
		memcpy(s->s_fence, ss.ss_next_fence, sizeof (s->s_fence));
		ss.ss_next_fence[0] = '\0';
		s->s_claimed = true;
	}
	if (!ev_is_active(&ss.ss_refresh)) {
		ev_tstamp every = ss.ss_conf->wc_claim_ttl / 3 /
		    SESSION_RSLICES;

		ss.ss_rticks = SESSION_RSLICES;	/* a round at once */
		ev_timer_init(&ss.ss_refresh, session_refresh_cb, every,
		    every);
		ev_timer_start(ss.ss_loop, &ss.ss_refresh);
	}
	if (s->s_claimed)
		return;
	if ((t = malloc(sizeof (*t) + s->s_idlen + 1)) == NULL)
		return;		/* served here, unclaimed */
	dir_fence(s->s_fence);
	memcpy(t->st_fence, s->s_fence, sizeof (t->st_fence));
	t->st_idlen = s->s_idlen;
	memcpy(t->st_id, s->s_id, s->s_idlen + 1);
	session_dir_key(key, sizeof (key), s->s_id, s->s_idlen);
	dir_claim(key, s->s_fence, session_claimed_cb, t);
}

static void
session_unclaim(struct session *s)
{
	char key[ROUTE_ID_MAX + 64];

	if (s->s_claimed) {
		session_dir_key(key, sizeof (key), s->s_id, s->s_idlen);
		dir_release(key, s->s_fence, NULL, NULL);
		ss.ss_dir.sdc_releases++;
	}
	s->s_claimed = false;
	s->s_fence[0] = '\0';	/* a claim still under way is released */
}

/*
 * The next session made here holds the claim just won under fence (NULL:
 * none).  A fence not taken (the attach was refused) is returned to
 * fence_out (else ""), for the caller to release.
 */
void
session_claim_next(const char *fence, char *fence_out)
{
	if (fence_out != NULL)
		memcpy(fence_out, ss.ss_next_fence, sizeof (ss.ss_next_fence));
	if (fence != NULL) {
		(void) snprintf(ss.ss_next_fence, sizeof (ss.ss_next_fence),
		    "%s", fence);
		ss.ss_dir.sdc_claims++;
	} else {
		ss.ss_next_fence[0] = '\0';
	}
}

const struct session_dir_counters *
session_dir_counters(void)
{
	return (&ss.ss_dir);
}

/* --- timers ----------------------------------------------------------- */

static void
session_arm(struct session *s)
{
	ev_tstamp now = ev_now(ss.ss_loop), at;

	switch (s->s_state) {
	case SSTATE_MASTER_WAIT:
		at = s->s_created + ss.ss_conf->wc_pairing;
		break;
	case SSTATE_SLAVE_WAIT:
		at = s->s_created + ss.ss_conf->wc_pairing;
		if (s->s_next_wait < at)
			at = s->s_next_wait;
		break;
	case SSTATE_FORWARDING:
		at = s->s_last_activity + ss.ss_conf->wc_idle;
		break;
	default:
		ev_timer_stop(ss.ss_loop, &s->s_timer);
		return;
	}
	ev_timer_stop(ss.ss_loop, &s->s_timer);
	ev_timer_set(&s->s_timer, at > now ? at - now : 0, 0);
	ev_timer_start(ss.ss_loop, &s->s_timer);
}

static void
session_send_wait(struct session *s)
{
	if (s->s_master != NULL)
		(void) conn_send_text(s->s_master, MSG_WAIT);
}

static void
session_timer_cb(EV_P_ ev_timer *w, int revents)
{
	struct session *s = w->data;
	ev_tstamp now = ev_now(EV_A);
	static const char pair_to[] = "timed out waiting for the peer";
	static const char idle_to[] = "idle timeout";

	(void) revents;
	switch (s->s_state) {
	case SSTATE_MASTER_WAIT:
	case SSTATE_SLAVE_WAIT:
		if (now >= s->s_created + ss.ss_conf->wc_pairing) {
			mlog(MLOG_INFO, "pairing timed out", "session=%s "
			    "state=%s", s->s_id, proto_sstate_name(s->s_state));
			/*
			 * A resumable session whose side did not come back in
			 * time is over for good: 1000 tells the other so.
			 */
			if (s->s_resumable)
				wresume_tombstone(s->s_id, s->s_idlen);
			session_end(s, NULL, PROTO_EVC_END_PAIRING,
			    s->s_resumable ? WS_CLOSE_NORMAL :
			    WS_CLOSE_GOING_AWAY,
			    (const uint8_t *)pair_to, sizeof (pair_to) - 1);
			return;
		}
		if (s->s_state == SSTATE_SLAVE_WAIT && now >= s->s_next_wait) {
			s->s_next_wait += ss.ss_conf->wc_wait;
			if (s->s_next_wait <= now)
				s->s_next_wait = now + ss.ss_conf->wc_wait;
			/* Arm first: a failed send may free the session. */
			session_arm(s);
			session_send_wait(s);
			return;
		}
		break;
	case SSTATE_FORWARDING:
		if (now >= s->s_last_activity + ss.ss_conf->wc_idle) {
			mlog(MLOG_INFO, "session idle too long", "session=%s",
			    s->s_id);
			session_end(s, NULL, PROTO_EVC_END_IDLE,
			    WS_CLOSE_GOING_AWAY, (const uint8_t *)idle_to,
			    sizeof (idle_to) - 1);
			return;
		}
		break;
	default:
		return;
	}
	session_arm(s);
}

/* --- pairing ---------------------------------------------------------- */

/*
 * Check that a connection may join session id as role, before its 101 is
 * sent.  0, or an HTTP status with code and message.
 */
int
session_admit(const char *id, size_t idlen, int role, bool replace,
    const char **code, const char **message)
{
	struct session *s = session_find(id, idlen);

	if (s == NULL) {
		/* A forwarded attach held here counts as a session. */
		if (ss.ss_tcount + forward_live() >=
		    ss.ss_conf->wc_max_sessions) {
			*code = "TooManySessions";
			*message = "this worker has too many sessions";
			return (503);
		}
		return (0);
	}
	/* A side back with its token takes its place (session_attach). */
	if (replace)
		return (0);
	if (role == ROLE_MASTER && s->s_master != NULL) {
		*code = "SessionExists";
		*message = "session exists already";
		return (409);
	}
	if (role == ROLE_SLAVE && s->s_slave != NULL) {
		*code = "SessionHasSlave";
		*message = "session already has a slave";
		return (409);
	}
	return (0);
}

/*
 * A new id for this linkup, named in it and in each end's resume: an end
 * takes only the resume of its latest link (shared/client/resume.h), so
 * that two linkups seen in quick succession (both sides broken within
 * milliseconds) cannot make it replay twice.  Unique, not secret.
 */
static void
session_new_link(struct session *s)
{
	uint8_t b[8];

	if (RAND_bytes(b, sizeof (b)) != 1) {
		for (size_t i = 0; i < sizeof (b); i++)
			b[i] = (uint8_t)random();
	}
	netutil_hex(b, sizeof (b), s->s_link);
}

/* linkup, with resume, token and link id to a side that can resume. */
static void
session_send_linkup(struct session *s, struct conn *c)
{
	char msg[200], tok[TOKEN_MAX];

	if (!conn_resumes(c)) {
		(void) conn_send_text(c, MSG_LINKUP);
		return;
	}
	if (!s->s_resumable || wresume_token(s->s_id, s->s_idlen,
	    conn_role(c), tok, sizeof (tok)) != 0) {
		(void) conn_send_text(c, "medusa:{\"type\":\"linkup\","
		    "\"resume\":false}");
		return;
	}
	snprintf(msg, sizeof (msg), "medusa:{\"type\":\"linkup\","
	    "\"resume\":true,\"token\":\"%s\",\"link\":\"%s\"}", tok,
	    s->s_link);
	(void) conn_send_text(c, msg);
}

static void
session_link(struct session *s)
{
	session_set_state(s, SSTATE_FORWARDING);
	s->s_last_activity = ev_now(ss.ss_loop);
	session_arm(s);
	mlog(MLOG_INFO, "session linked", "session=%s master_req_id=%s "
	    "slave_req_id=%s wait_ms=%.0f", s->s_id, conn_reqid(s->s_master),
	    conn_reqid(s->s_slave),
	    (ev_now(ss.ss_loop) - s->s_created) * 1000.0);
	if (!s->s_linked) {
		/* The first linkup (not a side coming back): counted once. */
		s->s_linked = true;
		wmetrics_count(PROTO_EVC_SESS_LINKED, 1);
		wmetrics_observe(PROTO_HIST_LINKUP,
		    ev_now(ss.ss_loop) - s->s_created);
	}
	/*
	 * Both sides can resume: each linkup carries its token (a linkup
	 * after the first tells a side that its peer is back).
	 */
	s->s_resumable = conn_resumes(s->s_master) &&
	    conn_resumes(s->s_slave);
	if (s->s_resumable)
		session_new_link(s);	/* named only to sides that resume */
	/*
	 * The slave's linkup goes first: the client sends "start" the moment
	 * it sees its own, and that must reach the agent after the linkup.
	 */
	session_send_linkup(s, s->s_slave);
	/* A slave joining now has its 101 corked: both leave first. */
	conn_uncork(s->s_slave);
	if (s->s_state == SSTATE_FORWARDING && s->s_master != NULL)
		session_send_linkup(s, s->s_master);
}

/* Join an admitted connection (its 101 already queued) to its session. */
int
session_attach(struct conn *c, const char *id, size_t idlen, int role)
{
	struct session *s = session_find(id, idlen);
	struct conn *old;

	if (s == NULL) {
		s = session_new(id, idlen, role == ROLE_MASTER ?
		    SSTATE_SLAVE_WAIT : SSTATE_MASTER_WAIT);
		if (s == NULL)
			return (-1);
	}
	/* A side back with its token: the connection it replaces goes. */
	old = role == ROLE_MASTER ? s->s_master : s->s_slave;
	if (old != NULL) {
		static const char why[] = "replaced by a resumed connection";

		mlog(MLOG_INFO, "a resumed side replaces its old connection",
		    "session=%s role=%s req_id=%s old_req_id=%s", s->s_id,
		    route_role_name(role), conn_reqid(c), conn_reqid(old));
		if (role == ROLE_MASTER)
			s->s_master = NULL;
		else
			s->s_slave = NULL;
		conn_join(old, NULL);
		if (conn_is_open(old))
			conn_send_close(old, WS_CLOSE_GOING_AWAY, why,
			    sizeof (why) - 1);
		else
			conn_abort(old, why);
		if (s->s_state == SSTATE_FORWARDING)
			session_set_state(s, role == ROLE_MASTER ?
			    SSTATE_MASTER_WAIT : SSTATE_SLAVE_WAIT);
	}
	conn_join(c, s);
	if (role == ROLE_MASTER)
		s->s_master = c;
	else
		s->s_slave = c;
	session_note_peer(s, c);
	mlog(MLOG_INFO, "attached", "session=%s role=%s req_id=%s peer=%s",
	    s->s_id, route_role_name(role), conn_reqid(c), conn_peer(c));
	if (s->s_master != NULL && s->s_slave != NULL) {
		session_link(s);
		return (0);
	}
	if (role == ROLE_MASTER)
		s->s_next_wait = ev_now(ss.ss_loop) + ss.ss_conf->wc_wait;
	session_arm(s);
	/*
	 * The client shows its spinner from the first pulse.  (Sent last: if
	 * the send fails the connection, and with it the session, is gone.)
	 */
	if (role == ROLE_MASTER)
		session_send_wait(s);
	return (0);
}

/* --- relaying --------------------------------------------------------- */

static struct conn *
session_other(const struct session *s, const struct conn *c)
{
	return (c == s->s_master ? s->s_slave : s->s_master);
}

void
session_activity(struct session *s)
{
	s->s_last_activity = ev_now(ss.ss_loop);
}

void
session_message(struct conn *from, uint8_t opcode, uint8_t *p, size_t n)
{
	struct session *s = conn_session(from);
	struct conn *to;

	if (s->s_state != SSTATE_FORWARDING) {
		mlog(MLOG_DEBUG, "message before linkup dropped", "session=%s "
		    "role=%s bytes=%zu", s->s_id,
		    route_role_name(conn_role(from)), n);
		return;
	}
	to = session_other(s, from);
	/* p stays put until conn_parse() ends: it may go out batched. */
	if (conn_relay_frame(to, opcode, p, n) != 0)
		return;
	s->s_msgs++;
	s->s_bytes += n;
	if (conn_role(from) != ROLE_MASTER)
		s->s_bytes_s2m += n;
	wmetrics_relayed(conn_role(from), n);
	session_backpressure(from);
}

/* Remember c's address as its role's, for the audit line. */
static void
session_note_peer(struct session *s, const struct conn *c)
{
	int i = conn_role(c) == ROLE_MASTER ? 0 : 1;

	(void) snprintf(s->s_peer[i], sizeof (s->s_peer[0]), "%s",
	    conn_peer(c));
	/* A side handed in has none: it keeps what SESSION carried. */
	if (conn_fingerprint(c)[0] != '\0')
		(void) snprintf(s->s_fp[i], sizeof (s->s_fp[0]), "%s",
		    conn_fingerprint(c));
}

/* The peer of c in its session, or NULL. */
struct conn *
session_peer(const struct conn *c)
{
	struct session *s = conn_session(c);

	return (s != NULL ? session_other(s, c) : NULL);
}

/*
 * Pause from while its peer has too much queued.  Only while relaying: a
 * closing connection must stay readable for the reply to its CLOSE.
 */
void
session_backpressure(struct conn *from)
{
	struct session *s = conn_session(from);
	struct conn *to;

	if (s != NULL && s->s_state == SSTATE_FORWARDING &&
	    (to = session_other(s, from)) != NULL)
		conn_throttle(from, to);
}

/* --- ends ------------------------------------------------------------- */

/*
 * End a session: it leaves the table, and every connection of it other
 * than `from` gets a CLOSE with code and reason.  It logs the session's
 * audit line (audit=true), once: a session ends once, in the one worker
 * that holds it; a handoff carries its start time and counts (SESSION),
 * and a side that resumes finds the same session.  closed_by: the role of
 * `from`, or "reflector" (a time-out, a shutdown, a session yielding).
 * evc: why, as REPORT counts it (PROTO_EVC_END_*; for the _MASTER_ ones
 * given, the role of `from` picks master or slave); end_cause in the
 * audit line is its label.
 */
static void
session_end(struct session *s, struct conn *from, int evc, uint16_t code,
    const uint8_t *reason, size_t reasonlen)
{
	struct conn *c[2];
	char started[40];
	uint64_t now_ms, dur_ms;
	const char *slash = memchr(s->s_id, '/', s->s_idlen);

	if (s->s_state == SSTATE_CLOSING)
		return;
	session_table_remove(s);
	session_unclaim(s);
	session_set_state(s, SSTATE_CLOSING);
	ev_timer_stop(ss.ss_loop, &s->s_timer);
	if (from != NULL && conn_role(from) != ROLE_MASTER) {
		if (evc == PROTO_EVC_END_MASTER_CLOSED)
			evc = PROTO_EVC_END_SLAVE_CLOSED;
		else if (evc == PROTO_EVC_END_MASTER_LOST)
			evc = PROTO_EVC_END_SLAVE_LOST;
	}
	now_ms = netutil_now_ms();
	dur_ms = now_ms > s->s_create_ms ? now_ms - s->s_create_ms : 0;
	netutil_iso8601(s->s_create_ms, started, sizeof (started));
	/* account: the key's part before '/' ("" on bare trusted paths) */
	mlog(MLOG_INFO, "session ended", "audit=%s account=%.*s session=%s "
	    "started=%s duration_ms=%llu master_peer=%s slave_peer=%s "
	    "master_fingerprint=%s slave_fingerprint=%s "
	    "closed_by=%s end_cause=%s close_code=%u reason=%.*s "
	    "messages=%llu bytes=%llu "
	    "bytes_master_to_slave=%llu bytes_slave_to_master=%llu",
	    MLOG_BOOL(true), slash != NULL ? (int)(slash - s->s_id) : 0,
	    s->s_id, s->s_id, started, (unsigned long long)dur_ms,
	    s->s_peer[0][0] != '\0' ? s->s_peer[0] : "none",
	    s->s_peer[1][0] != '\0' ? s->s_peer[1] : "none",
	    s->s_fp[0][0] != '\0' ? s->s_fp[0] : "none",
	    s->s_fp[1][0] != '\0' ? s->s_fp[1] : "none",
	    from != NULL ? route_role_name(conn_role(from)) : "reflector",
	    proto_evc_desc(evc)->ped_value2, (unsigned)code, (int)reasonlen,
	    (const char *)reason,
	    (unsigned long long)s->s_msgs, (unsigned long long)s->s_bytes,
	    (unsigned long long)(s->s_bytes - s->s_bytes_s2m),
	    (unsigned long long)s->s_bytes_s2m);
	wmetrics_count(evc, 1);
	wmetrics_observe(PROTO_HIST_DURATION, (double)dur_ms / 1000.0);
	c[0] = s->s_master;
	c[1] = s->s_slave;
	for (int i = 0; i < 2; i++) {
		if (c[i] != NULL && c[i] != from && conn_is_open(c[i]))
			conn_send_close(c[i], code, (const char *)reason,
			    reasonlen);
	}
}

/*
 * A side of a resumable session is gone without ending it (anything but
 * its CLOSE 1000): the session waits for it to come back, bounded by the
 * pairing time-out from now, and the other side hears "detached" (it
 * keeps what it sends until the linkup that follows the return).  With
 * neither side left there is nothing to keep: a side that comes back with
 * its token makes the session afresh.
 */
static void
session_detach(struct session *s, struct conn *c, const char *why)
{
	struct conn *other;
	int role = conn_role(c);

	if (role == ROLE_MASTER)
		s->s_master = NULL;
	else
		s->s_slave = NULL;
	conn_join(c, NULL);
	other = role == ROLE_MASTER ? s->s_slave : s->s_master;
	mlog(MLOG_INFO, "side detached; waiting for it to come back",
	    "session=%s role=%s req_id=%s reason=%s", s->s_id,
	    route_role_name(role), conn_reqid(c), why);
	if (other == NULL) {
		session_free(s);
		return;
	}
	session_set_state(s, role == ROLE_MASTER ? SSTATE_MASTER_WAIT :
	    SSTATE_SLAVE_WAIT);
	s->s_created = ev_now(ss.ss_loop);
	s->s_next_wait = s->s_created + ss.ss_conf->wc_wait;
	session_arm(s);
	(void) conn_send_text(other, MSG_DETACHED);
}

/*
 * A session of two sides that can resume ends only when one says so
 * (CLOSE 1000: the command exited, ~., the agent's grace ran out); the
 * worker remembers it ended, so that a late return hears 410.
 */
static bool
session_resumes(const struct session *s, uint16_t code)
{
	return (s->s_resumable && code != WS_CLOSE_NORMAL &&
	    s->s_state != SSTATE_CLOSING);
}

void
session_peer_closed(struct conn *c, uint16_t code, const uint8_t *reason,
    size_t reasonlen, bool failed)
{
	struct session *s = conn_session(c);
	char why[96];

	if (session_resumes(s, code)) {
		snprintf(why, sizeof (why), "closed %u %.*s", (unsigned)code,
		    (int)(reasonlen > 64 ? 64 : reasonlen),
		    (const char *)reason);
		session_detach(s, c, why);
		return;
	}
	if (s->s_resumable && code == WS_CLOSE_NORMAL)
		wresume_tombstone(s->s_id, s->s_idlen);
	session_end(s, c, failed ? PROTO_EVC_END_MASTER_LOST :
	    PROTO_EVC_END_MASTER_CLOSED, code, reason, reasonlen);
}

/* Connection c of s is gone (its socket is closed). */
void
session_conn_gone(struct session *s, struct conn *c, const char *why)
{
	if (session_resumes(s, WS_CLOSE_GOING_AWAY)) {
		session_detach(s, c, why);
		return;
	}
	if (s->s_master == c)
		s->s_master = NULL;
	if (s->s_slave == c)
		s->s_slave = NULL;
	if (s->s_state != SSTATE_CLOSING)
		session_end(s, c, PROTO_EVC_END_MASTER_LOST,
		    WS_CLOSE_GOING_AWAY, (const uint8_t *)why, strlen(why));
	if (s->s_master == NULL && s->s_slave == NULL)
		session_free(s);
}

void
session_close_all(uint16_t code, const char *reason)
{
	struct session *s, *next;

	for (s = ss.ss_list; s != NULL; s = next) {
		next = s->s_next;
		session_end(s, NULL, PROTO_EVC_END_SHUTDOWN, code,
		    (const uint8_t *)reason, strlen(reason));
	}
}

/* --- moving between processes ------------------------------------------ */

/*
 * Waiting or forwarding, with every connection open and not closing, and
 * not already found unable to move (too big, refused by the successor).
 */
static bool
session_movable(const struct session *s)
{
	if (s->s_nomove)
		return (false);
	if (s->s_state != SSTATE_MASTER_WAIT &&
	    s->s_state != SSTATE_SLAVE_WAIT &&
	    s->s_state != SSTATE_FORWARDING)
		return (false);
	if (s->s_master != NULL && !conn_movable(s->s_master))
		return (false);
	if (s->s_slave != NULL && !conn_movable(s->s_slave))
		return (false);
	return (s->s_master != NULL || s->s_slave != NULL);
}

/*
 * Describe a movable session as plain data.  The spans point into the
 * session's own buffers: encode before session_hold().  fds[] gets the
 * sockets, in the order of m->ps_conns.
 */
void
session_freeze(struct session *s, struct proto_session *m, int *fds)
{
	ev_tstamp now = ev_now(ss.ss_loop);
	struct conn *cs[2] = { s->s_master, s->s_slave };

	memset(m, 0, sizeof (*m));
	m->ps_id.ps_p = s->s_id;
	m->ps_id.ps_n = s->s_idlen;
	m->ps_state = (uint32_t)s->s_state;
	m->ps_create_ms = s->s_create_ms;
	m->ps_age_ms = worker_ms(now - s->s_created);
	m->ps_idle_ms = worker_ms(now - s->s_last_activity);
	m->ps_wait_in_ms = s->s_next_wait > now ?
	    worker_ms(s->s_next_wait - now) : 0;
	m->ps_bytes = s->s_bytes;
	m->ps_msgs = s->s_msgs;
	m->ps_resumable = s->s_resumable;
	m->ps_held_ms = netutil_now_ms();
	m->ps_bytes_s2m = s->s_bytes_s2m;
	for (int i = 0; i < 2; i++) {
		m->ps_fp[i].ps_p = s->s_fp[i];
		m->ps_fp[i].ps_n = strlen(s->s_fp[i]);
	}
	for (int i = 0; i < 2; i++) {
		if (cs[i] != NULL) {
			fds[m->ps_nconns] = conn_freeze(cs[i], now,
			    &m->ps_conns[m->ps_nconns]);
			m->ps_nconns++;
		}
	}
}

/*
 * Take a movable session out of service while a successor takes it: out
 * of the table and the list, every timer and watcher stopped.  Its state
 * and sockets stay here until the successor acknowledges it.
 */
void
session_hold(struct session *s)
{
	struct conn *cs[2] = { s->s_master, s->s_slave };

	session_table_remove(s);
	session_list_remove(&ss.ss_list, s);
	session_list_add(&ss.ss_moving, s);
	ev_timer_stop(ss.ss_loop, &s->s_timer);
	for (int i = 0; i < 2; i++) {
		if (cs[i] != NULL)
			conn_hold(cs[i]);
	}
}

/*
 * The next session that can move as it is (session_movable()), or NULL;
 * one found unable to move is not tried again (session_nomove()) until a
 * new successor (session_allow_moves()).
 */
struct session *
session_next_movable(void)
{
	struct session *s;

	for (s = ss.ss_list; s != NULL; s = s->s_next) {
		if (session_movable(s))
			return (s);
	}
	return (NULL);
}

void
session_nomove(struct session *s)
{
	s->s_nomove = true;
}

void
session_allow_moves(void)
{
	for (struct session *s = ss.ss_list; s != NULL; s = s->s_next)
		s->s_nomove = false;
}

/* A session held for a move, if any (the successor never took them). */
struct session *
session_first_held(void)
{
	return (ss.ss_moving);
}

struct session *
session_held(const char *id, size_t idlen)
{
	struct session *s;

	for (s = ss.ss_moving; s != NULL; s = s->s_next) {
		if (s->s_idlen == idlen && memcmp(s->s_id, id, idlen) == 0)
			return (s);
	}
	return (NULL);
}

/* The successor has the session: close our copies of its sockets. */
void
session_release(struct session *s)
{
	struct conn *cs[2] = { s->s_master, s->s_slave };

	session_list_remove(&ss.ss_moving, s);
	s->s_master = s->s_slave = NULL;
	for (int i = 0; i < 2; i++) {
		if (cs[i] != NULL)
			conn_forget(cs[i]);
	}
	ss.ss_nstate[s->s_state]--;
	s->s_freed = true;
	s->s_next = ss.ss_dead;
	ss.ss_dead = s;
}

/* The thawed connections cs[0..n) join s, each in its role. */
static void
session_join(struct session *s, struct conn **cs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		conn_join(cs[i], s);
		if (conn_role(cs[i]) == ROLE_MASTER)
			s->s_master = cs[i];
		else
			s->s_slave = cs[i];
		session_note_peer(s, cs[i]);
	}
}

/*
 * Start the connections of a session back in service: each starts paused
 * if the other's queue is full.
 */
static void
session_thaw_conns(struct conn **cs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct conn *other;

		if (cs[i] == NULL)
			continue;
		other = session_peer(cs[i]);
		conn_thawed(cs[i], other != NULL && conn_full(other));
	}
}

/* Out of memory resuming m: what was rebuilt of it is closed.  -1. */
static int
session_thaw_fail(const struct proto_session *m, struct conn **cs)
{
	mlog(MLOG_ERROR, "out of memory resuming a session", "session=%.*s",
	    (int)m->ps_id.ps_n, m->ps_id.ps_p);
	for (uint32_t i = 0; i < m->ps_nconns; i++) {
		if (cs[i] != NULL)
			conn_abort(cs[i], "out of memory");
	}
	return (-1);
}

/*
 * The move failed before the successor touched it: back into service.  If
 * a new session took its id meanwhile (very rare), it is closed with 1008.
 */
void
session_unhold(struct session *s)
{
	static const char why[] = "session exists already";
	struct conn *cs[2] = { s->s_master, s->s_slave };
	bool conflict = session_find(s->s_id, s->s_idlen) != NULL;
	size_t b;

	session_list_remove(&ss.ss_moving, s);
	session_list_add(&ss.ss_list, s);
	if (conflict) {
		mlog(MLOG_WARN, "a session came back from a failed move but "
		    "its id is taken; closing it", "session=%s", s->s_id);
		session_set_state(s, SSTATE_CLOSING);	/* not in the table */
		for (int i = 0; i < 2; i++) {
			if (cs[i] != NULL && conn_is_open(cs[i]))
				conn_send_close(cs[i], WS_CLOSE_POLICY, why,
				    sizeof (why) - 1);
		}
	} else {
		b = session_bucket(s->s_id, s->s_idlen);
		s->s_hnext = ss.ss_table[b];
		ss.ss_table[b] = s;
		ss.ss_tcount++;
		session_arm(s);
	}
	session_thaw_conns(cs, 2);
}

/*
 * Close a connection that cannot join: its session id is taken here.  It
 * is read until the peer answers our CLOSE.
 */
static void
session_refuse(struct conn *c)
{
	static const char why[] = "session exists already";

	mlog(MLOG_WARN, "handed-in connection conflicts with a session "
	    "here; closing it", "req_id=%s role=%s", conn_reqid(c),
	    route_role_name(conn_role(c)));
	conn_send_close(c, WS_CLOSE_POLICY, why, sizeof (why) - 1);
	conn_thawed(c, false);
}

/*
 * Resume a session that arrived from another process, with its sockets.
 * A session with this id may have started here meanwhile (its other side
 * attached to this worker while the first waited in the old one): two
 * waiting halves are joined.  Otherwise the older wins, as when a second
 * master attaches: a session that forwards here keeps its place and the
 * handed-in connection is closed with 1008; one that only waits here is
 * newer than the handed-in one and yields to it.  0, or -1 (out of memory:
 * the sockets are closed).
 */
int
session_thaw(const struct proto_session *m, const int *fds)
{
	ev_tstamp now = ev_now(ss.ss_loop);
	struct conn *cs[PROTO_SESSION_CONNS] = { NULL, NULL };
	struct session *s, *local;
	bool lost = false;
	uint32_t i;

	/* Each conn_thaw() owns its socket, even when it fails. */
	for (i = 0; i < m->ps_nconns; i++) {
		if ((cs[i] = conn_thaw(&m->ps_conns[i], fds[i], now)) == NULL)
			lost = true;
	}
	if (lost)
		return (session_thaw_fail(m, cs));

	local = session_find(m->ps_id.ps_p, m->ps_id.ps_n);
	if (local != NULL && m->ps_nconns == 1 &&
	    local->s_state == SSTATE_FORWARDING) {
		session_refuse(cs[0]);
		return (0);
	}
	if (local != NULL && m->ps_nconns == 1 &&
	    (conn_role(cs[0]) == ROLE_MASTER ? local->s_master :
	    local->s_slave) == NULL) {
		/*
		 * Two halves of one session: join them.  What the handed-in
		 * side sent while it waited is parsed (and dropped, as before
		 * any linkup) before the two are linked.
		 */
		mlog(MLOG_INFO, "joining a handed-in side to its session",
		    "session=%s role=%s", local->s_id,
		    route_role_name(conn_role(cs[0])));
		session_join(local, cs, 1);
		conn_thawed(cs[0], false);
		if (conn_is_open(cs[0]) && local->s_state != SSTATE_CLOSING)
			session_link(local);
		return (0);
	}
	if (local != NULL) {
		static const char why[] = "session exists already";

		mlog(MLOG_WARN, "a session handed in is already here; the one "
		    "here yields", "session=%s", local->s_id);
		session_end(local, NULL, PROTO_EVC_END_YIELD, WS_CLOSE_POLICY,
		    (const uint8_t *)why, sizeof (why) - 1);
	}
	if ((s = session_new(m->ps_id.ps_p, m->ps_id.ps_n,
	    (int)m->ps_state)) == NULL)
		return (session_thaw_fail(m, cs));
	s->s_create_ms = m->ps_create_ms;
	s->s_created = now - (ev_tstamp)m->ps_age_ms / 1000.0;
	s->s_last_activity = now - (ev_tstamp)m->ps_idle_ms / 1000.0;
	s->s_next_wait = now + (ev_tstamp)m->ps_wait_in_ms / 1000.0;
	s->s_bytes = m->ps_bytes;
	s->s_msgs = m->ps_msgs;
	s->s_resumable = m->ps_resumable;
	s->s_bytes_s2m = m->ps_bytes_s2m;
	/*
	 * Counted where it first linked up: forwarding, or resumable (set
	 * at a linkup) with a side away.
	 */
	s->s_linked = m->ps_state == SSTATE_FORWARDING || m->ps_resumable;
	for (int f = 0; f < 2; f++)
		(void) snprintf(s->s_fp[f], sizeof (s->s_fp[0]), "%.*s",
		    (int)m->ps_fp[f].ps_n, m->ps_fp[f].ps_p);
	if (m->ps_held_ms != 0)
		wmetrics_observe(PROTO_HIST_HANDOFF, (double)(netutil_now_ms() >
		    m->ps_held_ms ? netutil_now_ms() - m->ps_held_ms : 0) /
		    1000.0);
	session_join(s, cs, m->ps_nconns);
	session_arm(s);
	mlog(MLOG_DEBUG, "session resumed", "session=%s state=%s", s->s_id,
	    proto_sstate_name(s->s_state));
	session_thaw_conns(cs, m->ps_nconns);
	return (0);
}

/* --- the status walk ------------------------------------------------------ */

/*
 * One walk over the sessions at a time (worker/status.c's, answering
 * STATUS_REQ), which may span loop iterations: a session that ends or is
 * held for a move meanwhile is skipped (session_list_remove() moves the
 * walk past it), and one that starts meanwhile is not seen.
 */
void
session_walk_begin(void)
{
	ss.ss_walk = ss.ss_list;
}

bool
session_walk_done(void)
{
	return (ss.ss_walk == NULL);
}

/* The next session's entry for STATUS_REPLY: false when there is none. */
bool
session_walk_next(struct proto_session_info *i)
{
	struct session *s = ss.ss_walk;

	if (s == NULL)
		return (false);
	ss.ss_walk = s->s_next;
	i->psi_id.ps_p = s->s_id;
	i->psi_id.ps_n = s->s_idlen;
	i->psi_state = (uint32_t)s->s_state;
	i->psi_has_master = s->s_master != NULL;
	i->psi_has_slave = s->s_slave != NULL;
	i->psi_create_ms = s->s_create_ms;
	return (true);
}

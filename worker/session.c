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

#include "mlog.h"
#include "netutil.h"
#include "route.h"
#include "shard.h"
#include "worker.h"
#include "wsframe.h"

#define	MSG_WAIT	"medusa:{\"type\":\"wait\"}"
#define	MSG_LINKUP	"medusa:{\"type\":\"linkup\"}"

static void session_timer_cb(EV_P_ ev_timer *, int);
static void session_end(struct session *, struct conn *from, uint16_t code,
    const uint8_t *reason, size_t reasonlen);

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
	return (h & (wk.w_tsize - 1));
}

void
session_table_init(void)
{
	wk.w_tsize = 1024;
	wk.w_table = calloc(wk.w_tsize, sizeof (struct session *));
	if (wk.w_table == NULL) {
		mlog(MLOG_FATAL, "cannot allocate the session table", "");
		exit(1);
	}
}

static void
session_table_grow(void)
{
	size_t nsize = wk.w_tsize * 2;
	struct session **nt, **ot = wk.w_table;
	size_t osize = wk.w_tsize;

	if ((nt = calloc(nsize, sizeof (struct session *))) == NULL)
		return;		/* longer chains, still correct */
	wk.w_table = nt;
	wk.w_tsize = nsize;
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

	for (s = wk.w_table[session_bucket(id, idlen)]; s != NULL;
	    s = s->s_hnext) {
		if (s->s_idlen == idlen && memcmp(s->s_id, id, idlen) == 0)
			return (s);
	}
	return (NULL);
}

static void
session_table_remove(struct session *s)
{
	struct session **pp = &wk.w_table[session_bucket(s->s_id, s->s_idlen)];

	for (; *pp != NULL; pp = &(*pp)->s_hnext) {
		if (*pp == s) {
			*pp = s->s_hnext;
			s->s_hnext = NULL;
			wk.w_tcount--;
			return;
		}
	}
}

size_t
session_count(void)
{
	return (wk.w_tcount);
}

void
session_set_state(struct session *s, int state)
{
	wk.w_nstate[s->s_state]--;
	s->s_state = state;
	wk.w_nstate[s->s_state]++;
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
	wk.w_nstate[state]++;
	s->s_create_ms = netutil_now_ms();
	s->s_created = s->s_last_activity = ev_now(wk.w_loop);
	ev_init(&s->s_timer, session_timer_cb);
	s->s_timer.data = s;

	if (wk.w_tcount >= wk.w_tsize)
		session_table_grow();
	b = session_bucket(id, idlen);
	s->s_hnext = wk.w_table[b];
	wk.w_table[b] = s;
	wk.w_tcount++;
	s->s_next = wk.w_sessions;
	if (wk.w_sessions != NULL)
		wk.w_sessions->s_prev = s;
	wk.w_sessions = s;
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
	ev_timer_stop(wk.w_loop, &s->s_timer);
	if (s->s_state != SSTATE_CLOSING)
		session_table_remove(s);
	wk.w_nstate[s->s_state]--;
	if (s->s_prev != NULL)
		s->s_prev->s_next = s->s_next;
	else
		wk.w_sessions = s->s_next;
	if (s->s_next != NULL)
		s->s_next->s_prev = s->s_prev;
	s->s_prev = NULL;
	s->s_next = wk.w_sdead;
	wk.w_sdead = s;
}

void
session_reap(void)
{
	struct session *s;

	while ((s = wk.w_sdead) != NULL) {
		wk.w_sdead = s->s_next;
		free(s->s_id);
		free(s);
	}
}

/* --- timers ----------------------------------------------------------- */

static void
session_arm(struct session *s)
{
	ev_tstamp now = ev_now(wk.w_loop), at;

	switch (s->s_state) {
	case SSTATE_MASTER_WAIT:
		at = s->s_created + wk.w_conf.wc_pairing;
		break;
	case SSTATE_SLAVE_WAIT:
		at = s->s_created + wk.w_conf.wc_pairing;
		if (s->s_next_wait < at)
			at = s->s_next_wait;
		break;
	case SSTATE_FORWARDING:
		at = s->s_last_activity + wk.w_conf.wc_idle;
		break;
	default:
		ev_timer_stop(wk.w_loop, &s->s_timer);
		return;
	}
	ev_timer_stop(wk.w_loop, &s->s_timer);
	ev_timer_set(&s->s_timer, at > now ? at - now : 0, 0);
	ev_timer_start(wk.w_loop, &s->s_timer);
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
		if (now >= s->s_created + wk.w_conf.wc_pairing) {
			mlog(MLOG_INFO, "pairing timed out", "session=%s "
			    "state=%s", s->s_id, proto_sstate_name(s->s_state));
			session_end(s, NULL, WS_CLOSE_GOING_AWAY,
			    (const uint8_t *)pair_to, sizeof (pair_to) - 1);
			return;
		}
		if (s->s_state == SSTATE_SLAVE_WAIT && now >= s->s_next_wait) {
			s->s_next_wait += wk.w_conf.wc_wait;
			if (s->s_next_wait <= now)
				s->s_next_wait = now + wk.w_conf.wc_wait;
			/* Arm first: a failed send may free the session. */
			session_arm(s);
			session_send_wait(s);
			return;
		}
		break;
	case SSTATE_FORWARDING:
		if (now >= s->s_last_activity + wk.w_conf.wc_idle) {
			mlog(MLOG_INFO, "session idle too long", "session=%s",
			    s->s_id);
			session_end(s, NULL, WS_CLOSE_GOING_AWAY,
			    (const uint8_t *)idle_to, sizeof (idle_to) - 1);
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
session_admit(const char *id, size_t idlen, int role, const char **code,
    const char **message)
{
	struct session *s = session_find(id, idlen);

	if (s == NULL) {
		if (wk.w_tcount >= wk.w_conf.wc_max_sessions) {
			*code = "TooManySessions";
			*message = "this worker has too many sessions";
			return (503);
		}
		return (0);
	}
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

static void
session_link(struct session *s)
{
	session_set_state(s, SSTATE_FORWARDING);
	s->s_last_activity = ev_now(wk.w_loop);
	session_arm(s);
	mlog(MLOG_INFO, "session linked", "session=%s master_req_id=%s "
	    "slave_req_id=%s wait_ms=%.0f", s->s_id, conn_reqid(s->s_master),
	    conn_reqid(s->s_slave),
	    (ev_now(wk.w_loop) - s->s_created) * 1000.0);
	/*
	 * The slave's linkup goes first: the client sends "start" the moment
	 * it sees its own, and that must reach the agent after the linkup.
	 */
	(void) conn_send_text(s->s_slave, MSG_LINKUP);
	/* A slave joining now has its 101 corked: both leave first. */
	conn_uncork(s->s_slave);
	if (s->s_state == SSTATE_FORWARDING && s->s_master != NULL)
		(void) conn_send_text(s->s_master, MSG_LINKUP);
}

/* Join an admitted connection (its 101 already queued) to its session. */
int
session_attach(struct conn *c, const char *id, size_t idlen, int role)
{
	struct session *s = session_find(id, idlen);

	if (s == NULL) {
		s = session_new(id, idlen, role == ROLE_MASTER ?
		    SSTATE_SLAVE_WAIT : SSTATE_MASTER_WAIT);
		if (s == NULL)
			return (-1);
	}
	conn_join(c, s);
	if (role == ROLE_MASTER)
		s->s_master = c;
	else
		s->s_slave = c;
	mlog(MLOG_INFO, "attached", "session=%s role=%s req_id=%s peer=%s",
	    s->s_id, route_role_name(role), conn_reqid(c), conn_peer(c));
	if (s->s_master != NULL && s->s_slave != NULL) {
		session_link(s);
		return (0);
	}
	if (role == ROLE_MASTER)
		s->s_next_wait = ev_now(wk.w_loop) + wk.w_conf.wc_wait;
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
	s->s_last_activity = ev_now(wk.w_loop);
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
	wk.w_msgs++;
	wk.w_bytes += n;
	session_backpressure(from);
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
 * than `from` gets a CLOSE with code and reason.
 */
static void
session_end(struct session *s, struct conn *from, uint16_t code,
    const uint8_t *reason, size_t reasonlen)
{
	struct conn *c[2];

	if (s->s_state == SSTATE_CLOSING)
		return;
	session_table_remove(s);
	session_set_state(s, SSTATE_CLOSING);
	ev_timer_stop(wk.w_loop, &s->s_timer);
	mlog(MLOG_INFO, "session ended", "session=%s close_code=%u "
	    "reason=%.*s duration_ms=%.0f messages=%llu bytes=%llu", s->s_id,
	    (unsigned)code, (int)reasonlen, (const char *)reason,
	    (ev_now(wk.w_loop) - s->s_created) * 1000.0,
	    (unsigned long long)s->s_msgs, (unsigned long long)s->s_bytes);
	c[0] = s->s_master;
	c[1] = s->s_slave;
	for (int i = 0; i < 2; i++) {
		if (c[i] != NULL && c[i] != from && conn_is_open(c[i]))
			conn_send_close(c[i], code, (const char *)reason,
			    reasonlen);
	}
}

void
session_peer_closed(struct conn *c, uint16_t code, const uint8_t *reason,
    size_t reasonlen)
{
	session_end(conn_session(c), c, code, reason, reasonlen);
}

/* Connection c of s is gone (its socket is closed). */
void
session_conn_gone(struct session *s, struct conn *c, const char *why)
{
	if (s->s_master == c)
		s->s_master = NULL;
	if (s->s_slave == c)
		s->s_slave = NULL;
	if (s->s_state != SSTATE_CLOSING)
		session_end(s, c, WS_CLOSE_GOING_AWAY, (const uint8_t *)why,
		    strlen(why));
	if (s->s_master == NULL && s->s_slave == NULL)
		session_free(s);
}

void
session_close_all(uint16_t code, const char *reason)
{
	struct session *s, *next;

	for (s = wk.w_sessions; s != NULL; s = next) {
		next = s->s_next;
		session_end(s, NULL, code, (const uint8_t *)reason,
		    strlen(reason));
	}
}

/* --- moving between processes ------------------------------------------ */

/*
 * Waiting or forwarding, with every connection open and not closing, and
 * not already found unable to move (too big, refused by the successor).
 */
bool
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
	ev_tstamp now = ev_now(wk.w_loop);
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
	for (int i = 0; i < 2; i++) {
		if (cs[i] != NULL) {
			fds[m->ps_nconns] = conn_freeze(cs[i], now,
			    &m->ps_conns[m->ps_nconns]);
			m->ps_nconns++;
		}
	}
}

static void
session_list_remove(struct session **head, struct session *s)
{
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
	session_list_remove(&wk.w_sessions, s);
	session_list_add(&wk.w_moving, s);
	ev_timer_stop(wk.w_loop, &s->s_timer);
	for (int i = 0; i < 2; i++) {
		if (cs[i] != NULL)
			conn_hold(cs[i]);
	}
}

struct session *
session_held(const char *id, size_t idlen)
{
	struct session *s;

	for (s = wk.w_moving; s != NULL; s = s->s_next) {
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

	session_list_remove(&wk.w_moving, s);
	s->s_master = s->s_slave = NULL;
	for (int i = 0; i < 2; i++) {
		if (cs[i] != NULL)
			conn_forget(cs[i]);
	}
	wk.w_nstate[s->s_state]--;
	s->s_freed = true;
	s->s_next = wk.w_sdead;
	wk.w_sdead = s;
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

	session_list_remove(&wk.w_moving, s);
	session_list_add(&wk.w_sessions, s);
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
		s->s_hnext = wk.w_table[b];
		wk.w_table[b] = s;
		wk.w_tcount++;
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
	ev_tstamp now = ev_now(wk.w_loop);
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
		session_end(local, NULL, WS_CLOSE_POLICY, (const uint8_t *)why,
		    sizeof (why) - 1);
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
	session_join(s, cs, m->ps_nconns);
	session_arm(s);
	mlog(MLOG_DEBUG, "session resumed", "session=%s state=%s", s->s_id,
	    proto_sstate_name(s->s_state));
	session_thaw_conns(cs, m->ps_nconns);
	return (0);
}

/*
 * status.c: the status document, for GET /status and medusactl.  The
 * supervisor asks every live worker process for its sessions (STATUS_REQ),
 * gathers the replies (bounded by a time-out, so a stuck worker cannot hold
 * the answer up, and by a cap on sessions, so a misbehaving one cannot
 * grow our memory) and builds the original's shape plus the workers:
 *
 *	{"health": "ok",
 *	 "sessions": {"sessions": [{"id", "state", "has_master", "has_slave",
 *	     "create_time", "shard", "pid"}, ...]},
 *	 "workers": [{"shard", "pid", "state", "sessions", "started",
 *	     "version", "restarts", "connections", "bytes", "messages"}, ...],
 *	 "version", "started"}
 *
 * "workers" has an entry per worker process (during a rolling restart a
 * shard has two: the new one and the one retiring), and one for each shard
 * with none ("down" or "failed", pid null).  "health" is "ok" when every
 * shard has a ready worker, "draining" or "stopping" when the supervisor
 * is, else "degraded".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "httpresp.h"
#include "mlog.h"
#include "netutil.h"
#include "supervisor.h"
#include "version.h"

#define	STATUS_TIMEOUT		2.0	/* s to wait for the workers */
#define	STATUS_MAX_QUERIES	PROTO_STATUS_QUERIES
#define	STATUS_MAX_SESSIONS	1000000
#define	STATUS_MAX_PROCS	(SUP_MAX_WORKERS * 3)

struct statusq {
	uint64_t	q_id;
	status_done_f	*q_done;
	void		*q_arg;		/* NULL once the asker is gone */
	struct wproc	*q_procs[STATUS_MAX_PROCS];	/* still to answer */
	unsigned	q_pending;
	size_t		q_nsessions;
	bool		q_truncated;
	json_t		*q_sessions;
	ev_timer	q_timer;
	LIST_ENTRY(statusq) q_link;
};

/* This file's state: the queries under way. */
static struct status {
	struct ev_loop	*st_loop;
	uint64_t	st_started_ms;	/* the supervisor's start, for "started" */
	LIST_HEAD(, statusq) st_queries;
	unsigned	st_nqueries;
	uint64_t	st_qseq;	/* the last query id */
} st;

void
status_init(struct ev_loop *loop)
{
	st.st_loop = loop;
	st.st_started_ms = netutil_now_ms();
}

static json_t *
status_time(uint64_t ms)
{
	char t[40];

	if (ms == 0)
		return (json_null());
	netutil_iso8601(ms, t, sizeof (t));
	return (json_string(t));
}

static json_t *
status_proc(const struct wproc *w)
{
	const struct proto_report *r = &w->wp_report;
	/*
	 * The shard's active process also shows what the shard's processes
	 * before it relayed (workers_free() carries it), so the counts do
	 * not go back to 0 when a worker is replaced.
	 */
	bool act = w == w->wp_shard->sh_active;
	uint64_t gb = act ? w->wp_shard->sh_gone_bytes : 0;
	uint64_t gm = act ? w->wp_shard->sh_gone_messages : 0;
	uint64_t ns = 0;
	json_t *o, *dir = json_object();

	for (int k = 0; k < PROTO_REPORT_STATES; k++)
		ns += r->prp_sessions[k];
	for (int k = 0; k < PROTO_DIRC_MAX; k++)
		json_object_set_new(dir, proto_dirc_name(k),
		    json_integer((json_int_t)r->prp_dir[k]));
	o = json_pack("{s:I, s:I, s:s, s:I, s:o, s:s, s:I, s:I, s:I, "
	    "s:I}",
	    "shard", (json_int_t)w->wp_shard->sh_index,
	    "pid", (json_int_t)w->wp_pid,
	    "state", workers_state_name(w),
	    "sessions", (json_int_t)ns,
	    "started", status_time(w->wp_started_ms),
	    "version", w->wp_version,
	    "restarts", (json_int_t)w->wp_shard->sh_restarts,
	    "connections", (json_int_t)r->prp_conns,
	    "bytes", (json_int_t)(r->prp_bytes + gb),
	    "messages", (json_int_t)(r->prp_messages + gm));
	/* The session directory's counters (issue 16). */
	json_object_set_new(o, "directory", dir);
	return (o);
}

static json_t *
status_workers(bool *healthy)
{
	json_t *a = json_array();

	*healthy = true;
	for (unsigned i = 0; i < workers_nshards(); i++) {
		const struct shard *sh = workers_shard(i);
		bool any = false;

		if (sh->sh_active == NULL || sh->sh_active->wp_state != W_READY)
			*healthy = false;
		for (const struct wproc *w = workers_procs(); w != NULL;
		    w = LIST_NEXT(w, wp_link)) {
			if (w->wp_shard != sh || w->wp_pid <= 0)
				continue;
			json_array_append_new(a, status_proc(w));
			any = true;
		}
		if (!any)
			json_array_append_new(a, json_pack("{s:I, s:n, s:s, "
			    "s:I, s:n, s:s, s:I, s:I, s:I, s:I}",
			    "shard", (json_int_t)i, "pid",
			    "state", workers_shard_state(sh),
			    "sessions", (json_int_t)0, "started",
			    "version", "", "restarts",
			    (json_int_t)sh->sh_restarts, "connections",
			    (json_int_t)0, "bytes",
			    (json_int_t)sh->sh_gone_bytes, "messages",
			    (json_int_t)sh->sh_gone_messages));
	}
	return (a);
}

static void
status_finish(struct statusq *q)
{
	json_t *doc;
	char *body;
	bool healthy;

	ev_timer_stop(st.st_loop, &q->q_timer);
	LIST_REMOVE(q, q_link);
	st.st_nqueries--;

	if (q->q_arg != NULL) {
		doc = json_pack("{s:s, s:{s:O}, s:o, s:s, s:o}",
		    "health", "ok",
		    "sessions", "sessions", q->q_sessions,
		    "workers", status_workers(&healthy),
		    "version", MEDUSA_VERSION,
		    "started", status_time(st.st_started_ms));
		if (doc != NULL && (!healthy || sup_draining() ||
		    sup_stopping()))
			json_object_set_new(doc, "health", json_string(
			    sup_stopping() ? "stopping" : sup_draining() ?
			    "draining" : "degraded"));
		if (doc != NULL && q->q_truncated)
			json_object_set_new(doc, "truncated", json_true());
		body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
		json_decref(doc);
		q->q_done(q->q_arg, body, body != NULL ? strlen(body) : 0);
		free(body);
	}
	json_decref(q->q_sessions);
	free(q);
}

static void
status_timer_cb(EV_P_ ev_timer *t, int revents)
{
	struct statusq *q = t->data;

	(void) EV_A;
	(void) revents;
	mlog(MLOG_WARN, "status: some workers did not answer in time",
	    "missing=%u", q->q_pending);
	status_finish(q);
}

/*
 * Gather the status and call done(arg, json, len) with it (json NULL if it
 * could not be built).  done may be called before this returns.
 */
void
status_query(status_done_f *done, void *arg)
{
	struct proto_status_req m;
	struct statusq *q;
	msgpack_sbuffer sb;

	if (st.st_nqueries >= STATUS_MAX_QUERIES ||
	    (q = calloc(1, sizeof (*q))) == NULL) {
		done(arg, NULL, 0);
		return;
	}
	if ((q->q_sessions = json_array()) == NULL) {
		free(q);
		done(arg, NULL, 0);
		return;
	}
	st.st_nqueries++;
	q->q_id = ++st.st_qseq;
	q->q_done = done;
	q->q_arg = arg;
	LIST_INSERT_HEAD(&st.st_queries, q, q_link);
	ev_timer_init(&q->q_timer, status_timer_cb, STATUS_TIMEOUT, 0);
	q->q_timer.data = q;

	m.psq_qid = q->q_id;
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_status_req(&sb, &m);
	for (struct wproc *w = workers_procs(); w != NULL;
	    w = LIST_NEXT(w, wp_link)) {
		if ((w->wp_state != W_READY && w->wp_state != W_RETIRING) ||
		    q->q_pending == STATUS_MAX_PROCS)
			continue;
		q->q_procs[q->q_pending++] = w;
		workers_send(w, &sb);
	}
	msgpack_sbuffer_destroy(&sb);
	if (q->q_pending == 0)
		status_finish(q);
	else
		ev_timer_start(st.st_loop, &q->q_timer);
}

/* Drop w from q's waiting list; finish q when nobody is left. */
static void
status_done_with(struct statusq *q, const struct wproc *w)
{
	for (unsigned i = 0; i < q->q_pending; i++) {
		if (q->q_procs[i] != w)
			continue;
		q->q_procs[i] = q->q_procs[--q->q_pending];
		if (q->q_pending == 0)
			status_finish(q);
		return;
	}
}

static bool
status_waits_for(const struct statusq *q, const struct wproc *w)
{
	for (unsigned i = 0; i < q->q_pending; i++) {
		if (q->q_procs[i] == w)
			return (true);
	}
	return (false);
}

void
status_reply(struct wproc *w, const struct proto_status_reply *m)
{
	struct statusq *q;

	LIST_FOREACH(q, &st.st_queries, q_link) {
		if (q->q_id == m->psr_qid)
			break;
	}
	if (q == NULL || !status_waits_for(q, w))
		return;		/* it timed out already */
	for (size_t i = 0; i < m->psr_nsessions; i++) {
		const struct proto_session_info *s = &m->psr_sessions[i];
		const char *id, *slash;
		size_t idn;
		json_t *o;

		if (q->q_nsessions >= STATUS_MAX_SESSIONS) {
			q->q_truncated = true;
			break;
		}
		q->q_nsessions++;
		/* The worker's key: "<account>/<id>", or "<id>". */
		id = s->psi_id.ps_p;
		idn = s->psi_id.ps_n;
		slash = memchr(id, '/', idn);
		if (slash != NULL) {
			idn -= (size_t)(slash + 1 - id);
			id = slash + 1;
		}
		o = json_pack("{s:s%, s:s, s:b, s:b, s:o, s:I, s:I}",
		    "id", id, idn,
		    "state", proto_sstate_name((int)s->psi_state),
		    "has_master", s->psi_has_master,
		    "has_slave", s->psi_has_slave,
		    "create_time", status_time(s->psi_create_ms),
		    "shard", (json_int_t)w->wp_shard->sh_index,
		    "pid", (json_int_t)w->wp_pid);
		if (o != NULL && slash != NULL)
			json_object_set_new(o, "account", json_stringn(
			    s->psi_id.ps_p, (size_t)(slash - s->psi_id.ps_p)));
		json_array_append_new(q->q_sessions, o);
	}
	if (!m->psr_more)
		status_done_with(q, w);
}

void
status_worker_gone(struct wproc *w)
{
	struct statusq *q, *next;

	for (q = LIST_FIRST(&st.st_queries); q != NULL; q = next) {
		next = LIST_NEXT(q, q_link);
		status_done_with(q, w);
	}
}

/* --- GET /status -------------------------------------------------------- */

static void
status_http_done(void *arg, const char *json, size_t len)
{
	struct sconn *sc = arg;
	char head[256], *resp;
	size_t hl;

	sc->sc_query = NULL;
	if (json == NULL) {
		front_error(sc, 503, "ServiceUnavailable", "cannot build the "
		    "status now", "Retry-After: 1\r\n");
		return;
	}
	hl = httpresp_json_head(head, sizeof (head), len + 1);
	if ((resp = malloc(hl + len + 1)) == NULL) {
		front_error(sc, 500, "InternalError", "out of memory", NULL);
		return;
	}
	memcpy(resp, head, hl);
	memcpy(resp + hl, json, len);
	resp[hl + len] = '\n';
	front_respond(sc, resp, hl + len + 1);
	free(resp);
}

/*
 * The public listeners' /status: health alone, at once, for load
 * balancers (which sessions exist is for operators: the status listener).
 * 200 while sessions are taken (a shard without a worker is "degraded"),
 * 503 while draining or stopping.
 */
void
status_health(struct sconn *sc)
{
	char resp[512], body[64];
	const char *h = "ok";
	size_t hl, bl;

	for (unsigned i = 0; i < workers_nshards(); i++) {
		const struct shard *sh = workers_shard(i);

		if (sh->sh_active == NULL || sh->sh_active->wp_state != W_READY)
			h = "degraded";
	}
	if (sup_stopping() || sup_draining()) {
		h = sup_stopping() ? "stopping" : "draining";
		hl = httpresp_error(resp, sizeof (resp), 503,
		    "ServiceUnavailable", h, "Retry-After: 1\r\n");
		front_respond(sc, resp, hl);
		return;
	}
	bl = (size_t)snprintf(body, sizeof (body), "{\"health\":\"%s\"}\n", h);
	hl = httpresp_json_head(resp, sizeof (resp) - bl, bl);
	memcpy(resp + hl, body, bl);
	front_respond(sc, resp, hl + bl);
}

void
status_start(struct sconn *sc)
{
	sc->sc_state = SC_STATUS;
	ev_io_stop(st.st_loop, &sc->sc_rio);
	ev_timer_stop(st.st_loop, &sc->sc_timer);
	status_query(status_http_done, sc);
	/* Still waiting: remember the query, in case the client goes. */
	if (sc->sc_state == SC_STATUS) {
		struct statusq *q;

		LIST_FOREACH(q, &st.st_queries, q_link) {
			if (q->q_arg == sc)
				sc->sc_query = q;
		}
	}
}

void
status_conn_gone(struct sconn *sc)
{
	sc->sc_query->q_arg = NULL;
	sc->sc_query = NULL;
}

/* Any query for arg will not be delivered (the asker went away). */
void
status_cancel(void *arg)
{
	struct statusq *q;

	LIST_FOREACH(q, &st.st_queries, q_link) {
		if (q->q_arg == arg)
			q->q_arg = NULL;
	}
}

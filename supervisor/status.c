/*
 * status.c: GET /status.  The supervisor asks every ready worker for its
 * sessions (STATUS_REQ), gathers the replies (bounded by a time-out, so a
 * stuck worker cannot hold the answer up) and answers with the original's
 * shape plus the workers:
 *
 *	{"health": "ok",
 *	 "sessions": {"sessions": [{"id", "state", "has_master", "has_slave",
 *	     "create_time", "shard", "pid"}, ...]},
 *	 "workers": [{"shard", "pid", "state", "sessions", "started",
 *	     "version", "restarts", "connections", "bytes", "messages"}, ...]}
 *
 * "health" is "ok" when every shard has a ready worker, else "degraded".
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
#define	STATUS_MAX_QUERIES	64

struct statusq {
	uint64_t	q_id;
	struct sconn	*q_conn;
	bool		q_waiting[SUP_MAX_WORKERS];
	unsigned	q_pending;
	json_t		*q_sessions;
	ev_timer	q_timer;
	struct statusq	*q_next;
	struct statusq	*q_prev;
};

static unsigned status_nqueries;

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
status_workers(bool *healthy)
{
	json_t *a = json_array();

	*healthy = true;
	for (unsigned i = 0; i < sup.s_nworkers; i++) {
		const struct wproc *w = &sup.s_workers[i];
		const struct proto_report *r = &w->wp_report;
		uint64_t ns = 0;

		for (int k = 0; k < 4; k++)
			ns += r->prp_sessions[k];
		if (w->wp_state != W_READY)
			*healthy = false;
		json_array_append_new(a, json_pack("{s:I, s:o, s:s, s:I, s:o, "
		    "s:s, s:I, s:I, s:I, s:I}",
		    "shard", (json_int_t)w->wp_shard,
		    "pid", w->wp_pid > 0 ? json_integer(w->wp_pid) :
		    json_null(),
		    "state", workers_state_name(w->wp_state),
		    "sessions", (json_int_t)ns,
		    "started", w->wp_pid > 0 ? status_time(w->wp_started_ms) :
		    json_null(),
		    "version", w->wp_version,
		    "restarts", (json_int_t)w->wp_restarts,
		    "connections", (json_int_t)r->prp_conns,
		    "bytes", (json_int_t)r->prp_bytes,
		    "messages", (json_int_t)r->prp_messages));
	}
	return (a);
}

static void
status_finish(struct statusq *q)
{
	struct sconn *sc = q->q_conn;
	json_t *doc;
	char *body, *resp, head[256];
	size_t bl, hl;
	bool healthy;

	ev_timer_stop(sup.s_loop, &q->q_timer);
	if (q->q_prev != NULL)
		q->q_prev->q_next = q->q_next;
	else
		sup.s_queries = q->q_next;
	if (q->q_next != NULL)
		q->q_next->q_prev = q->q_prev;
	status_nqueries--;

	if (sc != NULL) {
		sc->sc_query = NULL;
		doc = json_pack("{s:s, s:{s:O}, s:o, s:s, s:o}",
		    "health", "ok",
		    "sessions", "sessions", q->q_sessions,
		    "workers", status_workers(&healthy),
		    "version", MEDUSA_VERSION,
		    "started", status_time(sup.s_started_ms));
		if (doc != NULL && !healthy)
			json_object_set_new(doc, "health",
			    json_string("degraded"));
		body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
		json_decref(doc);
		if (body == NULL) {
			front_error(sc, 500, "InternalError",
			    "cannot build the status", NULL);
		} else {
			bl = strlen(body);
			hl = httpresp_json_head(head, sizeof (head), bl + 1);
			if ((resp = malloc(hl + bl + 1)) == NULL) {
				front_error(sc, 500, "InternalError",
				    "out of memory", NULL);
			} else {
				memcpy(resp, head, hl);
				memcpy(resp + hl, body, bl);
				resp[hl + bl] = '\n';
				front_respond(sc, resp, hl + bl + 1);
				free(resp);
			}
			free(body);
		}
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

void
status_start(struct sconn *sc)
{
	struct proto_status_req m;
	struct statusq *q;
	msgpack_sbuffer sb;

	if (status_nqueries >= STATUS_MAX_QUERIES ||
	    (q = calloc(1, sizeof (*q))) == NULL) {
		front_error(sc, 503, "ServiceUnavailable", "too many status "
		    "requests at once", "Retry-After: 1\r\n");
		return;
	}
	if ((q->q_sessions = json_array()) == NULL) {
		free(q);
		front_error(sc, 500, "InternalError", "out of memory", NULL);
		return;
	}
	status_nqueries++;
	q->q_id = ++sup.s_qseq;
	q->q_conn = sc;
	sc->sc_query = q;
	sc->sc_state = SC_STATUS;
	ev_io_stop(sup.s_loop, &sc->sc_rio);
	ev_timer_stop(sup.s_loop, &sc->sc_timer);
	q->q_next = sup.s_queries;
	if (sup.s_queries != NULL)
		sup.s_queries->q_prev = q;
	sup.s_queries = q;
	ev_timer_init(&q->q_timer, status_timer_cb, STATUS_TIMEOUT, 0);
	q->q_timer.data = q;

	m.psq_qid = q->q_id;
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_status_req(&sb, &m);
	for (unsigned i = 0; i < sup.s_nworkers; i++) {
		struct wproc *w = &sup.s_workers[i];

		if (w->wp_state != W_READY)
			continue;
		q->q_waiting[i] = true;
		q->q_pending++;
		workers_send(w, &sb);
	}
	msgpack_sbuffer_destroy(&sb);
	if (q->q_pending == 0)
		status_finish(q);
	else
		ev_timer_start(sup.s_loop, &q->q_timer);
}

static void
status_done_with(struct statusq *q, unsigned shard)
{
	if (!q->q_waiting[shard])
		return;
	q->q_waiting[shard] = false;
	if (--q->q_pending == 0)
		status_finish(q);
}

void
status_reply(struct wproc *w, const struct proto_status_reply *m)
{
	struct statusq *q;

	for (q = sup.s_queries; q != NULL; q = q->q_next) {
		if (q->q_id == m->psr_qid)
			break;
	}
	if (q == NULL || !q->q_waiting[w->wp_shard])
		return;		/* it timed out already */
	for (size_t i = 0; i < m->psr_nsessions; i++) {
		const struct proto_session_info *s = &m->psr_sessions[i];

		json_array_append_new(q->q_sessions, json_pack("{s:s%, s:s, "
		    "s:b, s:b, s:o, s:I, s:I}",
		    "id", s->psi_id.ps_p, s->psi_id.ps_n,
		    "state", proto_sstate_name((int)s->psi_state),
		    "has_master", s->psi_has_master,
		    "has_slave", s->psi_has_slave,
		    "create_time", status_time(s->psi_create_ms),
		    "shard", (json_int_t)w->wp_shard,
		    "pid", (json_int_t)w->wp_pid));
	}
	if (!m->psr_more)
		status_done_with(q, w->wp_shard);
}

void
status_worker_gone(struct wproc *w)
{
	struct statusq *q, *next;

	for (q = sup.s_queries; q != NULL; q = next) {
		next = q->q_next;
		status_done_with(q, w->wp_shard);
	}
}

void
status_conn_gone(struct sconn *sc)
{
	sc->sc_query->q_conn = NULL;
	sc->sc_query = NULL;
}

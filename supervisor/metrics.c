/*
 * metrics.c: GET /metrics on the status listener, in Prometheus's text
 * exposition format (shared/server/promtext.c writes it).
 *
 * Where the numbers come from, and why they survive a worker:
 *
 *   - Counters of the supervisor's own: requests it refused before any
 *     worker saw them, by HTTP status (front_error() calls
 *     metrics_refusal()); attaches it routed to a worker, by role
 *     (metrics_routed()); sessions at a rolling restart's handoff, by
 *     outcome (restart.c calls metrics_handoff()); worker starts and
 *     crashes per shard (workers.c counts them in struct shard, which
 *     lives as long as the supervisor).
 *   - Bytes and messages relayed: each worker's REPORT (every second)
 *     carries its running totals; when a process goes, workers_free()
 *     adds its last REPORT to its shard's sh_gone_* counts, so a total is
 *     the shard's gone counts plus its live processes' last REPORTs, and
 *     never goes back over a rolling restart or a crash.  A worker that
 *     exits cleanly sends a final REPORT (workers_child_cb() reads it even
 *     when the exit is seen first); a crashed worker loses at most what
 *     it relayed after its last REPORT (one interval).
 *   - The session directory's counters (issue 16: Redis requests,
 *     errors, claims, forwards, ...), the same way: gone + live, summed
 *     over the shards (medusa_directory_*_total).
 *   - The workers' event counters (attaches by status, sessions linked
 *     and ended by who closed and why, bytes and messages each way,
 *     credential refusals by cause, resumes and their refusals: enum
 *     proto_evc, named by proto_evc_desc()) and histograms (connect to linkup,
 *     session duration, handoff pause: enum proto_hist), the same way.
 *   - Gauges from the live processes' last REPORTs: sessions by state,
 *     connections; and workers by state.
 *
 * Label sets are bounded: role (master, slave), status (the codes this
 * supervisor answers with), state (a fixed list), shard (the configured
 * count).  Never an account or session id.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpresp.h"
#include "mlog.h"
#include "promtext.h"
#include "route.h"
#include "supervisor.h"

/* HTTP statuses the supervisor refuses with; others count as "other". */
static const int metrics_statuses[] = { 400, 403, 404, 405, 408, 413, 429,
    431, 500, 503 };
#define	METRICS_NSTATUS	(sizeof (metrics_statuses) / \
	sizeof (metrics_statuses[0]))

static struct {
	uint64_t	m_refused[METRICS_NSTATUS + 1];	/* last: other */
	uint64_t	m_routed[3];			/* by ROLE_* */
	uint64_t	m_handoff[3];	/* moved, stayed, failed */
} mt;

/* A HANDOFF_DONE of a rolling restart (restart.c). */
void
metrics_handoff(uint64_t moved, uint64_t stayed, uint64_t failed)
{
	mt.m_handoff[0] += moved;
	mt.m_handoff[1] += stayed;
	mt.m_handoff[2] += failed;
}

void
metrics_refusal(int status)
{
	size_t i;

	for (i = 0; i < METRICS_NSTATUS; i++) {
		if (metrics_statuses[i] == status)
			break;
	}
	mt.m_refused[i]++;
}

void
metrics_routed(int role)
{
	if (role == ROLE_MASTER || role == ROLE_SLAVE)
		mt.m_routed[role]++;
}

static void
metrics_refusals(struct promtext *p)
{
	char code[16];
	const char *l[] = { "status", code, NULL };

	promtext_family(p, "medusa_requests_refused_total", PROMTEXT_COUNTER,
	    "Requests the supervisor refused before any worker, by HTTP "
	    "status");
	for (size_t i = 0; i <= METRICS_NSTATUS; i++) {
		if (i < METRICS_NSTATUS)
			(void) snprintf(code, sizeof (code), "%d",
			    metrics_statuses[i]);
		else
			(void) snprintf(code, sizeof (code), "other");
		promtext_u64(p, "medusa_requests_refused_total", l,
		    mt.m_refused[i]);
	}
	promtext_family(p, "medusa_attaches_routed_total", PROMTEXT_COUNTER,
	    "Attaches passed to a worker, by role");
	for (int r = ROLE_MASTER; r <= ROLE_SLAVE; r++) {
		const char *rl[] = { "role", route_role_name(r), NULL };

		promtext_u64(p, "medusa_attaches_routed_total", rl,
		    mt.m_routed[r]);
	}
	promtext_family(p, "medusa_handoff_sessions_total", PROMTEXT_COUNTER,
	    "Sessions at a rolling restart's handoff, by outcome (moved to "
	    "the new worker, stayed to finish in the old, failed to move)");
	for (int i = 0; i < 3; i++) {
		static const char *const oc[] = { "moved", "stayed",
		    "failed" };
		const char *hl[] = { "outcome", oc[i], NULL };

		promtext_u64(p, "medusa_handoff_sessions_total", hl,
		    mt.m_handoff[i]);
	}
}

/* Per shard: starts, crashes, bytes and messages (gone + live). */
static void
metrics_shards(struct promtext *p)
{
	static const struct {
		const char	*name;
		const char	*help;
	} fam[] = {
		{ "medusa_worker_starts_total", "Worker processes started" },
		{ "medusa_worker_crashes_total", "Worker processes that died "
		    "unasked or with a failure status" },
		{ "medusa_relayed_bytes_total", "Payload bytes relayed "
		    "(both ways)" },
		{ "medusa_relayed_messages_total", "WebSocket messages relayed "
		    "(both ways)" },
	};
	unsigned n = workers_nshards();

	for (size_t f = 0; f < sizeof (fam) / sizeof (fam[0]); f++) {
		promtext_family(p, fam[f].name, PROMTEXT_COUNTER, fam[f].help);
		for (unsigned i = 0; i < n; i++) {
			const struct shard *sh = workers_shard(i);
			char idx[16];
			const char *l[] = { "shard", idx, NULL };
			uint64_t v;

			(void) snprintf(idx, sizeof (idx), "%u", i);
			if (f == 0) {
				v = sh->sh_starts;
			} else if (f == 1) {
				v = sh->sh_crashes;
			} else {
				v = f == 2 ? sh->sh_gone_bytes :
				    sh->sh_gone_messages;
				for (const struct wproc *w = workers_procs();
				    w != NULL; w = LIST_NEXT(w, wp_link)) {
					if (w->wp_shard != sh)
						continue;
					v += f == 2 ? w->wp_report.prp_bytes :
					    w->wp_report.prp_messages;
				}
			}
			promtext_u64(p, fam[f].name, l, v);
		}
	}
}

/* The session directory's counters, over all shards (gone + live). */
static void
metrics_directory(struct promtext *p)
{
	static const char *const help[PROTO_DIRC_MAX] = {
		[PROTO_DIRC_REQUESTS] = "Requests to the session directory",
		[PROTO_DIRC_ERRORS] = "Directory requests with no answer "
		    "(down, time-out, error)",
		[PROTO_DIRC_TIMEOUTS] = "Directory requests timed out",
		[PROTO_DIRC_CONNECTS] = "Connections made to the directory",
		[PROTO_DIRC_CLAIMS] = "Sessions claimed for this host",
		[PROTO_DIRC_TAKEOVERS] = "Stale claims of this host taken "
		    "over",
		[PROTO_DIRC_CLAIMS_OTHER] = "Sessions found claimed by "
		    "another host",
		[PROTO_DIRC_REFRESHES] = "Claims refreshed",
		[PROTO_DIRC_RELEASES] = "Claims released",
		[PROTO_DIRC_HOPS_IN] = "Attaches forwarded here by another "
		    "host and believed",
		[PROTO_DIRC_HOP_REFUSED] = "Forwarded attaches refused "
		    "(forged, stale, replayed)",
		[PROTO_DIRC_FWD_OUT] = "Attaches forwarded to the host "
		    "holding their session",
		[PROTO_DIRC_FWD_FAILED] = "Attaches whose holding host could "
		    "not be reached (502)",
	};
	uint64_t v[PROTO_DIRC_MAX] = { 0 };
	unsigned n = workers_nshards();

	for (unsigned i = 0; i < n; i++) {
		for (int k = 0; k < PROTO_DIRC_MAX; k++)
			v[k] += workers_shard(i)->sh_gone_dir[k];
	}
	for (const struct wproc *w = workers_procs(); w != NULL;
	    w = LIST_NEXT(w, wp_link)) {
		for (int k = 0; k < PROTO_DIRC_MAX; k++)
			v[k] += w->wp_report.prp_dir[k];
	}
	for (int k = 0; k < PROTO_DIRC_MAX; k++) {
		const char *nm = proto_dirc_name(k);
		char name[96];

		(void) snprintf(name, sizeof (name), "medusa_%s%s_total",
		    strncmp(nm, "directory_", 10) == 0 ? "" : "directory_", nm);
		promtext_family(p, name, PROMTEXT_COUNTER, help[k]);
		promtext_u64(p, name, NULL, v[k]);
	}
}

/* The workers' event counters and histograms, over all shards. */
static void
metrics_events(struct promtext *p)
{
	static const struct {
		const char	*name;
		const char	*help;
	} hist[PROTO_HIST_MAX] = {
		[PROTO_HIST_LINKUP] = { "medusa_session_linkup_seconds",
		    "From a session's first side attaching to its linkup" },
		[PROTO_HIST_DURATION] = { "medusa_session_duration_seconds",
		    "Sessions' lives, made to ended" },
		[PROTO_HIST_HANDOFF] = { "medusa_handoff_pause_seconds",
		    "A session's pause while a rolling restart hands it to "
		    "the new worker" },
	};
	uint64_t v[PROTO_EVC_MAX] = { 0 };
	uint64_t h[PROTO_HIST_MAX][PROTO_HIST_SLOTS] = { { 0 } };
	unsigned n = workers_nshards();
	const char *fam = "";

	for (unsigned i = 0; i < n; i++) {
		const struct shard *sh = workers_shard(i);

		for (int k = 0; k < PROTO_EVC_MAX; k++)
			v[k] += sh->sh_gone_ev[k];
		for (int j = 0; j < PROTO_HIST_MAX; j++) {
			for (int k = 0; k < PROTO_HIST_SLOTS; k++)
				h[j][k] += sh->sh_gone_hist[j][k];
		}
	}
	for (const struct wproc *w = workers_procs(); w != NULL;
	    w = LIST_NEXT(w, wp_link)) {
		for (int k = 0; k < PROTO_EVC_MAX; k++)
			v[k] += w->wp_report.prp_ev[k];
		for (int j = 0; j < PROTO_HIST_MAX; j++) {
			for (int k = 0; k < PROTO_HIST_SLOTS; k++)
				h[j][k] += w->wp_report.prp_hist[j][k];
		}
	}
	for (int k = 0; k < PROTO_EVC_MAX; k++) {
		const struct proto_evc_desc *d = proto_evc_desc(k);
		const char *l[] = { d->ped_label, d->ped_value,
		    d->ped_label2, d->ped_value2, NULL };

		if (strcmp(fam, d->ped_family) != 0) {
			fam = d->ped_family;
			promtext_family(p, fam, PROMTEXT_COUNTER, d->ped_help);
		}
		promtext_u64(p, fam, d->ped_label != NULL ? l : NULL, v[k]);
	}
	for (int j = 0; j < PROTO_HIST_MAX; j++) {
		size_t nb;
		const double *b = proto_hist_bounds(j, &nb);

		promtext_family(p, hist[j].name, PROMTEXT_HISTOGRAM,
		    hist[j].help);
		promtext_histogram(p, hist[j].name, NULL, b, h[j], nb,
		    (double)h[j][PROTO_HIST_SLOTS - 1] / 1000.0);
	}
}

static void
metrics_gauges(struct promtext *p)
{
	static const char *const sstates[PROTO_REPORT_STATES] = {
		[SSTATE_MASTER_WAIT] = "master_wait",
		[SSTATE_SLAVE_WAIT] = "slave_wait",
		[SSTATE_FORWARDING] = "forwarding",
		[SSTATE_CLOSING] = "closing",
	};
	static const char *const wstates[] = { "starting", "ready",
	    "retiring", "stopping" };
	uint64_t sess[PROTO_REPORT_STATES] = { 0 }, conns = 0;
	uint64_t ws[4] = { 0 };

	for (const struct wproc *w = workers_procs(); w != NULL;
	    w = LIST_NEXT(w, wp_link)) {
		if (w->wp_pid <= 0)
			continue;
		for (int k = 0; k < PROTO_REPORT_STATES; k++)
			sess[k] += w->wp_report.prp_sessions[k];
		conns += w->wp_report.prp_conns;
		if (w->wp_state >= W_STARTING && w->wp_state <= W_STOPPING)
			ws[w->wp_state - W_STARTING]++;
	}
	promtext_family(p, "medusa_sessions", PROMTEXT_GAUGE,
	    "Sessions by state (workers' last reports)");
	for (int k = 0; k < PROTO_REPORT_STATES; k++) {
		const char *l[] = { "state", sstates[k], NULL };

		if (sstates[k] != NULL)
			promtext_u64(p, "medusa_sessions", l, sess[k]);
	}
	promtext_family(p, "medusa_connections", PROMTEXT_GAUGE,
	    "WebSocket connections the workers hold");
	promtext_u64(p, "medusa_connections", NULL, conns);
	promtext_family(p, "medusa_workers", PROMTEXT_GAUGE,
	    "Worker processes by state");
	for (size_t k = 0; k < 4; k++) {
		const char *l[] = { "state", wstates[k], NULL };

		promtext_u64(p, "medusa_workers", l, ws[k]);
	}
}

void
metrics_serve(struct sconn *sc)
{
	struct promtext p;
	char head[256], *resp;
	size_t hl;

	promtext_init(&p);
	metrics_refusals(&p);
	metrics_shards(&p);
	metrics_directory(&p);
	metrics_events(&p);
	metrics_gauges(&p);
	if (p.pt_failed || (hl = httpresp_ok_head(head, sizeof (head),
	    PROMTEXT_CONTENT_TYPE, p.pt_len),
	    resp = malloc(hl + p.pt_len)) == NULL) {
		promtext_fini(&p);
		front_error(sc, 500, "InternalError", "out of memory", NULL);
		return;
	}
	memcpy(resp, head, hl);
	memcpy(resp + hl, p.pt_buf, p.pt_len);
	front_respond(sc, resp, hl + p.pt_len);
	free(resp);
	promtext_fini(&p);
}

/*
 * wmetrics.c: the worker's event counters and histograms, for REPORT.
 *
 * Each is a running total since the worker started (enum proto_evc,
 * enum proto_hist in shared/server/proto.h); REPORT carries them every
 * second, and the supervisor adds a departing worker's last REPORT to its
 * shard's, so /metrics never goes back (supervisor/metrics.c).  The
 * callers: conn.c (every refusal) and main.c (every 101) count attaches by
 * status; wauth.c refusals by cause; wresume.c resumes and their
 * refusals; session.c linkups, ends, bytes each way and the three
 * histograms.
 */

#include <string.h>

#include "auth.h"
#include "proto.h"
#include "route.h"
#include "worker.h"

_Static_assert(PROTO_EVC_AUTH_LAST - PROTO_EVC_AUTH_FIRST + 1 ==
    AUTH_NCODES - 1, "one refusal counter per auth_code but AUTH_OK");

static struct {
	uint64_t	wm_ev[PROTO_EVC_MAX];
	uint64_t	wm_hist[PROTO_HIST_MAX][PROTO_HIST_SLOTS];
} wm;

void
wmetrics_count(int counter, uint64_t n)
{
	if (counter >= 0 && counter < PROTO_EVC_MAX)
		wm.wm_ev[counter] += n;
}

/* A message of n bytes relayed from a side of role `from`. */
void
wmetrics_relayed(int from, size_t n)
{
	if (from == ROLE_MASTER) {
		wm.wm_ev[PROTO_EVC_BYTES_M2S] += n;
		wm.wm_ev[PROTO_EVC_MSGS_M2S]++;
	} else {
		wm.wm_ev[PROTO_EVC_BYTES_S2M] += n;
		wm.wm_ev[PROTO_EVC_MSGS_S2M]++;
	}
}

/* An attach of a role answered with an HTTP status (101: upgraded). */
void
wmetrics_attach(int role, int status)
{
	static const int st[] = { 101, 400, 401, 403, 404, 409, 410, 503 };
	int i;

	for (i = 0; i < (int)(sizeof (st) / sizeof (st[0])); i++) {
		if (st[i] == status)
			break;
	}
	/* i past the table: ATT_OTHER */
	wm.wm_ev[(role == ROLE_SLAVE ? PROTO_EVC_ATT_SLAVE :
	    PROTO_EVC_ATT_101) + i]++;
}

void
wmetrics_observe(int hist, double seconds)
{
	if (hist < 0 || hist >= PROTO_HIST_MAX)
		return;
	if (seconds < 0)
		seconds = 0;
	wm.wm_hist[hist][proto_hist_slot(hist, seconds)]++;
	wm.wm_hist[hist][PROTO_HIST_SLOTS - 1] += (uint64_t)(seconds * 1000.0 +
	    0.5);
}

void
wmetrics_report(struct proto_report *r)
{
	memcpy(r->prp_ev, wm.wm_ev, sizeof (r->prp_ev));
	/* REPORT's totals (the per-shard medusa_relayed_*): both ways. */
	r->prp_bytes = wm.wm_ev[PROTO_EVC_BYTES_M2S] +
	    wm.wm_ev[PROTO_EVC_BYTES_S2M];
	r->prp_messages = wm.wm_ev[PROTO_EVC_MSGS_M2S] +
	    wm.wm_ev[PROTO_EVC_MSGS_S2M];
	memcpy(r->prp_hist, wm.wm_hist, sizeof (r->prp_hist));
}

/*
 * status.c: the worker's answers to STATUS_REQ, paced so that no part of
 * one is ever dropped.  See proto.h for STATUS_REQ and STATUS_REPLY.
 *
 * A reply lists every session, PROTO_STATUS_CHUNK to a STATUS_REPLY, and
 * a worker may hold hundreds of thousands of sessions with ids of up to a
 * kilobyte: one reply can run to hundreds of megabytes, and the
 * supervisor may ask again before it has read the last.  Queued whole,
 * replies could overflow the control channel's bounded queue, and a chunk
 * the queue refused left the supervisor's query waiting out its time-out
 * with sessions missing.  So a reply goes out one chunk at a time, and a
 * chunk is queued only when the queue has room for it and for the small
 * messages besides (worker_ctl_room(): REPORT, HANDOFF_DONE); otherwise it
 * waits, encoded, until the channel has drained (the write callback calls
 * status_pump(), and so does the report timer, for a chunk that met no
 * memory).  The sessions are walked (session.c) across those waits: one
 * that ends meanwhile is skipped, one that starts is not listed.
 *
 * Queries wait their turn in a FIFO of PROTO_STATUS_QUERIES.  It cannot
 * overflow with queries the supervisor still waits for: it has at most
 * that many under way, each waiting for this worker's last chunk, and it
 * gives up on them (its time-out) in the order it asked.  So when one more
 * arrives with the FIFO full, the oldest waiting has been given up on; it
 * is dropped, with a line.
 */
#include <string.h>

#include "mlog.h"
#include "route.h"
#include "worker.h"

/* A chunk, ids at their longest, fits a frame with room to spare. */
_Static_assert((uint64_t)PROTO_STATUS_CHUNK * (ROUTE_ID_MAX + 64) <
    PROTO_FRAME_MAX / 2, "a STATUS_REPLY chunk fits a frame");

/* This file's state: the queries waiting, and the reply under way. */
static struct wstatus {
	uint64_t	st_fifo[PROTO_STATUS_QUERIES];	/* query ids, a ring */
	unsigned	st_head;
	unsigned	st_n;
	bool		st_busy;	/* a reply is under way */
	uint64_t	st_qid;		/* ... for this query */
	bool		st_encoded;	/* its next chunk waits in st_chunk */
	bool		st_last;	/* ... and is the reply's last */
	msgpack_sbuffer	st_chunk;
	struct proto_session_info st_info[PROTO_STATUS_CHUNK];
} st;

/* A STATUS_REQ: answered in its turn. */
void
status_request(uint64_t qid)
{
	if (st.st_n == PROTO_STATUS_QUERIES) {
		mlog(MLOG_INFO, "status query dropped: the supervisor has given "
		    "up on it", "query=%llu",
		    (unsigned long long)st.st_fifo[st.st_head]);
		st.st_head = (st.st_head + 1) % PROTO_STATUS_QUERIES;
		st.st_n--;
	}
	st.st_fifo[(st.st_head + st.st_n) % PROTO_STATUS_QUERIES] = qid;
	st.st_n++;
	status_pump();
}

/* The next chunk of the reply under way, into st_chunk. */
static void
status_encode(void)
{
	struct proto_status_reply r;

	memset(&r, 0, sizeof (r));
	r.psr_qid = st.st_qid;
	r.psr_sessions = st.st_info;
	while (r.psr_nsessions < PROTO_STATUS_CHUNK &&
	    session_walk_next(&st.st_info[r.psr_nsessions]))
		r.psr_nsessions++;
	r.psr_more = !session_walk_done();
	if (st.st_chunk.data == NULL)
		msgpack_sbuffer_init(&st.st_chunk);
	st.st_chunk.size = 0;
	/* Within a frame (above): it cannot fail. */
	(void) proto_enc_status_reply(&st.st_chunk, &r);
	st.st_last = !r.psr_more;
	st.st_encoded = true;
}

/* Queue what may be queued now; the rest waits for room. */
void
status_pump(void)
{
	for (;;) {
		if (!st.st_encoded) {
			if (!st.st_busy) {
				if (st.st_n == 0)
					return;
				st.st_qid = st.st_fifo[st.st_head];
				st.st_head = (st.st_head + 1) %
				    PROTO_STATUS_QUERIES;
				st.st_n--;
				st.st_busy = true;
				session_walk_begin();
			}
			status_encode();
		}
		if (!worker_ctl_room(st.st_chunk.size) ||
		    worker_ctl_send(&st.st_chunk) != 0)
			return;		/* again when the channel drains */
		st.st_encoded = false;
		if (st.st_last)
			st.st_busy = false;
	}
}

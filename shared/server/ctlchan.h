/*
 * ctlchan.h: one end of a control channel (proto.h): framing, a bounded
 * outbound queue, descriptor ownership, and the one read loop every reader
 * uses.  Non-blocking throughout; the caller's event loop calls
 * ctlchan_flush() when the socket is writable and ctlchan_pump() when it
 * is readable.
 *
 * Ownership.  ctlchan_send() takes the message's descriptors; they are
 * closed once the sendmsg() that carries them has succeeded.  If the
 * channel is torn down first, ctlchan_close() hands each unsent message's
 * descriptors back through the callback, with the tag given to
 * ctlchan_send() (the supervisor answers those clients 503), so no
 * descriptor is lost or closed twice.  Received descriptors wait in a FIFO
 * with the frame they came with until the decoded message takes them with
 * ctlchan_take_fds(); ctlchan_done() closes any that message did not take,
 * and ctlchan_close() any left.  A message whose descriptors the kernel
 * could not deliver (the receiver was out of descriptors) is known as
 * such: ctlchan_take_fds() says "lost" for it, so the receiver drops that
 * one message and the channel goes on.
 *
 * Which frame a descriptor belongs to.  The sender passes a message's
 * descriptors with the sendmsg() that carries the frame's first byte, and
 * only that frame's bytes.  On an AF_UNIX stream the kernel delivers them
 * with the recvmsg() that reads that first byte, and ends that recvmsg()
 * with that sendmsg()'s data: no one read returns two senders' descriptors
 * or bytes beyond the descriptors' own message.  So a read's descriptors
 * (or its "lost" mark, MSG_CTRUNC) belong to the last frame that starts
 * within the bytes of that read: the frame that starts in it and does not
 * end before the read does.  Each read with descriptors is recorded as a group with the
 * stream offsets it covered, and a frame takes the group that matches it;
 * nothing is matched by counting, so one lost group cannot shift the rest.
 */
#ifndef MEDUSA_CTLCHAN_H
#define MEDUSA_CTLCHAN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fdpass.h"

#define	CTLCHAN_RFDS_MAX	64	/* received, not yet taken */
#define	CTLCHAN_RGROUPS_MAX	16	/* reads with descriptors, ditto */
_Static_assert(CTLCHAN_RFDS_MAX >= FDPASS_MAX,
    "one read's descriptors can wait for their frame");

struct ctlchan_msg;

/* The descriptors one recvmsg() brought, and the bytes it read. */
struct ctlchan_rgroup {
	uint64_t		rg_start;	/* stream offsets: [start, end) */
	uint64_t		rg_end;
	int			rg_fds[FDPASS_MAX];
	int			rg_nfds;
	int			rg_lost;	/* MSG_CTRUNC: they were dropped */
};

struct ctlchan {
	int			cc_fd;
	struct buf		cc_in;
	uint64_t		cc_base;	/* stream offset of cc_in's head */
	size_t			cc_cur;		/* length of the frame handed out */
	struct ctlchan_rgroup	cc_rg[CTLCHAN_RGROUPS_MAX];	/* a ring */
	int			cc_rghead;
	int			cc_nrg;
	int			cc_nrfds;	/* in all groups */
	struct ctlchan_msg	*cc_head;
	struct ctlchan_msg	**cc_tailp;
	size_t			cc_qbytes;	/* bytes queued, not yet sent */
	size_t			cc_qmax;	/* ctlchan_send() refuses beyond */
};

#define	CTLCHAN_TAG_MAX		48

/*
 * frame[0..len) is the whole unsent frame (length prefix included), so the
 * caller can still act on it (a worker resumes a session whose handoff
 * never left).
 */
typedef void ctlchan_unsent_f(const char *tag, const uint8_t *frame,
    size_t len, int *fds, int nfds, void *arg);

void ctlchan_init(struct ctlchan *, int fd, size_t qmax);

/*
 * Queue one frame (already length-prefixed, as proto_enc_*() makes them)
 * with its descriptors.  tag (copied, may be NULL) is handed back by
 * ctlchan_close() if the frame is never sent.  0; or -1 (ENOBUFS: queue
 * full, ENOMEM) and the descriptors are still the caller's.
 */
int ctlchan_send(struct ctlchan *, const void *frame, size_t len,
    const int *fds, int nfds, const char *tag);
/* Send what can be sent: 1 all sent, 0 would block, -1 error (errno). */
int ctlchan_flush(struct ctlchan *);
static inline int ctlchan_pending(const struct ctlchan *c)
{ return (c->cc_head != NULL); }

/*
 * Reading.  Every reader of a channel (the worker's of the supervisor,
 * the supervisor's of each worker, both ends of a handoff, the admin
 * socket and medusactl) reads through ctlchan_pump(), and each keeps its
 * own dispatch table in its handler.  The pump hands fn every whole frame
 * that has arrived, then reads (one recvmsg() a time, at most maxreads
 * times; 0: until the socket would block) and hands out what each read
 * completed, and says why it stopped:
 *
 *	CTLCHAN_AGAIN	nothing more to read now (EAGAIN, EWOULDBLOCK and
 *			EINTR all mean this), maxreads reached, or fn asked
 *			to stop; the channel goes on
 *	CTLCHAN_END	the peer closed its end; every whole frame before
 *			the end has been handed out
 *	CTLCHAN_ERROR	a read failed; errno says why (ENOMEM, EPROTO: more
 *			descriptors waiting than CTLCHAN_RFDS_MAX, ...)
 *	CTLCHAN_BAD	the peer broke the protocol: a frame over
 *			PROTO_FRAME_MAX or an empty one, or fn found the
 *			frame bad (and has said so)
 *	CTLCHAN_CLOSED	fn closed the channel (ctlchan_close()); nothing of
 *			it may be touched but to free what holds it
 *
 * fn gets the frame's body, valid until it returns; it may take the
 * frame's descriptors (ctlchan_take_fds()) and may close the channel, but
 * must not free it.  It returns CTLCHAN_NEXT to go on, CTLCHAN_STOP to
 * stop after this frame (those behind it wait for the next call), or
 * CTLCHAN_REFUSE if the frame was bad.  The frame is done (ctlchan_done())
 * when fn returns, whatever it returned, unless the channel is closed.
 */
enum ctlchan_result {
	CTLCHAN_AGAIN = 0,
	CTLCHAN_END,
	CTLCHAN_ERROR,
	CTLCHAN_BAD,
	CTLCHAN_CLOSED
};

#define	CTLCHAN_NEXT	0
#define	CTLCHAN_STOP	1
#define	CTLCHAN_REFUSE	(-1)

typedef int ctlchan_frame_f(void *arg, const uint8_t *body, size_t len);

enum ctlchan_result ctlchan_pump(struct ctlchan *, ctlchan_frame_f *fn,
    void *arg, int maxreads);

/*
 * The pieces the pump is made of, for its tests.  ctlchan_fill(): one
 * recvmsg(): > 0 bytes read, 0 end of file, -1 error (errno).
 */
ssize_t ctlchan_fill(struct ctlchan *);
/*
 * The next complete frame's body: 1 (and *body, *len valid until
 * ctlchan_done()), 0 no complete frame, -1 a frame over PROTO_FRAME_MAX.
 */
int ctlchan_next(struct ctlchan *, const uint8_t **body, size_t *len);
void ctlchan_done(struct ctlchan *);
/*
 * Take the n descriptors of the frame ctlchan_next() handed out: 0 (fds[]
 * filled), 1 (they were lost on the way; fds[] is all -1), or -1 (the
 * frame came without n descriptors: the sender broke the protocol; any
 * that did come are closed).  n == 0 returns 0.
 */
int ctlchan_take_fds(struct ctlchan *, int *fds, int n);

/* Bytes queued and not yet sent. */
static inline size_t ctlchan_queued(const struct ctlchan *c)
{ return (c->cc_qbytes); }

/* Close the socket and everything held; see above.  unsent may be NULL. */
void ctlchan_close(struct ctlchan *, ctlchan_unsent_f *unsent, void *arg);

#endif

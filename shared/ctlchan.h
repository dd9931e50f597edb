/*
 * ctlchan.h: one end of a control channel (proto.h): framing, a bounded
 * outbound queue, and descriptor ownership.  Non-blocking throughout; the
 * caller's event loop calls ctlchan_flush() when the socket is writable and
 * ctlchan_fill() when it is readable.
 *
 * Ownership.  ctlchan_send() takes the message's descriptors; they are
 * closed once the sendmsg() that carries them has succeeded.  If the
 * channel is torn down first, ctlchan_close() hands each unsent message's
 * descriptors back through the callback, with the tag given to
 * ctlchan_send() (the supervisor answers those clients 503), so no
 * descriptor is lost or closed twice.  Received descriptors wait in a FIFO
 * until a decoded message takes them with ctlchan_take_fds();
 * ctlchan_close() closes any left.  A message whose descriptors the kernel
 * could not deliver (the receiver was out of descriptors) is known as
 * such: ctlchan_take_fds() says "lost" for it, so the receiver drops that
 * one message and the channel goes on.
 */
#ifndef MEDUSA_CTLCHAN_H
#define MEDUSA_CTLCHAN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fdpass.h"

#define	CTLCHAN_RFDS_MAX	64	/* received, not yet taken */

struct ctlchan_msg;

struct ctlchan {
	int			cc_fd;
	struct buf		cc_in;
	size_t			cc_cur;		/* length of the frame handed out */
	int			cc_rfds[CTLCHAN_RFDS_MAX];
	int			cc_nrfds;
	int			cc_lost;	/* messages whose fds were dropped */
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

/* One recvmsg(): > 0 bytes read, 0 end of file, -1 error (errno). */
ssize_t ctlchan_fill(struct ctlchan *);
/*
 * The next complete frame's body: 1 (and *body, *len valid until
 * ctlchan_done()), 0 no complete frame, -1 a frame over PROTO_FRAME_MAX.
 */
int ctlchan_next(struct ctlchan *, const uint8_t **body, size_t *len);
void ctlchan_done(struct ctlchan *);
/*
 * Take the n descriptors of the message just decoded: 0 (fds[] filled),
 * 1 (they were lost on the way; fds[] is all -1), or -1 (they never came:
 * the sender broke the protocol).
 */
int ctlchan_take_fds(struct ctlchan *, int *fds, int n);

/* Bytes queued and not yet sent. */
static inline size_t ctlchan_queued(const struct ctlchan *c)
{ return (c->cc_qbytes); }

/* Close the socket and everything held; see above.  unsent may be NULL. */
void ctlchan_close(struct ctlchan *, ctlchan_unsent_f *unsent, void *arg);

#endif

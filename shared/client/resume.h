/*
 * resume.h: the sequenced end-to-end stream of a resumable session
 * (issue 14, PROTOCOL.md "Sequencing"), written once for mlogin and the
 * agent.  No sockets or files (its one system call is the ring's own
 * mapping: mmap, madvise), no clock of its own (the caller passes "now"
 * in milliseconds), no logging; errors go to the caller's buffer.
 *
 * Who holds what: each end holds a struct resume.  After the first
 * linkup with "resume":true both ends count the end-to-end messages
 * (TEXT and BINARY, not "medusa:" ones, not the layer's own "ack" and
 * "resume") they send (sent) and receive (recv).  What an end sent and
 * the peer has not acknowledged stays in its replay buffer, bounded in
 * bytes (and in messages): resume_full() tells the caller to stop
 * reading its source until an ack trims it.  The buffer is one ring of
 * bytes per end, mapped at the first message (the window and
 * RESUME_RING_SLACK more: all of it is touched as a stream goes round),
 * each message kept whole (it starts over at the ring's front
 * rather than wrap), with a ring of (offset, length, kind) beside it: no
 * allocation per message (a malloc and a free per 64 KiB message cost
 * page faults that halved the throughput); it grows only when a message,
 * or a reservation (16 KiB from mlogin, 64 KiB from the agent), beyond
 * the window does not fit.  Its pages are made a
 * RESUME_POPULATE at a time as the write point first reaches them (one
 * madvise, not a page fault per 4 KiB), and the ends read their input
 * straight into it (resume_reserve: no copy into the ring, whose cold
 * pages cost the ends as much CPU again as the faults); a page that
 * cannot be touched follows it.  The layer's messages:
 *
 *	mlogin:{"type":"ack","recv":N,"window":W}
 *				I hold 1..N of yours; my replay buffer
 *				holds W bytes ("window", ours since issue
 *				14's throughput work: main's peers send
 *				none, and ignore it)
 *	mlogin:{"type":"resume","recv":N,"window":W,"link":L}
 *				after the new linkup of link L: I hold
 *				1..N; replay N+1.. to me
 *
 * Acks are what the peer waits for once its window is full, and each
 * one is a message through the reflector (a write, a wake-up of three
 * processes): one per data message halved the throughput.  So an end
 * acks after a sixteenth of the *peer's* window (RESUME_ACK_PART: what
 * is in flight on a fast path is megabytes, and the peer must not wait
 * for our ack with its window full of it), or RESUME_MAX_MSGS / 4
 * messages, and at least every RESUME_ACK_MS; never more often than
 * every RESUME_ACK_BYTES.  The peer's window is learnt from its first
 * ack, which each end sends at once after the first sequenced linkup
 * (an "ack" of 0: "window" announced).  Until it is known (a peer
 * without "window"), RESUME_ACK_BYTES, a quarter of the smallest window
 * a peer may have.
 *
 * On a linkup after the first, an end sends "resume" first, discards the
 * peer's messages until the peer's "resume" arrives, then replays what
 * the peer lacks (resume_replay) and carries on.  Each linkup names its
 * link ("link", the reflector's random id for this pairing), and a
 * resume names the link it answers: an end takes only the peer's resume
 * of its own latest link, once.  When both sides break within
 * milliseconds, an end can see two linkups on one connection (the first
 * with a peer connection already dead) and send two resumes, both of
 * which reach the peer's new connection: without the link's name the
 * second was taken as a new request and the replay sent twice (whole
 * messages repeated, then lost: the counts no longer matched).  A peer or
 * reflector that names no link is served as before.  A peer asking for a
 * message already trimmed, or for one never sent, cannot be served: the
 * session ends with a clear error, never a silent loss.
 */
#ifndef MEDUSA_RESUME_H
#define MEDUSA_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * The replay buffer's default bound (-o ResumeBuffer).  It bounds what is
 * in flight between the ends, so a stream's throughput is at most the
 * window per round trip (2 MiB per 50 ms: 40 MB/s); and a stream touches
 * the ring, the agent's queue to its command and the socket buffers to
 * about that much.  4 MiB measured 0.73-0.93x the throughput without
 * resume for 64 MiB through cat on loopback (memory touched for the
 * first time costs microseconds a page on a virtual machine: 18 ms for
 * 6 MiB on ours); 2 MiB 0.96-1.02x (bench/resume.py, session 23).
 */
#define	RESUME_DEFAULT_WINDOW	(2u << 20)	/* replay buffer, bytes */
/* The window of a peer that announces none: main's default before 2 MiB. */
#define	RESUME_UNANNOUNCED	(4u << 20)
#define	RESUME_ACK_MS		2000		/* ack at least this often */
/*
 * Ack after this many bytes received while the peer's window is unknown:
 * a quarter of the smallest window a peer may have, so that a peer whose
 * window is smaller than ours never waits for our 2 s tick.  Once known,
 * a RESUME_ACK_PART of the peer's window (128 KiB of the default 2 MiB),
 * RESUME_ACK_BYTES at least.
 */
#define	RESUME_MIN_WINDOW	(64u * 1024)	/* ResumeBuffer's bounds */
#define	RESUME_MAX_WINDOW	(1024u << 20)
#define	RESUME_ACK_BYTES	(RESUME_MIN_WINDOW / 4)
#define	RESUME_ACK_PART		16

enum resume_phase {
	RESUME_OFF = 0,		/* not sequenced (no linkup resume:true yet) */
	RESUME_LIVE,		/* sequenced, carrying on */
	RESUME_AWAIT		/* our resume sent; waiting for the peer's */
};

/*
 * The ring's room beyond the window: what is kept may pass the window by a
 * message or two (a reservation of 64 KiB, the agent's stderr as base64
 * JSON, 88 KiB), and a message that does not fit at the ring's end leaves
 * that much unused there.  (It was half the window: 1 MiB more of memory
 * touched per end and stream at the default.)
 */
#define	RESUME_RING_SLACK	(256u << 10)

/* Ring pages made (MADV_POPULATE_WRITE) this many bytes at a time. */
#define	RESUME_POPULATE		(1u << 20)

/* A link's id: up to this many bytes (the reflector's are 16 hex). */
#define	RESUME_LINK_MAX		32

/* Full at this many messages, too (keystrokes: one byte each). */
#define	RESUME_MAX_MSGS		65536u

struct resume_ent {
	size_t			off;		/* in the ring */
	size_t			len;
	bool			text;		/* TEXT, else BINARY */
};

struct resume {
	enum resume_phase	phase;
	size_t			window;		/* replay bound, bytes */
	uint64_t		sent;		/* counted messages sent */
	uint64_t		recv;		/* counted messages received */
	uint64_t		acked;		/* highest recv we acked */
	uint64_t		trimmed;	/* peer acked 1..trimmed */
	size_t			recv_bytes;	/* received since our ack */
	uint64_t		ack_at;		/* ms of our last ack */
	char			link[RESUME_LINK_MAX + 1]; /* the latest linkup's
						   id; "": none named */
	bool			link_resumed;	/* its resume taken */
	size_t			peer_window;	/* its replay bound; 0: unknown */
	bool			announce;	/* our window not yet told */
	size_t			bytes;		/* in the replay buffer */
	uint8_t			*ring;		/* the replay bytes */
	size_t			rcap;
	size_t			made;		/* ring[0, made) populated */
	size_t			wr;		/* where the next one goes */
	bool			rsv;		/* a resume_reserve() pending: */
	size_t			rsv_off, rsv_max; /* where, how much */
	struct resume_ent	*ents;		/* the messages, oldest at */
	size_t			ecap, efirst, ecount;	/* ... efirst */
};

/* What a message from the peer is to the layer. */
enum resume_ctl {
	RESUME_CTL_NONE = 0,	/* a counted message */
	RESUME_CTL_ACK,
	RESUME_CTL_RESUME,
	RESUME_CTL_BAD		/* ack/resume without a valid "recv" */
};

void resume_init(struct resume *r, size_t window);
void resume_fini(struct resume *r);

/*
 * A linkup from the reflector, of the link named link (its "link"; NULL
 * or "" when it names none; one longer than RESUME_LINK_MAX is taken as
 * none).  Returns 1 if the caller must now send resume_resume_msg() (a
 * linkup after the first), else 0.  A linkup without resume:true leaves a
 * session that was never sequenced alone.
 */
int resume_linkup(struct resume *r, bool resume, const char *link);

/* True while the replay buffer is full: stop reading the source. */
bool resume_full(const struct resume *r);
/* True while new data must be held (our resume sent, the peer's awaited). */
bool resume_holding(const struct resume *r);

/*
 * We send a counted message: keep a copy for replay (when sequenced).
 * 0, or -1 with err (out of memory).  A message read straight into the
 * ring (p as resume_reserve() gave it, n at most its max) is kept where
 * it is, without a copy.
 */
int resume_sent(struct resume *r, bool text, const uint8_t *p, size_t n,
    char *err, size_t errlen);
/*
 * Where to read up to max bytes of the next counted message straight into
 * the replay ring (then resume_sent() with that pointer): NULL when not
 * sequenced or out of memory (read into your own buffer).  Valid until
 * the next call on r; a reservation not followed by its resume_sent()
 * keeps nothing.  resume_sent() with any other pointer into the ring
 * aborts (a caller's bug: the copy could regrow the ring under it).
 */
uint8_t *resume_reserve(struct resume *r, size_t max);

/*
 * A counted message arrived.  Returns true if the caller must deliver
 * it, false if it must be dropped (awaiting the peer's resume).
 */
bool resume_received(struct resume *r, size_t n);

/*
 * Should we send an ack now?  After the first sequenced linkup (to tell
 * our window), a RESUME_ACK_PART of the peer's window received (at least
 * RESUME_ACK_BYTES), RESUME_MAX_MSGS / 4 messages, or RESUME_ACK_MS since
 * the last while any is unacked.
 */
bool resume_ack_due(const struct resume *r, uint64_t now_ms);
/*
 * "mlogin:{...}" for our ack / resume (naming our latest link, if any);
 * records it.  malloc'd or NULL.
 */
char *resume_ack_msg(struct resume *r, uint64_t now_ms);
char *resume_resume_msg(struct resume *r, uint64_t now_ms);

/*
 * Classify a parsed "mlogin:" object: ack/resume and their N in *n, the
 * peer's "window" in *window (0: none, or out of ResumeBuffer's bounds),
 * a resume's "link" in *link (a string of o's, or NULL: none named, or
 * "").
 */
enum resume_ctl resume_classify(const json_t *o, const char *type,
    uint64_t *n, size_t *window, const char **link);

/* The peer's ack of 1..n: trim.  0, or -1 with err (n never sent). */
int resume_on_ack(struct resume *r, uint64_t n, char *err, size_t errlen);
/*
 * The peer's resume from n, answering the link named link (NULL: none
 * named): trim 1..n, leave AWAIT; the caller then sends every message
 * resume_replay() yields.  0; 1 if it is not the answer to our latest
 * linkup (another link's, or a second one for ours: nothing done, the
 * caller ignores it); or -1 with err (n already trimmed or never sent:
 * the session cannot resume).
 */
int resume_on_resume(struct resume *r, uint64_t n, const char *link,
    char *err, size_t errlen);
/*
 * An ack or resume from the peer (resume_classify's ctl, n, window and
 * link), applied: the peer's window noted (when not 0), then
 * resume_on_ack or resume_on_resume; RESUME_CTL_BAD fails.  0 (after a
 * RESUME_CTL_RESUME the caller replays), 1 (a resume ignored: not the
 * answer to our latest linkup), or -1 with err: the session cannot
 * resume.
 */
int resume_on_ctl(struct resume *r, enum resume_ctl ctl, uint64_t n,
    size_t window, const char *link, char *err, size_t errlen);
/*
 * The buffered messages to replay, oldest first: start with *k = 0 and
 * call until NULL; each call gives a message's bytes (len, text, and its
 * sequence number if seq is not NULL) and moves *k on.  The pointer is
 * valid until the next resume_sent or trim.
 */
const uint8_t *resume_replay_next(const struct resume *r, size_t *k,
    bool *text, size_t *len, uint64_t *seq);


/*
 * The request header lines of an attach: "X-Medusa-Resume: 1\r\n", and
 * the token's line when token is not NULL or "".  0, or -1 with err (a
 * token that is not header-safe, or no room).
 */
int resume_headers(const char *token, char *out, size_t cap, char *err,
    size_t errlen);

/*
 * The wait before redial number attempt (0: the first, at once), in ms:
 * exponential from 100 ms, capped at RESUME_BACKOFF_CAP_MS, with jitter
 * (rnd, any 32-bit random number) over its upper half.
 */
#define	RESUME_BACKOFF_CAP_MS	3000u
unsigned resume_backoff_ms(unsigned attempt, uint32_t rnd);

#endif

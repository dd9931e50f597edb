/*
 * wsclient.h: the client end of a WebSocket to the reflector, on a libev
 * loop, for mlogin and medusa-agent: the *connection*, apart from any
 * session that runs over it.
 *
 * Life of a connection (wc_state):
 *
 *	DIALLING	xport.h: resolve, TCP connect (each address in
 *			turn), TLS handshake; all on the loop
 *	UPGRADING	the upgrade request (with X-Medusa-Ping: 1, so the
 *			reflector pings us too) is sent and the 101 awaited
 *	OPEN		messages flow; on_open was called
 *	CLOSING		our CLOSE is sent, the peer's awaited (bounded)
 *	ENDED		on_end was called, exactly once
 *
 * wsc_open() returns at once; the dial and the upgrade are bounded
 * together by wo_connect_timeout.  on_progress tells what the dial is
 * doing: at each step (for a verbose user), and once more when a step has
 * taken a second (slow == true: say it instead of silence).
 *
 * Open, each whole message (fragments reassembled, text checked for
 * UTF-8) goes to on_message; PINGs are answered; a CLOSE is answered and
 * ends the connection.  Outgoing frames are masked with a fresh random key
 * and queued when the socket cannot take them; on_drain says the queue
 * fell below the low watermark, so a producer can pause on wsc_queued().
 *
 * Liveness (as ssh's ServerAliveInterval/CountMax): wo_alive_interval
 * seconds after the last byte from the reflector, a PING goes out, and
 * another each interval after it; when wo_alive_count have gone
 * unanswered and another interval passes in silence, the connection is
 * lost.  Any byte from the reflector counts as an answer (its own PINGs
 * too).  The socket also gets TCP_USER_TIMEOUT of interval x count, so
 * data that stays unacknowledged that long ends it as well.  Bound: a
 * silent peer is noticed (count + 1) x interval seconds after its last
 * byte.
 *
 * on_end(c, err): err is NULL after a close handshake (the peer's code
 * and reason are in wc_peer_code and wc_peer_reason, code 1005 if it sent
 * none), else a message; wc_end says which kind of end it was, so that a
 * caller can tell a refusal from a lost connection (and, later, resume
 * after the latter).  After on_end the caller may wsc_free(), and may
 * open the same struct again.
 */
#ifndef MEDUSA_WSCLIENT_H
#define MEDUSA_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "wsurl.h"
#include "xport.h"

struct wsc;

typedef void wsc_message_f(struct wsc *, uint8_t opcode, uint8_t *p,
    size_t n);
typedef void wsc_end_f(struct wsc *, const char *err);
typedef void wsc_event_f(struct wsc *);
typedef void wsc_progress_f(struct wsc *, const char *what, bool slow);

struct wsc_opts {
	struct xport_opts wo_xport;
	double		wo_connect_timeout; /* s, dial + upgrade; 0: 30 */
	double		wo_alive_interval; /* s; 0: no pings of ours */
	unsigned	wo_alive_count;	/* unanswered pings before lost */
	size_t		wo_max_message;	/* 0: 16 MiB */
	size_t		wo_low_water;	/* on_drain below this */
	double		wo_close_timeout; /* s, for the peer's CLOSE reply */
	const char	*wo_extra;	/* more request header lines (CRLF each):
					   a credential, made for this dial */
};

enum wsc_state {
	WSC_IDLE = 0,
	WSC_DIALLING,
	WSC_UPGRADING,
	WSC_OPEN,
	WSC_CLOSING,
	WSC_ENDED
};

/* How a connection ended. */
enum wsc_end {
	WSC_END_NONE = 0,
	WSC_END_CLOSED,		/* a close handshake (either side began it) */
	WSC_END_DIAL,		/* could not connect or do TLS, or timed out */
	WSC_END_REFUSED,	/* the upgrade got another answer (wc_http_status) */
	WSC_END_LOST,		/* reset, EOF without CLOSE, silence, TCP timeout */
	WSC_END_PROTOCOL	/* the reflector broke the protocol */
};

struct wsc {
	enum wsc_state	wc_state;
	enum wsc_end	wc_end;
	struct xport	wc_x;
	struct ev_loop	*wc_loop;
	ev_io		wc_rio;
	ev_io		wc_wio;
	ev_timer	wc_timer;	/* the dial's deadline, then the close's */
	ev_timer	wc_slow;	/* a dial step taking a second */
	ev_timer	wc_alive;	/* liveness ticks */
	struct buf	wc_in;
	struct buf	wc_out;
	struct buf	wc_frag;
	char		wc_key[32];	/* Sec-WebSocket-Key sent */
	uint8_t		wc_frag_op;
	uint32_t	wc_frag_utf8;
	bool		wc_paused;
	double		wc_last_rx;	/* ev_now() when something last arrived */
	unsigned	wc_missed;	/* PINGs sent since then */
	int		wc_http_status;	/* of a refused upgrade */
	uint16_t	wc_peer_code;
	char		wc_peer_reason[128];
	char		wc_hostport[300];
	size_t		wc_max_message;
	size_t		wc_low_water;
	double		wc_close_timeout;
	double		wc_alive_interval;
	unsigned	wc_alive_count;
	double		wc_started;	/* ev_now() at wsc_open */
	double		wc_opened;	/* ev_now() at on_open */
	uint8_t		wc_keys[256];	/* masking keys, drawn 64 at a time */
	size_t		wc_keys_left;
	uint64_t	wc_rx_bytes;	/* payload bytes, both ways */
	uint64_t	wc_tx_bytes;
	wsc_event_f	*wc_on_open;
	wsc_message_f	*wc_on_message;
	wsc_end_f	*wc_on_end;
	wsc_event_f	*wc_on_drain;
	wsc_progress_f	*wc_on_progress;
	void		*wc_arg;
};

/*
 * Begin connecting to url.  The callbacks and wc_arg must be set before the
 * call.  0 (on_open or on_end follows), or -1 with a message in err (a
 * bad name, no TLS context: nothing to free, on_end is not called).
 */
int wsc_open(struct wsc *, struct ev_loop *, const struct wsurl *,
    const struct wsc_opts *, char *err, size_t errlen);
/*
 * Take a connected socket on which the upgrade is done (tests): OPEN at
 * once, no TLS, on_open is not called.
 */
void wsc_adopt(struct wsc *, struct ev_loop *, int fd,
    const struct wsc_opts *);
/* Send one message; -1 unless the connection is open. */
int wsc_send(struct wsc *, uint8_t opcode, const void *p, size_t n);
int wsc_send_text(struct wsc *, const char *s);
/*
 * Queue a text message to go out in the same write as the next message
 * sent, or on the loop's next turn if none comes first (the ends' acks:
 * a write and a relay of their own each cost a tenth of the throughput).
 */
int wsc_send_text_later(struct wsc *, const char *s);
/* Begin the close handshake (or abandon the dial); on_end follows. */
void wsc_close(struct wsc *, uint16_t code, const char *reason);
/* Stop or restart reading (the caller cannot take more messages). */
void wsc_pause(struct wsc *);
void wsc_resume(struct wsc *);
static inline size_t wsc_queued(const struct wsc *c) { return (c->wc_out.b_len); }
static inline bool wsc_is_open(const struct wsc *c) { return (c->wc_state == WSC_OPEN); }
/* The end's name: "closed", "lost", ... */
const char *wsc_end_name(enum wsc_end);
void wsc_free(struct wsc *);

/*
 * Once per process that streams over a wsc (mlogin, the agent), before
 * the loop: keep the C library from giving memory back to the kernel per
 * message.  An empty buf is freed (buf.h: what keeps a reflector's idle
 * sessions small), so a connection's queues, and the agent's queue to
 * its command, are freed and allocated again for about every message;
 * with glibc's default thresholds (adjusted as it goes) a buffer of 128 KiB
 * or more was an mmap and a munmap each time, a smaller one a heap trimmed
 * and grown again, each page faulted in anew: 80,000 faults and 3 times the
 * CPU of the agent for 256 MiB through cat.  Buffers up to WSC_MMAP_BELOW
 * come from the heap (the agent's queue to its command may hold 256 KiB and
 * a replay window, 2 MiB by default, in a buffer of 4), and up to
 * WSC_TRIM_ABOVE of free heap is kept: bounded by the buffers' own bounds,
 * once.
 */
#define	WSC_MMAP_BELOW		(16u << 20)
#define	WSC_TRIM_ABOVE		(32u << 20)
void wsc_process_init(void);

#endif

/*
 * wsclient.h: the client end of a WebSocket, on a libev loop, for mlogin
 * and medusa-agent.
 *
 * wsc_open() connects (TCP or TLS, xport.h), sends the upgrade request
 * (with X-Medusa-Ping: 1, so the reflector may ping us) and checks the 101,
 * blocking up to the time-out; then the connection runs on the loop.  Each
 * whole message (fragments reassembled, text checked for UTF-8) goes to
 * on_message; PINGs are answered; a CLOSE is answered and ends the
 * connection.  Outgoing frames are masked with a fresh random key and
 * queued when the socket cannot take them; on_drain says the queue fell
 * below the low watermark, so a producer can pause on wsc_queued().
 *
 * on_end is called exactly once, when the connection is over: err is NULL
 * after a close handshake (the peer's code and reason are in wc_peer_code
 * and wc_peer_reason, code 1005 if it sent none), else a message.  After
 * on_end the caller may wsc_free().
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
typedef void wsc_drain_f(struct wsc *);

struct wsc_opts {
	struct xport_opts wo_xport;
	size_t		wo_max_message;	/* 0: 16 MiB */
	size_t		wo_low_water;	/* on_drain below this */
	double		wo_close_timeout; /* s, for the peer's CLOSE reply */
};

struct wsc {
	struct xport	wc_x;
	struct ev_loop	*wc_loop;
	ev_io		wc_rio;
	ev_io		wc_wio;
	ev_timer	wc_timer;
	struct buf	wc_in;
	struct buf	wc_out;
	struct buf	wc_frag;
	uint8_t		wc_frag_op;
	uint32_t	wc_frag_utf8;
	bool		wc_close_sent;
	bool		wc_close_rcvd;
	bool		wc_paused;
	bool		wc_ended;
	bool		wc_in_cb;	/* inside a read callback */
	uint16_t	wc_peer_code;
	char		wc_peer_reason[128];
	size_t		wc_max_message;
	size_t		wc_low_water;
	double		wc_close_timeout;
	uint64_t	wc_rx_bytes;
	uint64_t	wc_tx_bytes;
	wsc_message_f	*wc_on_message;
	wsc_end_f	*wc_on_end;
	wsc_drain_f	*wc_on_drain;
	void		*wc_arg;
};

/*
 * Connect to url and upgrade.  The callbacks and wc_arg must be set before
 * the call.  0, or -1 with a message in err (and nothing to free).
 */
int wsc_open(struct wsc *, struct ev_loop *, const struct wsurl *,
    const struct wsc_opts *, char *err, size_t errlen);
/* Send one message; -1 once the connection is closing or over. */
int wsc_send(struct wsc *, uint8_t opcode, const void *p, size_t n);
int wsc_send_text(struct wsc *, const char *s);
/* Begin the close handshake; on_end follows. */
void wsc_close(struct wsc *, uint16_t code, const char *reason);
/* Stop or restart reading (the caller cannot take more messages). */
void wsc_pause(struct wsc *);
void wsc_resume(struct wsc *);
static inline size_t wsc_queued(const struct wsc *c) { return (c->wc_out.b_len); }
void wsc_free(struct wsc *);

#endif

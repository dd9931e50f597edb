/*
 * conn.h: mlogin's connection to the reflector, as the user sees it: what
 * it is waiting for while it connects (after a second, or at every step
 * with -v), what it found (-v: address, TLS, timings), and how it ended,
 * in a user's words.  The connection itself is wsclient.h; the session
 * over it is session.c, which can therefore outlive one connection.
 */
#ifndef MEDUSA_CONN_H
#define MEDUSA_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "term.h"
#include "wsclient.h"

struct conn_view {
	struct term	*cv_term;
	int		cv_verbose;
	bool		cv_quiet;
	bool		cv_said_slow;
};

/* wsclient's on_progress, through the session. */
void conn_progress(struct conn_view *, const char *what, bool slow);
/* The connection is open: with -v, where, TLS and how long it took. */
void conn_opened(struct conn_view *, const struct wsc *, bool tls);
/*
 * How a connection ended, in a user's words, into buf: the end's kind,
 * the reflector's close code and reason (a close handshake), or err.
 * Pure.
 */
const char *conn_end_words(enum wsc_end kind, uint16_t code,
    const char *reason, const char *err, char *buf, size_t len);

#endif

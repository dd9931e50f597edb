/*
 * directory.h: the worker's client of the session directory (issue 16), a
 * Redis server shared by the deployment's reflector hosts; the session
 * table (worker/session.c) claims, refreshes and releases through it and
 * the attach path looks owners up (worker/forward.c).
 *
 * Keys are "medusa:s:<account>/<id>", values "<advertise> <fence>" (fence:
 * 128 random bits in hex, so a stale owner can never refresh or delete a
 * claim that is no longer its own).  Every call is asynchronous (hiredis
 * through its libev adapter, on the worker's loop); each request has a
 * time-out (DIR_TIMEOUT) after which its callback hears DIR_DOWN and the
 * late answer is dropped, but for a claim that Redis granted late: that
 * one is released at once (no one would refresh or release it).  While
 * Redis is unreachable every request answers DIR_DOWN at once, the outage
 * is logged once (rate-limited) and counted, and the connection is
 * retried with jittered exponential back-off (0.1 s doubling to 5 s).
 */
#ifndef MEDUSA_DIRECTORY_H
#define MEDUSA_DIRECTORY_H

#include <stdint.h>

#include <ev.h>

#include "config.h"

#define	DIR_TIMEOUT	0.2		/* s, per request */
#define	DIR_FENCE_LEN	32
#define	DIR_VALUE_MAX	(CONFIG_HOSTPORT_MAX + DIR_FENCE_LEN + 2)

enum dir_result {
	DIR_OWNER = 0,		/* claimed (or refreshed, released) by us */
	DIR_OTHER = 1,		/* another host holds it: addr is filled */
	DIR_NONE = 2,		/* lookup: no claim */
	DIR_DOWN = -1		/* no answer in time, or Redis is down */
};

/* A claim or lookup's answer; addr "" unless DIR_OTHER. */
typedef void dir_cb_t(void *arg, int result, const char *addr);

struct dir_counters {
	uint64_t	dc_requests;
	uint64_t	dc_errors;	/* DIR_DOWN answers */
	uint64_t	dc_timeouts;
	uint64_t	dc_connects;	/* successful (re)connections */
	uint64_t	dc_takeovers;	/* stale claims of this host taken */
};

/* 0, or -1 (a bad URL).  The connection is made in the background. */
int dir_init(struct ev_loop *, const char *url, const char *advertise,
    double ttl);
void dir_fini(void);
/* Whether a directory is configured. */
int dir_enabled(void);
/*
 * Whether requests are still on their way to a connected Redis (sent and
 * not answered, or releases waiting for room): a worker on its way out
 * waits for them, for a bounded time (worker/main.c), so that a stopping
 * host's claims are deleted rather than left to lapse.
 */
int dir_busy(void);
/* A fresh fence (fence[DIR_FENCE_LEN + 1]). */
void dir_fence(char *fence);

/*
 * SET key "<advertise> <fence>" NX PX ttl; taken: GET, DIR_OTHER (addr
 * filled), or, if the claim is this host's under another fence (a
 * session this host no longer has), take it over: DIR_OWNER.
 */
void dir_claim(const char *key, const char *fence, dir_cb_t *, void *arg);
/* PEXPIRE the key if it still holds our fence; cb may be NULL. */
void dir_refresh(const char *key, const char *fence, dir_cb_t *, void *arg);
/*
 * How many refreshes may be issued now without crowding the backlog (a
 * quarter of it stays for claims, lookups and releases); 0 while down.
 */
unsigned dir_refresh_room(void);
/* DEL the key if it still holds our fence; cb may be NULL. */
void dir_release(const char *key, const char *fence, dir_cb_t *, void *arg);
/* GET the key's owner. */
void dir_lookup(const char *key, dir_cb_t *, void *arg);

const struct dir_counters *dir_counters(void);

#endif

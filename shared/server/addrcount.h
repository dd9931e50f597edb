/*
 * addrcount.h: how many connections each client address has, for the
 * per-address limit.  A small hash table keyed by the host part of a peer
 * address ("1.2.3.4:5" and "[::1]:5" count as "1.2.3.4" and "::1"); an
 * entry goes away when its count returns to zero, so memory follows the
 * number of distinct addresses connected now.
 */
#ifndef MEDUSA_ADDRCOUNT_H
#define MEDUSA_ADDRCOUNT_H

#include <stddef.h>

#define	ADDRCOUNT_HOST_MAX	64

struct addrcount;

struct addrcount *addrcount_new(void);
void addrcount_free(struct addrcount *);
/* The host part of a peer address string ("host:port", "[v6]:port"). */
void addrcount_host(const char *peer, char *out, size_t cap);
/* Count one more connection from host; returns the new count (0: ENOMEM). */
unsigned addrcount_add(struct addrcount *, const char *host);
/* One connection from host ended. */
void addrcount_del(struct addrcount *, const char *host);
/* Connections from host now. */
unsigned addrcount_get(const struct addrcount *, const char *host);
/* Distinct addresses counted. */
size_t addrcount_size(const struct addrcount *);

#endif

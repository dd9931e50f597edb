/*
 * netutil.h: small socket and time helpers shared by the programs.
 */
#ifndef MEDUSA_NETUTIL_H
#define MEDUSA_NETUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Milliseconds since the epoch (wall clock). */
uint64_t netutil_now_ms(void);
/* ISO 8601 UTC with milliseconds into out[32]. */
void netutil_iso8601(uint64_t ms, char *out, size_t cap);
int netutil_nonblock(int fd);
/* p[0, n) as lower-case hex into out, which holds 2n + 1 (NUL-ended). */
void netutil_hex(const uint8_t *p, size_t n, char *out);
/* TCP_NODELAY and keep-alive on an accepted TCP socket; errors ignored. */
void netutil_tune_tcp(int fd);
/* "addr:port" ("[v6]:port") of a socket address into out. */
void netutil_addr_str(const struct sockaddr *sa, char *out, size_t cap);
/* The peer's address of a connected socket. */
void netutil_peer_str(int fd, char *out, size_t cap);
/*
 * Take fd out of the epoll set epfd before closing a descriptor whose file
 * another process may still hold (see netutil.c).  0 (also when fd was
 * not in it), or -1 when epfd is no epoll set.
 */
int netutil_epoll_forget(int epfd, int fd);
/* The lowest descriptor of this process that is an epoll set, or -1. */
int netutil_epoll_find(void);

#endif

/*
 * fdtest.h: descriptors for the tests of fdpass.h and ctlchan.h: pipes to
 * send (and to check that what arrived is the same file), a raw sender of
 * any number of descriptors, and a count of the open ones (for leaks).
 */
#ifndef MEDUSA_FDTEST_H
#define MEDUSA_FDTEST_H

#include <sys/stat.h>

#include "fdpass.h"

/* Pipe pairs; the write ends are the ones sent. */
struct pipes {
	int		rd[FDPASS_MAX], wr[FDPASS_MAX];
	struct stat	st[FDPASS_MAX];
	int		n;
};

void pipes_open(struct pipes *, int n);
/*
 * fd arrived for pipe i: the same file, close-on-exec, and what is written
 * into it comes out of the pipe's read end.  Closes fd.
 */
void check_received(const struct pipes *, int i, int fd);
void pipes_close(struct pipes *);

int fd_is_open(int fd);
int fd_is_closed(int fd);
int count_fds(void);
/*
 * sendmsg() n (up to 64) descriptors of /dev/null with the bytes p[0..len)
 * from the raw socket sock, past any check of ours.
 */
void raw_send_fds(int sock, int n, const void *p, size_t len);

#endif

/*
 * fdpass.h: sendmsg()/recvmsg() with SCM_RIGHTS, checked.
 *
 * fdpass_send() returns what sendmsg() returned; once it returns > 0 the
 * descriptors are in the receiver's hands and the caller may close its
 * copies.  fdpass_recv() takes the descriptors that came with the bytes
 * (close-on-exec set) into fds[].  If the kernel had to drop some
 * (MSG_CTRUNC: the receiver is out of descriptors, or the control buffer
 * was too small) the message they belonged to has lost them all: those
 * that did arrive are closed, *truncated is set, and the bytes are
 * returned as usual, so the stream itself stays in step.
 */
#ifndef MEDUSA_FDPASS_H
#define MEDUSA_FDPASS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define	FDPASS_MAX	16	/* descriptors in one sendmsg() */

ssize_t fdpass_send(int sock, const struct iovec *iov, int iovcnt,
    const int *fds, int nfds);
ssize_t fdpass_recv(int sock, void *buf, size_t len, int *fds, int *nfds,
    int *truncated);

#endif

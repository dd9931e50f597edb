/*
 * fdpass.c: descriptor passing over UNIX sockets; see fdpass.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "fdpass.h"

ssize_t
fdpass_send(int sock, const struct iovec *iov, int iovcnt, const int *fds,
    int nfds)
{
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(sizeof (int) * FDPASS_MAX)];
	} cm;
	struct msghdr msg;
	ssize_t n;

	if (nfds < 0 || nfds > FDPASS_MAX) {
		errno = EINVAL;
		return (-1);
	}
	memset(&msg, 0, sizeof (msg));
	msg.msg_iov = (struct iovec *)(uintptr_t)iov;
	msg.msg_iovlen = (size_t)iovcnt;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof (cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof (int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof (int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof (int) * (size_t)nfds);
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	return (n);
}

ssize_t
fdpass_recv(int sock, void *buf, size_t len, int *fds, int *nfds,
    int *truncated)
{
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(sizeof (int) * FDPASS_MAX)];
	} cm;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t n;

	*nfds = 0;
	*truncated = 0;
	iov.iov_base = buf;
	iov.iov_len = len;
	memset(&msg, 0, sizeof (msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof (cm.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return (n);
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof (int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof (int),
			    sizeof (int));
			if (*nfds < FDPASS_MAX)
				fds[(*nfds)++] = fd;
			else
				(void) close(fd);
		}
	}
	if (msg.msg_flags & MSG_CTRUNC) {
		for (int i = 0; i < *nfds; i++)
			(void) close(fds[i]);
		*nfds = 0;
		*truncated = 1;
	}
	return (n);
}

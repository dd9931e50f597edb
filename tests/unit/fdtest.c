/*
 * fdtest.c: descriptors for the tests of fdpass.h and ctlchan.h; see
 * fdtest.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "fdtest.h"
#include "suites.h"

void
pipes_open(struct pipes *pp, int n)
{
	pp->n = n;
	for (int i = 0; i < n; i++) {
		int p[2];

		ck_assert_int_eq(pipe(p), 0);
		pp->rd[i] = p[0];
		pp->wr[i] = p[1];
		ck_assert_int_eq(fstat(p[1], &pp->st[i]), 0);
	}
}

void
check_received(const struct pipes *pp, int i, int fd)
{
	struct stat st;
	char c = (char)('A' + i), got = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_ino, pp->st[i].st_ino);
	ck_assert_uint_eq(st.st_dev, pp->st[i].st_dev);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(write(fd, &c, 1), 1);
	ck_assert_int_eq(read(pp->rd[i], &got, 1), 1);
	ck_assert_int_eq(got, c);
	close(fd);
}

void
pipes_close(struct pipes *pp)
{
	for (int i = 0; i < pp->n; i++)
		close(pp->rd[i]);
}

int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

int
fd_is_closed(int fd)
{
	errno = 0;
	return (fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

int
count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 4096; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return (n);
}

void
raw_send_fds(int sock, int n, const void *p, size_t len)
{
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(sizeof (int) * 64)];
	} cm;
	struct msghdr msg;
	struct iovec iov = { (void *)(uintptr_t)p, len };
	struct cmsghdr *c;
	int fds[64];

	ck_assert_int_le(n, 64);
	for (int i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDONLY);
		ck_assert_int_ge(fds[i], 0);
	}
	memset(&cm, 0, sizeof (cm));
	memset(&msg, 0, sizeof (msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof (int) * (size_t)n);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof (int) * (size_t)n);
	memcpy(CMSG_DATA(c), fds, sizeof (int) * (size_t)n);
	ck_assert_int_eq(sendmsg(sock, &msg, 0), (ssize_t)len);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * test_fdpass.c: fdpass.h over real socketpairs: descriptors that arrive
 * with their bytes (the same files, close-on-exec), counts refused,
 * descriptors the kernel had to drop (MSG_CTRUNC), the errors, and where
 * the kernel ends a read, which ctlchan.h relies on to give each frame its
 * own descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "fdpass.h"
#include "fdtest.h"
#include "suites.h"

static void
sockpair(int s[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
}

/*
 * Bytes in one or several iovecs, with 0 to FDPASS_MAX descriptors: the
 * bytes arrive in order, each descriptor is the file sent, and the
 * sender's copies stay the sender's.
 */
START_TEST(test_round_trip)
{
	static const struct {
		int		nfds;
		const char	*parts[3];	/* the iovecs; NULL ends */
		const char	*want;
	} rows[] = {
		{ 0, { "hello", NULL }, "hello" },
		{ 1, { "hello", NULL }, "hello" },
		{ 2, { "he", "ll", "o" }, "hello" },
		{ 3, { "", "x", NULL }, "x" },
		{ FDPASS_MAX, { "all", " of ", "them" }, "all of them" },
	};
	struct iovec iov[3];
	struct pipes pp;
	char buf[64];
	int s[2], fds[FDPASS_MAX], nfds = -1, trunc = -1, niov = 0, before;
	size_t len = strlen(rows[_i].want);

	before = count_fds();
	sockpair(s);
	pipes_open(&pp, rows[_i].nfds);
	for (; niov < 3 && rows[_i].parts[niov] != NULL; niov++) {
		iov[niov].iov_base = (void *)(uintptr_t)rows[_i].parts[niov];
		iov[niov].iov_len = strlen(rows[_i].parts[niov]);
	}
	ck_assert_int_eq(fdpass_send(s[0], iov, niov, pp.wr, rows[_i].nfds),
	    (ssize_t)len);
	for (int i = 0; i < rows[_i].nfds; i++)
		ck_assert(fd_is_open(pp.wr[i]));	/* still the caller's */
	memset(buf, 0, sizeof (buf));
	ck_assert_int_eq(fdpass_recv(s[1], buf, sizeof (buf), fds, &nfds,
	    &trunc), (ssize_t)len);
	ck_assert_str_eq(buf, rows[_i].want);
	ck_assert_int_eq(nfds, rows[_i].nfds);
	ck_assert_int_eq(trunc, 0);
	for (int i = 0; i < nfds; i++) {
		check_received(&pp, i, fds[i]);
		close(pp.wr[i]);
	}
	pipes_close(&pp);
	close(s[0]);
	close(s[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* Counts outside 0..FDPASS_MAX are refused: nothing is sent. */
START_TEST(test_counts_refused)
{
	static const int counts[] = { -1, FDPASS_MAX + 1, 64, -1000 };
	struct iovec iov = { (void *)"x", 1 };
	int s[2], many[64] = { 0 };
	char c;

	sockpair(s);
	errno = 0;
	ck_assert_int_eq(fdpass_send(s[0], &iov, 1, many, counts[_i]), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(recv(s[1], &c, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(s[0]);
	close(s[1]);
}
END_TEST

/*
 * Descriptors the kernel had to drop: more than fdpass_recv() takes
 * (FDPASS_MAX), or more than the receiver may open.  The bytes still come,
 * the descriptors that did are closed, and the message is known to have
 * lost them; nothing leaks.
 */
START_TEST(test_truncated)
{
	static const struct {
		int	sent;
		int	room;		/* descriptors the receiver may open */
		int	nfds, trunc;
	} rows[] = {
		{ FDPASS_MAX, -1, FDPASS_MAX, 0 },
		{ FDPASS_MAX + 1, -1, 0, 1 },
		{ 40, -1, 0, 1 },
		{ 2, 1, 0, 1 },		/* out of descriptors: one of two */
		{ 2, 0, 0, 1 },
	};
	struct rlimit rl, low;
	int s[2], fds[FDPASS_MAX], nfds = -1, trunc = -1, before, filler[256];
	int nf = 0, t;
	char c[5];

	sockpair(s);
	before = count_fds();
	raw_send_fds(s[0], rows[_i].sent, "\0\0\0\1x", 5);
	if (rows[_i].room >= 0) {
		/* Leave exactly `room` descriptors free. */
		ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
		low = rl;
		low.rlim_cur = 128;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
		while ((t = open("/dev/null", O_RDONLY)) >= 0)
			filler[nf++] = t;
		for (int i = 0; i < rows[_i].room; i++)
			(void) close(filler[--nf]);
	}
	ck_assert_int_eq(fdpass_recv(s[1], c, 5, fds, &nfds, &trunc), 5);
	while (nf > 0)
		(void) close(filler[--nf]);
	if (rows[_i].room >= 0)
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(c[4], 'x');
	ck_assert_int_eq(nfds, rows[_i].nfds);
	ck_assert_int_eq(trunc, rows[_i].trunc);
	for (int i = 0; i < nfds; i++) {
		ck_assert(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		close(fds[i]);
	}
	ck_assert_int_eq(count_fds(), before);
	close(s[0]);
	close(s[1]);
}
END_TEST

/*
 * Where the kernel ends a read on an AF_UNIX stream: right after the
 * bytes of a sendmsg() whose descriptors it delivered, so that no read
 * holds two senders' descriptors, nor bytes after theirs (ctlchan.h).
 * Each row: three sendmsg()s of two bytes with so many descriptors each,
 * and what each read then returns.
 */
START_TEST(test_read_boundaries)
{
	static const struct {
		int		fds[3];
		const char	*reads[3];	/* bytes per read */
		int		rfds[3];	/* descriptors per read */
	} rows[] = {
		{ { 0, 0, 0 }, { "aabbcc", NULL }, { 0 } },
		{ { 1, 1, 1 }, { "aa", "bb", "cc" }, { 1, 1, 1 } },
		{ { 0, 1, 0 }, { "aabb", "cc", NULL }, { 1, 0 } },
		{ { 1, 0, 0 }, { "aa", "bbcc", NULL }, { 1, 0 } },
		{ { 0, 0, 2 }, { "aabbcc", NULL }, { 2 } },
		{ { 2, 0, 3 }, { "aa", "bbcc", NULL }, { 2, 3 } },
	};
	static const char *bytes[] = { "aa", "bb", "cc" };
	int s[2], fds[FDPASS_MAX], nfds, trunc, before = count_fds();
	char buf[64];

	sockpair(s);
	for (int i = 0; i < 3; i++)
		raw_send_fds(s[0], rows[_i].fds[i], bytes[i], 2);
	for (int r = 0; r < 3 && rows[_i].reads[r] != NULL; r++) {
		ssize_t n;

		memset(buf, 0, sizeof (buf));
		n = fdpass_recv(s[1], buf, sizeof (buf), fds, &nfds, &trunc);
		ck_assert_msg(n == (ssize_t)strlen(rows[_i].reads[r]) &&
		    strcmp(buf, rows[_i].reads[r]) == 0, "row %d read %d: %s",
		    _i, r, buf);
		ck_assert_int_eq(nfds, rows[_i].rfds[r]);
		ck_assert_int_eq(trunc, 0);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	}
	ck_assert_int_eq(recv(s[1], buf, 1, MSG_DONTWAIT), -1);
	close(s[0]);
	close(s[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/*
 * Errors, on the end we hold: nothing to read yet (EAGAIN: it never
 * blocks), the peer gone (end of file; EPIPE to a sender, and no
 * SIGPIPE), not a socket.
 */
START_TEST(test_errors)
{
	static const struct {
		int		peer_closed;
		int		not_socket;
		ssize_t		recv_want;
		int		recv_errno;
		ssize_t		send_want;
		int		send_errno;
	} rows[] = {
		{ 0, 0, -1, EAGAIN, 1, 0 },
		{ 1, 0, 0, 0, -1, EPIPE },
		{ 0, 1, -1, ENOTSOCK, -1, ENOTSOCK },
	};
	struct iovec iov = { (void *)"x", 1 };
	int p[2], fds[FDPASS_MAX], nfds = -1, trunc = -1;
	char buf[8];
	void (*old)(int) = signal(SIGPIPE, SIG_DFL);

	if (rows[_i].not_socket)
		ck_assert_int_eq(pipe(p), 0);
	else
		sockpair(p);
	if (rows[_i].peer_closed) {
		close(p[1]);
		p[1] = -1;
	}
	errno = 0;
	ck_assert_int_eq(fdpass_recv(p[0], buf, sizeof (buf), fds, &nfds,
	    &trunc), rows[_i].recv_want);
	if (rows[_i].recv_want < 0)
		ck_assert_int_eq(errno, rows[_i].recv_errno);
	ck_assert_int_eq(nfds, 0);
	ck_assert_int_eq(trunc, 0);
	errno = 0;
	ck_assert_int_eq(fdpass_send(rows[_i].not_socket ? p[1] : p[0], &iov,
	    1, NULL, 0), rows[_i].send_want);
	if (rows[_i].send_want < 0)
		ck_assert_int_eq(errno, rows[_i].send_errno);
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	(void) signal(SIGPIPE, old);
}
END_TEST

Suite *
fdpass_suite(void)
{
	Suite *s = suite_create("fdpass");
	TCase *tc = tcase_create("fdpass");

	tcase_add_loop_test(tc, test_round_trip, 0, 5);
	tcase_add_loop_test(tc, test_counts_refused, 0, 4);
	tcase_add_loop_test(tc, test_truncated, 0, 5);
	tcase_add_loop_test(tc, test_read_boundaries, 0, 6);
	tcase_add_loop_test(tc, test_errors, 0, 3);
	suite_add_tcase(s, tc);
	return (s);
}

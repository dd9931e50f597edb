/*
 * test_netutil.c: netutil.h: times as ISO 8601, socket addresses as text
 * (and a peer's, of real sockets), non-blocking mode, the TCP options of
 * an accepted socket, and the clock.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ev.h>

#include "netutil.h"
#include "suites.h"

/* Milliseconds since the epoch, as /status and the logs write them. */
START_TEST(test_iso8601)
{
	static const struct {
		uint64_t	ms;
		size_t		cap;
		const char	*want;
	} rows[] = {
		{ 0, 32, "1970-01-01T00:00:00.000Z" },
		{ 1, 32, "1970-01-01T00:00:00.001Z" },
		{ 999, 32, "1970-01-01T00:00:00.999Z" },
		{ 951782400123ull, 32, "2000-02-29T00:00:00.123Z" },
		{ 1700000000999ull, 32, "2023-11-14T22:13:20.999Z" },
		{ 1795564799000ull, 32, "2026-11-24T23:59:59.000Z" },
		{ 4102444799999ull, 32, "2099-12-31T23:59:59.999Z" },
		{ 253402300799999ull, 32, "9999-12-31T23:59:59.999Z" },
		/* Cut to the buffer, and still a string. */
		{ 0, 11, "1970-01-01" },
		{ 0, 1, "" },
	};
	char out[32];

	memset(out, 'x', sizeof (out));
	netutil_iso8601(rows[_i].ms, out, rows[_i].cap);
	ck_assert_str_eq(out, rows[_i].want);
}
END_TEST

/* Bytes as hex: link ids, nonces. */
static const struct {
	const char	*in;
	size_t		n;
	const char	*want;
} hexes[] = {
	{ "", 0, "" },
	{ "\x00", 1, "00" },
	{ "\xff", 1, "ff" },
	{ "\x0a\xb0", 2, "0ab0" },
	{ "\x01\x23\x45\x67\x89\xab\xcd\xef", 8, "0123456789abcdef" },
	{ "\x00\x00", 2, "0000" },	/* a NUL is a byte like another */
};

START_TEST(test_hex)
{
	char out[20];

	memset(out, 'x', sizeof (out));
	netutil_hex((const uint8_t *)hexes[_i].in, hexes[_i].n, out);
	ck_assert_str_eq(out, hexes[_i].want);
	ck_assert_int_eq(out[2 * hexes[_i].n + 1], 'x');	/* no more */
}
END_TEST

/* Socket addresses as the logs and request ids show them. */
START_TEST(test_addr_str)
{
	static const struct {
		int		family;
		const char	*addr;
		uint16_t	port;
		size_t		cap;
		const char	*want;
	} rows[] = {
		{ AF_INET, "127.0.0.1", 8381, 64, "127.0.0.1:8381" },
		{ AF_INET, "0.0.0.0", 0, 64, "0.0.0.0:0" },
		{ AF_INET, "255.255.255.255", 65535, 64, "255.255.255.255:65535" },
		{ AF_INET6, "::1", 443, 64, "[::1]:443" },
		{ AF_INET6, "::", 0, 64, "[::]:0" },
		{ AF_INET6, "2001:db8::1", 8381, 64, "[2001:db8::1]:8381" },
		{ AF_INET6, "::ffff:10.0.0.1", 80, 64, "[::ffff:10.0.0.1]:80" },
		{ AF_INET6, "fe80:1:2:3:4:5:6:7", 1, 64,
		    "[fe80:1:2:3:4:5:6:7]:1" },
		{ AF_UNIX, NULL, 0, 64, "unix" },
		{ AF_UNSPEC, NULL, 0, 64, "unknown" },
		{ AF_PACKET, NULL, 0, 64, "unknown" },
		/* Cut to the buffer, and still a string. */
		{ AF_INET, "127.0.0.1", 8381, 8, "127.0.0" },
		{ AF_INET6, "::1", 443, 4, "[::" },
	};
	struct sockaddr_storage ss;
	char out[64];

	memset(&ss, 0, sizeof (ss));
	ss.ss_family = (sa_family_t)rows[_i].family;
	if (rows[_i].family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		ck_assert_int_eq(inet_pton(AF_INET, rows[_i].addr,
		    &s4->sin_addr), 1);
		s4->sin_port = htons(rows[_i].port);
	} else if (rows[_i].family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		ck_assert_int_eq(inet_pton(AF_INET6, rows[_i].addr,
		    &s6->sin6_addr), 1);
		s6->sin6_port = htons(rows[_i].port);
	}
	memset(out, 'x', sizeof (out));
	netutil_addr_str((struct sockaddr *)&ss, out, rows[_i].cap);
	ck_assert_str_eq(out, rows[_i].want);
}
END_TEST

/* A TCP connection on loopback: its two ends and their ports. */
static void
tcp_pair(int *client, int *server, int *lfd, uint16_t *cport)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof (sa);

	memset(&sa, 0, sizeof (sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(*lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(*lfd, (struct sockaddr *)&sa, sizeof (sa)), 0);
	ck_assert_int_eq(listen(*lfd, 1), 0);
	ck_assert_int_eq(getsockname(*lfd, (struct sockaddr *)&sa, &sl), 0);
	ck_assert_int_ge(*client = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(*client, (struct sockaddr *)&sa, sizeof (sa)),
	    0);
	ck_assert_int_ge(*server = accept(*lfd, NULL, NULL), 0);
	sl = sizeof (sa);
	ck_assert_int_eq(getsockname(*client, (struct sockaddr *)&sa, &sl), 0);
	*cport = ntohs(sa.sin_port);
}

/* The peer of a real socket, or "unknown" where there is none. */
START_TEST(test_peer_str)
{
	enum { TCP, UNIX_PAIR, LISTENER, PIPE, CLOSED } kind = _i;
	int client = -1, server = -1, lfd = -1, p[2] = { -1, -1 }, fd = -1;
	uint16_t cport = 0;
	char out[64], want[64];

	switch (kind) {
	case TCP:
		tcp_pair(&client, &server, &lfd, &cport);
		fd = server;
		snprintf(want, sizeof (want), "127.0.0.1:%u", cport);
		break;
	case UNIX_PAIR:
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
		fd = p[0];
		snprintf(want, sizeof (want), "unix");
		break;
	case LISTENER:			/* no peer: ENOTCONN */
		tcp_pair(&client, &server, &lfd, &cport);
		fd = lfd;
		snprintf(want, sizeof (want), "unknown");
		break;
	case PIPE:			/* not a socket */
		ck_assert_int_eq(pipe(p), 0);
		fd = p[0];
		snprintf(want, sizeof (want), "unknown");
		break;
	case CLOSED:
		fd = -1;
		snprintf(want, sizeof (want), "unknown");
		break;
	}
	netutil_peer_str(fd, out, sizeof (out));
	ck_assert_str_eq(out, want);
	for (int i = 0; i < 2; i++) {
		if (p[i] >= 0)
			close(p[i]);
	}
	if (client >= 0) {
		close(client);
		close(server);
		close(lfd);
	}
}
END_TEST

/* O_NONBLOCK is added, other flags kept; a bad descriptor is -1. */
START_TEST(test_nonblock)
{
	int p[2], fl;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[1], F_SETFL, O_APPEND), 0);
	for (int i = 0; i < 2; i++) {		/* twice: idempotent */
		ck_assert_int_eq(netutil_nonblock(p[1]), 0);
		fl = fcntl(p[1], F_GETFL);
		ck_assert(fl & O_NONBLOCK);
		ck_assert(fl & O_APPEND);
	}
	ck_assert(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	close(p[0]);
	close(p[1]);
	errno = 0;
	ck_assert_int_eq(netutil_nonblock(-1), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static int
sockopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof (v);

	ck_assert_int_eq(getsockopt(fd, level, name, &v, &l), 0);
	return (v);
}

/* Options an accepted connection gets: no Nagle, keep-alive at 60/15/4. */
START_TEST(test_tune_tcp)
{
	static const struct {
		int	level, name, want;
	} rows[] = {
		{ IPPROTO_TCP, TCP_NODELAY, 1 },
		{ SOL_SOCKET, SO_KEEPALIVE, 1 },
		{ IPPROTO_TCP, TCP_KEEPIDLE, 60 },
		{ IPPROTO_TCP, TCP_KEEPINTVL, 15 },
		{ IPPROTO_TCP, TCP_KEEPCNT, 4 },
	};
	int client, server, lfd, p[2];
	uint16_t cport;

	tcp_pair(&client, &server, &lfd, &cport);
	netutil_tune_tcp(server);
	for (size_t i = 0; i < NELEM(rows); i++)
		ck_assert_msg(sockopt(server, rows[i].level, rows[i].name) ==
		    rows[i].want, "option %zu", i);
	/* Not TCP: the errors are ignored, the socket untouched. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
	netutil_tune_tcp(p[0]);
	ck_assert_int_eq(sockopt(p[0], SOL_SOCKET, SO_KEEPALIVE), 1);
	netutil_tune_tcp(-1);
	close(p[0]);
	close(p[1]);
	close(client);
	close(server);
	close(lfd);
}
END_TEST

/* The wall clock, in milliseconds. */
START_TEST(test_now_ms)
{
	struct timespec a, b;
	uint64_t ms;

	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &a), 0);
	ms = netutil_now_ms();
	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &b), 0);
	ck_assert_uint_ge(ms, (uint64_t)a.tv_sec * 1000 +
	    (uint64_t)a.tv_nsec / 1000000);
	ck_assert_uint_le(ms, (uint64_t)b.tv_sec * 1000 +
	    (uint64_t)b.tv_nsec / 1000000);
}
END_TEST

/*
 * netutil_epoll_forget() then close(): a watched socket whose file another
 * reference keeps open (another process's copy: a dup() here) must leave
 * the epoll set, so that no event of it comes after the close.  The rows
 * without it document why: close() alone leaves such a socket in the set.
 */
static const struct {
	bool	cw_forget;	/* netutil_epoll_forget() before close() */
	bool	cw_other;	/* another reference to the file lives on */
	int	cw_events;	/* events from the set after the close */
} cw_cases[] = {
	{ true, true, 0 },
	{ true, false, 0 },
	{ false, true, 1 },	/* the stray libev would rebuild its set for */
	{ false, false, 0 },
};

START_TEST(test_close_watched)
{
	struct epoll_event ev, got[4];
	int sv[2], ep, other = -1;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_ge(ep = epoll_create1(EPOLL_CLOEXEC), 0);
	memset(&ev, 0, sizeof (ev));
	ev.events = EPOLLIN;
	ev.data.fd = sv[0];
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev), 0);
	if (cw_cases[_i].cw_other)
		ck_assert_int_ge(other = dup(sv[0]), 0);
	if (cw_cases[_i].cw_forget)
		ck_assert_int_eq(netutil_epoll_forget(ep, sv[0]), 0);
	ck_assert_int_eq(close(sv[0]), 0);
	/* The file readable, where it lives on (else EPIPE). */
	(void) send(sv[1], "x", 1, MSG_NOSIGNAL);
	ck_assert_int_eq(epoll_wait(ep, got, 4, 0), cw_cases[_i].cw_events);
	if (other >= 0)
		(void) close(other);
	(void) close(sv[1]);
	(void) close(ep);
}
END_TEST

static void
cw_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void) revents;
	*(int *)w->data += 1;
	ev_io_stop(loop, w);
}

/*
 * libev copes with an entry taken out behind its back: a new socket that
 * gets the same number and a watcher is watched (its EPOLL_CTL_MOD fails
 * with ENOENT and it adds instead), the old file's events never reach it,
 * and libev keeps its set (without the EPOLL_CTL_DEL, the old file's
 * event makes it throw the set away and build another: what costs a
 * worker holding many connections an epoll_ctl() for each).
 */
START_TEST(test_close_watched_libev)
{
	struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
	ev_io w;
	struct epoll_event ev;
	int a[2], b[2], c[2], other, fired = 0, ep, first;

	ck_assert_ptr_nonnull(loop);
	ck_assert_int_ge(ep = netutil_epoll_find(), 0);	/* libev's */
	ck_assert_int_ge(first = dup(ep), 0);	/* its set, even if replaced */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	ck_assert_int_ge(other = dup(a[0]), 0);
	ev_io_init(&w, cw_read_cb, a[0], EV_READ);
	w.data = &fired;
	ev_io_start(loop, &w);
	ck_assert_int_eq(write(a[1], "1", 1), 1);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(fired, 1);
	ck_assert_int_eq(netutil_epoll_forget(ep, a[0]), 0);
	ck_assert_int_eq(close(a[0]), 0);
	/* The lowest free number: the one just closed. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	ck_assert_int_eq(b[0], a[0]);
	ck_assert_int_eq(write(a[1], "2", 1), 1);	/* the old file */
	ev_io_init(&w, cw_read_cb, b[0], EV_READ);
	ev_io_start(loop, &w);
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(fired, 1);		/* nothing for the new one */
	ck_assert_int_eq(write(b[1], "3", 1), 1);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(fired, 2);
	/* A socket watched now goes into the set libev began with. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
	ck_assert_int_eq(write(c[1], "4", 1), 1);
	ev_io_init(&w, cw_read_cb, c[0], EV_READ);
	ev_io_start(loop, &w);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(fired, 3);
	memset(&ev, 0, sizeof (ev));
	ev.events = EPOLLIN;
	ck_assert_int_eq(epoll_ctl(first, EPOLL_CTL_ADD, c[0], &ev), -1);
	ck_assert_int_eq(errno, EEXIST);
	(void) close(first);
	(void) close(c[0]);
	(void) close(c[1]);
	ev_loop_destroy(loop);
	ck_assert_int_eq(netutil_epoll_find(), -1);
	(void) close(other);
	(void) close(a[1]);
	(void) close(b[0]);
	(void) close(b[1]);
}
END_TEST

/* netutil_epoll_forget()'s answers: -1 only when epfd is no epoll set. */
static const struct {
	int	ef_epfd;	/* 0 an epoll set, 1 a socket, 2 closed, -1 */
	int	ef_fd;		/* 0 in the set, 1 not in it */
	int	ef_want;
} ef_cases[] = {
	{ 0, 0, 0 },
	{ 0, 1, 0 },		/* ENOENT: nothing to take out */
	{ 1, 0, -1 },		/* EINVAL */
	{ 2, 0, -1 },		/* EBADF */
	{ -1, 0, -1 },
};

START_TEST(test_epoll_forget_args)
{
	struct epoll_event ev;
	int sv[2], ep, bad, epfd;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_ge(ep = epoll_create1(EPOLL_CLOEXEC), 0);
	ck_assert_int_ge(bad = dup(sv[1]), 0);
	memset(&ev, 0, sizeof (ev));
	ev.events = EPOLLIN;
	if (ef_cases[_i].ef_fd == 0)
		ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev), 0);
	switch (ef_cases[_i].ef_epfd) {
	case 0:
		epfd = ep;
		break;
	case 1:
		epfd = bad;
		break;
	case 2:
		(void) close(bad);
		epfd = bad;
		bad = -1;
		break;
	default:
		epfd = -1;
	}
	ck_assert_int_eq(netutil_epoll_forget(epfd, sv[0]),
	    ef_cases[_i].ef_want);
	if (bad >= 0)
		(void) close(bad);
	(void) close(ep);
	(void) close(sv[0]);
	(void) close(sv[1]);
}
END_TEST

Suite *
netutil_suite(void)
{
	Suite *s = suite_create("netutil");
	TCase *tc = tcase_create("netutil");

	tcase_add_loop_test(tc, test_iso8601, 0, 10);
	tcase_add_loop_test(tc, test_hex, 0,
	    sizeof (hexes) / sizeof (hexes[0]));
	tcase_add_loop_test(tc, test_addr_str, 0, 13);
	tcase_add_loop_test(tc, test_peer_str, 0, 5);
	tcase_add_test(tc, test_nonblock);
	tcase_add_test(tc, test_tune_tcp);
	tcase_add_test(tc, test_now_ms);
	tcase_add_loop_test(tc, test_close_watched, 0,
	    sizeof (cw_cases) / sizeof (cw_cases[0]));
	tcase_add_test(tc, test_close_watched_libev);
	tcase_add_loop_test(tc, test_epoll_forget_args, 0,
	    sizeof (ef_cases) / sizeof (ef_cases[0]));
	suite_add_tcase(s, tc);
	return (s);
}

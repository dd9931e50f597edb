/*
 * test_sdnotify.c: sdnotify.h, notifications to the service manager.
 *
 * The parser against a table of NOTIFY_SOCKET values; then real datagram
 * sockets stand in for the manager: one bound to a path and one with an
 * abstract name, each receiving with SO_PASSCRED as systemd does, so the
 * tests see the bytes and the sender's pid the manager would see.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sdnotify.h"
#include "suites.h"

#define	SUN_CAP	sizeof (((struct sockaddr_un *)0)->sun_path)
#define	SUN_OFF	offsetof(struct sockaddr_un, sun_path)

/* A string of n copies of c after a prefix, in a static buffer. */
static const char *
repeat(const char *prefix, char c, size_t n)
{
	static char b[512];
	size_t k = strlen(prefix);

	ck_assert_uint_lt(k + n, sizeof (b));
	memcpy(b, prefix, k);
	memset(b + k, c, n);
	b[k + n] = '\0';
	return (b);
}

START_TEST(test_parse_good)
{
	static const struct {
		const char	*value;
		const char	*path;		/* sun_path from byte 0 */
		size_t		pathlen;	/* bytes of it that count */
	} good[] = {
		{ "/run/systemd/notify", "/run/systemd/notify", 20 },
		{ "/x", "/x", 3 },
		{ "@medusa", "\0medusa", 7 },
		{ "@a", "\0a", 2 },
		/* '@' only leads; elsewhere it is a byte of the name. */
		{ "@/run/x@y", "\0/run/x@y", 9 },
	};
	struct sdnotify sn;
	char err[256];

	for (size_t i = 0; i < NELEM(good); i++) {
		err[0] = '\0';
		ck_assert_msg(sdnotify_parse(good[i].value, &sn, err,
		    sizeof (err)) == 0, "%s: %s", good[i].value, err);
		ck_assert(sn.sn_on);
		ck_assert_int_eq(sn.sn_addr.sun_family, AF_UNIX);
		ck_assert_uint_eq(sn.sn_len, SUN_OFF + good[i].pathlen);
		ck_assert_mem_eq(sn.sn_addr.sun_path, good[i].path,
		    good[i].pathlen);
	}
	/* The longest of each kind: 107 bytes of path, 107 of name. */
	ck_assert_int_eq(sdnotify_parse(repeat("/", 'p', SUN_CAP - 2), &sn,
	    err, sizeof (err)), 0);
	ck_assert_uint_eq(sn.sn_len, SUN_OFF + SUN_CAP);
	ck_assert_int_eq(sdnotify_parse(repeat("@", 'n', SUN_CAP - 1), &sn,
	    err, sizeof (err)), 0);
	ck_assert_uint_eq(sn.sn_len, SUN_OFF + SUN_CAP);
	ck_assert_int_eq(sn.sn_addr.sun_path[0], '\0');
	ck_assert_int_eq(sn.sn_addr.sun_path[SUN_CAP - 1], 'n');
}
END_TEST

START_TEST(test_parse_bad)
{
	static const struct {
		const char	*value;
		const char	*says;		/* in the message */
	} bad[] = {
		{ "", "neither" },
		{ "run/systemd/notify", "neither" },
		{ "./notify", "neither" },
		{ "vsock:2:9999", "neither" },
		{ "@", "abstract name" },
		{ " /run/systemd/notify", "neither" },
	};
	struct sdnotify sn;
	char err[256];

	for (size_t i = 0; i < NELEM(bad); i++) {
		err[0] = '\0';
		ck_assert_msg(sdnotify_parse(bad[i].value, &sn, err,
		    sizeof (err)) == -1, "%s accepted", bad[i].value);
		ck_assert(!sn.sn_on);
		ck_assert_msg(strstr(err, bad[i].says) != NULL, "%s: %s",
		    bad[i].value, err);
		ck_assert(strstr(err, "NOTIFY_SOCKET") != NULL);
	}
	/* One byte too long, each kind. */
	ck_assert_int_eq(sdnotify_parse(repeat("/", 'p', SUN_CAP - 1), &sn,
	    err, sizeof (err)), -1);
	ck_assert(strstr(err, "longer") != NULL);
	ck_assert_int_eq(sdnotify_parse(repeat("@", 'n', SUN_CAP), &sn, err,
	    sizeof (err)), -1);
	ck_assert(strstr(err, "abstract name") != NULL);
	ck_assert(!sn.sn_on);
}
END_TEST

/* A stand-in for the manager: a datagram socket with SO_PASSCRED. */
static int
manager(const char *value, struct sockaddr_un *sa, socklen_t *len)
{
	struct sdnotify sn;
	char err[256];
	int fd, one = 1;

	ck_assert_int_eq(sdnotify_parse(value, &sn, err, sizeof (err)), 0);
	*sa = sn.sn_addr;
	*len = sn.sn_len;
	if (sa->sun_path[0] != '\0')
		(void) unlink(sa->sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one,
	    sizeof (one)), 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)sa, *len) == 0, "bind: %s",
	    strerror(errno));
	return (fd);
}

/* The next datagram, NUL-terminated, and the sender's pid. */
static void
receive(int fd, char *buf, size_t cap, pid_t *pid)
{
	union {
		struct cmsghdr	align;
		char		b[CMSG_SPACE(sizeof (struct ucred))];
	} cm;
	struct iovec iov = { buf, cap - 1 };
	struct msghdr msg;
	struct cmsghdr *c;
	ssize_t n;

	memset(&msg, 0, sizeof (msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.b;
	msg.msg_controllen = sizeof (cm.b);
	n = recvmsg(fd, &msg, MSG_DONTWAIT);
	ck_assert_msg(n >= 0, "recvmsg: %s", strerror(errno));
	buf[n] = '\0';
	*pid = 0;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof (uc));
			*pid = uc.pid;
		}
	}
}

static void
round_trip(const char *value)
{
	static const char *states[] = {
		"READY=1",
		"RELOADING=1",
		"STATUS=2 of 2 workers ready\nREADY=1",
		"STOPPING=1",
	};
	struct sockaddr_un sa;
	socklen_t len;
	struct sdnotify sn;
	char err[256], got[256];
	pid_t pid;
	int fd = manager(value, &sa, &len);

	ck_assert_int_eq(setenv("NOTIFY_SOCKET", value, 1), 0);
	ck_assert_int_eq(sdnotify_init(&sn, err, sizeof (err)), 0);
	ck_assert(sn.sn_on);
	/* Gone from the environment: children will not inherit it. */
	ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
	for (size_t i = 0; i < NELEM(states); i++) {
		ck_assert_msg(sdnotify_send(&sn, states[i], err,
		    sizeof (err)) == 0, "%s: %s", value, err);
		receive(fd, got, sizeof (got), &pid);
		ck_assert_str_eq(got, states[i]);
		ck_assert_int_eq(pid, getpid());
	}
	ck_assert_int_eq(sdnotify_send(&sn, "", err, sizeof (err)), -1);
	(void) close(fd);
	if (sa.sun_path[0] != '\0')
		(void) unlink(sa.sun_path);
}

START_TEST(test_send_path)
{
	char path[64];

	snprintf(path, sizeof (path), "/tmp/medusa-sdnotify-%d",
	    (int)getpid());
	round_trip(path);
}
END_TEST

START_TEST(test_send_abstract)
{
	char name[64];

	snprintf(name, sizeof (name), "@medusa-sdnotify-%d", (int)getpid());
	round_trip(name);
}
END_TEST

/* No manager: off, and sending is a successful no-op. */
START_TEST(test_off)
{
	struct sdnotify sn;
	char err[256] = "";

	ck_assert_int_eq(unsetenv("NOTIFY_SOCKET"), 0);
	ck_assert_int_eq(sdnotify_init(&sn, err, sizeof (err)), 0);
	ck_assert(!sn.sn_on);
	ck_assert_int_eq(sdnotify_send(&sn, "READY=1", err, sizeof (err)), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
	ck_assert_int_eq(sdnotify_init(&sn, err, sizeof (err)), 0);
	ck_assert(!sn.sn_on);
	ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
	ck_assert_str_eq(err, "");
}
END_TEST

/* A bad value: an error, off, and still removed from the environment. */
START_TEST(test_init_bad)
{
	struct sdnotify sn;
	char err[256];

	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "notify", 1), 0);
	ck_assert_int_eq(sdnotify_init(&sn, err, sizeof (err)), -1);
	ck_assert(!sn.sn_on);
	ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
	ck_assert(strstr(err, "neither") != NULL);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", repeat("/", 'x', 300), 1),
	    0);
	ck_assert_int_eq(sdnotify_init(&sn, err, sizeof (err)), -1);
	ck_assert(strstr(err, "301 bytes") != NULL);
	ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
}
END_TEST

/* Nobody at the address: -1, and the message names it. */
START_TEST(test_send_nobody)
{
	struct sdnotify sn;
	char err[256], name[64];

	snprintf(name, sizeof (name), "@medusa-sdnotify-none-%d",
	    (int)getpid());
	ck_assert_int_eq(sdnotify_parse(name, &sn, err, sizeof (err)), 0);
	ck_assert_int_eq(sdnotify_send(&sn, "READY=1", err, sizeof (err)), -1);
	ck_assert_msg(strstr(err, name) != NULL, "%s", err);
	ck_assert_int_eq(sdnotify_parse("/nonexistent/notify", &sn, err,
	    sizeof (err)), 0);
	ck_assert_int_eq(sdnotify_send(&sn, "READY=1", err, sizeof (err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent/notify: No such file") !=
	    NULL, "%s", err);
}
END_TEST

Suite *
sdnotify_suite(void)
{
	Suite *s = suite_create("sdnotify");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_good);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_send_path);
	tcase_add_test(tc, test_send_abstract);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_init_bad);
	tcase_add_test(tc, test_send_nobody);
	suite_add_tcase(s, tc);
	return (s);
}

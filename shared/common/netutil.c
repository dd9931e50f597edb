/*
 * netutil.c: socket and time helpers; see netutil.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/time.h>

#include "netutil.h"

uint64_t
netutil_now_ms(void)
{
	struct timeval tv;

	(void) gettimeofday(&tv, NULL);
	return ((uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000);
}

void
netutil_iso8601(uint64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	(void) gmtime_r(&t, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int
netutil_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return (-1);
	return (fcntl(fd, F_SETFL, fl | O_NONBLOCK));
}

void
netutil_tune_tcp(int fd)
{
	int one = 1, idle = 60, intvl = 15, cnt = 4;

	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
	(void) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof (one));
	(void) setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof (idle));
	(void) setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof (intvl));
	(void) setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof (cnt));
}

void
netutil_addr_str(const struct sockaddr *sa, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof (a));
		snprintf(out, cap, "%s:%u", a, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof (a));
		snprintf(out, cap, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		snprintf(out, cap, "unix");
	} else {
		snprintf(out, cap, "unknown");
	}
}

void
netutil_peer_str(int fd, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof (ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) {
		snprintf(out, cap, "unknown");
		return;
	}
	netutil_addr_str((struct sockaddr *)&ss, out, cap);
}

/*
 * close() takes a descriptor out of an epoll set only when it drops the
 * last reference to the file.  A socket another process passed us and has
 * not closed yet (the supervisor's copy, between its sendmsg() and its
 * close(), or a worker's during a handoff) stays in the set after our
 * close(): its events keep coming under a number that may already be
 * another socket's, and libev's epoll backend answers such a stray event
 * (a generation it does not know, or an EPOLL_CTL_DEL that fails) by
 * rebuilding its whole set, an epoll_ctl() for every descriptor it
 * watches, so a loop holding many connections pays for each stray in
 * proportion to all of them.  EPOLL_CTL_DEL before the close() removes
 * the entry whatever else holds the file.  libev copes with the entry
 * gone (its next EPOLL_CTL_MOD for that number fails with ENOENT and it
 * adds instead).
 */
int
netutil_epoll_forget(int epfd, int fd)
{
	if (epfd < 0 || fd < 0)
		return (epfd < 0 ? -1 : 0);
	if (epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) != 0 &&
	    (errno == EBADF || errno == EINVAL) && fcntl(fd, F_GETFD) >= 0)
		return (-1);	/* epfd is not an epoll set (fd is open) */
	return (0);
}

/*
 * libev does not say which descriptor its epoll set is: look for it in
 * /proc/self/fd ("anon_inode:[eventpoll]").
 */
int
netutil_epoll_find(void)
{
	DIR *d;
	struct dirent *e;
	int best = -1;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((e = readdir(d)) != NULL) {
		char path[64], link[64];
		ssize_t n;
		int fd = atoi(e->d_name);

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof (path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof (link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]") == 0 &&
		    (best < 0 || fd < best))
			best = fd;
	}
	(void) closedir(d);
	return (best);
}

void
netutil_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digit[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digit[p[i] >> 4];
		out[2 * i + 1] = digit[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

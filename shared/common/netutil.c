/*
 * netutil.c: socket and time helpers; see netutil.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

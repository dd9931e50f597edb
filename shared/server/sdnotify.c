/*
 * sdnotify.c: notifications to the service manager; see sdnotify.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdnotify.h"

#define	SDNOTIFY_VAR	"NOTIFY_SOCKET"

int
sdnotify_parse(const char *value, struct sdnotify *sn, char *err,
    size_t errlen)
{
	size_t n = strlen(value);
	size_t cap = sizeof (sn->sn_addr.sun_path);

	memset(sn, 0, sizeof (*sn));
	sn->sn_addr.sun_family = AF_UNIX;
	if (value[0] == '@') {
		/* Abstract: a NUL, then the name; its length is the address's. */
		if (n < 2 || n > cap) {
			snprintf(err, errlen, "%s=\"%.64s\": an abstract name must "
			    "have 1 to %zu bytes", SDNOTIFY_VAR, value, cap - 1);
			return (-1);
		}
		memcpy(sn->sn_addr.sun_path + 1, value + 1, n - 1);
	} else if (value[0] == '/') {
		/* A path, with its terminating NUL. */
		if (n >= cap) {
			snprintf(err, errlen, "%s: a path of %zu bytes is "
			    "longer than a socket address holds (%zu)",
			    SDNOTIFY_VAR, n, cap - 1);
			return (-1);
		}
		memcpy(sn->sn_addr.sun_path, value, n + 1);
		n++;
	} else {
		snprintf(err, errlen, "%s=\"%.64s\" is neither an absolute path "
		    "nor an abstract name (@name)", SDNOTIFY_VAR, value);
		return (-1);
	}
	sn->sn_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	sn->sn_on = true;
	return (0);
}

int
sdnotify_init(struct sdnotify *sn, char *err, size_t errlen)
{
	const char *v = getenv(SDNOTIFY_VAR);
	char copy[sizeof (sn->sn_addr.sun_path) + 1];
	size_t n;

	memset(sn, 0, sizeof (*sn));
	if (v == NULL)
		return (0);
	/* Unsetting may free the string: parse a copy. */
	n = strlen(v);
	if (n < sizeof (copy))
		memcpy(copy, v, n + 1);
	(void) unsetenv(SDNOTIFY_VAR);
	if (n >= sizeof (copy)) {
		snprintf(err, errlen, "%s: %zu bytes is longer than a socket "
		    "address holds", SDNOTIFY_VAR, n);
		return (-1);
	}
	return (n == 0 ? 0 : sdnotify_parse(copy, sn, err, errlen));
}

int
sdnotify_send(const struct sdnotify *sn, const char *state, char *err,
    size_t errlen)
{
	size_t n = strlen(state);
	ssize_t sent;
	int fd, e;

	if (!sn->sn_on)
		return (0);
	if (n == 0) {
		snprintf(err, errlen, "empty notification");
		return (-1);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	do {
		sent = sendto(fd, state, n, MSG_NOSIGNAL,
		    (const struct sockaddr *)&sn->sn_addr, sn->sn_len);
	} while (sent < 0 && errno == EINTR);
	e = errno;
	(void) close(fd);
	if (sent != (ssize_t)n) {
		/* The name as NOTIFY_SOCKET spells it (not NUL-terminated). */
		bool abstract = sn->sn_addr.sun_path[0] == '\0';
		int len = (int)(sn->sn_len - offsetof(struct sockaddr_un,
		    sun_path)) - 1;

		snprintf(err, errlen, "sendto %s%.*s: %s", abstract ? "@" : "",
		    len, sn->sn_addr.sun_path + abstract,
		    sent < 0 ? strerror(e) : "short send");
		return (-1);
	}
	return (0);
}

/*
 * dirtool.c: worker/directory.c on the command line, for the integration
 * tests.  dirtool URL ADVERTISE TTL_S reads lines from stdin
 *
 *	claim KEY FENCE | refresh KEY FENCE | release KEY FENCE | lookup KEY
 *	counters
 *
 * and answers each with one line once the directory did: "owner", "other
 * ADDR", "none", "down" (or the counters), on the libev loop that the
 * directory uses: stdin is read by an ev_io, never blocking it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "directory.h"
#include "mlog.h"

static char line[1024];
static size_t have;
static int busy;
static ev_io in;

/* Ready for the next line. */
static void
next(void)
{
	fflush(stdout);
	busy = 0;
	ev_io_start(EV_DEFAULT, &in);
}

static void
answer(void *arg, int result, const char *addr)
{
	(void) arg;
	switch (result) {
	case DIR_OWNER:
		printf("owner\n");
		break;
	case DIR_OTHER:
		printf("other %s\n", addr);
		break;
	case DIR_NONE:
		printf("none\n");
		break;
	default:
		printf("down\n");
	}
	next();
}

static void
run(char *l)
{
	char *op = strtok(l, " "), *key = strtok(NULL, " ");
	char *fence = strtok(NULL, " ");
	const struct dir_counters *c = dir_counters();

	busy = 1;
	ev_io_stop(EV_DEFAULT, &in);
	if (op != NULL && strcmp(op, "counters") == 0) {
		printf("requests=%llu errors=%llu timeouts=%llu connects=%llu\n",
		    (unsigned long long)c->dc_requests,
		    (unsigned long long)c->dc_errors,
		    (unsigned long long)c->dc_timeouts,
		    (unsigned long long)c->dc_connects);
		next();
		return;
	}
	if (op == NULL || key == NULL) {
		printf("usage\n");
		next();
		return;
	}
	if (strcmp(op, "lookup") == 0)
		dir_lookup(key, answer, NULL);
	else if (fence == NULL)
		answer(NULL, DIR_DOWN, "");
	else if (strcmp(op, "claim") == 0)
		dir_claim(key, fence, answer, NULL);
	else if (strcmp(op, "refresh") == 0)
		dir_refresh(key, fence, answer, NULL);
	else if (strcmp(op, "release") == 0)
		dir_release(key, fence, answer, NULL);
	else
		answer(NULL, DIR_DOWN, "");
}

static void
in_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ssize_t n;
	char *nl;

	(void) revents;
	n = read(w->fd, line + have, sizeof (line) - 1 - have);
	if (n <= 0) {
		dir_fini();
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	have += (size_t)n;
	line[have] = '\0';
	/* One request at a time: the test waits for each answer. */
	if (!busy && (nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		run(line);
		have -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, have);
	}
}

int
main(int argc, char **argv)
{
	struct ev_loop *loop = EV_DEFAULT;

	if (argc != 4) {
		fprintf(stderr, "usage: dirtool URL ADVERTISE TTL_S\n");
		return (2);
	}
	mlog_init("dirtool", "test", 0);
	if (dir_init(loop, argv[1], argv[2], atof(argv[3])) != 0) {
		fprintf(stderr, "dirtool: bad URL\n");
		return (2);
	}
	ev_io_init(&in, in_cb, 0, EV_READ);
	ev_io_start(loop, &in);
	ev_run(loop, 0);
	return (0);
}

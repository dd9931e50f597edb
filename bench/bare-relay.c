/*
 * bare-relay: the least a session relay can do, as the benchmarks' limit.
 *
 *	bare-relay [-b ADDRESS] [-p PORT] [-D SECONDS]
 *
 * Each client connects over TCP and sends one line, "<id> <role>\n" (role
 * "master" or "slave", id up to 128 bytes).  When both roles of an id are
 * there the relay writes one byte, '+', to each (the linkup) and from then
 * on copies bytes both ways with splice(2) through a pipe, never into user
 * space.  A direction holds a pipe only while bytes are in it; emptied, the
 * pipe goes back to a pool, so idle sessions cost two descriptors, not six,
 * and a message costs no pipe(2).  An end of stream on one side is passed on as a
 * shutdown of the other side's writing; when both directions have ended,
 * or on any error, both connections are closed.  A second connection for a
 * role that is taken, a bad line, or one side leaving before its peer came
 * just closes that connection.  A client sends nothing before its linkup
 * (what it does send may be lost).  No WebSocket, no
 * time-outs, no limits, no logging: only what any relay must do.
 *
 * -D sets TCP_DEFER_ACCEPT on the listener (default 1 second, as medusa's
 * defer_accept_s; 0: off): a connection is accepted once its line is
 * there, so the limit has every advantage medusa has.
 *
 * One thread, epoll, level-triggered, every descriptor non-blocking; a
 * connection is watched for reading only while its direction's pipe is
 * empty, and for writing only while the other direction's pipe is not, so
 * a message costs epoll_wait, a splice in and a splice out.  It
 * prints {"msg":"listening","port":N} on standard error once it listens
 * (-p 0, the default, takes a free port) and runs until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define	LINE_MAX_LEN	160
#define	ID_MAX		128
#define	NBUCKETS	65536
#define	SPLICE_CHUNK	(1 << 20)
#define	SPLICE_FLAGS	(SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

struct session;

struct rpipe {
	int		fd[2];		/* read end, write end */
	struct rpipe	*next;		/* in the pool */
};

struct rconn {
	int		fd;
	int		role;		/* 0 master, 1 slave, -1 unknown */
	uint32_t	events;		/* epoll interest now */
	bool		dead;
	struct session	*s;		/* once it named its session */
	struct rconn	*next_dead;
	size_t		linelen;
	char		line[LINE_MAX_LEN];
};

struct session {
	struct session	*next;		/* hash chain */
	char		id[ID_MAX + 1];
	struct rconn	*c[2];
	bool		paired;
	bool		dead;
	struct rpipe	*pipe[2];	/* [dir], while it holds bytes */
	size_t		inpipe[2];	/* bytes in each pipe */
	bool		eof[2];		/* dir d: c[d] ended its stream */
	bool		shut[2];	/* dir d: c[1-d] shut for writing */
	struct session	*next_dead;
};

static struct session *table[NBUCKETS];
static struct rconn *dead_conns;
static struct session *dead_sessions;
static int epfd, lfd;
static int listen_paused;
static struct rpipe *pool;
static int npool;

#define	POOL_MAX	1024

static struct rpipe *
pipe_get(void)
{
	struct rpipe *p = pool;

	if (p != NULL) {
		pool = p->next;
		npool--;
		return (p);
	}
	if ((p = malloc(sizeof (*p))) == NULL)
		return (NULL);
	if (pipe2(p->fd, O_NONBLOCK | O_CLOEXEC) != 0) {
		fprintf(stderr, "bare-relay: pipe: %s\n", strerror(errno));
		free(p);
		return (NULL);
	}
	return (p);
}

/* Back to the pool if empty (full says it may not be). */
static void
pipe_put(struct rpipe *p, bool empty)
{
	if (p == NULL)
		return;
	if (empty && npool < POOL_MAX) {
		p->next = pool;
		pool = p;
		npool++;
		return;
	}
	(void) close(p->fd[0]);
	(void) close(p->fd[1]);
	free(p);
}

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return (h % NBUCKETS);
}

static struct session **
lookup(const char *id)
{
	struct session **sp;

	for (sp = &table[hash(id)]; *sp != NULL; sp = &(*sp)->next)
		if (strcmp((*sp)->id, id) == 0)
			return (sp);
	return (sp);
}

static void
unhash(struct session *s)
{
	struct session **sp = lookup(s->id);

	if (*sp == s)
		*sp = s->next;
}

static void
conn_kill(struct rconn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	(void) close(c->fd);
	c->next_dead = dead_conns;
	dead_conns = c;
}

static void
session_kill(struct session *s)
{
	int d;

	if (s->dead)
		return;
	s->dead = true;
	unhash(s);
	for (d = 0; d < 2; d++) {
		if (s->c[d] != NULL)
			conn_kill(s->c[d]);
		pipe_put(s->pipe[d], s->inpipe[d] == 0);
		s->pipe[d] = NULL;
	}
	s->next_dead = dead_sessions;
	dead_sessions = s;
}

static void
interest(struct rconn *c, uint32_t events)
{
	struct epoll_event ev;

	if (c->dead || c->events == events)
		return;
	memset(&ev, 0, sizeof (ev));
	ev.events = events;
	ev.data.ptr = c;
	c->events = events;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		fprintf(stderr, "bare-relay: epoll_ctl: %s\n", strerror(errno));
}

/*
 * The interest of both connections from the state of both directions:
 * read c[d] while direction d's pipe is empty and its stream goes on;
 * wait for c[1-d] to be writable while direction d's pipe holds bytes.
 */
static void
session_interest(struct session *s)
{
	uint32_t ev[2] = { 0, 0 };	/* HUP and ERR come anyway */
	int d;

	for (d = 0; d < 2; d++) {
		if (s->inpipe[d] > 0)
			ev[1 - d] |= EPOLLOUT;
		else if (!s->eof[d])
			ev[d] |= EPOLLIN;
	}
	interest(s->c[0], ev[0]);
	interest(s->c[1], ev[1]);
}

/* Write what direction d's pipe holds to c[1-d]. 0, or -1: killed. */
static int
drain(struct session *s, int d)
{
	ssize_t n;

	while (s->inpipe[d] > 0) {
		n = splice(s->pipe[d]->fd[0], NULL, s->c[1 - d]->fd, NULL,
		    s->inpipe[d], SPLICE_FLAGS);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return (0);
			session_kill(s);
			return (-1);
		}
		s->inpipe[d] -= (size_t)n;
	}
	if (s->pipe[d] != NULL) {
		pipe_put(s->pipe[d], true);
		s->pipe[d] = NULL;
	}
	if (s->eof[d] && !s->shut[d]) {
		s->shut[d] = true;
		(void) shutdown(s->c[1 - d]->fd, SHUT_WR);
		if (s->shut[1 - d]) {
			session_kill(s);
			return (-1);
		}
	}
	return (0);
}

/*
 * c[d] is readable: one splice into the (empty) pipe, and on to c[1-d] as
 * far as it takes it.  Level-triggered: what is left is reported again.
 */
static int
fill(struct session *s, int d)
{
	ssize_t n;

	if (s->pipe[d] == NULL && (s->pipe[d] = pipe_get()) == NULL) {
		session_kill(s);
		return (-1);
	}
	do {
		n = splice(s->c[d]->fd, NULL, s->pipe[d]->fd[1], NULL,
		    SPLICE_CHUNK, SPLICE_FLAGS);
	} while (n < 0 && errno == EINTR);
	if (n == 0) {
		s->eof[d] = true;
	} else if (n < 0) {
		if (errno == EAGAIN)
			return (0);
		session_kill(s);
		return (-1);
	} else {
		s->inpipe[d] += (size_t)n;
	}
	return (drain(s, d));
}

static void
pair(struct session *s)
{
	static const char linkup = '+';
	int d;

	s->paired = true;
	for (d = 0; d < 2; d++) {
		if (send(s->c[d]->fd, &linkup, 1, MSG_NOSIGNAL) != 1) {
			session_kill(s);
			return;
		}
	}
	session_interest(s);
}

/* The first line: "<id> <role>\n". */
static void
read_line(struct rconn *c)
{
	struct session **sp, *s;
	char *nl, *sp_at;
	ssize_t n;

	for (;;) {
		n = read(c->fd, c->line + c->linelen,
		    sizeof (c->line) - 1 - c->linelen);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_kill(c);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;		/* EAGAIN: wait for the rest */
		}
		c->linelen += (size_t)n;
		c->line[c->linelen] = '\0';
		if ((nl = memchr(c->line, '\n', c->linelen)) != NULL)
			break;
		if (c->linelen == sizeof (c->line) - 1) {
			conn_kill(c);
			return;
		}
	}
	*nl = '\0';
	if ((sp_at = strchr(c->line, ' ')) == NULL ||
	    (size_t)(sp_at - c->line) > ID_MAX || sp_at == c->line) {
		conn_kill(c);
		return;
	}
	*sp_at = '\0';
	if (strcmp(sp_at + 1, "master") == 0)
		c->role = 0;
	else if (strcmp(sp_at + 1, "slave") == 0)
		c->role = 1;
	else {
		conn_kill(c);
		return;
	}
	sp = lookup(c->line);
	if ((s = *sp) == NULL) {
		if ((s = calloc(1, sizeof (*s))) == NULL) {
			conn_kill(c);
			return;
		}
		memcpy(s->id, c->line, strlen(c->line) + 1);	/* <= ID_MAX */
		*sp = s;
	}
	if (s->c[c->role] != NULL) {
		conn_kill(c);		/* that role is taken */
		return;
	}
	s->c[c->role] = c;
	c->s = s;
	if (s->c[0] != NULL && s->c[1] != NULL)
		pair(s);
}

static void
conn_event(struct rconn *c, uint32_t ev)
{
	struct session *s = c->s;

	if (c->dead)
		return;
	if (s == NULL) {
		if (ev & (EPOLLHUP | EPOLLERR)) {
			conn_kill(c);
			return;
		}
		read_line(c);
		if (!c->dead && c->s != NULL && !c->s->paired)
			interest(c, EPOLLRDHUP);	/* await the peer */
		return;
	}
	if (!s->paired) {
		/* Waiting for the peer: only an end or an error matters. */
		if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
			s->c[c->role] = NULL;
			if (s->c[1 - c->role] == NULL)
				session_kill(s);
			conn_kill(c);
		}
		return;
	}
	if (ev & EPOLLERR) {
		session_kill(s);
		return;
	}
	/* Writable: direction towards c.  Readable: direction from c. */
	if ((ev & (EPOLLOUT | EPOLLHUP)) && s->inpipe[1 - c->role] > 0 &&
	    drain(s, 1 - c->role) != 0)
		return;
	if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) &&
	    s->inpipe[c->role] == 0 && !s->eof[c->role] &&
	    fill(s, c->role) != 0)
		return;
	session_interest(s);
}

static void
accept_all(void)
{
	struct epoll_event ev;
	struct rconn *c;
	int fd, one = 1;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				fprintf(stderr, "bare-relay: accept: %s; "
				    "pausing\n", strerror(errno));
				(void) epoll_ctl(epfd, EPOLL_CTL_DEL, lfd,
				    NULL);
				listen_paused = 1;
			}
			return;
		}
		(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof (one));
		if ((c = calloc(1, sizeof (*c))) == NULL) {
			(void) close(fd);
			continue;
		}
		c->fd = fd;
		c->role = -1;
		memset(&ev, 0, sizeof (ev));
		ev.events = c->events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			(void) close(fd);
			free(c);
			continue;
		}
	}
}

static void
reap(void)
{
	struct rconn *c;
	struct session *s;

	while ((c = dead_conns) != NULL) {
		dead_conns = c->next_dead;
		free(c);
	}
	while ((s = dead_sessions) != NULL) {
		dead_sessions = s->next_dead;
		free(s);
	}
}

/* A whole number 0 to max, or -1. */
static int
opt_int(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < 0 || v > max)
		return (-1);
	return ((int)v);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof (sin);
	struct epoll_event ev, evs[256];
	struct rlimit rl;
	const char *bind_addr = "127.0.0.1";
	int port = 0, defer = 1, ch, one = 1, n, i;

	while ((ch = getopt(argc, argv, "b:p:D:h")) != -1) {
		switch (ch) {
		case 'b':
			bind_addr = optarg;
			break;
		case 'p':
			if ((port = opt_int(optarg, 65535)) < 0) {
				fprintf(stderr, "bare-relay: bad port %s\n",
				    optarg);
				return (2);
			}
			break;
		case 'D':
			if ((defer = opt_int(optarg, 10)) < 0) {
				fprintf(stderr, "bare-relay: bad -D %s (0 to "
				    "10 seconds)\n", optarg);
				return (2);
			}
			break;
		default:
			fprintf(stderr, "usage: bare-relay [-b ADDRESS] "
			    "[-p PORT] [-D DEFER_ACCEPT_SECONDS]\n");
			return (ch == 'h' ? 0 : 2);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&sin, 0, sizeof (sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, bind_addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "bare-relay: bad address %s\n", bind_addr);
		return (2);
	}
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one)) != 0 ||
	    setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer,
	    sizeof (defer)) != 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof (sin)) != 0 ||
	    listen(lfd, 1024) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen) != 0) {
		fprintf(stderr, "bare-relay: listen: %s\n", strerror(errno));
		return (1);
	}
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, "bare-relay: epoll: %s\n", strerror(errno));
		return (1);
	}
	memset(&ev, 0, sizeof (ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	(void) epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	fprintf(stderr, "{\"msg\":\"listening\",\"port\":%d,\"pid\":%d}\n",
	    ntohs(sin.sin_port), (int)getpid());
	for (;;) {
		n = epoll_wait(epfd, evs, 256, listen_paused ? 100 : -1);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "bare-relay: epoll_wait: %s\n",
			    strerror(errno));
			return (1);
		}
		if (listen_paused && n <= 0) {
			(void) epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
			listen_paused = 0;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_all();
			else
				conn_event(evs[i].data.ptr, evs[i].events);
		}
		reap();
	}
}

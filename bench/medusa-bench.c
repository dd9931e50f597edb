/*
 * medusa-bench: a load generator that plays both ends of many sessions
 * against a Medusa reflector (or any compatible one, or the bare relay of
 * bare-relay.c) and checks every byte it gets back.
 *
 *	medusa-bench setup      [-n N] [-c C]               --url URL
 *	medusa-bench latency    [-s S] [-r R] [-m BYTES] [-d SECONDS] --url URL
 *	medusa-bench throughput [-s S] [-m BYTES] [-d SECONDS]          --url URL
 *	medusa-bench idle       [-s S] [-c C] [-d SECONDS] [--proc-tree PID] --url URL
 *
 * URL is ws://HOST:PORT[/PREFIX] for a WebSocket reflector (sessions at
 * PREFIX/attach/<id>/master and .../slave), or tcp://HOST:PORT (or --raw)
 * for the bare relay's raw protocol (bconn.c).  Each run prints one JSON
 * object on standard output ("ok": true or false, and the figures) and one
 * line for people on standard error; any wrong byte, lost, duplicated or
 * reordered message, unexpected close or HTTP error ends the run at once
 * with "ok": false and exit status 1.
 *
 * Design.  One thread, one libev loop, every socket non-blocking.  A
 * session is two connections (struct conn, bconn.c) dialled at the same
 * time; the scenario (this file) is told when a session is linked
 * (sc_linked), when a test message has arrived intact (sc_message), when a
 * connection has closed as expected (sc_conn_done) and when a stream has
 * stopped (sc_stream_done).  New sessions are started from an ev_prepare
 * watcher, never from inside a connection's callback, so a slot can be
 * reused safely.  Test messages carry (session, direction, sequence) and a
 * slice of a fixed random pattern chosen by those three (bench.h), so the
 * receiver verifies them against the pattern without keeping copies.
 *
 * Scenarios.
 *
 *   setup: N sessions, C at a time, each dialled (both sides at once, the
 *   order alternating), linked, then ended from the master (WebSocket: CLOSE
 *   1000, which the reflector passes on; the slave answers; raw: a FIN each
 *   way); a session counts when both sides are closed.  Sessions per second
 *   over the whole run, and connect-to-linkup time (first connect() to the
 *   second linkup) p50/p99.
 *
 *   latency: S sessions linked first; then each master sends an M-byte
 *   binary message R times a second (a random phase per session; R = 0:
 *   the next one as soon as the echo is back), the slave checks it and
 *   sends it back, and the master checks the echo and records the round
 *   trip.  After D seconds the sending stops and every echo must come
 *   back.  p50/p90/p99/max.
 *
 *   throughput: S sessions linked first; then every slave streams M-byte
 *   binary messages (16 KiB, like the agent's terminal output) to its
 *   master as fast as the sockets take them, for D seconds.  Payload bytes
 *   checked by the masters in that time over the time: MB/s (10^6 bytes).
 *   Then the slaves stop at a message boundary and every message written
 *   must arrive.
 *
 *   idle: S sessions opened C at a time and held.  Once all are linked and
 *   D seconds have passed, the resident memory of the reflector's processes
 *   (--pid, --pidfile, --proc-tree: the supervisor and its workers) is read
 *   and compared with what it was before the first connection: bytes per
 *   paired session.  Then one message each way in every session proves
 *   they all still relay, and the memory is read once more.  With --hold
 *   (one process), the settle is not D seconds: once all are linked it
 *   prints {"linked": S} and holds them, doing nothing, until SIGUSR1, so
 *   that a driver can measure the reflector while they are held (onehost)
 *   without this process's checks landing in the measurement.
 *
 * Many sockets.  The descriptor limit is raised as far as allowed (the hard
 * limit too as root).  With a loopback target, connections are bound to
 * 127.0.0.1 ... 127.0.0.<--src-addrs> in turn (IP_BIND_ADDRESS_NO_PORT, so
 * the port is chosen per destination), which keeps 20,000 sockets and the
 * TIME_WAITs of earlier runs from exhausting the ephemeral ports.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "bench.h"
#include "signer.h"
#include "wsurl.h"

struct bench B = { .b_child_up = -1 };

enum phase { PH_OPEN, PH_SETTLE, PH_RUN, PH_DRAIN, PH_DONE };

static struct {
	uint32_t	n, c, s, rate, msg;
	double		dur, timeout;
	int		pids[64];
	int		npids;
	int		tree;
	const char	*pidfile;
	bool		quiet;
	bool		hold;		/* idle: settle until SIGUSR1 */
	int		procs;
} O;

static struct session *SS;	/* slots */
static uint32_t nslots;
static uint32_t total;		/* sessions to run */
static uint32_t nstarted, nlinked, ncomplete;
static uint32_t *freeslots, nfree;
static enum phase phase = PH_OPEN;
static uint64_t t_begin, t_linked, t_run, t_stop, t_end;
static uint64_t *samples;
static size_t nsamples, capsamples;
static uint64_t skipped, waits, nmsgs, stop_bytes;
static long rss_base = -1, rss_idle = -1, rss_after = -1;
static ev_prepare kick;
static ev_timer phase_timer, deadline;
static ev_signal go_on;		/* idle --hold: SIGUSR1 ends the settle */
static bool go_on_early;	/* ... which came before the last linkup */

/* idle with --procs: a child's pipes to and from the parent. */
static int child_up = -1, child_down = -1;
static uint32_t idx_base;
static ev_io down_io;

static void finish(void);

static void
sample(uint64_t v)
{
	if (nsamples == capsamples) {
		capsamples = capsamples == 0 ? 4096 : capsamples * 2;
		samples = realloc(samples, capsamples * sizeof (uint64_t));
		if (samples == NULL)
			bench_fail("out of memory");
	}
	samples[nsamples++] = v;
}

static long
reflector_rss(void)
{
	int pids[64], n = O.npids;

	memcpy(pids, O.pids, sizeof (int) * (size_t)n);
	if (O.pidfile != NULL && n < 64) {
		FILE *f = fopen(O.pidfile, "r");

		if (f != NULL) {
			if (fscanf(f, "%d", &pids[n]) == 1)
				n++;
			fclose(f);
		}
	}
	if (n == 0 && O.tree <= 0)
		return (-1);
	return (rss_kb(pids, n, O.tree));
}

/* --- starting sessions ------------------------------------------------- */

static void
start_one(uint32_t slot)
{
	struct session *s = &SS[slot];
	uint32_t idx = idx_base + nstarted++;

	free(s->s_ring);
	memset(s, 0, sizeof (*s));
	s->s_idx = idx;
	snprintf(s->s_id, sizeof (s->s_id), "b%08x-%u", B.b_run, idx);
	if (B.b_sc == SC_LATENCY &&
	    (s->s_ring = calloc(LAT_RING, sizeof (uint64_t))) == NULL)
		bench_fail("out of memory");
	conn_start_session(s);
	/* What each side will receive. */
	switch (B.b_sc) {
	case SC_LATENCY:
		s->s_c[ROLE_MASTER].c_rx_dir = 0;	/* the echoes */
		s->s_c[ROLE_SLAVE].c_rx_dir = 0;
		break;
	default:
		s->s_c[ROLE_MASTER].c_rx_dir = 1;
		s->s_c[ROLE_SLAVE].c_rx_dir = 0;
		break;
	}
}

static void
kick_cb(EV_P_ ev_prepare *w, int revents)
{
	uint32_t inflight;

	(void) loop;
	(void) w;
	(void) revents;
	if (phase != PH_OPEN)
		return;
	for (;;) {
		if (nstarted >= total)
			return;
		if (B.b_sc == SC_SETUP)
			inflight = nstarted - ncomplete;
		else
			inflight = nstarted - nlinked;
		if (inflight >= O.c || nfree == 0)
			return;
		start_one(freeslots[--nfree]);
	}
}

/* --- scenario events --------------------------------------------------- */

static void
lat_send(struct session *s)
{
	struct conn *m = &s->s_c[ROLE_MASTER];

	if (m->c_tx_seq - s->s_acked >= LAT_RING) {
		skipped++;
		return;
	}
	s->s_ring[m->c_tx_seq % LAT_RING] = now_ns();
	conn_send_msg(m, 0, m->c_tx_seq++, O.msg);
}

static void
lat_timer_cb(EV_P_ ev_timer *w, int revents)
{
	(void) loop;
	(void) revents;
	if (phase == PH_RUN)
		lat_send(w->data);
}

static void
begin_run(void)
{
	uint32_t i;

	phase = PH_RUN;
	t_run = now_ns();
	for (i = 0; i < total; i++) {
		struct session *s = &SS[i];

		if (B.b_sc == SC_LATENCY) {
			if (O.rate == 0) {
				lat_send(s);
				continue;
			}
			double iv = 1.0 / O.rate;

			ev_timer_init(&s->s_timer, lat_timer_cb,
			    iv * (double)random() / (double)RAND_MAX, iv);
			s->s_timer.data = s;
			ev_timer_start(B.b_loop, &s->s_timer);
		} else if (B.b_sc == SC_THROUGHPUT) {
			conn_start_stream(&s->s_c[ROLE_SLAVE], O.msg);
		} else if (B.b_sc == SC_IDLE) {
			conn_send_msg(&s->s_c[ROLE_MASTER], 0, 0, 64);
			conn_send_msg(&s->s_c[ROLE_SLAVE], 1, 0, 64);
		}
	}
	if (B.b_sc != SC_IDLE) {
		ev_timer_set(&phase_timer, O.dur, 0.);
		ev_timer_start(B.b_loop, &phase_timer);
	}
}

/* Every session is linked: settle (idle), or begin. */
static void
tell_parent(char what)
{
	if (write(child_up, &what, 1) != 1)
		exit(1);
}

static void
all_linked(void)
{
	t_linked = now_ns();
	if (child_up >= 0) {
		tell_parent('L');	/* the parent says when to go on */
		return;
	}
	if (B.b_sc == SC_IDLE) {
		phase = PH_SETTLE;
		if (O.hold) {
			/* Held, and idle, until told (SIGUSR1). */
			printf("{\"linked\": %u}\n", total);
			fflush(stdout);
			if (go_on_early)
				ev_feed_event(B.b_loop, &phase_timer, EV_TIMER);
			return;
		}
		ev_timer_set(&phase_timer, O.dur, 0.);
		ev_timer_start(B.b_loop, &phase_timer);
		return;
	}
	begin_run();
}

static void
go_on_cb(EV_P_ ev_signal *w, int revents)
{
	(void) w;
	(void) revents;
	if (phase == PH_SETTLE)
		ev_feed_event(EV_A_ &phase_timer, EV_TIMER);
	else if (phase == PH_OPEN)
		go_on_early = true;
}

static bool
session_drained(struct session *s)
{
	if (B.b_sc == SC_LATENCY)
		return (s->s_acked == s->s_c[ROLE_MASTER].c_tx_seq);
	return (!s->s_c[ROLE_SLAVE].c_streaming &&
	    s->s_c[ROLE_MASTER].c_rx_seq == s->s_c[ROLE_SLAVE].c_st_seq);
}

static void
check_drained(void)
{
	uint32_t i;

	for (i = 0; i < total; i++)
		if (!session_drained(&SS[i]))
			return;
	finish();
}

static void
phase_timer_cb(EV_P_ ev_timer *w, int revents)
{
	uint32_t i;

	(void) loop;
	(void) w;
	(void) revents;
	if (phase == PH_SETTLE) {
		rss_idle = reflector_rss();
		begin_run();
		return;
	}
	/* The run's duration is over: stop and let everything arrive. */
	t_stop = now_ns();
	phase = PH_DRAIN;
	for (i = 0; i < total; i++) {
		struct session *s = &SS[i];

		stop_bytes += s->s_c[ROLE_MASTER].c_rx_bytes;
		if (B.b_sc == SC_LATENCY && O.rate > 0)
			ev_timer_stop(B.b_loop, &s->s_timer);
		if (B.b_sc == SC_THROUGHPUT)
			conn_stop_stream(&s->s_c[ROLE_SLAVE]);
	}
	check_drained();
}

void
sc_linked(struct session *s)
{
	waits += s->s_c[ROLE_MASTER].c_waits;
	nlinked++;
	if (B.b_sc == SC_SETUP) {
		sample(s->s_t_link - s->s_t_start);
		conn_begin_close(&s->s_c[ROLE_MASTER]);
		return;
	}
	if (nlinked == total)
		all_linked();
}

void
sc_message(struct conn *c, uint32_t seq, uint32_t len)
{
	struct session *s = c->c_s;

	nmsgs++;
	switch (B.b_sc) {
	case SC_LATENCY:
		if (c->c_role == ROLE_SLAVE) {
			conn_send_msg(c, 0, seq, len);	/* the echo */
			return;
		}
		sample(now_ns() - s->s_ring[seq % LAT_RING]);
		s->s_acked++;
		if (phase == PH_RUN && O.rate == 0)
			lat_send(s);
		else if (phase == PH_DRAIN && session_drained(s))
			check_drained();
		return;
	case SC_THROUGHPUT:
		if (phase == PH_DRAIN && session_drained(s))
			check_drained();
		return;
	case SC_IDLE:
		if (nmsgs == 2 * (uint64_t)total && child_up >= 0) {
			tell_parent('D');
		} else if (nmsgs == 2 * (uint64_t)total) {
			rss_after = reflector_rss();
			finish();
		}
		return;
	default:
		bench_fail("session %s: a message in the setup scenario",
		    s->s_id);
	}
}

void
sc_stream_done(struct conn *c)
{
	if (phase == PH_DRAIN && session_drained(c->c_s))
		check_drained();
}

void
sc_conn_done(struct conn *c)
{
	struct session *s = c->c_s;

	if (B.b_sc != SC_SETUP)
		return;		/* only at the end of a run */
	if (s->s_ndone < 2)
		return;
	ncomplete++;
	freeslots[nfree++] = (uint32_t)(s - SS);
	if (ncomplete == total)
		finish();
}

static void
deadline_cb(EV_P_ ev_timer *w, int revents)
{
	(void) loop;
	(void) w;
	(void) revents;
	bench_fail("timed out (phase %d: %u of %u sessions started, %u linked, "
	    "%u complete)", (int)phase, nstarted, total, nlinked, ncomplete);
}

/* --- idle over several processes --------------------------------------- */

/*
 * One process may not have descriptors enough for S paired sessions (two
 * sockets each).  Then the idle scenario forks --procs children, each with
 * a share of the session indices; each tells the parent 'L' when all its
 * sessions are linked and 'D' when its message each way has come back, or
 * 'F' and the reason when it fails.  The parent measures the memory between
 * those steps and answers 'G' (go on to the messages) and 'Q' (quit).
 */
static void
down_cb(EV_P_ ev_io *w, int revents)
{
	char ch;

	(void) loop;
	(void) revents;
	if (read(w->fd, &ch, 1) != 1 || ch == 'Q')
		_exit(0);
	if (ch == 'G')
		begin_run();
}

static void
parent_fail(int k, const pid_t *pids, const char *why)
{
	int i;

	for (i = 0; i < k; i++)
		(void) kill(pids[i], SIGKILL);
	bench_fail("%s", why);
}

static void
idle_parent(int k)
{
	int up[64], downs[64], i, left, nfd = 0;
	pid_t pids[64];
	struct pollfd pfd[64];
	char ch, msg[1100];
	uint64_t deadline_ns;
	uint32_t lo = 0, n;

	if (k > 64)
		bench_fail("--procs: at most 64");
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < k; i++) {
		int pu[2], pd[2];

		n = total / (uint32_t)k + ((uint32_t)i < total % (uint32_t)k);
		if (pipe(pu) != 0 || pipe(pd) != 0)
			bench_fail("pipe: %s", strerror(errno));
		if ((pids[i] = fork()) < 0)
			bench_fail("fork: %s", strerror(errno));
		if (pids[i] == 0) {
			int j;

			for (j = 0; j < nfd; j++) {
				(void) close(up[j]);
				(void) close(downs[j]);
			}
			(void) close(pu[0]);
			(void) close(pd[1]);
			child_up = B.b_child_up = pu[1];
			child_down = pd[0];
			idx_base = lo;
			total = n;
			O.c = (O.c + (uint32_t)k - 1) / (uint32_t)k;
			if (O.c > total)
				O.c = total;
			return;		/* the child runs its share */
		}
		(void) close(pu[1]);
		(void) close(pd[0]);
		up[nfd++] = pu[0];
		pfd[i].fd = pu[0];
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
		downs[i] = pd[1];
		lo += n;
	}
	deadline_ns = now_ns() + (uint64_t)(O.timeout * 1e9);
	/* Three rounds: linked ('L'), settle and go ('G'), done ('D'). */
	for (int round = 0; round < 2; round++) {
		char want = round == 0 ? 'L' : 'D';

		for (i = 0; i < k; i++)
			pfd[i].events = POLLIN;
		left = k;
		while (left > 0) {
			uint64_t now = now_ns();
			int r;

			if (now >= deadline_ns)
				parent_fail(k, pids, "timed out waiting for "
				    "the children");
			r = poll(pfd, (nfds_t)k,
			    (int)((deadline_ns - now) / 1000000 + 1));
			if (r < 0 && errno != EINTR)
				parent_fail(k, pids, "poll failed");
			for (i = 0; r > 0 && i < k; i++) {
				ssize_t got;

				if (pfd[i].revents == 0 || pfd[i].events == 0)
					continue;
				got = read(pfd[i].fd, &ch, 1);
				if (got == 1 && ch == want) {
					pfd[i].events = 0;
					pfd[i].fd = -pfd[i].fd - 1;
					left--;
					continue;
				}
				if (got == 1 && ch == 'F') {
					size_t have = 0;

					while (have < sizeof (msg) - 1 &&
					    (got = read(pfd[i].fd, msg + have,
					    sizeof (msg) - 1 - have)) > 0)
						have += (size_t)got;
					msg[have] = '\0';
					parent_fail(k, pids, msg);
				}
				parent_fail(k, pids, "a child died");
			}
		}
		for (i = 0; i < k; i++)
			pfd[i].fd = -pfd[i].fd - 1;
		if (round == 0) {
			t_linked = now_ns();
			nlinked = total;
			usleep((useconds_t)(O.dur * 1e6));
			rss_idle = reflector_rss();
			t_run = now_ns();
			for (i = 0; i < k; i++)
				if (write(downs[i], "G", 1) != 1)
					parent_fail(k, pids, "a child died");
		}
	}
	rss_after = reflector_rss();
	for (i = 0; i < k; i++) {
		(void) write(downs[i], "Q", 1);
		(void) waitpid(pids[i], NULL, 0);
	}
	finish();
	exit(0);
}

/* --- results ----------------------------------------------------------- */

static void
finish(void)
{
	char lab[300], url[600];
	double el, ms = 1e6, us = 1e3;

	if (phase == PH_DONE)
		return;
	phase = PH_DONE;
	t_end = now_ns();
	if (nsamples > 0)	/* (throughput keeps none: samples is NULL) */
		qsort(samples, nsamples, sizeof (uint64_t), u64_cmp);
	json_str(lab, sizeof (lab), B.b_label != NULL ? B.b_label : "");
	json_str(url, sizeof (url), B.b_url);
	printf("{\"scenario\":\"%s\",\"label\":%s,\"ok\":true,\"url\":%s,"
	    "\"mode\":\"%s\",", B.b_sc_name, lab, url,
	    B.b_mode == MODE_WS ? "ws" : "raw");
	switch (B.b_sc) {
	case SC_SETUP:
		el = (double)(t_end - t_begin) / 1e9;
		printf("\"sessions\":%u,\"concurrency\":%u,\"elapsed_s\":%.3f,"
		    "\"sessions_per_s\":%.1f,\"linkup_p50_ms\":%.3f,"
		    "\"linkup_p99_ms\":%.3f,\"linkup_max_ms\":%.3f,"
		    "\"wait_pulses\":%lu}\n", total, O.c, el, total / el,
		    pct(samples, nsamples, .5) / ms,
		    pct(samples, nsamples, .99) / ms,
		    pct(samples, nsamples, 1) / ms, (unsigned long)waits);
		if (!O.quiet)
			fprintf(stderr, "setup %s: %u sessions (%u at a time) "
			    "in %.2f s: %.0f sessions/s; connect to linkup "
			    "p50 %.2f ms p99 %.2f ms\n", B.b_url, total, O.c,
			    el, total / el, pct(samples, nsamples, .5) / ms,
			    pct(samples, nsamples, .99) / ms);
		break;
	case SC_LATENCY:
		el = (double)(t_stop - t_run) / 1e9;
		printf("\"sessions\":%u,\"rate\":%u,\"msg_bytes\":%u,"
		    "\"duration_s\":%.3f,\"samples\":%zu,\"skipped\":%lu,"
		    "\"rtt_p50_us\":%.1f,\"rtt_p90_us\":%.1f,"
		    "\"rtt_p99_us\":%.1f,\"rtt_max_us\":%.1f}\n", total,
		    O.rate, O.msg, el, nsamples, (unsigned long)skipped,
		    pct(samples, nsamples, .5) / us,
		    pct(samples, nsamples, .9) / us,
		    pct(samples, nsamples, .99) / us,
		    pct(samples, nsamples, 1) / us);
		if (!O.quiet)
			fprintf(stderr, "latency %s: %u sessions x %u/s, %u "
			    "bytes, %zu round trips: p50 %.1f us p90 %.1f us "
			    "p99 %.1f us max %.1f us\n", B.b_url, total,
			    O.rate, O.msg, nsamples,
			    pct(samples, nsamples, .5) / us,
			    pct(samples, nsamples, .9) / us,
			    pct(samples, nsamples, .99) / us,
			    pct(samples, nsamples, 1) / us);
		break;
	case SC_THROUGHPUT:
		el = (double)(t_stop - t_run) / 1e9;
		printf("\"sessions\":%u,\"msg_bytes\":%u,\"duration_s\":%.3f,"
		    "\"bytes\":%lu,\"messages\":%lu,\"mb_per_s\":%.1f,"
		    "\"msgs_per_s\":%.0f}\n", total, O.msg, el,
		    (unsigned long)stop_bytes, (unsigned long)nmsgs,
		    stop_bytes / el / 1e6, stop_bytes / el / O.msg);
		if (!O.quiet)
			fprintf(stderr, "throughput %s: %u sessions, %u-byte "
			    "messages: %.1f MB/s (%.0f messages/s), %lu "
			    "messages checked\n", B.b_url, total, O.msg,
			    stop_bytes / el / 1e6, stop_bytes / el / O.msg,
			    (unsigned long)nmsgs);
		break;
	case SC_IDLE: {
		double per = rss_idle >= 0 && rss_base >= 0 ?
		    (double)(rss_idle - rss_base) * 1024.0 / total : -1;
		double per2 = rss_after >= 0 && rss_base >= 0 ?
		    (double)(rss_after - rss_base) * 1024.0 / total : -1;

		el = (double)(t_linked - t_begin) / 1e9;
		printf("\"sessions\":%u,\"held\":%u,\"open_s\":%.3f,"
		    "\"rss_base_kb\":%ld,\"rss_idle_kb\":%ld,"
		    "\"rss_after_kb\":%ld,\"bytes_per_session\":%.0f,"
		    "\"bytes_per_session_after\":%.0f}\n", total, nlinked, el,
		    rss_base, rss_idle, rss_after, per, per2);
		if (!O.quiet)
			fprintf(stderr, "idle %s: %u paired sessions held "
			    "(opened in %.2f s); reflector RSS %ld -> %ld KiB: "
			    "%.0f bytes per session (%.0f after one message "
			    "each way)\n", B.b_url, total, el, rss_base,
			    rss_idle, per, per2);
		break;
	}
	}
	fflush(stdout);
	if (B.b_loop != NULL)
		ev_break(B.b_loop, EVBREAK_ALL);
}

/* --- setting up -------------------------------------------------------- */

static void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
"usage: medusa-bench setup|latency|throughput|idle --url URL [options]\n"
"  --url URL         ws://HOST:PORT[/PREFIX] (WebSocket reflector) or\n"
"                    tcp://HOST:PORT (bare relay, raw protocol)\n"
"  --raw             raw protocol with a ws:// or host URL\n"
"  -n N              setup: sessions in all (1000)\n"
"  -c C              sessions being opened at once (setup 50, others 200)\n"
"  -s S              sessions (latency 50, throughput 1, idle 1000)\n"
"  -r R              latency: messages a second per session (20; 0: next\n"
"                    as soon as the echo is back)\n"
"  -m BYTES          message size (latency 64, throughput 16384; 16..%u)\n"
"  -d SECONDS        latency/throughput: duration (5); idle: settle (2)\n"
"  --pid PID[,PID]   idle: processes whose resident memory to sum\n"
"  --pidfile FILE    idle: a file holding such a PID\n"
"  --proc-tree PID   idle: PID and all its descendants\n"
"  --src-addrs N     bind to 127.0.0.1..N in turn (loopback; 8)\n"
"  --timeout SECONDS give up (and fail) after this long (300)\n"
"  --label TEXT      copied into the JSON result\n"
"  --key FILE        sign every attach with this private key (the URL's\n"
"                    PREFIX then names the account: /ACCOUNT/medusa)\n"
"  --account NAME    the account the key belongs to (with --key)\n"
"  --procs K         idle: K processes share the sessions (default: as many\n"
"                    as the descriptor limit requires)\n"
"  --hold            idle: once all are linked, print {\"linked\": S} and\n"
"                    hold them, idle, until SIGUSR1 (instead of -d)\n"
"  -q                no line for people on standard error\n", MSG_MAX);
	exit(status);
}

static void
parse_url(const char *url, bool raw)
{
	struct wsurl u;
	struct addrinfo hints, *ai;
	char buf[4200], err[200];
	int r;

	if (strncmp(url, "tcp://", 6) == 0) {
		snprintf(buf, sizeof (buf), "ws://%s", url + 6);
		raw = true;
	} else if (strstr(url, "://") == NULL) {
		snprintf(buf, sizeof (buf), "ws://%s", url);
	} else {
		snprintf(buf, sizeof (buf), "%s", url);
	}
	if (wsurl_parse(buf, &u, err, sizeof (err)) != 0)
		bench_fail("--url %s: %s", url, err);
	if (u.u_tls)
		bench_fail("--url %s: TLS is not supported", url);
	B.b_mode = raw ? MODE_RAW : MODE_WS;
	snprintf(B.b_host, sizeof (B.b_host), "%s", u.u_hostport);
	if (strlen(u.u_path) >= sizeof (B.b_prefix))
		bench_fail("--url: path too long");
	memcpy(B.b_prefix, u.u_path, strlen(u.u_path) + 1);
	{
		size_t l = strlen(B.b_prefix);
		char *q = strchr(B.b_prefix, '?');

		if (q != NULL)
			bench_fail("--url: no query string, please");
		while (l > 0 && B.b_prefix[l - 1] == '/')
			B.b_prefix[--l] = '\0';
	}
	memset(&hints, 0, sizeof (hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(u.u_host, u.u_port, &hints, &ai)) != 0)
		bench_fail("--url %s: %s", url, gai_strerror(r));
	memcpy(&B.b_addr, ai->ai_addr, ai->ai_addrlen);
	B.b_addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void
make_pattern(void)
{
	uint32_t x = 0x9e3779b9u ^ B.b_run;
	size_t i, n = PAT_LEN + MSG_MAX;

	if ((B.b_pat = malloc(n)) == NULL || (B.b_mpat = malloc(n)) == NULL)
		bench_fail("out of memory");
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		B.b_pat[i] = (uint8_t)(x >> 11);
	}
	for (i = 0; i < 4; i++)
		B.b_mask[i] = (uint8_t)(1 + (x >> (i * 8)) % 255);
	memcpy(B.b_mpat, B.b_pat, n);
	wsframe_mask(B.b_mpat, n, B.b_mask, 0);
}

static uint32_t
num(const char *s, const char *what, uint32_t min, uint32_t max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
		bench_fail("%s: %s is not a number in %u..%u", what, s, min,
		    max);
	return ((uint32_t)v);
}

/*
 * The credential headers for an attach, or NULL without --key: made once
 * a second (the Date is what is signed).
 */
const char *
bench_auth_headers(void)
{
	char date[64], authz[1800], err[256];
	int64_t now = (int64_t)time(NULL);

	if (B.b_signer == NULL)
		return (NULL);
	if (now != B.b_auth_at) {
		if (signer_authorization(B.b_signer, B.b_account, now, date,
		    sizeof (date), authz, sizeof (authz), err,
		    sizeof (err)) != 0)
			bench_fail("signing: %s", err);
		snprintf(B.b_auth, sizeof (B.b_auth), "Date: %s\r\n"
		    "Authorization: %s\r\n", date, authz);
		B.b_auth_at = now;
	}
	return (B.b_auth);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "raw", no_argument, NULL, 'R' },
		{ "pid", required_argument, NULL, 'P' },
		{ "pidfile", required_argument, NULL, 'F' },
		{ "proc-tree", required_argument, NULL, 'T' },
		{ "src-addrs", required_argument, NULL, 'A' },
		{ "timeout", required_argument, NULL, 't' },
		{ "label", required_argument, NULL, 'L' },
		{ "key", required_argument, NULL, 'K' },
		{ "account", required_argument, NULL, 'a' },
		{ "procs", required_argument, NULL, 'j' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *url = NULL, *keyfile = NULL;
	bool raw = false;
	int ch, nsrc = -1;
	uint32_t i;
	char *p, *tok, *save;

	if (argc < 2)
		usage(2);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		usage(0);
	B.b_sc_name = argv[1];
	if (strcmp(argv[1], "setup") == 0)
		B.b_sc = SC_SETUP;
	else if (strcmp(argv[1], "latency") == 0)
		B.b_sc = SC_LATENCY;
	else if (strcmp(argv[1], "throughput") == 0)
		B.b_sc = SC_THROUGHPUT;
	else if (strcmp(argv[1], "idle") == 0)
		B.b_sc = SC_IDLE;
	else
		usage(2);
	argv++;
	argc--;

	O.n = 1000;
	O.c = B.b_sc == SC_SETUP ? 50 : 200;
	O.s = B.b_sc == SC_LATENCY ? 50 : B.b_sc == SC_THROUGHPUT ? 1 : 1000;
	O.rate = 20;
	O.msg = B.b_sc == SC_THROUGHPUT ? 16384 : 64;
	O.dur = B.b_sc == SC_IDLE ? 2 : 5;
	O.timeout = 300;
	while ((ch = getopt_long(argc, argv, "n:c:s:r:m:d:qh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'u':
			url = optarg;
			break;
		case 'R':
			raw = true;
			break;
		case 'n':
			O.n = num(optarg, "-n", 1, 100000000);
			break;
		case 'c':
			O.c = num(optarg, "-c", 1, 1000000);
			break;
		case 's':
			O.s = num(optarg, "-s", 1, 1000000);
			break;
		case 'r':
			O.rate = num(optarg, "-r", 0, 1000000);
			break;
		case 'm':
			O.msg = num(optarg, "-m", MSG_HDR, MSG_MAX);
			break;
		case 'd':
			O.dur = strtod(optarg, &p);
			if (*p != '\0' || O.dur < 0 || O.dur > 86400)
				bench_fail("-d: bad duration %s", optarg);
			break;
		case 'P':
			for (tok = strtok_r(optarg, ",", &save); tok != NULL;
			    tok = strtok_r(NULL, ",", &save)) {
				if (O.npids == 64)
					bench_fail("--pid: too many");
				O.pids[O.npids++] = (int)num(tok, "--pid", 1,
				    0x7fffffff);
			}
			break;
		case 'F':
			O.pidfile = optarg;
			break;
		case 'T':
			O.tree = (int)num(optarg, "--proc-tree", 1, 0x7fffffff);
			break;
		case 'A':
			nsrc = (int)num(optarg, "--src-addrs", 1, 250);
			break;
		case 't':
			O.timeout = strtod(optarg, &p);
			if (*p != '\0' || O.timeout <= 0)
				bench_fail("--timeout: bad value %s", optarg);
			break;
		case 'L':
			B.b_label = optarg;
			break;
		case 'K':
			keyfile = optarg;
			break;
		case 'a':
			B.b_account = optarg;
			break;
		case 'j':
			O.procs = (int)num(optarg, "--procs", 1, 64);
			break;
		case 'H':
			O.hold = true;
			break;
		case 'q':
			O.quiet = true;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (url == NULL || optind != argc)
		usage(2);
	if (keyfile != NULL) {
		static struct signer sg;
		char err[256];

		if (B.b_account == NULL)
			bench_fail("--key needs --account");
		if (signer_open(&sg, keyfile, NULL, err, sizeof (err)) != 0)
			bench_fail("--key: %s", err);
		B.b_signer = &sg;
	}
	B.b_url = url;
	parse_url(url, raw);
	if (B.b_sc == SC_THROUGHPUT && O.dur <= 0)
		bench_fail("-d: throughput needs a duration");

	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)(getpid() ^ time(NULL)));
	B.b_run = (uint32_t)random() ^ ((uint32_t)getpid() << 16);
	make_pattern();
	if (nsrc < 0) {
		nsrc = 1;
		if (B.b_addr.ss_family == AF_INET &&
		    (ntohl(((struct sockaddr_in *)&B.b_addr)->sin_addr.s_addr)
		    >> 24) == 127)
			nsrc = 8;
	}
	B.b_nsrc = nsrc;

	total = B.b_sc == SC_SETUP ? O.n : O.s;
	nslots = B.b_sc == SC_SETUP ? (O.c < total ? O.c : total) : total;
	if (B.b_sc != SC_SETUP && O.c > total)
		O.c = total;
	raise_nofile(2 * (size_t)nslots + 256);
	if (B.b_sc == SC_IDLE) {
		struct rlimit rl;
		size_t cap = 1000;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 2256)
			cap = (rl.rlim_cur - 256) / 2;
		if (O.procs == 0)
			O.procs = (int)((total + cap - 1) / cap);
		if (O.procs > 1 && (size_t)total / (size_t)O.procs + 1 > cap)
			bench_fail("--procs %d: %zu sessions per process at most",
			    O.procs, cap);
		if (O.procs > 1)
			nslots = total / (uint32_t)O.procs + 1;
	}
	if (O.hold && (B.b_sc != SC_IDLE || O.procs > 1))
		bench_fail("--hold: idle in one process only");
	if ((SS = calloc(nslots, sizeof (*SS))) == NULL ||
	    (freeslots = calloc(nslots, sizeof (uint32_t))) == NULL)
		bench_fail("out of memory for %u sessions", nslots);
	for (i = 0; i < nslots; i++)
		freeslots[nfree++] = nslots - 1 - i;

	if (B.b_sc == SC_IDLE)
		rss_base = reflector_rss();
	t_begin = now_ns();
	if (B.b_sc == SC_IDLE && O.procs > 1)
		idle_parent(O.procs);	/* returns in the children only */

	B.b_loop = ev_default_loop(EVFLAG_AUTO);
	ev_prepare_init(&kick, kick_cb);
	ev_prepare_start(B.b_loop, &kick);
	ev_init(&phase_timer, phase_timer_cb);
	if (O.hold) {
		ev_signal_init(&go_on, go_on_cb, SIGUSR1);
		ev_signal_start(B.b_loop, &go_on);
	}
	ev_timer_init(&deadline, deadline_cb, O.timeout, 0.);
	ev_timer_start(B.b_loop, &deadline);
	if (child_down >= 0) {
		ev_io_init(&down_io, down_cb, child_down, EV_READ);
		ev_io_start(B.b_loop, &down_io);
	}
	ev_run(B.b_loop, 0);
	return (0);
}

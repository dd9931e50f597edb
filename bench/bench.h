/*
 * bench.h: medusa-bench, a load generator that plays both ends of many
 * sessions against a reflector and checks every byte.  See medusa-bench.c
 * for the design and the scenarios; bconn.c has the connections and the two
 * wire protocols (WebSocket, and the bare relay's raw one); bstats.c has the
 * numbers (percentiles, clocks, resident memory).
 */
#ifndef MEDUSA_BENCH_H
#define MEDUSA_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <ev.h>

#include "buf.h"
#include "wsframe.h"
#include "wshandshake.h"

struct signer;

/*
 * A test message, in both modes (the payload of one WebSocket frame, or a
 * run of bytes in the raw stream):
 *
 *	0	u32	BENCH_MAGIC
 *	4	u32	length of the whole message, this header included
 *	8	u32	session index | direction << 31 (0: master to slave)
 *	12	u32	sequence number in that direction
 *	16...		bytes of the pattern from an offset that depends on the
 *			three fields above (bench_pat_off())
 *
 * All integers are big-endian.  The receiver knows which session, direction
 * and sequence number must come next, so it checks every byte against what
 * was sent without keeping a copy.
 */
#define	BENCH_MAGIC	0x4d424e31u	/* "MBN1" */
#define	MSG_HDR		16
#define	MSG_MAX		(256u * 1024)
#define	PAT_LEN		(64u * 1024)	/* offsets: [0, PAT_LEN), 4-aligned */
#define	LAT_RING	256		/* latency: messages in flight */

enum bmode { MODE_WS, MODE_RAW };
enum scenario { SC_SETUP, SC_LATENCY, SC_THROUGHPUT, SC_IDLE };
enum role { ROLE_MASTER = 0, ROLE_SLAVE = 1 };

enum cstate {
	CS_IDLE,		/* not started */
	CS_CONNECTING,		/* TCP connect in progress */
	CS_HANDSHAKE,		/* request or line sent, awaiting 101 / '+' */
	CS_LINKWAIT,		/* WebSocket open, awaiting linkup */
	CS_LINKED,		/* forwarding */
	CS_CLOSING,		/* we sent CLOSE (or FIN); awaiting theirs */
	CS_DONE			/* closed */
};

enum rstate {
	RS_HTTP,		/* reading the 101 head */
	RS_RAWLINK,		/* raw: awaiting the linkup byte */
	RS_FHDR,		/* WebSocket frame header */
	RS_PAYLOAD,		/* WebSocket frame payload */
	RS_RAW			/* raw: message stream */
};

struct session;

struct conn {
	struct session	*c_s;
	int		c_fd;
	uint8_t		c_role;
	uint8_t		c_state;
	uint8_t		c_rstate;
	bool		c_want_write;
	ev_io		c_io;

	struct buf	c_out;		/* small frames queued for the socket */
	struct buf	c_hin;		/* the HTTP head being read */
	char		c_key[WSH_KEY_LEN + 1];

	/* WebSocket frame being read. */
	uint8_t		c_fh[WSFRAME_MAX_HEADER];
	uint8_t		c_fhlen;
	uint8_t		c_op;		/* opcode of the frame */
	uint8_t		c_msgop;	/* opcode of the message (fragments) */
	bool		c_fin;
	uint64_t	c_plen, c_ppos;
	uint8_t		c_ctl[1024];	/* a text message */
	size_t		c_ctllen;
	uint8_t		c_cf[WSFRAME_MAX_CONTROL];	/* a control frame */
	size_t		c_cflen;
	unsigned	c_fmsgs;	/* test messages in this binary one */

	/* Test message being checked. */
	uint8_t		c_mh[MSG_HDR];
	uint8_t		c_mhlen;
	uint32_t	c_mlen, c_mpos;
	const uint8_t	*c_mbody;	/* expected bytes after the header */
	uint32_t	c_rx_seq;	/* next sequence number expected */
	uint8_t		c_rx_dir;	/* direction of what we receive */
	uint64_t	c_rx_bytes;	/* payload bytes checked */

	/* Streaming sender (throughput). */
	bool		c_streaming;
	bool		c_st_stop;
	uint32_t	c_st_seq;	/* messages written in full */
	uint32_t	c_st_off;	/* bytes of the next one written */
	uint32_t	c_st_size;

	uint32_t	c_tx_seq;	/* small messages sent */
	uint32_t	c_waits;	/* medusa:wait pulses seen */
};

struct session {
	uint32_t	s_idx;
	char		s_id[64];
	struct conn	s_c[2];		/* master, slave */
	uint64_t	s_t_start;	/* ns, first connect */
	uint64_t	s_t_link;	/* ns, both linked */
	uint8_t		s_nlinked;
	uint8_t		s_ndone;
	bool		s_closing;	/* we began closing it */
	bool		s_started;
	ev_timer	s_timer;	/* latency: the sending clock */
	uint64_t	*s_ring;	/* latency: send times by seq */
	uint32_t	s_acked;	/* latency: echoes received */
};

/* Options and run state shared by the files. */
struct bench {
	struct ev_loop	*b_loop;
	enum scenario	b_sc;
	enum bmode	b_mode;
	const char	*b_sc_name;
	const char	*b_url;
	const char	*b_label;
	char		b_host[300];	/* Host header */
	char		b_prefix[256];	/* path before /attach/ */
	/*
	 * --key: every attach is a signed request (Date and Authorization);
	 * the signature covers only the Date, so one serves every request
	 * of a second, as node-manta's would (the reflector still checks
	 * each one).
	 */
	struct signer	*b_signer;
	const char	*b_account;
	int64_t		b_auth_at;	/* the second b_auth was made for */
	char		b_auth[2048];	/* "Date: ...\r\nAuthorization: ...\r\n" */
	struct sockaddr_storage b_addr;
	socklen_t	b_addrlen;
	int		b_nsrc;		/* loopback source addresses */
	uint32_t	b_run;		/* random run tag for session ids */
	int		b_child_up;	/* idle --procs: pipe to the parent */

	uint8_t		b_mask[4];
	uint8_t		*b_pat;		/* PAT_LEN + MSG_MAX bytes */
	uint8_t		*b_mpat;	/* the same, masked with b_mask */
};

extern struct bench B;

/* medusa-bench.c */
const char *bench_auth_headers(void);

/* bconn.c */
void conn_start_session(struct session *);
void conn_send_msg(struct conn *, unsigned dir, uint32_t seq, uint32_t len);
void conn_start_stream(struct conn *, uint32_t size);
void conn_stop_stream(struct conn *);
void conn_begin_close(struct conn *);
void conn_abort(struct conn *);
void conn_flush(struct conn *);
size_t bench_pat_off(uint32_t sid, unsigned dir, uint32_t seq);

/* Callbacks into the scenario (medusa-bench.c). */
void sc_linked(struct session *);
void sc_message(struct conn *, uint32_t seq, uint32_t len);
void sc_conn_done(struct conn *);
void sc_stream_done(struct conn *);

/* bstats.c */
uint64_t now_ns(void);
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));
int u64_cmp(const void *, const void *);
uint64_t pct(const uint64_t *sorted, size_t n, double q);
/* Resident memory (KiB) summed over the processes named; -1 if none. */
long rss_kb(const int *pids, int npids, int tree_root);
void raise_nofile(size_t want);
void json_str(char *out, size_t cap, const char *s);

#endif

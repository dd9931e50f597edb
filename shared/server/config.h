/*
 * config.h: the reflector's configuration (a JSON object; etc/medusa.json).
 *
 * config_parse() is pure (text in, struct out, error text) so it can be
 * fuzzed; config_load() reads a file and calls it.  Unknown keys and values
 * of the wrong type or out of range are errors, named in the message, so a
 * typo never passes silently.  Durations are in seconds (fractions allowed);
 * sizes in bytes.
 */
#ifndef MEDUSA_CONFIG_H
#define MEDUSA_CONFIG_H

#include <limits.h>
#include <stddef.h>

#define	CONFIG_MAX_BINDS	8
#define	CONFIG_ADDR_MAX		64
#define	CONFIG_HOSTPORT_MAX	(CONFIG_ADDR_MAX + 8)	/* "[addr]:port" */
#define	CONFIG_URL_MAX		256

/* Who may attach (config "auth"). */
enum config_auth {
	CONFIG_AUTH_SIGNATURE = 0,	/* a credential of the path's account */
	CONFIG_AUTH_NONE = 1		/* anyone who reaches the port */
};

struct medusa_config {
	char	mc_bind[CONFIG_MAX_BINDS][CONFIG_ADDR_MAX];
	int	mc_nbind;
	int	mc_port;		/* 0: any free port (logged) */
	int	mc_workers;		/* 0: one per CPU */
	char	mc_worker_path[PATH_MAX]; /* "": next to medusa */
	int	mc_log_level;
	size_t	mc_head_max;		/* request head bytes */
	double	mc_head_timeout;	/* s, to read a request head */
	double	mc_pairing_timeout;	/* s, a side waits for its peer */
	double	mc_idle_timeout;	/* s, a session with no messages */
	double	mc_close_timeout;	/* s, for the peer's close reply */
	double	mc_ping_interval;	/* s, pings to peers that accept them */
	double	mc_shutdown_timeout;	/* s, to close sessions on SIGTERM */
	double	mc_wait_interval;	/* s, "wait" pulses to a master */
	size_t	mc_max_message;		/* bytes, a reassembled message */
	size_t	mc_out_high;		/* bytes queued: stop reading the peer */
	size_t	mc_out_low;		/* bytes queued: read the peer again */
	size_t	mc_max_id;		/* session id length */
	int	mc_max_conns;		/* connections the supervisor holds */
	int	mc_max_sessions;	/* sessions per worker */
	double	mc_hold_timeout;	/* s, an attach waits for its worker */
	double	mc_drain_timeout;	/* s, a retiring worker's last sessions */
	char	mc_admin_socket[108];	/* medusactl's UNIX socket */
	char	mc_user[64];		/* run as, when started as root */
	char	mc_group[64];		/* "": the user's own group */
	int	mc_max_per_addr;	/* connections from one address */
	int	mc_defer_accept;	/* s, TCP_DEFER_ACCEPT; 0: off */
	int	mc_auth;		/* enum config_auth */
	char	mc_keys_dir[PATH_MAX];	/* relative: to the config file's */
	double	mc_clock_skew;		/* s, a signed Date's distance from now */
	double	mc_presign_max;		/* s, a presigned URL's expiry ahead */
	/* The internal listener (full /status, /metrics); "": none. */
	char	mc_status_listen[CONFIG_HOSTPORT_MAX];
	/* Listeners behind a front door that authenticates: no credential. */
	char	mc_trusted[CONFIG_MAX_BINDS][CONFIG_HOSTPORT_MAX];
	int	mc_ntrusted;
	/* The deployment's secret (resume tokens); relative: as keys_dir. */
	char	mc_secret_file[PATH_MAX];
	double	mc_token_ttl;		/* s, a resume token's life */
	/* The session directory (issue 16): a Redis URL; "": none. */
	char	mc_directory[CONFIG_URL_MAX];
	/* "host:port" other reflectors dial for this one; "": first bind. */
	char	mc_advertise[CONFIG_HOSTPORT_MAX];
	double	mc_claim_ttl;		/* s, a directory claim's life */
};

/* A directory URL, split (config_redis_url). */
struct config_redis {
	char	cr_host[CONFIG_ADDR_MAX];
	int	cr_port;		/* 6379 when not given */
	char	cr_password[CONFIG_URL_MAX];	/* "": none */
	int	cr_db;			/* 0 when not given */
};

void config_defaults(struct medusa_config *);
/* 0, or -1 with err filled. */
int config_parse(struct medusa_config *, const char *text, size_t len,
    char *err, size_t errlen);
int config_load(struct medusa_config *, const char *path, char *err,
    size_t errlen);
/*
 * The same, for the file `name` in the directory open as dirfd (or, with
 * name "", the open file dirfd itself, from its current offset).
 */
int config_load_at(struct medusa_config *, int dirfd, const char *name,
    char *err, size_t errlen);
/*
 * Split "host:port" or "[v6]:port" into host (without brackets) and port.
 * Pure.  0, or -1 if it is not of that form or the port is not 0..65535.
 */
int config_hostport(const char *s, char *host, size_t hostcap, int *port);

/*
 * Split a directory URL, "redis://[:password@]host[:port][/db]" (host may
 * be "[v6]"; db 0..15; the password is percent-free text without '@').
 * Pure.  0, or -1 with err naming what is wrong.
 */
int config_redis_url(const char *url, struct config_redis *out, char *err,
    size_t errlen);

/* Checks across fields (watermarks, limits).  0 or -1 with err. */
int config_check(const struct medusa_config *, char *err, size_t errlen);

#endif

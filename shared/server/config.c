/*
 * config.c: JSON configuration; see config.h.  Uses jansson.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "paths.h"
#include "mlog.h"
#include "route.h"

void
config_defaults(struct medusa_config *c)
{
	memset(c, 0, sizeof (*c));
	snprintf(c->mc_bind[0], CONFIG_ADDR_MAX, "127.0.0.1");
	c->mc_nbind = 1;
	c->mc_port = 8381;
	c->mc_workers = 0;
	c->mc_log_level = MLOG_INFO;
	c->mc_head_max = 8192;
	c->mc_head_timeout = 10;
	c->mc_pairing_timeout = 600;
	c->mc_idle_timeout = 3600;
	c->mc_close_timeout = 5;
	c->mc_ping_interval = 30;
	c->mc_shutdown_timeout = 10;
	c->mc_wait_interval = 2;
	c->mc_max_message = 1024 * 1024;
	c->mc_out_high = 1024 * 1024;
	c->mc_out_low = 256 * 1024;
	c->mc_max_id = 128;
	c->mc_max_conns = 10000;
	c->mc_max_sessions = 100000;
	c->mc_hold_timeout = 1;
	c->mc_drain_timeout = 300;
	/* In-tree rule (paths.h); medusa and medusactl apply their build's. */
	(void) paths_admin_socket("", getenv("XDG_RUNTIME_DIR"),
	    c->mc_admin_socket, sizeof (c->mc_admin_socket));
	snprintf(c->mc_user, sizeof (c->mc_user), "nobody");
	c->mc_max_per_addr = 1024;
	c->mc_defer_accept = 1;
	c->mc_auth = CONFIG_AUTH_SIGNATURE;
	snprintf(c->mc_keys_dir, sizeof (c->mc_keys_dir), "keys");
	c->mc_clock_skew = 300;
	c->mc_presign_max = 7 * 86400;
	snprintf(c->mc_status_listen, sizeof (c->mc_status_listen),
	    "127.0.0.1:8382");
	snprintf(c->mc_secret_file, sizeof (c->mc_secret_file), "secret");
	c->mc_token_ttl = 3600;
	c->mc_directory[0] = '\0';
	c->mc_advertise[0] = '\0';
	c->mc_claim_ttl = 30;
}

int
config_redis_url(const char *url, struct config_redis *out, char *err,
    size_t errlen)
{
	static const char scheme[] = "redis://";
	const char *p, *at, *slash, *hp;
	char hostport[CONFIG_HOSTPORT_MAX];
	size_t n;

	memset(out, 0, sizeof (*out));
	out->cr_port = 6379;
	if (strncmp(url, scheme, sizeof (scheme) - 1) != 0) {
		snprintf(err, errlen, "must begin with %s", scheme);
		return (-1);
	}
	p = url + sizeof (scheme) - 1;
	if ((at = strrchr(p, '@')) != NULL) {
		if (p[0] != ':' || at == p + 1) {
			snprintf(err, errlen, "credentials must be "
			    "\":password@\"");
			return (-1);
		}
		n = (size_t)(at - (p + 1));
		if (n >= sizeof (out->cr_password) ||
		    memchr(p + 1, '/', n) != NULL) {
			snprintf(err, errlen, "bad password");
			return (-1);
		}
		memcpy(out->cr_password, p + 1, n);
		out->cr_password[n] = '\0';
		p = at + 1;
	}
	hp = p;
	/* The path (a db number) starts at the first '/' after the host. */
	slash = strchr(hp, '/');
	n = slash != NULL ? (size_t)(slash - hp) : strlen(hp);
	if (n == 0 || n >= sizeof (hostport)) {
		snprintf(err, errlen, "no host, or a host too long");
		return (-1);
	}
	memcpy(hostport, hp, n);
	hostport[n] = '\0';
	/* Without a port: the host alone (no ':' unless a bracketed v6). */
	if (hostport[n - 1] == ']' || strchr(hostport, ':') == NULL) {
		const char *h = hostport;
		size_t hn = n;

		if (h[0] == '[') {
			if (hn < 3 || h[hn - 1] != ']') {
				snprintf(err, errlen, "bad host");
				return (-1);
			}
			h++;
			hn -= 2;
		}
		if (hn >= sizeof (out->cr_host) || memchr(h, '[', hn) ||
		    memchr(h, ']', hn)) {
			snprintf(err, errlen, "bad host");
			return (-1);
		}
		memcpy(out->cr_host, h, hn);
		out->cr_host[hn] = '\0';
	} else if (config_hostport(hostport, out->cr_host,
	    sizeof (out->cr_host), &out->cr_port) != 0 ||
	    out->cr_port == 0 || out->cr_host[0] == '\0') {
		snprintf(err, errlen, "bad host or port (want host:1..65535)");
		return (-1);
	}
	if (slash != NULL) {
		const char *d = slash + 1;

		if (d[0] == '\0') {
			/* "redis://h:1/" is db 0 */
		} else if (d[0] >= '0' && d[0] <= '9' && (d[1] == '\0' ||
		    (d[0] == '1' && d[1] >= '0' && d[1] <= '5' &&
		    d[2] == '\0'))) {
			out->cr_db = atoi(d);
		} else {
			snprintf(err, errlen, "the database must be 0..15");
			return (-1);
		}
	}
	return (0);
}

int
config_hostport(const char *s, char *host, size_t hostcap, int *port)
{
	const char *colon, *h = s;
	size_t hn;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return (-1);
		h = s + 1;
		hn = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return (-1);
		hn = (size_t)(colon - s);
	}
	if (hn == 0 || hn >= hostcap || colon[1] == '\0')
		return (-1);
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p < 0 || p > 65535 ||
	    colon[1] < '0' || colon[1] > '9')
		return (-1);
	memcpy(host, h, hn);
	host[hn] = '\0';
	*port = (int)p;
	return (0);
}

/* An "address:port" string (checked), into out. */
static int
config_hostport_key(json_t *v, const char *key, char *out, size_t cap,
    char *err, size_t errlen)
{
	char host[CONFIG_ADDR_MAX];
	int port;

	if (!json_is_string(v) || json_string_length(v) >= cap ||
	    config_hostport(json_string_value(v), host, sizeof (host),
	    &port) != 0) {
		snprintf(err, errlen, "\"%s\" must be \"address:port\" "
		    "(\"[address]:port\" for IPv6)", key);
		return (-1);
	}
	snprintf(out, cap, "%s", json_string_value(v));
	return (0);
}

static int
config_trusted(json_t *v, struct medusa_config *c, char *err, size_t errlen)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) > CONFIG_MAX_BINDS) {
		snprintf(err, errlen, "\"trusted_listen\" must be a list of "
		    "up to %d \"address:port\" strings", CONFIG_MAX_BINDS);
		return (-1);
	}
	json_array_foreach(v, i, e) {
		char key[48];

		snprintf(key, sizeof (key), "trusted_listen[%zu]", i);
		if (config_hostport_key(e, key, c->mc_trusted[i],
		    sizeof (c->mc_trusted[i]), err, errlen) != 0)
			return (-1);
	}
	c->mc_ntrusted = (int)json_array_size(v);
	return (0);
}

/* A string key with a length limit; "" allowed only if empty_ok. */
static int
config_string(json_t *v, const char *key, char *out, size_t cap,
    bool empty_ok, char *err, size_t errlen)
{
	if (!json_is_string(v) || json_string_length(v) >= cap ||
	    (!empty_ok && json_string_length(v) == 0)) {
		snprintf(err, errlen, "\"%s\" must be a string of %s%zu "
		    "bytes", key, empty_ok ? "up to " : "1 to ", cap - 1);
		return (-1);
	}
	snprintf(out, cap, "%s", json_string_value(v));
	return (0);
}

enum ckind { CK_SECONDS, CK_SIZE, CK_INT };

static const struct cfield {
	const char	*name;
	enum ckind	kind;
	size_t		off;
	double		min, max;
} config_fields[] = {
	{ "port", CK_INT, offsetof(struct medusa_config, mc_port), 0, 65535 },
	{ "workers", CK_INT, offsetof(struct medusa_config, mc_workers),
	    0, 256 },
	{ "head_max_bytes", CK_SIZE, offsetof(struct medusa_config,
	    mc_head_max), 256, 1024 * 1024 },
	{ "head_timeout_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_head_timeout), 0.01, 3600 },
	{ "pairing_timeout_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_pairing_timeout), 0.01, 86400 * 7 },
	{ "idle_timeout_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_idle_timeout), 0.01, 86400 * 7 },
	{ "close_timeout_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_close_timeout), 0.01, 3600 },
	{ "ping_interval_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_ping_interval), 0.01, 86400 },
	{ "shutdown_timeout_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_shutdown_timeout), 0.01, 3600 },
	{ "wait_interval_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_wait_interval), 0.01, 3600 },
	{ "max_message_bytes", CK_SIZE, offsetof(struct medusa_config,
	    mc_max_message), 125, 256.0 * 1024 * 1024 },
	{ "outbound_high_water_bytes", CK_SIZE, offsetof(struct medusa_config,
	    mc_out_high), 1024, 1024.0 * 1024 * 1024 },
	{ "outbound_low_water_bytes", CK_SIZE, offsetof(struct medusa_config,
	    mc_out_low), 0, 1024.0 * 1024 * 1024 },
	{ "max_id_length", CK_SIZE, offsetof(struct medusa_config, mc_max_id),
	    1, ROUTE_ID_MAX },
	{ "max_connections", CK_INT, offsetof(struct medusa_config,
	    mc_max_conns), 1, 10000000 },
	{ "max_sessions_per_worker", CK_INT, offsetof(struct medusa_config,
	    mc_max_sessions), 1, 10000000 },
	{ "hold_timeout_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_hold_timeout), 0.01, 60 },
	{ "drain_timeout_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_drain_timeout), 0.01, 86400 * 7 },
	{ "max_connections_per_address", CK_INT, offsetof(struct medusa_config,
	    mc_max_per_addr), 1, 10000000 },
	{ "defer_accept_s", CK_INT, offsetof(struct medusa_config,
	    mc_defer_accept), 0, 10 },
	{ "clock_skew_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_clock_skew), 1, 86400 },
	{ "presign_max_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_presign_max), 60, 366.0 * 86400 },
	{ "resume_token_ttl_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_token_ttl), 10, 30.0 * 86400 },
	{ "claim_ttl_s", CK_SECONDS, offsetof(struct medusa_config,
	    mc_claim_ttl), 1, 3600 },
};

static int
config_number(const struct cfield *f, json_t *v, struct medusa_config *c,
    char *err, size_t errlen)
{
	double d;
	char *p = (char *)c + f->off;

	if (!json_is_number(v)) {
		snprintf(err, errlen, "\"%s\" must be a number", f->name);
		return (-1);
	}
	d = json_number_value(v);
	if (f->kind != CK_SECONDS && (!json_is_integer(v))) {
		snprintf(err, errlen, "\"%s\" must be a whole number", f->name);
		return (-1);
	}
	if (!(d >= f->min && d <= f->max)) {
		snprintf(err, errlen, "\"%s\" must be between %g and %g",
		    f->name, f->min, f->max);
		return (-1);
	}
	switch (f->kind) {
	case CK_SECONDS:
		*(double *)(void *)p = d;
		break;
	case CK_SIZE:
		*(size_t *)(void *)p = (size_t)d;
		break;
	case CK_INT:
		*(int *)(void *)p = (int)d;
		break;
	}
	return (0);
}

static int
config_bind(json_t *v, struct medusa_config *c, char *err, size_t errlen)
{
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		if (json_string_length(v) == 0 ||
		    json_string_length(v) >= CONFIG_ADDR_MAX) {
			snprintf(err, errlen, "\"bind\" address is empty or "
			    "too long");
			return (-1);
		}
		snprintf(c->mc_bind[0], CONFIG_ADDR_MAX, "%s",
		    json_string_value(v));
		c->mc_nbind = 1;
		return (0);
	}
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > CONFIG_MAX_BINDS) {
		snprintf(err, errlen, "\"bind\" must be an address or a list "
		    "of 1 to %d addresses", CONFIG_MAX_BINDS);
		return (-1);
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) >= CONFIG_ADDR_MAX) {
			snprintf(err, errlen, "\"bind\"[%zu] must be an address "
			    "string", i);
			return (-1);
		}
		snprintf(c->mc_bind[i], CONFIG_ADDR_MAX, "%s",
		    json_string_value(e));
	}
	c->mc_nbind = (int)json_array_size(v);
	return (0);
}

int
config_parse(struct medusa_config *c, const char *text, size_t len,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *v;
	const char *key;
	int rv = -1;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "line %d column %d: %s", je.line,
		    je.column, je.text);
		return (-1);
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "the configuration must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		const struct cfield *f = NULL;

		if (strcmp(key, "bind") == 0) {
			if (config_bind(v, c, err, errlen) != 0)
				goto out;
			continue;
		}
		if (strcmp(key, "worker_path") == 0) {
			if (!json_is_string(v) ||
			    json_string_length(v) >= sizeof (c->mc_worker_path)) {
				snprintf(err, errlen, "\"worker_path\" must be "
				    "a path");
				goto out;
			}
			snprintf(c->mc_worker_path, sizeof (c->mc_worker_path),
			    "%s", json_string_value(v));
			continue;
		}
		if (strcmp(key, "admin_socket") == 0) {
			if (config_string(v, key, c->mc_admin_socket,
			    sizeof (c->mc_admin_socket), false, err,
			    errlen) != 0)
				goto out;
			continue;
		}
		if (strcmp(key, "auth") == 0) {
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), "signature") == 0) {
				c->mc_auth = CONFIG_AUTH_SIGNATURE;
			} else if (json_is_string(v) &&
			    strcmp(json_string_value(v), "none") == 0) {
				c->mc_auth = CONFIG_AUTH_NONE;
			} else {
				snprintf(err, errlen, "\"auth\" must be "
				    "\"signature\" or \"none\"");
				goto out;
			}
			continue;
		}
		if (strcmp(key, "secret_file") == 0) {
			if (config_string(v, key, c->mc_secret_file,
			    sizeof (c->mc_secret_file), false, err, errlen) != 0)
				goto out;
			continue;
		}
		if (strcmp(key, "keys_dir") == 0) {
			if (config_string(v, key, c->mc_keys_dir,
			    sizeof (c->mc_keys_dir), false, err, errlen) != 0)
				goto out;
			continue;
		}
		if (strcmp(key, "status_listen") == 0) {
			if (json_is_string(v) && json_string_length(v) == 0) {
				c->mc_status_listen[0] = '\0';
				continue;
			}
			if (config_hostport_key(v, key, c->mc_status_listen,
			    sizeof (c->mc_status_listen), err, errlen) != 0)
				goto out;
			continue;
		}
		if (strcmp(key, "directory") == 0) {
			struct config_redis r;
			char why[128];

			if (!json_is_string(v)) {
				snprintf(err, errlen, "\"directory\" must be "
				    "a redis:// URL or \"\"");
				goto out;
			}
			if (json_string_length(v) != 0 &&
			    (json_string_length(v) >= sizeof (c->mc_directory) ||
			    config_redis_url(json_string_value(v), &r, why,
			    sizeof (why)) != 0)) {
				if (json_string_length(v) >=
				    sizeof (c->mc_directory))
					snprintf(why, sizeof (why), "too long");
				snprintf(err, errlen, "\"directory\": %s "
				    "(redis://[:password@]host[:port][/db])",
				    why);
				goto out;
			}
			snprintf(c->mc_directory, sizeof (c->mc_directory),
			    "%s", json_string_value(v));
			continue;
		}
		if (strcmp(key, "advertise") == 0) {
			if (json_is_string(v) && json_string_length(v) == 0) {
				c->mc_advertise[0] = '\0';
				continue;
			}
			if (config_hostport_key(v, key, c->mc_advertise,
			    sizeof (c->mc_advertise), err, errlen) != 0)
				goto out;
			continue;
		}
		if (strcmp(key, "trusted_listen") == 0) {
			if (config_trusted(v, c, err, errlen) != 0)
				goto out;
			continue;
		}
		if (strcmp(key, "user") == 0) {
			if (config_string(v, key, c->mc_user,
			    sizeof (c->mc_user), true, err, errlen) != 0)
				goto out;
			continue;
		}
		if (strcmp(key, "group") == 0) {
			if (config_string(v, key, c->mc_group,
			    sizeof (c->mc_group), true, err, errlen) != 0)
				goto out;
			continue;
		}
		if (strcmp(key, "log_level") == 0) {
			int l = -1;

			if (json_is_string(v))
				l = mlog_level_parse(json_string_value(v));
			else if (json_is_integer(v) &&
			    json_integer_value(v) >= 1 &&
			    json_integer_value(v) <= 100)
				l = (int)json_integer_value(v);
			if (l < 0) {
				snprintf(err, errlen, "\"log_level\" must be "
				    "trace, debug, info, warn, error or fatal");
				goto out;
			}
			c->mc_log_level = l;
			continue;
		}
		for (size_t i = 0; i < sizeof (config_fields) /
		    sizeof (config_fields[0]); i++) {
			if (strcmp(key, config_fields[i].name) == 0)
				f = &config_fields[i];
		}
		if (f == NULL) {
			snprintf(err, errlen, "unknown key \"%s\"", key);
			goto out;
		}
		if (config_number(f, v, c, err, errlen) != 0)
			goto out;
	}
	rv = config_check(c, err, errlen);
out:
	json_decref(root);
	return (rv);
}

/* A wildcard (unspecified) address: 0.0.0.0, ::, ::ffff:0.0.0.0. */
static int
config_wildcard(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (a4.s_addr == htonl(INADDR_ANY));
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return (IN6_IS_ADDR_UNSPECIFIED(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 0 &&
		    a6.s6_addr[13] == 0 && a6.s6_addr[14] == 0 &&
		    a6.s6_addr[15] == 0));
	return (0);
}

int
config_check(const struct medusa_config *c, char *err, size_t errlen)
{
	if (c->mc_out_low >= c->mc_out_high) {
		snprintf(err, errlen, "outbound_low_water_bytes must be below "
		    "outbound_high_water_bytes");
		return (-1);
	}
	if (c->mc_nbind < 1) {
		snprintf(err, errlen, "no address to bind");
		return (-1);
	}
	if (c->mc_advertise[0] != '\0') {
		char host[CONFIG_ADDR_MAX];
		int port;

		if (config_hostport(c->mc_advertise, host, sizeof (host),
		    &port) != 0 || port == 0) {
			snprintf(err, errlen, "\"advertise\" must name a "
			    "port other than 0");
			return (-1);
		}
		if (config_wildcard(host)) {
			snprintf(err, errlen, "\"advertise\" must name an "
			    "address other reflectors can dial, not %s", host);
			return (-1);
		}
	} else if (c->mc_directory[0] != '\0' &&
	    config_wildcard(c->mc_bind[0])) {
		/*
		 * The default advertise is bind[0]:port; a wildcard there
		 * names no host another reflector could dial, and no sound
		 * rule picks one of this host's addresses for it.
		 */
		snprintf(err, errlen, "\"advertise\" is required with "
		    "\"directory\" when the first \"bind\" address is a "
		    "wildcard (%s): set it to this host's address:port as "
		    "the other reflectors reach it", c->mc_bind[0]);
		return (-1);
	}
	return (0);
}

static int config_load_file(struct medusa_config *, FILE *, const char *,
    char *, size_t);

int
config_load(struct medusa_config *c, const char *path, char *err,
    size_t errlen)
{
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	return (config_load_file(c, f, path, err, errlen));
}

int
config_load_at(struct medusa_config *c, int dirfd, const char *name,
    char *err, size_t errlen)
{
	FILE *f;
	int fd;

	/* An empty name reads dirfd itself, an open file. */
	fd = name[0] == '\0' ? dup(dirfd) : openat(dirfd, name,
	    O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		if (fd >= 0)
			(void) close(fd);
		return (-1);
	}
	return (config_load_file(c, f, name, err, errlen));
}

static int
config_load_file(struct medusa_config *c, FILE *f, const char *path,
    char *err, size_t errlen)
{
	char buf[65536];
	size_t n;
	int rv;

	n = fread(buf, 1, sizeof (buf), f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void) fclose(f);
		return (-1);
	}
	if (n == sizeof (buf)) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path,
		    sizeof (buf) - 1);
		(void) fclose(f);
		return (-1);
	}
	(void) fclose(f);
	rv = config_parse(c, buf, n, err, errlen);
	if (rv != 0) {
		char tmp[512];
		snprintf(tmp, sizeof (tmp), "%s: %s", path, err);
		snprintf(err, errlen, "%s", tmp);
	}
	return (rv);
}

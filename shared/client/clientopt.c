/*
 * clientopt.c: the options mlogin and medusa-agent share; see clientopt.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clientopt.h"
#include "resume.h"

const char clientopt_usage[] =
    "      --cacert FILE     trust the CA certificates in FILE (PEM)\n"
    "      --insecure        do not check the reflector's certificate\n"
    "  -a, --account NAME    the account ($MANTA_USER)\n"
    "  -i, --identity FILE   sign with this private key (OpenSSH or PEM,\n"
    "                        no passphrase); else with ssh-agent's\n"
    "  -k, --key-id FP       which key: its fingerprint, MD5 or SHA256\n"
    "                        ($MANTA_KEY_ID)\n"
    "  -o KEY=VALUE          as ssh: ServerAliveInterval=N (s, 0: off;\n"
    "                        default 15), ServerAliveCountMax=M (default\n"
    "                        3), ConnectTimeout=N (s, default 30);\n"
    "                        Resume=yes|no (default yes: a lost connection\n"
    "                        is redialled and the session resumed),\n"
    "                        ResumeBuffer=N[K|M] (replay buffer, bytes;\n"
    "                        default 2M)\n";

void
clientopt_init(struct clientopt *co)
{
	memset(co, 0, sizeof (*co));
	co->co_alive_interval = CLIENTOPT_ALIVE_INTERVAL;
	co->co_alive_count = CLIENTOPT_ALIVE_COUNT;
	co->co_connect_timeout = CLIENTOPT_CONNECT_TIMEOUT;
	co->co_resume = true;
	co->co_resume_buffer = CLIENTOPT_RESUME_BUFFER;
	co->co_account = getenv("MANTA_USER");
	co->co_keyid = getenv("MANTA_KEY_ID");
	if (co->co_account != NULL && co->co_account[0] == '\0')
		co->co_account = NULL;
	if (co->co_keyid != NULL && co->co_keyid[0] == '\0')
		co->co_keyid = NULL;
}

/* A number of seconds in [min, 86400]; 0 or -1. */
static int
clientopt_seconds(const char *v, double min, double *out)
{
	char *end;
	double d;

	if (v[0] == '\0' || v[0] == '-' || v[0] == '+' || v[0] == ' ')
		return (-1);
	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || d < min ||
	    d > 86400)
		return (-1);
	*out = d;
	return (0);
}

static int
clientopt_alive_interval(struct clientopt *co, const char *v)
{
	return (clientopt_seconds(v, 0, &co->co_alive_interval));
}

static int
clientopt_alive_count(struct clientopt *co, const char *v)
{
	char *end;
	long n;

	if (v[0] < '0' || v[0] > '9')
		return (-1);
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > 1000)
		return (-1);
	co->co_alive_count = (unsigned)n;
	return (0);
}

static int
clientopt_connect_timeout(struct clientopt *co, const char *v)
{
	double d;

	if (clientopt_seconds(v, 0, &d) != 0 || d <= 0)
		return (-1);
	co->co_connect_timeout = d;
	return (0);
}

static int
clientopt_resume(struct clientopt *co, const char *v)
{
	if (strcasecmp(v, "yes") == 0)
		co->co_resume = true;
	else if (strcasecmp(v, "no") == 0)
		co->co_resume = false;
	else
		return (-1);
	return (0);
}

static int
clientopt_resume_buffer(struct clientopt *co, const char *v)
{
	unsigned long long n, mul = 1;
	char *end;

	if (v[0] < '0' || v[0] > '9')
		return (-1);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end == 'K' || *end == 'k')
		mul = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1024 * 1024, end++;
	if (errno != 0 || *end != '\0' || n > RESUME_MAX_WINDOW / mul ||
	    n * mul < RESUME_MIN_WINDOW)
		return (-1);
	co->co_resume_buffer = (size_t)(n * mul);
	return (0);
}

static const struct {
	const char	*key;
	int		(*set)(struct clientopt *, const char *);
	const char	*want;
} clientopt_keys[] = {
	{ "ServerAliveInterval", clientopt_alive_interval,
	    "a number of seconds, 0 to turn pings off" },
	{ "ServerAliveCountMax", clientopt_alive_count,
	    "a whole number from 1 to 1000" },
	{ "ConnectTimeout", clientopt_connect_timeout,
	    "a number of seconds above 0" },
	{ "Resume", clientopt_resume, "yes or no" },
	{ "ResumeBuffer", clientopt_resume_buffer,
	    "a size from 64K to 1024M (bytes, or with K or M)" },
};

int
clientopt_set(struct clientopt *co, const char *kv, char *err, size_t errlen)
{
	size_t kl = strcspn(kv, "= \t");
	const char *v = kv + kl;

	/* "Key=Value", "Key Value", "Key = Value", as ssh takes them. */
	v += strspn(v, " \t");
	if (*v == '=')
		v++;
	v += strspn(v, " \t");
	if (kl == 0 || *v == '\0') {
		snprintf(err, errlen, "-o %s: expected KEY=VALUE", kv);
		return (-1);
	}
	for (size_t i = 0; i < sizeof (clientopt_keys) /
	    sizeof (clientopt_keys[0]); i++) {
		if (strlen(clientopt_keys[i].key) != kl ||
		    strncasecmp(clientopt_keys[i].key, kv, kl) != 0)
			continue;
		if (clientopt_keys[i].set(co, v) != 0) {
			snprintf(err, errlen, "-o %s: %s must be %s", kv,
			    clientopt_keys[i].key, clientopt_keys[i].want);
			return (-1);
		}
		return (0);
	}
	snprintf(err, errlen, "-o %s: unknown option \"%.*s\" (known: "
	    "ServerAliveInterval, ServerAliveCountMax, ConnectTimeout, Resume, "
	    "ResumeBuffer)", kv,
	    (int)kl, kv);
	return (-1);
}

int
clientopt_getopt(struct clientopt *co, int ch, const char *arg, char *err,
    size_t errlen)
{
	switch (ch) {
	case CLIENTOPT_CACERT:
		co->co_cacert = arg;
		return (1);
	case CLIENTOPT_INSECURE:
		co->co_insecure = true;
		return (1);
	case 'i':
		co->co_identity = arg;
		return (1);
	case 'a':
		co->co_account = arg;
		return (1);
	case 'k':
		co->co_keyid = arg;
		return (1);
	case 'o':
		return (clientopt_set(co, arg, err, errlen) == 0 ? 1 : -1);
	default:
		return (0);
	}
}

void
clientopt_wsc(const struct clientopt *co, struct wsc_opts *wo)
{
	memset(wo, 0, sizeof (*wo));
	wo->wo_xport.xo_cacert = co->co_cacert;
	wo->wo_xport.xo_insecure = co->co_insecure;
	wo->wo_connect_timeout = co->co_connect_timeout;
	wo->wo_alive_interval = co->co_alive_interval;
	wo->wo_alive_count = co->co_alive_count;
	if (co->co_alive_interval > 0) {
		double ms = co->co_alive_interval * co->co_alive_count * 1000;

		wo->wo_xport.xo_user_timeout_ms = ms > 3.6e6 ? 3600000u :
		    (unsigned)ms;
	}
}

/*
 * clientopt.h: the options mlogin and medusa-agent share, parsed once.
 *
 * Both programs take, besides their own:
 *
 *	--cacert FILE		trust the CA certificates in FILE (PEM)
 *	--insecure		do not check the reflector's certificate
 *	-i, --identity FILE	sign attaches with this private key (else
 *				with ssh-agent's, when SSH_AUTH_SOCK is set)
 *	-a, --account NAME	the account ($MANTA_USER)
 *	-k, --key-id FP		the key's fingerprint, MD5 or SHA256
 *				($MANTA_KEY_ID): which of ssh-agent's keys
 *	-o KEY=VALUE		(or "KEY VALUE"), as ssh spells them, the key
 *				in any case:
 *	    ServerAliveInterval=N  a PING after N s of silence (0: none);
 *				default 15
 *	    ServerAliveCountMax=M  M unanswered PINGs, then the connection is
 *				lost; default 3
 *	    ConnectTimeout=N	to connect, do TLS and upgrade; default 30
 *	    Resume=yes|no	announce X-Medusa-Resume (resume.h); default
 *				yes
 *	    ResumeBuffer=N[K|M]	the replay buffer's bound; default 2M
 *
 * N may have a fraction ("0.5").  Pure: no I/O, no globals; a new -o key
 * is one row of clientopt.c's table.
 */
#ifndef MEDUSA_CLIENTOPT_H
#define MEDUSA_CLIENTOPT_H

#include <stdbool.h>
#include <stddef.h>

#include "wsclient.h"

#define	CLIENTOPT_ALIVE_INTERVAL	15.0
#define	CLIENTOPT_ALIVE_COUNT		3
#define	CLIENTOPT_CONNECT_TIMEOUT	30.0
#define	CLIENTOPT_RESUME_BUFFER		(2u << 20)

/* getopt_long's value for --cacert (no short form). */
#define	CLIENTOPT_CACERT	0x100
/* The long options both programs share, for their option tables. */
#define	CLIENTOPT_LONG \
	{ "cacert", required_argument, NULL, CLIENTOPT_CACERT }, \
	{ "insecure", no_argument, NULL, CLIENTOPT_INSECURE }, \
	{ "identity", required_argument, NULL, 'i' }, \
	{ "account", required_argument, NULL, 'a' }, \
	{ "key-id", required_argument, NULL, 'k' }
/* And the short ones, for getopt's string. */
#define	CLIENTOPT_SHORT	"i:a:k:o:"
#define	CLIENTOPT_INSECURE	0x101

struct clientopt {
	const char	*co_cacert;
	bool		co_insecure;
	const char	*co_identity;	/* -i */
	const char	*co_account;	/* -a, else $MANTA_USER */
	const char	*co_keyid;	/* -k, else $MANTA_KEY_ID */
	double		co_alive_interval;
	unsigned	co_alive_count;
	double		co_connect_timeout;
	bool		co_resume;	/* -o Resume */
	size_t		co_resume_buffer; /* -o ResumeBuffer, bytes */
};

void clientopt_init(struct clientopt *);
/* One -o argument.  0, or -1 with a message in err. */
int clientopt_set(struct clientopt *, const char *kv, char *err,
    size_t errlen);
/*
 * One option from getopt_long (ch and optarg): 1 taken, 0 not one of
 * ours, -1 bad (a message in err).
 */
int clientopt_getopt(struct clientopt *, int ch, const char *arg,
    char *err, size_t errlen);
/* The connection's options from these. */
void clientopt_wsc(const struct clientopt *, struct wsc_opts *);
/* Usage lines for the shared options. */
extern const char clientopt_usage[];

#endif

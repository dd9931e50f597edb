/*
 * clientauth.h: the credential mlogin and medusa-agent attach with, from
 * their shared options (clientopt.h): a private key file (-i) or the key
 * ssh-agent holds (SSH_AUTH_SOCK; -k picks one), for the account (-a,
 * $MANTA_USER).  Each dial gets a fresh signed Date (signer.h); with no key
 * to sign with there is no credential (a presigned URL may carry one).
 */
#ifndef MEDUSA_CLIENTAUTH_H
#define MEDUSA_CLIENTAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "clientopt.h"
#include "signer.h"
#include "wsclient.h"

struct clientauth {
	bool		ca_on;		/* a key to sign with */
	char		ca_account[128];
	struct signer	ca_signer;
};

/*
 * Set up from the options: a key file, or ssh-agent when it runs (or when
 * -k names a key).  account is the account to sign as (the option's, or
 * the one the URL names); NULL or "" means no signing.  With
 * required (a key was asked for), a key that cannot be had is an error;
 * else no key only means no credential.  0, or -1 with err.
 */
int clientauth_setup(struct clientauth *, const struct clientopt *,
    const char *account, char *err, size_t errlen);

/*
 * The header lines for one attach ("Date: ...\r\nAuthorization: ...\r\n"),
 * or "" with no key.  0, or -1 with err (ssh-agent would not sign).
 */
int clientauth_headers(struct clientauth *, char *out, size_t cap,
    char *err, size_t errlen);

/*
 * A presigned path for attaching to path at host (host[:port], as dialled)
 * until expires.  0, or -1 with err.
 */
int clientauth_presign(struct clientauth *, const char *host,
    const char *path, long long expires, char *out, size_t cap, char *err,
    size_t errlen);

/*
 * Open c to u with o, with a credential made now when a (a key to sign
 * with; NULL or off: none), followed by o->wo_extra's lines (the resume
 * headers).  As wsc_open(): 0, or -1 with err.
 */
int clientauth_dial(struct clientauth *a, struct wsc *c, struct ev_loop *,
    const struct wsurl *u, const struct wsc_opts *o, char *err,
    size_t errlen);

/* Which key, for -v and logs: "SHA256:... (ssh-agent)". */
void clientauth_describe(const struct clientauth *, char *out, size_t cap);

void clientauth_free(struct clientauth *);

/*
 * The account an attach path names: "/<account>/medusa/attach/..." into
 * out; 0, or -1 for a bare path.
 */
int clientauth_path_account(const char *path, char *out, size_t cap);

#endif

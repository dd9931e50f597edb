/*
 * clientauth.c: signing an attach, for mlogin and the agent; see
 * clientauth.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clientauth.h"

int
clientauth_setup(struct clientauth *a, const struct clientopt *co,
    const char *account, char *err, size_t errlen)
{
	const char *sock = getenv("SSH_AUTH_SOCK");
	bool asked = co->co_identity != NULL || co->co_keyid != NULL;

	memset(a, 0, sizeof (*a));
	if (account == NULL || account[0] == '\0') {
		if (co->co_identity != NULL) {
			snprintf(err, errlen, "a key (-i) needs an account: -a "
			    "NAME or $MANTA_USER");
			return (-1);
		}
		return (0);
	}
	if (strlen(account) >= sizeof (a->ca_account)) {
		snprintf(err, errlen, "account name too long");
		return (-1);
	}
	snprintf(a->ca_account, sizeof (a->ca_account), "%s", account);
	if (co->co_identity == NULL && (sock == NULL || sock[0] == '\0')) {
		if (asked) {
			snprintf(err, errlen, "no key to sign with for %s: give "
			    "-i FILE, or run ssh-agent and ssh-add the key "
			    "(SSH_AUTH_SOCK is not set)", co->co_keyid);
			return (-1);
		}
		return (0);
	}
	if (signer_open(&a->ca_signer, co->co_identity, co->co_keyid, err,
	    errlen) != 0)
		return (-1);
	a->ca_on = true;
	return (0);
}

int
clientauth_headers(struct clientauth *a, char *out, size_t cap, char *err,
    size_t errlen)
{
	char date[64], authz[2048];
	int n;

	if (!a->ca_on) {
		if (cap > 0)
			out[0] = '\0';
		return (0);
	}
	if (signer_authorization(&a->ca_signer, a->ca_account,
	    (int64_t)time(NULL), date, sizeof (date), authz, sizeof (authz),
	    err, errlen) != 0)
		return (-1);
	n = snprintf(out, cap, "Date: %s\r\nAuthorization: %s\r\n", date,
	    authz);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "credential too long");
		return (-1);
	}
	return (0);
}

int
clientauth_presign(struct clientauth *a, const char *host, const char *path,
    long long expires, char *out, size_t cap, char *err, size_t errlen)
{
	if (!a->ca_on) {
		snprintf(err, errlen, "no key to sign with: give -i FILE, or "
		    "run ssh-agent and ssh-add the key, and -a ACCOUNT");
		return (-1);
	}
	return (signer_presign(&a->ca_signer, a->ca_account, host, path,
	    (int64_t)expires, out, cap, err, errlen));
}

int
clientauth_dial(struct clientauth *a, struct wsc *c, struct ev_loop *loop,
    const struct wsurl *u, const struct wsc_opts *o, char *err,
    size_t errlen)
{
	struct wsc_opts with = *o;
	char creds[4096];
	size_t cn;

	if (a != NULL && a->ca_on) {
		if (clientauth_headers(a, creds, sizeof (creds), err,
		    errlen) != 0)
			return (-1);
		/* The caller's lines (resume headers) follow the credential. */
		cn = strlen(creds);
		if (o->wo_extra != NULL && snprintf(creds + cn,
		    sizeof (creds) - cn, "%s", o->wo_extra) >=
		    (int)(sizeof (creds) - cn)) {
			snprintf(err, errlen, "request header lines too long");
			return (-1);
		}
		with.wo_extra = creds;
	}
	return (wsc_open(c, loop, u, &with, err, errlen));
}

void
clientauth_describe(const struct clientauth *a, char *out, size_t cap)
{
	if (!a->ca_on)
		snprintf(out, cap, "no key (unsigned)");
	else
		snprintf(out, cap, "%s %s of %s (%s)",
		    sshkey_type_name(&a->ca_signer.s_key),
		    a->ca_signer.s_key.k_sha256, a->ca_account,
		    a->ca_signer.s_agent ? "ssh-agent" : "key file");
}

void
clientauth_free(struct clientauth *a)
{
	if (a->ca_on)
		signer_close(&a->ca_signer);
	a->ca_on = false;
}

int
clientauth_path_account(const char *path, char *out, size_t cap)
{
	const char *s, *m;
	size_t n;

	if (path[0] != '/')
		return (-1);
	s = path + 1;
	if ((m = strchr(s, '/')) == NULL || strncmp(m, "/medusa/attach/",
	    15) != 0)
		return (-1);
	n = (size_t)(m - s);
	if (n == 0 || n >= cap)
		return (-1);
	memcpy(out, s, n);
	out[n] = '\0';
	return (0);
}

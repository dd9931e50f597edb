/*
 * wauth.c: the worker's credential check, before the 101 (auth.h has the
 * rule and the refusal codes).  The supervisor decides whether an attach
 * needs one (PROTO_ATTACH_AUTH: a public listener with "auth":
 * "signature"); here the key is verified, so the supervisor's single loop
 * never does public-key arithmetic, and the verifying spreads over the
 * workers.
 *
 * The keys directory is read at every CONFIG: at start, and when the
 * supervisor re-sends it on SIGHUP (whose rolling restart then brings up
 * workers that read it afresh anyway).  A directory that cannot be read
 * leaves the old keys in place (none at start: every credential is then
 * refused, KeyNotFound), with an ERROR: nobody can attach until an
 * operator fixes it.
 *
 * Each refusal costs one log line, rate-limited per cause, with the
 * client's address, the account, the key's fingerprint and the cause;
 * never the signature, the Authorization header or the query string.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "keystore.h"
#include "mlog.h"
#include "worker.h"

static struct wauth {
	struct keystore	*wa_keys;
	char		wa_dir[4096];
	int64_t		wa_skew;	/* s */
	int64_t		wa_presign_max;	/* s */
	struct mlog_limit wa_lim[AUTH_NCODES];
} wa;

void
wauth_configure(const struct proto_config *m)
{
	struct keystore_report rep;
	struct keystore *ks;
	char err[256];

	wa.wa_skew = (int64_t)(m->pc_clock_skew_ms / 1000);
	wa.wa_presign_max = (int64_t)(m->pc_presign_max_ms / 1000);
	snprintf(wa.wa_dir, sizeof (wa.wa_dir), "%.*s",
	    (int)m->pc_keys_dir.ps_n, m->pc_keys_dir.ps_p);
	if (wa.wa_dir[0] == '\0')	/* auth none: no credential is checked */
		return;
	if ((ks = keystore_load(wa.wa_dir, &rep, err, sizeof (err))) == NULL) {
		mlog(MLOG_ERROR, "cannot read the keys directory: credentials "
		    "are refused", "keys_dir=%s error=%s keys_kept=%zu",
		    wa.wa_dir, err, keystore_count(wa.wa_keys));
		return;
	}
	for (int i = 0; i < rep.kr_nproblems; i++)
		mlog(MLOG_WARN, "keys directory: skipped", "keys_dir=%s "
		    "problem=%s", wa.wa_dir, rep.kr_problems[i]);
	keystore_free(wa.wa_keys);
	wa.wa_keys = ks;
	mlog(MLOG_DEBUG, "keys read", "keys_dir=%s accounts=%zu keys=%zu "
	    "skipped=%zu", wa.wa_dir, rep.kr_accounts, rep.kr_keys,
	    rep.kr_skipped);
}

void
wauth_fini(void)
{
	keystore_free(wa.wa_keys);
	wa.wa_keys = NULL;
}

int
wauth_check(struct conn *c, const struct httphead *h, const char *key,
    size_t keylen)
{
	const char *slash = memchr(key, '/', keylen);
	struct auth_settings st;
	struct auth_result r;
	unsigned long skipped;
	size_t an;

	/* The worker's key is "<account>/<id>" for every attach checked. */
	an = slash != NULL ? (size_t)(slash - key) : 0;
	st.as_now = (int64_t)time(NULL);
	st.as_skew = wa.wa_skew;
	st.as_presign_max = wa.wa_presign_max;
	if (auth_check(h, key, an, wa.wa_keys, &st, &r) == AUTH_OK) {
		mlog(MLOG_DEBUG, "credential accepted", "req_id=%s account=%.*s "
		    "fingerprint=%s form=%s", conn_reqid(c), (int)an, key,
		    r.ar_fingerprint, r.ar_form);
		conn_set_fingerprint(c, r.ar_fingerprint);
		return (0);
	}
	wmetrics_count(PROTO_EVC_AUTH_FIRST + r.ar_code - AUTH_MISSING, 1);
	if (mlog_allow(&wa.wa_lim[r.ar_code], &skipped))
		mlog(MLOG_INFO, "credential refused", "req_id=%s peer=%s "
		    "account=%.*s key_account=%s fingerprint=%s form=%s "
		    "status=%d code=%s error=%s times_since_last_line=%lu",
		    conn_reqid(c), conn_peer(c), (int)an, key,
		    r.ar_key_account[0] ? r.ar_key_account : "-",
		    r.ar_fingerprint[0] ? r.ar_fingerprint : "-",
		    r.ar_form[0] ? r.ar_form : "-", r.ar_status, r.ar_name,
		    r.ar_message, skipped);
	conn_http_refuse(c, r.ar_status, r.ar_name, r.ar_message,
	    r.ar_status == 401 ? "WWW-Authenticate: Signature realm=\"medusa\""
	    "\r\n" : NULL);
	return (-1);
}

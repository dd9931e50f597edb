/*
 * authtool: the credential modules (sshkey, httpsig, presign, keystore,
 * auth, signer) on the command line, for the integration tests that check
 * them against implementations we did not write (ssh-keygen, ssh-agent,
 * npm http-signature and manta).  Built into build/, never installed.
 *
 *	authtool fingerprint FILE.pub
 *	authtool sign-request KEY|- [FP] ACCOUNT [NOW]
 *	authtool presign KEY|- [FP] ACCOUNT HOST PATH EXPIRES
 *	authtool verify KEYS_DIR ACCOUNT [NOW [SKEW [MAX]]] < head
 *
 * KEY "-" signs through ssh-agent (FP: the key's fingerprint, or "-" for
 * the first).  verify reads an HTTP request head on standard input and
 * prints "<status> <code> <fingerprint>", exiting 0 when accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "httphead.h"
#include "keystore.h"
#include "signer.h"
#include "sshkey.h"

static int
usage(void)
{
	fprintf(stderr, "usage: authtool fingerprint FILE.pub | sign-request "
	    "KEY FP ACCOUNT [NOW] | presign KEY FP ACCOUNT HOST PATH EXPIRES |"
	    " verify KEYS_DIR ACCOUNT [NOW [SKEW [MAX]]]\n");
	return (2);
}

static int
open_signer(struct signer *s, const char *key, const char *fp)
{
	char err[256];

	if (signer_open(s, strcmp(key, "-") == 0 ? NULL : key,
	    strcmp(fp, "-") == 0 ? NULL : fp, err, sizeof (err)) != 0) {
		fprintf(stderr, "authtool: %s\n", err);
		return (-1);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	char err[256];

	if (argc < 2)
		return (usage());
	if (strcmp(argv[1], "fingerprint") == 0 && argc == 3) {
		struct sshkey k;
		char line[16384];
		FILE *f = fopen(argv[2], "r");

		if (f == NULL || fgets(line, sizeof (line), f) == NULL) {
			perror(argv[2]);
			return (1);
		}
		fclose(f);
		if (sshkey_parse_line(line, strlen(line), &k, NULL, 0, err,
		    sizeof (err)) != 1) {
			fprintf(stderr, "authtool: %s\n", err);
			return (1);
		}
		printf("%s %s %d %s\n", k.k_md5, k.k_sha256, k.k_bits,
		    sshkey_type_name(&k));
		sshkey_free(&k);
		return (0);
	}
	if (strcmp(argv[1], "sign-request") == 0 && (argc == 5 || argc == 6)) {
		struct signer s;
		char date[64], authz[4096];
		int64_t now = argc == 6 ? strtoll(argv[5], NULL, 10) :
		    (int64_t)time(NULL);

		if (open_signer(&s, argv[2], argv[3]) != 0)
			return (1);
		if (signer_authorization(&s, argv[4], now, date,
		    sizeof (date), authz, sizeof (authz), err,
		    sizeof (err)) != 0) {
			fprintf(stderr, "authtool: %s\n", err);
			return (1);
		}
		printf("Date: %s\nAuthorization: %s\n", date, authz);
		signer_close(&s);
		return (0);
	}
	if (strcmp(argv[1], "presign") == 0 && argc == 8) {
		struct signer s;
		char url[8192];

		if (open_signer(&s, argv[2], argv[3]) != 0)
			return (1);
		if (signer_presign(&s, argv[4], argv[5], argv[6],
		    strtoll(argv[7], NULL, 10), url, sizeof (url), err,
		    sizeof (err)) != 0) {
			fprintf(stderr, "authtool: %s\n", err);
			return (1);
		}
		printf("%s\n", url);
		signer_close(&s);
		return (0);
	}
	if (strcmp(argv[1], "verify") == 0 && argc >= 4 && argc <= 7) {
		static char head[65536];
		struct keystore_report rep;
		struct auth_settings st;
		struct auth_result r;
		struct keystore *ks;
		struct httphead h;
		size_t n = fread(head, 1, sizeof (head) - 1, stdin);

		if ((ks = keystore_load(argv[2], &rep, err,
		    sizeof (err))) == NULL) {
			fprintf(stderr, "authtool: %s\n", err);
			return (1);
		}
		for (int i = 0; i < rep.kr_nproblems; i++)
			fprintf(stderr, "authtool: skipped %s\n",
			    rep.kr_problems[i]);
		if (httphead_parse_request(head, n, &h) != HTTPHEAD_OK) {
			fprintf(stderr, "authtool: not a request head\n");
			return (1);
		}
		st.as_now = argc >= 5 ? strtoll(argv[4], NULL, 10) :
		    (int64_t)time(NULL);
		st.as_skew = argc >= 6 ? strtoll(argv[5], NULL, 10) : 300;
		st.as_presign_max = argc >= 7 ? strtoll(argv[6], NULL, 10) :
		    7 * 86400;
		(void) auth_check(&h, argv[3], strlen(argv[3]), ks, &st, &r);
		printf("%d %s %s\n", r.ar_status, r.ar_name,
		    r.ar_fingerprint[0] ? r.ar_fingerprint : "-");
		keystore_free(ks);
		return (r.ar_code == AUTH_OK ? 0 : 1);
	}
	return (usage());
}

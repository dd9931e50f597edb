/*
 * test_credentials.c: the credential modules: b64.h, sshkey.h, httpsig.h,
 * presign.h (shared/common), keystore.h, auth.h (shared/server), signer.h
 * (shared/client).  Keys are fixtures made once by ssh-keygen
 * (tests/unit/fixtures/keys/, with fingerprints.txt: ssh-keygen -l's
 * MD5 and SHA256 for each).  The unit binary runs from the top directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "auth.h"
#include "b64.h"
#include "httphead.h"
#include "httpsig.h"
#include "keystore.h"
#include "presign.h"
#include "signer.h"
#include "sshkey.h"
#include "suites.h"

#define	FIX	"tests/unit/fixtures/keys/"

/* A file's text, in one of a few buffers (several at once in a call). */
static char *
slurp(const char *path)
{
	static char bufs[4][16384];
	static unsigned next;
	char *buf = bufs[next++ % 4];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof (bufs[0]) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (buf);
}

/* --- b64 ------------------------------------------------------------- */

static const struct {
	const char	*in;
	int		want;	/* decoded length, -1 refused */
	const char	*out;
} b64_cases[] = {
	{ "", 0, "" },
	{ "Zg==", 1, "f" },
	{ "Zm8=", 2, "fo" },
	{ "Zm9v", 3, "foo" },
	{ "Zm9vYmFy", 6, "foobar" },
	{ "Zm9vYg==", 4, "foob" },
	{ "+/+/", 3, "\xfb\xff\xbf" },
	{ "Zg", -1, NULL },		/* unpadded */
	{ "Zg=", -1, NULL },
	{ "Zg===", -1, NULL },
	{ "Z===", -1, NULL },		/* padding too soon */
	{ "Zh==", -1, NULL },		/* bits left in the pad */
	{ "Zm9=", -1, NULL },
	{ "Zm 9v", -1, NULL },		/* blank */
	{ "Zm9v\n", -1, NULL },
	{ "Zm9-", -1, NULL },		/* base64url is not base64 */
	{ "Zm9_", -1, NULL },
	{ "=Zm9", -1, NULL },
	{ "Zg==Zg==", -1, NULL },	/* data after padding */
	{ "Zm\x80v", -1, NULL },
};

START_TEST(test_b64_decode)
{
	uint8_t out[32];
	int n = b64_decode(b64_cases[_i].in, strlen(b64_cases[_i].in), out,
	    sizeof (out));

	ck_assert_int_eq(n, b64_cases[_i].want);
	if (n > 0)
		ck_assert(memcmp(out, b64_cases[_i].out, (size_t)n) == 0);
}
END_TEST

START_TEST(test_b64_round_trip_and_caps)
{
	uint8_t in[64], out[64];
	char enc[B64_ENCLEN(64) + 1];

	for (int i = 0; i < 64; i++)
		in[i] = (uint8_t)(i * 37 + 5);
	for (size_t n = 0; n <= 64; n++) {
		int e = b64_encode(in, n, enc, sizeof (enc));

		ck_assert_int_eq(e, (int)B64_ENCLEN(n));
		ck_assert_int_eq(b64_decode(enc, (size_t)e, out, sizeof (out)),
		    (int)n);
		ck_assert(memcmp(in, out, n) == 0);
		if (n > 0)	/* a cap one short is refused */
			ck_assert_int_eq(b64_decode(enc, (size_t)e, out, n - 1),
			    -1);
	}
	ck_assert_int_eq(b64_encode(in, 3, enc, 4), -1);	/* no room for NUL */
}
END_TEST

static const struct {
	const char	*in;
	const char	*enc;
} pct_cases[] = {
	{ "abcXYZ019-_.~", "abcXYZ019-_.~" },
	{ "/a/keys/aa:bb", "%2Fa%2Fkeys%2Faa%3Abb" },
	{ "!'()*", "%21%27%28%29%2A" },		/* escaped, unlike JS's */
	{ " +=&?#", "%20%2B%3D%26%3F%23" },
	{ "\xc3\xa9", "%C3%A9" },
	{ "", "" },
};

START_TEST(test_pct)
{
	char enc[64], dec[64];

	ck_assert_int_eq(b64_pct_encode(pct_cases[_i].in,
	    strlen(pct_cases[_i].in), enc, sizeof (enc)),
	    (int)strlen(pct_cases[_i].enc));
	ck_assert_str_eq(enc, pct_cases[_i].enc);
	ck_assert_int_eq(b64_pct_decode(enc, strlen(enc), dec, sizeof (dec)),
	    (int)strlen(pct_cases[_i].in));
	ck_assert_str_eq(dec, pct_cases[_i].in);
}
END_TEST

START_TEST(test_pct_bad)
{
	static const char *const bad[] = { "%", "%4", "%zz", "a%4g", "%%41" };
	char out[16];

	for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
		ck_assert_int_eq(b64_pct_decode(bad[i], strlen(bad[i]), out,
		    sizeof (out)), -1);
	ck_assert_int_eq(b64_pct_decode("%41%62+c", 8, out, sizeof (out)), 4);
	ck_assert_str_eq(out, "Ab+c");		/* "+" stays "+" */
	ck_assert_int_eq(b64_pct_encode("////", 4, out, 12), -1);
	ck_assert_int_eq(b64_pct_decode("abcd", 4, out, 4), -1);
}
END_TEST

/* --- sshkey ------------------------------------------------------------ */

static const struct {
	const char	*file;
	int		type;
	int		bits;
} key_fixtures[] = {
	{ "rsa2048", SSHKEY_RSA, 2048 },
	{ "rsapem", SSHKEY_RSA, 2048 },
	{ "ecdsa256", SSHKEY_ECDSA, 256 },
	{ "ecdsa384", SSHKEY_ECDSA, 384 },
	{ "ecdsa521", SSHKEY_ECDSA, 521 },
	{ "ecpkcs8", SSHKEY_ECDSA, 256 },
	{ "ed25519", SSHKEY_ED25519, 256 },
};

/* The fingerprints ssh-keygen printed for a fixture. */
static void
fixture_fps(const char *file, char *md5, char *sha256)
{
	char *fps = slurp(FIX "fingerprints.txt"), want[64], *l;

	snprintf(want, sizeof (want), "%s.pub MD5:", file);
	ck_assert_msg((l = strstr(fps, want)) != NULL, "%s", file);
	ck_assert_int_eq(sscanf(l + strlen(want), "%47s %50s", md5, sha256),
	    2);
}

START_TEST(test_sshkey_fixtures)
{
	char path[256], md5[64], sha[64], comment[64], err[256];
	struct sshkey k;
	char *line;

	snprintf(path, sizeof (path), FIX "%s.pub", key_fixtures[_i].file);
	line = slurp(path);
	ck_assert_int_eq(sshkey_parse_line(line, strlen(line), &k, comment,
	    sizeof (comment), err, sizeof (err)), 1);
	ck_assert_int_eq(k.k_type, key_fixtures[_i].type);
	ck_assert_int_eq(k.k_bits, key_fixtures[_i].bits);
	fixture_fps(key_fixtures[_i].file, md5, sha);
	ck_assert_str_eq(k.k_md5, md5);
	ck_assert_str_eq(k.k_sha256, sha);
	ck_assert(strncmp(comment, "fixture ", 8) == 0);
	sshkey_free(&k);
}
END_TEST

static const struct {
	const char	*line;
	int		want;		/* 1 key, 0 none, -1 refused */
	const char	*why;		/* part of the refusal */
} line_cases[] = {
	{ "", 0, NULL },
	{ "   \t  ", 0, NULL },
	{ "# a comment", 0, NULL },
	{ "  # indented comment", 0, NULL },
	{ "ssh-dss AAAAB3NzaC1kc3MAAACBAP", -1, "unsupported" },
	{ "sk-ssh-ed25519@openssh.com AAAA", -1, "unsupported" },
	{ "ssh-ed25519-cert-v01@openssh.com AAAA", -1, "unsupported" },
	{ "no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", -1, "options" },
	{ "from=\"1.2.3.4\" ssh-rsa AAAA", -1, "options" },
	{ "ssh-ed25519", -1, "base64" },
	{ "ssh-ed25519 !!!!", -1, "base64" },
	{ "ssh-ed25519 AAAA", -1, NULL },
	/* An Ed25519 blob with one byte of its key missing, and one more. */
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAHwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAA=", -1, "malformed" },
	{ "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAA", -1, "says ssh-rsa" },
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAA a comment", 1, NULL },
};

START_TEST(test_sshkey_lines)
{
	struct sshkey k;
	char err[256] = "";
	int rv = sshkey_parse_line(line_cases[_i].line,
	    strlen(line_cases[_i].line), &k, NULL, 0, err, sizeof (err));

	ck_assert_int_eq(rv, line_cases[_i].want);
	if (rv == 1)
		sshkey_free(&k);
	if (rv < 0 && line_cases[_i].why != NULL)
		ck_assert_msg(strstr(err, line_cases[_i].why) != NULL,
		    "\"%s\": %s", line_cases[_i].line, err);
}
END_TEST

START_TEST(test_sshkey_refused_fixtures)
{
	struct sshkey k;
	char err[256];
	char *line = slurp(FIX "rsa1024.pub");

	ck_assert_int_eq(sshkey_parse_line(line, strlen(line), &k, NULL, 0,
	    err, sizeof (err)), -1);
	ck_assert(strstr(err, "1024 bits") != NULL);
	line = slurp(FIX "dsa.pub");
	ck_assert_int_eq(sshkey_parse_line(line, strlen(line), &k, NULL, 0,
	    err, sizeof (err)), -1);
	ck_assert(strstr(err, "ssh-dss") != NULL);
}
END_TEST

static const struct {
	const char	*name;
	int		type;	/* SSHKEY_NONE: refused */
} alg_cases[] = {
	{ "rsa-sha256", SSHKEY_RSA }, { "RSA-SHA256", SSHKEY_RSA },
	{ "rsa-sha384", SSHKEY_RSA }, { "rsa-sha512", SSHKEY_RSA },
	{ "ecdsa-sha256", SSHKEY_ECDSA }, { "ECDSA-SHA384", SSHKEY_ECDSA },
	{ "ecdsa-sha512", SSHKEY_ECDSA }, { "ed25519", SSHKEY_ED25519 },
	{ "ed25519-sha512", SSHKEY_ED25519 },
	{ "ED25519-SHA512", SSHKEY_ED25519 },
	{ "rsa-sha1", SSHKEY_NONE }, { "ecdsa-sha1", SSHKEY_NONE },
	{ "dsa-sha1", SSHKEY_NONE }, { "dsa-sha256", SSHKEY_NONE },
	{ "hmac-sha256", SSHKEY_NONE }, { "rsa-sha256x", SSHKEY_NONE },
	{ "", SSHKEY_NONE }, { "rsa", SSHKEY_NONE },
};

START_TEST(test_sshkey_algorithms)
{
	const EVP_MD *md;
	int type = -1;
	int rv = sshkey_alg(alg_cases[_i].name, strlen(alg_cases[_i].name),
	    &type, &md);

	if (alg_cases[_i].type == SSHKEY_NONE) {
		ck_assert_int_eq(rv, SSHKEY_E_ALG);
	} else {
		ck_assert_int_eq(rv, SSHKEY_OK);
		ck_assert_int_eq(type, alg_cases[_i].type);
	}
}
END_TEST

/* Signing with each private fixture; verifying with its public key. */
START_TEST(test_sign_and_verify)
{
	char path[256], sig64[2048], err[256];
	const char *data = "date: Thu, 04 Dec 2026 23:10:41 GMT";
	const char *alg;
	uint8_t sig[1024];
	struct signer s;
	int n;

	snprintf(path, sizeof (path), FIX "%s", key_fixtures[_i].file);
	ck_assert_msg(signer_open(&s, path, NULL, err, sizeof (err)) == 0,
	    "%s", err);
	alg = signer_algorithm(&s);
	ck_assert_int_eq(signer_sign(&s, data, strlen(data), sig64,
	    sizeof (sig64), err, sizeof (err)), 0);
	n = b64_decode(sig64, strlen(sig64), sig, sizeof (sig));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(sshkey_verify(&s.s_key, alg, strlen(alg),
	    (const uint8_t *)data, strlen(data), sig, (size_t)n), SSHKEY_OK);
	/* Changed data, a changed signature, another algorithm. */
	ck_assert_int_eq(sshkey_verify(&s.s_key, alg, strlen(alg),
	    (const uint8_t *)data, strlen(data) - 1, sig, (size_t)n),
	    SSHKEY_E_BADSIG);
	sig[n / 2] ^= 1;
	ck_assert_int_eq(sshkey_verify(&s.s_key, alg, strlen(alg),
	    (const uint8_t *)data, strlen(data), sig, (size_t)n),
	    SSHKEY_E_BADSIG);
	ck_assert_int_eq(sshkey_verify(&s.s_key, "rsa-sha1", 8,
	    (const uint8_t *)data, strlen(data), sig, (size_t)n), SSHKEY_E_ALG);
	ck_assert_int_eq(sshkey_verify(&s.s_key,
	    s.s_key.k_type == SSHKEY_RSA ? "ed25519" : "rsa-sha256",
	    s.s_key.k_type == SSHKEY_RSA ? 7 : 10, (const uint8_t *)data,
	    strlen(data), sig, (size_t)n), SSHKEY_E_MISMATCH);
	/* The fingerprint a private key file gives is its public key's. */
	{
		char md5[64], sha[64];

		fixture_fps(key_fixtures[_i].file, md5, sha);
		ck_assert_str_eq(s.s_key.k_sha256, sha);
		ck_assert_str_eq(s.s_key.k_md5, md5);
	}
	signer_close(&s);
}
END_TEST

START_TEST(test_signer_files)
{
	struct signer s;
	char err[256], md5[64], sha[64];

	/* A passphrase: pointed at ssh-agent. */
	ck_assert_int_eq(signer_open(&s, FIX "encrypted", NULL, err,
	    sizeof (err)), -1);
	ck_assert(strstr(err, "ssh-agent") != NULL);
	/* Not a key; no such file. */
	ck_assert_int_eq(signer_open(&s, FIX "fingerprints.txt", NULL, err,
	    sizeof (err)), -1);
	ck_assert(strstr(err, "not a private key") != NULL);
	ck_assert_int_eq(signer_open(&s, FIX "nonexistent", NULL, err,
	    sizeof (err)), -1);
	/* A key named by its fingerprint, either kind, any case. */
	fixture_fps("ed25519", md5, sha);
	ck_assert_int_eq(signer_open(&s, FIX "ed25519", sha, err,
	    sizeof (err)), 0);
	signer_close(&s);
	for (char *p = md5; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
	ck_assert_int_eq(signer_open(&s, FIX "ed25519", md5, err,
	    sizeof (err)), 0);
	signer_close(&s);
	ck_assert_int_eq(signer_open(&s, FIX "ed25519", "SHA256:nope", err,
	    sizeof (err)), -1);
	ck_assert(strstr(err, "not SHA256:nope") != NULL);
	/* ssh-agent without SSH_AUTH_SOCK. */
	unsetenv("SSH_AUTH_SOCK");
	ck_assert_int_eq(signer_open(&s, NULL, NULL, err, sizeof (err)), -1);
	ck_assert(strstr(err, "SSH_AUTH_SOCK") != NULL);
}
END_TEST

/* --- httpsig ------------------------------------------------------------ */

static const struct {
	const char	*v;
	int		want;
	const char	*keyid;
	const char	*headers;
} authz_cases[] = {
	{ "Signature keyId=\"/a/keys/x\",algorithm=\"rsa-sha256\","
	    "headers=\"date\",signature=\"Zm9v\"", HTTPSIG_OK, "/a/keys/x",
	    "date" },
	{ "Signature keyId=\"/a/keys/x\",algorithm=\"rsa-sha256\","
	    "signature=\"Zm9v\"", HTTPSIG_OK, "/a/keys/x", "date" },
	{ "signature  keyId=\"k\" , algorithm=\"a\",\tsignature=\"Zm9v\"  ",
	    HTTPSIG_OK, "k", "date" },
	{ "Signature keyId=\"k\",algorithm=\"a\",signature=\"Zm9v\","
	    "created=\"1\",opaque=\"o\"", HTTPSIG_OK, "k", "date" },
	{ "Signature keyId=\"k\",algorithm=\"a\",headers=\"(request-target) "
	    "date host\",signature=\"Zm9v\"", HTTPSIG_OK, "k",
	    "(request-target) date host" },
	{ "Basic YWxpY2U6cHc=", HTTPSIG_E_SCHEME, NULL, NULL },
	{ "Signature", HTTPSIG_E_SCHEME, NULL, NULL },
	{ "Signatures keyId=\"k\"", HTTPSIG_E_SCHEME, NULL, NULL },
	{ "Signature keyId=k,algorithm=\"a\",signature=\"Zm9v\"",
	    HTTPSIG_E_SYNTAX, NULL, NULL },
	{ "Signature keyId=\"k,algorithm=\"a\",signature=\"Zm9v\"",
	    HTTPSIG_E_SYNTAX, NULL, NULL },
	{ "Signature keyId=\"k\" algorithm=\"a\",signature=\"Zm9v\"",
	    HTTPSIG_E_SYNTAX, NULL, NULL },
	{ "Signature keyId=\"k\\\"\",algorithm=\"a\",signature=\"Zm9v\"",
	    HTTPSIG_E_SYNTAX, NULL, NULL },
	{ "Signature keyId=\"k\",algorithm=\"a\",signature=\"Zm9\"",
	    HTTPSIG_E_SYNTAX, NULL, NULL },
	{ "Signature keyId=\"k\",algorithm=\"a\",signature=\"Zm9v\","
	    "keyId=\"j\"", HTTPSIG_E_REPEATED, NULL, NULL },
	{ "Signature keyId=\"k\",algorithm=\"a\",signature=\"Zm9v\","
	    "created=\"1\",created=\"2\"", HTTPSIG_E_REPEATED, NULL, NULL },
	{ "Signature algorithm=\"a\",signature=\"Zm9v\"", HTTPSIG_E_MISSING,
	    NULL, NULL },
	{ "Signature keyId=\"k\",signature=\"Zm9v\"", HTTPSIG_E_MISSING,
	    NULL, NULL },
	{ "Signature keyId=\"k\",algorithm=\"a\"", HTTPSIG_E_MISSING, NULL,
	    NULL },
	{ "Signature keyId=\"\",algorithm=\"a\",signature=\"Zm9v\"",
	    HTTPSIG_E_MISSING, NULL, NULL },
	{ "Signature keyId=\"k\",algorithm=\"a\",signature=\"Zm9v\",",
	    HTTPSIG_OK, "k", "date" },		/* a trailing comma */
};

START_TEST(test_httpsig_parse)
{
	struct httpsig hs;
	char err[256];
	int rv = httpsig_parse(authz_cases[_i].v, strlen(authz_cases[_i].v),
	    &hs, err, sizeof (err));

	ck_assert_msg(rv == authz_cases[_i].want, "\"%s\": %d (%s)",
	    authz_cases[_i].v, rv, err);
	if (rv == HTTPSIG_OK) {
		ck_assert_uint_eq(hs.hs_keyid.n, strlen(authz_cases[_i].keyid));
		ck_assert(memcmp(hs.hs_keyid.p, authz_cases[_i].keyid,
		    hs.hs_keyid.n) == 0);
		ck_assert_uint_eq(hs.hs_headers.n,
		    strlen(authz_cases[_i].headers));
		ck_assert(memcmp(hs.hs_headers.p, authz_cases[_i].headers,
		    hs.hs_headers.n) == 0);
	}
}
END_TEST

START_TEST(test_httpsig_too_long)
{
	static char v[80000];
	struct httpsig hs;
	char err[256];
	int n = snprintf(v, sizeof (v), "Signature keyId=\"k\",algorithm="
	    "\"a\",signature=\"");

	memset(v + n, 'A', 65536);
	memcpy(v + n + 65536, "\"", 2);
	ck_assert_int_eq(httpsig_parse(v, strlen(v), &hs, err, sizeof (err)),
	    HTTPSIG_E_TOO_LONG);
}
END_TEST

static const struct {
	const char	*keyid;
	int		ok;
	const char	*account, *user, *fp;
} keyid_cases[] = {
	{ "/alice/keys/aa:bb", 1, "alice", "", "aa:bb" },
	{ "/alice/bob/keys/SHA256:x/y", 0, NULL, NULL, NULL },
	{ "/alice/bob/keys/SHA256:x", 1, "alice", "bob", "SHA256:x" },
	{ "/alice/keys/", 0, NULL, NULL, NULL },
	{ "/alice//keys/x", 0, NULL, NULL, NULL },
	{ "alice/keys/x", 0, NULL, NULL, NULL },
	{ "/alice/key/x", 0, NULL, NULL, NULL },
	{ "/alice/keys", 0, NULL, NULL, NULL },
	{ "/", 0, NULL, NULL, NULL },
	{ "", 0, NULL, NULL, NULL },
	{ "/a/b/c/keys/x", 0, NULL, NULL, NULL },
};

START_TEST(test_httpsig_keyid)
{
	struct httpsig_span a, u, f;
	int rv = httpsig_keyid(keyid_cases[_i].keyid,
	    strlen(keyid_cases[_i].keyid), &a, &u, &f);

	ck_assert_int_eq(rv, keyid_cases[_i].ok ? 0 : -1);
	if (rv == 0) {
		ck_assert(a.n == strlen(keyid_cases[_i].account) &&
		    memcmp(a.p, keyid_cases[_i].account, a.n) == 0);
		ck_assert(u.n == strlen(keyid_cases[_i].user) &&
		    memcmp(u.p, keyid_cases[_i].user, u.n) == 0);
		ck_assert(f.n == strlen(keyid_cases[_i].fp) &&
		    memcmp(f.p, keyid_cases[_i].fp, f.n) == 0);
	}
}
END_TEST

static int
fake_lookup(void *arg, const char *name, size_t n,
    struct httpsig_span *v)
{
	(void) arg;
	if (n == 4 && memcmp(name, "date", 4) == 0) {
		v->p = "Thu, 04 Dec 2026 23:10:41 GMT";
		v->n = strlen(v->p);
		return (0);
	}
	if (n == 4 && memcmp(name, "host", 4) == 0) {
		v->p = "h:1";
		v->n = 3;
		return (0);
	}
	return (-1);
}

START_TEST(test_httpsig_signing_string)
{
	char out[512], err[256];
	const char *h = "date (request-target) HOST";

	ck_assert_int_eq(httpsig_signing_string(h, strlen(h), "GET", 3,
	    "/a/b?c=d", 8, fake_lookup, NULL, out, sizeof (out), err,
	    sizeof (err)), (int)strlen(out));
	ck_assert_str_eq(out, "date: Thu, 04 Dec 2026 23:10:41 GMT\n"
	    "(request-target): get /a/b?c=d\nhost: h:1");
	h = "request-line";
	ck_assert_int_gt(httpsig_signing_string(h, strlen(h), "GET", 3, "/x",
	    2, fake_lookup, NULL, out, sizeof (out), err, sizeof (err)), 0);
	ck_assert_str_eq(out, "GET /x HTTP/1.1");
	h = "date x-missing";
	ck_assert_int_eq(httpsig_signing_string(h, strlen(h), "GET", 3, "/x",
	    2, fake_lookup, NULL, out, sizeof (out), err, sizeof (err)), -1);
	ck_assert(strstr(err, "x-missing") != NULL);
	h = "";
	ck_assert_int_eq(httpsig_signing_string(h, 0, "GET", 3, "/x", 2,
	    fake_lookup, NULL, out, sizeof (out), err, sizeof (err)), -1);
	h = "date date date date date date date date date date date date date "
	    "date date date date";	/* 17 names */
	ck_assert_int_eq(httpsig_signing_string(h, strlen(h), "GET", 3, "/x",
	    2, fake_lookup, NULL, out, sizeof (out), err, sizeof (err)), -1);
	h = "date";
	ck_assert_int_eq(httpsig_signing_string(h, 4, "GET", 3, "/x", 2,
	    fake_lookup, NULL, out, 10, err, sizeof (err)), -1);
	ck_assert(httpsig_names("date host", 9, "HOST"));
	ck_assert(!httpsig_names("dates host", 10, "date"));
	ck_assert_int_gt(httpsig_format(out, sizeof (out), "/a/keys/f",
	    "rsa-sha256", "date", "Zm9v"), 0);
	ck_assert_str_eq(out, "Signature keyId=\"/a/keys/f\",algorithm="
	    "\"rsa-sha256\",headers=\"date\",signature=\"Zm9v\"");
	ck_assert_int_eq(httpsig_format(out, 20, "/a/keys/f", "rsa-sha256",
	    NULL, "Zm9v"), -1);
}
END_TEST

/* --- presign ----------------------------------------------------------- */

static const struct {
	const char	*q;
	int		want;
} presign_parse_cases[] = {
	{ "algorithm=RSA-SHA256&expires=5&keyId=%2Fa%2Fkeys%2Ff&signature=Zg%3D"
	    "%3D", PRESIGN_OK },
	{ "signature=Zg%3D%3D&keyId=k&expires=5&algorithm=A&role=x&method=GET",
	    PRESIGN_OK },
	{ "algorithm=A&expires=5&keyId=k", PRESIGN_E_NONE },
	{ "", PRESIGN_E_NONE },
	{ "expires=5&keyId=k&signature=s", PRESIGN_E_MISSING },
	{ "algorithm=A&keyId=k&signature=s", PRESIGN_E_MISSING },
	{ "algorithm=A&expires=5&signature=s", PRESIGN_E_MISSING },
	{ "algorithm=A&expires=5&keyId=k&signature=", PRESIGN_E_MISSING },
	{ "algorithm=A&expires=5x&keyId=k&signature=s", PRESIGN_E_EXPIRES },
	{ "algorithm=A&expires=-5&keyId=k&signature=s", PRESIGN_E_EXPIRES },
	{ "algorithm=A&expires=&keyId=k&signature=s", PRESIGN_E_EXPIRES },
	{ "algorithm=A&expires=5&keyId=k&signature=s&expires=6",
	    PRESIGN_E_REPEATED },
	{ "algorithm=A&expires=5&keyId=k&signature=s&signature=s",
	    PRESIGN_E_REPEATED },
	{ "algorithm=A&expires=5&keyId=%zz&signature=s", PRESIGN_E_SYNTAX },
	{ "algorithm=A&expires=5&keyId=k%00&signature=s", PRESIGN_E_SYNTAX },
	{ "=x&algorithm=A&expires=5&keyId=k&signature=s", PRESIGN_E_SYNTAX },
	{ "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15"
	    "&p=16&q=17", PRESIGN_E_SYNTAX },
	{ "algorithm=A&&expires=5&keyId=k&signature=s", PRESIGN_OK },
	/* The fuzzer's: an empty keyId, a method of anything. */
	{ "algorithm=A&expires=5&keyId=&k&signature=s", PRESIGN_E_MISSING },
	{ "algorithm=&expires=5&keyId=k&signature=s", PRESIGN_E_MISSING },
	{ "algorithm=A&expires=5&keyId=k&signature=s&method=GET%2CHEADsig"
	    "nature%3Dx", PRESIGN_E_SYNTAX },
	{ "algorithm=A&expires=5&keyId=k&signature=s&method=", PRESIGN_E_SYNTAX },
	{ "algorithm=A&expires=5&keyId=k&signature=s&method=get",
	    PRESIGN_E_SYNTAX },
};

START_TEST(test_presign_parse)
{
	static struct presign p;
	char err[256];

	ck_assert_int_eq(presign_parse(presign_parse_cases[_i].q,
	    strlen(presign_parse_cases[_i].q), &p, err, sizeof (err)),
	    presign_parse_cases[_i].want);
}
END_TEST

START_TEST(test_presign_strings)
{
	static struct presign p;
	const char *q = "signature=Zg%3D%3D&keyId=%2Fa%2Fkeys%2Faa%3Abb&"
	    "expires=1796436217&algorithm=RSA-SHA256&method=GET%2CHEAD&"
	    "role-tag=x%20y";
	char out[1024], err[256];

	ck_assert_int_eq(presign_parse(q, strlen(q), &p, err, sizeof (err)),
	    PRESIGN_OK);
	ck_assert_str_eq(p.pq_signature, "Zg==");
	ck_assert_str_eq(p.pq_keyid, "/a/keys/aa:bb");
	ck_assert(p.pq_expires == 1796436217);
	ck_assert_int_gt(presign_string(&p, "h:8381", 6, "/a/medusa/attach/s/"
	    "slave", 24, out, sizeof (out)), 0);
	/* Methods as given, sorted parameters re-encoded, no signature. */
	ck_assert_str_eq(out, "GET,HEAD\nh:8381\n/a/medusa/attach/s/slave\n"
	    "algorithm=RSA-SHA256&expires=1796436217&keyId=%2Fa%2Fkeys%2Faa%3Abb"
	    "&method=GET%2CHEAD&role-tag=x%20y");
	ck_assert_int_eq(presign_string(&p, "h", 1, "/", 1, out, 20), -1);
	/* Minting: the order and upper case node-manta's signUrl makes. */
	ck_assert_int_gt(presign_query("ed25519-sha512", "/a/keys/f", 7, "GET",
	    out, sizeof (out)), 0);
	ck_assert_str_eq(out, "algorithm=ED25519-SHA512&expires=7&keyId="
	    "%2Fa%2Fkeys%2Ff");
	ck_assert_int_gt(presign_query("rsa-sha256", "/a/keys/f", 7,
	    "GET,HEAD", out, sizeof (out)), 0);
	ck_assert_str_eq(out, "algorithm=RSA-SHA256&expires=7&keyId="
	    "%2Fa%2Fkeys%2Ff&method=GET%2CHEAD");
	ck_assert_int_gt(presign_mint_string("GET", "h:1", "/p", "q=1", out,
	    sizeof (out)), 0);
	ck_assert_str_eq(out, "GET\nh:1\n/p\nq=1");
}
END_TEST

/* --- keystore ----------------------------------------------------------- */

static char ks_dir[64];

static void
ks_setup(void)
{
	snprintf(ks_dir, sizeof (ks_dir), "/tmp/medusa-ks-XXXXXX");
	ck_assert(mkdtemp(ks_dir) != NULL);
}

static void
ks_write(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof (path), "%s/%s", ks_dir, name);
	ck_assert((f = fopen(path, "w")) != NULL);
	fputs(text, f);
	fclose(f);
}

static void
ks_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof (cmd), "rm -rf %s", ks_dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_keystore_load)
{
	struct keystore_report rep;
	struct keystore *ks;
	char err[256], md5[64], sha[64], text[8192];
	const struct sshkey *k;

	ks_setup();
	snprintf(text, sizeof (text), "# alice's keys\n%s\nnot a key\n%s",
	    slurp(FIX "ed25519.pub"), slurp(FIX "rsa2048.pub"));
	ks_write("alice", text);
	ks_write("bob", slurp(FIX "ecdsa256.pub"));
	ks_write(".hidden", slurp(FIX "ecdsa384.pub"));	/* skipped quietly */
	ks_write("bad~name", slurp(FIX "ecdsa384.pub"));	/* reported */
	ks_write("carol", slurp(FIX "rsa1024.pub"));	/* too small */
	ck_assert((ks = keystore_load(ks_dir, &rep, err, sizeof (err))) !=
	    NULL);
	ck_assert_uint_eq(rep.kr_keys, 3);
	ck_assert_uint_eq(rep.kr_accounts, 2);
	ck_assert_uint_eq(rep.kr_skipped, 3);
	ck_assert_uint_eq(keystore_count(ks), 3);
	{
		bool line3 = false;

		for (int i = 0; i < rep.kr_nproblems; i++)
			line3 |= strstr(rep.kr_problems[i], "alice:4:") != NULL;
		ck_assert(line3);
	}
	fixture_fps("ed25519", md5, sha);
	ck_assert((k = keystore_find(ks, "alice", 5, md5, strlen(md5))) !=
	    NULL);
	ck_assert_str_eq(k->k_sha256, sha);
	ck_assert(keystore_find(ks, "alice", 5, sha, strlen(sha)) == k);
	/* MD5 in upper case, or "MD5:"-prefixed. */
	{
		char up[80];

		snprintf(up, sizeof (up), "MD5:%s", md5);
		for (char *p = up + 4; *p != '\0'; p++)
			*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
		ck_assert(keystore_find(ks, "alice", 5, up, strlen(up)) == k);
	}
	/* Another account's key is not alice's. */
	fixture_fps("ecdsa256", md5, sha);
	ck_assert(keystore_find(ks, "alice", 5, sha, strlen(sha)) == NULL);
	ck_assert(keystore_find(ks, "bob", 3, sha, strlen(sha)) != NULL);
	ck_assert(keystore_find(ks, "bob", 3, "SHA256:nope", 11) == NULL);
	ck_assert(keystore_find(ks, "bob", 3, "aa:bb", 5) == NULL);
	keystore_free(ks);
	ks_teardown();
	ck_assert(keystore_load("/nonexistent-dir", &rep, err,
	    sizeof (err)) == NULL);
}
END_TEST

static void
count_key(void *arg, const char *account, const struct sshkey *k,
    const char *comment)
{
	(void) account;
	(void) k;
	(void) comment;
	(*(int *)arg)++;
}

START_TEST(test_keystore_manage)
{
	char err[256], fp[80], path[128], md5[64], sha[64];
	struct stat st;
	int n = 0;

	ks_setup();
	fixture_fps("ed25519", md5, sha);
	ck_assert_int_eq(keystore_add(ks_dir, "alice", slurp(FIX
	    "ed25519.pub"), fp, sizeof (fp), err, sizeof (err)), 0);
	ck_assert_str_eq(fp, sha);
	ck_assert_int_eq(keystore_add(ks_dir, "alice", slurp(FIX
	    "ed25519.pub"), fp, sizeof (fp), err, sizeof (err)), -1);
	ck_assert(strstr(err, "already") != NULL);
	ck_assert_int_eq(keystore_add(ks_dir, "alice", slurp(FIX
	    "rsa2048.pub"), fp, sizeof (fp), err, sizeof (err)), 0);
	snprintf(path, sizeof (path), "%s/alice", ks_dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	ck_assert_int_eq(keystore_list(ks_dir, "alice", count_key, &n, err,
	    sizeof (err)), 0);
	ck_assert_int_eq(n, 2);
	/* Bad names, bad keys, two keys at once. */
	ck_assert_int_eq(keystore_add(ks_dir, "../x", slurp(FIX
	    "rsa2048.pub"), fp, sizeof (fp), err, sizeof (err)), -1);
	ck_assert_int_eq(keystore_add(ks_dir, ".x", slurp(FIX "rsa2048.pub"),
	    fp, sizeof (fp), err, sizeof (err)), -1);
	ck_assert_int_eq(keystore_add(ks_dir, "alice", "not a key", fp,
	    sizeof (fp), err, sizeof (err)), -1);
	ck_assert_int_eq(keystore_add(ks_dir, "alice", "ssh-ed25519 AAAA\n"
	    "ssh-ed25519 AAAA\n", fp, sizeof (fp), err, sizeof (err)), -1);
	/* Remove by either fingerprint; the last removes the file. */
	ck_assert_int_eq(keystore_remove(ks_dir, "alice", md5, err,
	    sizeof (err)), 0);
	ck_assert_int_eq(keystore_remove(ks_dir, "alice", md5, err,
	    sizeof (err)), -1);
	fixture_fps("rsa2048", md5, sha);
	ck_assert_int_eq(keystore_remove(ks_dir, "alice", "bogus", err,
	    sizeof (err)), -1);
	ck_assert_int_eq(keystore_remove(ks_dir, "alice", sha, err,
	    sizeof (err)), 0);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(keystore_remove(ks_dir, "alice", sha, err,
	    sizeof (err)), -1);
	/* No temporary file left behind. */
	n = 0;
	ck_assert_int_eq(keystore_list(ks_dir, NULL, count_key, &n, err,
	    sizeof (err)), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(rmdir(ks_dir), 0);
}
END_TEST

/* --- auth ------------------------------------------------------------ */

#define	NOW	1796436000LL

enum { F_SIGNED, F_PRESIGNED, F_NONE };

static const struct {
	const char	*name;
	int		form;
	const char	*key;		/* fixture signing */
	const char	*keyacct;	/* the account its keyId names */
	const char	*path;		/* signed (presigned: the URL's path) */
	const char	*req_path;	/* requested ("" as signed) */
	const char	*host;		/* requested Host ("" as signed) */
	int64_t		t;		/* Date, or expires */
	const char	*extra;		/* appended to the query or header */
	const char	*alg;		/* replaces the algorithm, or NULL */
	int		want;
} auth_cases[] = {
	{ "signed", F_SIGNED, "rsa2048", "alice", "/alice/medusa/attach/s/"
	    "master", "", "", NOW, NULL, NULL, AUTH_OK },
	{ "signed ed25519", F_SIGNED, "ed25519", "alice", "/alice/medusa/"
	    "attach/s/slave", "", "", NOW + 299, NULL, NULL, AUTH_OK },
	{ "presigned", F_PRESIGNED, "ed25519", "alice", "/alice/medusa/"
	    "attach/s/slave", "", "", NOW + 300, NULL, NULL, AUTH_OK },
	{ "presigned master", F_PRESIGNED, "ecdsa384", "alice", "/alice/"
	    "medusa/attach/s/master", "", "", NOW + 1, NULL, NULL, AUTH_OK },
	{ "none", F_NONE, NULL, NULL, NULL, "/alice/medusa/attach/s/master",
	    "", 0, NULL, NULL, AUTH_MISSING },
	{ "skew back", F_SIGNED, "rsa2048", "alice", "/p", "", "", NOW - 301,
	    NULL, NULL, AUTH_CLOCK_SKEW },
	{ "skew ahead", F_SIGNED, "rsa2048", "alice", "/p", "", "", NOW + 301,
	    NULL, NULL, AUTH_CLOCK_SKEW },
	{ "expired", F_PRESIGNED, "rsa2048", "alice", "/p", "", "", NOW - 1,
	    NULL, NULL, AUTH_EXPIRED },
	{ "too far", F_PRESIGNED, "rsa2048", "alice", "/p", "", "",
	    NOW + 7 * 86400 + 1, NULL, NULL, AUTH_TOO_FAR },
	{ "other account", F_SIGNED, "ecdsa256", "bob", "/p", "", "", NOW,
	    NULL, NULL, AUTH_OTHER_ACCOUNT },
	{ "other account presigned", F_PRESIGNED, "ecdsa256", "bob", "/p", "",
	    "", NOW + 9, NULL, NULL, AUTH_OTHER_ACCOUNT },
	{ "unknown key", F_SIGNED, "ecdsa521", "alice", "/p", "", "", NOW,
	    NULL, NULL, AUTH_NO_KEY },
	{ "key of bob named alice's", F_SIGNED, "ecdsa256", "alice", "/p", "",
	    "", NOW, NULL, NULL, AUTH_NO_KEY },
	{ "tampered path", F_PRESIGNED, "rsa2048", "alice", "/alice/medusa/"
	    "attach/s/slave", "/alice/medusa/attach/t/slave", "", NOW + 9, NULL,
	    NULL, AUTH_BAD_SIGNATURE },
	{ "tampered role", F_PRESIGNED, "rsa2048", "alice", "/alice/medusa/"
	    "attach/s/slave", "/alice/medusa/attach/s/master", "", NOW + 9,
	    NULL, NULL, AUTH_BAD_SIGNATURE },
	{ "tampered host", F_PRESIGNED, "rsa2048", "alice", "/p", "",
	    "other:1", NOW + 9, NULL, NULL, AUTH_BAD_SIGNATURE },
	{ "tampered query", F_PRESIGNED, "rsa2048", "alice", "/p", "", "",
	    NOW + 9, "&x=1", NULL, AUTH_BAD_SIGNATURE },
	{ "repeated query", F_PRESIGNED, "rsa2048", "alice", "/p", "", "",
	    NOW + 9, "&expires=1", NULL, AUTH_INVALID },
	{ "sha1", F_SIGNED, "rsa2048", "alice", "/p", "", "", NOW, NULL,
	    "rsa-sha1", AUTH_BAD_ALGORITHM },
	{ "hmac", F_SIGNED, "rsa2048", "alice", "/p", "", "", NOW, NULL,
	    "hmac-sha256", AUTH_BAD_ALGORITHM },
	{ "algorithm of another type", F_SIGNED, "rsa2048", "alice", "/p", "",
	    "", NOW, NULL, "ecdsa-sha256", AUTH_BAD_ALGORITHM },
	{ "other hash", F_SIGNED, "rsa2048", "alice", "/p", "", "", NOW, NULL,
	    "rsa-sha512", AUTH_BAD_SIGNATURE },
};

/* A request head for a case, signed by the fixture key as it says. */
static size_t
auth_head(int i, char *head, size_t cap)
{
	char path[256], authz[4096], date[64], url[8192], err[256];
	const char *rp, *host;
	struct signer s;
	size_t n = 0;

	host = auth_cases[i].host[0] != '\0' ? auth_cases[i].host : "h:8381";
	rp = auth_cases[i].req_path;
	if (auth_cases[i].form == F_NONE)
		return ((size_t)snprintf(head, cap, "GET %s HTTP/1.1\r\nHost: "
		    "%s\r\n\r\n", rp, host));
	snprintf(path, sizeof (path), FIX "%s", auth_cases[i].key);
	ck_assert(signer_open(&s, path, NULL, err, sizeof (err)) == 0);
	if (auth_cases[i].form == F_SIGNED) {
		ck_assert(signer_authorization(&s, auth_cases[i].keyacct,
		    auth_cases[i].t, date, sizeof (date), authz,
		    sizeof (authz), err, sizeof (err)) == 0);
		if (auth_cases[i].alg != NULL) {
			char *a = strstr(authz, "algorithm=\"") + 11;
			char tmp[4096];

			snprintf(tmp, sizeof (tmp), "%.*s%s%s",
			    (int)(a - authz), authz, auth_cases[i].alg,
			    strchr(a, '"'));
			snprintf(authz, sizeof (authz), "%s", tmp);
		}
		n = (size_t)snprintf(head, cap, "GET %s HTTP/1.1\r\nHost: "
		    "h:8381\r\nDate: %s\r\nAuthorization: %s\r\n\r\n",
		    rp[0] != '\0' ? rp : auth_cases[i].path, date, authz);
	} else {
		ck_assert(signer_presign(&s, auth_cases[i].keyacct, "h:8381",
		    auth_cases[i].path, auth_cases[i].t, url, sizeof (url),
		    err, sizeof (err)) == 0);
		if (rp[0] != '\0') {
			char tmp[8192];

			snprintf(tmp, sizeof (tmp), "%s%s", rp,
			    strchr(url, '?'));
			snprintf(url, sizeof (url), "%s", tmp);
		}
		n = (size_t)snprintf(head, cap, "GET %s%s HTTP/1.1\r\nHost: "
		    "%s\r\n\r\n", url, auth_cases[i].extra != NULL ?
		    auth_cases[i].extra : "", host);
	}
	signer_close(&s);
	return (n);
}

START_TEST(test_auth_table)
{
	struct auth_settings st = { NOW, 300, 7 * 86400 };
	struct keystore_report rep;
	struct auth_result r;
	struct keystore *ks;
	struct httphead h;
	static char head[16384];
	char text[8192], err[256];
	size_t n;

	ks_setup();
	snprintf(text, sizeof (text), "%s%s%s", slurp(FIX "rsa2048.pub"),
	    slurp(FIX "ecdsa384.pub"), slurp(FIX "ed25519.pub"));
	ks_write("alice", text);
	ks_write("bob", slurp(FIX "ecdsa256.pub"));
	ks = keystore_load(ks_dir, &rep, err, sizeof (err));
	ck_assert(ks != NULL);
	n = auth_head(_i, head, sizeof (head));
	ck_assert_int_eq(httphead_parse_request(head, n, &h), HTTPHEAD_OK);
	(void) auth_check(&h, "alice", 5, ks, &st, &r);
	ck_assert_msg(r.ar_code == auth_cases[_i].want, "%s: %s (%s)",
	    auth_cases[_i].name, r.ar_name, r.ar_message);
	ck_assert_int_eq(r.ar_status, auth_code_status(r.ar_code));
	if (r.ar_code == AUTH_OK)
		ck_assert(strncmp(r.ar_fingerprint, "SHA256:", 7) == 0);
	keystore_free(ks);
	ks_teardown();
}
END_TEST

START_TEST(test_auth_codes_and_dates)
{
	static const struct {
		const char	*d;
		int64_t		t;	/* -1: refused */
	} dates[] = {
		{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 },
		{ "Sat, 29 Feb 2020 23:59:59 GMT", 1583020799 },
		{ "Sun, 06 Nov 1994 08:49:37 UTC", -1 },
		{ "Mon, 06 Nov 1994 08:49:37 GMT", -1 },	/* weekday */
		{ "Fri, 31 Feb 2020 00:00:00 GMT", -1 },	/* no such day */
		{ "Sun, 6 Nov 1994 08:49:37 GMT", -1 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", -1 },	/* RFC 850 */
		{ "Sun Nov  6 08:49:37 1994", -1 },		/* asctime */
		{ "Sun, 06 Nov 1994 24:49:37 GMT", -1 },
		{ "Sun, 06 Xyz 1994 08:49:37 GMT", -1 },
		{ "", -1 },
	};
	int64_t t;

	for (size_t i = 0; i < sizeof (dates) / sizeof (dates[0]); i++) {
		int rv = auth_parse_date(dates[i].d, strlen(dates[i].d), &t);

		ck_assert_msg(rv == (dates[i].t < 0 ? -1 : 0), "%s",
		    dates[i].d);
		if (rv == 0)
			ck_assert(t == dates[i].t);
	}
	for (int c = 1; c < AUTH_NCODES; c++)
		ck_assert(auth_code_status(c) == 401 ||
		    (c == AUTH_OTHER_ACCOUNT && auth_code_status(c) == 403));
	ck_assert_str_eq(auth_code_name(AUTH_NO_KEY), "KeyNotFound");
	ck_assert_str_eq(auth_code_name(AUTH_NCODES), "Unknown");
}
END_TEST

Suite *
credentials_suite(void)
{
	Suite *s = suite_create("credentials");
	TCase *tc = tcase_create("credentials");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_b64_decode, 0, NELEM(b64_cases));
	tcase_add_test(tc, test_b64_round_trip_and_caps);
	tcase_add_loop_test(tc, test_pct, 0, NELEM(pct_cases));
	tcase_add_test(tc, test_pct_bad);
	tcase_add_loop_test(tc, test_sshkey_fixtures, 0, NELEM(key_fixtures));
	tcase_add_loop_test(tc, test_sshkey_lines, 0, NELEM(line_cases));
	tcase_add_test(tc, test_sshkey_refused_fixtures);
	tcase_add_loop_test(tc, test_sshkey_algorithms, 0, NELEM(alg_cases));
	tcase_add_loop_test(tc, test_sign_and_verify, 0, NELEM(key_fixtures));
	tcase_add_test(tc, test_signer_files);
	tcase_add_loop_test(tc, test_httpsig_parse, 0, NELEM(authz_cases));
	tcase_add_test(tc, test_httpsig_too_long);
	tcase_add_loop_test(tc, test_httpsig_keyid, 0, NELEM(keyid_cases));
	tcase_add_test(tc, test_httpsig_signing_string);
	tcase_add_loop_test(tc, test_presign_parse, 0,
	    NELEM(presign_parse_cases));
	tcase_add_test(tc, test_presign_strings);
	tcase_add_test(tc, test_keystore_load);
	tcase_add_test(tc, test_keystore_manage);
	tcase_add_loop_test(tc, test_auth_table, 0, NELEM(auth_cases));
	tcase_add_test(tc, test_auth_codes_and_dates);
	suite_add_tcase(s, tc);
	return (s);
}

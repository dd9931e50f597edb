/*
 * signer.c: signing with an SSH key from a file or ssh-agent; see signer.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "b64.h"
#include "httpsig.h"
#include "presign.h"
#include "signer.h"

#define	SIGNER_FILE_MAX		(64 * 1024)
#define	SIGNER_AGENT_MAX	(256 * 1024)

/* ssh-agent message types (draft-miller-ssh-agent section 5.1). */
#define	AGENT_FAILURE			5
#define	AGENT_REQUEST_IDENTITIES	11
#define	AGENT_IDENTITIES_ANSWER		12
#define	AGENT_SIGN_REQUEST		13
#define	AGENT_SIGN_RESPONSE		14
#define	AGENT_RSA_SHA2_256		0x02

void
signer_date(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	(void) gmtime_r(&tt, &tm);
	(void) strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Does key k answer to the name fp (MD5 in any case, or SHA256)? */
static bool
signer_named(const struct sshkey *k, const char *fp)
{
	if (strncasecmp(fp, "SHA256:", 7) == 0)
		return (strcmp(fp + 7, k->k_sha256 + 7) == 0);
	if (strncasecmp(fp, "MD5:", 4) == 0)
		fp += 4;
	return (strcasecmp(fp, k->k_md5) == 0);
}

/* --- key files --------------------------------------------------------- */

static BIGNUM *
signer_mpint(struct sshkey_rd *r)
{
	const uint8_t *p;
	size_t n;

	if (sshkey_rd_str(r, &p, &n) != 0 || n == 0 || (p[0] & 0x80))
		return (NULL);
	return (BN_bin2bn(p, (int)n, NULL));
}

static EVP_PKEY *
signer_keypair(const char *kind, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, kind, NULL);
	EVP_PKEY *pk = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
		pk = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return (pk);
}

static EVP_PKEY *
signer_openssh_rsa(struct sshkey_rd *r)
{
	BIGNUM *n = signer_mpint(r), *e = signer_mpint(r), *d = signer_mpint(r),
	    *iqmp = signer_mpint(r), *p = signer_mpint(r), *q = signer_mpint(r);
	BIGNUM *dp = BN_new(), *dq = BN_new(), *t = BN_new();
	BN_CTX *bc = BN_CTX_new();
	OSSL_PARAM_BLD *b = NULL;
	EVP_PKEY *pk = NULL;

	if (n != NULL && e != NULL && d != NULL && iqmp != NULL && p != NULL &&
	    q != NULL && dp != NULL && dq != NULL && t != NULL && bc != NULL &&
	    BN_sub(t, p, BN_value_one()) && BN_mod(dp, d, t, bc) &&
	    BN_sub(t, q, BN_value_one()) && BN_mod(dq, d, t, bc) &&
	    (b = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, d) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, p) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, q) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp))
		pk = signer_keypair("RSA", b);
	OSSL_PARAM_BLD_free(b);
	BN_clear_free(d);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_clear_free(dp);
	BN_clear_free(dq);
	BN_clear_free(iqmp);
	BN_free(n);
	BN_free(e);
	BN_free(t);
	BN_CTX_free(bc);
	return (pk);
}

static EVP_PKEY *
signer_openssh_ecdsa(struct sshkey_rd *r)
{
	static const char *const curves[][2] = { { "nistp256", "P-256" },
	    { "nistp384", "P-384" }, { "nistp521", "P-521" } };
	const uint8_t *cn, *q;
	size_t cnn, qn;
	const char *group = NULL;
	BIGNUM *d;
	OSSL_PARAM_BLD *b = NULL;
	EVP_PKEY *pk = NULL;

	if (sshkey_rd_str(r, &cn, &cnn) != 0 || sshkey_rd_str(r, &q, &qn) != 0)
		return (NULL);
	for (int i = 0; i < 3; i++) {
		if (strlen(curves[i][0]) == cnn &&
		    memcmp(curves[i][0], cn, cnn) == 0)
			group = curves[i][1];
	}
	if (group == NULL || (d = signer_mpint(r)) == NULL)
		return (NULL);
	if ((b = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, q,
	    qn) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d))
		pk = signer_keypair("EC", b);
	OSSL_PARAM_BLD_free(b);
	BN_clear_free(d);
	return (pk);
}

/* The "openssh-key-v1" format (OpenSSH's PROTOCOL.key). */
static EVP_PKEY *
signer_openssh(const uint8_t *d, size_t n, char *err, size_t errlen)
{
	static const char magic[] = "openssh-key-v1";
	struct sshkey_rd r, pr;
	const uint8_t *cipher, *kdf, *kopt, *pub, *priv, *type, *pk, *sk;
	size_t cn, kn, on, pubn, privn, tn, pkn, skn;
	uint32_t nkeys, c1, c2;
	EVP_PKEY *key = NULL;

	if (n < sizeof (magic) || memcmp(d, magic, sizeof (magic)) != 0) {
		snprintf(err, errlen, "not an OpenSSH private key");
		return (NULL);
	}
	sshkey_rd_init(&r, d + sizeof (magic), n - sizeof (magic));
	if (sshkey_rd_str(&r, &cipher, &cn) != 0 ||
	    sshkey_rd_str(&r, &kdf, &kn) != 0 ||
	    sshkey_rd_str(&r, &kopt, &on) != 0 ||
	    sshkey_rd_u32(&r, &nkeys) != 0 || nkeys != 1 ||
	    sshkey_rd_str(&r, &pub, &pubn) != 0 ||
	    sshkey_rd_str(&r, &priv, &privn) != 0) {
		snprintf(err, errlen, "a malformed OpenSSH private key");
		return (NULL);
	}
	if (cn != 4 || memcmp(cipher, "none", 4) != 0) {
		snprintf(err, errlen, "the key is protected by a passphrase: "
		    "add it to ssh-agent (ssh-add) and sign through the agent");
		return (NULL);
	}
	sshkey_rd_init(&pr, priv, privn);
	if (sshkey_rd_u32(&pr, &c1) != 0 || sshkey_rd_u32(&pr, &c2) != 0 ||
	    c1 != c2 || sshkey_rd_str(&pr, &type, &tn) != 0) {
		snprintf(err, errlen, "a malformed OpenSSH private key");
		return (NULL);
	}
	if (tn == 11 && memcmp(type, "ssh-ed25519", 11) == 0) {
		if (sshkey_rd_str(&pr, &pk, &pkn) == 0 && pkn == 32 &&
		    sshkey_rd_str(&pr, &sk, &skn) == 0 && skn == 64)
			key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519,
			    NULL, sk, 32);
	} else if (tn == 7 && memcmp(type, "ssh-rsa", 7) == 0) {
		key = signer_openssh_rsa(&pr);
	} else if (tn > 11 && memcmp(type, "ecdsa-sha2-", 11) == 0) {
		key = signer_openssh_ecdsa(&pr);
	} else {
		snprintf(err, errlen, "unsupported key type %.*s",
		    (int)(tn > 32 ? 32 : tn), (const char *)type);
		return (NULL);
	}
	if (key == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "a malformed %.*s private key", (int)tn,
		    (const char *)type);
	}
	return (key);
}

static int
signer_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void) buf;
	(void) size;
	(void) rwflag;
	(void) u;
	return (-1);
}

static int
signer_open_file(struct signer *s, const char *path, const char *fp,
    char *err, size_t errlen)
{
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char end[] = "-----END OPENSSH PRIVATE KEY-----";
	char *text = NULL;
	const char *b, *e;
	EVP_PKEY *pk = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, rv = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if ((text = malloc(SIGNER_FILE_MAX + 1)) == NULL) {
		(void) close(fd);
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	while (len < SIGNER_FILE_MAX && (r = read(fd, text + len,
	    SIGNER_FILE_MAX - len)) > 0)
		len += (size_t)r;
	(void) close(fd);
	text[len] = '\0';
	if ((b = strstr(text, begin)) != NULL &&
	    (e = strstr(b, end)) != NULL) {
		uint8_t *bin = malloc(len);
		char *b64 = malloc(len);
		size_t bn = 0;
		int dn;

		for (const char *p = b + sizeof (begin) - 1; bin != NULL &&
		    b64 != NULL && p < e; p++) {
			if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
				b64[bn++] = *p;
		}
		if (bin == NULL || b64 == NULL)
			snprintf(err, errlen, "out of memory");
		else if ((dn = b64_decode(b64, bn, bin, len)) <= 0)
			snprintf(err, errlen, "%s: not valid base64", path);
		else if ((pk = signer_openssh(bin, (size_t)dn, err,
		    errlen)) == NULL) {
			char tmp[256];

			snprintf(tmp, sizeof (tmp), "%s", err);
			snprintf(err, errlen, "%s: %s", path, tmp);
		}
		if (bin != NULL)
			OPENSSL_cleanse(bin, len);
		free(bin);
		free(b64);
	} else {
		BIO *bio = BIO_new_mem_buf(text, (int)len);

		if (bio != NULL)
			pk = PEM_read_bio_PrivateKey(bio, NULL,
			    signer_no_passphrase, NULL);
		BIO_free(bio);
		ERR_clear_error();
		if (pk == NULL && strstr(text, "ENCRYPTED") != NULL)
			snprintf(err, errlen, "%s: the key is protected by a "
			    "passphrase: add it to ssh-agent (ssh-add) and sign "
			    "through the agent", path);
		else if (pk == NULL)
			snprintf(err, errlen, "%s: not a private key in OpenSSH "
			    "or PEM form", path);
	}
	OPENSSL_cleanse(text, len);
	free(text);
	if (pk == NULL)
		return (-1);
	if (sshkey_from_pkey(pk, &s->s_key, err, errlen) == 0) {
		rv = 0;
		if (fp != NULL && !signer_named(&s->s_key, fp)) {
			snprintf(err, errlen, "%s holds the key %s (%s), not %s",
			    path, s->s_key.k_sha256, s->s_key.k_md5, fp);
			sshkey_free(&s->s_key);
			rv = -1;
		}
	}
	EVP_PKEY_free(pk);
	return (rv);
}

/* --- ssh-agent ----------------------------------------------------------- */

static int
signer_io(int fd, bool out, uint8_t *p, size_t n)
{
	while (n > 0) {
		struct pollfd pfd = { fd, out ? POLLOUT : POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, SIGNER_TIMEOUT_MS) <= 0)
			return (-1);
		r = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return (-1);
		p += r;
		n -= (size_t)r;
	}
	return (0);
}

/*
 * One request to the agent and its answer (a malloc'd body, its first
 * byte the type).  NULL with err.
 */
static uint8_t *
signer_agent_call(const struct signer *s, const uint8_t *req, size_t n,
    size_t *rlen, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	uint8_t hdr[4], *body = NULL;
	uint32_t len;
	int fd;

	memset(&sa, 0, sizeof (sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof (sa.sun_path), "%s", s->s_sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof (sa)) != 0) {
		snprintf(err, errlen, "ssh-agent (%s): %s", s->s_sock,
		    strerror(errno));
		if (fd >= 0)
			(void) close(fd);
		return (NULL);
	}
	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
	if (signer_io(fd, true, hdr, 4) != 0 ||
	    signer_io(fd, true, (uint8_t *)(uintptr_t)req, n) != 0 ||
	    signer_io(fd, false, hdr, 4) != 0) {
		snprintf(err, errlen, "ssh-agent (%s) did not answer",
		    s->s_sock);
		(void) close(fd);
		return (NULL);
	}
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > SIGNER_AGENT_MAX ||
	    (body = malloc(len)) == NULL || signer_io(fd, false, body,
	    len) != 0) {
		snprintf(err, errlen, "ssh-agent (%s): a bad answer",
		    s->s_sock);
		free(body);
		(void) close(fd);
		return (NULL);
	}
	(void) close(fd);
	*rlen = len;
	return (body);
}

static int
signer_open_agent(struct signer *s, const char *fp, char *err, size_t errlen)
{
	const char *sock = getenv("SSH_AUTH_SOCK");
	uint8_t req = AGENT_REQUEST_IDENTITIES, *ans, type;
	struct sshkey_rd r;
	uint32_t nkeys;
	size_t alen;
	int found = 0;

	if (sock == NULL || sock[0] == '\0') {
		snprintf(err, errlen, "no key: give one with -i FILE, or run "
		    "ssh-agent and ssh-add (SSH_AUTH_SOCK is not set)");
		return (-1);
	}
	if (strlen(sock) >= sizeof (s->s_sock)) {
		snprintf(err, errlen, "SSH_AUTH_SOCK is too long");
		return (-1);
	}
	snprintf(s->s_sock, sizeof (s->s_sock), "%s", sock);
	if ((ans = signer_agent_call(s, &req, 1, &alen, err, errlen)) == NULL)
		return (-1);
	sshkey_rd_init(&r, ans, alen);
	if (sshkey_rd_u8(&r, &type) != 0 || type != AGENT_IDENTITIES_ANSWER ||
	    sshkey_rd_u32(&r, &nkeys) != 0) {
		snprintf(err, errlen, "ssh-agent refused to list its keys");
		free(ans);
		return (-1);
	}
	for (uint32_t i = 0; i < nkeys && !found; i++) {
		const uint8_t *blob, *comment;
		size_t bn, cn;
		char e2[128];

		if (sshkey_rd_str(&r, &blob, &bn) != 0 ||
		    sshkey_rd_str(&r, &comment, &cn) != 0)
			break;
		if (sshkey_from_blob(blob, bn, &s->s_key, e2,
		    sizeof (e2)) != 0)
			continue;	/* a type we do not sign with */
		if (fp == NULL || signer_named(&s->s_key, fp))
			found = 1;
		else
			sshkey_free(&s->s_key);
	}
	free(ans);
	if (!found) {
		snprintf(err, errlen, fp != NULL ? "ssh-agent holds no key %s" :
		    "ssh-agent holds no RSA, ECDSA or Ed25519 key%s (ssh-add "
		    "one)", fp != NULL ? fp : "");
		return (-1);
	}
	s->s_agent = 1;
	return (0);
}

/* Append an SSH string to buf. */
static int
signer_put_str(uint8_t *buf, size_t cap, size_t *o, const void *p, size_t n)
{
	if (*o + 4 + n > cap)
		return (-1);
	buf[(*o)++] = (uint8_t)(n >> 24);
	buf[(*o)++] = (uint8_t)(n >> 16);
	buf[(*o)++] = (uint8_t)(n >> 8);
	buf[(*o)++] = (uint8_t)n;
	memcpy(buf + *o, p, n);
	*o += n;
	return (0);
}

/* The agent's signature blob into HTTP signatures' bytes. */
static int
signer_agent_sig(const struct signer *s, const uint8_t *blob, size_t bn,
    uint8_t *out, size_t cap, size_t *outlen)
{
	struct sshkey_rd r;
	const uint8_t *type, *sig;
	size_t tn, sn;

	sshkey_rd_init(&r, blob, bn);
	if (sshkey_rd_str(&r, &type, &tn) != 0 ||
	    sshkey_rd_str(&r, &sig, &sn) != 0)
		return (-1);
	switch (s->s_key.k_type) {
	case SSHKEY_RSA:
		if (tn != 12 || memcmp(type, "rsa-sha2-256", 12) != 0 ||
		    sn > cap)
			return (-1);
		memcpy(out, sig, sn);
		*outlen = sn;
		return (0);
	case SSHKEY_ED25519:
		if (tn != 11 || memcmp(type, "ssh-ed25519", 11) != 0 ||
		    sn != 64 || sn > cap)
			return (-1);
		memcpy(out, sig, sn);
		*outlen = sn;
		return (0);
	case SSHKEY_ECDSA: {
		struct sshkey_rd sr;
		const uint8_t *rp, *sp;
		size_t rn, snn;
		ECDSA_SIG *es;
		BIGNUM *bnr, *bns;
		unsigned char *der = NULL;
		int dl;

		if (strlen(sshkey_type_name(&s->s_key)) != tn ||
		    memcmp(type, sshkey_type_name(&s->s_key), tn) != 0)
			return (-1);
		sshkey_rd_init(&sr, sig, sn);
		if (sshkey_rd_str(&sr, &rp, &rn) != 0 ||
		    sshkey_rd_str(&sr, &sp, &snn) != 0)
			return (-1);
		bnr = BN_bin2bn(rp, (int)rn, NULL);
		bns = BN_bin2bn(sp, (int)snn, NULL);
		if ((es = ECDSA_SIG_new()) == NULL || bnr == NULL ||
		    bns == NULL || ECDSA_SIG_set0(es, bnr, bns) != 1) {
			BN_free(bnr);
			BN_free(bns);
			ECDSA_SIG_free(es);
			return (-1);
		}
		dl = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (dl <= 0 || (size_t)dl > cap) {
			OPENSSL_free(der);
			return (-1);
		}
		memcpy(out, der, (size_t)dl);
		OPENSSL_free(der);
		*outlen = (size_t)dl;
		return (0);
	}
	default:
		return (-1);
	}
}

/* --- signing ------------------------------------------------------------- */

int
signer_open(struct signer *s, const char *path, const char *fp, char *err,
    size_t errlen)
{
	memset(s, 0, sizeof (*s));
	if (path != NULL)
		return (signer_open_file(s, path, fp, err, errlen));
	return (signer_open_agent(s, fp, err, errlen));
}

void
signer_close(struct signer *s)
{
	sshkey_free(&s->s_key);
}

const char *
signer_algorithm(const struct signer *s)
{
	return (sshkey_default_alg(&s->s_key));
}

int
signer_sign(struct signer *s, const void *data, size_t n, char *out,
    size_t cap, char *err, size_t errlen)
{
	uint8_t sig[1024];
	size_t siglen = sizeof (sig);

	if (s->s_agent) {
		uint8_t *req, *ans, type = 0;
		const uint8_t *blob;
		size_t o = 0, alen, bn;
		struct sshkey_rd r;

		if ((req = malloc(n + s->s_key.k_bloblen + 32)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return (-1);
		}
		req[o++] = AGENT_SIGN_REQUEST;
		(void) signer_put_str(req, n + s->s_key.k_bloblen + 32, &o,
		    s->s_key.k_blob, s->s_key.k_bloblen);
		(void) signer_put_str(req, n + s->s_key.k_bloblen + 32, &o,
		    data, n);
		{
			uint32_t fl = s->s_key.k_type == SSHKEY_RSA ?
			    AGENT_RSA_SHA2_256 : 0;

			req[o++] = (uint8_t)(fl >> 24);
			req[o++] = (uint8_t)(fl >> 16);
			req[o++] = (uint8_t)(fl >> 8);
			req[o++] = (uint8_t)fl;
		}
		ans = signer_agent_call(s, req, o, &alen, err, errlen);
		free(req);
		if (ans == NULL)
			return (-1);
		sshkey_rd_init(&r, ans, alen);
		if (sshkey_rd_u8(&r, &type) != 0 ||
		    type != AGENT_SIGN_RESPONSE ||
		    sshkey_rd_str(&r, &blob, &bn) != 0 ||
		    signer_agent_sig(s, blob, bn, sig, sizeof (sig),
		    &siglen) != 0) {
			snprintf(err, errlen, type == AGENT_FAILURE ?
			    "ssh-agent refused to sign (a confirmation "
			    "declined, or a key it cannot use?)" :
			    "ssh-agent gave a signature we cannot read");
			free(ans);
			return (-1);
		}
		free(ans);
	} else {
		const EVP_MD *md = NULL;
		EVP_MD_CTX *c;
		int type;

		if (sshkey_alg(signer_algorithm(s), strlen(signer_algorithm(s)),
		    &type, &md) != SSHKEY_OK || (c = EVP_MD_CTX_new()) ==
		    NULL) {
			snprintf(err, errlen, "cannot sign with this key");
			return (-1);
		}
		if (EVP_DigestSignInit(c, NULL, md, NULL, s->s_key.k_pkey) !=
		    1 || EVP_DigestSign(c, sig, &siglen, data, n) != 1) {
			EVP_MD_CTX_free(c);
			ERR_clear_error();
			snprintf(err, errlen, "signing failed");
			return (-1);
		}
		EVP_MD_CTX_free(c);
	}
	if (b64_encode(sig, siglen, out, cap) < 0) {
		snprintf(err, errlen, "signature too long");
		return (-1);
	}
	return (0);
}

void
signer_keyid(const struct signer *s, const char *account, char *out,
    size_t cap)
{
	snprintf(out, cap, "/%s/keys/%s", account, s->s_key.k_md5);
}

int
signer_authorization(struct signer *s, const char *account, int64_t now,
    char *date, size_t datecap, char *authz, size_t authzcap, char *err,
    size_t errlen)
{
	char data[128], sig[1400], keyid[256];

	signer_date(now, date, datecap);
	snprintf(data, sizeof (data), "date: %s", date);
	if (signer_sign(s, data, strlen(data), sig, sizeof (sig), err,
	    errlen) != 0)
		return (-1);
	signer_keyid(s, account, keyid, sizeof (keyid));
	if (httpsig_format(authz, authzcap, keyid, signer_algorithm(s),
	    "date", sig) < 0) {
		snprintf(err, errlen, "Authorization too long");
		return (-1);
	}
	return (0);
}

int
signer_presign(struct signer *s, const char *account, const char *host,
    const char *path, int64_t expires, char *out, size_t cap, char *err,
    size_t errlen)
{
	char keyid[256], query[1024], data[4096], sig[1400], esig[4200];
	int n;

	signer_keyid(s, account, keyid, sizeof (keyid));
	if (presign_query(signer_algorithm(s), keyid, expires, "GET", query,
	    sizeof (query)) < 0 || presign_mint_string("GET", host, path,
	    query, data, sizeof (data)) < 0) {
		snprintf(err, errlen, "URL too long");
		return (-1);
	}
	if (signer_sign(s, data, strlen(data), sig, sizeof (sig), err,
	    errlen) != 0)
		return (-1);
	if (b64_pct_encode(sig, strlen(sig), esig, sizeof (esig)) < 0 ||
	    (n = snprintf(out, cap, "%s?%s&signature=%s", path, query,
	    esig)) < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "URL too long");
		return (-1);
	}
	return (0);
}

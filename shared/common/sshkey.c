/*
 * sshkey.c: SSH public keys and signature verification; see sshkey.h.
 * OpenSSL 3: keys are built from their parts with EVP_PKEY_fromdata().
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "b64.h"
#include "sshkey.h"

/* --- the wire format --------------------------------------------------- */

void
sshkey_rd_init(struct sshkey_rd *r, const uint8_t *p, size_t n)
{
	r->r_p = p;
	r->r_n = n;
	r->r_bad = false;
}

static int
sshkey_rd_fail(struct sshkey_rd *r)
{
	r->r_bad = true;
	r->r_n = 0;
	return (-1);
}

int
sshkey_rd_u32(struct sshkey_rd *r, uint32_t *v)
{
	if (r->r_bad || r->r_n < 4)
		return (sshkey_rd_fail(r));
	*v = (uint32_t)r->r_p[0] << 24 | (uint32_t)r->r_p[1] << 16 |
	    (uint32_t)r->r_p[2] << 8 | r->r_p[3];
	r->r_p += 4;
	r->r_n -= 4;
	return (0);
}

int
sshkey_rd_u8(struct sshkey_rd *r, uint8_t *v)
{
	if (r->r_bad || r->r_n < 1)
		return (sshkey_rd_fail(r));
	*v = r->r_p[0];
	r->r_p++;
	r->r_n--;
	return (0);
}

int
sshkey_rd_str(struct sshkey_rd *r, const uint8_t **p, size_t *n)
{
	uint32_t len;

	if (sshkey_rd_u32(r, &len) != 0 || len > r->r_n)
		return (sshkey_rd_fail(r));
	*p = r->r_p;
	*n = len;
	r->r_p += len;
	r->r_n -= len;
	return (0);
}

/* A positive mpint (RFC 4251): no sign bit, no needless leading zero. */
static BIGNUM *
sshkey_rd_mpint(struct sshkey_rd *r)
{
	const uint8_t *p;
	size_t n;

	if (sshkey_rd_str(r, &p, &n) != 0 || n == 0 || (p[0] & 0x80) ||
	    (n > 1 && p[0] == 0 && !(p[1] & 0x80))) {
		r->r_bad = true;
		return (NULL);
	}
	return (BN_bin2bn(p, (int)n, NULL));
}

static bool
sshkey_str_is(const uint8_t *p, size_t n, const char *s)
{
	return (strlen(s) == n && memcmp(p, s, n) == 0);
}

/* --- keys ------------------------------------------------------------ */

static const struct sshkey_curve {
	const char	*sc_ssh;	/* in the key type's name */
	const char	*sc_group;	/* OpenSSL's name */
	const char	*sc_alias;	/* what OpenSSL may report instead */
	int		sc_bits;
	size_t		sc_qlen;	/* an uncompressed point */
	const char	*sc_alg;	/* the digest that goes with it */
} sshkey_curves[] = {
	{ "nistp256", "P-256", "prime256v1", 256, 65, "ecdsa-sha256" },
	{ "nistp384", "P-384", "secp384r1", 384, 97, "ecdsa-sha384" },
	{ "nistp521", "P-521", "secp521r1", 521, 133, "ecdsa-sha512" },
};
#define	SSHKEY_NCURVES	(sizeof (sshkey_curves) / sizeof (sshkey_curves[0]))

static EVP_PKEY *
sshkey_fromdata(const char *kind, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, kind, NULL);
	EVP_PKEY *pk = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return (pk);
}

static void
sshkey_fingerprints(struct sshkey *k)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char b64[48];
	char *o = k->k_md5;
	int n;

	(void) EVP_Digest(k->k_blob, k->k_bloblen, md, &mdlen, EVP_md5(),
	    NULL);
	for (unsigned i = 0; i < 16; i++) {
		if (i > 0)
			*o++ = ':';
		*o++ = hex[md[i] >> 4];
		*o++ = hex[md[i] & 15];
	}
	*o = '\0';
	(void) EVP_Digest(k->k_blob, k->k_bloblen, md, &mdlen, EVP_sha256(),
	    NULL);
	n = b64_encode(md, 32, b64, sizeof (b64));
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	memcpy(k->k_sha256, "SHA256:", 7);
	memcpy(k->k_sha256 + 7, b64, (size_t)n + 1);
}

int
sshkey_from_blob(const uint8_t *blob, size_t n, struct sshkey *out,
    char *err, size_t errlen)
{
	struct sshkey_rd r;
	const uint8_t *type, *p;
	size_t tn, pn;
	OSSL_PARAM_BLD *b = NULL;

	memset(out, 0, sizeof (*out));
	if (n == 0 || n > SSHKEY_BLOB_MAX) {
		snprintf(err, errlen, "key of %zu bytes", n);
		return (-1);
	}
	sshkey_rd_init(&r, blob, n);
	if (sshkey_rd_str(&r, &type, &tn) != 0) {
		snprintf(err, errlen, "not an SSH key");
		return (-1);
	}
	if (sshkey_str_is(type, tn, "ssh-rsa")) {
		BIGNUM *e = sshkey_rd_mpint(&r), *m = sshkey_rd_mpint(&r);

		if (e == NULL || m == NULL || r.r_bad || r.r_n != 0) {
			BN_free(e);
			BN_free(m);
			snprintf(err, errlen, "malformed ssh-rsa key");
			return (-1);
		}
		if ((b = OSSL_PARAM_BLD_new()) != NULL &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, m) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e))
			out->k_pkey = sshkey_fromdata("RSA", b);
		BN_free(e);
		BN_free(m);
		out->k_type = SSHKEY_RSA;
	} else if (tn > 11 && memcmp(type, "ecdsa-sha2-", 11) == 0) {
		const struct sshkey_curve *c = NULL;
		const uint8_t *cn;
		size_t cnn;

		for (size_t i = 0; i < SSHKEY_NCURVES; i++) {
			if (tn == 11 + strlen(sshkey_curves[i].sc_ssh) &&
			    memcmp(type + 11, sshkey_curves[i].sc_ssh,
			    tn - 11) == 0)
				c = &sshkey_curves[i];
		}
		if (c == NULL) {
			snprintf(err, errlen, "unsupported key type %.*s",
			    (int)(tn > 40 ? 40 : tn), (const char *)type);
			return (-1);
		}
		if (sshkey_rd_str(&r, &cn, &cnn) != 0 ||
		    !sshkey_str_is(cn, cnn, c->sc_ssh) ||
		    sshkey_rd_str(&r, &p, &pn) != 0 || r.r_n != 0 ||
		    pn != c->sc_qlen || p[0] != 0x04) {
			snprintf(err, errlen, "malformed %.*s key", (int)tn,
			    (const char *)type);
			return (-1);
		}
		if ((b = OSSL_PARAM_BLD_new()) != NULL &&
		    OSSL_PARAM_BLD_push_utf8_string(b,
		    OSSL_PKEY_PARAM_GROUP_NAME, c->sc_group, 0) &&
		    OSSL_PARAM_BLD_push_octet_string(b,
		    OSSL_PKEY_PARAM_PUB_KEY, p, pn))
			out->k_pkey = sshkey_fromdata("EC", b);
		out->k_type = SSHKEY_ECDSA;
		out->k_bits = c->sc_bits;
	} else if (sshkey_str_is(type, tn, "ssh-ed25519")) {
		if (sshkey_rd_str(&r, &p, &pn) != 0 || pn != 32 ||
		    r.r_n != 0) {
			snprintf(err, errlen, "malformed ssh-ed25519 key");
			return (-1);
		}
		out->k_pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
		    NULL, p, pn);
		out->k_type = SSHKEY_ED25519;
		out->k_bits = 256;
	} else {
		snprintf(err, errlen, "unsupported key type %.*s (use RSA of "
		    "2048 bits or more, ECDSA or Ed25519)",
		    (int)(tn > 40 ? 40 : tn), (const char *)type);
		return (-1);
	}
	OSSL_PARAM_BLD_free(b);
	if (out->k_pkey == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "invalid %s key", sshkey_type_name(out));
		out->k_type = SSHKEY_NONE;
		return (-1);
	}
	if (out->k_type == SSHKEY_RSA) {
		out->k_bits = EVP_PKEY_get_bits(out->k_pkey);
		if (out->k_bits < SSHKEY_RSA_MIN_BITS) {
			snprintf(err, errlen, "RSA key of %d bits: at least %d "
			    "are needed", out->k_bits, SSHKEY_RSA_MIN_BITS);
			sshkey_free(out);
			return (-1);
		}
	}
	memcpy(out->k_blob, blob, n);
	out->k_bloblen = n;
	sshkey_fingerprints(out);
	return (0);
}

void
sshkey_free(struct sshkey *k)
{
	EVP_PKEY_free(k->k_pkey);
	k->k_pkey = NULL;
	k->k_type = SSHKEY_NONE;
}

const char *
sshkey_type_name(const struct sshkey *k)
{
	switch (k->k_type) {
	case SSHKEY_RSA:
		return ("ssh-rsa");
	case SSHKEY_ECDSA:
		return (k->k_bits == 256 ? "ecdsa-sha2-nistp256" :
		    k->k_bits == 384 ? "ecdsa-sha2-nistp384" :
		    "ecdsa-sha2-nistp521");
	case SSHKEY_ED25519:
		return ("ssh-ed25519");
	default:
		return ("unknown");
	}
}

const char *
sshkey_default_alg(const struct sshkey *k)
{
	switch (k->k_type) {
	case SSHKEY_RSA:
		return ("rsa-sha256");
	case SSHKEY_ECDSA:
		for (size_t i = 0; i < SSHKEY_NCURVES; i++) {
			if (sshkey_curves[i].sc_bits == k->k_bits)
				return (sshkey_curves[i].sc_alg);
		}
		return ("ecdsa-sha256");
	case SSHKEY_ED25519:
		return ("ed25519-sha512");
	default:
		return ("unknown");
	}
}

static bool
sshkey_is_space(char c)
{
	return (c == ' ' || c == '\t');
}

int
sshkey_parse_line(const char *line, size_t n, struct sshkey *out,
    char *comment, size_t ccap, char *err, size_t errlen)
{
	static const char *const types[] = { "ssh-rsa", "ssh-ed25519",
	    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	    "ecdsa-sha2-nistp521" };
	uint8_t blob[SSHKEY_BLOB_MAX];
	size_t i = 0, ts, te, bs, be;
	int bn;

	memset(out, 0, sizeof (*out));
	if (comment != NULL && ccap > 0)
		comment[0] = '\0';
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
	    sshkey_is_space(line[n - 1])))
		n--;
	while (i < n && sshkey_is_space(line[i]))
		i++;
	if (i == n || line[i] == '#')
		return (0);
	ts = i;
	while (i < n && !sshkey_is_space(line[i]))
		i++;
	te = i;
	{
		bool known = false;

		for (size_t k = 0; k < sizeof (types) / sizeof (types[0]); k++)
			known |= te - ts == strlen(types[k]) &&
			    memcmp(line + ts, types[k], te - ts) == 0;
		if (!known && (te - ts >= 4 && (memcmp(line + ts, "ssh-",
		    4) == 0 || memcmp(line + ts, "sk-", 3) == 0 ||
		    memcmp(line + ts, "ecdsa-", 6) == 0))) {
			snprintf(err, errlen, "unsupported key type %.*s (use "
			    "RSA of 2048 bits or more, ECDSA or Ed25519)",
			    (int)(te - ts > 40 ? 40 : te - ts), line + ts);
			return (-1);
		}
		if (!known) {
			snprintf(err, errlen, "authorized_keys options are not "
			    "supported; give the key alone (type, base64, "
			    "comment)");
			return (-1);
		}
	}
	while (i < n && sshkey_is_space(line[i]))
		i++;
	bs = i;
	while (i < n && !sshkey_is_space(line[i]))
		i++;
	be = i;
	if (be == bs || (bn = b64_decode(line + bs, be - bs, blob,
	    sizeof (blob))) <= 0) {
		snprintf(err, errlen, "the key is not valid base64");
		return (-1);
	}
	if (sshkey_from_blob(blob, (size_t)bn, out, err, errlen) != 0)
		return (-1);
	if (strlen(sshkey_type_name(out)) != te - ts ||
	    memcmp(sshkey_type_name(out), line + ts, te - ts) != 0) {
		snprintf(err, errlen, "the line says %.*s but the key is %s",
		    (int)(te - ts), line + ts, sshkey_type_name(out));
		sshkey_free(out);
		return (-1);
	}
	while (i < n && sshkey_is_space(line[i]))
		i++;
	if (comment != NULL && ccap > 0)
		snprintf(comment, ccap, "%.*s", (int)(n - i), line + i);
	return (1);
}

/* --- from an OpenSSL key ---------------------------------------------- */

static int
sshkey_wr(uint8_t *buf, size_t cap, size_t *off, const void *p, size_t n)
{
	if (*off + 4 + n > cap)
		return (-1);
	buf[*off] = (uint8_t)(n >> 24);
	buf[*off + 1] = (uint8_t)(n >> 16);
	buf[*off + 2] = (uint8_t)(n >> 8);
	buf[*off + 3] = (uint8_t)n;
	memcpy(buf + *off + 4, p, n);
	*off += 4 + n;
	return (0);
}

static int
sshkey_wr_bn(uint8_t *buf, size_t cap, size_t *off, const BIGNUM *bn)
{
	uint8_t tmp[SSHKEY_BLOB_MAX];
	int n = BN_num_bytes(bn);

	if (n <= 0 || (size_t)n + 1 > sizeof (tmp))
		return (-1);
	tmp[0] = 0;
	(void) BN_bn2bin(bn, tmp + 1);
	/* A leading zero only when the top bit is set (mpint is signed). */
	return (tmp[1] & 0x80 ? sshkey_wr(buf, cap, off, tmp, (size_t)n + 1) :
	    sshkey_wr(buf, cap, off, tmp + 1, (size_t)n));
}

int
sshkey_from_pkey(EVP_PKEY *pkey, struct sshkey *out, char *err,
    size_t errlen)
{
	uint8_t blob[SSHKEY_BLOB_MAX];
	size_t off = 0;
	int rv = -1;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		BIGNUM *n = NULL, *e = NULL;

		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) &&
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) &&
		    sshkey_wr(blob, sizeof (blob), &off, "ssh-rsa", 7) == 0 &&
		    sshkey_wr_bn(blob, sizeof (blob), &off, e) == 0 &&
		    sshkey_wr_bn(blob, sizeof (blob), &off, n) == 0)
			rv = 0;
		BN_free(n);
		BN_free(e);
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[64], type[32];
		uint8_t q[160];
		size_t gl = 0, ql = 0;
		const struct sshkey_curve *c = NULL;

		if (EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof (group), &gl)) {
			for (size_t i = 0; i < SSHKEY_NCURVES; i++) {
				if (strcasecmp(group, sshkey_curves[i].sc_group)
				    == 0 || strcasecmp(group,
				    sshkey_curves[i].sc_alias) == 0)
					c = &sshkey_curves[i];
			}
		}
		if (c != NULL && EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_PUB_KEY, q, sizeof (q), &ql)) {
			snprintf(type, sizeof (type), "ecdsa-sha2-%s",
			    c->sc_ssh);
			if (sshkey_wr(blob, sizeof (blob), &off, type,
			    strlen(type)) == 0 && sshkey_wr(blob,
			    sizeof (blob), &off, c->sc_ssh,
			    strlen(c->sc_ssh)) == 0 && sshkey_wr(blob,
			    sizeof (blob), &off, q, ql) == 0)
				rv = 0;
		}
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		uint8_t pk[32];
		size_t pl = sizeof (pk);

		if (EVP_PKEY_get_raw_public_key(pkey, pk, &pl) == 1 &&
		    pl == 32 && sshkey_wr(blob, sizeof (blob), &off,
		    "ssh-ed25519", 11) == 0 && sshkey_wr(blob, sizeof (blob),
		    &off, pk, pl) == 0)
			rv = 0;
	}
	if (rv != 0) {
		ERR_clear_error();
		snprintf(err, errlen, "unsupported key (use RSA, ECDSA on "
		    "P-256/384/521 or Ed25519)");
		return (-1);
	}
	if (sshkey_from_blob(blob, off, out, err, errlen) != 0)
		return (-1);
	/* Keep the caller's key (it may be private), not the parsed one. */
	EVP_PKEY_free(out->k_pkey);
	if (EVP_PKEY_up_ref(pkey) != 1) {
		out->k_pkey = NULL;
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	out->k_pkey = pkey;
	return (0);
}

/* --- signatures -------------------------------------------------------- */

/*
 * The digests, fetched from their provider once: EVP_sha256() and the
 * like look the algorithm up again on every use in OpenSSL 3.  (A cache
 * of immutable objects, the only state here.)
 */
static const EVP_MD *
sshkey_md(int which)
{
	static EVP_MD *mds[3];
	static const char *const names[3] = { "SHA256", "SHA384", "SHA512" };

	if (mds[which] == NULL)
		mds[which] = EVP_MD_fetch(NULL, names[which], NULL);
	return (mds[which]);
}

int
sshkey_alg(const char *name, size_t n, int *type, const EVP_MD **md)
{
	static const struct {
		const char	*a;
		int		type;
		int		md;	/* sshkey_md(), -1: none */
	} algs[] = {
		{ "rsa-sha256", SSHKEY_RSA, 0 },
		{ "rsa-sha384", SSHKEY_RSA, 1 },
		{ "rsa-sha512", SSHKEY_RSA, 2 },
		{ "ecdsa-sha256", SSHKEY_ECDSA, 0 },
		{ "ecdsa-sha384", SSHKEY_ECDSA, 1 },
		{ "ecdsa-sha512", SSHKEY_ECDSA, 2 },
		{ "ed25519", SSHKEY_ED25519, -1 },
		{ "ed25519-sha512", SSHKEY_ED25519, -1 },
	};

	for (size_t i = 0; i < sizeof (algs) / sizeof (algs[0]); i++) {
		if (strlen(algs[i].a) == n &&
		    strncasecmp(algs[i].a, name, n) == 0) {
			*type = algs[i].type;
			*md = algs[i].md < 0 ? NULL : sshkey_md(algs[i].md);
			return (algs[i].md >= 0 && *md == NULL ?
			    SSHKEY_E_INTERNAL : SSHKEY_OK);
		}
	}
	return (SSHKEY_E_ALG);
}

int
sshkey_verify(const struct sshkey *k, const char *alg, size_t alglen,
    const uint8_t *data, size_t n, const uint8_t *sig, size_t siglen)
{
	const EVP_MD *md;
	EVP_MD_CTX *c;
	int type, rv;

	if ((rv = sshkey_alg(alg, alglen, &type, &md)) != SSHKEY_OK)
		return (rv);
	if (type != k->k_type)
		return (SSHKEY_E_MISMATCH);
	if ((c = EVP_MD_CTX_new()) == NULL)
		return (SSHKEY_E_INTERNAL);
	if (EVP_DigestVerifyInit(c, NULL, md, NULL, k->k_pkey) != 1) {
		EVP_MD_CTX_free(c);
		ERR_clear_error();
		return (SSHKEY_E_INTERNAL);
	}
	rv = EVP_DigestVerify(c, sig, siglen, data, n);
	EVP_MD_CTX_free(c);
	if (rv != 1) {
		ERR_clear_error();
		return (SSHKEY_E_BADSIG);
	}
	return (SSHKEY_OK);
}

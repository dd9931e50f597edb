/*
 * sshkey.h: SSH public keys, as an account registers them (OpenSSH
 * authorized_keys lines) and as HTTP signatures name them (fingerprints),
 * and the verification of a signature made with one.
 *
 * Key types: ssh-rsa (2048 bits or more), ecdsa-sha2-nistp256/384/521,
 * ssh-ed25519.  Anything else (ssh-dss, sk-* security keys, certificates)
 * is refused with a reason.  A key is held as an OpenSSL EVP_PKEY, parsed
 * once, with its two names: the MD5 fingerprint "aa:bb:..." that node-manta
 * puts in a keyId, and "SHA256:<base64 without padding>" as ssh-keygen -l
 * prints it.
 *
 * Signature algorithms (HTTP signatures' names, compared ignoring case, as
 * presigned URLs upper-case them): rsa-sha256, rsa-sha384, rsa-sha512
 * (PKCS #1 v1.5), ecdsa-sha256, ecdsa-sha384, ecdsa-sha512 (the signature
 * ASN.1 DER, as npm sshpk and http-signature write it), ed25519 and
 * ed25519-sha512 (the 64 raw bytes).  rsa-sha1, ecdsa-sha1, dsa-* and
 * hmac-* are refused: SHA-1 is broken, a shared secret is not a key.
 *
 * Functions fill err[errlen] on failure and never log.
 */
#ifndef MEDUSA_SSHKEY_H
#define MEDUSA_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define	SSHKEY_BLOB_MAX		2048	/* an RSA key of 16384 bits fits */
#define	SSHKEY_MD5_LEN		47	/* "aa:" x 15 + "aa" */
#define	SSHKEY_SHA256_LEN	50	/* "SHA256:" + 43 */
#define	SSHKEY_RSA_MIN_BITS	2048

enum sshkey_type {
	SSHKEY_NONE = 0,
	SSHKEY_RSA = 1,
	SSHKEY_ECDSA = 2,
	SSHKEY_ED25519 = 3
};

struct sshkey {
	int		k_type;		/* enum sshkey_type */
	int		k_bits;		/* RSA modulus or EC curve bits */
	EVP_PKEY	*k_pkey;
	char		k_md5[SSHKEY_MD5_LEN + 1];
	char		k_sha256[SSHKEY_SHA256_LEN + 1];
	uint8_t		k_blob[SSHKEY_BLOB_MAX];	/* the SSH wire form */
	size_t		k_bloblen;
};

/* Results of sshkey_verify() and sshkey_alg(). */
enum sshkey_result {
	SSHKEY_OK = 0,
	SSHKEY_E_ALG = -1,	/* an algorithm we do not know or refuse */
	SSHKEY_E_MISMATCH = -2,	/* an algorithm of another key type */
	SSHKEY_E_BADSIG = -3,	/* the signature does not verify */
	SSHKEY_E_INTERNAL = -4	/* OpenSSL failed (out of memory) */
};

/*
 * Parse an SSH public key blob (the wire form: string type, then the
 * type's fields, nothing after).  0, or -1 with err.  On success out owns
 * an EVP_PKEY: sshkey_free() it.
 */
int sshkey_from_blob(const uint8_t *blob, size_t n, struct sshkey *out,
    char *err, size_t errlen);

/*
 * Parse one authorized_keys line: "[options] type base64 [comment]".
 * Options (from="...", command="...", no-pty, ...) are refused: a key
 * here grants attaching, and a restriction we would silently ignore is
 * worse than none.  Returns 1 with a key (and its comment, cut to ccap,
 * if comment is not NULL), 0 for a blank or "#" line, -1 with err.
 */
int sshkey_parse_line(const char *line, size_t n, struct sshkey *out,
    char *comment, size_t ccap, char *err, size_t errlen);

/*
 * The SSH blob of an OpenSSL key (RSA, EC on P-256/384/521, Ed25519), as
 * sshkey_from_blob() would read it, with the same checks.  0, or -1.
 * out takes a reference of pkey.
 */
int sshkey_from_pkey(EVP_PKEY *pkey, struct sshkey *out, char *err,
    size_t errlen);

void sshkey_free(struct sshkey *);

/*
 * An algorithm name (any case): the key type it needs and its digest
 * (NULL for Ed25519).  SSHKEY_OK or SSHKEY_E_ALG.
 */
int sshkey_alg(const char *name, size_t n, int *type, const EVP_MD **md);

/*
 * The algorithm name we write for a key (lower case; rsa-sha256,
 * ecdsa-sha256/384/512 after the curve, ed25519-sha512 as sshpk does).
 */
const char *sshkey_default_alg(const struct sshkey *);

/*
 * Verify sig over data[0..n) with key k and algorithm alg[0..alglen).
 * A result of enum sshkey_result.
 */
int sshkey_verify(const struct sshkey *k, const char *alg, size_t alglen,
    const uint8_t *data, size_t n, const uint8_t *sig, size_t siglen);

/* "ssh-rsa", "ecdsa-sha2-nistp256", ... */
const char *sshkey_type_name(const struct sshkey *);

/*
 * Reading the SSH wire format (RFC 4251 section 5): a cursor over bytes.
 * Each getter returns 0, or -1 when the bytes run out (and the cursor is
 * then spent: every later get fails too).
 */
struct sshkey_rd {
	const uint8_t	*r_p;
	size_t		r_n;
	bool		r_bad;
};

void sshkey_rd_init(struct sshkey_rd *, const uint8_t *, size_t);
int sshkey_rd_u32(struct sshkey_rd *, uint32_t *);
int sshkey_rd_u8(struct sshkey_rd *, uint8_t *);
int sshkey_rd_str(struct sshkey_rd *, const uint8_t **, size_t *);

#endif

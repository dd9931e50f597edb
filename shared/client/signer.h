/*
 * signer.h: signing an attach as node-manta does, with an SSH key from a
 * file or from ssh-agent, for mlogin, medusa-agent and medusa-bench.
 *
 * Key files: OpenSSH's own format ("BEGIN OPENSSH PRIVATE KEY", what
 * ssh-keygen writes by default: RSA, ECDSA, Ed25519), which OpenSSL cannot
 * read, and PEM (PKCS #1, SEC 1, PKCS #8) through OpenSSL.  Only keys
 * without a passphrase: an encrypted one gets an error that points at
 * ssh-agent.
 *
 * ssh-agent: the agent protocol (draft-miller-ssh-agent) on the socket
 * SSH_AUTH_SOCK names: the identities, then a signature request (RSA with
 * the rsa-sha2-256 flag, never SHA-1), its answer turned into HTTP
 * signatures' encoding (ECDSA: DER).  Blocking, but bounded by a time-out:
 * it runs before any connection is made.
 *
 * A key is chosen by fingerprint (MD5 "aa:bb:..." or "SHA256:...", as
 * MANTA_KEY_ID may give either), or the first usable one.
 */
#ifndef MEDUSA_SIGNER_H
#define MEDUSA_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "sshkey.h"

#define	SIGNER_TIMEOUT_MS	5000	/* for ssh-agent's answers */

struct signer {
	struct sshkey	s_key;		/* public half (and private, from a file) */
	int		s_agent;	/* 1: signed by ssh-agent */
	char		s_sock[108];	/* the agent's socket */
	char		s_account[128];	/* for keyIds */
};

/*
 * A key from the file at path, or (path NULL) from ssh-agent, the one
 * named by fp (NULL: the first usable).  0, or -1 with err.
 */
int signer_open(struct signer *, const char *path, const char *fp,
    char *err, size_t errlen);
void signer_close(struct signer *);

/* The algorithm this key signs with ("rsa-sha256", ...). */
const char *signer_algorithm(const struct signer *);

/*
 * Sign data[0..n): the signature as HTTP signatures encode it (RSA and
 * Ed25519 raw, ECDSA DER), base64 into out[cap].  0, or -1 with err.
 */
int signer_sign(struct signer *, const void *data, size_t n, char *out,
    size_t cap, char *err, size_t errlen);

/* The keyId: "/<account>/keys/<md5 fingerprint>". */
void signer_keyid(const struct signer *, const char *account, char *out,
    size_t cap);

/*
 * The Date and Authorization header values for a request signed over its
 * Date (now: time(NULL)).  0, or -1 with err.
 */
int signer_authorization(struct signer *, const char *account, int64_t now,
    char *date, size_t datecap, char *authz, size_t authzcap, char *err,
    size_t errlen);

/*
 * A presigned path: path?<query>&signature=..., valid until expires, for
 * GET, to be dialed at host (host[:port], as in its Host header).  0, or
 * -1 with err.
 */
int signer_presign(struct signer *, const char *account, const char *host,
    const char *path, int64_t expires, char *out, size_t cap, char *err,
    size_t errlen);

/* IMF-fixdate of t, as JavaScript's toUTCString() writes it. */
void signer_date(int64_t t, char *out, size_t cap);

#endif

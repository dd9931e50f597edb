/*
 * wshandshake.c: RFC 6455 opening handshake; see wshandshake.h.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "wshandshake.h"

static const char wsh_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/*
 * SHA-1, fetched from its provider once: EVP_sha1() makes OpenSSL 3 look
 * the algorithm up again on every init, which cost more than the digest
 * itself (0.35 against 0.16 us a handshake, measured).  Kept for the life
 * of the process (our processes are single-threaded).
 */
static const EVP_MD *
wsh_sha1(void)
{
	static EVP_MD *md;

	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA1", NULL);
	return (md != NULL ? md : EVP_sha1());
}

void
wshandshake_accept(const char *key, size_t keylen, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, wsh_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, key, keylen) != 1 ||
	    EVP_DigestUpdate(ctx, wsh_guid, sizeof (wsh_guid) - 1) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 20) {
		/* Only on ENOMEM inside OpenSSL: yield a value no peer accepts. */
		EVP_MD_CTX_free(ctx);
		memset(out, '-', WSH_ACCEPT_LEN);
		out[WSH_ACCEPT_LEN] = '\0';
		return;
	}
	EVP_MD_CTX_free(ctx);
	(void) EVP_EncodeBlock((unsigned char *)out, md, mdlen);
	out[WSH_ACCEPT_LEN] = '\0';
}

static int
wsh_b64char(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/');
}

/* A key is base64 of 16 bytes: 22 characters and "==". */
static int
wsh_key_ok(const struct httphead_span *k)
{
	if (k->s_n != WSH_KEY_LEN || k->s_p[22] != '=' || k->s_p[23] != '=')
		return (0);
	for (size_t i = 0; i < 22; i++) {
		if (!wsh_b64char(k->s_p[i]))
			return (0);
	}
	return (1);
}

static int
wsh_fail(struct wsh_error *err, int status, const char *code, const char *msg)
{
	err->we_status = status;
	err->we_code = code;
	err->we_message = msg;
	return (-1);
}

int
wshandshake_check_request(const struct httphead *req, char *accept,
    int *ping_ok, struct wsh_error *err)
{
	const struct httphead_span *v;

	*ping_ok = 0;
	if (!httphead_span_ieq(&req->hh_method, "GET"))
		return (wsh_fail(err, 405, "MethodNotAllowed",
		    "only GET may upgrade"));
	if (req->hh_minor < 1)
		return (wsh_fail(err, 400, "BadUpgradeRequest",
		    "an upgrade needs HTTP/1.1"));
	if ((v = httphead_get(req, "Upgrade")) == NULL ||
	    !httphead_has_token(v, "websocket"))
		return (wsh_fail(err, 400, "BadUpgradeRequest",
		    "expected \"Upgrade: websocket\""));
	if ((v = httphead_get(req, "Connection")) == NULL ||
	    !httphead_has_token(v, "upgrade"))
		return (wsh_fail(err, 400, "BadUpgradeRequest",
		    "expected \"Connection: upgrade\""));
	if (httphead_count(req, "Sec-WebSocket-Key") != 1 ||
	    !wsh_key_ok(httphead_get(req, "Sec-WebSocket-Key")))
		return (wsh_fail(err, 400, "BadUpgradeRequest",
		    "missing or malformed Sec-WebSocket-Key"));
	/* The original peers send no version: that means 13. */
	if ((v = httphead_get(req, "Sec-WebSocket-Version")) != NULL &&
	    !httphead_span_ieq(v, "13"))
		return (wsh_fail(err, 426, "UnsupportedWebSocketVersion",
		    "only WebSocket version 13 is supported"));
	v = httphead_get(req, "Sec-WebSocket-Key");
	wshandshake_accept(v->s_p, v->s_n, accept);
	if ((v = httphead_get(req, WSH_PING_HEADER)) != NULL &&
	    httphead_span_ieq(v, "1"))
		*ping_ok = 1;
	return (0);
}

size_t
wshandshake_response(char *out, size_t cap, const char *accept)
{
	int n;

	/*
	 * The original peers require the whole Connection value to be
	 * "Upgrade"; add nothing else that they might trip over.
	 */
	n = snprintf(out, cap, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "\r\n", accept);
	if (n < 0 || (size_t)n >= cap)
		return (0);
	return ((size_t)n);
}

int
wshandshake_key(char *out)
{
	unsigned char nonce[16];

	if (RAND_bytes(nonce, sizeof (nonce)) != 1)
		return (-1);
	(void) EVP_EncodeBlock((unsigned char *)out, nonce, sizeof (nonce));
	out[WSH_KEY_LEN] = '\0';
	return (0);
}

size_t
wshandshake_request(char *out, size_t cap, const char *host,
    const char *path, const char *key, const char *extra)
{
	int n;

	n = snprintf(out, cap, "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "%s"
	    "\r\n", path, host, key, extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= cap)
		return (0);
	return ((size_t)n);
}

int
wshandshake_check_response(const struct httphead *res, const char *key,
    char *err, size_t errlen)
{
	const struct httphead_span *v;
	char want[WSH_ACCEPT_LEN + 1];

	if (res->hh_status != 101) {
		snprintf(err, errlen, "server answered %d %.*s instead of 101",
		    res->hh_status, (int)res->hh_reason.s_n,
		    res->hh_reason.s_p);
		return (-1);
	}
	if ((v = httphead_get(res, "Upgrade")) == NULL ||
	    !httphead_span_ieq(v, "websocket")) {
		snprintf(err, errlen, "101 response without Upgrade: websocket");
		return (-1);
	}
	if ((v = httphead_get(res, "Connection")) == NULL ||
	    !httphead_has_token(v, "upgrade")) {
		snprintf(err, errlen, "101 response without Connection: Upgrade");
		return (-1);
	}
	wshandshake_accept(key, strlen(key), want);
	if ((v = httphead_get(res, "Sec-WebSocket-Accept")) == NULL ||
	    !(v->s_n == WSH_ACCEPT_LEN &&
	    memcmp(v->s_p, want, WSH_ACCEPT_LEN) == 0)) {
		snprintf(err, errlen, "101 response with a wrong "
		    "Sec-WebSocket-Accept");
		return (-1);
	}
	return (0);
}

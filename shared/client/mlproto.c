/*
 * mlproto.c: the "mlogin:" protocol's messages; see mlproto.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mlproto.h"

enum mlproto_kind
mlproto_kind(const uint8_t *p, size_t n, const char **json, size_t *jn)
{
	static const size_t pl = sizeof (MLPROTO_PREFIX) - 1;
	enum mlproto_kind k = MLPROTO_OTHER;

	if (n >= pl && memcmp(p, MLPROTO_PREFIX, pl) == 0)
		k = MLPROTO_FROM_PEER;
	else if (n >= pl && memcmp(p, MLPROTO_REFLECTOR, pl) == 0)
		k = MLPROTO_FROM_REFLECTOR;
	*json = k == MLPROTO_OTHER ? NULL : (const char *)p + pl;
	*jn = k == MLPROTO_OTHER ? 0 : n - pl;
	return (k);
}

json_t *
mlproto_parse(const char *json, size_t n, const char **type, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *o = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je), *t;

	if (o == NULL) {
		snprintf(err, errlen, "%s", je.text);
		return (NULL);
	}
	if (!json_is_object(o) || !json_is_string(t = json_object_get(o,
	    "type"))) {
		snprintf(err, errlen, "not an object with a type");
		json_decref(o);
		return (NULL);
	}
	*type = json_string_value(t);
	return (o);
}

char *
mlproto_encode(json_t *o)
{
	char *s, *msg;

	if (o == NULL)
		return (NULL);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return (NULL);
	if (asprintf(&msg, MLPROTO_PREFIX "%s", s) < 0)
		msg = NULL;
	free(s);
	return (msg);
}

char *
mlproto_stderr(const uint8_t *p, size_t n)
{
	char *b64, *msg;
	int bl;

	if (n > (size_t)INT32_MAX / 2 || (b64 = malloc(4 * ((n + 2) / 3) +
	    1)) == NULL)
		return (NULL);
	bl = EVP_EncodeBlock((unsigned char *)b64, p, (int)n);
	if (asprintf(&msg, MLPROTO_PREFIX "{\"type\":\"stderr\",\"data\":"
	    "\"%.*s\"}", bl, b64) < 0)
		msg = NULL;
	free(b64);
	return (msg);
}

int
mlproto_stderr_data(const json_t *o, uint8_t **out, size_t *outn)
{
	const json_t *d = json_object_get(o, "data");
	const char *s;
	size_t sl, pad = 0;
	int r;

	*out = NULL;
	*outn = 0;
	if (!json_is_string(d))
		return (-1);
	s = json_string_value(d);
	sl = json_string_length(d);
	if (sl % 4 != 0 || sl > (size_t)INT32_MAX)
		return (-1);
	if (sl == 0) {
		*out = malloc(1);
		return (*out == NULL ? -1 : 0);
	}
	if (s[sl - 1] == '=')
		pad = s[sl - 2] == '=' ? 2 : 1;
	if ((*out = malloc(sl / 4 * 3 + 1)) == NULL)
		return (-1);
	r = EVP_DecodeBlock(*out, (const unsigned char *)s, (int)sl);
	if (r < 0 || (size_t)r < pad) {
		free(*out);
		*out = NULL;
		return (-1);
	}
	*outn = (size_t)r - pad;
	return (0);
}

int
mlproto_signal_status(const char *name)
{
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (int s = 1; s < NSIG; s++) {
		const char *a = sigabbrev_np(s);

		if (a != NULL && strcmp(a, name) == 0)
			return (128 + s);
	}
	return (255);
}

int
mlproto_exit_status(const json_t *o)
{
	const json_t *v;

	if (json_is_integer(v = json_object_get(o, "code")))
		return ((int)(json_integer_value(v) & 0xff));
	if (json_is_string(v = json_object_get(o, "signal")))
		return (mlproto_signal_status(json_string_value(v)));
	return (0);
}

/*
 * httpresp.h: the HTTP error responses both daemons send before an
 * upgrade: a status line, a JSON body {"code": ..., "message": ...} and
 * "Connection: close".  Pure.
 */
#ifndef MEDUSA_HTTPRESP_H
#define MEDUSA_HTTPRESP_H

#include <stddef.h>

const char *httpresp_reason(int status);
/*
 * Write the whole response into out[cap].  extra is more header lines,
 * each ending in CRLF, or NULL.  Returns its length (cut to fit if cap is
 * too small, which a few hundred bytes never is).
 */
size_t httpresp_error(char *out, size_t cap, int status, const char *code,
    const char *message, const char *extra);
/* A 200 response head for a body of len bytes of JSON. */
size_t httpresp_json_head(char *out, size_t cap, size_t len);
/* The same head for a body of another Content-Type. */
size_t httpresp_ok_head(char *out, size_t cap, const char *type, size_t len);

#endif

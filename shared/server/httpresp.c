/*
 * httpresp.c: HTTP error responses; see httpresp.h.
 */
#include <stdio.h>
#include <string.h>

#include "httpresp.h"
#include "mlog.h"

const char *
httpresp_reason(int status)
{
	switch (status) {
	case 101: return ("Switching Protocols");
	case 200: return ("OK");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 408: return ("Request Timeout");
	case 409: return ("Conflict");
	case 410: return ("Gone");
	case 426: return ("Upgrade Required");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 503: return ("Service Unavailable");
	case 505: return ("HTTP Version Not Supported");
	default: return ("Error");
	}
}

size_t
httpresp_error(char *out, size_t cap, int status, const char *code,
    const char *message, const char *extra)
{
	char body[512], c[128], m[384];
	int bl, n;

	(void) mlog_json_string(c, sizeof (c), code, strlen(code));
	(void) mlog_json_string(m, sizeof (m), message, strlen(message));
	bl = snprintf(body, sizeof (body), "{\"code\":%s,\"message\":%s}\n",
	    c, m);
	if (bl < 0 || (size_t)bl >= sizeof (body))
		bl = (int)strlen(body);
	n = snprintf(out, cap, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %d\r\n"
	    "Connection: close\r\n"
	    "%s"
	    "\r\n"
	    "%s", status, httpresp_reason(status), bl,
	    extra != NULL ? extra : "", body);
	if (n < 0)
		return (0);
	return ((size_t)n >= cap ? cap - 1 : (size_t)n);
}

size_t
httpresp_json_head(char *out, size_t cap, size_t len)
{
	return (httpresp_ok_head(out, cap, "application/json", len));
}

size_t
httpresp_ok_head(char *out, size_t cap, const char *type, size_t len)
{
	int n;

	n = snprintf(out, cap, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "\r\n", type, len);
	if (n < 0)
		return (0);
	return ((size_t)n >= cap ? cap - 1 : (size_t)n);
}

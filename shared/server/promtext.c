/*
 * promtext.c: the Prometheus text exposition format (version 0.0.4).
 *
 * A document is a series of families, each "# HELP name text" and
 * "# TYPE name type" and then its samples, one a line:
 *
 *	name{label="value",...} value
 *
 * HELP text escapes backslash and newline; label values also escape the
 * double quote.  Values are integers for counts, otherwise a double
 * printed in the fewest of 15 or 17 digits that read back the same ("+Inf" for infinity).
 * A histogram is name_bucket lines with cumulative counts for each upper
 * bound "le" and le="+Inf" last (the total), then name_sum and name_count.
 * The caller chooses bounded label sets; this module does not know names.
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

void
promtext_init(struct promtext *p)
{
	memset(p, 0, sizeof (*p));
}

void
promtext_fini(struct promtext *p)
{
	free(p->pt_buf);
	memset(p, 0, sizeof (*p));
}

static void
promtext_put(struct promtext *p, const char *s, size_t n)
{
	if (p->pt_failed)
		return;
	if (p->pt_len + n + 1 > p->pt_cap) {
		size_t cap = p->pt_cap == 0 ? 4096 : p->pt_cap;
		char *nb;

		while (cap < p->pt_len + n + 1)
			cap *= 2;
		if (cap > PROMTEXT_MAX + 1 ||
		    (nb = realloc(p->pt_buf, cap)) == NULL) {
			p->pt_failed = true;
			return;
		}
		p->pt_buf = nb;
		p->pt_cap = cap;
	}
	memcpy(p->pt_buf + p->pt_len, s, n);
	p->pt_len += n;
	p->pt_buf[p->pt_len] = '\0';
}

static void
promtext_str(struct promtext *p, const char *s)
{
	promtext_put(p, s, strlen(s));
}

/* s escaped: backslash and newline, and the double quote if quote. */
static void
promtext_esc(struct promtext *p, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			promtext_str(p, "\\\\");
		else if (*s == '\n')
			promtext_str(p, "\\n");
		else if (*s == '"' && quote)
			promtext_str(p, "\\\"");
		else
			promtext_put(p, s, 1);
	}
}

void
promtext_family(struct promtext *p, const char *name, enum promtext_type t,
    const char *help)
{
	static const char *const types[] = {
		[PROMTEXT_COUNTER] = "counter",
		[PROMTEXT_GAUGE] = "gauge",
		[PROMTEXT_HISTOGRAM] = "histogram",
	};

	promtext_str(p, "# HELP ");
	promtext_str(p, name);
	promtext_str(p, " ");
	promtext_esc(p, help, false);
	promtext_str(p, "\n# TYPE ");
	promtext_str(p, name);
	promtext_str(p, " ");
	promtext_str(p, types[t]);
	promtext_str(p, "\n");
}

/* name{labels[,le="le"]} and a space; le NULL: none. */
static void
promtext_head(struct promtext *p, const char *name, const char *suffix,
    const char *const *labels, const char *le)
{
	bool any = false;

	promtext_str(p, name);
	promtext_str(p, suffix);
	for (size_t i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		promtext_str(p, any ? "," : "{");
		promtext_str(p, labels[i]);
		promtext_str(p, "=\"");
		promtext_esc(p, labels[i + 1] != NULL ? labels[i + 1] : "",
		    true);
		promtext_str(p, "\"");
		any = true;
		if (labels[i + 1] == NULL)
			break;
	}
	if (le != NULL) {
		promtext_str(p, any ? ",le=\"" : "{le=\"");
		promtext_str(p, le);
		promtext_str(p, "\"");
		any = true;
	}
	promtext_str(p, any ? "} " : " ");
}

static void
promtext_fmt_double(double v, char *b, size_t n)
{
	if (isinf(v))
		(void) snprintf(b, n, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (isnan(v))
		(void) snprintf(b, n, "NaN");
	else if (snprintf(b, n, "%.15g", v) > 0 && strtod(b, NULL) != v)
		(void) snprintf(b, n, "%.17g", v);	/* 17 digits read back */
}

void
promtext_u64(struct promtext *p, const char *name, const char *const *labels,
    uint64_t v)
{
	char b[32];

	promtext_head(p, name, "", labels, NULL);
	(void) snprintf(b, sizeof (b), "%llu\n", (unsigned long long)v);
	promtext_str(p, b);
}

void
promtext_double(struct promtext *p, const char *name,
    const char *const *labels, double v)
{
	char b[40];

	promtext_head(p, name, "", labels, NULL);
	promtext_fmt_double(v, b, sizeof (b));
	promtext_str(p, b);
	promtext_str(p, "\n");
}

void
promtext_histogram(struct promtext *p, const char *name,
    const char *const *labels, const double *bounds, const uint64_t *counts,
    size_t nb, double sum)
{
	uint64_t cum = 0;
	char le[40], b[32];

	for (size_t i = 0; i <= nb; i++) {
		cum += counts[i];
		if (i < nb)
			promtext_fmt_double(bounds[i], le, sizeof (le));
		else
			(void) snprintf(le, sizeof (le), "+Inf");
		promtext_head(p, name, "_bucket", labels, le);
		(void) snprintf(b, sizeof (b), "%llu\n",
		    (unsigned long long)cum);
		promtext_str(p, b);
	}
	promtext_head(p, name, "_sum", labels, NULL);
	promtext_fmt_double(sum, le, sizeof (le));
	promtext_str(p, le);
	promtext_str(p, "\n");
	promtext_head(p, name, "_count", labels, NULL);
	(void) snprintf(b, sizeof (b), "%llu\n", (unsigned long long)cum);
	promtext_str(p, b);
}

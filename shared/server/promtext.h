/*
 * promtext.h: the Prometheus text exposition format (version 0.0.4), built
 * in a growing buffer.  Pure: no I/O, no logging; an allocation failure
 * sticks (pt_failed) and every later call is a no-op.
 */

#ifndef PROMTEXT_H
#define	PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define	PROMTEXT_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define	PROMTEXT_MAX		(1024 * 1024)	/* bound of one document */

struct promtext {
	char	*pt_buf;
	size_t	pt_len;
	size_t	pt_cap;
	bool	pt_failed;
};

enum promtext_type { PROMTEXT_COUNTER, PROMTEXT_GAUGE, PROMTEXT_HISTOGRAM };

void promtext_init(struct promtext *);
void promtext_fini(struct promtext *);
/* "# HELP" and "# TYPE" lines of a metric family. */
void promtext_family(struct promtext *, const char *, enum promtext_type,
    const char *);
/*
 * One sample: name, labels as NULL-terminated name, value, name, value, ...
 * pairs (NULL for none), value.
 */
void promtext_u64(struct promtext *, const char *, const char *const *,
    uint64_t);
void promtext_double(struct promtext *, const char *, const char *const *,
    double);
/*
 * A histogram's samples: nb upper bounds (ascending, finite), counts[nb+1]
 * per bucket (not cumulative; the last is above every bound), and the sum.
 * Writes name_bucket{le=...} cumulatively with le="+Inf", name_sum and
 * name_count.
 */
void promtext_histogram(struct promtext *, const char *, const char *const *,
    const double *, const uint64_t *, size_t, double);

#endif /* PROMTEXT_H */

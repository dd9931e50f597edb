/*
 * test_promtext.c: the Prometheus text exposition format.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "promtext.h"
#include "suites.h"

static const char *const l_role[] = { "role", "master", NULL };
static const char *const l_two[] = { "role", "slave", "status", "101", NULL };
static const char *const l_esc[] = { "v", "a\"b\\c\nd", NULL };

/* Samples and what each must print. */
static const struct {
	const char		*name;
	const char *const	*labels;
	uint64_t		v;
	const char		*want;
} samples[] = {
	{ "medusa_x_total", NULL, 0, "medusa_x_total 0\n" },
	{ "medusa_x_total", l_role, 7, "medusa_x_total{role=\"master\"} 7\n" },
	{ "medusa_x_total", l_two, UINT64_MAX, "medusa_x_total{role=\"slave\","
	    "status=\"101\"} 18446744073709551615\n" },
	{ "m", l_esc, 1, "m{v=\"a\\\"b\\\\c\\nd\"} 1\n" },
};

START_TEST(test_samples)
{
	for (size_t i = 0; i < NELEM(samples); i++) {
		struct promtext p;

		promtext_init(&p);
		promtext_u64(&p, samples[i].name, samples[i].labels,
		    samples[i].v);
		ck_assert(!p.pt_failed);
		ck_assert_str_eq(p.pt_buf, samples[i].want);
		promtext_fini(&p);
	}
}
END_TEST

static const struct {
	double		v;
	const char	*want;
} doubles[] = {
	{ 0.5, "g 0.5\n" },
	{ 0, "g 0\n" },
	{ -2, "g -2\n" },
	{ INFINITY, "g +Inf\n" },
	{ -INFINITY, "g -Inf\n" },
	{ NAN, "g NaN\n" },
};

START_TEST(test_doubles)
{
	for (size_t i = 0; i < NELEM(doubles); i++) {
		struct promtext p;

		promtext_init(&p);
		promtext_double(&p, "g", NULL, doubles[i].v);
		ck_assert_str_eq(p.pt_buf, doubles[i].want);
		promtext_fini(&p);
	}
}
END_TEST

START_TEST(test_family)
{
	struct promtext p;

	promtext_init(&p);
	promtext_family(&p, "medusa_a_total", PROMTEXT_COUNTER,
	    "back\\slash \"quoted\"\nnext");
	promtext_family(&p, "medusa_b", PROMTEXT_GAUGE, "b");
	promtext_family(&p, "medusa_c_seconds", PROMTEXT_HISTOGRAM, "c");
	ck_assert_str_eq(p.pt_buf,
	    "# HELP medusa_a_total back\\\\slash \"quoted\"\\nnext\n"
	    "# TYPE medusa_a_total counter\n"
	    "# HELP medusa_b b\n# TYPE medusa_b gauge\n"
	    "# HELP medusa_c_seconds c\n# TYPE medusa_c_seconds histogram\n");
	promtext_fini(&p);
}
END_TEST

START_TEST(test_histogram)
{
	static const double bounds[] = { 0.1, 1, 10 };
	static const uint64_t counts[] = { 2, 0, 3, 1 };
	static const uint64_t none[] = { 0, 0, 0, 0 };
	struct promtext p;

	promtext_init(&p);
	promtext_histogram(&p, "h_seconds", l_role, bounds, counts, 3, 42.25);
	ck_assert_str_eq(p.pt_buf,
	    "h_seconds_bucket{role=\"master\",le=\"0.1\"} 2\n"
	    "h_seconds_bucket{role=\"master\",le=\"1\"} 2\n"
	    "h_seconds_bucket{role=\"master\",le=\"10\"} 5\n"
	    "h_seconds_bucket{role=\"master\",le=\"+Inf\"} 6\n"
	    "h_seconds_sum{role=\"master\"} 42.25\n"
	    "h_seconds_count{role=\"master\"} 6\n");
	promtext_fini(&p);

	promtext_init(&p);
	promtext_histogram(&p, "h", NULL, bounds, none, 0, 0);
	ck_assert_str_eq(p.pt_buf, "h_bucket{le=\"+Inf\"} 0\nh_sum 0\n"
	    "h_count 0\n");
	promtext_fini(&p);
}
END_TEST

/* The buffer is bounded: past PROMTEXT_MAX it fails and stays failed. */
START_TEST(test_bound)
{
	struct promtext p;
	char name[1000];

	memset(name, 'a', sizeof (name) - 1);
	name[sizeof (name) - 1] = '\0';
	promtext_init(&p);
	for (size_t i = 0; i < PROMTEXT_MAX / 500 && !p.pt_failed; i++)
		promtext_u64(&p, name, NULL, i);
	ck_assert(p.pt_failed);
	ck_assert_uint_le(p.pt_len, PROMTEXT_MAX);
	promtext_u64(&p, "x", NULL, 1);
	ck_assert(p.pt_failed);
	promtext_fini(&p);
}
END_TEST

Suite *
promtext_suite(void)
{
	Suite *s = suite_create("promtext");
	TCase *tc = tcase_create("promtext");

	tcase_add_test(tc, test_samples);
	tcase_add_test(tc, test_doubles);
	tcase_add_test(tc, test_family);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_bound);
	suite_add_tcase(s, tc);
	return (s);
}

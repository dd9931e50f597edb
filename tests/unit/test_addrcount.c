/*
 * test_addrcount.c: connections per client address.
 */
#include <stdio.h>
#include <string.h>

#include "addrcount.h"
#include "suites.h"

static const struct {
	const char	*peer;
	const char	*host;
} hosts[] = {
	{ "1.2.3.4:5", "1.2.3.4" },
	{ "127.0.0.1:65535", "127.0.0.1" },
	{ "[::1]:8381", "::1" },
	{ "[fe80::1%eth0]:1", "fe80::1%eth0" },
	{ "unknown", "unknown" },
	{ "unix", "unix" },
	{ "", "" },
	{ "[unterminated", "unterminated" },
};

START_TEST(test_host)
{
	for (size_t i = 0; i < NELEM(hosts); i++) {
		char out[ADDRCOUNT_HOST_MAX];

		addrcount_host(hosts[i].peer, out, sizeof (out));
		ck_assert_str_eq(out, hosts[i].host);
	}
	{
		char tiny[4];

		addrcount_host("123456789:1", tiny, sizeof (tiny));
		ck_assert_str_eq(tiny, "123");
	}
}
END_TEST

START_TEST(test_counts)
{
	struct addrcount *a = addrcount_new();
	char host[32];

	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(addrcount_add(a, "1.1.1.1"), 1);
	ck_assert_uint_eq(addrcount_add(a, "1.1.1.1"), 2);
	ck_assert_uint_eq(addrcount_add(a, "2.2.2.2"), 1);
	ck_assert_uint_eq(addrcount_get(a, "1.1.1.1"), 2);
	ck_assert_uint_eq(addrcount_get(a, "3.3.3.3"), 0);
	ck_assert_uint_eq(addrcount_size(a), 2);
	addrcount_del(a, "1.1.1.1");
	addrcount_del(a, "1.1.1.1");
	addrcount_del(a, "1.1.1.1");		/* one too many: ignored */
	addrcount_del(a, "9.9.9.9");		/* never counted: ignored */
	ck_assert_uint_eq(addrcount_get(a, "1.1.1.1"), 0);
	ck_assert_uint_eq(addrcount_size(a), 1);
	/* Many addresses: the table grows and every count stays right. */
	for (int i = 0; i < 5000; i++) {
		snprintf(host, sizeof (host), "10.0.%d.%d", i / 256, i % 256);
		ck_assert_uint_eq(addrcount_add(a, host), 1);
		ck_assert_uint_eq(addrcount_add(a, host), 2);
	}
	ck_assert_uint_eq(addrcount_size(a), 5001);
	for (int i = 0; i < 5000; i++) {
		snprintf(host, sizeof (host), "10.0.%d.%d", i / 256, i % 256);
		ck_assert_uint_eq(addrcount_get(a, host), 2);
		addrcount_del(a, host);
		addrcount_del(a, host);
	}
	ck_assert_uint_eq(addrcount_size(a), 1);
	addrcount_free(a);
	addrcount_free(NULL);
}
END_TEST

Suite *
addrcount_suite(void)
{
	Suite *s = suite_create("addrcount");
	TCase *tc = tcase_create("addrcount");

	tcase_add_test(tc, test_host);
	tcase_add_test(tc, test_counts);
	suite_add_tcase(s, tc);
	return (s);
}

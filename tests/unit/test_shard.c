/*
 * test_shard.c: shard.h, which worker owns a session.
 */
#include <stdio.h>
#include <string.h>

#include "shard.h"
#include "suites.h"

/* FNV-1a 32-bit test vectors. */
START_TEST(test_vectors)
{
	ck_assert_uint_eq(shard_hash("", 0), 0x811c9dc5u);
	ck_assert_uint_eq(shard_hash("a", 1), 0xe40c292cu);
	ck_assert_uint_eq(shard_hash("foobar", 6), 0xbf9cf968u);
	/* Only n bytes count. */
	ck_assert_uint_eq(shard_hash("foobarbaz", 6), 0xbf9cf968u);
}
END_TEST

START_TEST(test_case)
{
	static const char *pairs[][2] = {
		{ "foobar", "FOOBAR" },
		{ "foobar", "FooBar" },
		{ "abc-xyz_09.~", "ABC-XYZ_09.~" },
		{ "az", "AZ" },
	};
	/* Only A-Z fold: these pairs differ by 0x20 but are not letters. */
	static const char *apart[][2] = {
		{ "@", "`" },
		{ "[", "{" },
		{ "^", "~" },
	};

	for (size_t i = 0; i < NELEM(pairs); i++)
		ck_assert_uint_eq(shard_hash(pairs[i][0], strlen(pairs[i][0])),
		    shard_hash(pairs[i][1], strlen(pairs[i][1])));
	for (size_t i = 0; i < NELEM(apart); i++)
		ck_assert_uint_ne(shard_hash(apart[i][0], 1),
		    shard_hash(apart[i][1], 1));
}
END_TEST

/*
 * The mapping must not change between builds: these values were computed
 * once, independently, and are pinned here.
 */
static const struct {
	const char	*id;
	uint32_t	hash;
	unsigned	shard[4];	/* nshards 1, 3, 4, 7 */
} stable[] = {
	{ "a", 0xe40c292cu, { 0, 1, 0, 5 } },
	{ "abc", 0x1a47e90bu, { 0, 2, 3, 5 } },
	{ "session-1", 0x736a51cdu, { 0, 0, 1, 2 } },
	{ "medusa", 0x7921dc3cu, { 0, 2, 0, 0 } },
	{ "0123456789abcdef", 0x87bc333du, { 0, 0, 1, 6 } },
	{ "ff2a9b1c-7c3e-4c4e-9d55-2f1f3e0a7b61", 0xb638de3eu, { 0, 0, 2, 5 } },
	{ "x.y~z_w", 0x72754ec4u, { 0, 1, 0, 2 } },
	{ "Zz", 0x5767fb75u, { 0, 0, 1, 0 } },
};

START_TEST(test_stable)
{
	static const unsigned nshards[4] = { 1, 3, 4, 7 };
	const char *id = stable[_i].id;

	ck_assert_uint_eq(shard_hash(id, strlen(id)), stable[_i].hash);
	for (size_t k = 0; k < 4; k++)
		ck_assert_msg(shard_of(id, strlen(id), nshards[k]) ==
		    stable[_i].shard[k], "%s over %u", id, nshards[k]);
}
END_TEST

START_TEST(test_zero_shards)
{
	ck_assert_uint_eq(shard_of("abc", 3, 0), 0);
	ck_assert_uint_eq(shard_of("", 0, 0), 0);
	ck_assert_uint_eq(shard_of("abc", 3, 1), 0);
}
END_TEST

/* Every shard gets some of a thousand ids. */
START_TEST(test_spread)
{
	unsigned count[7] = { 0 };
	char id[16];

	for (int i = 0; i < 1000; i++) {
		int n = snprintf(id, sizeof (id), "s%d", i);
		unsigned s = shard_of(id, (size_t)n, 7);

		ck_assert_uint_lt(s, 7);
		count[s]++;
	}
	for (int k = 0; k < 7; k++)
		ck_assert_uint_gt(count[k], 50);
}
END_TEST

Suite *
shard_suite(void)
{
	Suite *s = suite_create("shard");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_case);
	tcase_add_loop_test(tc, test_stable, 0, NELEM(stable));
	tcase_add_test(tc, test_zero_shards);
	tcase_add_test(tc, test_spread);
	suite_add_tcase(s, tc);
	return (s);
}

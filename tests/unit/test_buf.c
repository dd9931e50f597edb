/*
 * test_buf.c: buf.h, the growable byte buffer.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "suites.h"

START_TEST(test_empty)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_append(&b, "x", 0), 0);
	ck_assert_ptr_null(b.b_data);	/* nothing appended, nothing held */
	buf_consume(&b, 0);
	buf_free(&b);
	buf_free(&b);			/* twice is harmless */
	ck_assert_ptr_null(b.b_data);
	ck_assert_uint_eq(b.b_cap, 0);
}
END_TEST

START_TEST(test_append_consume)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
	ck_assert_int_eq(buf_append(&b, " world", 6), 0);
	ck_assert_uint_eq(b.b_len, 11);
	ck_assert_mem_eq(buf_head(&b), "hello world", 11);
	buf_consume(&b, 6);
	ck_assert_uint_eq(b.b_len, 5);
	ck_assert_mem_eq(buf_head(&b), "world", 5);
	ck_assert_ptr_eq(buf_tail(&b), buf_head(&b) + 5);
	/* Consuming the rest releases the memory. */
	buf_consume(&b, 5);
	ck_assert_ptr_null(b.b_data);
	ck_assert_uint_eq(b.b_off, 0);
	ck_assert_uint_eq(b.b_len, 0);
	ck_assert_uint_eq(b.b_cap, 0);
	/* And the buffer is usable again. */
	ck_assert_int_eq(buf_append(&b, "again", 5), 0);
	ck_assert_mem_eq(buf_head(&b), "again", 5);
	buf_free(&b);
}
END_TEST

START_TEST(test_reserve_commit)
{
	struct buf b = BUF_INIT;
	static const size_t sizes[] = { 1, 255, 256, 257, 4096, 100000 };

	for (size_t i = 0; i < NELEM(sizes); i++) {
		size_t before = b.b_len;

		ck_assert_int_eq(buf_reserve(&b, sizes[i]), 0);
		ck_assert_uint_ge(buf_avail(&b), sizes[i]);
		memset(buf_tail(&b), (int)('a' + i), sizes[i]);
		buf_commit(&b, sizes[i]);
		ck_assert_uint_eq(b.b_len, before + sizes[i]);
		ck_assert_uint_eq(b.b_off + b.b_len + buf_avail(&b), b.b_cap);
	}
	/* Every committed byte is where it was written. */
	for (size_t i = 0, pos = 0; i < NELEM(sizes); pos += sizes[i], i++) {
		ck_assert_uint_eq(buf_head(&b)[pos], 'a' + i);
		ck_assert_uint_eq(buf_head(&b)[pos + sizes[i] - 1], 'a' + i);
	}
	/* Reserving what is already free changes nothing. */
	{
		uint8_t *d = b.b_data;
		size_t cap = b.b_cap;

		ck_assert_int_eq(buf_reserve(&b, buf_avail(&b)), 0);
		ck_assert_ptr_eq(b.b_data, d);
		ck_assert_uint_eq(b.b_cap, cap);
	}
	buf_free(&b);
}
END_TEST

/* Consumed space at the front is reused by sliding, not by growing. */
START_TEST(test_compaction)
{
	struct buf b = BUF_INIT;
	uint8_t chunk[200];
	uint8_t *data;
	size_t cap;

	for (size_t i = 0; i < sizeof (chunk); i++)
		chunk[i] = (uint8_t)i;
	ck_assert_int_eq(buf_append(&b, chunk, 200), 0);
	data = b.b_data;
	cap = b.b_cap;
	buf_consume(&b, 150);		/* 50 live bytes at offset 150 */
	ck_assert_uint_eq(b.b_off, 150);
	ck_assert_uint_lt(buf_avail(&b), 100);
	ck_assert_int_eq(buf_append(&b, chunk, 100), 0);
	ck_assert_ptr_eq(b.b_data, data);
	ck_assert_uint_eq(b.b_cap, cap);
	ck_assert_uint_eq(b.b_off, 0);
	ck_assert_uint_eq(b.b_len, 150);
	ck_assert_mem_eq(buf_head(&b), chunk + 150, 50);
	ck_assert_mem_eq(buf_head(&b) + 50, chunk, 100);
	buf_free(&b);
}
END_TEST

/*
 * A script of appends (> 0) and consumes (< 0) run against a flat
 * reference copy: the live bytes must always match it.
 */
static const int buf_script[] = {
	10, -3, 300, -7, 1, -301, 5000, -4000, 4000, -2, 70000, -1000,
	-73998, 9, 256, -100, 100, -265, 1, 1, 1, -3
};

START_TEST(test_script)
{
	static uint8_t ref[1 << 18];
	struct buf b = BUF_INIT;
	size_t rlen = 0, roff = 0;
	uint8_t next = 0;

	for (size_t i = 0; i < NELEM(buf_script); i++) {
		int op = buf_script[i];

		if (op > 0) {
			uint8_t tmp[70000];

			for (int k = 0; k < op; k++)
				tmp[k] = next++;
			ck_assert_int_eq(buf_append(&b, tmp, (size_t)op), 0);
			memcpy(ref + roff + rlen, tmp, (size_t)op);
			rlen += (size_t)op;
		} else {
			buf_consume(&b, (size_t)-op);
			roff += (size_t)-op;
			rlen -= (size_t)-op;
		}
		ck_assert_msg(b.b_len == rlen, "step %zu: len %zu, want %zu",
		    i, b.b_len, rlen);
		if (rlen == 0)
			ck_assert_ptr_null(b.b_data);
		else
			ck_assert_msg(memcmp(buf_head(&b), ref + roff, rlen) == 0,
			    "step %zu: contents differ", i);
	}
	ck_assert_uint_eq(rlen, 0);
	ck_assert_ptr_null(b.b_data);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_append_consume);
	tcase_add_test(tc, test_reserve_commit);
	tcase_add_test(tc, test_compaction);
	tcase_add_test(tc, test_script);
	suite_add_tcase(s, tc);
	return (s);
}

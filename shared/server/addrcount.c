/*
 * addrcount.c: connections per client address; see addrcount.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrcount.h"

struct ac_entry {
	struct ac_entry	*e_next;
	unsigned	e_count;
	char		e_host[ADDRCOUNT_HOST_MAX];
};

struct addrcount {
	struct ac_entry	**a_table;
	size_t		a_size;		/* buckets, a power of two */
	size_t		a_count;	/* entries */
};

static size_t
ac_hash(const char *s, size_t size)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	h ^= h >> 16;
	return (h & (size - 1));
}

struct addrcount *
addrcount_new(void)
{
	struct addrcount *a = calloc(1, sizeof (*a));

	if (a == NULL)
		return (NULL);
	a->a_size = 256;
	if ((a->a_table = calloc(a->a_size, sizeof (*a->a_table))) == NULL) {
		free(a);
		return (NULL);
	}
	return (a);
}

void
addrcount_free(struct addrcount *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->a_size; i++) {
		struct ac_entry *e, *next;

		for (e = a->a_table[i]; e != NULL; e = next) {
			next = e->e_next;
			free(e);
		}
	}
	free(a->a_table);
	free(a);
}

void
addrcount_host(const char *peer, char *out, size_t cap)
{
	const char *end;
	size_t n;

	if (cap == 0)
		return;
	if (peer[0] == '[') {
		peer++;
		end = strchr(peer, ']');
	} else {
		end = strrchr(peer, ':');
	}
	n = end != NULL ? (size_t)(end - peer) : strlen(peer);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, peer, n);
	out[n] = '\0';
}

static struct ac_entry *
ac_find(const struct addrcount *a, const char *host, struct ac_entry ***pp)
{
	struct ac_entry **p = &a->a_table[ac_hash(host, a->a_size)];

	for (; *p != NULL; p = &(*p)->e_next) {
		if (strcmp((*p)->e_host, host) == 0)
			break;
	}
	if (pp != NULL)
		*pp = p;
	return (*p);
}

static void
ac_grow(struct addrcount *a)
{
	size_t nsize = a->a_size * 2;
	struct ac_entry **nt = calloc(nsize, sizeof (*nt));

	if (nt == NULL)
		return;		/* longer chains, still correct */
	for (size_t i = 0; i < a->a_size; i++) {
		struct ac_entry *e, *next;

		for (e = a->a_table[i]; e != NULL; e = next) {
			size_t b = ac_hash(e->e_host, nsize);

			next = e->e_next;
			e->e_next = nt[b];
			nt[b] = e;
		}
	}
	free(a->a_table);
	a->a_table = nt;
	a->a_size = nsize;
}

unsigned
addrcount_add(struct addrcount *a, const char *host)
{
	struct ac_entry **pp, *e = ac_find(a, host, &pp);

	if (e == NULL) {
		if ((e = calloc(1, sizeof (*e))) == NULL)
			return (0);
		snprintf(e->e_host, sizeof (e->e_host), "%s", host);
		*pp = e;
		if (++a->a_count > a->a_size)
			ac_grow(a);
	}
	return (++e->e_count);
}

void
addrcount_del(struct addrcount *a, const char *host)
{
	struct ac_entry **pp, *e = ac_find(a, host, &pp);

	if (e == NULL || e->e_count == 0)
		return;
	if (--e->e_count == 0) {
		*pp = e->e_next;
		free(e);
		a->a_count--;
	}
}

unsigned
addrcount_get(const struct addrcount *a, const char *host)
{
	const struct ac_entry *e = ac_find(a, host, NULL);

	return (e != NULL ? e->e_count : 0);
}

size_t
addrcount_size(const struct addrcount *a)
{
	return (a->a_count);
}

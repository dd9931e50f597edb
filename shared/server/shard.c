/*
 * shard.c: session-to-shard mapping; see shard.h.
 */
#include "shard.h"

uint32_t
shard_hash(const char *id, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h ^= c;
		h *= 16777619u;
	}
	return (h);
}

unsigned
shard_of(const char *id, size_t n, unsigned nshards)
{
	if (nshards == 0)
		return (0);
	return (shard_hash(id, n) % nshards);
}

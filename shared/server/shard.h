/*
 * shard.h: which worker owns a session.
 *
 * The shard of a session is FNV-1a (32-bit: offset basis 2166136261, prime
 * 16777619) over the bytes of the lowercased session id, modulo the number
 * of workers.  FNV-1a is simple, has no seed and is the same on every
 * platform, so the mapping is stable across restarts and builds: a session
 * id maps to the same shard for as long as the number of workers is
 * unchanged.
 */
#ifndef MEDUSA_SHARD_H
#define MEDUSA_SHARD_H

#include <stddef.h>
#include <stdint.h>

uint32_t shard_hash(const char *id, size_t n);
unsigned shard_of(const char *id, size_t n, unsigned nshards);

#endif

/*
 * A Bloom filter of caller numbers: 10 bits per member of capacity and 7 probes, which gives
 * about 1% false positives at capacity. The probes come from two 64-bit FNV-1a hashes of the
 * number (Kirsch-Mitzenmacher double hashing), so a probe costs a multiply and a shift.
 */
#include <stdint.h>
#include <stdlib.h>

#include "callerset.h"

#define CALLERSET_BITS_PER_MEMBER 10
#define CALLERSET_PROBES          7
#define CALLERSET_MIN_BITS        4096

struct callerset {
	uint64_t *words;
	uint64_t nbits;
	size_t capacity, count;
};

static void
callerset_hash(const char *s, uint64_t *h1, uint64_t *h2)
{
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;

	for (; *s != '\0'; s++) {
		a = (a ^ (unsigned char)*s) * 0x100000001b3ULL;
		b = (b ^ (unsigned char)*s) * 0x100000001b3ULL;
		b ^= b >> 29;
	}
	*h1 = a;
	*h2 = b | 1; /* odd: the probes never repeat a bit before nbits steps */
}

struct callerset *
callerset_new(size_t capacity)
{
	struct callerset *cs = calloc(1, sizeof(*cs));
	uint64_t nbits;

	if (cs == NULL)
		return NULL;
	nbits = (uint64_t)capacity * CALLERSET_BITS_PER_MEMBER;
	if (nbits < CALLERSET_MIN_BITS)
		nbits = CALLERSET_MIN_BITS;
	nbits = (nbits + 63) & ~(uint64_t)63;
	cs->words = calloc((size_t)(nbits / 64), sizeof(uint64_t));
	if (cs->words == NULL) {
		free(cs);
		return NULL;
	}
	cs->nbits = nbits;
	cs->capacity = capacity;
	return cs;
}

void
callerset_free(struct callerset *cs)
{
	if (cs == NULL)
		return;
	free(cs->words);
	free(cs);
}

void
callerset_add(struct callerset *cs, const char *caller)
{
	uint64_t h1, h2, bit;
	int i;

	callerset_hash(caller, &h1, &h2);
	for (i = 0; i < CALLERSET_PROBES; i++) {
		bit = (h1 + (uint64_t)i * h2) % cs->nbits;
		cs->words[bit / 64] |= (uint64_t)1 << (bit % 64);
	}
	cs->count++;
}

int
callerset_maybe(const struct callerset *cs, const char *caller)
{
	uint64_t h1, h2, bit;
	int i;

	callerset_hash(caller, &h1, &h2);
	for (i = 0; i < CALLERSET_PROBES; i++) {
		bit = (h1 + (uint64_t)i * h2) % cs->nbits;
		if ((cs->words[bit / 64] & ((uint64_t)1 << (bit % 64))) == 0)
			return 0;
	}
	return 1;
}

size_t
callerset_count(const struct callerset *cs)
{
	return cs->count;
}

size_t
callerset_capacity(const struct callerset *cs)
{
	return cs->capacity;
}

size_t
callerset_memory_bytes(const struct callerset *cs)
{
	return sizeof(*cs) + (size_t)(cs->nbits / 8);
}

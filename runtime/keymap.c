/*
 * keymap.c — interning entity keys into dense ids.
 *
 * The point-in-time join and materialization group rows by entity key. A
 * key is the bytes of its join-key values (mf__key_*), interned here into
 * ids 0..n-1 by an open-addressing hash table; key bytes live in one arena.
 * No allocation per key beyond amortized growth.
 */
#include <stdlib.h>
#include <string.h>

#include "mf_keymap.h"

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xC2B2AE3D27D4EB4FULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= w * 0x87C37B91114253D5ULL;
        h = (h << 31 | h >> 33) * 0x4CF5AD432745937FULL;
        p += 8, n -= 8;
    }
    uint64_t t = 0;
    memcpy(&t, p, n);
    h ^= t * 0x87C37B91114253D5ULL;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

void mf__keymap_init(mf__keymap *m) { memset(m, 0, sizeof *m); }

void mf__keymap_free(mf__keymap *m) {
    free(m->slots);
    free(m->off);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

static void grow(mf__keymap *m) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint32_t *slots = mf__xmalloc(cap * sizeof *slots);
    memset(slots, 0xff, cap * sizeof *slots);
    for (size_t id = 0; id < m->n; id++) {
        uint64_t h = hash_bytes(m->arena + m->off[id], m->off[id + 1] - m->off[id]);
        size_t i = h & (cap - 1);
        while (slots[i] != UINT32_MAX) i = (i + 1) & (cap - 1);
        slots[i] = (uint32_t)id;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

static long lookup(const mf__keymap *m, const void *key, size_t len, uint64_t h, size_t *slot) {
    if (!m->cap) return -1;
    size_t i = h & (m->cap - 1);
    for (;;) {
        uint32_t id = m->slots[i];
        if (id == UINT32_MAX) {
            if (slot) *slot = i;
            return -1;
        }
        if (m->off[id + 1] - m->off[id] == len && memcmp(m->arena + m->off[id], key, len) == 0)
            return id;
        i = (i + 1) & (m->cap - 1);
    }
}

long mf__keymap_find(const mf__keymap *m, const void *key, size_t len) {
    return lookup(m, key, len, hash_bytes(key, len), NULL);
}

uint32_t mf__keymap_intern(mf__keymap *m, const void *key, size_t len) {
    uint64_t h = hash_bytes(key, len);
    size_t slot;
    long id = lookup(m, key, len, h, &slot);
    if (id >= 0) return (uint32_t)id;
    if ((m->n + 1) * 4 >= m->cap * 3) {
        grow(m);
        lookup(m, key, len, h, &slot);
    }
    /* allocated even for a first key of length 0 (a view without entities
     * has only that key), so that arena is never NULL once a key exists */
    if (!m->arena || m->arena_len + len > m->arena_cap) {
        m->arena_cap = m->arena_cap ? m->arena_cap * 2 : 4096;
        while (m->arena_len + len > m->arena_cap) m->arena_cap *= 2;
        m->arena = mf__xrealloc(m->arena, m->arena_cap);
    }
    if (m->n + 2 > m->off_cap) {
        m->off_cap = m->off_cap ? m->off_cap * 2 : 1024;
        m->off = mf__xrealloc(m->off, m->off_cap * sizeof *m->off);
        if (m->n == 0) m->off[0] = 0;
    }
    memcpy(m->arena + m->arena_len, key, len);
    m->arena_len += len;
    m->off[m->n + 1] = m->arena_len;
    m->slots[slot] = (uint32_t)m->n;
    return (uint32_t)m->n++;
}

const unsigned char *mf__keymap_key(const mf__keymap *m, uint32_t id, size_t *len) {
    *len = m->off[id + 1] - m->off[id];
    return m->arena + m->off[id];
}

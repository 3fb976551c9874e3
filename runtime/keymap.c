/*
 * keymap.c — interning entity keys into dense ids.
 *
 * The point-in-time join and materialization group rows by entity key. A
 * key is the bytes of its join-key values (mf__key_*), interned here into
 * ids 0..n-1 by an open-addressing hash table; key bytes live in one arena.
 * No allocation per key beyond amortized growth. A view without entities has
 * one key, of length 0 (its bytes may be a NULL pointer).
 */
#include <stdlib.h>
#include <string.h>

#include "mf_keymap.h"

/* A key may be empty (a view without entities) and then p may be NULL:
 * memcpy and memcmp are never called with it. */
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
    if (n) memcpy(&t, p, n);
    h ^= t * 0x87C37B91114253D5ULL;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

void mf__keymap_init(mf__keymap *m) { memset(m, 0, sizeof *m); }

void mf__keymap_init_fixed8(mf__keymap *m) {
    memset(m, 0, sizeof *m);
    m->fixed8 = true;
}

void mf__keymap_init_for(mf__keymap *m, const Mf__FeatureViewSpec *v) {
    mf__keymap_init(m);
    if (v->n_entity_columns != 1) return;
    switch (v->entity_columns[0]->dtype) {
    case MF__VALUE_TYPE__VT_INT32:
    case MF__VALUE_TYPE__VT_INT64:
    case MF__VALUE_TYPE__VT_UNIX_TIMESTAMP:
    case MF__VALUE_TYPE__VT_DOUBLE:
    case MF__VALUE_TYPE__VT_FLOAT: m->fixed8 = true; break;
    default: break;
    }
}

static inline uint64_t hash8(uint64_t k) {
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDULL;
    k ^= k >> 33;
    return k;
}

void mf__keymap_free(mf__keymap *m) {
    free(m->ents);
    free(m->slots);
    free(m->off);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

static void grow(mf__keymap *m) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    if (m->fixed8) {
        struct mf__keymap_e8 *e = mf__xmalloc(cap * sizeof *e);
        for (size_t i = 0; i < cap; i++) e[i].id = UINT32_MAX;
        for (size_t id = 0; id < m->n; id++) {
            uint64_t k;
            memcpy(&k, m->arena + 8 * id, 8);
            size_t i = hash8(k) & (cap - 1);
            while (e[i].id != UINT32_MAX) i = (i + 1) & (cap - 1);
            e[i].k = k;
            e[i].id = (uint32_t)id;
        }
        free(m->ents);
        m->ents = e;
        m->cap = cap;
        return;
    }
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
        if (m->off[id + 1] - m->off[id] == len &&
            (len == 0 || memcmp(m->arena + m->off[id], key, len) == 0))
            return id;
        i = (i + 1) & (m->cap - 1);
    }
}

/* fixed8: index of key's slot, or of the empty slot where it would go. */
static inline size_t probe8(const mf__keymap *m, uint64_t k) {
    size_t i = hash8(k) & (m->cap - 1);
    while (m->ents[i].id != UINT32_MAX && m->ents[i].k != k) i = (i + 1) & (m->cap - 1);
    return i;
}

void mf__keymap_prefetch8(const mf__keymap *m, uint64_t k) {
    if (!m->cap) return;
    size_t i = hash8(k) & (m->cap - 1);
    __builtin_prefetch(&m->ents[i]);
}

long mf__keymap_find(const mf__keymap *m, const void *key, size_t len) {
    if (m->fixed8) {
        if (len != 8 || !m->cap) return -1;
        uint64_t k;
        memcpy(&k, key, 8);
        uint32_t id = m->ents[probe8(m, k)].id;
        return id == UINT32_MAX ? -1 : (long)id;
    }
    return lookup(m, key, len, hash_bytes(key, len), NULL);
}

/* Append key bytes to the arena and the offsets (both modes). */
static void store_key(mf__keymap *m, const void *key, size_t len) {
    if (m->arena_len + len > m->arena_cap || !m->arena) {
        m->arena_cap = m->arena_cap ? m->arena_cap * 2 : 4096;
        while (m->arena_len + len > m->arena_cap) m->arena_cap *= 2;
        m->arena = mf__xrealloc(m->arena, m->arena_cap);
    }
    if (m->n + 2 > m->off_cap) {
        m->off_cap = m->off_cap ? m->off_cap * 2 : 1024;
        m->off = mf__xrealloc(m->off, m->off_cap * sizeof *m->off);
        if (m->n == 0) m->off[0] = 0;
    }
    if (len) memcpy(m->arena + m->arena_len, key, len);
    m->arena_len += len;
    m->off[m->n + 1] = m->arena_len;
}

uint32_t mf__keymap_intern(mf__keymap *m, const void *key, size_t len) {
    if (m->fixed8) {
        uint64_t k;
        memcpy(&k, key, 8); /* callers of a fixed8 map pass 8 bytes */
        if (!m->cap) grow(m);
        size_t i = probe8(m, k);
        if (m->ents[i].id != UINT32_MAX) return m->ents[i].id;
        if ((m->n + 1) * 4 >= m->cap * 3) {
            grow(m);
            i = probe8(m, k);
        }
        store_key(m, key, 8);
        m->ents[i].k = k;
        m->ents[i].id = (uint32_t)m->n;
        return (uint32_t)m->n++;
    }
    uint64_t h = hash_bytes(key, len);
    size_t slot;
    long id = lookup(m, key, len, h, &slot);
    if (id >= 0) return (uint32_t)id;
    if ((m->n + 1) * 4 >= m->cap * 3) {
        grow(m);
        lookup(m, key, len, h, &slot);
    }
    /* store_key allocates the arena even for a first key of length 0 (a
     * view without entities has only that key): never NULL once a key
     * exists */
    store_key(m, key, len);
    m->slots[slot] = (uint32_t)m->n;
    return (uint32_t)m->n++;
}

const unsigned char *mf__keymap_key(const mf__keymap *m, uint32_t id, size_t *len) {
    *len = m->off[id + 1] - m->off[id];
    return m->arena + m->off[id];
}

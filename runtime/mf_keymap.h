/*
 * mf_keymap.h — interning entity keys (byte strings) into dense ids
 * (keymap.c).
 */
#ifndef MF_KEYMAP_H
#define MF_KEYMAP_H

#include "mf_internal.h"

typedef struct mf__keymap {
    /* fixed-width mode (every key exactly 8 bytes, e.g. one Int64 join
     * key): the key is kept beside its id in one entry, so a lookup is one
     * probe of one cache line in the usual case */
    bool fixed8;
    struct mf__keymap_e8 { uint64_t k; uint32_t id; } *ents; /* fixed8: cap entries */
    uint32_t *slots;       /* other keys: cap ids; UINT32_MAX = empty (ents' too) */
    size_t cap;
    size_t n;              /* keys interned */
    size_t *off;           /* n + 1 offsets into arena */
    size_t off_cap;
    unsigned char *arena;  /* key bytes */
    size_t arena_len, arena_cap;
} mf__keymap;

void mf__keymap_init(mf__keymap *m);
/* Same, for a map whose keys are all exactly 8 bytes long (faster). */
void mf__keymap_init_fixed8(mf__keymap *m);
void mf__keymap_free(mf__keymap *m);
/* Initialize for the keys of a view's join keys: fixed8 when they encode
 * to exactly 8 bytes (one integer, timestamp or float key). */
void mf__keymap_init_for(mf__keymap *m, const Mf__FeatureViewSpec *v);
/* Hint that key k (fixed8 maps) is about to be looked up. */
void mf__keymap_prefetch8(const mf__keymap *m, uint64_t k);
/* Id of key, adding it when new. */
uint32_t mf__keymap_intern(mf__keymap *m, const void *key, size_t len);
/* Id of key, or -1. */
long mf__keymap_find(const mf__keymap *m, const void *key, size_t len);
/* Bytes of key `id`, borrowed. */
const unsigned char *mf__keymap_key(const mf__keymap *m, uint32_t id, size_t *len);

#endif

/*
 * mf_keymap.h — interning entity keys (byte strings) into dense ids
 * (keymap.c).
 */
#ifndef MF_KEYMAP_H
#define MF_KEYMAP_H

#include "mf_internal.h"

typedef struct mf__keymap {
    uint32_t *slots;       /* cap entries; UINT32_MAX = empty */
    size_t cap;
    size_t n;              /* keys interned */
    size_t *off;           /* n + 1 offsets into arena */
    size_t off_cap;
    unsigned char *arena;  /* key bytes */
    size_t arena_len, arena_cap;
} mf__keymap;

void mf__keymap_init(mf__keymap *m);
void mf__keymap_free(mf__keymap *m);
/* Id of key, adding it when new. */
uint32_t mf__keymap_intern(mf__keymap *m, const void *key, size_t len);
/* Id of key, or -1. */
long mf__keymap_find(const mf__keymap *m, const void *key, size_t len);
/* Bytes of key `id`, borrowed. */
const unsigned char *mf__keymap_key(const mf__keymap *m, uint32_t id, size_t *len);

#endif

/*
 * mfb_open.h — opening the store a benchmark program is given: a repo
 * folder, or a configuration file ending in .yaml (that file's repo with
 * that configuration: the bench keeps variants of one repo's settings
 * beside its feature_store.yaml).
 */
#ifndef MFB_OPEN_H
#define MFB_OPEN_H

#include <string.h>

#include <moonfeast.h>

static inline int mfb_store_open(const char *where, mf_store **out, mf_error *err) {
    size_t n = strlen(where);
    if (n > 5 && strcmp(where + n - 5, ".yaml") == 0) {
        mf_open_options o = {where, MF_LOG_WARNING};
        return mf_store_open(NULL, &o, out, err);
    }
    return mf_store_open(where, NULL, out, err);
}

#endif

/*
 * mft_repo.h — files for unit tests that need a feature repo on disk: a
 * temporary folder removed at the end, whole files written, and API_OK for
 * calls of the public API that must succeed.
 *
 * Include after mft.h (and with _GNU_SOURCE defined, for nftw).
 */
#ifndef MFT_REPO_H
#define MFT_REPO_H

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_internal.h"

static int mft_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* A new folder $TMPDIR/mft_<name>_XXXXXX; caller frees (and removes it with
 * mft_rmtree). NULL, with a "not ok" line printed, when it cannot be made. */
static char *mft_tmpdir(const char *name) {
    const char *base = getenv("TMPDIR");
    char *dir = mf__xasprintf("%s/mft_%s_XXXXXX", base && *base ? base : "/tmp", name);
    if (!mkdtemp(dir)) {
        printf("not ok - mkdtemp %s: %s\n", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

static void mft_rmtree(const char *dir) {
    if (dir) nftw(dir, mft_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text as the whole file at path (replaced atomically through
 * "<path>.tmp", so a concurrent reader sees the old or the new file).
 * Returns 0, or -1 with a message printed. */
static int mft_write(const char *path, const char *text) {
    char *tmp = mf__xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    size_t n = strlen(text);
    bool ok = f && fwrite(text, 1, n, f) == n;
    ok = f && fclose(f) == 0 && ok && rename(tmp, path) == 0;
    if (!ok) printf("#   cannot write %s: %s\n", path, strerror(errno));
    free(tmp);
    return ok ? 0 : -1;
}

/* CHECK that a call of the API returns MF_OK; needs an mf_error `err`. */
#define API_OK(call)                                                          \
    do {                                                                      \
        int api_rc = (call);                                                  \
        if (api_rc != MF_OK) {                                                \
            printf("#   %s:%d: %s failed (%d): %s\n", __FILE__, __LINE__,    \
                   #call, api_rc, err.message);                               \
            mft_failed_now = 1;                                               \
            return;                                                           \
        }                                                                     \
    } while (0)

#endif

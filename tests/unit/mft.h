/*
 * mft.h — the tiny unit-test harness of moonfeast.
 *
 * A test is a void function; CHECK failures print the file, line and
 * expression and end the test. Each test prints "ok - name" or
 * "not ok - name"; tests/run.sh counts those lines. MFT_MAIN() ends with
 * "# N passed, N failed" and exits 1 when any failed.
 */
#ifndef MFT_H
#define MFT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mft_failed_now, mft_passed, mft_failed;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stdout, "#   %s:%d: check failed: %s\n", __FILE__,       \
                    __LINE__, #cond);                                        \
            mft_failed_now = 1;                                              \
            return;                                                          \
        }                                                                    \
    } while (0)

#define CHECK_STR(a, b)                                                      \
    do {                                                                     \
        const char *mft_a = (a), *mft_b = (b);                               \
        if (!mft_a || !mft_b || strcmp(mft_a, mft_b) != 0) {                 \
            fprintf(stdout, "#   %s:%d: %s == %s\n#     got:  %s\n#     want: %s\n", \
                    __FILE__, __LINE__, #a, #b, mft_a ? mft_a : "(null)",    \
                    mft_b ? mft_b : "(null)");                               \
            mft_failed_now = 1;                                              \
            return;                                                          \
        }                                                                    \
    } while (0)

/* CHECK that a string contains a substring. */
#define CHECK_HAS(hay, needle)                                               \
    do {                                                                     \
        const char *mft_h = (hay), *mft_n = (needle);                        \
        if (!mft_h || !strstr(mft_h, mft_n)) {                               \
            fprintf(stdout, "#   %s:%d: \"%s\" not in: %s\n", __FILE__,      \
                    __LINE__, mft_n, mft_h ? mft_h : "(null)");              \
            mft_failed_now = 1;                                              \
            return;                                                          \
        }                                                                    \
    } while (0)

static void mft_run(const char *name, void (*fn)(void)) {
    mft_failed_now = 0;
    fn();
    if (mft_failed_now) {
        mft_failed++;
        printf("not ok - %s\n", name);
    } else {
        mft_passed++;
        printf("ok - %s\n", name);
    }
    fflush(stdout);
}

#define RUN(fn) mft_run(#fn, fn)
#define MFT_END()                                                            \
    do {                                                                     \
        printf("# %d passed, %d failed\n", mft_passed, mft_failed);          \
        return mft_failed ? 1 : 0;                                           \
    } while (0)

#endif

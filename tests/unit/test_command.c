/*
 * test_command.c — mf__command_run (command.c), which host.run of a Lua
 * batch engine uses: the exit code and standard output of a program, and
 * in a process that ignores SIGCHLD (a C host may; the CLI resets it), an
 * error saying the exit status is unknown, at once, never a timeout for a
 * program that has ended.
 */
#define _GNU_SOURCE
#include <signal.h>

#include "mft.h"
#include "mf_internal.h"

static int run_sh(const char *script, int64_t timeout_s, mf__command_result *res, mf__buf *out,
                  mf_error *err) {
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    res->out = out;
    res->code = -1;
    res->outcome = MF__CMD_EXITED;
    return mf__command_run(argv[0], argv, ".", timeout_s, 1 << 20, res, err);
}

static void test_exit_code_and_output(void) {
    mf__buf out;
    mf__buf_init(&out);
    mf__command_result res;
    mf_error err;
    CHECK(run_sh("echo hi; exit 3", 30, &res, &out, &err) == MF_OK);
    CHECK(res.outcome == MF__CMD_EXITED && res.code == 3);
    CHECK(out.len == 3 && memcmp(out.data, "hi\n", 3) == 0);
    mf__buf_free(&out);
}

/* The status was "timed out" after the whole timeout (here it would be
 * 30 s) for a program that ended at once. */
static void test_sigchld_ignored(void) {
    struct sigaction old, ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGCHLD, &ign, &old);
    mf__buf out;
    mf__buf_init(&out);
    mf__command_result res;
    mf_error err;
    int64_t t0 = mf__mono_us();
    int rc = run_sh("echo hi; exit 0", 30, &res, &out, &err);
    int64_t took = mf__mono_us() - t0;
    sigaction(SIGCHLD, &old, NULL);
    CHECK(rc == MF_EIO);
    if (rc) CHECK_HAS(err.message, "it ended, but how is unknown");
    CHECK(res.outcome != MF__CMD_TIMEOUT);
    CHECK(took < 10 * 1000000);
    mf__buf_free(&out);
    /* and with SIGCHLD back, as before */
    mf__buf_init(&out);
    CHECK(run_sh("exit 5", 30, &res, &out, &err) == MF_OK);
    CHECK(res.outcome == MF__CMD_EXITED && res.code == 5);
    mf__buf_free(&out);
}

int main(void) {
    RUN(test_exit_code_and_output);
    RUN(test_sigchld_ignored);
    MFT_END();
}

/*
 * command.c — running one of the operator's programs (batch_engine.commands)
 * for a Lua batch engine's host.run, and waiting for it.
 *
 * The program is started directly (posix_spawn, no shell), with:
 *   - argv as given (argv[0] the program's path), the environment inherited;
 *   - stdin from /dev/null, stdout a pipe read here while the child runs
 *     (at most max_out bytes kept: more kills it), stderr moonfeast's own;
 *   - no other descriptor: the pipe is close-on-exec and the child closes
 *     every descriptor from 3 up before exec (closefrom), so nothing the
 *     process holds (online store, registry lock, sockets, descriptors it
 *     inherited itself) leaks into it;
 *   - every signal at its default action and none blocked (the process may
 *     ignore SIGPIPE or block signals in some threads; the child starts
 *     clean), in a process group of its own, so that a timeout kills the
 *     program and whatever it started (SIGKILL to the group);
 *   - the working directory `cwd` (the repo folder).
 *
 * The parent never writes to the child, so it cannot get SIGPIPE from it.
 * Every wait (poll, read, waitpid) retries on EINTR, and the child is
 * reaped on every path. A child that closed its stdout (or left it to a
 * process in the background) is waited for by polling waitpid, up to the
 * same deadline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mf_internal.h"

extern char **environ;

/* fd moved to 3 or above (close-on-exec), so that the child's dup2 onto
 * 0..2 never meets it when the process runs with a standard descriptor
 * closed. Returns the descriptor, or -1 (fd closed either way on error). */
static int above_std(int fd) {
    if (fd > 2) return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return n;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static pid_t wait_child(pid_t pid, int *status, int flags) {
    pid_t r;
    do r = waitpid(pid, status, flags);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Kill the child's process group and the child, and reap it. A child
 * already reaped (exited) is not signalled again (its pid may be another
 * process's by now): only what it left in its group is. */
static void kill_reap(pid_t pid, bool exited, int *status) {
    kill(-pid, SIGKILL);
    if (exited) return;
    kill(pid, SIGKILL);
    wait_child(pid, status, 0);
}

int mf__command_run(const char *path, char *const argv[], const char *cwd,
                    int64_t timeout_s, size_t max_out, mf__command_result *res,
                    mf_error *err) {
    res->outcome = MF__CMD_EXITED;
    res->code = 0;
    res->out->len = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return mf__err(err, MF_EIO, "cannot run %s: pipe: %s", path, strerror(errno));
    fds[0] = above_std(fds[0]);
    fds[1] = above_std(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        int e = errno;
        if (fds[0] >= 0) close(fds[0]);
        if (fds[1] >= 0) close(fds[1]);
        return mf__err(err, MF_EIO, "cannot run %s: %s", path, strerror(e));
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addchdir_np(&fa, cwd);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    pid_t pid;
    int src = posix_spawn(&pid, path, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(fds[1]);
    if (src != 0) {
        close(fds[0]);
        return mf__err(err, MF_EIO, "cannot run %s: %s", path, strerror(src));
    }
    int fd = fds[0];
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int64_t deadline = mf__mono_us() + timeout_s * 1000000;
    bool eof = false, exited = false, drained = false;
    int status = 0;
    long nap = 1; /* ms between waitpid polls once stdout is closed */
    char chunk[65536];
    bool lost = false; /* the child was reaped by someone else: no status */
    for (;;) {
        if (!exited) {
            pid_t w = wait_child(pid, &status, WNOHANG);
            /* ECHILD: the process ignores SIGCHLD (inherited: some
             * supervisors and hosts set it), so the kernel reaped the
             * child at its exit and its status is gone */
            if (w == pid) exited = true;
            else if (w < 0 && errno == ECHILD) exited = lost = true;
        }
        if (exited && (eof || drained)) break;
        int64_t left = deadline - mf__mono_us();
        if (left <= 0) {
            kill_reap(pid, exited, &status);
            res->outcome = MF__CMD_TIMEOUT;
            break;
        }
        if (!eof) {
            /* exited: read what is there now, without waiting (a process
             * the program left in the background may hold the pipe) */
            int wait_ms = exited ? 0 : left / 1000 < 50 ? (int)(left / 1000) + 1 : 50;
            struct pollfd p = {fd, POLLIN, 0};
            int pr = poll(&p, 1, wait_ms);
            if (pr < 0 && errno != EINTR) {
                int e = errno;
                kill_reap(pid, exited, &status);
                close(fd);
                return mf__err(err, MF_EIO, "running %s: poll: %s", path, strerror(e));
            }
            if (pr <= 0) {
                if (exited) drained = true;
                continue;
            }
            for (;;) {
                ssize_t n = read(fd, chunk, sizeof chunk);
                if (n > 0) {
                    if (res->out->len + (size_t)n > max_out) {
                        kill_reap(pid, exited, &status);
                        res->outcome = MF__CMD_TOO_LONG;
                        close(fd);
                        return MF_OK;
                    }
                    mf__buf_put(res->out, chunk, (size_t)n);
                    continue;
                }
                if (n == 0) eof = true;
                else if (errno == EINTR) continue;
                else if (errno != EAGAIN && errno != EWOULDBLOCK) eof = true;
                else if (exited) drained = true;
                break;
            }
        } else {
            sleep_ms(nap);
            if (nap < 50) nap *= 2;
        }
    }
    close(fd);
    if (res->outcome == MF__CMD_TIMEOUT) return MF_OK;
    if (lost)
        return mf__err(err, MF_EIO, "running %s: it ended, but how is unknown: its exit "
                       "status was taken before moonfeast could read it (this process ignores "
                       "SIGCHLD, or something in it reaps every child)", path);
    if (WIFSIGNALED(status)) {
        res->outcome = MF__CMD_SIGNALED;
        res->code = WTERMSIG(status);
    } else {
        res->code = WEXITSTATUS(status);
    }
    return MF_OK;
}

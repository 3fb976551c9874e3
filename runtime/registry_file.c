/*
 * registry_file.c — the file registry: one protobuf file, replaced atomically.
 *
 * Layout on disk: the 8 bytes "MFREG\x01\r\n", a little-endian u64 payload
 * length, then a packed mf.Registry message. The header lets a reader tell
 * a moonfeast registry from any other file and refuse a short one.
 *
 * Readers take no lock: a commit never changes the file in place, it writes
 * "<path>.tmp", fsyncs it, renames it over <path> and fsyncs the folder, so
 * a reader sees the old or the new registry, never a mix, and a writer killed
 * at any point leaves the old one. Writers serialize on an exclusive flock of
 * "<path>.lock" held across read-modify-write, so concurrent writers (threads
 * or processes) never lose each other's updates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mf_internal.h"

static const unsigned char MAGIC[8] = {'M', 'F', 'R', 'E', 'G', 1, '\r', '\n'};

typedef struct file_registry {
    mf__registry base;
    char *path;
    char *tmp_path;
    char *lock_path;
} file_registry;

/* The largest registry file read or written: 1 GiB. */
#define MAX_FILE ((size_t)1 << 30)

/*---- Reading ---------------------------------------------------------------*/

/* Decode a registry file's bytes; *out owned by the caller. */
static int decode(const char *path, const unsigned char *data, size_t len,
                  Mf__Registry **out, mf_error *err) {
    if (len == 0)
        return mf__err(err, MF_EREGISTRY, "registry file %s is empty (0 bytes)", path);
    if (memcmp(data, MAGIC, len < 8 ? len : 8) != 0)
        return mf__err(err, MF_EREGISTRY,
                       "%s is not a moonfeast registry file (bad header)", path);
    if (len < 16) /* the magic number, cut short */
        return mf__err(err, MF_EREGISTRY, "registry file %s is truncated (%zu bytes: shorter "
                       "than its 16-byte header)", path, len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | data[8 + i];
    if (n > len - 16)
        return mf__err(err, MF_EREGISTRY,
                       "registry file %s is truncated (%zu of %llu bytes)", path,
                       len - 16, (unsigned long long)n);
    if (n < len - 16)
        return mf__err(err, MF_EREGISTRY,
                       "registry file %s is damaged: it has %llu bytes after its end (%llu "
                       "bytes, as its header says)", path,
                       (unsigned long long)(len - 16 - n), (unsigned long long)n);
    Mf__Registry *r = mf__registry__unpack(NULL, len - 16, data + 16);
    if (!r)
        return mf__err(err, MF_EREGISTRY, "registry file %s is corrupt", path);
    if (r->schema_version > 1 || r->schema_version < 0) {
        int v = r->schema_version;
        mf__reg_free(r);
        if (v < 0) /* no moonfeast writes that */
            return mf__err(err, MF_EREGISTRY, "registry file %s is corrupt (schema version %d)",
                           path, v);
        return mf__err(err, MF_EREGISTRY, "registry file %s has schema version %d, which this "
                       "moonfeast does not read (it reads 1): a newer moonfeast wrote it", path, v);
    }
    /* Well-formed protobuf can still lack what every reader dereferences:
     * each object's spec (field 1 of every object message). */
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        size_t count = mf__reg_count(r, k);
        for (size_t i = 0; i < count; i++) {
            const ProtobufCMessage *obj;
            switch (k) {
            case MF_KIND_ENTITY: obj = &r->entities[i]->base; break;
            case MF_KIND_DATA_SOURCE: obj = &r->data_sources[i]->base; break;
            case MF_KIND_FEATURE_VIEW: obj = &r->feature_views[i]->base; break;
            case MF_KIND_ON_DEMAND_FEATURE_VIEW: obj = &r->on_demand_feature_views[i]->base; break;
            default: obj = &r->feature_services[i]->base; break;
            }
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field(obj->descriptor, 1);
            if (*(ProtobufCMessage *const *)((const char *)obj + f->offset) == NULL) {
                mf__reg_free(r);
                return mf__err(err, MF_EREGISTRY,
                               "registry file %s is corrupt (%s %zu has no spec)", path,
                               mf_kind_name(k), i + 1);
            }
        }
    }
    *out = r;
    return MF_OK;
}

static int file_load(mf__registry *base, Mf__Registry **out, mf_error *err) {
    file_registry *r = (file_registry *)base;
    char *data;
    size_t len;
    struct stat st;
    if (stat(r->path, &st) != 0 && errno == ENOENT) {
        *out = mf__reg_new();
        return MF_OK;
    }
    /* a device or a huge stray file is an error, never read whole */
    int rc = mf__read_input(r->path, MAX_FILE, &data, &len, err);
    if (rc) return rc;
    rc = decode(r->path, (unsigned char *)data, len, out, err);
    free(data);
    return rc;
}

/*---- Writing ---------------------------------------------------------------*/

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* Write reg to path atomically: tmp file, fsync, rename, fsync of the folder. */
static int write_atomic(file_registry *r, const Mf__Registry *reg, mf_error *err) {
    size_t n = mf__registry__get_packed_size(reg);
    if (n > MAX_FILE - 16) /* it could never be read again, nor committed to */
        return mf__err(err, MF_EREGISTRY, "the registry would be %zu bytes, more than the "
                       "%zu a registry file may hold: not written", n + 16, MAX_FILE);
    unsigned char *buf = mf__xmalloc(n + 16);
    memcpy(buf, MAGIC, 8);
    for (int i = 0; i < 8; i++) buf[8 + i] = (unsigned char)((uint64_t)n >> (8 * i));
    mf__registry__pack(reg, buf + 16);

    /* 0666 less the umask: a group that shares the repo shares its registry */
    int fd = open(r->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        free(buf);
        return mf__err(err, MF_EIO, "cannot write %s: %s", r->tmp_path, strerror(errno));
    }
    if (write_all(fd, buf, n + 16) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        free(buf);
        unlink(r->tmp_path);
        return mf__err(err, MF_EIO, "cannot write %s: %s", r->tmp_path, strerror(e));
    }
    close(fd);
    free(buf);
    mf__test_pause("registry");
    if (rename(r->tmp_path, r->path) != 0) {
        int e = errno;
        unlink(r->tmp_path);
        return mf__err(err, MF_EIO, "cannot replace %s: %s", r->path, strerror(e));
    }
    char *dir = mf__xstrdup(r->path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    int dfd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return MF_OK;
}

static int file_commit(mf__registry *base, mf__registry_mutator fn, void *ud,
                       mf_error *err) {
    file_registry *r = (file_registry *)base;
    int rc = mf__mkdirs(r->path, true, err);
    if (rc) return rc;
    /* the lock file too (0666 less the umask); another user's lock file
     * that this one may only read is locked read-only (flock needs no
     * write access; on NFS, where it does, the owner's mode decides) */
    int lfd = open(r->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666), e = errno;
    if (lfd < 0 && e == EACCES) lfd = open(r->lock_path, O_RDONLY | O_CLOEXEC);
    if (lfd < 0) /* the first cause (permission), not the retry's */
        return mf__err(err, MF_EIO, "cannot open registry lock %s: %s", r->lock_path,
                       strerror(e));
    while (flock(lfd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        close(lfd);
        return mf__err(err, MF_EIO, "cannot lock %s: %s", r->lock_path, strerror(e));
    }
    Mf__Registry *reg = NULL;
    rc = file_load(base, &reg, err);
    if (rc == MF_OK) rc = fn(reg, ud, err);
    if (rc == MF_OK) {
        reg->version++;
        reg->last_updated_us = mf__now_us();
        reg->schema_version = 1;
        rc = write_atomic(r, reg, err);
    }
    mf__reg_free(reg);
    flock(lfd, LOCK_UN);
    close(lfd);
    return rc;
}

static void file_close(mf__registry *base) {
    file_registry *r = (file_registry *)base;
    free(r->path);
    free(r->tmp_path);
    free(r->lock_path);
    free(r);
}

/* The file's identity, size and time: every commit renames a new file
 * into place, so the token changes with each one. 0 when there is none. */
static int file_version(mf__registry *base, uint64_t *token, mf_error *err) {
    file_registry *r = (file_registry *)base;
    struct stat st;
    *token = 0;
    if (stat(r->path, &st) != 0) {
        if (errno == ENOENT) return MF_OK;
        return mf__err(err, MF_EIO, "cannot read %s: %s", r->path, strerror(errno));
    }
    uint64_t h = 1469598103934665603ull;
    uint64_t parts[] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
                        (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec,
                        (uint64_t)st.st_ctim.tv_sec, (uint64_t)st.st_ctim.tv_nsec};
    for (size_t i = 0; i < MF__ARRAY_LEN(parts); i++) h = (h ^ parts[i]) * 1099511628211ull;
    *token = h ? h : 1;
    return MF_OK;
}

static const mf__registry_vt file_vt = {"file", file_load, file_commit, file_close,
                                        file_version};

int mf__registry_file_open(const char *path, mf__registry **out, mf_error *err) {
    MF__UNUSED(err);
    file_registry *r = mf__xcalloc(1, sizeof *r);
    r->base.vt = &file_vt;
    r->path = mf__xstrdup(path);
    r->tmp_path = mf__xasprintf("%s.tmp", path);
    r->lock_path = mf__xasprintf("%s.lock", path);
    *out = &r->base;
    return MF_OK;
}

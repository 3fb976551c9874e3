/*
 * repo.c — the store handle, shared by threads: its registry snapshots and
 * per-thread workers; and the definition lifecycle: plan, apply, delete,
 * teardown, list, describe, dump.
 *
 * Data flows one way: Lua definitions (lua_host.c) -> a Registry-shaped set
 * of objects -> compared with the registry (plan) -> committed under the
 * registry's lock (apply) -> the online store is told which views exist.
 * Every operation is written once for the five kinds through the mf__obj
 * accessors of registry.c.
 *
 * Threads. An mf_store holds what every thread shares: the configuration
 * and the registry backend (both immutable after open), and the current
 * registry snapshot. Everything else a thread needs lives in its worker.
 *
 * - Snapshots (mf__snapshot) are immutable and reference-counted: the store
 *   holds one pin on its current snapshot, each worker one on the snapshot
 *   it last used, each call one on the snapshot it started with, each
 *   resolved online request one on the snapshot it resolved against. A
 *   refresh installs a new snapshot under snap_mu and publishes its
 *   generation (snap_gen); the old one goes when its last pin does. Loads
 *   run one at a time under load_mu, in order, so an older registry is
 *   never installed over a newer one: after registry_cache_ttl_seconds the
 *   first call to notice does the reload while the others go on with the
 *   current snapshot (trylock), and a commit through the store reloads
 *   before it returns. A failed reload keeps the current snapshot, logs
 *   once, and schedules the next attempt a ttl later (1 s when the ttl is
 *   0). Only a store that never loaded returns the load's error, and tries
 *   again on the next call.
 * - Pinning (mf__store_pin) is, on the fast path, a compare of the worker's
 *   snapshot with snap_gen, a ttl check on a coarse clock, and one atomic
 *   increment: no lock. An online read whose request already pins the
 *   current snapshot takes no pin of its own (mf__store_current), so that
 *   threads reading at once write no shared memory.
 * - Workers (mf__worker) are found through a thread-local cache keyed by
 *   the store's address and its unique id (one compare), else through the
 *   thread's list of workers. Every worker is on two lists: its store's and
 *   its thread's. Both are changed only under one process-wide mutex
 *   (workers_mu): creating a worker, a thread's exit (the destructor of a
 *   pthread key, whose value points to the thread's list) and a store's
 *   close each take their workers off both lists under it, then release
 *   them outside it, so a worker is released exactly once, by whoever took
 *   it first. A store being closed waits (workers_cv) for the workers that
 *   exiting threads took before it and are still releasing, since their
 *   release may use the store. A thread that keeps using a store after (or
 *   while) another thread closes it is the caller's bug, as for any handle.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mf_online.h"
#include "mf_transform.h"

/*---- Snapshots ---------------------------------------------------------------*/

typedef struct snap_slot {
    uint64_t hash; /* 0: empty */
    mf__obj obj;
    uint32_t vfirst, vcount; /* data sources: views fed, in snapshot->views */
} snap_slot;

struct mf__snapshot {
    uint64_t refs; /* atomic; alone in its cache line: pins of some threads
                      must not slow the reads of gen by others */
    char pad_[64 - sizeof(uint64_t)];
    uint64_t gen;
    int64_t loaded_us; /* atomic: wall clock of the load, or of the last check
                          that found the registry unchanged */
    uint64_t token;    /* the registry's version token before the load */
    Mf__Registry *reg;
    char *project;
    struct {
        snap_slot *slots;
        size_t mask;
    } idx[MF_KIND_COUNT];
    const Mf__FeatureView **views; /* by source: see snap_slot */
};

/* FNV-1a, never 0 (0 marks an empty slot). */
static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ? h : 1;
}

static snap_slot *slot_find(const mf__snapshot *sn, mf_object_kind kind, const char *name) {
    if ((unsigned)kind >= MF_KIND_COUNT || !sn->idx[kind].slots) return NULL;
    uint64_t h = name_hash(name);
    size_t mask = sn->idx[kind].mask;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        snap_slot *sl = &sn->idx[kind].slots[i];
        if (!sl->hash) return NULL;
        if (sl->hash == h && strcmp(sl->obj.name, name) == 0) return sl;
    }
}

/* Snapshot generations are unique across all the stores of the process:
 * a request resolved on a store that was closed must not take a new store
 * (perhaps at the same address, at the same count of snapshots) for the
 * one it resolved on. 0 means none. */
static uint64_t next_gen(void) {
    static uint64_t gen;
    return __atomic_add_fetch(&gen, 1, __ATOMIC_RELAXED);
}

/* A snapshot of reg (taken over) indexed for project, with one pin. */
static mf__snapshot *snapshot_new(Mf__Registry *reg, const char *project) {
    mf__snapshot *sn = mf__xcalloc(1, sizeof *sn);
    sn->refs = 1;
    sn->gen = next_gen();
    sn->loaded_us = mf__now_us();
    sn->reg = reg;
    sn->project = mf__xstrdup(project);
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        size_t n = mf__reg_count(reg, k), cap = 8;
        while (cap < 2 * n) cap *= 2;
        sn->idx[k].slots = mf__xcalloc(cap, sizeof *sn->idx[k].slots);
        sn->idx[k].mask = cap - 1;
        for (size_t i = 0; i < n; i++) {
            mf__obj o;
            mf__reg_get(reg, k, i, &o);
            if (strcmp(o.project, project) != 0) continue;
            uint64_t h = name_hash(o.name);
            size_t j = (size_t)h & sn->idx[k].mask;
            while (sn->idx[k].slots[j].hash &&
                   !(sn->idx[k].slots[j].hash == h && strcmp(sn->idx[k].slots[j].obj.name, o.name) == 0))
                j = (j + 1) & sn->idx[k].mask;
            /* a registry holds a name once per kind; should it hold it
             * twice, the first stays (as mf__reg_find would find it) */
            if (sn->idx[k].slots[j].hash) continue;
            sn->idx[k].slots[j].hash = h;
            sn->idx[k].slots[j].obj = o;
        }
    }
    /* the views each data source feeds, in registry order */
    size_t nv = reg->n_feature_views;
    sn->views = mf__xcalloc(nv + 1, sizeof *sn->views);
    snap_slot **src = mf__xcalloc(nv + 1, sizeof *src);
    for (size_t i = 0; i < nv; i++) {
        const Mf__FeatureViewSpec *v = reg->feature_views[i]->spec;
        if (strcmp(v->project, project) == 0 &&
            (src[i] = slot_find(sn, MF_KIND_DATA_SOURCE, v->source)) != NULL)
            src[i]->vcount++;
    }
    uint32_t at = 0;
    snap_slot *ds = sn->idx[MF_KIND_DATA_SOURCE].slots;
    for (size_t j = 0; j <= sn->idx[MF_KIND_DATA_SOURCE].mask; j++) {
        ds[j].vfirst = at;
        at += ds[j].vcount;
        ds[j].vcount = 0;
    }
    for (size_t i = 0; i < nv; i++)
        if (src[i]) sn->views[src[i]->vfirst + src[i]->vcount++] = reg->feature_views[i];
    free(src);
    return sn;
}

mf__snapshot *mf__snapshot_ref(mf__snapshot *sn) {
    __atomic_add_fetch(&sn->refs, 1, __ATOMIC_RELAXED);
    return sn;
}

void mf__snapshot_unpin(mf__snapshot *sn) {
    if (!sn || __atomic_sub_fetch(&sn->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    for (int k = 0; k < MF_KIND_COUNT; k++) free(sn->idx[k].slots);
    free(sn->views);
    free(sn->project);
    mf__reg_free(sn->reg);
    free(sn);
}

const Mf__Registry *mf__snapshot_registry(const mf__snapshot *sn) { return sn->reg; }
const char *mf__snapshot_project(const mf__snapshot *sn) { return sn->project; }
uint64_t mf__snapshot_gen(const mf__snapshot *sn) { return sn->gen; }

const mf__obj *mf__snapshot_find(const mf__snapshot *sn, mf_object_kind kind, const char *name) {
    snap_slot *sl = slot_find(sn, kind, name);
    return sl ? &sl->obj : NULL;
}

const Mf__FeatureView *const *mf__snapshot_views_of(const mf__snapshot *sn, const char *source,
                                                    size_t *n) {
    snap_slot *sl = slot_find(sn, MF_KIND_DATA_SOURCE, source);
    *n = sl ? sl->vcount : 0;
    return sl ? sn->views + sl->vfirst : sn->views;
}

/*---- The store -----------------------------------------------------------------*/

struct mf__worker {
    mf_store *store;
    uint64_t store_id;
    mf__worker *snext;          /* the store's list (workers_mu) */
    mf__worker *tnext;          /* the thread's list (workers_mu) */
    struct thread_workers *owner;
    mf__snapshot *snap;         /* the snapshot this thread last pinned (one pin) */
    mf__online *online;         /* opened on first use */
    void *slot[MF__SLOT_COUNT];
    void (*slot_free[MF__SLOT_COUNT])(void *p);
};

struct mf_store {
    mf__config cfg;
    mf__registry *registry;
    uint64_t id; /* unique in the process */
    /* snapshots (see the top of the file) */
    pthread_mutex_t snap_mu;  /* guards snap */
    pthread_mutex_t load_mu;  /* one load at a time */
    mf__snapshot *snap;       /* current, one pin; NULL before the first load */
    uint64_t snap_gen;        /* atomic: snap's generation, 0 = none */
    int64_t refresh_at;       /* atomic: coarse monotonic µs of the next reload; INT64_MAX never */
    bool manual_refresh;      /* atomic: no reload on ttl; mf__store_refresh only */
    mf__provider *provider;   /* provider: {type: lua}; NULL for local */
    bool skip_source_validation; /* mf_open_options: apply/plan do not open sources */
    /* workers (workers_mu) */
    mf__worker *workers;
    int releasing; /* workers exiting threads took and still release */
};

/*---- Workers -------------------------------------------------------------------*/

/* A thread's workers (one per store it used). The pthread key's value
 * points here, so that the key's destructor runs at the thread's exit. */
typedef struct thread_workers {
    mf__worker *head;
    bool keyed; /* the key's value is set */
} thread_workers;

static pthread_mutex_t workers_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t workers_cv = PTHREAD_COND_INITIALIZER;
static pthread_key_t workers_key;
static pthread_once_t workers_once = PTHREAD_ONCE_INIT;
static int workers_key_rc;

static __thread thread_workers tl_workers;
/* the last worker this thread used: one compare on the fast path */
static __thread mf_store *tl_store;
static __thread uint64_t tl_store_id;
static __thread mf__worker *tl_worker;

static void thread_exit(void *p);

static bool workers_key_made; /* atomic */

static void make_key(void) {
    workers_key_rc = pthread_key_create(&workers_key, thread_exit);
    __atomic_store_n(&workers_key_made, workers_key_rc == 0, __ATOMIC_RELEASE);
}

/* When the library is unloaded (dlclose, or the end of the process), the
 * key goes too: a thread exiting later must not call thread_exit's code
 * where it no longer is. Its workers are then left to the process's end. */
__attribute__((destructor)) static void drop_key(void) {
    if (__atomic_load_n(&workers_key_made, __ATOMIC_ACQUIRE)) pthread_key_delete(workers_key);
}

/* Release a worker taken off both lists: its slots, its connection, its
 * snapshot. Runs without workers_mu, on any thread. */
static void worker_release(mf__worker *w) {
    for (int i = MF__SLOT_COUNT; i-- > 0;)
        if (w->slot[i] && w->slot_free[i]) w->slot_free[i](w->slot[i]);
    if (w->online) w->online->vt->close(w->online);
    mf__snapshot_unpin(w->snap);
    free(w);
}

static void unlink_store(mf__worker *w) {
    for (mf__worker **pp = &w->store->workers; *pp; pp = &(*pp)->snext)
        if (*pp == w) {
            *pp = w->snext;
            return;
        }
}

static void unlink_thread(mf__worker *w) {
    for (mf__worker **pp = &w->owner->head; *pp; pp = &(*pp)->tnext)
        if (*pp == w) {
            *pp = w->tnext;
            return;
        }
}

/* The key's destructor, at the thread's exit: take the thread's workers
 * off their stores' lists, then release them (their stores wait). */
static void thread_exit(void *p) {
    thread_workers *t = p;
    pthread_mutex_lock(&workers_mu);
    mf__worker *list = t->head;
    t->head = NULL;
    t->keyed = false;
    for (mf__worker *w = list; w; w = w->tnext) {
        unlink_store(w);
        w->store->releasing++;
    }
    pthread_mutex_unlock(&workers_mu);
    while (list) {
        mf__worker *w = list;
        list = w->tnext;
        mf_store *s = w->store;
        worker_release(w);
        pthread_mutex_lock(&workers_mu);
        if (--s->releasing == 0) pthread_cond_broadcast(&workers_cv);
        pthread_mutex_unlock(&workers_mu);
    }
    tl_store = NULL;
    tl_worker = NULL;
}

static int worker_slow(mf_store *s, mf__worker **out, mf_error *err) {
    pthread_once(&workers_once, make_key);
    if (workers_key_rc != 0)
        return mf__err(err, MF_EINTERNAL, "cannot create the thread key of store workers: %s",
                       strerror(workers_key_rc));
    pthread_mutex_lock(&workers_mu);
    mf__worker *w = tl_workers.head;
    while (w && !(w->store == s && w->store_id == s->id)) w = w->tnext;
    int rc = MF_OK;
    if (!w) {
        if (!tl_workers.keyed) {
            rc = pthread_setspecific(workers_key, &tl_workers);
            tl_workers.keyed = rc == 0;
        }
        if (rc == 0) {
            w = mf__xcalloc(1, sizeof *w);
            w->store = s;
            w->store_id = s->id;
            w->owner = &tl_workers;
            w->snext = s->workers;
            s->workers = w;
            w->tnext = tl_workers.head;
            tl_workers.head = w;
        }
    }
    pthread_mutex_unlock(&workers_mu);
    if (rc) return mf__err(err, MF_ENOMEM, "cannot register the thread's worker: %s", strerror(rc));
    tl_store = s;
    tl_store_id = s->id;
    tl_worker = w;
    *out = w;
    return MF_OK;
}

int mf__store_worker(mf_store *s, mf__worker **out, mf_error *err) {
    if (tl_store == s && tl_store_id == s->id) {
        *out = tl_worker;
        return MF_OK;
    }
    return worker_slow(s, out, err);
}

void *mf__worker_slot(mf__worker *w, int slot) {
    return (unsigned)slot < MF__SLOT_COUNT ? w->slot[slot] : NULL;
}

void mf__worker_set_slot(mf__worker *w, int slot, void *p, void (*destroy)(void *p)) {
    if ((unsigned)slot >= MF__SLOT_COUNT) return;
    if (w->slot[slot] && w->slot[slot] != p && w->slot_free[slot]) w->slot_free[slot](w->slot[slot]);
    w->slot[slot] = p;
    w->slot_free[slot] = destroy;
}

int mf__worker_online(mf__worker *w, mf__online **out, mf_error *err) {
    if (!w->online) {
        int rc = mf__online_open(&w->store->cfg, &w->online, err);
        if (rc) return rc;
    }
    *out = w->online;
    return MF_OK;
}

mf_store *mf__worker_store(const mf__worker *w) { return w->store; }

/*---- Reloading the snapshot ------------------------------------------------------*/

static bool refresh_due(mf_store *s) {
    int64_t at = __atomic_load_n(&s->refresh_at, __ATOMIC_RELAXED);
    return at != INT64_MAX && mf__mono_coarse_us() >= at;
}

/* Load the registry and install it as the current snapshot; load_mu held.
 * A failure with a snapshot to keep serving is logged and returns MF_OK;
 * with none it is the caller's error. */
static int reload_ex(mf_store *s, mf_error *err, mf_error *failed);

static int reload(mf_store *s, mf_error *err) { return reload_ex(s, err, NULL); }

/* reload, also giving a failure that keeps the current snapshot serving
 * in *failed (when not NULL): its rc, else MF_OK. */
static int reload_ex(mf_store *s, mf_error *err, mf_error *failed) {
    int64_t ttl = __atomic_load_n(&s->manual_refresh, __ATOMIC_RELAXED)
                      ? 0
                      : mf__secs_to_us_sat(s->cfg.registry_cache_ttl_seconds);
    Mf__Registry *reg;
    mf_error e;
    if (failed) failed->code = MF_OK;
    /* the cheap check first: an unchanged registry is not read again */
    uint64_t token = 0;
    int rc = s->registry->vt->version ? s->registry->vt->version(s->registry, &token, &e) : MF_OK;
    if (rc == MF_OK && token && s->snap && s->snap->token == token) {
        __atomic_store_n(&s->snap->loaded_us, mf__now_us(), __ATOMIC_RELAXED);
        int64_t now = mf__mono_coarse_us();
        __atomic_store_n(&s->refresh_at, ttl > 0 ? mf__sub_sat(now, -ttl) : INT64_MAX,
                         __ATOMIC_RELAXED);
        return MF_OK;
    }
    /* A registry file that was there at the last load and is gone now
     * (deleted, moved away) reads as empty; serving that would answer every
     * request "unknown feature view" while all looks well: it is a failed
     * reload, and the snapshot keeps serving. (Nothing of moonfeast's
     * removes the file: teardown empties it.) */
    if (rc == MF_OK && !token && s->snap && s->snap->token &&
        strcmp(s->registry->vt->name, "file") == 0)
        rc = mf__err(&e, MF_EREGISTRY, "the registry file %s is gone (it held version %llu "
                     "when last read)", s->cfg.registry_path,
                     (unsigned long long)s->snap->reg->version);
    if (rc == MF_OK) rc = s->registry->vt->load(s->registry, &reg, &e);
    int64_t now = mf__mono_coarse_us();
    if (rc == MF_OK) {
        mf__snapshot *sn = snapshot_new(reg, s->cfg.project);
        sn->token = token;
        pthread_mutex_lock(&s->snap_mu);
        mf__snapshot *old = s->snap;
        s->snap = sn;
        __atomic_store_n(&s->snap_gen, sn->gen, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&s->snap_mu);
        mf__snapshot_unpin(old);
        __atomic_store_n(&s->refresh_at, ttl > 0 ? mf__sub_sat(now, -ttl) : INT64_MAX,
                         __ATOMIC_RELAXED);
        return MF_OK;
    }
    if (!s->snap) {
        if (err) *err = e;
        return rc;
    }
    if (failed) *failed = e;
    int64_t retry = ttl > 0 ? ttl : 1000000;
    if (__atomic_load_n(&s->manual_refresh, __ATOMIC_RELAXED)) {
        mf__log(MF_LOG_WARNING, "the registry could not be reloaded (%s); the store keeps "
                "serving registry version %llu", e.message,
                (unsigned long long)s->snap->reg->version);
        return MF_OK;
    }
    __atomic_store_n(&s->refresh_at, mf__sub_sat(now, -retry), __ATOMIC_RELAXED);
    mf__log(MF_LOG_WARNING, "the registry could not be reloaded (%s); the store keeps serving "
            "registry version %llu, and tries again in %lld s", e.message,
            (unsigned long long)s->snap->reg->version, (long long)(retry / 1000000));
    return MF_OK;
}

/* The store's current snapshot, as the calling thread's worker holds it
 * (reloading it first when due): borrowed, no pin of the caller's. */
static int current(mf_store *s, mf__worker *w, mf__snapshot **out, mf_error *err) {
    mf__snapshot *c = w->snap;
    if (c && c->gen == __atomic_load_n(&s->snap_gen, __ATOMIC_ACQUIRE) && !refresh_due(s)) {
        *out = c;
        return MF_OK;
    }
    /* a reload is due (one thread does it; the others go on with the
     * current snapshot), or this is the store's first, or the worker's
     * snapshot is not the current one */
    if (!__atomic_load_n(&s->snap_gen, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&s->load_mu);
        int rc = s->snap ? MF_OK : reload(s, err);
        pthread_mutex_unlock(&s->load_mu);
        if (rc) return rc;
    } else if (refresh_due(s) && pthread_mutex_trylock(&s->load_mu) == 0) {
        if (refresh_due(s)) reload(s, NULL);
        pthread_mutex_unlock(&s->load_mu);
    }
    pthread_mutex_lock(&s->snap_mu);
    c = s->snap;
    if (w->snap != c) mf__snapshot_ref(c);
    pthread_mutex_unlock(&s->snap_mu);
    if (w->snap != c) {
        mf__snapshot_unpin(w->snap);
        w->snap = c;
    }
    *out = c;
    return MF_OK;
}

void mf__store_manual_refresh(mf_store *s) {
    __atomic_store_n(&s->manual_refresh, true, __ATOMIC_RELAXED);
    __atomic_store_n(&s->refresh_at, INT64_MAX, __ATOMIC_RELAXED);
}

void mf__store_set_read_reuse(mf_store *s, int64_t us) { s->cfg.online_read_reuse_us = us; }

int mf__store_refresh(mf_store *s, mf_error *err) {
    mf_error failed;
    pthread_mutex_lock(&s->load_mu);
    int rc = reload_ex(s, err, &failed);
    pthread_mutex_unlock(&s->load_mu);
    if (rc == MF_OK && failed.code != MF_OK) {
        if (err) *err = failed;
        rc = failed.code;
    }
    return rc;
}

int mf__store_snapshot_info(mf_store *s, uint64_t *version, int64_t *loaded_us, mf_error *err) {
    mf__snapshot *sn;
    int rc = mf__store_pin(s, &sn, err);
    if (rc) return rc;
    *version = sn->reg->version;
    *loaded_us = __atomic_load_n(&sn->loaded_us, __ATOMIC_RELAXED);
    mf__snapshot_unpin(sn);
    return MF_OK;
}

int mf__store_health(mf_store *s, mf_error *err) {
    mf__snapshot *sn;
    int rc = mf__store_pin(s, &sn, err);
    if (rc) return rc;
    mf__snapshot_unpin(sn);
    mf__worker *w;
    struct mf__online *on;
    if ((rc = mf__store_worker(s, &w, err)) || (rc = mf__worker_online(w, &on, err))) return rc;
    return on->vt->ping(on, err);
}

int mf__store_pin(mf_store *s, mf__snapshot **out, mf_error *err) {
    mf__worker *w;
    mf__snapshot *c;
    int rc = mf__store_worker(s, &w, err);
    if (rc == MF_OK) rc = current(s, w, &c, err);
    if (rc) return rc;
    *out = mf__snapshot_ref(c);
    return MF_OK;
}

int mf__store_current(mf_store *s, mf__snapshot **out, mf_error *err) {
    mf__worker *w;
    int rc = mf__store_worker(s, &w, err);
    return rc ? rc : current(s, w, out, err);
}

/*---- Opening and closing ----------------------------------------------------------*/

int mf_store_open(const char *repo_path, const mf_open_options *opts, mf_store **out,
                  mf_error *err) {
    static uint64_t ids;
    mf__err_clear(err);
    if (opts) mf_set_log_level(opts->log_level);
    mf__sqlite_setup();
    char *cfg_path = opts && opts->config_file
                         ? mf__xstrdup(opts->config_file)
                         : mf__path_join(repo_path ? repo_path : ".", "feature_store.yaml");
    mf_store *s = mf__xcalloc(1, sizeof *s);
    s->id = __atomic_add_fetch(&ids, 1, __ATOMIC_RELAXED);
    s->refresh_at = INT64_MAX;
    pthread_mutex_init(&s->snap_mu, NULL);
    pthread_mutex_init(&s->load_mu, NULL);
    int rc = mf__config_load(cfg_path, &s->cfg, err);
    free(cfg_path);
    if (rc == MF_OK) rc = mf__provider_open(&s->cfg, &s->provider, err);
    if (rc == MF_OK) rc = mf__registry_open(&s->cfg, &s->registry, err);
    if (rc) {
        mf_store_close(s);
        return rc;
    }
    *out = s;
    return MF_OK;
}

void mf_store_skip_source_validation(mf_store *s, int skip) {
    if (s) s->skip_source_validation = skip != 0;
}

void mf_store_close(mf_store *s) {
    if (!s) return;
    /* take every worker off both lists; wait for those exiting threads
     * took first */
    pthread_mutex_lock(&workers_mu);
    mf__worker *list = s->workers;
    s->workers = NULL;
    for (mf__worker *w = list; w; w = w->snext) unlink_thread(w);
    while (s->releasing > 0) pthread_cond_wait(&workers_cv, &workers_mu);
    pthread_mutex_unlock(&workers_mu);
    while (list) {
        mf__worker *w = list;
        list = w->snext;
        worker_release(w);
    }
    if (tl_store == s) tl_store = NULL, tl_worker = NULL;
    mf__snapshot_unpin(s->snap);
    if (s->registry) s->registry->vt->close(s->registry);
    mf__provider_free(s->provider);
    pthread_mutex_destroy(&s->snap_mu);
    pthread_mutex_destroy(&s->load_mu);
    mf__config_free(&s->cfg);
    free(s);
}

const char *mf_store_project(const mf_store *s) { return s->cfg.project; }

mf__provider *mf__store_provider(const mf_store *s) { return s->provider; }

const mf__config *mf__store_config(const mf_store *s) { return &s->cfg; }

int mf__store_registry_snapshot(mf_store *s, Mf__Registry **out, mf_error *err) {
    return s->registry->vt->load(s->registry, out, err);
}

int mf__store_commit(mf_store *s, mf__registry_mutator fn, void *ud, mf_error *err) {
    int rc = s->registry->vt->commit(s->registry, fn, ud, err);
    if (rc) return rc;
    pthread_mutex_lock(&s->load_mu);
    if (s->snap) {
        reload(s, NULL);
    } else {
        /* nothing loaded yet: the first call loads, and sees the commit */
    }
    pthread_mutex_unlock(&s->load_mu);
    return MF_OK;
}

/*---- Plans -----------------------------------------------------------------*/

typedef struct plan_item {
    mf_object_kind kind;
    char *name;
    mf_plan_action action;
    char *changed;
} plan_item;

struct mf_plan {
    plan_item *items;
    size_t n, cap;
    Mf__Registry *defs; /* the loaded definitions the plan was made from */
};

static void plan_add(mf_plan *p, mf_object_kind kind, const char *name,
                     mf_plan_action action, const char *changed) {
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->items = mf__xrealloc(p->items, p->cap * sizeof *p->items);
    }
    p->items[p->n++] = (plan_item){kind, mf__xstrdup(name), action,
                                   mf__xstrdup(changed ? changed : "")};
}

size_t mf_plan_count(const mf_plan *p) { return p ? p->n : 0; }

int mf_plan_item(const mf_plan *p, size_t i, mf_object_kind *kind, const char **name,
                 mf_plan_action *action, const char **changed) {
    if (!p || i >= p->n) return MF_EUSAGE;
    if (kind) *kind = p->items[i].kind;
    if (name) *name = p->items[i].name;
    if (action) *action = p->items[i].action;
    if (changed) *changed = p->items[i].changed;
    return MF_OK;
}

void mf_plan_free(mf_plan *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) free(p->items[i].name), free(p->items[i].changed);
    free(p->items);
    mf__reg_free(p->defs);
    free(p);
}

/* Compare definitions with the registry, for the store's project. */
static void diff_into(const mf_store *s, const Mf__Registry *defs,
                      const Mf__Registry *reg, mf_plan *p) {
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        size_t n = mf__reg_count(defs, k);
        for (size_t i = 0; i < n; i++) {
            mf__obj d, r;
            mf__reg_get(defs, k, i, &d);
            long j = mf__reg_find(reg, k, s->cfg.project, d.name);
            if (j < 0) {
                plan_add(p, k, d.name, MF_PLAN_ADD, NULL);
                continue;
            }
            mf__reg_get(reg, k, (size_t)j, &r);
            if (mf__pb_equal(d.spec, r.spec)) {
                plan_add(p, k, d.name, MF_PLAN_UNCHANGED, NULL);
            } else {
                mf__buf b;
                mf__buf_init(&b);
                mf__pb_diff_fields(r.spec, d.spec, &b);
                plan_add(p, k, d.name, MF_PLAN_CHANGE, b.data ? b.data : "");
                mf__buf_free(&b);
            }
        }
        n = mf__reg_count(reg, k);
        for (size_t i = 0; i < n; i++) {
            mf__obj r;
            mf__reg_get(reg, k, i, &r);
            if (strcmp(r.project, s->cfg.project) != 0) continue;
            if (mf__reg_find(defs, k, s->cfg.project, r.name) < 0)
                plan_add(p, k, r.name, MF_PLAN_DELETE, NULL);
        }
    }
}

/* Load and check the definitions: apply-time validation needing the data
 * (schema inference) happens in mf__defs_resolve. */
static int load_defs(mf_store *s, Mf__Registry **defs, mf_error *err) {
    int rc = mf__defs_load(&s->cfg, defs, err);
    if (rc) return rc;
    rc = mf__defs_resolve(&s->cfg, *defs, !s->skip_source_validation, err);
    if (rc) {
        mf__reg_free(*defs);
        *defs = NULL;
    }
    return rc;
}

int mf_plan_compute(mf_store *s, mf_plan **out, mf_error *err) {
    mf__err_clear(err);
    Mf__Registry *defs = NULL, *reg = NULL;
    int rc = load_defs(s, &defs, err);
    if (rc == MF_OK) rc = s->registry->vt->load(s->registry, &reg, err);
    if (rc) {
        mf__reg_free(defs);
        return rc;
    }
    mf_plan *p = mf__xcalloc(1, sizeof *p);
    diff_into(s, defs, reg, p);
    p->defs = defs;
    mf__reg_free(reg);
    *out = p;
    return MF_OK;
}

/*---- Apply -----------------------------------------------------------------*/

typedef struct apply_ctx {
    mf_store *store;
    const Mf__Registry *defs;
} apply_ctx;

static void ensure_project(Mf__Registry *reg, const char *project, int64_t now) {
    for (size_t i = 0; i < reg->n_projects; i++)
        if (strcmp(reg->projects[i]->name, project) == 0) return;
    Mf__Project *p = (Mf__Project *)mf__pb_new(&mf__project__descriptor);
    mf__pb_set_string(&p->name, project);
    p->created_us = now;
    mf__pb_append(&reg->base, "projects", &p->base);
}

static int drop_online(mf_store *s, Mf__FeatureView *const *views, size_t n, const char *what,
                       mf_error *err);

/* Delete the project's objects that defs no longer defines, as delete
 * does: the online data of deleted views (and of on-demand views written
 * to the online store) is dropped first, and when that fails nothing is
 * deleted. */
static int delete_undefined(mf_store *s, Mf__Registry *reg, const Mf__Registry *defs,
                            mf_error *err) {
    const char *project = s->cfg.project;
    size_t cap = reg->n_feature_views + reg->n_on_demand_feature_views, nv = 0, ns = 0;
    Mf__FeatureView **views = mf__xcalloc(cap + 1, sizeof *views);
    Mf__FeatureView **made = mf__xcalloc(cap + 1, sizeof *made);
    for (size_t i = 0; i < reg->n_feature_views; i++) {
        Mf__FeatureView *fv = reg->feature_views[i];
        if (!strcmp(fv->spec->project, project) &&
            mf__reg_find(defs, MF_KIND_FEATURE_VIEW, project, fv->spec->name) < 0)
            views[nv++] = fv;
    }
    for (size_t i = 0; i < reg->n_on_demand_feature_views; i++) {
        const Mf__OnDemandFeatureViewSpec *od = reg->on_demand_feature_views[i]->spec;
        if (strcmp(od->project, project) != 0 ||
            mf__reg_find(defs, MF_KIND_ON_DEMAND_FEATURE_VIEW, project, od->name) >= 0)
            continue;
        Mf__FeatureView *sv = mf__odfv_store_view(reg, project, od);
        if (sv) views[nv++] = made[ns++] = sv;
    }
    int rc = drop_online(s, views, nv, "apply the deletion of views no longer defined", err);
    for (size_t i = 0; i < ns; i++) mf__odfv_store_view_free(made[i]);
    free(views);
    free(made);
    if (rc) return rc;
    for (int k = 0; k < MF_KIND_COUNT; k++)
        for (size_t i = mf__reg_count(reg, k); i-- > 0;) {
            mf__obj o;
            mf__reg_get(reg, k, i, &o);
            if (!strcmp(o.project, project) && mf__reg_find(defs, k, project, o.name) < 0)
                mf__reg_remove(reg, k, i);
        }
    return MF_OK;
}

/* Mutator: add or replace every defined object, delete the project's
 * objects no longer defined. Runs under the registry lock, against the
 * registry as it is now. */
/* A view that is not online has no online data (apply drops it), so no
 * materialization history either: a later materialize-incremental, once
 * it is online again, starts as for a new view. */
static void forget_offline(ProtobufCMessage *msg) {
    Mf__FeatureView *v = (Mf__FeatureView *)msg;
    if (!v->spec || v->spec->online) return;
    for (size_t x = 0; x < v->n_intervals; x++)
        protobuf_c_message_free_unpacked(&v->intervals[x]->base, NULL);
    free(v->intervals);
    v->intervals = NULL;
    v->n_intervals = 0;
}

static int apply_mutator(Mf__Registry *reg, void *ud, mf_error *err) {
    apply_ctx *c = ud;
    const char *project = c->store->cfg.project;
    int64_t now = mf__now_us();
    ensure_project(reg, project, now);
    int rc = delete_undefined(c->store, reg, c->defs, err);
    if (rc) return rc;
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        size_t n = mf__reg_count(c->defs, k);
        for (size_t i = 0; i < n; i++) {
            mf__obj d;
            mf__reg_get(c->defs, k, i, &d);
            long j = mf__reg_find(reg, k, project, d.name);
            ProtobufCMessage *copy = mf__pb_clone(d.msg);
            mf__obj nc;
            /* view the copy through a one-object registry-free accessor */
            Mf__Meta *meta = NULL;
            const ProtobufCFieldDescriptor *mfd =
                protobuf_c_message_descriptor_get_field_by_name(copy->descriptor, "meta");
            meta = *(Mf__Meta **)((char *)copy + mfd->offset);
            if (j < 0) {
                if (meta) meta->created_us = meta->updated_us = now;
                mf__reg_add(reg, k, copy);
                continue;
            }
            mf__reg_get(reg, k, (size_t)j, &nc);
            if (mf__pb_equal(d.spec, nc.spec)) {
                /* unchanged: keep the stored object (and its created time)
                 * but refresh where it is defined */
                if (nc.meta && meta) {
                    mf__pb_set_string(&nc.meta->file, meta->file);
                    nc.meta->line = meta->line;
                }
                protobuf_c_message_free_unpacked(copy, NULL);
                if (k == MF_KIND_FEATURE_VIEW) forget_offline(nc.msg);
                continue;
            }
            if (meta) {
                meta->created_us = nc.meta ? nc.meta->created_us : now;
                meta->updated_us = now;
            }
            if (k == MF_KIND_FEATURE_VIEW) {
                /* keep materialization history across definition changes,
                 * as long as the view's online data stays (apply drops it
                 * when the view is not online) */
                Mf__FeatureView *old = (Mf__FeatureView *)nc.msg;
                Mf__FeatureView *nv = (Mf__FeatureView *)copy;
                bool kept = old->spec && old->spec->online && nv->spec && nv->spec->online;
                for (size_t x = 0; kept && x < old->n_intervals; x++)
                    mf__pb_append(&nv->base, "intervals", mf__pb_clone(&old->intervals[x]->base));
            }
            mf__reg_remove(reg, k, (size_t)j);
            mf__reg_add(reg, k, copy);
        }
    }
    return MF_OK;
}

static int apply_builtin(mf_store *s, mf_plan **out, mf_error *err);

int mf_apply(mf_store *s, mf_plan **out, mf_error *err) {
    int rc = mf__provider_call(s->provider, MF__HOOK_BEFORE_APPLY, NULL, err, "s", s->cfg.project);
    if (rc == MF_OK) rc = apply_builtin(s, out, err);
    if (rc == MF_OK && mf__provider_has(s->provider, MF__HOOK_AFTER_APPLY)) {
        uint64_t version = 0;
        int64_t loaded;
        rc = mf__store_snapshot_info(s, &version, &loaded, err);
        if (rc == MF_OK)
            rc = mf__provider_call(s->provider, MF__HOOK_AFTER_APPLY, NULL, err, "sn",
                                   s->cfg.project, (int64_t)version);
    }
    return rc;
}

static int apply_builtin(mf_store *s, mf_plan **out, mf_error *err) {
    mf_plan *p = NULL;
    int rc = mf_plan_compute(s, &p, err);
    if (rc) return rc;
    /* The online store around the registry commit, so that a failure at
     * any step loses no data the registry still counts on:
     * 1. before it: every online view's table is created; a view turned
     *    online again (the registry has it offline: no history) or an
     *    on-demand view written again gets an empty one first, whatever a
     *    table of that name held (a drop that failed before);
     * 2. the commit (it drops the data of views no longer defined first);
     * 3. after it: the data of views no longer online is dropped (their
     *    history went with the commit). When that fails, apply fails
     *    naming it; the registry holds the change and a rerun drops.
     * A name may not change kind (feature view <-> on-demand view) in one
     * apply: the two would share one table, which no order of steps can
     * both keep for the registry until the commit and empty for the new
     * view. Decided against the registry as committed now, not the store's
     * snapshot (up to cache_ttl_seconds old). */
    const Mf__Registry *d = p->defs;
    const char *project = s->cfg.project;
    Mf__Registry *reg = NULL;
    rc = s->registry->vt->load(s->registry, &reg, err);
    static const char *const kind_name[2] = {"a feature view", "an on-demand feature view"};
    for (int od = 0; od < 2 && rc == MF_OK; od++) {
        size_t n = od ? d->n_on_demand_feature_views : d->n_feature_views;
        for (size_t i = 0; rc == MF_OK && i < n; i++) {
            const char *name = od ? d->on_demand_feature_views[i]->spec->name
                                  : d->feature_views[i]->spec->name;
            if (mf__reg_find(reg, od ? MF_KIND_FEATURE_VIEW : MF_KIND_ON_DEMAND_FEATURE_VIEW,
                             project, name) >= 0)
                rc = mf__err(err, MF_EUSAGE, "apply: '%s' is registered as %s and defined as "
                             "%s: a name changes kind in two applies (first without it: its "
                             "online data is dropped with it)", name, kind_name[!od],
                             kind_name[od]);
        }
    }
    mf__worker *w;
    mf__online *on = NULL;
    if (rc == MF_OK) rc = mf__store_worker(s, &w, err);
    if (rc == MF_OK) rc = mf__worker_online(w, &on, err);
    size_t n = d->n_feature_views + d->n_on_demand_feature_views, nk = 0, nd = 0, ns = 0, nr = 0;
    Mf__FeatureView **keep = mf__xcalloc(n + 1, sizeof *keep);
    Mf__FeatureView **drop = mf__xcalloc(n + 1, sizeof *drop);
    Mf__FeatureView **reset = mf__xcalloc(2 * n + 1, sizeof *reset);
    Mf__FeatureView **made = mf__xcalloc(2 * n + 1, sizeof *made);
    if (rc == MF_OK) {
        /* on-demand views written to the online store are stored as views
         * (mf__odfv_store_view); one that stops being written is dropped.
         * A reset drops the new definition's data and the registered one's
         * (on Redis, their fields differ); a name new to the registry needs
         * none (on Redis a reset scans every key of the project). */
        for (size_t i = 0; i < d->n_feature_views; i++) {
            Mf__FeatureView *v = d->feature_views[i];
            if (!v->spec->online) {
                drop[nd++] = v;
                continue;
            }
            keep[nk++] = v;
            long j = mf__reg_find(reg, MF_KIND_FEATURE_VIEW, project, v->spec->name);
            if (j < 0 || reg->feature_views[j]->spec->online) continue;
            reset[nr++] = v;
            reset[nr++] = reg->feature_views[j];
        }
        for (size_t i = 0; i < d->n_on_demand_feature_views; i++) {
            const Mf__OnDemandFeatureViewSpec *od = d->on_demand_feature_views[i]->spec;
            long j = mf__reg_find(reg, MF_KIND_ON_DEMAND_FEATURE_VIEW, project, od->name);
            Mf__FeatureView *old = j < 0 ? NULL
                                         : mf__odfv_store_view(reg, project,
                                                               reg->on_demand_feature_views[j]->spec);
            if (old) made[ns++] = old;
            Mf__FeatureView *sv = mf__odfv_store_view(d, project, od);
            if (sv) {
                keep[nk++] = made[ns++] = sv;
                if (j >= 0 && !old) reset[nr++] = sv; /* registered, not written before */
            } else if (old) {
                drop[nd++] = old;
            }
        }
        if (nr) rc = on->vt->update(on, project, NULL, 0, reset, nr, err);
        if (rc == MF_OK) rc = on->vt->update(on, project, keep, nk, NULL, 0, err);
    }
    if (rc == MF_OK) {
        apply_ctx c = {s, p->defs};
        rc = mf__store_commit(s, apply_mutator, &c, err);
    }
    if (rc == MF_OK && nd) {
        rc = on->vt->update(on, project, NULL, 0, drop, nd, err);
        if (rc)
            mf__err_prefix(err, "apply: the registry is updated, but the online data of the "
                           "views no longer online could not be dropped (rerun apply)");
    }
    for (size_t i = 0; i < ns; i++) mf__odfv_store_view_free(made[i]); /* (views of reg) */
    mf__reg_free(reg);
    free(made);
    free(keep);
    free(drop);
    free(reset);
    if (rc || !out) mf_plan_free(p);
    else *out = p;
    return rc;
}

/*---- Delete and teardown ---------------------------------------------------*/

/* Name of an object of the project that uses (kind, name), or NULL. */
static const char *dependent(const Mf__Registry *reg, const char *project,
                             mf_object_kind kind, const char *name,
                             mf_object_kind *dep_kind) {
    for (size_t i = 0; i < reg->n_feature_views; i++) {
        Mf__FeatureViewSpec *v = reg->feature_views[i]->spec;
        if (strcmp(v->project, project) != 0) continue;
        *dep_kind = MF_KIND_FEATURE_VIEW;
        if (kind == MF_KIND_DATA_SOURCE && strcmp(v->source, name) == 0) return v->name;
        if (kind == MF_KIND_ENTITY)
            for (size_t j = 0; j < v->n_entities; j++)
                if (strcmp(v->entities[j], name) == 0) return v->name;
    }
    for (size_t i = 0; i < reg->n_data_sources; i++) {
        Mf__DataSourceSpec *d = reg->data_sources[i]->spec;
        *dep_kind = MF_KIND_DATA_SOURCE;
        if (kind == MF_KIND_DATA_SOURCE && strcmp(d->project, project) == 0 &&
            strcmp(d->batch_source, name) == 0)
            return d->name;
    }
    for (size_t i = 0; i < reg->n_on_demand_feature_views; i++) {
        Mf__OnDemandFeatureViewSpec *o = reg->on_demand_feature_views[i]->spec;
        if (strcmp(o->project, project) != 0) continue;
        *dep_kind = MF_KIND_ON_DEMAND_FEATURE_VIEW;
        for (size_t j = 0; j < o->n_source_views; j++)
            if (kind == MF_KIND_FEATURE_VIEW && strcmp(o->source_views[j]->view_name, name) == 0)
                return o->name;
        for (size_t j = 0; j < o->n_request_sources; j++)
            if (kind == MF_KIND_DATA_SOURCE && strcmp(o->request_sources[j], name) == 0)
                return o->name;
    }
    for (size_t i = 0; i < reg->n_feature_services; i++) {
        Mf__FeatureServiceSpec *f = reg->feature_services[i]->spec;
        if (strcmp(f->project, project) != 0) continue;
        *dep_kind = MF_KIND_FEATURE_SERVICE;
        for (size_t j = 0; j < f->n_features; j++)
            if ((kind == MF_KIND_FEATURE_VIEW || kind == MF_KIND_ON_DEMAND_FEATURE_VIEW) &&
                strcmp(f->features[j]->view_name, name) == 0)
                return f->name;
    }
    return NULL;
}

/*
 * Delete and teardown drop online data before the registry forgets the
 * views, and both happen under the registry's write lock: the mutator
 * resolves the objects against the registry as it is now (dependents
 * re-checked), drops the views' online data (idempotent), and only then
 * removes the objects. When the store fails, the mutator fails and nothing
 * is committed: the objects stay registered, a rerun drops and commits.
 * When the registry write fails after the drop, the views stay registered
 * with no online data (NOT_FOUND until materialized), and a rerun finishes.
 * Either way no old value can come back after a later apply of the same
 * view. The lock is held while the store works, so other registry writers
 * wait for it.
 */

typedef struct delete_ctx {
    mf_store *store;
    mf_object_kind kind;
    const char *name;
} delete_ctx;

/* Drop the online data of views[0..n) of the store's project; `what`
 * ("delete feature view 'x'") names the operation in the error. */
static int drop_online(mf_store *s, Mf__FeatureView *const *views, size_t n, const char *what,
                       mf_error *err) {
    if (n == 0) return MF_OK;
    mf__worker *w;
    mf__online *on;
    int rc = mf__store_worker(s, &w, err);
    if (rc == MF_OK) rc = mf__worker_online(w, &on, err);
    if (rc == MF_OK) rc = on->vt->teardown(on, s->cfg.project, views, n, err);
    if (rc)
        mf__err_prefix(err, "cannot %s: its online data could not be dropped (nothing was "
                       "deleted; rerun when the online store is back)", what);
    return rc;
}

/* Resolve MF_KIND_ANY to the one kind holding `name`. */
static int resolve_kind(const Mf__Registry *reg, const char *project, const char *name,
                        mf_object_kind *kind, mf_error *err) {
    if (*kind != MF_KIND_ANY) {
        if (mf__reg_find(reg, *kind, project, name) < 0)
            return mf__err(err, MF_ENOTFOUND, "no %s named '%s' in project '%s'",
                           mf_kind_name(*kind), name, project);
        return MF_OK;
    }
    int found = -1, count = 0;
    for (int k = 0; k < MF_KIND_COUNT; k++)
        if (mf__reg_find(reg, k, project, name) >= 0) found = k, count++;
    if (count == 0)
        return mf__err(err, MF_ENOTFOUND, "no object named '%s' in project '%s'", name,
                       project);
    if (count > 1)
        return mf__err(err, MF_EUSAGE, "'%s' names objects of several kinds; say which "
                       "with --kind", name);
    *kind = found;
    return MF_OK;
}

/* Mutator: check, drop the view's online data, remove (see above). */
static int delete_mutator(Mf__Registry *reg, void *ud, mf_error *err) {
    delete_ctx *c = ud;
    const char *project = c->store->cfg.project;
    int rc = resolve_kind(reg, project, c->name, &c->kind, err);
    if (rc) return rc;
    mf_object_kind dk;
    const char *dep = dependent(reg, project, c->kind, c->name, &dk);
    if (dep)
        return mf__err(err, MF_EDEF, "cannot delete %s '%s': %s '%s' uses it; delete "
                       "that first", mf_kind_name(c->kind), c->name, mf_kind_name(dk), dep);
    long i = mf__reg_find(reg, c->kind, project, c->name);
    if (c->kind == MF_KIND_FEATURE_VIEW) {
        char *what = mf__xasprintf("delete feature view '%s'", c->name);
        rc = drop_online(c->store, &reg->feature_views[i], 1, what, err);
        free(what);
        if (rc) return rc;
    }
    Mf__FeatureView *sv = c->kind == MF_KIND_ON_DEMAND_FEATURE_VIEW
                              ? mf__odfv_store_view(reg, project, reg->on_demand_feature_views[i]->spec)
                              : NULL;
    if (sv) { /* written to the online store: its data goes too */
        char *what = mf__xasprintf("delete on-demand feature view '%s'", c->name);
        rc = drop_online(c->store, &sv, 1, what, err);
        free(what);
        mf__odfv_store_view_free(sv);
        if (rc) return rc;
    }
    mf__reg_remove(reg, c->kind, (size_t)i);
    return MF_OK;
}

int mf_delete(mf_store *s, mf_object_kind kind, const char *name, mf_error *err) {
    mf__err_clear(err);
    delete_ctx c = {s, kind, name};
    return mf__store_commit(s, delete_mutator, &c, err);
}

/* Mutator: drop the online data of the project's views, then remove every
 * object of the project and the project itself (see above). */
static int teardown_mutator(Mf__Registry *reg, void *ud, mf_error *err) {
    mf_store *s = ud;
    const char *project = s->cfg.project;
    size_t nv = 0, ns = 0;
    size_t cap = reg->n_feature_views + reg->n_on_demand_feature_views + 1;
    Mf__FeatureView **views = mf__xcalloc(cap, sizeof *views);
    for (size_t i = 0; i < reg->n_feature_views; i++)
        if (strcmp(reg->feature_views[i]->spec->project, project) == 0)
            views[nv++] = reg->feature_views[i];
    size_t first_made = nv;
    for (size_t i = 0; i < reg->n_on_demand_feature_views; i++) {
        const Mf__OnDemandFeatureViewSpec *od = reg->on_demand_feature_views[i]->spec;
        Mf__FeatureView *sv = strcmp(od->project, project) == 0
                                  ? mf__odfv_store_view(reg, project, od) : NULL;
        if (sv) views[nv++] = sv, ns++;
    }
    char *what = mf__xasprintf("tear down project '%s'", project);
    int rc = drop_online(s, views, nv, what, err);
    free(what);
    for (size_t i = 0; i < ns; i++) mf__odfv_store_view_free(views[first_made + i]);
    free(views);
    if (rc) return rc;
    for (int k = 0; k < MF_KIND_COUNT; k++) {
        for (size_t i = mf__reg_count(reg, k); i-- > 0;) {
            mf__obj o;
            mf__reg_get(reg, k, i, &o);
            if (strcmp(o.project, project) == 0) mf__reg_remove(reg, k, i);
        }
    }
    for (size_t i = reg->n_projects; i-- > 0;)
        if (strcmp(reg->projects[i]->name, project) == 0)
            mf__pb_remove(&reg->base, "projects", i);
    return MF_OK;
}

int mf_teardown(mf_store *s, mf_error *err) {
    mf__err_clear(err);
    int rc = mf__provider_call(s->provider, MF__HOOK_BEFORE_TEARDOWN, NULL, err, "s",
                               s->cfg.project);
    if (rc == MF_OK) rc = mf__store_commit(s, teardown_mutator, s, err);
    if (rc == MF_OK)
        rc = mf__provider_call(s->provider, MF__HOOK_AFTER_TEARDOWN, NULL, err, "s",
                               s->cfg.project);
    return rc;
}


/*---- Listing and describing ------------------------------------------------*/

typedef struct list_item {
    char *name;
    char *summary;
} list_item;

struct mf_object_list {
    list_item *items;
    size_t n;
};

static bool tags_match(const ProtobufCMessage *spec, const char *const *filters, size_t n) {
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(spec->descriptor, "tags");
    size_t nt = *(const size_t *)((const char *)spec + fd->quantifier_offset);
    Mf__Tag **tags = *(Mf__Tag **const *)((const char *)spec + fd->offset);
    for (size_t f = 0; f < n; f++) {
        const char *colon = strchr(filters[f], ':');
        size_t kl = colon ? (size_t)(colon - filters[f]) : strlen(filters[f]);
        bool hit = false;
        for (size_t i = 0; i < nt && !hit; i++)
            hit = strlen(tags[i]->key) == kl && strncmp(tags[i]->key, filters[f], kl) == 0 &&
                  (!colon || strcmp(tags[i]->value, colon + 1) == 0);
        if (!hit) return false;
    }
    return true;
}

static char *summary_of(const mf__obj *o) {
    mf__buf b;
    mf__buf_init(&b);
    switch (o->kind) {
    case MF_KIND_ENTITY: {
        const Mf__EntitySpec *e = (const Mf__EntitySpec *)o->spec;
        mf__buf_puts(&b, "join_keys=");
        for (size_t i = 0; i < e->n_join_keys; i++)
            mf__buf_printf(&b, "%s%s", i ? "," : "", e->join_keys[i]);
        if (e->value_type) mf__buf_printf(&b, " value_type=%s", mf__dtype_name(e->value_type));
        break;
    }
    case MF_KIND_DATA_SOURCE: {
        const Mf__DataSourceSpec *d = (const Mf__DataSourceSpec *)o->spec;
        mf__buf_printf(&b, "type=%s", d->kind);
        if (d->path[0]) mf__buf_printf(&b, " path=%s", d->path);
        if (d->database[0]) mf__buf_printf(&b, " database=%s", d->database);
        if (d->table[0]) mf__buf_printf(&b, " table=%s", d->table);
        if (d->batch_source[0]) mf__buf_printf(&b, " batch_source=%s", d->batch_source);
        break;
    }
    case MF_KIND_FEATURE_VIEW: {
        const Mf__FeatureViewSpec *v = (const Mf__FeatureViewSpec *)o->spec;
        mf__buf_puts(&b, "entities=");
        for (size_t i = 0; i < v->n_entities; i++)
            mf__buf_printf(&b, "%s%s", i ? "," : "", v->entities[i]);
        if (!v->n_entities) mf__buf_puts(&b, "-");
        mf__buf_printf(&b, " features=%zu ttl=%llds source=%s%s", v->n_features,
                       (long long)v->ttl_seconds, v->source, v->online ? " online" : "");
        break;
    }
    case MF_KIND_ON_DEMAND_FEATURE_VIEW: {
        const Mf__OnDemandFeatureViewSpec *v = (const Mf__OnDemandFeatureViewSpec *)o->spec;
        mf__buf_printf(&b, "features=%zu mode=%s sources=", v->n_features, v->mode);
        for (size_t i = 0; i < v->n_source_views; i++)
            mf__buf_printf(&b, "%s%s", i ? "," : "", v->source_views[i]->view_name);
        for (size_t i = 0; i < v->n_request_sources; i++)
            mf__buf_printf(&b, "%s%s", i || v->n_source_views ? "," : "", v->request_sources[i]);
        break;
    }
    case MF_KIND_FEATURE_SERVICE: {
        const Mf__FeatureServiceSpec *f = (const Mf__FeatureServiceSpec *)o->spec;
        mf__buf_puts(&b, "features=");
        for (size_t i = 0; i < f->n_features; i++) {
            const Mf__FeatureViewProjection *p = f->features[i];
            mf__buf_printf(&b, "%s%s", i ? "," : "", p->alias[0] ? p->alias : p->view_name);
            mf__buf_printf(&b, "[%zu]", p->n_features);
        }
        break;
    }
    default: break;
    }
    return mf__buf_steal(&b);
}

static int cmp_item(const void *a, const void *b) {
    return strcmp(((const list_item *)a)->name, ((const list_item *)b)->name);
}

int mf_list(mf_store *s, mf_object_kind kind, const char *const *tag_filters,
            size_t n_filters, mf_object_list **out, mf_error *err) {
    mf__err_clear(err);
    if (kind < 0 || kind >= MF_KIND_COUNT) return mf__err(err, MF_EUSAGE, "bad object kind");
    Mf__Registry *reg;
    int rc = s->registry->vt->load(s->registry, &reg, err);
    if (rc) return rc;
    mf_object_list *l = mf__xcalloc(1, sizeof *l);
    size_t n = mf__reg_count(reg, kind);
    l->items = mf__xcalloc(n ? n : 1, sizeof *l->items);
    for (size_t i = 0; i < n; i++) {
        mf__obj o;
        mf__reg_get(reg, kind, i, &o);
        if (strcmp(o.project, s->cfg.project) != 0) continue;
        if (!tags_match(o.spec, tag_filters, n_filters)) continue;
        l->items[l->n].name = mf__xstrdup(o.name);
        l->items[l->n].summary = summary_of(&o);
        l->n++;
    }
    qsort(l->items, l->n, sizeof *l->items, cmp_item);
    mf__reg_free(reg);
    *out = l;
    return MF_OK;
}

size_t mf_object_list_count(const mf_object_list *l) { return l ? l->n : 0; }
const char *mf_object_list_name(const mf_object_list *l, size_t i) {
    return l && i < l->n ? l->items[i].name : NULL;
}
const char *mf_object_list_summary(const mf_object_list *l, size_t i) {
    return l && i < l->n ? l->items[i].summary : NULL;
}

void mf_object_list_free(mf_object_list *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->items[i].name), free(l->items[i].summary);
    free(l->items);
    free(l);
}

int mf_describe(mf_store *s, mf_object_kind kind, const char *name, char **json,
                mf_error *err) {
    mf__err_clear(err);
    Mf__Registry *reg;
    int rc = s->registry->vt->load(s->registry, &reg, err);
    if (rc) return rc;
    rc = resolve_kind(reg, s->cfg.project, name, &kind, err);
    if (rc == MF_OK) {
        mf__obj o;
        mf__reg_get(reg, kind, (size_t)mf__reg_find(reg, kind, s->cfg.project, name), &o);
        mf__buf b;
        mf__buf_init(&b);
        mf__pb_to_json(o.msg, &b, false, 2);
        *json = mf__buf_steal(&b);
    }
    mf__reg_free(reg);
    return rc;
}

int mf_registry_dump(mf_store *s, char **json, mf_error *err) {
    mf__err_clear(err);
    Mf__Registry *reg;
    int rc = s->registry->vt->load(s->registry, &reg, err);
    if (rc) return rc;
    mf__buf b;
    mf__buf_init(&b);
    mf__pb_to_json(&reg->base, &b, false, 2);
    *json = mf__buf_steal(&b);
    mf__reg_free(reg);
    return MF_OK;
}

int mf_registry_version(mf_store *s, uint64_t *version, mf_error *err) {
    Mf__Registry *reg;
    int rc = s->registry->vt->load(s->registry, &reg, err);
    if (rc) return rc;
    *version = reg->version;
    mf__reg_free(reg);
    return MF_OK;
}

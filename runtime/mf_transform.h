/*
 * mf_transform.h — running on-demand transforms (transform.c).
 *
 * One runtime per worker thread: a Lua state (lua_host.c's, with the
 * transform budget) holding the transforms of the current registry
 * snapshot, compiled from the source text the registry stores, once, and
 * kept (pinned with registry references) until the snapshot changes.
 */
#ifndef MF_TRANSFORM_H
#define MF_TRANSFORM_H

#include "mf_table.h"

typedef struct mf__transforms mf__transforms;

/* The most rows one batch-mode call of a transform gets: more rows are
 * given in several calls, each with its own budget (its instruction limit
 * is lua.transform_max_instructions times its rows; its deadline
 * lua.transform_timeout_ms). */
#define MF__TF_BATCH_ROWS 4096

/* A new runtime under budget b (per call; zero fields take the defaults).
 * Caller frees with mf__transforms_free. */
int mf__transforms_new(const mf__lua_budget *b, mf__transforms **out, mf_error *err);
void mf__transforms_free(mf__transforms *t);

/* The transform runtime of worker w (the calling thread's, on store s),
 * made on first use with the store's transform budget and released with
 * the worker. Borrowed. */
int mf__worker_transforms(mf_store *s, mf__worker *w, mf__transforms **out, mf_error *err);

/* One input of a transform: a named column of the call's rows. */
typedef struct mf__tf_input {
    const char *name;
    const mf__col *col;
} mf__tf_input;

/* Run the transform of on-demand view v, of the registry snapshot with
 * generation gen (v must stay valid while gen does), over n rows: in[0..nin)
 * are its inputs (source features and request fields, by the names the
 * transform reads), each at least n rows. Appends n values to each
 * out[j], which the caller initialised with the type of v's feature j.
 * Row mode calls the transform once per row, batch mode once for all rows
 * (docs/definitions.md, "Transforms"). Returns MF_OK; MF_ELUA (a Lua error
 * or an output that breaks the schema) or MF_ELIMIT (a spent budget) with
 * the view named in err; out may then hold part of the rows. */
int mf__transforms_run(mf__transforms *t, uint64_t gen, const Mf__OnDemandFeatureView *v,
                       const mf__tf_input *in, size_t nin, size_t n, mf__col *out,
                       mf_error *err);

/* Whether the source text of a transform can loop (a for, while, repeat or
 * goto, or a function defined inside it, which could recurse): such a
 * transform runs in LuaJIT's interpreter, where the instruction budget is
 * enforced; the others are compiled by the JIT (they cannot run longer
 * than their length). Exposed for tests. */
bool mf__transform_can_loop(const char *src, size_t len);

/* Tests: count LuaJIT's trace events in t's state from now on (a new
 * watch replaces the previous one; each adds one trace callback), and
 * read the counts of traces completed and aborted (-1 without a watch).
 * Aborts for a hook called while recording (the budget's count hook: a
 * matter of timing, retried by LuaJIT) are not counted. */
void mf__transforms_jit_watch(mf__transforms *t);
void mf__transforms_jit_counts(mf__transforms *t, int *traces, int *aborts);

/*---- On-demand views written to the online store (write_to_online_store) ----*/

/* Such a view has exactly one source feature view (the DSL checks it): its
 * outputs are computed when that view's rows are written (materialize,
 * push, write-to-online-store) and stored under the view's entities and
 * the on-demand view's name. */

/* Its source feature view in reg, or NULL (not written, or not found). */
const Mf__FeatureViewSpec *mf__odfv_source(const Mf__Registry *reg, const char *project,
                                           const Mf__OnDemandFeatureViewSpec *od);
/* The feature view that stands for od in the online store: od's name and
 * outputs, its source view's entities, key columns and ttl. Pointers
 * borrowed from reg (valid while it is); NULL when od is not written.
 * Free with mf__odfv_store_view_free. */
Mf__FeatureView *mf__odfv_store_view(const Mf__Registry *reg, const char *project,
                                     const Mf__OnDemandFeatureViewSpec *od);
void mf__odfv_store_view_free(Mf__FeatureView *v);
/* Compute od's outputs for n rows of its source view src: feat[f] holds
 * src->features[f]; req[0..nreq) the request fields. Appends to out[j]
 * (typed as od's outputs). */
int mf__odfv_compute(mf__transforms *t, uint64_t gen, const Mf__OnDemandFeatureView *od,
                     const Mf__FeatureViewSpec *src, const mf__col *feat,
                     const mf__tf_input *req, size_t nreq, size_t n, mf__col *out,
                     mf_error *err);

#endif

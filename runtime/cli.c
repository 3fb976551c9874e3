/*
 * cli.c — the `moonfeast` command: Feast's verbs over the C API.
 *
 * Exit codes: 0 success, 1 a user error (message on stderr, never a C
 * trace), 2 bad usage. Every command answers --help. Output meant for
 * programs (describe, registry-dump) is JSON on stdout; messages go to
 * stderr.
 */
#include <signal.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_internal.h"
#include "mf_parquet.h"
#include "mf_server.h"

/*---- Global options and errors ---------------------------------------------*/

typedef struct cli {
    const char *chdir_to;
    const char *config_file;
    int log_level;
} cli;

static const char *prog = "moonfeast";
/* the command being run, once known: its usage errors point at its help */
static const char *cur_cmd;

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    if (cur_cmd) fprintf(stderr, "\nTry '%s %s --help'.\n", prog, cur_cmd);
    else fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return 2;
}

/* Print err and return the exit code for it. */
static int report(const mf_error *err) {
    const char *m = err->message;
    size_t fl = strlen(err->file);
    bool has_loc = fl && strncmp(m, err->file, fl) == 0 && m[fl] == ':';
    if (err->file[0] && !has_loc) {
        if (err->line > 0) fprintf(stderr, "%s: error: %s:%d: %s\n", prog, err->file, err->line, m);
        else fprintf(stderr, "%s: error: %s: %s\n", prog, err->file, m);
    } else {
        fprintf(stderr, "%s: error: %s\n", prog, m);
    }
    return err->code == MF_EUSAGE ? 2 : 1;
}

static int open_store(const cli *c, mf_store **s, mf_error *err) {
    mf_open_options o = {c->config_file, c->log_level};
    return mf_store_open(NULL, &o, s, err);
}

/*---- Help texts ------------------------------------------------------------*/

static const char *const main_help =
    "Usage: moonfeast [-C DIR] [-f FILE] [--log-level LEVEL] COMMAND [ARGS]\n"
    "\n"
    "A feature store runtime: Lua definitions, point-in-time training data,\n"
    "low-latency online serving.\n"
    "\n"
    "Global options (before the command, or after it except -f):\n"
    "  -C, -c, --chdir DIR            run as if started in DIR (the feature repo)\n"
    "  -f, --feature-store-yaml FILE  configuration file (default feature_store.yaml)\n"
    "      --log-level LEVEL          error, warning (default), info or debug\n"
    "  -h, --help                     this text; COMMAND --help for a command's\n"
    "\n"
    "Commands:\n"
    "  init [DIR] [-t TEMPLATE]   create a ready-to-apply feature repo (local, redis)\n"
    "  apply                      register the repo's definitions\n"
    "  plan                       show what apply would change; writes nothing\n"
    "  delete NAME                remove one registered object\n"
    "  teardown                   remove the project's objects and online data\n"
    "  registry-dump              the registry as JSON\n"
    "  registry migrate --from A --to B   copy a registry (file or database URL)\n"
    "  get-historical-features    point-in-time correct training data\n"
    "  materialize START END      load latest values into the online store\n"
    "  materialize-incremental END   ... from where the last run ended\n"
    "  get-online-features        read the latest values (JSON)\n"
    "  push SOURCE                push rows to a push source\n"
    "  write-to-online-store VIEW write rows to a view's online store\n"
    "  to-parquet IN.csv OUT.parquet  a CSV file as Parquet (typed columns)\n"
    "  serve                      the HTTP feature server (Feast's JSON API)\n"
    "  entities | data-sources | feature-views | on-demand-feature-views |\n"
    "  feature-services  list [--tags K:V] | describe NAME\n"
    "  lua-test FILE...           run Lua test files in the sandbox (stdlib available)\n"
    "  version                    print the version (also --version)\n";

typedef struct cmd_help {
    const char *name, *text;
} cmd_help;

static const cmd_help helps[] = {
    {"init", "Usage: moonfeast init [DIR] [--project NAME] [-t|--template local|redis]\n\n"
             "Create a feature repo in DIR (default: ./feature_repo): feature_store.yaml,\n"
             "driver_repo.lua and data/driver_stats.csv (deterministic sample data).\n"
             "Templates: local (default; online store in a SQLite file under data/) and\n"
             "redis (online store in the Redis server at localhost:6379).\n"},
    {"apply", "Usage: moonfeast apply [--skip-source-validation]\n\n"
              "Load every *.lua definition file of the repo, validate it, and make the\n"
              "project's registry match it in one registry commit: register what was\n"
              "added or changed, delete the objects no longer defined (a deleted view's\n"
              "online data is dropped first).\n\n"
              "Every feature view's source must exist and hold the view's columns;\n"
              "--skip-source-validation skips that check (a view whose schema is\n"
              "inferred still reads its source).\n"},
    {"plan", "Usage: moonfeast plan [--skip-source-validation]\n\n"
             "Show what apply would add (+), change (~), leave unchanged (=) and delete\n"
             "because it is no longer defined (-). Writes nothing. Sources are checked\n"
             "as by apply.\n"},
    {"delete", "Usage: moonfeast delete NAME [--kind KIND]\n\n"
               "Remove one object from the registry. KIND: entity, data-source,\n"
               "feature-view, on-demand-feature-view, feature-service (needed only when\n"
               "NAME is used by several kinds). Objects others depend on are refused.\n"},
    {"teardown", "Usage: moonfeast teardown\n\n"
                 "Remove every object of the project from the registry and drop its\n"
                 "online data.\n"},
    {"registry-dump", "Usage: moonfeast registry-dump\n\nPrint the whole registry as JSON.\n"},
    {"registry", "Usage: moonfeast registry migrate --from FROM --to TO\n\n"
                 "Copy every project and object of registry FROM into registry TO, which\n"
                 "must be empty, in one commit. Each is a file registry's path or a SQL\n"
                 "registry's URL (sqlite:///relative/path, sqlite:////absolute/path,\n"
                 "postgresql://user:password@host:port/database); relative ones are taken\n"
                 "from the current folder. Run it while nothing writes to either.\n"},
    {"version", "Usage: moonfeast version\n\nPrint the version.\n"},
    {"serve",
     "Usage: moonfeast serve [-h HOST] [-p PORT] [--threads N] [--registry-ttl SECONDS]\n"
     "                       [--key FILE --cert FILE] [--no-access-log] [--max-body BYTES]\n\n"
     "Serve Feast's HTTP JSON API: POST /get-online-features, /push,\n"
     "/write-to-online-store, /materialize, /materialize-incremental (?async=true),\n"
     "GET /health, /metrics. Defaults come from feature_server in\n"
     "feature_store.yaml; the options override them.\n\n"
     "  -h, --host HOST         address to listen on (default 127.0.0.1)\n"
     "  -p, --port PORT         port (default 6566; 0 picks a free one)\n"
     "  --threads N             worker threads (default: one per CPU)\n"
     "  --registry-ttl SECONDS  refresh the registry this often (0: on SIGHUP only;\n"
     "                          default registry.cache_ttl_seconds)\n"
     "  --key FILE --cert FILE  serve HTTPS with this PEM key and certificate\n"
     "  --no-access-log         no access log lines on stderr\n"
     "  --max-body BYTES        largest request body (default 67108864)\n\n"
     "SIGHUP refreshes the registry; SIGTERM or SIGINT stop accepting, finish the\n"
     "requests in flight and exit 0. Auth, limits and TLS in feature_store.yaml:\n"
     "see docs/http-api.md.\n"},
    {"list", "Usage: moonfeast KIND list [--tags KEY:VALUE ...]\n\n"
             "List the registered objects of one kind, sorted by name. Every --tags\n"
             "filter must match.\n"},
    {"describe", "Usage: moonfeast KIND describe NAME\n\nPrint one object as JSON.\n"},
    {"get-historical-features",
     "Usage: moonfeast get-historical-features ENTITIES FEATURES [OPTIONS]\n\n"
     "Point-in-time correct feature values for entity rows (training data).\n\n"
     "ENTITIES, one of:\n"
     "  -e, --entities FILE.csv      entity rows with an event_timestamp column\n"
     "  --entity-query SQL --entity-db FILE   entity rows from a SQLite query\n"
     "  --start T --end T            every entity key with a row in [T, T]: its\n"
     "                               latest values as of --end\n"
     "FEATURES, one of:\n"
     "  -f, --features VIEW:FEATURE  (repeatable) feature refs, in output order\n"
     "  --feature-service NAME       the features of a service\n"
     "OPTIONS:\n"
     "  --full-feature-names         name columns view__feature\n"
     "  -o, --output FILE            FILE.csv, FILE.jsonl, FILE.parquet, or - for stdout\n"
     "                               (default)\n"
     "  --format csv|jsonl|parquet   output format (default from the file name; csv for\n"
     "                               stdout)\n"},
    {"materialize",
     "Usage: moonfeast materialize START END [-v VIEW ...] [--jobs N]\n\n"
     "Load the latest value per entity with START <= event_ts <= END from each\n"
     "online feature view's source (all of them unless -v names some) into the\n"
     "online store, then record the interval. START and END: RFC 3339 or epoch\n"
     "seconds.\n\n"
     "  -v, --views VIEW   a view to materialize (repeatable)\n"
     "  -j, --jobs N       views materialized at once, 1..256 (default\n"
     "                     batch_engine.jobs, else one per CPU)\n"},
    {"materialize-incremental",
     "Usage: moonfeast materialize-incremental END [-v VIEW ...] [--jobs N]\n\n"
     "Like materialize, from each view's last materialized END (first run: END\n"
     "minus the view's ttl, or its oldest row when ttl is 0).\n\n"
     "  -v, --views VIEW   a view to materialize (repeatable)\n"
     "  -j, --jobs N       views materialized at once, 1..256\n"},
    {"get-online-features",
     "Usage: moonfeast get-online-features -e KEY=VALUE[,KEY=VALUE] ... \n"
     "       (-f VIEW:FEATURE ... | --feature-service NAME) [--full-feature-names]\n\n"
     "Print the latest values as Feast's JSON response.\n\n"
     "  -e, --entity K=V[,K=V]    one entity row (repeatable); composite keys as\n"
     "                            -e driver_id=1,customer_id=7; request fields of\n"
     "                            on-demand views beside the keys\n"
     "  -f, --features VIEW:FEAT  a feature ref (repeatable)\n"
     "  --feature-service NAME    the features of a service\n"
     "  --full-feature-names      name features VIEW__FEATURE\n"},
    {"push",
     "Usage: moonfeast push SOURCE --file ROWS.csv --to online|offline|online_and_offline\n\n"
     "Push rows to a push source: online writes every online view it feeds\n"
     "(newer values are kept), offline appends them to its batch source (durable\n"
     "when the command returns), online_and_offline does both, online first.\n"
     "The rows must have the views' join keys, timestamp and features.\n"},
    {"write-to-online-store",
     "Usage: moonfeast write-to-online-store VIEW --file ROWS.csv\n\n"
     "Write rows straight to one feature view's online store (or an on-demand\n"
     "view's, with write_to_online_store = true: its outputs computed from the rows).\n"},
    {"to-parquet",
     "Usage: moonfeast to-parquet IN.csv OUT.parquet\n\n"
     "Write a CSV file (comma-separated, with a header) as a Parquet file. A column\n"
     "is Int64, Float64, Bool or UnixTimestamp when every value in it reads back\n"
     "as the same text in that type, else String; empty cells are null. So the\n"
     "Parquet file gives the same answers as the CSV file it came from.\n"},
    {"lua-test", "Usage: moonfeast lua-test FILE...\n\n"
                 "Run Lua test files in the sandbox with the stdlib available.\n"},
};

static const char *help_for(const char *name) {
    for (size_t i = 0; i < MF__ARRAY_LEN(helps); i++)
        if (strcmp(helps[i].name, name) == 0) return helps[i].text;
    return NULL;
}

/* True when argv holds -h/--help before a "--". */
static bool wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
    }
    return false;
}

/* Value of option argv[*i] ("--opt VALUE" or "--opt=VALUE"); NULL when
 * argv[*i] is not `name`. Sets *missing when the value is absent. */
static const char *opt_value(int argc, char **argv, int *i, const char *name,
                             const char *short_name, bool *missing) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) == 0 && a[n] == '=') return a + n + 1;
    if (strcmp(a, name) == 0 || (short_name && strcmp(a, short_name) == 0)) {
        if (*i + 1 >= argc) {
            *missing = true;
            return NULL;
        }
        return argv[++*i];
    }
    return NULL;
}

/*---- Commands --------------------------------------------------------------*/

static int cmd_init(const cli *c, int argc, char **argv) {
    MF__UNUSED(c);
    const char *dir = NULL, *project = NULL, *template_name = "local";
    for (int i = 0; i < argc; i++) {
        const char *v;
        bool missing = false;
        if ((v = opt_value(argc, argv, &i, "--project", NULL, &missing))) {
            project = v;
        } else if ((v = opt_value(argc, argv, &i, "--template", "-t", &missing))) {
            template_name = v;
            if (strcmp(template_name, "local") != 0 && strcmp(template_name, "redis") != 0)
                return usage_error("init: unknown template '%s' (expected one of: local, redis)",
                                   template_name);
        } else if (missing) {
            return strcmp(argv[i], "--project")
                       ? usage_error("init: %s needs a value (local or redis)", argv[i])
                       : usage_error("init: %s needs a value", argv[i]);
        } else if (argv[i][0] == '-') {
            return usage_error("init: unknown option '%s'", argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return usage_error("init: unexpected argument '%s'", argv[i]);
        }
    }
    if (!dir) dir = "feature_repo";
    mf_error err;
    if (mf_init_repo_template(dir, project, template_name, &err)) return report(&err);
    printf("Created a feature repo in %s\n", dir);
    if (strcmp(template_name, "redis") == 0)
        printf("Its online store is the Redis server at localhost:6379 (connection_string in "
               "%s/feature_store.yaml)\n", dir);
    printf("Next: cd %s && moonfeast apply\n", dir);
    return 0;
}

static const char *const action_words[] = {"Created", "Updated", "Unchanged", "Deleted"};
static const char plan_marks[] = {'+', '~', '=', '-'};

static int print_plan(const mf_plan *p, bool applied, uint64_t version) {
    size_t counts[4] = {0};
    for (size_t i = 0; i < mf_plan_count(p); i++) {
        mf_object_kind k;
        const char *name, *changed;
        mf_plan_action a;
        mf_plan_item(p, i, &k, &name, &a, &changed);
        counts[a]++;
        if (applied) {
            if (a == MF_PLAN_UNCHANGED) continue;
            printf("%s %s %s", action_words[a], mf_kind_name(k), name);
        } else {
            printf("%c %s %s", plan_marks[a], mf_kind_name(k), name);
        }
        if (a == MF_PLAN_CHANGE) printf(" (changed: %s)", changed);
        if (a == MF_PLAN_DELETE && !applied) printf(" (no longer defined)");
        putchar('\n');
    }
    if (applied)
        printf("Applied: %zu added, %zu changed, %zu unchanged, %zu deleted; registry "
               "version %llu\n",
               counts[0], counts[1], counts[2], counts[3], (unsigned long long)version);
    else
        printf("Plan: %zu to add, %zu to change, %zu unchanged, %zu to delete. Nothing was "
               "written.\n",
               counts[0], counts[1], counts[2], counts[3]);
    return 0;
}

static int no_args(const char *cmd, int argc, char **argv) {
    if (argc > 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: unexpected argument '%%s'", cmd);
        return usage_error(msg, argv[0]);
    }
    return 0;
}

static int cmd_apply(const cli *c, int argc, char **argv, bool apply) {
    bool skip = false;
    if (argc > 0 && strcmp(argv[0], "--skip-source-validation") == 0) skip = true, argc--, argv++;
    int u = no_args(apply ? "apply" : "plan", argc, argv);
    if (u) return u;
    mf_error err;
    mf_store *s;
    if (open_store(c, &s, &err)) return report(&err);
    mf_store_skip_source_validation(s, skip);
    mf_plan *p = NULL;
    int rc = apply ? mf_apply(s, &p, &err) : mf_plan_compute(s, &p, &err);
    uint64_t version = 0;
    if (rc == MF_OK && apply) rc = mf_registry_version(s, &version, &err);
    if (rc == MF_OK) print_plan(p, apply, version);
    mf_plan_free(p);
    mf_store_close(s);
    return rc ? report(&err) : 0;
}

static const char *const kind_cli[MF_KIND_COUNT] = {
    "entity", "data-source", "feature-view", "on-demand-feature-view", "feature-service"};
static const char *const kind_cmd[MF_KIND_COUNT] = {
    "entities", "data-sources", "feature-views", "on-demand-feature-views",
    "feature-services"};

static int cmd_delete(const cli *c, int argc, char **argv) {
    const char *name = NULL;
    mf_object_kind kind = MF_KIND_ANY;
    for (int i = 0; i < argc; i++) {
        const char *v;
        bool missing = false;
        if ((v = opt_value(argc, argv, &i, "--kind", NULL, &missing))) {
            int k;
            for (k = 0; k < MF_KIND_COUNT; k++)
                if (strcmp(v, kind_cli[k]) == 0) break;
            if (k == MF_KIND_COUNT) return usage_error("delete: unknown kind '%s'", v);
            kind = k;
        } else if (missing) {
            return usage_error("delete: --kind needs a value%s", "");
        } else if (argv[i][0] == '-') {
            return usage_error("delete: unknown option '%s'", argv[i]);
        } else if (!name) {
            name = argv[i];
        } else {
            return usage_error("delete: unexpected argument '%s'", argv[i]);
        }
    }
    if (!name) return usage_error("delete: missing NAME%s", "");
    mf_error err;
    mf_store *s;
    if (open_store(c, &s, &err)) return report(&err);
    int rc = mf_delete(s, kind, name, &err);
    mf_store_close(s);
    if (rc) return report(&err);
    printf("Deleted %s\n", name);
    return 0;
}

static int cmd_teardown(const cli *c, int argc, char **argv) {
    int u = no_args("teardown", argc, argv);
    if (u) return u;
    mf_error err;
    mf_store *s;
    if (open_store(c, &s, &err)) return report(&err);
    int rc = mf_teardown(s, &err);
    if (rc == MF_OK) printf("Tore down project %s\n", mf_store_project(s));
    mf_store_close(s);
    return rc ? report(&err) : 0;
}

static int cmd_dump(const cli *c, int argc, char **argv) {
    int u = no_args("registry-dump", argc, argv);
    if (u) return u;
    mf_error err;
    mf_store *s;
    if (open_store(c, &s, &err)) return report(&err);
    char *json = NULL;
    int rc = mf_registry_dump(s, &json, &err);
    if (rc == MF_OK) puts(json);
    mf_free(json);
    mf_store_close(s);
    return rc ? report(&err) : 0;
}

static int cmd_registry(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "migrate") != 0)
        return usage_error("registry: expected 'migrate --from FROM --to TO'%s", "");
    const char *from = NULL, *to = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        bool missing = false;
        if ((v = opt_value(argc, argv, &i, "--from", NULL, &missing))) from = v;
        else if ((v = opt_value(argc, argv, &i, "--to", NULL, &missing))) to = v;
        else if (missing) return usage_error("registry migrate: %s needs a value", argv[i]);
        else return usage_error("registry migrate: unexpected argument '%s'", argv[i]);
    }
    if (!from || !to) return usage_error("registry migrate: give --from and --to%s", "");
    mf_error err;
    size_t nobjs = 0, nprojects = 0;
    uint64_t version = 0;
    if (mf__registry_migrate(from, to, ".", &nobjs, &nprojects, &version, &err))
        return report(&err);
    char *to_m = mf__url_hide_password(to); /* output goes to logs: no password */
    printf("Migrated %zu objects of %zu project%s to %s; registry version %llu\n", nobjs,
           nprojects, nprojects == 1 ? "" : "s", to_m, (unsigned long long)version);
    free(to_m);
    return 0;
}

static int cmd_kind(const cli *c, mf_object_kind kind, int argc, char **argv) {
    if (argc < 1) return usage_error("%s: expected 'list' or 'describe NAME'", kind_cmd[kind]);
    mf_error err;
    mf_store *s;
    if (strcmp(argv[0], "list") == 0) {
        const char **tags = mf__xcalloc((size_t)argc, sizeof *tags);
        size_t nt = 0;
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--tags") == 0 && i + 1 < argc) {
                tags[nt++] = argv[++i];
            } else if (strncmp(argv[i], "--tags=", 7) == 0) {
                tags[nt++] = argv[i] + 7;
            } else {
                free(tags);
                return usage_error(strcmp(argv[i], "--tags") == 0
                                       ? "list: %s needs a value (KEY:VALUE)"
                                       : "list: unexpected argument '%s'",
                                   argv[i]);
            }
        }
        if (open_store(c, &s, &err)) {
            free(tags);
            return report(&err);
        }
        mf_object_list *l = NULL;
        int rc = mf_list(s, kind, tags, nt, &l, &err);
        free(tags);
        if (rc == MF_OK) {
            size_t w = 4;
            for (size_t i = 0; i < mf_object_list_count(l); i++)
                if (strlen(mf_object_list_name(l, i)) > w) w = strlen(mf_object_list_name(l, i));
            printf("%-*s  %s\n", (int)w, "NAME", "DETAILS");
            for (size_t i = 0; i < mf_object_list_count(l); i++)
                printf("%-*s  %s\n", (int)w, mf_object_list_name(l, i),
                       mf_object_list_summary(l, i));
        }
        mf_object_list_free(l);
        mf_store_close(s);
        return rc ? report(&err) : 0;
    }
    if (strcmp(argv[0], "describe") == 0) {
        if (argc != 2) return usage_error("describe: expected exactly one NAME%s", "");
        if (open_store(c, &s, &err)) return report(&err);
        char *json = NULL;
        int rc = mf_describe(s, kind, argv[1], &json, &err);
        if (rc == MF_OK) puts(json);
        mf_free(json);
        mf_store_close(s);
        return rc ? report(&err) : 0;
    }
    return usage_error("unknown subcommand '%s' (expected list or describe)", argv[0]);
}

/* A decimal integer argument of command cmd in [min, max]. */
static int int_arg(const char *cmd, const char *opt, const char *v, long long min, long long max,
                   long long *out) {
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    /* digits only, as written: strtoll would also take spaces and a '+' */
    bool plain = (v[0] >= '0' && v[0] <= '9') || (v[0] == '-' && v[1] >= '0' && v[1] <= '9');
    if (!plain || end == v || *end || errno || x < min || x > max) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: %s takes a whole number from %lld to %lld, not '%%s'", cmd,
                 opt, min, max);
        return usage_error(msg, v);
    }
    *out = x;
    return 0;
}

/* Whether `a` and `b` name one existing file. */
static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Training data written over a file the store keeps (its configuration, a
 * file registry, a SQLite online store) would destroy it: refused. */
static int output_guard(const mf_store *s, const char *outp, mf_error *err) {
    if (!outp || strcmp(outp, "-") == 0) return MF_OK;
    const mf__config *cfg = mf__store_config(s);
    const char *kept[3] = {cfg->config_path, NULL, NULL};
    char *sql_db = NULL; /* the SQL registry's SQLite database (as registry_sql.c finds it) */
    if (strcmp(cfg->registry_type, "file") == 0) {
        kept[1] = cfg->registry_path;
    } else if (!strncmp(cfg->registry_path, "sqlite:///", 10)) {
        const char *rest = cfg->registry_path + 10;
        kept[1] = sql_db = rest[0] == '/' ? mf__xstrdup(rest) : mf__path_join(cfg->repo_path, rest);
    }
    if (strcmp(cfg->online.type, "sqlite") == 0) kept[2] = mf__conf_str(&cfg->online, "path");
    int rc = MF_OK;
    for (int i = 0; i < 3 && rc == MF_OK; i++)
        if (same_file(outp, kept[i]))
            rc = mf__err(err, MF_EUSAGE, "get-historical-features: --output %s is the %s; "
                         "choose another file", outp,
                         i == 0 ? "repo's configuration" : i == 1 ? "registry" : "online store");
    free(sql_db);
    return rc;
}

static int parse_ts_arg(const char *cmd, const char *what, const char *s, int64_t *out) {
    /* eight digits that make a date (20250101) are refused rather than
     * taken as epoch seconds of 1970 (Python's fromisoformat, which Feast's
     * CLI uses, reads them as the date) */
    if (strlen(s) == 8 && strspn(s, "0123456789") == 8) {
        char iso[11] = {s[0], s[1], s[2], s[3], '-', s[4], s[5], '-', s[6], s[7], 0};
        int64_t d;
        if (mf__ts_parse(iso, 10, &d) == 0) {
            char msg[320];
            snprintf(msg, sizeof msg, "%s: %s '%%s' is ambiguous: write the date as %s (RFC "
                     "3339), or epoch seconds with a leading 0 (0%s)", cmd, what, iso, s);
            return usage_error(msg, s);
        }
    }
    if (mf__ts_parse(s, strlen(s), out) != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: %s '%%s' is not a timestamp (RFC 3339 or epoch seconds)",
                 cmd, what);
        return usage_error(msg, s);
    }
    return 0;
}

static int cmd_historical(const cli *c, int argc, char **argv) {
    const char *entities = NULL, *query = NULL, *db = NULL, *service = NULL, *outp = NULL;
    const char *start = NULL, *end = NULL, *format = NULL;
    const char **refs = mf__xcalloc((size_t)argc + 1, sizeof *refs);
    size_t nrefs = 0;
    bool full = false;
    int rc = 0;
    for (int i = 0; i < argc && !rc; i++) {
        bool missing = false;
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--entities", "-e", &missing))) entities = v;
        else if ((v = opt_value(argc, argv, &i, "--entity-query", NULL, &missing))) query = v;
        else if ((v = opt_value(argc, argv, &i, "--entity-db", NULL, &missing))) db = v;
        else if ((v = opt_value(argc, argv, &i, "--features", "-f", &missing))) refs[nrefs++] = v;
        else if ((v = opt_value(argc, argv, &i, "--feature-service", NULL, &missing))) service = v;
        else if ((v = opt_value(argc, argv, &i, "--output", "-o", &missing))) outp = v;
        else if ((v = opt_value(argc, argv, &i, "--start", NULL, &missing))) start = v;
        else if ((v = opt_value(argc, argv, &i, "--end", NULL, &missing))) end = v;
        else if ((v = opt_value(argc, argv, &i, "--format", NULL, &missing))) format = v;
        else if (missing) rc = usage_error("get-historical-features: %s needs a value", argv[i]);
        else if (strcmp(argv[i], "--full-feature-names") == 0) full = true;
        else rc = usage_error("get-historical-features: unexpected argument '%s'", argv[i]);
        if (missing && !rc) rc = usage_error("get-historical-features: %s needs a value", argv[i]);
    }
    int sources = (entities != NULL) + (query != NULL || db != NULL) + (start != NULL || end != NULL);
    if (!rc && sources != 1)
        rc = usage_error("get-historical-features: give one of --entities FILE, --entity-query SQL "
                         "--entity-db FILE, or --start T --end T%s", "");
    if (!rc && (query || db) && !(query && db))
        rc = usage_error("get-historical-features: --entity-query and --entity-db go together%s", "");
    if (!rc && (start || end) && !(start && end))
        rc = usage_error("get-historical-features: --start and --end go together%s", "");
    if (!rc && !nrefs && !service)
        rc = usage_error("get-historical-features: give -f VIEW:FEATURE or --feature-service NAME%s", "");
    mf_table_format fmt = MF_FORMAT_CSV;
    if (!rc && format) {
        if (strcmp(format, "jsonl") == 0) fmt = MF_FORMAT_JSONL;
        else if (strcmp(format, "parquet") == 0) fmt = MF_FORMAT_PARQUET;
        else if (strcmp(format, "csv") != 0)
            rc = usage_error("get-historical-features: --format is csv, jsonl or parquet, not '%s'",
                             format);
    } else if (!rc && outp && strcmp(outp, "-") != 0) {
        /* the format from the name: a name it does not know is an error
         * rather than a CSV file under a misleading name */
        const char *slash = strrchr(outp, '/'), *dot = strrchr(outp, '.');
        const char *ext = dot && (!slash || dot > slash) ? dot : "";
        if (strcmp(ext, ".jsonl") == 0) fmt = MF_FORMAT_JSONL;
        else if (strcmp(ext, ".parquet") == 0) fmt = MF_FORMAT_PARQUET;
        else if (strcmp(ext, ".csv") != 0)
            rc = usage_error("get-historical-features: cannot tell the format of '%s' from its "
                             "name: use a .csv, .jsonl or .parquet name, or --format", outp);
    }
    mf_historical_options o = {refs, nrefs, service, full, 0, 0};
    if (!rc && start) {
        rc = parse_ts_arg("get-historical-features", "--start", start, &o.start_us);
        if (!rc) rc = parse_ts_arg("get-historical-features", "--end", end, &o.end_us);
    }
    if (rc) {
        free(refs);
        return rc;
    }
    mf_error err;
    mf_store *s = NULL;
    mf_entity_df *df = NULL;
    mf_table *t = NULL;
    int64_t t0 = mf__mono_us(), t1 = t0, t2 = t0;
    int r = open_store(c, &s, &err);
    if (r == MF_OK) r = output_guard(s, outp, &err);
    if (r == MF_OK && entities) r = mf_entity_df_read_csv(entities, &df, &err);
    if (r == MF_OK && query) r = mf_entity_df_read_sqlite(db, query, &df, &err);
    if (r == MF_OK) {
        t1 = mf__mono_us();
        r = mf_get_historical_features(s, df, &o, &t, &err);
        t2 = mf__mono_us();
    }
    if (r == MF_OK) r = mf_table_write(t, outp, fmt, &err);
    if (r == MF_OK)
        mf__log(3, "get-historical-features: entity rows read in %.3f s, joined in %.3f s, "
                "written in %.3f s", (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6,
                (double)(mf__mono_us() - t2) / 1e6);
    mf_table_free(t);
    mf_entity_df_free(df);
    mf_store_close(s);
    free(refs);
    return r ? report(&err) : 0;
}

/*---- Materialization and online reads ----------------------------------------*/

/* Progress lines; with several jobs, views run at once: each view's time
 * counts from its first report (the calls never overlap). */
typedef struct progress_state {
    bool tty;
    int64_t t0; /* the run's start */
    struct {
        char *view;
        int64_t t0;
    } seen[64];
    int nseen;
} progress_state;

static void on_progress(void *ud, const char *view, uint64_t read, uint64_t written, int done) {
    progress_state *p = ud;
    int64_t t0 = p->t0;
    int k = 0;
    while (k < p->nseen && strcmp(p->seen[k].view, view) != 0) k++;
    if (k < p->nseen) {
        t0 = p->seen[k].t0;
    } else if (p->nseen < 64 && !done) {
        p->seen[p->nseen].view = mf__xstrdup(view);
        p->seen[p->nseen++].t0 = t0 = mf__now_us();
    }
    double secs = (double)(mf__now_us() - t0) / 1e6;
    if (secs <= 0) secs = 1e-6;
    if (done) {
        fprintf(stderr, "%s%s: %llu rows read, %llu entities written in %.2fs (%.0f rows/s)\n",
                p->tty ? "\r\033[K" : "", view, (unsigned long long)read,
                (unsigned long long)written, secs, (double)read / secs);
    } else if (p->tty) {
        fprintf(stderr, "\r\033[K%s: %llu rows read, %llu written, %.0f rows/s", view,
                (unsigned long long)read, (unsigned long long)written, (double)read / secs);
    }
}

static int cmd_materialize(const cli *c, int argc, char **argv, bool incremental) {
    const char *cmd = incremental ? "materialize-incremental" : "materialize";
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0, nv = 0;
    const char **views = mf__xcalloc((size_t)argc + 1, sizeof *views);
    int rc = 0;
    long long jobs = 0;
    for (int i = 0; i < argc && !rc; i++) {
        bool missing = false;
        const char *v = opt_value(argc, argv, &i, "--views", "-v", &missing);
        if (v) views[nv++] = v;
        else if (missing) rc = usage_error("%s needs a view name", argv[i]);
        else if ((v = opt_value(argc, argv, &i, "--jobs", "-j", &missing)))
            rc = int_arg(cmd, "--jobs", v, 1, 256, &jobs);
        else if (missing) rc = usage_error("%s needs a value", argv[i]);
        else if (argv[i][0] == '-' && argv[i][1] && !(argv[i][1] >= '0' && argv[i][1] <= '9'))
            rc = usage_error("unknown option '%s'", argv[i]);
        else if (npos < (incremental ? 1u : 2u)) pos[npos++] = argv[i];
        else rc = usage_error("unexpected argument '%s'", argv[i]);
    }
    if (!rc && npos != (incremental ? 1u : 2u))
        rc = usage_error(incremental ? "%s: expected END" : "%s: expected START END", cmd);
    int64_t start = 0, end = 0;
    if (!rc && !incremental) rc = parse_ts_arg(cmd, "START", pos[0], &start);
    if (!rc) rc = parse_ts_arg(cmd, "END", pos[incremental ? 0 : 1], &end);
    if (rc) {
        free(views);
        return rc;
    }
    mf_error err;
    mf_store *s;
    if (open_store(c, &s, &err)) {
        free(views);
        return report(&err);
    }
    progress_state ps;
    memset(&ps, 0, sizeof ps);
    ps.tty = isatty(2) != 0;
    ps.t0 = mf__now_us();
    mf_materialize_options o = {on_progress, &ps, (int)jobs};
    int r = incremental ? mf_materialize_incremental(s, end, views, nv, &o, &err)
                        : mf_materialize(s, start, end, views, nv, &o, &err);
    for (int k = 0; k < ps.nseen; k++) free(ps.seen[k].view);
    mf_store_close(s);
    free(views);
    return r ? report(&err) : 0;
}

/* -e "k=v,k2=v2": one entity row. Columns must be the same in every row. */
static int cmd_online(const cli *c, int argc, char **argv) {
    const char **refs = mf__xcalloc((size_t)argc + 1, sizeof *refs);
    const char **rows = mf__xcalloc((size_t)argc + 1, sizeof *rows);
    size_t nrefs = 0, nrows = 0;
    const char *service = NULL;
    bool full = false;
    int rc = 0;
    for (int i = 0; i < argc && !rc; i++) {
        bool missing = false;
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--entity", "-e", &missing))) rows[nrows++] = v;
        else if ((v = opt_value(argc, argv, &i, "--features", "-f", &missing))) refs[nrefs++] = v;
        else if ((v = opt_value(argc, argv, &i, "--feature-service", NULL, &missing))) service = v;
        else if (missing) rc = usage_error("get-online-features: %s needs a value", argv[i]);
        else if (strcmp(argv[i], "--full-feature-names") == 0) full = true;
        else rc = usage_error("get-online-features: unexpected argument '%s'", argv[i]);
    }
    if (!rc && !nrows) rc = usage_error("get-online-features: give entity rows with -e KEY=VALUE%s", "");
    if (!rc && !nrefs && !service)
        rc = usage_error("get-online-features: give -f VIEW:FEATURE or --feature-service NAME%s", "");
    if (!rc && nrefs && service)
        rc = usage_error("get-online-features: give -f or --feature-service, not both%s", "");
    /* split rows into columns */
    char **names = NULL;
    const char ***vals = NULL;
    size_t ncols = 0;
    char **copies = mf__xcalloc(nrows + 1, sizeof *copies);
    for (size_t r = 0; r < nrows && !rc; r++) {
        copies[r] = mf__xstrdup(rows[r]);
        size_t col = 0;
        for (char *tok = strtok(copies[r], ","); tok && !rc; tok = strtok(NULL, ","), col++) {
            char *eq = strchr(tok, '=');
            if (!eq || eq == tok || strstr(rows[r], ",,") || rows[r][0] == ',' ||
                rows[r][strlen(rows[r]) - 1] == ',') { /* strtok skips empty fields */
                rc = usage_error("get-online-features: -e takes KEY=VALUE[,KEY=VALUE], got '%s'", rows[r]);
                break;
            }
            *eq = '\0';
            if (r == 0) {
                names = mf__xrealloc(names, (ncols + 1) * sizeof *names);
                vals = mf__xrealloc(vals, (ncols + 1) * sizeof *vals);
                names[ncols] = tok;
                vals[ncols] = mf__xcalloc(nrows, sizeof **vals);
                ncols++;
            }
            if (col >= ncols || strcmp(names[col], tok) != 0) {
                rc = usage_error("get-online-features: every -e must name the same keys in the same "
                                 "order ('%s' differs)", rows[r]);
                break;
            }
            vals[col][r] = eq + 1;
        }
        if (!rc && col != ncols)
            rc = usage_error("get-online-features: every -e must name the same keys ('%s' differs)",
                             rows[r]);
    }
    mf_error err;
    mf_store *s = NULL;
    mf_online_request *req = NULL;
    mf_online_response *resp = NULL;
    int r = MF_OK;
    if (!rc) {
        r = open_store(c, &s, &err);
        req = mf_online_request_new();
        resp = mf_online_response_new();
        if (r == MF_OK)
            r = service ? mf_online_request_set_feature_service(req, service, &err)
                        : mf_online_request_set_features(req, refs, nrefs, &err);
        mf_online_request_set_full_feature_names(req, full);
        for (size_t k = 0; k < ncols && r == MF_OK; k++)
            r = mf_online_request_add_text(req, names[k], vals[k], nrows, &err);
        if (r == MF_OK) r = mf_get_online_features(s, req, resp, &err);
        if (r == MF_OK) {
            size_t len;
            const char *json = mf_online_response_json(resp, &len);
            fwrite(json, 1, len, stdout);
            putchar('\n');
        }
    }
    mf_online_response_free(resp);
    mf_online_request_free(req);
    mf_store_close(s);
    for (size_t k = 0; k < ncols; k++) free(vals[k]);
    free(vals);
    free(names);
    for (size_t i = 0; i < nrows; i++) free(copies[i]);
    free(copies);
    free(refs);
    free(rows);
    if (rc) return rc;
    return r ? report(&err) : 0;
}

static int cmd_push(const cli *c, int argc, char **argv, bool push) {
    const char *cmd = push ? "push" : "write-to-online-store";
    const char *name = NULL, *file = NULL, *to = push ? NULL : "online";
    int rc = 0;
    for (int i = 0; i < argc && !rc; i++) {
        bool missing = false;
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--file", NULL, &missing))) file = v;
        else if (push && (v = opt_value(argc, argv, &i, "--to", NULL, &missing))) to = v;
        else if (missing) rc = usage_error("%s needs a value", argv[i]);
        else if (argv[i][0] == '-') rc = usage_error("unknown option '%s'", argv[i]);
        else if (!name) name = argv[i];
        else rc = usage_error("unexpected argument '%s'", argv[i]);
    }
    if (!rc && !name) rc = usage_error(push ? "%s: missing SOURCE" : "%s: missing VIEW", cmd);
    if (!rc && !file) rc = usage_error("%s: missing --file ROWS.csv", cmd);
    mf_push_to dest = MF_PUSH_ONLINE;
    if (!rc && push) {
        if (!to) rc = usage_error("%s: missing --to online|offline|online_and_offline", cmd);
        else if (strcmp(to, "online") == 0) dest = MF_PUSH_ONLINE;
        else if (strcmp(to, "offline") == 0) dest = MF_PUSH_OFFLINE;
        else if (strcmp(to, "online_and_offline") == 0) dest = MF_PUSH_ONLINE_AND_OFFLINE;
        else rc = usage_error("push: --to is online, offline or online_and_offline, not '%s'", to);
    }
    if (rc) return rc;
    mf_error err;
    mf_store *s = NULL;
    mf_entity_df *df = NULL;
    int r = open_store(c, &s, &err);
    if (r == MF_OK) r = mf_entity_df_read_csv(file, &df, &err);
    if (r == MF_OK)
        r = push ? mf_push(s, name, df, dest, &err) : mf_write_to_online_store(s, name, df, &err);
    if (r == MF_OK)
        fprintf(stderr, "%s: %zu rows accepted (stores keep values newer than these)\n", cmd,
                mf_entity_df_nrows(df));
    mf_entity_df_free(df);
    mf_store_close(s);
    return r ? report(&err) : 0;
}

static int cmd_serve(const cli *c, int argc, char **argv) {
    const char *host = NULL, *key = NULL, *cert = NULL;
    long long port = -1, threads = -1, ttl = -1, max_body = -1;
    bool no_log = false;
    int rc = 0;
    for (int i = 0; i < argc && !rc; i++) {
        bool missing = false;
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--host", "-h", &missing))) host = v;
        else if ((v = opt_value(argc, argv, &i, "--port", "-p", &missing)))
            rc = int_arg("serve", "--port", v, 0, 65535, &port);
        else if ((v = opt_value(argc, argv, &i, "--threads", NULL, &missing)))
            rc = int_arg("serve", "--threads", v, 1, 1024, &threads);
        else if ((v = opt_value(argc, argv, &i, "--registry-ttl", NULL, &missing)))
            rc = int_arg("serve", "--registry-ttl", v, 0, 1000000000000LL, &ttl);
        else if ((v = opt_value(argc, argv, &i, "--max-body", NULL, &missing)))
            rc = int_arg("serve", "--max-body", v, 1024, 1LL << 32, &max_body);
        else if ((v = opt_value(argc, argv, &i, "--key", NULL, &missing))) key = v;
        else if ((v = opt_value(argc, argv, &i, "--cert", NULL, &missing))) cert = v;
        else if (!strcmp(argv[i], "--no-access-log")) no_log = true;
        else if (missing) rc = usage_error("serve: %s needs a value", argv[i]);
        else rc = usage_error("serve: unexpected argument '%s'", argv[i]);
    }
    if (!rc && !key != !cert) rc = usage_error("serve: give --key and --cert together%s", "");
    if (rc) return rc;
    mf_error err;
    mf_store *s = NULL;
    int r = open_store(c, &s, &err);
    if (r) return report(&err);
    const mf__config *cfg = mf__store_config(s);
    mf__server_config sc = cfg->server;
    if (host) sc.host = (char *)host;
    if (port >= 0) sc.port = (int)port;
    if (threads > 0) sc.threads = (int)threads;
    if (ttl >= 0) sc.registry_ttl_seconds = ttl;
    if (sc.registry_ttl_seconds < 0) sc.registry_ttl_seconds = cfg->registry_cache_ttl_seconds;
    if (max_body > 0) sc.max_body_bytes = max_body;
    if (no_log) sc.access_log = false;
    if (key) sc.tls_key = (char *)key, sc.tls_cert = (char *)cert;
    r = mf__serve(s, &sc, &err);
    mf_store_close(s);
    return r ? report(&err) : 0;
}

static int cmd_lua_test(int argc, char **argv) {
    if (argc < 1) return usage_error("lua-test: expected FILE...%s", "");
    int failed = 0;
    for (int i = 0; i < argc; i++) {
        mf_error err;
        fflush(stdout);
        if (mf__lua_run_file(argv[i], &err)) {
            report(&err);
            failed = 1;
        }
    }
    return failed;
}

/*---- Main --------------------------------------------------------------------*/

static int parse_level(const char *s) {
    static const char *const names[] = {"error", "warning", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0) return i;
    if (s[0] >= '0' && s[0] <= '3' && !s[1]) return s[0] - '0';
    return -1;
}

int main(int argc, char **argv) {
    /* SIGCHLD ignored is inherited across exec (from supervisors, shells):
     * the kernel would then reap the commands host.run starts before their
     * exit status can be read. The CLI owns its process: the default. */
    signal(SIGCHLD, SIG_DFL);
    cli c = {NULL, NULL, 1};
    static const struct option opts[] = {{"chdir", required_argument, 0, 'C'},
                                         {"feature-store-yaml", required_argument, 0, 'f'},
                                         {"log-level", required_argument, 0, 'L'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    opterr = 0;
    int o, at = optind; /* the element being read: optind stays on it inside "-xC" */
    while ((o = getopt_long(argc, argv, "+C:c:f:h", opts, NULL)) != -1) {
        switch (o) {
        case 'C':
        case 'c': c.chdir_to = optarg; break;
        case 'f': c.config_file = optarg; break;
        case 'L':
            c.log_level = parse_level(optarg);
            if (c.log_level < 0) return usage_error("unknown log level '%s'", optarg);
            break;
        case 'h': fputs(main_help, stdout); return 0;
        case 'V': printf("moonfeast %s\n", MF_VERSION_STRING); return 0;
        default: {
            /* a long option as written (its letter is internal); a short
             * one by its letter, which may sit inside a cluster ("-xC") */
            const char *arg = at < argc ? argv[at] : "";
            if (strncmp(arg, "--", 2) == 0) {
                if (optopt)
                    return usage_error("option '%s' needs a value, takes none, or is unknown",
                                       arg);
                return usage_error("unknown option '%s'", arg);
            }
            char name[3] = {'-', (char)optopt, 0};
            return usage_error("option '%s' needs a value or is unknown", name);
        }
        }
        at = optind;
    }
    if (optind >= argc) {
        fputs(main_help, stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    int cargc = argc - optind - 1;
    char **cargv = argv + optind + 1;
    cur_cmd = cmd;
    /* global options after the command (as Feast takes them): -C/-c/--chdir,
     * --feature-store-yaml and --log-level; -f stays the command's (the
     * feature references of the retrieval commands) */
    int kept = 0;
    for (int i = 0; i < cargc; i++) {
        const char *a = cargv[i], *val = NULL;
        int which = 0; /* 1 chdir, 2 config, 3 log level */
        static const char *const longs[] = {"--chdir", "--feature-store-yaml", "--log-level"};
        if (!strcmp(a, "-C") || !strcmp(a, "-c")) which = 1;
        for (int k = 0; k < 3 && !which; k++) {
            size_t n = strlen(longs[k]);
            if (!strncmp(a, longs[k], n) && (a[n] == '\0' || a[n] == '=')) {
                which = k + 1;
                if (a[n] == '=') val = a + n + 1;
            }
        }
        if (!which || !strcmp(cmd, "lua-test")) {
            cargv[kept++] = cargv[i];
            continue;
        }
        if (!val) {
            if (i + 1 >= cargc) return usage_error("option '%s' needs a value", a);
            val = cargv[++i];
        }
        if (which == 1) c.chdir_to = val;
        else if (which == 2) c.config_file = val;
        else if ((c.log_level = parse_level(val)) < 0)
            return usage_error("unknown log level '%s'", val);
    }
    cargc = kept;
    mf__log_level = c.log_level;

    /* serve takes -h HOST: only --help asks for its help */
    bool help = strcmp(cmd, "serve") == 0
                    ? (cargc > 0 && strcmp(cargv[0], "--help") == 0) ||
                          (cargc == 1 && strcmp(cargv[0], "-h") == 0)
                    : wants_help(cargc, cargv);
    for (int i = 0; strcmp(cmd, "serve") == 0 && i < cargc && !help; i++)
        help = strcmp(cargv[i], "--help") == 0;
    if (help) {
        const char *h = help_for(cmd);
        for (int k = 0; !h && k < MF_KIND_COUNT; k++)
            if (strcmp(cmd, kind_cmd[k]) == 0)
                h = cargc && strcmp(cargv[0], "describe") == 0 ? help_for("describe")
                                                               : help_for("list");
        if (!h) {
            cur_cmd = NULL; /* no help to point at */
            return usage_error("unknown command '%s'", cmd);
        }
        fputs(h, stdout);
        return 0;
    }
    if (c.chdir_to && chdir(c.chdir_to) != 0) {
        fprintf(stderr, "%s: error: cannot change to directory %s: %s\n", prog, c.chdir_to,
                strerror(errno));
        return 1;
    }
    if (strcmp(cmd, "init") == 0) return cmd_init(&c, cargc, cargv);
    if (strcmp(cmd, "apply") == 0) return cmd_apply(&c, cargc, cargv, true);
    if (strcmp(cmd, "plan") == 0) return cmd_apply(&c, cargc, cargv, false);
    if (strcmp(cmd, "delete") == 0) return cmd_delete(&c, cargc, cargv);
    if (strcmp(cmd, "teardown") == 0) return cmd_teardown(&c, cargc, cargv);
    if (strcmp(cmd, "registry-dump") == 0) return cmd_dump(&c, cargc, cargv);
    if (strcmp(cmd, "registry") == 0) return cmd_registry(cargc, cargv);
    if (strcmp(cmd, "get-historical-features") == 0) return cmd_historical(&c, cargc, cargv);
    if (strcmp(cmd, "materialize") == 0) return cmd_materialize(&c, cargc, cargv, false);
    if (strcmp(cmd, "materialize-incremental") == 0) return cmd_materialize(&c, cargc, cargv, true);
    if (strcmp(cmd, "get-online-features") == 0) return cmd_online(&c, cargc, cargv);
    if (strcmp(cmd, "push") == 0) return cmd_push(&c, cargc, cargv, true);
    if (strcmp(cmd, "write-to-online-store") == 0) return cmd_push(&c, cargc, cargv, false);
    if (strcmp(cmd, "lua-test") == 0) return cmd_lua_test(cargc, cargv);
    if (strcmp(cmd, "to-parquet") == 0) {
        if (cargc != 2) return usage_error("to-parquet: give IN.csv and OUT.parquet%s", "");
        mf_error err;
        return mf__pq_from_csv(cargv[0], cargv[1], &err) ? report(&err) : 0;
    }
    if (strcmp(cmd, "serve") == 0) return cmd_serve(&c, cargc, cargv);
    if (strcmp(cmd, "version") == 0) {
        int u = no_args("version", cargc, cargv);
        if (u) return u;
        printf("moonfeast %s\n", MF_VERSION_STRING);
        return 0;
    }
    for (int k = 0; k < MF_KIND_COUNT; k++)
        if (strcmp(cmd, kind_cmd[k]) == 0) return cmd_kind(&c, k, cargc, cargv);
    cur_cmd = NULL; /* no help to point at */
    return usage_error("unknown command '%s'", cmd);
}

/*
 * init.c — `moonfeast init`: a ready-to-apply feature repo.
 *
 * Writes feature_store.yaml, driver_repo.lua (the quickstart definitions)
 * and data/driver_stats.csv. Templates differ only in feature_store.yaml:
 * `local` keeps online values in a SQLite file, `redis` in a Redis server.
 * The sample data: 10 drivers, one row per driver every 15 minutes
 * over 5 days from 2025-01-01 (4800 rows), values from a fixed-seed
 * generator so that every init writes the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_internal.h"

/* feature_store.yaml per template; %s is the project. */
static const char *const yaml_local =
    "# moonfeast configuration: see docs/config.md\n"
    "project: %s\n"
    "provider: local\n"
    "registry: data/registry.db\n"
    "online_store:\n"
    "  type: sqlite\n"
    "  path: data/online.db\n"
    "offline_store:\n"
    "  type: file\n"
    "entity_key_serialization_version: 3\n";

static const char *const yaml_redis =
    "# moonfeast configuration: see docs/config.md\n"
    "project: %s\n"
    "provider: local\n"
    "registry: data/registry.db\n"
    "online_store:\n"
    "  type: redis\n"
    "  # host:port or unix:/path/redis.sock; add ,password=${REDIS_PASSWORD}\n"
    "  # when the server asks for one\n"
    "  connection_string: \"localhost:6379\"\n"
    "offline_store:\n"
    "  type: file\n"
    "entity_key_serialization_version: 3\n";

static const struct {
    const char *name;
    const char *yaml;
} templates[] = {
    {"local", yaml_local},
    {"redis", yaml_redis},
};

static const char *const defs_template =
    "-- Feature definitions of the quickstart. `moonfeast apply` registers them.\n"
    "-- Reference: docs/definitions.md\n"
    "\n"
    "local driver = entity {\n"
    "  name = \"driver\",\n"
    "  join_keys = { \"driver_id\" },\n"
    "  value_type = Int64,\n"
    "  description = \"A driver of the ride-hailing service\",\n"
    "}\n"
    "\n"
    "local driver_stats_source = file_source {\n"
    "  name = \"driver_hourly_stats_source\",\n"
    "  path = \"data/driver_stats.csv\",\n"
    "  timestamp_field = \"event_timestamp\",\n"
    "  created_timestamp_column = \"created\",\n"
    "}\n"
    "\n"
    "local driver_stats = feature_view {\n"
    "  name = \"driver_hourly_stats\",\n"
    "  entities = { driver },\n"
    "  ttl = days(1),\n"
    "  schema = {\n"
    "    field { name = \"conv_rate\", dtype = Float32 },\n"
    "    field { name = \"acc_rate\", dtype = Float32 },\n"
    "    field { name = \"avg_daily_trips\", dtype = Int64, description = \"Average daily trips\" },\n"
    "  },\n"
    "  source = driver_stats_source,\n"
    "  online = true,\n"
    "  tags = { team = \"driver_performance\" },\n"
    "}\n"
    "\n"
    "-- Fresh values can be pushed straight to the online store.\n"
    "local driver_stats_push_source = push_source {\n"
    "  name = \"driver_stats_push_source\",\n"
    "  batch_source = driver_stats_source,\n"
    "}\n"
    "\n"
    "local driver_stats_fresh = feature_view {\n"
    "  name = \"driver_hourly_stats_fresh\",\n"
    "  entities = { driver },\n"
    "  ttl = days(1),\n"
    "  schema = {\n"
    "    field { name = \"conv_rate\", dtype = Float32 },\n"
    "    field { name = \"acc_rate\", dtype = Float32 },\n"
    "    field { name = \"avg_daily_trips\", dtype = Int64 },\n"
    "  },\n"
    "  source = driver_stats_push_source,\n"
    "  tags = { team = \"driver_performance\" },\n"
    "}\n"
    "\n"
    "-- Values supplied with each request.\n"
    "local input_request = request_source {\n"
    "  name = \"vals_to_add\",\n"
    "  schema = {\n"
    "    field { name = \"val_to_add\", dtype = Int64 },\n"
    "    field { name = \"val_to_add_2\", dtype = Int64 },\n"
    "  },\n"
    "}\n"
    "\n"
    "-- Computed at request time from stored and request values.\n"
    "local transformed_conv_rate = on_demand_feature_view {\n"
    "  name = \"transformed_conv_rate\",\n"
    "  sources = { driver_stats, input_request },\n"
    "  schema = {\n"
    "    field { name = \"conv_rate_plus_val1\", dtype = Float64 },\n"
    "    field { name = \"conv_rate_plus_val2\", dtype = Float64 },\n"
    "  },\n"
    "  transform = function(row)\n"
    "    -- a feature with no value (no row in the view's ttl) arrives as nil\n"
    "    if row.conv_rate == nil then\n"
    "      return { conv_rate_plus_val1 = null, conv_rate_plus_val2 = null }\n"
    "    end\n"
    "    return {\n"
    "      conv_rate_plus_val1 = row.conv_rate + row.val_to_add,\n"
    "      conv_rate_plus_val2 = row.conv_rate + row.val_to_add_2,\n"
    "    }\n"
    "  end,\n"
    "}\n"
    "\n"
    "feature_service {\n"
    "  name = \"driver_activity_v1\",\n"
    "  features = { driver_stats:select { \"conv_rate\" }, transformed_conv_rate },\n"
    "}\n"
    "\n"
    "feature_service {\n"
    "  name = \"driver_activity_v2\",\n"
    "  features = { driver_stats },\n"
    "}\n";

/* xorshift64*: the sample data's only source of randomness. */
static uint64_t next_rand(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Create path (never over a file, nor through a symbolic link: O_EXCL)
 * holding text. */
static int write_text(const char *path, const char *text, size_t len, mf_error *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        return mf__err(err, e == EEXIST ? MF_EREQUEST : MF_EIO, "cannot create %s: %s", path,
                       e == EEXIST ? "it exists; not overwriting it" : strerror(e));
    }
    bool ok = fwrite(text, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok) return mf__err(err, MF_EIO, "cannot write %s", path);
    return MF_OK;
}

static void sample_csv(mf__buf *b) {
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    const int64_t start = 1735689600; /* 2025-01-01T00:00:00Z */
    mf__buf_puts(b, "driver_id,event_timestamp,created,conv_rate,acc_rate,avg_daily_trips\n");
    for (int step = 0; step < 5 * 96; step++) {
        int64_t ts = start + (int64_t)step * 900;
        for (int d = 0; d < 10; d++) {
            char t1[MF__TS_BUFLEN], t2[MF__TS_BUFLEN];
            mf__ts_format(ts * 1000000, t1);
            mf__ts_format((ts + 60 + (int64_t)(next_rand(&seed) % 600)) * 1000000, t2);
            double conv = (double)(next_rand(&seed) % 1000000) / 1e6;
            double acc = (double)(next_rand(&seed) % 1000000) / 1e6;
            int trips = (int)(next_rand(&seed) % 1000);
            mf__buf_printf(b, "%d,%s,%s,%.6f,%.6f,%d\n", 1001 + d, t1, t2, conv, acc, trips);
        }
    }
}

int mf_init_repo(const char *dir, const char *project, mf_error *err) {
    return mf_init_repo_template(dir, project, NULL, err);
}

int mf_init_repo_template(const char *dir, const char *project, const char *template_name,
                          mf_error *err) {
    const char *yaml_template = NULL;
    if (!template_name) template_name = "local";
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
        if (strcmp(templates[i].name, template_name) == 0) yaml_template = templates[i].yaml;
    if (!yaml_template)
        return mf__err(err, MF_EUSAGE, "unknown template '%s' (expected one of: local, redis)",
                       template_name);
    if (!dir || !dir[0])
        return mf__err(err, MF_EUSAGE, "the repo's directory name is empty");
    char *base = NULL;
    if (!project) {
        const char *slash = strrchr(dir, '/');
        while (slash && slash[1] == '\0' && slash > dir) {
            /* trailing slash: take the previous component */
            const char *p = slash - 1;
            while (p > dir && *p != '/') p--;
            base = mf__xstrndup(*p == '/' ? p + 1 : p, (size_t)(slash - (*p == '/' ? p + 1 : p)));
            break;
        }
        if (!base) base = mf__xstrdup(slash ? slash + 1 : dir);
        for (char *c = base; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
                *c = '_';
        project = base;
    }
    int rc = MF_OK;
    for (const char *c = project; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            rc = mf__err(err, MF_EUSAGE, "project name '%s' may hold only letters, digits and _",
                         project);
    if (!project[0]) rc = mf__err(err, MF_EUSAGE, "project name is empty");
    char *yaml = mf__path_join(dir, "feature_store.yaml");
    char *defs = mf__path_join(dir, "driver_repo.lua");
    char *csv = mf__path_join(dir, "data/driver_stats.csv");
    /* nothing init writes may be there already (lstat: a dangling link
     * too): the definitions and the data are the user's work */
    struct stat st;
    if (rc == MF_OK && lstat(yaml, &st) == 0)
        rc = mf__err(err, MF_EREQUEST, "%s already exists; not overwriting a feature repo", yaml);
    if (rc == MF_OK && lstat(defs, &st) == 0)
        rc = mf__err(err, MF_EREQUEST, "%s already exists; not overwriting it", defs);
    if (rc == MF_OK && lstat(csv, &st) == 0)
        rc = mf__err(err, MF_EREQUEST, "%s already exists; not overwriting it", csv);
    if (rc == MF_OK) rc = mf__mkdirs(csv, true, err);
    if (rc == MF_OK) {
        char *text = mf__xasprintf(yaml_template, project);
        rc = write_text(yaml, text, strlen(text), err);
        free(text);
    }
    if (rc == MF_OK) rc = write_text(defs, defs_template, strlen(defs_template), err);
    if (rc == MF_OK) {
        mf__buf b;
        mf__buf_init(&b);
        sample_csv(&b);
        rc = write_text(csv, b.data, b.len, err);
        mf__buf_free(&b);
    }
    free(yaml);
    free(defs);
    free(csv);
    free(base);
    return rc;
}

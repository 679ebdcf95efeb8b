/* gateway/relay/routing: the table loaded from real SQL rows, tiers, the pick
 * (attempt → tier, tried, skip, fallbacks), the reference's weighted draw
 * (exact arithmetic and distribution), multi-key channels, model_mapping
 * chains, status_code_mapping, bad JSON columns and models per group.
 *
 * Runs against GW_TEST_DSN when set (a THROWAWAY MySQL/MariaDB or PostgreSQL
 * database: channels and abilities are emptied), else against a fresh SQLite
 * file in a temp dir. tests/integration/test_routing_dbs.py runs this binary
 * per dialect. Every random draw uses a fixed seed, so runs are repeatable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gateway/core/alloc.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"
#include "gateway/relay/routing.h"
#include "gateway/relay/routing_impl.h"

static const char *dsn;         /* NULL: SQLite */
static char tmpdir[64], dbpath[128];
static gw_store *st;

/* ---- fixtures ---- */

struct spec {
    long long id;
    int status;                 /* 0 means 1 */
    const char *group, *models; /* comma lists, as the channel stores them */
    long long priority;
    unsigned weight;
    const char *key;            /* NULL: "sk-<id>" */
    const char *info;           /* channel_info */
    const char *model_mapping, *status_code_mapping, *param_override, *header_override;
    const char *setting, *settings;
    int ability_off;            /* abilities written with enabled = FALSE */
    int ability_on;             /* enabled = TRUE even though status != 1 */
    int null_priority;
};

static void ok(int rc, const char *what)
{
    if (rc != GW_OK)
        fail_msg("%s: %s (%s)", what, gw_strerror(rc), gw_store_errmsg(st));
}

static gw_sql_arg text_or_null(const char *s)
{
    return s ? GW_SQL_TEXT(s) : GW_SQL_NULL;
}

static void reset(void)
{
    ok(gw_store_exec(st, "DELETE FROM abilities", NULL, 0, NULL), "delete abilities");
    ok(gw_store_exec(st, "DELETE FROM channels", NULL, 0, NULL), "delete channels");
}

/* Inserts the channels and, like the management API, the abilities as the
 * cross product of each channel's groups and models. */
static void insert(const struct spec *s, size_t n)
{
    reset();
    for (size_t i = 0; i < n; i++) {
        char key[32], name[32];
        snprintf(key, sizeof key, "sk-%lld", s[i].id);
        snprintf(name, sizeof name, "ch%lld", s[i].id);
        const char *group = s[i].group ? s[i].group : "default";
        gw_sql_arg a[] = {
            GW_SQL_INT(s[i].id), GW_SQL_INT(1), GW_SQL_TEXT(s[i].key ? s[i].key : key),
            GW_SQL_INT(s[i].status ? s[i].status : 1), GW_SQL_TEXT(name),
            GW_SQL_TEXT("https://up.example"), GW_SQL_TEXT("2024-01-01"), GW_SQL_TEXT(group),
            GW_SQL_TEXT(s[i].models), s[i].null_priority ? GW_SQL_NULL : GW_SQL_INT(s[i].priority),
            GW_SQL_INT(s[i].weight), GW_SQL_INT(1), GW_SQL_TEXT("t1"),
            text_or_null(s[i].model_mapping), text_or_null(s[i].status_code_mapping),
            text_or_null(s[i].param_override), text_or_null(s[i].header_override),
            text_or_null(s[i].setting), text_or_null(s[i].settings), text_or_null(s[i].info),
        };
        ok(gw_store_exec(st,
                         "INSERT INTO channels (id, type, `key`, status, name, base_url, other, "
                         "`group`, models, priority, weight, auto_ban, tag, model_mapping, "
                         "status_code_mapping, param_override, header_override, setting, "
                         "settings, channel_info) VALUES "
                         "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         a, sizeof a / sizeof a[0], NULL),
           "insert channel");
        gw_str gr = gw_str_c(group), g;
        while (gw_str_split(&gr, ',', &g)) {
            gw_str mr = gw_str_c(s[i].models), m;
            while (gw_str_split(&mr, ',', &m)) {
                gw_sql_arg b[] = { GW_SQL_TEXTN(g.base, g.len), GW_SQL_TEXTN(m.base, m.len),
                                   GW_SQL_INT(s[i].id), GW_SQL_INT(s[i].priority),
                                   GW_SQL_INT(s[i].weight) };
                const char *sql = s[i].ability_off || (s[i].status && s[i].status != 1 && !s[i].ability_on)
                    ? "INSERT INTO abilities (`group`, model, channel_id, enabled, priority, "
                      "weight) VALUES (?, ?, ?, FALSE, ?, ?)"
                    : "INSERT INTO abilities (`group`, model, channel_id, enabled, priority, "
                      "weight) VALUES (?, ?, ?, TRUE, ?, ?)";
                ok(gw_store_exec(st, sql, b, 5, NULL), "insert ability");
            }
        }
    }
}

static gw_routing *load(void)
{
    gw_routing *t = NULL;
    char err[256] = "";
    int rc = gw_routing_load(st, &t, err, sizeof err);
    if (rc != GW_OK)
        fail_msg("gw_routing_load: %s: %s", gw_strerror(rc), err);
    assert_non_null(t);
    return t;
}

static gw_routing *setup_table(const struct spec *s, size_t n)
{
    insert(s, n);
    return load();
}
#define SETUP(arr) setup_table((arr), sizeof(arr) / sizeof((arr)[0]))

static long long pick_id(const gw_routing *t, const char *group, const char *model, int attempt,
                         const long long *tried, int ntried, gw_routing_skip_cb skip, void *data,
                         uint64_t *rng)
{
    struct gw_channel *c = gw_routing_pick(t, group, model, attempt, tried, ntried, skip, data,
                                           rng);
    return c ? c->id : 0;
}

static int group_setup(void **state)
{
    char err[256] = "";
    gw_json_init();     /* the test's own json_loads must use gw_malloc too */
    dsn = getenv("GW_TEST_DSN");
    if (dsn && *dsn == '\0')
        dsn = NULL;
    if (dsn == NULL) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/gw-route-XXXXXX");
        if (mkdtemp(tmpdir) == NULL)
            return -1;
        snprintf(dbpath, sizeof dbpath, "%s/test.db", tmpdir);
    }
    if (gw_store_open(dsn, dbpath, &st, err, sizeof err) != GW_OK ||
        gw_store_migrate(st, NULL, err, sizeof err) != GW_OK) {
        fprintf(stderr, "open/migrate: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char path[160];
    gw_store_close(st);
    st = NULL;
    if (dsn == NULL) {
        static const char *const sfx[] = { "", "-wal", "-shm" };
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/test.db%s", tmpdir, sfx[i]);
            unlink(path);
        }
        rmdir(tmpdir);
    }
    return 0;
}

/* ---- tiers and picks ---- */

static const struct spec tiered[] = {
    { .id = 1, .models = "m", .priority = 10 },
    { .id = 2, .models = "m", .priority = 10 },
    { .id = 3, .models = "m,other", .priority = 5 },
    { .id = 4, .models = "m", .priority = 0 },
    { .id = 5, .models = "m", .priority = 5, .status = 2 },        /* manual off */
    { .id = 6, .models = "m", .priority = 7, .ability_off = 1 },   /* ability off */
    { .id = 7, .models = "m", .priority = 20, .status = 3 },       /* auto off */
    { .id = 8, .models = "m", .priority = 30, .status = 3, .ability_on = 1 }, /* stale */
};

static void test_tiers(void **state)
{
    gw_routing *t = SETUP(tiered);
    const struct gw__route_group *g = &t->groups[0];
    assert_int_equal(t->ngroups, 1);
    assert_string_equal(g->name, "default");
    assert_int_equal(g->nroutes, 2);
    const struct gw__route *r = &g->routes[0];
    assert_string_equal(r->model, "m");
    assert_int_equal(r->nchans, 4);
    assert_int_equal(r->ntiers, 3);
    static const long long want_ids[] = { 1, 2, 3, 4 };
    static const size_t want_tier[] = { 0, 2, 3, 4 };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(r->chans[i]->id, want_ids[i]);
    for (size_t i = 0; i <= 3; i++)
        assert_int_equal(r->tier[i], want_tier[i]);
    /* every channel stays reachable by id, whatever its status */
    assert_int_equal(t->nchannels, 8);
    assert_int_equal(gw_routing_channel(t, 5)->status, 2);
    assert_int_equal(gw_routing_channel(t, 7)->status, 3);
    assert_null(gw_routing_channel(t, 99));
    assert_int_equal(gw_routing_nbad(t), 0);
    gw_routing_free(t);
}

static int veto(long long id, void *data)
{
    const long long *ids = data;
    for (; *ids; ids++)
        if (*ids == id)
            return 1;
    return 0;
}

static void test_pick_table(void **state)
{
    /* allowed: the ids a pick may return (0 = none); every listed id must
     * come up in 400 draws. */
    static const struct {
        const char *group, *model;
        int attempt;
        long long tried[4];
        int ntried;
        long long vetoed[4];
        long long allowed[3];
    } cases[] = {
        { "default", "m", 0, {0}, 0, {0}, { 1, 2 } },
        { "default", "m", -3, {0}, 0, {0}, { 1, 2 } },
        { "default", "m", 1, {0}, 0, {0}, { 3 } },
        { "default", "m", 2, {0}, 0, {0}, { 4 } },
        { "default", "m", 9, {0}, 0, {0}, { 4 } },                    /* clamped */
        { "default", "m", 0, { 1 }, 1, {0}, { 2 } },                  /* tried */
        { "default", "m", 0, { 1, 2 }, 2, {0}, { 3 } },               /* lower tier */
        { "default", "m", 1, { 3 }, 1, {0}, { 4 } },                  /* lower first */
        { "default", "m", 2, { 4 }, 1, {0}, { 3 } },                  /* then higher */
        { "default", "m", 2, { 4, 3 }, 2, {0}, { 1, 2 } },
        { "default", "m", 1, { 3, 4, 1 }, 3, {0}, { 2 } },
        { "default", "m", 0, { 1, 2, 3, 4 }, 4, {0}, { 0 } },         /* all tried */
        { "default", "m", 0, {0}, 0, { 1 }, { 2 } },                  /* skip veto */
        { "default", "m", 0, { 2 }, 1, { 1, 3 }, { 4 } },
        { "default", "m", 0, {0}, 0, { 1, 2, 3, 4 }, { 0 } },
        { "default", "other", 0, {0}, 0, {0}, { 3 } },                /* single */
        { "default", "other", 5, {0}, 0, {0}, { 3 } },
        { "default", "other", 0, { 3 }, 1, {0}, { 0 } },
        { "default", "none", 0, {0}, 0, {0}, { 0 } },                 /* no model */
        { "vip", "m", 0, {0}, 0, {0}, { 0 } },                        /* no group */
        { NULL, "m", 0, {0}, 0, {0}, { 0 } },
    };
    gw_routing *t = SETUP(tiered);
    uint64_t rng = 42;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int seen[3] = { 0 }, na = 1;
        while (na < 3 && cases[i].allowed[na])
            na++;
        for (int k = 0; k < 400; k++) {
            long long id = pick_id(t, cases[i].group, cases[i].model, cases[i].attempt,
                                   cases[i].tried, cases[i].ntried,
                                   cases[i].vetoed[0] ? veto : NULL,
                                   (void *)cases[i].vetoed, &rng);
            int j = 0;
            while (j < na && cases[i].allowed[j] != id)
                j++;
            if (j == na)
                fail_msg("case %zu: picked %lld", i, id);
            seen[j]++;
        }
        for (int j = 0; j < na; j++)
            if (!seen[j])
                fail_msg("case %zu: %lld never picked", i, cases[i].allowed[j]);
    }
    gw_routing_free(t);
}

static void test_empty_table(void **state)
{
    reset();
    gw_routing *t = load();
    uint64_t rng = 1;
    size_t n = 7;
    assert_null(gw_routing_pick(t, "default", "m", 0, NULL, 0, NULL, NULL, &rng));
    assert_null(gw_routing_models(t, "default", &n));
    assert_int_equal(n, 0);
    assert_null(gw_routing_channel(t, 1));
    gw_routing_free(t);
    gw_routing_free(NULL);
}

/* ---- the weighted draw ---- */

/* Exact arithmetic: the pick must be the channel the reference's walk gives
 * for the same r, and consume exactly one draw from the rng. */
static void test_draw_exact(void **state)
{
    static const struct {
        unsigned w[4];
        int n;
        uint64_t total, cost[4];
    } cases[] = {
        { { 1, 3 }, 2, 400, { 100, 300 } },               /* sum/n = 2 < 10: ×100 */
        { { 0, 0, 0 }, 3, 300, { 100, 100, 100 } },       /* all zero: 100 each */
        { { 0, 5 }, 2, 500, { 0, 500 } },                 /* weight 0 never wins */
        { { 20, 30 }, 2, 50, { 20, 30 } },                /* sum/n = 25: as is */
        { { 9, 10 }, 2, 1900, { 900, 1000 } },            /* 19/2 = 9 (integer) */
        { { 10, 10, 0 }, 3, 2000, { 1000, 1000, 0 } },    /* 20/3 = 6 */
        { { 30, 0, 0 }, 3, 30, { 30, 0, 0 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct spec s[4];
        memset(s, 0, sizeof s);
        for (int j = 0; j < cases[i].n; j++)
            s[j] = (struct spec){ .id = j + 1, .models = "m", .weight = cases[i].w[j] };
        gw_routing *t = setup_table(s, (size_t)cases[i].n);
        uint64_t rng = 0x1234567 + i;
        for (int k = 0; k < 2000; k++) {
            uint64_t probe = rng, r = gw_rand_below(&probe, cases[i].total);
            long long want = 0;
            for (int j = 0; j < cases[i].n && !want; j++) {
                if (r < cases[i].cost[j])
                    want = j + 1;
                else
                    r -= cases[i].cost[j];
            }
            long long got = pick_id(t, "default", "m", 0, NULL, 0, NULL, NULL, &rng);
            if (got != want)
                fail_msg("case %zu draw %d: got %lld want %lld", i, k, got, want);
            assert_true(rng == probe);
        }
        gw_routing_free(t);
    }
}

static void test_draw_distribution(void **state)
{
    static const struct {
        unsigned w[3];
        int n;
        double share[3];     /* expected fraction, ±1.5 points */
    } cases[] = {
        { { 1, 3 }, 2, { 0.25, 0.75 } },
        { { 0, 0, 0 }, 3, { 1 / 3.0, 1 / 3.0, 1 / 3.0 } },
        { { 0, 7 }, 2, { 0.0, 1.0 } },
        { { 50, 50, 100 }, 3, { 0.25, 0.25, 0.5 } },
        { { 0, 1, 0 }, 3, { 0.0, 1.0, 0.0 } },
    };
    const int draws = 100000;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct spec s[3];
        int count[3] = { 0 };
        memset(s, 0, sizeof s);
        for (int j = 0; j < cases[i].n; j++)
            s[j] = (struct spec){ .id = j + 1, .models = "m", .weight = cases[i].w[j] };
        gw_routing *t = setup_table(s, (size_t)cases[i].n);
        uint64_t rng = 20240501 + i;
        for (int k = 0; k < draws; k++) {
            long long id = pick_id(t, "default", "m", 0, NULL, 0, NULL, NULL, &rng);
            assert_true(id >= 1 && id <= cases[i].n);
            count[id - 1]++;
        }
        for (int j = 0; j < cases[i].n; j++) {
            double got = (double)count[j] / draws;
            if (got < cases[i].share[j] - 0.015 || got > cases[i].share[j] + 0.015)
                fail_msg("case %zu channel %d: share %.4f, want %.4f", i, j + 1, got,
                         cases[i].share[j]);
            if (cases[i].share[j] == 0.0 && count[j] != 0)
                fail_msg("case %zu channel %d: weight 0 won %d times", i, j + 1, count[j]);
        }
        gw_routing_free(t);
    }
}

/* The draw runs over the channels left after tried and skip: weight 0 wins
 * once its positive rivals are gone. */
static void test_draw_after_exclusion(void **state)
{
    static const struct spec s[] = {
        { .id = 1, .models = "m", .weight = 0 },
        { .id = 2, .models = "m", .weight = 5 },
        { .id = 3, .models = "m", .weight = 0 },
    };
    gw_routing *t = SETUP(s);
    uint64_t rng = 9;
    long long tried[] = { 2 };
    int seen[4] = { 0 };
    for (int k = 0; k < 1000; k++) {
        assert_int_equal(pick_id(t, "default", "m", 0, NULL, 0, NULL, NULL, &rng), 2);
        seen[pick_id(t, "default", "m", 0, tried, 1, NULL, NULL, &rng)]++;
    }
    assert_int_equal(seen[2], 0);
    assert_true(seen[1] > 400 && seen[3] > 400);
    gw_routing_free(t);
}

/* ---- model name fallback ---- */

static void test_matching_name(void **state)
{
    static const struct { const char *in, *out; } cases[] = {
        { "gpt-4-gizmo-g-abc", "gpt-4-gizmo-*" },
        { "gpt-4-gizmo", "gpt-4-gizmo-*" },
        { "gpt-4o-gizmo-g-x", "gpt-4o-gizmo-*" },
        { "gpt-4o", "gpt-4o" },
        { "gemini-2.5-flash-thinking-1024", "gemini-2.5-flash-thinking-*" },
        { "gemini-2.5-flash-lite-thinking-512", "gemini-2.5-flash-lite-thinking-*" },
        { "gemini-2.5-flash-lite-preview-thinking-8", "gemini-2.5-flash-lite-thinking-*" },
        { "gemini-2.5-pro-thinking-128", "gemini-2.5-pro-thinking-*" },
        { "gemini-2.5-pro", "gemini-2.5-pro" },
        { "gemini-2.5-flash-nothinking", "gemini-2.5-flash-nothinking" },
        { "gemini-2.0-flash-thinking-exp", "gemini-2.0-flash-thinking-exp" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(gw_model_matching_name(cases[i].in), cases[i].out);
    assert_true(gw_model_matching_name(cases[0].in) != cases[0].in);
    assert_ptr_equal(gw_model_matching_name(cases[3].in), cases[3].in);

    static const struct spec s[] = {
        { .id = 1, .models = "gpt-4-gizmo-*,gemini-2.5-pro-thinking-*" },
        { .id = 2, .models = "gpt-4-gizmo-exact" },
    };
    gw_routing *t = SETUP(s);
    uint64_t rng = 3;
    assert_int_equal(pick_id(t, "default", "gpt-4-gizmo-g-1", 0, NULL, 0, NULL, NULL, &rng), 1);
    assert_int_equal(pick_id(t, "default", "gpt-4-gizmo-exact", 0, NULL, 0, NULL, NULL, &rng), 2);
    /* the exact bucket exists: no fallback once it is exhausted */
    long long tried[] = { 2 };
    assert_int_equal(pick_id(t, "default", "gpt-4-gizmo-exact", 0, tried, 1, NULL, NULL, &rng),
                     0);
    assert_int_equal(pick_id(t, "default", "gemini-2.5-pro-thinking-9", 0, NULL, 0, NULL, NULL,
                             &rng), 1);
    assert_int_equal(pick_id(t, "default", "gemini-2.5-pro", 0, NULL, 0, NULL, NULL, &rng), 0);
    gw_routing_free(t);
}

/* ---- columns, keys ---- */

static void test_columns(void **state)
{
    static const struct spec s[] = {
        { .id = 1, .group = "default,vip", .models = "a,b", .priority = -5, .weight = 7,
          .key = "  sk-single\n", .model_mapping = "{\"a\":\"b\"}",
          .status_code_mapping = "{\"429\":\"500\"}", .param_override = "{\"temperature\":0}",
          .header_override = "{\"X-A\":\"1\"}", .setting = "{\"proxy\":\"http://p:1\"}",
          .settings = "{\"allow_service_tier\":true}" },
        { .id = 2, .models = "a", .null_priority = 1, .model_mapping = "",
          .status_code_mapping = "{}", .param_override = "null", .setting = "  " },
    };
    gw_routing *t = SETUP(s);
    struct gw_channel *c = gw_routing_channel(t, 1);
    assert_non_null(c);
    assert_int_equal(c->type, 1);
    assert_int_equal(c->status, 1);
    assert_string_equal(c->name, "ch1");
    assert_string_equal(c->base_url, "https://up.example");
    assert_string_equal(c->other, "2024-01-01");
    assert_string_equal(c->openai_organization, "");
    assert_string_equal(c->group, "default,vip");
    assert_string_equal(c->models, "a,b");
    assert_string_equal(c->tag, "t1");
    assert_int_equal(c->priority, -5);
    assert_int_equal(c->weight, 7);
    assert_int_equal(c->auto_ban, 1);
    assert_int_equal(c->multi_key, 0);
    assert_int_equal(c->nkeys, 1);
    assert_string_equal(c->keys[0], "sk-single");
    assert_string_equal(json_string_value(json_object_get(c->model_mapping, "a")), "b");
    assert_int_equal(gw_status_map(c->status_code_mapping, 429), 500);
    assert_true(json_is_integer(json_object_get(c->param_override, "temperature")));
    assert_string_equal(json_string_value(json_object_get(c->header_override, "X-A")), "1");
    assert_string_equal(json_string_value(json_object_get(c->setting, "proxy")), "http://p:1");
    assert_true(json_is_true(json_object_get(c->settings, "allow_service_tier")));
    c = gw_routing_channel(t, 2);
    assert_int_equal(c->priority, 0);
    assert_null(c->model_mapping);
    assert_null(c->status_code_mapping);
    assert_null(c->param_override);
    assert_null(c->header_override);
    assert_null(c->setting);
    assert_null(c->settings);
    /* channel 1 (priority -5) sits below channel 2 (NULL → 0) */
    uint64_t rng = 5;
    assert_int_equal(pick_id(t, "default", "a", 0, NULL, 0, NULL, NULL, &rng), 2);
    assert_int_equal(pick_id(t, "default", "a", 1, NULL, 0, NULL, NULL, &rng), 1);
    assert_int_equal(pick_id(t, "vip", "b", 0, NULL, 0, NULL, NULL, &rng), 1);
    gw_routing_free(t);
}

static void test_bad_json(void **state)
{
    int sqlite = gw_store_kind(st) == GW_DB_SQLITE;
    /* MySQL and PostgreSQL check their JSON-typed channel_info themselves. */
    struct spec s[] = {
        { .id = 1, .models = "m", .model_mapping = "{\"a\":" },
        { .id = 2, .models = "m", .param_override = "[1, 2]" },
        { .id = 3, .models = "m", .setting = "\"proxy\"" },
        { .id = 4, .models = "m", .status_code_mapping = "{\"429\":\"500\"} x" },
        { .id = 5, .models = "m,n" },
        { .id = 6, .models = "m", .header_override = "{{" },
        { .id = 7, .models = "m", .settings = "12" },
        { .id = 8, .models = "m", .info = "{\"is_multi_key\":" },
    };
    static const struct { long long id; const char *prefix; } want[] = {
        { 1, "model_mapping: invalid JSON" },
        { 2, "param_override: not a JSON object" },
        { 3, "setting: invalid JSON" },
        { 4, "status_code_mapping: invalid JSON" },
        { 6, "header_override: invalid JSON" },
        { 7, "settings: invalid JSON" },
        { 8, "channel_info: invalid JSON" },
    };
    gw_routing *t = setup_table(s, sqlite ? 8 : 7);
    size_t nwant = sqlite ? 7 : 6;
    assert_int_equal(gw_routing_nbad(t), nwant);
    for (size_t i = 0; i < nwant; i++) {
        long long id = 0;
        const char *msg = gw_routing_bad(t, i, &id);
        assert_int_equal(id, want[i].id);
        if (strncmp(msg, want[i].prefix, strlen(want[i].prefix)) != 0)
            fail_msg("channel %lld: \"%s\", want \"%s...\"", id, msg, want[i].prefix);
        assert_null(gw_routing_channel(t, id));
    }
    assert_null(gw_routing_bad(t, nwant, NULL));
    uint64_t rng = 11;
    for (int k = 0; k < 50; k++)
        assert_int_equal(pick_id(t, "default", "m", 0, NULL, 0, NULL, NULL, &rng), 5);
    size_t n;
    const char *const *models = gw_routing_models(t, "default", &n);
    assert_int_equal(n, 2);
    assert_string_equal(models[0], "m");
    assert_string_equal(models[1], "n");
    gw_routing_free(t);
}

static void test_multi_key(void **state)
{
    static const struct spec s[] = {
        { .id = 1, .models = "m", .key = "k0\nk1\nk2\nk3",
          .info = "{\"is_multi_key\":true,\"multi_key_size\":4,\"multi_key_mode\":\"polling\","
                  "\"multi_key_status_list\":{\"1\":3},\"multi_key_polling_index\":2}" },
        { .id = 2, .models = "m", .key = "k0\nk1\nk2\nk3\n",
          .info = "{\"is_multi_key\":true,\"multi_key_mode\":\"random\","
                  "\"multi_key_status_list\":{\"0\":2,\"2\":3,\"3\":1,\"9\":3,\"x\":3}}" },
        { .id = 3, .models = "m", .key = "\n\nk0\r\n\n k2 \n",
          .info = "{\"is_multi_key\":true,\"multi_key_mode\":\"\"}" },
        { .id = 4, .models = "m", .key = "k0\nk1",
          .info = "{\"is_multi_key\":true,\"multi_key_mode\":\"random\","
                  "\"multi_key_status_list\":{\"0\":3,\"1\":2}}" },
        { .id = 5, .models = "m", .key = " [\"a\", {\"type\":\"service_account\"}, \"\"] ",
          .info = "{\"is_multi_key\":true,\"multi_key_mode\":\"polling\"}" },
        { .id = 6, .models = "m", .key = "[not json\nk1",
          .info = "{\"is_multi_key\":true,\"multi_key_mode\":\"polling\"}" },
        { .id = 7, .models = "m", .key = "a\nb",
          .info = "{\"is_multi_key\":false,\"multi_key_status_list\":{\"0\":3}}" },
        { .id = 8, .models = "m", .key = "",
          .info = "{\"is_multi_key\":true,\"multi_key_mode\":\"random\"}" },
    };
    gw_routing *t = SETUP(s);
    uint64_t rng = 77;
    int idx = -1;

    /* polling from the saved index, skipping the disabled key 1 */
    struct gw_channel *c = gw_routing_channel(t, 1);
    assert_int_equal(c->nkeys, 4);
    assert_int_equal(c->multi_key_mode, GW_MULTI_KEY_POLLING);
    static const int poll[] = { 2, 3, 0, 2, 3, 0, 2 };
    for (size_t i = 0; i < sizeof poll / sizeof poll[0]; i++) {
        const char *k = gw_channel_pick_key(c, &rng, &idx);
        assert_int_equal(idx, poll[i]);
        char want[4];
        snprintf(want, sizeof want, "k%d", poll[i]);
        assert_string_equal(k, want);
    }

    /* random among the enabled keys 1 and 3, about evenly */
    c = gw_routing_channel(t, 2);
    assert_int_equal(c->nkeys, 4);
    int seen[4] = { 0 };
    for (int k = 0; k < 10000; k++) {
        assert_non_null(gw_channel_pick_key(c, &rng, &idx));
        seen[idx]++;
    }
    assert_int_equal(seen[0] + seen[2], 0);
    assert_true(seen[1] > 4700 && seen[3] > 4700);

    /* mode unset: the first enabled key; blank lines keep their index */
    c = gw_routing_channel(t, 3);
    assert_int_equal(c->multi_key_mode, GW_MULTI_KEY_FIRST);
    assert_int_equal(c->nkeys, 3);
    assert_string_equal(c->keys[0], "k0");
    assert_string_equal(c->keys[1], "");
    assert_int_equal(c->key_disabled[1], 1);
    assert_string_equal(c->keys[2], "k2");
    for (int k = 0; k < 3; k++) {
        assert_string_equal(gw_channel_pick_key(c, &rng, &idx), "k0");
        assert_int_equal(idx, 0);
    }

    /* every key disabled */
    assert_null(gw_channel_pick_key(gw_routing_channel(t, 4), &rng, &idx));
    assert_null(gw_channel_pick_key(gw_routing_channel(t, 8), &rng, NULL));

    /* a JSON array (Vertex): strings as is, objects as compact JSON */
    c = gw_routing_channel(t, 5);
    assert_int_equal(c->nkeys, 3);
    assert_string_equal(c->keys[0], "a");
    assert_string_equal(c->keys[1], "{\"type\":\"service_account\"}");
    assert_string_equal(gw_channel_pick_key(c, &rng, &idx), "a");
    assert_string_equal(gw_channel_pick_key(c, &rng, &idx), "{\"type\":\"service_account\"}");
    assert_string_equal(gw_channel_pick_key(c, &rng, &idx), "a");   /* "" is skipped */

    /* '[' that does not parse: newline split */
    c = gw_routing_channel(t, 6);
    assert_int_equal(c->nkeys, 2);
    assert_string_equal(c->keys[0], "[not json");

    /* single-key channel: the whole column, the status list is not consulted */
    c = gw_routing_channel(t, 7);
    assert_int_equal(c->multi_key, 0);
    assert_string_equal(gw_channel_pick_key(c, &rng, &idx), "a\nb");
    assert_int_equal(idx, 0);
    gw_routing_free(t);
}

/* ---- mappings ---- */

static void test_model_map(void **state)
{
    static const struct {
        const char *mapping, *in;
        int rc;
        const char *out;
    } cases[] = {
        { NULL, "gpt-4", GW_OK, "gpt-4" },
        { "{\"a\":\"b\",\"b\":\"c\"}", "a", GW_OK, "c" },
        { "{\"a\":\"b\",\"b\":\"c\"}", "b", GW_OK, "c" },
        { "{\"a\":\"b\",\"b\":\"c\"}", "x", GW_OK, "x" },
        { "{\"a\":\"a\"}", "a", GW_OK, "a" },                   /* self: not a cycle */
        { "{\"a\":\"b\",\"b\":\"b\"}", "a", GW_OK, "b" },
        { "{\"a\":\"b\",\"b\":\"a\"}", "a", GW_EINVAL, NULL },
        { "{\"a\":\"b\",\"b\":\"c\",\"c\":\"a\"}", "b", GW_EINVAL, NULL },
        { "{\"x\":\"a\",\"a\":\"b\",\"b\":\"a\"}", "x", GW_EINVAL, NULL },
        { "{\"a\":1}", "a", GW_OK, "a" },                       /* non-string ignored */
        { "{\"a\":\"b\",\"b\":null}", "a", GW_OK, "b" },
        { "{\"a\":\"\"}", "a", GW_OK, "a" },                    /* empty ends the chain */
        { "{\"gpt-4\":\"gpt-4-0613\"}", "gpt-4", GW_OK, "gpt-4-0613" },
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *m = cases[i].mapping ? json_loads(cases[i].mapping, 0, NULL) : NULL;
        int rc = gw_model_map(m, cases[i].in, out, sizeof out);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
        if (rc == GW_OK)
            assert_string_equal(out, cases[i].out);
        json_decref(m);
    }
    json_t *m = json_loads("{\"a\":\"abcdefgh\"}", 0, NULL);
    assert_int_equal(gw_model_map(m, "a", out, 8), GW_ETOOBIG);
    assert_int_equal(gw_model_map(m, "a", out, 9), GW_OK);
    assert_string_equal(out, "abcdefgh");
    json_decref(m);
}

static void test_status_map(void **state)
{
    static const struct { int in, out; } cases[] = {
        { 429, 500 }, { 400, 400 }, { 401, 401 }, { 502, 502 }, { 503, 200 }, { 200, 200 },
        { 504, 504 }, { 500, 429 }, { 404, 404 }, { 0, 0 },
    };
    json_t *m = json_loads("{\"429\":\"500\",\"400\":\"abc\",\"401\":401,\"502\":\"99\","
                           "\"503\":\"200\",\"200\":\"500\",\"504\":\" 500\",\"500\":\"429\","
                           "\"404\":\"600\"}", 0, NULL);
    assert_non_null(m);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (gw_status_map(m, cases[i].in) != cases[i].out)
            fail_msg("case %zu: %d -> %d, want %d", i, cases[i].in,
                     gw_status_map(m, cases[i].in), cases[i].out);
    assert_int_equal(gw_status_map(NULL, 429), 429);
    json_decref(m);
}

/* ---- models per group ---- */

static void test_models(void **state)
{
    static const struct spec s[] = {
        { .id = 1, .group = "default,vip", .models = "gpt-4o,gpt-3.5-turbo" },
        { .id = 2, .group = "default", .models = "gpt-4o,claude-3,o1" },
        { .id = 3, .group = "default", .models = "disabled-model", .status = 2 },
        { .id = 4, .group = "vip", .models = "ability-off", .ability_off = 1 },
        { .id = 5, .group = "vip", .models = "z-model,a-model", .priority = 3 },
    };
    static const char *const want_default[] = { "claude-3", "gpt-3.5-turbo", "gpt-4o", "o1" };
    static const char *const want_vip[] = { "a-model", "gpt-3.5-turbo", "gpt-4o", "z-model" };
    gw_routing *t = SETUP(s);
    size_t n;
    const char *const *m = gw_routing_models(t, "default", &n);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(m[i], want_default[i]);
    m = gw_routing_models(t, "vip", &n);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(m[i], want_vip[i]);
    assert_null(gw_routing_models(t, "nobody", &n));
    assert_int_equal(n, 0);
    gw_routing_free(t);
}

/* Allocation failure at every step of a load: a clean GW_ENOMEM (or a
 * channel reported bad when jansson itself ran out), never a leak or a
 * half-built table (LeakSanitizer checks the former at exit). */
static void test_load_oom(void **state)
{
    static const struct spec s[] = {
        { .id = 1, .group = "default,vip", .models = "a,b", .model_mapping = "{\"a\":\"b\"}",
          .setting = "{\"proxy\":\"\"}" },
        { .id = 2, .models = "a", .key = "k0\nk1",
          .info = "{\"is_multi_key\":true,\"multi_key_mode\":\"random\"}" },
        { .id = 3, .models = "a", .key = "[{\"x\":1},\"y\"]", .priority = 2,
          .info = "{\"is_multi_key\":true,\"multi_key_mode\":\"polling\"}" },
    };
    insert(s, sizeof s / sizeof s[0]);
    for (long n = 0;; n++) {
        gw_routing *t = NULL;
        char err[128];
        gw_alloc_fail_after(n);
        int rc = gw_routing_load(st, &t, err, sizeof err);
        gw_alloc_fail_after(-1);
        if (rc == GW_OK && gw_routing_nbad(t) == 0) {
            assert_int_equal(t->nchannels, 3);
            assert_true(n > 20);        /* the failures did hit the load */
            gw_routing_free(t);
            break;
        }
        if (rc == GW_OK) {
            gw_routing_free(t);
            continue;
        }
        assert_null(t);
        if (n > 100000)
            fail_msg("load never succeeded");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiers),
        cmocka_unit_test(test_pick_table),
        cmocka_unit_test(test_empty_table),
        cmocka_unit_test(test_draw_exact),
        cmocka_unit_test(test_draw_distribution),
        cmocka_unit_test(test_draw_after_exclusion),
        cmocka_unit_test(test_matching_name),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_multi_key),
        cmocka_unit_test(test_model_map),
        cmocka_unit_test(test_status_map),
        cmocka_unit_test(test_models),
        cmocka_unit_test(test_load_oom),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* model_mapping chains and status_code_mapping (gateway/relay/routing_chan.c)
 * as the router loads them (routing_load.c: trimmed text, gw_json_parse,
 * an object). gw_model_map is checked against an independent walk with a
 * visited set: the same result, GW_EINVAL exactly when the chain cycles,
 * GW_ETOOBIG exactly when the result does not fit.
 * Input: "<mapping JSON>\n<model>"; the model's length picks the capacity. */
#include "tests/fuzz/fuzz.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"
#include "gateway/relay/routing.h"

#define FUZZ_MAX_INPUT 8192

/* The reference's rule, written the obvious way. */
static int oracle(const json_t *m, const char *model, const char **out)
{
    json_t *seen = json_object();
    const char *cur = model;
    int rc = GW_OK;
    for (;;) {
        const char *next = json_string_value(json_object_get(m, cur));
        if (next == NULL || *next == '\0' || strcmp(next, cur) == 0)
            break;
        if (json_object_get(seen, cur)) {
            rc = GW_EINVAL;
            break;
        }
        json_object_set_new(seen, cur, json_true());
        cur = next;
    }
    json_decref(seen);
    *out = cur;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    const uint8_t *mj, *md;
    size_t mjn, mdn;
    fuzz_split(data, size, "\n", &mj, &mjn, &md, &mdn);
    gw_str t = gw_str_trim((gw_str){(const char *)mj, mjn});
    json_t *m = t.len ? gw_json_parse(t.base, t.len, 0, NULL, 0) : NULL;
    if (m && !json_is_object(m)) {
        json_decref(m);
        return 0;
    }
    char *model = fuzz_cstr(md, mdn);
    size_t cap = 1 + mdn % 192;
    char *out = malloc(cap);

    const char *want;
    int orc = oracle(m, model, &want);
    int rc = gw_model_map(m, model, out, cap);
    if (orc == GW_EINVAL) {
        FUZZ_CHECK(rc == GW_EINVAL);
    } else if (strlen(want) >= cap) {
        FUZZ_CHECK(rc == GW_ETOOBIG);
    } else {
        FUZZ_CHECK(rc == GW_OK && strcmp(out, want) == 0);
    }
    /* an unmapped call changes nothing */
    char big[192];
    if (gw_model_map(NULL, model, big, sizeof big) == GW_OK)
        FUZZ_CHECK(strcmp(big, model) == 0);

    /* status_code_mapping: 200 is never mapped, and a result is either the
     * status itself or a code in 100..599 */
    int status = 100 + (int)(fuzz_seed(data, size) % 500);
    int st = gw_status_map(m, status);
    FUZZ_CHECK(st == status || (st >= 100 && st <= 599));
    FUZZ_CHECK(gw_status_map(m, 200) == 200);

    free(out);
    free(model);
    json_decref(m);
    return 0;
}

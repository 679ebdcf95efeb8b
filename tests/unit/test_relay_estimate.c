/* The reference's heuristic token estimator and request estimate
 * (service/token_estimator.go, service/token_counter.go). Expected counts
 * are the weighted sums rounded up; the sums are in the comments (OpenAI
 * weights: word 1.02, number 1.55, CJK 0.85, symbol 0.4, math 2.68, URL
 * delimiter 1.0, '@' 2.0, emoji 2.12, newline/tab 0.5, space 0.42). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/relay/billing.h"

static void test_text(void **state)
{
    static const struct {
        const char *model, *text;
        long long want;
    } cases[] = {
        { "gpt-4o", "", 0 },
        { "gpt-4o", "Hello world", 3 },              /* 1.02 + .42 + 1.02 = 2.46 */
        { "gpt-4o", "Hello, world!", 4 },            /* 2.46 + 2 × .4 = 3.26 */
        { "gpt-4o", "你好世界", 4 },                 /* 4 × .85 = 3.4 */
        { "claude-3-5-sonnet", "你好世界", 5 },      /* 4 × 1.21 = 4.84 */
        { "gemini-2.0-flash", "你好世界", 3 },       /* 4 × .68 = 2.72 */
        { "Gemini-Pro", "你好世界", 3 },             /* provider match ignores case */
        { "gpt-4o", "GPT-4o 很好", 7 },              /* 1.02+.4+1.55+1.02+.42+1.7 = 6.11 */
        { "gpt-4o", "\xf0\x9f\x91\x8d\xf0\x9f\x8e\x89", 5 }, /* 👍🎉 2 × 2.12 = 4.24 */
        { "claude-3", "\xf0\x9f\x91\x8d\xf0\x9f\x8e\x89", 6 }, /* 2 × 2.6 = 5.2 */
        { "gpt-4o", "12345 67.89", 6 },              /* 1.55+.42+1.55+.4+1.55 = 5.47 */
        { "gemini-1.5", "12345 67.89", 9 },          /* 2.8+.2+2.8+.38+2.8 = 8.98 */
        { "gpt-4o", "https://a.com/x?y=1", 14 },     /* 13.05 */
        { "claude-3", "https://a.com/x?y=1", 16 },   /* 15.24 */
        { "gpt-4o", "@user", 4 },                    /* 2.0 + 1.02 = 3.02 */
        { "gpt-4o", "a\nb\tc", 5 },                  /* 3 × 1.02 + 2 × .5 = 4.06 */
        { "gpt-4o", "\xe2\x88\x91x\xe2\x89\xa4" "2", 8 }, /* ∑x≤2: 2.68+1.02+2.68+1.55 */
        { "claude-3", "\xe2\x88\x91x\xe2\x89\xa4" "2", 12 }, /* 11.8 */
        /* Mixed English, CJK, full-width punctuation, emoji, a number. */
        { "gpt-4o", "The quick brown fox jumps over the lazy dog. "
                    "\xe5\xae\x83\xe8\xb7\xb3\xe8\xbf\x87\xe4\xba\x86\xe6\x87\x92\xe7\x8b\x97"
                    "\xef\xbc\x81\xf0\x9f\xa6\x8a 3.14159", 25 },       /* 24.9 */
        { "claude-3", "The quick brown fox jumps over the lazy dog. "
                      "\xe5\xae\x83\xe8\xb7\xb3\xe8\xbf\x87\xe4\xba\x86\xe6\x87\x92\xe7\x8b\x97"
                      "\xef\xbc\x81\xf0\x9f\xa6\x8a 3.14159", 29 },     /* 28.39 */
        { "gemini-2.5-pro", "The quick brown fox jumps over the lazy dog. "
                            "\xe5\xae\x83\xe8\xb7\xb3\xe8\xbf\x87\xe4\xba\x86\xe6\x87\x92"
                            "\xe7\x8b\x97\xef\xbc\x81\xf0\x9f\xa6\x8a 3.14159", 25 }, /* 24.25 */
        /* Letters of other scripts run as words: "Привет мир" 2 + .42 */
        { "gpt-4o", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80", 3 },
        /* Invalid UTF-8: each bad byte is one U+FFFD symbol (.4). */
        { "gpt-4o", "\xff", 1 },
        { "gpt-4o", "a\xe4\xbd", 2 },                /* 1.02 + 2 × .4 = 1.82 */
        { "gpt-4o", "\xe4\xbdX", 2 },                /* .4 + .4 + 1.02 = 1.82 */
    };
    size_t i;

    assert_int_equal(gw_estimate_text_tokens("gpt-4o", NULL, 0), 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long got = gw_estimate_text_tokens(cases[i].model, cases[i].text, strlen(cases[i].text));
        if (got != cases[i].want)
            fail_msg("case %zu: got %lld want %lld", i, got, cases[i].want);
    }
}

/* Feeding in pieces, even inside a UTF-8 sequence, gives the one-pass count. */
static void test_streaming_split(void **state)
{
    static const char *texts[] = {
        "The quick brown fox. \xe5\xae\x83\xe8\xb7\xb3\xe8\xbf\x87\xf0\x9f\xa6\x8a 3.14 @x a/b",
        "abc\xe4\xbd" "def\xff\xf0\x9f\x91ghi",
        "\xf0\x9f\x91\x8d",
        "\xe4\xbd",
    };
    size_t t, step, i;

    for (t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        size_t len = strlen(texts[t]);
        long long whole = gw_estimate_text_tokens("claude-3", texts[t], len);
        for (step = 1; step <= 5; step++) {
            struct gw_estimator e;
            gw_estimator_init(&e, "claude-3");
            for (i = 0; i < len; i += step)
                gw_estimator_feed(&e, texts[t] + i, len - i < step ? len - i : step);
            assert_int_equal(gw_estimator_result(&e), whole);
        }
    }
}

static json_t *parse(const char *s)
{
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    if (!j)
        fail_msg("bad test JSON: %s", err.text);
    return j;
}

static void test_request(void **state)
{
    static const struct {
        const char *model, *body;
        long long want;
    } cases[] = {
        /* "system\nYou are helpful.\nuser\nbob\nHi" = 10.38 → 11;
         * + 2 messages × 3 + 1 name × 3 + 3 = 23 */
        { "gpt-4o",
          "{\"messages\":[{\"role\":\"system\",\"content\":\"You are helpful.\"},"
          "{\"role\":\"user\",\"name\":\"bob\",\"content\":\"Hi\"}]}", 23 },
        /* name without content is not counted (the reference skips it):
         * "assistant\nuser\nHi" = 1.02+.5+1.02+.5+1.02 = 4.06 → 5; + 6 + 3 */
        { "gpt-4o",
          "{\"messages\":[{\"role\":\"assistant\",\"name\":\"x\",\"content\":null},"
          "{\"role\":\"user\",\"content\":\"Hi\"}]}", 14 },
        /* A tool: texts "user", "Hi", "get_weather", "Get weather",
         * "map[properties:map[city:map[type:string]] type:object]":
         * user 1.02 \n .5 Hi 1.02 \n .5 get 1.02 _ .4 weather 1.02 \n .5
         * Get 1.02 ' ' .42 weather 1.02 \n .5 map 1.02 [ .4 properties 1.02
         * : 1 map 1.02 [ .4 city 1.02 : 1 map 1.02 [ .4 type 1.02 : 1
         * string 1.02 ] .4 ] .4 ' ' .42 type 1.02 : 1 object 1.02 ] .4
         * = 24.94 → 25; + 1 × 3 + 8 + 3 = 39 */
        { "gpt-4o",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
          "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
          "\"description\":\"Get weather\",\"parameters\":{\"type\":\"object\","
          "\"properties\":{\"city\":{\"type\":\"string\"}}}}}]}", 39 },
        /* Image parts: "user\nWhat" = 1.02+.5+1.02 = 2.54 → 3; + 3 + 3;
         * gpt-4o low → 85 */
        { "gpt-4o",
          "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What\"},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\",\"detail\":\"low\"}}]}]}",
          94 },
        /* detail auto, size unknown → 3 × 85 */
        { "gpt-4o",
          "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What\"},"
          "{\"type\":\"image_url\",\"image_url\":\"https://x/y.png\"}]}]}", 264 },
        /* gpt-4o-mini: 3 × 2833 */
        { "gpt-4o-mini",
          "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What\"},"
          "{\"type\":\"image_url\",\"image_url\":\"https://x/y.png\"}]}]}", 8508 },
        /* not an OpenAI model: 520 per image; "user\nWhat" (Claude: 1.13 +
         * .89 + 1.13 = 3.15) → 4; + 3 + 3 */
        { "claude-3-5-sonnet",
          "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What\"},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}]}", 530 },
        /* audio 256, file 4096, video 8192; "user" 1.02 → 2; + 3 + 3 */
        { "gpt-4o",
          "{\"messages\":[{\"role\":\"user\",\"content\":["
          "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AAAA\",\"format\":\"wav\"}},"
          "{\"type\":\"file\",\"file\":{\"filename\":\"a.pdf\",\"file_data\":\"data:x\"}},"
          "{\"type\":\"video_url\",\"video_url\":\"https://v\"},"
          "{\"type\":\"refusal\",\"refusal\":\"no\"}]}]}", 12552 },
        /* completions: prompt "Say this is a test" = 4 words + 4 spaces?
         * Say .42 this .42 is .42 a .42 test: 5 × 1.02 + 4 × .42 = 6.78 → 7; + 3 */
        { "gpt-3.5-turbo-instruct", "{\"prompt\":\"Say this is a test\"}", 10 },
        /* embeddings: input strings, no per-request 3:
         * "hello\nworld" = 1.02 + .5 + 1.02 = 2.54 → 3 */
        { "text-embedding-3-small", "{\"input\":[\"hello\",\"world\",42]}", 3 },
        /* numbers in tool parameters print as Go's %v of float64:
         * "f\nmap[maxItems:1e+06 minItems:2]" =
         * f 1.02 \n .5 map 1.02 [ .4 maxItems 1.02 : 1 1 1.55 e 1.02 + .4
         * 06 1.55 ' ' .42 minItems 1.02 : 1 2 1.55 ] .4 = 13.87 → 14; + 8 */
        { "gpt-4o",
          "{\"tools\":[{\"function\":{\"name\":\"f\",\"parameters\":"
          "{\"minItems\":2,\"maxItems\":1000000}}}]}", 14 },
    };
    size_t i;

    assert_int_equal(gw_estimate_request_tokens("gpt-4o", NULL), 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *body = parse(cases[i].body);
        long long got = gw_estimate_request_tokens(cases[i].model, body);
        if (got != cases[i].want)
            fail_msg("case %zu: got %lld want %lld", i, got, cases[i].want);
        json_decref(body);
    }
}

static void test_image_formula(void **state)
{
    static const struct {
        const char *model;
        int w, h;
        const char *detail;
        long long want;
    } cases[] = {
        /* OpenAI's published examples: 1024² → 768² → 4 tiles: 4×170+85 */
        { "gpt-4o", 1024, 1024, "high", 765 },
        /* 2048×4096 → 1024×2048 → 768×1536 → 6 tiles: 1105 */
        { "gpt-4o", 2048, 4096, "auto", 1105 },
        { "gpt-4o", 2048, 4096, "low", 85 },
        /* small images are scaled up to 768 too: 4 tiles */
        { "gpt-4.1", 100, 100, NULL, 765 },
        /* o1/o3: base 75, tile 150 */
        { "o1", 1024, 1024, "high", 675 },
        /* gpt-5: base 70, tile 140 */
        { "gpt-5", 1024, 1024, "high", 630 },
        /* patch models: 1024² → 1024 patches × 1.62 = 1658.88 → 1659 */
        { "gpt-4.1-mini", 1024, 1024, "high", 1659 },
        /* 1800×2400 → 1452 patches (OpenAI's example) × 1.62 = 2352.24 */
        { "gpt-4.1-mini", 1800, 2400, "high", 2352 },
        /* patch models ignore detail low */
        { "gpt-4.1-nano", 64, 64, "low", 10 },     /* 4 × 2.46 = 9.84 */
        { "claude-3", 1024, 1024, "high", 520 },
        { "gpt-4o", 0, 0, "high", 255 },
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long got = gw_estimate_image_tokens(cases[i].model, cases[i].w, cases[i].h,
                                                 cases[i].detail);
        if (got != cases[i].want)
            fail_msg("case %zu: got %lld want %lld", i, got, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_streaming_split),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_image_formula),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

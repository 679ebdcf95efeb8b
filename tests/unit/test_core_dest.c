/* Channel destination policy (gateway/core/dest.c): address classes, the
 * connect-time check, the static URL check and the port ranges. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "gateway/core/dest.h"
#include "gateway/core/err.h"

static struct sockaddr_storage addr(const char *ip, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
    }
    return ss;
}

static void test_classify(void **state)
{
    static const struct { const char *ip; enum gw_dest_class c; } cases[] = {
        {"8.8.8.8", GW_DEST_PUBLIC},         {"1.1.1.1", GW_DEST_PUBLIC},
        {"127.0.0.1", GW_DEST_PRIVATE},      {"127.255.255.254", GW_DEST_PRIVATE},
        {"0.0.0.0", GW_DEST_PRIVATE},        {"10.1.2.3", GW_DEST_PRIVATE},
        {"172.16.0.1", GW_DEST_PRIVATE},     {"172.31.255.255", GW_DEST_PRIVATE},
        {"172.32.0.1", GW_DEST_PUBLIC},      {"192.168.1.1", GW_DEST_PRIVATE},
        {"100.64.0.1", GW_DEST_PRIVATE},     {"198.18.0.1", GW_DEST_PRIVATE},
        {"169.254.169.254", GW_DEST_LINK_LOCAL}, {"169.254.1.1", GW_DEST_LINK_LOCAL},
        {"100.100.100.200", GW_DEST_LINK_LOCAL},
        {"224.0.0.1", GW_DEST_RESERVED},     {"255.255.255.255", GW_DEST_RESERVED},
        {"240.0.0.1", GW_DEST_RESERVED},
        {"::1", GW_DEST_PRIVATE},            {"::", GW_DEST_PRIVATE},
        {"fe80::1", GW_DEST_LINK_LOCAL},     {"fd00:ec2::254", GW_DEST_LINK_LOCAL},
        {"fd12::1", GW_DEST_PRIVATE},        {"ff02::1", GW_DEST_RESERVED},
        {"::ffff:127.0.0.1", GW_DEST_PRIVATE}, {"::ffff:169.254.169.254", GW_DEST_LINK_LOCAL},
        {"::ffff:8.8.8.8", GW_DEST_PUBLIC},  {"64:ff9b::a9fe:a9fe", GW_DEST_LINK_LOCAL},
        {"2001:db8::1", GW_DEST_PRIVATE},    {"2606:4700::1111", GW_DEST_PUBLIC},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss = addr(cases[i].ip, 80);
        if (gw_dest_classify((struct sockaddr *)&ss) != cases[i].c)
            fail_msg("%s: class %d, want %d", cases[i].ip,
                     gw_dest_classify((struct sockaddr *)&ss), cases[i].c);
    }
}

static void test_check(void **state)
{
    struct gw_dest_policy strict = {0}, trusted = {.allow_private = 1, .self_port = 3000};
    struct gw_dest_policy meta = {.allow_link_local = 1};
    char why[200];
    struct sockaddr_storage a;

    a = addr("8.8.8.8", 443);
    assert_int_equal(gw_dest_check(&strict, (struct sockaddr *)&a, why, sizeof why), GW_OK);
    a = addr("127.0.0.1", 8080);
    assert_int_equal(gw_dest_check(&strict, (struct sockaddr *)&a, why, sizeof why), GW_EINVAL);
    assert_non_null(strstr(why, "private"));
    assert_null(strstr(why, "127.0.0.1")); /* reasons never name the address */
    assert_int_equal(gw_dest_check(&trusted, (struct sockaddr *)&a, why, sizeof why), GW_OK);
    /* the gateway itself, even for root */
    a = addr("127.0.0.1", 3000);
    assert_int_equal(gw_dest_check(&trusted, (struct sockaddr *)&a, why, sizeof why), GW_EINVAL);
    assert_non_null(strstr(why, "gateway itself"));
    a = addr("::", 3000);
    assert_int_equal(gw_dest_check(&trusted, (struct sockaddr *)&a, why, sizeof why), GW_EINVAL);
    /* metadata: only with allow_link_local, whatever the trust */
    a = addr("169.254.169.254", 80);
    assert_int_equal(gw_dest_check(&trusted, (struct sockaddr *)&a, why, sizeof why), GW_EINVAL);
    assert_non_null(strstr(why, "metadata"));
    assert_int_equal(gw_dest_check(&meta, (struct sockaddr *)&a, why, sizeof why), GW_OK);
    a = addr("::ffff:169.254.169.254", 80);
    assert_int_equal(gw_dest_check(&trusted, (struct sockaddr *)&a, why, sizeof why), GW_EINVAL);
    /* multicast: never */
    struct gw_dest_policy all = {.allow_private = 1, .allow_link_local = 1};
    a = addr("224.0.0.1", 80);
    assert_int_equal(gw_dest_check(&all, (struct sockaddr *)&a, why, sizeof why), GW_EINVAL);
    assert_int_equal(gw_dest_check(&all, NULL, why, sizeof why), GW_EINVAL);
}

static void test_ports(void **state)
{
    struct gw_dest_policy p = {0};
    char err[200];
    struct sockaddr_storage a;

    assert_int_equal(gw_dest_parse_ports("[\"80\", \" 443 \", \"8000-9000\", \"\"]", &p, err,
                                         sizeof err), GW_OK);
    assert_int_equal(p.nports, 3);
    a = addr("8.8.8.8", 443);
    assert_int_equal(gw_dest_check(&p, (struct sockaddr *)&a, err, sizeof err), GW_OK);
    a = addr("8.8.8.8", 8500);
    assert_int_equal(gw_dest_check(&p, (struct sockaddr *)&a, err, sizeof err), GW_OK);
    a = addr("8.8.8.8", 9001);
    assert_int_equal(gw_dest_check(&p, (struct sockaddr *)&a, err, sizeof err), GW_EINVAL);
    assert_non_null(strstr(err, "port"));
    assert_int_equal(gw_dest_parse_ports("", &p, err, sizeof err), GW_OK);
    assert_int_equal(p.nports, 0);
    assert_int_equal(gw_dest_parse_ports(NULL, &p, err, sizeof err), GW_OK);
    assert_int_equal(gw_dest_parse_ports("[]", &p, err, sizeof err), GW_OK);
    assert_int_equal(p.nports, 0);
    static const char *const bad[] = {"[\"0\"]", "[\"65536\"]", "[\"9-8\"]", "[\"1-2-3\"]",
                                      "[\"-5\"]", "[80]", "{\"a\":1}", "[\"http\"]", "80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (gw_dest_parse_ports(bad[i], &p, err, sizeof err) != GW_EINVAL || !err[0])
            fail_msg("accepted %s", bad[i]);
        /* fail closed: no port at all */
        a = addr("8.8.8.8", 443);
        assert_int_equal(gw_dest_check(&p, (struct sockaddr *)&a, err, sizeof err), GW_EINVAL);
    }
    char many[1024] = "[";
    for (int i = 0; i < 65; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"%d\"", i ? "," : "",
                 i + 1);
    strcat(many, "]");
    assert_int_equal(gw_dest_parse_ports(many, &p, err, sizeof err), GW_EINVAL);
}

static void test_url(void **state)
{
    struct gw_dest_policy strict = {0}, trusted = {.allow_private = 1};
    char why[200];
    static const struct { const char *url; int proxy; int strict_ok, trusted_ok; } cases[] = {
        {"", 0, 1, 1},
        {"https://api.openai.com", 0, 1, 1},
        {"http://127.0.0.1:11434", 0, 0, 1},
        {"http://localhost:11434", 0, 0, 1},
        {"http://LOCALHOST.:11434/v1", 0, 0, 1},
        {"http://ollama.localhost", 0, 0, 1},
        {"http://127.1/", 0, 0, 1},
        {"http://2130706433/", 0, 0, 1},
        {"http://0x7f.1/", 0, 0, 1},
        {"http://[::1]:8080/", 0, 0, 1},
        {"http://[::ffff:127.0.0.1]/", 0, 0, 1},
        {"http://169.254.169.254/latest/meta-data", 0, 0, 0},
        {"http://[fe80::1%25eth0]/", 0, 0, 0},
        {"http://10.0.0.5/", 0, 0, 1},
        {"http://example.internal/", 0, 1, 1}, /* names: judged at connect time */
        {"ftp://example.com/", 0, 0, 0},
        {"file:///etc/passwd", 0, 0, 0},
        {"socks5h://127.0.0.1:1080", 1, 0, 1},
        {"127.0.0.1:3128", 1, 0, 1},           /* proxies default to http:// */
        {"socks5://proxy.example.com:1080", 1, 1, 1},
        {"socks5://proxy.example.com:1080", 0, 0, 0},
        {"gopher://proxy.example.com", 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int s = gw_dest_check_url(&strict, cases[i].url, cases[i].proxy, why, sizeof why);
        int t = gw_dest_check_url(&trusted, cases[i].url, cases[i].proxy, why, sizeof why);
        if ((s == GW_OK) != cases[i].strict_ok || (t == GW_OK) != cases[i].trusted_ok)
            fail_msg("%s (proxy %d): strict %d trusted %d", cases[i].url, cases[i].proxy, s, t);
    }
    struct gw_dest_policy p = {.allow_private = 1};
    assert_int_equal(gw_dest_parse_ports("[\"443\"]", &p, why, sizeof why), GW_OK);
    assert_int_equal(gw_dest_check_url(&p, "https://api.openai.com/v1", 0, why, sizeof why), GW_OK);
    assert_int_equal(gw_dest_check_url(&p, "http://api.openai.com/v1", 0, why, sizeof why),
                     GW_EINVAL); /* default port 80 */
    assert_int_equal(gw_dest_check_url(&p, "https://x.example:8443", 0, why, sizeof why),
                     GW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

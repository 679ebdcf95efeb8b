/* token-factory: AI API gateway. See README.md. */
#include <stdio.h>
#include <string.h>
#include "gateway/core/buf.h"
#include "gateway/core/config.h"
#include "gateway/core/log.h"
#include "gateway/supervisor.h"

static void usage(void)
{
    fputs("usage: token-factory [--version | --help | --config-markdown]\n"
          "Configuration comes from environment variables; see README.md or\n"
          "`token-factory --config-markdown`.\n",
          stdout);
}

int main(int argc, char **argv)
{
    struct gw_config cfg;
    char err[512];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("token-factory %s\n", GW_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--config-markdown") == 0) {
            gw_buf b;
            gw_buf_init(&b, 1 << 20);
            int rc = gw_config_markdown(&b);
            if (rc == 0)
                fwrite(b.base, 1, b.len, stdout);
            gw_buf_free(&b);
            return rc == 0 ? 0 : 1;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        }
        fprintf(stderr, "unknown argument: %s\n", argv[i]);
        usage();
        return 2;
    }
    if (gw_config_load(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "configuration error: %s\n", err);
        return 2;
    }
    int level;
    if (gw_log_level_parse(cfg.log_level, &level) == 0)
        gw_log_level = level;
    gw_log_access_enabled = cfg.access_log;
    int rc = gw_supervisor_run(&cfg);
    gw_config_free(&cfg);
    return rc;
}

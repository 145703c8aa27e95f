/*
 * slipway-admin - what an operator runs beside Slipway, not against it:
 * `nats-config` writes the nats-server accounts and the credentials files
 * from slipway.yaml (tools/admin/natsconf.h).
 */
#include "tools/admin/natsconf.h"

#include "runtime/core/error.h"

#include "tools/options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROTATE 64

static const char usage_text[] =
    "usage: slipway-admin nats-config -c FILE -o DIR [options]\n"
    "\n"
    "Writes DIR/nats-server.conf (accounts, users, permissions; passwords only as\n"
    "bcrypt hashes) and the credentials files, mode 0600:\n"
    "  DIR/service/<role>.creds   one per actor role: slipwayd --creds DIR/service\n"
    "  DIR/operator.creds         the operator's CLI: slipway --creds DIR/operator.creds\n"
    "  DIR/tenants/<tenant>.creds a tenant's CLI: its own builds, logs, events only\n"
    "Run it again after adding a tenant: existing passwords are kept, then\n"
    "`nats-server --signal reload`. Start nats-server with -c DIR/nats-server.conf.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE     slipway.yaml (default: $SLIPWAY_CONFIG)\n"
    "  -o, --out DIR         where to write (created, mode 0700 for credentials)\n"
    "      --listen H:P      the server's client address (default: from nats.url)\n"
    "      --http H:P        its monitoring address (default: none)\n"
    "      --store DIR       JetStream's store directory (default: DIR/jetstream)\n"
    "      --rotate USER     give USER a new password (a role such as builder,\n"
    "                        operator, or tenant:NAME); repeatable\n"
    "      --bcrypt-cost N   bcrypt work factor, 4..31 (default 11)\n"
    "      --conf FILE       write the server config there (default:\n"
    "                        DIR/nats-server.conf); one per node of a cluster\n"
    "\n"
    "one node of a cluster (tools/cluster runs three; run once per node, same -o):\n"
    "      --server-name N   server_name: (clustered JetStream needs one per node)\n"
    "      --cluster-name N  cluster.name, the same on every node\n"
    "      --cluster-listen H:P  cluster.listen: where this node takes routes\n"
    "      --routes URLS     cluster.routes: comma-separated nats://H:P of the\n"
    "                        nodes' cluster addresses (its own may be among them)\n"
    "  -h, --help            this text\n"
    "      --version         slipway-admin and its version\n"
    "\n"
    "exit status: 0 written, 1 the config or a file could not be read or written,\n"
    "2 bad usage.\n";

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"listen", required_argument, NULL, 'l'},
        {"http", required_argument, NULL, 'm'},
        {"store", required_argument, NULL, 's'},
        {"rotate", required_argument, NULL, 'r'},
        {"bcrypt-cost", required_argument, NULL, 'b'},
        {"conf", required_argument, NULL, 'f'},
        {"server-name", required_argument, NULL, 'n'},
        {"cluster-name", required_argument, NULL, 'C'},
        {"cluster-listen", required_argument, NULL, 'L'},
        {"routes", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *rotate[MAX_ROTATE];
    sw_natsconf_options o = {.rotate = rotate};
    const char *config_path = getenv("SLIPWAY_CONFIG");
    sw_config *cfg = NULL;
    int opt, status;

    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        sw_options_version(stdout, "slipway-admin");
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "nats-config") != 0) {
        fprintf(stderr, "slipway-admin: unknown command '%s' (nats-config)\n", argv[1]);
        return 2;
    }
    argc--;
    argv++;
    while ((opt = sw_options_next("slipway-admin nats-config", argc, argv, "c:o:h", longopts)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'o':
            o.out_dir = optarg;
            break;
        case 'l':
            o.listen = optarg;
            break;
        case 'm':
            o.http = optarg;
            break;
        case 's':
            o.store_dir = optarg;
            break;
        case 'r':
            if (o.nrotate == MAX_ROTATE) {
                fprintf(stderr, "slipway-admin: at most %d --rotate\n", MAX_ROTATE);
                return 2;
            }
            rotate[o.nrotate++] = optarg;
            break;
        case 'b':
            o.bcrypt_cost = atoi(optarg);
            if (o.bcrypt_cost < 4 || o.bcrypt_cost > 31) {
                fprintf(stderr, "slipway-admin: --bcrypt-cost takes 4..31\n");
                return 2;
            }
            break;
        case 'f':
            o.conf_path = optarg;
            break;
        case 'n':
            o.server_name = optarg;
            break;
        case 'C':
            o.cluster_name = optarg;
            break;
        case 'L':
            o.cluster_listen = optarg;
            break;
        case 'R':
            o.routes = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (config_path == NULL || o.out_dir == NULL || optind != argc) {
        fprintf(stderr, "slipway-admin nats-config: give -c FILE and -o DIR\n");
        fputs(usage_text, stderr);
        return 2;
    }
    if (sw_config_load(&cfg, config_path) < 0) {
        fprintf(stderr, "slipway-admin: %s\n", sw_error_last());
        return 1;
    }
    for (size_t i = 0; i < o.nrotate; i++) {
        bool known = strcmp(rotate[i], "operator") == 0;
        for (size_t t = 0; !known && t < cfg->ntenants; t++) {
            known = strncmp(rotate[i], "tenant:", 7) == 0 &&
                    strcmp(rotate[i] + 7, cfg->tenants[t].name) == 0;
        }
        if (!known && strncmp(rotate[i], "tenant:", 7) != 0 && strchr(rotate[i], ':') == NULL) {
            known = true; /* a role: checked against the role table as it is written */
        }
        if (!known) {
            fprintf(stderr, "slipway-admin: --rotate %s: no such user (a role, operator or "
                            "tenant:NAME of %s)\n", rotate[i], cfg->path);
            sw_config_destroy(&cfg);
            return 2;
        }
    }
    status = sw_natsconf_write(cfg, &o) < 0 ? 1 : 0;
    if (status != 0) {
        fprintf(stderr, "slipway-admin: %s\n", sw_error_last());
    }
    sw_config_destroy(&cfg);
    return status;
}

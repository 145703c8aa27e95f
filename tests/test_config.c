/* test_config.c - slipway.yaml: values, defaults, look-ups, and errors at file:line:col. */
#include "runtime/config.h"
#include "runtime/core/error.h"
#include "runtime/reload.h"

#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char good_yaml[] =
    "nats:\n"
    "  url: nats://10.0.0.1:4222\n"
    "data_dir: /srv/slipway\n"
    "timeouts:\n"
    "  heartbeat_interval: 2s\n"
    "  heartbeat_lapse: 10s\n"
    "  max_deliveries: 5\n"
    "retention:\n"
    "  logs_max_age: 24h\n"
    "  logs_max_bytes: 2G\n"
    "  events_max_age: 48h\n"
    "tiers:\n"
    "  - name: free\n"
    "    memory: 256M\n"
    "    pids: 128\n"
    "    cpu_millis: 500\n"
    "    timeout: 10m\n"
    "  - name: pro\n"
    "tenants:\n"
    "  - name: acme\n"
    "    tier: pro\n"
    "  - name: demo\n"
    "    tier: free\n"
    "projects:\n"
    "  - name: web\n"
    "    tenant: acme\n"
    "    repository: https://example.com/acme/web.git\n"
    "    default_ref: develop\n"
    "    region: eu\n"
    "  - name: demo\n"
    "    tenant: demo\n"
    "    repository: git://127.0.0.1:9418/demo.git\n"
    "clusters:\n"
    "  - name: eu-pro\n"
    "    tier: pro\n"
    "    region: eu\n"
    "    executor: shell\n"
    "  - name: local_free\n"
    "    tier: free\n"
    "builders:\n"
    "  - name: b1\n"
    "    cluster: eu-pro\n"
    "    slots: 4\n"
    "  - name: b2\n"
    "    cluster: local_free\n";

static sw_config *parse_ok(const char *text)
{
    sw_config *cfg = NULL;
    ck_assert_msg(sw_config_parse(&cfg, text, strlen(text), "c.yaml") == 0, "%s", sw_error_last());
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

/* Parses text that must fail with SW_EINVALID at c.yaml:line:col, with what in the message. */
static void assert_invalid_at(const char *text, int line, int col, const char *what)
{
    sw_config *cfg = NULL;
    char prefix[64];
    int rc = sw_config_parse(&cfg, text, strlen(text), "c.yaml");
    ck_assert_msg(rc == SW_EINVALID, "expected SW_EINVALID, got %d (%s)", rc, sw_error_last());
    ck_assert_ptr_null(cfg);
    snprintf(prefix, sizeof(prefix), "c.yaml:%d:%d: ", line, col);
    ck_assert_msg(strncmp(sw_error_last(), prefix, strlen(prefix)) == 0,
                  "expected the message to start with '%s', got '%s'", prefix, sw_error_last());
    ck_assert_msg(strstr(sw_error_last(), what) != NULL, "expected '%s' in '%s'", what,
                  sw_error_last());
}

START_TEST(test_good_config_values)
{
    sw_config *cfg = parse_ok(good_yaml);
    ck_assert_str_eq(cfg->path, "c.yaml");
    ck_assert_str_eq(cfg->nats_url, "nats://10.0.0.1:4222");
    ck_assert_str_eq(cfg->data_dir, "/srv/slipway");
    ck_assert_uint_eq(cfg->heartbeat_interval_ms, 2000);
    ck_assert_uint_eq(cfg->heartbeat_lapse_ms, 10000);
    ck_assert_uint_eq(cfg->max_deliveries, 5);
    ck_assert_uint_eq(cfg->logs_max_age_ms, 24ull * 3600 * 1000);
    ck_assert_uint_eq(cfg->logs_max_bytes, 2ull << 30);
    ck_assert_uint_eq(cfg->events_max_age_ms, 48ull * 3600 * 1000);

    ck_assert_uint_eq(cfg->ntiers, 2);
    ck_assert_str_eq(cfg->tiers[0].name, "free");
    ck_assert_uint_eq(cfg->tiers[0].memory_bytes, 256ull << 20);
    ck_assert_uint_eq(cfg->tiers[0].pids, 128);
    ck_assert_uint_eq(cfg->tiers[0].cpu_millis, 500);
    ck_assert_uint_eq(cfg->tiers[0].timeout_ms, 600000);

    ck_assert_uint_eq(cfg->ntenants, 2);
    ck_assert_str_eq(cfg->tenants[0].name, "acme");
    ck_assert_str_eq(cfg->tenants[0].tier, "pro");

    ck_assert_uint_eq(cfg->nprojects, 2);
    ck_assert_str_eq(cfg->projects[0].name, "web");
    ck_assert_str_eq(cfg->projects[0].tenant, "acme");
    ck_assert_str_eq(cfg->projects[0].repository, "https://example.com/acme/web.git");
    ck_assert_str_eq(cfg->projects[0].default_ref, "develop");
    ck_assert_str_eq(cfg->projects[0].region, "eu");

    ck_assert_uint_eq(cfg->nclusters, 2);
    ck_assert_str_eq(cfg->clusters[0].name, "eu-pro");
    ck_assert_str_eq(cfg->clusters[0].tier, "pro");
    ck_assert_str_eq(cfg->clusters[0].region, "eu");
    ck_assert_str_eq(cfg->clusters[0].executor, "shell");

    ck_assert_uint_eq(cfg->nbuilders, 2);
    ck_assert_str_eq(cfg->builders[0].name, "b1");
    ck_assert_str_eq(cfg->builders[0].cluster, "eu-pro");
    ck_assert_uint_eq(cfg->builders[0].slots, 4);
    sw_config_destroy(&cfg);
    ck_assert_ptr_null(cfg);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_defaults_of_entries)
{
    sw_config *cfg = parse_ok(good_yaml);
    const sw_tier *pro = sw_config_tier(cfg, "pro");
    ck_assert_ptr_nonnull(pro);
    ck_assert_uint_eq(pro->memory_bytes, 512ull << 20);
    ck_assert_uint_eq(pro->pids, 512);
    ck_assert_uint_eq(pro->cpu_millis, 1000);
    ck_assert_uint_eq(pro->timeout_ms, 30ull * 60 * 1000);

    const sw_project *demo = sw_config_project(cfg, "demo");
    ck_assert_ptr_nonnull(demo);
    ck_assert_str_eq(demo->default_ref, "main");
    ck_assert_str_eq(demo->region, "default");

    const sw_cluster *local = sw_config_cluster(cfg, "local_free");
    ck_assert_ptr_nonnull(local);
    ck_assert_str_eq(local->region, "default");
    ck_assert_str_eq(local->executor, "shell");

    const sw_builder_config *b2 = sw_config_builder(cfg, "b2");
    ck_assert_ptr_nonnull(b2);
    ck_assert_uint_eq(b2->slots, 1);

    /* no work_dir: it lives under data_dir */
    ck_assert_str_eq(cfg->work_dir, "/srv/slipway/work");
    sw_config_destroy(&cfg);
}
END_TEST

/* The rest of a minimal file, after a nats: block. */
#define MINIMAL_REST                                                                          \
    "data_dir: /d\n"                                                                          \
    "tiers:\n"                                                                                \
    "  - name: free\n"                                                                        \
    "tenants:\n"                                                                              \
    "  - name: acme\n"                                                                        \
    "    tier: free\n"                                                                        \
    "clusters:\n"                                                                             \
    "  - name: c1\n"                                                                          \
    "    tier: free\n"

START_TEST(test_nats_url_as_a_list)
{
    sw_config *cfg = parse_ok("nats:\n"
                              "  url: [nats://127.0.0.1:4222, nats://127.0.0.1:4223,"
                              " nats://127.0.0.1:4224]\n"
                              "  replicas: 3\n" MINIMAL_REST);
    ck_assert_str_eq(cfg->nats_url,
                     "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224");
    ck_assert_uint_eq(cfg->nats_replicas, 3);
    sw_config_destroy(&cfg);

    cfg = parse_ok("nats:\n"
                   "  url:\n"
                   "    - nats://a:4222\n"
                   "    - nats://b:4222\n" MINIMAL_REST);
    ck_assert_str_eq(cfg->nats_url, "nats://a:4222,nats://b:4222");
    ck_assert_uint_eq(cfg->nats_replicas, 1);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_nats_url_as_a_comma_separated_string)
{
    sw_config *cfg = parse_ok("nats:\n"
                              "  url: \"nats://a:4222 , nats://b:4223,nats://c:4224\"\n"
                              MINIMAL_REST);
    ck_assert_str_eq(cfg->nats_url, "nats://a:4222,nats://b:4223,nats://c:4224");
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_bad_nats_url_and_replicas)
{
    assert_invalid_at("nats:\n  url: []\n" MINIMAL_REST, 2, 8, "empty list");
    assert_invalid_at("nats:\n  url: \"nats://a:4222,,nats://b:4222\"\n" MINIMAL_REST, 2, 8,
                      "empty URL");
    assert_invalid_at("nats:\n  url: \"nats://a:4222,\"\n" MINIMAL_REST, 2, 8, "empty URL");
    assert_invalid_at("nats:\n  url: \"nats://a :4222\"\n" MINIMAL_REST, 2, 8, "blank inside");
    assert_invalid_at("nats:\n  url:\n    - nats://a:4222\n    - {host: b}\n" MINIMAL_REST, 4, 7,
                      "");
    assert_invalid_at("nats:\n  replicas: 0\n" MINIMAL_REST, 2, 13, "1 to 5");
    assert_invalid_at("nats:\n  replicas: 6\n" MINIMAL_REST, 2, 13, "");
    assert_invalid_at("nats:\n  replicas: three\n" MINIMAL_REST, 2, 13, "");
}
END_TEST

START_TEST(test_defaults_of_a_minimal_file)
{
    sw_config *cfg = parse_ok("data_dir: /d\n"
                              "work_dir: /w\n"
                              "tiers:\n"
                              "  - name: free\n"
                              "tenants:\n"
                              "  - name: acme\n"
                              "    tier: free\n"
                              "clusters:\n"
                              "  - name: c1\n"
                              "    tier: free\n");
    ck_assert_str_eq(cfg->nats_url, "nats://127.0.0.1:4222");
    ck_assert_uint_eq(cfg->nats_replicas, 1);
    ck_assert_str_eq(cfg->work_dir, "/w");
    ck_assert_uint_eq(cfg->heartbeat_interval_ms, 1000);
    ck_assert_uint_eq(cfg->heartbeat_lapse_ms, 10000);
    ck_assert_uint_eq(cfg->max_deliveries, 3);
    ck_assert_uint_eq(cfg->nprojects, 0);
    ck_assert_uint_eq(cfg->nbuilders, 0);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_lookups_by_name)
{
    sw_config *cfg = parse_ok(good_yaml);
    ck_assert_str_eq(sw_config_tier(cfg, "free")->name, "free");
    ck_assert_str_eq(sw_config_tenant(cfg, "demo")->tier, "free");
    ck_assert_str_eq(sw_config_project(cfg, "web")->tenant, "acme");
    ck_assert_str_eq(sw_config_cluster(cfg, "eu-pro")->region, "eu");
    ck_assert_str_eq(sw_config_builder(cfg, "b1")->cluster, "eu-pro");
    /* a project's tier comes through its tenant */
    ck_assert_str_eq(sw_config_project_tier(cfg, sw_config_project(cfg, "web"))->name, "pro");
    ck_assert_str_eq(sw_config_project_tier(cfg, sw_config_project(cfg, "demo"))->name, "free");

    ck_assert_ptr_null(sw_config_tier(cfg, "gold"));
    ck_assert_ptr_null(sw_config_tenant(cfg, "nobody"));
    ck_assert_ptr_null(sw_config_project(cfg, "we")); /* not a prefix match */
    ck_assert_ptr_null(sw_config_cluster(cfg, "eu-pro-2"));
    ck_assert_ptr_null(sw_config_builder(cfg, "B1")); /* names are case-sensitive */
    ck_assert_ptr_null(sw_config_builder(cfg, NULL));
    sw_config_destroy(&cfg);
}
END_TEST

/* Lines 2-9 and 1-9 of the bad configs below that do not change them. */
#define BASE_ENTRIES                                                                               \
    "tiers:\n"           /* 2 */                                                                   \
    "  - name: free\n"   /* 3 */                                                                   \
    "tenants:\n"         /* 4 */                                                                   \
    "  - name: acme\n"   /* 5 */                                                                   \
    "    tier: free\n"   /* 6 */                                                                   \
    "clusters:\n"        /* 7 */                                                                   \
    "  - name: c1\n"     /* 8 */                                                                   \
    "    tier: free\n"   /* 9 */
#define BASE "data_dir: /d\n" BASE_ENTRIES

START_TEST(test_base_is_valid)
{
    /* the bad configs below differ from this one in one place each */
    sw_config *cfg = parse_ok(BASE);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_unknown_top_level_key)
{
    /* the message points at the unknown key (line 10), not at what it holds (line 11) */
    assert_invalid_at(BASE "bogus:\n"
                           "  deep: 1\n",
                      10, 1, "unknown key 'bogus'");
}
END_TEST

START_TEST(test_tenant_naming_missing_tier)
{
    assert_invalid_at("data_dir: /d\n"
                      "tiers:\n"
                      "  - name: free\n"
                      "tenants:\n"
                      "  - name: acme\n"
                      "    tier: gold\n"
                      "clusters:\n"
                      "  - name: c1\n"
                      "    tier: free\n",
                      6, 11, "no tier named 'gold'");
}
END_TEST

START_TEST(test_project_naming_missing_tenant)
{
    assert_invalid_at(BASE "projects:\n"
                           "  - name: web\n"
                           "    tenant: nobody\n"
                           "    repository: r\n",
                      12, 13, "no tenant named 'nobody'");
}
END_TEST

START_TEST(test_builder_naming_missing_cluster)
{
    assert_invalid_at(BASE "builders:\n"
                           "  - name: b1\n"
                           "    cluster: c9\n",
                      12, 14, "no cluster named 'c9'");
}
END_TEST

START_TEST(test_zero_slots)
{
    assert_invalid_at(BASE "builders:\n"
                           "  - name: b1\n"
                           "    cluster: c1\n"
                           "    slots: 0\n",
                      13, 12, "slots must be at least 1");
}
END_TEST

START_TEST(test_name_with_a_dot)
{
    /* names become NATS subject tokens: a dot would split one */
    assert_invalid_at("data_dir: /d\n"
                      "tiers:\n"
                      "  - name: a.b\n"
                      "tenants:\n"
                      "  - name: acme\n"
                      "    tier: a.b\n"
                      "clusters:\n"
                      "  - name: c1\n"
                      "    tier: a.b\n",
                      3, 11, "'a.b'");
}
END_TEST

START_TEST(test_memory_not_a_size)
{
    assert_invalid_at("data_dir: /d\n"
                      "tiers:\n"
                      "  - name: free\n"
                      "    memory: lots\n"
                      "tenants:\n"
                      "  - name: acme\n"
                      "    tier: free\n"
                      "clusters:\n"
                      "  - name: c1\n"
                      "    tier: free\n",
                      4, 13, "'lots'");
}
END_TEST

START_TEST(test_heartbeat_lapse_shorter_than_two_intervals)
{
    assert_invalid_at("data_dir: /d\n"
                      "timeouts:\n"
                      "  heartbeat_interval: 2s\n"
                      "  heartbeat_lapse: 3s\n" BASE_ENTRIES,
                      4, 20, "at least twice heartbeat_interval");
}
END_TEST

START_TEST(test_unknown_executor)
{
    assert_invalid_at(BASE "    executor: podman\n", 10, 15, "unknown executor 'podman' (shell, docker, or simulate");
}
END_TEST

START_TEST(test_duplicate_project)
{
    assert_invalid_at(BASE "projects:\n"
                           "  - name: web\n"
                           "    tenant: acme\n"
                           "    repository: r\n"
                           "  - name: web\n"
                           "    tenant: acme\n"
                           "    repository: r\n",
                      14, 11, "project 'web' is listed twice");
}
END_TEST

START_TEST(test_tiers_not_a_list)
{
    assert_invalid_at("data_dir: /d\n"
                      "tiers: free\n"
                      "tenants:\n"
                      "  - name: acme\n"
                      "    tier: free\n"
                      "clusters:\n"
                      "  - name: c1\n"
                      "    tier: free\n",
                      2, 8, "'tiers' must be a list");
}
END_TEST

START_TEST(test_malformed_yaml)
{
    /* "a: b" cannot be a plain value inside a mapping: the second ':' is the problem */
    assert_invalid_at("data_dir: /d\n"
                      "tiers: a: b\n",
                      2, 9, "mapping values are not allowed");
}
END_TEST

START_TEST(test_load_reads_a_file)
{
    char *dir = sw_test_tmpdir("sw-config");
    char *path = NULL;
    sw_config *cfg = NULL;
    ck_assert_int_ne(asprintf(&path, "%s/slipway.yaml", dir), -1);
    sw_test_write_file(path, good_yaml);
    ck_assert_msg(sw_config_load(&cfg, path) == 0, "%s", sw_error_last());
    ck_assert_str_eq(cfg->path, path);
    ck_assert_uint_eq(cfg->nbuilders, 2);
    sw_config_destroy(&cfg);
    sw_test_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_load_missing_file)
{
    char *dir = sw_test_tmpdir("sw-config");
    char *path = NULL;
    sw_config *cfg = NULL;
    ck_assert_int_ne(asprintf(&path, "%s/absent.yaml", dir), -1);
    ck_assert_int_eq(sw_config_load(&cfg, path), SW_EIO);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(sw_error_last(), path) != NULL, "'%s' does not name %s",
                  sw_error_last(), path);
    sw_test_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_errors_in_a_loaded_file_name_its_path)
{
    char *dir = sw_test_tmpdir("sw-config");
    char *path = NULL, *prefix = NULL;
    sw_config *cfg = NULL;
    ck_assert_int_ne(asprintf(&path, "%s/slipway.yaml", dir), -1);
    sw_test_write_file(path, BASE "    executor: podman\n");
    ck_assert_int_eq(sw_config_load(&cfg, path), SW_EINVALID);
    ck_assert_int_ne(asprintf(&prefix, "%s:10:15: ", path), -1);
    ck_assert_msg(strncmp(sw_error_last(), prefix, strlen(prefix)) == 0, "%s",
                  sw_error_last());
    sw_test_rmtree(dir);
    free(prefix);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_forge_webhook_and_notifier_values)
{
    sw_config *cfg = parse_ok(BASE "webhook:\n"
                                   "  listen: 0.0.0.0:9000\n"
                                   "  max_body: 1MiB\n"
                                   "  remember: 3d\n"
                                   "  public_url: https://ci.example.com/\n"
                                   "notifier:\n"
                                   "  attempts: 4\n"
                                   "  timeout: 5s\n"
                                   "  backoff: 250ms\n"
                                   "projects:\n"
                                   "  - name: web\n"
                                   "    tenant: acme\n"
                                   "    repository: r\n"
                                   "    forge:\n"
                                   "      type: forgejo\n"
                                   "      repo: acme/web\n"
                                   "      secret: s3\n"
                                   "      token: t0k\n"
                                   "      api_url: https://git.example.com/api/v1//\n"
                                   "      context: ci/slipway\n"
                                   "  - name: gh\n"
                                   "    tenant: acme\n"
                                   "    repository: r\n"
                                   "    forge:\n"
                                   "      type: github\n"
                                   "  - name: plain\n"
                                   "    tenant: acme\n"
                                   "    repository: r\n");
    ck_assert_str_eq(cfg->webhook_listen, "0.0.0.0:9000");
    ck_assert_uint_eq(cfg->webhook_max_body, 1u << 20);
    ck_assert_uint_eq(cfg->webhook_remember_ms, 3ull * 24 * 3600 * 1000);
    ck_assert_str_eq(cfg->public_url, "https://ci.example.com");
    ck_assert_uint_eq(cfg->notify_attempts, 4);
    ck_assert_uint_eq(cfg->notify_timeout_ms, 5000);
    ck_assert_uint_eq(cfg->notify_backoff_ms, 250);
    const sw_project *web = sw_config_project(cfg, "web");
    ck_assert_int_eq(web->forge.type, SW_FORGE_GITEA);
    ck_assert_str_eq(web->forge.repo, "acme/web");
    ck_assert_str_eq(web->forge.secret, "s3");
    ck_assert_str_eq(web->forge.token, "t0k");
    ck_assert_str_eq(web->forge.api_url, "https://git.example.com/api/v1");
    ck_assert_str_eq(web->forge.context, "ci/slipway");
    const sw_project *gh = sw_config_project(cfg, "gh");
    ck_assert_int_eq(gh->forge.type, SW_FORGE_GITHUB);
    ck_assert_str_eq(gh->forge.api_url, "https://api.github.com");
    ck_assert_str_eq(gh->forge.context, "slipway");
    ck_assert_ptr_null(gh->forge.secret);
    ck_assert_ptr_null(gh->forge.token);
    ck_assert_int_eq(sw_config_project(cfg, "plain")->forge.type, SW_FORGE_NONE);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_webhook_and_notifier_defaults)
{
    sw_config *cfg = parse_ok(BASE);
    ck_assert_str_eq(cfg->webhook_listen, "127.0.0.1:8080");
    ck_assert_uint_eq(cfg->webhook_max_body, 25u << 20);
    ck_assert_uint_eq(cfg->webhook_publish_timeout_ms, 2000);
    ck_assert_uint_eq(cfg->webhook_full_retry_after_ms, 30000);
    ck_assert_str_eq(cfg->public_url, "http://127.0.0.1:8080");
    ck_assert_uint_eq(cfg->notify_attempts, 6);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_workspace_bounds)
{
    sw_config *cfg = parse_ok(BASE);
    ck_assert_uint_eq(cfg->workspace_keep_unused_ms, 24ull * 3600 * 1000);
    ck_assert_uint_eq(cfg->workspace_max_per_slot, 8);
    sw_config_destroy(&cfg);
    cfg = parse_ok(BASE "workspaces:\n"
                        "  keep_unused: 3h\n"
                        "  max_per_slot: 2\n");
    ck_assert_uint_eq(cfg->workspace_keep_unused_ms, 3ull * 3600 * 1000);
    ck_assert_uint_eq(cfg->workspace_max_per_slot, 2);
    sw_config_destroy(&cfg);
    assert_invalid_at(BASE "workspaces:\n"
                           "  max_per_slot: 0\n",
                      11, 17, "workspaces.max_per_slot must be at least 1");
    assert_invalid_at(BASE "workspaces:\n"
                           "  keep: 1h\n",
                      11, 3, "unknown key 'keep'");
}
END_TEST

START_TEST(test_queue_bounds_and_full_retry_after)
{
    sw_config *cfg = parse_ok(BASE);
    ck_assert_uint_eq(cfg->queue_requests_max, 100000);
    ck_assert_uint_eq(cfg->queue_sched_max, 100000);
    ck_assert_uint_eq(cfg->queue_jobs_max, 100000);
    ck_assert_uint_eq(cfg->queue_max_bytes, 1ull << 30);
    sw_config_destroy(&cfg);

    cfg = parse_ok(BASE "queues:\n"
                        "  requests: 2\n"
                        "  sched: 3\n"
                        "  jobs: 4\n"
                        "  max_bytes: 1MiB\n"
                        "webhook:\n"
                        "  full_retry_after: 2m\n");
    ck_assert_uint_eq(cfg->queue_requests_max, 2);
    ck_assert_uint_eq(cfg->queue_sched_max, 3);
    ck_assert_uint_eq(cfg->queue_jobs_max, 4);
    ck_assert_uint_eq(cfg->queue_max_bytes, 1u << 20);
    ck_assert_uint_eq(cfg->webhook_full_retry_after_ms, 120000);
    sw_config_destroy(&cfg);

    assert_invalid_at(BASE "queues:\n"
                           "  sched: 0\n",
                      11, 10, "queues.sched must be at least 1");
    assert_invalid_at(BASE "queues:\n"
                           "  request: 5\n",
                      11, 3, "unknown key 'request'");
    /* Retry-After is whole seconds */
    assert_invalid_at(BASE "webhook:\n"
                           "  full_retry_after: 500ms\n",
                      11, 21, "between 1s and 24h");
}
END_TEST

START_TEST(test_forge_names)
{
    ck_assert_int_eq(sw_forge_parse("bitbucket-server"), SW_FORGE_BITBUCKET_SERVER);
    ck_assert_int_eq(sw_forge_parse("forgejo"), SW_FORGE_GITEA);
    ck_assert_int_eq(sw_forge_parse("sourcehut"), SW_FORGE_NONE);
    ck_assert_int_eq(sw_forge_parse(NULL), SW_FORGE_NONE);
    ck_assert_str_eq(sw_forge_name(SW_FORGE_GITLAB), "gitlab");
    ck_assert_str_eq(sw_forge_name((sw_forge_type)99), "none");
}
END_TEST

START_TEST(test_unknown_forge_type)
{
    assert_invalid_at(BASE "projects:\n"
                           "  - name: web\n"
                           "    tenant: acme\n"
                           "    repository: r\n"
                           "    forge:\n"
                           "      type: sourcehut\n",
                      15, 13, "unknown forge type");
}
END_TEST

START_TEST(test_forge_token_needs_api_url_and_repo)
{
    /* Gitea has no default API: a token without api_url cannot be used */
    assert_invalid_at(BASE "projects:\n"
                           "  - name: web\n"
                           "    tenant: acme\n"
                           "    repository: r\n"
                           "    forge:\n"
                           "      type: gitea\n"
                           "      repo: a/b\n"
                           "      token: t\n",
                      15, 7, "'api_url'");
}
END_TEST

START_TEST(test_forge_empty_secret)
{
    assert_invalid_at(BASE "projects:\n"
                           "  - name: web\n"
                           "    tenant: acme\n"
                           "    repository: r\n"
                           "    forge:\n"
                           "      type: github\n"
                           "      secret: \"\"\n",
                      16, 15, "empty secret");
}
END_TEST

START_TEST(test_webhook_max_body_too_big)
{
    assert_invalid_at(BASE "webhook:\n"
                           "  max_body: 64MiB\n",
                      11, 13, "at most 32MiB");
}
END_TEST

START_TEST(test_webhook_listen_without_port)
{
    assert_invalid_at(BASE "webhook:\n"
                           "  listen: localhost\n",
                      11, 11, "HOST:PORT");
}
END_TEST

/* Lines 10-14 of the secrets configs below: a project whose secrets: follow. */
#define SECRETS_PROJECT                                                                            \
    "projects:\n"          /* 10 */                                                                \
    "  - name: web\n"      /* 11 */                                                                \
    "    tenant: acme\n"   /* 12 */                                                                \
    "    repository: r\n"  /* 13 */                                                                \
    "    secrets:\n"       /* 14 */

START_TEST(test_project_secrets)
{
    sw_config *cfg = parse_ok(BASE SECRETS_PROJECT
                              "      DEPLOY_TOKEN: \"s3cr3t-value\"\n"
                              "      _npm_token2: 12345678\n"
                              "      SSH_KEY: |\n"
                              "        -----BEGIN KEY-----\n"
                              "        ab\n"
                              "        -----END KEY-----\n"
                              "  - name: plain\n"
                              "    tenant: acme\n"
                              "    repository: r\n");
    const sw_project *web = sw_config_project(cfg, "web");
    ck_assert_uint_eq(web->nsecrets, 3);
    ck_assert_str_eq(web->secrets[0].name, "DEPLOY_TOKEN");
    ck_assert_str_eq(web->secrets[0].value, "s3cr3t-value");
    ck_assert_str_eq(web->secrets[1].name, "_npm_token2");
    ck_assert_str_eq(web->secrets[1].value, "12345678");
    ck_assert_str_eq(web->secrets[2].name, "SSH_KEY");
    /* a short line inside a multi-line value is fine: it is just not masked */
    ck_assert_str_eq(web->secrets[2].value, "-----BEGIN KEY-----\nab\n-----END KEY-----\n");
    const sw_project *plain = sw_config_project(cfg, "plain");
    ck_assert_uint_eq(plain->nsecrets, 0);
    ck_assert_ptr_null(plain->secrets);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_secret_name_not_an_environment_name)
{
    /* the message points at the name (the key), not at the value */
    assert_invalid_at(BASE SECRETS_PROJECT "      1TOKEN: abcdef\n", 15, 7,
                      "secret name '1TOKEN' is not an environment variable name");
    assert_invalid_at(BASE SECRETS_PROJECT "      OK_ONE: abcdef\n"
                                           "      NPM-TOKEN: abcdef\n",
                      16, 7, "'NPM-TOKEN'");
}
END_TEST

START_TEST(test_secret_name_reserved)
{
    assert_invalid_at(BASE SECRETS_PROJECT "      SLIPWAY_TOKEN: abcdef\n", 15, 7,
                      "secret name 'SLIPWAY_TOKEN' is reserved");
    assert_invalid_at(BASE SECRETS_PROJECT "      PATH: /evil/bin\n", 15, 7, "'PATH' is reserved");
    assert_invalid_at(BASE SECRETS_PROJECT "      HOME: /somewhere\n", 15, 7, "'HOME' is reserved");
    assert_invalid_at(BASE SECRETS_PROJECT "      CI: falsey\n", 15, 7, "'CI' is reserved");
    /* only those: a name that merely starts like one is fine */
    sw_config *cfg = parse_ok(BASE SECRETS_PROJECT "      CIRCLE_TOKEN: abcdef\n"
                                                   "      PATHWAY: abcdef\n"
                                                   "      SLIPWAYS: abcdef\n");
    ck_assert_uint_eq(sw_config_project(cfg, "web")->nsecrets, 3);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_secret_too_short)
{
    /* the message points at the value and says why */
    assert_invalid_at(BASE SECRETS_PROJECT "      TOKEN: abc\n", 15, 14,
                      "secret 'TOKEN' must be at least 4 characters long (a shorter one would "
                      "turn ordinary text into ***");
    assert_invalid_at(BASE SECRETS_PROJECT "      TOKEN: \"\"\n", 15, 14, "at least 4");
    assert_invalid_at(BASE SECRETS_PROJECT "      TOKEN:\n", 15, 13, "at least 4");
    /* a multi-line value needs one line that long */
    assert_invalid_at(BASE SECRETS_PROJECT "      TOKEN: \"ab\\r\\ncd\\n\"\n", 15, 14,
                      "at least 4");
}
END_TEST

START_TEST(test_secrets_not_a_mapping)
{
    assert_invalid_at(BASE SECRETS_PROJECT "      - TOKEN\n", 15, 7,
                      "'secrets' must be a mapping of NAME: value");
    assert_invalid_at(BASE SECRETS_PROJECT "      TOKEN:\n"
                                           "        nested: value\n",
                      16, 9, "'TOKEN' must be a plain value");
}
END_TEST

START_TEST(test_docker_settings_and_image_names)
{
    sw_config *cfg = parse_ok(BASE "docker:\n"
                                   "  socket: /run/d.sock\n"
                                   "  registry: 127.0.0.1:5000/\n"
                                   "projects:\n"
                                   "  - name: web\n"
                                   "    tenant: acme\n"
                                   "    repository: r\n"
                                   "  - name: api\n"
                                   "    tenant: acme\n"
                                   "    repository: r\n"
                                   "    image: acme/api-server\n");
    ck_assert_str_eq(cfg->docker_socket, "/run/d.sock");
    ck_assert_str_eq(cfg->docker_registry, "127.0.0.1:5000");
    ck_assert_str_eq(cfg->docker_default_image, "slipway/busybox");
    ck_assert_str_eq(sw_config_project(cfg, "web")->image, "acme/web");
    ck_assert_str_eq(sw_config_project(cfg, "api")->image, "acme/api-server");
    sw_config_destroy(&cfg);

    cfg = parse_ok(BASE);
    ck_assert_str_eq(cfg->docker_socket, "/var/run/docker.sock");
    ck_assert_ptr_null(cfg->docker_registry);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_bad_docker_settings)
{
    assert_invalid_at(BASE "docker:\n"
                           "  registry: http://r:5000\n",
                      11, 13, "HOST[:PORT]");
    assert_invalid_at(BASE "projects:\n"
                           "  - name: Web\n"
                           "    tenant: acme\n"
                           "    repository: r\n",
                      11, 5, "set 'image'");
    assert_invalid_at(BASE "projects:\n"
                           "  - name: web\n"
                           "    tenant: acme\n"
                           "    repository: r\n"
                           "    image: Acme/Web\n",
                      14, 12, "lowercase");
}
END_TEST

/* --- a cluster's autoscale: and the builders it names ------------------------- */

START_TEST(test_autoscale_defaults)
{
    sw_config *cfg = parse_ok(BASE "    autoscale: {provider: process, max: 8}\n");
    const sw_autoscale *as = cfg->clusters[0].autoscale;
    ck_assert_ptr_nonnull(as);
    ck_assert_int_eq(as->provider, SW_PROVIDER_PROCESS);
    ck_assert_uint_eq(as->min, 0);
    ck_assert_uint_eq(as->max, 8);
    ck_assert_double_eq_tol(as->target, 0.8, 1e-9);
    ck_assert_double_eq_tol(as->dead_band, 0.1, 1e-9);
    ck_assert_uint_eq(as->min_idle, 0);
    ck_assert_uint_eq(as->scale_in_after_ms, 5 * 60 * 1000);
    ck_assert_uint_eq(as->start_timeout_ms, 2 * 60 * 1000);
    ck_assert_uint_eq(as->max_failures, 3);
    ck_assert_uint_eq(as->backoff_ms, 1000);
    ck_assert_uint_eq(as->backoff_max_ms, 60 * 1000);
    ck_assert_uint_eq(as->slots, 1);
    ck_assert_str_eq(as->name_prefix, "c1-auto-");
    ck_assert_ptr_null(as->exec_create);
    ck_assert_uint_eq(as->exec_timeout_ms, 60 * 1000);
    sw_config_destroy(&cfg);

    cfg = parse_ok(BASE);
    ck_assert_ptr_null(cfg->clusters[0].autoscale); /* only its listed builders */
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_autoscale_values)
{
    sw_config *cfg = parse_ok(BASE "    autoscale:\n"
                                   "      provider: exec\n"
                                   "      min: 1\n"
                                   "      max: 4\n"
                                   "      target: 70%\n"
                                   "      dead_band: 0.2\n"
                                   "      min_idle: 1\n"
                                   "      scale_in_after: 10m\n"
                                   "      start_timeout: 90s\n"
                                   "      max_failures: 5\n"
                                   "      backoff: 2s\n"
                                   "      backoff_max: 30s\n"
                                   "      slots: 2\n"
                                   "      name_prefix: ci-\n"
                                   "      exec:\n"
                                   "        create: ./mk\n"
                                   "        destroy: ./rm\n"
                                   "        list: ./ls\n"
                                   "        timeout: 30s\n"
                                   "  - name: c2\n"
                                   "    tier: free\n");
    const sw_autoscale *as = sw_config_cluster(cfg, "c1")->autoscale;
    ck_assert_int_eq(as->provider, SW_PROVIDER_EXEC);
    ck_assert_uint_eq(as->min, 1);
    ck_assert_uint_eq(as->max, 4);
    ck_assert_double_eq_tol(as->target, 0.7, 1e-9);
    ck_assert_double_eq_tol(as->dead_band, 0.2, 1e-9);
    ck_assert_uint_eq(as->min_idle, 1);
    ck_assert_uint_eq(as->scale_in_after_ms, 10 * 60 * 1000);
    ck_assert_uint_eq(as->start_timeout_ms, 90 * 1000);
    ck_assert_uint_eq(as->max_failures, 5);
    ck_assert_uint_eq(as->backoff_ms, 2000);
    ck_assert_uint_eq(as->backoff_max_ms, 30 * 1000);
    ck_assert_uint_eq(as->slots, 2);
    ck_assert_str_eq(as->name_prefix, "ci-");
    ck_assert_str_eq(as->exec_create, "./mk");
    ck_assert_str_eq(as->exec_destroy, "./rm");
    ck_assert_str_eq(as->exec_list, "./ls");
    ck_assert_uint_eq(as->exec_timeout_ms, 30 * 1000);
    ck_assert_ptr_null(sw_config_cluster(cfg, "c2")->autoscale);
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_builders_of_an_autoscaled_cluster)
{
    sw_config *cfg = parse_ok(BASE "    autoscale: {provider: process, max: 4, slots: 2}\n"
                                   "  - name: c2\n"
                                   "    tier: free\n"
                                   "builders:\n"
                                   "  - name: b1\n"
                                   "    cluster: c2\n"
                                   "    slots: 3\n"
                                   "  - name: c1-auto-fixed\n" /* listed: its own settings */
                                   "    cluster: c2\n");
    const char *name = "c1-auto-7f3a";
    sw_builder_config b;

    ck_assert_int_eq(sw_config_builder_resolve(cfg, "b1", &b), 0);
    ck_assert_str_eq(b.name, "b1");
    ck_assert_str_eq(b.cluster, "c2");
    ck_assert_uint_eq(b.slots, 3);

    ck_assert_int_eq(sw_config_builder_resolve(cfg, name, &b), 0);
    ck_assert_ptr_eq(b.name, name); /* borrowed from the argument */
    ck_assert_str_eq(b.cluster, "c1");
    ck_assert_uint_eq(b.slots, 2);
    ck_assert_ptr_eq(sw_config_autoscaled_cluster(cfg, name), sw_config_cluster(cfg, "c1"));

    ck_assert_int_eq(sw_config_builder_resolve(cfg, "c1-auto-fixed", &b), 0);
    ck_assert_str_eq(b.cluster, "c2");
    ck_assert_uint_eq(b.slots, 1);

    /* the id: 1 to 32 of [a-z0-9] */
    char long_name[64] = "c1-auto-";
    memset(long_name + 8, 'a', 32);
    ck_assert_int_eq(sw_config_builder_resolve(cfg, long_name, &b), 0);
    long_name[8 + 32] = '9';
    ck_assert_int_eq(sw_config_builder_resolve(cfg, long_name, &b), SW_ENOTFOUND);
    ck_assert_int_eq(sw_config_builder_resolve(cfg, "c1-auto-9", &b), 0);
    ck_assert_int_eq(sw_config_builder_resolve(cfg, "c1-auto-", &b), SW_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "'c1-auto-'"));
    ck_assert_int_eq(sw_config_builder_resolve(cfg, "c1-auto-AB1", &b), SW_ENOTFOUND);
    ck_assert_int_eq(sw_config_builder_resolve(cfg, "c1-auto-a-b", &b), SW_ENOTFOUND);
    ck_assert_int_eq(sw_config_builder_resolve(cfg, "c2-auto-x1", &b), SW_ENOTFOUND);
    ck_assert_int_eq(sw_config_builder_resolve(cfg, "c1-autox1", &b), SW_ENOTFOUND);

    ck_assert_ptr_null(sw_config_autoscaled_cluster(cfg, "b1"));
    ck_assert_ptr_null(sw_config_autoscaled_cluster(cfg, "c1-auto-"));
    ck_assert_ptr_null(sw_config_autoscaled_cluster(cfg, "c2-auto-x1"));
    ck_assert_ptr_null(sw_config_autoscaled_cluster(cfg, NULL));
    sw_config_destroy(&cfg);
}
END_TEST

START_TEST(test_bad_autoscale)
{
    assert_invalid_at(BASE "    autoscale:\n"
                           "      provider: k8s\n"
                           "      max: 2\n",
                      11, 17, "unknown provider 'k8s' (process or exec)");
    assert_invalid_at(BASE "    autoscale: {max: 2}\n", 10, 16, "autoscale needs 'provider'");
    assert_invalid_at(BASE "    autoscale: {provider: process}\n", 10, 16, "autoscale needs 'max'");
    assert_invalid_at(BASE "    autoscale:\n"
                           "      provider: process\n"
                           "      min: 3\n"
                           "      max: 2\n",
                      13, 12, "min <= max (min 3, max 2)");
    assert_invalid_at(BASE "    autoscale: {provider: process, max: 0}\n", 10, 41, "1 <= max");
    assert_invalid_at(BASE "    autoscale:\n"
                           "      provider: process\n"
                           "      max: 2\n"
                           "      target: 1.5\n",
                      13, 15, "'target' must be from 0.05 to 1");
    assert_invalid_at(BASE "    autoscale:\n"
                           "      provider: process\n"
                           "      maxx: 3\n",
                      12, 7, "unknown key 'maxx'");
    assert_invalid_at(BASE "    autoscale: on\n", 10, 16, "'autoscale' must be a mapping");
}
END_TEST

START_TEST(test_autoscale_exec_needs_its_commands)
{
    /* no exec: at all: the provider line asks for it */
    assert_invalid_at(BASE "    autoscale:\n"
                           "      provider: exec\n"
                           "      max: 2\n",
                      11, 17, "provider exec needs 'exec:'");
    assert_invalid_at(BASE "    autoscale:\n"
                           "      provider: exec\n"
                           "      max: 2\n"
                           "      exec:\n"
                           "        create: ./mk\n",
                      14, 9, "exec needs all three of create, destroy and list");
    assert_invalid_at(BASE "    autoscale:\n"
                           "      provider: process\n"
                           "      max: 2\n"
                           "      exec: {create: a, destroy: b, list: c}\n",
                      13, 13, "'exec' is for provider exec");
}
END_TEST

START_TEST(test_autoscale_bad_name_prefix)
{
    assert_invalid_at(BASE "    autoscale:\n"
                           "      provider: process\n"
                           "      max: 2\n"
                           "      name_prefix: a.b\n",
                      13, 20, "name_prefix 'a.b' must be 1 to 31 letters, digits, '-' or '_'");
    assert_invalid_at(BASE "    autoscale:\n"
                           "      provider: process\n"
                           "      max: 2\n"
                           "      name_prefix: abcdefghijklmnopqrstuvwxyz-0123-\n", /* 32 */
                      13, 20, "must be 1 to 31");
    /* a cluster name of 26 makes a default prefix of 32 */
    assert_invalid_at("data_dir: /d\n"
                      "tiers:\n"
                      "  - name: free\n"
                      "tenants:\n"
                      "  - name: acme\n"
                      "    tier: free\n"
                      "clusters:\n"
                      "  - name: abcdefghijklmnopqrstuvwxyz\n"
                      "    tier: free\n"
                      "    autoscale:\n"
                      "      provider: process\n"
                      "      max: 2\n",
                      11, 7, "name_prefix 'abcdefghijklmnopqrstuvwxyz-auto-' must be 1 to 31");
}
END_TEST

/* --- reference counting and reloads ------------------------------------------ */

/* good_yaml with the first `from` replaced by `to`. Caller frees. */
static char *good_with(const char *from, const char *to)
{
    const char *at = strstr(good_yaml, from);
    char *text = NULL;
    ck_assert_msg(at != NULL, "'%s' is not in good_yaml", from);
    ck_assert_int_ne(asprintf(&text, "%.*s%s%s", (int)(at - good_yaml), good_yaml, to,
                              at + strlen(from)),
                     -1);
    return text;
}

static sw_config *parse_good_with(const char *from, const char *to)
{
    char *text = good_with(from, to);
    sw_config *cfg = parse_ok(text);
    free(text);
    return cfg;
}

START_TEST(test_references_keep_a_config_until_the_last_goes)
{
    sw_config *cfg = parse_ok(good_yaml);
    const sw_config *worker = sw_config_retain(cfg), *request = sw_config_retain(cfg);
    const sw_project *web = sw_config_project(worker, "web");

    ck_assert_ptr_eq(worker, cfg);
    ck_assert_ptr_null(sw_config_retain(NULL));
    sw_config_destroy(&cfg); /* the first owner lets go: the others still read it */
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(web->repository, "https://example.com/acme/web.git");
    sw_config_release(&request);
    ck_assert_ptr_null(request);
    ck_assert_str_eq(sw_config_project(worker, "demo")->tenant, "demo");
    sw_config_release(&worker); /* the last: freed (the sanitizer build sees a leak otherwise) */
    ck_assert_ptr_null(worker);
    sw_config_release(&worker); /* NULL: nothing */
}
END_TEST

START_TEST(test_reload_of_the_same_file_changes_nothing)
{
    sw_config *running = parse_ok(good_yaml), *next = parse_ok(good_yaml);
    sw_reload r;
    sw_reload_compare(&r, next, running);
    ck_assert_str_eq(r.summary, "2 projects, 2 tenants, 2 tiers, 2 clusters, 2 builders");
    ck_assert_uint_eq(r.nrestart, 0);
    sw_reload_finish(&r);
    ck_assert_ptr_null(r.summary);
    sw_config_destroy(&next);
    sw_config_destroy(&running);
}
END_TEST

START_TEST(test_reload_summary_names_what_changed)
{
    sw_config *running = parse_ok(good_yaml);
    /* demo leaves, new-proj comes, web's ref changes, free's memory too */
    char *a = good_with("  - name: demo\n    tenant: demo\n    repository: git://127.0.0.1:9418/demo.git\n",
                        "  - name: new-proj\n    tenant: demo\n    repository: git://h/n.git\n");
    char *b = NULL;
    const char *ref = strstr(a, "default_ref: develop");
    ck_assert_ptr_nonnull(ref);
    ck_assert_int_ne(asprintf(&b, "%.*sdefault_ref: main%s", (int)(ref - a), a,
                              ref + strlen("default_ref: develop")),
                     -1);
    char *c = NULL;
    const char *mem = strstr(b, "memory: 256M");
    ck_assert_int_ne(asprintf(&c, "%.*smemory: 128M%s", (int)(mem - b), b,
                              mem + strlen("memory: 256M")),
                     -1);
    sw_config *next = parse_ok(c);
    sw_reload r;
    sw_reload_compare(&r, next, running);
    ck_assert_str_eq(r.summary, "2 projects (~web, +new-proj, -demo), 2 tenants, 2 tiers (~free), "
                                "2 clusters, 2 builders");
    ck_assert_uint_eq(r.nrestart, 0);
    sw_reload_finish(&r);
    sw_config_destroy(&next);
    sw_config_destroy(&running);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(test_reload_keeps_what_needs_a_restart)
{
    sw_config *running = parse_ok(good_yaml);
    sw_config *next = parse_good_with("  url: nats://10.0.0.1:4222\n"
                                      "data_dir: /srv/slipway\n"
                                      "timeouts:\n"
                                      "  heartbeat_interval: 2s\n",
                                      "  url: nats://10.0.0.2:4222\n"
                                      "data_dir: /srv/slipway\n"
                                      "webhook:\n"
                                      "  listen: 0.0.0.0:9999\n"
                                      "  full_retry_after: 5s\n"
                                      "timeouts:\n"
                                      "  heartbeat_interval: 3s\n");
    sw_reload r;
    sw_reload_compare(&r, next, running);
    ck_assert_uint_eq(r.nrestart, 3);
    ck_assert_str_eq(r.restart[0], "nats.url changed: takes effect at the next restart");
    ck_assert_str_eq(r.restart[1], "webhook.listen changed: takes effect at the next restart");
    ck_assert_str_eq(r.restart[2],
                     "timeouts.heartbeat_interval changed: takes effect at the next restart");
    /* the running values stay, so every actor goes on with what the process runs on */
    ck_assert_str_eq(next->nats_url, "nats://10.0.0.1:4222");
    ck_assert_str_eq(next->webhook_listen, "127.0.0.1:8080");
    ck_assert_str_eq(next->public_url, "http://127.0.0.1:8080");
    ck_assert_uint_eq(next->heartbeat_interval_ms, 2000);
    /* what can change does */
    ck_assert_uint_eq(next->webhook_full_retry_after_ms, 5000);
    ck_assert_ptr_nonnull(strstr(r.summary, "; webhook settings changed"));
    sw_reload_finish(&r);
    sw_config_destroy(&next);
    sw_config_destroy(&running);
}
END_TEST

START_TEST(test_reload_names_changes_to_what_actors_host)
{
    sw_config *running = parse_ok(good_yaml);
    sw_config *next = parse_good_with("    slots: 4\n"
                                      "  - name: b2\n"
                                      "    cluster: local_free\n",
                                      "    slots: 8\n"
                                      "  - name: b3\n"
                                      "    cluster: local_free\n");
    sw_reload r;
    sw_reload_compare(&r, next, running);
    ck_assert_uint_eq(r.nrestart, 3);
    ck_assert_str_eq(r.restart[0], "builders[b1].slots changed: takes effect at the next restart");
    ck_assert_str_eq(r.restart[1], "builder 'b3' added: takes effect at the next restart");
    ck_assert_str_eq(r.restart[2], "builder 'b2' removed: takes effect at the next restart");
    ck_assert_str_eq(r.summary, "2 projects, 2 tenants, 2 tiers, 2 clusters, 2 builders "
                                "(~b1, +b3, -b2)");
    sw_reload_finish(&r);
    sw_config_destroy(&next);
    sw_config_destroy(&running);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *good = tcase_create("good");
    tcase_add_test(good, test_good_config_values);
    tcase_add_test(good, test_defaults_of_entries);
    tcase_add_test(good, test_defaults_of_a_minimal_file);
    tcase_add_test(good, test_nats_url_as_a_list);
    tcase_add_test(good, test_nats_url_as_a_comma_separated_string);
    tcase_add_test(good, test_lookups_by_name);
    tcase_add_test(good, test_base_is_valid);
    tcase_add_test(good, test_load_reads_a_file);
    tcase_add_test(good, test_forge_webhook_and_notifier_values);
    tcase_add_test(good, test_webhook_and_notifier_defaults);
    tcase_add_test(good, test_queue_bounds_and_full_retry_after);
    tcase_add_test(good, test_workspace_bounds);
    tcase_add_test(good, test_forge_names);
    tcase_add_test(good, test_docker_settings_and_image_names);
    tcase_add_test(good, test_project_secrets);
    tcase_add_test(good, test_autoscale_defaults);
    tcase_add_test(good, test_autoscale_values);
    tcase_add_test(good, test_builders_of_an_autoscaled_cluster);
    suite_add_tcase(s, good);
    TCase *bad = tcase_create("bad");
    tcase_add_test(bad, test_unknown_top_level_key);
    tcase_add_test(bad, test_tenant_naming_missing_tier);
    tcase_add_test(bad, test_project_naming_missing_tenant);
    tcase_add_test(bad, test_builder_naming_missing_cluster);
    tcase_add_test(bad, test_zero_slots);
    tcase_add_test(bad, test_name_with_a_dot);
    tcase_add_test(bad, test_memory_not_a_size);
    tcase_add_test(bad, test_heartbeat_lapse_shorter_than_two_intervals);
    tcase_add_test(bad, test_unknown_executor);
    tcase_add_test(bad, test_duplicate_project);
    tcase_add_test(bad, test_tiers_not_a_list);
    tcase_add_test(bad, test_malformed_yaml);
    tcase_add_test(bad, test_load_missing_file);
    tcase_add_test(bad, test_errors_in_a_loaded_file_name_its_path);
    tcase_add_test(bad, test_unknown_forge_type);
    tcase_add_test(bad, test_forge_token_needs_api_url_and_repo);
    tcase_add_test(bad, test_forge_empty_secret);
    tcase_add_test(bad, test_webhook_listen_without_port);
    tcase_add_test(bad, test_webhook_max_body_too_big);
    tcase_add_test(bad, test_bad_docker_settings);
    tcase_add_test(bad, test_secret_name_not_an_environment_name);
    tcase_add_test(bad, test_secret_name_reserved);
    tcase_add_test(bad, test_secret_too_short);
    tcase_add_test(bad, test_secrets_not_a_mapping);
    tcase_add_test(bad, test_bad_autoscale);
    tcase_add_test(bad, test_autoscale_exec_needs_its_commands);
    tcase_add_test(bad, test_autoscale_bad_name_prefix);
    tcase_add_test(bad, test_bad_nats_url_and_replicas);
    suite_add_tcase(s, bad);
    TCase *reload = tcase_create("reload");
    tcase_add_test(reload, test_references_keep_a_config_until_the_last_goes);
    tcase_add_test(reload, test_reload_of_the_same_file_changes_nothing);
    tcase_add_test(reload, test_reload_summary_names_what_changed);
    tcase_add_test(reload, test_reload_keeps_what_needs_a_restart);
    tcase_add_test(reload, test_reload_names_changes_to_what_actors_host);
    suite_add_tcase(s, reload);
    return sw_test_run(s);
}

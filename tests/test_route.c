/* test_route.c - where a build goes by what its project's builds fetched
 * (route.h), the regions table (regions.h) and the store (routes.h). */
#include "actors/dispatcher/route.h"
#include "actors/dispatcher/routes.h"
#include "runtime/config.h"
#include "runtime/core/error.h"
#include "runtime/regions.h"
#include "support.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Tier free is in cn (the default) and overseas; tier pro only in cn. */
static const char config_yaml[] = "data_dir: /d\n"
                                  "default_region: cn\n"
                                  "regions:\n"
                                  "  cn: [git.corp.example, \"*.mirror.example\"]\n"
                                  "  eu: [registry.eu.example]\n"
                                  "tiers:\n"
                                  "  - name: free\n"
                                  "  - name: pro\n"
                                  "tenants:\n"
                                  "  - name: acme\n"
                                  "    tier: free\n"
                                  "projects:\n"
                                  "  - name: web\n"
                                  "    tenant: acme\n"
                                  "    repository: git://127.0.0.1/web\n"
                                  "  - name: pinned\n"
                                  "    tenant: acme\n"
                                  "    repository: git://127.0.0.1/pinned\n"
                                  "    region: cn\n"
                                  "clusters:\n"
                                  "  - name: local\n"
                                  "    tier: free\n"
                                  "  - name: far\n"
                                  "    tier: free\n"
                                  "    region: overseas\n"
                                  "  - name: local-pro\n"
                                  "    tier: pro\n";

static sw_config *cfg;

static void setup(void)
{
    ck_assert_msg(sw_config_parse(&cfg, config_yaml, strlen(config_yaml), "r.yaml") == 0, "%s",
                  sw_error_last());
}

static void teardown(void)
{
    sw_config_destroy(&cfg);
}

/* A profile of n sources on host (one line each), and m on host2. */
typedef struct profile {
    Slipway__SourceProfile msg;
    Slipway__Source items[64];
    Slipway__Source *ptrs[64];
} profile;

static void make_profile(profile *p, const char *host, size_t n, const char *host2, size_t m)
{
    slipway__source_profile__init(&p->msg);
    p->msg.project = "web";
    p->msg.sources = p->ptrs;
    p->msg.n_sources = 0;
    for (size_t i = 0; i < n + m && i < 64; i++) {
        slipway__source__init(&p->items[i]);
        p->items[i].host = (char *)(i < n ? host : host2);
        p->items[i].kind = "pip";
        p->items[i].file = "Dockerfile";
        p->items[i].line = (uint32_t)i + 1;
        p->ptrs[i] = &p->items[i];
        p->msg.n_sources++;
    }
}

static void mix_clear(Slipway__RouteMix *mix)
{
    for (size_t i = 0; i < mix->n_hosts; i++) {
        slipway__route_host__free_unpacked(mix->hosts[i], NULL);
    }
    for (size_t i = 0; i < mix->n_recent; i++) {
        free(mix->recent[i]);
    }
    free(mix->hosts);
    free(mix->recent);
    slipway__route_mix__init(mix);
}

static Slipway__Job job_of(const char *project)
{
    Slipway__Job job = SLIPWAY__JOB__INIT;
    const sw_project *p = sw_config_project(cfg, project);
    job.build_id = "b";
    job.project = (char *)project;
    job.tenant = "acme";
    job.region = p->region;
    job.region_pinned = p->region_pinned;
    return job;
}

START_TEST(test_regions_table)
{
    /* the config's patterns come first, the shipped ones after */
    ck_assert_str_eq(sw_region_of(cfg, "git.corp.example"), "cn");
    ck_assert_str_eq(sw_region_of(cfg, "a.b.mirror.example"), "cn");
    ck_assert_str_eq(sw_region_of(cfg, "mirror.example"), "cn");
    ck_assert_ptr_null(sw_region_of(cfg, "xmirror.example"));
    ck_assert_str_eq(sw_region_of(cfg, "registry.eu.example:5000"), "eu");
    ck_assert_str_eq(sw_region_of(cfg, "registry.cn-hangzhou.aliyuncs.com"), "cn");
    ck_assert_str_eq(sw_region_of(cfg, "mirrors.tuna.tsinghua.edu.cn"), "cn");
    ck_assert_str_eq(sw_region_of(cfg, "docker.io"), "overseas");
    ck_assert_str_eq(sw_region_of(cfg, "registry-1.docker.io"), "overseas");
    ck_assert_str_eq(sw_region_of(cfg, "deb.debian.org"), "overseas");
    ck_assert_str_eq(sw_region_of(cfg, "PyPI.org"), "overseas");
    ck_assert_str_eq(sw_region_of(NULL, "proxy.golang.org"), "overseas");
    ck_assert_str_eq(sw_region_of(NULL, "github.com"), "overseas");
    ck_assert_ptr_null(sw_region_of(NULL, "git.corp.example"));
    ck_assert_ptr_null(sw_region_of(NULL, "127.0.0.1:5000"));
    ck_assert_ptr_null(sw_region_of(NULL, ""));
    /* a pattern with a port matches that port only */
    ck_assert(sw_region_match("127.0.0.1:5000", "127.0.0.1:5000"));
    ck_assert(!sw_region_match("127.0.0.1:5000", "127.0.0.1:5001"));
    ck_assert(sw_region_match("127.0.0.1", "127.0.0.1:5001"));
    ck_assert(!sw_region_match("pypi.org", "notpypi.org"));
}
END_TEST

START_TEST(test_bad_regions_are_refused)
{
    static const struct {
        const char *yaml, *says;
    } bad[] = {
        {"regions: [a]\n", "must map region names"},
        {"regions:\n  cn: registry.cn\n", "regions.cn must be a list"},
        {"regions:\n  \"c n\": [a.b]\n", "may hold only letters"},
        {"regions:\n  cn: [\"http://a.b/\"]\n", "is not a host pattern"},
        {"routing:\n  half_life: 0\n", "at least 1 build"},
        {"routing:\n  learn: maybe\n", "r.yaml:3:10: 'learn' must be true or false"},
        {"routing:\n  decay: 3\n", "decay"},
        {"default_region: \"a/b\"\n", "may hold only letters"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        sw_config *c = NULL;
        snprintf(text, sizeof(text), "data_dir: /d\n%stiers:\n  - name: free\n", bad[i].yaml);
        ck_assert_msg(sw_config_parse(&c, text, strlen(text), "r.yaml") == SW_EINVALID,
                      "accepted: %s", text);
        ck_assert_msg(strstr(sw_error_last(), bad[i].says) != NULL, "%s: %s", bad[i].yaml,
                      sw_error_last());
    }
    /* without default_region, projects and clusters are in "default" */
    static const char plain[] = "data_dir: /d\ntiers:\n  - name: free\ntenants:\n  - name: a\n"
                                "    tier: free\nclusters:\n  - name: c\n    tier: free\n";
    sw_config *c = NULL;
    ck_assert_int_eq(sw_config_parse(&c, plain, strlen(plain), "p.yaml"), 0);
    ck_assert_str_eq(c->default_region, "default");
    ck_assert(c->routing_learn);
    ck_assert_uint_eq(c->routing_half_life, 3);
    sw_config_destroy(&c);
    ck_assert_str_eq(sw_config_project(cfg, "web")->region, "cn");
    ck_assert(!sw_config_project(cfg, "web")->region_pinned);
    ck_assert(sw_config_project(cfg, "pinned")->region_pinned);
}
END_TEST

/* After five builds of 11 overseas sources, builds of 11 cn sources: the
 * decision after each, with half-life 3 (decay 0.5^(1/3) = 0.7937). By hand:
 * after 5 overseas builds W_o = 11 (1-k^5)/(1-k) = 36.5; after j cn builds
 * W_o k^j against W_c = 11 (1-k^j)/(1-k): j=1 29.0/11.0, j=2 23.0/19.7,
 * j=3 18.3/26.7: the third cn build moves it back. */
START_TEST(test_moves_with_its_sources_and_back)
{
    static const struct {
        const char *host;
        const char *expect; /* the region of the next build */
    } table[] = {
        {"pypi.org", "overseas"},
        {"pypi.org", "overseas"},
        {"pypi.org", "overseas"},
        {"pypi.org", "overseas"},
        {"pypi.org", "overseas"},
        {"mirrors.aliyun.com", "overseas"},
        {"mirrors.aliyun.com", "overseas"},
        {"mirrors.aliyun.com", "cn"},
        {"mirrors.aliyun.com", "cn"},
    };
    Slipway__RouteMix mix = SLIPWAY__ROUTE_MIX__INIT;
    Slipway__Job job = job_of("web");
    sw_route r;

    sw_route_decide(cfg, "free", &job, NULL, &r);
    ck_assert_str_eq(r.region, "cn"); /* the first build: the default region */
    ck_assert(!r.learned);
    ck_assert_msg(strstr(r.reason, "no build of web has told its sources") != NULL, "%s",
                  r.reason);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        profile p;
        char id[16];
        make_profile(&p, table[i].host, 11, NULL, 0);
        snprintf(id, sizeof(id), "b%zu", i);
        ck_assert(sw_route_learn(&mix, id, &p.msg, 3));
        sw_route_decide(cfg, "free", &job, &mix, &r);
        ck_assert_msg(strcmp(r.region, table[i].expect) == 0, "after build %zu: %s (%s)", i,
                      r.region, r.reason);
        ck_assert(r.learned);
    }
    ck_assert_uint_eq(mix.learned, 9);
    /* the reason after the first overseas builds says what and how much */
    mix_clear(&mix);
    profile p;
    make_profile(&p, "pypi.org", 6, "docker.io", 3);
    ck_assert(sw_route_learn(&mix, "x1", &p.msg, 1000000));
    make_profile(&p, "example.internal", 2, NULL, 0);
    ck_assert(sw_route_learn(&mix, "x2", &p.msg, 1000000));
    sw_route_decide(cfg, "free", &job, &mix, &r);
    ck_assert_str_eq(r.reason, "region overseas: 9 of 11 sources (pypi.org ×6, docker.io ×3) "
                               "over 2 builds, newest weighing most");
    mix_clear(&mix);
}
END_TEST

START_TEST(test_decay_is_by_half_life)
{
    ck_assert(fabs(sw_route_decay(1) - 0.5) < 1e-12);
    ck_assert(fabs(pow(sw_route_decay(3), 3) - 0.5) < 1e-12);
    /* one build of 4, then half_life builds of nothing: weight 2 */
    Slipway__RouteMix mix = SLIPWAY__ROUTE_MIX__INIT;
    profile p;
    make_profile(&p, "pypi.org", 4, NULL, 0);
    ck_assert(sw_route_learn(&mix, "a", &p.msg, 2));
    make_profile(&p, "pypi.org", 0, NULL, 0);
    ck_assert(sw_route_learn(&mix, "b", &p.msg, 2));
    ck_assert(sw_route_learn(&mix, "c", &p.msg, 2));
    ck_assert_uint_eq(mix.n_hosts, 1);
    ck_assert(fabs(mix.hosts[0]->weight - 2.0) < 1e-9);
    ck_assert(fabs(mix.builds - (0.5 + 1 / sqrt(2.0) + 1)) < 1e-9);
    /* a build with no sources into a mix with no hosts (UBSan: no qsort of NULL) */
    Slipway__RouteMix empty = SLIPWAY__ROUTE_MIX__INIT;
    ck_assert(sw_route_learn(&empty, "e", &p.msg, 2));
    ck_assert_uint_eq(empty.n_hosts, 0);
    ck_assert(sw_route_learn(&empty, "f", NULL, 2));
    mix_clear(&empty);
    /* the same build told twice is learned once */
    ck_assert(!sw_route_learn(&mix, "c", &p.msg, 2));
    ck_assert(!sw_route_learn(&mix, "", &p.msg, 2));
    ck_assert_uint_eq(mix.learned, 3);
    mix_clear(&mix);
}
END_TEST

START_TEST(test_pin_learn_off_and_missing_clusters)
{
    Slipway__RouteMix mix = SLIPWAY__ROUTE_MIX__INIT;
    profile p;
    sw_route r;
    make_profile(&p, "docker.io", 10, NULL, 0);
    ck_assert(sw_route_learn(&mix, "a", &p.msg, 3));

    /* a pinned project never moves, whatever it fetches */
    Slipway__Job pinned = job_of("pinned");
    sw_route_decide(cfg, "free", &pinned, &mix, &r);
    ck_assert_str_eq(r.region, "cn");
    ck_assert(!r.learned);
    ck_assert_str_eq(r.reason, "region cn: set by project pinned's region:");

    /* tier pro has no cluster overseas: the default region, and why */
    Slipway__Job job = job_of("web");
    sw_route_decide(cfg, "pro", &job, &mix, &r);
    ck_assert_str_eq(r.region, "cn");
    ck_assert_msg(strstr(r.reason, "most sources are in overseas (10 of 10: docker.io ×10), "
                                   "where tier pro has no cluster") != NULL,
                  "%s", r.reason);

    /* learn: false in the config */
    cfg->routing_learn = false;
    sw_route_decide(cfg, "free", &job, &mix, &r);
    ck_assert_str_eq(r.region, "cn");
    ck_assert_msg(strstr(r.reason, "routing.learn is off") != NULL, "%s", r.reason);
    cfg->routing_learn = true;

    /* only unknown hosts: nothing to go by */
    mix_clear(&mix);
    make_profile(&p, "example.internal", 5, NULL, 0);
    ck_assert(sw_route_learn(&mix, "a", &p.msg, 3));
    sw_route_decide(cfg, "free", &job, &mix, &r);
    ck_assert_str_eq(r.region, "cn");
    ck_assert_msg(strstr(r.reason, "is in a known region") != NULL, "%s", r.reason);

    /* a tie keeps the project's own region */
    mix_clear(&mix);
    make_profile(&p, "docker.io", 3, "goproxy.cn", 3);
    ck_assert(sw_route_learn(&mix, "a", &p.msg, 3));
    sw_route_decide(cfg, "free", &job, &mix, &r);
    ck_assert_str_eq(r.region, "cn");
    /* one more overseas source breaks it */
    make_profile(&p, "docker.io", 4, "goproxy.cn", 3);
    ck_assert(sw_route_learn(&mix, "b", &p.msg, 3));
    sw_route_decide(cfg, "free", &job, &mix, &r);
    ck_assert_str_eq(r.region, "overseas");
    mix_clear(&mix);
}
END_TEST

START_TEST(test_hosts_are_bounded)
{
    Slipway__RouteMix mix = SLIPWAY__ROUTE_MIX__INIT;
    for (int b = 0; b < 40; b++) {
        Slipway__Source items[8], *ptrs[8];
        char hosts[8][32], id[16];
        Slipway__SourceProfile msg = SLIPWAY__SOURCE_PROFILE__INIT;
        for (int i = 0; i < 8; i++) {
            snprintf(hosts[i], sizeof(hosts[i]), "h%d-%d.example", b, i);
            slipway__source__init(&items[i]);
            items[i].host = hosts[i];
            ptrs[i] = &items[i];
        }
        msg.sources = ptrs;
        msg.n_sources = 8;
        snprintf(id, sizeof(id), "b%d", b);
        ck_assert(sw_route_learn(&mix, id, &msg, 3));
        ck_assert_uint_le(mix.n_hosts, SW_ROUTE_MAX_HOSTS);
        ck_assert_uint_le(mix.n_recent, SW_ROUTE_RECENT);
    }
    /* the newest hosts are the ones kept */
    ck_assert(strncmp(mix.hosts[0]->host, "h39-", 4) == 0);
    ck_assert_str_eq(mix.recent[mix.n_recent - 1], "b39");
    mix_clear(&mix);
}
END_TEST

static Slipway__BuildEvent finished(const char *build_id, Slipway__SourceProfile *p)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.build_id = (char *)build_id;
    ev.kind = SLIPWAY__EVENT_KIND__FINISHED;
    ev.state = SLIPWAY__BUILD_STATE__SUCCEEDED;
    ev.profile = p;
    return ev;
}

START_TEST(test_store_keeps_what_it_learned)
{
    char *dir = sw_test_tmpdir("routes");
    sw_routes *routes = NULL;
    Slipway__RouteMix *mix = NULL;
    profile p;

    ck_assert_int_eq(sw_routes_open(&routes, dir), 0);
    ck_assert_uint_eq(sw_routes_seq(routes), 0);
    make_profile(&p, "pypi.org", 3, NULL, 0);
    p.msg.branch = "main";
    Slipway__BuildEvent ev = finished("b1", &p.msg);
    ck_assert_int_eq(sw_routes_apply(routes, &ev, 7, 3), 1);
    /* the same event again, and another build's at a lower sequence: nothing */
    ck_assert_int_eq(sw_routes_apply(routes, &ev, 7, 3), 0);
    Slipway__BuildEvent other = finished("b0", &p.msg);
    ck_assert_int_eq(sw_routes_apply(routes, &other, 5, 3), 0);
    /* a STARTED event moves the sequence on, teaching nothing */
    Slipway__BuildEvent started = SLIPWAY__BUILD_EVENT__INIT;
    started.build_id = "b2";
    started.kind = SLIPWAY__EVENT_KIND__STARTED;
    ck_assert_int_eq(sw_routes_apply(routes, &started, 8, 3), 0);
    ck_assert_uint_eq(sw_routes_seq(routes), 8);
    /* a branch of its own: learned into the project and the branch */
    make_profile(&p, "goproxy.cn", 5, NULL, 0);
    p.msg.branch = "cn-mirrors";
    ev = finished("b3", &p.msg);
    ck_assert_int_eq(sw_routes_apply(routes, &ev, 9, 3), 1);
    sw_routes_destroy(&routes);
    ck_assert_ptr_null(routes);

    /* reopened: the same mixes and sequence */
    ck_assert_int_eq(sw_routes_open(&routes, dir), 0);
    ck_assert_uint_eq(sw_routes_seq(routes), 9);
    ck_assert_int_eq(sw_routes_mix(routes, "web", "main", &mix), 0);
    ck_assert_ptr_nonnull(mix);
    ck_assert_uint_eq(mix->learned, 1); /* main's own */
    ck_assert_uint_eq(mix->n_hosts, 1);
    ck_assert_str_eq(mix->hosts[0]->host, "pypi.org");
    slipway__route_mix__free_unpacked(mix, NULL);
    ck_assert_int_eq(sw_routes_mix(routes, "web", "cn-mirrors", &mix), 0);
    ck_assert_str_eq(mix->hosts[0]->host, "goproxy.cn");
    ck_assert_uint_eq(mix->learned, 1);
    slipway__route_mix__free_unpacked(mix, NULL);
    /* a branch never built: the project's, which learned both */
    ck_assert_int_eq(sw_routes_mix(routes, "web", "feature", &mix), 0);
    ck_assert_uint_eq(mix->learned, 2);
    ck_assert_uint_eq(mix->n_hosts, 2);
    slipway__route_mix__free_unpacked(mix, NULL);
    ck_assert_int_eq(sw_routes_mix(routes, "other", "", &mix), 0);
    ck_assert_ptr_null(mix);
    sw_routes_destroy(&routes);
    sw_test_rmtree(dir);
    free(dir);
}
END_TEST


/* In a child that dies (_exit) without closing the store: b1 learned and
 * flushed, b3 learned and not. Exits 0 when both were seen before it died. */
static int learn_then_die(const char *dir)
{
    sw_routes *routes = NULL;
    Slipway__RouteMix *mix = NULL;
    profile p;
    if (sw_routes_open(&routes, dir) < 0) {
        return 90;
    }
    make_profile(&p, "pypi.org", 3, NULL, 0);
    Slipway__BuildEvent ev = finished("b1", &p.msg);
    if (sw_routes_apply(routes, &ev, 7, 3) != 1 || sw_routes_flush(routes) < 0) {
        return 91;
    }
    ev = finished("b3", &p.msg);
    if (sw_routes_apply(routes, &ev, 9, 3) != 1) {
        return 92;
    }
    /* lookups see the open batch */
    if (sw_routes_mix(routes, "web", "", &mix) < 0 || mix == NULL || mix->learned != 2) {
        return 93;
    }
    slipway__route_mix__free_unpacked(mix, NULL);
    return 0;
}

START_TEST(test_a_crash_loses_only_the_open_batch)
{
    char *dir = sw_test_tmpdir("routes");
    sw_routes *routes = NULL;
    Slipway__RouteMix *mix = NULL;
    int status = 0;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        _exit(learn_then_die(dir));
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child: status %d", status);
    ck_assert_int_eq(sw_routes_open(&routes, dir), 0);
    ck_assert_uint_eq(sw_routes_seq(routes), 7); /* EVENTS gives 8 on again */
    ck_assert_int_eq(sw_routes_mix(routes, "web", "", &mix), 0);
    ck_assert_ptr_nonnull(mix);
    ck_assert_uint_eq(mix->learned, 1);
    slipway__route_mix__free_unpacked(mix, NULL);
    sw_routes_destroy(&routes);
    sw_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("route");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_regions_table);
    tcase_add_test(tc, test_bad_regions_are_refused);
    tcase_add_test(tc, test_moves_with_its_sources_and_back);
    tcase_add_test(tc, test_decay_is_by_half_life);
    tcase_add_test(tc, test_pin_learn_off_and_missing_clusters);
    tcase_add_test(tc, test_hosts_are_bounded);
    tcase_add_test(tc, test_store_keeps_what_it_learned);
    tcase_add_test(tc, test_a_crash_loses_only_the_open_batch);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}

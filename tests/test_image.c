/* test_image.c - image builds and pushes against the real Docker engine and the
 * local registry: progress lines, the image id, a failing RUN, a missing
 * Dockerfile, .dockerignore in the image, the RUN containers' limits and network,
 * cancel and timeout (nothing left running), and a push whose digest the registry
 * confirms and which pulls back by tag as the same image.
 *
 * Needs the engine ($SLIPWAY_DOCKER_SOCKET, else /var/run/docker.sock) and a
 * registry ($SLIPWAY_REGISTRY, else 127.0.0.1:5000) that the engine may use over
 * HTTP; each test fails with a clear message when one of them cannot be reached. */
#include "actors/builder/image/image.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "slipway.pb-c.h"
#include "support.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSYBOX "/bin/busybox"

static sw_docker *docker;
static char *ctx;
static const char *registry;
static char uniq[64];

typedef struct captured {
    char *text[1024];
    int stream[1024];
    bool ends[1024];
    size_t n;
    int ticks;
    int64_t last_tick, max_tick_gap;
    volatile int *cancel_on_marker; /* set *cancel when a line holds marker */
    const char *marker;
    int64_t cancelled_at;
} captured;

static void on_piece(void *ud, int stream, const char *text, size_t len, bool line_ends)
{
    captured *c = ud;
    ck_assert_uint_eq(strlen(text), len);
    ck_assert_uint_le(len, SW_SANDBOX_MAX_LINE);
    if (c->n < 1024) {
        c->text[c->n] = strndup(text, len);
        c->stream[c->n] = stream;
        c->ends[c->n] = line_ends;
        c->n++;
    }
    if (c->cancel_on_marker != NULL && c->cancelled_at == 0 && strstr(text, c->marker) != NULL &&
        strstr(text, "RUN") == NULL) { /* its output, not the "Step n/m : RUN ..." line */
        *c->cancel_on_marker = 1;
        c->cancelled_at = sw_clock_mono_ms();
    }
}

static void on_line(void *ud, int stream, const char *text, size_t len)
{
    on_piece(ud, stream, text, len, true);
}

static void on_tick(void *ud)
{
    captured *c = ud;
    int64_t now = sw_clock_mono_ms();
    if (c->last_tick != 0 && now - c->last_tick > c->max_tick_gap) {
        c->max_tick_gap = now - c->last_tick;
    }
    c->last_tick = now;
    c->ticks++;
}

static void captured_free(captured *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->text[i]);
    }
    memset(c, 0, sizeof(*c));
}

/* Index of the first line on stream (0: any) containing needle, or -1. */
static int find_line(const captured *c, int stream, const char *needle)
{
    for (size_t i = 0; i < c->n; i++) {
        if ((stream == 0 || c->stream[i] == stream) && strstr(c->text[i], needle) != NULL) {
            return (int)i;
        }
    }
    return -1;
}

static char *all_lines(const captured *c)
{
    size_t len = 1;
    for (size_t i = 0; i < c->n; i++) {
        len += strlen(c->text[i]) + 4;
    }
    char *s = calloc(1, len);
    for (size_t i = 0; i < c->n; i++) {
        strcat(s, c->stream[i] == SLIPWAY__LOG_STREAM__STDERR ? "E " : "  ");
        strcat(s, c->text[i]);
        strcat(s, "\n");
    }
    return s;
}

/* ---- the registry, over HTTP with libcurl ------------------------------------ */

typedef struct http_answer {
    long status;
    char digest[128];
} http_answer;

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    http_answer *a = ud;
    size_t len = size * n;
    const char *name = "Docker-Content-Digest:";
    if (len > strlen(name) && strncasecmp(data, name, strlen(name)) == 0) {
        const char *v = data + strlen(name);
        while (*v == ' ') {
            v++;
        }
        size_t vlen = strcspn(v, "\r\n");
        snprintf(a->digest, sizeof(a->digest), "%.*s", (int)vlen, v);
    }
    return len;
}

static size_t discard(char *data, size_t size, size_t n, void *ud)
{
    (void)data, (void)ud;
    return size * n;
}

/* GET http://<registry><path> (accept: may be NULL); the status, and the
 * Docker-Content-Digest header when there is one. */
static http_answer registry_get(const char *path, const char *accept)
{
    http_answer a = {0};
    char url[512];
    CURL *h = curl_easy_init();
    struct curl_slist *hs = NULL;
    snprintf(url, sizeof(url), "http://%s%s", registry, path);
    if (accept != NULL) {
        char hdr[256];
        snprintf(hdr, sizeof(hdr), "Accept: %s", accept);
        hs = curl_slist_append(hs, hdr);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (curl_easy_perform(h) == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
    }
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);
    return a;
}

/* ---- fixtures -------------------------------------------------------------------- */

static void setup(void)
{
    const char *env = getenv("SLIPWAY_REGISTRY");
    registry = env && env[0] ? env : "127.0.0.1:5000";
    if (sw_docker_open(&docker, NULL) < 0) {
        ck_abort_msg("the image tests need a Docker engine: %s", sw_error_last());
    }
    http_answer a = registry_get("/v2/", NULL);
    if (a.status != 200) {
        ck_abort_msg("the image tests need a registry at %s (SLIPWAY_REGISTRY): GET /v2/ "
                     "answered %ld (0: unreachable)",
                     registry, a.status);
    }
    if (access(BUSYBOX, R_OK) != 0) {
        ck_abort_msg("the image tests need a static busybox at " BUSYBOX " (busybox-static)");
    }
    ctx = sw_test_tmpdir("sw-image");
    snprintf(uniq, sizeof(uniq), "t%ld-%lld", (long)getpid(), (long long)sw_clock_wall_ms());
}

static void teardown(void)
{
    if (ctx != NULL) {
        sw_test_rmtree(ctx);
        free(ctx);
        ctx = NULL;
    }
    sw_docker_close(&docker);
}

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", ctx, rel);
    sw_test_write_file(path, text);
}

/* Copies the static busybox into the context (the images are FROM scratch). */
static void put_busybox(void)
{
    char path[PATH_MAX];
    size_t len = 0;
    char *data = sw_test_read_file(BUSYBOX, &len);
    ck_assert_ptr_nonnull(data);
    snprintf(path, sizeof(path), "%s/busybox", ctx);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    free(data);
}

/* FROM scratch with busybox installed as /bin/sh and friends. */
#define BASE                                                                                       \
    "FROM scratch\n"                                                                               \
    "COPY busybox /bin/busybox\n"                                                                  \
    "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"

static sw_image_build build_spec(captured *c)
{
    return (sw_image_build){
        .context_dir = ctx,
        .ud = c,
        .line = on_line,
        .tick = on_tick,
    };
}

/* Whether a container, running or not, has marker in its command. */
static bool container_with(const char *marker)
{
    char *body = NULL;
    sw_docker_req req = {.method = "GET", .path = "/containers/json?all=1", .timeout_ms = 10000};
    int status = sw_docker_call(docker, &req, &body);
    ck_assert_msg(status == 200, "GET /containers/json: %d %s", status,
                  body ? body : sw_error_last());
    bool found = strstr(body, marker) != NULL;
    free(body);
    return found;
}

/* Removes the images a build made or used as cache (" ---> 1a2b3c4d5e6f" lines),
 * newest first, when nothing names them: an image someone tagged (the same steps
 * elsewhere give the same cache) stays, and so does one that another still needs
 * (the engine refuses without force). */
static void remove_built(const captured *c)
{
    for (size_t i = c->n; i-- > 0;) {
        const char *t = c->text[i];
        if (strncmp(t, " ---> ", 6) != 0 || strlen(t + 6) != 12 ||
            strspn(t + 6, "0123456789abcdef") != 12) {
            continue;
        }
        char path[128], *body = NULL;
        snprintf(path, sizeof(path), "/images/%s/json", t + 6);
        sw_docker_req inspect = {.method = "GET", .path = path, .timeout_ms = 10000};
        int status = sw_docker_call(docker, &inspect, &body);
        bool tagged = status != 200 || strstr(body, "\"RepoTags\":[]") == NULL;
        free(body);
        if (!tagged) {
            snprintf(path, sizeof(path), "/images/%s", t + 6);
            sw_docker_req del = {.method = "DELETE", .path = path, .timeout_ms = 10000};
            body = NULL;
            (void)sw_docker_call(docker, &del, &body);
            free(body);
        }
    }
}

/* ---- tests ------------------------------------------------------------------------ */

START_TEST(test_build_push_pull_back)
{
    captured c = {0};
    char tag[256], image_id[80], id[80], digest[80], path[512];
    snprintf(tag, sizeof(tag), "%s/slipway-test/img:%s", registry, uniq);
    put_busybox();
    put("Dockerfile",
        BASE "ARG GREETING\n"
             "RUN echo built > /built.txt && echo \"greeting=$GREETING\" && cat /built.txt && "
             "head -c 20000 /dev/zero | tr '\\0' y && echo\n");
    sw_sandbox_env args[] = {{"GREETING", uniq}}; /* new each run: no cached RUN */
    const char *tags[] = {tag, NULL};
    sw_image_build b = build_spec(&c);
    b.args = args;
    b.nargs = 1;
    b.tags = tags;
    b.timeout_ms = 120000;
    sw_sandbox_result res;

    int64_t t0 = sw_clock_mono_ms();
    int rc = sw_image_build_run(docker, &b, image_id, &res);
    int64_t build_ms = sw_clock_mono_ms() - t0;
    char *log = all_lines(&c);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_msg(res.exit_code == 0 && res.killed_by == SW_SANDBOX_KILLED_NONE, "%d %s\n%s",
                  res.exit_code, res.reason, log);
    ck_assert_int_eq(strlen(image_id), 71);
    ck_assert_int_eq(strncmp(image_id, "sha256:", 7), 0);
    ck_assert_msg(strstr(res.reason, image_id) != NULL, "%s", res.reason);
    /* progress lines, in order, and what the RUN printed */
    int step1 = find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "Step 1/5 : FROM scratch");
    int step5 = find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "Step 5/5 : RUN echo built");
    char greeting[128];
    snprintf(greeting, sizeof(greeting), "greeting=%s", uniq);
    int out = find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, greeting);
    ck_assert_msg(step1 >= 0 && step5 > step1 && out > step5, "%s", log);
    ck_assert_int_ge(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "built"), 0);
    /* as whole lines, one over SW_SANDBOX_MAX_LINE comes as lines of that size */
    int y = find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "yyyyyyyy");
    ck_assert_int_ge(y, 0);
    ck_assert_uint_eq(strlen(c.text[y]), SW_SANDBOX_MAX_LINE);
    ck_assert_uint_eq(strlen(c.text[y + 1]), 20000 - SW_SANDBOX_MAX_LINE);
    ck_assert_int_eq(c.text[y + 1][0], 'y');
    ck_assert_int_lt(find_line(&c, SLIPWAY__LOG_STREAM__STDERR, ""), 0);
    ck_assert_int_gt(c.ticks, 0);
    ck_assert_msg(c.max_tick_gap < 500, "ticks %lld ms apart", (long long)c.max_tick_gap);
    ck_assert_int_eq(sw_image_id(docker, tag, id), 0);
    ck_assert_str_eq(id, image_id);
    fprintf(stderr, "build of the busybox image: %lld ms\n", (long long)build_ms);
    free(log);
    captured build_lines = c; /* its cache images go once the pulled image is gone */
    memset(&c, 0, sizeof(c));

    /* push: a few lines, and the digest the registry serves the tag under */
    t0 = sw_clock_mono_ms();
    rc = sw_image_push(docker, tag, &c, on_line, digest);
    log = all_lines(&c);
    ck_assert_msg(rc == 0, "%s\n%s", sw_error_last(), log);
    fprintf(stderr, "push: %lld ms\n%s", (long long)(sw_clock_mono_ms() - t0), log);
    ck_assert_int_eq(strlen(digest), 71);
    ck_assert_int_eq(strncmp(digest, "sha256:", 7), 0);
    ck_assert_int_eq(strspn(digest + 7, "0123456789abcdef"), 64);
    ck_assert_int_eq(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "pushing "), 0);
    ck_assert_int_ge(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, ": pushed"), 0);
    char digest_line[128];
    snprintf(digest_line, sizeof(digest_line), "digest: %s", digest);
    ck_assert_int_ge(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, digest_line), 0);
    ck_assert_msg(c.n < 20, "%zu lines for one push:\n%s", c.n, log);
    free(log);
    captured_free(&c);

    snprintf(path, sizeof(path), "/v2/slipway-test/img/manifests/%s", uniq);
    http_answer a = registry_get(path, "application/vnd.docker.distribution.manifest.v2+json");
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.digest, digest);

    /* gone from the engine, then pulled back from the registry by its tag */
    ck_assert_int_eq(sw_image_remove(docker, tag), 0);
    ck_assert_int_eq(sw_image_id(docker, tag, id), SW_ENOTFOUND);
    char *body = NULL;
    snprintf(path, sizeof(path), "/images/create?fromImage=%s/slipway-test/img&tag=%s", registry,
             uniq);
    sw_docker_req pull = {.method = "POST", .path = path, .timeout_ms = 60000};
    int status = sw_docker_call(docker, &pull, &body);
    ck_assert_msg(status == 200 && strstr(body, "\"error\"") == NULL, "%d %s", status, body);
    free(body);
    ck_assert_int_eq(sw_image_id(docker, tag, id), 0);
    ck_assert_str_eq(id, image_id);

    ck_assert_int_eq(sw_image_remove(docker, tag), 0);
    ck_assert_int_eq(sw_image_remove(docker, tag), 0); /* none: still fine */
    remove_built(&build_lines);
    captured_free(&build_lines);
}
END_TEST

START_TEST(test_failing_run_fails_with_the_builders_message)
{
    captured c = {0};
    char image_id[80];
    put_busybox();
    put("Dockerfile", "FROM scratch\n"
                      "COPY busybox /bin/busybox\n"
                      "RUN [\"/bin/busybox\", \"false\"]\n");
    sw_image_build b = build_spec(&c);
    sw_sandbox_result res;
    int rc = sw_image_build_run(docker, &b, image_id, &res);
    char *log = all_lines(&c);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_int_eq(res.exit_code, 1);
    ck_assert_int_eq(res.killed_by, SW_SANDBOX_KILLED_NONE);
    ck_assert_str_eq(res.reason, "The command '/bin/busybox false' returned a non-zero code: 1");
    ck_assert_msg(find_line(&c, SLIPWAY__LOG_STREAM__STDERR, res.reason) >= 0, "%s", log);
    ck_assert_str_eq(image_id, "");
    free(log);
    remove_built(&c);
    captured_free(&c);
}
END_TEST

START_TEST(test_bad_dockerfile_fails_with_the_engines_message)
{
    captured c = {0};
    char image_id[80];
    put("Dockerfile", "FROM scratch\nFROBNICATE now\n");
    sw_image_build b = build_spec(&c);
    sw_sandbox_result res;
    int rc = sw_image_build_run(docker, &b, image_id, &res);
    char *log = all_lines(&c);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_int_eq(res.exit_code, 1);
    ck_assert_msg(strstr(res.reason, "unknown instruction: FROBNICATE") != NULL, "%s", res.reason);
    ck_assert_msg(find_line(&c, SLIPWAY__LOG_STREAM__STDERR, "FROBNICATE") >= 0, "%s", log);
    free(log);
    captured_free(&c);
}
END_TEST

START_TEST(test_missing_dockerfile)
{
    captured c = {0};
    char image_id[80] = "x";
    put("README", "no Dockerfile here\n");
    sw_image_build b = build_spec(&c);
    sw_sandbox_result res;
    ck_assert_int_eq(sw_image_build_run(docker, &b, image_id, &res), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "cannot locate the Dockerfile Dockerfile") != NULL, "%s",
                  sw_error_last());
    b.dockerfile = "ci/Dockerfile.release";
    ck_assert_int_eq(sw_image_build_run(docker, &b, image_id, &res), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "ci/Dockerfile.release") != NULL, "%s", sw_error_last());
    ck_assert_str_eq(image_id, "");
    captured_free(&c);
}
END_TEST

START_TEST(test_dockerignored_file_not_in_image)
{
    captured c = {0};
    char image_id[80];
    put_busybox();
    put("ignored.txt", "must not reach the image\n");
    put("kept.txt", "kept\n");
    put(".dockerignore", "ignored.txt\n.dockerignore\n"); /* sent, but kept out of COPY */
    put("Dockerfile",
        BASE "COPY . /ctx/\n"
             "RUN [\"/bin/busybox\", \"test\", \"!\", \"-e\", \"/ctx/ignored.txt\"]\n"
             "RUN [\"/bin/busybox\", \"test\", \"-e\", \"/ctx/kept.txt\"]\n"
             "RUN [\"/bin/busybox\", \"test\", \"!\", \"-e\", \"/ctx/.dockerignore\"]\n");
    sw_image_build b = build_spec(&c);
    sw_sandbox_result res;
    int rc = sw_image_build_run(docker, &b, image_id, &res);
    char *log = all_lines(&c);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_msg(res.exit_code == 0, "%s\n%s", res.reason, log);
    ck_assert_int_ge(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "sending the build context: "), 0);
    free(log);
    remove_built(&c);
    captured_free(&c);
}
END_TEST

START_TEST(test_run_limits_and_network)
{
    captured c = {0};
    char image_id[80], want[128];
    put_busybox();
    put("Dockerfile",
        BASE "ARG MARK\n"
             "RUN echo \"mark=$MARK\"; "
             "echo \"mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
             "cat /sys/fs/cgroup/memory.max)\"; "
             "echo \"cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || "
             "cut -d' ' -f1 /sys/fs/cgroup/cpu.max)\"; "
             "echo \"net=$(ls /sys/class/net | tr '\\n' ' ')\"; "
             "head -c 20000 /dev/zero | tr '\\0' x; echo\n");
    sw_sandbox_env args[] = {{"MARK", uniq}};
    sw_image_build b = build_spec(&c);
    b.piece = on_piece; /* instead of line: a long line's pieces say so */
    b.args = args;
    b.nargs = 1;
    b.memory_bytes = 96ull << 20;
    b.cpu_millis = 500;
    sw_sandbox_result res;
    int rc = sw_image_build_run(docker, &b, image_id, &res);
    char *log = all_lines(&c);
    ck_assert_msg(rc == 0 && res.exit_code == 0, "%s %s\n%s", sw_error_last(), res.reason, log);
    snprintf(want, sizeof(want), "mark=%s", uniq);
    ck_assert_msg(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, want) >= 0, "%s", log);
    ck_assert_msg(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "mem=100663296") >= 0, "%s", log);
    ck_assert_msg(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "cpu=50000") >= 0, "%s", log);
    ck_assert_msg(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "net=lo ") >= 0,
                  "no network but lo:\n%s", log);
    /* a line longer than SW_SANDBOX_MAX_LINE comes in pieces, the last one ending it */
    int piece = find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, "xxxxxxxx");
    ck_assert_int_ge(piece, 0);
    ck_assert_uint_eq(strlen(c.text[piece]), SW_SANDBOX_MAX_LINE);
    ck_assert(!c.ends[piece]);
    ck_assert_uint_eq(strlen(c.text[piece + 1]), 20000 - SW_SANDBOX_MAX_LINE);
    ck_assert(c.ends[piece + 1]);
    for (size_t i = 0; i < c.n; i++) {
        ck_assert(c.ends[i] || (int)i == piece);
    }
    free(log);
    remove_built(&c);
    captured_free(&c);

    /* the host's network, or another container's, is refused before anything runs */
    b.network = "host";
    ck_assert_int_eq(sw_image_build_run(docker, &b, image_id, &res), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "\"host\" is not allowed") != NULL, "%s",
                  sw_error_last());
    b.network = "container:abc";
    ck_assert_int_eq(sw_image_build_run(docker, &b, image_id, &res), SW_EINVALID);
    ck_assert_int_eq(c.n, 0);
}
END_TEST

/* A RUN that prints a marker, then sleeps: the build is stopped at the marker. */
static void sleeping_build(captured *c, const char *marker)
{
    char dockerfile[512];
    put_busybox();
    snprintf(dockerfile, sizeof(dockerfile), BASE "RUN echo %s; exec sleep 120\n", marker);
    put("Dockerfile", dockerfile);
    c->marker = marker;
}

START_TEST(test_cancel_stops_the_build_and_its_container)
{
    captured c = {0};
    char image_id[80], marker[96];
    volatile int cancel = 0;
    snprintf(marker, sizeof(marker), "sleeping-%s", uniq);
    sleeping_build(&c, marker);
    c.cancel_on_marker = &cancel;
    sw_image_build b = build_spec(&c);
    b.cancel = &cancel;
    sw_sandbox_result res;
    int rc = sw_image_build_run(docker, &b, image_id, &res);
    int64_t stopped_in = sw_clock_mono_ms() - c.cancelled_at;
    char *log = all_lines(&c);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_msg(c.cancelled_at != 0, "the RUN never printed its marker:\n%s", log);
    ck_assert_int_eq(res.killed_by, SW_SANDBOX_KILLED_CANCEL);
    ck_assert_int_eq(res.exit_code, 137);
    ck_assert_str_eq(res.reason, "killed: cancelled");
    ck_assert_str_eq(image_id, "");
    ck_assert_msg(stopped_in < 3000, "stopped %lld ms after the cancel", (long long)stopped_in);
    ck_assert_msg(!container_with(marker), "the RUN container is still there");
    free(log);
    remove_built(&c);
    captured_free(&c);
}
END_TEST

START_TEST(test_timeout_stops_the_build_and_its_container)
{
    captured c = {0};
    char image_id[80], marker[96];
    snprintf(marker, sizeof(marker), "waiting-%s", uniq);
    sleeping_build(&c, marker);
    sw_image_build b = build_spec(&c);
    b.timeout_ms = 4000;
    sw_sandbox_result res;
    int64_t t0 = sw_clock_mono_ms();
    int rc = sw_image_build_run(docker, &b, image_id, &res);
    int64_t took = sw_clock_mono_ms() - t0;
    char *log = all_lines(&c);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_msg(find_line(&c, SLIPWAY__LOG_STREAM__STDOUT, marker) >= 0, "%s", log);
    ck_assert_int_eq(res.killed_by, SW_SANDBOX_KILLED_TIMEOUT);
    ck_assert_str_eq(res.reason, "killed: timed out after 4s");
    ck_assert_msg(took >= 4000 && took < 4000 + 3000, "took %lld ms", (long long)took);
    ck_assert_int_ge(find_line(&c, SLIPWAY__LOG_STREAM__STDERR, "timed out"), 0);
    ck_assert_msg(!container_with(marker), "the RUN container is still there");
    free(log);
    remove_built(&c);
    captured_free(&c);
}
END_TEST

START_TEST(test_push_errors)
{
    captured c = {0};
    char digest[80] = "x", ref[256];
    snprintf(ref, sizeof(ref), "%s/slipway-test/none:%s", registry, uniq);
    ck_assert_int_eq(sw_image_push(docker, ref, &c, on_line, digest), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "slipway-test/none") != NULL, "%s", sw_error_last());
    ck_assert_str_eq(digest, "");
    ck_assert_int_eq(sw_image_push(docker, "bad ref", &c, on_line, digest), SW_EINVALID);
    ck_assert_int_eq(sw_image_push(docker, "x/y@sha256:00", &c, on_line, digest), SW_EINVALID);
    captured_free(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_build_push_pull_back);
    tcase_add_test(tc, test_failing_run_fails_with_the_builders_message);
    tcase_add_test(tc, test_bad_dockerfile_fails_with_the_engines_message);
    tcase_add_test(tc, test_missing_dockerfile);
    tcase_add_test(tc, test_dockerignored_file_not_in_image);
    tcase_add_test(tc, test_run_limits_and_network);
    tcase_add_test(tc, test_cancel_stops_the_build_and_its_container);
    tcase_add_test(tc, test_timeout_stops_the_build_and_its_container);
    tcase_add_test(tc, test_push_errors);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}

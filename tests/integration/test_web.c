/*
 * test_web.c - the web actor end to end: a real nats-server, git daemon and
 * slipwayd, the web actor in a slipwayd of its own (so a test can kill it),
 * libcurl for the HTTP answers, and Debian's headless Chromium
 * (tests/web/browser.py, over the DevTools protocol) for what a browser shows.
 *
 * Screenshots go to $SLIPWAY_BUILD_DIR/test-artifacts/.
 */
#include "tests/integration/harness.h"
#include "tests/support/promtext.h"
#include "tests/support/support.h"

#include "runtime/core/mem.h"

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONTROL "web-control-token-0123456789"
#define READ_COOKIE "Cookie: slipway_token=" SW_HARNESS_READ_TOKEN
#define CONTROL_COOKIE "Cookie: slipway_token=" CONTROL

#define PIPE_OK "steps:\n  - name: hello\n    run: echo one; echo two; echo three\n"
/* 40 lines, 0.1 s apart: a page can open in the middle */
#define PIPE_SLOW                                                                              \
    "steps:\n  - name: count\n    run: for i in $(seq 1 40); do echo \"line $i\"; sleep 0.1; " \
    "done\n"
#define PIPE_RENDER                                                                            \
    "steps:\n"                                                                                 \
    "  - name: colours\n"                                                                      \
    "    run: |\n"                                                                             \
    "      printf '\\033[31mred text\\033[0m and \\033[1mbold\\033[0m\\n'\n"                   \
    "      printf '\\033[38;2;255;128;0morange\\033[0m\\n'\n"                                  \
    "      printf 'progress 10%%\\rprogress 50%%\\rprogress 100%%\\n'\n"                       \
    "      echo '::group::GitHub group'\n"                                                     \
    "      echo inside github\n"                                                               \
    "      echo '::endgroup::'\n"                                                              \
    "      printf '\\033[0Ksection_start:1700000000:gl_sec[collapsed=true]\\r\\033[0KGitLab "  \
    "section\\n'\n"                                                                            \
    "      echo inside gitlab\n"                                                               \
    "      printf '\\033[0Ksection_end:1700000000:gl_sec\\r\\033[0K\\n'\n"                     \
    "      echo '--- Buildkite collapsed'\n"                                                   \
    "      echo inside buildkite\n"                                                            \
    "      echo '+++ Buildkite open'\n"                                                        \
    "      echo inside open\n"                                                                 \
    "  - name: breaks\n"                                                                       \
    "    run: echo about to fail; exit 3\n"

typedef struct reply {
    long status;
    char *body;
    size_t len;
    char *headers;
} reply;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    char **buf = arg;
    size_t old = *buf ? strlen(*buf) : 0;
    *buf = sw_realloc(*buf, old + size * n + 1);
    memcpy(*buf + old, p, size * n);
    (*buf)[old + size * n] = '\0';
    return size * n;
}

/* method "GET" or "POST"; the headers NULL-terminated. */
static reply http(const char *method, const char *url, const char *const *headers)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hs = NULL;
    reply r = {0};
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        hs = curl_slist_append(hs, headers[i]);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    if (r.body == NULL) {
        r.body = sw_strdup("");
    }
    if (r.headers == NULL) {
        r.headers = sw_strdup("");
    }
    r.len = strlen(r.body);
    return r;
}

static reply get(const char *base, const char *path, const char *header)
{
    char *url = sw_asprintf("%s%s", base, path);
    const char *hs[] = {header, NULL};
    reply r = http("GET", url, hs);
    free(url);
    return r;
}

static void reply_free(reply *r)
{
    free(r->body);
    free(r->headers);
}

typedef struct web {
    sw_harness *h;
    char *base;
    int index; /* the web actor's slipwayd (sw_harness_start_more) */
} web;

static web web_start(const char *const *repos, const char *const *pipelines, size_t n)
{
    web w = {0};
    int port = sw_test_free_port();
    char *extra = sw_asprintf("web:\n  listen: 127.0.0.1:%d\n  control_token: " CONTROL
                              "\n  tail_lines: 1000\n",
                              port);
    sw_harness_options o = {.yaml_extra = extra};
    w.h = sw_harness_create(&o);
    for (size_t i = 0; i < n; i++) {
        sw_harness_repo_pipeline(w.h, repos[i], pipelines[i]);
    }
    sw_harness_start(w.h, "logsink", "scheduler", "dispatcher", "builder", "notifier", NULL);
    w.index = sw_harness_start_more(w.h, "web", "web", NULL);
    w.base = sw_asprintf("http://127.0.0.1:%d", port);
    free(extra);
    return w;
}

static void web_stop(web *w)
{
    sw_harness_destroy(&w->h);
    free(w->base);
}

static char *await_state(web *w, const char *build, const char *want)
{
    char *state = sw_harness_await_final(w->h, build, 60000);
    ck_assert_msg(strcmp(state, want) == 0, "build %s: %s, not %s", build, state, want);
    return state;
}

/* --- pages without a browser ------------------------------------------------ */

START_TEST(test_pages_log_text_and_control)
{
    const char *repos[] = {"app"}, *pipes[] = {PIPE_OK};
    web w = web_start(repos, pipes, 1);
    char *build = sw_harness_submit(w.h, "app", NULL);
    free(await_state(&w, build, "succeeded"));
    char *path;

    /* no key: the page that asks for one; a key: kept in a cookie */
    reply r = get(w.base, "/builds", NULL);
    ck_assert_msg(r.status == 401 && strstr(r.body, "A key is needed"), "%ld %s", r.status,
                  r.body);
    reply_free(&r);
    r = get(w.base, "/builds?token=" SW_HARNESS_READ_TOKEN "&state=failed", NULL);
    ck_assert_msg(r.status == 303, "%ld", r.status);
    ck_assert_msg(strstr(r.headers, "Set-Cookie: slipway_token=" SW_HARNESS_READ_TOKEN) &&
                      strstr(r.headers, "HttpOnly") &&
                      strstr(r.headers, "Location: /builds?state=failed\r\n"),
                  "%s", r.headers);
    reply_free(&r);

    /* the list: the build, its state's colour, filters, bounds */
    r = get(w.base, "/builds", READ_COOKIE);
    path = sw_asprintf("data-build=\"%s\"", build);
    ck_assert_msg(r.status == 200 && strstr(r.body, path) && strstr(r.body, "st-succeeded"),
                  "%ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "<td class=\"ref\">main</td>"));
    reply_free(&r);
    r = get(w.base, "/builds?state=failed", READ_COOKIE);
    ck_assert_msg(r.status == 200 && strstr(r.body, path) == NULL, "%s", r.body);
    reply_free(&r);
    r = get(w.base, "/builds?limit=100000", READ_COOKIE);
    ck_assert_msg(r.status == 400 && strstr(r.body, "limit"), "%ld %s", r.status, r.body);
    reply_free(&r);
    free(path);

    /* the build's page */
    path = sw_asprintf("/builds/%s", build);
    r = get(w.base, path, READ_COOKIE);
    ck_assert_msg(r.status == 200 && strstr(r.body, "st-succeeded") &&
                      strstr(r.body, "data-build=") && strstr(r.body, "/assets/slipway.js"),
                  "%ld %s", r.status, r.body);
    ck_assert_msg(strstr(r.body, "id=\"cancel\"") == NULL, "a read token sees no buttons");
    reply_free(&r);
    r = get(w.base, path, CONTROL_COOKIE);
    ck_assert_msg(strstr(r.body, "id=\"retry\""), "a control token sees the buttons");
    reply_free(&r);
    r = get(w.base, "/assets/slipway.js", NULL);
    ck_assert_msg(r.status == 200 && strstr(r.body, "EventSource"), "%ld", r.status);
    reply_free(&r);
    free(path);

    /* the raw log, whole and in ranges */
    path = sw_asprintf("/builds/%s/log.txt", build);
    reply whole = get(w.base, path, READ_COOKIE);
    ck_assert_msg(whole.status == 200 && strstr(whole.body, "one\ntwo\nthree\n") &&
                      strstr(whole.headers, "Accept-Ranges: bytes"),
                  "%ld %s", whole.status, whole.body);
    char *url = sw_asprintf("%s%s", w.base, path);
    const char *first10[] = {READ_COOKIE, "Range: bytes=0-9", NULL};
    r = http("GET", url, first10);
    char *want_range = sw_asprintf("Content-Range: bytes 0-9/%zu", whole.len);
    ck_assert_msg(r.status == 206 && r.len == 10 && memcmp(r.body, whole.body, 10) == 0 &&
                      strstr(r.headers, want_range),
                  "%ld %s %s", r.status, r.body, r.headers);
    reply_free(&r);
    const char *last6[] = {READ_COOKIE, "Range: bytes=-6", NULL};
    r = http("GET", url, last6);
    ck_assert_msg(r.status == 206 && r.len == 6 &&
                      memcmp(r.body, whole.body + whole.len - 6, 6) == 0,
                  "%ld '%s'", r.status, r.body);
    reply_free(&r);
    char *past = sw_asprintf("Range: bytes=%zu-", whole.len);
    const char *beyond[] = {READ_COOKIE, past, NULL};
    r = http("GET", url, beyond);
    ck_assert_msg(r.status == 416, "%ld", r.status);
    reply_free(&r);
    free(past);
    free(want_range);
    free(url);
    reply_free(&whole);
    free(path);

    /* earlier lines for the page: lines 1 and 2 */
    path = sw_asprintf("/builds/%s/lines?before=3&count=2", build);
    r = get(w.base, path, READ_COOKIE);
    json_t *j = json_loads(r.body, 0, NULL);
    ck_assert_msg(j != NULL && json_integer_value(json_object_get(j, "from")) == 1 &&
                      json_array_size(json_object_get(j, "lines")) == 2,
                  "%ld %s", r.status, r.body);
    json_decref(j);
    reply_free(&r);
    free(path);

    /* control: a read token may not; without the header nobody may; an ended build
     * is not cancelled; a retry is a new build that names this one */
    char *cancel = sw_asprintf("%s/builds/%s/cancel", w.base, build);
    char *retry = sw_asprintf("%s/builds/%s/retry", w.base, build);
    const char *reader[] = {READ_COOKIE, "X-Slipway-Action: cancel", NULL};
    const char *no_header[] = {CONTROL_COOKIE, NULL};
    const char *controller[] = {CONTROL_COOKIE, "X-Slipway-Action: 1", NULL};
    r = http("POST", cancel, reader);
    ck_assert_msg(r.status == 403, "%ld %s", r.status, r.body);
    reply_free(&r);
    r = http("POST", cancel, no_header);
    ck_assert_msg(r.status == 403, "%ld %s", r.status, r.body);
    reply_free(&r);
    r = http("POST", cancel, controller);
    ck_assert_msg(r.status == 409 && strstr(r.body, "succeeded"), "%ld %s", r.status, r.body);
    reply_free(&r);
    r = http("POST", retry, controller);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    j = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(j);
    char *again = sw_strdup(json_string_value(json_object_get(j, "build")));
    json_decref(j);
    reply_free(&r);
    free(await_state(&w, again, "succeeded"));
    int status = 0;
    char *of = sw_harness_show_field(w.h, again, "retry_of", &status);
    ck_assert_msg(of != NULL && strcmp(of, build) == 0, "retry_of %s", of ? of : "(none)");
    free(of);

    /* paging: one build a page, the older one behind the link */
    r = get(w.base, "/builds?limit=1", READ_COOKIE);
    char *link = strstr(r.body, "id=\"older\" href=\"");
    ck_assert_msg(r.status == 200 && link != NULL, "%ld %s", r.status, r.body);
    char *newest = sw_asprintf("data-build=\"%s\"", again), *oldest =
                   sw_asprintf("data-build=\"%s\"", build);
    ck_assert_msg(strstr(r.body, newest) && !strstr(r.body, oldest), "page 1: %s", r.body);
    link += strlen("id=\"older\" href=\"");
    char *href = strndup(link, (size_t)(strchr(link, '"') - link));
    for (char *amp; (amp = strstr(href, "&amp;")) != NULL;) {
        memmove(amp + 1, amp + 5, strlen(amp + 5) + 1);
    }
    reply_free(&r);
    r = get(w.base, href, READ_COOKIE);
    ck_assert_msg(r.status == 200 && strstr(r.body, oldest) && !strstr(r.body, newest),
                  "page 2 (%s): %s", href, r.body);
    reply_free(&r);
    free(href);
    free(newest);
    free(oldest);

    /* /metrics: the text format, strictly; the builds counted (the reports come
     * every 5 s) */
    long long until = sw_harness_now_ms() + 30000;
    for (;;) {
        r = get(w.base, "/metrics", NULL);
        ck_assert_msg(r.status == 200 && strstr(r.headers, "text/plain; version=0.0.4"),
                      "%ld %s", r.status, r.headers);
        promtext pt;
        char err[256];
        ck_assert_msg(promtext_parse(&pt, r.body, r.len, err, sizeof(err)) == 0, "%s\n%s", err,
                      r.body);
        size_t n = 0;
        double finished = promtext_sum(&pt, "slipway_builds_finished_total", NULL, &n);
        promtext_finish(&pt);
        reply_free(&r);
        if (finished >= 2) {
            break;
        }
        ck_assert_msg(sw_harness_now_ms() < until, "/metrics counts %.0f finished builds, not 2",
                      finished);
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);
    }

    r = get(w.base, "/healthz", NULL);
    ck_assert_msg(r.status == 200 && strcmp(r.body, "ok\n") == 0, "%ld %s", r.status, r.body);
    reply_free(&r);

    free(again);
    free(cancel);
    free(retry);
    free(build);
    web_stop(&w);
}
END_TEST

/* --- the stream, read by libcurl --------------------------------------------- */

typedef struct sse {
    char *buf;
    size_t len;
    uint64_t ids[256];
    char chunks[256][32];
    size_t n;
    size_t stop_after; /* chunks: then the connection is dropped (0: read to the end) */
    bool ended;
    int builds;          /* `build` events */
    char last_state[32]; /* the state the last one said */
    char *text; /* every line, "\n"-joined */
} sse;

static void sse_event(sse *s, const char *block)
{
    char name[32] = "";
    uint64_t id = 0;
    const char *data = NULL;
    for (const char *line = block; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "event: ", 7) == 0) {
            sscanf(line + 7, "%31s", name);
        } else if (strncmp(line, "id: ", 4) == 0) {
            id = strtoull(line + 4, NULL, 10);
        } else if (strncmp(line, "data: ", 6) == 0) {
            data = line + 6;
        }
    }
    if (strcmp(name, "end") == 0) {
        s->ended = true;
    }
    if (strcmp(name, "build") == 0 && data != NULL) {
        json_t *b = json_loads(data, JSON_DISABLE_EOF_CHECK, NULL);
        ck_assert_msg(b != NULL, "build event data: %s", data);
        snprintf(s->last_state, sizeof(s->last_state), "%s",
                 json_string_value(json_object_get(b, "state")));
        ck_assert_msg(json_integer_value(json_object_get(b, "started_ms")) >= 0, "%s", data);
        json_decref(b);
        s->builds++;
    }
    if (strcmp(name, "log") != 0 || data == NULL) {
        return;
    }
    json_t *j = json_loads(data, JSON_DISABLE_EOF_CHECK, NULL);
    ck_assert_msg(j != NULL, "log event data: %s", data);
    ck_assert_uint_lt(s->n, 256);
    s->ids[s->n] = id;
    snprintf(s->chunks[s->n], sizeof(s->chunks[0]), "%lld:%lld",
             (long long)json_integer_value(json_object_get(j, "a")),
             (long long)json_integer_value(json_object_get(j, "q")));
    s->n++;
    json_t *lines = json_object_get(j, "l");
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const char *t = json_string_value(json_array_get(json_array_get(lines, i), 2));
        char *joined = sw_asprintf("%s%s\n", s->text ? s->text : "", t);
        free(s->text);
        s->text = joined;
    }
    json_decref(j);
}

static size_t on_sse(char *p, size_t size, size_t n, void *arg)
{
    sse *s = arg;
    s->buf = sw_realloc(s->buf, s->len + size * n + 1);
    memcpy(s->buf + s->len, p, size * n);
    s->len += size * n;
    s->buf[s->len] = '\0';
    char *end;
    while ((end = strstr(s->buf, "\n\n")) != NULL) {
        *end = '\0';
        sse_event(s, s->buf);
        size_t used = (size_t)(end + 2 - s->buf);
        memmove(s->buf, end + 2, s->len - used + 1);
        s->len -= used;
    }
    if (s->ended || (s->stop_after > 0 && s->n >= s->stop_after)) {
        return 0; /* drop the connection, as a browser losing its network would */
    }
    return size * n;
}

static void sse_read(const char *url, uint64_t last_id, sse *s)
{
    CURL *c = curl_easy_init();
    char header[64];
    struct curl_slist *hs = curl_slist_append(NULL, READ_COOKIE);
    if (last_id > 0) {
        snprintf(header, sizeof(header), "Last-Event-ID: %llu", (unsigned long long)last_id);
        hs = curl_slist_append(hs, header);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_sse);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_perform(c); /* ends by our hand (write error) or at the stream's end */
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
}

START_TEST(test_stream_resumes_by_last_event_id_with_no_gap_and_no_repeat)
{
    const char *repos[] = {"slow"}, *pipes[] = {PIPE_SLOW};
    web w = web_start(repos, pipes, 1);
    char *build = sw_harness_submit(w.h, "slow", NULL);
    char *url = sw_asprintf("%s/builds/%s/events", w.base, build);
    sse first = {.stop_after = 3}, second = {0};

    sse_read(url, 0, &first);
    ck_assert_msg(first.n >= 3, "the first connection brought %zu chunks", first.n);
    ck_assert_msg(!first.ended, "the build ended before the drop: make it slower");
    sse_read(url, first.ids[first.n - 1], &second);
    ck_assert_msg(second.ended, "the second connection did not reach the end");
    ck_assert_msg(first.builds >= 1 && second.builds >= 1, "build events: %d, %d", first.builds,
                  second.builds);
    ck_assert_str_eq(second.last_state, "succeeded");

    /* ids only grow, across both connections; no chunk twice; none missing */
    uint64_t last = 0;
    size_t total = first.n + second.n;
    for (size_t i = 0; i < total; i++) {
        uint64_t id = i < first.n ? first.ids[i] : second.ids[i - first.n];
        ck_assert_msg(id > last, "id %llu after %llu (chunk %zu)", (unsigned long long)id,
                      (unsigned long long)last, i);
        last = id;
        const char *chunk = i < first.n ? first.chunks[i] : second.chunks[i - first.n];
        char want[32];
        snprintf(want, sizeof(want), "1:%zu", i + 1);
        ck_assert_msg(strcmp(chunk, want) == 0, "chunk %zu is %s, not %s", i, chunk, want);
    }
    char *all = sw_asprintf("%s%s", first.text ? first.text : "", second.text ? second.text : "");
    for (int i = 1; i <= 40; i++) {
        char line[32];
        snprintf(line, sizeof(line), "\nline %d\n", i);
        char *at = strstr(all, line);
        ck_assert_msg(at != NULL, "line %d is missing", i);
        ck_assert_msg(strstr(at + 1, line) == NULL, "line %d came twice", i);
    }
    printf("stream: %zu chunks before the drop, %zu after, ids %llu..%llu\n", first.n, second.n,
           (unsigned long long)first.ids[0], (unsigned long long)last);
    free(all);
    free(first.buf);
    free(first.text);
    free(second.buf);
    free(second.text);
    free(url);
    free(build);
    web_stop(&w);
}
END_TEST

/* --- in a browser ------------------------------------------------------------------ */

static char *artifact(const char *name)
{
    const char *dir = getenv("SLIPWAY_BUILD_DIR");
    char *d = sw_asprintf("%s/test-artifacts", dir ? dir : ".");
    mkdir(d, 0755);
    char *path = sw_asprintf("%s/%s", d, name);
    free(d);
    return path;
}

static char *browser_script(void)
{
    const char *src = getenv("SLIPWAY_SOURCE_DIR");
    return sw_asprintf("%s/tests/web/browser.py", src ? src : ".");
}

/* Runs browser.py with args (NULL-terminated) to its end; its last line as JSON. */
static json_t *browse(web *w, const char *const *args)
{
    const char *argv[16] = {"python3"};
    char *script = browser_script();
    size_t n = 1;
    argv[n++] = script;
    for (size_t i = 0; args[i] != NULL && n < 15; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    sw_harness_proc *p = sw_harness_spawn_program(w->h, argv);
    sw_harness_result res;
    sw_harness_proc_finish(&p, &res, 120000);
    char *last = res.out ? strrchr(res.out, '{') : NULL;
    json_t *j = last ? json_loads(last, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    ck_assert_msg(res.status == 0 && j != NULL, "browser.py %s: exit %d\n%s\n%s", args[0],
                  res.status, res.out ? res.out : "", res.err ? res.err : "");
    sw_harness_result_finish(&res);
    free(script);
    return j;
}

static bool has_string(json_t *array, const char *want)
{
    for (size_t i = 0; i < json_array_size(array); i++) {
        const char *s = json_string_value(json_array_get(array, i));
        if (s != NULL && strstr(s, want) != NULL) {
            return true;
        }
    }
    return false;
}

START_TEST(test_browser_renders_colours_groups_and_the_failing_step)
{
    const char *repos[] = {"render"}, *pipes[] = {PIPE_RENDER};
    web w = web_start(repos, pipes, 1);
    char *build = sw_harness_submit(w.h, "render", NULL);
    free(await_state(&w, build, "failed"));
    char *url = sw_asprintf("%s/builds/%s?token=%s", w.base, build, SW_HARNESS_READ_TOKEN);
    char *shot = artifact("web-failed-build.png");
    const char *args[] = {"render", url, "--screenshot", shot, NULL};
    json_t *j = browse(&w, args);

    ck_assert_msg(has_string(json_object_get(j, "red"), "red text"), "no red span");
    ck_assert_msg(has_string(json_object_get(j, "bold"), "bold"), "no bold span");
    ck_assert_msg(has_string(json_object_get(j, "rgb"), "rgb(255, 128, 0)"), "no 24-bit colour");
    ck_assert_msg(!json_is_true(json_object_get(j, "escapes")), "raw escapes in the page");
    json_t *lines = json_object_get(j, "lines");
    ck_assert_msg(has_string(lines, "progress 100%") && !has_string(lines, "progress 10%"),
                  "a \\r progress line shows its last rewrite only");
    json_t *groups = json_object_get(j, "groups"), *open = json_object_get(j, "open");
    const char *want[] = {"GitHub group", "GitLab section", "Buildkite collapsed",
                          "Buildkite open"};
    const bool want_open[] = {true, false, false, true};
    ck_assert_uint_eq(json_array_size(groups), 4);
    for (size_t i = 0; i < 4; i++) {
        const char *g = json_string_value(json_array_get(groups, i));
        ck_assert_msg(strstr(g, want[i]) != NULL, "group %zu is '%s', not '%s'", i, g, want[i]);
        ck_assert_msg(json_is_true(json_array_get(open, i)) == want_open[i], "group %zu open?", i);
    }
    /* the failing step open with its exit code, the other folded */
    json_t *steps = json_object_get(j, "steps");
    ck_assert_msg(json_array_size(steps) == 2, "%zu steps", json_array_size(steps));
    const char *s0 = json_string_value(json_array_get(steps, 0));
    const char *s1 = json_string_value(json_array_get(steps, 1));
    ck_assert_msg(strstr(s0, "succeeded") && strstr(s0, "|false|"), "%s", s0);
    ck_assert_msg(strstr(s1, "failed") && strstr(s1, "|true|") && strstr(s1, "exit code 3"),
                  "%s", s1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "failed");
    /* line numbers are log.txt's: group markers keep theirs */
    char *path = sw_asprintf("/builds/%s/log.txt", build);
    reply raw = get(w.base, path, READ_COOKIE);
    json_int_t raw_lines = 0;
    for (const char *c = raw.body; *c; c++) {
        raw_lines += *c == '\n';
    }
    ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), raw_lines);
    reply_free(&raw);
    free(path);
    json_decref(j);
    struct stat st;
    ck_assert_msg(stat(shot, &st) == 0 && st.st_size > 1000, "no screenshot at %s", shot);
    /* the same page at an anchor: its step opens, the lines are marked */
    char *anchored = sw_asprintf("%s#L5-L8", url);
    char *shot2 = artifact("web-failed-build-anchored.png");
    const char *anchor_args[] = {"render", anchored, "--screenshot", shot2, NULL};
    j = browse(&w, anchor_args);
    json_decref(j);
    ck_assert_msg(stat(shot2, &st) == 0 && st.st_size > 1000, "no screenshot at %s", shot2);
    free(anchored);
    free(shot2);

    /* the list shows it in its state's colour */
    char *list = sw_asprintf("%s/builds?token=%s", w.base, SW_HARNESS_READ_TOKEN);
    const char *list_args[] = {"list", list, build, NULL};
    j = browse(&w, list_args);
    const char *cls = json_string_value(json_object_get(j, "class"));
    ck_assert_msg(cls && strstr(cls, "st-failed"), "row class '%s'", cls ? cls : "");
    json_decref(j);

    free(list);
    free(shot);
    free(url);
    free(build);
    web_stop(&w);
}
END_TEST

/* Waits until build's raw log holds needle. */
static void await_log_text(web *w, const char *build, const char *needle)
{
    char *path = sw_asprintf("/builds/%s/log.txt", build);
    long long until = sw_harness_now_ms() + 30000;
    for (;;) {
        reply r = get(w->base, path, READ_COOKIE);
        bool found = strstr(r.body, needle) != NULL;
        reply_free(&r);
        if (found) {
            break;
        }
        ck_assert_msg(sw_harness_now_ms() < until, "waited 30 s for '%s' in the log", needle);
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    free(path);
}

START_TEST(test_browser_opened_mid_build_shows_the_history_then_live_lines)
{
    const char *repos[] = {"slow"}, *pipes[] = {PIPE_SLOW};
    web w = web_start(repos, pipes, 1);
    char *build = sw_harness_submit(w.h, "slow", NULL);
    await_log_text(&w, build, "line 5\n");
    char *url = sw_asprintf("%s/builds/%s?token=%s", w.base, build, SW_HARNESS_READ_TOKEN);
    char *shot = artifact("web-running-build.png");
    const char *args[] = {"live", url, "--before", "line 2", "--after", "line 30",
                          "--screenshot", shot, NULL};
    json_t *j = browse(&w, args);
    double after = json_number_value(json_object_get(j, "after_delay_ms"));
    double p50 = json_number_value(json_object_get(j, "p50_ms"));
    double p99 = json_number_value(json_object_get(j, "p99_ms"));
    printf("live: a line printed after the page opened reached it %.0f ms later; "
           "over %lld live lines p50 %.0f ms, p99 %.0f ms; duration shown %s\n",
           after, (long long)json_integer_value(json_object_get(j, "live_lines")), p50, p99,
           json_string_value(json_object_get(j, "duration")));
    ck_assert_msg(json_integer_value(json_object_get(j, "live_lines")) >= 10,
                  "too few lines came live");
    ck_assert_msg(p50 < 1000, "live lines take %.0f ms (median) to reach the page", p50);
    /* the header follows the build: its record came, and the duration goes on */
    ck_assert_msg(json_integer_value(json_object_get(j, "build_events")) >= 1,
                  "no build event reached the page");
    const char *shown = json_string_value(json_object_get(j, "duration"));
    ck_assert_msg(shown != NULL && strstr(shown, "ms") == NULL,
                  "a build running for seconds shows a duration of %s", shown ? shown : "-");
    json_decref(j);
    free(await_state(&w, build, "succeeded"));
    free(shot);
    free(url);
    free(build);
    web_stop(&w);
}
END_TEST

START_TEST(test_browser_resumes_after_the_web_actor_is_killed)
{
    const char *repos[] = {"slow"}, *pipes[] = {PIPE_SLOW};
    web w = web_start(repos, pipes, 1);
    char *build = sw_harness_submit(w.h, "slow", NULL);
    char *url = sw_asprintf("%s/builds/%s?token=%s", w.base, build, SW_HARNESS_READ_TOKEN);
    char *script = browser_script();
    const char *argv[] = {"python3", script, "resume", url, "--ready", "3", NULL};
    sw_harness_proc *p = sw_harness_spawn_program(w.h, argv);
    ck_assert_msg(sw_harness_proc_await(p, "ready", 60000), "the page never had 3 chunks: %s",
                  sw_harness_proc_output(p));
    sw_harness_restart_more(w.h, w.index); /* kill -9, started again at once */
    sw_harness_result res;
    sw_harness_proc_finish(&p, &res, 120000);
    char *last = strrchr(res.out, '{');
    json_t *j = last ? json_loads(last, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    ck_assert_msg(res.status == 0 && j != NULL, "browser.py resume: %s\n%s", res.out, res.err);

    ck_assert_msg(json_integer_value(json_object_get(j, "opens")) >= 2, "the stream never reopened");
    json_t *ids = json_object_get(j, "ids"), *chunks = json_object_get(j, "chunks");
    json_int_t prev = 0;
    for (size_t i = 0; i < json_array_size(ids); i++) {
        json_int_t id = json_integer_value(json_array_get(ids, i));
        ck_assert_msg(id > prev, "id %lld after %lld", (long long)id, (long long)prev);
        prev = id;
        char want[32];
        snprintf(want, sizeof(want), "1:%zu", i + 1);
        const char *got = json_string_value(json_array_get(chunks, i));
        ck_assert_msg(strcmp(got, want) == 0, "chunk %zu is %s, not %s: a gap or a repeat", i,
                      got, want);
    }
    /* every line of the log, once: as many as the raw log has */
    char *path = sw_asprintf("/builds/%s/log.txt", build);
    reply r = get(w.base, path, READ_COOKIE);
    json_int_t want_lines = 0;
    for (const char *c = r.body; *c; c++) {
        want_lines += *c == '\n';
    }
    ck_assert_int_eq(json_integer_value(json_object_get(j, "lines")), want_lines);
    reply_free(&r);
    free(path);
    printf("resume: %zu chunks, %lld opens, all in order\n", json_array_size(ids),
           (long long)json_integer_value(json_object_get(j, "opens")));
    json_decref(j);
    sw_harness_result_finish(&res);
    free(script);
    free(url);
    free(build);
    web_stop(&w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("web");
    TCase *tc = tcase_create("web");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_pages_log_text_and_control);
    tcase_add_test(tc, test_stream_resumes_by_last_event_id_with_no_gap_and_no_repeat);
    tcase_add_test(tc, test_browser_renders_colours_groups_and_the_failing_step);
    tcase_add_test(tc, test_browser_opened_mid_build_shows_the_history_then_live_lines);
    tcase_add_test(tc, test_browser_resumes_after_the_web_actor_is_killed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = sw_test_run(suite());
    curl_global_cleanup();
    return failed;
}

/* image.c - image builds and pushes through the Docker Engine API (see image.h). */
#include "actors/builder/image/image.h"

#include "actors/builder/image/context_tar.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "slipway.pb-c.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STDOUT_STREAM SLIPWAY__LOG_STREAM__STDOUT
#define STDERR_STREAM SLIPWAY__LOG_STREAM__STDERR
/* One JSON message of the engine longer than this is dropped (never seen: the
 * engine cuts a RUN's output into small "stream" pieces). */
#define MAX_MESSAGE (4u << 20)
/* "e30=" is base64 of "{}": no credentials, but the engine wants the header. */
#define NO_AUTH_HEADER "X-Registry-Auth: e30="

typedef void (*line_fn)(void *ud, int stream, const char *text, size_t len);
typedef void (*piece_fn)(void *ud, int stream, const char *text, size_t len, bool line_ends);

/* ---- lines out --------------------------------------------------------------------- */

typedef struct emitter {
    line_fn line;   /* whole lines (pieces of a long one as lines) */
    piece_fn piece; /* or pieces, with line_ends */
    void *ud;
} emitter;

static void emit_piece(const emitter *em, int stream, const char *text, size_t len, bool ends)
{
    if (em->piece == NULL && em->line == NULL) {
        return;
    }
    char *copy = strndup(text, len);
    if (em->piece != NULL) {
        em->piece(em->ud, stream, copy, strlen(copy), ends);
    } else {
        em->line(em->ud, stream, copy, strlen(copy));
    }
    free(copy);
}

/* Hands one line (no '\n' in it) over, in pieces of at most SW_SANDBOX_MAX_LINE. */
static void emit(const emitter *em, int stream, const char *text, size_t len)
{
    do {
        size_t n = len > SW_SANDBOX_MAX_LINE ? SW_SANDBOX_MAX_LINE : len;
        emit_piece(em, stream, text, n, n == len);
        text += n;
        len -= n;
    } while (len > 0);
}

static void emitf(const emitter *em, int stream, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void emitf(const emitter *em, int stream, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    emit(em, stream, buf, strlen(buf));
}

/* Emits every line of text ('\n'-separated, a trailing '\r' dropped). */
static void emit_lines(const emitter *em, int stream, const char *text)
{
    while (*text) {
        size_t n = strcspn(text, "\n");
        size_t len = n;
        if (len > 0 && text[len - 1] == '\r') {
            len--;
        }
        emit(em, stream, text, len);
        text += n;
        text += *text == '\n';
    }
}

/* Text that arrives in pieces ("stream" values), handed over as lines: whole, or
 * in SW_SANDBOX_MAX_LINE pieces when longer (line_ends false but for the last). */
typedef struct linebuf {
    char *buf;
    size_t len, cap;
    bool partial; /* a piece of the current line was handed over already */
} linebuf;

/* Hands the buffered text over: the end of a line (ends) or a piece of it. A whole
 * line is shown to seen (may be NULL) first. */
static void linebuf_flush(linebuf *lb, const emitter *em, int stream, bool ends,
                          void (*seen)(void *arg, const char *line), void *arg)
{
    size_t len = lb->len;
    if (len == 0 && !(ends && lb->partial)) {
        return;
    }
    if (ends && len > 0 && lb->buf[len - 1] == '\r') {
        len--;
    }
    if (lb->buf == NULL) {
        lb->cap = 256;
        lb->buf = sw_calloc(1, lb->cap);
    }
    lb->buf[len] = '\0';
    if (seen != NULL && ends && !lb->partial) {
        seen(arg, lb->buf);
    }
    if (len > 0 || em->piece != NULL) { /* as lines, a long line's end may be nothing */
        emit_piece(em, stream, lb->buf, len, ends);
    }
    lb->len = 0;
    lb->partial = !ends;
}

static void linebuf_feed(linebuf *lb, const char *text, size_t len, const emitter *em, int stream,
                         void (*seen)(void *arg, const char *line), void *arg)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            if (lb->len == 0 && !lb->partial) {
                emit_piece(em, stream, "", 0, true); /* an empty line */
            } else {
                linebuf_flush(lb, em, stream, true, seen, arg);
            }
            continue;
        }
        if (lb->len + 2 > lb->cap) {
            lb->cap = lb->cap ? lb->cap * 2 : 256;
            lb->buf = sw_realloc(lb->buf, lb->cap);
        }
        lb->buf[lb->len++] = text[i];
        if (lb->len == SW_SANDBOX_MAX_LINE) {
            linebuf_flush(lb, em, stream, false, seen, arg);
        }
    }
}

/* ---- the engine's JSON stream --------------------------------------------------------- */

/* The engine writes one JSON object per line ("\r\n" after each); a read may end
 * anywhere, so bytes wait here until their line is complete. */
typedef struct jstream {
    char *buf;
    size_t len, cap;
    bool dropping; /* inside a line over MAX_MESSAGE */
    void (*on_object)(void *arg, json_t *o);
    void (*on_text)(void *arg, const char *text); /* a line that is not JSON */
    void *arg;
} jstream;

static void jstream_line(jstream *js)
{
    char *s = js->buf;
    size_t len = js->len;
    while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++, len--;
    }
    js->len = 0;
    if (len == 0) {
        return;
    }
    json_t *o = json_loadb(s, len, 0, NULL);
    if (json_is_object(o)) {
        js->on_object(js->arg, o);
    } else {
        s[len] = '\0';
        js->on_text(js->arg, s);
    }
    json_decref(o);
}

static void jstream_feed(jstream *js, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            if (!js->dropping) {
                jstream_line(js);
            }
            js->dropping = false;
            js->len = 0;
            continue;
        }
        if (js->dropping) {
            continue;
        }
        if (js->len + 2 > js->cap) {
            if (js->cap >= MAX_MESSAGE) {
                js->dropping = true;
                continue;
            }
            js->cap = js->cap ? js->cap * 2 : 4096;
            js->buf = sw_realloc(js->buf, js->cap);
        }
        js->buf[js->len++] = data[i];
    }
}

static void jstream_finish(jstream *js)
{
    if (!js->dropping && js->len > 0) {
        jstream_line(js);
    }
    free(js->buf);
    memset(js, 0, sizeof(*js));
}

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A progress message ("Downloading", "Pushing" with a bar): not worth a line. */
static bool is_progress(json_t *o)
{
    const char *bar = jstr(o, "progress");
    json_t *detail = json_object_get(o, "progressDetail");
    return (bar != NULL && bar[0] != '\0') || json_object_get(detail, "current") != NULL;
}

static void copy_text(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
    size_t len = strlen(dst);
    while (len > 0 && (dst[len - 1] == '\n' || dst[len - 1] == '\r' || dst[len - 1] == ' ')) {
        dst[--len] = '\0';
    }
}

/* ---- build ----------------------------------------------------------------------------- */

typedef struct build_run {
    const sw_image_build *b;
    sw_docker *d;
    emitter em;
    int64_t deadline; /* 0: none */
    sw_sandbox_killed stop;
    jstream js;
    linebuf out;
    char image_id[80];
    bool failed;
    char error[1024];   /* the stream's "error" */
    char message[1024]; /* an error answer's "message" (or its text) */
    char container[80]; /* the RUN container the stream named last */
} build_run;

/* Remembers " ---> Running in 1a2b3c4d5e6f": the container of the current RUN. */
static void build_saw_line(void *arg, const char *line)
{
    build_run *r = arg;
    const char *p = strstr(line, "---> Running in ");
    if (p != NULL) {
        p += strlen("---> Running in ");
        size_t n = strspn(p, "0123456789abcdef");
        if (n >= 12 && n < sizeof(r->container)) {
            memcpy(r->container, p, n);
            r->container[n] = '\0';
        }
    }
}

static void build_object(void *arg, json_t *o)
{
    build_run *r = arg;
    const char *stream = jstr(o, "stream");
    const char *status = jstr(o, "status");
    const char *error = jstr(o, "error");
    const char *message = jstr(o, "message");
    json_t *aux = json_object_get(o, "aux");

    if (stream != NULL) {
        linebuf_feed(&r->out, stream, strlen(stream), &r->em, STDOUT_STREAM, build_saw_line, r);
    }
    if (status != NULL && !is_progress(o)) {
        const char *id = jstr(o, "id");
        linebuf_flush(&r->out, &r->em, STDOUT_STREAM, true, build_saw_line, r);
        if (id != NULL && id[0] != '\0') {
            emitf(&r->em, STDOUT_STREAM, "%s: %s", id, status);
        } else {
            emit_lines(&r->em, STDOUT_STREAM, status);
        }
    }
    if (json_is_object(aux) && jstr(aux, "ID") != NULL) {
        copy_text(r->image_id, sizeof(r->image_id), jstr(aux, "ID"));
    }
    if (error == NULL) {
        error = jstr(json_object_get(o, "errorDetail"), "message");
    }
    if (error != NULL) {
        linebuf_flush(&r->out, &r->em, STDOUT_STREAM, true, build_saw_line, r);
        emit_lines(&r->em, STDERR_STREAM, error);
        if (!r->failed) {
            copy_text(r->error, sizeof(r->error), error);
        }
        r->failed = true;
    }
    if (message != NULL && stream == NULL && status == NULL && error == NULL) {
        copy_text(r->message, sizeof(r->message), message);
    }
}

static void build_text(void *arg, const char *text)
{
    build_run *r = arg;
    if (r->message[0] == '\0') {
        copy_text(r->message, sizeof(r->message), text);
    }
}

static bool build_data(void *ud, const char *data, size_t len)
{
    build_run *r = ud;
    jstream_feed(&r->js, data, len);
    return true;
}

static bool build_should_stop(void *ud)
{
    build_run *r = ud;
    if (r->b->tick != NULL) {
        r->b->tick(r->b->ud);
    }
    if (r->b->cancel != NULL && *r->b->cancel) {
        r->stop = SW_SANDBOX_KILLED_CANCEL;
    } else if (r->deadline != 0 && sw_clock_mono_ms() >= r->deadline) {
        r->stop = SW_SANDBOX_KILLED_TIMEOUT;
    }
    return r->stop != SW_SANDBOX_KILLED_NONE;
}

/* After a stop: the engine cancels the build when the connection drops, but on its
 * own time; the RUN container that was running is removed here and now. */
static void build_remove_container(build_run *r)
{
    if (r->container[0] == '\0') {
        return;
    }
    char *path = sw_asprintf("/containers/%s?force=1&v=1", r->container);
    sw_docker_req req = {.method = "DELETE", .path = path, .timeout_ms = 30000};
    for (int attempt = 0; attempt < 100; attempt++) {
        char *body = NULL;
        int status = sw_docker_call(r->d, &req, &body);
        free(body);
        /* 409: the engine is removing it already; ask again until it is gone */
        if (status != 409) {
            break;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(path);
}

static void qs_add(char **qs, const char *key, const char *value)
{
    char *v = sw_docker_escape(value);
    char *next = sw_asprintf("%s%s%s=%s", *qs, (*qs)[0] ? "&" : "", key, v);
    free(v);
    free(*qs);
    *qs = next;
}

static void qs_add_u64(char **qs, const char *key, uint64_t value)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
    qs_add(qs, key, buf);
}

static int check_network(const char *network)
{
    if (strcmp(network, "host") == 0 || strncmp(network, "container:", 10) == 0) {
        return sw_error_set(SW_EINVALID,
                            "network \"%s\" is not allowed for image builds (use \"none\", "
                            "\"bridge\" or a network's name)",
                            network);
    }
    if (network[0] == '\0' || strspn(network, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_.-") != strlen(network)) {
        return sw_error_set(SW_EINVALID, "network \"%s\" is not a valid network name", network);
    }
    return 0;
}

static char *build_query(const sw_image_build *b, const char *dockerfile, const char *network)
{
    char *qs = sw_strdup("");
    qs_add(&qs, "dockerfile", dockerfile);
    for (const char *const *t = b->tags; t != NULL && *t != NULL; t++) {
        qs_add(&qs, "t", *t);
    }
    if (b->nargs > 0) {
        json_t *args = json_object();
        for (size_t i = 0; i < b->nargs; i++) {
            json_object_set_new(args, b->args[i].key,
                                json_string(b->args[i].value ? b->args[i].value : ""));
        }
        char *text = json_dumps(args, JSON_COMPACT);
        qs_add(&qs, "buildargs", text);
        free(text);
        json_decref(args);
    }
    qs_add(&qs, "networkmode", network);
    if (b->memory_bytes > 0) {
        qs_add_u64(&qs, "memory", b->memory_bytes);
        qs_add_u64(&qs, "memswap", b->memory_bytes); /* = memory: no swap */
    }
    if (b->cpu_millis > 0) {
        qs_add_u64(&qs, "cpuperiod", 100000);
        qs_add_u64(&qs, "cpuquota", (uint64_t)b->cpu_millis * 100);
    }
    qs_add(&qs, "rm", "1");
    qs_add(&qs, "forcerm", "1");
    qs_add(&qs, "pull", "0");
    qs_add(&qs, "nocache", "0");
    char *path = sw_asprintf("/build?%s", qs);
    free(qs);
    return path;
}

int sw_image_build_run(sw_docker *d, const sw_image_build *b, char image_id[80],
                       sw_sandbox_result *out)
{
    build_run r = {.b = b, .d = d, .em = {b->line, b->piece, b->ud}};
    const char *network = b->network && b->network[0] ? b->network : "none";
    int64_t started = sw_clock_mono_ms();
    char *dockerfile = NULL, *path = NULL, what[64];
    sw_context_stats stats = {0};
    FILE *tar = NULL;
    int error, status;

    image_id[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (b->tick != NULL) {
        b->tick(b->ud);
    }
    error = check_network(network);
    if (error < 0) {
        return error;
    }
    tar = tmpfile();
    if (tar == NULL) {
        return sw_error_set(SW_EIO, "cannot make a temporary file for the build context: %s",
                            strerror(errno));
    }
    error = sw_context_tar(b->context_dir, b->dockerfile, tar, &dockerfile, &stats);
    if (error < 0) {
        goto cleanup;
    }
    rewind(tar);
    emitf(&r.em, STDOUT_STREAM, "sending the build context: %zu entries, %s%s", stats.entries,
          sw_sandbox_format_bytes(what, sizeof(what), stats.bytes),
          stats.excluded ? " (some left out by .dockerignore)" : "");

    path = build_query(b, dockerfile, network);
    r.deadline = b->timeout_ms ? started + (int64_t)b->timeout_ms : 0;
    r.js = (jstream){.on_object = build_object, .on_text = build_text, .arg = &r};
    sw_docker_req req = {
        .method = "POST",
        .path = path,
        .content_type = "application/x-tar",
        .body_file = tar,
        .on_data = build_data,
        .should_stop = build_should_stop,
        .ud = &r,
    };
    status = sw_docker_call(d, &req, NULL);
    jstream_finish(&r.js);
    linebuf_flush(&r.out, &r.em, STDOUT_STREAM, true, build_saw_line, &r);
    if (status == SW_ESTOPPED && r.stop == SW_SANDBOX_KILLED_NONE) {
        build_should_stop(&r); /* stopped between two polls: say why */
    }

    if (status < 0 && r.stop == SW_SANDBOX_KILLED_NONE) {
        error = status;
        goto cleanup;
    }
    out->killed_by = r.stop;
    if (r.stop != SW_SANDBOX_KILLED_NONE) {
        build_remove_container(&r);
        out->exit_code = 128 + SIGKILL;
        sw_sandbox_describe(out, b->timeout_ms, b->memory_bytes);
        emitf(&r.em, STDERR_STREAM, "image build %s", out->reason);
    } else if (status != 200 || r.failed) {
        const char *why = r.failed ? r.error : r.message;
        if (status != 200 && !r.failed) {
            emit_lines(&r.em, STDERR_STREAM, why[0] ? why : "the engine refused the build");
        }
        out->exit_code = 1;
        snprintf(out->reason, sizeof(out->reason), "%.*s", (int)sizeof(out->reason) - 1,
                 why[0] ? why : "the engine refused the build");
    } else {
        if (r.image_id[0] == '\0' && b->tags != NULL && b->tags[0] != NULL) {
            (void)sw_image_id(d, b->tags[0], r.image_id);
        }
        if (r.image_id[0] == '\0') {
            out->exit_code = 1;
            snprintf(out->reason, sizeof(out->reason),
                     "the engine did not say which image it built");
            emit_lines(&r.em, STDERR_STREAM, out->reason);
        } else {
            snprintf(image_id, 80, "%s", r.image_id);
            snprintf(out->reason, sizeof(out->reason), "built %s", image_id);
        }
    }
    error = 0;

cleanup:
    out->duration_ms = sw_clock_mono_ms() - started;
    free(r.out.buf);
    free(path);
    free(dockerfile);
    if (tar != NULL) {
        fclose(tar);
    }
    return error;
}

/* ---- push ------------------------------------------------------------------------------- */

typedef struct push_run {
    emitter em;
    jstream js;
    char digest[80];
    bool failed;
    char error[1024];
    char message[1024];
} push_run;

static void push_object(void *arg, json_t *o)
{
    push_run *r = arg;
    const char *status = jstr(o, "status");
    const char *id = jstr(o, "id");
    const char *error = jstr(o, "error");
    const char *message = jstr(o, "message");
    json_t *aux = json_object_get(o, "aux");

    if (error == NULL) {
        error = jstr(json_object_get(o, "errorDetail"), "message");
    }
    if (error != NULL) {
        emit_lines(&r->em, STDERR_STREAM, error);
        if (!r->failed) {
            copy_text(r->error, sizeof(r->error), error);
        }
        r->failed = true;
    }
    if (json_is_object(aux) && jstr(aux, "Digest") != NULL) {
        copy_text(r->digest, sizeof(r->digest), jstr(aux, "Digest"));
        json_t *size = json_object_get(aux, "Size");
        if (json_is_integer(size)) {
            emitf(&r->em, STDOUT_STREAM, "digest: %s (manifest of %lld bytes)", r->digest,
                  (long long)json_integer_value(size));
        } else {
            emitf(&r->em, STDOUT_STREAM, "digest: %s", r->digest);
        }
    }
    if (status != NULL && !is_progress(o)) {
        if (id != NULL && id[0] != '\0') {
            if (strcmp(status, "Preparing") == 0 || strcmp(status, "Waiting") == 0 ||
                strcmp(status, "Pushing") == 0) {
                return;
            }
            if (strcmp(status, "Pushed") == 0) {
                emitf(&r->em, STDOUT_STREAM, "layer %s: pushed", id);
            } else if (strcmp(status, "Layer already exists") == 0) {
                emitf(&r->em, STDOUT_STREAM, "layer %s: already exists", id);
            } else {
                emitf(&r->em, STDOUT_STREAM, "layer %s: %c%s", id,
                      status[0] >= 'A' && status[0] <= 'Z' ? status[0] - 'A' + 'a' : status[0],
                      status[0] ? status + 1 : "");
            }
        } else if (strncmp(status, "The push refers to", 18) != 0 &&
                   strstr(status, " digest: sha256:") == NULL) {
            emit_lines(&r->em, STDOUT_STREAM, status);
        }
    }
    if (message != NULL && status == NULL && error == NULL) {
        copy_text(r->message, sizeof(r->message), message);
    }
}

static void push_text(void *arg, const char *text)
{
    push_run *r = arg;
    if (r->message[0] == '\0') {
        copy_text(r->message, sizeof(r->message), text);
    }
}

static bool push_data(void *ud, const char *data, size_t len)
{
    push_run *r = ud;
    jstream_feed(&r->js, data, len);
    return true;
}

/* Whether ref is made of the characters of an image reference only (so that it
 * can be put in a URL path as is, which is how the engine wants the name). */
static bool ref_chars_ok(const char *ref)
{
    return ref[0] != '\0' &&
           strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@") ==
               strlen(ref);
}

/* Splits "host:5000/x/y:tag" into name "host:5000/x/y" and tag "tag". */
static int split_ref(const char *ref, char **name, char **tag)
{
    const char *slash = strrchr(ref, '/');
    const char *colon = strrchr(slash ? slash : ref, ':');
    *name = *tag = NULL;
    if (!ref_chars_ok(ref) || strchr(ref, '@') != NULL) {
        return sw_error_set(SW_EINVALID, "cannot push \"%s\": not an image reference with a tag",
                            ref);
    }
    if (colon != NULL && colon[1] != '\0' && colon != ref) {
        *name = strndup(ref, (size_t)(colon - ref));
        *tag = sw_strdup(colon + 1);
    } else if (colon == NULL) {
        *name = sw_strdup(ref);
        *tag = sw_strdup("latest");
    } else {
        return sw_error_set(SW_EINVALID, "cannot push \"%s\": not an image reference", ref);
    }
    return 0;
}

int sw_image_push(sw_docker *d, const char *ref, void *ud, line_fn line, char digest[80])
{
    push_run r = {.em = {line, NULL, ud}};
    char *name = NULL, *tag = NULL, *etag = NULL, *path = NULL;
    const char *headers[] = {NO_AUTH_HEADER, NULL};
    int error, status;

    digest[0] = '\0';
    error = split_ref(ref, &name, &tag);
    if (error == 0) {
        char id[80];
        error = sw_image_id(d, ref, id); /* else the engine says so in mid-stream */
    }
    if (error < 0) {
        if (error == SW_ENOTFOUND) {
            emit_lines(&r.em, STDERR_STREAM, sw_error_last());
        }
        free(name);
        free(tag);
        return error;
    }
    etag = sw_docker_escape(tag);
    path = sw_asprintf("/images/%s/push?tag=%s", name, etag);
    emitf(&r.em, STDOUT_STREAM, "pushing %s:%s", name, tag);
    r.js = (jstream){.on_object = push_object, .on_text = push_text, .arg = &r};
    sw_docker_req req = {
        .method = "POST",
        .path = path,
        .headers = headers,
        .on_data = push_data,
        .ud = &r,
    };
    status = sw_docker_call(d, &req, NULL);
    jstream_finish(&r.js);
    if (status < 0) {
        error = status;
    } else if (status == 404) {
        emit_lines(&r.em, STDERR_STREAM, r.message);
        error = sw_error_set(SW_ENOTFOUND, "cannot push %s: %s", ref,
                             r.message[0] ? r.message : "no such image");
    } else if (status != 200 || r.failed) {
        const char *why = r.failed ? r.error : r.message;
        if (!r.failed) {
            emit_lines(&r.em, STDERR_STREAM, why);
        }
        error = sw_error_set(SW_ERROR, "push of %s failed: %s", ref,
                             why[0] ? why : "the engine refused it");
    } else if (strncmp(r.digest, "sha256:", 7) != 0) {
        error = sw_error_set(SW_ERROR, "push of %s: the engine did not report a digest", ref);
    } else {
        snprintf(digest, 80, "%s", r.digest);
        error = 0;
    }
    free(name);
    free(tag);
    free(etag);
    free(path);
    return error;
}

/* ---- inspect, remove ---------------------------------------------------------------- */

int sw_image_id(sw_docker *d, const char *ref, char id[80])
{
    char *path, *body = NULL;
    int status, error;

    id[0] = '\0';
    if (!ref_chars_ok(ref)) {
        return sw_error_set(SW_EINVALID, "\"%s\" is not an image reference", ref);
    }
    path = sw_asprintf("/images/%s/json", ref);
    sw_docker_req req = {.method = "GET", .path = path, .timeout_ms = 30000};
    status = sw_docker_call(d, &req, &body);
    if (status < 0) {
        error = status;
    } else if (status == 404) {
        error = sw_error_set(SW_ENOTFOUND, "no image %s on the engine", ref);
    } else if (status != 200) {
        char why[512];
        error = sw_error_set(SW_ERROR, "cannot inspect the image %s: %s", ref,
                             sw_docker_error_text(why, sizeof(why), body));
    } else {
        json_t *o = json_loads(body, 0, NULL);
        const char *v = jstr(o, "Id");
        if (v != NULL && strlen(v) < 80) {
            snprintf(id, 80, "%s", v);
            error = 0;
        } else {
            error = sw_error_set(SW_ERROR, "the engine's answer about %s has no Id", ref);
        }
        json_decref(o);
    }
    free(body);
    free(path);
    return error;
}

int sw_image_remove(sw_docker *d, const char *ref)
{
    char *path, *body = NULL;
    int status, error = 0;

    if (!ref_chars_ok(ref)) {
        return sw_error_set(SW_EINVALID, "\"%s\" is not an image reference", ref);
    }
    path = sw_asprintf("/images/%s?force=1", ref);
    sw_docker_req req = {.method = "DELETE", .path = path, .timeout_ms = 60000};
    status = sw_docker_call(d, &req, &body);
    if (status < 0) {
        error = status;
    } else if (status != 200 && status != 404) {
        char why[512];
        error = sw_error_set(SW_ERROR, "cannot remove the image %s: %s", ref,
                             sw_docker_error_text(why, sizeof(why), body));
    }
    free(body);
    free(path);
    return error;
}

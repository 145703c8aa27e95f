/* docker_pull.c - pulling an image onto the Docker engine (see docker_pull.h). */
#include "actors/builder/exec/docker_pull.h"

#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "docker"
#define PULL_TIMEOUT_MS (30 * 60 * 1000)

/* req.ud of the pull: the answer's state, and the caller's should_stop */
typedef struct pull_state {
    char line[4096];
    size_t len;
    int overlong;
    char error[512];
    bool (*should_stop)(void *ud);
    void *ud;
} pull_state;

static void pull_line(pull_state *p)
{
    json_t *o = json_loadb(p->line, p->len, 0, NULL);
    /* {"error": ...} in the progress, or {"message": ...} as an error answer */
    const char *e = o ? json_string_value(json_object_get(o, "error")) : NULL;
    if (e == NULL && o != NULL) {
        e = json_string_value(json_object_get(o, "message"));
    }
    if (e != NULL && p->error[0] == '\0') {
        snprintf(p->error, sizeof(p->error), "%s", e);
    }
    json_decref(o);
}

/* The answer, one JSON object per line (the progress, or one error object). */
static bool on_pull_data(void *ud, const char *data, size_t len)
{
    pull_state *p = ud;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            if (!p->overlong) {
                pull_line(p);
            }
            p->len = 0;
            p->overlong = 0;
        } else if (p->len + 1 < sizeof(p->line)) {
            p->line[p->len++] = data[i];
        } else {
            p->overlong = 1;
        }
    }
    return true;
}

static bool pull_poll(void *ud)
{
    pull_state *p = ud;
    return p->should_stop != NULL && p->should_stop(p->ud);
}

int sw_docker_pull(sw_docker *d, const char *ref, bool (*should_stop)(void *ud), void *ud)
{
    pull_state *p = sw_calloc(1, sizeof(*p));
    const char *at = strchr(ref, '@'), *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
    size_t name_len = strlen(ref);
    const char *tag = "latest";

    if (at != NULL) {
        name_len = (size_t)(at - ref);
        tag = at + 1;
    } else if (colon != NULL && (slash == NULL || colon > slash)) {
        name_len = (size_t)(colon - ref);
        tag = colon + 1;
    }
    char *name = strndup(ref, name_len);
    char *ename = sw_docker_escape(name), *etag = sw_docker_escape(tag);
    char *path = sw_asprintf("/images/create?fromImage=%s&tag=%s", ename, etag);
    char *body = NULL;
    sw_docker_req req = {.method = "POST",
                         .path = path,
                         .on_data = on_pull_data,
                         .should_stop = pull_poll,
                         .ud = p,
                         .timeout_ms = PULL_TIMEOUT_MS};

    p->should_stop = should_stop;
    p->ud = ud;
    sw_info(WHO, "pulling %s", ref);
    int status = sw_docker_call(d, &req, &body);
    int error = 0;
    if (p->len > 0 && !p->overlong) {
        pull_line(p);
    }
    if (status == SW_ESTOPPED) {
        error = status;
    } else if (status < 0) {
        error = sw_error_set(status, "image %s is not on the engine and pulling it failed: %s", ref,
                             sw_error_last());
    } else if (status != 200 || p->error[0] != '\0') {
        error = sw_error_set(SW_ENOTFOUND,
                             "image %s is not on the engine and cannot be pulled: %s (HTTP %d)", ref,
                             p->error[0] ? p->error : "no reason given", status);
    } else {
        sw_info(WHO, "pulled %s", ref);
    }
    free(body);
    free(path);
    free(ename);
    free(etag);
    free(name);
    free(p);
    return error;
}

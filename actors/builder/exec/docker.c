/*
 * docker.c - the Docker executor (see docker.h).
 *
 * A run: create (pulling the image first when the engine says it has none),
 * start, follow the logs into lines, wait for the exit, inspect, remove. Each
 * call that waits on the step polls step_poll every 25 ms: it ticks, and turns
 * a cancel or the deadline into a stop, after which the container is killed.
 * Whatever happens after the create, remove_container runs before we return.
 */
#include "actors/builder/exec/docker.h"

#include "actors/builder/exec/docker_config.h"
#include "actors/builder/exec/docker_output.h"
#include "actors/builder/exec/docker_pull.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define WHO "docker"
#define TICK_MS 20 /* ticks at most this often: calls poll every 25 ms, and tick between calls */
#define CREATE_TIMEOUT_MS (5 * 60 * 1000)  /* vfs copies the whole image on create */
#define START_TIMEOUT_MS (2 * 60 * 1000)
#define CLEANUP_TIMEOUT_MS 10000
#define REMOVE_TIMEOUT_MS 60000
#define OOM_RECHECK_MS 300 /* exit 137 without OOMKilled: how long to wait for a late OOM event */

typedef struct run_state {
    sw_docker *d;
    const sw_sandbox_spec *spec;
    int64_t started, deadline, last_tick;
    sw_sandbox_killed stop;    /* set by step_poll: TIMEOUT or CANCEL */
    sw_docker_output *output;  /* once started */
    char id[128];              /* the container's id, or its name before we know the id */
    int created;
    int pulled;                /* the image was pulled for the create */
    int64_t t_created, t_started, t_exited; /* for the debug log line */
} run_state;

static void tick(run_state *r)
{
    int64_t now = sw_clock_mono_ms();
    if (r->spec->tick != NULL && now - r->last_tick >= TICK_MS) {
        r->spec->tick(r->spec->ud);
        r->last_tick = now;
    }
}

/* should_stop while the step may still be stopped: ticks, and stops the call on a
 * cancel or at the deadline. */
static bool step_poll(void *ud)
{
    run_state *r = ud;
    tick(r);
    if (r->stop == SW_SANDBOX_KILLED_NONE) {
        if (r->spec->cancel != NULL && *r->spec->cancel) {
            r->stop = SW_SANDBOX_KILLED_CANCEL;
        } else if (sw_clock_mono_ms() >= r->deadline) {
            r->stop = SW_SANDBOX_KILLED_TIMEOUT;
        }
    }
    return r->stop != SW_SANDBOX_KILLED_NONE;
}

static void tick_cb(void *ud)
{
    tick(ud);
}

/* should_stop of the clean-up calls: they tick but always run to their end. */
static bool cleanup_poll(void *ud)
{
    tick(ud);
    return false;
}

/* One call with a JSON body (may be NULL, and is released) and a collected answer. */
static int call(run_state *r, const char *method, const char *path, json_t *body,
                bool (*should_stop)(void *), uint64_t timeout_ms, char **answer)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    sw_docker_req req = {.method = method,
                         .path = path,
                         .body = text,
                         .body_len = text ? strlen(text) : 0,
                         .should_stop = should_stop,
                         .ud = r,
                         .timeout_ms = timeout_ms};
    tick(r);
    int status = sw_docker_call(r->d, &req, answer);
    tick(r);
    free(text);
    json_decref(body);
    return status;
}

/* Sets the error for an unexpected answer and returns its code. */
static int api_error(int status, const char *what, const char *body)
{
    char msg[512];
    if (status < 0) {
        return status; /* sw_docker_call set the message */
    }
    return sw_error_set(status == 404 ? SW_ENOTFOUND : SW_ERROR, "%s: %s (HTTP %d)", what,
                        sw_docker_error_text(msg, sizeof(msg), body), status);
}

/* ---- the container's life -------------------------------------------------------- */

/* POST /containers/create, pulling the image once when the engine has none. */
static int create_container(run_state *r, const sw_docker_step *step, json_t *body)
{
    char *ename = step->name ? sw_docker_escape(step->name) : NULL;
    char *path = ename ? sw_asprintf("/containers/create?name=%s", ename)
                       : sw_strdup("/containers/create");
    int error = 0;

    for (int attempt = 0;; attempt++) {
        char *answer = NULL;
        int status = call(r, "POST", path, json_incref(body), step_poll, CREATE_TIMEOUT_MS,
                          &answer);
        if (status == 201) {
            json_t *o = json_loads(answer, 0, NULL);
            const char *id = o ? json_string_value(json_object_get(o, "Id")) : NULL;
            if (id != NULL) {
                snprintf(r->id, sizeof(r->id), "%s", id);
                r->created = 1;
            } else {
                error = sw_error_set(SW_ERROR, "create: the engine's answer has no Id: %s", answer);
            }
            json_decref(o);
            free(answer);
            break;
        }
        if (status == SW_ESTOPPED && step->name != NULL) {
            /* the engine may have made it all the same: remove it by name */
            snprintf(r->id, sizeof(r->id), "%s", step->name);
            r->created = 1;
        }
        if (status == 404 && attempt == 0) {
            free(answer);
            error = sw_docker_pull(r->d, step->image, step_poll, r);
            r->pulled = error == 0;
            tick(r);
            if (error != 0) {
                break;
            }
            continue;
        }
        error = status == 409 ? sw_error_set(SW_EEXISTS, "a container named %s exists already",
                                             step->name)
                              : api_error(status, "cannot create the step's container", answer);
        free(answer);
        break;
    }
    free(path);
    free(ename);
    return error;
}

/* POST /wait: the exit code, or -1 (with *stopped when step_poll stopped it). */
static int wait_exit(run_state *r, bool (*poll)(void *), uint64_t timeout_ms)
{
    char *path = sw_asprintf("/containers/%s/wait?condition=not-running", r->id);
    char *answer = NULL;
    int code = -1;
    int status = call(r, "POST", path, NULL, poll, timeout_ms, &answer);
    if (status == 200) {
        json_t *o = json_loads(answer, 0, NULL);
        json_t *sc = o ? json_object_get(o, "StatusCode") : NULL;
        const char *err = o ? json_string_value(json_object_get(json_object_get(o, "Error"),
                                                                "Message"))
                            : NULL;
        if (json_is_integer(sc)) {
            code = (int)json_integer_value(sc);
        }
        if (err != NULL && err[0] != '\0') {
            sw_warn(WHO, "container %.12s: the engine says: %s", r->id, err);
        }
        json_decref(o);
    } else if (status != SW_ESTOPPED) {
        char msg[512];
        sw_warn(WHO, "container %.12s: cannot wait for its exit: %s", r->id,
                status < 0 ? sw_error_last() : sw_docker_error_text(msg, sizeof(msg), answer));
    }
    free(answer);
    free(path);
    return code;
}

/* POST /kill (SIGKILL), then waits for it to stop; its exit code or 137. */
static int kill_container(run_state *r)
{
    char *path = sw_asprintf("/containers/%s/kill?signal=KILL", r->id);
    char *answer = NULL;
    int status = call(r, "POST", path, NULL, cleanup_poll, CLEANUP_TIMEOUT_MS, &answer);
    if (status != 204 && status != 409 && status != 404) { /* 409: not running */
        char msg[512];
        sw_warn(WHO, "container %.12s: cannot kill it: %s", r->id,
                status < 0 ? sw_error_last() : sw_docker_error_text(msg, sizeof(msg), answer));
    }
    free(answer);
    free(path);
    int code = status == 404 ? -1 : wait_exit(r, cleanup_poll, CLEANUP_TIMEOUT_MS);
    return code >= 0 ? code : 128 + SIGKILL;
}

/* State.OOMKilled and State.ExitCode from the inspect; -1 when it cannot say. */
static int inspect_state(run_state *r, int *exit_code)
{
    char *path = sw_asprintf("/containers/%s/json", r->id);
    char *answer = NULL;
    int oom = -1;
    int status = call(r, "GET", path, NULL, cleanup_poll, CLEANUP_TIMEOUT_MS, &answer);
    if (status == 200) {
        json_t *o = json_loads(answer, 0, NULL);
        json_t *state = o ? json_object_get(o, "State") : NULL;
        json_t *killed = json_object_get(state, "OOMKilled");
        json_t *code = json_object_get(state, "ExitCode");
        if (json_is_boolean(killed)) {
            oom = json_is_true(killed);
        }
        if (json_is_integer(code) && exit_code != NULL) {
            *exit_code = (int)json_integer_value(code);
        }
        json_decref(o);
    }
    free(answer);
    free(path);
    return oom;
}

/* Did the kernel's OOM killer act in the container? The engine's State.OOMKilled is
 * set by containerd's OOM event for the container's memory cgroup (cgroup v1: the
 * memory.oom_control eventfd; v2: memory.events oom_kill), so it is true whichever
 * process of the step the kernel killed, also a child of the shell that survives
 * it (checked on this engine: `head -c 100m /dev/zero | tail; echo $?` under 32 MiB
 * prints 137 and the container exits 0 with OOMKilled true). As in the sandbox, any
 * OOM kill makes the step KILLED_OOM. The event and the exit travel separately: when
 * the step exits 137 with a memory limit and no OOM yet, the inspect is asked again
 * for up to OOM_RECHECK_MS in case the event comes second. */
static int container_oomed(run_state *r, int exit_code)
{
    int oom = inspect_state(r, NULL);
    if (oom == 0 && exit_code == 128 + SIGKILL && r->spec->memory_bytes > 0) {
        int64_t until = sw_clock_mono_ms() + OOM_RECHECK_MS;
        while (oom == 0 && sw_clock_mono_ms() < until) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            tick(r);
            oom = inspect_state(r, NULL);
        }
    }
    return oom == 1;
}

/* DELETE ?force=1&v=1: kills it if it runs, removes it and its anonymous volumes. */
static void remove_container(run_state *r)
{
    char *path = sw_asprintf("/containers/%s?force=1&v=1", r->id);
    char *answer = NULL;
    int status = call(r, "DELETE", path, NULL, cleanup_poll, REMOVE_TIMEOUT_MS, &answer);
    if (status != 204 && status != 404) {
        char msg[512];
        sw_err(WHO, "container %.12s: cannot remove it (the next builder start will): %s", r->id,
               status < 0 ? sw_error_last() : sw_docker_error_text(msg, sizeof(msg), answer));
    }
    free(answer);
    free(path);
}

/* ---- the run --------------------------------------------------------------------- */

static void set_reason(const sw_sandbox_spec *spec, sw_sandbox_result *out)
{
    sw_sandbox_describe(out, spec->timeout_ms, spec->memory_bytes);
}

int sw_docker_run(sw_docker *d, const sw_sandbox_spec *spec, const sw_docker_step *step,
                  sw_sandbox_result *out)
{
    run_state r = {.d = d, .spec = spec};
    json_t *body = NULL;
    char *ws = NULL, *path = NULL, *answer = NULL;
    struct stat st;
    int error = -1;

    memset(out, 0, sizeof(*out));
    r.started = r.last_tick = sw_clock_mono_ms();
    r.deadline = spec->timeout_ms > 0 ? r.started + (int64_t)spec->timeout_ms : INT64_MAX;

    if ((ws = realpath(spec->workspace, NULL)) == NULL || stat(ws, &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
        error = sw_error_set(SW_EIO, "workspace %s: %s", spec->workspace,
                             ws ? "not a directory" : strerror(errno));
        goto cleanup;
    }
    if ((error = sw_docker_config(&body, spec, step, ws)) != 0) {
        goto cleanup;
    }

    /* stopped already (a cancel before the step began): nothing is made, so
     * nothing can be left behind by a create the engine finishes after we
     * gave up on it */
    error = step_poll(&r) ? SW_ESTOPPED : create_container(&r, step, body);
    if (error != 0 && !(error == SW_ESTOPPED && r.stop != SW_SANDBOX_KILLED_NONE)) {
        goto cleanup;
    }
    r.t_created = sw_clock_mono_ms();
    /* a cancel (or the deadline) that came while the create was answered
     * without a poll in between: the container is never started */
    if (error == 0 && !step_poll(&r)) {
        path = sw_asprintf("/containers/%s/start", r.id);
        int status = call(&r, "POST", path, NULL, step_poll, START_TIMEOUT_MS, &answer);
        if (status != 204 && status != 304 && status != SW_ESTOPPED) {
            error = api_error(status, "cannot start the step's container", answer);
            goto cleanup;
        }
        r.t_started = sw_clock_mono_ms();
        sw_docker_output_create(&r.output, d, r.id, spec, step_poll, tick_cb, &r);
        if (r.stop == SW_SANDBOX_KILLED_NONE) {
            sw_docker_output_follow(r.output);
        }
        if (r.stop == SW_SANDBOX_KILLED_NONE) {
            out->exit_code = wait_exit(&r, step_poll, 0);
        }
    }
    if (r.stop != SW_SANDBOX_KILLED_NONE) {
        out->killed_by = r.stop;
        out->exit_code = r.created ? kill_container(&r) : 128 + SIGKILL;
    }
    r.t_exited = sw_clock_mono_ms();
    out->duration_ms = r.t_exited - r.started;
    out->pulled = r.pulled;
    if (r.output != NULL) {
        sw_docker_output_finish(r.output, r.stop != SW_SANDBOX_KILLED_NONE);
    }
    if (out->exit_code < 0) { /* the wait failed: the inspect may still know */
        (void)inspect_state(&r, &out->exit_code);
    }
    if (out->killed_by == SW_SANDBOX_KILLED_NONE && container_oomed(&r, out->exit_code)) {
        out->killed_by = SW_SANDBOX_KILLED_OOM;
    }
    set_reason(spec, out);
    error = 0;

cleanup:
    if (r.created) {
        remove_container(&r);
    }
    if (r.t_exited != 0) {
        sw_debug(WHO, "container %.12s: create %lld ms, start %lld ms, run %lld ms, "
                      "inspect and remove %lld ms; %s",
                 r.id, (long long)(r.t_created - r.started),
                 (long long)(r.t_started ? r.t_started - r.t_created : 0),
                 (long long)(r.t_exited - (r.t_started ? r.t_started : r.t_created)),
                 (long long)(sw_clock_mono_ms() - r.t_exited), out->reason);
    }
    sw_docker_output_destroy(&r.output);
    free(answer);
    free(path);
    free(ws);
    json_decref(body);
    return error;
}

int sw_docker_remove_labeled(sw_docker *d, const char *label)
{
    run_state r = {.d = d};
    sw_sandbox_spec none = {0};
    json_t *filters = json_pack("{s:[s]}", "label", label);
    char *text = json_dumps(filters, JSON_COMPACT);
    char *efilters = sw_docker_escape(text);
    char *path = sw_asprintf("/containers/json?all=1&filters=%s", efilters);
    char *answer = NULL;
    int removed = 0;

    r.spec = &none;
    int status = call(&r, "GET", path, NULL, NULL, CLEANUP_TIMEOUT_MS, &answer);
    if (status != 200) {
        removed = api_error(status, "cannot list containers", answer);
        goto cleanup;
    }
    json_t *list = json_loads(answer, 0, NULL);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        const char *id = json_string_value(json_object_get(c, "Id"));
        if (id == NULL) {
            continue;
        }
        char *del = sw_asprintf("/containers/%s?force=1&v=1", id);
        char *reply = NULL;
        int st = call(&r, "DELETE", del, NULL, NULL, REMOVE_TIMEOUT_MS, &reply);
        if (st == 204) {
            removed++;
            sw_info(WHO, "removed container %.12s (%s), left by a builder that died", id, label);
        } else if (st != 404) {
            char msg[512];
            sw_warn(WHO, "cannot remove container %.12s: %s", id,
                    st < 0 ? sw_error_last() : sw_docker_error_text(msg, sizeof(msg), reply));
        }
        free(reply);
        free(del);
    }
    json_decref(list);

cleanup:
    free(answer);
    free(path);
    free(efilters);
    free(text);
    json_decref(filters);
    return removed;
}

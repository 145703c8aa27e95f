/* docker_config.c - a step's container configuration (see docker_config.h). */
#include "actors/builder/exec/docker_config.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Capabilities a build does not need, on top of Docker's default set (which
 * already leaves out SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, ...):
 *  NET_RAW     raw and packet sockets: ARP/DNS spoofing on a shared network and a
 *              long record of kernel bugs; a build needs it for ping only.
 *  MKNOD       device nodes; the device cgroup forbids using them anyway.
 *  AUDIT_WRITE the host's kernel audit log: for login daemons, not builds.
 *  SETFCAP     file capabilities; moot under no-new-privileges, and a step in
 *              known user-namespace escapes.
 *  SETPCAP     rearranging capability sets; nothing in a build does.
 *  SYS_CHROOT  chroot; a step of several known breakouts, rare in builds.
 * Kept: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETUID, SETGID (package managers
 * and tar extraction as root, dropping to another user in tests), KILL, and
 * NET_BIND_SERVICE (test servers on ports below 1024 over lo). */
static const char *const cap_drop[] = {"NET_RAW",  "MKNOD",   "AUDIT_WRITE",
                                       "SETFCAP",  "SETPCAP", "SYS_CHROOT"};

static int network_mode(const char *asked, const char **mode)
{
    *mode = asked == NULL || asked[0] == '\0' ? "none" : asked;
    if (strcmp(*mode, "host") == 0 || strncmp(*mode, "container:", 10) == 0) {
        return sw_error_set(SW_EINVALID,
                            "network mode \"%s\" is refused: a step never shares the "
                            "builder host's or another container's network",
                            *mode);
    }
    return 0;
}

/* HOME, CI, SLIPWAY, then the step's, a later key replacing an earlier one. */
static int env_array(const sw_sandbox_spec *spec, json_t **out)
{
    size_t n = 3 + spec->nenv;
    char **kv = sw_calloc(n, sizeof(*kv));
    size_t used = 0;
    int error = 0;
    const sw_sandbox_env base[] = {
        {"HOME", SW_DOCKER_WORKSPACE}, {"CI", "true"}, {"SLIPWAY", "1"}};

    for (size_t i = 0; i < n && error == 0; i++) {
        const sw_sandbox_env *e = i < 3 ? &base[i] : &spec->env[i - 3];
        if (e->key == NULL || e->key[0] == '\0' || strchr(e->key, '=') != NULL) {
            error = sw_error_set(SW_EINVALID, "bad environment variable name \"%s\"",
                                 e->key ? e->key : "");
            break;
        }
        size_t klen = strlen(e->key), j;
        for (j = 0; j < used; j++) {
            if (strncmp(kv[j], e->key, klen) == 0 && kv[j][klen] == '=') {
                break;
            }
        }
        char *entry = sw_asprintf("%s=%s", e->key, e->value ? e->value : "");
        if (j < used) {
            free(kv[j]);
            kv[j] = entry;
        } else {
            kv[used++] = entry;
        }
    }
    *out = json_array();
    for (size_t j = 0; j < used; j++) {
        json_t *s = json_string(kv[j]);
        if (s == NULL && error == 0) {
            error = sw_error_set(SW_EINVALID, "environment variable %.*s is not valid UTF-8",
                                 (int)strcspn(kv[j], "="), kv[j]);
        }
        json_array_append_new(*out, s);
        free(kv[j]);
    }
    free(kv);
    return error;
}

/* Sets key to a string; counts a failure (text not UTF-8) in *bad. */
static void set_str(json_t *obj, const char *key, const char *text, int *bad)
{
    json_t *v = json_string(text);
    if (v == NULL || json_object_set_new(obj, key, v) != 0) {
        (*bad)++;
    }
}

/* The body (env is stolen). NULL when a text is not UTF-8. */
static json_t *create_body(const sw_sandbox_spec *spec, const sw_docker_step *step,
                           const char *ws, const char *mode, json_t *env)
{
    json_t *body = json_object(), *labels = json_object(), *host = json_object();
    json_t *mount = json_object(), *caps = json_array(), *log_config = json_object();
    int bad = 0;

    set_str(body, "Image", step->image, &bad);
    json_object_set_new(body, "Entrypoint", json_pack("[ss]", "/bin/sh", "-c"));
    json_object_set_new(body, "Cmd", json_array());
    if (json_array_append_new(json_object_get(body, "Cmd"), json_string(spec->script)) != 0) {
        bad++;
    }
    json_object_set_new(body, "Env", env);
    set_str(body, "WorkingDir", SW_DOCKER_WORKSPACE, &bad);
    set_str(body, "Hostname", "slipway", &bad);
    for (const char *const *l = step->labels; l != NULL && *l != NULL; l++) {
        const char *eq = strchr(*l, '=');
        char *key = eq ? strndup(*l, (size_t)(eq - *l)) : sw_strdup(*l);
        set_str(labels, key, eq ? eq + 1 : "", &bad);
        free(key);
    }
    json_object_set_new(body, "Labels", labels);
    static const char *const no_stdio[] = {"Tty", "OpenStdin", "AttachStdin", "AttachStdout",
                                           "AttachStderr"};
    for (size_t i = 0; i < sizeof(no_stdio) / sizeof(no_stdio[0]); i++) {
        json_object_set_new(body, no_stdio[i], json_false());
    }

    set_str(mount, "Type", "bind", &bad);
    set_str(mount, "Source", ws, &bad);
    set_str(mount, "Target", SW_DOCKER_WORKSPACE, &bad);
    json_object_set_new(mount, "ReadOnly", json_false());
    json_object_set_new(host, "Mounts", json_array());
    json_array_append_new(json_object_get(host, "Mounts"), mount);
    if (spec->memory_bytes > 0) {
        json_object_set_new(host, "Memory", json_integer((json_int_t)spec->memory_bytes));
        json_object_set_new(host, "MemorySwap", json_integer((json_int_t)spec->memory_bytes));
    }
    if (spec->pids > 0) {
        json_object_set_new(host, "PidsLimit", json_integer(spec->pids));
    }
    if (spec->cpu_millis > 0) {
        json_object_set_new(host, "NanoCpus", json_integer((json_int_t)spec->cpu_millis * 1000000));
    }
    set_str(host, "NetworkMode", mode, &bad);
    json_object_set_new(host, "Privileged", json_false());
    json_object_set_new(host, "SecurityOpt", json_pack("[s]", "no-new-privileges"));
    for (size_t i = 0; i < sizeof(cap_drop) / sizeof(cap_drop[0]); i++) {
        json_array_append_new(caps, json_string(cap_drop[i]));
    }
    json_object_set_new(host, "CapDrop", caps);
    json_object_set_new(host, "AutoRemove", json_false());
    json_object_set_new(host, "RestartPolicy", json_pack("{ss}", "Name", "no"));
    /* readable by /logs whatever the daemon's default driver; removed with the container */
    set_str(log_config, "Type", "json-file", &bad);
    json_object_set_new(log_config, "Config", json_object());
    json_object_set_new(host, "LogConfig", log_config);
    json_object_set_new(body, "HostConfig", host);

    if (bad > 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int sw_docker_config(json_t **out, const sw_sandbox_spec *spec, const sw_docker_step *step,
                     const char *workspace)
{
    const char *mode = NULL;
    json_t *env = NULL;
    int error;

    *out = NULL;
    if (step->image == NULL || step->image[0] == '\0') {
        return sw_error_set(SW_EINVALID, "a docker step needs an image");
    }
    if ((error = network_mode(step->network, &mode)) != 0) {
        return error;
    }
    if ((error = env_array(spec, &env)) != 0) {
        json_decref(env);
        return error;
    }
    *out = create_body(spec, step, workspace, mode, env);
    if (*out == NULL) {
        return sw_error_set(SW_EINVALID, "the step's script, image, labels or workspace path "
                                         "are not valid UTF-8 (the Engine API speaks JSON)");
    }
    return 0;
}

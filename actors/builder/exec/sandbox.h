/*
 * sandbox.h - the shell executor: one step, `/bin/sh -c SCRIPT`, run in WORKSPACE
 * under bubblewrap, with memory, pid and CPU limits from a per-step cgroup.
 *
 * DESIGN
 * The step sees the host's file system read-only, a private /tmp, its workspace
 * read-write (also as $HOME), fresh /proc and /dev, and its own pid, network (lo
 * only, down), IPC and UTS namespaces; the environment is cleared and rebuilt.
 * Limits come from a cgroup made for the step under the cgroup this process is in
 * (v1: <memory cg>/slipway/step-<pid>-<n>, same under pids and cpu; v2:
 * <our cg>/slipway/step-<pid>-<n>); the step's first process joins it before it
 * starts bwrap, so nothing of the step ever runs outside. That process is
 * slipway-sandbox-init, started with posix_spawn (see sandbox_init.h): this
 * process never forks for a step, and none of its fds reach one. When no
 * controller is writable, memory falls back to RLIMIT_AS (pids are then
 * unlimited) and a warning is logged once.
 * Output is read with poll() and handed over line by line. A timeout or a cancel
 * kills the whole tree (bwrap's process group and every pid in the cgroup); the
 * cgroup is emptied and removed and the child reaped before sw_sandbox_run returns.
 */
#ifndef SW_SANDBOX_H
#define SW_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A line longer than this is handed over in pieces of this size. */
#define SW_SANDBOX_MAX_LINE (16 * 1024)

typedef enum {
    SW_SANDBOX_KILLED_NONE = 0,  /* ran to its end (exit_code says how) */
    SW_SANDBOX_KILLED_TIMEOUT,   /* the wall-time limit was reached */
    SW_SANDBOX_KILLED_OOM,       /* the kernel killed it at its memory limit */
    SW_SANDBOX_KILLED_CANCEL,    /* *cancel became non-zero */
    SW_SANDBOX_KILLED_SIGNAL,    /* died of a signal not sent by us */
} sw_sandbox_killed;

typedef enum {
    SW_SANDBOX_CGROUP_NONE = 0,  /* no writable controller: RLIMIT_AS fallback */
    SW_SANDBOX_CGROUP_V1,
    SW_SANDBOX_CGROUP_V2,
} sw_sandbox_cgroup_mode;

typedef struct sw_sandbox_env {
    const char *key;
    const char *value;
} sw_sandbox_env;

typedef struct sw_sandbox_spec {
    const char *script;          /* run as /bin/sh -c script */
    const char *workspace;       /* existing directory: cwd, $HOME, the only writable place */
    const sw_sandbox_env *env;   /* set in order after PATH, HOME, CI, SLIPWAY (later wins) */
    size_t nenv;
    uint64_t memory_bytes;       /* 0 = no limit */
    uint32_t pids;               /* 0 = no limit */
    uint32_t cpu_millis;         /* 0 = no limit; 1000 = one CPU */
    uint64_t timeout_ms;         /* 0 = no limit */
    volatile int *cancel;        /* optional; non-zero: kill, result KILLED_CANCEL */

    /* Callbacks, all optional, called on the calling thread. `text` is NUL-terminated
     * and borrowed for the call; stream is SLIPWAY__LOG_STREAM__STDOUT or __STDERR. */
    void *ud;
    /* line_ends is false for a piece of a line longer than SW_SANDBOX_MAX_LINE
     * that more pieces follow. */
    void (*line)(void *ud, int stream, const char *text, size_t len, bool line_ends);
    void (*tick)(void *ud);      /* at least every 100 ms while the step runs */
} sw_sandbox_spec;

typedef struct sw_sandbox_result {
    int exit_code;               /* the script's exit code, or 128+signal */
    sw_sandbox_killed killed_by;
    int64_t duration_ms;
    char reason[160];            /* "exit code 3", "killed: out of memory (limit 64 MiB)",
                                  * "killed: timed out after 2s", "killed: cancelled" */
    char cgroup[256];            /* the step's cgroup (v1: its memory one), "" when none;
                                  * removed by the time sw_sandbox_run returns */
    int pulled;                  /* docker: the engine lacked the step's image and pulled it */
} sw_sandbox_result;

/* Runs one step to its end and fills *out. Returns 0 when the step ran (whatever its
 * result), negative when it could not be started (no bwrap, no slipway-sandbox-init,
 * no workspace, spawn or cgroup failure), with the reason in sw_error_last().
 * Blocks; thread-safe. */
int sw_sandbox_run(const sw_sandbox_spec *spec, sw_sandbox_result *out);

/* Sets out->reason from out->killed_by and out->exit_code, the same words for
 * every executor: "exit code 3", "killed: timed out after 2s", "killed: out of
 * memory (limit 64 MiB)", "killed: cancelled", "killed by signal 9 SIGKILL"
 * (the signal is exit_code - 128). timeout_ms and memory_bytes are the limits. */
void sw_sandbox_describe(sw_sandbox_result *out, uint64_t timeout_ms, uint64_t memory_bytes);

/* Which cgroup mechanism sw_sandbox_run uses on this host (probed once). */
sw_sandbox_cgroup_mode sw_sandbox_cgroup_mode_get(void);

/* "64 MiB", "1.5 GiB", "512 KiB", "100 bytes" into buf. Returns buf. */
const char *sw_sandbox_format_bytes(char *buf, size_t size, uint64_t bytes);

/* "2s", "500ms", "10m", "1h", "1m30s" into buf. Returns buf. */
const char *sw_sandbox_format_duration(char *buf, size_t size, uint64_t ms);

#endif

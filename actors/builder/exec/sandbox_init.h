/*
 * sandbox_init.h - what sw_sandbox_run (sandbox.c) and slipway-sandbox-init
 * (sandbox_init.c) agree on.
 *
 * DESIGN
 * A step is not a fork of the daemon: copying the page tables of a big
 * multi-threaded slipwayd for every step was most of a no-op build's cost.
 * sw_sandbox_run starts slipway-sandbox-init with posix_spawn (glibc: clone
 * with CLONE_VM|CLONE_VFORK, nothing copied), in its own process group, with
 * every signal at its default and none blocked, and these fds only:
 *
 *   0  /dev/null            1  the step's stdout     2  the step's stderr
 *   3  the status pipe (SW_SANDBOX_INIT_STATUS_FD)
 *
 * and the arguments
 *
 *   slipway-sandbox-init PARENT_PID RLIMIT_AS [CGROUP_PROCS ...] -- BWRAP [ARG ...]
 *
 * It dies with the thread that started it (PR_SET_PDEATHSIG; it exits at once
 * when PARENT_PID is no longer its parent), writes its pid into each
 * cgroup.procs file, sets RLIMIT_AS when it is not 0, then forks and execs
 * bwrap and stays above it as its reaper (a child subreaper: the namespace's
 * init, orphaned when bwrap's outer process exits, is collected here), and
 * exits with bwrap's status (or dies of its signal). A failure before bwrap's
 * exec is written on fd 3 as int[2] {step, errno}, then it exits 127; fd 3
 * closes without a word once bwrap has been executed.
 */
#ifndef SW_SANDBOX_INIT_H
#define SW_SANDBOX_INIT_H

#define SW_SANDBOX_INIT_NAME "slipway-sandbox-init"
#define SW_SANDBOX_INIT_STATUS_FD 3

/* The env var that names the program, before it is looked for beside
 * /proc/self/exe and in the installed libexec dir. */
#define SW_SANDBOX_INIT_ENV "SLIPWAY_SANDBOX_INIT"

/* The step that failed, first of the two ints on the status pipe. */
enum {
    SW_SANDBOX_INIT_FAIL_ARGS = 1, /* its arguments are not as above */
    SW_SANDBOX_INIT_FAIL_CGROUP,   /* joining the step's cgroup */
    SW_SANDBOX_INIT_FAIL_RLIMIT,   /* setting RLIMIT_AS */
    SW_SANDBOX_INIT_FAIL_REAPER,   /* becoming bwrap's reaper (subreaper, fork) */
    SW_SANDBOX_INIT_FAIL_EXEC,     /* executing bwrap */
};

#endif

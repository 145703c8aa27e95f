/*
 * pressure.h - a builder host's load, as the builder pulls by it: Linux PSI
 * "some avg10" of cpu, memory and io, MemAvailable and the free disk of the
 * work directory, and the check against a cluster's thresholds.
 *
 * DESIGN
 * PSI comes from the builder process's own cgroup when it has a cgroup v2 one
 * (the "0::<path>" line of /proc/self/cgroup, read below /sys/fs/cgroup or,
 * on a hybrid host, /sys/fs/cgroup/unified), so a builder in a container or a
 * systemd slice is judged by its own share; else from /proc/pressure (the whole
 * host). A file that is missing or unreadable is no error: its figure is -1
 * and is never held against the builder ("none" as the source when no PSI
 * file could be read at all). Every path is read below a root prefix ("" on a
 * real host), so tests run it over a tree of fixture files.
 */
#ifndef SW_PRESSURE_H
#define SW_PRESSURE_H

#include "runtime/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_pressure {
    double cpu, memory, io;  /* PSI some avg10, percent; -1: not known */
    int64_t memory_available; /* bytes (MemAvailable); -1: not known */
    int64_t disk_free;        /* bytes free to unprivileged users in work_dir; -1: not known */
    const char *source;       /* "cgroup", "host" or "none": where PSI came from (static) */
} sw_pressure;

/* The "some avg10=" figure of a PSI file's text; SW_EINVALID when it has none. */
int sw_pressure_parse_psi(const char *text, double *out);

/* MemAvailable of /proc/meminfo's text, in bytes; -1 when absent. */
int64_t sw_pressure_parse_meminfo(const char *text);

/* The cgroup v2 path ("/a/b") of /proc/self/cgroup's text into buf; false when
 * the process has no v2 line. */
bool sw_pressure_cgroup_path(const char *text, char *buf, size_t n);

/* Reads everything below root ("" for the real host); work_dir for the disk
 * figure (NULL: not read). Never fails: what cannot be read stays -1. */
void sw_pressure_read(sw_pressure *out, const char *root, const char *work_dir);

/* True when p is over one of lim's thresholds, with the first one over in
 * reason, e.g. "cpu pressure 91.2% > 80%" or "memory available 120M < 256M". */
bool sw_pressure_over(const sw_pressure *p, const sw_pressure_limits *lim, char *reason,
                      size_t n);

/* True when lim checks anything at all (every threshold `off`: false). */
bool sw_pressure_checked(const sw_pressure_limits *lim);

#endif

/* pressure.c - a builder host's load and its thresholds (see pressure.h). */
#include "actors/builder/pressure.h"

#include "runtime/core/error.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

int sw_pressure_parse_psi(const char *text, double *out)
{
    /* "some avg10=1.23 avg60=0.50 avg300=0.10 total=12345" (cpu may lack "full") */
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, "some ", 5) == 0) {
            const char *at = strstr(line, "avg10=");
            const char *eol = strchr(line, '\n');
            char *end = NULL;
            if (at != NULL && (eol == NULL || at < eol)) {
                double v = strtod(at + 6, &end);
                if (end != at + 6 && v >= 0 && v <= 100) {
                    *out = v;
                    return 0;
                }
            }
            break;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return sw_error_set(SW_EINVALID, "no 'some avg10=' in the PSI text");
}

int64_t sw_pressure_parse_meminfo(const char *text)
{
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, "MemAvailable:", 13) == 0) {
            char *end = NULL;
            long long kb = strtoll(line + 13, &end, 10);
            if (end != line + 13 && kb >= 0) {
                return (int64_t)kb * 1024;
            }
            return -1;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return -1;
}

bool sw_pressure_cgroup_path(const char *text, char *buf, size_t n)
{
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, "0::", 3) == 0) {
            size_t len = strcspn(line + 3, "\n");
            if (len == 0 || line[3] != '/' || len >= n) {
                return false;
            }
            memcpy(buf, line + 3, len);
            buf[len] = '\0';
            return true;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return false;
}

/* A small file's text (at most n-1 bytes) into buf; false when it cannot be read. */
static bool read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    if (fd < 0) {
        return false;
    }
    while (len + 1 < n) {
        ssize_t got = read(fd, buf + len, n - 1 - len);
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    return len > 0;
}

/* Reads the three PSI files of dir (cpu<suffix>, memory<suffix>, io<suffix>: a
 * cgroup's are cpu.pressure, /proc/pressure's plain cpu); true when at least
 * one gave a figure. */
static bool read_psi_dir(sw_pressure *p, const char *dir, const char *suffix)
{
    static const char *const names[] = {"cpu", "memory", "io"};
    double *fields[] = {&p->cpu, &p->memory, &p->io};
    bool any = false;
    for (size_t i = 0; i < 3; i++) {
        char path[4400], text[512];
        snprintf(path, sizeof(path), "%s/%s%s", dir, names[i], suffix);
        *fields[i] = -1;
        if (read_small(path, text, sizeof(text)) && sw_pressure_parse_psi(text, fields[i]) == 0) {
            any = true;
        }
    }
    return any;
}

void sw_pressure_read(sw_pressure *out, const char *root, const char *work_dir)
{
    char path[4400], text[4096], cg[4096];
    struct statvfs vfs;

    *out = (sw_pressure){.cpu = -1, .memory = -1, .io = -1, .memory_available = -1,
                         .disk_free = -1, .source = "none"};
    snprintf(path, sizeof(path), "%s/proc/self/cgroup", root);
    if (read_small(path, text, sizeof(text)) && sw_pressure_cgroup_path(text, cg, sizeof(cg))) {
        static const char *const mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
        for (size_t i = 0; i < 2 && strcmp(out->source, "none") == 0; i++) {
            snprintf(path, sizeof(path), "%s%s%s", root, mounts[i],
                     strcmp(cg, "/") == 0 ? "" : cg);
            if (read_psi_dir(out, path, ".pressure")) {
                out->source = strcmp(cg, "/") == 0 ? "host" : "cgroup"; /* the root is the host */
            }
        }
    }
    if (strcmp(out->source, "none") == 0) {
        snprintf(path, sizeof(path), "%s/proc/pressure", root);
        if (read_psi_dir(out, path, "")) {
            out->source = "host";
        }
    }
    snprintf(path, sizeof(path), "%s/proc/meminfo", root);
    if (read_small(path, text, sizeof(text))) {
        out->memory_available = sw_pressure_parse_meminfo(text);
    }
    if (work_dir != NULL && statvfs(work_dir, &vfs) == 0) {
        out->disk_free = (int64_t)((uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize);
    }
}

/* "512M", "2.0G" for a byte count. */
static const char *human(char *buf, size_t n, uint64_t bytes)
{
    if (bytes >= (1ull << 30)) {
        snprintf(buf, n, "%.1fG", (double)bytes / (double)(1ull << 30));
    } else {
        snprintf(buf, n, "%lluM", (unsigned long long)(bytes >> 20));
    }
    return buf;
}

bool sw_pressure_checked(const sw_pressure_limits *lim)
{
    return lim->cpu >= 0 || lim->memory >= 0 || lim->io >= 0 || lim->min_memory_free > 0 ||
           lim->min_disk_free > 0;
}

bool sw_pressure_over(const sw_pressure *p, const sw_pressure_limits *lim, char *reason,
                      size_t n)
{
    static const char *const names[] = {"cpu", "memory", "io"};
    const double figures[] = {p->cpu, p->memory, p->io};
    const double limits[] = {lim->cpu, lim->memory, lim->io};
    char a[32], b[32];

    for (size_t i = 0; i < 3; i++) {
        if (limits[i] >= 0 && figures[i] >= 0 && figures[i] > limits[i]) {
            snprintf(reason, n, "%s pressure %.1f%% > %.0f%%", names[i], figures[i], limits[i]);
            return true;
        }
    }
    if (lim->min_memory_free > 0 && p->memory_available >= 0 &&
        (uint64_t)p->memory_available < lim->min_memory_free) {
        snprintf(reason, n, "memory available %s < %s",
                 human(a, sizeof(a), (uint64_t)p->memory_available),
                 human(b, sizeof(b), lim->min_memory_free));
        return true;
    }
    if (lim->min_disk_free > 0 && p->disk_free >= 0 &&
        (uint64_t)p->disk_free < lim->min_disk_free) {
        snprintf(reason, n, "disk free %s < %s", human(a, sizeof(a), (uint64_t)p->disk_free),
                 human(b, sizeof(b), lim->min_disk_free));
        return true;
    }
    if (n > 0) {
        reason[0] = '\0';
    }
    return false;
}

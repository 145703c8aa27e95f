/* creds.c - NATS credentials files (see creds.h). */
#include "runtime/creds.h"

#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *trim(char *s)
{
    char *end;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r')) {
        *--end = '\0';
    }
    return s;
}

static int take_line(sw_creds *c, char *line, const char *path, int lineno)
{
    char *colon, *key, *value, **slot;
    line = trim(line);
    if (line[0] == '\0' || line[0] == '#') {
        return 0;
    }
    if ((colon = strchr(line, ':')) == NULL) {
        return sw_error_set(SW_EINVALID, "%s:%d: expected 'key: value'", path, lineno);
    }
    *colon = '\0';
    key = trim(line);
    value = trim(colon + 1);
    slot = strcmp(key, "user") == 0       ? &c->user
           : strcmp(key, "password") == 0 ? &c->password
           : strcmp(key, "inbox") == 0    ? &c->inbox
           : strcmp(key, "tenant") == 0   ? &c->tenant
                                          : NULL;
    if (slot == NULL) {
        return sw_error_set(SW_EINVALID,
                            "%s:%d: unknown key '%s' (user, password, inbox, tenant)", path,
                            lineno, key);
    }
    if (value[0] == '\0' || strpbrk(value, " \t") != NULL) {
        return sw_error_set(SW_EINVALID, "%s:%d: '%s' needs one word", path, lineno, key);
    }
    free(*slot);
    *slot = sw_strdup(value);
    return 0;
}

int sw_creds_load(sw_creds *out, const char *path)
{
    char line[1024];
    struct stat st;
    int lineno = 0, error = 0;
    FILE *f;

    memset(out, 0, sizeof(*out));
    if ((f = fopen(path, "r")) == NULL) {
        return sw_error_set(errno == ENOENT ? SW_ENOTFOUND : SW_EIO,
                            "cannot read the NATS credentials %s: %s", path, strerror(errno));
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
        sw_warn("creds", "%s may be read by others (mode %03o): chmod 600 %s", path,
                (unsigned)(st.st_mode & 0777), path);
    }
    while (error == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        error = take_line(out, line, path, lineno);
    }
    fclose(f);
    if (error == 0 && (out->user == NULL || out->password == NULL)) {
        error = sw_error_set(SW_EINVALID, "%s: needs both 'user:' and 'password:'", path);
    }
    if (error < 0) {
        sw_creds_clear(out);
        return error;
    }
    out->path = sw_strdup(path);
    return 0;
}

bool sw_creds_is_dir(const char *path)
{
    struct stat st;
    return path != NULL && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *sw_creds_role_path(char *buf, size_t n, const char *dir, const char *role)
{
    snprintf(buf, n, "%s/%s.creds", dir, role);
    return buf;
}

int sw_creds_write(const sw_creds *c, const char *path, const char *comment)
{
    char *tmp = sw_asprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int error = 0;

    if (f == NULL) {
        error = sw_error_set(SW_EIO, "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        free(tmp);
        return error;
    }
    fprintf(f, "# %s\n# keep it secret: whoever holds it is this user on NATS\n", comment);
    fprintf(f, "user: %s\npassword: %s\n", c->user, c->password);
    if (c->inbox != NULL) {
        fprintf(f, "inbox: %s\n", c->inbox);
    }
    if (c->tenant != NULL) {
        fprintf(f, "tenant: %s\n", c->tenant);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        error = sw_error_set(SW_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (fclose(f) != 0 && error == 0) {
        error = sw_error_set(SW_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (error == 0 && rename(tmp, path) != 0) {
        error = sw_error_set(SW_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    }
    if (error < 0) {
        unlink(tmp);
    }
    free(tmp);
    return error;
}

void sw_creds_clear(sw_creds *c)
{
    free(c->path);
    free(c->user);
    free(c->password);
    free(c->inbox);
    free(c->tenant);
    memset(c, 0, sizeof(*c));
}

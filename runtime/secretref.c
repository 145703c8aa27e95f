/* secretref.c - file: and env: references for secrets (see secretref.h). */
#include "runtime/secretref.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_PREFIX "file:"
#define ENV_PREFIX "env:"

bool sw_secretref_is_ref(const char *value)
{
    return value != NULL && (strncmp(value, FILE_PREFIX, strlen(FILE_PREFIX)) == 0 ||
                             strncmp(value, ENV_PREFIX, strlen(ENV_PREFIX)) == 0);
}

static int read_file(char **out, const char *key, const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    int error = SW_EIO;
    FILE *f;

    if (path[0] != '/') {
        return sw_error_set(SW_EINVALID, "%s: file:%s is not an absolute path", key, path);
    }
    if ((f = fopen(path, "rb")) == NULL) {
        return sw_error_set(SW_EIO, "%s: cannot read file:%s: %s", key, path, strerror(errno));
    }
    buf = sw_realloc(NULL, SW_SECRETREF_MAX_FILE + 2);
    len = fread(buf, 1, SW_SECRETREF_MAX_FILE + 1, f);
    if (ferror(f)) {
        sw_error_set(SW_EIO, "%s: cannot read file:%s: %s", key, path, strerror(errno));
        goto cleanup;
    }
    if (len > SW_SECRETREF_MAX_FILE) {
        sw_error_set(SW_EINVALID, "%s: file:%s is longer than %u bytes", key, path,
                     SW_SECRETREF_MAX_FILE);
        goto cleanup;
    }
    if (memchr(buf, '\0', len) != NULL) {
        sw_error_set(SW_EINVALID, "%s: file:%s holds a NUL byte", key, path);
        goto cleanup;
    }
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r') {
            len--;
        }
    }
    buf[len] = '\0';
    *out = sw_realloc(buf, len + 1);
    buf = NULL;
    error = 0;
cleanup:
    fclose(f);
    free(buf);
    return error;
}

static int read_env(char **out, const char *key, const char *name)
{
    const char *v;
    bool ok = name[0] != '\0';
    for (const char *c = name; ok && *c; c++) {
        ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || *c == '_' ||
             (c > name && *c >= '0' && *c <= '9');
    }
    if (!ok) {
        return sw_error_set(SW_EINVALID, "%s: env:%s is not an environment variable name", key,
                            name);
    }
    if ((v = getenv(name)) == NULL) {
        return sw_error_set(SW_EINVALID, "%s: env:%s is not set in slipwayd's environment", key,
                            name);
    }
    *out = sw_strdup(v);
    return 0;
}

int sw_secretref_resolve(char **out, const char *key, const char *value)
{
    if (strncmp(value, FILE_PREFIX, strlen(FILE_PREFIX)) == 0) {
        return read_file(out, key, value + strlen(FILE_PREFIX));
    }
    if (strncmp(value, ENV_PREFIX, strlen(ENV_PREFIX)) == 0) {
        return read_env(out, key, value + strlen(ENV_PREFIX));
    }
    *out = sw_strdup(value);
    return 0;
}

/* busybox.c - the test image slipway-test/busybox (see busybox.h). */
#include "busybox.h"

#include "actors/builder/exec/docker_api.h"
#include "runtime/core/error.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSYBOX_PATH "/bin/busybox"

static const char dockerfile[] =
    "FROM scratch\n"
    "COPY busybox /bin/busybox\n"
    "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n";

static void add_file(struct archive *a, const char *name, const void *data, size_t len, int mode)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, mode);
    ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_data(a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

/* The build context: Dockerfile and busybox, as a tar in memory. */
static char *make_context(size_t *len_out)
{
    FILE *f = fopen(BUSYBOX_PATH, "rb");
    ck_assert_msg(f != NULL, "%s is missing: install busybox-static", BUSYBOX_PATH);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    ck_assert_int_gt(size, 0);
    rewind(f);
    char *bin = malloc((size_t)size);
    ck_assert_ptr_nonnull(bin);
    ck_assert_uint_eq(fread(bin, 1, (size_t)size, f), (size_t)size);
    fclose(f);

    size_t cap = (size_t)size + 64 * 1024, used = 0;
    char *tar = malloc(cap);
    ck_assert_ptr_nonnull(tar);
    struct archive *a = archive_write_new();
    ck_assert_int_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_open_memory(a, tar, cap, &used), ARCHIVE_OK);
    add_file(a, "Dockerfile", dockerfile, strlen(dockerfile), 0644);
    add_file(a, "busybox", bin, (size_t)size, 0755);
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    free(bin);
    *len_out = used;
    return tar;
}

static int image_exists(sw_docker *d)
{
    char *url = NULL, *body = NULL;
    /* as the docker CLI does: the name's '/' and ':' go in the path unescaped */
    ck_assert_int_ne(asprintf(&url, "/images/%s/json", SW_TEST_BUSYBOX_IMAGE), -1);
    sw_docker_req req = {.method = "GET", .path = url, .timeout_ms = 10000};
    int status = sw_docker_call(d, &req, &body);
    free(body);
    free(url);
    ck_assert_msg(status == 200 || status == 404, "GET image %s: %d %s", SW_TEST_BUSYBOX_IMAGE,
                  status, status < 0 ? sw_error_last() : "");
    return status == 200;
}

/* The first {"error": ...} of the build's progress lines, or NULL. */
static char *build_error(const char *out)
{
    char *found = NULL;
    for (const char *p = out; p != NULL && *p != '\0' && found == NULL;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_t *o = json_loadb(p, n, 0, NULL);
        const char *e = o ? json_string_value(json_object_get(o, "error")) : NULL;
        if (e != NULL) {
            found = strdup(e);
        }
        json_decref(o);
        p = nl ? nl + 1 : NULL;
    }
    return found;
}

const char *sw_test_busybox_image(void)
{
    sw_docker *d = NULL;
    char *body = NULL;
    size_t len = 0;

    if (sw_docker_open(&d, NULL) != 0) {
        ck_abort_msg("the Docker engine is not reachable: %s -- start dockerd: tools/test does",
                     sw_error_last());
    }
    if (!image_exists(d)) {
        char *tar = make_context(&len);
        char *tag = sw_docker_escape(SW_TEST_BUSYBOX_IMAGE);
        char *path = NULL;
        /* networkmode=none: RUN needs no network, and the daemon may have no bridge */
        ck_assert_int_ne(asprintf(&path, "/build?t=%s&networkmode=none&rm=1&forcerm=1", tag), -1);
        sw_docker_req req = {.method = "POST",
                             .path = path,
                             .content_type = "application/x-tar",
                             .body = tar,
                             .body_len = len,
                             .timeout_ms = 120000};
        int status = sw_docker_call(d, &req, &body);
        char *err = status == 200 ? build_error(body) : NULL;
        ck_assert_msg(status == 200 && err == NULL, "building %s failed: %d %s",
                      SW_TEST_BUSYBOX_IMAGE, status,
                      err ? err : (status < 0 ? sw_error_last() : (body ? body : "")));
        ck_assert_msg(image_exists(d), "%s was built but is not there", SW_TEST_BUSYBOX_IMAGE);
        free(body);
        free(path);
        free(tag);
        free(tar);
    }
    sw_docker_close(&d);
    return SW_TEST_BUSYBOX_IMAGE;
}

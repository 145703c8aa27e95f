/*
 * fuzz_profile.c - libFuzzer target for the source profile's readers (profile.h,
 * profile_files.h): a Dockerfile's text, each kind of repository file, and an
 * image reference and a url.
 *
 * Input: the first byte picks the reader (its low 3 bits: 0 the Dockerfile, with
 * two build args, 1-7 a file type; run-fuzz.sh seeds each fixture under
 * all 8), the rest is the text, passed by its length (a copy of exactly that many
 * bytes: ASan sees a read past it). The first line is also given to
 * sw_image_registry and sw_profile_url_host.
 *
 * Besides the sanitizers' findings, the target aborts when a source breaks the
 * interface's promises: a host that is empty, has upper case or blanks, a line
 * past the text's, more than SW_PROFILE_MAX sources kept.
 */
#include "actors/builder/profile/profile.h"
#include "actors/builder/profile/profile_files.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const sw_profile *p, unsigned lines)
{
    if (p->n > SW_PROFILE_MAX) {
        abort();
    }
    for (size_t i = 0; i < p->n; i++) {
        const sw_source *s = &p->v[i];
        if (s->host[0] == '\0' || s->line > lines || s->kind[0] == '\0') {
            fprintf(stderr, "bad source %s %s %s:%u (%u lines)\n", s->host, s->kind, s->file,
                    s->line, lines);
            abort();
        }
        for (const char *h = s->host; *h; h++) {
            if (isupper((unsigned char)*h) || isspace((unsigned char)*h)) {
                fprintf(stderr, "bad host '%s'\n", s->host);
                abort();
            }
        }
    }
}

static void found(void *ud, const char *kind, const char *key, const char *url, unsigned line)
{
    sw_profile_add_url(ud, kind, url, "file", line);
    (void)key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sw_pipeline_env args[] = {{"BASE", "python:3.12"},
                                           {"PIP_INDEX_URL", "https://pypi.example/simple"}};
    sw_profile p = {0};
    char buf[256];
    unsigned lines = 1;

    if (size == 0) {
        return 0;
    }
    unsigned pick = data[0] & 7;
    size_t n = size - 1;
    char *text = malloc(n ? n : 1);
    memcpy(text, data + 1, n);
    for (size_t i = 0; i < n; i++) {
        lines += text[i] == '\n';
    }
    if (pick == 0) {
        sw_profile_dockerfile(&p, text, n, "Dockerfile", args, 2);
    } else {
        sw_profile_files_read((sw_profile_file)pick, text, n, 1, 1, found, &p);
    }
    check(&p, lines);
    sw_profile_clear(&p);

    size_t first = 0;
    while (first < n && text[first] != '\n' && text[first] != '\0') {
        first++;
    }
    char *line = malloc(first + 1);
    memcpy(line, text, first);
    line[first] = '\0';
    const char *r = sw_image_registry(line, buf, sizeof(buf));
    const char *h = sw_profile_url_host(line, buf, sizeof(buf));
    if ((r && r[0] == '\0') || (h && h[0] == '\0')) {
        abort();
    }
    free(line);
    free(text);
    return 0;
}

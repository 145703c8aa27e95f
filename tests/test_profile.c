/*
 * test_profile.c - the source profile: the list itself, urls' hosts, Docker's
 * registry rules, the Dockerfiles of tests/fixtures/profile/dockerfiles/, the
 * checkouts of tests/fixtures/profile/ and ones made here (repository files,
 * bad input, paths that leave the checkout, the walk's bounds).
 *
 * Every expected list is written from reading its fixture: host, kind, what,
 * file and line, in the order the profile keeps them.
 */
#include "actors/builder/profile/profile.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include "support.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct want {
    const char *host, *kind, *what, *file;
    unsigned line;
} want;

#define WANT(...) ((const want[]){__VA_ARGS__}), sizeof((const want[]){__VA_ARGS__}) / sizeof(want)
#define NONE NULL, 0

static char *dump(const sw_profile *p)
{
    char *s = sw_strdup("");
    for (size_t i = 0; i < p->n; i++) {
        char *t = sw_asprintf("%s\n  {\"%s\", \"%s\", \"%s\", \"%s\", %u},", s, p->v[i].host,
                              p->v[i].kind, p->v[i].what, p->v[i].file, p->v[i].line);
        free(s);
        s = t;
    }
    return s;
}

/* Asserts that p holds exactly the sources w, in that order. */
static void expect(const sw_profile *p, const want *w, size_t n)
{
    char *got = dump(p);
    ck_assert_msg(p->n == n, "%zu sources, expected %zu:%s", p->n, n, got);
    for (size_t i = 0; i < n; i++) {
        const sw_source *s = &p->v[i];
        ck_assert_msg(strcmp(s->host, w[i].host) == 0 && strcmp(s->kind, w[i].kind) == 0 &&
                          strcmp(s->what, w[i].what) == 0 && strcmp(s->file, w[i].file) == 0 &&
                          s->line == w[i].line,
                      "source %zu is {%s, %s, %s, %s:%u}, expected {%s, %s, %s, %s:%u}; all:%s",
                      i, s->host, s->kind, s->what, s->file, s->line, w[i].host, w[i].kind,
                      w[i].what, w[i].file, w[i].line, got);
    }
    ck_assert_uint_eq(p->dropped, 0);
    free(got);
}

static char *fixture(const char *rel)
{
    const char *src = getenv("SLIPWAY_SOURCE_DIR");
    ck_assert_msg(src != NULL, "SLIPWAY_SOURCE_DIR is not set (run through meson test)");
    return sw_asprintf("%s/tests/fixtures/profile/%s", src, rel);
}

/* The profile of tests/fixtures/profile/dockerfiles/NAME, named NAME. */
static void dockerfile(sw_profile *p, const char *name, const sw_pipeline_env *args, size_t n)
{
    char *rel = sw_asprintf("dockerfiles/%s", name), *path = fixture(rel);
    size_t len = 0;
    char *text = sw_test_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    sw_profile_dockerfile(p, text, len, name, args, n);
    free(text);
    free(path);
    free(rel);
}

static void check_dockerfile(const char *name, const want *w, size_t n)
{
    sw_profile p = {0};
    dockerfile(&p, name, NULL, 0);
    expect(&p, w, n);
    sw_profile_clear(&p);
}

static void write_at(const char *root, const char *rel, const char *text)
{
    char *path = sw_asprintf("%s/%s", root, rel);
    char *dir = sw_strdup(path);
    *strrchr(dir, '/') = '\0';
    for (char *s = dir + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        mkdir(dir, 0755);
        *s = '/';
    }
    mkdir(dir, 0755);
    sw_test_write_file(path, text);
    free(dir);
    free(path);
}

/* --- the list ----------------------------------------------------------------------------- */

START_TEST(test_add_dedupes_and_caps)
{
    sw_profile p = {0};
    sw_profile_add(&p, "pypi.org", "pip", "https://pypi.org/simple", "Dockerfile", 3);
    sw_profile_add(&p, "pypi.org", "pip", "https://pypi.org/simple/", "Dockerfile", 3);
    sw_profile_add(&p, "pypi.org", "pip", "https://pypi.org/simple", "Dockerfile", 4);
    sw_profile_add(&p, "pypi.org", "url", "https://pypi.org/x", "Dockerfile", 3);
    sw_profile_add(&p, "pypi.org", "pip", "https://pypi.org/simple", "requirements.txt", 3);
    expect(&p, WANT({"pypi.org", "pip", "https://pypi.org/simple", "Dockerfile", 3},
                    {"pypi.org", "pip", "https://pypi.org/simple", "Dockerfile", 4},
                    {"pypi.org", "url", "https://pypi.org/x", "Dockerfile", 3},
                    {"pypi.org", "pip", "https://pypi.org/simple", "requirements.txt", 3}));
    sw_profile_clear(&p);
    ck_assert_uint_eq(p.n, 0);
    ck_assert_ptr_null(p.v);

    for (unsigned i = 0; i < SW_PROFILE_MAX + 44; i++) {
        sw_profile_add(&p, "docker.io", "image", "busybox", "Dockerfile", i + 1);
    }
    sw_profile_add(&p, "docker.io", "image", "busybox", "Dockerfile", 1); /* kept already */
    ck_assert_uint_eq(p.n, SW_PROFILE_MAX);
    ck_assert_uint_eq(p.dropped, 44);
    ck_assert_uint_eq(p.v[SW_PROFILE_MAX - 1].line, SW_PROFILE_MAX);
    sw_profile_clear(&p);
    ck_assert_uint_eq(p.dropped, 0);

    /* a long url is cut, on a character's boundary, so the event stays small */
    char *url = malloc(3000);
    memcpy(url, "https://pypi.org/", 17);
    for (size_t i = 17; i < 2998; i += 2) {
        url[i] = (char)0xC3; /* é, two bytes */
        url[i + 1] = (char)0xA9;
    }
    url[2999] = '\0';
    url[2998] = 'x';
    sw_profile_add(&p, "pypi.org", "url", url, "Dockerfile", 1);
    ck_assert_uint_le(strlen(p.v[0].what), SW_PROFILE_FIELD_MAX);
    ck_assert_uint_ge(strlen(p.v[0].what), SW_PROFILE_FIELD_MAX - 4);
    ck_assert(strncmp(p.v[0].what, url, 17) == 0);
    const char *end = p.v[0].what + strlen(p.v[0].what) - 3;
    ck_assert_str_eq(end, "...");
    ck_assert_int_ne((unsigned char)end[-1], 0xC3); /* not half a character */
    free(url);
    sw_profile_clear(&p);

    /* a file named past the bound is the same source each time it is added */
    char *file = sw_calloc(1, 2 * SW_PROFILE_FIELD_MAX + 1);
    memset(file, 'd', 2 * SW_PROFILE_FIELD_MAX);
    sw_profile_add(&p, "pypi.org", "pip", "https://pypi.org/simple", file, 1);
    sw_profile_add(&p, "pypi.org", "pip", "https://pypi.org/simple", file, 1);
    ck_assert_uint_eq(p.n, 1);
    free(file);
    sw_profile_clear(&p);
}
END_TEST

START_TEST(test_url_host)
{
    static const struct {
        const char *url, *host;
    } cases[] = {
        {"https://PyPI.org/simple", "pypi.org"},
        {"https://user:secret@pypi.org:443/simple", "pypi.org"},
        {"http://mirror.example.com:80/x", "mirror.example.com"},
        {"http://mirror.example.com:8080/x", "mirror.example.com:8080"},
        {"https://example.com:80/", "example.com:80"},
        {"git+https://github.com/a/b.git#egg=b", "github.com"},
        {"ssh://git@github.com:22/a/b", "github.com"},
        {"git://git.example.org:9418/x.git", "git.example.org"},
        {"http://[::1]:8080/x", "[::1]:8080"},
        {"ftp://ftp.example.org/pub", "ftp.example.org"},
        {"https://registry.npmjs.org", "registry.npmjs.org"},
        {"https://h.example?x=1", "h.example"},
        {"file:///etc/x", NULL},
        {"pypi.org/simple", NULL},
        {"https://$HOST/x", NULL},
        {"https://${MIRROR}/simple", NULL},
        {"https:///x", NULL},
        {"https://h.example:port/", NULL},
        {"https://h.example:99999/", NULL},
        {"://nothing", NULL},
        {"", NULL},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *h = sw_profile_url_host(cases[i].url, buf, sizeof(buf));
        if (cases[i].host == NULL) {
            ck_assert_msg(h == NULL, "%s: got %s, expected none", cases[i].url, h);
        } else {
            ck_assert_msg(h != NULL && strcmp(h, cases[i].host) == 0, "%s: got %s, expected %s",
                          cases[i].url, h ? h : "(none)", cases[i].host);
        }
    }
    ck_assert_ptr_null(sw_profile_url_host("https://pypi.org/", buf, 8)); /* no room */
    ck_assert_ptr_null(sw_profile_url_host(NULL, buf, sizeof(buf)));

    sw_profile p = {0};
    ck_assert(sw_profile_add_url(&p, "pip", "https://ci:t0ken@pypi.corp.example/simple",
                                 "pip.conf", 2));
    ck_assert(!sw_profile_add_url(&p, "pip", "./wheels", "pip.conf", 3));
    expect(&p, WANT({"pypi.corp.example", "pip", "https://pypi.corp.example/simple", "pip.conf",
                     2}));
    sw_profile_clear(&p);
}
END_TEST

START_TEST(test_image_registry)
{
    static const struct {
        const char *ref, *registry;
    } cases[] = {
        {"python:3.12", "docker.io"},
        {"python", "docker.io"},
        {"library/python", "docker.io"},
        {"bitnami/redis:7.2", "docker.io"},
        {"docker.io/library/python:3", "docker.io"},
        {"index.docker.io/acme/app", "docker.io"},
        {"registry-1.docker.io/library/alpine", "docker.io"},
        {"ghcr.io/org/app:1.0", "ghcr.io"},
        {"localhost/app", "localhost"},
        {"localhost:5000/app", "localhost:5000"},
        {"127.0.0.1:5000/team/app:dev", "127.0.0.1:5000"},
        {"Registry.Example.COM:443/team/app", "registry.example.com"},
        {"registry.example.com:5000/app", "registry.example.com:5000"},
        {"[::1]:5000/app", "[::1]:5000"},
        {"acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "docker.io"},
        {"quay.io/coreos/etcd:v3.5.0@sha256:0123456789abcdef", "quay.io"},
        {"registry.cn-hangzhou.aliyuncs.com/acme/app", "registry.cn-hangzhou.aliyuncs.com"},
        {"myregistry.local/app", "myregistry.local"},
        {"${REGISTRY}/app", NULL},
        {"$BASE", NULL},
        {"python:${TAG}", NULL},
        {"scratch", NULL},
        {"", NULL},
        {"Python:3", NULL},
        {"python:", NULL},
        {"a b", NULL},
        {"ghcr.io/", NULL},
        {"python@md5:abc", NULL},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *r = sw_image_registry(cases[i].ref, buf, sizeof(buf));
        if (cases[i].registry == NULL) {
            ck_assert_msg(r == NULL, "%s: got %s, expected none", cases[i].ref, r);
        } else {
            ck_assert_msg(r != NULL && strcmp(r, cases[i].registry) == 0,
                          "%s: got %s, expected %s", cases[i].ref, r ? r : "(none)",
                          cases[i].registry);
        }
    }
    ck_assert_ptr_null(sw_image_registry(NULL, buf, sizeof(buf)));
    ck_assert_ptr_null(sw_image_registry("ghcr.io/org/app", buf, 7)); /* no room */
}
END_TEST

/* --- Dockerfiles -------------------------------------------------------------------------- */

START_TEST(test_multistage)
{
    /* # syntax's frontend; ARG before FROM; --platform; FROM <stage> and COPY --from=<stage>
     * or index are no sources, COPY --from=<image> is; a digest; go env -w kept by the stage
     * built on it */
    check_dockerfile(
        "multistage.Dockerfile",
        WANT({"docker.io", "image", "docker/dockerfile:1.6", "multistage.Dockerfile", 1},
             {"docker.io", "image", "golang:1.22-bookworm", "multistage.Dockerfile", 5},
             {"goproxy.cn", "go", "https://goproxy.cn", "multistage.Dockerfile", 9},
             {"goproxy.cn", "go", "https://goproxy.cn", "multistage.Dockerfile", 11},
             {"goproxy.cn", "go", "https://goproxy.cn", "multistage.Dockerfile", 14},
             {"docker.io", "image",
              "docker.io/library/alpine:3.19@sha256:"
              "c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b",
              "multistage.Dockerfile", 16},
             {"dl-cdn.alpinelinux.org", "apk", "https://dl-cdn.alpinelinux.org/alpine",
              "multistage.Dockerfile", 17},
             {"docker.io", "image", "nginx:1.25", "multistage.Dockerfile", 19}));
}
END_TEST

START_TEST(test_apt_sed_aliyun_and_pip_index)
{
    /* sed on debian.sources moves apt to Aliyun; update and install in one RUN are one
     * source, at the first; pip's -i on its own continued line */
    check_dockerfile(
        "aliyun-sed.Dockerfile",
        WANT({"docker.io", "image", "python:3.12-slim-bookworm", "aliyun-sed.Dockerfile", 1},
             {"mirrors.aliyun.com", "apt", "http://mirrors.aliyun.com/debian",
              "aliyun-sed.Dockerfile", 5},
             {"mirrors.aliyun.com", "pip", "https://mirrors.aliyun.com/pypi/simple/",
              "aliyun-sed.Dockerfile", 11}));
}
END_TEST

START_TEST(test_apt_echo_tuna_curl_wget)
{
    /* echo "deb ..." > sources.list replaces Ubuntu's lists (archive and security) */
    check_dockerfile(
        "tuna-echo.Dockerfile",
        WANT({"docker.io", "image", "ubuntu:22.04", "tuna-echo.Dockerfile", 1},
             {"mirrors.tuna.tsinghua.edu.cn", "apt", "http://mirrors.tuna.tsinghua.edu.cn/ubuntu/",
              "tuna-echo.Dockerfile", 4},
             {"deb.nodesource.com", "url", "https://deb.nodesource.com/setup_20.x",
              "tuna-echo.Dockerfile", 5},
             {"github.com", "url",
              "https://github.com/cli/cli/releases/download/v2.40.0/gh_2.40.0_linux_amd64.tar.gz",
              "tuna-echo.Dockerfile", 6}));
}
END_TEST

START_TEST(test_apt_default_and_tee_list)
{
    /* a list added with echo | tee keeps the image's own; $(...) inside the deb line */
    check_dockerfile(
        "docker-repo.Dockerfile",
        WANT({"docker.io", "image", "debian:bookworm-slim", "docker-repo.Dockerfile", 1},
             {"download.docker.com", "url", "https://download.docker.com/linux/debian/gpg",
              "docker-repo.Dockerfile", 3},
             {"deb.debian.org", "apt", "http://deb.debian.org/debian", "docker-repo.Dockerfile",
              5},
             {"download.docker.com", "apt", "https://download.docker.com/linux/debian",
              "docker-repo.Dockerfile", 5}));
}
END_TEST

START_TEST(test_heredocs)
{
    /* RUN <<EOF read as a script, its lines their own; a nested <<'SOURCES' written to
     * debian.sources; COPY <<-EOT into /etc/pip.conf; a python file's url is no source */
    check_dockerfile(
        "heredoc.Dockerfile",
        WANT({"docker.io", "image", "docker/dockerfile:1", "heredoc.Dockerfile", 1},
             {"docker.io", "image", "debian:bookworm", "heredoc.Dockerfile", 2},
             {"mirrors.ustc.edu.cn", "apt", "https://mirrors.ustc.edu.cn/debian",
              "heredoc.Dockerfile", 11},
             {"gitee.com", "git", "https://gitee.com/mirrors/redis.git", "heredoc.Dockerfile",
              13},
             {"pypi.tuna.tsinghua.edu.cn", "pip", "https://pypi.tuna.tsinghua.edu.cn/simple",
              "heredoc.Dockerfile", 19}));
}
END_TEST

START_TEST(test_args_defaults)
{
    /* ARG before FROM with a port, ${NODE_TAG:-20} unset, --registry=${NPM_REGISTRY},
     * ARG PIP_INDEX_URL with no value: pip's default; npm and pnpm on one line: once */
    check_dockerfile(
        "args.Dockerfile",
        WANT({"registry.example.com:5000", "image",
              "registry.example.com:5000/base/node:20-bookworm", "args.Dockerfile", 3},
             {"registry.npmmirror.com", "npm", "https://registry.npmmirror.com",
              "args.Dockerfile", 8},
             {"pypi.org", "pip", "https://pypi.org/simple", "args.Dockerfile", 9},
             {"registry.npmjs.org", "npm", "https://registry.npmjs.org/", "args.Dockerfile",
              10}));
}
END_TEST

START_TEST(test_args_overridden)
{
    /* the build step's args: a localhost registry, the tag, PIP_INDEX_URL for pip */
    const sw_pipeline_env args[] = {
        {"BASE_REGISTRY", "localhost:5000"},
        {"NODE_TAG", "18"},
        {"PIP_INDEX_URL", "https://mirrors.cloud.tencent.com/pypi/simple"},
        {"UNUSED", "https://never.example/"},
    };
    sw_profile p = {0};
    dockerfile(&p, "args.Dockerfile", args, 4);
    expect(&p, WANT({"localhost:5000", "image", "localhost:5000/base/node:18-bookworm",
                     "args.Dockerfile", 3},
                    {"registry.npmmirror.com", "npm", "https://registry.npmmirror.com",
                     "args.Dockerfile", 8},
                    {"mirrors.cloud.tencent.com", "pip",
                     "https://mirrors.cloud.tencent.com/pypi/simple", "args.Dockerfile", 9},
                    {"registry.npmjs.org", "npm", "https://registry.npmjs.org/",
                     "args.Dockerfile", 10}));
    sw_profile_clear(&p);
}
END_TEST

START_TEST(test_apk_add_and_git)
{
    /* sed on /etc/apk/repositories; a second alpine stage keeps dl-cdn; ADD url and git */
    check_dockerfile(
        "apk.Dockerfile",
        WANT({"docker.io", "image", "alpine:3.19", "apk.Dockerfile", 1},
             {"mirrors.aliyun.com", "apk", "https://mirrors.aliyun.com/alpine", "apk.Dockerfile",
              3},
             {"github.com", "url",
              "https://github.com/jqlang/jq/releases/download/jq-1.7.1/jq-linux-amd64",
              "apk.Dockerfile", 4},
             {"docker.io", "image", "alpine:3.19", "apk.Dockerfile", 6},
             {"dl-cdn.alpinelinux.org", "apk", "https://dl-cdn.alpinelinux.org/alpine",
              "apk.Dockerfile", 7},
             {"dl.google.com", "url", "https://dl.google.com/go/go1.22.0.linux-amd64.tar.gz",
              "apk.Dockerfile", 8},
             {"github.com", "git", "git@github.com:moby/buildkit.git#v0.12.0", "apk.Dockerfile",
              9}));
}
END_TEST

START_TEST(test_continuations_and_comments)
{
    /* FROM's image on its second line; a comment and an empty continued line inside a RUN;
     * npm config set, then npm ci on its own line; ENV GOPROXY and PIP_INDEX_URL */
    check_dockerfile(
        "continuations.Dockerfile",
        WANT({"docker.io", "image", "node:20-bookworm-slim", "continuations.Dockerfile", 2},
             {"npm.corp.example.com", "npm", "https://npm.corp.example.com/",
              "continuations.Dockerfile", 9},
             {"deb.debian.org", "apt", "http://deb.debian.org/debian", "continuations.Dockerfile",
              10},
             {"goproxy.io", "go", "https://goproxy.io", "continuations.Dockerfile", 14},
             {"pypi.doubanio.com", "pip", "https://pypi.doubanio.com/simple",
              "continuations.Dockerfile", 14}));
}
END_TEST

START_TEST(test_escape_directive)
{
    check_dockerfile(
        "escape.Dockerfile",
        WANT({"mcr.microsoft.com", "image", "mcr.microsoft.com/dotnet/sdk:8.0",
              "escape.Dockerfile", 2},
             {"dist.nuget.org", "url",
              "https://dist.nuget.org/win-x86-commandline/latest/nuget.exe", "escape.Dockerfile",
              4}));
}
END_TEST

START_TEST(test_git_curl_yarn_goproxy_ports)
{
    /* scp-like git@host:path; git -C dir fetch URL; curl | sh; yarn's default, then its
     * config set; GOPROXY's | and , list for one command; default ports dropped */
    check_dockerfile(
        "git-curl.Dockerfile",
        WANT({"docker.io", "image", "buildpack-deps:bookworm", "git-curl.Dockerfile", 1},
             {"gitlab.corp.example", "git", "git@gitlab.corp.example:platform/tools.git",
              "git-curl.Dockerfile", 2},
             {"github.com", "git", "https://github.com/example/tools.git", "git-curl.Dockerfile",
              3},
             {"get.docker.com", "url", "https://get.docker.com", "git-curl.Dockerfile", 4},
             {"registry.yarnpkg.com", "npm", "https://registry.yarnpkg.com",
              "git-curl.Dockerfile", 5},
             {"registry.npmmirror.com", "npm", "https://registry.npmmirror.com",
              "git-curl.Dockerfile", 5},
             {"goproxy.cn", "go", "https://goproxy.cn", "git-curl.Dockerfile", 6},
             {"proxy.golang.org", "go", "https://proxy.golang.org", "git-curl.Dockerfile", 6},
             {"example.internal:8443", "url", "https://example.internal:8443/artifacts/x.tgz",
              "git-curl.Dockerfile", 7},
             {"mirror.example.com", "url", "http://mirror.example.com:80/y.tgz",
              "git-curl.Dockerfile", 7}));
}
END_TEST

START_TEST(test_exec_form)
{
    /* an unknown base is taken as Debian; ["sh", "-c", ...] read as its script; a
     * sources.list COPYed from a context we do not have: apt's sources are not known */
    check_dockerfile(
        "exec-form.Dockerfile",
        WANT({"registry.gitlab.com", "image", "registry.gitlab.com/group/project/builder:latest",
              "exec-form.Dockerfile", 1},
             {"deb.debian.org", "apt", "http://deb.debian.org/debian", "exec-form.Dockerfile", 2},
             {"pypi.mirrors.ustc.edu.cn", "pip", "https://pypi.mirrors.ustc.edu.cn/simple/",
              "exec-form.Dockerfile", 3}));
}
END_TEST

START_TEST(test_env_mirrors)
{
    /* ENV PIP_INDEX_URL and NPM_CONFIG_REGISTRY; --extra-index-url; pip config set */
    check_dockerfile(
        "env-mirrors.Dockerfile",
        WANT({"ghcr.io", "image", "ghcr.io/acme/runtime:2024.1", "env-mirrors.Dockerfile", 1},
             {"deb.debian.org", "apt", "http://deb.debian.org/debian", "env-mirrors.Dockerfile",
              4},
             {"pypi.example.cn", "pip", "https://pypi.example.cn/simple", "env-mirrors.Dockerfile",
              5},
             {"download.pytorch.org", "pip", "https://download.pytorch.org/whl/cpu",
              "env-mirrors.Dockerfile", 5},
             {"npm.example.cn", "npm", "https://npm.example.cn", "env-mirrors.Dockerfile", 6},
             {"docker.io", "image", "python:3.11-alpine", "env-mirrors.Dockerfile", 8},
             {"mirrors.bfsu.edu.cn", "pip", "https://mirrors.bfsu.edu.cn/pypi/web/simple",
              "env-mirrors.Dockerfile", 9}));
}
END_TEST

START_TEST(test_unterminated_heredoc)
{
    /* BuildKit refuses it: nothing from the open here-document on (not its curl, not
     * the FROM after it) */
    check_dockerfile("unterminated.Dockerfile",
                     WANT({"docker.io", "image", "debian:12", "unterminated.Dockerfile", 1},
                          {"deb.debian.org", "apt", "http://deb.debian.org/debian",
                           "unterminated.Dockerfile", 2}));
}
END_TEST

/* Dockerfiles given as text: one rule each. */
static void check_text(const char *text, const want *w, size_t n)
{
    sw_profile p = {0};
    sw_profile_dockerfile(&p, text, strlen(text), "Dockerfile", NULL, 0);
    expect(&p, w, n);
    sw_profile_clear(&p);
}

START_TEST(test_small_rules)
{
    /* scratch, and a FROM naming a variable nobody set */
    check_text("FROM scratch\nCOPY app /\nFROM ${BASE}\nRUN apt-get update\n",
               WANT({"deb.debian.org", "apt", "http://deb.debian.org/debian", "Dockerfile", 4}));
    /* stage names are case-insensitive; a stage built FROM an Ubuntu stage is Ubuntu */
    check_text("FROM ubuntu:24.04 AS Base\nFROM base\nRUN apt update\n",
               WANT({"docker.io", "image", "ubuntu:24.04", "Dockerfile", 1},
                    {"archive.ubuntu.com", "apt", "http://archive.ubuntu.com/ubuntu", "Dockerfile",
                     3},
                    {"security.ubuntu.com", "apt", "http://security.ubuntu.com/ubuntu",
                     "Dockerfile", 3}));
    /* sed -E with a | delimiter, on Ubuntu's archive only */
    check_text("FROM ubuntu:22.04\n"
               "RUN sed -Ei 's|http://(archive)\\.ubuntu\\.com|https://mirrors.ustc.edu.cn|' "
               "/etc/apt/sources.list && apt-get update\n",
               WANT({"docker.io", "image", "ubuntu:22.04", "Dockerfile", 1},
                    {"mirrors.ustc.edu.cn", "apt", "https://mirrors.ustc.edu.cn/ubuntu",
                     "Dockerfile", 2},
                    {"security.ubuntu.com", "apt", "http://security.ubuntu.com/ubuntu",
                     "Dockerfile", 2}));
    /* an unknown base rewritten from Ubuntu's archive is Ubuntu */
    check_text("FROM corp.example/base\n"
               "RUN sed -i 's/archive.ubuntu.com/mirrors.aliyun.com/g' /etc/apt/sources.list\n"
               "RUN apt-get install -y curl\n",
               WANT({"corp.example", "image", "corp.example/base", "Dockerfile", 1},
                    {"mirrors.aliyun.com", "apt", "http://mirrors.aliyun.com/ubuntu",
                     "Dockerfile", 3},
                    {"security.ubuntu.com", "apt", "http://security.ubuntu.com/ubuntu",
                     "Dockerfile", 3}));
    /* a variable set earlier on the RUN line; export for pip; a prefix for go */
    check_text("FROM python:3.12\n"
               "RUN MIRROR=mirrors.tuna.tsinghua.edu.cn; "
               "sed -i \"s/deb.debian.org/$MIRROR/\" /etc/apt/sources.list.d/debian.sources; "
               "apt-get update; export PIP_INDEX_URL=https://$MIRROR/pypi/simple; pip install x; "
               "GOPROXY=off go build; go build\n",
               WANT({"docker.io", "image", "python:3.12", "Dockerfile", 1},
                    {"mirrors.tuna.tsinghua.edu.cn", "apt",
                     "http://mirrors.tuna.tsinghua.edu.cn/debian", "Dockerfile", 2},
                    {"mirrors.tuna.tsinghua.edu.cn", "pip",
                     "https://mirrors.tuna.tsinghua.edu.cn/pypi/simple", "Dockerfile", 2},
                    {"proxy.golang.org", "go", "https://proxy.golang.org", "Dockerfile", 2}));
    /* what echo prints, sed edits or a variable holds fetches nothing; quotes keep $X */
    check_text("FROM alpine:3.19\n"
               "RUN echo 'see https://docs.example.com' && U=https://dl.example.com/x.tgz && "
               "sed -i 's|https://a.example|https://b.example|' /etc/hosts && curl -O \"$U\" && "
               "echo '$HOME' https://echo.example\n",
               WANT({"docker.io", "image", "alpine:3.19", "Dockerfile", 1},
                    {"dl.example.com", "url", "https://dl.example.com/x.tgz", "Dockerfile", 2}));
    /* ADD's sources: a git url by Docker's test, not a local file; RUN --mount from an image */
    check_text("FROM alpine:3.19 AS tools\n"
               "FROM alpine:3.19\n"
               "ADD https://github.com/moby/moby.git#v25.0.0 /moby\n"
               "ADD ./local.tgz /x\n"
               "RUN --mount=type=bind,from=tools,target=/t "
               "--mount=type=bind,from=busybox:1.36,target=/b true\n"
               "COPY --from=quay.io/prometheus/node-exporter:v1.7.0 /bin/node_exporter /bin/\n",
               WANT({"docker.io", "image", "alpine:3.19", "Dockerfile", 1},
                    {"docker.io", "image", "alpine:3.19", "Dockerfile", 2},
                    {"github.com", "git", "https://github.com/moby/moby.git#v25.0.0",
                     "Dockerfile", 3},
                    {"docker.io", "image", "busybox:1.36", "Dockerfile", 5},
                    {"quay.io", "image", "quay.io/prometheus/node-exporter:v1.7.0", "Dockerfile",
                     6}));
    /* pip --no-index and a wheel url; npm's scoped registry written with a here-document */
    check_text("FROM node:20\n"
               "RUN pip install --no-index -f https://wheels.example.org/ x "
               "https://files.example.org/y.whl\n"
               "RUN cat > /root/.npmrc <<'EOF'\n"
               "registry=https://registry.npmmirror.com\n"
               "@corp:registry=https://npm.corp.example\n"
               "EOF\n"
               "RUN npm install\n",
               WANT({"docker.io", "image", "node:20", "Dockerfile", 1},
                    {"wheels.example.org", "pip", "https://wheels.example.org/", "Dockerfile", 2},
                    {"files.example.org", "url", "https://files.example.org/y.whl", "Dockerfile",
                     2},
                    {"registry.npmmirror.com", "npm", "https://registry.npmmirror.com",
                     "Dockerfile", 7},
                    {"npm.corp.example", "npm", "https://npm.corp.example", "Dockerfile", 7}));
    /* apk's own repositories written, and -X for one command; sh -c's script */
    check_text("FROM alpine:3.19\n"
               "RUN echo https://mirrors.ustc.edu.cn/alpine/v3.19/main > /etc/apk/repositories\n"
               "RUN apk add -X https://dl-cdn.alpinelinux.org/alpine/edge/testing foo\n"
               "RUN sh -ec 'wget -q https://get.example.org/i.sh'\n",
               WANT({"docker.io", "image", "alpine:3.19", "Dockerfile", 1},
                    {"mirrors.ustc.edu.cn", "apk", "https://mirrors.ustc.edu.cn/alpine/v3.19/main",
                     "Dockerfile", 3},
                    {"dl-cdn.alpinelinux.org", "apk",
                     "https://dl-cdn.alpinelinux.org/alpine/edge/testing", "Dockerfile", 3},
                    {"get.example.org", "url", "https://get.example.org/i.sh", "Dockerfile", 4}));
    /* go env -w GOPROXY=direct: nothing from a proxy; -mod=vendor fetches nothing */
    check_text("FROM golang:1.22\nRUN go env -w GOPROXY=direct && go build ./...\n"
               "FROM golang:1.22\nRUN go build -mod=vendor ./...\n",
               WANT({"docker.io", "image", "golang:1.22", "Dockerfile", 1},
                    {"docker.io", "image", "golang:1.22", "Dockerfile", 3}));
    /* ENV in the old form; a stage's ARG takes the global default; ${X:+alt} */
    check_text("ARG IDX=https://pypi.example.org/simple\n"
               "FROM python:3.12\n"
               "ARG IDX\n"
               "ENV PIP_EXTRA_INDEX_URL https://extra.example.org/simple\n"
               "RUN pip install -i ${IDX:+$IDX} x\n",
               WANT({"docker.io", "image", "python:3.12", "Dockerfile", 2},
                    {"pypi.example.org", "pip", "https://pypi.example.org/simple", "Dockerfile",
                     5},
                    {"extra.example.org", "pip", "https://extra.example.org/simple", "Dockerfile",
                     5}));
    /* a global ARG not declared again in the stage is not seen there */
    check_text("ARG IDX=https://pypi.example.org/simple\nFROM python:3.12\n"
               "RUN pip install -i \"$IDX\" x\n",
               WANT({"docker.io", "image", "python:3.12", "Dockerfile", 2}));
}
END_TEST

START_TEST(test_bad_dockerfiles)
{
    sw_profile p = {0};
    const char binary[] = "FROM python:3.12\n\0\x01\x02RUN curl https://x.example/\n";
    sw_profile_dockerfile(&p, binary, sizeof(binary) - 1, "Dockerfile", NULL, 0);
    ck_assert_uint_eq(p.n, 0);
    sw_profile_dockerfile(&p, "", 0, "Dockerfile", NULL, 0);
    sw_profile_dockerfile(&p, NULL, 0, "Dockerfile", NULL, 0);
    ck_assert_uint_eq(p.n, 0);
    /* half an instruction, quotes never closed, ${ never closed, a lone <<, a FROM with
     * only flags, a continued line at the end, a parser directive left open */
    static const char *const junk[] = {
        "FROM",
        "FROM --platform=linux/amd64",
        "RUN \"unclosed https://a.example",
        "FROM python:3.12\nRUN curl ${X https://b.example",
        "FROM python:3.12\nRUN cat <<\n",
        "FROM python:3.12\nRUN <<\"EOF\n",
        "FROM python:3.12\nRUN sed -i 's/deb.debian.org/' /etc/apt/sources.list \\",
        "FROM python:3.12\nRUN sed -i 's/[/x/' /etc/apt/sources.list && apt-get update",
        "# syntax=\n# escape=x\nFROM\t\n",
        "FROM python:3.12\nRUN [\"sh\", \"-c\"\nRUN [\n",
        "FROM python:3.12\nCOPY <<EOF\nEOF\nCOPY\nADD x\n",
        "\n\n\\\n\\",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        sw_profile_dockerfile(&p, junk[i], strlen(junk[i]), "Dockerfile", NULL, 0);
    }
    for (size_t i = 0; i < p.n; i++) {
        ck_assert_msg(strcmp(p.v[i].host, "docker.io") == 0 ||
                          strcmp(p.v[i].host, "deb.debian.org") == 0,
                      "invented %s", p.v[i].host);
    }
    sw_profile_clear(&p);
}
END_TEST

/* --- checkouts ---------------------------------------------------------------------------- */

START_TEST(test_checkout_with_pipeline)
{
    /* .slipway.yml's images (one a variable: none), two build steps (args, a context's
     * pip.conf COPYed to /etc/pip.conf, a directory's .npmrc), then the files in byte order */
    char *root = fixture("app");
    sw_profile p = {0};
    ck_assert_int_eq(sw_profile_scan(&p, root, NULL), 0);
    expect(&p,
           WANT({"docker.io", "image", "node:20", ".slipway.yml", 1},
                {"docker.io", "image", "golangci/golangci-lint:v1.55", ".slipway.yml", 4},
                {"docker.io", "image", "python:3.12-slim", "services/api/Dockerfile", 2},
                {"mirrors.aliyun.com", "pip", "https://mirrors.aliyun.com/pypi/simple/",
                 "services/api/Dockerfile", 4},
                {"pypi.corp.example", "pip", "https://pypi.corp.example/simple",
                 "services/api/Dockerfile", 4},
                {"download.pytorch.org", "pip", "https://download.pytorch.org/whl/cpu",
                 "services/api/Dockerfile", 4},
                {"docker.io", "image", "node:20-alpine", "docker/web.Dockerfile", 1},
                {"registry.npmmirror.com", "npm", "https://registry.npmmirror.com/",
                 "docker/web.Dockerfile", 4},
                {"npm.pkg.github.com", "npm", "https://npm.pkg.github.com",
                 "docker/web.Dockerfile", 4},
                {"apt.corp.example", "apt", "https://apt.corp.example/debian",
                 "deploy/apt/sources.list.d/corp.list", 2},
                {"mirrors.163.com", "apt", "http://mirrors.163.com/debian",
                 "deploy/apt/sources.list.d/corp.list", 3},
                {"goproxy.cn", "go", "https://goproxy.cn", "go.env", 1},
                {"goproxy.io", "go", "https://goproxy.io", "go.env", 1},
                {"mirrors.aliyun.com", "pip", "https://mirrors.aliyun.com/pypi/simple/",
                 "services/api/pip.conf", 2},
                {"pypi.corp.example", "pip", "https://pypi.corp.example/simple",
                 "services/api/pip.conf", 4},
                {"download.pytorch.org", "pip", "https://download.pytorch.org/whl/cpu",
                 "services/api/pip.conf", 5},
                {"mirrors.aliyun.com", "pip", "https://mirrors.aliyun.com/pypi/simple/",
                 "services/api/requirements.txt", 2},
                {"download.pytorch.org", "pip", "https://download.pytorch.org/whl/torch_stable.html",
                 "services/api/requirements.txt", 3},
                {"files.corp.example", "url", "https://files.corp.example/mylib-1.0.tar.gz",
                 "services/api/requirements.txt", 5},
                {"github.com", "git", "git+https://github.com/acme/tool.git#egg=tool",
                 "services/api/requirements.txt", 6},
                {"registry.npmmirror.com", "npm", "https://registry.npmmirror.com/",
                 "web/.npmrc", 1},
                {"npm.pkg.github.com", "npm", "https://npm.pkg.github.com", "web/.npmrc", 2}));
    sw_profile_clear(&p);
    free(root);
}
END_TEST

START_TEST(test_checkout_dockerfile_only)
{
    char *root = fixture("dockerfile-only");
    sw_profile p = {0};
    ck_assert_int_eq(sw_profile_scan(&p, root, NULL), 0);
    expect(&p, WANT({"docker.io", "image", "golang:1.22", "Dockerfile", 1},
                    {"proxy.golang.org", "go", "https://proxy.golang.org", "Dockerfile", 2},
                    {"gcr.io", "image", "gcr.io/distroless/static-debian12", "Dockerfile", 3},
                    {"test.pypi.org", "pip", "https://test.pypi.org/simple/",
                     "requirements-dev.txt", 1}));
    sw_profile_clear(&p);
    free(root);
}
END_TEST

START_TEST(test_checkout_given_pipeline)
{
    /* the pipeline the builder parsed is used, not root's own .slipway.yml */
    static const char yml[] = "image: quay.io/prometheus/busybox:latest\n"
                              "steps:\n"
                              "  - name: image\n"
                              "    build:\n"
                              "      context: .\n"
                              "      args: {GO: \"1\"}\n";
    char *root = fixture("dockerfile-only");
    sw_pipeline *pl = NULL;
    sw_profile p = {0};
    ck_assert_int_eq(sw_pipeline_parse(&pl, yml, strlen(yml), ".slipway.yml"), 0);
    ck_assert_int_eq(sw_profile_scan(&p, root, pl), 0);
    expect(&p, WANT({"quay.io", "image", "quay.io/prometheus/busybox:latest", ".slipway.yml", 1},
                    {"docker.io", "image", "golang:1.22", "Dockerfile", 1},
                    {"proxy.golang.org", "go", "https://proxy.golang.org", "Dockerfile", 2},
                    {"gcr.io", "image", "gcr.io/distroless/static-debian12", "Dockerfile", 3},
                    {"test.pypi.org", "pip", "https://test.pypi.org/simple/",
                     "requirements-dev.txt", 1}));
    sw_profile_clear(&p);
    sw_pipeline_destroy(&pl);
    free(root);
}
END_TEST

START_TEST(test_repository_files)
{
    char *root = sw_test_tmpdir("sw-profile-files");
    sw_profile p = {0};
    write_at(root, ".npmrc", "; the public registry, written with spaces and quotes\n"
                             "registry = \"https://registry.npmjs.org/\"\n");
    write_at(root, "etc/apt/sources.list.d/debian.sources",
             "Types: deb\n"
             "URIs: https://mirrors.tuna.tsinghua.edu.cn/debian\n"
             " https://mirrors.bfsu.edu.cn/debian\n"
             "Suites: bookworm\n");
    write_at(root, "go.env", "GOPROXY=\"https://goproxy.io,off\"\nGOPROXY=direct\n");
    write_at(root, "pip.ini", "[global]\r\nindex_url=https://pypi.corp.example:8443/simple\r\n"
                              "trusted-host = pypi.corp.example\r\n");
    write_at(root, "requirements/requirements-prod.txt",
             "-i https://ci:secret@pypi.internal.example/simple \\\n"
             "   --extra-index-url https://mirrors.aliyun.com/pypi/simple\n"
             "-r base.txt\n");
    write_at(root, "rootfs/etc/apk/repositories",
             "https://mirrors.aliyun.com/alpine/v3.19/main\n"
             "@testing https://dl-cdn.alpinelinux.org/alpine/edge/testing\n");
    write_at(root, "sources.list", "# deb http://commented.example/debian bookworm main\n"
                                   "deb http://mirrors.ustc.edu.cn/debian bookworm main contrib\n"
                                   "deb [ arch=amd64 ] https://packages.microsoft.com/debian/12/prod "
                                   "bookworm main\n"
                                   "deb cdrom:[Debian 12]/ bookworm main\n");
    write_at(root, "sources.list.d/notes.txt", "deb http://not-a-list.example/ x main\n");
    write_at(root, "docs/requirements.md", "-i https://not-requirements.example/simple\n");

    ck_assert_int_eq(sw_profile_scan(&p, root, NULL), 0);
    expect(&p,
           WANT({"registry.npmjs.org", "npm", "https://registry.npmjs.org/", ".npmrc", 2},
                {"mirrors.tuna.tsinghua.edu.cn", "apt", "https://mirrors.tuna.tsinghua.edu.cn/debian",
                 "etc/apt/sources.list.d/debian.sources", 2},
                {"mirrors.bfsu.edu.cn", "apt", "https://mirrors.bfsu.edu.cn/debian",
                 "etc/apt/sources.list.d/debian.sources", 3},
                {"goproxy.io", "go", "https://goproxy.io", "go.env", 1},
                {"pypi.corp.example:8443", "pip", "https://pypi.corp.example:8443/simple",
                 "pip.ini", 2},
                {"pypi.internal.example", "pip", "https://pypi.internal.example/simple",
                 "requirements/requirements-prod.txt", 1},
                {"mirrors.aliyun.com", "pip", "https://mirrors.aliyun.com/pypi/simple",
                 "requirements/requirements-prod.txt", 1},
                {"mirrors.aliyun.com", "apk", "https://mirrors.aliyun.com/alpine/v3.19/main",
                 "rootfs/etc/apk/repositories", 1},
                {"dl-cdn.alpinelinux.org", "apk",
                 "https://dl-cdn.alpinelinux.org/alpine/edge/testing",
                 "rootfs/etc/apk/repositories", 2},
                {"mirrors.ustc.edu.cn", "apt", "http://mirrors.ustc.edu.cn/debian",
                 "sources.list", 2},
                {"packages.microsoft.com", "apt", "https://packages.microsoft.com/debian/12/prod",
                 "sources.list", 3}));
    sw_profile_clear(&p);
    sw_test_rmtree(root);
    free(root);
}
END_TEST

START_TEST(test_bad_files)
{
    /* a .slipway.yml that does not parse (its Dockerfile is not read: the build fails),
     * a binary requirements.txt, a fifo as pip.conf, a directory as .npmrc, one too big,
     * one unreadable: skipped, and the rest still read */
    char *root = sw_test_tmpdir("sw-profile-bad");
    char *path = NULL;
    sw_profile p = {0};
    write_at(root, ".slipway.yml", "steps: [unclosed\n");
    write_at(root, "Dockerfile", "FROM python:3.12\n");
    path = sw_asprintf("%s/requirements.txt", root);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite("-i https://binary.example/simple\n\0\x01\x02", 1, 37, f);
    fclose(f);
    free(path);
    path = sw_asprintf("%s/pip.conf", root);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    free(path);
    path = sw_asprintf("%s/.npmrc", root);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    free(path);
    path = sw_asprintf("%s/big/requirements.txt", root);
    write_at(root, "big/requirements.txt", "-i https://big.example/simple\n");
    ck_assert_int_eq(truncate(path, (1 << 20) + 1), 0);
    free(path);
    if (geteuid() != 0) { /* root reads it anyway */
        write_at(root, "locked/go.env", "GOPROXY=https://locked.example\n");
        path = sw_asprintf("%s/locked/go.env", root);
        ck_assert_int_eq(chmod(path, 0), 0);
        free(path);
    }
    write_at(root, "go.env", "GOPROXY=https://goproxy.cn\n");

    sw_error_set(SW_EINVALID, ".slipway.yml:1:8: the caller's own error");
    ck_assert_int_eq(sw_profile_scan(&p, root, NULL), 0);
    expect(&p, WANT({"goproxy.cn", "go", "https://goproxy.cn", "go.env", 1}));
    sw_profile_clear(&p);
    /* the scan's own failures (the .slipway.yml, the files) leave the caller's error be */
    ck_assert_str_eq(sw_error_last(), ".slipway.yml:1:8: the caller's own error");
    ck_assert_int_eq(sw_error_last_code(), SW_EINVALID);
    sw_error_clear();
    ck_assert_int_eq(sw_profile_scan(&p, root, NULL), 0);
    ck_assert_int_eq(sw_error_last_code(), 0);
    sw_profile_clear(&p);

    /* no checkout at all */
    path = sw_asprintf("%s/missing", root);
    ck_assert_int_eq(sw_profile_scan(&p, path, NULL), SW_ENOTFOUND);
    ck_assert_uint_eq(p.n, 0);
    free(path);
    sw_test_rmtree(root);
    free(root);
}
END_TEST

START_TEST(test_paths_that_leave_the_checkout)
{
    char *base = sw_test_tmpdir("sw-profile-escape");
    char *root = sw_asprintf("%s/root", base), *path;
    sw_profile p = {0};
    write_at(base, "outside/outside.Dockerfile", "FROM evil.example/x:1\n");
    write_at(base, "outside/Dockerfile", "FROM evil.example/ctx:1\n");
    write_at(base, "outside/sources.list", "deb http://evil.example/debian x main\n");
    write_at(base, "root/real.Dockerfile", "FROM alpine:3.19\n");
    write_at(base, "root/copy.Dockerfile",
             "FROM debian:12\nCOPY ../outside/sources.list /etc/apt/sources.list\n"
             "RUN apt-get update\n");
    write_at(base, "root/.slipway.yml", "steps:\n"
                                        "  - name: link\n"
                                        "    build: {dockerfile: link.Dockerfile}\n"
                                        "  - name: ctx\n"
                                        "    build: {context: ctx}\n"
                                        "  - name: inside\n"
                                        "    build: {dockerfile: inside.Dockerfile}\n"
                                        "  - name: copy\n"
                                        "    build: {dockerfile: copy.Dockerfile}\n");
    path = sw_asprintf("%s/link.Dockerfile", root);
    ck_assert_int_eq(symlink("../outside/outside.Dockerfile", path), 0);
    free(path);
    path = sw_asprintf("%s/ctx", root);
    ck_assert_int_eq(symlink("../outside", path), 0);
    free(path);
    path = sw_asprintf("%s/inside.Dockerfile", root);
    ck_assert_int_eq(symlink("real.Dockerfile", path), 0);
    free(path);
    path = sw_asprintf("%s/sources.list", root);
    ck_assert_int_eq(symlink("../outside/sources.list", path), 0);
    free(path);
    path = sw_asprintf("%s/linked", root);
    ck_assert_int_eq(symlink("../outside", path), 0);
    free(path);

    ck_assert_int_eq(sw_profile_scan(&p, root, NULL), 0);
    expect(&p, WANT({"docker.io", "image", "alpine:3.19", "inside.Dockerfile", 1},
                    {"docker.io", "image", "debian:12", "copy.Dockerfile", 1}));
    sw_profile_clear(&p);

    /* a pipeline built by hand, with a context that climbs out: refused */
    sw_pipeline *pl = sw_pipeline_dockerfile_only();
    free(pl->steps[0].build->context);
    pl->steps[0].build->context = sw_strdup("../outside");
    write_at(base, "other/Dockerfile", "FROM python:3.12\n");
    path = sw_asprintf("%s/other", base);
    ck_assert_int_eq(sw_profile_scan(&p, path, pl), 0);
    ck_assert_uint_eq(p.n, 0);
    free(pl->steps[0].build->context);
    pl->steps[0].build->context = sw_strdup("/");
    ck_assert_int_eq(sw_profile_scan(&p, path, pl), 0);
    ck_assert_uint_eq(p.n, 0);
    sw_pipeline_destroy(&pl);
    free(path);
    sw_test_rmtree(base);
    free(base);
    free(root);
}
END_TEST

START_TEST(test_walk_bounds)
{
    char *root = sw_test_tmpdir("sw-profile-walk");
    sw_profile p = {0};
    write_at(root, ".git/sources.list", "deb http://git-dir.example/debian x main\n");
    write_at(root, "a/b/c/d/e/f/g/h/go.env", "GOPROXY=https://eight.example\n");
    write_at(root, "a/b/c/d/e/f/g/h/i/go.env", "GOPROXY=https://nine.example\n");
    ck_assert_int_eq(sw_profile_scan(&p, root, NULL), 0);
    expect(&p, WANT({"eight.example", "go", "https://eight.example", "a/b/c/d/e/f/g/h/go.env",
                     1}));
    sw_profile_clear(&p);
    sw_test_rmtree(root);
    free(root);
}
END_TEST

START_TEST(test_walk_entry_bound)
{
    /* 20000 entries are looked at: the root's 3, a-first's 1, then many's first 19996 */
    char *root = sw_test_tmpdir("sw-profile-many");
    sw_profile p = {0};
    write_at(root, "a-first/go.env", "GOPROXY=https://first.example\n");
    write_at(root, "z/go.env", "GOPROXY=https://past-the-bound.example\n");
    char *many = sw_asprintf("%s/many", root);
    ck_assert_int_eq(mkdir(many, 0755), 0);
    for (int i = 0; i < 20000; i++) {
        char name[PATH_MAX];
        snprintf(name, sizeof(name), "%s/f%05d", many, i);
        int fd = open(name, O_CREAT | O_WRONLY, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
    }
    ck_assert_int_eq(sw_profile_scan(&p, root, NULL), 0);
    expect(&p, WANT({"first.example", "go", "https://first.example", "a-first/go.env", 1}));
    sw_profile_clear(&p);
    free(many);
    sw_test_rmtree(root);
    free(root);
}
END_TEST

/* --- slipway sources ---------------------------------------------------------------------- */

/* Runs the built `slipway ARGS...` (no shell); its exit status, stdout into *out. */
static int slipway(char **out, const char *const *args)
{
    const char *build = getenv("SLIPWAY_BUILD_DIR");
    ck_assert_msg(build != NULL, "SLIPWAY_BUILD_DIR is not set (run through meson test)");
    char *bin = sw_asprintf("%s/tools/slipway", build);
    char *argv[16] = {bin};
    size_t n = 1, len = 0;
    int fds[2], status;

    for (; args[n - 1] != NULL && n < 15; n++) {
        argv[n] = (char *)args[n - 1];
    }
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(bin, argv);
        _exit(127);
    }
    close(fds[1]);
    *out = sw_calloc(1, 1);
    for (;;) {
        char buf[4096];
        ssize_t got = read(fds[0], buf, sizeof(buf));
        if (got <= 0) {
            break;
        }
        *out = sw_realloc(*out, len + (size_t)got + 1);
        memcpy(*out + len, buf, (size_t)got);
        len += (size_t)got;
        (*out)[len] = '\0';
    }
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    free(bin);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(test_cli_sources)
{
    char *root = fixture("dockerfile-only"), *out = NULL;
    /* the shipped table: docker.io, proxy.golang.org and gcr.io are overseas */
    ck_assert_int_eq(slipway(&out, (const char *const[]){"sources", root, NULL}), 0);
    ck_assert_str_eq(out,
                     "docker.io         overseas  image  golang:1.22                        "
                     "Dockerfile:1\n"
                     "proxy.golang.org  overseas  go     https://proxy.golang.org           "
                     "Dockerfile:2\n"
                     "gcr.io            overseas  image  gcr.io/distroless/static-debian12  "
                     "Dockerfile:3\n"
                     "test.pypi.org     -         pip    https://test.pypi.org/simple/      "
                     "requirements-dev.txt:1\n"
                     "overseas 3, unknown 1: most sources: overseas\n");
    free(out);

    /* a config's regions: come first */
    char *tmp = sw_test_tmpdir("sw-profile-cli");
    char *config = sw_asprintf("%s/slipway.yaml", tmp);
    char *data = sw_asprintf("data_dir: %s\n"
                             "regions:\n"
                             "  lab: [\"*.pypi.org\", gcr.io]\n"
                             "tiers: [{name: free}]\n"
                             "tenants: [{name: acme, tier: free}]\n"
                             "projects: [{name: web, tenant: acme, repository: /r}]\n"
                             "clusters: [{name: local, tier: free}]\n",
                             tmp);
    sw_test_write_file(config, data);
    ck_assert_int_eq(
        slipway(&out, (const char *const[]){"sources", "--config", config, root, NULL}), 0);
    ck_assert_msg(strstr(out, "gcr.io            lab       image") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\nlab 2, overseas 2: most sources: lab and overseas (a tie)\n"),
                  "%s", out);
    free(out);

    /* an empty checkout */
    ck_assert_int_eq(slipway(&out, (const char *const[]){"sources", tmp, NULL}), 0);
    ck_assert_str_eq(out, "no sources found\n");
    free(out);

    /* bad usage: not a directory, two paths, PATH with --project, an unreadable config */
    ck_assert_int_eq(slipway(&out, (const char *const[]){"sources", config, NULL}), 2);
    ck_assert_str_eq(out, "");
    free(out);
    ck_assert_int_eq(slipway(&out, (const char *const[]){"sources", root, root, NULL}), 2);
    free(out);
    ck_assert_int_eq(
        slipway(&out, (const char *const[]){"sources", "--project", "web", root, NULL}), 2);
    free(out);
    ck_assert_int_eq(
        slipway(&out, (const char *const[]){"sources", "--config", root, root, NULL}), 2);
    free(out);
    ck_assert_int_eq(slipway(&out, (const char *const[]){"sources", "--help", NULL}), 0);
    ck_assert(strncmp(out, "usage: slipway sources", 22) == 0);
    free(out);

    /* --project asks the scheduler: none there */
    ck_assert_int_eq(slipway(&out, (const char *const[]){"--nats", "nats://127.0.0.1:1",
                                                         "sources", "--project", "web", NULL}),
                     7);
    free(out);

    sw_test_rmtree(tmp);
    free(tmp);
    free(config);
    free(data);
    free(root);
}
END_TEST

static Suite *profile_suite(void)
{
    Suite *s = suite_create("profile");
    TCase *tc = tcase_create("list");
    tcase_add_test(tc, test_add_dedupes_and_caps);
    tcase_add_test(tc, test_url_host);
    tcase_add_test(tc, test_image_registry);
    suite_add_tcase(s, tc);

    tc = tcase_create("dockerfile");
    tcase_add_test(tc, test_multistage);
    tcase_add_test(tc, test_apt_sed_aliyun_and_pip_index);
    tcase_add_test(tc, test_apt_echo_tuna_curl_wget);
    tcase_add_test(tc, test_apt_default_and_tee_list);
    tcase_add_test(tc, test_heredocs);
    tcase_add_test(tc, test_args_defaults);
    tcase_add_test(tc, test_args_overridden);
    tcase_add_test(tc, test_apk_add_and_git);
    tcase_add_test(tc, test_continuations_and_comments);
    tcase_add_test(tc, test_escape_directive);
    tcase_add_test(tc, test_git_curl_yarn_goproxy_ports);
    tcase_add_test(tc, test_exec_form);
    tcase_add_test(tc, test_env_mirrors);
    tcase_add_test(tc, test_unterminated_heredoc);
    tcase_add_test(tc, test_small_rules);
    tcase_add_test(tc, test_bad_dockerfiles);
    suite_add_tcase(s, tc);

    tc = tcase_create("checkout");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_checkout_with_pipeline);
    tcase_add_test(tc, test_checkout_dockerfile_only);
    tcase_add_test(tc, test_checkout_given_pipeline);
    tcase_add_test(tc, test_repository_files);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_paths_that_leave_the_checkout);
    tcase_add_test(tc, test_walk_bounds);
    tcase_add_test(tc, test_walk_entry_bound);
    suite_add_tcase(s, tc);

    tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cli_sources);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sw_test_run(profile_suite());
}

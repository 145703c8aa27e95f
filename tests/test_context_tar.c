/* test_context_tar.c - the build context tar and its .dockerignore: which members,
 * with which modes, owners and mtimes; Docker's pattern semantics (checked against
 * moby's own regexp translation); what is refused. */
#include "actors/builder/image/context_tar.h"
#include "actors/builder/image/dockerignore.h"
#include "runtime/core/error.h"
#include "support.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *ctx;

static void setup(void)
{
    ctx = sw_test_tmpdir("sw-ctxtar");
}

static void teardown(void)
{
    sw_test_rmtree(ctx);
    free(ctx);
}

/* Writes ctx/rel (parents made) with mode. */
static void put(const char *rel, const char *text, mode_t mode)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", ctx, rel);
    for (char *p = path + strlen(ctx) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    sw_test_write_file(path, text);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void put_dir(const char *rel, mode_t mode)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", ctx, rel);
    ck_assert_msg(mkdir(path, mode) == 0 || errno == EEXIST, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void put_link(const char *rel, const char *target)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", ctx, rel);
    ck_assert_msg(symlink(target, path) == 0, "%s: %s", path, strerror(errno));
}

/* One member of a tar, as "name type mode[ -> target]" ("app/ d 0755"). */
typedef struct listing {
    char *lines[128];
    size_t n;
    long long mtime_of_dockerfile;
    int owners_zero;
    char *contents_of_main;
} listing;

static void listing_free(listing *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->lines[i]);
    }
    free(l->contents_of_main);
    memset(l, 0, sizeof(*l));
}

/* Makes the context's tar and reads it back with libarchive. Returns
 * sw_context_tar's result; *df gets the Dockerfile's name in the tar. */
static int tar_and_list(const char *dockerfile, listing *l, char **df)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    memset(l, 0, sizeof(*l));
    l->owners_zero = 1;
    int rc = sw_context_tar(ctx, dockerfile, f, df, NULL);
    if (rc < 0) {
        fclose(f);
        return rc;
    }
    rewind(f);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    ck_assert_int_eq(archive_read_open_FILE(a, f), ARCHIVE_OK);
    struct archive_entry *e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        char type = AE_IFDIR == archive_entry_filetype(e)   ? 'd'
                    : AE_IFLNK == archive_entry_filetype(e) ? 'l'
                    : AE_IFREG == archive_entry_filetype(e) ? 'f'
                                                            : '?';
        char buf[PATH_MAX * 2];
        snprintf(buf, sizeof(buf), "%s %c %04o%s%s", archive_entry_pathname(e), type,
                 (unsigned)archive_entry_perm(e), type == 'l' ? " -> " : "",
                 type == 'l' ? archive_entry_symlink(e) : "");
        ck_assert_uint_lt(l->n, 128);
        l->lines[l->n++] = strdup(buf);
        if (archive_entry_uid(e) != 0 || archive_entry_gid(e) != 0 ||
            (archive_entry_uname(e) && archive_entry_uname(e)[0])) {
            l->owners_zero = 0;
        }
        if (strcmp(archive_entry_pathname(e), "Dockerfile") == 0) {
            l->mtime_of_dockerfile = (long long)archive_entry_mtime(e);
        }
        if (strcmp(archive_entry_pathname(e), "app/main.c") == 0) {
            char data[256] = {0};
            ck_assert_int_ge(archive_read_data(a, data, sizeof(data) - 1), 0);
            l->contents_of_main = strdup(data);
        }
    }
    archive_read_free(a);
    fclose(f);
    return rc;
}

static void assert_listing(const listing *l, const char *const *expected)
{
    size_t n = 0;
    while (expected[n] != NULL) {
        n++;
    }
    char got[8192] = "";
    for (size_t i = 0; i < l->n; i++) {
        strncat(got, l->lines[i], sizeof(got) - strlen(got) - 2);
        strcat(got, "\n");
    }
    ck_assert_msg(l->n == n, "%zu members, expected %zu:\n%s", l->n, n, got);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(strcmp(l->lines[i], expected[i]) == 0,
                      "member %zu is \"%s\", expected \"%s\":\n%s", i, l->lines[i], expected[i],
                      got);
    }
}

/* The tree of the issue: files, nested dirs, a symlink, an executable. */
static void make_tree(void)
{
    put("Dockerfile", "FROM scratch\nCOPY . /\n", 0644);
    put("app/main.c", "int main(void) { return 0; }\n", 0644);
    put("app/run.sh", "#!/bin/sh\necho hi\n", 0755);
    put("app/sub/deep.txt", "deep\n", 0600);
    put("app/x.log", "a log below the root: *.log does not reach it\n", 0644);
    put("app/tmp/junk", "junk\n", 0644);
    put("app/secret.txt", "not the root's secret\n", 0644);
    put("top.log", "excluded\n", 0644);
    put("tmp/t", "excluded with its dir\n", 0644);
    put("build/out.o", "excluded\n", 0644);
    put("build/keep.txt", "kept by an exception\n", 0644);
    put("build/deeper/keep.txt", "not named by the exception\n", 0644);
    put("secret.txt", "excluded\n", 0600);
    put("# comment", "a file named like the comment line: kept\n", 0644);
    put_dir("private", 0700);
    put("private/p", "p\n", 0640);
    put_link("link", "app/main.c");
    put_link("dangling", "/nonexistent/target");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/Dockerfile", ctx);
    struct timespec ts[2] = {{1500000000, 0}, {1500000000, 0}};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

START_TEST(test_dockerignore_applied)
{
    make_tree();
    put(".dockerignore",
        "# comment\n"
        "*.log\n"
        "**/tmp\n"
        "build/\n"
        "!build/keep.txt\n"
        "/secret.txt\n",
        0644);
    listing l;
    char *df = NULL;
    int rc = tar_and_list(NULL, &l, &df);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_str_eq(df, "Dockerfile");
    const char *expected[] = {
        "# comment f 0644",
        ".dockerignore f 0644",
        "Dockerfile f 0644",
        "app/ d 0755",
        "app/main.c f 0644",
        "app/run.sh f 0755",
        "app/secret.txt f 0644",
        "app/sub/ d 0755",
        "app/sub/deep.txt f 0600",
        "app/x.log f 0644",
        /* build/ itself is left out, as Docker does, but its exception goes in */
        "build/keep.txt f 0644",
        "dangling l 0777 -> /nonexistent/target",
        "link l 0777 -> app/main.c",
        "private/ d 0700",
        "private/p f 0640",
        NULL,
    };
    assert_listing(&l, expected);
    ck_assert_int_eq(l.owners_zero, 1);
    ck_assert_int_eq(l.mtime_of_dockerfile, 1500000000);
    ck_assert_str_eq(l.contents_of_main, "int main(void) { return 0; }\n");
    listing_free(&l);
    free(df);
}
END_TEST

START_TEST(test_no_dockerignore_sends_everything)
{
    make_tree();
    listing l;
    int rc = tar_and_list(NULL, &l, NULL);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    const char *expected[] = {
        "# comment f 0644",
        "Dockerfile f 0644",
        "app/ d 0755",
        "app/main.c f 0644",
        "app/run.sh f 0755",
        "app/secret.txt f 0644",
        "app/sub/ d 0755",
        "app/sub/deep.txt f 0600",
        "app/tmp/ d 0755",
        "app/tmp/junk f 0644",
        "app/x.log f 0644",
        "build/ d 0755",
        "build/deeper/ d 0755",
        "build/deeper/keep.txt f 0644",
        "build/keep.txt f 0644",
        "build/out.o f 0644",
        "dangling l 0777 -> /nonexistent/target",
        "link l 0777 -> app/main.c",
        "private/ d 0700",
        "private/p f 0640",
        "secret.txt f 0600",
        "tmp/ d 0755",
        "tmp/t f 0644",
        "top.log f 0644",
        NULL,
    };
    assert_listing(&l, expected);
    listing_free(&l);
}
END_TEST

START_TEST(test_dockerfile_and_dockerignore_always_sent)
{
    put("docker/Build.df", "FROM scratch\n", 0644);
    put("docker/other", "x\n", 0644);
    put("data.txt", "x\n", 0644);
    put(".dockerignore", "*\n", 0644);
    listing l;
    char *df = NULL;
    int rc = tar_and_list("./docker//Build.df", &l, &df);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_str_eq(df, "docker/Build.df");
    const char *expected[] = {".dockerignore f 0644", "docker/Build.df f 0644", NULL};
    assert_listing(&l, expected);
    listing_free(&l);
    free(df);
}
END_TEST

START_TEST(test_lowercase_dockerfile_and_symlinked_dockerfile)
{
    put("dockerfile", "FROM scratch\n", 0644);
    listing l;
    char *df = NULL;
    int rc = tar_and_list(NULL, &l, &df);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_str_eq(df, "dockerfile");
    listing_free(&l);
    free(df);

    put("real/Dockerfile.real", "FROM scratch\n", 0644);
    put_link("Dockerfile.link", "real/Dockerfile.real");
    rc = tar_and_list("Dockerfile.link", &l, &df);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_str_eq(df, "real/Dockerfile.real"); /* resolved, as the CLI does */
    listing_free(&l);
    free(df);
}
END_TEST

/* What Docker's walk does with an exception naming a directory: it applies to the
 * directory, and to what is below only where it applied to the directory. */
START_TEST(test_exception_for_a_directory_as_docker_walks)
{
    put("Dockerfile", "FROM scratch\n", 0644);
    put("logs/a.log", "a\n", 0644);
    put("logs/b.txt", "b\n", 0644);
    put("c.log", "c\n", 0644);
    put(".dockerignore", "**/*.log\n!logs\n", 0644);
    listing l;
    int rc = tar_and_list(NULL, &l, NULL);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    const char *expected[] = {".dockerignore f 0644", "Dockerfile f 0644", "logs/ d 0755",
                              "logs/b.txt f 0644", NULL};
    assert_listing(&l, expected);
    listing_free(&l);

    /* an exception inside an excluded directory: the directory's entry stays out */
    put(".dockerignore", "logs\n!logs/a.log\n", 0644);
    rc = tar_and_list(NULL, &l, NULL);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    const char *expected2[] = {".dockerignore f 0644", "Dockerfile f 0644", "c.log f 0644",
                               "logs/a.log f 0644", NULL};
    assert_listing(&l, expected2);
    listing_free(&l);

    /* an exception Docker cannot see from the directory's name: nothing re-included */
    put(".dockerignore", "logs\n!*/a.log\n", 0644);
    rc = tar_and_list(NULL, &l, NULL);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    const char *expected3[] = {".dockerignore f 0644", "Dockerfile f 0644", "c.log f 0644", NULL};
    assert_listing(&l, expected3);
    listing_free(&l);
}
END_TEST

START_TEST(test_special_file_refused)
{
    put("Dockerfile", "FROM scratch\n", 0644);
    put("sub/file", "x\n", 0644);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/sub/pipe", ctx);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    listing l;
    int rc = tar_and_list(NULL, &l, NULL);
    ck_assert_int_eq(rc, SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "sub/pipe in the build context is a fifo") != NULL, "%s",
                  sw_error_last());

    /* excluded, it is never looked at */
    put(".dockerignore", "sub/pipe\n", 0644);
    rc = tar_and_list(NULL, &l, NULL);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    const char *expected[] = {".dockerignore f 0644", "Dockerfile f 0644", "sub/ d 0755",
                              "sub/file f 0644", NULL};
    assert_listing(&l, expected);
    listing_free(&l);
}
END_TEST

START_TEST(test_missing_or_escaping_dockerfile)
{
    put("app/file", "x\n", 0644);
    listing l;
    ck_assert_int_eq(tar_and_list(NULL, &l, NULL), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "cannot locate the Dockerfile Dockerfile") != NULL, "%s",
                  sw_error_last());
    ck_assert_int_eq(tar_and_list("app/Dockerfile", &l, NULL), SW_ENOTFOUND);
    ck_assert_int_eq(tar_and_list("../Dockerfile", &l, NULL), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "inside the build context") != NULL, "%s",
                  sw_error_last());
    ck_assert_int_eq(tar_and_list("/etc/hostname", &l, NULL), SW_EINVALID);
    put_link("Dockerfile", "/etc/hostname");
    ck_assert_int_eq(tar_and_list(NULL, &l, NULL), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "within the build context") != NULL, "%s",
                  sw_error_last());
    ck_assert_int_eq(tar_and_list("app", &l, NULL), SW_EINVALID); /* a directory */
}
END_TEST

START_TEST(test_bad_dockerignore_refused)
{
    put("Dockerfile", "FROM scratch\n", 0644);
    put(".dockerignore", "ok\n\n[unterminated\n", 0644);
    listing l;
    ck_assert_int_eq(tar_and_list(NULL, &l, NULL), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "line 3") != NULL, "%s", sw_error_last());
}
END_TEST

START_TEST(test_context_resolve)
{
    char *out = NULL;
    put("a/b/Dockerfile", "FROM scratch\n", 0644);
    put_link("up", "/etc");
    put_link("a/lb", "b");
    ck_assert_int_eq(sw_context_resolve(&out, ctx, "a/b"), 0);
    char want[PATH_MAX];
    snprintf(want, sizeof(want), "%s/a/b", ctx);
    ck_assert_str_eq(out, want);
    free(out);
    ck_assert_int_eq(sw_context_resolve(&out, ctx, "./a//b/"), 0);
    ck_assert_str_eq(out, want);
    free(out);
    ck_assert_int_eq(sw_context_resolve(&out, ctx, NULL), 0);
    ck_assert_str_eq(out, ctx);
    free(out);
    ck_assert_int_eq(sw_context_resolve(&out, ctx, "up"), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "symlink") != NULL, "%s", sw_error_last());
    ck_assert_int_eq(sw_context_resolve(&out, ctx, "a/lb"), SW_EINVALID);
    ck_assert_int_eq(sw_context_resolve(&out, ctx, "a/../.."), SW_EINVALID);
    ck_assert_int_eq(sw_context_resolve(&out, ctx, "/etc"), SW_EINVALID);
    ck_assert_int_eq(sw_context_resolve(&out, ctx, "a/b/Dockerfile"), SW_EINVALID);
    ck_assert_int_eq(sw_context_resolve(&out, ctx, "nope"), SW_ENOTFOUND);
    ck_assert_ptr_null(out);

    /* and the tar itself refuses a context that is a symlink */
    snprintf(want, sizeof(want), "%s/up", ctx);
    FILE *f = tmpfile();
    ck_assert_int_eq(sw_context_tar(want, NULL, f, NULL, NULL), SW_EINVALID);
    fclose(f);
}
END_TEST

/* ---- patterns ------------------------------------------------------------------- */

static bool excluded(const char *file, const char *path)
{
    sw_dockerignore *di = NULL;
    int rc = sw_dockerignore_parse(&di, file, strlen(file));
    ck_assert_msg(rc == 0, "%s: %s", file, sw_error_last());
    bool r = sw_dockerignore_excludes(di, path);
    sw_dockerignore_destroy(&di);
    return r;
}

START_TEST(test_patterns)
{
    static const struct {
        const char *file, *path;
        bool excluded;
    } cases[] = {
        {"*.go", "a.go", true},
        {"*.go", "dir/a.go", false}, /* '*' stays in its element */
        {"**/*.go", "a.go", true},   /* "**" + "/" may be nothing */
        {"**/*.go", "x/y/a.go", true},
        {"dir/**", "dir/a/b", true},
        {"dir/**", "dir", false},
        {"**", "anything/at/all", true},
        {"docs", "docs/x/y", true}, /* a parent matches */
        {"docs", "docsx", false},
        {"a?c", "abc", true},
        {"a?c", "a/c", false},
        {"[a-c]x", "bx", true},
        {"[a-c]x", "dx", false},
        {"[^a]x", "ax", false},
        {"[^a]x", "bx", true},
        {"[\\]]", "]", true},
        {"*/temp*", "somedir/temporary.txt", true},
        {"*/temp*", "temp", false},
        {"*/*/temp*", "a/b/temp.x", true},
        {"temp?", "tempa", true},
        {"temp?", "temp", false},
        {"*.md\n!README*.md\nREADME-secret.md", "README-secret.md", true},
        {"*.md\n!README*.md\nREADME-secret.md", "README.md", false},
        {"*.md\n!README*.md\nREADME-secret.md", "other.md", true},
        {"*.md\nREADME-secret.md\n!README*.md", "README-secret.md", false},
        {"./foo/../bar", "bar", true}, /* cleaned */
        {"/abs", "abs", true},         /* a leading '/' dropped */
        {"dir/", "dir/f", true},
        {"\\*", "*", true}, /* an escaped '*' is a '*' */
        {"\\*", "x", false},
        {"  spaced  ", "spaced", true},                /* trimmed */
        {"# comment", "# comment", false},             /* a comment */
        {" # not a comment", "# not a comment", true}, /* '#' only in the first column */
        {"\xef\xbb\xbf"
         "bom",
         "bom", true}, /* a UTF-8 BOM dropped */
        {"crlf\r\n", "crlf", true},
        {"caf?", "caf\xc3\xa9", true}, /* '?' is one character, not one byte */
        {"a**b", "ax/b", true},
        {"a**b", "axb", false},
        {"!x\nx", "x", true},
        {"x\n!x", "x/y", false},
        {"x\n! x", "x", false},    /* "! x" is an exception for "x" */
        {"*", "a\nb", true},       /* '*' ([^/]*) takes a newline */
        {"?**", "a\nb", false},    /* "**" (.*) does not, as in Go's regexp */
        {"**", "a\nb", true},      /* ... unless no regexp is needed */
        {"**.log", "c.log", true}, /* "**" + plain text: a suffix test */
        {"**.log", "a/b/c.log", true},
        {"**/*.log", "a/b/c.log", true},
        {"**/foo", "foo", true},
        {"**/foo", "xfoo", false},
        {"x+y", "x+y", true}, /* regexp characters are plain */
        {"(a|b)", "(a|b)", true},
        {"(a|b)*", "(a|b)c", true},
        {"dir/**", "dir/a", true},
        {"dir**", "dirx/y", true},
        {"/", "x", false}, /* "/" matches nothing */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(excluded(cases[i].file, cases[i].path) == cases[i].excluded,
                      "case %zu: \"%s\" vs \"%s\": expected %s", i, cases[i].file, cases[i].path,
                      cases[i].excluded ? "excluded" : "included");
    }

    static const char *bad[] = {"[", "[a", "a\\", "!", "[]", "[a-]", "[-a]", "[z-a]", "!/", NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        sw_dockerignore *di = NULL;
        ck_assert_msg(sw_dockerignore_parse(&di, bad[i], strlen(bad[i])) == SW_EINVALID,
                      "\"%s\" accepted", bad[i]);
        ck_assert_ptr_null(di);
    }

    sw_dockerignore *di = NULL;
    const char *text = "build\n!build/keep.txt\n!*/other\n";
    ck_assert_int_eq(sw_dockerignore_parse(&di, text, strlen(text)), 0);
    ck_assert_int_eq(sw_dockerignore_has_exceptions(di), 1);
    ck_assert_int_eq(sw_dockerignore_may_reinclude(di, "build"), 1);
    ck_assert_int_eq(sw_dockerignore_may_reinclude(di, "buil"), 0);
    ck_assert_int_eq(sw_dockerignore_may_reinclude(di, "build/keep.txt"), 1);
    ck_assert_int_eq(sw_dockerignore_may_reinclude(di, "x"), 0); /* Docker's prefix test */
    sw_dockerignore_destroy(&di);
    ck_assert_ptr_null(di);
    sw_dockerignore_destroy(&di);
}
END_TEST

START_TEST(test_clean)
{
    static const char *cases[][2] = {
        {"", "."},        {"a/b", "a/b"},     {"a//b/", "a/b"}, {"./a", "a"},
        {"a/./b", "a/b"}, {"a/../b", "b"},    {"../a", "../a"}, {"a/../..", ".."},
        {"/../a", "/a"},  {"/", "/"},         {"//a", "/a"},    {"a/b/../../..", ".."},
        {"!/", "!"},      {"..a/b", "..a/b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *c = sw_dockerignore_clean(cases[i][0]);
        ck_assert_msg(strcmp(c, cases[i][1]) == 0, "Clean(\"%s\") = \"%s\", expected \"%s\"",
                      cases[i][0], c, cases[i][1]);
        free(c);
    }
}
END_TEST

/* moby's Pattern.compile, rebuilt: the regexp Docker matches a cleaned pattern
 * with, or NULL when Docker needs none for it (a plain string, "x**", "**x": those
 * are string tests). POSIX extended regexps agree with Go's on these constructs. */
static char *moby_regexp(const char *p)
{
    enum { EXACT, PREFIX, SUFFIX, REGEXP } type = EXACT;
    char *re = calloc(1, strlen(p) * 8 + 32), *w = re;
    *w++ = '^';
    for (int i = 0; *p; i++) {
        if (p[0] == '*' && p[1] == '*') {
            p += 2;
            if (*p == '/') {
                p++;
            }
            if (*p == '\0') {
                type = type == EXACT ? PREFIX : REGEXP;
                w = stpcpy(w, ".*");
            } else {
                type = REGEXP;
                w = stpcpy(w, "(.*/)?");
            }
            if (i == 0) {
                type = SUFFIX;
            }
        } else if (*p == '*') {
            p++;
            w = stpcpy(w, "[^/]*");
            type = REGEXP;
        } else if (*p == '?') {
            p++;
            w = stpcpy(w, "[^/]");
            type = REGEXP;
        } else if (strchr(".+()|{}$", *p) != NULL) {
            *w++ = '\\';
            *w++ = *p++;
        } else {
            if (*p == '[' || *p == ']') {
                type = REGEXP;
            }
            *w++ = *p++;
        }
    }
    strcpy(w, "$");
    if (type != REGEXP) {
        free(re);
        return NULL;
    }
    return re;
}

/* MatchesOrParentMatches with one regexp: the path or one of its parents. */
static bool regexp_or_parent(regex_t *rx, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    if (regexec(rx, buf, 0, NULL, 0) == 0) {
        return true;
    }
    for (char *s = strchr(buf, '/'); s != NULL; s = strchr(s + 1, '/')) {
        *s = '\0';
        bool m = regexec(rx, buf, 0, NULL, 0) == 0;
        *s = '/';
        if (m) {
            return true;
        }
    }
    return false;
}

START_TEST(test_patterns_agree_with_moby_regexp)
{
    static const char *atoms[] = {"a", "b", "/", "*", "?", "**", "**/", "[ab]", "[^a]", ".", "+"};
    static const char *path_atoms[] = {"a", "b", "/", ".", "ab", "c"};
    unsigned seed = 12345;
    size_t checked = 0;
    for (int round = 0; round < 3000; round++) {
        char pat[64] = "", path[64] = "";
        int np = 1 + (int)(rand_r(&seed) % 5), nn = 1 + (int)(rand_r(&seed) % 7);
        for (int i = 0; i < np; i++) {
            strcat(pat, atoms[rand_r(&seed) % (sizeof(atoms) / sizeof(atoms[0]))]);
        }
        for (int i = 0; i < nn; i++) {
            strcat(path, path_atoms[rand_r(&seed) % (sizeof(path_atoms) / sizeof(path_atoms[0]))]);
        }
        /* walked paths are clean and relative: skip the others */
        char *cp = sw_dockerignore_clean(path);
        bool clean = strcmp(cp, path) == 0 && path[0] != '/' && strncmp(path, "..", 2) != 0;
        free(cp);
        if (!clean) {
            continue;
        }
        sw_dockerignore *di = NULL;
        ck_assert_int_eq(sw_dockerignore_parse(&di, pat, strlen(pat)), 0);
        char *cleaned = sw_dockerignore_clean(pat);
        const char *ptxt = strlen(cleaned) > 1 && cleaned[0] == '/' ? cleaned + 1 : cleaned;
        char *re = moby_regexp(ptxt);
        if (re == NULL) { /* a string test: the cases of test_patterns */
            free(cleaned);
            sw_dockerignore_destroy(&di);
            continue;
        }
        regex_t rx;
        ck_assert_msg(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) == 0, "%s", re);
        bool want = regexp_or_parent(&rx, path);
        bool got = sw_dockerignore_excludes(di, path);
        ck_assert_msg(got == want, "pattern \"%s\" (regexp %s) vs \"%s\": moby %d, ours %d", pat,
                      re, path, want, got);
        regfree(&rx);
        free(re);
        free(cleaned);
        sw_dockerignore_destroy(&di);
        checked++;
    }
    ck_assert_uint_gt(checked, 800);
}
END_TEST

START_TEST(test_many_stars_stay_fast)
{
    char pat[128] = "", path[300];
    for (int i = 0; i < 30; i++) {
        strcat(pat, "*a");
    }
    strcat(pat, "*b");
    memset(path, 'a', 255);
    path[255] = '\0';
    sw_dockerignore *di = NULL;
    ck_assert_int_eq(sw_dockerignore_parse(&di, pat, strlen(pat)), 0);
    ck_assert_int_eq(sw_dockerignore_excludes(di, path),
                     0); /* would take ages with plain backtracking */
    sw_dockerignore_destroy(&di);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("context_tar");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_dockerignore_applied);
    tcase_add_test(tc, test_no_dockerignore_sends_everything);
    tcase_add_test(tc, test_dockerfile_and_dockerignore_always_sent);
    tcase_add_test(tc, test_lowercase_dockerfile_and_symlinked_dockerfile);
    tcase_add_test(tc, test_exception_for_a_directory_as_docker_walks);
    tcase_add_test(tc, test_special_file_refused);
    tcase_add_test(tc, test_missing_or_escaping_dockerfile);
    tcase_add_test(tc, test_bad_dockerignore_refused);
    tcase_add_test(tc, test_context_resolve);
    tcase_add_test(tc, test_patterns);
    tcase_add_test(tc, test_clean);
    tcase_add_test(tc, test_patterns_agree_with_moby_regexp);
    tcase_add_test(tc, test_many_stars_stay_fast);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}

/* test_workspace.c - a project's workspace kept between its builds: a repeat build writes
 * only what changed, nothing but the tracked files survives a build (untracked, ignored,
 * tampered with, .git's own files), a broken workspace is made anew, projects never share
 * one, `clone: false`, `clean: fresh`, `depth:`, and the sweep of unused workspaces. */
#include "actors/builder/runner.h"
#include "actors/builder/git/workspace.h"
#include "runtime/core/error.h"
#include "slipway.pb-c.h"
#include "support.h"

#include <check.h>
#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static char *root;
static char origin[600], mirrors[600], ws_dir[600], src_dir[700];

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static void setup(void)
{
    root = sw_test_tmpdir("sw-workspace");
    snprintf(origin, sizeof(origin), "%s/src.git", root);
    snprintf(mirrors, sizeof(mirrors), "%s/mirrors", root);
    snprintf(ws_dir, sizeof(ws_dir), "%s/ws/demo/app/0", root);
    snprintf(src_dir, sizeof(src_dir), "%s/src", ws_dir);
    setenv("GIT_AUTHOR_NAME", "t", 1);
    setenv("GIT_AUTHOR_EMAIL", "t@example.org", 1);
    setenv("GIT_COMMITTER_NAME", "t", 1);
    setenv("GIT_COMMITTER_EMAIL", "t@example.org", 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("HOME", root, 1);
    run("cd %s && git init -q -b main work && git init -q --bare -b main src.git", root);
}

static void teardown(void)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "chattr -R -i %s 2>/dev/null", root); /* a failed test's */
    if (system(cmd) != 0) {
        /* nothing was made immutable, or chattr is not there: nothing to undo */
    }
    sw_test_rmtree(root);
    free(root);
    root = NULL;
}

/* Writes a file of the next commit (under root/work). */
static void put(const char *path, const char *text)
{
    char full[900];
    snprintf(full, sizeof(full), "%s/work/%s", root, path);
    run("mkdir -p \"$(dirname %s)\"", full);
    sw_test_write_file(full, text);
}

static void commit_push(void)
{
    run("cd %s/work && git add -A && git commit -q -m c && git push -q ../src.git main", root);
}

/* The tree of the first commits: tracked files, a .gitignore and the pipeline. */
static void make_repo(const char *pipeline)
{
    put("a.txt", "aaaa\n");
    put("b.txt", "bbbb\n");
    put("sub/c.txt", "cccc\n");
    put("sub/keep.txt", "keep\n");
    put(".gitignore", "*.log\nbuild/\n");
    put(".slipway.yml", pipeline);
    commit_push();
}

typedef struct log_lines {
    char *lines[256];
    size_t n;
} log_lines;

static void on_line(void *ud, int stream, const char *text, size_t len)
{
    log_lines *l = ud;
    (void)stream;
    if (l->n < 256) {
        l->lines[l->n++] = strndup(text, len);
    }
}

static const char *find_line(const log_lines *l, const char *needle)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strstr(l->lines[i], needle) != NULL) {
            return l->lines[i];
        }
    }
    return NULL;
}

static void lines_free(log_lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->lines[i]);
    }
    l->n = 0;
}

static void dump(const log_lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        fprintf(stderr, "  | %s\n", l->lines[i]);
    }
}

static sw_run_spec spec_for(const char *url, const char *dir)
{
    sw_run_spec spec = {0};
    spec.build_id = "b-1";
    spec.clone_url = url;
    spec.ref = "main";
    spec.workspace = dir;
    spec.mirror_dir = mirrors;
    spec.memory_bytes = 256ull << 20;
    spec.pids = 128;
    spec.timeout_ms = 60000;
    return spec;
}

/* One build of origin into ws_dir that must succeed; its log in *l (may be NULL). */
static void build_ok(sw_run_result *res, log_lines *l)
{
    log_lines own = {0};
    log_lines *lines = l != NULL ? l : &own;
    sw_run_spec spec = spec_for(origin, ws_dir);
    sw_run_sink sink = {.ud = lines, .line = on_line};
    ck_assert_int_eq(sw_run_job(&spec, &sink, res), 0);
    if (res->state != SLIPWAY__BUILD_STATE__SUCCEEDED) {
        dump(lines);
    }
    ck_assert_msg(res->state == SLIPWAY__BUILD_STATE__SUCCEEDED, "%s", res->reason);
    lines_free(&own);
    sw_profile_clear(&res->profile);
}

static struct stat stat_of(const char *rel)
{
    char path[900];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", src_dir, rel);
    ck_assert_msg(lstat(path, &st) == 0, "no %s", path);
    return st;
}

static char *content_of(const char *rel)
{
    char path[900];
    snprintf(path, sizeof(path), "%s/%s", src_dir, rel);
    char *text = sw_test_read_file(path, NULL);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    return text;
}

static void assert_content(const char *rel, const char *want)
{
    char *text = content_of(rel);
    ck_assert_str_eq(text, want);
    free(text);
}

static int exists_in_src(const char *rel)
{
    char path[900];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", src_dir, rel);
    return lstat(path, &st) == 0;
}

/* --- a repeat build writes only what changed ------------------------------------------ */

START_TEST(test_repeat_build_writes_only_changes)
{
    sw_run_result res;
    make_repo("steps:\n  - name: noop\n    run: 'true'\n");

    build_ok(&res, NULL);
    ck_assert_int_eq(res.workspace_reused, 0);
    ck_assert_uint_eq(res.files_written, 6);
    struct stat a1 = stat_of("a.txt"), c1 = stat_of("sub/c.txt"), b1 = stat_of("b.txt");

    /* the same commit again: nothing written, nothing removed */
    build_ok(&res, NULL);
    ck_assert_int_eq(res.workspace_reused, 1);
    ck_assert_uint_eq(res.files_written, 0);
    ck_assert_uint_eq(res.files_removed, 0);
    struct stat a2 = stat_of("a.txt"), b2 = stat_of("b.txt");
    ck_assert_uint_eq(a2.st_ino, a1.st_ino);
    ck_assert_uint_eq(b2.st_ino, b1.st_ino);
    ck_assert_int_eq(a2.st_mtim.tv_nsec, a1.st_mtim.tv_nsec);
    ck_assert_int_eq(a2.st_ctim.tv_nsec, a1.st_ctim.tv_nsec);

    /* one file changed, one added: those two are written, the rest untouched */
    put("b.txt", "BBBB changed\n");
    put("sub/d.txt", "new\n");
    commit_push();
    build_ok(&res, NULL);
    ck_assert_int_eq(res.workspace_reused, 1);
    ck_assert_uint_eq(res.files_written, 2);
    struct stat a3 = stat_of("a.txt"), c3 = stat_of("sub/c.txt");
    ck_assert_uint_eq(a3.st_ino, a1.st_ino);
    ck_assert_int_eq(a3.st_mtim.tv_sec, a1.st_mtim.tv_sec);
    ck_assert_int_eq(a3.st_mtim.tv_nsec, a1.st_mtim.tv_nsec);
    ck_assert_uint_eq(c3.st_ino, c1.st_ino);
    ck_assert_int_eq(c3.st_ctim.tv_nsec, c1.st_ctim.tv_nsec);
    assert_content("b.txt", "BBBB changed\n");
    assert_content("sub/d.txt", "new\n");

    /* a file removed from the repository goes from the workspace */
    run("cd %s/work && git rm -q sub/d.txt", root);
    commit_push();
    build_ok(&res, NULL);
    ck_assert_uint_eq(res.files_written, 1);
    ck_assert(!exists_in_src("sub/d.txt"));
    /* the workspace's repository is whole and at the commit */
    run("git -C %s fsck --no-dangling --no-progress >/dev/null 2>&1 && "
        "test \"$(git -C %s rev-parse HEAD)\" = \"$(git -C %s/work rev-parse HEAD)\" && "
        "test -z \"$(git -C %s status --porcelain)\"",
        src_dir, src_dir, root, src_dir);
}
END_TEST

/* --- only the tracked state survives a build ---------------------------------------- */

/* Each build first checks that nothing of the one before is left, then leaves all it
 * can: untracked and ignored files, a home dotfile, a link to /, files in .git, a
 * tracked file changed behind a forged mtime, one removed, one made executable. */
#define TAMPERING                                                                          \
    "steps:\n"                                                                             \
    "  - name: check\n"                                                                    \
    "    run: |\n"                                                                         \
    "      for f in untracked.txt out.log build .cache sub/new.txt sub/root-link "         \
    ".git/hooks/evil .git/objects/ab; do\n"                                                \
    "        if [ -e \"$f\" ] || [ -L \"$f\" ]; then echo \"LEFT $f\"; exit 1; fi\n"       \
    "      done\n"                                                                         \
    "      if grep -q worktree .git/config; then echo 'LEFT config'; exit 1; fi\n"         \
    "      grep -qx aaaa a.txt || { echo 'TAMPERED a.txt'; exit 1; }\n"                    \
    "      test -f b.txt || { echo 'GONE b.txt'; exit 1; }\n"                              \
    "      test ! -x sub/c.txt || { echo 'CHMOD sub/c.txt'; exit 1; }\n"                   \
    "      test \"$(git status --porcelain)\" = '' || { git status; exit 1; }\n"           \
    "      echo clean\n"                                                                   \
    "  - name: tamper\n"                                                                   \
    "    run: |\n"                                                                         \
    "      set -e\n"                                                                       \
    "      echo u > untracked.txt; echo l > out.log\n"                                     \
    "      mkdir -p build/deep .cache; echo x > build/deep/x; echo y > .cache/y\n"         \
    "      echo n > sub/new.txt; ln -s / sub/root-link\n"                                  \
    "      mkdir -p .git/hooks .git/objects/ab; echo evil > .git/hooks/evil\n"             \
    "      echo junk > .git/objects/ab/cdef\n"                                             \
    "      printf '[core]\\n\\tworktree = /tmp\\n' >> .git/config\n"                       \
    "      cp -p a.txt /tmp/ref; printf 'EVIL\\n' > a.txt; touch -r /tmp/ref a.txt\n"      \
    "      rm b.txt; chmod +x sub/c.txt\n"

START_TEST(test_only_tracked_state_survives)
{
    sw_run_result res;
    log_lines l = {0};
    make_repo(TAMPERING);

    build_ok(&res, &l);
    ck_assert_ptr_nonnull(find_line(&l, "clean"));
    lines_free(&l);
    /* the step did what it says: the next build has all that to undo */
    ck_assert(exists_in_src("untracked.txt") && exists_in_src("build/deep/x") &&
              exists_in_src(".cache/y") && exists_in_src("sub/root-link") &&
              exists_in_src(".git/hooks/evil"));
    assert_content("a.txt", "EVIL\n");

    build_ok(&res, &l); /* its check step passes: nothing of the first build is left */
    ck_assert_ptr_nonnull(find_line(&l, "clean"));
    ck_assert_int_eq(res.workspace_reused, 1);
    /* untracked.txt out.log build .cache sub/new.txt sub/root-link, and a.txt and
     * sub/c.txt, changed since the checkout */
    ck_assert_uint_eq(res.files_removed, 8);
    ck_assert_uint_eq(res.files_written, 3); /* a.txt, b.txt, sub/c.txt */
    lines_free(&l);
    /* the link was removed, not followed */
    struct stat st;
    ck_assert_int_eq(stat("/bin/sh", &st), 0);
}
END_TEST

/* --- a broken workspace is made anew --------------------------------------------------- */

/* Builds again and checks how the workspace was had: reused, or made anew saying why. */
static void build_expect(int reused, const char *why)
{
    sw_run_result res;
    log_lines l = {0};
    build_ok(&res, &l);
    if (res.workspace_reused != reused || (why != NULL && find_line(&l, why) == NULL)) {
        dump(&l);
    }
    ck_assert_int_eq(res.workspace_reused, reused);
    if (why != NULL) {
        ck_assert_msg(find_line(&l, why) != NULL, "no '%s' in the log", why);
    }
    assert_content("a.txt", "aaaa\n");
    assert_content("sub/c.txt", "cccc\n");
    lines_free(&l);
}

START_TEST(test_broken_workspace_is_remade)
{
    make_repo("steps:\n  - name: check\n    run: test \"$(cat a.txt)\" = aaaa\n");
    build_expect(0, "in a new workspace (no workspace yet)");

    /* a truncated .git/index: the builder's own copy is put back */
    run("truncate -s 10 %s/.git/index", src_dir);
    build_expect(1, "in the kept workspace");

    /* .git deleted */
    run("rm -rf %s/.git", src_dir);
    build_expect(0, "(its .git is gone)");

    /* the builder's copy of the index truncated (a full disk, a crash) */
    run("truncate -s 10 %s/index", ws_dir);
    build_expect(0, "(its index cannot be read");

    /* a pack changed: its ctime moves, whatever else is forged */
    run("cd %s/.git/objects/pack && for f in *.pack; do chmod u+w $f && "
        "printf x >> $f; done",
        src_dir);
    build_expect(0, "was changed or removed)");

    /* a build that died during its checkout leaves no state */
    run("rm %s/state", ws_dir);
    build_expect(0, "(its last checkout did not finish)");

    /* a state that does not read */
    run("echo garbage > %s/state", ws_dir);
    build_expect(0, "(its state cannot be read)");

    /* a state naming a commit the workspace lacks: the checkout fails, tried anew */
    run("sed -i 's/^commit .*/commit 0123456789012345678901234567890123456789/' %s/state",
        ws_dir);
    build_expect(0, "the checkout into the kept one failed");

    /* the same project's workspace, but the url moved */
    char other[700];
    snprintf(other, sizeof(other), "%s/moved.git", root);
    run("cp -r %s %s", origin, other);
    sw_run_result res;
    log_lines l = {0};
    sw_run_spec spec = spec_for(other, ws_dir);
    sw_run_sink sink = {.ud = &l, .line = on_line};
    ck_assert_int_eq(sw_run_job(&spec, &sink, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__SUCCEEDED);
    ck_assert_ptr_nonnull(find_line(&l, "(it was made for another url)"));
    sw_profile_clear(&res.profile);
    lines_free(&l);
    run("test \"$(git -C %s remote get-url origin)\" = %s", src_dir, other);
}
END_TEST

/* What a step left that the builder cannot remove (a container's root-owned files when
 * it is not root; here an immutable file) is moved aside, and the builds go on. */
START_TEST(test_unremovable_leftovers_moved_aside)
{
    char stuck[800];
    snprintf(stuck, sizeof(stuck), "%s/stuck/f", src_dir);
    make_repo("steps:\n  - name: noop\n    run: 'true'\n");
    build_expect(0, "(no workspace yet)");
    run("mkdir -p %s/stuck && touch %s", src_dir, stuck);
    char cmd[1000];
    snprintf(cmd, sizeof(cmd), "chattr +i %s 2>/dev/null", stuck);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_unremovable_leftovers_moved_aside: no immutable files here (not "
                        "root, or the file system has none): not checked\n");
        return;
    }
    build_expect(0, "cannot clean it");
    run("chattr -i %s.gone-*/stuck/f", src_dir);
    ck_assert(!exists_in_src("stuck"));
    build_expect(1, "in the kept workspace"); /* and what was moved aside goes */
    run("test -z \"$(ls -d %s.gone-* 2>/dev/null)\"", src_dir);
}
END_TEST

/* --- projects never share ------------------------------------------------------------- */

START_TEST(test_paths_of_projects_differ)
{
    char a[600], b[600], c[600], d[600];
    ck_assert_int_eq(sw_workspace_path(a, sizeof(a), "/w", "demo", "app", 0), 0);
    ck_assert_str_eq(a, "/w/demo/app/0");
    ck_assert_int_eq(sw_workspace_path(b, sizeof(b), "/w", "acme", "app", 0), 0);
    ck_assert_int_eq(sw_workspace_path(c, sizeof(c), "/w", "demo", "app", 1), 0);
    ck_assert_str_ne(a, b); /* one project name, two tenants */
    ck_assert_str_ne(a, c);
    /* names that would leave root or run into another are written %XX */
    ck_assert_int_eq(sw_workspace_path(d, sizeof(d), "/w", "..", "a/b", 2), 0);
    ck_assert_str_eq(d, "/w/%2E%2E/a%2Fb/2");
    ck_assert_int_eq(sw_workspace_path(d, sizeof(d), "/w", "", "%41", 0), 0);
    ck_assert_str_eq(d, "/w/%/%2541/0");
    ck_assert_int_eq(sw_workspace_path(d, sizeof(d), "/w", "x", "A", 0), 0);
    ck_assert_str_eq(d, "/w/x/A/0");
    ck_assert_int_eq(sw_workspace_path(d, 8, "/w", "demo", "app", 0), SW_EINVALID);
}
END_TEST

START_TEST(test_two_projects_two_workspaces)
{
    char other_repo[700], other_ws[700], file[900];
    sw_run_result res;
    make_repo("steps:\n  - name: mine\n    run: echo one > mine.txt; test ! -e theirs.txt\n");
    snprintf(other_repo, sizeof(other_repo), "%s/other.git", root);
    run("cd %s && git init -q -b main other && cd other && echo t > theirs.txt && "
        "printf 'steps:\\n  - name: t\\n    run: test ! -e a.txt && test ! -e mine.txt\\n' > "
        ".slipway.yml && git add -A && git commit -q -m o && git init -q --bare -b main %s && "
        "git push -q %s main",
        root, other_repo, other_repo);
    ck_assert_int_eq(sw_workspace_path(other_ws, sizeof(other_ws), root, "acme", "app", 0), 0);
    build_ok(&res, NULL);
    sw_run_spec spec = spec_for(other_repo, other_ws);
    ck_assert_int_eq(sw_run_job(&spec, NULL, &res), 0);
    ck_assert_msg(res.state == SLIPWAY__BUILD_STATE__SUCCEEDED, "%s", res.reason);
    sw_profile_clear(&res.profile);
    build_ok(&res, NULL);
    ck_assert_int_eq(res.workspace_reused, 1); /* the other build did not take it */
    snprintf(file, sizeof(file), "%s/src/theirs.txt", other_ws);
    ck_assert_int_eq(access(file, F_OK), 0);
    ck_assert(!exists_in_src("theirs.txt"));
}
END_TEST

/* --- clone: false, clean: fresh, depth: ------------------------------------------------- */

START_TEST(test_clone_false_gets_an_empty_workspace)
{
    sw_run_result res;
    log_lines l = {0};
    make_repo("steps:\n  - name: noop\n    run: 'true'\n");
    build_ok(&res, NULL);
    struct stat a1 = stat_of("a.txt");

    put(".slipway.yml", "clone: false\n"
                        "steps:\n"
                        "  - name: look\n"
                        "    run: |\n"
                        "      test -z \"$(ls -A)\" && echo EMPTY $PWD\n"
                        "      echo mine > left.txt\n");
    commit_push();
    build_ok(&res, &l);
    ck_assert_ptr_nonnull(find_line(&l, "clone: false:"));
    const char *empty = find_line(&l, "EMPTY ");
    ck_assert_ptr_nonnull(empty);
    ck_assert_msg(strstr(empty, "/empty") != NULL, "%s", empty);
    ck_assert_uint_eq(res.files_written, 0);
    lines_free(&l);
    /* the checkout of the project stayed as it was, untouched; the empty one is gone */
    struct stat a2 = stat_of("a.txt");
    ck_assert_uint_eq(a2.st_ino, a1.st_ino);
    char path[700];
    snprintf(path, sizeof(path), "%s/empty", ws_dir);
    ck_assert_int_eq(access(path, F_OK), -1);
    build_ok(&res, &l); /* and again: empty again */
    ck_assert_ptr_nonnull(find_line(&l, "EMPTY "));
    lines_free(&l);
}
END_TEST

START_TEST(test_clean_fresh_remakes_it)
{
    sw_run_result res;
    log_lines l = {0};
    make_repo("clean: fresh\nsteps:\n  - name: noop\n    run: echo x > untracked.txt\n");
    build_ok(&res, NULL);
    struct stat a1 = stat_of("a.txt");
    build_ok(&res, &l);
    ck_assert_int_eq(res.workspace_reused, 0);
    ck_assert_ptr_nonnull(find_line(&l, "in a new workspace (clean: fresh)"));
    ck_assert_uint_eq(res.files_written, 6); /* every file again */
    struct stat a2 = stat_of("a.txt");
    ck_assert(a2.st_ino != a1.st_ino || a2.st_ctim.tv_nsec != a1.st_ctim.tv_nsec);
    lines_free(&l);
}
END_TEST

START_TEST(test_depth_is_accepted_and_said)
{
    sw_run_result res;
    log_lines l = {0};
    make_repo("depth: 1\nsteps:\n  - name: noop\n    run: test -f a.txt\n");
    build_ok(&res, &l);
    const char *said = find_line(&l, "depth: 1 ignored: this builder's libgit2 (");
    ck_assert_ptr_nonnull(said);
    ck_assert_msg(strstr(said, LIBGIT2_VERSION) != NULL, "%s", said);
    lines_free(&l);
}
END_TEST

/* The pipeline is read from the commit, not from a checkout: a link is refused. */
START_TEST(test_pipeline_link_refused)
{
    run("cd %s/work && echo x > a.txt && ln -s /etc/passwd .slipway.yml && git add -A && "
        "git commit -q -m l && git push -q ../src.git main",
        root);
    sw_run_result res;
    sw_run_spec spec = spec_for(origin, ws_dir);
    ck_assert_int_eq(sw_run_job(&spec, NULL, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__ERRORED);
    ck_assert_msg(strstr(res.reason, ".slipway.yml is a symbolic link") != NULL, "%s",
                  res.reason);
    sw_profile_clear(&res.profile);
}
END_TEST

/* --- the sweep -------------------------------------------------------------------------- */

/* A workspace with a finished checkout age_s seconds ago. */
static void fake_workspace(const char *tenant, const char *project, unsigned slot, long age_s)
{
    char dir[700], path[800];
    ck_assert_int_eq(sw_workspace_path(dir, sizeof(dir), ws_dir, tenant, project, slot), 0);
    run("mkdir -p %s/src && echo x > %s/src/f", dir, dir);
    snprintf(path, sizeof(path), "%s/state", dir);
    sw_test_write_file(path, "slipway-workspace 1\n");
    struct utimbuf t = {time(NULL) - age_s, time(NULL) - age_s};
    ck_assert_int_eq(utime(path, &t), 0);
}

static int has_workspace(const char *tenant, const char *project, unsigned slot)
{
    char dir[700];
    ck_assert_int_eq(sw_workspace_path(dir, sizeof(dir), ws_dir, tenant, project, slot), 0);
    return access(dir, F_OK) == 0;
}

START_TEST(test_sweep_bounds)
{
    sw_workspace_bounds bounds = {.keep_unused_ms = 3600 * 1000, .max_per_slot = 2};
    char busy[700], path[800];
    unsigned removed = 0;

    /* nothing to sweep yet (a builder's first start) */
    ck_assert_int_eq(sw_workspace_sweep(ws_dir, -1, 2, &bounds, NULL, &removed), 0);
    ck_assert_uint_eq(removed, 0);

    /* root here is ws_dir, a directory of its own */
    fake_workspace("demo", "fresh", 0, 10);
    fake_workspace("demo", "stale", 0, 7200);
    fake_workspace("acme", "older", 0, 100);
    fake_workspace("acme", "oldest", 0, 200);
    fake_workspace("demo", "other-slot", 1, 7200); /* another slot's: its build may run */
    ck_assert_int_eq(sw_workspace_path(busy, sizeof(busy), ws_dir, "demo", "now", 0), 0);
    run("mkdir -p %s/src", busy); /* the one about to be used: no state yet */

    ck_assert_int_eq(sw_workspace_sweep(ws_dir, 0, 2, &bounds, busy, &removed), 0);
    /* stale goes (unused too long); of fresh, older, oldest and now only 2 stay: the
     * one in use and the most recently used */
    ck_assert_uint_eq(removed, 3);
    ck_assert(!has_workspace("demo", "stale", 0));
    ck_assert(has_workspace("demo", "now", 0));
    ck_assert(has_workspace("demo", "fresh", 0));
    ck_assert(!has_workspace("acme", "older", 0));
    ck_assert(!has_workspace("acme", "oldest", 0));
    ck_assert(has_workspace("demo", "other-slot", 1));

    /* at the builder's start: every slot, and what no slot of its has */
    fake_workspace("demo", "gone-slot", 5, 10);
    run("mkdir -p %s/demo/half/0/src", ws_dir); /* a checkout that never finished */
    snprintf(path, sizeof(path), "%s/stray-file", ws_dir);
    sw_test_write_file(path, "x");
    ck_assert_int_eq(sw_workspace_sweep(ws_dir, -1, 2, &bounds, NULL, &removed), 0);
    ck_assert(!has_workspace("demo", "other-slot", 1)); /* stale */
    ck_assert(!has_workspace("demo", "gone-slot", 5));  /* slot 5 of a 2-slot builder */
    ck_assert(!has_workspace("demo", "half", 0));
    ck_assert(!has_workspace("demo", "now", 0)); /* no finished checkout, nothing runs */
    ck_assert(has_workspace("demo", "fresh", 0));
    ck_assert_int_eq(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/acme", ws_dir);
    ck_assert_int_eq(access(path, F_OK), -1); /* empty tenant and project directories go */
    ck_assert_uint_eq(removed, 5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("workspace");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_repeat_build_writes_only_changes);
    tcase_add_test(tc, test_only_tracked_state_survives);
    tcase_add_test(tc, test_broken_workspace_is_remade);
    tcase_add_test(tc, test_unremovable_leftovers_moved_aside);
    tcase_add_test(tc, test_paths_of_projects_differ);
    tcase_add_test(tc, test_two_projects_two_workspaces);
    tcase_add_test(tc, test_clone_false_gets_an_empty_workspace);
    tcase_add_test(tc, test_clean_fresh_remakes_it);
    tcase_add_test(tc, test_depth_is_accepted_and_said);
    tcase_add_test(tc, test_pipeline_link_refused);
    tcase_add_test(tc, test_sweep_bounds);
    suite_add_tcase(s, tc);
    int status = sw_test_run(s);
    git_libgit2_shutdown();
    return status;
}

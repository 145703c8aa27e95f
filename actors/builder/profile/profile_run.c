/*
 * profile_run.c - what the commands of a RUN line fetch (see profile_run.h).
 *
 * shlex.c splits the script into commands, one at a time, so that a variable a
 * command sets (NAME=value, export) is known to the commands after it. Each
 * command is looked at by its name (after sudo, env, timeout and the shell's
 * own words such as `then`), and its words are marked as they are understood;
 * the rest are searched for urls.
 */
#include "actors/builder/profile/profile_run.h"

#include "actors/builder/profile/shlex.h"
#include "runtime/core/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 4 /* sh -c and here-document scripts inside one another */

#define PYPI "https://pypi.org/simple"
#define NPMJS "https://registry.npmjs.org/"
#define YARNPKG "https://registry.yarnpkg.com"
#define GOPROXY_DEFAULT "https://proxy.golang.org"

typedef struct run {
    sw_profile_df *df;
    const char *text;         /* of the script being read */
    sw_profile_vars shell;    /* NAME=value on its own */
    sw_profile_vars exported; /* export NAME=value */
    sw_profile_vars cmd_env;  /* the command's own NAME=value prefix, env NAME=value */
    char *piped;              /* what the command before a '|' wrote */
    unsigned piped_line, piped_step;
    int depth;
} run;

/* The command being looked at. */
typedef struct cmdv {
    run *r;
    const sw_shlex_cmd *cmd;
    const sw_shlex_word *w;
    size_t n;
    bool *used; /* understood: not searched for urls */
} cmdv;

static void run_text(run *r, const char *text, size_t begin, size_t end);

static bool in(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(s, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *lookup(void *ud, const char *name, size_t len)
{
    run *r = ud;
    const char *v = sw_profile_vars_get(&r->shell, name, len);
    if (v == NULL) {
        v = sw_profile_vars_get(&r->exported, name, len);
    }
    return v ? v : sw_profile_stage_lookup(r->df->stage, name, len);
}

/* An environment variable as the command sees it. */
static const char *env_of(run *r, const char *name)
{
    size_t len = strlen(name);
    const char *v = sw_profile_vars_get(&r->cmd_env, name, len);
    if (v == NULL) {
        v = sw_profile_vars_get(&r->exported, name, len);
    }
    return v ? v : sw_profile_stage_lookup(r->df->stage, name, len);
}

static unsigned line_of(const cmdv *c, size_t i)
{
    return sw_profile_df_line(c->r->df, c->w[i].off);
}

static bool is_assignment(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) {
        return false;
    }
    while (isalnum((unsigned char)*s) || *s == '_') {
        s++;
    }
    return *s == '=';
}

/* Sets NAME=value (the word s) in vars. */
static void assign(sw_profile_vars *vars, const char *s)
{
    const char *eq = strchr(s, '=');
    char *name = sw_calloc(1, (size_t)(eq - s) + 1);
    memcpy(name, s, (size_t)(eq - s));
    sw_profile_vars_set(vars, name, eq + 1);
    free(name);
}

static char *dupn(const char *s, size_t n)
{
    char *d = sw_calloc(1, n + 1);
    memcpy(d, s, n);
    return d;
}

static const char *base(const char *s)
{
    const char *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

/* Whether s is prefix followed by digits and dots only ("pip3.12", "python3"). */
static bool versioned(const char *s, const char *prefix)
{
    if (!starts_with(s, prefix)) {
        return false;
    }
    return strspn(s + strlen(prefix), "0123456789.") == strlen(s + strlen(prefix));
}

/* Index of the first operand after i: options are skipped, and the next word too
 * for one of with_value (unless written --opt=value). n when there is none. */
static size_t operand(const cmdv *c, size_t i, const char *const *with_value)
{
    for (size_t j = i + 1; j < c->n; j++) {
        const char *s = c->w[j].text;
        if (s[0] != '-' || s[1] == '\0') {
            return j;
        }
        if (strcmp(s, "--") == 0) {
            return j + 1;
        }
        if (with_value != NULL && in(s, with_value)) {
            j++;
        }
    }
    return c->n;
}

/* The value of option opt at word j ("--opt=v", "-ov" for a short one, or the
 * next word); *next is the index of the last word it used. NULL when j is not opt. */
static const char *option_value(const cmdv *c, size_t j, const char *opt, size_t *next)
{
    const char *s = c->w[j].text;
    size_t n = strlen(opt);
    *next = j;
    if (strncmp(s, opt, n) != 0) {
        return NULL;
    }
    if (s[n] == '=' && opt[1] == '-') {
        return s + n + 1;
    }
    if (s[n] != '\0') {
        return opt[1] != '-' ? s + n : NULL;
    }
    if (j + 1 < c->n) {
        *next = j + 1;
        return c->w[j + 1].text;
    }
    return NULL;
}

/* Adds each url of a blank-separated list. */
static void add_list(run *r, const char *kind, const char *list, unsigned line)
{
    char *copy = sw_strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        sw_profile_df_add_url(r->df, kind, tok, line);
    }
    free(copy);
}

/* GOPROXY's list: each url but direct and off. */
static void add_goproxy(run *r, const char *list, unsigned line)
{
    char *copy = sw_strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",| \t", &save); tok; tok = strtok_r(NULL, ",| \t", &save)) {
        if (strcmp(tok, "direct") != 0 && strcmp(tok, "off") != 0) {
            sw_profile_df_add_url(r->df, "go", tok, line);
        }
    }
    free(copy);
}

/* The stage's urls of key in vars (every key when key is NULL, or those
 * starting with prefix '@' for npm scopes). */
static void add_stage(run *r, const char *kind, const sw_profile_vars *vars, const char *key,
                      unsigned line)
{
    for (size_t i = 0; i < vars->n; i++) {
        if (key == NULL || strcmp(vars->v[i].key, key) == 0) {
            sw_profile_df_add_url(r->df, kind, vars->v[i].value, line);
        }
    }
}

/* --- apt, apk --------------------------------------------------------------------------- */

static void apt(cmdv *c, size_t i)
{
    static const char *const with_value[] = {"-o", "-c", "-t", "--option", "--config-file",
                                             "--target-release", NULL};
    static const char *const fetching[] = {"update",      "install",      "upgrade",
                                           "dist-upgrade", "full-upgrade", "safe-upgrade",
                                           "build-dep",   "source",       "download",
                                           "reinstall",   NULL};
    size_t sub = operand(c, i, with_value);
    if (sub < c->n && in(c->w[sub].text, fetching)) {
        add_stage(c->r, "apt", &c->r->df->stage->apt, NULL, line_of(c, i));
    }
}

static void add_apt_repository(cmdv *c, size_t i)
{
    sw_profile_stage *st = c->r->df->stage;
    for (size_t j = i + 1; j < c->n; j++) {
        const char *s = c->w[j].text;
        c->used[j] = true;
        if (starts_with(s, "deb ") || starts_with(s, "deb-src ")) {
            sw_profile_stage_write(st, "/etc/apt/sources.list.d/add-apt-repository.list", true,
                                   s, strlen(s), line_of(c, j), 0);
        } else if (starts_with(s, "ppa:") && strchr(s, '/') != NULL) {
            char *url = sw_asprintf("https://ppa.launchpadcontent.net/%s/ubuntu", s + 4);
            sw_profile_vars_add(&st->apt, "ppa", url);
            free(url);
        }
    }
}

static void apk(cmdv *c, size_t i)
{
    static const char *const with_value[] = {
        "-X",        "--repository", "-p",          "--root",        "--arch", "--cache-dir",
        "-t",        "--virtual",    "--keys-dir",  "--repositories-file", "--cache-max-age",
        "--timeout", "--wait",       NULL};
    static const char *const fetching[] = {"add", "update", "upgrade", "fetch", "fix", NULL};
    size_t sub = operand(c, i, with_value), next;
    bool own_lists = true;

    if (sub >= c->n || !in(c->w[sub].text, fetching)) {
        return;
    }
    for (size_t j = i + 1; j < c->n; j++) {
        if (option_value(c, j, "--repositories-file", &next) != NULL) {
            own_lists = false;
        }
    }
    if (own_lists) {
        add_stage(c->r, "apk", &c->r->df->stage->apk, NULL, line_of(c, i));
    }
    for (size_t j = i + 1; j < c->n; j++) {
        const char *url = option_value(c, j, "-X", &next);
        url = url ? url : option_value(c, j, "--repository", &next);
        if (url != NULL) {
            sw_profile_df_add_url(c->r->df, "apk", url, line_of(c, next));
            c->used[next] = true;
            j = next;
        }
    }
}

/* --- pip ---------------------------------------------------------------------------------- */

/* pip's config key ("global.index-url", "install.extra_index_url") as pip.conf names it. */
static char *pip_key(const char *s)
{
    const char *dot = strrchr(s, '.');
    char *key = sw_strdup(dot ? dot + 1 : s);
    for (char *k = key; *k; k++) {
        *k = *k == '_' ? '-' : (char)tolower((unsigned char)*k);
    }
    return key;
}

static void pip_config(cmdv *c, size_t sub)
{
    sw_profile_stage *st = c->r->df->stage;
    size_t set = sub + 1;
    while (set < c->n && strcmp(c->w[set].text, "set") != 0) {
        set++;
    }
    for (size_t j = sub; j < c->n; j++) {
        c->used[j] = true;
    }
    if (set + 2 >= c->n) {
        return;
    }
    char *key = pip_key(c->w[set + 1].text);
    if (strcmp(key, "index-url") == 0 || strcmp(key, "extra-index-url") == 0 ||
        strcmp(key, "find-links") == 0) {
        char *copy = sw_strdup(c->w[set + 2].text), *save = NULL;
        sw_profile_vars_remove(&st->pip, key);
        for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
            sw_profile_vars_add(&st->pip, key, t);
        }
        st->pip_unknown = false;
        free(copy);
    }
    free(key);
}

/* pip (at index i the word pip, or the python of `python -m pip`). */
static void pip(cmdv *c, size_t i)
{
    static const char *const global_value[] = {
        "--proxy",  "--log",    "--cache-dir", "--timeout", "--retries", "--cert",
        "--client-cert", "--python", "--exists-action", "--trusted-host",
        "--keyring-provider", NULL};
    static const char *const fetching[] = {"install", "download", "wheel", NULL};
    sw_profile_stage *st = c->r->df->stage;
    size_t sub = operand(c, i, global_value), next;
    const char *index = NULL, *v;
    unsigned index_line = 0, line = line_of(c, i);
    bool no_index = false;

    if (sub < c->n && strcmp(c->w[sub].text, "config") == 0) {
        pip_config(c, sub);
        return;
    }
    if (sub >= c->n || !in(c->w[sub].text, fetching)) {
        return;
    }
    for (size_t j = sub + 1; j < c->n; j++) {
        if ((v = option_value(c, j, "--index-url", &next)) != NULL ||
            (v = option_value(c, j, "-i", &next)) != NULL) {
            index = v;
            index_line = line_of(c, next);
        } else if (strcmp(c->w[j].text, "--no-index") == 0) {
            no_index = true;
        } else {
            continue;
        }
        c->used[j] = c->used[next] = true;
        j = next;
    }
    if (!no_index) {
        if (index != NULL) {
            sw_profile_df_add_url(c->r->df, "pip", index, index_line);
        } else if ((v = env_of(c->r, "PIP_INDEX_URL")) != NULL) {
            sw_profile_df_add_url(c->r->df, "pip", v, line);
        } else if (sw_profile_vars_get(&st->pip, "index-url", 9) != NULL) {
            add_stage(c->r, "pip", &st->pip, "index-url", line);
        } else if (!st->pip_unknown) {
            sw_profile_df_add_url(c->r->df, "pip", PYPI, line);
        }
    }
    for (size_t j = sub + 1; j < c->n; j++) {
        bool extra = (v = option_value(c, j, "--extra-index-url", &next)) != NULL;
        if (!extra && (v = option_value(c, j, "--find-links", &next)) == NULL &&
            (v = option_value(c, j, "-f", &next)) == NULL) {
            continue;
        }
        if (!extra || !no_index) {
            sw_profile_df_add_url(c->r->df, "pip", v, line_of(c, next));
        }
        c->used[j] = c->used[next] = true;
        j = next;
    }
    if (!no_index && (v = env_of(c->r, "PIP_EXTRA_INDEX_URL")) != NULL) {
        add_list(c->r, "pip", v, line);
    }
    if (!no_index) {
        add_stage(c->r, "pip", &st->pip, "extra-index-url", line);
    }
    if ((v = env_of(c->r, "PIP_FIND_LINKS")) != NULL) {
        add_list(c->r, "pip", v, line);
    }
    add_stage(c->r, "pip", &st->pip, "find-links", line);
}

/* --- npm, yarn, pnpm ---------------------------------------------------------------------- */

static void npm_config(cmdv *c, size_t sub)
{
    sw_profile_stage *st = c->r->df->stage;
    size_t set = sub;
    while (set < c->n && strcmp(c->w[set].text, "set") != 0) {
        set++;
    }
    for (size_t j = sub; j < c->n; j++) {
        c->used[j] = true;
    }
    for (size_t j = set + 1; j < c->n; j++) {
        const char *s = c->w[j].text, *eq = strchr(s, '=');
        char *key = eq ? dupn(s, (size_t)(eq - s)) : sw_strdup(s);
        const char *value = eq ? eq + 1 : (j + 1 < c->n ? c->w[j + 1].text : NULL);
        size_t kl = strlen(key);
        if (value != NULL && s[0] != '-') {
            if (strcmp(key, "npmRegistryServer") == 0) {
                strcpy(key, "registry"); /* yarn 2 and later */
            }
            if (strcmp(key, "registry") == 0 ||
                (key[0] == '@' && kl > 9 && strcmp(key + kl - 9, ":registry") == 0)) {
                sw_profile_vars_set(&st->npm, key, value);
                st->npm_unknown = false;
            }
            j += eq == NULL;
        }
        free(key);
    }
}

static void npm(cmdv *c, size_t i, const char *tool)
{
    static const char *const with_value[] = {"--registry", "--prefix", "-C", "--cache",
                                             "--userconfig", "--globalconfig", "--loglevel",
                                             "-w", "--workspace", "--omit", "--include",
                                             "--cwd", "--filter", NULL};
    static const char *const npm_fetching[] = {
        "install", "i",  "in",  "add", "ci",     "clean-install", "ic",     "install-clean",
        "isntall", "it", "cit", "install-test",  "install-ci-test", "update", "up", "upgrade",
        NULL};
    static const char *const yarn_fetching[] = {"install", "add", "upgrade", "up", "global",
                                                "dlx", NULL};
    static const char *const pnpm_fetching[] = {"install", "i",   "add", "update", "up",
                                                "upgrade", "fetch", "dlx", NULL};
    sw_profile_stage *st = c->r->df->stage;
    bool yarn = strcmp(tool, "yarn") == 0;
    size_t sub = operand(c, i, with_value), next;
    const char *sub_name = sub < c->n ? c->w[sub].text : NULL, *registry = NULL, *v;
    unsigned line = line_of(c, i), registry_line = 0;

    if (sub_name != NULL &&
        (strcmp(sub_name, "config") == 0 || (!yarn && strcmp(sub_name, "set") == 0))) {
        npm_config(c, sub);
        return;
    }
    bool fetch = yarn ? sub_name == NULL || in(sub_name, yarn_fetching)
                      : sub_name != NULL && in(sub_name, strcmp(tool, "npm") == 0
                                                             ? npm_fetching
                                                             : pnpm_fetching);
    if (!fetch) {
        return;
    }
    for (size_t j = i + 1; j < c->n; j++) {
        if ((v = option_value(c, j, "--registry", &next)) != NULL) {
            registry = v;
            registry_line = line_of(c, next);
            c->used[j] = c->used[next] = true;
            j = next;
        }
    }
    if (registry == NULL) {
        static const char *const npm_env[] = {"NPM_CONFIG_REGISTRY", "npm_config_registry", NULL};
        static const char *const yarn_env[] = {"YARN_REGISTRY", "YARN_NPM_REGISTRY_SERVER",
                                               "npm_config_registry", "NPM_CONFIG_REGISTRY",
                                               NULL};
        const char *const *names = yarn ? yarn_env : npm_env;
        for (size_t k = 0; names[k] != NULL && registry == NULL; k++) {
            registry = env_of(c->r, names[k]);
        }
        registry_line = line;
    }
    if (registry == NULL) {
        registry = sw_profile_vars_get(&st->npm, "registry", 8);
    }
    if (registry == NULL && !st->npm_unknown) {
        registry = yarn ? YARNPKG : NPMJS;
    }
    if (registry != NULL) {
        sw_profile_df_add_url(c->r->df, "npm", registry, registry_line);
    }
    for (size_t k = 0; k < st->npm.n; k++) {
        if (st->npm.v[k].key[0] == '@') {
            sw_profile_df_add_url(c->r->df, "npm", st->npm.v[k].value, line);
        }
    }
}

/* --- go ----------------------------------------------------------------------------------- */

static void go(cmdv *c, size_t i)
{
    static const char *const fetching[] = {"build", "install", "get", "test", "run", "list",
                                           NULL};
    static const char *const mod_fetching[] = {"download", "tidy", "vendor", "graph", "why",
                                               "verify", NULL};
    sw_profile_stage *st = c->r->df->stage;
    const char *sub = i + 1 < c->n ? c->w[i + 1].text : "", *v;
    unsigned line = line_of(c, i);

    if (strcmp(sub, "env") == 0) {
        for (size_t j = i + 1; j < c->n; j++) {
            const char *s = c->w[j].text;
            c->used[j] = true;
            if (starts_with(s, "GOPROXY=")) {
                sw_profile_vars_remove(&st->go, "GOPROXY");
                st->go_set = true;
                char *copy = sw_strdup(s + 8), *save = NULL;
                for (char *t = strtok_r(copy, ",|", &save); t; t = strtok_r(NULL, ",|", &save)) {
                    if (strcmp(t, "direct") != 0 && strcmp(t, "off") != 0) {
                        sw_profile_vars_add(&st->go, "GOPROXY", t);
                    }
                }
                free(copy);
            } else if (strcmp(s, "GOPROXY") == 0 && j > 0 && strcmp(c->w[j - 1].text, "-u") == 0) {
                sw_profile_vars_remove(&st->go, "GOPROXY");
                st->go_set = false;
            }
        }
        return;
    }
    bool fetch = in(sub, fetching) ||
                 (strcmp(sub, "mod") == 0 && i + 2 < c->n && in(c->w[i + 2].text, mod_fetching));
    const char *flags = env_of(c->r, "GOFLAGS");
    if (!fetch || (flags != NULL && strstr(flags, "-mod=vendor") != NULL)) {
        return;
    }
    for (size_t j = i + 2; j < c->n; j++) {
        if (strcmp(c->w[j].text, "-mod=vendor") == 0) {
            return;
        }
    }
    if ((v = env_of(c->r, "GOPROXY")) != NULL) {
        add_goproxy(c->r, v, line);
    } else if (st->go_set) {
        add_stage(c->r, "go", &st->go, NULL, line);
    } else {
        sw_profile_df_add_url(c->r->df, "go", GOPROXY_DEFAULT, line);
    }
}

/* --- curl, wget, git ---------------------------------------------------------------------- */

/* Whether s looks like a host and path with no scheme ("get.docker.com/x"). */
static bool bare_url(const char *s)
{
    size_t host = strcspn(s, "/");
    return host > 0 && memchr(s, '.', host) != NULL && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                  "0123456789.-:") == host;
}

static void fetcher(cmdv *c, size_t i, bool is_curl)
{
    static const char *const curl_value[] = {
        "-H", "--header", "-e", "--referer", "-x", "--proxy", "-A", "--user-agent", "-u",
        "--user", "-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "-F",
        "--form", "-o", "--output", "-K", "--config", "-b", "--cookie", "-c", "--cookie-jar",
        "-U", "--proxy-user", "-T", "--upload-file", "-w", "--write-out", "--resolve",
        "--connect-to", "-X", "--request", "--cacert", "--cert", "--key", "-m", "--max-time",
        "--retry", "--connect-timeout", "-r", "--range", "-z", "--time-cond", "-Y", "-y",
        "--limit-rate", "--output-dir", "-E", "--retry-delay", "--retry-max-time", NULL};
    static const char *const wget_value[] = {
        "-O", "--output-document", "-o", "--output-file", "-P", "--directory-prefix", "-U",
        "--user-agent", "--header", "--referer", "-e", "--execute", "--post-data",
        "--post-file", "-i", "--input-file", "-a", "--append-output", "-t", "--tries", "-T",
        "--timeout", "-w", "--wait", "--user", "--password", "-Q", "--quota", "--limit-rate",
        "--ca-certificate", NULL};
    const char *const *with_value = is_curl ? curl_value : wget_value;

    for (size_t j = i + 1; j < c->n; j++) {
        const char *s = c->w[j].text;
        char last[3] = {'-', s[0] ? s[strlen(s) - 1] : '\0', '\0'};
        c->used[j] = true;
        if (s[0] == '-') {
            /* -o FILE, and -fsSLo FILE: a cluster of short options ending in one with a value */
            bool cluster = s[1] != '-' && strlen(s) > 2 && strchr(s, '=') == NULL;
            if ((in(s, with_value) || (cluster && in(last, with_value))) && j + 1 < c->n) {
                c->used[++j] = true;
            }
        } else if (!sw_profile_df_add_url(c->r->df, "url", s, line_of(c, j)) && bare_url(s)) {
            char *url = sw_asprintf("http://%s", s);
            sw_profile_df_add_url(c->r->df, "url", url, line_of(c, j));
            free(url);
        }
    }
}

/* A repository's url at word j. */
static void git_repo(cmdv *c, size_t j)
{
    c->used[j] = true;
    sw_profile_df_add_git(c->r->df, c->w[j].text, line_of(c, j));
}

static void git(cmdv *c, size_t i)
{
    static const char *const global_value[] = {"-C", "-c", "--git-dir", "--work-tree", NULL};
    static const char *const clone_value[] = {
        "-b", "--branch", "-o", "--origin", "--depth", "-c", "--config", "--reference",
        "--reference-if-able", "-j", "--jobs", "--filter", "--separate-git-dir", "-u",
        "--upload-pack", "--template", "--shallow-since", "--shallow-exclude", "--bundle-uri",
        "--server-option", NULL};
    size_t sub = operand(c, i, global_value);
    if (sub >= c->n) {
        return;
    }
    const char *s = c->w[sub].text;
    size_t repo = c->n;
    if (strcmp(s, "clone") == 0) {
        repo = operand(c, sub, clone_value);
    } else if (strcmp(s, "fetch") == 0 || strcmp(s, "pull") == 0 || strcmp(s, "ls-remote") == 0) {
        repo = operand(c, sub, NULL);
    } else if (strcmp(s, "remote") == 0 || strcmp(s, "submodule") == 0) {
        size_t what = operand(c, sub, NULL);
        if (what < c->n && strcmp(c->w[what].text, "add") == 0) {
            repo = operand(c, what, NULL);
            repo = strcmp(s, "remote") == 0 && repo < c->n ? operand(c, repo, NULL) : repo;
        } else if (what < c->n && strcmp(c->w[what].text, "set-url") == 0) {
            repo = operand(c, operand(c, what, NULL), NULL);
        }
    }
    if (repo < c->n) {
        git_repo(c, repo);
    }
}

/* --- what goes into files: echo, printf, cat, tee, sed ----------------------------------- */

/* The backslash escapes of echo (dash's, Debian's /bin/sh) and printf's format. */
static void unescape_into(char **out, size_t *n, const char *s)
{
    size_t len = strlen(s);
    *out = sw_realloc(*out, *n + len + 1);
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '\\' && i + 1 < len && strchr("nt\\", s[i + 1])) {
            i++;
            ch = s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : '\\';
        }
        (*out)[(*n)++] = ch;
    }
    (*out)[*n] = '\0';
}

static char *echo_text(const cmdv *c, size_t i, size_t *first)
{
    char *out = sw_strdup("");
    size_t n = 0, j = i + 1;
    while (j < c->n && (strcmp(c->w[j].text, "-n") == 0 || strcmp(c->w[j].text, "-e") == 0 ||
                        strcmp(c->w[j].text, "-E") == 0)) {
        j++;
    }
    *first = j;
    for (; j < c->n; j++) {
        unescape_into(&out, &n, c->w[j].text);
        unescape_into(&out, &n, j + 1 < c->n ? " " : "\\n");
    }
    return out;
}

/* printf FORMAT ARGS: %s and %b take the next argument; the format is used again
 * while arguments remain. */
static char *printf_text(const cmdv *c, size_t i, size_t *first)
{
    char *out = sw_strdup("");
    size_t n = 0, arg = i + 2;
    *first = i + 1;
    if (i + 1 >= c->n) {
        return out;
    }
    const char *fmt = c->w[i + 1].text;
    do {
        size_t used_before = arg;
        for (const char *f = fmt; *f; f++) {
            char piece[2] = {*f, '\0'};
            if (f[0] == '%' && (f[1] == 's' || f[1] == 'b')) {
                unescape_into(&out, &n, arg < c->n ? c->w[arg++].text : "");
                f++;
            } else if (f[0] == '%' && f[1] == '%') {
                unescape_into(&out, &n, "%");
                f++;
            } else if (f[0] == '\\' && f[1] != '\0') {
                char esc[3] = {f[0], f[1], '\0'};
                unescape_into(&out, &n, esc);
                f++;
            } else {
                unescape_into(&out, &n, piece);
            }
        }
        if (arg == used_before) {
            break;
        }
    } while (arg < c->n);
    return out;
}

/* A here-document's text as the command reads it. */
static char *heredoc_text(const cmdv *c, const sw_shlex_redir *h, unsigned *line, unsigned *step)
{
    const char *t = c->r->text;
    char *raw = sw_calloc(1, h->body_end - h->body + 1);
    size_t n = 0;

    for (size_t i = h->body; i < h->body_end; i++) {
        bool line_start = i == h->body || t[i - 1] == '\n';
        if (h->strip_tabs && line_start) {
            while (i < h->body_end && t[i] == '\t') {
                i++;
            }
            if (i >= h->body_end) {
                break;
            }
        }
        raw[n++] = t[i];
    }
    *line = sw_profile_df_line(c->r->df, h->body);
    *step = h->body_end > h->body && sw_profile_df_line(c->r->df, h->body_end - 1) > *line;
    if (h->target.quoted) {
        return raw;
    }
    char *expanded = sw_shlex_expand(raw, n, lookup, c->r);
    free(raw);
    return expanded;
}

static const sw_shlex_redir *heredoc_of(const sw_shlex_cmd *cmd)
{
    for (size_t i = 0; i < cmd->nredirs; i++) {
        if (strcmp(cmd->redirs[i].op, "<<") == 0) {
            return &cmd->redirs[i];
        }
    }
    return NULL;
}

/* What the command wrote (text, taken): into the file it is redirected to, else
 * into the next command's stdin, else to stdout (where only deb lines count). */
static void written(cmdv *c, char *text, unsigned line, unsigned step)
{
    const char *target = NULL;
    bool append = false;
    for (size_t i = 0; i < c->cmd->nredirs; i++) {
        const sw_shlex_redir *rd = &c->cmd->redirs[i];
        if (strcmp(rd->op, ">") == 0 || strcmp(rd->op, ">|") == 0 || strcmp(rd->op, ">>") == 0 ||
            strcmp(rd->op, "&>") == 0 || strcmp(rd->op, "&>>") == 0) {
            target = rd->target.text;
            append = strstr(rd->op, ">>") != NULL;
        }
    }
    if (target == NULL && c->cmd->term == '|') {
        free(c->r->piped);
        c->r->piped = text;
        c->r->piped_line = line;
        c->r->piped_step = step;
        return;
    }
    if (target == NULL || strcmp(target, "/dev/null") != 0) {
        sw_profile_stage_write(c->r->df->stage, target ? target : "", append, text, strlen(text),
                               line, step);
    }
    free(text);
}

static void tee(cmdv *c, size_t i, char *piped)
{
    const sw_shlex_redir *h = heredoc_of(c->cmd);
    unsigned line = c->r->piped_line, step = c->r->piped_step;
    bool append = false;
    char *text = piped;

    if (text == NULL && h != NULL) {
        text = heredoc_text(c, h, &line, &step);
    }
    for (size_t j = i + 1; j < c->n; j++) {
        const char *s = c->w[j].text;
        c->used[j] = true;
        append = append || strcmp(s, "-a") == 0 || strcmp(s, "--append") == 0;
    }
    for (size_t j = i + 1; text != NULL && j < c->n; j++) {
        if (c->w[j].text[0] != '-') {
            sw_profile_stage_write(c->r->df->stage, c->w[j].text, append, text, strlen(text),
                                   line, step);
        }
    }
    free(text);
}

/* One s command of a sed script at *p (an address before it skipped); the
 * pattern and replacement with "\<delim>" made plain. False when it is none. */
static bool sed_s(const char **p, char **pattern, char **replacement, char **flags)
{
    const char *s = *p;
    if (*s == '/') {
        for (s++; *s && *s != '/'; s++) {
            s += *s == '\\' && s[1] != '\0';
        }
        s += *s == '/';
    }
    s += strspn(s, "0123456789$, \t");
    if (*s != 's' || s[1] == '\0' || s[1] == '\\' || s[1] == '\n') {
        return false;
    }
    char delim = s[1];
    char *parts[2];
    s += 2;
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        parts[k] = sw_calloc(1, strlen(s) + 1);
        while (*s && *s != delim) {
            if (*s == '\\' && s[1] == delim) {
                parts[k][n++] = delim;
                s += 2;
            } else if (*s == '\\' && s[1] != '\0') {
                parts[k][n++] = *s++;
                parts[k][n++] = *s++;
            } else {
                parts[k][n++] = *s++;
            }
        }
        if (*s != delim) {
            free(parts[0]);
            if (k == 1) {
                free(parts[1]);
            }
            *p = s;
            return false;
        }
        s++;
    }
    size_t fl = strcspn(s, ";\n}");
    *flags = dupn(s, fl);
    *pattern = parts[0];
    *replacement = parts[1];
    *p = s + fl;
    return true;
}

static void sed(cmdv *c, size_t i)
{
    char **scripts = NULL;
    size_t nscripts = 0, nfiles = 0;
    const char **files = sw_calloc(c->n, sizeof(*files));
    bool in_place = false, extended = false, script_given = false;

    for (size_t j = i + 1; j < c->n; j++) {
        const char *s = c->w[j].text;
        const char *script = NULL;
        c->used[j] = true;
        if (starts_with(s, "--in-place")) {
            in_place = true;
        } else if (strcmp(s, "--regexp-extended") == 0) {
            extended = true;
        } else if (starts_with(s, "--expression=")) {
            script = s + 13;
        } else if (strcmp(s, "--expression") == 0 && j + 1 < c->n) {
            script = c->w[++j].text;
            c->used[j] = true;
        } else if (strcmp(s, "--file") == 0 || starts_with(s, "--file=")) {
            script_given = true; /* a script in a file: not read */
            j += strcmp(s, "--file") == 0;
            c->used[j] = true; /* used has room for one past the last word */
        } else if (s[0] == '-' && s[1] != '-' && s[1] != '\0') {
            for (const char *f = s + 1; *f; f++) {
                if (*f == 'i') {
                    in_place = true;
                    break; /* the rest is the backup's suffix */
                } else if (*f == 'E' || *f == 'r') {
                    extended = true;
                } else if (*f == 'e' || *f == 'f') {
                    const char *arg = f[1] ? f + 1 : (j + 1 < c->n ? c->w[++j].text : NULL);
                    c->used[j] = true;
                    script = *f == 'e' ? arg : NULL;
                    script_given = script_given || *f == 'f';
                    break;
                }
            }
        } else if (s[0] != '-' && !script_given && nscripts == 0) {
            script = s;
        } else if (s[0] != '-') {
            files[nfiles++] = s;
        }
        if (script != NULL) {
            scripts = sw_realloc(scripts, (nscripts + 1) * sizeof(*scripts));
            scripts[nscripts++] = (char *)script;
            script_given = true;
        }
    }
    for (size_t k = 0; in_place && k < nscripts; k++) {
        for (const char *p = scripts[k]; *p;) {
            char *pattern, *replacement, *flags;
            p += strspn(p, " \t\n;{}");
            if (*p == '\0') {
                break;
            }
            if (sed_s(&p, &pattern, &replacement, &flags)) {
                for (size_t f = 0; f < nfiles; f++) {
                    sw_profile_stage_sed(c->r->df->stage, files[f], pattern, replacement, flags,
                                         extended);
                }
                free(pattern);
                free(replacement);
                free(flags);
            } else {
                p += strcspn(p, ";\n");
            }
        }
    }
    free(scripts);
    free(files);
}

/* --- a command ---------------------------------------------------------------------------- */

static void export(cmdv *c, size_t i)
{
    run *r = c->r;
    for (size_t j = i + 1; j < c->n; j++) {
        const char *s = c->w[j].text;
        c->used[j] = true;
        if (is_assignment(s)) {
            assign(&r->exported, s);
        } else {
            const char *v = sw_profile_vars_get(&r->shell, s, strlen(s));
            if (v != NULL) {
                sw_profile_vars_set(&r->exported, s, v);
            }
        }
    }
}

/* sh -c SCRIPT, bash -ex <<EOF, ...: the script is read in turn. */
static void shell(cmdv *c, size_t i)
{
    static const char *const with_value[] = {"-o", "+o", "-O", "+O", NULL};
    for (size_t j = i + 1; j < c->n; j++) {
        const char *s = c->w[j].text;
        if (s[0] != '-' && s[0] != '+') {
            return; /* sh script.sh */
        }
        if (in(s, with_value)) {
            j++;
        } else if (s[1] != '-' && strchr(s, 'c') != NULL && j + 1 < c->n) {
            sw_profile_seg one = {.off = 0, .line = line_of(c, j + 1)};
            sw_profile_df *df = c->r->df;
            const sw_profile_seg *segs = df->segs;
            size_t nsegs = df->nsegs;
            c->used[j + 1] = true;
            df->segs = &one;
            df->nsegs = 1;
            run_text(c->r, c->w[j + 1].text, 0, strlen(c->w[j + 1].text));
            df->segs = segs;
            df->nsegs = nsegs;
            return;
        }
    }
    const sw_shlex_redir *h = heredoc_of(c->cmd);
    if (h != NULL) {
        run_text(c->r, c->r->text, h->body, h->body_end);
    }
}

/* sudo -u x, env A=1, timeout 10, nice -n 5, `then`...: where the command itself is. */
static size_t skip_prefixes(cmdv *c, size_t i)
{
    static const char *const words[] = {"!",    "{",       "}",       "then", "do",
                                        "else", "elif",    "if",      "while", "until",
                                        "time", "exec",    "command", "builtin", "nohup",
                                        NULL};
    static const struct {
        const char *name;
        const char *const with_value[10];
    } runners[] = {
        {"sudo", {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", NULL}},
        {"env", {"-u", "-C", "-S", "--unset", "--chdir", NULL}},
        {"nice", {"-n", "--adjustment", NULL}},
        {"timeout", {"-s", "--signal", "-k", "--kill-after", NULL}},
    };
    while (i < c->n) {
        const char *s = c->w[i].text;
        size_t k = 0;
        while (k < sizeof(runners) / sizeof(runners[0]) && strcmp(s, runners[k].name) != 0) {
            k++;
        }
        if (in(s, words)) {
            c->used[i++] = true;
            continue;
        }
        if (k == sizeof(runners) / sizeof(runners[0])) {
            break;
        }
        bool is_env = strcmp(s, "env") == 0;
        c->used[i++] = true;
        while (i < c->n && (c->w[i].text[0] == '-' || (is_env && is_assignment(c->w[i].text)))) {
            const char *o = c->w[i].text;
            if (is_env && is_assignment(o)) {
                assign(&c->r->cmd_env, o);
            }
            c->used[i++] = true;
            if (in(o, runners[k].with_value) && i < c->n) {
                c->used[i++] = true;
            }
        }
        if (strcmp(s, "timeout") == 0 && i < c->n) {
            c->used[i++] = true; /* the duration */
        }
    }
    return i;
}

/* Searches the words not understood for urls. */
static void any_urls(cmdv *c)
{
    for (size_t j = 0; j < c->n; j++) {
        const char *s = c->w[j].text;
        for (const char *m = strstr(s, "://"); !c->used[j] && m; m = strstr(m + 3, "://")) {
            const char *start = m;
            while (start > s && (isalnum((unsigned char)start[-1]) || start[-1] == '+')) {
                start--;
            }
            size_t scheme = (size_t)(m - start);
            bool git = scheme >= 4 && strncmp(start, "git+", 4) == 0;
            bool web = (scheme == 4 && strncmp(start, "http", 4) == 0) ||
                       (scheme == 5 && strncmp(start, "https", 5) == 0) ||
                       (scheme == 3 && strncmp(start, "ftp", 3) == 0);
            git = git || (scheme == 3 && strncmp(start, "git", 3) == 0);
            if (!git && !web) {
                continue;
            }
            size_t len = strcspn(start, " \t\n'\"<>`|;,(){}\\");
            while (len > 0 && strchr(".:", start[len - 1])) {
                len--;
            }
            char *url = dupn(start, len);
            sw_profile_df_add_url(c->r->df, git ? "git" : "url", url, line_of(c, j));
            free(url);
        }
    }
}

static void command(run *r, const sw_shlex_cmd *cmd)
{
    static const char *const no_fetch[] = {
        "echo", "printf", "sed",  "export", "cat",   "tee",      "grep",  "test",  "[",
        "[[",   "set",    "unset", "local", "declare", "readonly", "cd",   "mkdir", "rm",
        "ln",   "cp",     "mv",   "chmod",  "chown", "touch",    "true",  "false", "ls",
        ":",    NULL};
    static const char *const shells[] = {"sh", "bash", "ash", "dash", "zsh", NULL};
    cmdv c = {.r = r, .cmd = cmd, .w = cmd->words, .n = cmd->nwords,
              .used = sw_calloc(cmd->nwords + 1, sizeof(bool))};
    char *piped = r->piped;
    size_t i = 0, first;

    r->piped = NULL;
    sw_profile_vars_clear(&r->cmd_env);
    while (i < c.n && is_assignment(c.w[i].text)) {
        i++;
    }
    for (size_t j = 0; j < i; j++) {
        assign(i == c.n ? &r->shell : &r->cmd_env, c.w[j].text);
        c.used[j] = true;
    }
    i = skip_prefixes(&c, i);
    const sw_shlex_redir *h = heredoc_of(cmd);
    const char *name = i < c.n ? base(c.w[i].text) : "";
    unsigned line, step;

    if (i >= c.n) {
        if (h != NULL) {
            run_text(r, r->text, h->body, h->body_end); /* RUN <<EOF */
        }
    } else if (in(name, shells)) {
        shell(&c, i);
    } else if (strcmp(name, "echo") == 0 || strcmp(name, "printf") == 0) {
        char *text = name[0] == 'e' ? echo_text(&c, i, &first) : printf_text(&c, i, &first);
        written(&c, text, first < c.n ? line_of(&c, first) : line_of(&c, i), 0);
    } else if (strcmp(name, "cat") == 0 && h != NULL) {
        char *text = heredoc_text(&c, h, &line, &step);
        written(&c, text, line, step);
    } else if (strcmp(name, "tee") == 0) {
        tee(&c, i, piped);
        piped = NULL;
    } else if (strcmp(name, "sed") == 0) {
        sed(&c, i);
    } else if (strcmp(name, "export") == 0) {
        export(&c, i);
    } else if (strcmp(name, "apt-get") == 0 || strcmp(name, "apt") == 0 ||
               strcmp(name, "aptitude") == 0) {
        apt(&c, i);
    } else if (strcmp(name, "add-apt-repository") == 0) {
        add_apt_repository(&c, i);
    } else if (strcmp(name, "apk") == 0) {
        apk(&c, i);
    } else if (versioned(name, "pip")) {
        pip(&c, i);
    } else if (versioned(name, "python") && i + 2 < c.n && strcmp(c.w[i + 1].text, "-m") == 0 &&
               versioned(c.w[i + 2].text, "pip")) {
        c.used[i + 1] = c.used[i + 2] = true;
        pip(&c, i + 2);
    } else if (strcmp(name, "npm") == 0 || strcmp(name, "yarn") == 0 ||
               strcmp(name, "pnpm") == 0) {
        npm(&c, i, name);
    } else if (strcmp(name, "go") == 0) {
        go(&c, i);
    } else if (strcmp(name, "curl") == 0 || strcmp(name, "wget") == 0) {
        fetcher(&c, i, name[0] == 'c');
    } else if (strcmp(name, "git") == 0) {
        git(&c, i);
    }
    if (i < c.n && !in(name, no_fetch)) {
        any_urls(&c);
    }
    free(piped);
    free(c.used);
}

static void run_text(run *r, const char *text, size_t begin, size_t end)
{
    const char *saved = r->text;
    sw_shlex lx;
    sw_shlex_cmd cmd = {0};

    if (r->depth >= MAX_DEPTH) {
        return;
    }
    r->depth++;
    r->text = text;
    sw_shlex_init(&lx, text, begin, end, lookup, r);
    while (sw_shlex_next(&lx, &cmd)) {
        command(r, &cmd);
    }
    sw_shlex_cmd_clear(&cmd);
    r->text = saved;
    r->depth--;
}

void sw_profile_run(sw_profile_df *df, const char *text, size_t begin, size_t end)
{
    run r = {.df = df};
    run_text(&r, text, begin, end);
    sw_profile_vars_clear(&r.shell);
    sw_profile_vars_clear(&r.exported);
    sw_profile_vars_clear(&r.cmd_env);
    free(r.piped);
}

/*
 * natsconf.c - writes the nats-server accounts and the credentials files
 * (see natsconf.h and README "Tenancy").
 *
 * One service account, SLIPWAY, holds every stream and every actor's user;
 * each tenant T has an account T_<T> that holds nothing of its own and sees
 * only what SLIPWAY exports to it: the live tail of its logs and events
 * (streams sw.logs.T.>, sw.events.T.>), the API and cancel as services whose
 * subjects carry T (sw.tapi.T.> imported as sw.api.>, sw.tctl.T.> as
 * sw.ctl.>) and its build requests (sw.req.T). The tenant is thus named by
 * the account a request came in through, never by what it says. Tenants get
 * no JetStream: a tenant's user cannot reach $JS.API at all.
 */
#include "tools/admin/natsconf.h"

#include "runtime/creds.h"
#include "runtime/core/error.h"
#include "runtime/core/fs.h"
#include "runtime/core/mem.h"
#include "runtime/roles.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int random_password(char out[41])
{
    unsigned char raw[20];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, raw, sizeof(raw)) : -1;
    if (fd >= 0) {
        close(fd);
    }
    if (got != (ssize_t)sizeof(raw)) {
        return sw_error_set(SW_EIO, "cannot read /dev/urandom");
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    }
    return 0;
}

static int bcrypt_hash(char *out, size_t n, const char *password, int cost)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data data;
    memset(&data, 0, sizeof(data));
    if (crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, salt, sizeof(salt)) == NULL) {
        return sw_error_set(SW_ERROR, "cannot make a bcrypt salt: %s", strerror(errno));
    }
    const char *h = crypt_rn(password, salt, &data, sizeof(data));
    if (h == NULL || h[0] == '*') {
        return sw_error_set(SW_ERROR, "bcrypt failed: %s", strerror(errno));
    }
    snprintf(out, n, "%s", h);
    return 0;
}

static bool rotated(const sw_natsconf_options *o, const char *who)
{
    for (size_t i = 0; i < o->nrotate; i++) {
        if (strcmp(o->rotate[i], who) == 0) {
            return true;
        }
    }
    return false;
}

/* Loads path's credentials, or makes new ones (also when `who` is rotated),
 * and writes them; fills hash with the password's bcrypt hash. */
static int user_creds(const sw_natsconf_options *o, const char *path, const char *who,
                      const char *user, const char *inbox, const char *tenant,
                      char *hash, size_t nhash)
{
    sw_creds c = {0};
    char password[41];
    const char *verb = "kept";
    int error;

    if (rotated(o, who) || access(path, F_OK) != 0 || sw_creds_load(&c, path) < 0 ||
        strcmp(c.user, user) != 0) {
        sw_creds_clear(&c);
        if ((error = random_password(password)) < 0) {
            return error;
        }
        c.user = sw_strdup(user);
        c.password = sw_strdup(password);
        verb = access(path, F_OK) == 0 ? "rotated" : "new";
    }
    free(c.inbox);
    free(c.tenant);
    c.inbox = inbox ? sw_strdup(inbox) : NULL;
    c.tenant = tenant ? sw_strdup(tenant) : NULL;
    char *comment = sw_asprintf("Slipway NATS credentials: %s", who);
    error = sw_creds_write(&c, path, comment);
    free(comment);
    if (error == 0) {
        error = bcrypt_hash(hash, nhash, c.password, o->bcrypt_cost > 0 ? o->bcrypt_cost : 11);
    }
    if (error == 0) {
        printf("%-8s %s (%s)\n", verb, path, who);
    }
    sw_creds_clear(&c);
    return error;
}

static void list(FILE *f, const char *const *subjects)
{
    fputc('[', f);
    for (size_t i = 0; subjects[i] != NULL; i++) {
        fprintf(f, "%s\"%s\"", i ? ", " : "", subjects[i]);
    }
    fputc(']', f);
}

static void user_entry(FILE *f, const char *user, const char *hash,
                       const char *const *pub, const char *const *sub, bool responses)
{
    fprintf(f, "      {user: \"%s\", password: \"%s\",\n       permissions: {publish: {allow: ",
            user, hash);
    list(f, pub);
    fprintf(f, "},\n                     subscribe: {allow: ");
    list(f, sub);
    /* 5 s: see roles.h (the server's default, 2 minutes, is what costs) */
    fprintf(f, "}%s}}\n", responses ? ", allow_responses: {max: 1, expires: \"5s\"}" : "");
}

static int write_service(FILE *f, const sw_config *cfg, const sw_natsconf_options *o)
{
    char dir[4096], path[4200], hash[128], inbox[64];
    size_t n;
    const sw_role *roles = sw_roles(&n);
    int error;

    snprintf(dir, sizeof(dir), "%s/service", o->out_dir);
    if ((error = sw_fs_mkdir_p(dir)) < 0) {
        return error;
    }
    chmod(dir, 0700);
    fprintf(f, "  SLIPWAY: {\n    jetstream: enabled\n    users: [\n");
    for (size_t i = 0; i < n; i++) {
        bool op = strcmp(roles[i].name, "operator") == 0;
        if (op) {
            snprintf(path, sizeof(path), "%s/operator.creds", o->out_dir);
        } else {
            sw_creds_role_path(path, sizeof(path), dir, roles[i].name);
        }
        snprintf(inbox, sizeof(inbox), "_INBOX_%s", roles[i].name);
        if ((error = user_creds(o, path, roles[i].name, roles[i].name, op ? NULL : inbox, NULL,
                                hash, sizeof(hash))) < 0) {
            return error;
        }
        user_entry(f, roles[i].name, hash, roles[i].publish, roles[i].subscribe,
                   roles[i].responses);
    }
    fprintf(f, "    ]\n    exports: [\n");
    for (size_t i = 0; i < cfg->ntenants; i++) {
        const char *t = cfg->tenants[i].name;
        fprintf(f,
                "      {stream: \"sw.logs.%s.>\", accounts: [\"T_%s\"]}\n"
                "      {stream: \"sw.events.%s.>\", accounts: [\"T_%s\"]}\n"
                "      {service: \"sw.tapi.%s.>\", accounts: [\"T_%s\"]}\n"
                "      {service: \"sw.tctl.%s.>\", accounts: [\"T_%s\"]}\n"
                "      {service: \"sw.req.%s\", accounts: [\"T_%s\"]}\n",
                t, t, t, t, t, t, t, t, t, t);
    }
    fprintf(f, "    ]\n  }\n");
    return 0;
}

static int write_tenants(FILE *f, const sw_config *cfg, const sw_natsconf_options *o)
{
    char dir[4096], path[4200], hash[128], who[160], user[160];
    char req[160], logs[160], events[160];
    int error;

    snprintf(dir, sizeof(dir), "%s/tenants", o->out_dir);
    if ((error = sw_fs_mkdir_p(dir)) < 0) {
        return error;
    }
    chmod(dir, 0700);
    for (size_t i = 0; i < cfg->ntenants; i++) {
        const char *t = cfg->tenants[i].name;
        snprintf(path, sizeof(path), "%s/%s.creds", dir, t);
        snprintf(who, sizeof(who), "tenant:%s", t);
        snprintf(user, sizeof(user), "tenant-%s", t);
        if ((error = user_creds(o, path, who, user, NULL, t, hash, sizeof(hash))) < 0) {
            return error;
        }
        snprintf(req, sizeof(req), "sw.req.%s", t);
        snprintf(logs, sizeof(logs), "sw.logs.%s.>", t);
        snprintf(events, sizeof(events), "sw.events.%s.>", t);
        const char *const pub[] = {"sw.api.>", "sw.ctl.cancel.*", req, NULL};
        const char *const sub[] = {"_INBOX.>", logs, events, NULL};
        fprintf(f, "  T_%s: {\n    users: [\n", t);
        user_entry(f, user, hash, pub, sub, false);
        fprintf(f,
                "    ]\n    imports: [\n"
                "      {stream: {account: SLIPWAY, subject: \"sw.logs.%s.>\"}}\n"
                "      {stream: {account: SLIPWAY, subject: \"sw.events.%s.>\"}}\n"
                "      {service: {account: SLIPWAY, subject: \"sw.tapi.%s.>\"}, to: \"sw.api.>\"}\n"
                "      {service: {account: SLIPWAY, subject: \"sw.tctl.%s.>\"}, to: \"sw.ctl.>\"}\n"
                "      {service: {account: SLIPWAY, subject: \"sw.req.%s\"}}\n"
                "    ]\n  }\n",
                t, t, t, t, t);
    }
    return 0;
}

/* "nats://127.0.0.1:4222,nats://..." -> "127.0.0.1:4222" */
static void listen_of(char *out, size_t n, const char *url)
{
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    const char *at = strchr(s, '@');
    if (at != NULL && at < s + strcspn(s, ",/")) {
        s = at + 1;
    }
    size_t len = strcspn(s, ",/");
    snprintf(out, n, "%.*s", (int)len, s);
}

/* server_name and the cluster block of one node, when asked for. */
static void write_cluster(FILE *f, const sw_natsconf_options *o)
{
    if (o->server_name != NULL) {
        fprintf(f, "server_name: \"%s\"\n", o->server_name);
    }
    if (o->cluster_name == NULL && o->cluster_listen == NULL && o->routes == NULL) {
        return;
    }
    fprintf(f, "cluster {\n");
    if (o->cluster_name != NULL) {
        fprintf(f, "  name: \"%s\"\n", o->cluster_name);
    }
    if (o->cluster_listen != NULL) {
        fprintf(f, "  listen: \"%s\"\n", o->cluster_listen);
    }
    if (o->routes != NULL) {
        const char *sep = "";
        fprintf(f, "  routes: [");
        for (const char *r = o->routes; *r != '\0';) {
            r += strspn(r, " ,");
            size_t len = strcspn(r, " ,");
            if (len > 0) {
                fprintf(f, "%s\"%.*s\"", sep, (int)len, r);
                sep = ", ";
            }
            r += len;
        }
        fprintf(f, "]\n");
    }
    fprintf(f, "}\n");
}

int sw_natsconf_write(const sw_config *cfg, const sw_natsconf_options *o)
{
    char path[4200], tmp[4300], listen[256], store[4200];
    int error;
    FILE *f;

    if ((error = sw_fs_mkdir_p(o->out_dir)) < 0) {
        return error;
    }
    if (o->conf_path != NULL) {
        snprintf(path, sizeof(path), "%s", o->conf_path);
    } else {
        snprintf(path, sizeof(path), "%s/nats-server.conf", o->out_dir);
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        return sw_error_set(SW_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (o->listen != NULL) {
        snprintf(listen, sizeof(listen), "%s", o->listen);
    } else {
        listen_of(listen, sizeof(listen), cfg->nats_url);
    }
    if (o->store_dir != NULL) {
        snprintf(store, sizeof(store), "%s", o->store_dir);
    } else {
        snprintf(store, sizeof(store), "%s/jetstream", o->out_dir);
    }
    fprintf(f,
            "# nats-server configuration for Slipway, written by `slipway-admin nats-config`\n"
            "# from %s. Do not edit: change slipway.yaml and run it again, then\n"
            "# `nats-server --signal reload` (see README, Tenancy).\n"
            "listen: \"%s\"\n",
            cfg->path, listen);
    if (o->http != NULL) {
        fprintf(f, "http: \"%s\"\n", o->http);
    }
    fprintf(f, "jetstream {store_dir: \"%s\"}\n", store);
    write_cluster(f, o);
    fprintf(f, "\naccounts {\n");
    error = write_service(f, cfg, o);
    if (error == 0) {
        error = write_tenants(f, cfg, o);
    }
    fprintf(f, "}\n");
    if (fflush(f) != 0 && error == 0) {
        error = sw_error_set(SW_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    fclose(f);
    if (error == 0 && rename(tmp, path) != 0) {
        error = sw_error_set(SW_EIO, "cannot rename %s: %s", tmp, strerror(errno));
    }
    if (error < 0) {
        unlink(tmp);
        return error;
    }
    printf("wrote    %s\n", path);
    return 0;
}

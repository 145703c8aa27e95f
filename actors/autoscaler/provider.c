/*
 * provider.c - the parts every provider shares (see provider.h).
 */
#include "actors/autoscaler/provider.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <stdio.h>
#include <stdlib.h>

static char *dup_or_null(const char *s)
{
    return s ? sw_strdup(s) : NULL;
}

int sw_provider_open(sw_provider **out, const sw_config *cfg, const sw_cluster *cluster)
{
    const sw_autoscale *as = cluster->autoscale;
    sw_provider *p;
    int error;

    *out = NULL;
    if (as == NULL) {
        return sw_error_set(SW_EINVALID, "cluster %s has no autoscale", cluster->name);
    }
    p = sw_calloc(1, sizeof(*p));
    p->config_path = sw_strdup(cfg->path);
    p->cluster = sw_strdup(cluster->name);
    p->data_dir = sw_strdup(cfg->data_dir);
    p->slots = as->slots;
    p->create_cmd = dup_or_null(as->exec_create);
    p->destroy_cmd = dup_or_null(as->exec_destroy);
    p->list_cmd = dup_or_null(as->exec_list);
    p->timeout_ms = as->exec_timeout_ms;
    error = as->provider == SW_PROVIDER_EXEC ? sw_provider_exec_init(p)
                                             : sw_provider_process_init(p);
    if (error < 0) {
        sw_provider_close(&p);
        return error;
    }
    *out = p;
    return 0;
}

int sw_provider_create(sw_provider *p, const char *name)
{
    return p->ops->create(p, name);
}

int sw_provider_destroy(sw_provider *p, const char *name)
{
    return p->ops->destroy(p, name);
}

int sw_provider_list(sw_provider *p, char ***names_out, size_t *n_out)
{
    *names_out = NULL;
    *n_out = 0;
    return p->ops->list(p, names_out, n_out);
}

void sw_provider_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

void sw_provider_close(sw_provider **p_p)
{
    sw_provider *p = *p_p;
    if (p == NULL) {
        return;
    }
    if (p->ops != NULL && p->ops->close != NULL) {
        p->ops->close(p);
    }
    free(p->config_path);
    free(p->cluster);
    free(p->data_dir);
    free(p->create_cmd);
    free(p->destroy_cmd);
    free(p->list_cmd);
    free(p);
    *p_p = NULL;
}

/*
 * refcheck.c - before `slipway submit` stores a request: does the project's
 * repository have the ref? A ref it does not list fails at once (exit 6)
 * instead of as an errored build a moment later.
 *
 * DESIGN
 * The CLI asks the repository itself, as `slipway sources` does: the refs the
 * server lists (libgit2 ls-remote, sw_gitfetch_has_ref), nothing fetched. The
 * answer counts only when it is definite: a repository that cannot be listed
 * from here (credentials only the builders hold, a network only they reach) or
 * that does not answer within --timeout lets the request through, and the
 * builder decides as before. The listing runs on a thread of its own so that
 * the wait is bounded (libgit2 has no connect timeout); one that is still
 * running is left behind, the process exits without it.
 */
#include "tools/cli/cli.h"

#include "actors/builder/git/gitfetch.h"
#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct check {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *url, *ref;
    bool done, left; /* left: the waiter gave up, the thread frees it */
    int error;
    char message[512];
} check;

static void check_free(check *k)
{
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->cond);
    free(k->url);
    free(k->ref);
    free(k);
}

static void *run_check(void *arg)
{
    check *k = arg;
    int error = sw_gitfetch_has_ref(k->url, k->ref, NULL);
    pthread_mutex_lock(&k->lock);
    k->error = error;
    snprintf(k->message, sizeof(k->message), "%s", error < 0 ? sw_error_last() : "");
    k->done = true;
    bool left = k->left;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
    if (left) {
        check_free(k);
    }
    return NULL;
}

int cli_check_ref(cli *c, const Slipway__ProjectInfo *project, const char *ref)
{
    struct timespec until;
    pthread_t thread;
    int status = CLI_OK;

    if (ref == NULL || ref[0] == '\0' || project->repository[0] == '\0') {
        return CLI_OK; /* the default branch: the project's own */
    }
    check *k = sw_calloc(1, sizeof(*k));
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, NULL);
    k->url = sw_strdup(project->repository);
    k->ref = sw_strdup(ref);
    if (pthread_create(&thread, NULL, run_check, k) != 0) {
        check_free(k);
        return CLI_OK;
    }
    pthread_detach(thread);
    sw_clock_deadline(&until, c->timeout_ms);
    pthread_mutex_lock(&k->lock);
    while (!k->done && pthread_cond_timedwait(&k->cond, &k->lock, &until) == 0) {
    }
    if (!k->done) {
        k->left = true; /* no answer in time: the builder decides */
        pthread_mutex_unlock(&k->lock);
        return CLI_OK;
    }
    if (k->error == SW_ENOTFOUND) {
        fprintf(stderr,
                "slipway submit: %s does not exist in the repository of project %s (%s); "
                "nothing was stored\n",
                sw_ref_display(ref), project->name, k->message);
        status = CLI_NOT_FOUND;
    }
    pthread_mutex_unlock(&k->lock);
    check_free(k);
    return status;
}

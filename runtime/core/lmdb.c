/* lmdb.c - opening an actor's LMDB store (see lmdb.h). */
#include "runtime/core/lmdb.h"

#include "runtime/core/error.h"
#include "runtime/core/fs.h"

int sw_lmdb_open(MDB_env **env_out, const char *what, const char *dir, size_t map_size,
                 const char *const *names, MDB_dbi *dbis)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    unsigned int n = 0;
    int rc, error;

    *env_out = NULL;
    while (names[n] != NULL) {
        n++;
    }
    if ((error = sw_fs_mkdir_p(dir)) < 0) {
        return error;
    }
    if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, n)) != 0 ||
        (rc = mdb_env_set_mapsize(env, map_size)) != 0 ||
        (rc = mdb_env_open(env, dir, MDB_NOTLS, 0644)) != 0 ||
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
        goto fail;
    }
    for (unsigned int i = 0; i < n; i++) {
        if ((rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &dbis[i])) != 0) {
            mdb_txn_abort(txn);
            goto fail;
        }
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        goto fail;
    }
    *env_out = env;
    return 0;

fail:
    if (env != NULL) {
        mdb_env_close(env);
    }
    return sw_error_set(SW_EIO, "%s: %s: %s", what, dir, mdb_strerror(rc));
}

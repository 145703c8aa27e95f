/*
 * lmdb.h - opening an LMDB store the way every actor's store is opened: its
 * own directory (made if missing), MDB_NOTLS (a store is used by one actor's
 * thread, but transactions may outlive a worker thread), named tables created
 * on first use.
 */
#ifndef SW_LMDB_H
#define SW_LMDB_H

#include <lmdb.h>
#include <stddef.h>

/*
 * Opens the environment in dir with map_size bytes of address space and the
 * tables named in the NULL-terminated list names (one handle each in dbis).
 * what names the store in errors: "<what>: <dir>: <LMDB's reason>" (SW_EIO).
 * On failure nothing is left open and *env_out is NULL.
 */
int sw_lmdb_open(MDB_env **env_out, const char *what, const char *dir, size_t map_size,
                 const char *const *names, MDB_dbi *dbis);

#endif

/*
 * profile_run.h - what the commands of a RUN line fetch, for the source profile
 * (see profile_stage.h for the stage they change).
 *
 * Read: apt-get/apt/aptitude (update, install, upgrade, ...) and apk (add,
 * update, ...): the stage's apt or apk sources; pip, pip3, python -m pip
 * (install, download, wheel): -i/--index-url, --extra-index-url, -f URL,
 * PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, the stage's pip config, else pypi.org;
 * npm (install, i, ci, add, update), yarn, pnpm: --registry, NPM_CONFIG_REGISTRY,
 * the stage's npm config, else registry.npmjs.org (yarn: registry.yarnpkg.com);
 * go (build, install, get, test, run, list, mod download/tidy/vendor): GOPROXY,
 * else proxy.golang.org; curl and wget: their urls ("url"); git clone, fetch,
 * pull, remote add, submodule add: the repository ("git", scp-like
 * git@host:path too); sh/bash -c SCRIPT and here-document scripts, read in
 * turn. Any other url on the line is a "url", but what echo, printf and sed
 * print or edit, and the values of assignments, which fetch nothing.
 *
 * Changed in the stage: echo/printf/cat <<EOF into a sources file (> or | tee,
 * >> and tee -a append), sed -i on /etc/apt/sources.list* and
 * /etc/apk/repositories, add-apt-repository, npm/yarn/pnpm config set registry,
 * pip config set, go env -w GOPROXY. NAME=value and export NAME=value hold for
 * the rest of the RUN line.
 */
#ifndef SW_PROFILE_RUN_H
#define SW_PROFILE_RUN_H

#include "actors/builder/profile/profile_stage.h"

#include <stddef.h>

/* Reads text[begin..end) as a RUN line's shell script (df->segs map its offsets). */
void sw_profile_run(sw_profile_df *df, const char *text, size_t begin, size_t end);

#endif

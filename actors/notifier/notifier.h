/*
 * notifier.h - the notifier actor: sets each build's commit status on its
 * project's forge (GitHub, GitLab, Gitea/Forgejo, Bitbucket Cloud and Server).
 *
 * Reads:   EVENTS  sw.events.>  BuildEvent (ordered follow from the sequence it
 *                  stored last; no durable consumer)
 * Writes:  HTTP POSTs to the forges' status APIs (actors/notifier/status.h);
 *          LOGS    sw.logs.<tenant>.<build>  LogChunk, one SYSTEM line, when a
 *                  status could not be set (attempt SW_NOTIFIER_LOG_ATTEMPT)
 * Owns:    $data_dir/notifier (LMDB): per build its folded record and the last
 *          status settled; the EVENTS sequence folded so far
 * Config:  projects[].forge (type, repo, token, api_url, context; no token: no
 *          statuses), webhook.public_url (build links), notifier.attempts,
 *          .timeout, .backoff; retention.events_max_age (pruning)
 */
#ifndef SW_NOTIFIER_H
#define SW_NOTIFIER_H

#include "actors/actors.h"

#include <stdint.h>

/* The attempt number of the notifier's own log chunks (see notifier.c). */
#define SW_NOTIFIER_LOG_ATTEMPT UINT32_MAX

extern const sw_actor_impl sw_notifier_impl;

#endif

/*
 * logsink.h - the logsink actor: archives every build's log and serves it back.
 *
 * Reads:   LOGS  sw.logs.<tenant>.<build>  LogChunk (durable "logsink", pulled);
 *                a chunk is acked only after the batch it was written in is
 *                committed (up to 256 chunks / 8 MiB / 15 ms a commit); a stale
 *                chunk (a superseded attempt's, see archive.h) is acked, not kept
 *          core  sw.api.logs               ApiRequest{build_id, after_attempt, after_seq}
 * Writes:  the reply: ApiReply{chunks, more}, at most ~960 KiB of chunks a reply (the stored
 *          bytes as they are, not unpacked and packed again)
 */
#ifndef SW_LOGSINK_H
#define SW_LOGSINK_H

#include "actors/actors.h"

#endif

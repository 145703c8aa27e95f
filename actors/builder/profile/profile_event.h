/*
 * profile_event.h - a build's source profile as it goes on its FINISHED event.
 */
#ifndef SW_PROFILE_EVENT_H
#define SW_PROFILE_EVENT_H

#include "actors/builder/profile/profile.h"
#include "slipway.pb-c.h"

/* The message for p; its strings are p's, project's and branch's (borrowed:
 * keep them until it is freed with sw_profile_event_free). */
Slipway__SourceProfile *sw_profile_event(const sw_profile *p, const char *project,
                                         const char *branch);
void sw_profile_event_free(Slipway__SourceProfile **msg_p);

/* "docker.io ×2, pypi.org" into buf: each host once, the most named first. */
const char *sw_profile_summary(const sw_profile *p, char *buf, size_t n);

#endif

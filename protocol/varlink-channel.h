/* VarlinkChannel: an asynchronous varlink client connection on an sd-event loop, for a
 * service that must never block on its peers (stage0d talking to its workers). Calls may be
 * pipelined; each reply goes to the callback of the call it answers, in order. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>
#include <json-c/json.h>

#include "varlink-client.h"

typedef struct VarlinkChannel VarlinkChannel;

/* Called for each reply of a call; reply->continues says whether more follow. When the
 * channel fails before the final reply, called once more with r < 0 (-ECONNRESET, -EBADMSG,
 * ...) and reply NULL. The callback may free the channel. */
typedef void (*VarlinkReplyFn)(VarlinkChannel *ch, int r, const VarlinkReply *reply,
                               void *userdata);
/* Called once when the channel fails or the peer closes; r is the reason (0 for a clean EOF
 * with no call pending). The callback may free the channel. */
typedef void (*VarlinkChannelClosedFn)(VarlinkChannel *ch, int r, void *userdata);

/* Takes over fd, a connected stream socket. */
int varlink_channel_new(VarlinkChannel **ret, sd_event *event, int fd);
int varlink_channel_connect(VarlinkChannel **ret, sd_event *event, const char *address);
/* No callbacks run after this: calls still pending are dropped silently. */
VarlinkChannel *varlink_channel_free(VarlinkChannel *ch);
void varlink_channel_set_closed(VarlinkChannel *ch, VarlinkChannelClosedFn fn, void *userdata);
/* parameters is borrowed. flags: VARLINK_CALL_MORE or VARLINK_CALL_ONEWAY (no callback). */
int varlink_channel_call(VarlinkChannel *ch, const char *method, json_object *parameters,
                         unsigned flags, VarlinkReplyFn fn, void *userdata);
unsigned varlink_channel_n_pending(const VarlinkChannel *ch);

/* owl-limits-private.h: limits every service carries, and modules override
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib-object.h>

#include "owl-module.h"
#include "owl-transport-private.h"

G_BEGIN_DECLS

/* Defaults for a server on the open internet; README's table lists them. */
#define OWL_DEFAULT_MAX_MESSAGE_SIZE    (1024 * 1024)
#define OWL_DEFAULT_MAX_JSON_DEPTH      64
#define OWL_DEFAULT_PING_INTERVAL       30
#define OWL_DEFAULT_PONG_TIMEOUT        10
#define OWL_DEFAULT_IDLE_TIMEOUT        300
#define OWL_DEFAULT_MAX_BUFFERED_AMOUNT (4 * 1024 * 1024)
#define OWL_DEFAULT_RATE_LIMIT          100.0
#define OWL_DEFAULT_RATE_BURST          200
#define OWL_DEFAULT_MAX_CONNECTIONS        10000
#define OWL_DEFAULT_MAX_CONNECTIONS_PER_IP 100
#define OWL_DEFAULT_MAX_CONNECTIONS_PER_USER 20
#define OWL_DEFAULT_AUTH_EXPIRY_NOTICE     60
#define OWL_DEFAULT_HANDSHAKE_TIMEOUT      10
#define OWL_DEFAULT_MAX_HANDSHAKE_SIZE     (16 * 1024)

typedef struct
{
  gint64          max_message_size;
  gint            max_json_depth;
  gint            ping_interval;
  gint            pong_timeout;
  gint            idle_timeout;
  gint64          max_buffered_amount;
  OwlBackpressure backpressure;
  gdouble         rate_limit;       /* messages per second; 0: none */
  gint            rate_burst;
} OwlLimits;

/* Property ids, relative to the first one a class gives. */
enum {
  OWL_LIMIT_MAX_MESSAGE_SIZE,
  OWL_LIMIT_MAX_JSON_DEPTH,
  OWL_LIMIT_PING_INTERVAL,
  OWL_LIMIT_PONG_TIMEOUT,
  OWL_LIMIT_IDLE_TIMEOUT,
  OWL_LIMIT_MAX_BUFFERED_AMOUNT,
  OWL_LIMIT_BACKPRESSURE,
  OWL_LIMIT_RATE_LIMIT,
  OWL_LIMIT_RATE_BURST,
  OWL_N_LIMITS
};

/* For a service (@inherit FALSE: real defaults) or a module (@inherit TRUE:
 * -1 and OWL_BACKPRESSURE_INHERIT mean "as the service"). */
void     owl_limits_init               (OwlLimits    *limits,
                                        gboolean      inherit);
void     owl_limits_install_properties (GObjectClass *klass,
                                        guint         first_prop_id,
                                        gboolean      inherit);
gboolean owl_limits_get_property       (const OwlLimits *limits,
                                        guint         first_prop_id,
                                        guint         prop_id,
                                        GValue       *value);
gboolean owl_limits_set_property       (OwlLimits    *limits,
                                        guint         first_prop_id,
                                        guint         prop_id,
                                        const GValue *value,
                                        gboolean     *changed);
void     owl_limits_resolve            (const OwlLimits *service,
                                        const OwlLimits *module,
                                        OwlLimits       *out);
/* What of @limits the transport enforces; @deflate: negotiated, or NULL. */
void     owl_limits_to_transport       (const OwlLimits        *limits,
                                        const OwlDeflateParams *deflate,
                                        OwlTransportLimits     *out);

/* The rate limit of one connection: a token bucket refilled at @rate a
 * second, holding at most @burst. */
typedef struct
{
  gdouble rate;              /* 0: no limit */
  gint    burst;
  gdouble tokens;
  gint64  at;                /* monotonic µs of the last refill */
  guint   refused_in_a_row;
} OwlTokenBucket;

typedef enum
{
  OWL_TOKEN_TAKEN,
  OWL_TOKEN_REFUSED,         /* over the rate: answer, do not handle */
  OWL_TOKEN_ABUSE,           /* more than a burst of refusals in a row */
} OwlTokenResult;

void           owl_token_bucket_init (OwlTokenBucket *bucket,
                                      gdouble         rate,
                                      gint            burst);
OwlTokenResult owl_token_bucket_take (OwlTokenBucket *bucket);

G_END_DECLS

/* owl-limits-private.h: limits every service carries, and modules override
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib-object.h>

#include "owl-module.h"
#include "owl-transport-private.h"

G_BEGIN_DECLS

/* Every limit, as the service (and a module, for the per-module ones)
 * holds it; owl-limits.c's table gives each its property, range and
 * default. */
typedef struct
{
  /* Per module: in a module's limits, -1 (OWL_BACKPRESSURE_INHERIT for the
   * policy) means "as the service". */
  gint64          max_message_size;
  gint            max_json_depth;
  gint            ping_interval;
  gint            pong_timeout;
  gint            idle_timeout;
  gint64          max_buffered_amount;
  OwlBackpressure backpressure;
  gdouble         rate_limit;       /* messages per second; 0: none */
  gint            rate_burst;

  /* Service-wide: a module has no such properties, its copy stays -1. */
  gint            max_connections;
  gint            max_connections_per_ip;
  gint            max_connections_per_user;
  gint            auth_expiry_notice;  /* seconds */
  gint            handshake_timeout;   /* seconds */
  gint            max_handshake_size;  /* bytes */
} OwlLimits;

/* One row of the table: a limit's property. */
typedef enum
{
  OWL_LIMIT_INT,
  OWL_LIMIT_INT64,
  OWL_LIMIT_DOUBLE,
  OWL_LIMIT_BACKPRESSURE,
} OwlLimitType;

typedef union
{
  gint64  i;                 /* OWL_LIMIT_INT, _INT64, _BACKPRESSURE */
  gdouble d;                 /* OWL_LIMIT_DOUBLE */
} OwlLimitValue;

typedef struct
{
  const char    *name;
  OwlLimitType   type;
  gsize          offset;     /* in OwlLimits */
  OwlLimitValue  minimum;    /* the service's; a module's is -1 */
  OwlLimitValue  maximum;
  OwlLimitValue  default_value;  /* the service's; a module's is -1 or INHERIT */
  gboolean       per_module;
} OwlLimitRow;

const OwlLimitRow *owl_limits_get_table (guint *n_rows);

/* For a service (@inherit FALSE: the defaults) or a module (@inherit TRUE:
 * -1 and OWL_BACKPRESSURE_INHERIT, "as the service"). */
void     owl_limits_init               (OwlLimits    *limits,
                                        gboolean      inherit);
/* A module (@inherit TRUE) gets the per-module rows only. Row i is
 * property @first_prop_id + i. */
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
/* @value is initialised to the row's property type. */
void     owl_limits_get_value          (const OwlLimits   *limits,
                                        const OwlLimitRow *row,
                                        GValue            *value);
/* @out: the module's per-module values where it has one, the service's
 * for the rest. */
void     owl_limits_resolve            (const OwlLimits *service,
                                        const OwlLimits *module,
                                        OwlLimits       *out);
/* Every row the same in both. */
gboolean owl_limits_equal              (const OwlLimits *a,
                                        const OwlLimits *b);
/* What of @limits the transport enforces; @deflate: negotiated, or NULL. */
void     owl_limits_to_transport       (const OwlLimits        *limits,
                                        const OwlDeflateParams *deflate,
                                        OwlTransportLimits     *out);

/* The rate limit of one connection: a token bucket refilled at @rate a
 * second, holding at most @burst. */
typedef struct
{
  gdouble rate;              /* 0: no limit */
  gdouble tokens;
  gint64  at;                /* monotonic µs of the last refill */
  gint    burst;
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

/* owl-limits.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The same limit properties sit on OwlSocketService (the defaults) and
 * OwlModule (overrides); one table installs and reads both.
 */

#include <string.h>

#include "owl-enums.h"
#include "owl-limits-private.h"

void
owl_limits_init (OwlLimits *limits,
                 gboolean   inherit)
{
  if (inherit)
    {
      *limits = (OwlLimits) { -1, -1, -1, -1, -1, -1, OWL_BACKPRESSURE_INHERIT, -1, -1 };
      return;
    }

  *limits = (OwlLimits) {
    OWL_DEFAULT_MAX_MESSAGE_SIZE,
    OWL_DEFAULT_MAX_JSON_DEPTH,
    OWL_DEFAULT_PING_INTERVAL,
    OWL_DEFAULT_PONG_TIMEOUT,
    OWL_DEFAULT_IDLE_TIMEOUT,
    OWL_DEFAULT_MAX_BUFFERED_AMOUNT,
    OWL_BACKPRESSURE_CLOSE,
    OWL_DEFAULT_RATE_LIMIT,
    OWL_DEFAULT_RATE_BURST,
  };
}

void
owl_limits_install_properties (GObjectClass *klass,
                               guint         first,
                               gboolean      inherit)
{
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  gint lo = inherit ? -1 : 0;
  OwlLimits d;

  owl_limits_init (&d, inherit);

  /* Message size and depth cannot be switched off, only raised. */
  g_object_class_install_property (klass, first + OWL_LIMIT_MAX_MESSAGE_SIZE,
    g_param_spec_int64 ("max-message-size", NULL, NULL,
                        inherit ? -1 : 1, G_MAXINT64, d.max_message_size, flags));
  g_object_class_install_property (klass, first + OWL_LIMIT_MAX_JSON_DEPTH,
    g_param_spec_int ("max-json-depth", NULL, NULL,
                      inherit ? -1 : 1, 10000, d.max_json_depth, flags));
  g_object_class_install_property (klass, first + OWL_LIMIT_PING_INTERVAL,
    g_param_spec_int ("ping-interval", NULL, NULL, lo, G_MAXINT / 2, d.ping_interval, flags));
  g_object_class_install_property (klass, first + OWL_LIMIT_PONG_TIMEOUT,
    g_param_spec_int ("pong-timeout", NULL, NULL, inherit ? -1 : 1, G_MAXINT / 2, d.pong_timeout, flags));
  g_object_class_install_property (klass, first + OWL_LIMIT_IDLE_TIMEOUT,
    g_param_spec_int ("idle-timeout", NULL, NULL, lo, G_MAXINT / 2, d.idle_timeout, flags));
  g_object_class_install_property (klass, first + OWL_LIMIT_MAX_BUFFERED_AMOUNT,
    g_param_spec_int64 ("max-buffered-amount", NULL, NULL,
                        inherit ? -1 : 1, G_MAXINT64, d.max_buffered_amount, flags));
  g_object_class_install_property (klass, first + OWL_LIMIT_BACKPRESSURE,
    g_param_spec_enum ("backpressure", NULL, NULL, OWL_TYPE_BACKPRESSURE, d.backpressure, flags));
  g_object_class_install_property (klass, first + OWL_LIMIT_RATE_LIMIT,
    g_param_spec_double ("rate-limit", NULL, NULL, lo, G_MAXDOUBLE, d.rate_limit, flags));
  g_object_class_install_property (klass, first + OWL_LIMIT_RATE_BURST,
    g_param_spec_int ("rate-burst", NULL, NULL, inherit ? -1 : 1, G_MAXINT, d.rate_burst, flags));
}

gboolean
owl_limits_get_property (const OwlLimits *limits,
                         guint            first,
                         guint            prop_id,
                         GValue          *value)
{
  if (prop_id < first || prop_id >= first + OWL_N_LIMITS)
    return FALSE;

  switch (prop_id - first)
    {
    case OWL_LIMIT_MAX_MESSAGE_SIZE:    g_value_set_int64 (value, limits->max_message_size); break;
    case OWL_LIMIT_MAX_JSON_DEPTH:      g_value_set_int (value, limits->max_json_depth); break;
    case OWL_LIMIT_PING_INTERVAL:       g_value_set_int (value, limits->ping_interval); break;
    case OWL_LIMIT_PONG_TIMEOUT:        g_value_set_int (value, limits->pong_timeout); break;
    case OWL_LIMIT_IDLE_TIMEOUT:        g_value_set_int (value, limits->idle_timeout); break;
    case OWL_LIMIT_MAX_BUFFERED_AMOUNT: g_value_set_int64 (value, limits->max_buffered_amount); break;
    case OWL_LIMIT_BACKPRESSURE:        g_value_set_enum (value, limits->backpressure); break;
    case OWL_LIMIT_RATE_LIMIT:          g_value_set_double (value, limits->rate_limit); break;
    case OWL_LIMIT_RATE_BURST:          g_value_set_int (value, limits->rate_burst); break;
    default: g_assert_not_reached ();
    }
  return TRUE;
}

gboolean
owl_limits_set_property (OwlLimits    *limits,
                         guint         first,
                         guint         prop_id,
                         const GValue *value,
                         gboolean     *changed)
{
  OwlLimits before = *limits;

  if (prop_id < first || prop_id >= first + OWL_N_LIMITS)
    return FALSE;

  switch (prop_id - first)
    {
    case OWL_LIMIT_MAX_MESSAGE_SIZE:    limits->max_message_size = g_value_get_int64 (value); break;
    case OWL_LIMIT_MAX_JSON_DEPTH:      limits->max_json_depth = g_value_get_int (value); break;
    case OWL_LIMIT_PING_INTERVAL:       limits->ping_interval = g_value_get_int (value); break;
    case OWL_LIMIT_PONG_TIMEOUT:        limits->pong_timeout = g_value_get_int (value); break;
    case OWL_LIMIT_IDLE_TIMEOUT:        limits->idle_timeout = g_value_get_int (value); break;
    case OWL_LIMIT_MAX_BUFFERED_AMOUNT: limits->max_buffered_amount = g_value_get_int64 (value); break;
    case OWL_LIMIT_BACKPRESSURE:        limits->backpressure = g_value_get_enum (value); break;
    case OWL_LIMIT_RATE_LIMIT:          limits->rate_limit = g_value_get_double (value); break;
    case OWL_LIMIT_RATE_BURST:          limits->rate_burst = g_value_get_int (value); break;
    default: g_assert_not_reached ();
    }
  *changed = memcmp (&before, limits, sizeof before) != 0;
  return TRUE;
}

void
owl_limits_resolve (const OwlLimits *service,
                    const OwlLimits *module,
                    OwlLimits       *out)
{
#define PICK(field) out->field = module->field >= 0 ? module->field : service->field
  PICK (max_message_size);
  PICK (max_json_depth);
  PICK (ping_interval);
  PICK (pong_timeout);
  PICK (idle_timeout);
  PICK (max_buffered_amount);
  PICK (rate_limit);
  PICK (rate_burst);
#undef PICK
  out->backpressure = module->backpressure != OWL_BACKPRESSURE_INHERIT ? module->backpressure
                                                                        : service->backpressure;
}

void
owl_limits_to_transport (const OwlLimits        *limits,
                         const OwlDeflateParams *deflate,
                         OwlTransportLimits     *out)
{
  *out = (OwlTransportLimits) {
    .max_message_size = limits->max_message_size,
    .ping_interval_s = limits->ping_interval,
    .pong_timeout_s = limits->pong_timeout,
    .idle_timeout_s = limits->idle_timeout,
    .max_buffered = limits->max_buffered_amount,
    .full_policy = limits->backpressure == OWL_BACKPRESSURE_DROP ? OWL_TRANSPORT_FULL_DROP
                                                                 : OWL_TRANSPORT_FULL_CLOSE,
    .deflate = deflate,
  };
}

void
owl_token_bucket_init (OwlTokenBucket *bucket,
                       gdouble         rate,
                       gint            burst)
{
  bucket->rate = rate;
  bucket->burst = burst;
  bucket->tokens = burst;
  bucket->at = g_get_monotonic_time ();
  bucket->refused_in_a_row = 0;
}

OwlTokenResult
owl_token_bucket_take (OwlTokenBucket *bucket)
{
  gint64 now;

  if (bucket->rate <= 0)
    return OWL_TOKEN_TAKEN;

  now = g_get_monotonic_time ();
  bucket->tokens = MIN (bucket->burst, bucket->tokens + (now - bucket->at) * bucket->rate / G_USEC_PER_SEC);
  bucket->at = now;

  if (bucket->tokens >= 1.0)
    {
      bucket->tokens -= 1.0;
      bucket->refused_in_a_row = 0;
      return OWL_TOKEN_TAKEN;
    }
  return ++bucket->refused_in_a_row > (guint) bucket->burst ? OWL_TOKEN_ABUSE : OWL_TOKEN_REFUSED;
}

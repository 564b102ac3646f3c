/* owl-limits.c: the limits, one table row each
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The same limit properties sit on OwlSocketService (the defaults, and the
 * service-wide limits) and OwlModule (overrides of the per-module ones);
 * the table below installs, reads, writes and resolves them all, and its
 * doc blocks are the properties' documentation (this file is among the
 * sources g-ir-scanner reads).
 *
 * To add a limit: add a field to OwlLimits (owl-limits-private.h), a row
 * here with its `OwlSocketService:name:` doc block right above it (and an
 * `OwlModule:name:` block when the row is per-module), and enforce it where
 * the value is read: a per-connection limit from the connection's resolved
 * limits (OwlConnectionHost.limits, which owl_limits_resolve() fills when
 * the connection is accepted; pass it on in owl_limits_to_transport() when
 * the frame layer enforces it), a service-wide one from the service's own
 * OwlSocketService.limits (and if something keeps a copy of it, refresh
 * that copy in owl-socket-service.c's limits_changed()). Then add it to
 * README's "Defaults" and to the expected rows of
 * tests/c/test-limits-table.c. The properties, their get, set and notify,
 * and the module's override follow from the row.
 */

#include <string.h>

#include "owl-enums.h"
#include "owl-limits-private.h"

#define FIELD(f)     G_STRUCT_OFFSET (OwlLimits, f)
#define I(v)         { .i = (v) }
#define D(v)         { .d = (v) }
#define ANY_VALUE    I (0), I (0)   /* an enum: its values are its range */
#define PER_MODULE   TRUE
#define SERVICE_ONLY FALSE

/* A row: property, type, field; the service's minimum, maximum and default
 * (a module's property goes from -1 and defaults to -1, or INHERIT); and
 * whether a module may override it. A minimum of 1 means that the limit
 * cannot be switched off, as message size and depth cannot. */
static const OwlLimitRow rows[] = {
  /**
   * OwlSocketService:max-message-size:
   *
   * The largest message a client may send, in bytes, counted after
   * reassembling fragments and after decompression. A larger one closes
   * the connection with 1009. Modules may override it.
   *
   * Since: 0.1
   */
  /**
   * OwlModule:max-message-size:
   *
   * Overrides [property@Owlsock.SocketService:max-message-size] for this
   * module's connections; -1 keeps the service's value.
   *
   * Since: 0.1
   */
  { "max-message-size", OWL_LIMIT_INT64, FIELD (max_message_size),
    I (1), I (G_MAXINT64), I (1024 * 1024), PER_MODULE },

  /**
   * OwlSocketService:max-json-depth:
   *
   * The deepest nesting of arrays and objects in a JSON message; a deeper
   * message is answered with a `too-deep` error frame.
   *
   * Since: 0.1
   */
  /**
   * OwlModule:max-json-depth:
   *
   * Overrides [property@Owlsock.SocketService:max-json-depth]; -1 keeps the
   * service's value.
   *
   * Since: 0.1
   */
  { "max-json-depth", OWL_LIMIT_INT, FIELD (max_json_depth),
    I (1), I (10000), I (64), PER_MODULE },

  /**
   * OwlSocketService:ping-interval:
   *
   * Seconds between the server's WebSocket pings; 0 sends none.
   *
   * Since: 0.1
   */
  /**
   * OwlModule:ping-interval:
   *
   * Overrides [property@Owlsock.SocketService:ping-interval]; -1 keeps the
   * service's value.
   *
   * Since: 0.1
   */
  { "ping-interval", OWL_LIMIT_INT, FIELD (ping_interval),
    I (0), I (G_MAXINT / 2), I (30), PER_MODULE },

  /**
   * OwlSocketService:pong-timeout:
   *
   * Seconds a client has to answer a ping; a client that does not is closed
   * with 4408.
   *
   * Since: 0.1
   */
  /**
   * OwlModule:pong-timeout:
   *
   * Overrides [property@Owlsock.SocketService:pong-timeout]; -1 keeps the
   * service's value.
   *
   * Since: 0.1
   */
  { "pong-timeout", OWL_LIMIT_INT, FIELD (pong_timeout),
    I (1), I (G_MAXINT / 2), I (10), PER_MODULE },

  /**
   * OwlSocketService:idle-timeout:
   *
   * Seconds without any frame from the client (pongs count) after which the
   * connection is closed with 1001; 0 for none.
   *
   * Since: 0.1
   */
  /**
   * OwlModule:idle-timeout:
   *
   * Overrides [property@Owlsock.SocketService:idle-timeout]; -1 keeps the
   * service's value.
   *
   * Since: 0.1
   */
  { "idle-timeout", OWL_LIMIT_INT, FIELD (idle_timeout),
    I (0), I (G_MAXINT / 2), I (300), PER_MODULE },

  /**
   * OwlSocketService:max-buffered-amount:
   *
   * The most outgoing bytes a connection may have queued because the client
   * does not read; see [property@Owlsock.SocketService:backpressure].
   *
   * Since: 0.1
   */
  /**
   * OwlModule:max-buffered-amount:
   *
   * Overrides [property@Owlsock.SocketService:max-buffered-amount]; -1
   * keeps the service's value.
   *
   * Since: 0.1
   */
  { "max-buffered-amount", OWL_LIMIT_INT64, FIELD (max_buffered_amount),
    I (1), I (G_MAXINT64), I (4 * 1024 * 1024), PER_MODULE },

  /**
   * OwlSocketService:backpressure:
   *
   * What happens to a message that would pass
   * [property@Owlsock.SocketService:max-buffered-amount]: close the
   * connection with 1013 (the default) or drop the message.
   *
   * Since: 0.1
   */
  /**
   * OwlModule:backpressure:
   *
   * Overrides [property@Owlsock.SocketService:backpressure];
   * %OWL_BACKPRESSURE_INHERIT keeps the service's policy.
   *
   * Since: 0.1
   */
  { "backpressure", OWL_LIMIT_BACKPRESSURE, FIELD (backpressure),
    ANY_VALUE, I (OWL_BACKPRESSURE_CLOSE), PER_MODULE },

  /**
   * OwlSocketService:rate-limit:
   *
   * Messages per second a connection may send (a token bucket refilled at
   * this rate); 0 for no limit. A message over it is not handled and is
   * answered with a `rate-limited` error frame.
   *
   * Since: 0.1
   */
  /**
   * OwlModule:rate-limit:
   *
   * Overrides [property@Owlsock.SocketService:rate-limit]; -1 keeps the
   * service's value.
   *
   * Since: 0.1
   */
  { "rate-limit", OWL_LIMIT_DOUBLE, FIELD (rate_limit),
    D (0), D (G_MAXDOUBLE), D (100.0), PER_MODULE },

  /**
   * OwlSocketService:rate-burst:
   *
   * The token bucket's size: how many messages may come at once. A
   * connection that keeps sending after more than this many messages in a
   * row were refused is closed with 1008.
   *
   * Since: 0.1
   */
  /**
   * OwlModule:rate-burst:
   *
   * Overrides [property@Owlsock.SocketService:rate-burst]; -1 keeps the
   * service's value.
   *
   * Since: 0.1
   */
  { "rate-burst", OWL_LIMIT_INT, FIELD (rate_burst),
    I (1), I (G_MAXINT), I (200), PER_MODULE },

  /**
   * OwlSocketService:max-connections:
   *
   * The most connections open at once; an upgrade beyond it is answered
   * with HTTP 503. It is also kept under the process' descriptor limit.
   *
   * Since: 0.1
   */
  { "max-connections", OWL_LIMIT_INT, FIELD (max_connections),
    I (1), I (G_MAXINT), I (10000), SERVICE_ONLY },

  /**
   * OwlSocketService:max-connections-per-ip:
   *
   * The most connections open at once from one remote address; an upgrade
   * beyond it is answered with HTTP 429.
   *
   * Since: 0.1
   */
  { "max-connections-per-ip", OWL_LIMIT_INT, FIELD (max_connections_per_ip),
    I (1), I (G_MAXINT), I (100), SERVICE_ONLY },

  /**
   * OwlSocketService:max-connections-per-user:
   *
   * The most connections open at once for one authenticated user (the
   * [property@Owlsock.Auth:user-id] a guard found); an upgrade beyond it is
   * answered with HTTP 429, after the guard and before the gates.
   *
   * Since: 0.1
   */
  { "max-connections-per-user", OWL_LIMIT_INT, FIELD (max_connections_per_user),
    I (1), I (G_MAXINT), I (20), SERVICE_ONLY },

  /**
   * OwlSocketService:auth-expiry-notice:
   *
   * Seconds before an identity's [property@Owlsock.Auth:expires-at] when
   * its connection receives the `system` event `auth-expiring`, so the
   * client can refresh its token before the connection is closed with 4001.
   *
   * Since: 0.1
   */
  { "auth-expiry-notice", OWL_LIMIT_INT, FIELD (auth_expiry_notice),
    I (0), I (G_MAXINT / 2), I (60), SERVICE_ONLY },

  /**
   * OwlSocketService:handshake-timeout:
   *
   * Seconds a client of the service's own listener has to send its request;
   * a slower one (slowloris) is dropped.
   *
   * Since: 0.1
   */
  { "handshake-timeout", OWL_LIMIT_INT, FIELD (handshake_timeout),
    I (1), I (G_MAXINT / 2), I (10), SERVICE_ONLY },

  /**
   * OwlSocketService:max-handshake-size:
   *
   * The most bytes of a request (its line and headers) the service's own
   * listener reads before the upgrade; a larger request is answered with
   * HTTP 431 and dropped.
   *
   * Since: 0.1
   */
  { "max-handshake-size", OWL_LIMIT_INT, FIELD (max_handshake_size),
    I (1024), I (G_MAXINT), I (16 * 1024), SERVICE_ONLY },
};

const OwlLimitRow *
owl_limits_get_table (guint *n_rows)
{
  *n_rows = G_N_ELEMENTS (rows);
  return rows;
}

static const OwlLimitRow *
row_for_prop (guint first,
              guint prop_id)
{
  if (prop_id < first || prop_id - first >= G_N_ELEMENTS (rows))
    return NULL;
  return &rows[prop_id - first];
}

/* What a module holds for "as the service". */
static OwlLimitValue
inherit_value (const OwlLimitRow *row)
{
  switch (row->type)
    {
    case OWL_LIMIT_DOUBLE:       return (OwlLimitValue) { .d = -1 };
    case OWL_LIMIT_BACKPRESSURE: return (OwlLimitValue) { .i = OWL_BACKPRESSURE_INHERIT };
    case OWL_LIMIT_INT:
    case OWL_LIMIT_INT64:
    default:                     return (OwlLimitValue) { .i = -1 };
    }
}

static OwlLimitValue
load (const OwlLimits   *limits,
      const OwlLimitRow *row)
{
  gconstpointer field = G_STRUCT_MEMBER_P (limits, row->offset);

  switch (row->type)
    {
    case OWL_LIMIT_INT:          return (OwlLimitValue) { .i = *(const gint *) field };
    case OWL_LIMIT_INT64:        return (OwlLimitValue) { .i = *(const gint64 *) field };
    case OWL_LIMIT_DOUBLE:       return (OwlLimitValue) { .d = *(const gdouble *) field };
    case OWL_LIMIT_BACKPRESSURE: return (OwlLimitValue) { .i = *(const OwlBackpressure *) field };
    default:                     g_assert_not_reached ();
    }
}

static void
store (OwlLimits         *limits,
       const OwlLimitRow *row,
       OwlLimitValue      value)
{
  gpointer field = G_STRUCT_MEMBER_P (limits, row->offset);

  switch (row->type)
    {
    case OWL_LIMIT_INT:          *(gint *) field = value.i; break;
    case OWL_LIMIT_INT64:        *(gint64 *) field = value.i; break;
    case OWL_LIMIT_DOUBLE:       *(gdouble *) field = value.d; break;
    case OWL_LIMIT_BACKPRESSURE: *(OwlBackpressure *) field = value.i; break;
    default:                     g_assert_not_reached ();
    }
}

static gboolean
same_value (const OwlLimitRow *row,
            OwlLimitValue      a,
            OwlLimitValue      b)
{
  return row->type == OWL_LIMIT_DOUBLE ? a.d == b.d : a.i == b.i;
}

void
owl_limits_init (OwlLimits *limits,
                 gboolean   inherit)
{
  memset (limits, 0, sizeof *limits);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    store (limits, &rows[i], inherit ? inherit_value (&rows[i]) : rows[i].default_value);
}

static GParamSpec *
row_pspec (const OwlLimitRow *row,
           gboolean           inherit)
{
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  OwlLimitValue lo = inherit ? inherit_value (row) : row->minimum;
  OwlLimitValue hi = row->maximum;
  OwlLimitValue def = inherit ? inherit_value (row) : row->default_value;

  switch (row->type)
    {
    case OWL_LIMIT_INT:
      return g_param_spec_int (row->name, NULL, NULL, lo.i, hi.i, def.i, flags);
    case OWL_LIMIT_INT64:
      return g_param_spec_int64 (row->name, NULL, NULL, lo.i, hi.i, def.i, flags);
    case OWL_LIMIT_DOUBLE:
      return g_param_spec_double (row->name, NULL, NULL, lo.d, hi.d, def.d, flags);
    case OWL_LIMIT_BACKPRESSURE:
      return g_param_spec_enum (row->name, NULL, NULL, OWL_TYPE_BACKPRESSURE, def.i, flags);
    default:
      g_assert_not_reached ();
    }
}

void
owl_limits_install_properties (GObjectClass *klass,
                               guint         first,
                               gboolean      inherit)
{
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      if (inherit && !rows[i].per_module)
        continue;
      g_object_class_install_property (klass, first + i, row_pspec (&rows[i], inherit));
    }
}

void
owl_limits_get_value (const OwlLimits   *limits,
                      const OwlLimitRow *row,
                      GValue            *value)
{
  OwlLimitValue v = load (limits, row);

  switch (row->type)
    {
    case OWL_LIMIT_INT:          g_value_set_int (value, v.i); break;
    case OWL_LIMIT_INT64:        g_value_set_int64 (value, v.i); break;
    case OWL_LIMIT_DOUBLE:       g_value_set_double (value, v.d); break;
    case OWL_LIMIT_BACKPRESSURE: g_value_set_enum (value, v.i); break;
    default:                     g_assert_not_reached ();
    }
}

gboolean
owl_limits_get_property (const OwlLimits *limits,
                         guint            first,
                         guint            prop_id,
                         GValue          *value)
{
  const OwlLimitRow *row = row_for_prop (first, prop_id);

  if (row == NULL)
    return FALSE;
  owl_limits_get_value (limits, row, value);
  return TRUE;
}

static OwlLimitValue
from_gvalue (const OwlLimitRow *row,
             const GValue      *value)
{
  switch (row->type)
    {
    case OWL_LIMIT_INT:          return (OwlLimitValue) { .i = g_value_get_int (value) };
    case OWL_LIMIT_INT64:        return (OwlLimitValue) { .i = g_value_get_int64 (value) };
    case OWL_LIMIT_DOUBLE:       return (OwlLimitValue) { .d = g_value_get_double (value) };
    case OWL_LIMIT_BACKPRESSURE: return (OwlLimitValue) { .i = g_value_get_enum (value) };
    default:                     g_assert_not_reached ();
    }
}

gboolean
owl_limits_set_property (OwlLimits    *limits,
                         guint         first,
                         guint         prop_id,
                         const GValue *value,
                         gboolean     *changed)
{
  const OwlLimitRow *row = row_for_prop (first, prop_id);
  OwlLimitValue v;

  if (row == NULL)
    return FALSE;
  v = from_gvalue (row, value);
  *changed = !same_value (row, load (limits, row), v);
  store (limits, row, v);
  return TRUE;
}

/* -1 (or INHERIT) in a module: as the service. */
static gboolean
module_has_value (const OwlLimits   *module,
                  const OwlLimitRow *row)
{
  OwlLimitValue v = load (module, row);

  switch (row->type)
    {
    case OWL_LIMIT_DOUBLE:       return v.d >= 0;
    case OWL_LIMIT_BACKPRESSURE: return v.i != OWL_BACKPRESSURE_INHERIT;
    case OWL_LIMIT_INT:
    case OWL_LIMIT_INT64:
    default:                     return v.i >= 0;
    }
}

void
owl_limits_resolve (const OwlLimits *service,
                    const OwlLimits *module,
                    OwlLimits       *out)
{
  *out = *service;
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      if (rows[i].per_module && module_has_value (module, &rows[i]))
        store (out, &rows[i], load (module, &rows[i]));
    }
}

gboolean
owl_limits_equal (const OwlLimits *a,
                  const OwlLimits *b)
{
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      OwlLimitValue x = load (a, &rows[i]), y = load (b, &rows[i]);

      if (rows[i].type == OWL_LIMIT_DOUBLE ? x.d != y.d : x.i != y.i)
        return FALSE;
    }
  return TRUE;
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

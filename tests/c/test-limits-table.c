/* test-limits-table.c: every row of owl-limits.c's table, as properties
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The expected rows are what Python and GJS scripts rely on (README's
 * "Defaults"); they are written here by hand so that a changed row fails a
 * test instead of quietly changing the API. The rest runs over the table.
 */

#include "owl-test-checks.h"
#include "owl-test-util.h"
#include "owl-limits-private.h"
#include "owl-module-private.h"
#include "owl-socket-service-private.h"

typedef struct
{
  const char *name;
  const char *service;  /* the pspec as describe() prints it */
  const char *module;   /* NULL: service-only */
} Expected;

static const Expected expected[] = {
  { "max-message-size", "gint64 1..9223372036854775807 =1048576", "gint64 -1..9223372036854775807 =-1" },
  { "max-json-depth", "gint 1..10000 =64", "gint -1..10000 =-1" },
  { "ping-interval", "gint 0..1073741823 =30", "gint -1..1073741823 =-1" },
  { "pong-timeout", "gint 1..1073741823 =10", "gint -1..1073741823 =-1" },
  { "idle-timeout", "gint 0..1073741823 =300", "gint -1..1073741823 =-1" },
  { "max-buffered-amount", "gint64 1..9223372036854775807 =4194304", "gint64 -1..9223372036854775807 =-1" },
  { "backpressure", "OwlBackpressure =close", "OwlBackpressure =inherit" },
  { "rate-limit", "gdouble 0..1.7976931348623157e+308 =100", "gdouble -1..1.7976931348623157e+308 =-1" },
  { "rate-burst", "gint 1..2147483647 =200", "gint -1..2147483647 =-1" },
  { "max-connections", "gint 1..2147483647 =10000", NULL },
  { "max-connections-per-ip", "gint 1..2147483647 =100", NULL },
  { "max-connections-per-user", "gint 1..2147483647 =20", NULL },
  { "auth-expiry-notice", "gint 0..1073741823 =60", NULL },
  { "handshake-timeout", "gint 1..1073741823 =10", NULL },
  { "max-handshake-size", "gint 1024..2147483647 =16384", NULL },
};

static const Expected *
find_expected (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    if (g_str_equal (expected[i].name, name))
      return &expected[i];
  return NULL;
}

/* "gint 1..10000 =64": type, range, default, read back from the pspec. */
static char *
describe (GParamSpec *pspec)
{
  const GValue *def = g_param_spec_get_default_value (pspec);
  GParamFlags want = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY;

  g_assert_cmpint (pspec->flags & (want | G_PARAM_CONSTRUCT | G_PARAM_CONSTRUCT_ONLY), ==, want);

  if (G_IS_PARAM_SPEC_INT (pspec))
    return g_strdup_printf ("gint %d..%d =%d", G_PARAM_SPEC_INT (pspec)->minimum,
                            G_PARAM_SPEC_INT (pspec)->maximum, g_value_get_int (def));
  if (G_IS_PARAM_SPEC_INT64 (pspec))
    return g_strdup_printf ("gint64 %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT " =%" G_GINT64_FORMAT,
                            G_PARAM_SPEC_INT64 (pspec)->minimum, G_PARAM_SPEC_INT64 (pspec)->maximum,
                            g_value_get_int64 (def));
  if (G_IS_PARAM_SPEC_DOUBLE (pspec))
    return g_strdup_printf ("gdouble %.17g..%.17g =%.17g", G_PARAM_SPEC_DOUBLE (pspec)->minimum,
                            G_PARAM_SPEC_DOUBLE (pspec)->maximum, g_value_get_double (def));
  g_assert_true (G_IS_PARAM_SPEC_ENUM (pspec));
  return g_strdup_printf ("%s =%s", g_type_name (pspec->value_type),
                          g_enum_get_value (G_PARAM_SPEC_ENUM (pspec)->enum_class,
                                            g_value_get_enum (def))->value_nick);
}

/* A valid value of @pspec other than @from. */
static void
other_value (GParamSpec   *pspec,
             const GValue *from,
             GValue       *to)
{
  g_value_init (to, pspec->value_type);
  if (G_IS_PARAM_SPEC_INT (pspec))
    g_value_set_int (to, g_value_get_int (from) + 1);
  else if (G_IS_PARAM_SPEC_INT64 (pspec))
    g_value_set_int64 (to, g_value_get_int64 (from) + 1);
  else if (G_IS_PARAM_SPEC_DOUBLE (pspec))
    g_value_set_double (to, g_value_get_double (from) + 0.5);
  else
    g_value_set_enum (to, g_value_get_enum (from) == OWL_BACKPRESSURE_DROP ? OWL_BACKPRESSURE_CLOSE
                                                                         : OWL_BACKPRESSURE_DROP);
  g_assert_false (g_param_value_validate (pspec, to));
}

/* Sets @value twice: one notify, then none for the equal value. */
static void
set_and_check (GObject      *object,
               GParamSpec   *pspec,
               const GValue *value)
{
  g_auto(GValue) back = G_VALUE_INIT;
  g_autofree char *signal = g_strconcat ("notify::", pspec->name, NULL);
  guint n_notify = 0;
  gulong id = g_signal_connect (object, signal, G_CALLBACK (owl_test_count_notify), &n_notify);

  g_object_set_property (object, pspec->name, value);
  g_assert_cmpuint (n_notify, ==, 1);
  g_object_set_property (object, pspec->name, value);
  g_assert_cmpuint (n_notify, ==, 1);

  g_value_init (&back, pspec->value_type);
  g_object_get_property (object, pspec->name, &back);
  g_assert_cmpint (g_param_values_cmp (pspec, value, &back), ==, 0);
  g_signal_handler_disconnect (object, id);
}

static void
assert_resolves_to (OwlSocketService  *service,
                    OwlModule         *module,
                    const OwlLimitRow *row,
                    GParamSpec        *pspec,
                    const GValue      *want)
{
  g_auto(GValue) got = G_VALUE_INIT;
  OwlLimits resolved;

  owl_limits_resolve (&service->limits, owl_module_get_limits (module), &resolved);
  g_value_init (&got, pspec->value_type);
  owl_limits_get_value (&resolved, row, &got);
  g_assert_cmpint (g_param_values_cmp (pspec, want, &got), ==, 0);
}

static void
test_row (gconstpointer data)
{
  const OwlLimitRow *row = data;
  g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);
  g_autoptr(OwlModule) module = owl_module_new ("m", "/ws/m");
  GParamSpec *spec = g_object_class_find_property (G_OBJECT_GET_CLASS (service), row->name);
  GParamSpec *module_spec = g_object_class_find_property (G_OBJECT_GET_CLASS (module), row->name);
  const Expected *want = find_expected (row->name);
  g_autofree char *described = NULL;
  g_auto(GValue) service_value = G_VALUE_INIT;
  g_auto(GValue) module_value = G_VALUE_INIT;

  g_assert_nonnull (want);
  g_assert_nonnull (spec);
  described = describe (spec);
  g_assert_cmpstr (described, ==, want->service);
  g_assert_cmpint (row->per_module, ==, want->module != NULL);

  other_value (spec, g_param_spec_get_default_value (spec), &service_value);
  set_and_check (G_OBJECT (service), spec, &service_value);
  assert_resolves_to (service, module, row, spec, &service_value);

  if (!row->per_module)
    {
      g_assert_null (module_spec);
      return;
    }
  g_clear_pointer (&described, g_free);
  described = describe (module_spec);
  g_assert_cmpstr (described, ==, want->module);

  other_value (module_spec, &service_value, &module_value);
  set_and_check (G_OBJECT (module), module_spec, &module_value);
  assert_resolves_to (service, module, row, spec, &module_value);
}

/* Every expected row is in the table, and nothing else. */
static void
test_rows (void)
{
  guint n_rows;
  const OwlLimitRow *rows = owl_limits_get_table (&n_rows);

  g_assert_cmpuint (n_rows, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < n_rows; i++)
    g_assert_nonnull (find_expected (rows[i].name));
}

/* The service's own listener reads its copy of the handshake limits. */
static void
test_listener_copy (void)
{
  g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);

  g_assert_cmpint (service->listener_limits.handshake_timeout, ==, 10);
  g_assert_cmpint (service->listener_limits.max_handshake_size, ==, 16384);
  g_object_set (service, "handshake-timeout", 3, "max-handshake-size", 2048, NULL);
  g_assert_cmpint (service->listener_limits.handshake_timeout, ==, 3);
  g_assert_cmpint (service->listener_limits.max_handshake_size, ==, 2048);
}

int
main (int   argc,
      char *argv[])
{
  guint n_rows;
  const OwlLimitRow *rows = owl_limits_get_table (&n_rows);

  owl_test_init (&argc, &argv);

  g_test_add_func ("/owl/limits-table/rows", test_rows);
  for (guint i = 0; i < n_rows; i++)
    {
      g_autofree char *path = g_strconcat ("/owl/limits-table/row/", rows[i].name, NULL);

      g_test_add_data_func (path, &rows[i], test_row);
    }
  g_test_add_func ("/owl/limits-table/listener-copy", test_listener_copy);

  return g_test_run ();
}

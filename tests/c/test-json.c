/* test-json.c: owlsock's JSON reader and route patterns, without a network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-json-private.h"
#include "owl-router-private.h"

static JsonNode *
parse (const char *text,
       OwlError   *code)
{
  return owl_json_parse (text, strlen (text), 64, code);
}

/* Accepted documents come back as json-glib writes them. */
static void
test_json_accepts (void)
{
  static const struct { const char *in; const char *out; } cases[] = {
    { "{\"type\":\"echo\",\"data\":\"xx\"}", "{\"type\":\"echo\",\"data\":\"xx\"}" },
    { " {\t\"a\" :\r\n[1, 2.5, -3e2, true, false, null] } ", "{\"a\":[1,2.5,-300.0,true,false,null]}" },
    { "\"\\u00e9\\n\\ud83d\\ude00\\/\"", "\"é\\n😀/\"" },
    { "{\"a\":1,\"a\":2}", "{\"a\":2}" },
    { "[]", "[]" },
    { "{}", "{}" },
    { "-0", "0" },
    { "9223372036854775807", "9223372036854775807" },
    { "9223372036854775808", "9.2233720368547758e+18" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      OwlError code = OWL_ERROR_FAILED;
      g_autoptr(JsonNode) node = parse (cases[i].in, &code);
      g_autofree char *out = NULL;

      g_assert_nonnull (node);
      out = json_to_string (node, FALSE);
      g_assert_cmpstr (out, ==, cases[i].out);
    }
}

/* Each defect is refused as malformed, including the ones json-glib lets by. */
static void
test_json_refuses (void)
{
  static const char *cases[] = {
    "", "  ", "hello", "{bad", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1] x", "01", "1.", ".5",
    "-", "1e", "tru", "nul", "{\"a\" 1}", "{1:2}", "\"\\u0000\"", "\"\\ud800\"",
    "\"\\udc00\"", "\"\\x\"", "\"a\tb\"", "\"unterminated", "\"\\u12\"",
    "1e999", "{\"a\":-1e400}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      OwlError code = OWL_ERROR_FAILED;
      g_autoptr(JsonNode) node = parse (cases[i], &code);

      if (node != NULL)
        g_test_message ("accepted: %s", cases[i]);
      g_assert_null (node);
      g_assert_cmpint (code, ==, OWL_ERROR_MALFORMED);
    }
}

/* The text need not end with a NUL: nothing past len is read. */
static void
test_json_not_terminated (void)
{
  const char text[] = "{\"a\":12345}";
  OwlError code = OWL_ERROR_FAILED;
  g_autofree char *copy = g_memdup2 (text, strlen (text));
  g_autoptr(JsonNode) node = owl_json_parse (copy, 9, 64, &code);  /* {"a":123 */

  g_assert_null (node);
  g_assert_cmpint (code, ==, OWL_ERROR_MALFORMED);
}

/* 100,000 levels are refused as too deep at level 65, without recursing
 * further; 64 levels pass. */
static void
test_json_depth (void)
{
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GString) limit = g_string_new (NULL);
  OwlError code = OWL_ERROR_FAILED;
  g_autoptr(JsonNode) refused = NULL;
  g_autoptr(JsonNode) accepted = NULL;

  for (guint i = 0; i < 100000; i++)
    g_string_append (deep, i % 2 ? "{\"a\":" : "[");
  refused = owl_json_parse (deep->str, deep->len, 64, &code);
  g_assert_null (refused);
  g_assert_cmpint (code, ==, OWL_ERROR_TOO_DEEP);

  for (guint i = 0; i < 64; i++)
    g_string_append_c (limit, '[');
  for (guint i = 0; i < 64; i++)
    g_string_append_c (limit, ']');
  accepted = owl_json_parse (limit->str, limit->len, 64, &code);
  g_assert_nonnull (accepted);
}

/* One route in a router of its own: the value is the route itself. */
static OwlRouterResult
lookup_one (OwlRoute    *route,
            const char  *path,
            GHashTable **params)
{
  g_autoptr(OwlRouter) router = owl_router_new ();
  gpointer value = NULL;
  OwlRouterResult result;

  g_assert_true (owl_router_add (router, route, route, NULL));
  result = owl_router_lookup (router, path, &value, params, NULL);
  if (result != OWL_ROUTER_NOT_FOUND)
    g_assert_true (value == route);
  return result;
}

static void
test_route_match (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlRoute) route = owl_route_parse ("/ws/chat/:room", &error);
  g_autoptr(GHashTable) params = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (owl_route_get_prefix (route), ==, "/ws/chat");

  g_assert_cmpint (lookup_one (route, "/ws/chat/a%20b", &params), ==, OWL_ROUTER_FOUND);
  g_assert_cmpstr (g_hash_table_lookup (params, "room"), ==, "a b");
  g_clear_pointer (&params, g_hash_table_unref);

  /* An escaped '/' stays inside the param. */
  g_assert_cmpint (lookup_one (route, "/ws/chat/a%2Fb", &params), ==, OWL_ROUTER_FOUND);
  g_assert_cmpstr (g_hash_table_lookup (params, "room"), ==, "a/b");
  g_clear_pointer (&params, g_hash_table_unref);

  g_assert_cmpint (lookup_one (route, "/ws/chat", NULL), ==, OWL_ROUTER_NOT_FOUND);
  g_assert_cmpint (lookup_one (route, "/ws/chat/", NULL), ==, OWL_ROUTER_NOT_FOUND);
  g_assert_cmpint (lookup_one (route, "/ws/chat/a/b", NULL), ==, OWL_ROUTER_NOT_FOUND);
  g_assert_cmpint (lookup_one (route, "/ws/chatx/a", NULL), ==, OWL_ROUTER_NOT_FOUND);
  g_assert_cmpint (lookup_one (route, "/ws/chat/%zz", NULL), ==, OWL_ROUTER_NOT_FOUND);
  g_assert_cmpint (lookup_one (route, "/ws/chat/%4", NULL), ==, OWL_ROUTER_NOT_FOUND);
  g_assert_cmpint (lookup_one (route, "ws/chat/a", NULL), ==, OWL_ROUTER_NOT_FOUND);

  /* A param that is not UTF-8 text matches, to be refused by name. */
  g_assert_cmpint (lookup_one (route, "/ws/chat/%00", NULL), ==, OWL_ROUTER_BAD_PARAM);
  g_assert_cmpint (lookup_one (route, "/ws/chat/%ff%fe", NULL), ==, OWL_ROUTER_BAD_PARAM);
  g_assert_cmpint (lookup_one (route, "/ws/chat/a%00b", NULL), ==, OWL_ROUTER_BAD_PARAM);
  g_assert_cmpint (lookup_one (route, "/ws/chat/%c3%a9", NULL), ==, OWL_ROUTER_FOUND);
}

static void
test_route_parse (void)
{
  static const char *bad[] = { "", "ws/chat", "/ws//chat", "/ws/:", "/ws/chat/" };
  g_autoptr(OwlRouter) router = owl_router_new ();
  g_autoptr(OwlRoute) a = owl_route_parse ("/a/:x", NULL);
  g_autoptr(OwlRoute) b = owl_route_parse ("/a/:y", NULL);
  g_autoptr(OwlRoute) c = owl_route_parse ("/a/b", NULL);
  g_autoptr(OwlRoute) root = owl_route_parse ("/", NULL);
  gpointer existing = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OwlRoute) route = owl_route_parse (bad[i], &error);

      g_assert_null (route);
      g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
    }

  /* Param names do not make two patterns different. */
  g_assert_true (owl_router_add (router, a, a, NULL));
  g_assert_false (owl_router_add (router, b, b, &existing));
  g_assert_true (existing == a);
  g_assert_true (owl_router_add (router, c, c, NULL));

  g_assert_cmpint (lookup_one (root, "/", NULL), ==, OWL_ROUTER_FOUND);
  g_assert_cmpint (lookup_one (root, "/x", NULL), ==, OWL_ROUTER_NOT_FOUND);
}

static gpointer
lookup_value (OwlRouter  *router,
              const char *path)
{
  gpointer value = NULL;

  if (owl_router_lookup (router, path, &value, NULL, NULL) != OWL_ROUTER_FOUND)
    return NULL;
  return value;
}

/* A literal segment wins over a param at the same place; when the literal
 * branch leads nowhere, the param branch is tried. */
static void
test_router_precedence (void)
{
  g_autoptr(OwlRouter) router = owl_router_new ();
  g_autoptr(OwlRoute) room = owl_route_parse ("/ws/chat/:room", NULL);
  g_autoptr(OwlRoute) admin = owl_route_parse ("/ws/chat/admin", NULL);
  g_autoptr(OwlRoute) deep = owl_route_parse ("/a/b/d", NULL);
  g_autoptr(OwlRoute) any = owl_route_parse ("/a/:x/c", NULL);
  g_autoptr(GHashTable) params = NULL;
  g_autofree char *bad = NULL;
  gpointer value = NULL;

  g_assert_true (owl_router_add (router, room, room, NULL));
  g_assert_true (owl_router_add (router, admin, admin, NULL));
  g_assert_true (owl_router_add (router, deep, deep, NULL));
  g_assert_true (owl_router_add (router, any, any, NULL));

  g_assert_true (lookup_value (router, "/ws/chat/admin") == admin);
  g_assert_true (lookup_value (router, "/ws/chat/adm%69n") == admin);
  g_assert_true (lookup_value (router, "/ws/chat/lobby") == room);
  g_assert_true (lookup_value (router, "/a/b/d") == deep);
  g_assert_true (lookup_value (router, "/a/b/c") == any);
  g_assert_null (lookup_value (router, "/a/b"));
  g_assert_null (lookup_value (router, "/a/b/c/d"));

  g_assert_cmpint (owl_router_lookup (router, "/a/b/c", &value, &params, NULL), ==, OWL_ROUTER_FOUND);
  g_assert_cmpstr (g_hash_table_lookup (params, "x"), ==, "b");
  g_assert_cmpint (owl_router_lookup (router, "/a/%ff/c", &value, NULL, &bad), ==, OWL_ROUTER_BAD_PARAM);
  g_assert_cmpstr (bad, ==, "x");

  /* Removing prunes the branch; the others stay. */
  owl_router_remove (router, admin);
  g_assert_true (lookup_value (router, "/ws/chat/admin") == room);
  owl_router_remove (router, room);
  g_assert_null (lookup_value (router, "/ws/chat/admin"));
  g_assert_true (owl_router_add (router, admin, admin, NULL));
  g_assert_true (lookup_value (router, "/ws/chat/admin") == admin);
}

/* 5000 routes side by side: each one is found, and nothing else is. */
static void
test_router_many (void)
{
  g_autoptr(OwlRouter) router = owl_router_new ();
  g_autoptr(GPtrArray) routes = g_ptr_array_new_with_free_func ((GDestroyNotify) owl_route_free);

  for (guint i = 0; i < 5000; i++)
    {
      g_autofree char *pattern = g_strdup_printf ("/ws/m%u/:id", i);
      OwlRoute *route = owl_route_parse (pattern, NULL);

      g_ptr_array_add (routes, route);
      g_assert_true (owl_router_add (router, route, route, NULL));
    }
  g_assert_true (lookup_value (router, "/ws/m4999/x") == g_ptr_array_index (routes, 4999));
  g_assert_true (lookup_value (router, "/ws/m0/x") == g_ptr_array_index (routes, 0));
  g_assert_null (lookup_value (router, "/ws/m5000/x"));
  /* More segments than any route has: refused before decoding them all. */
  g_assert_null (lookup_value (router, "/ws/m1/x/y/z/w"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/owl/json/accepts", test_json_accepts);
  g_test_add_func ("/owl/json/refuses", test_json_refuses);
  g_test_add_func ("/owl/json/not-terminated", test_json_not_terminated);
  g_test_add_func ("/owl/json/depth", test_json_depth);
  g_test_add_func ("/owl/route/match", test_route_match);
  g_test_add_func ("/owl/route/parse", test_route_parse);
  g_test_add_func ("/owl/router/precedence", test_router_precedence);
  g_test_add_func ("/owl/router/many", test_router_many);

  return g_test_run ();
}

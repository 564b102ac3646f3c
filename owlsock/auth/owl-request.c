/* owl-request.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "owl-error.h"
#include "owl-request-private.h"

/* The subprotocol entry that carries a token, for browsers, which cannot set
 * an Authorization header on a WebSocket. */
#define OWL_BEARER_PROTOCOL_PREFIX "owlsock.bearer."

/**
 * OwlRequest:
 *
 * The WebSocket upgrade request as handlers see it: the path, the route params
 * of the module's pattern, the query, the headers, the origin and the remote
 * address. It stays valid for the life of the [class@Owlsock.Connection] it
 * belongs to.
 *
 * Since: 0.1
 */
struct _OwlRequest
{
  GObject             parent_instance;

  char               *path;
  GHashTable         *params;          /* NULL while empty */
  char               *raw_query;
  GHashTable         *query;           /* parsed on first use */
  SoupMessageHeaders *headers;
  GSocketAddress     *remote_address;  /* made on first use */
  char               *remote_host;
  guint16             remote_port;
  gboolean            token_found;     /* token below is looked up */
  char               *token;
  OwlAuth            *auth;
};

/* A request lives as long as its connection, so what few handlers read is
 * kept raw and built on demand: it is most of an idle connection's memory. */

G_DEFINE_FINAL_TYPE (OwlRequest, owl_request, G_TYPE_OBJECT)

static void
owl_request_finalize (GObject *object)
{
  OwlRequest *self = OWL_REQUEST (object);

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->params, g_hash_table_unref);
  g_clear_pointer (&self->query, g_hash_table_unref);
  g_clear_pointer (&self->raw_query, g_free);
  g_clear_pointer (&self->headers, soup_message_headers_unref);
  g_clear_object (&self->remote_address);
  g_clear_pointer (&self->remote_host, g_free);
  g_clear_pointer (&self->token, g_free);
  g_clear_object (&self->auth);

  G_OBJECT_CLASS (owl_request_parent_class)->finalize (object);
}

static void
owl_request_class_init (OwlRequestClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = owl_request_finalize;
}

static void
owl_request_init (OwlRequest *self)
{
}

/* @params: (transfer full): the route params the module matched. */
OwlRequest *
owl_request_new (SoupServerMessage *msg,
                 GHashTable        *params)
{
  OwlRequest *self = g_object_new (OWL_TYPE_REQUEST, NULL);
  GUri *uri = soup_server_message_get_uri (msg);
  const char *query = g_uri_get_query (uri);
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  {
    /* Unescaping leaves a GString's 128 bytes; the path is kept for the
     * connection's life, so at its own size. */
    g_autofree char *path = g_uri_unescape_string (g_uri_get_path (uri), NULL);

    self->path = g_strdup (path != NULL ? path : g_uri_get_path (uri));
  }
  if (params != NULL && g_hash_table_size (params) > 0)
    self->params = params;
  else if (params != NULL)
    g_hash_table_unref (params);
  self->raw_query = g_strdup (query);
  self->headers = soup_message_headers_ref (soup_server_message_get_request_headers (msg));
  self->remote_host = g_strdup (soup_server_message_get_remote_host (msg));
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    self->remote_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote));

  return self;
}

/* A request that came another way than a SoupServer (a test, a bus
 * client): @path, one header (nullable), from @remote_host. */
OwlRequest *
owl_request_new_bare (const char *path,
                      const char *header,
                      const char *value,
                      const char *remote_host)
{
  OwlRequest *self = g_object_new (OWL_TYPE_REQUEST, NULL);

  self->path = g_strdup (path);
  self->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  if (header != NULL)
    soup_message_headers_append (self->headers, header, value);
  self->remote_host = g_strdup (remote_host);
  return self;
}

/* A request for a token refresh on @base's connection: the same path,
 * params and peer, and the token the client sent in-band, but neither the
 * upgrade's headers nor its query: they may hold the upgrade's credentials
 * (an API key, the old token), and a guard that reads those would accept
 * the refresh whatever token it carries. */
OwlRequest *
owl_request_new_with_token (OwlRequest *base,
                            const char *token)
{
  OwlRequest *self = g_object_new (OWL_TYPE_REQUEST, NULL);

  self->path = g_strdup (base->path);
  if (base->params != NULL)
    self->params = g_hash_table_ref (base->params);
  self->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  self->remote_host = g_strdup (base->remote_host);
  self->remote_port = base->remote_port;
  self->token_found = TRUE;
  self->token = g_strdup (token);

  return self;
}

void
owl_request_set_auth (OwlRequest *self,
                      OwlAuth    *auth)
{
  g_set_object (&self->auth, auth);
}

/**
 * owl_request_get_path:
 * @self: a request
 *
 * Gets the path of the upgrade request.
 *
 * Returns: the percent-decoded path of the request
 *
 * Since: 0.1
 */
const char *
owl_request_get_path (OwlRequest *self)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);

  return self->path;
}

/**
 * owl_request_get_param:
 * @self: a request
 * @name: the name of a route param, without the `:`
 *
 * For a module at `/ws/chat/:room`, `owl_request_get_param (req, "room")`
 * gives the percent-decoded segment of the path at that place.
 *
 * Returns: (nullable): the value, or %NULL if the pattern has no such param
 *
 * Since: 0.1
 */
const char *
owl_request_get_param (OwlRequest *self,
                       const char *name)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return self->params ? g_hash_table_lookup (self->params, name) : NULL;
}

/**
 * owl_request_get_params:
 * @self: a request
 *
 * Gets every route param of the module's pattern.
 *
 * Returns: (transfer none) (element-type utf8 utf8): every route param by name
 *
 * Since: 0.1
 */
GHashTable *
owl_request_get_params (OwlRequest *self)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);

  if (self->params == NULL)
    self->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self->params;
}

/**
 * owl_request_get_query_param:
 * @self: a request
 * @name: a query parameter
 *
 * Gets one parameter of the query string.
 *
 * Returns: (nullable): the percent-decoded value of @name in the query
 *   string, or %NULL if it is absent
 *
 * Since: 0.1
 */
const char *
owl_request_get_query_param (OwlRequest *self,
                             const char *name)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (self->raw_query == NULL)
    return NULL;
  return g_hash_table_lookup (owl_request_get_query (self), name);
}

/* Splits "a=1&b=2" as HTML forms do ('+' is a space, the last of a repeated
 * name wins, a pair without '=' is skipped). With @table, decoded names and
 * values go there; every pair must decode to UTF-8 text without NUL, else
 * FALSE with *@bad (if not NULL) the first offending pair's raw name. */
static gboolean
parse_query (const char  *query,
             GHashTable  *table,
             char       **bad)
{
  const char *p = query;

  while (*p != '\0')
    {
      const char *end = strchrnul (p, '&');
      const char *eq = memchr (p, '=', end - p);

      if (eq != NULL)
        {
          gboolean name_ok = FALSE, value_ok = FALSE;
          g_autofree char *name = owl_uri_decode (p, eq - p, TRUE, &name_ok);
          g_autofree char *value = owl_uri_decode (eq + 1, end - eq - 1, TRUE, &value_ok);

          if (name == NULL || value == NULL || !name_ok || !value_ok)
            {
              if (bad != NULL)
                *bad = g_strndup (p, eq - p);
              return FALSE;
            }
          if (table != NULL)
            g_hash_table_replace (table, g_steal_pointer (&name), g_steal_pointer (&value));
        }
      p = *end ? end + 1 : end;
    }
  return TRUE;
}

/* Longer names are cut: an error message reflects at most this much. */
#define OWL_NAME_IN_ERROR_MAX 64

/* @name as it may appear in an error: valid UTF-8 (or "?"), cut short. */
static char *
name_for_error (const char *name)
{
  const char *end;
  gsize len;

  g_utf8_validate (name, -1, &end);
  len = MIN ((gsize) (end - name), OWL_NAME_IN_ERROR_MAX);
  while (len > 0 && ((guchar) name[len] & 0xC0) == 0x80)
    len--;
  return len > 0 ? g_strndup (name, len) : g_strdup ("?");
}

/* Whatever reaches a handler as a string is UTF-8 text: a query parameter
 * that is not (a NUL, invalid bytes) refuses the upgrade, naming it. Route
 * params are checked by the router; libsoup already replaces invalid bytes
 * in header values with U+FFFD, and refuses broken escapes itself. */
gboolean
owl_request_check_text (OwlRequest  *self,
                        GError     **error)
{
  g_autofree char *bad = NULL;

  if (self->raw_query != NULL && !parse_query (self->raw_query, NULL, &bad))
    {
      g_autofree char *name = name_for_error (bad);

      g_set_error (error, OWL_ERROR, OWL_ERROR_MALFORMED, "Query parameter '%s' is not valid UTF-8 text", name);
      return FALSE;
    }
  return TRUE;
}

/* The error for a route param that is not UTF-8 text. */
GError *
owl_request_new_param_error (const char *param)
{
  g_autofree char *name = name_for_error (param);

  return g_error_new (OWL_ERROR, OWL_ERROR_MALFORMED, "Route parameter '%s' is not valid UTF-8 text", name);
}

/**
 * owl_request_get_query:
 * @self: a request
 *
 * Gets the parameters of the query string as a table from name to value,
 * both percent-decoded (a `+` reads as a space). A name given more than once
 * keeps its last value; a pair without `=` is left out. The table is empty
 * when the URI has no query.
 *
 * Returns: (transfer none) (element-type utf8 utf8): every query parameter
 *   by name
 *
 * Since: 0.1
 */
GHashTable *
owl_request_get_query (OwlRequest *self)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);

  if (self->query == NULL)
    {
      self->query = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      if (self->raw_query != NULL)
        parse_query (self->raw_query, self->query, NULL);
    }
  return self->query;
}

/**
 * owl_request_get_header:
 * @self: a request
 * @name: a header name, in any case
 *
 * Gets a header of the upgrade request.
 *
 * Returns: (nullable): the value of the header (several are joined with
 *   commas), or %NULL
 *
 * Since: 0.1
 */
const char *
owl_request_get_header (OwlRequest *self,
                        const char *name)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return soup_message_headers_get_list (self->headers, name);
}

/**
 * owl_request_get_headers:
 * @self: a request
 *
 * Gets the headers of the upgrade request.
 *
 * Returns: (transfer none): the request headers
 *
 * Since: 0.1
 */
SoupMessageHeaders *
owl_request_get_headers (OwlRequest *self)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);

  return self->headers;
}

/**
 * owl_request_get_origin:
 * @self: a request
 *
 * Gets the origin of a browser's request.
 *
 * Returns: (nullable): the `Origin` header, sent by browsers, or %NULL
 *
 * Since: 0.1
 */
const char *
owl_request_get_origin (OwlRequest *self)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);

  return soup_message_headers_get_one (self->headers, "Origin");
}

/**
 * owl_request_get_remote_address:
 * @self: a request
 *
 * Gets the address of the peer.
 *
 * Returns: (transfer none) (nullable): the address of the peer
 *
 * Since: 0.1
 */
GSocketAddress *
owl_request_get_remote_address (OwlRequest *self)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);

  if (self->remote_address == NULL && self->remote_host != NULL)
    self->remote_address = g_inet_socket_address_new_from_string (self->remote_host, self->remote_port);
  return self->remote_address;
}

/**
 * owl_request_get_remote_host:
 * @self: a request
 *
 * Gets the IP address of the peer as text.
 *
 * Returns: (nullable): the peer's IP address as a string, such as `"127.0.0.1"`
 *
 * Since: 0.1
 */
const char *
owl_request_get_remote_host (OwlRequest *self)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);

  return self->remote_host;
}

/**
 * owl_request_get_auth:
 * @self: a request
 *
 * Gets the identity the module's guard accepted for this request. Gates and
 * connection handlers see it; guards see %NULL.
 *
 * Returns: (transfer none) (nullable): the identity, or %NULL on a module
 *   without guards
 *
 * Since: 0.1
 */
OwlAuth *
owl_request_get_auth (OwlRequest *self)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);

  return self->auth;
}

static char *
find_bearer_header (SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_one (headers, "Authorization");

  if (value == NULL || g_ascii_strncasecmp (value, "Bearer ", 7) != 0)
    return NULL;
  value += 7;
  while (*value == ' ')
    value++;
  return *value ? g_strdup (value) : NULL;
}

/* The entries of the client's Sec-WebSocket-Protocol list, trimmed. */
static GStrv
offered_protocols (SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_list (headers, "Sec-WebSocket-Protocol");
  GStrv entries;

  if (value == NULL)
    return NULL;
  entries = g_strsplit (value, ",", -1);
  for (guint i = 0; entries[i] != NULL; i++)
    g_strstrip (entries[i]);
  return entries;
}

static char *
find_bearer_protocol (SoupMessageHeaders *headers)
{
  g_auto(GStrv) entries = offered_protocols (headers);

  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    if (g_str_has_prefix (entries[i], OWL_BEARER_PROTOCOL_PREFIX) &&
        entries[i][strlen (OWL_BEARER_PROTOCOL_PREFIX)] != '\0')
      return g_strdup (entries[i] + strlen (OWL_BEARER_PROTOCOL_PREFIX));
  return NULL;
}

/**
 * owl_request_get_token:
 * @self: a request
 *
 * Finds the bearer token the client sent, looking in this order at the
 * `Authorization: Bearer` header, a `Sec-WebSocket-Protocol` entry
 * `owlsock.bearer.<token>` (browsers cannot set headers; that entry is never
 * echoed back as the selected subprotocol) and the `token` query parameter
 * (what <code>&#64;owlmeans/client-socket</code> sends). After an in-band
 * refresh, the token of the refresh.
 *
 * A token is a credential: never log it.
 *
 * Returns: (nullable): the token, or %NULL if the client sent none
 *
 * Since: 0.1
 */
const char *
owl_request_get_token (OwlRequest *self)
{
  g_return_val_if_fail (OWL_IS_REQUEST (self), NULL);

  if (!self->token_found)
    {
      self->token_found = TRUE;
      self->token = find_bearer_header (self->headers);
      if (self->token == NULL)
        self->token = find_bearer_protocol (self->headers);
      if (self->token == NULL)
        self->token = g_strdup (owl_request_get_query_param (self, "token"));
      if (self->token != NULL && self->token[0] == '\0')
        g_clear_pointer (&self->token, g_free);
    }
  return self->token;
}

/* The first of the client's subprotocols that is in @ours; never an entry
 * that carries a token. */
const char *
owl_request_choose_protocol (OwlRequest         *self,
                             const char * const *ours)
{
  g_auto(GStrv) entries = ours ? offered_protocols (self->headers) : NULL;

  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    for (guint j = 0; ours[j] != NULL && !g_str_has_prefix (entries[i], OWL_BEARER_PROTOCOL_PREFIX); j++)
      if (g_str_equal (ours[j], entries[i]))
        return ours[j];
  return NULL;
}

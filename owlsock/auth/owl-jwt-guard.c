/* owl-jwt-guard.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-json-private.h"
#include "owl-jwt-guard.h"
#include "owl-jwt-private.h"

#define OWL_JWT_DEFAULT_LEEWAY   30

/**
 * OwlJwtGuard:
 *
 * A guard that accepts signed JSON Web Tokens (RFC 7519) and turns their
 * claims into an [class@Owlsock.Auth].
 *
 * It takes the token from `Authorization: Bearer`, a `Sec-WebSocket-Protocol`
 * entry `owlsock.bearer.<token>`, or the `token` query parameter (see
 * [method@Owlsock.Request.get_token]), and matches any request that carries
 * one. It checks, in this order: the size ([property@Owlsock.JwtGuard:max-token-size]),
 * strict base64url, a JSON object header and payload, the algorithm, the
 * signature, then `exp`, `nbf` and `iat` with
 * [property@Owlsock.JwtGuard:leeway], [property@Owlsock.JwtGuard:issuer] and
 * [property@Owlsock.JwtGuard:audience].
 *
 * Algorithms: HS256 with a secret ([method@Owlsock.JwtGuard.add_secret]),
 * ES256 (P-256) and EdDSA (Ed25519) with public keys
 * ([method@Owlsock.JwtGuard.add_public_key]), verified with GnuTLS. Each key
 * fixes its algorithm: a token is checked only with keys of the algorithm
 * its header names, so an HS256 token is never checked against a public
 * key's bytes. `alg: none` is always refused.
 *
 * Key ids: a token without `kid` is tried with every key of its algorithm.
 * While no key of the guard has a kid, a token's `kid` is ignored. Once one
 * has, a token whose `kid` names no key of its algorithm is refused
 * ("Unknown key"); one that names a key is tried with that key and the
 * keys of its algorithm added without kid. A kid is only ever compared as
 * a string: it is never a path, URL or anything else to look up.
 *
 * Claims: `sub` is the user id (required); `ent`, `entityId` or `profileId`
 * the entity; `scope` (space-separated) or `scopes` (an array of strings)
 * the scopes; the auth expires at `exp` plus the leeway. The auth's
 * [property@Owlsock.Auth:token-id] is a SHA-256 of the token's signed
 * content, the same for every encoding of it: key deny-lists on that or on
 * `jti`, never on the token string.
 *
 * Refusals are `auth-failed` errors with short fixed messages ("Token
 * expired", "Bad signature", ...) that never quote the token.
 *
 * Since: 0.1
 */
struct _OwlJwtGuard
{
  OwlGuard    parent_instance;

  OwlJwtKeys *keys;
  char       *issuer;
  char       *audience;
  gint        leeway;
  gint        max_token_size;
  gboolean    require_expiry;
  gboolean    require_low_s;
};

enum {
  PROP_0,
  PROP_ISSUER,
  PROP_AUDIENCE,
  PROP_LEEWAY,
  PROP_MAX_TOKEN_SIZE,
  PROP_REQUIRE_EXPIRY,
  PROP_REQUIRE_LOW_S,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (OwlJwtGuard, owl_jwt_guard, OWL_TYPE_GUARD)

static void
owl_jwt_guard_finalize (GObject *object)
{
  OwlJwtGuard *self = OWL_JWT_GUARD (object);

  g_clear_pointer (&self->keys, owl_jwt_keys_free);
  g_clear_pointer (&self->issuer, g_free);
  g_clear_pointer (&self->audience, g_free);

  G_OBJECT_CLASS (owl_jwt_guard_parent_class)->finalize (object);
}

static void
owl_jwt_guard_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  OwlJwtGuard *self = OWL_JWT_GUARD (object);

  switch (prop_id)
    {
    case PROP_ISSUER:
      g_value_set_string (value, self->issuer);
      break;
    case PROP_AUDIENCE:
      g_value_set_string (value, self->audience);
      break;
    case PROP_LEEWAY:
      g_value_set_int (value, self->leeway);
      break;
    case PROP_MAX_TOKEN_SIZE:
      g_value_set_int (value, self->max_token_size);
      break;
    case PROP_REQUIRE_EXPIRY:
      g_value_set_boolean (value, self->require_expiry);
      break;
    case PROP_REQUIRE_LOW_S:
      g_value_set_boolean (value, self->require_low_s);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
owl_jwt_guard_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  OwlJwtGuard *self = OWL_JWT_GUARD (object);

  switch (prop_id)
    {
    case PROP_ISSUER:
      g_free (self->issuer);
      self->issuer = g_value_dup_string (value);
      break;
    case PROP_AUDIENCE:
      g_free (self->audience);
      self->audience = g_value_dup_string (value);
      break;
    case PROP_LEEWAY:
      self->leeway = g_value_get_int (value);
      break;
    case PROP_MAX_TOKEN_SIZE:
      self->max_token_size = g_value_get_int (value);
      break;
    case PROP_REQUIRE_EXPIRY:
      self->require_expiry = g_value_get_boolean (value);
      break;
    case PROP_REQUIRE_LOW_S:
      self->require_low_s = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
owl_jwt_guard_match (OwlGuard   *guard,
                     OwlRequest *request)
{
  return owl_request_get_token (request) != NULL;
}

static void
owl_jwt_guard_authenticate (OwlGuard   *guard,
                            OwlAttempt *attempt)
{
  const char *token = owl_request_get_token (owl_attempt_get_request (attempt));
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlAuth) auth = NULL;

  if (token == NULL)
    {
      owl_attempt_reject (attempt, OWL_ERROR_AUTH_FAILED, "Credentials required");
      return;
    }

  auth = owl_jwt_guard_verify (OWL_JWT_GUARD (guard), token, &error);
  if (auth == NULL)
    owl_attempt_reject_error (attempt, error);
  else
    owl_attempt_accept (attempt, auth);
}

static void
owl_jwt_guard_class_init (OwlJwtGuardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = owl_jwt_guard_finalize;
  object_class->get_property = owl_jwt_guard_get_property;
  object_class->set_property = owl_jwt_guard_set_property;
  OWL_GUARD_CLASS (klass)->match = owl_jwt_guard_match;
  OWL_GUARD_CLASS (klass)->authenticate = owl_jwt_guard_authenticate;

  /**
   * OwlJwtGuard:issuer:
   *
   * When set, a token's `iss` must equal it.
   *
   * Since: 0.1
   */
  properties[PROP_ISSUER] =
    g_param_spec_string ("issuer", NULL, NULL, NULL, flags);

  /**
   * OwlJwtGuard:audience:
   *
   * When set, a token's `aud` must be it, or an array holding it.
   *
   * Since: 0.1
   */
  properties[PROP_AUDIENCE] =
    g_param_spec_string ("audience", NULL, NULL, NULL, flags);

  /**
   * OwlJwtGuard:leeway:
   *
   * Seconds of clock difference allowed when checking `exp`, `nbf` and
   * `iat`.
   *
   * Since: 0.1
   */
  properties[PROP_LEEWAY] =
    g_param_spec_int ("leeway", NULL, NULL, 0, 3600, OWL_JWT_DEFAULT_LEEWAY, flags);

  /**
   * OwlJwtGuard:max-token-size:
   *
   * The longest token, in bytes, the guard decodes; a longer one is refused
   * before any decoding.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_TOKEN_SIZE] =
    g_param_spec_int ("max-token-size", NULL, NULL, 64, 1024 * 1024, OWL_JWT_DEFAULT_MAX_SIZE, flags);

  /**
   * OwlJwtGuard:require-expiry:
   *
   * Whether a token without `exp` is refused. On by default: a connection
   * authenticated by a token that never expires could never be cut off.
   *
   * Since: 0.1
   */
  properties[PROP_REQUIRE_EXPIRY] =
    g_param_spec_boolean ("require-expiry", NULL, NULL, TRUE, flags);

  /**
   * OwlJwtGuard:require-low-s:
   *
   * Whether an ES256 signature whose `s` is above half the P-256 group
   * order is refused ("Bad signature").
   *
   * ECDSA accepts `(r, s)` and `(r, n - s)` alike, so anyone holding a
   * token can make a second token string that verifies too. Requiring
   * low `s` leaves one of the two. Off by default: RFC 7515 has no such
   * rule and common signers (Python's cryptography and PyJWT, Go's
   * crypto/ecdsa, WebCrypto) emit high `s` about half the time: turn it on
   * only when every issuer of your tokens signs low-S, as owlsock-token
   * does. Both twins get the same [property@Owlsock.Auth:token-id], which
   * is what a deny-list should key on.
   *
   * Since: 0.1
   */
  properties[PROP_REQUIRE_LOW_S] =
    g_param_spec_boolean ("require-low-s", NULL, NULL, FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
owl_jwt_guard_init (OwlJwtGuard *self)
{
  self->keys = owl_jwt_keys_new ();
  self->leeway = OWL_JWT_DEFAULT_LEEWAY;
  self->max_token_size = OWL_JWT_DEFAULT_MAX_SIZE;
  self->require_expiry = TRUE;
}

/**
 * owl_jwt_guard_new:
 *
 * Creates a JWT guard with no keys; add at least one.
 *
 * Returns: (transfer full) (type OwlJwtGuard): a new guard
 *
 * Since: 0.1
 */
OwlGuard *
owl_jwt_guard_new (void)
{
  return g_object_new (OWL_TYPE_JWT_GUARD, NULL);
}

/**
 * owl_jwt_guard_add_secret:
 * @self: a JWT guard
 * @kid: (nullable): the key id tokens name in their `kid`, if any
 * @secret: (array length=len): the HS256 secret
 * @len: its length in bytes, at least 32
 * @error: return location for an error
 *
 * Accepts HS256 tokens signed with @secret.
 *
 * Bindings see [method@Owlsock.JwtGuard.add_secret_without_kid] under this
 * name, so the usual call takes just the secret: `guard.add_secret(secret)`
 * from Python (a `str` or `bytes`) and GJS (a string or a `Uint8Array`);
 * with a key id, they call [method@Owlsock.JwtGuard.add_secret_with_kid]
 * (Python's override also takes `guard.add_secret(secret, kid=...)`).
 *
 * Returns: %TRUE if the secret was added
 *
 * Since: 0.1
 */
gboolean
owl_jwt_guard_add_secret (OwlJwtGuard   *self,
                          const char    *kid,
                          const guint8  *secret,
                          gsize          len,
                          GError       **error)
{
  g_return_val_if_fail (OWL_IS_JWT_GUARD (self), FALSE);
  g_return_val_if_fail (secret != NULL || len == 0, FALSE);

  return owl_jwt_keys_add_secret (self->keys, kid, secret, len, error);
}

/**
 * owl_jwt_guard_add_secret_without_kid: (rename-to owl_jwt_guard_add_secret)
 * @self: a JWT guard
 * @secret: (array length=len): the HS256 secret; from GJS a string (its
 *   UTF-8 bytes) or a `Uint8Array`, from Python `bytes` or a `str`
 * @len: its length in bytes, at least 32
 * @error: return location for an error
 *
 * Accepts HS256 tokens signed with @secret, whatever `kid` they name (see
 * the key ids of [class@Owlsock.JwtGuard]). Bindings call it `add_secret`:
 *
 * ```js
 * guard.add_secret(GLib.getenv('JWT_SECRET'));
 * ```
 *
 * Returns: %TRUE if the secret was added
 *
 * Since: 0.1
 */
gboolean
owl_jwt_guard_add_secret_without_kid (OwlJwtGuard   *self,
                                      const guint8  *secret,
                                      gsize          len,
                                      GError       **error)
{
  return owl_jwt_guard_add_secret (self, NULL, secret, len, error);
}

/**
 * owl_jwt_guard_add_secret_with_kid:
 * @self: a JWT guard
 * @kid: the key id tokens name in their `kid`
 * @secret: (array length=len): the HS256 secret
 * @len: its length in bytes, at least 32
 * @error: return location for an error
 *
 * Accepts HS256 tokens signed with @secret that name @kid, or no kid. The
 * same as [method@Owlsock.JwtGuard.add_secret] with a key id, for bindings,
 * where `add_secret` takes only the secret.
 *
 * Returns: %TRUE if the secret was added
 *
 * Since: 0.1
 */
gboolean
owl_jwt_guard_add_secret_with_kid (OwlJwtGuard   *self,
                                   const char    *kid,
                                   const guint8  *secret,
                                   gsize          len,
                                   GError       **error)
{
  g_return_val_if_fail (kid != NULL, FALSE);

  return owl_jwt_guard_add_secret (self, kid, secret, len, error);
}

gsize
owl_jwt_secret_file_length (const char *data,
                            gsize       len)
{
  if (len > 0 && data[len - 1] == '\n')
    len -= (len > 1 && data[len - 2] == '\r') ? 2 : 1;
  return len;
}

/**
 * owl_jwt_guard_load_secret_file:
 * @self: a JWT guard
 * @kid: (nullable): the key id tokens name in their `kid`, if any
 * @path: (type filename): a file holding the HS256 secret
 * @error: return location for an error
 *
 * Like [method@Owlsock.JwtGuard.add_secret], from a file. The secret is the
 * file's bytes with one trailing newline (`\n`, or `\r\n`) dropped, the one
 * editors and `echo` add; nothing else is trimmed. owlsockd's `secret-file`
 * and `owlsock-token --secret-file` read secret files the same way, so a
 * token minted from a file verifies against a guard loaded from it.
 *
 * Returns: %TRUE if the secret was added
 *
 * Since: 0.1
 */
gboolean
owl_jwt_guard_load_secret_file (OwlJwtGuard  *self,
                                const char   *kid,
                                const char   *path,
                                GError      **error)
{
  g_autofree char *data = NULL;
  gsize len;
  gboolean added;

  g_return_val_if_fail (OWL_IS_JWT_GUARD (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!g_file_get_contents (path, &data, &len, error))
    return FALSE;
  added = owl_jwt_keys_add_secret (self->keys, kid, (const guint8 *) data,
                                   owl_jwt_secret_file_length (data, len), error);
  /* The keys keep their own copy; this one leaves no trace. */
  memset (data, 0, len);
  return added;
}

/**
 * owl_jwt_guard_add_public_key:
 * @self: a JWT guard
 * @kid: (nullable): the key id tokens name in their `kid`, if any
 * @pem: a public key in PEM (`-----BEGIN PUBLIC KEY-----`): P-256 for
 *   ES256, Ed25519 for EdDSA
 * @error: return location for an error
 *
 * Accepts tokens signed with the private half of @pem, in the algorithm
 * its type fixes.
 *
 * Returns: %TRUE if the key was added
 *
 * Since: 0.1
 */
gboolean
owl_jwt_guard_add_public_key (OwlJwtGuard  *self,
                              const char   *kid,
                              const char   *pem,
                              GError      **error)
{
  g_return_val_if_fail (OWL_IS_JWT_GUARD (self), FALSE);
  g_return_val_if_fail (pem != NULL, FALSE);

  return owl_jwt_keys_add_public_pem (self->keys, kid, pem, strlen (pem), error);
}

/**
 * owl_jwt_guard_load_public_key_file:
 * @self: a JWT guard
 * @kid: (nullable): the key id tokens name in their `kid`, if any
 * @path: (type filename): a PEM file holding a public key
 * @error: return location for an error
 *
 * Like [method@Owlsock.JwtGuard.add_public_key], from a file.
 *
 * Returns: %TRUE if the key was added
 *
 * Since: 0.1
 */
gboolean
owl_jwt_guard_load_public_key_file (OwlJwtGuard  *self,
                                    const char   *kid,
                                    const char   *path,
                                    GError      **error)
{
  g_autofree char *pem = NULL;
  gsize len;

  g_return_val_if_fail (OWL_IS_JWT_GUARD (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!g_file_get_contents (path, &pem, &len, error))
    return FALSE;
  return owl_jwt_keys_add_public_pem (self->keys, kid, pem, len, error);
}

static char **
scopes_from_claims (JsonObject *claims)
{
  JsonNode *node = json_object_get_member (claims, "scopes");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
            g_strv_builder_add (builder, json_node_get_string (element));
        }
      return g_strv_builder_end (builder);
    }

  if (owl_json_object_get_string (claims, "scope") != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (owl_json_object_get_string (claims, "scope"), " ", -1);

      for (guint i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0')
          g_strv_builder_add (builder, parts[i]);
    }
  return g_strv_builder_end (builder);
}

/**
 * owl_jwt_guard_verify:
 * @self: a JWT guard
 * @token: a compact JWS token
 * @error: return location for an error
 *
 * Checks @token as the guard does for an upgrade request.
 *
 * Returns: (transfer full): the identity in @token, or %NULL with an
 *   `auth-failed` error
 *
 * Since: 0.1
 */
OwlAuth *
owl_jwt_guard_verify (OwlJwtGuard  *self,
                      const char   *token,
                      GError      **error)
{
  OwlJwtCheck check = { 0 };
  g_autoptr(JsonObject) claims = NULL;
  g_auto(GStrv) scopes = NULL;
  g_autofree char *token_id = NULL;
  const char *sub, *entity;
  JsonNode *exp;
  gint64 expires_at = 0;

  g_return_val_if_fail (OWL_IS_JWT_GUARD (self), NULL);
  g_return_val_if_fail (token != NULL, NULL);

  check.issuer = self->issuer;
  check.audience = self->audience;
  check.leeway = self->leeway;
  check.max_size = self->max_token_size;
  check.require_exp = self->require_expiry;
  check.require_low_s = self->require_low_s;

  claims = owl_jwt_verify (self->keys, &check, token, strlen (token), error);
  if (claims == NULL)
    return NULL;

  sub = owl_json_object_get_string (claims, "sub");
  if (sub == NULL || sub[0] == '\0')
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_AUTH_FAILED, "Token has no subject");
      return NULL;
    }

  entity = owl_json_object_get_string (claims, "ent");
  if (entity == NULL)
    entity = owl_json_object_get_string (claims, "entityId");
  if (entity == NULL)
    entity = owl_json_object_get_string (claims, "profileId");

  exp = json_object_get_member (claims, "exp");
  if (exp != NULL && JSON_NODE_HOLDS_VALUE (exp))
    {
      /* Far-future expiries are clamped, not cast out of range. */
      gdouble when = CLAMP (json_node_get_double (exp), 1.0, (gdouble) (G_MAXINT64 / 4));

      expires_at = (gint64) when + self->leeway;
    }

  scopes = scopes_from_claims (claims);
  token_id = owl_jwt_token_id (token, strlen (token));
  return g_object_new (OWL_TYPE_AUTH,
                       "user-id", sub,
                       "entity-id", entity,
                       "scopes", scopes,
                       "expires-at", MAX (expires_at, 0),
                       "claims", claims,
                       "token-id", token_id,
                       NULL);
}

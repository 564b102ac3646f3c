/* owl-auth.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-auth.h"
#include "owl-json-private.h"

/**
 * OwlAuth:
 *
 * Who a [class@Owlsock.Guard] found behind an upgrade request: a user id, an
 * optional entity (organisation, profile) id, the scopes the user holds, when
 * the identity stops being valid, and the claims and an id of the token it
 * came from.
 *
 * An auth is immutable once made; guards build one with construct properties:
 *
 * ```python
 * auth = Owlsock.Auth(user_id="alice", scopes=["chat"], expires_at=0)
 * ```
 *
 * It is reachable from [method@Owlsock.Request.get_auth] by gates and from
 * [method@Owlsock.Connection.get_auth] for the life of the connection (a
 * token refresh replaces it with a new one for the same user and entity).
 *
 * Since: 0.1
 */
struct _OwlAuth
{
  GObject     parent_instance;

  char       *user_id;
  char       *entity_id;
  char      **scopes;
  gint64      expires_at;
  JsonObject *claims;
  char       *token_id;
};

enum {
  PROP_0,
  PROP_USER_ID,
  PROP_ENTITY_ID,
  PROP_SCOPES,
  PROP_EXPIRES_AT,
  PROP_CLAIMS,
  PROP_TOKEN_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (OwlAuth, owl_auth, G_TYPE_OBJECT)

static void
owl_auth_finalize (GObject *object)
{
  OwlAuth *self = OWL_AUTH (object);

  g_clear_pointer (&self->user_id, g_free);
  g_clear_pointer (&self->entity_id, g_free);
  g_clear_pointer (&self->scopes, g_strfreev);
  g_clear_pointer (&self->claims, json_object_unref);
  g_clear_pointer (&self->token_id, g_free);

  G_OBJECT_CLASS (owl_auth_parent_class)->finalize (object);
}

static void
owl_auth_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  OwlAuth *self = OWL_AUTH (object);

  switch (prop_id)
    {
    case PROP_USER_ID:
      g_value_set_string (value, self->user_id);
      break;
    case PROP_ENTITY_ID:
      g_value_set_string (value, self->entity_id);
      break;
    case PROP_SCOPES:
      g_value_set_boxed (value, self->scopes);
      break;
    case PROP_EXPIRES_AT:
      g_value_set_int64 (value, self->expires_at);
      break;
    case PROP_CLAIMS:
      g_value_set_boxed (value, self->claims);
      break;
    case PROP_TOKEN_ID:
      g_value_set_string (value, self->token_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
owl_auth_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  OwlAuth *self = OWL_AUTH (object);

  switch (prop_id)
    {
    case PROP_USER_ID:
      self->user_id = g_value_dup_string (value);
      break;
    case PROP_ENTITY_ID:
      self->entity_id = g_value_dup_string (value);
      break;
    case PROP_SCOPES:
      self->scopes = g_value_dup_boxed (value);
      break;
    case PROP_EXPIRES_AT:
      self->expires_at = g_value_get_int64 (value);
      break;
    case PROP_CLAIMS:
      self->claims = g_value_dup_boxed (value);
      break;
    case PROP_TOKEN_ID:
      self->token_id = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
owl_auth_constructed (GObject *object)
{
  OwlAuth *self = OWL_AUTH (object);

  G_OBJECT_CLASS (owl_auth_parent_class)->constructed (object);

  /* An identity without a user would match every per-user check alike. */
  if (self->user_id == NULL || self->user_id[0] == '\0')
    {
      g_critical ("OwlAuth needs a non-empty user-id");
      g_free (self->user_id);
      self->user_id = g_strdup ("anonymous");
    }
}

static void
owl_auth_class_init (OwlAuthClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = owl_auth_finalize;
  object_class->get_property = owl_auth_get_property;
  object_class->set_property = owl_auth_set_property;
  object_class->constructed = owl_auth_constructed;

  /**
   * OwlAuth:user-id:
   *
   * The user's id: the JWT `sub`. Per-user connection limits and the
   * same-user check of a token refresh compare it.
   *
   * Since: 0.1
   */
  properties[PROP_USER_ID] =
    g_param_spec_string ("user-id", NULL, NULL, NULL, flags);

  /**
   * OwlAuth:entity-id:
   *
   * The entity (organisation or profile) the user acts for, if any. A
   * token refresh must keep it: a token for another entity, or with an
   * entity where there was none or none where there was one, is refused.
   *
   * Since: 0.1
   */
  properties[PROP_ENTITY_ID] =
    g_param_spec_string ("entity-id", NULL, NULL, NULL, flags);

  /**
   * OwlAuth:scopes: (type GStrv)
   *
   * The scopes (permissions, roles) the user holds.
   *
   * Since: 0.1
   */
  properties[PROP_SCOPES] =
    g_param_spec_boxed ("scopes", NULL, NULL, G_TYPE_STRV, flags);

  /**
   * OwlAuth:expires-at:
   *
   * When the identity stops being valid, in seconds since the Unix epoch, or
   * 0 if it does not expire. A connection is told `auth-expiring` before it
   * and closed with 4001 at it unless the client refreshes its token.
   *
   * Since: 0.1
   */
  properties[PROP_EXPIRES_AT] =
    g_param_spec_int64 ("expires-at", NULL, NULL, 0, G_MAXINT64, 0, flags);

  /**
   * OwlAuth:claims:
   *
   * The claims of the token the identity came from, if any.
   *
   * Since: 0.1
   */
  properties[PROP_CLAIMS] =
    g_param_spec_boxed ("claims", NULL, NULL, JSON_TYPE_OBJECT, flags);

  /**
   * OwlAuth:token-id:
   *
   * An id of the credential that is the same for every encoding of the
   * same signed content; key deny-lists on it or on the `jti` claim, never
   * on the token string.
   *
   * A token string is not a stable key: an ES256 signature has a twin that
   * verifies too (see [property@Owlsock.JwtGuard:require-low-s]), and an
   * issuer may sign the same claims again. The JWT guard sets this to the
   * unpadded base64url of SHA-256 over the JWS signing input (the token's
   * `header.payload`). Auths made by other guards have none unless they set
   * it.
   *
   * Since: 0.1
   */
  properties[PROP_TOKEN_ID] =
    g_param_spec_string ("token-id", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
owl_auth_init (OwlAuth *self)
{
}

/**
 * owl_auth_new:
 * @user_id: the user's id
 *
 * Creates an identity with no entity, scopes, expiry or claims; use
 * g_object_new() with the properties for the rest.
 *
 * Returns: (transfer full): a new auth
 *
 * Since: 0.1
 */
OwlAuth *
owl_auth_new (const char *user_id)
{
  g_return_val_if_fail (user_id != NULL, NULL);

  return g_object_new (OWL_TYPE_AUTH, "user-id", user_id, NULL);
}

/**
 * owl_auth_get_user_id:
 * @self: an auth
 *
 * Gets the user's id.
 *
 * Returns: the user id
 *
 * Since: 0.1
 */
const char *
owl_auth_get_user_id (OwlAuth *self)
{
  g_return_val_if_fail (OWL_IS_AUTH (self), NULL);

  return self->user_id;
}

/**
 * owl_auth_get_entity_id:
 * @self: an auth
 *
 * Gets the entity the user acts for.
 *
 * Returns: (nullable): the entity id, or %NULL
 *
 * Since: 0.1
 */
const char *
owl_auth_get_entity_id (OwlAuth *self)
{
  g_return_val_if_fail (OWL_IS_AUTH (self), NULL);

  return self->entity_id;
}

/**
 * owl_auth_get_scopes:
 * @self: an auth
 *
 * Gets the scopes the user holds.
 *
 * Returns: (transfer none) (array zero-terminated=1) (nullable): the scopes
 *
 * Since: 0.1
 */
const char * const *
owl_auth_get_scopes (OwlAuth *self)
{
  g_return_val_if_fail (OWL_IS_AUTH (self), NULL);

  return (const char * const *) self->scopes;
}

/**
 * owl_auth_has_scope:
 * @self: an auth
 * @scope: a scope
 *
 * Checks whether the user holds @scope.
 *
 * Returns: %TRUE if @scope is one of [property@Owlsock.Auth:scopes]
 *
 * Since: 0.1
 */
gboolean
owl_auth_has_scope (OwlAuth    *self,
                    const char *scope)
{
  g_return_val_if_fail (OWL_IS_AUTH (self), FALSE);
  g_return_val_if_fail (scope != NULL, FALSE);

  return self->scopes != NULL && g_strv_contains ((const char * const *) self->scopes, scope);
}

/**
 * owl_auth_get_expires_at:
 * @self: an auth
 *
 * Gets when the identity stops being valid.
 *
 * Returns: seconds since the Unix epoch, or 0 for never
 *
 * Since: 0.1
 */
gint64
owl_auth_get_expires_at (OwlAuth *self)
{
  g_return_val_if_fail (OWL_IS_AUTH (self), 0);

  return self->expires_at;
}

/**
 * owl_auth_get_claims:
 * @self: an auth
 *
 * Gets the claims of the token the identity came from.
 *
 * Returns: (transfer none) (nullable): the claims, or %NULL
 *
 * Since: 0.1
 */
JsonObject *
owl_auth_get_claims (OwlAuth *self)
{
  g_return_val_if_fail (OWL_IS_AUTH (self), NULL);

  return self->claims;
}

/**
 * owl_auth_get_token_id:
 * @self: an auth
 *
 * Gets an id of the credential that is the same for every encoding of the
 * same signed content; key deny-lists on it or on the `jti` claim, never on
 * the token string. See [property@Owlsock.Auth:token-id].
 *
 * Returns: (nullable): the token id, or %NULL if the guard set none
 *
 * Since: 0.1
 */
const char *
owl_auth_get_token_id (OwlAuth *self)
{
  g_return_val_if_fail (OWL_IS_AUTH (self), NULL);

  return self->token_id;
}

/**
 * owl_auth_get_claim_string:
 * @self: an auth
 * @name: a claim name
 *
 * Gets a claim as a string. `sub` falls back to the user id when the auth
 * has no claims, so gates can name it for any guard.
 *
 * Returns: (nullable): the claim's value if it is a string, or %NULL
 *
 * Since: 0.1
 */
const char *
owl_auth_get_claim_string (OwlAuth    *self,
                           const char *name)
{
  g_return_val_if_fail (OWL_IS_AUTH (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (self->claims != NULL && json_object_has_member (self->claims, name))
    return owl_json_object_get_string (self->claims, name);
  return g_str_equal (name, "sub") ? self->user_id : NULL;
}

/**
 * owl_auth_get_claim:
 * @self: an auth
 * @name: a claim name
 *
 * Gets a claim of any JSON type: a nested object or an array as well as a
 * string or a number. Unlike [method@Owlsock.Auth.get_claim_string], `sub`
 * does not fall back to the user id: only the token's claims are looked at.
 *
 * From Python, `auth.get_claim_value(name)` gives the claim as Python
 * values and `auth.claims` all of them as a dict.
 *
 * Returns: (transfer none) (nullable): the claim, or %NULL if the auth has
 *   no claim @name
 *
 * Since: 0.1
 */
JsonNode *
owl_auth_get_claim (OwlAuth    *self,
                    const char *name)
{
  g_return_val_if_fail (OWL_IS_AUTH (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (self->claims == NULL)
    return NULL;
  return json_object_get_member (self->claims, name);
}

/**
 * owl_auth_dup_claims_json:
 * @self: an auth
 *
 * Gets the claims as JSON text, for languages that parse JSON natively:
 *
 * ```js
 * const claims = JSON.parse(auth.dup_claims_json());
 * ```
 *
 * `JSON.parse(null)` is `null`, so an auth without claims needs no special
 * case there.
 *
 * Returns: (transfer full) (nullable): the claims as a JSON object, or %NULL
 *   if the auth has none
 *
 * Since: 0.1
 */
char *
owl_auth_dup_claims_json (OwlAuth *self)
{
  g_autoptr(JsonNode) node = NULL;
  gsize len;

  g_return_val_if_fail (OWL_IS_AUTH (self), NULL);

  if (self->claims == NULL)
    return NULL;
  node = json_node_init_object (json_node_alloc (), self->claims);
  return owl_json_to_data (node, &len);
}

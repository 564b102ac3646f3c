/* owl-jwt.c: JSON Web Tokens (JWS compact form), verified
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A token comes from whoever opens a connection, so everything before the
 * signature check treats it as hostile: its length is bounded first, it is
 * decoded once into a buffer no larger than itself, the header goes through
 * owlsock's bounded JSON reader, and the payload is not parsed at all until
 * a configured key has vouched for it. The algorithm is taken from the key,
 * never from the token alone: a token naming HS256 is only ever checked
 * against secrets, so a public key can not be turned into an HMAC secret.
 *
 * Failures carry one of the fixed messages below and nothing else, since
 * they may reach logs and HTTP bodies that the token's owner can read.
 */

#include <string.h>

#include "owl-json-private.h"
#include "owl-jwt-keys-private.h"

#define MSG_TOO_LARGE   "Token too large"
#define MSG_MALFORMED   "Malformed token"
#define MSG_UNSUPPORTED "Unsupported algorithm"
#define MSG_BAD_SIG     "Bad signature"
#define MSG_UNKNOWN_KEY "Unknown key"
#define MSG_EXPIRED     "Token expired"
#define MSG_NOT_YET     "Token not yet valid"
#define MSG_FUTURE      "Token issued in the future"
#define MSG_ISSUER      "Wrong issuer"
#define MSG_AUDIENCE    "Wrong audience"
#define MSG_NO_EXPIRY   "Token has no expiry"

/* Headers and claims are flat objects; a little nesting is allowed for
 * claims such as `realm_access`. */
#define JWT_JSON_DEPTH 16

/* base64url, unpadded (RFC 7515, 2 and appendix C) */

static int
b64url_value (guchar c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

/* Decodes @len characters into @out, which has room for len * 3 / 4 bytes.
 * Anything outside the alphabet (padding and whitespace included), a length
 * no byte string encodes to, and set bits in the unused tail are refused,
 * so that each byte string has exactly one accepted encoding. */
static gboolean
b64url_decode (const char *in,
               gsize       len,
               guint8     *out,
               gsize      *out_len)
{
  guint32 acc = 0;
  guint bits = 0;
  gsize n = 0;

  if (len % 4 == 1)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    {
      int v = b64url_value (in[i]);

      if (v < 0)
        return FALSE;
      acc = (acc << 6) | (guint32) v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          out[n++] = (guint8) (acc >> bits);
        }
    }

  if ((acc & ((1u << bits) - 1)) != 0)
    return FALSE;

  *out_len = n;
  return TRUE;
}

void
owl_jwt_b64url_append (GString      *out,
                       const guint8 *data,
                       gsize         len)
{
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  guint32 acc = 0;
  guint bits = 0;

  for (gsize i = 0; i < len; i++)
    {
      acc = (acc << 8) | data[i];
      bits += 8;
      while (bits >= 6)
        {
          bits -= 6;
          g_string_append_c (out, alphabet[(acc >> bits) & 0x3f]);
        }
    }
  if (bits > 0)
    g_string_append_c (out, alphabet[(acc << (6 - bits)) & 0x3f]);
}

/* Verification */

/* The token as split and decoded by decode_token(); the decoded parts live
 * in one buffer no larger than the token. */
typedef struct
{
  guint8       *buf;
  const guint8 *header;
  gsize         header_len;
  const guint8 *payload;
  gsize         payload_len;
  const guint8 *sig;
  gsize         sig_len;
  gsize         signed_len;   /* "header.payload", the JWS signing input */
} OwlJwtParts;

static void
parts_clear (OwlJwtParts *parts)
{
  g_clear_pointer (&parts->buf, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (OwlJwtParts, parts_clear)

static gboolean
decode_part (const char    *text,
             gsize          len,
             guint8       **cursor,
             const guint8 **out,
             gsize         *out_len)
{
  if (!b64url_decode (text, len, *cursor, out_len))
    return FALSE;
  *out = *cursor;
  *cursor += *out_len;
  return TRUE;
}

static gboolean
decode_token (const char  *token,
              gsize        len,
              OwlJwtParts *parts)
{
  const char *end = token + len;
  const char *dot1 = len > 0 ? memchr (token, '.', len) : NULL;
  const char *dot2 = dot1 ? memchr (dot1 + 1, '.', end - (dot1 + 1)) : NULL;
  guint8 *cursor;

  if (dot2 == NULL || memchr (dot2 + 1, '.', end - (dot2 + 1)) != NULL)
    return FALSE;

  parts->signed_len = dot2 - token;
  parts->buf = cursor = g_malloc (len);
  return decode_part (token, dot1 - token, &cursor,
                      &parts->header, &parts->header_len) &&
         decode_part (dot1 + 1, dot2 - (dot1 + 1), &cursor,
                      &parts->payload, &parts->payload_len) &&
         decode_part (dot2 + 1, end - (dot2 + 1), &cursor,
                      &parts->sig, &parts->sig_len);
}

static JsonObject *
parse_object (const guint8 *data,
              gsize         len)
{
  g_autoptr(JsonNode) node = owl_json_parse ((const char *) data, len,
                                             JWT_JSON_DEPTH, NULL);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_node_dup_object (node);
}

/* The member's string, or NULL when it is absent or not a string. */
static const char *
get_string (JsonObject *object,
            const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* "JWT", or RFC 9068's "at+jwt"; media type names ignore case and may
 * drop their "application/" (RFC 7515, 4.1.9). */
static gboolean
typ_is_acceptable (const char *typ)
{
  if (g_ascii_strncasecmp (typ, "application/", 12) == 0)
    typ += 12;
  return g_ascii_strcasecmp (typ, "JWT") == 0 ||
         g_ascii_strcasecmp (typ, "at+jwt") == 0;
}

/* Reads the algorithm and kid (NULL if none; owned by @header). */
static const char *
check_header (JsonObject  *header,
              OwlJwtAlg   *alg,
              const char **kid)
{
  const char *name = get_string (header, "alg");
  const char *typ = get_string (header, "typ");

  if (name == NULL)
    return MSG_MALFORMED;
  if (g_ascii_strcasecmp (name, "none") == 0 || !owl_jwt_alg_from_string (name, alg))
    return MSG_UNSUPPORTED;

  /* No extension is understood, so any critical one makes the token
   * unusable (RFC 7515, 4.1.11). */
  if (json_object_has_member (header, "crit"))
    return MSG_MALFORMED;

  if (json_object_has_member (header, "typ") && (typ == NULL || !typ_is_acceptable (typ)))
    return MSG_MALFORMED;

  *kid = get_string (header, "kid");
  if (*kid == NULL && json_object_has_member (header, "kid"))
    return MSG_MALFORMED;

  return NULL;
}

/* Whether @keys hold a key of @alg, and one of @alg whose kid is @kid.
 * A kid is only ever compared, as a string: it names nothing but a key
 * added here. */
static void
find_keys (OwlJwtKeys *keys,
           OwlJwtAlg   alg,
           const char *kid,
           gboolean   *have_alg,
           gboolean   *have_kid)
{
  for (guint i = 0; i < keys->keys->len; i++)
    {
      const OwlJwtKey *key = g_ptr_array_index (keys->keys, i);

      if (key->alg != alg)
        continue;
      *have_alg = TRUE;
      if (kid != NULL && g_strcmp0 (key->kid, kid) == 0)
        *have_kid = TRUE;
    }
}

static const char *
check_signature (OwlJwtKeys        *keys,
                 const OwlJwtCheck *check,
                 OwlJwtAlg          alg,
                 const char        *kid,
                 const char        *token,
                 const OwlJwtParts *parts)
{
  gboolean have_alg = FALSE, have_kid = FALSE;

  find_keys (keys, alg, kid, &have_alg, &have_kid);
  if (!have_alg)
    return MSG_UNSUPPORTED;
  /* Once keys have kids, a token naming none of them was signed for a key
   * this set does not hold (or no longer holds); trying the others, the
   * keys without kid among them, would let its kid be anything. */
  if (kid != NULL && keys->has_kid && !have_kid)
    return MSG_UNKNOWN_KEY;

  for (guint i = 0; i < keys->keys->len; i++)
    {
      const OwlJwtKey *key = g_ptr_array_index (keys->keys, i);

      if (key->alg != alg)
        continue;
      if (kid != NULL && key->kid != NULL && strcmp (kid, key->kid) != 0)
        continue;
      if (owl_jwt_key_verify (key, token, parts->signed_len, parts->sig, parts->sig_len,
                              check->require_low_s))
        return NULL;
    }
  return MSG_BAD_SIG;
}

typedef enum
{
  CLAIM_ABSENT,
  CLAIM_NUMBER,
  CLAIM_INVALID,
} OwlJwtClaimState;

/* A NumericDate claim (RFC 7519, 2): a JSON number, possibly fractional. */
static OwlJwtClaimState
get_time_claim (JsonObject *claims,
                const char *name,
                gdouble    *value)
{
  JsonNode *node = json_object_get_member (claims, name);
  GType type;

  if (node == NULL)
    return CLAIM_ABSENT;

  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    *value = (gdouble) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    *value = json_node_get_double (node);
  else
    return CLAIM_INVALID;
  return CLAIM_NUMBER;
}

/* Compared as doubles: NumericDates may be fractional, and exp + leeway
 * can not overflow the way gint64 arithmetic on a hostile exp would. */
static const char *
check_times (JsonObject        *claims,
             const OwlJwtCheck *check)
{
  gdouble now = check->now != 0 ? check->now : g_get_real_time () / G_USEC_PER_SEC;
  gdouble leeway = MAX (check->leeway, 0);
  gdouble exp = 0, nbf = 0, iat = 0;
  OwlJwtClaimState has_exp = get_time_claim (claims, "exp", &exp);
  OwlJwtClaimState has_nbf = get_time_claim (claims, "nbf", &nbf);
  OwlJwtClaimState has_iat = get_time_claim (claims, "iat", &iat);

  if (has_exp == CLAIM_INVALID || has_nbf == CLAIM_INVALID || has_iat == CLAIM_INVALID)
    return MSG_MALFORMED;
  if (has_exp == CLAIM_ABSENT && check->require_exp)
    return MSG_NO_EXPIRY;
  if (has_exp == CLAIM_NUMBER && now >= exp + leeway)
    return MSG_EXPIRED;
  if (has_nbf == CLAIM_NUMBER && now + leeway < nbf)
    return MSG_NOT_YET;
  if (has_iat == CLAIM_NUMBER && iat > now + leeway)
    return MSG_FUTURE;
  return NULL;
}

static gboolean
audience_matches (JsonObject *claims,
                  const char *audience)
{
  JsonNode *node = json_object_get_member (claims, "aud");
  JsonArray *array;

  if (node == NULL)
    return FALSE;
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return strcmp (json_node_get_string (node), audience) == 0;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (json_node_get_value_type (element) == G_TYPE_STRING &&
          strcmp (json_node_get_string (element), audience) == 0)
        return TRUE;
    }
  return FALSE;
}

static const char *
check_claims (JsonObject        *claims,
              const OwlJwtCheck *check)
{
  const char *failure = check_times (claims, check);

  if (failure != NULL)
    return failure;
  if (check->issuer != NULL &&
      g_strcmp0 (get_string (claims, "iss"), check->issuer) != 0)
    return MSG_ISSUER;
  if (check->audience != NULL && !audience_matches (claims, check->audience))
    return MSG_AUDIENCE;
  return NULL;
}

/* The steps in the order of the contract: size, structure, header, key
 * choice and signature, then claims. Returns the failure message. */
static const char *
verify_token (OwlJwtKeys         *keys,
              const OwlJwtCheck  *check,
              const char         *token,
              gsize               len,
              JsonObject        **claims)
{
  gsize max_size = check->max_size != 0 ? check->max_size : OWL_JWT_DEFAULT_MAX_SIZE;
  g_auto(OwlJwtParts) parts = { NULL, };
  g_autoptr(JsonObject) header = NULL;
  const char *kid = NULL;
  const char *failure;
  OwlJwtAlg alg = OWL_JWT_HS256;

  /* GnuTLS takes lengths as unsigned int, whatever max_size allows. */
  if (len > max_size || len > G_MAXUINT)
    return MSG_TOO_LARGE;
  if (!decode_token (token, len, &parts))
    return MSG_MALFORMED;

  header = parse_object (parts.header, parts.header_len);
  if (header == NULL)
    return MSG_MALFORMED;
  if ((failure = check_header (header, &alg, &kid)) != NULL ||
      (failure = check_signature (keys, check, alg, kid, token, &parts)) != NULL)
    return failure;

  *claims = parse_object (parts.payload, parts.payload_len);
  if (*claims == NULL)
    return MSG_MALFORMED;
  return check_claims (*claims, check);
}

JsonObject *
owl_jwt_verify (OwlJwtKeys         *keys,
                const OwlJwtCheck  *check,
                const char         *token,
                gsize               len,
                GError            **error)
{
  static const OwlJwtCheck defaults = { NULL, };
  g_autoptr(JsonObject) claims = NULL;
  const char *failure;

  g_return_val_if_fail (keys != NULL, NULL);
  g_return_val_if_fail (token != NULL || len == 0, NULL);

  failure = verify_token (keys, check != NULL ? check : &defaults, token, len, &claims);
  if (failure != NULL)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_AUTH_FAILED, failure);
      return NULL;
    }
  return g_steal_pointer (&claims);
}

/* The JWS signing input is the token up to its last '.'. Its encoding is
 * unique (b64url_decode refuses every other spelling of the same bytes),
 * while the signature after it is not: ECDSA's has a twin, and a signer
 * may sign the same content again with new randomness. */
char *
owl_jwt_token_id (const char *token,
                  gsize       len)
{
  const char *dot = len > 0 ? g_strrstr_len (token, (gssize) len, ".") : NULL;
  g_autoptr(GChecksum) checksum = NULL;
  g_autoptr(GString) id = g_string_sized_new (43);
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_return_val_if_fail (token != NULL || len == 0, NULL);

  if (dot == NULL)
    return NULL;

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, (const guchar *) token, dot - token);
  g_checksum_get_digest (checksum, digest, &digest_len);
  owl_jwt_b64url_append (id, digest, digest_len);
  return g_string_free (g_steal_pointer (&id), FALSE);
}

/* owl-jwt.c: JSON Web Tokens (JWS compact form), verified and signed
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

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "owl-json-private.h"
#include "owl-jwt-private.h"

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

#define HS256_SIZE     32
#define EC_COORD_SIZE  32
#define RAW_SIG_SIZE   64

static void
datum_clear (gnutls_datum_t *datum)
{
  gnutls_free (datum->data);
  datum->data = NULL;
  datum->size = 0;
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_pubkey_t, gnutls_pubkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_privkey_t, gnutls_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_privkey_t, gnutls_x509_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (gnutls_datum_t, datum_clear)

static const char * const alg_names[] = {
  [OWL_JWT_HS256] = "HS256",
  [OWL_JWT_ES256] = "ES256",
  [OWL_JWT_EDDSA] = "EdDSA",
};

const char *
owl_jwt_alg_to_string (OwlJwtAlg alg)
{
  g_return_val_if_fail ((guint) alg < G_N_ELEMENTS (alg_names), NULL);

  return alg_names[alg];
}

/* JWS algorithm names are case-sensitive (RFC 7515, 4.1.1). */
gboolean
owl_jwt_alg_from_string (const char *s,
                         OwlJwtAlg  *alg)
{
  g_return_val_if_fail (s != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (alg_names); i++)
    {
      if (strcmp (s, alg_names[i]) == 0)
        {
          if (alg != NULL)
            *alg = (OwlJwtAlg) i;
          return TRUE;
        }
    }
  return FALSE;
}

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

static void
b64url_append (GString      *out,
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

/* Key sets */

typedef struct
{
  OwlJwtAlg        alg;
  char            *kid;
  guint8          *secret;      /* HS256 */
  gsize            secret_len;
  GHmac           *hmac;        /* HS256, keyed once: each check copies it */
  gnutls_pubkey_t  pubkey;      /* ES256, EdDSA */
} OwlJwtKey;

struct _OwlJwtKeys
{
  GPtrArray *keys;     /* OwlJwtKey */
  gboolean   has_kid;  /* some key has a kid: a token's kid must name one */
};

static void
owl_jwt_key_free (OwlJwtKey *key)
{
  if (key->secret != NULL)
    gnutls_memset (key->secret, 0, key->secret_len);
  g_free (key->secret);
  g_clear_pointer (&key->hmac, g_hmac_unref);
  g_clear_pointer (&key->pubkey, gnutls_pubkey_deinit);
  g_free (key->kid);
  g_free (key);
}

OwlJwtKeys *
owl_jwt_keys_new (void)
{
  OwlJwtKeys *keys = g_new0 (OwlJwtKeys, 1);

  keys->keys = g_ptr_array_new_with_free_func ((GDestroyNotify) owl_jwt_key_free);
  return keys;
}

void
owl_jwt_keys_free (OwlJwtKeys *keys)
{
  if (keys == NULL)
    return;

  g_ptr_array_unref (keys->keys);
  g_free (keys);
}

guint
owl_jwt_keys_get_n_keys (OwlJwtKeys *keys)
{
  g_return_val_if_fail (keys != NULL, 0);

  return keys->keys->len;
}

/* A kid names one key: two keys under one kid would make the header's
 * choice ambiguous. */
static gboolean
kid_is_free (OwlJwtKeys  *keys,
             const char  *kid,
             GError     **error)
{
  if (kid == NULL)
    return TRUE;

  for (guint i = 0; i < keys->keys->len; i++)
    {
      OwlJwtKey *key = g_ptr_array_index (keys->keys, i);

      if (g_strcmp0 (key->kid, kid) == 0)
        {
          g_set_error_literal (error, OWL_ERROR, OWL_ERROR_EXISTS,
                               "A key with this kid exists already");
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
owl_jwt_keys_add_secret (OwlJwtKeys    *keys,
                         const char    *kid,
                         const guint8  *secret,
                         gsize          len,
                         GError       **error)
{
  OwlJwtKey *key;

  g_return_val_if_fail (keys != NULL, FALSE);
  g_return_val_if_fail (secret != NULL || len == 0, FALSE);

  if (len < OWL_JWT_MIN_SECRET_SIZE)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "An HS256 secret must be at least %d bytes long",
                   OWL_JWT_MIN_SECRET_SIZE);
      return FALSE;
    }
  if (!kid_is_free (keys, kid, error))
    return FALSE;

  key = g_new0 (OwlJwtKey, 1);
  key->alg = OWL_JWT_HS256;
  key->kid = g_strdup (kid);
  keys->has_kid |= kid != NULL;
  key->secret = g_memdup2 (secret, len);
  key->secret_len = len;
  /* The key's pads are hashed here, once, not for every token. */
  key->hmac = g_hmac_new (G_CHECKSUM_SHA256, secret, len);
  g_ptr_array_add (keys->keys, key);
  return TRUE;
}

/* The one place that maps a key type to an algorithm, for public keys
 * read from PEM and for the public half of a signing key alike. */
static gboolean
pubkey_get_alg (gnutls_pubkey_t  pubkey,
                OwlJwtAlg       *alg)
{
  int pk = gnutls_pubkey_get_pk_algorithm (pubkey, NULL);
  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;

  if (pk == GNUTLS_PK_EDDSA_ED25519)
    {
      *alg = OWL_JWT_EDDSA;
      return TRUE;
    }
  if (pk == GNUTLS_PK_ECDSA &&
      gnutls_pubkey_export_ecc_raw2 (pubkey, &curve, NULL, NULL, 0) >= 0 &&
      curve == GNUTLS_ECC_CURVE_SECP256R1)
    {
      *alg = OWL_JWT_ES256;
      return TRUE;
    }
  return FALSE;
}

static gboolean
set_key_type_error (GError **error)
{
  g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                       "Unsupported key type: only EC P-256 (ES256) and "
                       "Ed25519 (EdDSA) keys are accepted");
  return FALSE;
}

gboolean
owl_jwt_keys_add_public_pem (OwlJwtKeys    *keys,
                             const char    *kid,
                             const char    *pem,
                             gsize          len,
                             GError       **error)
{
  g_auto(gnutls_pubkey_t) pubkey = NULL;
  gnutls_datum_t data = { (unsigned char *) pem, (unsigned int) len };
  OwlJwtKey *key;
  OwlJwtAlg alg;

  g_return_val_if_fail (keys != NULL, FALSE);
  g_return_val_if_fail (pem != NULL || len == 0, FALSE);

  if (len > G_MAXUINT || gnutls_pubkey_init (&pubkey) < 0 ||
      gnutls_pubkey_import (pubkey, &data, GNUTLS_X509_FMT_PEM) < 0)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                           "Not a PEM public key (SubjectPublicKeyInfo)");
      return FALSE;
    }
  if (!pubkey_get_alg (pubkey, &alg))
    return set_key_type_error (error);
  if (!kid_is_free (keys, kid, error))
    return FALSE;

  key = g_new0 (OwlJwtKey, 1);
  key->alg = alg;
  key->kid = g_strdup (kid);
  keys->has_kid |= kid != NULL;
  key->pubkey = g_steal_pointer (&pubkey);
  g_ptr_array_add (keys->keys, key);
  return TRUE;
}

/* Signatures */

static void
hs256 (const guint8 *secret,
       gsize         secret_len,
       const char   *input,
       gsize         input_len,
       guint8        mac[HS256_SIZE])
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, secret, secret_len);
  gsize mac_len = HS256_SIZE;

  g_hmac_update (hmac, (const guchar *) input, (gssize) input_len);
  g_hmac_get_digest (hmac, mac, &mac_len);
}

/* ECDSA's r and s are unsigned big-endian numbers, fixed-size in a JWS
 * (RFC 7518, 3.4) but minimal in the DER that GnuTLS reads and writes. */
static gnutls_datum_t
trim_leading_zeros (const guint8 *data,
                    gsize         len)
{
  gnutls_datum_t datum;

  while (len > 1 && data[0] == 0)
    {
      data++;
      len--;
    }
  datum.data = (unsigned char *) data;
  datum.size = (unsigned int) len;
  return datum;
}

/* The order n of P-256's group and n / 2 rounded down, big-endian
 * (SEC 2, 2.4.2). */
static const guint8 p256_order[EC_COORD_SIZE] = {
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
  0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};
static const guint8 p256_half_order[EC_COORD_SIZE] = {
  0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
  0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42,
  0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
};

/* ECDSA accepts (r, s) and (r, n - s) alike, so each signature has a twin
 * that is another token string. Of the two, exactly one has s <= n / 2;
 * memcmp orders equal-length big-endian numbers. */
static gboolean
is_high_s (const guint8 s[EC_COORD_SIZE])
{
  return memcmp (s, p256_half_order, EC_COORD_SIZE) > 0;
}

/* s = n - s, for 0 < s < n. */
static void
negate_s (guint8 s[EC_COORD_SIZE])
{
  guint borrow = 0;

  for (gint i = EC_COORD_SIZE - 1; i >= 0; i--)
    {
      gint d = (gint) p256_order[i] - (gint) s[i] - (gint) borrow;

      borrow = d < 0;
      s[i] = (guint8) (d + (borrow ? 256 : 0));
    }
}

static gboolean
put_fixed (const gnutls_datum_t *n,
           guint8               *out)
{
  gnutls_datum_t trimmed = trim_leading_zeros (n->data, n->size);

  if (n->size == 0 || trimmed.size > EC_COORD_SIZE)
    return FALSE;
  memset (out, 0, EC_COORD_SIZE - trimmed.size);
  memcpy (out + EC_COORD_SIZE - trimmed.size, trimmed.data, trimmed.size);
  return TRUE;
}

static gboolean
verify_with_key (const OwlJwtKey *key,
                 const char      *input,
                 gsize            input_len,
                 const guint8    *sig,
                 gsize            sig_len,
                 gboolean         require_low_s)
{
  gnutls_datum_t data = { (unsigned char *) input, (unsigned int) input_len };
  gnutls_datum_t raw = { (unsigned char *) sig, (unsigned int) sig_len };
  g_auto(gnutls_datum_t) der = { NULL, 0 };
  gnutls_datum_t r, s;
  guint8 mac[HS256_SIZE];

  switch (key->alg)
    {
    case OWL_JWT_HS256:
      if (sig_len != HS256_SIZE)
        return FALSE;
      {
        g_autoptr(GHmac) hmac = g_hmac_copy (key->hmac);
        gsize mac_len = HS256_SIZE;

        g_hmac_update (hmac, (const guchar *) input, (gssize) input_len);
        g_hmac_get_digest (hmac, mac, &mac_len);
      }
      return gnutls_memcmp (mac, sig, HS256_SIZE) == 0;

    case OWL_JWT_ES256:
      if (sig_len != RAW_SIG_SIZE ||
          (require_low_s && is_high_s (sig + EC_COORD_SIZE)))
        return FALSE;
      r = trim_leading_zeros (sig, EC_COORD_SIZE);
      s = trim_leading_zeros (sig + EC_COORD_SIZE, EC_COORD_SIZE);
      return gnutls_encode_rs_value (&der, &r, &s) >= 0 &&
             gnutls_pubkey_verify_data2 (key->pubkey, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256,
                                         0, &data, &der) >= 0;

    case OWL_JWT_EDDSA:
      return sig_len == RAW_SIG_SIZE &&
             gnutls_pubkey_verify_data2 (key->pubkey, GNUTLS_SIGN_EDDSA_ED25519,
                                         0, &data, &raw) >= 0;

    default:
      return FALSE;
    }
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
      if (verify_with_key (key, token, parts->signed_len, parts->sig, parts->sig_len,
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
  b64url_append (id, digest, digest_len);
  return g_string_free (g_steal_pointer (&id), FALSE);
}

/* Signing */

static gboolean
set_gnutls_error (GError     **error,
                  OwlError     code,
                  const char  *what,
                  int          ret)
{
  g_set_error (error, OWL_ERROR, code, "%s: %s", what, gnutls_strerror (ret));
  return FALSE;
}

/* Imports a PEM private key and checks that it is of @alg's type. */
static gnutls_privkey_t
import_private_key (OwlJwtAlg      alg,
                    const guint8  *pem,
                    gsize          len,
                    GError       **error)
{
  g_auto(gnutls_privkey_t) privkey = NULL;
  g_auto(gnutls_pubkey_t) pubkey = NULL;
  gnutls_datum_t data = { (unsigned char *) pem, (unsigned int) len };
  OwlJwtAlg key_alg = alg;
  int ret;

  if (len > G_MAXUINT)
    ret = GNUTLS_E_INVALID_REQUEST;
  else if ((ret = gnutls_privkey_init (&privkey)) >= 0)
    ret = gnutls_privkey_import_x509_raw (privkey, &data, GNUTLS_X509_FMT_PEM, NULL, 0);
  if (ret < 0)
    {
      set_gnutls_error (error, OWL_ERROR_INVALID_ARGUMENT, "Not a PEM private key", ret);
      return NULL;
    }

  if (gnutls_pubkey_init (&pubkey) < 0 ||
      gnutls_pubkey_import_privkey (pubkey, privkey, 0, 0) < 0 ||
      !pubkey_get_alg (pubkey, &key_alg))
    {
      set_key_type_error (error);
      return NULL;
    }
  if (key_alg != alg)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "The key is for %s, not %s",
                   owl_jwt_alg_to_string (key_alg), owl_jwt_alg_to_string (alg));
      return NULL;
    }
  return g_steal_pointer (&privkey);
}

/* Appends the raw JWS signature: r || s for ES256, where GnuTLS gives DER.
 * GnuTLS's s is high half the time; the low twin is as valid and is the one
 * a verifier with require_low_s accepts. */
static gboolean
append_signature (GByteArray           *out,
                  OwlJwtAlg             alg,
                  const gnutls_datum_t *sig)
{
  g_auto(gnutls_datum_t) r = { NULL, 0 };
  g_auto(gnutls_datum_t) s = { NULL, 0 };
  guint8 raw[RAW_SIG_SIZE];

  if (alg == OWL_JWT_EDDSA)
    {
      g_byte_array_append (out, sig->data, sig->size);
      return sig->size == RAW_SIG_SIZE;
    }
  if (gnutls_decode_rs_value (sig, &r, &s) < 0 ||
      !put_fixed (&r, raw) || !put_fixed (&s, raw + EC_COORD_SIZE))
    return FALSE;
  if (is_high_s (raw + EC_COORD_SIZE))
    negate_s (raw + EC_COORD_SIZE);
  g_byte_array_append (out, raw, sizeof raw);
  return TRUE;
}

static gboolean
sign_with_private_key (OwlJwtAlg      alg,
                       const guint8  *pem,
                       gsize          pem_len,
                       const char    *input,
                       gsize          input_len,
                       GByteArray    *out,
                       GError       **error)
{
  g_auto(gnutls_privkey_t) privkey = import_private_key (alg, pem, pem_len, error);
  gnutls_datum_t data = { (unsigned char *) input, (unsigned int) input_len };
  g_auto(gnutls_datum_t) sig = { NULL, 0 };
  int ret;

  if (privkey == NULL)
    return FALSE;
  if (input_len > G_MAXUINT)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT, "Claims too large");
      return FALSE;
    }

  ret = gnutls_privkey_sign_data2 (privkey,
                                   alg == OWL_JWT_ES256 ? GNUTLS_SIGN_ECDSA_SECP256R1_SHA256
                                                        : GNUTLS_SIGN_EDDSA_ED25519,
                                   0, &data, &sig);
  if (ret < 0)
    return set_gnutls_error (error, OWL_ERROR_FAILED, "Signing failed", ret);
  if (!append_signature (out, alg, &sig))
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_FAILED,
                           "Signing failed: unexpected signature form");
      return FALSE;
    }
  return TRUE;
}

static gboolean
sign_input (OwlJwtAlg      alg,
            const guint8  *key,
            gsize          key_len,
            const char    *input,
            gsize          input_len,
            GByteArray    *out,
            GError       **error)
{
  guint8 mac[HS256_SIZE];

  if (alg != OWL_JWT_HS256)
    return sign_with_private_key (alg, key, key_len, input, input_len, out, error);

  if (key_len < OWL_JWT_MIN_SECRET_SIZE)
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "An HS256 secret must be at least %d bytes long",
                   OWL_JWT_MIN_SECRET_SIZE);
      return FALSE;
    }
  hs256 (key, key_len, input, input_len, mac);
  g_byte_array_append (out, mac, sizeof mac);
  return TRUE;
}

static void
append_object (GString    *out,
               JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;

  json_node_set_object (node, object);
  text = json_to_string (node, FALSE);
  b64url_append (out, (const guint8 *) text, strlen (text));
}

char *
owl_jwt_sign (OwlJwtAlg      alg,
              const char    *kid,
              const guint8  *key,
              gsize          key_len,
              JsonObject    *claims,
              GError       **error)
{
  g_autoptr(JsonObject) header = json_object_new ();
  g_autoptr(GString) token = g_string_new (NULL);
  g_autoptr(GByteArray) sig = g_byte_array_new ();

  g_return_val_if_fail ((guint) alg < G_N_ELEMENTS (alg_names), NULL);
  g_return_val_if_fail (key != NULL || key_len == 0, NULL);
  g_return_val_if_fail (claims != NULL, NULL);

  json_object_set_string_member (header, "alg", owl_jwt_alg_to_string (alg));
  json_object_set_string_member (header, "typ", "JWT");
  if (kid != NULL)
    json_object_set_string_member (header, "kid", kid);

  append_object (token, header);
  g_string_append_c (token, '.');
  append_object (token, claims);
  if (!sign_input (alg, key, key_len, token->str, token->len, sig, error))
    return NULL;
  g_string_append_c (token, '.');
  b64url_append (token, sig->data, sig->len);

  return g_string_free (g_steal_pointer (&token), FALSE);
}

/* Key generation */

static gboolean
export_key_pair (gnutls_privkey_t   privkey,
                 char             **private_pem,
                 char             **public_pem,
                 GError           **error)
{
  g_auto(gnutls_x509_privkey_t) x509 = NULL;
  g_auto(gnutls_pubkey_t) pubkey = NULL;
  g_auto(gnutls_datum_t) priv = { NULL, 0 };
  g_auto(gnutls_datum_t) pub = { NULL, 0 };
  int ret;

  if ((ret = gnutls_privkey_export_x509 (privkey, &x509)) < 0 ||
      (ret = gnutls_x509_privkey_export2_pkcs8 (x509, GNUTLS_X509_FMT_PEM, NULL,
                                                GNUTLS_PKCS_PLAIN, &priv)) < 0 ||
      (ret = gnutls_pubkey_init (&pubkey)) < 0 ||
      (ret = gnutls_pubkey_import_privkey (pubkey, privkey, 0, 0)) < 0 ||
      (ret = gnutls_pubkey_export2 (pubkey, GNUTLS_X509_FMT_PEM, &pub)) < 0)
    return set_gnutls_error (error, OWL_ERROR_FAILED, "Could not export the key", ret);

  *private_pem = g_strndup ((const char *) priv.data, priv.size);
  *public_pem = g_strndup ((const char *) pub.data, pub.size);
  gnutls_memset (priv.data, 0, priv.size);
  return TRUE;
}

gboolean
owl_jwt_generate_key (OwlJwtAlg    alg,
                      char       **private_pem,
                      char       **public_pem,
                      GError     **error)
{
  g_auto(gnutls_privkey_t) privkey = NULL;
  gnutls_pk_algorithm_t pk = GNUTLS_PK_ECDSA;
  unsigned int bits = GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1);
  int ret;

  g_return_val_if_fail (private_pem != NULL && public_pem != NULL, FALSE);

  if (alg == OWL_JWT_EDDSA)
    {
      pk = GNUTLS_PK_EDDSA_ED25519;
      bits = GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_ED25519);
    }
  else if (alg != OWL_JWT_ES256)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                           "Key pairs are for ES256 and EdDSA only");
      return FALSE;
    }

  if ((ret = gnutls_privkey_init (&privkey)) < 0 ||
      (ret = gnutls_privkey_generate2 (privkey, pk, bits, 0, NULL, 0)) < 0)
    return set_gnutls_error (error, OWL_ERROR_FAILED, "Could not generate a key", ret);

  return export_key_pair (privkey, private_pem, public_pem, error);
}

/* owl-jwt-keys.c: JWT keys, signatures and signing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything that touches a key: the key set owl_jwt_verify() reads, what
 * one key says of one signature, signing, and making key pairs. Each key's
 * algorithm is fixed when it is added, from the key's own type, so that a
 * token can never choose how its signature is checked.
 */

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "owl-jwt-keys-private.h"

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

/* Key sets */

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

gboolean
owl_jwt_key_verify (const OwlJwtKey *key,
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
  owl_jwt_b64url_append (out, (const guint8 *) text, strlen (text));
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
  owl_jwt_b64url_append (token, sig->data, sig->len);

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

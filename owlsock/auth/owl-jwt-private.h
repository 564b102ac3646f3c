/* owl-jwt-private.h: JSON Web Tokens (JWS compact form), verified and signed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

#include "owl-error.h"

G_BEGIN_DECLS

/* The tokens this verifier accepts are small; a longer one is refused before
 * any of it is decoded (OwlJwtCheck.max_size = 0 means this). */
#define OWL_JWT_DEFAULT_MAX_SIZE (8 * 1024)

/* HS256 secrets must be at least as long as the hash (RFC 7518, 3.2). */
#define OWL_JWT_MIN_SECRET_SIZE 32

typedef enum
{
  OWL_JWT_HS256,
  OWL_JWT_ES256,
  OWL_JWT_EDDSA,
} OwlJwtAlg;

const char *owl_jwt_alg_to_string   (OwlJwtAlg   alg);
gboolean    owl_jwt_alg_from_string (const char *s,
                                     OwlJwtAlg  *alg);

/* A set of verification keys. Each key's algorithm is fixed when it is
 * added: a secret only ever checks HS256, an EC P-256 key ES256 and an
 * Ed25519 key EdDSA. Key ids are unique within a set.
 *
 * Add every key before the set is shared: after that it is only read, and
 * owl_jwt_verify() may run on several threads at once. */
typedef struct _OwlJwtKeys OwlJwtKeys;

OwlJwtKeys *owl_jwt_keys_new            (void);
void        owl_jwt_keys_free           (OwlJwtKeys    *keys);
gboolean    owl_jwt_keys_add_secret     (OwlJwtKeys    *keys,
                                         const char    *kid,
                                         const guint8  *secret,
                                         gsize          len,
                                         GError       **error);
gboolean    owl_jwt_keys_add_public_pem (OwlJwtKeys    *keys,
                                         const char    *kid,
                                         const char    *pem,
                                         gsize          len,
                                         GError       **error);
guint       owl_jwt_keys_get_n_keys     (OwlJwtKeys    *keys);

/* The length of the secret a secret file holding @len bytes of @data
 * gives: its bytes, one trailing newline ("\n" or "\r\n", which editors
 * and `echo` add) dropped. owlsock-token, owlsockd and
 * owl_jwt_guard_load_secret_file() all read secret files with it. */
gsize       owl_jwt_secret_file_length  (const char    *data,
                                         gsize          len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlJwtKeys, owl_jwt_keys_free)

typedef struct
{
  const char *issuer;      /* nullable: when set, `iss` must equal it */
  const char *audience;    /* nullable: when set, `aud` (a string, or an array holding it) must match */
  gint64      leeway;      /* seconds allowed for clock skew on exp, nbf and iat; negative counts as 0 */
  gsize       max_size;    /* whole token, in bytes; 0: OWL_JWT_DEFAULT_MAX_SIZE */
  gboolean    require_exp;
  gboolean    require_low_s; /* ES256: refuse s > n/2, the twin (r, n - s) of a signature */
  gint64      now;         /* unix seconds; 0: the real time */
} OwlJwtCheck;

/* Verifies @token (@len bytes, need not be NUL-terminated) against @keys and
 * @check (NULL: all defaults). Returns the claims, or NULL with an
 * OWL_ERROR_AUTH_FAILED error whose message is exactly one of "Token too
 * large", "Malformed token", "Unsupported algorithm", "Unknown key", "Bad
 * signature", "Token expired", "Token not yet valid", "Token issued in the
 * future", "Wrong issuer", "Wrong audience" or "Token has no expiry", and
 * so never holds any part of the token. The payload is parsed only once
 * the signature is good.
 *
 * A token without `kid` is tried against every key of its algorithm. When
 * no key in @keys has a kid, a token's `kid` is ignored likewise. Once one
 * has, a token whose `kid` names no key of its algorithm is refused
 * ("Unknown key"), and one whose `kid` names a key is tried against that
 * key and the keys of its algorithm added without kid. A kid is compared
 * as a string and used for nothing else. */
JsonObject *owl_jwt_verify (OwlJwtKeys         *keys,
                            const OwlJwtCheck  *check,
                            const char         *token,
                            gsize               len,
                            GError            **error);

/* An id of @token (@len bytes) that is the same for every encoding of the
 * same signed content: the unpadded base64url of SHA-256 over the JWS
 * signing input ("header.payload" as it appears in the token). For tokens
 * owl_jwt_verify() accepted; NULL if @token has no '.'. */
char       *owl_jwt_token_id (const char *token,
                              gsize       len);

/* Signs @claims into a compact token. @key is the HS256 secret, or for ES256
 * and EdDSA a private key in PEM ("PRIVATE KEY" or "EC PRIVATE KEY") of the
 * matching type. ES256 signatures are always low-S (s <= n/2), so they pass
 * require_low_s. Fails with OWL_ERROR_INVALID_ARGUMENT. */
char       *owl_jwt_sign   (OwlJwtAlg      alg,
                            const char    *kid,
                            const guint8  *key,
                            gsize          key_len,
                            JsonObject    *claims,
                            GError       **error);

/* Makes a fresh ES256 (P-256) or EdDSA (Ed25519) key pair: the private key
 * as unencrypted PKCS#8 PEM, the public key as SubjectPublicKeyInfo PEM.
 * For owlsock-token and the tests. */
gboolean    owl_jwt_generate_key (OwlJwtAlg    alg,
                                  char       **private_pem,
                                  char       **public_pem,
                                  GError     **error);

G_END_DECLS

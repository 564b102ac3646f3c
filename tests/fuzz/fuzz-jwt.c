/* fuzz-jwt.c: libFuzzer target for owlsock's JWT verifier
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is a token as a client sends it, checked against an HS256
 * secret and an ES256 key with the JWT guard's defaults, then again with
 * require_low_s. Besides the sanitizers, the checks are: a refusal is an
 * auth-failed error whose message is one of the verifier's fixed texts
 * (never a piece of the token), and require_low_s only ever refuses more.
 */

#include <stdint.h>
#include <string.h>

#include "owl-jwt-private.h"

/* The seeds in corpus/jwt are signed with this secret. */
#define FUZZ_SECRET "owlsock-fuzz-secret-0123456789abcdef"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static OwlJwtKeys *
fuzz_keys (void)
{
  static OwlJwtKeys *keys;

  if (keys == NULL)
    {
      char *private_pem = NULL, *public_pem = NULL;

      keys = owl_jwt_keys_new ();
      if (!owl_jwt_keys_add_secret (keys, NULL, (const guint8 *) FUZZ_SECRET, strlen (FUZZ_SECRET), NULL) ||
          !owl_jwt_generate_key (OWL_JWT_ES256, &private_pem, &public_pem, NULL) ||
          !owl_jwt_keys_add_public_pem (keys, "es", public_pem, strlen (public_pem), NULL))
        __builtin_trap ();
      g_free (private_pem);
      g_free (public_pem);
    }
  return keys;
}

/* Every refusal is one of the verifier's fixed texts, which by
 * construction hold nothing of the token. */
static void
check_message (const char *message)
{
  static const char *const fixed[] = {
    "Token too large", "Malformed token", "Unsupported algorithm", "Unknown key",
    "Bad signature", "Token expired", "Token not yet valid", "Token issued in the future",
    "Wrong issuer", "Wrong audience", "Token has no expiry",
  };

  for (size_t i = 0; i < G_N_ELEMENTS (fixed); i++)
    if (strcmp (message, fixed[i]) == 0)
      return;
  __builtin_trap ();
}

/* Whether @token verifies; a refusal must be a fixed text. */
static gboolean
verify (const OwlJwtCheck *check,
        const char        *token,
        size_t             size)
{
  GError *error = NULL;
  JsonObject *claims = owl_jwt_verify (fuzz_keys (), check, token, size, &error);

  if (claims != NULL)
    {
      json_object_unref (claims);
      return TRUE;
    }
  if (error == NULL || error->domain != OWL_ERROR || error->code != OWL_ERROR_AUTH_FAILED)
    __builtin_trap ();
  check_message (error->message);
  g_error_free (error);
  return FALSE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  OwlJwtCheck check = { .leeway = 30, .require_exp = TRUE, .now = 1800000000 };
  OwlJwtCheck low_s = check;
  char *token = g_malloc (MAX (size, 1));

  low_s.require_low_s = TRUE;
  memcpy (token, data, size);
  if (!verify (&check, token, size) && verify (&low_s, token, size))
    __builtin_trap ();

  g_free (token);
  return 0;
}

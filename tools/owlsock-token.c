/* owlsock-token.c: mints test tokens for the JWT guard
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Prints one signed token on stdout and nothing else, so that scripts can
 * write TOKEN=$(owlsock-token ...); every complaint goes to stderr with exit
 * status 1. It also makes ES256 and EdDSA key pairs, so that trying those
 * algorithms needs no openssl.
 */

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "owl-json-private.h"
#include "owl-jwt-private.h"

/* Far enough for any test, near enough that now + delta can not overflow. */
#define MAX_DELTA ((gint64) 100 * 366 * 24 * 3600)
#define NO_NBF    G_MININT64

typedef struct
{
  char    *alg;
  char    *secret;
  char    *secret_file;
  char    *key_file;
  char    *sub;
  char    *scope;
  gint64   ttl;
  char    *iss;
  char    *aud;
  char    *kid;
  gint64   nbf_in;
  char   **claims;
  char   **claim_jsons;
  char    *generate;
  char    *out;
  char    *public_out;
} Options;

static void
options_clear (Options *o)
{
  g_free (o->alg);
  g_free (o->secret);
  g_free (o->secret_file);
  g_free (o->key_file);
  g_free (o->sub);
  g_free (o->scope);
  g_free (o->iss);
  g_free (o->aud);
  g_free (o->kid);
  g_strfreev (o->claims);
  g_strfreev (o->claim_jsons);
  g_free (o->generate);
  g_free (o->out);
  g_free (o->public_out);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

static gboolean
fail (GError     **error,
      const char  *format,
      ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError     **error,
      const char  *format,
      ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                                                format, args));
  va_end (args);
  return FALSE;
}

/* Key generation */

/* Never replaces a file: an overwritten key would silently invalidate every
 * token signed with it. */
static gboolean
write_new_file (const char        *path,
                const char        *contents,
                GFileCreateFlags   flags,
                GError           **error)
{
  g_autoptr(GFile) file = g_file_new_for_commandline_arg (path);
  g_autoptr(GFileOutputStream) out = g_file_create (file, flags, NULL, error);

  return out != NULL &&
         g_output_stream_write_all (G_OUTPUT_STREAM (out), contents, strlen (contents),
                                    NULL, NULL, error) &&
         g_output_stream_close (G_OUTPUT_STREAM (out), NULL, error);
}

static gboolean
generate_key_files (const Options  *o,
                    GError        **error)
{
  g_autofree char *private_pem = NULL;
  g_autofree char *public_pem = NULL;
  OwlJwtAlg alg;

  if (!owl_jwt_alg_from_string (o->generate, &alg) || alg == OWL_JWT_HS256)
    return fail (error, "--generate-key takes ES256 or EdDSA");
  if (o->out == NULL || o->public_out == NULL)
    return fail (error, "--generate-key needs --out and --public-out");
  if (o->secret != NULL || o->secret_file != NULL || o->key_file != NULL || o->sub != NULL)
    return fail (error, "--generate-key does not mint a token; leave out the token options");

  if (g_file_test (o->public_out, G_FILE_TEST_EXISTS))
    return fail (error, "%s exists already; remove it first", o->public_out);

  if (!owl_jwt_generate_key (alg, &private_pem, &public_pem, error))
    return FALSE;
  /* The private key is readable by its owner only, as ssh-keygen does. */
  return write_new_file (o->out, private_pem, G_FILE_CREATE_PRIVATE, error) &&
         write_new_file (o->public_out, public_pem, G_FILE_CREATE_NONE, error);
}

/* Minting */

/* The signing key's bytes: the secret, or the private key's PEM. A secret
 * file loses one trailing newline, as owlsockd reads it. */
static GBytes *
load_key (const Options  *o,
          GError        **error)
{
  char *data = NULL;
  gsize len = 0;

  if ((o->secret != NULL) + (o->secret_file != NULL) + (o->key_file != NULL) != 1)
    {
      fail (error, "Give exactly one of --secret, --secret-file and --key");
      return NULL;
    }
  if (o->secret != NULL)
    return g_bytes_new (o->secret, strlen (o->secret));
  if (!g_file_get_contents (o->secret_file != NULL ? o->secret_file : o->key_file,
                            &data, &len, error))
    return NULL;

  if (o->secret_file != NULL)
    len = owl_jwt_secret_file_length (data, len);
  return g_bytes_new_take (data, len);
}

static gboolean
choose_alg (const Options  *o,
            OwlJwtAlg      *alg,
            GError        **error)
{
  if (o->alg == NULL)
    {
      if (o->key_file != NULL)
        return fail (error, "--key needs --alg ES256 or --alg EdDSA");
      *alg = OWL_JWT_HS256;
      return TRUE;
    }
  if (!owl_jwt_alg_from_string (o->alg, alg))
    return fail (error, "Unknown --alg %s (use HS256, ES256 or EdDSA)", o->alg);
  if ((*alg == OWL_JWT_HS256) != (o->key_file == NULL))
    return fail (error, "HS256 signs with --secret or --secret-file; ES256 and EdDSA with --key");
  return TRUE;
}

/* Splits "name=value" at the first '='. */
static gboolean
split_claim (const char  *arg,
             char       **name,
             const char **value,
             GError     **error)
{
  const char *eq = strchr (arg, '=');

  if (eq == NULL || eq == arg)
    return fail (error, "A claim is name=value, not '%s'", arg);
  *name = g_strndup (arg, eq - arg);
  *value = eq + 1;
  return TRUE;
}

static gboolean
add_extra_claims (JsonObject     *claims,
                  const Options  *o,
                  GError        **error)
{
  for (guint i = 0; o->claims != NULL && o->claims[i] != NULL; i++)
    {
      g_autofree char *name = NULL;
      const char *value;

      if (!split_claim (o->claims[i], &name, &value, error))
        return FALSE;
      json_object_set_string_member (claims, name, value);
    }

  for (guint i = 0; o->claim_jsons != NULL && o->claim_jsons[i] != NULL; i++)
    {
      g_autofree char *name = NULL;
      const char *value;
      JsonNode *node;

      if (!split_claim (o->claim_jsons[i], &name, &value, error))
        return FALSE;
      node = owl_json_parse (value, strlen (value), 64, NULL);
      if (node == NULL)
        return fail (error, "--claim-json %s: the value is not JSON", name);
      json_object_set_member (claims, name, node);
    }
  return TRUE;
}

static JsonObject *
build_claims (const Options  *o,
              GError        **error)
{
  g_autoptr(JsonObject) claims = json_object_new ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (o->sub == NULL)
    {
      fail (error, "--sub is required");
      return NULL;
    }
  if (ABS (o->ttl) > MAX_DELTA || (o->nbf_in != NO_NBF && ABS (o->nbf_in) > MAX_DELTA))
    {
      fail (error, "--ttl and --nbf-in must be within 100 years");
      return NULL;
    }

  json_object_set_string_member (claims, "sub", o->sub);
  json_object_set_int_member (claims, "iat", now);
  if (o->ttl != 0)
    json_object_set_int_member (claims, "exp", now + o->ttl);
  if (o->nbf_in != NO_NBF)
    json_object_set_int_member (claims, "nbf", now + o->nbf_in);
  if (o->scope != NULL)
    json_object_set_string_member (claims, "scope", o->scope);
  if (o->iss != NULL)
    json_object_set_string_member (claims, "iss", o->iss);
  if (o->aud != NULL)
    json_object_set_string_member (claims, "aud", o->aud);

  if (!add_extra_claims (claims, o, error))
    return NULL;
  return g_steal_pointer (&claims);
}

static gboolean
mint (const Options  *o,
      GError        **error)
{
  g_autoptr(JsonObject) claims = NULL;
  g_autoptr(GBytes) key = NULL;
  g_autofree char *token = NULL;
  OwlJwtAlg alg;

  if (!choose_alg (o, &alg, error) ||
      (key = load_key (o, error)) == NULL ||
      (claims = build_claims (o, error)) == NULL)
    return FALSE;

  token = owl_jwt_sign (alg, o->kid, g_bytes_get_data (key, NULL), g_bytes_get_size (key),
                        claims, error);
  if (token == NULL)
    return FALSE;

  if (printf ("%s\n", token) < 0 || fflush (stdout) != 0)
    return fail (error, "Could not write the token");
  return TRUE;
}

/* Command line */

static GOptionContext *
make_context (Options *o)
{
  const GOptionEntry entries[] = {
    { "alg", 'a', 0, G_OPTION_ARG_STRING, &o->alg,
      "HS256 (default), ES256 or EdDSA", "ALG" },
    { "secret", 0, 0, G_OPTION_ARG_STRING, &o->secret,
      "HS256 secret, at least 32 bytes (visible to other local users; prefer --secret-file)", "TEXT" },
    { "secret-file", 0, 0, G_OPTION_ARG_FILENAME, &o->secret_file,
      "Read the HS256 secret from FILE (one trailing newline is dropped)", "FILE" },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &o->key_file,
      "PEM private key for ES256 or EdDSA", "FILE" },
    { "sub", 's', 0, G_OPTION_ARG_STRING, &o->sub,
      "Subject: the user the token is for (required)", "USER" },
    { "scope", 0, 0, G_OPTION_ARG_STRING, &o->scope,
      "Space-separated scopes, e.g. \"chat:read chat:write\"", "SCOPES" },
    { "ttl", 't', 0, G_OPTION_ARG_INT64, &o->ttl,
      "Lifetime in seconds (default 3600; 0: no exp; negative: already expired)", "SECONDS" },
    { "iss", 0, 0, G_OPTION_ARG_STRING, &o->iss, "Issuer claim", "ISSUER" },
    { "aud", 0, 0, G_OPTION_ARG_STRING, &o->aud, "Audience claim", "AUDIENCE" },
    { "kid", 0, 0, G_OPTION_ARG_STRING, &o->kid, "Key id to put in the header", "KID" },
    { "nbf-in", 0, 0, G_OPTION_ARG_INT64, &o->nbf_in,
      "Not valid until SECONDS from now (sets nbf)", "SECONDS" },
    { "claim", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &o->claims,
      "Add a string claim (repeatable; overrides the claims above)", "NAME=VALUE" },
    { "claim-json", 'j', 0, G_OPTION_ARG_STRING_ARRAY, &o->claim_jsons,
      "Add a claim whose value is JSON, e.g. roles='[\"admin\"]' (repeatable)", "NAME=JSON" },
    { "generate-key", 0, 0, G_OPTION_ARG_STRING, &o->generate,
      "Write a new ES256 or EdDSA key pair instead of minting a token", "ALG" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &o->out,
      "With --generate-key: the private key file (PKCS#8 PEM, mode 0600)", "FILE" },
    { "public-out", 'p', 0, G_OPTION_ARG_FILENAME, &o->public_out,
      "With --generate-key: the public key file (SubjectPublicKeyInfo PEM)", "FILE" },
    { NULL }
  };
  GOptionContext *context = g_option_context_new ("- mint a JWT for owlsock's JWT guard");

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Prints a signed token (JWS compact form) and a newline on stdout.\n"
    "The token carries sub, iat=now, exp=now+ttl, and the optional claims.");
  g_option_context_set_description (context,
    "Examples:\n"
    "  owlsock-token --secret-file secret.txt --sub alice --scope \"chat:read\"\n"
    "  owlsock-token --generate-key ES256 --out jwt.key --public-out jwt.pub\n"
    "  owlsock-token --alg ES256 --key jwt.key --sub alice --aud chat --ttl 600\n");
  return context;
}

int
main (int   argc,
      char *argv[])
{
  g_auto(Options) o = { NULL, };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  setlocale (LC_ALL, "");
  o.ttl = 3600;
  o.nbf_in = NO_NBF;
  context = make_context (&o);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    ok = FALSE;
  else if (argc > 1)
    ok = fail (&error, "Unexpected argument '%s' (see --help)", argv[1]);
  else if (o.generate != NULL)
    ok = generate_key_files (&o, &error);
  else
    ok = mint (&o, &error);

  if (!ok)
    {
      g_printerr ("owlsock-token: %s\n", error->message);
      return 1;
    }
  return 0;
}

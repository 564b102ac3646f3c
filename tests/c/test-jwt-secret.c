/* test-jwt-secret.c: HS256 secrets given to the JWT guard from a file, and
 * the entry points bindings call (add_secret with and without a key id)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A secret file's secret is its bytes with one trailing newline ("\n" or
 * "\r\n") dropped; owlsock-token and owlsockd read it with the same code.
 * Each case signs a token with the secret the file must give and checks the
 * guard accepts it, and that a token signed with the file's raw bytes is
 * refused when they differ.
 */

#include <string.h>

#include <glib/gstdio.h>

#include <owlsock/owlsock.h>

#include "owl-jwt-private.h"

#define SECRET "0123456789abcdef0123456789abcdef"

static char *
sign (const char *kid,
      const char *secret,
      gsize       len)
{
  g_autoptr(JsonObject) claims = json_object_new ();
  g_autoptr(GError) error = NULL;
  char *token;

  json_object_set_string_member (claims, "sub", "alice");
  token = owl_jwt_sign (OWL_JWT_HS256, kid, (const guint8 *) secret, len, claims, &error);
  g_assert_no_error (error);
  return token;
}

static OwlJwtGuard *
guard_new (void)
{
  OwlJwtGuard *guard = OWL_JWT_GUARD (owl_jwt_guard_new ());

  g_object_set (guard, "require-expiry", FALSE, NULL);
  return guard;
}

static void
assert_accepts (OwlJwtGuard *guard,
                const char  *token)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlAuth) auth = owl_jwt_guard_verify (guard, token, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (owl_auth_get_user_id (auth), ==, "alice");
}

static void
assert_refuses (OwlJwtGuard *guard,
                const char  *token)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlAuth) auth = owl_jwt_guard_verify (guard, token, &error);

  g_assert_null (auth);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_AUTH_FAILED);
}

typedef struct
{
  const char *file;     /* what the file holds */
  gsize       secret;   /* how many of its bytes are the secret */
} SecretFileCase;

static const SecretFileCase secret_files[] = {
  { SECRET, 32 },               /* no newline: every byte */
  { SECRET "\n", 32 },
  { SECRET "\r\n", 32 },
  { SECRET "\n\n", 33 },        /* one newline only */
  { SECRET "\r\n\r\n", 34 },
  { SECRET "\r", 33 },          /* a lone CR is not a newline */
  { SECRET " \n", 33 },         /* nothing else is trimmed */
  { "\n" SECRET "\n", 33 },     /* nor anything in front */
};

static void
test_file_length (void)
{
  g_assert_cmpuint (owl_jwt_secret_file_length ("", 0), ==, 0);
  g_assert_cmpuint (owl_jwt_secret_file_length ("\n", 1), ==, 0);
  g_assert_cmpuint (owl_jwt_secret_file_length ("\r\n", 2), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (secret_files); i++)
    g_assert_cmpuint (owl_jwt_secret_file_length (secret_files[i].file, strlen (secret_files[i].file)),
                      ==, secret_files[i].secret);
}

static char *
write_secret_file (const char *dir,
                   const char *content)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, "secret", NULL);

  g_file_set_contents (path, content, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_load_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("owlsock-secret-XXXXXX", &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (secret_files); i++)
    {
      const SecretFileCase *c = &secret_files[i];
      g_autofree char *path = write_secret_file (dir, c->file);
      g_autoptr(OwlJwtGuard) guard = guard_new ();
      g_autofree char *good = sign (NULL, c->file, c->secret);
      g_autofree char *raw = sign (NULL, c->file, strlen (c->file));

      g_test_message ("secret file %u", i);
      g_assert_true (owl_jwt_guard_load_secret_file (guard, NULL, path, &error));
      g_assert_no_error (error);
      assert_accepts (guard, good);
      if (c->secret != strlen (c->file))
        assert_refuses (guard, raw);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_load_file_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("owlsock-secret-XXXXXX", &error);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autofree char *path = write_secret_file (dir, "0123456789abcdef0123456789abcde\n");
  g_autoptr(OwlJwtGuard) guard = guard_new ();
  g_autofree char *token = sign (NULL, SECRET, 32);

  g_assert_false (owl_jwt_guard_load_secret_file (guard, NULL, missing, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);

  /* 31 bytes once the newline is dropped: too short, and not added. */
  g_assert_false (owl_jwt_guard_load_secret_file (guard, NULL, path, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* The guard still works once given a good secret. */
  g_assert_true (owl_jwt_guard_add_secret_without_kid (guard, (const guint8 *) SECRET, 32, &error));
  g_assert_no_error (error);
  assert_accepts (guard, token);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_with_and_without_kid (void)
{
  g_autoptr(OwlJwtGuard) guard = guard_new ();
  g_autoptr(GError) error = NULL;
  const char *other = "fedcba9876543210fedcba9876543210";
  g_autofree char *plain = sign (NULL, SECRET, 32);
  g_autofree char *named = sign ("k1", other, 32);
  g_autofree char *misnamed = sign ("k2", other, 32);

  g_assert_true (owl_jwt_guard_add_secret_without_kid (guard, (const guint8 *) SECRET, 32, &error));
  g_assert_no_error (error);
  g_assert_true (owl_jwt_guard_add_secret_with_kid (guard, "k1", (const guint8 *) other, 32, &error));
  g_assert_no_error (error);
  assert_accepts (guard, plain);
  assert_accepts (guard, named);
  assert_refuses (guard, misnamed);

  /* The same kid twice is refused, as add_secret refuses it. */
  g_assert_false (owl_jwt_guard_add_secret_with_kid (guard, "k1", (const guint8 *) SECRET, 32, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_EXISTS);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/owl/jwt-secret/file-length", test_file_length);
  g_test_add_func ("/owl/jwt-secret/load-file", test_load_file);
  g_test_add_func ("/owl/jwt-secret/load-file-errors", test_load_file_errors);
  g_test_add_func ("/owl/jwt-secret/with-and-without-kid", test_with_and_without_kid);

  return g_test_run ();
}

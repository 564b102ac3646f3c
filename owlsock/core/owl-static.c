/* owl-static.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "owl-envelope-private.h"
#include "owl-error.h"
#include "owl-static-private.h"

struct _OwlStatic
{
  char       *prefix;     /* "/" or "/demo": no trailing slash */
  char       *root;       /* the folder's real path, with a trailing slash */
  SoupServer *server;     /* not owned */
};

static const struct
{
  const char *extension;
  const char *type;
} content_types[] = {
  { ".html", "text/html; charset=utf-8" },
  { ".htm",  "text/html; charset=utf-8" },
  { ".js",   "text/javascript; charset=utf-8" },
  { ".mjs",  "text/javascript; charset=utf-8" },
  { ".css",  "text/css; charset=utf-8" },
  { ".json", "application/json" },
  { ".png",  "image/png" },
  { ".svg",  "image/svg+xml" },
  { ".ico",  "image/x-icon" },
  { ".txt",  "text/plain; charset=utf-8" },
};

const char *
owl_static_content_type (const char *name)
{
  const char *dot = strrchr (name, '.');

  for (guint i = 0; dot != NULL && i < G_N_ELEMENTS (content_types); i++)
    if (g_ascii_strcasecmp (dot, content_types[i].extension) == 0)
      return content_types[i].type;
  return "application/octet-stream";
}

OwlStatic *
owl_static_new (const char  *prefix,
                const char  *directory,
                GError     **error)
{
  g_autofree char *real = realpath (directory, NULL);
  OwlStatic *self;
  struct stat st;

  if (real == NULL || stat (real, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_NOT_FOUND, "'%s' is not a folder", directory);
      return NULL;
    }

  self = g_new0 (OwlStatic, 1);
  self->prefix = g_strdup (prefix);
  self->root = g_str_has_suffix (real, "/") ? g_strdup (real) : g_strconcat (real, "/", NULL);
  return self;
}

static void callback (SoupServer        *server,
                      SoupServerMessage *msg,
                      const char        *path,
                      GHashTable        *query,
                      gpointer           user_data);

void
owl_static_attach (OwlStatic  *self,
                   SoupServer *server)
{
  if (self->server != NULL)
    soup_server_remove_handler (self->server, self->prefix);
  self->server = server;
  if (server != NULL)
    soup_server_add_handler (server, self->prefix, callback, self, NULL);
}

void
owl_static_free (OwlStatic *self)
{
  if (self == NULL)
    return;
  owl_static_attach (self, NULL);
  g_free (self->prefix);
  g_free (self->root);
  g_free (self);
}

const char *
owl_static_get_prefix (OwlStatic *self)
{
  return self->prefix;
}

/* The part of @path below the prefix, or NULL when @path is not below it
 * (libsoup matches handlers by prefix). */
static const char *
below_prefix (OwlStatic  *self,
              const char *path)
{
  gsize len = strlen (self->prefix);

  if (g_str_equal (self->prefix, "/"))
    return path[0] == '/' ? path + 1 : NULL;
  if (strncmp (path, self->prefix, len) != 0)
    return NULL;
  if (path[len] == '\0')
    return path + len;
  return path[len] == '/' ? path + len + 1 : NULL;
}

/* The unescaped relative name, or NULL when a segment is empty (but the
 * last), starts with a dot (".", "..", hidden files) or was an escaped
 * "/" or NUL. */
static char *
relative_name (const char *escaped)
{
  g_autofree char *name = g_uri_unescape_string (escaped, "/");
  g_auto(GStrv) segments = NULL;

  if (name == NULL)
    return NULL;
  segments = g_strsplit (name, "/", -1);
  for (guint i = 0; segments[i] != NULL; i++)
    {
      if (segments[i][0] == '.')
        return NULL;
      if (segments[i][0] == '\0' && segments[i + 1] != NULL)
        return NULL;
    }
  return g_steal_pointer (&name);
}

/* @real is the root (without its slash) or below it. */
static gboolean
is_inside (OwlStatic  *self,
           const char *real)
{
  gsize len = strlen (self->root) - 1;

  return strncmp (real, self->root, len) == 0 && (real[len] == '\0' || real[len] == '/');
}

/* An open regular file inside the root for @name (a folder: its
 * index.html), or -1. The real path decides, so a symbolic link may
 * point anywhere inside the root and nowhere outside it. */
static int
open_inside (OwlStatic   *self,
             const char  *name,
             char       **real_out)
{
  g_autofree char *candidate = g_strconcat (self->root, name, NULL);
  g_autofree char *real = realpath (candidate, NULL);
  struct stat st = { 0 };
  int fd;

  if (real == NULL || !is_inside (self, real))
    return -1;
  fd = open (real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return -1;
  if (fstat (fd, &st) != 0)
    st.st_mode = 0;
  if (S_ISREG (st.st_mode))
    {
      *real_out = g_steal_pointer (&real);
      return fd;
    }
  close (fd);
  if (S_ISDIR (st.st_mode) && !g_str_has_suffix (name, "index.html"))
    {
      g_autofree char *index = g_build_filename (name, "index.html", NULL);

      return open_inside (self, index[0] == '/' ? index + 1 : index, real_out);
    }
  return -1;
}

static void
refuse (SoupServerMessage *msg,
        guint              status,
        OwlError           code,
        const char        *message)
{
  gsize len;
  char *body = owl_envelope_refusal_body (code, message, &len);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body, len);
}

static gboolean
serve_fd (SoupServerMessage *msg,
          int                fd,
          const char        *real)
{
  g_autoptr(GMappedFile) mapped = g_mapped_file_new_from_fd (fd, FALSE, NULL);
  g_autoptr(GBytes) bytes = NULL;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  if (mapped == NULL)
    return FALSE;
  bytes = g_mapped_file_get_bytes (mapped);
  soup_message_headers_replace (headers, "Content-Type", owl_static_content_type (real));
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), bytes);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  return TRUE;
}

static void
callback (SoupServer        *server,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  OwlStatic *self = user_data;
  const char *escaped = below_prefix (self, path);
  g_autofree char *name = NULL;
  g_autofree char *real = NULL;
  int fd = -1;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", "GET");
      refuse (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, OWL_ERROR_UNSUPPORTED, "Only GET is allowed here");
      return;
    }
  if (escaped != NULL && (name = relative_name (escaped)) != NULL)
    fd = open_inside (self, name, &real);
  if (fd < 0)
    {
      refuse (msg, SOUP_STATUS_NOT_FOUND, OWL_ERROR_NOT_FOUND, "No file at this path");
      return;
    }
  if (!serve_fd (msg, fd, real))
    refuse (msg, SOUP_STATUS_NOT_FOUND, OWL_ERROR_NOT_FOUND, "No file at this path");
  close (fd);
}

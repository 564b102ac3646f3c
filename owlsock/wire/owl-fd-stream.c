/* owl-fd-stream.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "owl-fd-stream-private.h"

/* The descriptor is shared by both halves and closed once, by the stream. */
typedef struct
{
  gint     ref_count;
  int      fd;        /* -1 once closed or stolen */
  gsize    read;
  gsize    max_read;  /* 0 once upgraded */
  gboolean answer_431;
  gboolean upgraded;
  gboolean held;      /* the request is in; a guard is deciding */
} FdBox;

static FdBox *
fd_box_ref (FdBox *box)
{
  g_atomic_int_inc (&box->ref_count);
  return box;
}

static void
fd_box_unref (FdBox *box)
{
  if (!g_atomic_int_dec_and_test (&box->ref_count))
    return;
  if (box->fd >= 0)
    close (box->fd);
  g_free (box);
}

static gboolean
set_io_error (GError **error,
              int      saved)
{
  g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved), g_strerror (saved));
  return FALSE;
}

/* Waits for @events when a blocking call met EAGAIN (libsoup's server does
 * not make blocking calls, but the GInputStream contract allows them). */
static gboolean
wait_fd (int           fd,
         short         events,
         GCancellable *cancellable,
         GError      **error)
{
  struct pollfd pfd[2] = { { fd, events, 0 }, { -1, POLLIN, 0 } };
  GPollFD cancel_fd;
  int n = 1;

  if (g_cancellable_make_pollfd (cancellable, &cancel_fd))
    {
      pfd[1].fd = cancel_fd.fd;
      n = 2;
    }
  while (poll (pfd, n, -1) < 0 && errno == EINTR)
    ;
  if (n == 2)
    g_cancellable_release_fd (cancellable);

  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

/* Answers 431 (on plain streams) and shuts the connection once more than
 * the cap was read before the upgrade. */
static gboolean
check_read_cap (FdBox   *box,
                gssize   n,
                GError **error)
{
#define OWL_431_BODY "{\"code\":\"too-big\",\"message\":\"Request is too large\"}"
  static const char answer[] =
    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
    "Content-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
    OWL_431_BODY;
  char buf[sizeof answer + 8];
  int len;

  if (box->max_read == 0 || (box->read += n) <= box->max_read)
    return TRUE;

  if (box->answer_431)
    {
      len = g_snprintf (buf, sizeof buf, answer, (int) (sizeof OWL_431_BODY - 1));
      send (box->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  shutdown (box->fd, SHUT_RDWR);
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "Request is too large");
  return FALSE;
}

/* One recv() or send(), retried on EINTR, and on EAGAIN too when @blocking
 * (after waiting for the descriptor). */
static gssize
fd_io (FdBox         *box,
       gboolean       writing,
       void          *buffer,
       gsize          count,
       gboolean       blocking,
       GCancellable  *cancellable,
       GError       **error)
{
  for (;;)
    {
      ssize_t n;

      if (box->fd < 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "Stream is closed");
          return -1;
        }
      n = writing ? send (box->fd, buffer, count, MSG_NOSIGNAL) : recv (box->fd, buffer, count, 0);
      if (n >= 0)
        return writing || check_read_cap (box, n, error) ? n : -1;
      if (errno == EINTR)
        continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && blocking)
        {
          if (!wait_fd (box->fd, writing ? POLLOUT : POLLIN, cancellable, error))
            return -1;
          continue;
        }
      set_io_error (error, errno);
      return -1;
    }
}

/* Input ------------------------------------------------------------------------ */

typedef struct
{
  GInputStream parent_instance;
  FdBox       *box;
} OwlFdInput;

typedef GInputStreamClass OwlFdInputClass;

static GType owl_fd_input_get_type (void);
static void owl_fd_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE (OwlFdInput, owl_fd_input, G_TYPE_INPUT_STREAM,
                         G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM, owl_fd_input_pollable_init))

static gssize
owl_fd_input_read_fn (GInputStream  *stream,
                      void          *buffer,
                      gsize          count,
                      GCancellable  *cancellable,
                      GError       **error)
{
  return fd_io (((OwlFdInput *) stream)->box, FALSE, buffer, count, TRUE, cancellable, error);
}

static gssize
owl_fd_input_read_nonblocking (GPollableInputStream  *stream,
                               void                  *buffer,
                               gsize                  count,
                               GError               **error)
{
  return fd_io (((OwlFdInput *) stream)->box, FALSE, buffer, count, FALSE, NULL, error);
}

static gboolean
owl_fd_input_is_readable (GPollableInputStream *stream)
{
  struct pollfd pfd = { ((OwlFdInput *) stream)->box->fd, POLLIN, 0 };

  return poll (&pfd, 1, 0) > 0;
}

static GSource *
owl_fd_input_create_source (GPollableInputStream *stream,
                            GCancellable         *cancellable)
{
  g_autoptr(GSource) child = g_unix_fd_source_new (((OwlFdInput *) stream)->box->fd, G_IO_IN);

  return g_pollable_source_new_full (stream, child, cancellable);
}

static gboolean
owl_fd_input_close_fn (GInputStream  *stream,
                       GCancellable  *cancellable,
                       GError       **error)
{
  return TRUE;  /* the GIOStream closes the descriptor */
}

static void
owl_fd_input_finalize (GObject *object)
{
  fd_box_unref (((OwlFdInput *) object)->box);
  G_OBJECT_CLASS (owl_fd_input_parent_class)->finalize (object);
}

static void
owl_fd_input_class_init (OwlFdInputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = owl_fd_input_finalize;
  klass->read_fn = owl_fd_input_read_fn;
  klass->close_fn = owl_fd_input_close_fn;
}

static void
owl_fd_input_init (OwlFdInput *self)
{
}

static void
owl_fd_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->is_readable = owl_fd_input_is_readable;
  iface->create_source = owl_fd_input_create_source;
  iface->read_nonblocking = owl_fd_input_read_nonblocking;
}

/* Output ----------------------------------------------------------------------- */

typedef struct
{
  GOutputStream parent_instance;
  FdBox        *box;
} OwlFdOutput;

typedef GOutputStreamClass OwlFdOutputClass;

static GType owl_fd_output_get_type (void);
static void owl_fd_output_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE (OwlFdOutput, owl_fd_output, G_TYPE_OUTPUT_STREAM,
                         G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM, owl_fd_output_pollable_init))

static gssize
owl_fd_output_write_fn (GOutputStream  *stream,
                        const void     *buffer,
                        gsize           count,
                        GCancellable   *cancellable,
                        GError        **error)
{
  return fd_io (((OwlFdOutput *) stream)->box, TRUE, (void *) buffer, count, TRUE, cancellable, error);
}

static gssize
owl_fd_output_write_nonblocking (GPollableOutputStream  *stream,
                                 const void             *buffer,
                                 gsize                   count,
                                 GError                **error)
{
  return fd_io (((OwlFdOutput *) stream)->box, TRUE, (void *) buffer, count, FALSE, NULL, error);
}

static gboolean
owl_fd_output_is_writable (GPollableOutputStream *stream)
{
  struct pollfd pfd = { ((OwlFdOutput *) stream)->box->fd, POLLOUT, 0 };

  return poll (&pfd, 1, 0) > 0;
}

static GSource *
owl_fd_output_create_source (GPollableOutputStream *stream,
                             GCancellable          *cancellable)
{
  g_autoptr(GSource) child = g_unix_fd_source_new (((OwlFdOutput *) stream)->box->fd, G_IO_OUT);

  return g_pollable_source_new_full (stream, child, cancellable);
}

static gboolean
owl_fd_output_close_fn (GOutputStream  *stream,
                        GCancellable   *cancellable,
                        GError        **error)
{
  return TRUE;
}

static void
owl_fd_output_finalize (GObject *object)
{
  fd_box_unref (((OwlFdOutput *) object)->box);
  G_OBJECT_CLASS (owl_fd_output_parent_class)->finalize (object);
}

static void
owl_fd_output_class_init (OwlFdOutputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = owl_fd_output_finalize;
  klass->write_fn = owl_fd_output_write_fn;
  klass->close_fn = owl_fd_output_close_fn;
}

static void
owl_fd_output_init (OwlFdOutput *self)
{
}

static void
owl_fd_output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->is_writable = owl_fd_output_is_writable;
  iface->create_source = owl_fd_output_create_source;
  iface->write_nonblocking = owl_fd_output_write_nonblocking;
}

/* The stream ------------------------------------------------------------------- */

struct _OwlFdStream
{
  GIOStream    parent_instance;
  FdBox       *box;
  OwlFdInput  *input;
  OwlFdOutput *output;
};

G_DEFINE_FINAL_TYPE (OwlFdStream, owl_fd_stream, G_TYPE_IO_STREAM)

static GInputStream *
owl_fd_stream_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (((OwlFdStream *) stream)->input);
}

static GOutputStream *
owl_fd_stream_get_output_stream (GIOStream *stream)
{
  return G_OUTPUT_STREAM (((OwlFdStream *) stream)->output);
}

static gboolean
owl_fd_stream_close_fn (GIOStream     *stream,
                        GCancellable  *cancellable,
                        GError       **error)
{
  OwlFdStream *self = (OwlFdStream *) stream;
  int fd = self->box->fd;

  self->box->fd = -1;
  if (fd >= 0 && close (fd) < 0 && errno != EINTR)
    return set_io_error (error, errno);
  return TRUE;
}

static void
owl_fd_stream_finalize (GObject *object)
{
  OwlFdStream *self = (OwlFdStream *) object;

  g_clear_object (&self->input);
  g_clear_object (&self->output);
  fd_box_unref (self->box);

  G_OBJECT_CLASS (owl_fd_stream_parent_class)->finalize (object);
}

static void
owl_fd_stream_class_init (OwlFdStreamClass *klass)
{
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = owl_fd_stream_finalize;
  stream_class->get_input_stream = owl_fd_stream_get_input_stream;
  stream_class->get_output_stream = owl_fd_stream_get_output_stream;
  stream_class->close_fn = owl_fd_stream_close_fn;
}

static void
owl_fd_stream_init (OwlFdStream *self)
{
}

GIOStream *
owl_fd_stream_new (int      fd,
                   gsize    max_read,
                   gboolean answer_431)
{
  OwlFdStream *self = g_object_new (OWL_TYPE_FD_STREAM, NULL);

  self->box = g_new0 (FdBox, 1);
  self->box->ref_count = 1;
  self->box->fd = fd;
  self->box->max_read = max_read;
  self->box->answer_431 = answer_431;
  self->input = g_object_new (owl_fd_input_get_type (), NULL);
  self->input->box = fd_box_ref (self->box);
  self->output = g_object_new (owl_fd_output_get_type (), NULL);
  self->output->box = fd_box_ref (self->box);

  return G_IO_STREAM (self);
}

int
owl_fd_stream_steal_fd (GInputStream *input)
{
  OwlFdInput *self;
  int fd;

  if (G_IS_FILTER_INPUT_STREAM (input))
    input = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (input));
  if (!G_TYPE_CHECK_INSTANCE_TYPE (input, owl_fd_input_get_type ()))
    return -1;

  self = (OwlFdInput *) input;
  fd = self->box->fd;
  self->box->fd = -1;
  return fd;
}

/* The handle is the shared descriptor box itself. */
OwlFdHandle *
owl_fd_stream_get_handle (OwlFdStream *self)
{
  return (OwlFdHandle *) self->box;
}

OwlFdHandle *
owl_fd_handle_ref (OwlFdHandle *handle)
{
  return (OwlFdHandle *) fd_box_ref ((FdBox *) handle);
}

void
owl_fd_handle_unref (OwlFdHandle *handle)
{
  fd_box_unref ((FdBox *) handle);
}

gboolean
owl_fd_handle_is_done (OwlFdHandle *handle)
{
  return ((FdBox *) handle)->fd < 0 || ((FdBox *) handle)->upgraded;
}

/* libsoup wraps the accepted stream (SoupIOStream's base-iostream), and TLS
 * wraps ours (GTlsConnection's base-io-stream). */
static OwlFdStream *
find_fd_stream (GIOStream *stolen,
                gboolean  *tls)
{
  g_autoptr(GIOStream) base = NULL;
  g_autoptr(GIOStream) inner = NULL;

  *tls = FALSE;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (stolen), "base-iostream") == NULL)
    return NULL;
  g_object_get (stolen, "base-iostream", &base, NULL);
  if (G_IS_TLS_CONNECTION (base))
    {
      *tls = TRUE;
      g_object_get (base, "base-io-stream", &inner, NULL);
    }
  else
    inner = g_steal_pointer (&base);

  /* The stolen stream keeps both alive; no reference is returned. */
  return OWL_IS_FD_STREAM (inner) ? OWL_FD_STREAM (inner) : NULL;
}

void
owl_fd_stream_mark_upgraded (GIOStream *stolen)
{
  gboolean tls;
  OwlFdStream *self = find_fd_stream (stolen, &tls);

  if (self != NULL)
    {
      self->box->upgraded = TRUE;
      self->box->max_read = 0;
    }
}

int
owl_fd_stream_peek_tls_fd (GIOStream *stolen)
{
  gboolean tls;
  OwlFdStream *self = find_fd_stream (stolen, &tls);

  return self != NULL && tls ? self->box->fd : -1;
}

void
owl_fd_handle_hold (OwlFdHandle *handle)
{
  ((FdBox *) handle)->held = TRUE;
}

/* The peer closed its end: an orderly FIN reads as 0 bytes. Data waiting
 * (a pipelined request) or nothing yet means it is still there. */
gboolean
owl_fd_handle_peer_gone (OwlFdHandle *handle)
{
  FdBox *box = (FdBox *) handle;
  char byte;
  ssize_t n;

  if (box->fd < 0)
    return TRUE;
  n = recv (box->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

gboolean
owl_fd_handle_is_held (OwlFdHandle *handle)
{
  return ((FdBox *) handle)->held;
}

void
owl_fd_handle_abort (OwlFdHandle *handle)
{
  FdBox *box = (FdBox *) handle;

  if (box->fd >= 0)
    shutdown (box->fd, SHUT_RDWR);
}

/* owl-socket-service-run.c: serving until SIGINT or SIGTERM
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The end every quick start wants: run the main loop, stop gracefully on
 * Ctrl-C or SIGTERM (the `shutdown` notice, 1001), then return. GLib's
 * signal sources install a sigaction handler and put SIG_DFL back when the
 * last one goes, which would leave an interpreter (Python's SIGINT handler
 * that raises KeyboardInterrupt) without its own: the dispositions found
 * on entry are put back on return.
 */

#include <signal.h>
#include <glib-unix.h>

#include "owl-socket-service-private.h"

static const int stop_signals[] = { SIGINT, SIGTERM };
#define N_STOP_SIGNALS G_N_ELEMENTS (stop_signals)

typedef struct
{
  OwlSocketService *service;
  GMainLoop        *loop;
  guint             n_asked;     /* signals and cancellations so far */
  gboolean          cancelled;
  GSource          *sources[N_STOP_SIGNALS + 1];
} Run;

/* The first request stops gracefully; a second one (Ctrl-C again) does
 * not wait for the clients' answers to the close frames sent already. */
static void
run_ask_stop (Run *run)
{
  if (run->n_asked++ == 0)
    owl_socket_service_stop (run->service);
  else
    g_main_loop_quit (run->loop);
}

static gboolean
on_signal (gpointer data)
{
  run_ask_stop (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_cancelled (GCancellable *cancellable,
              gpointer      data)
{
  Run *run = data;

  run->cancelled = TRUE;
  run_ask_stop (run);
  return G_SOURCE_REMOVE;
}

static void
on_stopped (OwlSocketService *service,
            gpointer          data)
{
  Run *run = data;

  g_main_loop_quit (run->loop);
}

static void
run_attach (Run          *run,
            GCancellable *cancellable)
{
  GMainContext *context = g_main_loop_get_context (run->loop);
  guint n = 0;

  for (guint i = 0; i < N_STOP_SIGNALS; i++)
    {
      run->sources[n] = g_unix_signal_source_new (stop_signals[i]);
      g_source_set_callback (run->sources[n++], on_signal, run, NULL);
    }
  if (cancellable != NULL)
    {
      run->sources[n] = g_cancellable_source_new (cancellable);
      g_source_set_callback (run->sources[n++], G_SOURCE_FUNC (on_cancelled), run, NULL);
    }
  for (guint i = 0; i < n; i++)
    g_source_attach (run->sources[i], context);
}

/* The sources go and the dispositions of @saved come back, with the
 * signals blocked meanwhile: one arriving between the two would meet
 * SIG_DFL and end the process. A signal that came meanwhile is delivered
 * to the restored disposition when they are unblocked. */
static void
run_detach (Run                    *run,
            const struct sigaction *saved)
{
  sigset_t block, previous;

  sigemptyset (&block);
  for (guint i = 0; i < N_STOP_SIGNALS; i++)
    sigaddset (&block, stop_signals[i]);
  pthread_sigmask (SIG_BLOCK, &block, &previous);
  for (guint i = 0; i < G_N_ELEMENTS (run->sources) && run->sources[i] != NULL; i++)
    {
      g_source_destroy (run->sources[i]);
      g_clear_pointer (&run->sources[i], g_source_unref);
    }
  for (guint i = 0; i < N_STOP_SIGNALS; i++)
    sigaction (stop_signals[i], &saved[i], NULL);
  pthread_sigmask (SIG_SETMASK, &previous, NULL);
}

/**
 * owl_socket_service_run:
 * @self: a service
 * @cancellable: (nullable): a #GCancellable; cancelling it stops the
 *   service as a signal does
 * @error: return location for an error
 *
 * Runs the service's main context until SIGINT (Ctrl-C) or SIGTERM, stops
 * the service gracefully as [method@Owlsock.SocketService.stop] does
 * (every client gets the `shutdown` notice, then close code 1001), and
 * returns once it has stopped. The end of a program's `main`, in C, Python
 * or GJS: Ctrl-C on a Python script that runs this ends it cleanly, with no
 * `KeyboardInterrupt` traceback.
 *
 * A second signal during the stop returns at once, without waiting for
 * clients to answer the close frames sent already. A stop started by
 * anyone else ([method@Owlsock.SocketService.stop] from a handler) ends the
 * run too. Signal handling lasts as long as the call: the dispositions of
 * SIGINT and SIGTERM found on entry (an interpreter's own handler, say)
 * are put back on return. Call it on the thread that created the service,
 * once its modules are added and it listens or is attached; a signal that
 * comes before the call meets the process's own disposition.
 *
 * Returns: %TRUE once the service stopped after a signal or a stop; %FALSE
 *   with %G_IO_ERROR_CANCELLED when @cancellable was cancelled (the service
 *   stopped all the same)
 *
 * Since: 0.1
 */
gboolean
owl_socket_service_run (OwlSocketService  *self,
                        GCancellable      *cancellable,
                        GError           **error)
{
  struct sigaction saved[N_STOP_SIGNALS];
  Run run = { .service = self };
  gulong stopped_id;

  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < N_STOP_SIGNALS; i++)
    sigaction (stop_signals[i], NULL, &saved[i]);
  run.loop = g_main_loop_new (self->context, FALSE);
  stopped_id = g_signal_connect (self, "stopped", G_CALLBACK (on_stopped), &run);
  run_attach (&run, cancellable);

  g_main_loop_run (run.loop);

  run_detach (&run, saved);
  g_signal_handler_disconnect (self, stopped_id);
  g_main_loop_unref (run.loop);

  if (run.cancelled)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The run was cancelled");
      return FALSE;
    }
  return TRUE;
}

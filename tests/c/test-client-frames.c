/* test-client-frames.c: the frames OwlSocketClient writes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * On a plain socket the client builds a frame (on the stack when it is
 * small) and sends it on the descriptor at once; over TLS, or behind what
 * waits already, it goes through the queue. These tests check the bytes
 * on the wire (each length form, on either side of the stack's limit,
 * masked with a key of its own), the echoes of the same messages over
 * ws:// and wss://, that send_text() keeps nothing of the caller's text
 * and refuses what is not UTF-8, and the masking key generator.
 */

#include <string.h>

#include "owl-test-client.h"
#include "owl-test-util.h"
#include "owl-transport-client-private.h"

/* Messages of these lengths: the 7-bit, 16-bit and 64-bit length forms
 * and their edges, and 4082 / 4083, the largest frame built on the stack
 * (4096 bytes with the longest header) and the smallest one that is not. */
static const gsize sizes[] = { 22, 125, 126, 127, 4082, 4083, 65535, 65536, 100000 };

/* {"type":"n","text":"ddd…"}, @len bytes long, of digit @d. */
static char *
sized_message (gsize len,
               char  d)
{
  g_autofree char *text = g_strnfill (len - 22, d);

  return g_strdup_printf ("{\"type\":\"n\",\"text\":\"%s\"}", text);
}

/* The frame at *@pos of @wire: a final text frame, masked, carrying
 * @expected; *@pos moves past it, @key gets its masking key. */
static void
assert_frame (GByteArray *wire,
              gsize      *pos,
              const char *expected,
              guint32    *key)
{
  const guint8 *p = wire->data + *pos;
  gsize len = strlen (expected);
  gsize header = len < 126 ? 2 : len < 65536 ? 4 : 10;
  gsize wire_len;
  g_autofree guint8 *payload = NULL;

  g_assert_cmpuint (wire->len - *pos, >=, header + 4 + len);
  g_assert_cmphex (p[0], ==, 0x81);
  g_assert_cmphex (p[1] & 0x80, ==, 0x80);
  if (header == 2)
    wire_len = p[1] & 0x7f;
  else if (header == 4)
    wire_len = (p[1] & 0x7f) == 126 ? (gsize) (p[2] << 8 | p[3]) : 0;
  else
    {
      g_assert_cmpuint (p[1] & 0x7f, ==, 127);
      wire_len = 0;
      for (guint i = 2; i < 10; i++)
        wire_len = wire_len << 8 | p[i];
    }
  g_assert_cmpuint (wire_len, ==, len);
  memcpy (key, p + header, 4);
  payload = g_memdup2 (p + header + 4, len);
  for (gsize i = 0; i < len; i++)
    payload[i] ^= p[header + i % 4];
  g_assert_true (memcmp (payload, expected, len) == 0);
  *pos += header + 4 + len;
}

/* What the client writes for each size, read by a server that is not
 * owlsock: the right length form, the payload masked, each frame with a
 * key of its own. */
static void
test_wire (void)
{
  g_autoptr(OwlTestRawServer) server = owl_test_raw_server_new (FALSE, NULL, 0);
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/raw", server->port);
  g_autoptr(OwlTestWatch) watch = owl_test_watch_new (uri);
  g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func (g_free);
  guint32 keys[G_N_ELEMENTS (sizes)];
  gsize expected = 0;
  gsize pos = 0;

  g_object_set (watch->client, "reconnect", FALSE, NULL);
  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      char *text = sized_message (sizes[i], '0' + i);

      g_assert_true (owl_socket_client_send_text (watch->client, text, NULL));
      g_ptr_array_add (sent, text);
      expected += (sizes[i] < 126 ? 2 : sizes[i] < 65536 ? 4 : 10) + 4 + sizes[i];
    }
  OWL_TEST_WAIT_FOR (server->received->len >= expected);
  g_assert_cmpuint (server->received->len, ==, expected);

  for (guint i = 0; i < sent->len; i++)
    {
      assert_frame (server->received, &pos, g_ptr_array_index (sent, i), &keys[i]);
      for (guint j = 0; j < i; j++)
        g_assert_cmphex (keys[j], !=, keys[i]);
    }
  g_assert_cmpuint (pos, ==, expected);
}

/* The same sizes sent back to back come back whole and in order, over
 * a plain socket (built on the stack or not, written at once or partly)
 * and over TLS (through the queue). */
static void
test_sizes (OwlTestFixture *fixture,
            gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;

  owl_test_echo_service (fixture, GPOINTER_TO_INT (data));
  watch = owl_test_echo_watch (fixture);
  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *text = sized_message (sizes[i], '0' + i);

      g_assert_true (owl_socket_client_send_text (watch->client, text, NULL));
    }
  OWL_TEST_WAIT_FOR (watch->messages->len == G_N_ELEMENTS (sizes));
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *expected = g_strnfill (sizes[i] - 22, '0' + i);

      g_assert_cmpstr (owl_test_watch_text (watch, i), ==, expected);
    }
  g_assert_cmpuint (watch->n_errors, ==, 0);
}

/* send_text() keeps nothing of the caller's text: the buffer overwritten
 * as soon as it returns, what comes back is what was sent, whether it
 * went at once (connected) or waited for the connection (queued). */
static void
test_text_not_kept (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;
  g_autofree char *queued = sized_message (200, 'q');
  g_autofree char *direct = sized_message (200, 'd');

  owl_test_echo_service (fixture, GPOINTER_TO_INT (data));
  watch = owl_test_echo_watch (fixture);
  owl_socket_client_open (watch->client);
  g_assert_true (owl_socket_client_send_text (watch->client, queued, NULL));
  memset (queued + 20, 'x', 200 - 22);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  g_assert_true (owl_socket_client_send_text (watch->client, direct, NULL));
  memset (direct + 20, 'x', 200 - 22);

  OWL_TEST_WAIT_FOR (watch->messages->len == 2);
  g_assert_cmpuint (strspn (owl_test_watch_text (watch, 0), "q"), ==, 200 - 22);
  g_assert_cmpuint (strspn (owl_test_watch_text (watch, 1), "d"), ==, 200 - 22);
  g_assert_cmpuint (watch->n_errors, ==, 0);
}

/* What send_text() refuses as not UTF-8 (an overlong form, a surrogate,
 * above U+10FFFF, a truncated or stray byte, past an ASCII run of eight),
 * as g_utf8_validate() does; refused with invalid-argument, nothing sent,
 * the connection open; multibyte text that is valid is sent and echoed. */
static const char *const not_utf8[] = {
  "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "\x80",
  "{\"type\":\"n\",\"text\":\"abcdefgh\xff\"}",
};

static void
test_invalid_utf8 (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  g_autoptr(OwlTestWatch) watch = NULL;
  const char *valid = "{\"type\":\"n\",\"text\":\"abcdefgh \xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xef\xbf\xbd\"}";

  owl_test_echo_service (fixture, GPOINTER_TO_INT (data));
  watch = owl_test_echo_watch (fixture);
  owl_socket_client_open (watch->client);
  owl_test_watch_wait_state (watch, OWL_SOCKET_CLIENT_CONNECTED);
  for (guint i = 0; i < G_N_ELEMENTS (not_utf8); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (g_utf8_validate (not_utf8[i], -1, NULL));
      g_assert_false (owl_socket_client_send_text (watch->client, not_utf8[i], &error));
      g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
    }
  g_assert_true (g_utf8_validate (valid, -1, NULL));
  g_assert_true (owl_socket_client_send_text (watch->client, valid, NULL));
  OWL_TEST_WAIT_FOR (watch->messages->len == 1);
  g_assert_cmpstr (owl_test_watch_text (watch, 0), ==, "abcdefgh \xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xef\xbf\xbd");
  g_assert_cmpuint (watch->n_errors, ==, 0);
  g_assert_cmpint (owl_socket_client_get_state (watch->client), ==, OWL_SOCKET_CLIENT_CONNECTED);
}

/* The masking keys: seeds are never 0 (xorshift would stay at 0) and
 * differ between connections; from one state, 10000 keys in a row are
 * (nearly) all different, and every byte of the key varies. */
static void
test_mask_keys (void)
{
  guint64 a = owl_transport_client_mask_seed ();
  guint64 b = owl_transport_client_mask_seed ();
  guint64 state = 1;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  guint8 first[4];
  guint varied = 0;

  g_assert_cmpuint (a, !=, 0);
  g_assert_cmpuint (a, !=, b);
  owl_transport_client_mask_key (&state, first);
  for (guint i = 0; i < 10000; i++)
    {
      guint8 key[4];
      guint32 bits;

      owl_transport_client_mask_key (&state, key);
      g_assert_cmpuint (state, !=, 0);
      memcpy (&bits, key, 4);
      g_hash_table_add (seen, GUINT_TO_POINTER (bits));
      for (guint k = 0; k < 4; k++)
        varied |= key[k] != first[k] ? 1u << k : 0;
    }
  g_assert_cmpuint (g_hash_table_size (seen), >=, 9990);
  g_assert_cmphex (varied, ==, 0xf);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);
  g_test_add_func ("/owl/client/frames/wire", test_wire);
  OWL_TEST_WS_WSS ("/owl/client/frames/sizes", test_sizes);
  OWL_TEST_WS_WSS ("/owl/client/frames/text-not-kept", test_text_not_kept);
  g_test_add ("/owl/client/frames/invalid-utf8", OwlTestFixture, GINT_TO_POINTER (FALSE),
              owl_test_fixture_setup, test_invalid_utf8, owl_test_fixture_teardown);
  g_test_add_func ("/owl/client/frames/mask-keys", test_mask_keys);
  return g_test_run ();
}

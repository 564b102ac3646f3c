/* test-regex-node.c: owlsock's pattern matcher against V8's RegExp (node):
 * random patterns and subjects, and the syntax both accept or refuse
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Split from test-regex.c: the matcher's own cases stay there.
 */

#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "owl-regex-private.h"

/* Node runs this: the first line is the subjects, each next line a pattern
 * (JSON strings). For each pattern it prints how RegExp.test() answers on
 * each subject, "1" or "0", with the "u" flag and then without (Annex B);
 * "E" when that flag makes the pattern a SyntaxError. */
static const char node_script[] =
  "const lines = require('fs').readFileSync(0, 'utf8').split('\\n');\n"
  "const subjects = JSON.parse(lines[0]);\n"
  "const run = (p, f) => {\n"
  "  try { const re = new RegExp(p, f); return subjects.map(s => re.test(s) ? '1' : '0').join(''); }\n"
  "  catch (e) { return 'E'; }\n"
  "};\n"
  "const out = lines.slice(1).filter(l => l).map(l => JSON.parse(l)).map(p => run(p, 'u') + ' ' + run(p, ''));\n"
  "process.stdout.write(out.join('\\n') + '\\n');\n";

static void
append_json_string (GString    *out,
                    const char *str)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  g_autofree char *json = NULL;

  json_node_set_string (node, str);
  json = json_to_string (node, FALSE);
  g_string_append (out, json);
}

/* Node's answers for @patterns over @subjects, one "U A" line each; NULL
 * (and the test skipped) without node. */
static char **
ask_node (GPtrArray          *patterns,
          const char * const *subjects)
{
  g_autofree char *node = g_find_program_in_path ("node");
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GString) input = g_string_new ("[");
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  char **lines;

  if (node == NULL)
    {
      g_test_skip ("node (the reference ECMA-262 engine) is not installed");
      return NULL;
    }
  for (guint i = 0; subjects[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (input, ',');
      append_json_string (input, subjects[i]);
    }
  g_string_append (input, "]\n");
  for (guint i = 0; i < patterns->len; i++)
    {
      append_json_string (input, patterns->pdata[i]);
      g_string_append_c (input, '\n');
    }

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                           node, "-e", node_script, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input->str, NULL, &output, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (proc));
  lines = g_strsplit (output, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, patterns->len + 1);
  return lines;
}

/* Our answers as node writes them, or "E" when we refuse the pattern. */
static char *
our_answers (const char         *pattern,
             const char * const *subjects,
             GError            **error)
{
  g_autoptr(OwlRegex) regex = owl_regex_new (pattern, error);
  GString *bits = g_string_new (NULL);

  if (regex == NULL)
    g_string_append_c (bits, 'E');
  for (guint i = 0; regex != NULL && subjects[i] != NULL; i++)
    g_string_append_c (bits, owl_regex_search (regex, subjects[i], strlen (subjects[i]), NULL) == OWL_REGEX_MATCH ? '1' : '0');
  return g_string_free (bits, FALSE);
}

/* A random pattern over everything this matcher supports, valid with the
 * "u" flag. */
static void
random_pattern (GString *out,
                guint    depth)
{
  static const char *atoms[] = {
    "a", "b", "é", "🐲", "-", ".", "[ab]", "[^a]", "[a-]", "[^]", "[]", "\\w", "\\W", "\\d", "\\s",
    "\\S", "[\\s\\d]", "[^\\w]", "[é-🐲]", "\\u{1F432}", "\\uD83D\\uDC32", "\\u00e9", "\\n", "\\x61",
    "\\.", "[\\-\\]]",
  };
  static const char *asserts[] = { "^", "$", "\\b", "\\B" };
  static const char *quantifiers[] = {
    "*", "+", "?", "*?", "+?", "{2}", "{0,2}", "{1,}", "{1,3}?", "{0}", "{2,2}",
  };
  guint n_terms = g_test_rand_int_range (0, 4);

  for (guint t = 0; t < n_terms; t++)
    {
      guint kind = g_test_rand_int_range (0, depth < 3 ? 10 : 7);

      if (kind == 0)
        {
          g_string_append (out, asserts[g_test_rand_int_range (0, G_N_ELEMENTS (asserts))]);
          continue;
        }
      if (kind < 7)
        g_string_append (out, atoms[g_test_rand_int_range (0, G_N_ELEMENTS (atoms))]);
      else
        {
          g_string_append (out, g_test_rand_bit () ? "(?:" : "(");
          random_pattern (out, depth + 1);
          while (g_test_rand_int_range (0, 3) == 0)
            {
              g_string_append_c (out, '|');
              random_pattern (out, depth + 1);
            }
          g_string_append_c (out, ')');
        }
      if (g_test_rand_int_range (0, 3) == 0)
        g_string_append (out, quantifiers[g_test_rand_int_range (0, G_N_ELEMENTS (quantifiers))]);
    }
}

/* Whether @str holds a code point past U+FFFF, a surrogate pair in UTF-16. */
static gboolean
has_astral (const char *str)
{
  for (; *str != '\0'; str++)
    if ((guchar) *str >= 0xF0)
      return TRUE;
  return FALSE;
}

/* Random valid patterns answer as node's RegExp with the "u" flag does. */
static void
test_regex_versus_node (void)
{
  static const char *subjects[] = {
    "", "a", "b", "ab", "ba", "aab", "a b", "-a-", "é", "🐲", "a🐲b", "🐲🐲", "a\nb", "\n",
    "1a", "a1", "_", "\u00a0", "é b", "bb-aa", "aaaa", "ab ba", "🐲é-\n a", NULL,
  };
  g_autoptr(GPtrArray) patterns = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) answers = NULL;
  guint n_patterns = g_test_thorough () ? 50000 : 3000;

  for (guint i = 0; i < n_patterns; i++)
    {
      GString *pattern = g_string_new (NULL);

      random_pattern (pattern, 0);
      g_ptr_array_add (patterns, g_string_free (pattern, FALSE));
    }
  answers = ask_node (patterns, subjects);
  for (guint i = 0; answers != NULL && i < patterns->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *ours = our_answers (patterns->pdata[i], subjects, &error);
      g_auto(GStrv) theirs = g_strsplit (answers[i], " ", 2);

      g_test_message ("/%s/: %s versus %s", (char *) patterns->pdata[i], ours, theirs[0]);
      g_assert_no_error (error);
      g_assert_cmpuint (strlen (ours), ==, strlen (theirs[0]));
      for (guint j = 0; ours[j] != '\0'; j++)
        {
          /* V8 also tries the position inside a surrogate pair, where \B
           * holds ("a🐲b" at 2); the spec's AdvanceStringIndex skips it. */
          if (strstr (patterns->pdata[i], "\\B") != NULL && has_astral (subjects[j]))
            continue;
          g_assert_cmpint (ours[j], ==, theirs[0][j]);
        }
    }
}

/* Random strings of pattern syntax: we accept what the "u" flag accepts
 * (but for what we refuse on purpose), accept nothing that even Annex B
 * refuses, and answer as node does. */
static void
test_regex_syntax_versus_node (void)
{
  static const char *tokens[] = {
    "a", "b", "-", ",", "0", "1", "2", "(", "(", ")", ")", "(?:", "(?", "(?<n>", "(?=", "[", "[^",
    "]", "{", "}", "{1}", "{1,2}", "^", "$", "|", "*", "+", "?", ".", "\\", "\\", "\\d", "\\w",
    "\\b", "\\B", "\\0", "\\1", "\\k<n>", "\\-", "\\]", "\\{", "\\p{L}", "<", ">", "=", "!",
  };
  static const char *subjects[] = {
    "", "a", "b", "ab", "ba", "a-b", "{1}", "a{1,2}", "-", "ab1", "b0", "]", "}", "a,b", NULL,
  };
  g_autoptr(GPtrArray) patterns = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) answers = NULL;
  guint n_patterns = g_test_thorough () ? 100000 : 5000;

  for (guint i = 0; i < n_patterns; i++)
    {
      GString *pattern = g_string_new (NULL);
      guint n = g_test_rand_int_range (1, 9);

      for (guint j = 0; j < n; j++)
        g_string_append (pattern, tokens[g_test_rand_int_range (0, G_N_ELEMENTS (tokens))]);
      g_ptr_array_add (patterns, g_string_free (pattern, FALSE));
    }
  answers = ask_node (patterns, subjects);
  for (guint i = 0; answers != NULL && i < patterns->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *ours = our_answers (patterns->pdata[i], subjects, &error);
      g_auto(GStrv) theirs = g_strsplit (answers[i], " ", 2);
      gboolean u_accepts = strcmp (theirs[0], "E") != 0;

      g_test_message ("/%s/: %s versus %s", (char *) patterns->pdata[i], ours, answers[i]);
      /* Refusing what the "u" flag refuses is always fine, and what it
       * accepts only as a deliberate rule. */
      if (error != NULL && u_accepts)
        g_assert_nonnull (strstr (error->message, "supported"));
      else if (error == NULL)
        g_assert_cmpstr (ours, ==, u_accepts ? theirs[0] : theirs[1]);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/owl/regex/versus-node", test_regex_versus_node);
  g_test_add_func ("/owl/regex/syntax-versus-node", test_regex_syntax_versus_node);

  return g_test_run ();
}

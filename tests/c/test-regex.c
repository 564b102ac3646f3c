/* test-regex.c: the linear-time matcher behind JSON Schema's "pattern"
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "owl-regex-private.h"

typedef struct
{
  const char *pattern;
  const char *subject;
  gboolean    match;
} MatchCase;

static OwlRegexResult
search (OwlRegex   *regex,
        const char *subject)
{
  return owl_regex_search (regex, subject, strlen (subject), NULL);
}

static void
check_matches (const MatchCase *cases,
               guint            n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OwlRegex) regex = owl_regex_new (cases[i].pattern, &error);
      g_autofree char *escaped = g_strescape (cases[i].subject, NULL);
      OwlRegexResult result;

      g_test_message ("/%s/ on \"%s\"", cases[i].pattern, escaped);
      g_assert_no_error (error);
      g_assert_nonnull (regex);
      g_assert_cmpstr (owl_regex_get_pattern (regex), ==, cases[i].pattern);
      result = search (regex, cases[i].subject);
      g_assert_cmpint (result, ==, cases[i].match ? OWL_REGEX_MATCH : OWL_REGEX_NO_MATCH);
    }
}

/* Every construct, with ECMA-262's answers. */
static void
test_regex_syntax (void)
{
  static const MatchCase cases[] = {
    /* Literals; the search is not anchored. */
    { "abc", "abc", TRUE },
    { "abc", "xxabcxx", TRUE },
    { "abc", "abx", FALSE },
    { "", "", TRUE },
    { "", "anything", TRUE },
    { "é", "café", TRUE },
    { "^🐲$", "🐲", TRUE },
    { "b", "🐲b", TRUE },
    /* "." takes one code point, but no line terminator. */
    { "^.$", "a", TRUE },
    { "^.$", "é", TRUE },
    { "^.$", "😀", TRUE },
    { "^..$", "😀", FALSE },
    { "^.$", "\n", FALSE },
    { "^.$", "\r", FALSE },
    { "^.$", "\u2028", FALSE },
    { "^.$", "\u2029", FALSE },
    { "^.$", "\xc2\x85", TRUE },
    { "^.$", "\v", TRUE },
    /* ^ and $ are the ends of the input: no multiline, no final newline. */
    { "^abc$", "abc", TRUE },
    { "^abc$", "abc\n", FALSE },
    { "^abc$", "\nabc", FALSE },
    { "a$", "a\n", FALSE },
    { "^$", "", TRUE },
    { "^$", "\n", FALSE },
    { "b^", "ab", FALSE },
    { "$a", "a", FALSE },
    { "^", "x", TRUE },
    { "$", "x", TRUE },
    { "^^a$$", "a", TRUE },
    /* Alternation binds loosest. */
    { "^(cat|dog)$", "dog", TRUE },
    { "^(cat|dog)$", "cow", FALSE },
    { "^ab|cd$", "abx", TRUE },
    { "^ab|cd$", "xcd", TRUE },
    { "^ab|cd$", "xabx", FALSE },
    { "a|", "x", TRUE },
    { "^(?:|a)$", "", TRUE },
    { "^(?:a|b|c|d)+$", "dcba", TRUE },
    /* Groups, named groups are plain groups. */
    { "^(?:ab)+$", "ababab", TRUE },
    { "^(?:ab)+$", "ababa", FALSE },
    { "^(?<year>\\d{4})-(?<month>\\d{2})$", "2024-06", TRUE },
    { "^(?<year>\\d{4})-(?<month>\\d{2})$", "2024-6", FALSE },
    { "^(?<$x_1é>a)$", "a", TRUE },
    { "^(?<a>x)(?<ab>y)(?<b>z)$", "xyz", TRUE },
    { "^()$", "", TRUE },
    { "^(?:)*$", "", TRUE },
    { "^((((a))))$", "a", TRUE },
    /* Quantifiers; lazy ones accept the same strings. */
    { "^a*$", "", TRUE },
    { "^a*$", "aaa", TRUE },
    { "^a+$", "", FALSE },
    { "^a+$", "aa", TRUE },
    { "^a?$", "", TRUE },
    { "^a?$", "aa", FALSE },
    { "^a{3}$", "aaa", TRUE },
    { "^a{3}$", "aa", FALSE },
    { "^a{3}$", "aaaa", FALSE },
    { "^a{2,}$", "a", FALSE },
    { "^a{2,}$", "aaaaa", TRUE },
    { "^a{2,4}$", "aaaa", TRUE },
    { "^a{2,4}$", "aaaaa", FALSE },
    { "^a{2,4}$", "a", FALSE },
    { "^a{0}$", "", TRUE },
    { "^a{0}$", "a", FALSE },
    { "^a{0,0}b$", "b", TRUE },
    { "^a{01,02}$", "aa", TRUE },
    { "^a*?b+?c??$", "aabbc", TRUE },
    { "^a{2,3}?$", "aaa", TRUE },
    { "^a{2,}?$", "aaaa", TRUE },
    { "^(?:a|b)*abb$", "babaabb", TRUE },
    { "^(a*)*$", "aaaa", TRUE },
    { "^(a*)+b$", "aaab", TRUE },
    { "^(a?){3}a{3}$", "aaa", TRUE },
    { "^(?:a{2}){2}$", "aaaa", TRUE },
    { "^(?:a{2}){2}$", "aaa", FALSE },
    { "^(?:ab?){2,3}$", "aab", TRUE },
    { "^(?:ab?){2,3}$", "abababa", FALSE },
    { "^🐲{2}$", "🐲🐲", TRUE },
    { "^🐲{2}$", "🐲", FALSE },
    /* Annex B: a "{" that starts no quantifier, "}" and "]" are literals. */
    { "a{", "a{", TRUE },
    { "^{foo}$", "{foo}", TRUE },
    { "^a{,5}$", "a{,5}", TRUE },
    { "^a{1,2$", "a{1,2", TRUE },
    { "^x{a}$", "x{a}", TRUE },
    { "^x{1a}$", "x{1a}", TRUE },
    { "^}$", "}", TRUE },
    { "^]$", "]", TRUE },
    { "^{$", "{", TRUE },
    /* Classes. */
    { "^[abc]+$", "cab", TRUE },
    { "^[abc]+$", "cad", FALSE },
    { "^[a-z0-9_-]{3,16}$", "user_name-42", TRUE },
    { "^[a-z0-9_-]{3,16}$", "User", FALSE },
    { "^[a-z0-9_-]{3,16}$", "ab", FALSE },
    { "^[^abc]$", "d", TRUE },
    { "^[^abc]$", "a", FALSE },
    { "^[^abc]$", "\n", TRUE },
    { "^[^abc]$", "😀", TRUE },
    { "[]", "", FALSE },
    { "[]", "abc", FALSE },
    { "^a[]?b$", "ab", TRUE },
    { "^[^]$", "\n", TRUE },
    { "^[^]$", "😀", TRUE },
    { "^[^]$", "", FALSE },
    { "^[-a]+$", "-a-", TRUE },
    { "^[a-]+$", "-a", TRUE },
    { "^[a\\-z]+$", "-az", TRUE },
    { "^[a\\-z]$", "b", FALSE },
    { "^[a-c-e]+$", "a-e", TRUE },
    { "^[a-c-e]$", "d", FALSE },
    { "^[!--]+$", "!,-", TRUE },
    { "^[\\w-.]+$", "a-b.c", TRUE },
    { "^[\\w-.]+$", "a/b", FALSE },
    { "^[.-\\w]+$", "-", TRUE },
    { "^[\\d.]+$", "3.14", TRUE },
    { "^[\\s\\S]$", "\n", TRUE },
    { "^[\\D]$", "5", FALSE },
    { "^[^\\d\\s]+$", "abc", TRUE },
    { "^[^\\d\\s]+$", "a c", FALSE },
    { "^[^\\D]$", "7", TRUE },
    { "^[é-ë]$", "ê", TRUE },
    { "^[é-ë]$", "e", FALSE },
    { "^[😀-😂]$", "😁", TRUE },
    { "^[😀-😂]$", "😃", FALSE },
    { "^[\\u{1F600}-\\u{1F602}]$", "😁", TRUE },
    { "^[\\uD83D\\uDE00-\\uD83D\\uDE02]$", "😁", TRUE },
    { "^[.]$", "a", FALSE },
    { "^[.]$", ".", TRUE },
    { "^[[]$", "[", TRUE },
    { "^[\\]]$", "]", TRUE },
    { "^[\\b]$", "\b", TRUE },
    { "^[$^|(){}*+?]+$", "^$|(){}*+?", TRUE },
    { "^[\\x41-\\x43]+$", "ABC", TRUE },
    { "^[\\0]$", "", FALSE },
    { "^[^\\x00-\\x7f]$", "é", TRUE },
    { "^[^\\x00-\\x7f]$", "e", FALSE },
    { "^[\\cJ]$", "\n", TRUE },
    { "^[a-zA-Z\\u00C0-\\u024F]+$", "Ærøskøbing", TRUE },
    /* Character class escapes, ASCII \d and \w, ECMA's \s. */
    { "^\\d+$", "0123456789", TRUE },
    { "^\\d$", "\u0660", FALSE },
    { "^\\D$", "\u0660", TRUE },
    { "^\\D$", "5", FALSE },
    { "^\\w+$", "Az09_", TRUE },
    { "^\\w$", "é", FALSE },
    { "^\\W$", "é", TRUE },
    { "^\\W$", "_", FALSE },
    { "^\\s+$", " \t\n\v\f\r", TRUE },
    { "^\\s+$", "\u00A0\u1680\u2000\u2005\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF", TRUE },
    { "^\\s$", "\u200B", FALSE },
    { "^\\s$", "\u180E", FALSE },
    { "^\\s$", "\xc2\x85", FALSE },
    { "^\\s$", "a", FALSE },
    { "^\\S$", "\u00A0", FALSE },
    { "^\\S$", "\u2001", FALSE },
    { "^\\S$", "a", TRUE },
    { "^\\S$", "\u200B", TRUE },
    /* \b and \B look at ASCII word characters only. */
    { "\\bfoo\\b", "a foo b", TRUE },
    { "\\bfoo\\b", "afoo", FALSE },
    { "\\bfoo\\b", "foo", TRUE },
    { "\\Bfoo", "afoo", TRUE },
    { "\\Bfoo", "foo", FALSE },
    { "\\b", "", FALSE },
    { "\\B", "", TRUE },
    { "\\b", "!", FALSE },
    { "é\\b", "é", FALSE },
    { "\\bé", "é", FALSE },
    { "a\\b", "aé", TRUE },
    { "^\\b\\w+\\b$", "word", TRUE },
    /* Character escapes. */
    { "^\\t\\n\\v\\f\\r$", "\t\n\v\f\r", TRUE },
    { "^\\cJ\\cj$", "\n\n", TRUE },
    { "^\\x41\\x7a$", "Az", TRUE },
    { "^\\u00e9$", "é", TRUE },
    { "^\\u{1F432}+$", "🐲🐲", TRUE },
    { "^\\u{0000000041}$", "A", TRUE },
    { "^\\u{10FFFF}$", "\U0010FFFF", TRUE },
    { "^\\uD83D\\uDE00$", "😀", TRUE },
    { "^\\uD83D$", "😀", FALSE },
    { "^\\uD83D\\u0041$", "A", FALSE },
    { "^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\\\/\\-$", ".*+?()[]{}|^$\\/-", TRUE },
    { "^\\\"\\'\\#\\%\\@\\~\\ \\,$", "\"'#%@~ ,", TRUE },
    { "^\\é\\🐲$", "é🐲", TRUE },
  };

  check_matches (cases, G_N_ELEMENTS (cases));
}

/* The pattern cases of the JSON Schema Test Suite (draft 2020-12:
 * pattern.json, patternProperties.json, optional/ecmascript-regex.json,
 * optional/non-bmp-regex.json) that this matcher supports. */
static void
test_regex_json_schema_suite (void)
{
  static const MatchCase cases[] = {
    { "^a*$", "aaa", TRUE },
    { "^a*$", "abc", FALSE },
    { "a+", "xxaayy", TRUE },
    { "f.*o", "foo", TRUE },
    { "f.*o", "foooooo", TRUE },
    { "f.*o", "bar", FALSE },
    { "f.*o", "fo", TRUE },
    { "a*", "", TRUE },
    { "aaa*", "a", FALSE },
    { "aaa*", "aaaa", TRUE },
    { "[0-9]{2,}", "answer 1", FALSE },
    { "[0-9]{2,}", "a31b", TRUE },
    { "X_", "a_x_3", FALSE },
    { "X_", "a_X_3", TRUE },
    { "^🐲*$", "", TRUE },
    { "^🐲*$", "🐲", TRUE },
    { "^🐲*$", "🐲🐲", TRUE },
    { "^🐲*$", "🐉", FALSE },
    { "^🐲*$", "🐉🐉", FALSE },
    { "^🐲*$", "D", FALSE },
    { "^🐲*$", "DD", FALSE },
    { "^abc$", "abc\n", FALSE },
    { "^\\t$", "\\t", FALSE },
    { "^\\t$", "\t", TRUE },
    { "^\\cC$", "\\cC", FALSE },
    { "^\\cC$", "\x03", TRUE },
    { "^\\cc$", "\\cc", FALSE },
    { "^\\cc$", "\x03", TRUE },
    { "^\\d$", "0", TRUE },
    { "^\\d$", "\u07c0", FALSE },
    { "^\\D$", "\u07c0", TRUE },
    { "^\\w$", "a", TRUE },
    { "^\\w$", "é", FALSE },
    { "^\\W$", "a", FALSE },
    { "^\\W$", "é", TRUE },
    { "^\\s$", " ", TRUE },
    { "^\\s$", "\t", TRUE },
    { "^\\s$", "\v", TRUE },
    { "^\\s$", "\f", TRUE },
    { "^\\s$", "\u00a0", TRUE },
    { "^\\s$", "\ufeff", TRUE },
    { "^\\s$", "\u2029", TRUE },
    { "^\\s$", "\u2003", TRUE },
    { "^\\s$", "\n", TRUE },
    { "^\\s$", "\r", TRUE },
    { "^\\s$", "\u2028", TRUE },
    { "^\\s$", "\u00b7", FALSE },
    { "^\\S$", " ", FALSE },
    { "^\\S$", "\t", FALSE },
    { "^\\S$", "\u00a0", FALSE },
    { "^\\S$", "\ufeff", FALSE },
    { "^\\S$", "\u2029", FALSE },
    { "^\\S$", "\u2003", FALSE },
    { "^\\S$", "\u00b7", TRUE },
    { "\\wcole", "l'école", FALSE },
    { "\\wcole", "l'ecole", TRUE },
    { "[a-z]cole", "l'école", FALSE },
    { "[a-z]cole", "l'ecole", TRUE },
    { "^\\d+$", "42", TRUE },
    { "^\\d+$", "-%#", FALSE },
    { "^\\d+$", "\u09ea\u09e8", FALSE },
    { "^[a-z]+$", "foo", TRUE },
  };

  check_matches (cases, G_N_ELEMENTS (cases));
}

typedef struct
{
  const char *pattern;
  const char *message;
} RefusedCase;

static void
test_regex_refused (void)
{
  static const RefusedCase cases[] = {
    { "(", "missing ) for group at offset 0" },
    { "a(b", "missing ) for group at offset 1" },
    { "(?:a", "missing )" },
    { "a)", "unmatched ) at offset 1" },
    { ")", "unmatched )" },
    { "(a))", "unmatched ) at offset 3" },
    { "[a", "missing ] for character class at offset 0" },
    { "[", "missing ]" },
    { "[\\]", "missing ]" },
    { "[z-a]", "range out of order in character class at offset 1" },
    { "[😂-😀]", "range out of order" },
    { "a{3,2}", "numbers out of order in {} quantifier at offset 1" },
    { "\\", "\\ at end of pattern at offset 0" },
    { "a\\", "\\ at end of pattern at offset 1" },
    { "[a\\", "\\ at end of pattern" },
    { "*", "nothing to repeat at offset 0" },
    { "+a", "nothing to repeat" },
    { "?", "nothing to repeat" },
    { "a**", "nothing to repeat at offset 2" },
    { "a+*", "nothing to repeat" },
    { "a???", "nothing to repeat" },
    { "a{2}+", "nothing to repeat" },
    { "a{2}{3}", "nothing to repeat at offset 4" },
    { "{2}", "nothing to repeat at offset 0" },
    { "x|{1,}", "nothing to repeat" },
    { "^*", "nothing to repeat at offset 1" },
    { "$+", "nothing to repeat" },
    { "\\b*", "nothing to repeat" },
    { "\\B{2}", "nothing to repeat" },
    { "a|*", "nothing to repeat" },
    { "(*)", "nothing to repeat" },
    { "(a)\\1", "backreferences are not supported at offset 3" },
    { "\\9", "backreferences are not supported" },
    { "(?<n>a)\\k<n>", "backreferences are not supported at offset 7" },
    { "(?=a)", "lookahead is not supported at offset 0" },
    { "a(?!b)", "lookahead is not supported at offset 1" },
    { "(?<=a)b", "lookbehind is not supported" },
    { "(?<!a)b", "lookbehind is not supported" },
    { "\\p{Letter}", "Unicode property escapes are not supported at offset 0" },
    { "^\\p{Letter}", "Unicode property escapes are not supported at offset 1" },
    { "\\p{Letter}cole", "Unicode property escapes are not supported" },
    { "^\\p{digit}+$", "Unicode property escapes are not supported" },
    { "\\P{L}", "Unicode property escapes are not supported" },
    { "[\\p{L}]", "Unicode property escapes are not supported" },
    { "(?i)a", "invalid group: only (?: and (?<name> are supported at offset 0" },
    { "(?", "invalid group" },
    { "(?<>a)", "invalid group name" },
    { "(?<1a>a)", "invalid group name" },
    { "(?<a", "invalid group name" },
    { "(?<a-b>x)", "invalid group name" },
    { "(?<a>x)(?<a>y)", "duplicate group name at offset 7" },
    { "(?<a>x)|(?<a>y)", "duplicate group name" },
    { "\\a", "unknown escape \\a at offset 0" },
    { "\\z", "unknown escape \\z" },
    { "\\A", "unknown escape \\A" },
    { "\\Z", "unknown escape \\Z" },
    { "\\e", "unknown escape \\e" },
    { "\\h", "unknown escape \\h" },
    { "[\\B]", "unknown escape \\B at offset 1" },
    { "[\\1]", "unknown escape \\1" },
    { "\\x4", "\\x must be followed by two hex digits" },
    { "\\xZZ", "\\x must be followed by two hex digits" },
    { "\\u12", "\\u must be followed by four hex digits" },
    { "\\u{}", "invalid \\u{...} escape" },
    { "\\u{110000}", "invalid \\u{...} escape" },
    { "\\u{1F600", "invalid \\u{...} escape" },
    { "\\u{FFFFFFFFFFFFFFFFFFFF}", "invalid \\u{...} escape" },
    { "\\c1", "\\c must be followed by an ASCII letter" },
    { "\\c", "\\c must be followed by an ASCII letter" },
    { "\\01", "octal escapes are not supported" },
    { "ab\xff", "pattern is not valid UTF-8 at offset 2" },
    { "\xc3(", "pattern is not valid UTF-8 at offset 0" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OwlRegex) regex = owl_regex_new (cases[i].pattern, &error);
      /* Some are not UTF-8, which TAP output must be. */
      g_autofree char *escaped = g_strescape (cases[i].pattern, NULL);

      g_test_message ("/%s/", escaped);
      g_assert_null (regex);
      g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, cases[i].message));
    }
}

static void
assert_refused_as_too_large (const char *pattern)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlRegex) regex = owl_regex_new (pattern, &error);

  g_assert_null (regex);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "pattern is too large"));
}

static guint
compiled_size (const char *pattern)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlRegex) regex = owl_regex_new (pattern, &error);

  g_assert_no_error (error);
  return owl_regex_get_size (regex);
}

/* The program and the parser's recursion are bounded. */
static void
test_regex_limits (void)
{
  g_autoptr(GString) pattern = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlRegex) regex = NULL;

  /* With the final MATCH, a{9999} is exactly the limit. */
  g_assert_cmpuint (compiled_size ("a{9999}"), ==, OWL_REGEX_MAX_SIZE);
  assert_refused_as_too_large ("a{10000}");
  assert_refused_as_too_large ("(?:a{1000}){1000}");
  assert_refused_as_too_large ("((a{1000}){1000}){1000}");
  assert_refused_as_too_large ("(?:(?:(?:a{1}){1000}){1000}){1000}");
  assert_refused_as_too_large ("a{4294967297}");
  assert_refused_as_too_large ("a{99999999999999999999999999}");
  assert_refused_as_too_large ("a{0,99999999999999999999999999}");
  assert_refused_as_too_large ("[a-z]{5000,}[0-9]{5000}");
  /* ECMA-262 refuses this one before its size matters. */
  regex = owl_regex_new ("a{1000}{1000}", &error);
  g_assert_null (regex);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* Nothing to expand: these stay small however large the counts. */
  g_assert_cmpuint (compiled_size ("(?:(?:(?:a{0}){1000}){1000}){1000}"), ==, 1);
  g_assert_cmpuint (compiled_size ("(?:){99999999999999999999}"), ==, 1);
  /* Two copies of a* (SPLIT a JMP), the last looping back, and MATCH. */
  g_assert_cmpuint (compiled_size ("(?:a*){2,}"), ==, 2 * 3 + 1 + 1);

  /* A literal run is one instruction a code point. */
  g_string_append (pattern, "^");
  for (guint i = 0; i < OWL_REGEX_MAX_SIZE - 3; i++)
    g_string_append_c (pattern, 'a');
  g_string_append (pattern, "$");
  g_assert_cmpuint (compiled_size (pattern->str), ==, OWL_REGEX_MAX_SIZE);
  g_string_insert_c (pattern, 1, 'a');
  assert_refused_as_too_large (pattern->str);

  /* Groups nest OWL_REGEX_MAX_DEPTH deep and no deeper, and a runaway
   * nesting is refused without recursing through it. */
  g_string_truncate (pattern, 0);
  for (guint i = 0; i < OWL_REGEX_MAX_DEPTH; i++)
    g_string_append_c (pattern, '(');
  g_string_append_c (pattern, 'a');
  for (guint i = 0; i < OWL_REGEX_MAX_DEPTH; i++)
    g_string_append_c (pattern, ')');
  g_assert_cmpuint (compiled_size (pattern->str), ==, 2);
  g_string_prepend (pattern, "(?:");
  g_string_append (pattern, ")");
  assert_refused_as_too_large (pattern->str);

  g_string_truncate (pattern, 0);
  for (guint i = 0; i < 1000000; i++)
    g_string_append_c (pattern, '(');
  assert_refused_as_too_large (pattern->str);

  /* Classes do not nest: "[" inside one is a literal. */
  g_string_truncate (pattern, 0);
  g_string_append (pattern, "^");
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (pattern, '[');
  g_string_append (pattern, "]$");
  g_assert_cmpuint (compiled_size (pattern->str), ==, 4);
}

typedef struct
{
  const char *pattern;
  const char *unit;
  guint       count;
  const char *tail;
  gboolean    match;
} PathologicalCase;

static char *
repeat_string (const char *unit,
               guint       count,
               const char *tail)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < count; i++)
    g_string_append (s, unit);
  g_string_append (s, tail);
  return g_string_free (s, FALSE);
}

/* The inputs that make a backtracker explode cost at most (program size)
 * units a position here: a budget of exactly that always suffices. */
static void
test_regex_pathological (void)
{
  static const PathologicalCase cases[] = {
    { "^(\\w+\\s?)*$", "a", 25, "!", FALSE },
    { "^(\\w+\\s?)*$", "word ", 200, "end", TRUE },
    { "^(\\w+\\s?)*$", "a", 100000, "!", FALSE },
    { "(a*)*b", "a", 10000, "", FALSE },
    { "(a|a)*c", "a", 10000, "", FALSE },
    { "(a|aa)+$", "a", 10000, "!", FALSE },
    { "(x+x+)+y", "x", 5000, "", FALSE },
    { "^(a+)+$", "a", 30, "b", FALSE },
    { "^(a?){30}a{30}$", "a", 30, "", TRUE },
    { "(.*a){20}", "a", 10000, "", TRUE },
    { "(.*a){20}b", "a", 10000, "", FALSE },
    { "^(?:a{0,100}){0,10}$", "a", 1001, "", FALSE },
    { "^(?:a{0,100}){0,10}$", "a", 1000, "", TRUE },
    { "\\b\\B", "ab ", 10000, "", FALSE },
    { "^(([a-z])+.)+[A-Z]([a-z])+$", "aaaaaaaaaa", 100, "!", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OwlRegex) regex = owl_regex_new (cases[i].pattern, &error);
      g_autofree char *subject = repeat_string (cases[i].unit, cases[i].count, cases[i].tail);
      gsize len = strlen (subject);
      gint64 bound, budget;
      OwlRegexResult result;

      g_test_message ("/%s/ on %u x \"%s\" + \"%s\"", cases[i].pattern,
                      cases[i].count, cases[i].unit, cases[i].tail);
      g_assert_no_error (error);
      bound = budget = (gint64) (len + 1) * owl_regex_get_size (regex);
      result = owl_regex_search (regex, subject, len, &budget);
      g_assert_cmpint (result, ==, cases[i].match ? OWL_REGEX_MATCH : OWL_REGEX_NO_MATCH);
      g_assert_cmpint (budget, >=, 0);
      g_test_message ("  %" G_GINT64_FORMAT " units for %" G_GSIZE_FORMAT " bytes (bound %"
                      G_GINT64_FORMAT ")", bound - budget, len, bound);
    }
}

static gint64
units_used (OwlRegex       *regex,
            const char     *subject,
            OwlRegexResult  expected)
{
  gint64 budget = G_MAXINT64;

  g_assert_cmpint (owl_regex_search (regex, subject, strlen (subject), &budget), ==, expected);
  return G_MAXINT64 - budget;
}

/* Exactly the units a search used give the same answer; one fewer gives
 * up, whichever path (anchored, skipping, stepping) spends the last. */
static void
test_regex_budget_exact (void)
{
  static const MatchCase cases[] = {
    { "^`a-z]{3,16}$", "user_name-42", FALSE },
    { "^[a-z]{3,16}$", "user_name", FALSE },
    { "^[a-z_]{3,16}$", "user_name", TRUE },
    { "needle", "haystack haystack needle", TRUE },
    { "needle", "haystack haystack", FALSE },
    { "needle", "haystack haystack needl", FALSE },
    { "[xy]z", "aaaaaaaaaaxaaaayz", TRUE },
    { "[xy]z", "aaaaaaaaaaxaaaay", FALSE },
    { "(a|a)*c", "aaaaaaaaaa", FALSE },
    { "a*$", "bbbb", TRUE },
    { "\bé", "a é", FALSE },
    { "", "", TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OwlRegex) regex = owl_regex_new (cases[i].pattern, NULL);
      OwlRegexResult expected = cases[i].match ? OWL_REGEX_MATCH : OWL_REGEX_NO_MATCH;
      gsize len = strlen (cases[i].subject);
      gint64 used = units_used (regex, cases[i].subject, expected);
      gint64 budget = used;

      g_test_message ("/%s/ on \"%s\": %" G_GINT64_FORMAT " units", cases[i].pattern,
                      cases[i].subject, used);
      g_assert_cmpint (used, >=, 1);
      g_assert_cmpint (used, <=, (gint64) (len + 1) * owl_regex_get_size (regex));
      g_assert_cmpint (owl_regex_search (regex, cases[i].subject, len, &budget), ==, expected);
      g_assert_cmpint (budget, ==, 0);
      budget = used - 1;
      g_assert_cmpint (owl_regex_search (regex, cases[i].subject, len, &budget), ==,
                       OWL_REGEX_TOO_COSTLY);
      g_assert_cmpint (budget, ==, 0);
    }
}

/* The budget stops a search at once, and is spent linearly. */
static void
test_regex_budget (void)
{
  g_autoptr(OwlRegex) regex = owl_regex_new ("^(\\w+\\s?)*$", NULL);
  g_autoptr(OwlRegex) unanchored = owl_regex_new ("(a|a)*c", NULL);
  g_autoptr(OwlRegex) literal = owl_regex_new ("needle", NULL);
  g_autofree char *subject = repeat_string ("a", 25, "!");
  gsize len = strlen (subject);
  gint64 budget, used;

  budget = 5;
  g_assert_cmpint (owl_regex_search (regex, subject, len, &budget), ==, OWL_REGEX_TOO_COSTLY);
  g_assert_cmpint (budget, ==, 0);
  budget = 0;
  g_assert_cmpint (owl_regex_search (regex, "", 0, &budget), ==, OWL_REGEX_TOO_COSTLY);
  budget = -7;
  g_assert_cmpint (owl_regex_search (regex, "", 0, &budget), ==, OWL_REGEX_TOO_COSTLY);
  g_assert_cmpint (budget, ==, 0);
  g_assert_cmpint (owl_regex_search (regex, subject, len, NULL), ==, OWL_REGEX_NO_MATCH);

  /* Exactly what it used suffices; one unit less does not. */
  used = units_used (regex, subject, OWL_REGEX_NO_MATCH);
  g_assert_cmpint (used, >=, (gint64) len);
  g_assert_cmpint (used, <=, (gint64) (len + 1) * owl_regex_get_size (regex));
  budget = used;
  g_assert_cmpint (owl_regex_search (regex, subject, len, &budget), ==, OWL_REGEX_NO_MATCH);
  g_assert_cmpint (budget, ==, 0);
  budget = used - 1;
  g_assert_cmpint (owl_regex_search (regex, subject, len, &budget), ==, OWL_REGEX_TOO_COSTLY);
  g_assert_cmpint (budget, ==, 0);

  /* Doubling the subject doubles the work, for each kind of search. */
  for (guint n = 1000; n <= 8000; n *= 2)
    {
      g_autofree char *a1 = repeat_string ("a", n, "!");
      g_autofree char *a2 = repeat_string ("a", 2 * n, "!");
      g_autofree char *w1 = repeat_string ("word ", n / 5, "");
      g_autofree char *w2 = repeat_string ("word ", 2 * n / 5, "");
      gint64 pairs[4][2] = {
        { units_used (regex, a1, OWL_REGEX_NO_MATCH), units_used (regex, a2, OWL_REGEX_NO_MATCH) },
        { units_used (regex, w1, OWL_REGEX_MATCH), units_used (regex, w2, OWL_REGEX_MATCH) },
        { units_used (unanchored, a1, OWL_REGEX_NO_MATCH), units_used (unanchored, a2, OWL_REGEX_NO_MATCH) },
        { units_used (literal, a1, OWL_REGEX_NO_MATCH), units_used (literal, a2, OWL_REGEX_NO_MATCH) },
      };

      for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
        {
          g_test_message ("n=%u case %u: %" G_GINT64_FORMAT " then %" G_GINT64_FORMAT,
                          n, i, pairs[i][0], pairs[i][1]);
          g_assert_cmpint (pairs[i][1], >=, 2 * pairs[i][0] - 64);
          g_assert_cmpint (pairs[i][1], <=, 2 * pairs[i][0] + 64);
        }
      /* Skipping to a possible start costs one unit a byte. */
      g_assert_cmpint (pairs[3][0], <=, (gint64) n + 16);
    }
}

/* The subject is a byte range: NUL inside, no terminator, invalid bytes. */
static void
test_regex_bytes (void)
{
  g_autoptr(OwlRegex) nul = owl_regex_new ("^a\\0b$", NULL);
  g_autoptr(OwlRegex) dot = owl_regex_new ("^a.b$", NULL);
  g_autoptr(OwlRegex) abc = owl_regex_new ("^abc$", NULL);
  g_autoptr(OwlRegex) one = owl_regex_new ("^.$", NULL);
  g_autoptr(OwlRegex) two = owl_regex_new ("^..$", NULL);
  g_autoptr(OwlRegex) replacement = owl_regex_new ("^\\uFFFD+$", NULL);
  g_autoptr(OwlRegex) negated = owl_regex_new ("[^a]", NULL);

  g_assert_cmpint (owl_regex_search (nul, "a\0b", 3, NULL), ==, OWL_REGEX_MATCH);
  g_assert_cmpint (owl_regex_search (dot, "a\0b", 3, NULL), ==, OWL_REGEX_MATCH);
  g_assert_cmpint (owl_regex_search (abc, "abcd", 3, NULL), ==, OWL_REGEX_MATCH);
  g_assert_cmpint (owl_regex_search (abc, "abcd", 2, NULL), ==, OWL_REGEX_NO_MATCH);
  g_assert_cmpint (owl_regex_search (abc, NULL, 0, NULL), ==, OWL_REGEX_NO_MATCH);
  /* Invalid UTF-8 (outside the contract) reads as U+FFFD a byte. */
  g_assert_cmpint (owl_regex_search (one, "\xff", 1, NULL), ==, OWL_REGEX_MATCH);
  g_assert_cmpint (owl_regex_search (two, "\xe2\x82", 2, NULL), ==, OWL_REGEX_MATCH);
  g_assert_cmpint (owl_regex_search (one, "\xe2\x82\xac", 2, NULL), ==, OWL_REGEX_NO_MATCH);
  g_assert_cmpint (owl_regex_search (replacement, "\xed\xa0\x80\xc0\xaf", 5, NULL), ==, OWL_REGEX_MATCH);
  g_assert_cmpint (owl_regex_search (negated, "aa\x80", 3, NULL), ==, OWL_REGEX_MATCH);
  g_assert_cmpint (owl_regex_search (negated, "aa", 2, NULL), ==, OWL_REGEX_NO_MATCH);
}

typedef struct
{
  OwlRegex *regex;
  guint     matches;
} ThreadData;

static gpointer
search_in_thread (gpointer data)
{
  ThreadData *td = data;
  g_autofree char *yes = repeat_string ("word ", 100, "end");
  g_autofree char *no = repeat_string ("a", 500, "!");

  for (guint i = 0; i < 200; i++)
    {
      td->matches += search (td->regex, yes) == OWL_REGEX_MATCH;
      td->matches += search (td->regex, no) == OWL_REGEX_MATCH;
    }
  return NULL;
}

/* A compiled pattern is shared by threads that search at once. */
static void
test_regex_threads (void)
{
  g_autoptr(OwlRegex) regex = owl_regex_new ("^(\\w+\\s?)*$", NULL);
  ThreadData data[8];
  GThread *threads[8];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      data[i] = (ThreadData) { regex, 0 };
      threads[i] = g_thread_new ("regex", search_in_thread, &data[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (data[i].matches, ==, 200);
    }
}

static double
ns_per_byte (OwlRegex   *regex,
             const char *subject,
             guint       rounds)
{
  gsize len = strlen (subject);
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < rounds; i++)
    owl_regex_search (regex, subject, len, NULL);
  return (g_get_monotonic_time () - start) * 1000.0 / rounds / len;
}

/* Run with -m perf: prints the cost per byte. */
static void
test_regex_perf (void)
{
  g_autoptr(OwlRegex) user = owl_regex_new ("^[a-z0-9_-]{3,16}$", NULL);
  g_autoptr(OwlRegex) words = owl_regex_new ("^(\\w+\\s?)*$", NULL);
  g_autoptr(OwlRegex) literal = owl_regex_new ("needle", NULL);
  g_autofree char *text = repeat_string ("word ", 1024 / 5, "wor");
  g_autofree char *as = repeat_string ("a", 1023, "!");
  g_autofree char *hay = repeat_string ("haystack ", 1024 / 9, "needle");

  if (!g_test_perf ())
    {
      g_test_skip ("run with -m perf");
      return;
    }
  g_test_message ("^[a-z0-9_-]{3,16}$ on 16 bytes: %.2f ns/byte",
                  ns_per_byte (user, "user_name-12345x", 1000000));
  g_test_message ("^(\\w+\\s?)*$ on 1 KiB of words: %.2f ns/byte", ns_per_byte (words, text, 20000));
  g_test_message ("^(\\w+\\s?)*$ on 1 KiB of a, then !: %.2f ns/byte", ns_per_byte (words, as, 20000));
  g_test_message ("needle at the end of 1 KiB: %.2f ns/byte", ns_per_byte (literal, hay, 100000));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/owl/regex/syntax", test_regex_syntax);
  g_test_add_func ("/owl/regex/json-schema-suite", test_regex_json_schema_suite);
  g_test_add_func ("/owl/regex/refused", test_regex_refused);
  g_test_add_func ("/owl/regex/limits", test_regex_limits);
  g_test_add_func ("/owl/regex/pathological", test_regex_pathological);
  g_test_add_func ("/owl/regex/budget", test_regex_budget);
  g_test_add_func ("/owl/regex/budget-exact", test_regex_budget_exact);
  g_test_add_func ("/owl/regex/bytes", test_regex_bytes);
  g_test_add_func ("/owl/regex/threads", test_regex_threads);
  g_test_add_func ("/owl/regex/perf", test_regex_perf);

  return g_test_run ();
}

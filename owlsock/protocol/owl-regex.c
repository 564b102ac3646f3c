/* owl-regex.c: a linear-time matcher for JSON Schema's "pattern"
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GRegex (PCRE) backtracks: "^(\w+\s?)*$" against 25 'a's and a '!' takes
 * ~320 ms, and while a schema comes from whoever configures the service, the
 * strings it checks come from any client. Here a pattern (read by
 * owl-regex-parse.c) compiles to an NFA (Thompson's construction) whose
 * threads all advance together over the subject, one code point at a time
 * (Pike's VM, without captures: a schema only asks match or no match, so
 * lazy and greedy quantifiers are the same). A state is visited at most
 * once per position, so a search costs at most (program size) steps per
 * position, whatever the pattern.
 *
 * Counted repetition is expanded, so the program is refused past
 * OWL_REGEX_MAX_SIZE instructions; the tree is sized before anything is
 * expanded, so "(?:a{1000}){1000}" costs nothing to refuse.
 */

#include <string.h>

#include "owl-regex-private.h"
#include "owl-regex-parse-private.h"

#define NO_PC         G_MAXUINT32
/* Programs up to this size search with scratch on the stack (4 KiB). */
#define SMALL_PROGRAM 256

/* CHAR, CLASS and the assertions go on at b: the next instruction, past
 * any JMP (see thread_jumps()). */
typedef enum
{
  OP_CHAR,    /* a: the code point */
  OP_CLASS,   /* a: index into classes */
  OP_SPLIT,   /* go on at a and at b */
  OP_JMP,     /* go on at a */
  OP_BOL,     /* ^ */
  OP_EOL,     /* $ */
  OP_WORDB,   /* \b */
  OP_NWORDB,  /* \B */
  OP_MATCH,
} OpCode;

static const guint32 assertion_ops[] = {
  [OWL_REGEX_ASSERT_START] = OP_BOL,
  [OWL_REGEX_ASSERT_END] = OP_EOL,
  [OWL_REGEX_ASSERT_WORD] = OP_WORDB,
  [OWL_REGEX_ASSERT_NOT_WORD] = OP_NWORDB,
};

typedef struct
{
  guint32 op;
  guint32 a;
  guint32 b;
} Inst;

struct _OwlRegex
{
  char          *pattern;
  Inst          *prog;
  guint          n_prog;
  guint32        start;       /* the first instruction, past any JMP */
  OwlRegexClass *classes;
  guint          n_classes;
  gboolean       anchored;    /* every path starts with ^ */
  gboolean       use_first;   /* a match starts on a byte of first[] */
  int            first_byte;  /* first[]'s only byte, or -1 */
  guint32        first[8];
};

/* ------------------------------------------------------------------------ */
/* Sizing: what each node emits (see below), checked against the limit.      */

static guint64
repeat_size (guint64 s,
             guint64 min,
             guint64 max)
{
  if (s == 0)
    return 0;
  /* Saturated: anything this large is refused anyway. */
  if (min >= OWL_REGEX_MAX_SIZE || (max != OWL_REGEX_REPEAT_INF && max - min >= OWL_REGEX_MAX_SIZE))
    return OWL_REGEX_MAX_SIZE;
  if (max == OWL_REGEX_REPEAT_INF)
    return min == 0 ? s + 2 : min * s + 1;
  return min * s + (max - min) * (s + 1);
}

/* The final MATCH makes one more instruction. */
#define FITS(size) ((size) < OWL_REGEX_MAX_SIZE)

static gboolean
too_large (const OwlRegexNode  *at,
           GError             **error)
{
  g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
               "pattern is too large (over %d instructions once compiled) at offset %" G_GSIZE_FORMAT,
               OWL_REGEX_MAX_SIZE, at->offset);
  return FALSE;
}

/* Sets the size of @node and below, refusing the tree at the first node
 * whose program would not fit. */
static gboolean
measure (OwlRegexNode  *node,
         GError       **error)
{
  OwlRegexNode *kid;

  switch (node->type)
    {
    case OWL_REGEX_NODE_CAT:
    case OWL_REGEX_NODE_ALT:
      node->size = 0;
      for (guint i = 0; i < node->kids->len; i++)
        {
          kid = node->kids->pdata[i];
          if (!measure (kid, error))
            return FALSE;
          /* A SPLIT and a JMP for each branch past the first. */
          node->size += kid->size + (node->type == OWL_REGEX_NODE_ALT && i > 0 ? 2 : 0);
          if (!FITS (node->size))
            return too_large (kid, error);
        }
      return TRUE;
    case OWL_REGEX_NODE_REPEAT:
      kid = node->kids->pdata[0];
      if (!measure (kid, error))
        return FALSE;
      node->size = repeat_size (kid->size, node->min, node->max);
      break;
    default:
      node->size = 1;
      break;
    }
  return FITS (node->size) || too_large (node, error);
}

/* ------------------------------------------------------------------------ */
/* Emission: the program, sized exactly by the tree.                         */

static guint32
emit_inst (OwlRegex *regex,
           guint32   op,
           guint32   a,
           guint32   b)
{
  guint32 pc = regex->n_prog++;

  regex->prog[pc] = (Inst) { op, a, b };
  return pc;
}

static void emit_node (OwlRegex           *regex,
                       const OwlRegexNode *node);

/* e1 | e2 | e3: SPLIT L1 L2; L1: e1; JMP end; L2: SPLIT L2' L3; ... e3; end. */
static void
emit_alt (OwlRegex           *regex,
          const OwlRegexNode *node)
{
  guint32 pending = NO_PC;   /* the JMPs to patch, chained through .a */

  for (guint i = 0; i < node->kids->len; i++)
    {
      gboolean last = i + 1 == node->kids->len;
      guint32 split = 0;

      if (!last)
        split = emit_inst (regex, OP_SPLIT, regex->n_prog + 1, 0);
      emit_node (regex, node->kids->pdata[i]);
      if (!last)
        {
          pending = emit_inst (regex, OP_JMP, pending, 0);
          regex->prog[split].b = regex->n_prog;
        }
    }
  while (pending != NO_PC)
    {
      guint32 next = regex->prog[pending].a;

      regex->prog[pending].a = regex->n_prog;
      pending = next;
    }
}

/* e{n,m} is n copies of e, then m-n nested optional copies that all skip
 * to the end: once one is skipped, no thread lingers in the rest. e{n,}
 * loops on its last copy. */
static void
emit_repeat (OwlRegex           *regex,
             const OwlRegexNode *node)
{
  const OwlRegexNode *kid = node->kids->pdata[0];
  guint64 copies = node->min;
  guint32 start;

  if (kid->size == 0)
    return;
  if (node->max == OWL_REGEX_REPEAT_INF && copies > 0)
    copies--;
  for (guint64 i = 0; i < copies; i++)
    emit_node (regex, kid);

  start = regex->n_prog;
  if (node->max == OWL_REGEX_REPEAT_INF && node->min == 0)
    {
      emit_inst (regex, OP_SPLIT, start + 1, 0);
      emit_node (regex, kid);
      emit_inst (regex, OP_JMP, start, 0);
      regex->prog[start].b = regex->n_prog;
    }
  else if (node->max == OWL_REGEX_REPEAT_INF)
    {
      emit_node (regex, kid);
      emit_inst (regex, OP_SPLIT, start, regex->n_prog + 1);
    }
  else
    {
      for (guint64 i = node->min; i < node->max; i++)
        {
          emit_inst (regex, OP_SPLIT, regex->n_prog + 1, 0);
          emit_node (regex, kid);
        }
      for (guint32 pc = start; pc < regex->n_prog; pc += (guint32) kid->size + 1)
        regex->prog[pc].b = regex->n_prog;
    }
}

static void
emit_node (OwlRegex           *regex,
           const OwlRegexNode *node)
{
  switch (node->type)
    {
    case OWL_REGEX_NODE_CHAR:
      emit_inst (regex, OP_CHAR, node->value, 0);
      break;
    case OWL_REGEX_NODE_CLASS:
      emit_inst (regex, OP_CLASS, node->value, 0);
      break;
    case OWL_REGEX_NODE_ASSERT:
      emit_inst (regex, assertion_ops[node->value], 0, 0);
      break;
    case OWL_REGEX_NODE_CAT:
      for (guint i = 0; i < node->kids->len; i++)
        emit_node (regex, node->kids->pdata[i]);
      break;
    case OWL_REGEX_NODE_ALT:
      emit_alt (regex, node);
      break;
    case OWL_REGEX_NODE_REPEAT:
      emit_repeat (regex, node);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Where a jump from @pc finally lands. */
static guint32
resolve_jumps (OwlRegex *regex,
               guint32   pc)
{
  guint32 end = pc;

  /* Emission makes no cycle of JMPs; the bound is only a guard. */
  for (guint i = 0; i < regex->n_prog && regex->prog[end].op == OP_JMP; i++)
    end = regex->prog[end].a;
  /* Path compression keeps the whole pass linear. */
  while (pc != end && regex->prog[pc].op == OP_JMP)
    {
      guint32 next = regex->prog[pc].a;

      regex->prog[pc].a = end;
      pc = next;
    }
  return end;
}

/* Points every edge past the JMPs it would go through, so that a search
 * never visits one: one state fewer per loop iteration and per branch of
 * an alternation. */
static void
thread_jumps (OwlRegex *regex)
{
  for (guint32 pc = 0; pc < regex->n_prog; pc++)
    {
      Inst *inst = &regex->prog[pc];

      switch (inst->op)
        {
        case OP_SPLIT:
          inst->a = resolve_jumps (regex, inst->a);
          inst->b = resolve_jumps (regex, inst->b);
          break;
        case OP_JMP:
        case OP_MATCH:
          break;
        default:
          inst->b = resolve_jumps (regex, pc + 1);
          break;
        }
    }
  regex->start = resolve_jumps (regex, 0);
}

/* ------------------------------------------------------------------------ */
/* What a match can start with, for the search's fast paths.                 */

static void
add_lead_bytes (guint32 first[8],
                guint32 lo,
                guint32 hi)
{
  char lo_utf8[8], hi_utf8[8];

  g_unichar_to_utf8 (lo, lo_utf8);
  g_unichar_to_utf8 (hi, hi_utf8);
  /* Lead bytes grow with the code point, so the range's lie between. */
  for (guint b = (guchar) lo_utf8[0]; b <= (guchar) hi_utf8[0]; b++)
    first[b >> 5] |= 1u << (b & 31);
  /* Invalid subject bytes read as U+FFFD: let them through too. */
  if (lo <= 0xFFFD && hi >= 0xFFFD)
    memset (first + 4, 0xff, 4 * sizeof (guint32));
}

static void
add_class_lead_bytes (guint32              first[8],
                      const OwlRegexClass *cls)
{
  for (guint i = 0; i < 4; i++)
    first[i] |= cls->ascii[i];
  for (guint i = 0; i < cls->n_ranges; i++)
    add_lead_bytes (first, cls->ranges[i].lo, cls->ranges[i].hi);
}

/* Follows the empty transitions from the start (through ^ only when
 * @through_bol, through the other assertions always). Returns FALSE if that
 * reaches MATCH; else @first holds the lead bytes the reachable consuming
 * instructions accept. */
static gboolean
scan_start (const OwlRegex *regex,
            gboolean        through_bol,
            guint32         first[8])
{
  g_autofree guint32 *stack = g_new (guint32, regex->n_prog);
  g_autofree guint8 *seen = g_new0 (guint8, regex->n_prog);
  guint n = 0;

  memset (first, 0, 8 * sizeof (guint32));
  stack[n++] = regex->start;
  seen[regex->start] = TRUE;
  while (n > 0)
    {
      guint32 pc = stack[--n];
      const Inst *inst = &regex->prog[pc];
      guint32 next[2] = { inst->b, NO_PC };

      switch (inst->op)
        {
        case OP_MATCH:
          return FALSE;
        case OP_CHAR:
          add_lead_bytes (first, inst->a, inst->a);
          continue;
        case OP_CLASS:
          add_class_lead_bytes (first, &regex->classes[inst->a]);
          continue;
        case OP_BOL:
          if (!through_bol)
            continue;
          break;
        case OP_JMP:
          next[0] = inst->a;
          break;
        case OP_SPLIT:
          next[0] = inst->a;
          next[1] = inst->b;
          break;
        default:
          break;
        }
      for (guint i = 0; i < 2; i++)
        if (next[i] != NO_PC && !seen[next[i]])
          {
            seen[next[i]] = TRUE;
            stack[n++] = next[i];
          }
    }
  return TRUE;
}

static void
analyze_start (OwlRegex *regex)
{
  guint32 first[8];
  guint n_first = 0;

  /* Anchored: no path reaches input or MATCH without passing ^. */
  regex->anchored = scan_start (regex, FALSE, first);
  for (guint i = 0; i < 8; i++)
    regex->anchored = regex->anchored && first[i] == 0;

  /* Anchored, only position 0 may start a match: nothing to skip to. */
  regex->use_first = !regex->anchored && scan_start (regex, TRUE, regex->first);
  regex->first_byte = -1;
  for (guint b = 0; b < 256; b++)
    if (regex->first[b >> 5] & (1u << (b & 31)))
      {
        n_first++;
        regex->first_byte = (int) b;
      }
  if (n_first != 1)
    regex->first_byte = -1;
}

/* ------------------------------------------------------------------------ */
/* The search: all threads in lock step, a state at most once per position. */

/* The threads at one position: consuming instructions (CHAR, CLASS) only;
 * the empty transitions were followed when they were added. */
typedef struct
{
  guint32 *pcs;
  guint    n;
} ThreadList;

/* One search's state, flat so that its fields stay in registers. */
typedef struct
{
  const OwlRegex      *regex;
  const Inst          *prog;
  const OwlRegexClass *classes;
  const guchar        *subject;
  gsize                len;
  gint64               left;    /* budget */
  guint32             *mark;    /* per instruction, the generation that visited it */
  guint32              gen;     /* one per position: a fresh, empty set of visits */
  guint32             *stack;
  guint                n_prog;
} Search;

static inline gboolean
is_word_byte (guchar c)
{
  return g_ascii_isalnum (c) || c == '_';
}

/* \b looks at bytes: only ASCII is a word character, and no byte of a
 * multi-byte sequence is ASCII. */
static inline gboolean
at_word_boundary (const Search *s,
                  gsize         pos)
{
  gboolean before = pos > 0 && is_word_byte (s->subject[pos - 1]);
  gboolean after = pos < s->len && is_word_byte (s->subject[pos]);

  return before != after;
}

static inline gboolean
class_has (const OwlRegexClass *cls,
           guint32              c)
{
  guint lo = 0;
  guint hi = cls->n_ranges;

  if (c < 0x80)
    return (cls->ascii[c >> 5] >> (c & 31)) & 1;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (c < cls->ranges[mid].lo)
        hi = mid;
      else if (c > cls->ranges[mid].hi)
        lo = mid + 1;
      else
        return TRUE;
    }
  return FALSE;
}

/* Decodes one code point of at most @left bytes; an invalid or truncated
 * sequence reads as U+FFFD, one byte long. */
static inline guint32
decode (const guchar *p,
        gsize         left,
        guint        *len)
{
  guint32 c = p[0];

  *len = 1;
  if (c < 0x80)
    return c;
  if (c >= 0xC2 && c <= 0xDF && left >= 2 && (p[1] & 0xC0) == 0x80)
    {
      *len = 2;
      return (c & 0x1F) << 6 | (p[1] & 0x3F);
    }
  if (c >= 0xE0 && c <= 0xEF && left >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80)
    {
      c = (c & 0x0F) << 12 | (guint32) (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
      if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF))
        {
          *len = 3;
          return c;
        }
    }
  else if (c >= 0xF0 && c <= 0xF4 && left >= 4 && (p[1] & 0xC0) == 0x80 &&
           (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80)
    {
      c = (c & 0x07) << 18 | (guint32) (p[1] & 0x3F) << 12 |
          (guint32) (p[2] & 0x3F) << 6 | (p[3] & 0x3F);
      if (c >= 0x10000 && c <= OWL_REGEX_MAX_CODE_POINT)
        {
          *len = 4;
          return c;
        }
    }
  return 0xFFFD;
}

/* Starts a visit set for a new position. */
static inline void
next_generation (Search *s)
{
  /* Positions past 2^32 wrap the counter: forget the old marks. */
  if (G_UNLIKELY (++s->gen == 0))
    {
      memset (s->mark, 0, s->n_prog * sizeof (guint32));
      s->gen = 1;
    }
}

/* Visits @pc at the current position, unless it was: one unit of budget,
 * and onto the stack to be followed. */
static inline gboolean
push (Search  *s,
      guint32  pc,
      guint   *n)
{
  if (s->mark[pc] == s->gen)
    return TRUE;
  if (s->left == 0)
    return FALSE;
  s->left--;
  s->mark[pc] = s->gen;
  s->stack[(*n)++] = pc;
  return TRUE;
}

/* Follows the @n instructions on the stack through the empty transitions
 * at @pos, adding the consuming ones reached to @list. */
static OwlRegexResult
follow (Search     *s,
        ThreadList *list,
        guint       n,
        gsize       pos)
{
  gboolean ok = TRUE;

  while (ok && n > 0)
    {
      guint32 pc = s->stack[--n];
      const Inst *inst = &s->prog[pc];

      switch (inst->op)
        {
        case OP_CHAR:
        case OP_CLASS:
          list->pcs[list->n++] = pc;
          break;
        case OP_MATCH:
          return OWL_REGEX_MATCH;
        case OP_JMP:
          ok = push (s, inst->a, &n);
          break;
        case OP_SPLIT:
          ok = push (s, inst->a, &n) && push (s, inst->b, &n);
          break;
        case OP_BOL:
          ok = pos != 0 || push (s, inst->b, &n);
          break;
        case OP_EOL:
          ok = pos != s->len || push (s, inst->b, &n);
          break;
        case OP_WORDB:
          ok = !at_word_boundary (s, pos) || push (s, inst->b, &n);
          break;
        case OP_NWORDB:
          ok = at_word_boundary (s, pos) || push (s, inst->b, &n);
          break;
        default:
          g_assert_not_reached ();
        }
    }
  return ok ? OWL_REGEX_NO_MATCH : OWL_REGEX_TOO_COSTLY;
}

/* With no thread alive, moves *@pos to the next byte a match could start
 * on, or to the end, paying a unit per byte passed over. FALSE when the
 * budget ran out first. */
static gboolean
skip_to_start (Search *s,
               gsize  *pos)
{
  const OwlRegex *regex = s->regex;
  gsize from = *pos;
  gsize stop = from + (gsize) MIN ((guint64) s->left, (guint64) (s->len - from));
  gsize to = from;

  if (regex->first_byte >= 0)
    {
      const guchar *hit = memchr (s->subject + from, regex->first_byte, stop - from);

      to = hit != NULL ? (gsize) (hit - s->subject) : stop;
    }
  else
    while (to < stop && !(regex->first[s->subject[to] >> 5] & (1u << (s->subject[to] & 31))))
      to++;
  s->left -= (gint64) (to - from);
  *pos = to;
  /* Stopped short of the end (the byte there unread): the budget is 0. */
  return to < stop || stop == s->len;
}

/* Moves the threads of @cur over the code point at @pos into @next: all
 * those that take it go on the stack, then they are followed together. */
static OwlRegexResult
step (Search           *s,
      const ThreadList *cur,
      ThreadList       *next,
      gsize             pos,
      guint            *len)
{
  guint32 c = decode (s->subject + pos, s->len - pos, len);
  guint n = 0;

  next_generation (s);
  next->n = 0;
  for (guint i = 0; i < cur->n; i++)
    {
      const Inst *inst = &s->prog[cur->pcs[i]];

      if ((inst->op == OP_CHAR ? inst->a == c : class_has (&s->classes[inst->a], c)) &&
          !push (s, inst->b, &n))
        return OWL_REGEX_TOO_COSTLY;
    }
  return follow (s, next, n, pos + *len);
}

static OwlRegexResult
run (Search     *s,
     ThreadList *cur,
     ThreadList *next)
{
  const OwlRegex *regex = s->regex;
  gsize pos = 0;

  for (;;)
    {
      OwlRegexResult result;
      ThreadList *tmp;
      guint len, n = 0;

      if (cur->n == 0 && regex->anchored && pos > 0)
        return OWL_REGEX_NO_MATCH;
      if (cur->n == 0 && regex->use_first && pos < s->len)
        {
          if (!skip_to_start (s, &pos))
            return OWL_REGEX_TOO_COSTLY;
          next_generation (s);
        }
      /* Unanchored: a new thread starts at every position. */
      if (!regex->anchored || pos == 0)
        {
          if (!push (s, regex->start, &n))
            return OWL_REGEX_TOO_COSTLY;
          result = follow (s, cur, n, pos);
          if (result != OWL_REGEX_NO_MATCH)
            return result;
        }
      if (pos == s->len)
        return OWL_REGEX_NO_MATCH;
      result = step (s, cur, next, pos, &len);
      if (result != OWL_REGEX_NO_MATCH)
        return result;
      pos += len;
      tmp = cur;
      cur = next;
      next = tmp;
    }
}

/* ------------------------------------------------------------------------ */

OwlRegex *
owl_regex_new (const char  *pattern,
               GError     **error)
{
  OwlRegexTree tree;
  OwlRegex *regex = NULL;

  g_return_val_if_fail (pattern != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (owl_regex_parse (pattern, &tree, error) && measure (tree.root, error))
    {
      regex = g_new0 (OwlRegex, 1);
      regex->pattern = g_strdup (pattern);
      regex->prog = g_new (Inst, tree.root->size + 1);
      emit_node (regex, tree.root);
      emit_inst (regex, OP_MATCH, 0, 0);
      g_assert (regex->n_prog == tree.root->size + 1);
      thread_jumps (regex);
      regex->n_classes = tree.classes->len;
      regex->classes = g_array_steal (tree.classes, NULL);
      analyze_start (regex);
    }
  owl_regex_tree_clear (&tree);
  return regex;
}

void
owl_regex_free (OwlRegex *regex)
{
  if (regex == NULL)
    return;
  for (guint i = 0; i < regex->n_classes; i++)
    owl_regex_class_clear (&regex->classes[i]);
  g_free (regex->classes);
  g_free (regex->prog);
  g_free (regex->pattern);
  g_free (regex);
}

const char *
owl_regex_get_pattern (OwlRegex *regex)
{
  g_return_val_if_fail (regex != NULL, NULL);

  return regex->pattern;
}

guint
owl_regex_get_size (OwlRegex *regex)
{
  g_return_val_if_fail (regex != NULL, 0);

  return regex->n_prog;
}

OwlRegexResult
owl_regex_search (OwlRegex   *regex,
                  const char *subject,
                  gsize       len,
                  gint64     *budget)
{
  /* Scratch: the marks, two thread lists and the stack. */
  guint32 small[4 * SMALL_PROGRAM];
  g_autofree guint32 *big = NULL;
  guint32 *scratch = small;
  ThreadList lists[2];
  Search s;
  OwlRegexResult result;
  guint n;

  g_return_val_if_fail (regex != NULL, OWL_REGEX_NO_MATCH);
  g_return_val_if_fail (subject != NULL || len == 0, OWL_REGEX_NO_MATCH);

  n = regex->n_prog;
  if (n > SMALL_PROGRAM)
    scratch = big = g_new (guint32, 4 * (gsize) n);
  memset (scratch, 0, n * sizeof (guint32));
  lists[0] = (ThreadList) { scratch + n, 0 };
  lists[1] = (ThreadList) { scratch + 2 * n, 0 };
  s = (Search) {
    .regex = regex,
    .prog = regex->prog,
    .classes = regex->classes,
    .subject = (const guchar *) (subject != NULL ? subject : ""),
    .len = len,
    .left = budget != NULL ? MAX (*budget, 0) : G_MAXINT64,
    .mark = scratch,
    .gen = 1,
    .stack = scratch + 3 * n,
    .n_prog = n,
  };

  result = run (&s, &lists[0], &lists[1]);
  if (budget != NULL)
    *budget = s.left;
  return result;
}

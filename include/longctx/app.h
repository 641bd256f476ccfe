/*
 * longctx/app.h — applications over the runtime: multi-turn chat with chat
 * templates and token-level context management, and long-document processing
 * (map-reduce, refine, hierarchical) over a model interface a test can fake.
 *
 *   lc_chat_template   how turns are written for a model family (recognised
 *                      from GGUF tokenizer.chat_template, or chosen by name)
 *   lc_chat            a conversation over an lc_context: system prompt,
 *                      turns kept as tokens, replies streamed, the context
 *                      managed in tokens (drop whole turns / shift / sinks),
 *                      save and load through sessions (runtime.h)
 *   lc_doc_*           a document read as a stream, cut into chunks at
 *                      paragraph or sentence ends within a token budget, and
 *                      a task run over them by a strategy
 *
 * The library never prints and never installs signal handlers: replies are
 * streamed to a callback, which may return false to stop (the CLI's Ctrl-C).
 * docs/chat-and-docs.md has the templates, the context rules and examples.
 */
#ifndef LONGCTX_APP_H
#define LONGCTX_APP_H

#include <stdio.h>

#include "longctx/common.h"
#include "longctx/json.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "longctx/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Chat templates                                                           */
/* ------------------------------------------------------------------------ */

typedef enum {
    LC_CHAT_TPL_PLAIN = 0, /* "System\n\nUser: ...\nAssistant: ..." for base models  */
    LC_CHAT_TPL_CHATML,    /* <|im_start|>role\n...<|im_end|>\n   (Qwen, many tunes) */
    LC_CHAT_TPL_LLAMA2,    /* <s>[INST] <<SYS>>\n..\n<</SYS>>\n\n.. [/INST] .. </s>   */
    LC_CHAT_TPL_MISTRAL,   /* [INST] .. [/INST] .. </s>  (system folded into user)    */
    LC_CHAT_TPL_LLAMA3,    /* <|start_header_id|>role<|end_header_id|>\n\n..<|eot_id|> */
    LC_CHAT_TPL_PHI3,      /* <|user|>\n..<|end|>\n<|assistant|>\n..<|end|>\n         */
    LC_CHAT_TPL_GEMMA,     /* <start_of_turn>user\n..<end_of_turn>\n<start_of_turn>model */
    LC_CHAT_TPL_ZEPHYR,    /* <|user|>\n..</s>\n<|assistant|>\n..</s>\n              */
    LC_CHAT_TPL_COUNT
} lc_chat_template;

typedef enum { LC_CHAT_SYSTEM = 0, LC_CHAT_USER, LC_CHAT_ASSISTANT } lc_chat_role;

/* "plain", "chatml", "llama2", "mistral", "llama3", "phi3", "gemma", "zephyr". */
const char *lc_chat_template_name(lc_chat_template t);
/* Those names (and "llama-2", "llama-3", "phi-3", "chat-ml"); false if unknown. */
bool lc_chat_template_parse(const char *name, lc_chat_template *out);
/* Recognise a Jinja chat template (GGUF tokenizer.chat_template) by the
 * markers its family writes; false (and *out = PLAIN) when none matches. */
bool lc_chat_template_detect(const char *jinja, size_t len, lc_chat_template *out);
/* The template a GGUF file declares (tokenizer.chat_template): *found false
 * when the key is absent (or the file is not a GGUF), *recognised false when
 * present but unknown. *out is PLAIN in both cases. */
lc_status lc_chat_template_from_file(const char *path, lc_chat_template *out, bool *found, bool *recognised,
                                     lc_error *err);
/* The text of a GGUF's tokenizer.chat_template: *text malloc'd and
 * NUL-terminated (free()), or NULL when the file has none. */
lc_status lc_chat_template_text_from_file(const char *path, char **text, size_t *len, lc_error *err);

/* Both for a chat over the model file at path with no template named: the
 * family its tokenizer.chat_template is recognised as (else PLAIN) and the
 * Jinja text itself (*jinja malloc'd, NULL when the file declares none).
 * *unknown (may be NULL): a template is declared but is no known family (its
 * Jinja text may still serve). On failure *tpl is PLAIN and *jinja NULL. */
lc_status lc_chat_template_from_model(const char *path, lc_chat_template *tpl, char **jinja, size_t *jinja_len,
                                      bool *unknown, lc_error *err);

/* The tokens of one turn in a template: the role's header, the text encoded
 * as plain text (special-token names in it are NOT parsed: a user cannot
 * inject control tokens), and the role's trailer. The template's own markers
 * become their token ids when the vocabulary has them (else their text).
 * first: the turn opens the conversation (BOS first when the vocabulary asks
 * for it). A system turn of a template that folds the system prompt into the
 * first user message (llama2, mistral, gemma) writes nothing but that BOS.
 * For the assistant, text NULL writes only the header (the generation
 * prompt). Writes at most cap ids, *n the count needed (LC_ERR_TOO_LARGE
 * when cap is short, like lc_tokenizer_encode). */
lc_status lc_chat_render(lc_chat_template t, const lc_tokenizer *tok, lc_chat_role role, const char *text, size_t len,
                         bool first, int32_t *ids, int64_t cap, int64_t *n, lc_error *err);
/* The tokens that close an assistant reply (e.g. <|im_end|> "\n"), written
 * after the reply's own tokens; the reply's last token may already be the
 * first of them (the model wrote it). */
lc_status lc_chat_render_reply_end(lc_chat_template t, const lc_tokenizer *tok, int32_t *ids, int64_t cap, int64_t *n,
                                   lc_error *err);
/* Tokens that end a reply when the model writes them (end-of-turn markers
 * the vocabulary has, and EOS): at most cap into ids; returns the count. */
int32_t lc_chat_stop_tokens(lc_chat_template t, const lc_tokenizer *tok, int32_t *ids, int32_t cap);
/* A text that ends a reply (the plain template's "\nUser:"), or NULL. */
const char *lc_chat_stop_text(lc_chat_template t);

/* ------------------------------------------------------------------------ */
/* Chat                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct lc_chat lc_chat;

/* Streamed reply text (UTF-8, possibly cut inside a character); return false
 * to stop the reply (it is kept as written so far). */
typedef bool (*lc_chat_text_fn)(void *user, const char *text, size_t len);
/* What context management did (verbose notes), e.g. "dropped 2 oldest turns
 * (57 tokens) to fit; re-evaluated 112". */
typedef void (*lc_chat_note_fn)(void *user, const char *note);

typedef struct {
    lc_chat_template tpl;
    const char *system;       /* system prompt (copied); NULL or "": none     */
    int64_t n_predict;        /* most tokens per reply; <= 0: until the end of
                                 the turn, at most a quarter of the context   */
    lc_chat_text_fn on_text;  /* may be NULL                                  */
    void *text_user;
    lc_chat_note_fn on_note;  /* may be NULL                                  */
    void *note_user;
    /* The model's Jinja chat template (tokenizer.chat_template; read during
     * create only) or NULL. When set, turns are written as this template
     * renders them (derived by rendering probe conversations with the Jinja
     * interpreter, include/longctx/jinja.h); when it cannot be used — it
     * refuses (e.g. no system role) or its turns are not regular — the chat
     * uses tpl and says why through on_note. */
    const char *jinja;
    size_t jinja_len;
    /* Stop strings (llama.cpp's -r; borrowed: they must outlive the chat; at
     * most LC_TEXT_MAX_STOPS of 1..LC_TEXT_MAX_STOP_BYTES bytes, text.h): a
     * reply ends where its text contains one, which is kept in it. */
    const char *const *stop;
    int n_stop;
    /* Every turn appended here as it happens, a Markdown section each:
     * "### user\n<message>\n\n" when lc_chat_send is called, then
     * "### assistant\n<reply>\n\n" when it succeeds; flushed each time.
     * Borrowed (it must outlive the chat); NULL: none. */
    FILE *transcript;
} lc_chat_opts;

/* tpl PLAIN, no system prompt, n_predict 256, no callbacks. */
void lc_chat_opts_init(lc_chat_opts *o);

/* ctx, tok and sampler are borrowed and must outlive the chat. Context
 * management follows the context's KV policy:
 *   full              a turn that would not fit drops the oldest whole turns
 *                     (user + reply) after the system prompt and re-evaluates
 *                     what remains (the system prompt is always kept);
 *   shift:KEEP        the runtime shifts (the CLI sets KEEP to the system
 *                     turn's length, lc_chat_render of it, when given 0);
 *   sinks, window, h2o  the cache streams; the conversation never drops turns.
 * The system prompt is evaluated at creation. */
lc_status lc_chat_create(lc_context *ctx, const lc_tokenizer *tok, lc_sampler *sampler, const lc_chat_opts *o,
                         lc_chat **out, lc_error *err);
void lc_chat_free(lc_chat *c);
/* A chat over a model in one call, holding its own context and sampler
 * (lc_chat_free frees them; lc_chat_context gives the context): the context
 * from co (NULL: lc_context_opts_init's) — with the shift policy and KEEP 0,
 * KEEP becomes the system turn's length (lc_chat_system_tokens), so a shift
 * never cuts the system prompt — a sampler from sp (NULL:
 * lc_sampler_params_init's), and the chat over the model's tokenizer. A model
 * without a tokenizer is refused (LC_ERR_INVALID_ARG, saying why the file's
 * was not used when it has one). m is borrowed and must outlive the chat. */
lc_status lc_chat_create_for_model(const lc_model *m, const lc_context_opts *co, const lc_sampler_params *sp,
                                   const lc_chat_opts *o, lc_chat **out, lc_error *err);
/* The tokens of the system turn (turn 0) a chat with these options starts
 * with: BOS and the system block, written by o->jinja when it is usable,
 * else by o->tpl (for shift:KEEP's KEEP before the context exists). */
lc_status lc_chat_system_tokens(const lc_chat_opts *o, const lc_tokenizer *tok, int64_t *n, lc_error *err);

typedef enum {
    LC_CHAT_STOP_END = 0,  /* the model ended its turn (end marker or EOS)  */
    LC_CHAT_STOP_LENGTH,   /* n_predict tokens                              */
    LC_CHAT_STOP_CALLBACK, /* on_text returned false (Ctrl-C)               */
    LC_CHAT_STOP_CONTEXT,  /* the context filled up mid-reply (full policy) */
    LC_CHAT_STOP_STRING    /* one of the options' stop strings (stop_index) */
} lc_chat_stop;

const char *lc_chat_stop_name(lc_chat_stop s);

/* The tokens that end a reply in this chat (its template's end-of-turn
 * markers and EOS; with the model's own template, that template's): at most
 * cap into ids; returns the count. */
int32_t lc_chat_stop_ids(const lc_chat *c, int32_t *ids, int32_t cap);

typedef struct {
    char *text;              /* the reply (owned by the chat; valid until the
                                next send, reset or load); NUL-terminated    */
    size_t len;
    int64_t n_tokens;        /* reply tokens                                  */
    int64_t n_prompt;        /* tokens evaluated before the reply (the turn,
                                and any re-evaluation after dropping turns)  */
    int64_t dropped_turns;   /* turns dropped to make room for this one       */
    int64_t dropped_tokens;
    double t_prompt, t_reply;
    lc_chat_stop stop;
    int stop_index;          /* STRING: which of lc_chat_opts.stop; else -1  */
} lc_chat_reply;

/* Add a user message, generate the reply (streamed to on_text), keep both.
 * Refuses (LC_ERR_TOO_LARGE, nothing changed) a message that cannot fit even
 * with every droppable turn gone (full policy). */
lc_status lc_chat_send(lc_chat *c, const char *msg, size_t len, lc_chat_reply *rep, lc_error *err);
/* Forget every turn but the system prompt. */
lc_status lc_chat_reset(lc_chat *c, lc_error *err);
/* Sessions (runtime.h) holding the conversation: tokens, turns, template,
 * KV cache and the sampler. Loading adopts the session's system prompt and
 * turns; it refuses a session of another template, model or context
 * settings, and then changes nothing. A session saved by `longctx run` loads
 * as one undroppable prefix. */
lc_status lc_chat_save(const lc_chat *c, const char *path, lc_error *err);
lc_status lc_chat_load(lc_chat *c, const char *path, lc_error *err);

typedef struct {
    int64_t n_turns;          /* system prompt not counted                    */
    int64_t n_tokens;         /* tokens of the conversation kept (system too)  */
    int64_t n_system;         /* tokens of the system prompt                   */
    int64_t dropped_turns;    /* since creation or reset                       */
    lc_kv_stats kv;           /* the cache (runtime.h)                         */
    lc_chat_template tpl;
    bool jinja;               /* turns follow the model's Jinja template      */
} lc_chat_stats;

void lc_chat_get_stats(const lc_chat *c, lc_chat_stats *st);
/* Structured replies: every reply from now on follows the GBNF grammar
 * (grammar.h; a reply ends when the grammar is complete and the model ends
 * its turn: the chat's end-of-turn tokens are the grammar's end), with a
 * budget of `steps` parse steps per token (0: no limit). The grammar is
 * attached to the chat's sampler and restarted before each reply; NULL
 * removes it. Refused grammars leave the chat without one. */
lc_status lc_chat_set_grammar(lc_chat *c, const char *gbnf, size_t len, int64_t steps, lc_error *err);
/* The context the chat runs on (the one given to lc_chat_create). */
lc_context *lc_chat_context(const lc_chat *c);

/* A chat's commands, as a front end offers them on lines that start with
 * '/': "/save FILE", "/load FILE", "/reset", "/stats" (turns, tokens, the
 * cache and the template), "/help" (this list), "/quit" or "/exit" (*quit
 * set). What the command has to say — a confirmation, why a save or load was
 * refused, an unknown command — is written to out[cap] (NUL-terminated,
 * lines ending in '\n'; cut when cap is short). Returns LC_OK, or the error
 * of a reset, which leaves the chat to be freed. */
lc_status lc_chat_command(lc_chat *c, const char *line, char *out, size_t cap, bool *quit, lc_error *err);

/* ------------------------------------------------------------------------ */
/* Long documents                                                           */
/* ------------------------------------------------------------------------ */

/* The model behind the document pipeline (a test puts a fake here). */
typedef struct lc_doc_model lc_doc_model;
struct lc_doc_model {
    /* Tokens a text takes (as part of a prompt: no BOS). */
    lc_status (*count)(lc_doc_model *m, const char *text, size_t len, int64_t *n, lc_error *err);
    /* The answer to a prompt as a fresh sequence: at most max_tokens, up to
     * the end of sequence; *out malloc'd and NUL-terminated (free()). */
    lc_status (*generate)(lc_doc_model *m, const char *prompt, size_t len, int64_t max_tokens, char **out,
                          size_t *out_len, lc_error *err);
    void (*destroy)(lc_doc_model *m); /* may be NULL */
    int64_t n_ctx;                    /* tokens one prompt + answer may take    */
    void *impl;
};

/* The real model: ctx, tok and sampler (NULL: greedy) are borrowed. Every
 * prompt starts a fresh sequence (BOS when the vocabulary asks for it). */
lc_status lc_doc_model_from_context(lc_context *ctx, const lc_tokenizer *tok, lc_sampler *sampler, lc_doc_model **out,
                                    lc_error *err);
/* The same over a context and a sampler of its own, made from co (NULL:
 * lc_context_opts_init's) and sp (NULL: greedy) and freed with it; the
 * model's tokenizer (a model without one is refused, LC_ERR_INVALID_ARG). m
 * is borrowed and must outlive it. */
lc_status lc_doc_model_for_model(const lc_model *m, const lc_context_opts *co, const lc_sampler_params *sp,
                                 lc_doc_model **out, lc_error *err);
/* The context under a model of the two calls above (NULL for another model). */
lc_context *lc_doc_model_context(const lc_doc_model *m);
/* Calls destroy and frees a model from lc_doc_model_from_context or lc_doc_model_for_model. */
void lc_doc_model_free(lc_doc_model *m);

typedef enum {
    LC_DOC_SUMMARIZE = 0, /* a summary                                               */
    LC_DOC_CLAUSES,       /* the key clauses: obligations, rights, conditions, dates  */
    LC_DOC_QA,            /* the answer to --question                                 */
    LC_DOC_ENTITIES,      /* people, organisations, places, dates, numbers            */
    LC_DOC_TASK_COUNT
} lc_doc_task;

typedef enum {
    LC_DOC_AUTO = 0,      /* one pass if the document fits, else map-reduce          */
    LC_DOC_SINGLE,        /* one pass; refused when it does not fit                  */
    LC_DOC_MAP_REDUCE,    /* an answer per (overlapping) chunk, then combining passes */
    LC_DOC_REFINE,        /* a running answer carried through the chunks             */
    LC_DOC_HIERARCHICAL,  /* a summary per chunk, then the task over the summaries   */
    LC_DOC_STRATEGY_COUNT
} lc_doc_strategy;

/* "summarize", "clauses", "qa", "entities" / "auto", "single", "map-reduce",
 * "refine", "hierarchical". Parsers accept those names ("summarise", "qa"
 * also as "question"); false if unknown. */
const char *lc_doc_task_name(lc_doc_task t);
bool lc_doc_task_parse(const char *s, lc_doc_task *out);
const char *lc_doc_strategy_name(lc_doc_strategy s);
bool lc_doc_strategy_parse(const char *s, lc_doc_strategy *out);

/* Prompt templates. Placeholders: {instruction} (the task's sentence, with
 * {question} in it replaced), {question}, {text} (a chunk, or the whole
 * document), {part} (the chunk's number, from 1), {answer} (refine: the
 * running answer), {answers} (combine: the partial answers, numbered). NULL
 * fields take the built-in ones. */
typedef struct {
    const char *instruction, *single, *map, *combine, *refine, *summary;
} lc_doc_templates;

/* The built-in templates of a task. */
void lc_doc_templates_builtin(lc_doc_task t, lc_doc_templates *out);
/* A user's template file: sections "## instruction", "## single", "## map",
 * "## combine", "## refine", "## summary" (a file without any section header
 * is the instruction). Missing sections keep what *t holds. The text is
 * copied into *store (free() it after use). */
lc_status lc_doc_templates_parse(const char *text, size_t len, lc_doc_templates *t, char **store, lc_error *err);

/* The document as a stream: fill buf with up to cap bytes; return how many
 * (0 at the end); set *failed (and return 0) on a read error. */
typedef size_t (*lc_doc_read_fn)(void *user, char *buf, size_t cap, bool *failed);

typedef struct {
    int64_t index;            /* 0..                                          */
    int64_t start, end;       /* byte range of the document [start, end)      */
    int64_t n_tokens;         /* the chunk's text                             */
    char *result;             /* the model's answer for it (map, summary, or
                                 the running answer after it for refine)      */
    double seconds;
} lc_doc_chunk;

/* Called after every chunk (and may return false to stop: LC_ERR_CANCELLED). */
typedef bool (*lc_doc_chunk_fn)(void *user, const lc_doc_chunk *c);

typedef struct {
    lc_doc_task task;
    const char *question;        /* QA                                          */
    lc_doc_strategy strategy;
    int64_t n_predict;           /* answer tokens per call (default 256)        */
    int64_t overlap;             /* map-reduce: tokens of whole sentences a
                                    chunk repeats from the one before; < 0:
                                    a tenth of the chunk budget (default)      */
    int64_t chunk_tokens;        /* cap on a chunk's tokens; 0: all the budget  */
    const lc_doc_templates *templates; /* NULL: the task's built-ins            */
    int64_t total_bytes;         /* for progress (0: unknown)                   */
    lc_progress_fn progress;     /* done/total in document bytes                */
    void *progress_user;
    lc_doc_chunk_fn on_chunk;
    void *chunk_user;
} lc_doc_opts;

/* summarize, auto, n_predict 256, overlap -1, built-in templates. */
void lc_doc_opts_init(lc_doc_opts *o);

typedef struct {
    char *answer;                /* the final answer (malloc'd)                 */
    size_t answer_len;
    lc_doc_strategy strategy;    /* what ran (AUTO resolved)                    */
    lc_doc_chunk *chunks;        /* [n_chunks] (results malloc'd)               */
    int64_t n_chunks;
    int64_t n_combines;          /* combining passes (map-reduce, hierarchical) */
    int64_t doc_bytes;
    int64_t chunk_budget;        /* tokens a chunk may take                     */
    int64_t peak_buffer;         /* most document bytes held at once            */
    double seconds;
} lc_doc_result;

/* Read the document from read(user, ...) and run the task over it. Chunks
 * end at paragraph or sentence ends (. ! ? and Chinese 。！？, newlines); a
 * sentence longer than a chunk is cut at a character boundary. Budgets: every
 * prompt, with its answer of n_predict tokens, fits the model's n_ctx. The
 * document is never held whole (unless it fits one prompt): at most a chunk
 * and a read block. */
lc_status lc_doc_run(lc_doc_model *m, lc_doc_read_fn read, void *read_user, const lc_doc_opts *o, lc_doc_result *res,
                     lc_error *err);
void lc_doc_result_free(lc_doc_result *r);

/* A task given as text (the CLI's --task): one of the task names
 * (lc_doc_task_parse) sets o->task; any other text is the instruction itself
 * (o->task SUMMARIZE, tpl->instruction = task, borrowed). Refuses an empty
 * task, and QA without o->question (LC_ERR_INVALID_ARG). */
lc_status lc_doc_task_from_text(const char *task, lc_doc_opts *o, lc_doc_templates *tpl, lc_error *err);
/* A user's template file (at most LC_DOC_TEMPLATE_FILE_MAX bytes) parsed
 * over *t as lc_doc_templates_parse does; *store to free() after use. */
#define LC_DOC_TEMPLATE_FILE_MAX ((size_t)1 << 20)
lc_status lc_doc_templates_load(const char *path, lc_doc_templates *t, char **store, lc_error *err);
/* lc_doc_run over a file read as a stream ("-": standard input); when
 * o->total_bytes is 0 and path is a regular file, progress counts against
 * its size. */
lc_status lc_doc_run_file(lc_doc_model *m, const char *path, const lc_doc_opts *o, lc_doc_result *res, lc_error *err);
/* The result as one JSON object (the CLI's doc --json): file, task (task:
 * as given), question, strategy, n_ctx, n_predict, chunk_budget, bytes,
 * chunks [{index, start, end, tokens, seconds, result}], combines, answer,
 * seconds. */
void lc_doc_result_write_json(lc_json_writer *w, const char *path, const char *task, const lc_doc_opts *o,
                              const lc_doc_result *r, int64_t n_ctx);
/* The result in one line (the CLI's doc summary on stderr, after its "longctx
 * doc: "): "1234 bytes, map-reduce, 3 chunks (budget 400 tokens), 1 combining
 * pass, 2.50 s\n". */
void lc_doc_result_print_summary(FILE *f, const lc_doc_result *r);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_APP_H */

/* Task samples, training-stream rows, the synthetic vocabulary and a BPE
 * training run as text for people (and JSON): what `longctx gen-data`
 * prints (tasks.h). */
#include <stdlib.h>
#include <string.h>

#include "longctx/tasks.h"
#include "longctx/util.h"

static const char role_chars[LC_ROLE_COUNT] = {'B', 'f', 'N', 'Q', 'A', 'E'};

/* Piece text with control bytes escaped. */
static void print_piece(FILE *f, const lc_tokenizer *tok, int32_t id) {
    size_t len = 0;
    const char *p = lc_tokenizer_piece(tok, id, &len);
    for (size_t i = 0; p && i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02X", c);
        else if (c == '\\') fputs("\\\\", f);
        else fputc(c, f);
    }
}

void lc_task_tokens_print(FILE *f, const lc_tokenizer *tok, const int32_t *ids, const uint8_t *roles, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        fprintf(f, "%s%c:", i ? " " : "", roles[i] < LC_ROLE_COUNT ? role_chars[roles[i]] : '?');
        print_piece(f, tok, ids[i]);
    }
    fputc('\n', f);
}

void lc_task_sample_print(FILE *f, const lc_tokenizer *tok, const lc_task_sample *s, uint64_t seed, int64_t target,
                          bool with_tokens) {
    fprintf(f, "# %s  seed %llu  %lld tokens (target %lld): prompt %lld, haystack %lld, answer %lld\n",
            lc_task_kind_name(s->kind), (unsigned long long)seed, (long long)s->n_tokens, (long long)target,
            (long long)s->n_prompt, (long long)s->n_haystack, (long long)(s->n_tokens - s->n_prompt));
    for (int32_t i = 0; i < s->n_needles; i++)
        fprintf(f, "#   needle %d at token %lld (%lld tokens), depth %.3f%s\n", (int)i, (long long)s->needles[i].pos,
                (long long)s->needles[i].len, s->needles[i].depth, s->needles[i].asked ? ", asked" : "");
    fprintf(f, "%s\n", s->prompt);
    if (s->answer_len) fprintf(f, "=> \"%s\"\n", s->answer);
    if (with_tokens) lc_task_tokens_print(f, tok, s->ids, s->roles, s->n_tokens);
    fprintf(f, "\n");
}

void lc_task_sample_json(lc_json_writer *w, const lc_task_sample *s, uint64_t seed) {
    lc_json_begin_object(w);
    lc_json_kv_str(w, "task", lc_task_kind_name(s->kind));
    lc_json_kv_int(w, "seed", (int64_t)seed);
    lc_json_kv_int(w, "n_tokens", s->n_tokens);
    lc_json_kv_int(w, "n_prompt", s->n_prompt);
    lc_json_kv_int(w, "n_haystack", s->n_haystack);
    lc_json_key(w, "prompt");
    lc_json_strn(w, s->prompt, s->prompt_len);
    lc_json_key(w, "answer");
    lc_json_strn(w, s->answer, s->answer_len);
    lc_json_key(w, "needles");
    lc_json_begin_array(w);
    for (int32_t i = 0; i < s->n_needles; i++) {
        lc_json_begin_object(w);
        lc_json_kv_int(w, "pos", s->needles[i].pos);
        lc_json_kv_int(w, "len", s->needles[i].len);
        lc_json_kv_num(w, "depth", s->needles[i].depth);
        lc_json_kv_bool(w, "asked", s->needles[i].asked);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
    lc_json_key(w, "ids");
    lc_json_begin_array(w);
    for (int64_t i = 0; i < s->n_tokens; i++) lc_json_int(w, s->ids[i]);
    lc_json_end_array(w);
    lc_json_key(w, "roles");
    lc_json_begin_array(w);
    for (int64_t i = 0; i < s->n_tokens; i++) lc_json_int(w, s->roles[i]);
    lc_json_end_array(w);
    lc_json_end_object(w);
}

/* One row of the stream: its kind, its tokens by role, its text. */
static void print_row(FILE *f, const lc_task_stream *s, const lc_tokenizer *tok, int64_t row, const int32_t *ids,
                      const uint8_t *roles, int64_t n, bool with_tokens) {
    int64_t counts[LC_ROLE_COUNT] = {0};
    for (int64_t t = 0; t < n; t++) counts[roles[t] % LC_ROLE_COUNT]++;
    fprintf(f, "# row %lld: %s; tokens by role: filler %lld, needle %lld, question %lld, answer %lld, eos %lld\n",
            (long long)row, lc_task_kind_name(lc_task_stream_kind_at(s, row)), (long long)counts[LC_ROLE_FILLER],
            (long long)counts[LC_ROLE_NEEDLE], (long long)counts[LC_ROLE_QUESTION], (long long)counts[LC_ROLE_ANSWER],
            (long long)counts[LC_ROLE_EOS]);
    size_t len = 0;
    lc_error err;
    const lc_status st = lc_tokenizer_decode(tok, ids, n, NULL, 0, &len, &err);
    char *text = (st == LC_OK || st == LC_ERR_TOO_LARGE) ? malloc(len + 1) : NULL;
    if (text && lc_tokenizer_decode(tok, ids, n, text, len + 1, &len, &err) == LC_OK) fprintf(f, "%s\n", text);
    free(text);
    if (with_tokens) lc_task_tokens_print(f, tok, ids, roles, n);
    fprintf(f, "\n");
}

lc_status lc_task_stream_print(FILE *f, const lc_task_stream_config *cfg, const lc_tokenizer *tok, int64_t position,
                               int64_t batch, bool with_tokens, lc_error *err) {
    const int64_t T = cfg->seq_len, B = batch;
    size_t n_tok;
    if (B < 1 || T < 1 || position < 0 || !lc_mul_size((size_t)B, (size_t)T + 1, &n_tok) ||
        n_tok > ((size_t)1 << 32))
        return lc_fail(err, LC_ERR_INVALID_ARG, "batch %lld x %lld tokens is too large", (long long)B,
                            (long long)(T + 1));
    lc_task_stream *s = NULL;
    lc_status st = lc_task_stream_create(cfg, tok, &s, err);
    if (st == LC_OK) st = lc_task_stream_seek(s, position, err);
    int32_t *tokens = st == LC_OK ? malloc(n_tok * sizeof *tokens) : NULL;
    uint8_t *roles = st == LC_OK ? malloc(n_tok) : NULL;
    float *weights = st == LC_OK ? malloc(n_tok * sizeof *weights) : NULL;
    if (st == LC_OK && (!tokens || !roles || !weights))
        st = lc_fail(err, LC_ERR_NOMEM, "out of memory for %lld stream rows", (long long)B);
    if (st == LC_OK) {
        char mixbuf[1024];
        lc_task_mix_format(&cfg->mix, mixbuf, sizeof mixbuf);
        fprintf(f, "# stream %s  T %lld  seed %llu  rows %lld..%lld\n", mixbuf, (long long)T,
                (unsigned long long)cfg->seed, (long long)position, (long long)(position + B - 1));
        st = lc_task_stream_next(s, B, tokens, roles, weights, err);
    }
    for (int64_t b = 0; st == LC_OK && b < B; b++)
        print_row(f, s, tok, position + b, tokens + b * (T + 1), roles + b * (T + 1), T + 1, with_tokens);
    free(tokens);
    free(roles);
    free(weights);
    lc_task_stream_free(s);
    return st;
}

lc_status lc_tasks_vocab_print(FILE *f, lc_error *err) {
    lc_tasks_vocab *v;
    lc_tokenizer_desc d;
    const lc_status st = lc_tasks_vocab_build(&v, &d, err);
    if (st != LC_OK) return st;
    static const char *const types[] = {"undef", "normal", "unknown", "control", "user", "unused", "byte"};
    fprintf(f, "# synthetic tokenizer: %d pieces (SPM, byte fallback, BOS %d, EOS %d, UNK %d, PAD %d)\n",
            (int)d.n_vocab, (int)d.bos_id, (int)d.eos_id, (int)d.unk_id, (int)d.pad_id);
    for (int32_t i = 0; i < d.n_vocab; i++) {
        const int32_t ty = d.types[i];
        fprintf(f, "%d\t%s\t%g\t", (int)i, ty >= 0 && ty <= 6 ? types[ty] : "?", (double)d.scores[i]);
        fwrite(d.pieces[i], 1, d.piece_lens[i], f);
        fputc('\n', f);
    }
    lc_tasks_vocab_free(v);
    return LC_OK;
}

void lc_bpe_train_file_result_print(FILE *f, const char *path, const lc_bpe_train_file_result *r, int32_t asked) {
    const double size = (double)r->bytes;
    fprintf(f, "trained on %s: %lld bytes, pre-tokenizer %s\n", path, (long long)r->bytes, r->pre);
    fprintf(f, "vocabulary %d tokens (256 bytes + %lld merges + <|endoftext|>), asked %d\n", (int)r->n_vocab,
            (long long)r->n_merges, (int)asked);
    fprintf(f, "training %.3f s (%.1f MB/s)\n", r->train_s, r->train_s > 0 ? size / r->train_s / 1e6 : 0.0);
    fprintf(f, "corpus: %lld tokens, %.2f bytes/token\n", (long long)r->corpus_tokens,
            r->corpus_tokens ? size / (double)r->corpus_tokens : 0.0);
    fprintf(f, "re-encoding the corpus: %.3f s, %s the trainer's segmentation\n", r->encode_s,
            r->identical ? "identical to" : "DIFFERS from");
}

lc_status lc_bpe_train_file_run(const char *path, const lc_bpe_train_params *p, const char *out, FILE *f,
                                lc_error *err) {
    lc_bpe_train_file_result r;
    lc_status st = lc_bpe_train_file(path, p, &r, err);
    if (st != LC_OK) return st;
    lc_bpe_train_file_result_print(f, path, &r, p->vocab_size);
    if (!r.identical)
        st = lc_fail(err, LC_ERR_INTERNAL, "re-encoding %s with the trained tokenizer differs from the trainer's "
                     "segmentation", path);
    if (st == LC_OK && out) st = lc_tokenizer_write_vocab_gguf(r.tokenizer, out, "longctx byte-level BPE", err);
    if (st == LC_OK && out) fprintf(f, "wrote %s\n", out);
    lc_tokenizer_free(r.tokenizer);
    return st;
}

lc_status lc_task_samples_print(FILE *f, const lc_task_spec *spec, const lc_tokenizer *tok, uint64_t seed,
                                int64_t count, bool json, bool with_tokens, lc_error *err) {
    for (int64_t i = 0; i < count; i++) {
        lc_task_sample s;
        const uint64_t si = seed + (uint64_t)i;
        const lc_status st = lc_task_generate(spec, tok, si, &s, err);
        if (st != LC_OK) return st;
        if (json) {
            lc_json_writer w;
            lc_json_init(&w, f, false);
            lc_task_sample_json(&w, &s, si);
            lc_json_finish(&w);
        } else {
            lc_task_sample_print(f, tok, &s, si, spec->n_tokens, with_tokens);
        }
        lc_task_sample_free(&s);
    }
    return LC_OK;
}

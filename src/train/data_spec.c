/* Training data from a spec (train.h, lc_train_data_from_spec): what
 * `longctx train --data` means, for every user of the library. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "longctx/gguf.h"
#include "longctx/sys.h"
#include "longctx/train.h"

#define TEXT_MAX ((uint64_t)1 << 30)
#define EVAL_SEED 0x5eedu

void lc_train_data_spec_init(lc_train_data_spec *s) {
    memset(s, 0, sizeof *s);
    s->toy_vocab = 32;
    s->ctx = 256;
    s->seed = 1337;
    s->answer_weight = s->filler_weight = s->eos_weight = NAN;
}

void lc_train_data_set_free(lc_train_data_set *d) {
    if (!d) return;
    lc_train_data_free(d->train);
    lc_train_data_free(d->eval);
    lc_tokenizer_free(d->tok);
    memset(d, 0, sizeof *d);
}

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The whole file, NUL-terminated; refused before allocating when it is more
 * than TEXT_MAX or an eighth of the memory available. */
static lc_status read_text(const char *path, char **out, size_t *len, lc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(err, LC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    lc_status st = LC_OK;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0) st = lc_fail(err, LC_ERR_IO, "cannot size %s", path);
    const size_t avail = lc_mem_available_bytes();
    if (st == LC_OK && ((uint64_t)sb.st_size > TEXT_MAX || (avail && (uint64_t)sb.st_size > avail / 8)))
        st = lc_fail(err, LC_ERR_TOO_LARGE, "%s: %lld bytes is more text than fits in memory for training", path,
                     (long long)sb.st_size);
    char *buf = st == LC_OK ? (char *)malloc((size_t)sb.st_size + 1) : NULL;
    if (st == LC_OK && !buf) st = lc_fail(err, LC_ERR_NOMEM, "out of memory reading %s", path);
    if (st == LC_OK && fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
        st = lc_fail(err, LC_ERR_IO, "reading %s failed", path);
    fclose(f);
    if (st != LC_OK) {
        free(buf);
        return st;
    }
    buf[sb.st_size] = '\0';
    *out = buf;
    *len = (size_t)sb.st_size;
    return LC_OK;
}

/* The tokenizer named by spec (not bpe:N, which needs the text). */
static lc_status named_tokenizer(const char *spec, lc_tokenizer **out, lc_error *err) {
    if (!spec || strcmp(spec, "synthetic") == 0) return lc_tasks_tokenizer_create(out, err);
    lc_gguf *g = NULL;
    lc_status st = lc_gguf_open(spec, &g, err);
    if (st == LC_OK) st = lc_tokenizer_from_gguf(g, out, err);
    lc_gguf_close(g);
    return st;
}

static bool is_bpe(const char *tokenizer) { return tokenizer && strncmp(tokenizer, "bpe:", 4) == 0; }

/* bpe:N: a byte-level BPE trained on the text; the text's ids as the trainer segmented it. */
static lc_status bpe_on_text(const char *spec, const char *text, size_t len, lc_train_data_set *d, int32_t **ids,
                             int64_t *n, lc_error *err) {
    char *end = NULL;
    errno = 0;
    const long vs = strtol(spec + 4, &end, 10);
    if (errno || end == spec + 4 || *end || vs < 257 || vs > INT32_MAX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer bpe:N needs N >= 257, got '%s'", spec);
    lc_bpe_train_params bp;
    lc_bpe_train_params_init(&bp, (int32_t)vs);
    bp.keep_corpus_ids = true;
    lc_bpe_model *bpe = NULL;
    lc_status st = lc_bpe_train(text, len, &bp, &bpe, err);
    lc_tokenizer_desc desc;
    if (st == LC_OK) {
        lc_bpe_model_desc(bpe, &desc);
        st = lc_tokenizer_create(&desc, &d->tok, err);
    }
    const int32_t *cids = st == LC_OK ? lc_bpe_model_corpus_ids(bpe, n) : NULL;
    if (cids && !(*ids = (int32_t *)malloc((size_t)(*n ? *n : 1) * sizeof(int32_t))))
        st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
    else if (cids) memcpy(*ids, cids, (size_t)*n * sizeof(int32_t));
    lc_bpe_model_free(bpe);
    return st;
}

/* The text encoded with the named tokenizer (or the model's). */
static lc_status encode_text(const lc_train_data_spec *s, const char *text, size_t len, lc_train_data_set *d,
                             int32_t **ids, int64_t *n, lc_error *err) {
    lc_status st = LC_OK;
    if (!s->model_tok || s->tokenizer) st = named_tokenizer(s->tokenizer, &d->tok, err);
    const lc_tokenizer *tk = d->tok ? d->tok : s->model_tok;
    if (st == LC_OK) st = lc_tokenizer_encode(tk, text, len, false, NULL, 0, n, err);
    if (st == LC_ERR_TOO_LARGE) st = LC_OK; /* the sizing call */
    if (st != LC_OK) return st;
    if (!(*ids = (int32_t *)malloc((size_t)(*n ? *n : 1) * sizeof(int32_t))))
        return lc_fail(err, LC_ERR_NOMEM, "out of memory tokenizing %s", s->data);
    return lc_tokenizer_encode(tk, text, len, false, *ids, *n, n, err);
}

static lc_status from_text(const lc_train_data_spec *s, lc_train_data_set *d, lc_error *err) {
    char *text = NULL;
    size_t len = 0;
    int32_t *ids = NULL;
    int64_t n = 0;
    lc_status st = read_text(s->data, &text, &len, err);
    if (st == LC_OK && is_bpe(s->tokenizer)) st = bpe_on_text(s->tokenizer, text, len, d, &ids, &n, err);
    else if (st == LC_OK) st = encode_text(s, text, len, d, &ids, &n, err);
    if (st == LC_OK) {
        d->vocab = lc_tokenizer_n_vocab(d->tok ? d->tok : s->model_tok);
        int64_t n_train = n, n_eval = 0;
        if (s->eval && n / 10 >= s->ctx + 1) n_eval = n / 10, n_train = n - n_eval;
        st = lc_train_data_tokens(ids, n_train, s->seed, &d->train, err);
        if (st == LC_OK && s->eval)
            st = lc_train_data_tokens(n_eval ? ids + n_train : ids, n_eval ? n_eval : n, s->seed ^ EVAL_SEED, &d->eval,
                                      err);
        snprintf(d->desc, sizeof d->desc, "%s: %lld tokens (%lld held out), vocabulary %d", s->data,
                 (long long)n_train, (long long)n_eval, d->vocab);
    }
    free(text);
    free(ids);
    return st;
}

static lc_status from_tasks(const lc_train_data_spec *s, lc_train_data_set *d, lc_error *err) {
    lc_task_stream_config sc;
    lc_task_stream_config_init(&sc);
    lc_status st = lc_task_mix_parse(s->data, &sc.mix, err);
    if (st != LC_OK && (strchr(s->data, '/') || strchr(s->data, '.')) && !strchr(s->data, ':'))
        return lc_fail(err, LC_ERR_IO, "data %s: no such file (and not a task mixture such as passkey:0.5,filler:0.5)",
                       s->data);
    if (st != LC_OK) return st;
    if (is_bpe(s->tokenizer))
        return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer bpe:N trains on a text file; task data uses synthetic "
                       "or a GGUF vocabulary");
    if ((!s->model_tok || s->tokenizer) && (st = named_tokenizer(s->tokenizer, &d->tok, err)) != LC_OK) return st;
    const lc_tokenizer *tk = d->tok ? d->tok : s->model_tok;
    sc.seq_len = s->ctx;
    sc.seed = s->seed;
    if (!isnan(s->answer_weight)) sc.role_weight[LC_ROLE_ANSWER] = s->answer_weight;
    if (!isnan(s->filler_weight)) sc.role_weight[LC_ROLE_FILLER] = s->filler_weight;
    if (!isnan(s->eos_weight)) sc.role_weight[LC_ROLE_EOS] = s->eos_weight;
    d->vocab = lc_tokenizer_n_vocab(tk);
    st = lc_train_data_tasks_jitter(&sc, tk, s->len_jitter, &d->train, err);
    if (st == LC_OK && s->eval) {
        sc.seed = s->seed ^ EVAL_SEED;
        st = lc_train_data_tasks_jitter(&sc, tk, s->len_jitter, &d->eval, err);
    }
    const int at = snprintf(d->desc, sizeof d->desc, "tasks %s, vocabulary %d", s->data, d->vocab);
    if (s->len_jitter && at > 0 && (size_t)at < sizeof d->desc)
        snprintf(d->desc + at, sizeof d->desc - (size_t)at, ", rows end 0..%lld tokens early",
                 (long long)s->len_jitter);
    return st;
}

static lc_status from_toy(const lc_train_data_spec *s, lc_train_data_set *d, lc_error *err) {
    const char *task = s->data + 4;
    d->vocab = s->toy_vocab;
    lc_status st = lc_train_data_toy(task, d->vocab, s->seed, &d->train, err);
    if (st == LC_OK && s->eval) st = lc_train_data_toy(task, d->vocab, s->seed ^ EVAL_SEED, &d->eval, err);
    snprintf(d->desc, sizeof d->desc, "toy task %s, vocabulary %d", task, d->vocab);
    return st;
}

lc_status lc_train_data_from_spec(const lc_train_data_spec *s, lc_train_data_set *out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "train data: NULL output");
    memset(out, 0, sizeof *out);
    if (!s || !s->data || !*s->data) return lc_fail(err, LC_ERR_INVALID_ARG, "train data: no data spec");
    if (s->ctx < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "train data: T = %lld tokens", (long long)s->ctx);
    lc_status st;
    if (strncmp(s->data, "toy:", 4) == 0) st = from_toy(s, out, err);
    else if (is_file(s->data)) st = from_text(s, out, err);
    else st = from_tasks(s, out, err);
    if (st != LC_OK) lc_train_data_set_free(out);
    return st;
}

/*
 * A chat's turn format from the model's own Jinja chat template
 * (tokenizer.chat_template), rendered with the interpreter of
 * include/longctx/jinja.h over probe conversations whose texts are unique
 * markers:
 *
 *   R1 = render([S?, U1], add_generation_prompt)          = pre + U1 + trailer
 *   R2 = render([S?, U1, A1, U2], add_generation_prompt)  = pre + U1 + … + A1 + gap + U2 + trailer
 *
 * The generation trailer (user_post: what follows a user message up to the
 * reply) must be the same in both; the text between a reply and the next
 * user message (gap) is split into the reply's end (asst_post) and the user
 * header (user_pre: the longest tail gap shares with pre, starting at a
 * marker '<' or '['); what precedes the first user header is turn 0 (the
 * system block around S, or the template's own preamble without one: BOS, a
 * default system prompt, Llama 3.1's dates …). A third render with three
 * exchanges must agree with the table, else the template is not regular
 * enough for turn-by-turn chat (Mistral-Nemo writes the system prompt into
 * the last user message, Gemma-2 refuses a system role) and the caller falls
 * back to its built-in template.
 *
 * Text between the probe's markers is what the template writes; user and
 * reply texts go in as they are (a template that trims them, as Llama 3.1
 * and Gemma do, would drop their edge whitespace; the table keeps it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app_internal.h"
#include "longctx/jinja.h"

#define P_SYS "LCPROBESYS7"
#define P_U1 "LCPROBEUSR1"
#define P_A1 "LCPROBEAST1"
#define P_U2 "LCPROBEUSR2"
#define P_A2 "LCPROBEAST2"
#define P_U3 "LCPROBEUSR3"

void lc_chat_tpl_dyn_free(lc_chat_tpl_dyn *d) {
    if (!d) return;
    for (size_t i = 0; i < LC_ARRAY_LEN(d->owned); i++) free(d->owned[i]);
    memset(d, 0, sizeof *d);
}

static char *own(lc_chat_tpl_dyn *d, const char *s, size_t n) {
    for (size_t i = 0; i < LC_ARRAY_LEN(d->owned); i++)
        if (!d->owned[i]) {
            char *c = malloc(n + 1);
            if (!c) return NULL;
            memcpy(c, s, n);
            c[n] = '\0';
            d->owned[i] = c;
            return c;
        }
    return NULL;
}

/* Render messages (role/content pairs; content NULL ends) with the template. */
static lc_status render(const lc_jinja_template *t, const char *const *msgs, const char *bos, const char *eos,
                        char **out, size_t *len, lc_error *err) {
    lc_jinja_value *list = lc_jv_list();
    lc_status st = list ? LC_OK : LC_ERR_NOMEM;
    for (size_t i = 0; st == LC_OK && msgs[i]; i += 2) st = lc_jv_list_push(list, lc_jv_message(msgs[i], msgs[i + 1], strlen(msgs[i + 1])));
    if (st != LC_OK) {
        lc_jv_free(list);
        return lc_fail(err, LC_ERR_NOMEM, "chat template: out of memory");
    }
    lc_jinja_value *ctx = lc_jinja_chat_context(list, true, bos, eos, NULL);
    if (!ctx) return lc_fail(err, LC_ERR_NOMEM, "chat template: out of memory");
    lc_jinja_limits lim;
    lc_jinja_limits_init(&lim);
    lim.max_output = (size_t)1 << 20;
    st = lc_jinja_render(t, ctx, &lim, out, len, err);
    lc_jv_free(ctx);
    return st;
}

static const char *find(const char *s, const char *needle) { return strstr(s, needle); }

static bool ends_with(const char *s, size_t n, const char *suf, size_t m) { return m <= n && memcmp(s + n - m, suf, m) == 0; }

/* Collect the vocabulary's marker tokens (control or user-defined pieces
 * that look like <…> or […]) that the table's strings use. */
static void find_specials(lc_chat_tpl_dyn *d, const lc_tokenizer *tok) {
    if (!tok) return;
    const char *texts[] = {d->def.sys_pre, d->def.sys_post, d->def.user_pre, d->def.user_post, d->def.asst_post,
                           d->def.preamble};
    size_t ns = 0;
    const int32_t nv = lc_tokenizer_n_vocab(tok);
    for (int32_t id = 0; id < nv && ns < LC_CHAT_MAX_SPECIALS; id++) {
        const int32_t ty = lc_tokenizer_type(tok, id);
        if (ty != LC_TOKEN_CONTROL && ty != LC_TOKEN_USER_DEFINED) continue;
        size_t pl = 0;
        const char *p = lc_tokenizer_piece(tok, id, &pl);
        if (!p || pl < 3 || (p[0] != '<' && p[0] != '[') || memchr(p, '\0', pl)) continue;
        bool used = false;
        for (size_t i = 0; i < LC_ARRAY_LEN(texts) && !used; i++) used = texts[i] && strstr(texts[i], p);
        if (!used) continue;
        bool dup = false;
        for (size_t i = 0; i < ns && !dup; i++) dup = strcmp(d->def.specials[i], p) == 0;
        if (dup) continue;
        const char *c = own(d, p, pl);
        if (c) d->def.specials[ns++] = c;
    }
    /* the reply ends with the first marker after it (<|im_end|>, <|eot_id|>,
     * <end_of_turn>, <|end|> …) */
    const char *gap_text[] = {d->def.asst_post, d->def.user_pre};
    for (size_t g = 0; g < 2 && !d->def.end_markers[0]; g++) {
        const char *best = NULL, *best_m = NULL;
        for (size_t i = 0; i < ns; i++) {
            const char *q = gap_text[g] ? strstr(gap_text[g], d->def.specials[i]) : NULL;
            if (q && (!best || q < best || (q == best && strlen(d->def.specials[i]) > strlen(best_m)))) {
                best = q;
                best_m = d->def.specials[i];
            }
        }
        d->def.end_markers[0] = best_m;
    }
}

static lc_status irregular(lc_error *err, const char *why) {
    return lc_fail(err, LC_ERR_UNSUPPORTED, "chat template: %s", why);
}

lc_status lc_chat_tpl_from_jinja(const char *src, size_t len, const lc_tokenizer *tok, const char *bos, const char *eos,
                                 bool with_system, lc_chat_tpl_dyn *out, lc_error *err) {
    memset(out, 0, sizeof *out);
    char *bos_c = NULL, *eos_c = NULL;
    if (tok && !bos && lc_tokenizer_bos(tok) >= 0) {
        size_t n = 0;
        const char *p = lc_tokenizer_piece(tok, lc_tokenizer_bos(tok), &n);
        if (p && (bos_c = malloc(n + 1))) memcpy(bos_c, p, n), bos_c[n] = '\0', bos = bos_c;
    }
    if (tok && !eos && lc_tokenizer_eos(tok) >= 0) {
        size_t n = 0;
        const char *p = lc_tokenizer_piece(tok, lc_tokenizer_eos(tok), &n);
        if (p && (eos_c = malloc(n + 1))) memcpy(eos_c, p, n), eos_c[n] = '\0', eos = eos_c;
    }
    lc_jinja_template *t = NULL;
    char *r1 = NULL, *r2 = NULL, *r3 = NULL;
    size_t l1 = 0, l2 = 0, l3 = 0;
    lc_status st = lc_jinja_compile(src, len, NULL, &t, err);
    const char *m1[] = {"system", P_SYS, "user", P_U1, NULL};
    const char *m2[] = {"system", P_SYS, "user", P_U1, "assistant", P_A1, "user", P_U2, NULL};
    const char *m3[] = {"system", P_SYS, "user", P_U1, "assistant", P_A1, "user", P_U2, "assistant", P_A2, "user", P_U3, NULL};
    const size_t skip = with_system ? 0 : 2;
    if (st == LC_OK) st = render(t, m1 + skip, bos, eos, &r1, &l1, err);
    if (st == LC_OK) st = render(t, m2 + skip, bos, eos, &r2, &l2, err);
    if (st == LC_OK) st = render(t, m3 + skip, bos, eos, &r3, &l3, err);
    lc_jinja_free(t);
    while (st == LC_OK) { /* (one pass; break on failure) */
        /* R1 = pre + U1 + trailer */
        const char *u1 = find(r1, P_U1);
        if (!u1 || memchr(r1, '\0', l1)) {
            st = irregular(err, "the user's message does not appear in the render");
            break;
        }
        const size_t pre_len = (size_t)(u1 - r1);
        const char *trailer = u1 + strlen(P_U1);
        const size_t trailer_len = l1 - pre_len - strlen(P_U1);
        /* R2 = pre + U1 … A1 + gap + U2 + trailer */
        const char *a1 = find(r2, P_A1), *u2 = a1 ? find(a1, P_U2) : NULL;
        if (strncmp(r2, r1, pre_len + strlen(P_U1)) != 0 || !a1 || !u2 ||
            !ends_with(r2, l2, trailer, trailer_len) || (size_t)(r2 + l2 - u2) != strlen(P_U2) + trailer_len) {
            st = irregular(err, "earlier turns change when a turn is added");
            break;
        }
        const char *gap = a1 + strlen(P_A1);
        const size_t gap_len = (size_t)(u2 - gap);
        /* user_pre: the tail gap shares with pre, from a marker on */
        size_t cs = 0;
        while (cs < gap_len && cs < pre_len && gap[gap_len - 1 - cs] == r1[pre_len - 1 - cs]) cs++;
        size_t up = gap_len - cs;
        while (up < gap_len && gap[up] != '<' && gap[up] != '[') up++;
        if (up == gap_len) up = gap_len - cs;
        const size_t user_pre_len = gap_len - up;
        /* turn 0 */
        const size_t t0_len = pre_len - user_pre_len;
        const char *sys = with_system ? find(r1, P_SYS) : NULL;
        if (with_system && (!sys || (size_t)(sys - r1) + strlen(P_SYS) > t0_len)) {
            st = irregular(err, "the system prompt is not written before the first user message");
            break;
        }
        /* check with three exchanges: pre + U1 … A1 + gap + U2 … A2 + gap + U3 + trailer */
        const char *a2 = find(r3, P_A2), *u3 = a2 ? find(a2, P_U3) : NULL, *a1b = find(r3, P_A1);
        const char *u2b = a1b ? find(a1b, P_U2) : NULL;
        if (strncmp(r3, r1, pre_len + strlen(P_U1)) != 0 || !a2 || !u3 || !u2b ||
            (size_t)(u2b - a1b) != strlen(P_A1) + gap_len || memcmp(a1b + strlen(P_A1), gap, gap_len) != 0 ||
            (size_t)(u3 - a2) != strlen(P_A2) + gap_len || memcmp(a2 + strlen(P_A2), gap, gap_len) != 0 ||
            !ends_with(r3, l3, trailer, trailer_len) || (size_t)(r3 + l3 - u3) != strlen(P_U3) + trailer_len) {
            st = irregular(err, "the turns are not written the same way each time");
            break;
        }
        lc_chat_tpl_def *d = &out->def;
        d->name = "jinja";
        d->jinja = true;
        d->fold_system = false;
        d->asst_pre = "";
        d->user_pre = own(out, gap + up, user_pre_len);
        d->user_post = own(out, trailer, trailer_len);
        d->asst_post = own(out, gap, up);
        if (with_system) {
            const size_t a = (size_t)(sys - r1), b = a + strlen(P_SYS);
            d->sys_pre = own(out, r1, a);
            d->sys_post = own(out, r1 + b, t0_len - b);
        } else {
            d->preamble = own(out, r1, t0_len);
        }
        if (!d->user_pre || !d->user_post || !d->asst_post || (with_system ? !d->sys_pre || !d->sys_post : !d->preamble)) {
            st = lc_fail(err, LC_ERR_NOMEM, "chat template: out of memory");
            break;
        }
        const char *t0 = with_system ? d->sys_pre : d->preamble;
        d->bos_in_text = bos && bos[0] && strncmp(t0, bos, strlen(bos)) == 0;
        find_specials(out, tok);
        break;
    }
    free(r1);
    free(r2);
    free(r3);
    free(bos_c);
    free(eos_c);
    if (st != LC_OK) lc_chat_tpl_dyn_free(out);
    return st;
}

/*
 * libFuzzer target: the Jinja interpreter on arbitrary template text,
 * rendered over a fixed conversation (system, user, an assistant turn with a
 * tool call, a tool result, tools, special tokens) under tight limits.
 * Anything may be refused; nothing may crash, leak or run away, and a
 * successful render must be a NUL-terminated string of the length reported.
 *
 *   cmake -S . -B build-fuzz -DLONGCTX_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   ./build-fuzz/fuzz_jinja -max_len=65536 fuzz/corpus/jinja ../shared/templates
 *
 * fuzz/corpus/jinja holds small hand-written templates; .ci/run adds the
 * real chat templates of ../shared/templates as a second seed folder.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/jinja.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lc_jinja_value *msg(const char *role, const char *content) {
    return lc_jv_message(role, content, strlen(content));
}

static lc_jinja_value *conversation(void) {
    lc_jinja_value *msgs = lc_jv_list();
    lc_jv_list_push(msgs, msg("system", "You are helpful."));
    lc_jv_list_push(msgs, msg("user", "Hi \"there\" {{ x }} \xc3\xa9\xf0\x9f\x99\x82"));
    lc_jinja_value *call = lc_jv_dict();
    lc_jinja_value *fn = lc_jv_dict();
    lc_jinja_value *args = lc_jv_dict();
    lc_jv_dict_set(args, "city", lc_jv_str("Paris"));
    lc_jv_dict_set(args, "days", lc_jv_int(2));
    lc_jv_dict_set(fn, "name", lc_jv_str("get_weather"));
    lc_jv_dict_set(fn, "arguments", args);
    lc_jv_dict_set(call, "id", lc_jv_str("call00001"));
    lc_jv_dict_set(call, "type", lc_jv_str("function"));
    lc_jv_dict_set(call, "function", fn);
    lc_jinja_value *calls = lc_jv_list();
    lc_jv_list_push(calls, call);
    lc_jinja_value *asst = msg("assistant", "");
    lc_jv_dict_set(asst, "tool_calls", calls);
    lc_jv_list_push(msgs, asst);
    lc_jinja_value *tool = msg("tool", "{\"temp\": 21.5}");
    lc_jv_dict_set(tool, "tool_call_id", lc_jv_str("call00001"));
    lc_jv_list_push(msgs, tool);
    lc_jv_list_push(msgs, msg("assistant", "<think>\nhm\n</think>\n\nSunny."));
    lc_jv_list_push(msgs, msg("user", "Thanks"));
    lc_jinja_value *tools = lc_jv_list();
    lc_jinja_value *t = lc_jv_dict();
    lc_jinja_value *tf = lc_jv_dict();
    lc_jinja_value *params = lc_jv_dict();
    lc_jinja_value *props = lc_jv_dict();
    lc_jinja_value *city = lc_jv_dict();
    lc_jv_dict_set(city, "type", lc_jv_str("string"));
    lc_jv_dict_set(props, "city", city);
    lc_jv_dict_set(params, "type", lc_jv_str("object"));
    lc_jv_dict_set(params, "properties", props);
    lc_jinja_value *req = lc_jv_list();
    lc_jv_list_push(req, lc_jv_str("city"));
    lc_jv_dict_set(params, "required", req);
    lc_jv_dict_set(tf, "name", lc_jv_str("get_weather"));
    lc_jv_dict_set(tf, "description", lc_jv_str("Weather"));
    lc_jv_dict_set(tf, "parameters", params);
    lc_jv_dict_set(t, "type", lc_jv_str("function"));
    lc_jv_dict_set(t, "function", tf);
    lc_jv_list_push(tools, t);
    lc_jinja_value *ctx = lc_jinja_chat_context(msgs, true, "<s>", "</s>", tools);
    lc_jinja_value *bt = lc_jv_list();
    lc_jv_list_push(bt, lc_jv_str("browser"));
    lc_jv_dict_set(ctx, "builtin_tools", bt);
    lc_jv_dict_set(ctx, "enable_thinking", lc_jv_bool(false));
    return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static lc_jinja_value *ctx;
    if (!ctx) ctx = conversation(); /* built once, read-only while rendering */
    lc_jinja_template *t = NULL;
    lc_error err;
    if (lc_jinja_compile((const char *)data, size, NULL, &t, &err) != LC_OK) return 0;
    lc_jinja_limits lim;
    lc_jinja_limits_init(&lim);
    lim.max_steps = 200000;
    lim.max_output = (size_t)1 << 20;
    lim.max_string = (size_t)1 << 20;
    lim.max_items = 100000;
    lim.max_alloc = (uint64_t)64 << 20;
    lim.now = 1718452800;
    char *out = NULL;
    size_t len = 0;
    if (lc_jinja_render(t, ctx, &lim, &out, &len, &err) == LC_OK) {
        if (!out || out[len] != '\0' || len > lim.max_output) __builtin_trap();
    } else if (out || err.msg[0] == '\0') {
        __builtin_trap();
    }
    free(out);
    lc_jinja_free(t);
    return 0;
}

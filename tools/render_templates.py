#!/usr/bin/env python3
"""Reference renders of the chat templates in ../shared/templates with Python jinja2.

Each template is rendered over a fixed set of conversations exactly as
transformers' apply_chat_template renders it (transformers.utils.chat_template_utils:
an ImmutableSandboxedEnvironment with trim_blocks=True, lstrip_blocks=True, the
loopcontrols extension, a tojson filter that is json.dumps(x, ensure_ascii=False,
indent=indent, separators=separators, sort_keys=sort_keys), and the globals
raise_exception and strftime_now; rendered with messages=, tools=, documents=,
add_generation_prompt= and the tokenizer's special tokens as keyword arguments).
One deviation, for reproducible files: strftime_now formats the fixed time
2024-06-15 12:00:00 instead of now (tests/test_jinja.c renders with the same
time, in UTC).

Writes, under OUT (default tests/data/templates):
  conversations/<conv>.json    the render's keyword arguments, less special tokens
  <template>/special_tokens.json
  <template>/<conv>.txt        the rendered text, or
  <template>/<conv>.err        "<ExceptionType>: <message>" when the template refuses

Run from the repository root (needs jinja2 from PyPI in a venv):
  python3 -m venv /tmp/venv-jinja && /tmp/venv-jinja/bin/pip install jinja2
  /tmp/venv-jinja/bin/python tools/render_templates.py ../shared/templates tests/data/templates
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_NOW = datetime(2024, 6, 15, 12, 0, 0)

# The special tokens of each model's tokenizer (tokenizer_config.json).
SPECIAL_TOKENS = {
    "meta-llama-Llama-3.1-8B-Instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "Qwen-Qwen2.5-7B-Instruct": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "Qwen-Qwen3-0.6B": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "google-gemma-2-2b-it": {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"},
    "microsoft-Phi-3.5-mini-instruct": {"bos_token": "<s>", "eos_token": "<|endoftext|>", "unk_token": "<unk>"},
    "mistralai-Mistral-Nemo-Instruct-2407": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "openai-gpt-oss-120b": {"bos_token": "<|startoftext|>", "eos_token": "<|return|>", "pad_token": "<|endoftext|>"},
}

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name, e.g. \"Paris\""},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
                "days": {"type": "integer", "description": "Forecast days", "default": 1},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["city"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web — résumé 検索",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for"},
                "limit": {"type": "number", "nullable": True, "default": 0.5},
                "safe": {"type": "boolean", "default": True},
                "filters": {"type": "object", "properties": {"site": {"type": "string"}}},
            },
            "required": ["query"],
        },
    },
}
TOOL_CALL = {"id": "call00001", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius", "days": 2}}}

CONVERSATIONS = {
    "system_user_gen": {
        "messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "Hello! How are you?"}],
        "add_generation_prompt": True,
    },
    "user_gen": {
        "messages": [{"role": "user", "content": "What is 2+2?"}],
        "add_generation_prompt": True,
    },
    "multiturn_gen": {
        "messages": [{"role": "system", "content": "Answer briefly."},
                     {"role": "user", "content": "Name a colour."},
                     {"role": "assistant", "content": "Blue."},
                     {"role": "user", "content": "Another one?"}],
        "add_generation_prompt": True,
    },
    "multiturn_nogen": {
        "messages": [{"role": "user", "content": "Hi"},
                     {"role": "assistant", "content": "Hello, how can I help?"},
                     {"role": "user", "content": "Tell me a joke."},
                     {"role": "assistant", "content": "Why did the chicken cross the road? To get to the other side."}],
        "add_generation_prompt": False,
    },
    "special_chars": {
        "messages": [{"role": "system", "content": "  Use \"quotes\", 'apostrophes' and \\backslashes\\.  \n"},
                     {"role": "user", "content": "{{ not a tag }} {% neither %} {# nor this #}\n\tTabbed\r\nline <|im_end|> </s>"},
                     {"role": "assistant", "content": "Braces: {} [] () <> & ; \\n stays literal\n\n"},
                     {"role": "user", "content": "\n  leading and trailing whitespace  \n"}],
        "add_generation_prompt": True,
    },
    "unicode": {
        "messages": [{"role": "system", "content": "Réponds en français, s'il te plaît. Ça va?"},
                     {"role": "user", "content": "你好，世界！🌍 Emoji: 👩‍💻🎉 — “smart quotes” …"},
                     {"role": "assistant", "content": "مرحبا — こんにちは — Привет — 🙂"},
                     {"role": "user", "content": "Ünïcödé ß ﬁ ∑ ∞ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"}],
        "add_generation_prompt": True,
    },
    "empty_content": {
        "messages": [{"role": "system", "content": ""},
                     {"role": "user", "content": ""}],
        "add_generation_prompt": True,
    },
    "tools": {
        "messages": [{"role": "system", "content": "You can call tools."},
                     {"role": "user", "content": "What's the weather in Paris?"},
                     {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]},
                     {"role": "tool", "tool_call_id": "call00001", "name": "get_weather",
                      "content": "{\"temperature\": 21.5, \"condition\": \"sunny\"}"},
                     {"role": "assistant", "content": "It is 21.5 °C and sunny in Paris."},
                     {"role": "user", "content": "Thanks! And tomorrow?"}],
        "tools": [WEATHER, SEARCH],
        "add_generation_prompt": True,
    },
    "tools_in_system": {
        "messages": [{"role": "user", "content": "Find news about Jinja."}],
        "tools": [SEARCH],
        "tools_in_user_message": False,
        "date_string": "01 Jan 2025",
        "add_generation_prompt": True,
    },
    "thinking": {
        "messages": [{"role": "user", "content": "Is 17 prime?"},
                     {"role": "assistant", "content": "<think>\nCheck divisors up to 4.\n</think>\n\nYes, 17 is prime."},
                     {"role": "user", "content": "And 21?"}],
        "add_generation_prompt": True,
        "enable_thinking": False,
    },
    "thinking_last_nogen": {
        "messages": [{"role": "user", "content": "Say hi."},
                     {"role": "assistant", "content": "Hi!", "reasoning_content": "The user wants a greeting.",
                      "thinking": "The user wants a greeting."}],
        "add_generation_prompt": False,
    },
    "builtin_tools": {
        "messages": [{"role": "system", "content": "Be concise."},
                     {"role": "user", "content": "Look it up."}],
        "builtin_tools": ["browser", "python", "code_interpreter"],
        "model_identity": "You are a test model.",
        "reasoning_effort": "high",
        "add_generation_prompt": True,
    },
    "roles_not_alternating": {
        "messages": [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}],
        "add_generation_prompt": True,
    },
}

# The same without the system message (Gemma refuses one).
for _base in ("special_chars", "unicode", "tools"):
    _c = json.loads(json.dumps(CONVERSATIONS[_base]))
    _c["messages"] = [m for m in _c["messages"] if m["role"] != "system"]
    CONVERSATIONS[_base + "_nosys"] = _c


def compile_template(source):
    """transformers' _compile_jinja_template, with strftime_now at FIXED_NOW."""

    class AssistantTracker(Extension):
        # {% generation %} ... {% endgeneration %}: renders its body
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

        def _render(self, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


def render(template, conv, special):
    kwargs = dict(conv)
    messages = kwargs.pop("messages")
    tools = kwargs.pop("tools", None)
    agp = kwargs.pop("add_generation_prompt")
    template_kwargs = {**special, **kwargs}
    return template.render(messages=messages, tools=tools, documents=None, add_generation_prompt=agp,
                           **template_kwargs)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "../shared/templates"
    out = sys.argv[2] if len(sys.argv) > 2 else "tests/data/templates"
    os.makedirs(os.path.join(out, "conversations"), exist_ok=True)
    for name, conv in CONVERSATIONS.items():
        with open(os.path.join(out, "conversations", name + ".json"), "w", encoding="utf-8") as f:
            json.dump(conv, f, ensure_ascii=False, indent=1)
            f.write("\n")
    for fn in sorted(os.listdir(src)):
        if not fn.endswith(".jinja"):
            continue
        name = fn[:-len(".jinja")]
        with open(os.path.join(src, fn), encoding="utf-8") as f:
            template = compile_template(f.read())
        special = SPECIAL_TOKENS.get(name, {})
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "special_tokens.json"), "w", encoding="utf-8") as f:
            json.dump(special, f, ensure_ascii=False, indent=1)
            f.write("\n")
        for conv_name, conv in CONVERSATIONS.items():
            for ext in (".txt", ".err"):
                p = os.path.join(d, conv_name + ext)
                if os.path.exists(p):
                    os.remove(p)
            try:
                text = render(template, conv, special)
                with open(os.path.join(d, conv_name + ".txt"), "w", encoding="utf-8", newline="") as f:
                    f.write(text)
                status = "%d bytes" % len(text.encode("utf-8"))
            except Exception as e:  # the template refused: record why
                with open(os.path.join(d, conv_name + ".err"), "w", encoding="utf-8") as f:
                    f.write("%s: %s\n" % (type(e).__name__, e))
                status = "%s: %s" % (type(e).__name__, str(e)[:60])
            print("%-40s %-22s %s" % (name, conv_name, status))


if __name__ == "__main__":
    main()

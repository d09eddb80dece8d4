"""Review (s47, `mlx_ifp serve` beside `mlx_lm.server` 0.32.2, llama.cpp's server and OpenAI):

- `chat_template_kwargs` in a chat request (both servers take it, e.g. `{"enable_thinking":
  false}` for Qwen3's template) was silently ignored: the prompt and the per-prompt mask were
  the template's default ones. Now it reaches the template and the mask (`generate
  --chat-template-config`'s way); a value that is not an object, or names an argument the
  server sets (`tokenize`), one transformers refuses (`tools: 5`, a 500 once read) or a
  template of the client's own (`chat_template`: llama.cpp's server keeps its own) is a 400
  naming it, as is one on `/v1/completions` (no template is applied there) or for a model
  without a chat template. mlx_lm.server's server-wide
  `--chat-template-args` was missing; a request's arguments override it, as there.
- An unknown path was a 404 "Not Found" of type `not_found`; OpenAI answers "Invalid URL
  (POST /v1/foo)", type `invalid_request_error`.
- Errors about nested values named a bare key (`include_usage`) or the message
  (`messages[0]`) where OpenAI names the path: `stream_options.include_usage`,
  `messages[0].content`, `messages[0].content[0].type`.
- `/v1/models` said `mask_source: "predictor"` where the answers' `mlx_ifp` says
  `predictor(NAME)`, the predictor's folder name.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import json

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import openai
import pytest
import uvicorn
from test_review_s45_hserve4 import free_port
from test_serve import KEEP, Server, post, word_tokenizer
from tiny import finetune_folder, save_folder, tiny_model
from typer.testing import CliRunner

#: a chat template reading an extra argument: ``flag`` adds a token before the turns
FLAGGED = (  # `refuse` makes the template itself refuse (transformers' raise_exception)
    "{% if refuse %}{{ raise_exception('refused') }}{% endif %}"
    "{% if flag %}t9 {% endif %}{% for m in messages %}{{ m['content'] }} {% endfor %}"
)
MESSAGES = [{"role": "user", "content": "t5 t17 t3 t42 t8"}]
CHAT = {"model": "tiny", "messages": MESSAGES, "max_tokens": 3}


def flagged_tokenizer():
    tok = word_tokenizer()
    tok._tokenizer.chat_template = FLAGGED
    return tok


def start(tok=None, **kw):
    registry = Registry(tiny_model("llama"), tok or flagged_tokenizer(), "tiny", keep=KEEP, **kw)
    return Server(create_app(registry, Limits(max_tokens_limit=64, timeout_s=60)))


@pytest.fixture(scope="module")
def server():
    server = start()
    yield server
    server.stop()


def client_of(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)


def ask(server, kwargs=None, path="/v1/chat/completions", body=CHAT):
    """A raw POST with ``chat_template_kwargs`` (left out where None): (status, JSON body)."""
    extra = {} if kwargs is None else {"chat_template_kwargs": kwargs}
    return post(server.url, json.dumps({**body, **extra}).encode(), path)


def reference(n: int, **kw) -> str:
    model, tok = tiny_model("llama"), flagged_tokenizer()
    out = mlx_ifp.stream_generate(model, tok, MESSAGES, n, keep=KEEP, **kw)
    return "".join(r.text for r in out)


def test_chat_template_kwargs_reach_the_template_and_the_mask(server):
    """`extra_body={"chat_template_kwargs": {"flag": true}}` (the openai client's way): the
    prompt had as many tokens as without it (the template never saw it). Now one more, and the
    reply is the library's with `chat_template_config` (its mask reads the turn so formatted)."""
    client, got = client_of(server), {}
    for flag in (False, True):
        r = client.chat.completions.create(
            model="tiny", messages=MESSAGES, max_tokens=3, temperature=0,
            extra_body={"chat_template_kwargs": {"flag": flag}},
        )  # fmt: skip
        got[flag] = r
        assert r.choices[0].message.content == reference(3, chat_template_config={"flag": flag})
    assert got[True].usage.prompt_tokens == got[False].usage.prompt_tokens + 1
    status, plain = ask(server)  # none given: the template's defaults
    assert status == 200 and plain["usage"]["prompt_tokens"] == got[False].usage.prompt_tokens
    status, answer = ask(server, {"flag": True, "max_tokens": 64})  # a template variable
    assert status == 200 and answer["usage"]["prompt_tokens"] == got[True].usage.prompt_tokens


def test_the_server_wide_chat_template_args_and_a_request_overriding_them():
    """`Registry(..., chat_template_args=...)` (`mlx_ifp serve --chat-template-args`, mlx_lm
    .server's flag): no such argument. Every chat request gets them; its own override them."""
    server, base = start(chat_template_args={"flag": True}), start()
    try:
        status, answer = ask(server)
        _, without = ask(base)
        assert status == 200, answer
        assert answer["usage"]["prompt_tokens"] == without["usage"]["prompt_tokens"] + 1
        status, answer = ask(server, {"flag": False})  # the request's own win, as mlx_lm's
        assert status == 200 and answer["usage"] == without["usage"], answer
        prompt = {"model": "tiny", "prompt": "t5 t6 t7", "max_tokens": 2}  # no template here
        (status, answer), (_, want) = (
            ask(s, None, "/v1/completions", prompt) for s in (server, base)
        )
        assert status == 200 and answer["usage"] == want["usage"], answer
        assert answer["choices"][0]["text"] == want["choices"][0]["text"]
    finally:
        server.stop()
        base.stop()


@pytest.mark.parametrize(
    ("kwargs", "path", "code", "words"),
    [
        ("no thinking", "/v1/chat/completions", "invalid_type", "must be an object"),
        ([1], "/v1/chat/completions", "invalid_type", "must be an object"),
        ({"tokenize": True}, "/v1/chat/completions", None, "cannot set tokenize"),
        ({"add_generation_prompt": False}, "/v1/chat/completions", None, "cannot set"),
        ({"flag": True}, "/v1/completions", None, "/v1/chat/completions"),
        ({"tools": 5}, "/v1/chat/completions", None, "refuses them"),  # transformers' TypeError
        ({"chat_template": "{{ 'x' }}"}, "/v1/chat/completions", None, "cannot set chat_template"),
    ],
)
def test_bad_chat_template_kwargs_are_a_400_naming_them(server, kwargs, path, code, words):
    """Each was answered 200, the value unread (read as it came, `tools: 5` was a 500, and a
    client's own template replaced the server's: mlx_lm.server renders it, llama.cpp's not)."""
    body = CHAT if "chat" in path else {"model": "tiny", "prompt": "t5 t6", "max_tokens": 2}
    status, answer = ask(server, kwargs, path, body)
    assert status == 400, answer
    error = answer["error"]
    assert error["param"] == "chat_template_kwargs" and error["code"] == code, error
    assert words in error["message"] and error["type"] == "invalid_request_error", error


def test_chat_template_kwargs_are_refused_for_a_model_without_a_template(server):
    """The template-less tokenizer (turns joined by lines): answered 200, the value unread.
    An empty object and null ask nothing and are taken."""
    bare = start(tok=word_tokenizer())
    try:
        status, answer = ask(bare, {"flag": True})
        assert status == 400 and answer["error"]["param"] == "chat_template_kwargs", answer
        assert "no chat template" in answer["error"]["message"]
        for nothing in ({}, None):
            body = {**CHAT, "chat_template_kwargs": nothing}
            assert post(bare.url, json.dumps(body).encode())[0] == 200
            prompt = {
                "model": "tiny",
                "prompt": "t5",
                "max_tokens": 2,
                "chat_template_kwargs": nothing,
            }
            assert post(server.url, json.dumps(prompt).encode(), "/v1/completions")[0] == 200
    finally:
        bare.stop()


def test_serve_takes_chat_template_args(monkeypatch):
    """`mlx_ifp serve --chat-template-args JSON`: "No such option". A bad value is one line
    (exit 2) before the model loads; a model without a chat template is refused."""
    runner, made = CliRunner(), {}
    monkeypatch.setattr(uvicorn, "run", lambda a, **kw: made.setdefault("app", a))
    toks = [flagged_tokenizer()]
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), toks[0]))
    args = ["serve", "--mask-source", "griffin", "--port", str(free_port()), "--chat-template-args"]
    run = runner.invoke(app, [*args, '{"flag": true}'])
    assert run.exit_code == 0, run.output
    assert made["app"].state.registry.chat_template_args == {"flag": True}
    run = runner.invoke(app, [*args, '{"refuse": true}'])  # (not transformers' own kwargs: they
    # differ by version; the forty-eighth session's CUDA machine took sanitize_control_tokens)
    assert run.exit_code == 2 and "--chat-template-args: the chat template refuses" in run.output
    toks[0] = word_tokenizer()
    run = runner.invoke(app, [*args, '{"flag": true}'])
    assert run.exit_code == 2 and "--chat-template-args" in run.output, run.output
    assert "no chat template" in run.output and "Traceback" not in run.output
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: pytest.fail("loaded"))
    for bad, why in (("{bad", "not JSON"), ("[1]", "JSON object"), ('{"tokenize": 1}', "cannot")):
        run = runner.invoke(app, [*args, bad])
        assert run.exit_code == 2, run.output
        errors = [line for line in run.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "--chat-template-args" in errors[0] and why in errors[0]


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/foo"), ("GET", "/nothing/here")])
def test_an_unknown_path_is_openais_invalid_url(server, method, path):
    """A 404 "Not Found" of type `not_found`."""
    status, answer = post(server.url, b"{}", path, method)
    assert status == 404
    want = {"message": f"Invalid URL ({method} {path})", "type": "invalid_request_error"}
    assert answer == {"error": {**want, "param": None, "code": None}}


def user(content) -> dict:
    return {"messages": [{"role": "user", "content": content}]}


TEXT7 = [{"type": "text", "text": "t5"}, {"type": "text", "text": 7}]


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"stream": True, "stream_options": {"include_usage": 1}}, "stream_options.include_usage"),
        (user(5), "messages[0].content"),
        (user([{"type": "image"}]), "messages[0].content[0].type"),
        (user([{"type": "text"}]), "messages[0].content[0].text"),
        (user(TEXT7), "messages[0].content[1].text"),
    ],
)  # fmt: skip
def test_nested_params_are_named_by_their_path(server, change, param):
    """OpenAI names a nested value by its path; the server named `include_usage`, `messages[0]`."""
    status, answer = post(server.url, json.dumps({**CHAT, **change}).encode())
    assert status == 400 and answer["error"]["param"] == param, answer


def test_models_name_the_predictor_as_the_answers_do(tmp_path):
    """`/v1/models` said `mask_source: "predictor"` where the answer (same server, same model
    id) said `predictor(p)`: the predictor's folder name."""
    model = tiny_model("llama")
    folder = save_folder(model, tmp_path / "model")
    ft = finetune_folder(model, tmp_path / "p", 48, "frozen")
    net, tok = mlx_ifp.load(str(folder), adapter_path=str(ft))
    tasks = {"code": {"task": "t20 t21 t22"}}
    registry = Registry(net, tok, "tiny", keep=48, mask_source="predictor", tasks=tasks)
    server = Server(create_app(registry, Limits(max_tokens_limit=64, timeout_s=60)))
    try:
        client, cards = client_of(server), {}
        for card in client.models.list().model_dump()["data"]:
            cards[card["id"]] = card["mlx_ifp"]["mask_source"]
        for model_id in ("tiny", "tiny:code"):
            r = client.completions.create(model=model_id, prompt="t5 t6 t7", max_tokens=2)
            said = r.model_dump()["mlx_ifp"]["mask_source"]
            assert said == "predictor(p)" and cards[model_id] == said, (cards, said)
            assert client.models.retrieve(model_id).model_dump()["mlx_ifp"]["mask_source"] == said
    finally:
        server.stop()

"""Wire shapes of each provider dialect for the fake provider.

One class per dialect renders a synthetic stream as byte events (preamble, one event
per token, finish) plus the dialect's mid-stream error event; `error_body` renders
the JSON body of a non-200 response. Shapes follow /work/shared/reference/sse-dialects.md
and the recordings in Tests/TokenwireUpstreamTests/Fixtures/.
"""
import json
import time

PROMPT_TOKENS = 8  # fixed: the fake does not tokenize the request


def compact(obj):
    # ensure_ascii=False keeps é/😈 as raw multi-byte UTF-8, which split-utf8 relies on.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sse(data, event=None, eol=b"\n", colon_space=True):
    head = b"event: " + event.encode() + eol if event else b""
    return head + (b"data: " if colon_space else b"data:") + data + eol + eol


class Dialect:
    """Synthetic stream of `tokens` tokens; `length` means the token limit was hit."""

    name = ""

    def __init__(self, model, tokens, length):
        self.model, self.tokens, self.length = model, tokens, length
        self.created = int(time.time())
        self.id = f"fake-{time.time_ns():x}"
        self.text = ""

    def preamble(self):
        return []

    def token(self, k, text):
        raise NotImplementedError

    def finish(self):
        raise NotImplementedError

    def error_events(self):
        raise NotImplementedError


class OpenAIChat(Dialect):
    name = "openai-chat"

    def chunk(self, delta, finish=None):
        return sse(compact({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                              "finish_reason": finish}]}))

    def preamble(self):
        return [self.chunk({"role": "assistant", "content": ""})]

    def token(self, k, text):
        return self.chunk({"content": text})

    def finish(self):
        usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": self.tokens,
                 "total_tokens": PROMPT_TOKENS + self.tokens}
        return [self.chunk({}, "length" if self.length else "stop"),
                sse(compact({"id": self.id, "object": "chat.completion.chunk",
                             "created": self.created, "model": self.model, "choices": [],
                             "usage": usage})),
                b"data: [DONE]\n\n"]

    def error_events(self):
        return [sse(compact({"error": {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error"}}))]


class OpenAIResponses(Dialect):
    name = "openai-responses"

    def __init__(self, *args):
        super().__init__(*args)
        self.sequence = 0
        self.item = f"msg_{self.id}"

    def event(self, kind, **fields):
        body = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return sse(compact(body), event=kind)

    def response(self, status, **extra):
        return {"id": f"resp_{self.id}", "object": "response", "created_at": self.created,
                "status": status, "model": self.model, **extra}

    def preamble(self):
        return [self.event("response.created", response=self.response("in_progress")),
                self.event("response.in_progress", response=self.response("in_progress")),
                self.event("response.output_item.added", output_index=0, item={
                    "id": self.item, "type": "message", "status": "in_progress",
                    "content": [], "role": "assistant"}),
                self.event("response.content_part.added", item_id=self.item, output_index=0,
                           content_index=0, part={"type": "output_text", "annotations": [],
                                                  "text": ""})]

    def token(self, k, text):
        self.text += text
        return self.event("response.output_text.delta", item_id=self.item, output_index=0,
                          content_index=0, delta=text, logprobs=[])

    def finish(self):
        part = {"type": "output_text", "annotations": [], "text": self.text}
        item = {"id": self.item, "type": "message", "status": "completed",
                "content": [part], "role": "assistant"}
        usage = {"input_tokens": PROMPT_TOKENS, "output_tokens": self.tokens,
                 "total_tokens": PROMPT_TOKENS + self.tokens}
        if self.length:
            last = self.event("response.incomplete", response=self.response(
                "incomplete", incomplete_details={"reason": "max_output_tokens"},
                output=[item], usage=usage))
        else:
            last = self.event("response.completed", response=self.response(
                "completed", output=[item], usage=usage))
        return [self.event("response.output_text.done", item_id=self.item, output_index=0,
                           content_index=0, text=self.text, logprobs=[]),
                self.event("response.content_part.done", item_id=self.item, output_index=0,
                           content_index=0, part=part),
                self.event("response.output_item.done", output_index=0, item=item),
                last]

    def error_events(self):
        error = {"type": "server_error", "code": "server_error",
                 "message": "The server had an error while processing your request."}
        return [self.event("error", error=error),
                self.event("response.failed", response=self.response("failed", error=error))]


class Anthropic(Dialect):
    name = "anthropic"

    def event(self, kind, **fields):
        return sse(compact({"type": kind, **fields}), event=kind)

    def preamble(self):
        message = {"id": f"msg_{self.id}", "type": "message", "role": "assistant",
                   "model": self.model, "content": [], "stop_reason": None,
                   "stop_sequence": None,
                   "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": 1}}
        return [self.event("message_start", message=message),
                self.event("content_block_start", index=0,
                           content_block={"type": "text", "text": ""}),
                self.event("ping")]

    def token(self, k, text):
        return self.event("content_block_delta", index=0,
                          delta={"type": "text_delta", "text": text})

    def finish(self):
        return [self.event("content_block_stop", index=0),
                self.event("message_delta",
                           delta={"stop_reason": "max_tokens" if self.length else "end_turn",
                                  "stop_sequence": None},
                           usage={"output_tokens": self.tokens}),
                self.event("message_stop")]

    def error_events(self):
        return [self.event("error", error={"type": "overloaded_error", "message": "Overloaded"})]


class Gemini(Dialect):
    name = "gemini"

    def chunk(self, text, emitted, finish=None):
        candidate = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return sse(compact({
            "candidates": [candidate],
            "usageMetadata": {"promptTokenCount": PROMPT_TOKENS, "candidatesTokenCount": emitted,
                              "totalTokenCount": PROMPT_TOKENS + emitted},
            "modelVersion": self.model, "responseId": self.id}), eol=b"\r\n")

    def token(self, k, text):
        return self.chunk(text, k)

    def finish(self):
        return [self.chunk("", self.tokens, "MAX_TOKENS" if self.length else "STOP")]

    def error_events(self):
        return [sse(compact({"error": {"code": 500, "message": "Internal error encountered.",
                                       "status": "INTERNAL"}}), eol=b"\r\n")]


class Cohere(Dialect):
    name = "cohere"

    def event(self, kind, **fields):
        return sse(compact({"type": kind, **fields}), event=kind)

    def preamble(self):
        return [self.event("message-start", id=self.id, delta={"message": {
                    "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [],
                    "citations": []}}),
                self.event("content-start", index=0,
                           delta={"message": {"content": {"type": "text", "text": ""}}})]

    def token(self, k, text):
        return self.event("content-delta", index=0,
                          delta={"message": {"content": {"text": text}}})

    def usage(self):
        counts = {"input_tokens": PROMPT_TOKENS, "output_tokens": self.tokens}
        return {"billed_units": counts, "tokens": counts}

    def finish(self):
        return [self.event("content-end", index=0),
                self.event("message-end", delta={
                    "finish_reason": "MAX_TOKENS" if self.length else "COMPLETE",
                    "usage": self.usage()})]

    def error_events(self):
        return [self.event("message-end", delta={
            "finish_reason": "ERROR", "error": "internal server error", "usage": self.usage()})]


class Ollama(Dialect):
    name = "ollama"

    def line(self, obj):
        return compact(obj) + b"\n"

    def stamp(self):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def token(self, k, text):
        return self.line({"model": self.model, "created_at": self.stamp(),
                          "message": {"role": "assistant", "content": text}, "done": False})

    def finish(self):
        return [self.line({"model": self.model, "created_at": self.stamp(),
                           "message": {"role": "assistant", "content": ""}, "done": True,
                           "done_reason": "length" if self.length else "stop",
                           "total_duration": 0, "load_duration": 0,
                           "prompt_eval_count": PROMPT_TOKENS, "prompt_eval_duration": 0,
                           "eval_count": self.tokens, "eval_duration": 0})]

    def error_events(self):
        return [self.line({"error": "an error was encountered while running the model"})]


class TGI(Dialect):
    """TGI native /generate_stream: the last token event carries generated_text and details."""

    name = "tgi"

    def token(self, k, text):
        self.text += text
        last = k == self.tokens
        details = {"finish_reason": "length" if self.length else "eos_token",
                   "generated_tokens": self.tokens, "seed": None,
                   "input_length": PROMPT_TOKENS} if last else None
        return sse(compact({"index": k, "token": {"id": k, "text": text, "logprob": -0.1,
                                                  "special": False},
                            "generated_text": self.text if last else None,
                            "details": details}), colon_space=False)

    def finish(self):
        return []

    def error_events(self):
        return [sse(compact({"error": "Request failed during generation: internal error",
                             "error_type": "generation"}), colon_space=False)]


DIALECTS = {cls.name: cls for cls in
            (OpenAIChat, OpenAIResponses, Anthropic, Gemini, Cohere, Ollama, TGI)}

# status -> (OpenAI/Anthropic error type, Gemini status)
ERROR_TYPES = {
    400: ("invalid_request_error", "INVALID_ARGUMENT"),
    401: ("authentication_error", "UNAUTHENTICATED"),
    403: ("permission_error", "PERMISSION_DENIED"),
    404: ("not_found_error", "NOT_FOUND"),
    429: ("rate_limit_error", "RESOURCE_EXHAUSTED"),
    500: ("api_error", "INTERNAL"),
    503: ("api_error", "UNAVAILABLE"),
    529: ("overloaded_error", "UNAVAILABLE"),
}


def error_body(dialect, status):
    """The JSON body a provider of `dialect` sends with a non-200 `status`."""
    kind, google_status = ERROR_TYPES.get(status, ("api_error", "UNKNOWN"))
    message = f"fake provider: injected HTTP {status} ({kind})"
    if dialect == "anthropic":
        return compact({"type": "error", "error": {"type": kind, "message": message}})
    if dialect == "gemini":
        return compact({"error": {"code": status, "message": message, "status": google_status}})
    if dialect == "cohere":
        return compact({"id": "fake", "message": message})
    if dialect == "ollama":
        return compact({"error": message})
    if dialect == "tgi":
        return compact({"error": message,
                        "error_type": "overloaded" if status == 429 else "generation"})
    if status == 500:
        kind = "server_error"
    return compact({"error": {"message": message, "type": kind, "param": None,
                              "code": None}})

"""Moving chats into Emmaus: the domain side of `emmaus migrate`.

- `source`: what every format is read into (`SourceChat`, a tree of `SourceMessage`s).
- `record`: the export record (one `GET /ai/v1/chat` body a line) and its schema.
- `readers`: one module per source format (v1, ChatGPT, Open WebUI, Assistants).
- `validation`: the problems of a file, by chat.
- `target`, `store` (Emmaus' store), `sdk` (emmaus-client's tables): idempotent importers.
- `verify`: a file against what was stored.
- `export`, `retry`, `checkpoint`, `chat_ids`: pulling chats from a v1 endpoint, resumably.
"""

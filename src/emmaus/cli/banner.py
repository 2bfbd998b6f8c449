"""What `emmaus serve` prints on its first start: the new client's credentials as `export`
lines ready to paste, and the commands to try it. The token one-liner is the one the README and
docs/auth.md show: on a refused request it prints the server's error and fails (exit 1) rather
than leaving an empty $TOKEN behind a Python KeyError."""

from __future__ import annotations

import shlex

# Reads the token endpoint's answer: the token, or the server's error on stderr and exit 1.
READ_TOKEN = (
    'python3 -c \'import json, sys; r = json.loads(sys.stdin.read() or "{}"); '
    'sys.exit("token refused: " + json.dumps(r or "no answer from the server")) '
    'if "access_token" not in r else print(r["access_token"])\''
)


def base_url(host: str, port: int) -> str:
    """The address to call a server listening on `host`:`port` (loopback for a wildcard)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def token_command(base: str = "$BASE") -> str:
    """The shell line that puts a bearer token in $TOKEN from $CLIENT_ID and $CLIENT_SECRET."""
    return (
        f'TOKEN=$(curl -sS -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials '
        f"{base}/oauth2/token | {READ_TOKEN})"
    )


def try_command(base: str = "$BASE") -> str:
    return (
        f'curl -s {base}/ai/v2/chat/completions -H "Authorization: Bearer $TOKEN" '
        '-H \'Content-Type: application/json\' -d \'{"messages": [{"role": "user", '
        '"content": "What is grace?"}], "auto_routing": true, "max_tokens": 128}\''
    )


def export_line(client_id: str, secret: str) -> str:
    return f"export CLIENT_ID={shlex.quote(client_id)} CLIENT_SECRET={shlex.quote(secret)}"


def first_client_banner(client_id: str, secret: str, base: str) -> str:
    """The whole banner, plain text: the credentials, the line to paste, and a first call."""
    return (
        "Created your first API client (the secret is shown only now):\n"
        f"  client id:     {client_id}\n"
        f"  client secret: {secret}\n\n"
        f"{export_line(client_id, secret)}\n\n"
        "Paste that line into the terminal you will call Emmaus from, then try it:\n\n"
        f"BASE={base}\n{token_command()}\n{try_command()}\n"
    )

"""``anima token``: create, list and revoke the gateway's API tokens.

config.json keeps only a token's SHA-256 digest (``api.tokens``); the token itself is printed once,
by ``create``, and never again. A running system takes the change at once (the gateway follows
the config through its CONFIG bucket, :mod:`animas_tools.config_sync`), so a token
works, or stops working, from the next request on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from animas_core.api_config import API_SCOPES, ApiScope, new_token, token_digest
from animas_core.config import ConfigError, load_config
from animas_tools.cli_support import fail, home_of, read_config_json, write_config_json

token_app = typer.Typer(
    help="API tokens for the gateway (required from other machines; see config.json's api section).",
    no_args_is_help=True,
)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="AnimaWorks home (default: $ANIMAWORKS_HOME or ~/.animaworks)")
]
NameArgument = Annotated[str, typer.Argument(help="The token's name: the author of edits made with it")]


def _scope(value: str) -> str:
    if value not in API_SCOPES:
        raise typer.BadParameter(f"choose one of {', '.join(API_SCOPES)}")
    return value


def _tokens(data: dict[str, Any]) -> dict[str, Any]:
    api = data.setdefault("api", {})
    if not isinstance(api, dict):
        raise fail("config.json's api section is not an object")
    tokens = api.setdefault("tokens", {})
    if not isinstance(tokens, dict):
        raise fail("config.json's api.tokens is not an object")
    return tokens


@token_app.command()
def create(
    name: NameArgument,
    scope: Annotated[
        str, typer.Option(help="chat: chat and streamed chat only; admin: everything", callback=_scope)
    ],
    home: HomeOption = None,
) -> None:
    """Create a token and print it once (only its digest is kept)."""
    where = home_of(home)
    path = where.config_file
    data = read_config_json(path)
    tokens = _tokens(data)
    if name in tokens:
        raise fail(f"a token named {name!r} exists; `anima token revoke {name}` first to replace it")
    token = new_token()
    checked_scope: ApiScope = "admin" if scope == "admin" else "chat"
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    tokens[name] = {"scope": checked_scope, "sha256": token_digest(token), "created_at": created_at}
    write_config_json(path, data, home=where)
    typer.echo(token)
    typer.echo(
        f"created token {name!r} (scope {checked_scope}); it is shown only now. Send it as "
        "'Authorization: Bearer <token>'.",
        err=True,
    )


@token_app.command("list")
def list_(home: HomeOption = None) -> None:
    """Show each token's name, scope and creation time (never the token: it is not kept)."""
    try:
        config = load_config(home_of(home).config_file)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if not config.api.tokens:
        typer.echo("no API tokens (`anima token create NAME --scope chat|admin`)")
        return
    for name, token in sorted(config.api.tokens.items()):
        typer.echo(f"{name:<24} {token.scope:<6} created {token.created_at or 'unknown'}")
    if not config.api.require_token_on_loopback:
        typer.echo("requests from this machine need no token (api.require_token_on_loopback is false)")


@token_app.command()
def revoke(name: NameArgument, home: HomeOption = None) -> None:
    """Delete a token: requests that send it get 401 from now on."""
    where = home_of(home)
    path = where.config_file
    data = read_config_json(path)
    tokens = _tokens(data)
    if name not in tokens:
        raise fail(f"no token named {name!r}")
    del tokens[name]
    write_config_json(path, data, home=where)
    typer.echo(f"revoked token {name!r}")

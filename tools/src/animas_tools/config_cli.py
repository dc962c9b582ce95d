"""``anima config``: show, read, change and check config.json (DESIGN §9).

API keys never reach the terminal: every view goes through :func:`animas_core.config.masked_view`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from animas_contracts import InvalidAnimaName, validate_anima_name
from animas_core.config import (
    AnimaWorksConfig,
    ConfigError,
    credential_env_var,
    load_config,
    masked_view,
    resolve_mode,
)
from animas_core.home import Home
from animas_tools.cli_support import fail, home_of, read_config_json, write_config_json
from animas_tools.config_bucket_cli import bucket_view, set_in_bucket

config_app = typer.Typer(
    help="Show, read, change and check the config (config.json, or a system's CONFIG bucket).",
    no_args_is_help=True,
)


def _anima_option(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_anima_name(value)
    except InvalidAnimaName as exc:
        raise typer.BadParameter(str(exc)) from None


HomeOption = Annotated[
    Path | None, typer.Option("--home", help="AnimaWorks home (default: $ANIMAWORKS_HOME or ~/.animaworks)")
]
AnimaOption = Annotated[
    str | None,
    typer.Option("--anima", help="Show this anima's merged settings", callback=_anima_option),
]


NatsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--nats-url",
        help="Use the CONFIG bucket of the system at this NATS URL (as its operator) instead of "
        "config.json: how a cluster's config is read and changed",
    ),
]


def _load(path: Path) -> AnimaWorksConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def _read_status(home: Home, name: str) -> dict[str, Any] | None:
    """The anima's status.json if it has one; read only, never written here.

    Raises:
        ConfigError: The file is not a JSON object.
    """
    path = home.anima_dir(name) / "status.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object")
    return data


def _anima_view(home: Home, config: AnimaWorksConfig, name: str) -> dict[str, Any]:
    """The merged settings of one anima plus ``resolved_mode``, the mode it will run in."""
    try:
        merged = config.anima(name, _read_status(home, name))
        mode = resolve_mode(config, merged.model, merged.execution_mode) if merged.model else None
    except ConfigError as exc:
        raise fail(str(exc)) from None
    # Without a model there is nothing to resolve; an explicit mode is still shown.
    view = merged.model_dump(mode="json")
    view["resolved_mode"] = mode if mode is not None else view["execution_mode"]
    return view


def _key_parts(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not part for part in parts):
        raise typer.BadParameter(f"{key!r} is not a dotted path such as priming.budget_question")
    return parts


def _lookup(data: Any, parts: list[str]) -> Any:
    """The value at ``parts``; list items by index. Raises KeyError naming the missing part."""
    node = data
    for depth, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(".".join(parts[: depth + 1]))
    return node


def _render(value: Any) -> str:
    # Plain strings print bare so scripts can use them; everything else prints as JSON.
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def _view(where: Home, anima: str | None, nats_url: str | None) -> dict[str, Any]:
    """config.json masked, one anima's merged settings, or (with ``nats_url``) a system's bucket."""
    if nats_url is not None:
        if anima is not None:
            raise fail("--anima merges the home's status.json files; it does not go with --nats-url")
        return bucket_view(where, nats_url)
    config = _load(where.config_file)
    return masked_view(config) if anima is None else _anima_view(where, config, anima)


@config_app.command()
def show(anima: AnimaOption = None, home: HomeOption = None, nats_url: NatsUrlOption = None) -> None:
    """Print config.json (or a system's CONFIG bucket) with secrets masked, or one anima's merged settings."""
    view = _view(home_of(home), anima, nats_url)
    typer.echo(json.dumps(view, indent=2, ensure_ascii=False))


@config_app.command()
def get(
    key: Annotated[str, typer.Argument(help="Dotted path, e.g. priming.budget_question")],
    anima: AnimaOption = None,
    home: HomeOption = None,
    nats_url: NatsUrlOption = None,
) -> None:
    """Print one setting; with --anima, a field of that anima's merged settings."""
    parts = _key_parts(key)
    view = _view(home_of(home), anima, nats_url)
    try:
        value = _lookup(view, parts)
    except KeyError as exc:
        hint = ""
        if anima is None and parts[0] == "animas" and len(parts) > 2:
            hint = f" (not overridden in config.json; `--anima {parts[1]}` shows the merged value)"
        raise fail(f"no setting {exc.args[0]!r}{hint}") from None
    typer.echo(_render(value))


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _assign(data: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set ``data[parts...] = value``, creating missing objects on the way."""
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise fail(f"{'.'.join(parts[:depth])} is not an object")
        node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise fail(f"{'.'.join(parts[:-1])} is not an object")


WEBHOOK_SECRET_FIELDS = frozenset({"secrets", "token", "app_token", "callback_secret"})


def _is_secret(parts: list[str], parsed: Any) -> bool:
    """Whether the setting is a secret.

    A credential's key; a webhook source's secrets (the list or one of them, its reply token, app
    token or callback secret), or a whole source or section holding them.
    """
    if len(parts) == 3 and parts[0] == "credentials" and parts[2] == "api_key":
        return True
    secret_part = not WEBHOOK_SECRET_FIELDS.isdisjoint(parts)
    return parts[0] == "webhooks" and (secret_part or isinstance(parsed, dict | list))


# Unknown options pass through as arguments so a negative number is a VALUE, not an option.
@config_app.command("set", context_settings={"ignore_unknown_options": True})
def set_(
    key: Annotated[str, typer.Argument(help="Dotted path, e.g. anima_defaults.model")],
    value: Annotated[str, typer.Argument(help="JSON (2000, true, null, '\"text\"') or plain text")],
    home: HomeOption = None,
    nats_url: NatsUrlOption = None,
) -> None:
    """Change one setting; the whole config is validated before anything is written.

    In config.json (and, while `anima up` runs, in its CONFIG bucket, which every service
    follows); with --nats-url in that system's CONFIG bucket only. Secrets never go to the bucket.
    """
    parts = _key_parts(key)
    parsed = _parse_value(value)
    is_secret = _is_secret(parts, parsed)
    if nats_url is not None:
        if is_secret:
            hint = f" (for this key: {credential_env_var(parts[1])})" if parts[0] == "credentials" else ""
            raise fail(
                "secrets never go into the config bucket: give them to the services in their "
                f"environment or a mounted Secret{hint}; nothing was written"
            )
        set_in_bucket(home_of(home), nats_url, lambda data: _assign(data, parts, parsed))
    else:
        where = home_of(home)
        data = read_config_json(where.config_file)
        _assign(data, parts, parsed)
        write_config_json(where.config_file, data, home=where)
    typer.echo(f"{key} = {'***' if is_secret and parsed is not None else _render(parsed)}")
    if is_secret and parts[0] == "credentials" and parsed is not None:
        typer.echo(
            f"hint: {credential_env_var(parts[1])} in the environment keeps the key off disk", err=True
        )


@config_app.command()
def validate(
    home: HomeOption = None,
    file: Annotated[Path | None, typer.Option("--file", help="Check this file instead")] = None,
) -> None:
    """Check config.json (and, for a home, every anima's status.json merged with it)."""
    where = home_of(home)
    target = file.expanduser() if file is not None else where.config_file
    if file is not None and not target.is_file():
        raise fail(f"{target}: no such file")
    problems: list[str] = []
    try:
        config = load_config(target)
    except ConfigError as exc:
        problems.extend(exc.problems)
        config = None
    if config is not None and file is None and where.animas_dir.is_dir():
        for anima_dir in sorted(where.animas_dir.iterdir()):
            if not (anima_dir / "status.json").is_file():
                continue
            try:
                config.anima(anima_dir.name, _read_status(where, anima_dir.name))
            except ConfigError as exc:
                problems.extend(exc.problems)
            except InvalidAnimaName as exc:
                problems.append(f"{anima_dir}: {exc}")
    if problems:
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"config OK ({target})")

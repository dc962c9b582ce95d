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
    parse_config,
    resolve_mode,
)
from animas_core.config_secrets import MASK, mask_token_digests
from animas_core.home import Home
from animas_tools.cli_support import fail, home_of, read_config_json, write_config_json
from animas_tools.config_bucket_cli import bucket_view, set_in_bucket, with_stand_ins

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


def _carries_secret(masked: Any, given: Any) -> bool:
    """Whether ``given`` holds a real value where ``masked`` (the model's masked view) holds ``"***"``.

    The model decides what a secret is (every ``Secret`` field, and each API token's digest), so a
    secret inside any object or list given, at any depth, is found; ``"***"`` and null are not secrets.
    """
    if masked == MASK:
        return given is not None and given != MASK
    if isinstance(masked, dict) and isinstance(given, dict):
        return any(_carries_secret(value, given.get(key)) for key, value in masked.items())
    if isinstance(masked, list) and isinstance(given, list):
        return any(_carries_secret(value, item) for value, item in zip(masked, given, strict=False))
    return False


def _secret_view(config: AnimaWorksConfig) -> dict[str, Any]:
    """``config`` as JSON with every secret ``"***"``: credential keys, webhook secrets, token digests."""
    return mask_token_digests(masked_view(config))


def _refuse_secrets(data: dict[str, Any]) -> None:
    """Fail unless ``data`` (the bucket's document after the change) carries no secret.

    The bucket's document holds ``"***"`` for every secret, so any real one in it came with the change.
    """
    try:
        config = parse_config(with_stand_ins(data))
    except ConfigError:
        return  # set_in_bucket refuses it and says why
    view = _secret_view(config)
    if _carries_secret(view, data):
        given = data.get("credentials")
        held = view.get("credentials") or {}
        names = [
            n for n in sorted(held) if isinstance(given, dict) and _carries_secret(held[n], given.get(n))
        ]
        hint = f" (for this key: {', '.join(credential_env_var(n) for n in names)})" if names else ""
        raise fail(
            "secrets never go into the config bucket: give them to the services in their "
            f"environment or a mounted Secret{hint}; nothing was written"
        )


def _echo_value(config: AnimaWorksConfig, parts: list[str], parsed: Any) -> tuple[str, bool]:
    """What ``set`` prints for the value (masked as ``config show`` would) and whether it held a secret."""
    view = _secret_view(config)
    try:
        shown = _lookup(view, parts)
    except KeyError:
        # Not where the model keeps it (removed by null): print only what cannot be a secret.
        return ("null", False) if parsed is None else ("***", True)
    return _render(shown), _carries_secret(shown, parsed)


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
    if nats_url is not None:

        def change(data: dict[str, Any]) -> None:
            _assign(data, parts, parsed)
            _refuse_secrets(data)

        config = set_in_bucket(home_of(home), nats_url, change)
    else:
        where = home_of(home)
        data = read_config_json(where.config_file)
        _assign(data, parts, parsed)
        config = write_config_json(where.config_file, data, home=where)
    shown, is_secret = _echo_value(config, parts, parsed)
    typer.echo(f"{key} = {shown}")
    if is_secret and parts[0] == "credentials" and len(parts) > 1:
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

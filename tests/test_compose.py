"""docker-compose.yml, the Dockerfile, .dockerignore and docker/mosquitto.conf, checked without Docker.

Whether Compose can read docker-compose.yml at all is the Compose Specification's question: its published JSON
Schema (as the maintained check-jsonschema package ships it, unchanged from compose-spec/compose-spec) checked with
jsonschema. Every other check
is a promise of Yiwang's own: each container runs a `yiwang` subcommand that exists, its YIWANG_* environment is
valid Settings that reach this file's database and broker with this file's credentials, the services start in the
order the data needs, the broker is configured as `yiwang stack` configures its own, and the image holds what
`pip install .` installs.

Each check returns what is wrong (an empty list when nothing is). The real files must give no problems, and the
`test_*_catches` tests break each promise on a copy to show that its check notices.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib.resources
import json
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pathspec
import pytest
import yaml
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from psycopg.conninfo import conninfo_to_dict
from pydantic import ValidationError

from yiwang.cli import parser
from yiwang.settings import Settings
from yiwang.stack import Mosquitto

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
# The Compose Specification's schema/compose-spec.json, which check-jsonschema (a dev extra) vendors byte for byte.
COMPOSE_SCHEMA = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"

PREFIX = "YIWANG_"
MOSQUITTO_CONF_TARGET = "/mosquitto/config/mosquitto.conf"
TIMESCALEDB_IMAGE = "timescale/timescaledb"
PYTHON_BASE = "python:3.11-slim"
# The database's passwords, which have no default: Compose refuses to start until .env sets each.
DB_SECRETS = (
    "POSTGRES_PASSWORD",
    "DB_OWNER_PASSWORD",
    "DB_API_PASSWORD",
    "DB_COLLECTOR_PASSWORD",
    "DB_SUPERVISOR_PASSWORD",
    "DB_GATEWAY_PASSWORD",
    "DB_NOTIFIER_PASSWORD",
    "DB_WORKER_PASSWORD",
)
# The process each database setting serves, and the subcommand that runs it.
DB_SERVICES = {
    "api": ("api",),
    "collector": ("collect",),
    "supervisor": ("supervise",),
    "gateway": ("gateway", "jt808"),
    "notifier": ("notify",),
    "worker": ("worker",),
}
# What the header of docker-compose.yml tells people to set in .env.
SECRETS = (
    *DB_SECRETS,
    "MQTT_COLLECTOR_PASSWORD",
    "MQTT_SUPERVISOR_PASSWORD",
    "MQTT_GATEWAY_PASSWORD",
    "MQTT_SIMULATOR_PASSWORD",
    "MQTT_OBSERVER_PASSWORD",
    "YIWANG_API_TOKEN_SECRET",
    "YIWANG_SECRET_KEY",
    "DB_EMQX_PASSWORD",
    "EMQX_NODE_COOKIE",
)

# A .env that sets every secret (compose refuses to start without one).
DOT_ENV = {name: f"{name.lower()}-{'s' * 40}" for name in SECRETS}
# Variables that hold a secret: none may have a default (`${VAR:-x}`) or be left empty (`${VAR}`).
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|COOKIE", re.IGNORECASE)

Compose = dict[str, Any]
Reader = Callable[[Path], str | None]


# ---- reading the files ---------------------------------------------------------------------------

# Compose's own interpolation (https://docs.docker.com/reference/compose-file/interpolation/), kept to the forms it
# documents: no maintained Python package does it (docker-compose 1.x is unmaintained and pins jsonschema<4;
# python-dotenv and the shell-expansion packages know neither `$$` nor `${VAR:?error}` the way Compose reads them).
_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<word>.*))?", re.DOTALL)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """$$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} and ${VAR?error}; anything else raises."""

    def value(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        braced = _BRACED.fullmatch(match["braced"])
        if braced is None:
            raise ValueError(f"unsupported substitution ${{{match['braced']}}}")
        name, op, word = braced["name"], braced["op"], braced["word"]
        unset = name not in env or (op is not None and op.startswith(":") and not env[name])
        if op is None or not unset:
            return env.get(name, "")
        if op.endswith("?"):
            raise ValueError(f"docker compose needs ${name}: {word}")
        return word

    return _VARIABLE.sub(value, text)


def _interpolated(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolated(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolated(value, env) for key, value in node.items()}
    return node


def load_raw() -> Compose:
    """docker-compose.yml with anchors merged and variables as written."""
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


def load_compose(env: Mapping[str, str] | None = None) -> Compose:
    """docker-compose.yml as Compose sees it with this .env (DOT_ENV by default): anchors merged, variables
    substituted."""
    result: Compose = _interpolated(load_raw(), DOT_ENV if env is None else env)
    return result


def read_from_disk(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def services(compose: Compose) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose.get("services") or {}
    return found


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """Target service -> condition; the short list form means service_started."""
    declared = service.get("depends_on") or {}
    if isinstance(declared, list):
        return dict.fromkeys(declared, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in declared.items()}


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    declared = service.get("environment") or {}
    if isinstance(declared, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in declared)
        return {name: value for name, value in pairs}
    return {name: "" if value is None else str(value) for name, value in declared.items()}


def yiwang_env(service: Mapping[str, Any]) -> dict[str, str]:
    return {name: value for name, value in environment(service).items() if name.upper().startswith(PREFIX)}


def python_services(compose: Compose) -> dict[str, dict[str, Any]]:
    """The services run from the project's image: those that build it."""
    return {name: service for name, service in services(compose).items() if "build" in service}


def command_argv(command: Any) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def shell_steps(script: str) -> list[list[str]]:
    """The simple commands of a shell line: split at &&, || and ;, quotes respected."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    steps: list[list[str]] = [[]]
    for token in lexer:
        if token in {"&&", "||", ";"}:
            steps.append([])
        else:
            steps[-1].append(token)
    return [step for step in steps if step]


def invocations(command: Any) -> list[list[str]]:
    """The programs a command runs: itself, or each step of an `sh -c "a && b"`."""
    argv = command_argv(command)
    if len(argv) == 3 and PurePosixPath(argv[0]).name in {"sh", "bash"} and argv[1] == "-c":
        return shell_steps(argv[2])
    return [argv] if argv else []


def yiwang_args(service: Mapping[str, Any]) -> list[list[str]]:
    """The argument lists of every `yiwang` run by the service's command."""
    return [argv[1:] for argv in invocations(service.get("command")) if argv and argv[0] == "yiwang"]


def runs(service: Mapping[str, Any], *args: str) -> bool:
    return any(argv[: len(args)] == list(args) for argv in yiwang_args(service))


def settings_from(env: Mapping[str, str]) -> Settings:
    """Settings exactly as a container with this environment reads them (the test's own YIWANG_* hidden).

    Raises:
        ValidationError: a value that the process would refuse at start-up.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.upper().startswith(PREFIX):
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        return Settings()


def service_settings(compose: Compose) -> dict[str, Settings]:
    """Settings of each Python service whose environment validates."""
    found = {}
    for name, service in python_services(compose).items():
        try:
            found[name] = settings_from(yiwang_env(service))
        except ValidationError:
            continue
    return found


def parse_mosquitto_conf(text: str) -> dict[str, list[str]]:
    """Option -> its values in order (Mosquitto comments start a line with #)."""
    options: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        options.setdefault(key, []).append(value.strip())
    return options


def mosquitto_conf_source(compose: Compose) -> tuple[str, Path] | None:
    """The broker service and the project file mounted as its configuration."""
    for name, service in services(compose).items():
        if not str(service.get("image", "")).startswith("eclipse-mosquitto"):
            continue
        for volume in service.get("volumes") or []:
            if isinstance(volume, str):
                source, _, rest = volume.partition(":")
                target = rest.split(":")[0]
            else:
                source, target = volume.get("source", ""), volume.get("target", "")
            if target == MOSQUITTO_CONF_TARGET and source.startswith((".", "/")):
                return name, (COMPOSE_FILE.parent / source).resolve()
    return None


def volume_targets(service: Mapping[str, Any]) -> list[str]:
    targets = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            targets.append(parts[1] if len(parts) > 1 else parts[0])
        else:
            targets.append(volume.get("target", ""))
    return targets


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\s*\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            found.append((keyword.upper(), args.strip()))
    return found


def ignored(path: str, dockerignore: str) -> bool:
    """Whether `docker build` leaves `path` out of the context.

    The globs (`*`, `?`, `[...]`, `**`) are matched by pathspec, whose gitignore syntax reads them as Docker does;
    the rest is Docker's documented rules: patterns start at the context's root, a pattern that matches a folder
    leaves out everything in it, and the last line that matches decides (`!` lets back in).
    """
    lines = [line.strip() for line in dockerignore.splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    rooted = ["!/" + p[1:].lstrip("/") if p.startswith("!") else "/" + p.lstrip("/") for p in patterns]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pattern in pathspec.PathSpec.from_lines("gitignore", rooted).patterns:
        if pattern.include is not None and any(pattern.match_file(prefix) for prefix in prefixes):
            result = pattern.include
    return result


def project_files() -> Iterator[str]:
    """pyproject.toml, its readme if there is one, and every file of the packages `pip install .` installs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    yield "pyproject.toml"
    readme = project["project"].get("readme")
    if isinstance(readme, str) and (ROOT / readme).exists():
        yield readme
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        for folder in ROOT.glob(pattern.rstrip("*") or pattern):
            for file in sorted(folder.rglob("*")):
                # What setuptools puts in the wheel: modules and the migrations (package data).
                if file.is_file() and file.suffix in {".py", ".sql"} and "__pycache__" not in file.parts:
                    yield file.relative_to(ROOT).as_posix()


# ---- what Compose itself would refuse ------------------------------------------------------------


@functools.cache
def compose_validator() -> Validator:
    """A validator of the schema's own draft (2020-12 today), the schema checked first."""
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def check_schema(compose: Compose) -> list[str]:
    """The Compose Specification's JSON Schema, after interpolation (as `docker compose` validates)."""
    problems = []
    for error in compose_validator().iter_errors(compose):
        deepest = best_match([error])  # the alternative of a oneOf that came closest, not the whole oneOf
        problems.append(f"{deepest.json_path}: {deepest.message}")
    if "version" in compose:
        problems.append("$.version: obsolete (the schema only marks it deprecated)")
    return problems


# ---- Yiwang's own promises -----------------------------------------------------------------------


def check_depends_on(compose: Compose) -> list[str]:
    """What the schema cannot see: the services waited for exist and can reach the state waited for."""
    problems = []
    known = services(compose)
    for name, service in known.items():
        for target, condition in depends_on(service).items():
            if target not in known:
                problems.append(f"{name} depends on {target}, which is no service")
                continue
            if condition == "service_healthy":
                check = known[target].get("healthcheck") or {}
                if not check.get("test") or check.get("disable") or command_argv(check["test"])[:1] == ["NONE"]:
                    problems.append(f"{name} waits for {target} to be healthy, but {target} has no healthcheck")
            if condition == "service_completed_successfully" and known[target].get("restart") in {
                "always",
                "unless-stopped",
            }:
                problems.append(f"{name} waits for {target} to complete, but {target} is restarted forever")
    return problems


def check_env_names(compose: Compose) -> list[str]:
    fields = {field.upper() for field in Settings.model_fields}
    problems = []
    for name, service in services(compose).items():
        for variable in yiwang_env(service):
            field = variable.upper().removeprefix(PREFIX)
            if variable != variable.upper() or field not in fields:
                problems.append(f"{name}: {variable} is no Settings field (it would be ignored silently)")
    return problems


def check_env_values(compose: Compose) -> list[str]:
    problems = []
    for name, service in python_services(compose).items():
        try:
            settings_from(yiwang_env(service))
        except ValidationError as exc:
            problems.append(f"{name}: its YIWANG_* environment does not validate: {exc}")
    return problems


def check_env_targets(compose: Compose, read: Reader = read_from_disk) -> list[str]:
    """The Python services reach the database and broker of this file, with its credentials."""
    known = services(compose)
    databases = {n: s for n, s in known.items() if str(s.get("image", "")).startswith(TIMESCALEDB_IMAGE)}
    conf = mosquitto_conf_source(compose)
    problems = []
    if not databases:
        problems.append(f"no {TIMESCALEDB_IMAGE} service")
    if conf is None:
        problems.append("no Mosquitto service with a mounted configuration")
    listener = None
    if conf is not None and (text := read(conf[1])) is not None:
        ports = [value.split()[0] for value in parse_mosquitto_conf(text).get("listener", [])]
        listener = int(ports[0]) if ports else None
    made = _roles_made(compose)
    for name, settings in service_settings(compose).items():
        problems.extend(_database_problems(name, known[name], settings, databases, made))
        if conf is not None and settings.mqtt_host != conf[0]:
            problems.append(f"{name}: YIWANG_MQTT_HOST {settings.mqtt_host!r} is not the broker service {conf[0]!r}")
        if listener is not None and settings.mqtt_port != listener:
            problems.append(f"{name}: YIWANG_MQTT_PORT {settings.mqtt_port} is not the broker's listener {listener}")
    return problems


def _database_urls(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.endswith(("DATABASE_URL", "DATABASE_ADMIN_URL"))}


def _roles_made(compose: Compose) -> dict[str, str]:
    """Setting -> URL, of the service that runs `yiwang db roles`: the roles it makes, with their passwords."""
    for service in services(compose).values():
        if runs(service, "db", "roles"):
            return _database_urls(yiwang_env(service))
    return {}


def _database_problems(
    name: str, service: Mapping[str, Any], settings: Settings, databases: Mapping[str, Any], made: Mapping[str, str]
) -> list[str]:
    """Each database URL the service sets reaches the TimescaleDB service's database: the superuser's with the
    service's own credentials, the others as roles that `yiwang db roles` makes with these passwords. A process
    connects as its own role, and only the service that makes the roles knows the superuser's password."""
    problems = []
    env = yiwang_env(service)
    urls = _database_urls(env)
    for process, command in DB_SERVICES.items():
        if runs(service, *command) and f"{PREFIX}{process.upper()}_DATABASE_URL" not in urls:
            problems.append(f"{name}: runs the {process} without a database role of its own")
    if f"{PREFIX}DATABASE_ADMIN_URL" in urls and not runs(service, "db", "roles"):
        problems.append(f"{name}: holds the database superuser's URL but does not make the roles")
    for variable, url in urls.items():
        db = conninfo_to_dict(url)
        target = databases.get(str(db.get("host")))
        if target is None:
            problems.append(f"{name}: {variable} host {db.get('host')!r} is not the TimescaleDB service")
            continue
        target_env = environment(target)
        superuser = target_env.get("POSTGRES_USER") or "postgres"
        expected = {"port": "5432", "dbname": target_env.get("POSTGRES_DB") or superuser}
        if variable == f"{PREFIX}DATABASE_ADMIN_URL":
            expected |= {"user": superuser, "password": target_env.get("POSTGRES_PASSWORD")}
        elif variable not in made:
            problems.append(f"{name}: {variable} names a role that no `yiwang db roles` makes")
        else:
            role = conninfo_to_dict(made[variable])
            expected |= {"user": str(role.get("user")), "password": str(role.get("password"))}
            if role.get("user") == superuser:
                problems.append(f"{name}: {variable} is the superuser")
        actual = {"port": "5432", **{key: str(value) for key, value in db.items()}}
        for key, value in expected.items():
            if actual.get(key) != value:
                problems.append(f"{name}: {variable} {key} {actual.get(key)!r} is not the service's {value!r}")
    return problems


def check_accounts(compose: Compose) -> list[str]:
    """Who logs in to the broker does so as an account that `yiwang broker account` writes, with its password."""
    written: dict[str, str | None] = {}
    for service in services(compose).values():
        for args in yiwang_args(service):
            if args[:2] == ["broker", "account"] and len(args) > 2 and "--password-env" in args:
                written[args[2]] = environment(service).get(args[args.index("--password-env") + 1])
    problems = []
    for name, settings in service_settings(compose).items():
        user = settings.mqtt_username
        if user is not None and user not in written:
            problems.append(f"{name} logs in as {user!r}, an account no service writes")
        elif user is not None and (not settings.mqtt_password or settings.mqtt_password != written[user]):
            problems.append(f"{name} logs in as {user!r} with another password than the account was written with")
    return problems


def check_commands(compose: Compose) -> list[str]:
    """Every container runs `yiwang` subcommands that yiwang's own argument parser accepts."""
    problems = []
    for name, service in python_services(compose).items():
        steps = invocations(service.get("command"))
        if not steps:
            problems.append(f"{name}: no command (the image's default is only --help)")
        for argv in steps:
            if not argv or argv[0] != "yiwang":
                problems.append(f"{name}: {shlex.join(argv)!r} is not a `yiwang` command")
                continue
            try:
                parser().parse_args(argv[1:])
            except SystemExit:
                problems.append(f"{name}: `{shlex.join(argv)}` is refused by yiwang's argument parser")
    return problems


def check_one_image(compose: Compose) -> list[str]:
    problems = []
    built = python_services(compose)
    images = {str(service.get("image")) for service in built.values()}
    contexts = {str((service["build"] or {}).get("context", ".")) for service in built.values()}
    if len(images) != 1 or len(contexts) != 1:
        problems.append(f"the Python services should share one image built from one context: {images} {contexts}")
    for name, service in built.items():
        if not str(service.get("image", "")):
            problems.append(f"{name}: builds an image without naming it")
    return problems


def check_startup(compose: Compose) -> list[str]:
    """Schema and registry first, then a healthy collector, then the simulators."""
    known = services(compose)
    problems = []
    migrators = [name for name, service in known.items() if runs(service, "db", "migrate")]
    importers = [name for name, service in known.items() if runs(service, "registry", "import")]
    if not migrators:
        problems.append("no service runs `yiwang db migrate`")
    if not importers:
        problems.append("no service imports a registry")
    for name in importers:
        args = yiwang_args(known[name])
        written = [a[a.index("--out") + 1] for a in args if a[:2] == ["simulate", "city"] and "--out" in a]
        read = [a[2] for a in args if a[:2] == ["registry", "import"] and len(a) > 2]
        if not set(read) <= set(written):
            problems.append(f"{name} imports {read}, but `simulate city` wrote {written}")
        # Every `up` runs it again: only what is new, or users' registry edits would go back to the simulated city's.
        if any(a[:2] == ["registry", "import"] and "--keep-existing" not in a for a in args):
            problems.append(f"{name} imports the registry over users' edits (no --keep-existing)")
        steps = [tuple(a[:2]) for a in args]
        if ("db", "migrate") in steps and steps.index(("db", "migrate")) > steps.index(("registry", "import")):
            problems.append(f"{name} imports the registry before it migrates the schema")
    for name, service in known.items():
        waits = depends_on(service)
        if runs(service, "collect") or runs(service, "api"):
            problems.extend(
                f"{name} starts before {setup} has completed"
                for setup in sorted({*migrators, *importers})
                if waits.get(setup) != "service_completed_successfully"
            )
        if runs(service, "simulate", "meters") or runs(service, "simulate", "vehicles"):
            collectors = [n for n, s in known.items() if runs(s, "collect")]
            if not any(waits.get(c) == "service_healthy" for c in collectors):
                problems.append(f"{name} publishes before a collector is healthy")
    return problems


def check_same_city(compose: Compose) -> list[str]:
    """The city in the registry is the city the simulators publish for, on the collector's topics."""
    known = services(compose)
    settings = service_settings(compose)
    city = [n for n in settings if runs(known[n], "simulate", "city")]
    simulators = [n for n in settings if runs(known[n], "simulate", "meters") or runs(known[n], "simulate", "vehicles")]
    collectors = [n for n in settings if runs(known[n], "collect")]
    problems = []
    for name in simulators:
        for other in city:
            for field in ("sim_seed", "sim_institutions", "sim_vehicles"):
                mine, theirs = getattr(settings[name], field), getattr(settings[other], field)
                if mine != theirs:
                    problems.append(f"{name} simulates {field}={mine}, but {other} registered {theirs}")
        problems.extend(
            f"{name} publishes under {settings[name].topic_root!r}, {other} reads another root"
            for other in collectors
            if settings[name].topic_root != settings[other].topic_root
        )
    return problems


def check_collectors(compose: Compose) -> list[str]:
    """Collector replicas split one stream: each its own client id (two with one id take the session from each other,
    over and over), all in one shared group (without, each would store every message: twice the work, for nothing),
    and none with the supervisor's client id (a session of its own, outside the group)."""
    known = services(compose)
    settings = service_settings(compose)
    collectors = {n: s for n, s in settings.items() if runs(known[n], "collect")}
    problems = []
    owners: dict[str, str] = {}
    for name, s in collectors.items():
        if s.mqtt_client_id in owners:
            problems.append(f"{name} and {owners[s.mqtt_client_id]} share the client id {s.mqtt_client_id!r}")
        owners.setdefault(s.mqtt_client_id, name)
    for name, s in settings.items():
        if runs(known[name], "supervise") and s.supervisor_client_id in owners:
            problems.append(f"{name} takes the client id of {owners[s.supervisor_client_id]}")
    groups = {name: s.mqtt_shared_group for name, s in collectors.items()}
    if len(collectors) > 1 and (None in groups.values() or len(set(groups.values())) != 1):
        problems.append(f"the collectors are not in one shared group: {groups}")
    return problems


def check_mosquitto_conf(compose: Compose, read: Reader = read_from_disk) -> list[str]:
    """docker/mosquitto.conf is yiwang/stack.py's broker, and holds what the collector's batches need."""
    conf = mosquitto_conf_source(compose)
    if conf is None:
        return [f"no eclipse-mosquitto service mounts a project file at {MOSQUITTO_CONF_TARGET}"]
    broker, path = conf
    text = read(path)
    if text is None:
        return [f"{path} (mounted into {broker}) does not exist"]
    options = parse_mosquitto_conf(text)

    def number(key: str) -> int | None:
        values = options.get(key)
        return int(values[-1]) if values and values[-1].isdigit() else None

    problems = []
    if options.get("persistence") != ["true"]:
        problems.append(f"{path.name}: persistence is not true")
    if not options.get("allow_anonymous") or set(options["allow_anonymous"]) != {"false"}:
        problems.append(f"{path.name}: allow_anonymous is not false (everyone logs in)")
    location = (options.get("persistence_location") or [""])[-1]
    if not any(location.startswith(t.rstrip("/") + "/") for t in volume_targets(services(compose)[broker])):
        problems.append(f"{path.name}: persistence_location {location!r} is on no volume of {broker}")
    inflight = number("max_inflight_messages")
    stack = {f.name: f.default for f in dataclasses.fields(Mosquitto)}
    for name, settings in service_settings(compose).items():
        if not runs(services(compose)[name], "collect"):
            continue
        if inflight is None or inflight < 2 * settings.batch_size:
            problems.append(f"max_inflight_messages {inflight} is under two batches of {name} ({settings.batch_size})")
        if inflight != settings.mqtt_receive_maximum:
            problems.append(
                f"max_inflight_messages {inflight} is not {name}'s mqtt_receive_maximum "
                f"{settings.mqtt_receive_maximum} (what `yiwang stack` uses)"
            )
        size = number("max_packet_size")
        if not size or size <= settings.max_payload_bytes:
            problems.append(f"max_packet_size {size} refuses what {name} would dead-letter (max_payload_bytes)")
    for key, field in {
        "autosave_interval": "autosave",
        "max_queued_messages": "queued",
        "max_packet_size": "max_packet",
        "max_connections": "max_connections",
    }.items():
        if number(key) != stack[field]:
            problems.append(f"{path.name}: {key} {number(key)} differs from yiwang/stack.py's {stack[field]}")
    if "message_size_limit" in options:
        problems.append(
            f"{path.name}: message_size_limit acknowledges (MQTT 3.1.1) a message it drops; use max_packet_size"
        )
    if number("max_queued_bytes") != stack["queued_bytes"]:
        problems.append(f"{path.name}: max_queued_bytes differs from yiwang/stack.py's {stack['queued_bytes']}")
    return problems


def check_secrets(raw: Compose) -> list[str]:
    """No secret has a default or may be empty: each is `${VAR:?message}`, set in .env, or compose refuses to start."""
    problems = []

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, (str, int)) and SECRET_NAME.search(str(key)) and "${" not in str(value):
                    problems.append(f"{where}/{key}: a secret written in the file")
                visit(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                visit(item, f"{where}/{index}")
        elif isinstance(node, str):
            for match in _VARIABLE.finditer(node):
                braced = _BRACED.fullmatch(match["braced"] or "")
                name = match["named"] or (braced["name"] if braced else "")
                if SECRET_NAME.search(name) and (braced is None or braced["op"] != ":?"):
                    problems.append(f"{where}: ${name} has a default or may be empty; write ${{{name}:?...}}")

    visit(raw.get("services") or {}, "services")
    return problems


def check_published_ports(compose: Compose, read: Reader = read_from_disk) -> list[str]:
    """Off this host, only the devices' listeners are reachable: the broker's TLS listener, and the JT/T 808
    gateway's port (the protocol has no TLS: a terminal proves itself with its authentication code, and a bureau puts
    the port behind its operator's APN or VPN where it must), and each EMQX node's TLS listener. Every other published
    port is on loopback."""
    conf = mosquitto_conf_source(compose)
    tls_ports: set[str] = set()
    if conf is not None and (text := read(conf[1])) is not None:
        listener = None
        for raw in text.splitlines():
            key, _, value = raw.strip().partition(" ")
            if key == "listener":
                listener = value.split()[0]
            elif key == "certfile" and listener is not None:
                tls_ports.add(listener)
    # (`read` stands for Mosquitto's file, which the breakages change; EMQX's is read as it is.)
    emqx = {
        name: emqx_conf(text) for name, path in emqx_conf_sources(compose).items() if (text := read_from_disk(path))
    }
    problems = []
    for name, service in services(compose).items():
        for port in service.get("ports") or []:
            spec = (
                str(port)
                if not isinstance(port, dict)
                else f"{port.get('host_ip', '')}:{port.get('published', '')}:{port.get('target', '')}"
            )
            parts = spec.split(":")
            host, target = (parts[0] if len(parts) == 3 else ""), parts[-1].split("/")[0]
            if host in {"127.0.0.1", "::1", "[::1]"}:
                continue
            if conf is not None and name == conf[0] and target in tls_ports:
                continue
            if name in emqx and target == emqx[name].get("ssl_port"):
                continue
            if runs(service, "gateway", "jt808") and target == yiwang_env(service).get(f"{PREFIX}JT808_PORT"):
                continue
            problems.append(f"{name}: port {spec} is published on every interface without TLS (bind it to 127.0.0.1)")
    return problems


# ---- the `emqx` profile: a two-node EMQX cluster reading the broker's accounts from the database ------------------

EMQX_IMAGE = re.compile(r"^emqx/emqx:5\.\d+\.\d+$")  # the official image, a release pinned
EMQX_CONF_TARGET = "/opt/emqx/etc/emqx.conf"
EMQX_PROFILE = "emqx"
# Where EMQX takes the password of each of its PostgreSQL clients (broker/emqx/emqx.conf keeps none).
EMQX_DB_PASSWORDS = (
    "EMQX_AUTHENTICATION__1__PASSWORD",
    "EMQX_LISTENERS__SSL__DEFAULT__AUTHENTICATION__1__PASSWORD",
    "EMQX_AUTHORIZATION__SOURCES__1__PASSWORD",
)


def emqx_conf_sources(compose: Compose) -> dict[str, Path]:
    """EMQX service -> the project file mounted as its configuration."""
    found = {}
    for name, service in services(compose).items():
        if not str(service.get("image", "")).startswith("emqx/"):
            continue
        for volume in service.get("volumes") or []:
            source, _, rest = str(volume).partition(":")
            if rest.split(":")[0] == EMQX_CONF_TARGET and source.startswith((".", "/")):
                found[name] = (COMPOSE_FILE.parent / source).resolve()
    return found


def emqx_conf(text: str) -> dict[str, Any]:
    """What the compose file must agree with in broker/emqx/emqx.conf (HOCON, read for the few keys it writes)."""

    def bind(block: str) -> str | None:
        found = re.search(rf"^  {re.escape(block)} {{\n\s*bind = \"[^\"]*:(\d+)\"", text, re.MULTILINE)
        return found[1] if found else None

    seeds = re.search(r"^\s*static\.seeds = \[([^\]]*)\]", text, re.MULTILINE)
    return {
        "seeds": sorted(seed.strip().strip('"') for seed in seeds[1].split(",")) if seeds else [],
        "tcp_port": bind("tcp.default"),
        "ssl_port": bind("ssl.default"),
        "servers": set(re.findall(r'^\s*server = "([^"]*)"', text, re.MULTILINE)),
        "databases": set(re.findall(r"^\s*database = (\S+)$", text, re.MULTILINE)),
        "usernames": set(re.findall(r"^\s*username = (\S+)$", text, re.MULTILINE)),
        "clients": len(re.findall(r"^\s*backend = postgresql$|^\s*type = postgresql$", text, re.MULTILINE)),
    }


def _aliases(service: Mapping[str, Any]) -> set[str]:
    networks = service.get("networks") or {}
    if not isinstance(networks, dict):
        return set()
    return {alias for network in networks.values() for alias in (network or {}).get("aliases") or []}


def check_emqx(compose: Compose, read: Reader = read_from_disk) -> list[str]:
    """Two EMQX nodes or more, of a pinned official image, only with the emqx profile, one cluster: each node's name
    is a seed of the mounted configuration and resolves to it on the compose network, one cookie. Their PostgreSQL
    clients reach the TimescaleDB service's database as the role `yiwang db roles` makes for EMQX, with its password."""
    sources = emqx_conf_sources(compose)
    problems = [] if len(sources) >= 2 else [f"{len(sources)} EMQX node(s) with a mounted configuration, not 2"]
    known = services(compose)
    databases = {n: s for n, s in known.items() if str(s.get("image", "")).startswith(TIMESCALEDB_IMAGE)}
    made = conninfo_to_dict(_roles_made(compose).get(f"{PREFIX}EMQX_DATABASE_URL", ""))
    cookies = set()
    for name, path in sources.items():
        service, env = known[name], environment(known[name])
        if not EMQX_IMAGE.match(str(service.get("image"))):
            problems.append(f"{name}: image {service.get('image')!r} is not a pinned emqx/emqx:5.x.y")
        if EMQX_PROFILE not in (service.get("profiles") or []):
            problems.append(f"{name} starts without the {EMQX_PROFILE} profile")
        text = read(path)
        if text is None:
            problems.append(f"{name}: {path} does not exist")
            continue
        conf = emqx_conf(text)
        node = env.get("EMQX_NODE_NAME", "")
        if node not in conf["seeds"]:
            problems.append(f"{name}: node {node!r} is not a seed of {path.name} {conf['seeds']}")
        if node.partition("@")[2] not in _aliases(service):
            problems.append(f"{name}: {node!r} does not resolve to this service (a network alias)")
        cookies.add(env.get("EMQX_NODE__COOKIE"))
        for server in conf["servers"]:
            host, _, port = server.partition(":")
            target = databases.get(host)
            if target is None or port != "5432":
                problems.append(f"{name}: PostgreSQL server {server!r} is not the TimescaleDB service")
            elif conf["databases"] != {environment(target).get("POSTGRES_DB")}:
                problems.append(f"{name}: databases {conf['databases']} are not the service's")
        if conf["usernames"] != {made.get("user")}:
            problems.append(f"{name}: logs in as {conf['usernames']}, not the role `yiwang db roles` makes for EMQX")
        passwords = [env.get(variable) for variable in EMQX_DB_PASSWORDS]
        if conf["clients"] != len(EMQX_DB_PASSWORDS) or set(passwords) != {made.get("password")}:
            problems.append(f"{name}: the passwords of its {conf['clients']} PostgreSQL clients are not that role's")
    if len(cookies) != 1 or not all(cookies):
        problems.append("the EMQX nodes do not share one cookie")
    return problems


def check_emqx_broker(compose: Compose, read: Reader = read_from_disk) -> list[str]:
    """With MQTT_BROKER=emqx, every Python service speaks to the cluster: a name each node answers to, at the
    services' listener of the configuration."""
    sources = emqx_conf_sources(compose)
    known = services(compose)
    shared = set.intersection(*(_aliases(known[name]) for name in sources)) if sources else set()
    ports = {emqx_conf(text)["tcp_port"] for path in sources.values() if (text := read(path))}
    problems = []
    for name, settings in service_settings(compose).items():
        if settings.mqtt_host not in shared:
            problems.append(f"{name}: YIWANG_MQTT_HOST {settings.mqtt_host!r} is not a name of every EMQX node")
        if {str(settings.mqtt_port)} != ports:
            problems.append(f"{name}: YIWANG_MQTT_PORT {settings.mqtt_port} is not EMQX's services' listener {ports}")
    return problems


def test_the_emqx_profile_points_every_process_at_the_cluster() -> None:
    assert check_emqx_broker(load_compose(DOT_ENV | {"MQTT_BROKER": "emqx"})) == []
    # Without it, Mosquitto as before (check_env_targets), and a broken switch is noticed.
    assert check_emqx_broker(load_compose()) != []
    assert check_emqx_broker(load_compose(DOT_ENV | {"MQTT_BROKER": "emqx1.yiwang"})) != []


def check_dockerfile(dockerfile: str | None, dockerignore: str | None) -> list[str]:
    if dockerfile is None:
        return ["no Dockerfile"]
    instructions = dockerfile_instructions(dockerfile)
    stages: list[tuple[str, str | None, list[tuple[str, str]]]] = []  # image, stage name, instructions
    for keyword, args in instructions:
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            stages.append((words[0], words[2] if len(words) > 2 and words[1].upper() == "AS" else None, []))
        elif stages:
            stages[-1][2].append((keyword, args))
    if not stages:
        return ["Dockerfile has no FROM"]
    problems = []
    names = {name for _, name, _ in stages if name}
    for image, _, _ in stages:
        if image not in names and image != PYTHON_BASE:
            problems.append(f"Dockerfile: stage from {image}, not {PYTHON_BASE}")
    installers = set()
    for index, (_, name, body) in enumerate(stages):
        for keyword, args in body:
            if keyword != "RUN":
                continue
            for words in shell_steps(args):
                step = shlex.join(words)
                if "pip" not in words or "install" not in words:
                    continue
                targets = [w for w in words[words.index("install") + 1 :] if not w.startswith("-")]
                if any(w in {"-e", "--editable"} for w in words):
                    problems.append(f"Dockerfile: `{step}` is an editable install")
                elif any(re.fullmatch(r"\.?/?\.?\[.*\]", t) for t in targets):
                    problems.append(f"Dockerfile: `{step}` installs extras (dev tools in the image)")
                elif any(t in {".", "./", "/src", "/src/"} for t in targets):
                    installers.add(name or str(index))
    _, final_name, final = stages[-1]
    copied_from = {args.split()[0].removeprefix("--from=") for keyword, args in final if keyword == "COPY"}
    if not installers:
        problems.append("Dockerfile: no `pip install .` of the project")
    elif not installers & ({final_name or str(len(stages) - 1)} | copied_from):
        problems.append(f"Dockerfile: the final stage neither installs the project nor copies from {installers}")
    users = [args.split(":")[0] for keyword, args in final if keyword == "USER"]
    if not users or users[-1] in {"root", "0"}:
        problems.append("Dockerfile: the final stage runs as root")
    fields = {field.upper() for field in Settings.model_fields}
    problems.extend(
        f"Dockerfile: {variable} is no Settings field"
        for variable in re.findall(r"\bYIWANG_[A-Z0-9_]+", dockerfile)
        if variable.removeprefix(PREFIX) not in fields
    )
    if dockerignore is not None:
        left_out = [path for path in project_files() if ignored(path, dockerignore)]
        if left_out:
            problems.append(f".dockerignore keeps what `pip install .` needs out of the image: {left_out[:5]}")
    return problems


def check_timescaledb(compose: Compose) -> list[str]:
    problems = []
    for name, service in services(compose).items():
        if name != "timescaledb":
            continue
        image = str(service.get("image", ""))
        repository, _, tag = image.partition(":")
        if repository != TIMESCALEDB_IMAGE:
            problems.append(f"{name}: image {image!r} is not the official {TIMESCALEDB_IMAGE}")
        elif not re.fullmatch(r"2\.\d+\.\d+-pg1[5-7]", tag):
            problems.append(f"{name}: tag {tag!r} is not a pinned 2.x release for PostgreSQL 15-17")
        env = environment(service)
        problems.extend(
            f"{name}: {variable} is not set"
            for variable in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
            if not env.get(variable)
        )
        if "/var/lib/postgresql/data" not in volume_targets(service):
            problems.append(f"{name}: the data folder is on no volume")
        test = " ".join(command_argv((service.get("healthcheck") or {}).get("test")))
        if "pg_isready" not in test:
            problems.append(f"{name}: the healthcheck does not ask pg_isready")
    if "timescaledb" not in services(compose):
        problems.append("no timescaledb service")
    return problems


def check_http_health(compose: Compose) -> list[str]:
    """The collector's, supervisor's and API's healthchecks ask their own port, which they listen on for everyone."""
    known = services(compose)
    problems = []
    for name, settings in service_settings(compose).items():
        if runs(known[name], "collect"):
            host, port = settings.metrics_host, settings.metrics_port
        elif runs(known[name], "supervise"):
            host, port = settings.metrics_host, settings.supervisor_metrics_port
        elif runs(known[name], "api"):
            host, port = settings.api_host, settings.api_port
        else:
            continue
        test = " ".join(command_argv((known[name].get("healthcheck") or {}).get("test")))
        if f":{port}/health" not in test:
            problems.append(f"{name}: the healthcheck does not ask :{port}/health")
        if host != "0.0.0.0":
            problems.append(f"{name}: listens on {host}, unreachable from other containers")
    return problems


# ---- the real files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> Compose:
    return load_compose()


COMPOSE_CHECKS: list[Callable[[Compose], list[str]]] = [
    check_schema,
    check_depends_on,
    check_env_names,
    check_env_values,
    check_env_targets,
    check_accounts,
    check_commands,
    check_one_image,
    check_startup,
    check_same_city,
    check_collectors,
    check_mosquitto_conf,
    check_timescaledb,
    check_http_health,
    check_published_ports,
    check_emqx,
]


@pytest.mark.parametrize("check", COMPOSE_CHECKS, ids=lambda check: check.__name__)
def test_compose(compose: Compose, check: Callable[[Compose], list[str]]) -> None:
    assert check(compose) == []


def test_dockerfile() -> None:
    assert check_dockerfile(read_from_disk(DOCKERFILE), read_from_disk(DOCKERIGNORE)) == []


def test_every_python_service_is_checked(compose: Compose) -> None:
    """The checks above see the migrations, the registry import, the collector, the API and both simulators."""
    commands = {
        tuple(args[:2]) if args[0] in {"db", "registry", "simulate"} else (args[0],)
        for service in python_services(compose).values()
        for args in yiwang_args(service)
    }
    assert commands >= {
        ("db", "migrate"),
        ("registry", "import"),
        ("collect",),
        ("api",),
        ("simulate", "meters"),
        ("simulate", "vehicles"),
    }


def test_compose_runs_collector_replicas_in_one_group(compose: Compose) -> None:
    """Issue 19: ingest past one collector process, in compose too."""
    known = services(compose)
    collectors = {n: s for n, s in service_settings(compose).items() if runs(known[n], "collect")}
    assert len(collectors) >= 2, sorted(collectors)
    assert len({s.mqtt_client_id for s in collectors.values()}) == len(collectors)
    assert {s.mqtt_shared_group for s in collectors.values()} == {"collectors"}


def test_secrets_from_dot_env(compose: Compose) -> None:
    """Each secret the header names is taken from .env wherever it is used, and compose refuses to start without."""
    env = {name: f"{name.lower()}-from-dot-env-{'x' * 32}" for name in SECRETS}
    changed = load_compose(env)
    for name in SECRETS:
        assert load_compose(DOT_ENV | {name: env[name]}) != compose, f"{name} is used nowhere"
        with pytest.raises(ValueError, match="needs"):
            load_compose({other: value for other, value in DOT_ENV.items() if other != name})
    assert check_secrets(load_raw()) == []
    assert check_env_targets(changed) == []
    assert check_accounts(changed) == []
    settings = service_settings(changed)
    for process in DB_SERVICES:
        urls = {s.database_url_of(process) for s in settings.values() if getattr(s, f"{process}_database_url")}  # type: ignore[arg-type]
        password = env[f"DB_{process.upper()}_PASSWORD"]
        assert {conninfo_to_dict(url).get("password") for url in urls} == {password}, process
    admins = {s.database_admin_url for s in settings.values()} - {None}
    assert {conninfo_to_dict(url).get("password") for url in admins} == {env["POSTGRES_PASSWORD"]}  # type: ignore[arg-type]
    assert {s.mqtt_password for s in settings.values()} - {None} == {
        env["MQTT_COLLECTOR_PASSWORD"],
        env["MQTT_SUPERVISOR_PASSWORD"],
        env["MQTT_GATEWAY_PASSWORD"],
        env["MQTT_SIMULATOR_PASSWORD"],
    }
    assert {s.api_token_secret for s in settings.values()} - {None} == {env["YIWANG_API_TOKEN_SECRET"]}


# ---- each check can fail -------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Compose], None]:
    """A change of compose[services][a][b]...; value None deletes the key."""

    def change(compose: Compose) -> None:
        *parents, last = path.split("/")
        node = compose["services"]
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value

    return change


def _conf(old: str, new: str) -> Reader:
    def read(path: Path) -> str | None:
        text = read_from_disk(path)
        assert text is not None
        assert re.search(old, text, re.MULTILINE), f"{old!r} not in {path}"
        return re.sub(old, lambda _: new, text, flags=re.MULTILINE)

    return read


CONF_VOLUME = "./docker/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro"
DATA_VOLUME = "mosquitto-data:/mosquitto/data"


def _script(*steps: str) -> list[str]:
    return ["sh", "-c", " && ".join(steps)]


BREAKAGES: list[tuple[str, Callable[[Compose], list[str]], Callable[[Compose], None]]] = [
    ("emqx unpinned", check_emqx, _set("emqx2/image", "emqx/emqx:latest")),
    ("emqx always on", check_emqx, _set("emqx1/profiles", None)),
    ("one emqx node", check_emqx, lambda c: c["services"].pop("emqx2")),
    ("emqx node not seeded", check_emqx, _set("emqx2/environment/EMQX_NODE_NAME", "emqx@emqx3.yiwang")),
    ("emqx node unresolved", check_emqx, _set("emqx1/networks/default/aliases", ["emqx"])),
    ("emqx cookies differ", check_emqx, _set("emqx2/environment/EMQX_NODE__COOKIE", "other")),
    ("emqx database password", check_emqx, _set("emqx1/environment/EMQX_AUTHORIZATION__SOURCES__1__PASSWORD", "x")),
    ("emqx without its role", check_emqx, _set("migrate/environment/YIWANG_EMQX_DATABASE_URL", None)),
    ("emqx plain port published", check_published_ports, _set("emqx1/ports", ["1883:1883"])),
    ("misspelt top-level key", check_schema, lambda c: c.update(service=c.pop("services"))),
    ("version key", check_schema, lambda c: c.update(version="3.9")),
    ("misspelt service key", check_schema, _set("api/depends_no", {"migrate": {"condition": "service_started"}})),
    ("unknown condition", check_schema, _set("collector/depends_on/mosquitto/condition", "service_ready")),
    ("duration not a string", check_schema, _set("api/healthcheck/interval", 10)),
    (
        "depends on a missing service",
        check_depends_on,
        _set("api/depends_on/postgres", {"condition": "service_started"}),
    ),
    ("healthy target without healthcheck", check_depends_on, _set("timescaledb/healthcheck", None)),
    ("disabled healthcheck", check_depends_on, _set("mosquitto/healthcheck/disable", True)),
    ("one-shot restarted forever", check_depends_on, _set("migrate/restart", "unless-stopped")),
    ("misspelt variable", check_env_names, _set("collector/environment/YIWANG_METRIC_HOST", "0.0.0.0")),
    ("lower-case variable", check_env_names, _set("api/environment/yiwang_api_port", "8000")),
    ("invalid port", check_env_values, _set("meters/environment/YIWANG_MQTT_PORT", "mqtt")),
    ("invalid protocol", check_env_values, _set("collector/environment/YIWANG_MQTT_PROTOCOL", "3")),
    (
        "database on loopback",
        check_env_targets,
        _set("api/environment/YIWANG_API_DATABASE_URL", "postgresql://yiwang_api@127.0.0.1/yiwang"),
    ),
    ("api as the owner", check_env_targets, _set("api/environment/YIWANG_API_DATABASE_URL", None)),
    (
        "collector as the superuser",
        check_env_targets,
        _set(
            "collector/environment/YIWANG_COLLECTOR_DATABASE_URL",
            "postgresql://postgres:postgres-password-of-dot-env@timescaledb:5432/yiwang",
        ),
    ),
    (
        "superuser's URL in the API",
        check_env_targets,
        _set("api/environment/YIWANG_DATABASE_ADMIN_URL", "postgresql://postgres:x@timescaledb:5432/yiwang"),
    ),
    ("wrong password", check_env_targets, _set("timescaledb/environment/POSTGRES_PASSWORD", "other")),
    ("broker on loopback", check_env_targets, _set("vehicles/environment/YIWANG_MQTT_HOST", "127.0.0.1")),
    ("broker port of the local stack", check_env_targets, _set("collector/environment/YIWANG_MQTT_PORT", "11883")),
    ("unknown account", check_accounts, _set("supervisor/environment/YIWANG_MQTT_USERNAME", "nobody")),
    ("another password", check_accounts, _set("meters/environment/YIWANG_MQTT_PASSWORD", "guess")),
    ("unknown subcommand", check_commands, _set("api/command", ["yiwang", "serve"])),
    ("unknown simulator", check_commands, _set("meters/command", ["yiwang", "simulate", "trucks"])),
    ("not yiwang", check_commands, _set("collector/command", ["python", "-m", "collector.run"])),
    ("broken step of a script", check_commands, _set("migrate/command", _script("yiwang db upgrade", "yiwang api"))),
    ("no command", check_commands, _set("vehicles/command", None)),
    ("two images", check_one_image, _set("api/image", "yiwang-api:local")),
    (
        "imports another file",
        check_startup,
        _set(
            "migrate/command",
            _script(
                "yiwang db migrate", "yiwang simulate city --out /tmp/a.json", "yiwang registry import /tmp/b.json"
            ),
        ),
    ),
    (
        "imports before migrating",
        check_startup,
        _set(
            "migrate/command",
            _script(
                "yiwang simulate city --out /tmp/c.json", "yiwang registry import /tmp/c.json", "yiwang db migrate"
            ),
        ),
    ),
    ("collector before migrations", check_startup, _set("collector/depends_on/migrate/condition", "service_started")),
    ("api without migrations", check_startup, _set("api/depends_on/migrate", None)),
    (
        "simulator before a healthy collector",
        check_startup,
        _set("meters/depends_on/collector/condition", "service_started"),
    ),
    ("another city", check_same_city, _set("vehicles/environment/YIWANG_SIM_SEED", "7")),
    ("fewer institutions", check_same_city, _set("meters/environment/YIWANG_SIM_INSTITUTIONS", "3")),
    ("another topic root", check_same_city, _set("meters/environment/YIWANG_MQTT_TOPIC_ROOT", "elsewhere")),
    ("two collectors, one client id", check_collectors, _set("collector-2/environment/YIWANG_MQTT_CLIENT_ID", None)),
    ("a collector outside the group", check_collectors, _set("collector-2/environment/YIWANG_MQTT_SHARED_GROUP", None)),
    ("two groups", check_collectors, _set("collector/environment/YIWANG_MQTT_SHARED_GROUP", "others")),
    (
        "supervisor as a collector",
        check_collectors,
        _set("supervisor/environment/YIWANG_SUPERVISOR_CLIENT_ID", "yiwang-collector-2"),
    ),
    ("bigger batches", check_mosquitto_conf, _set("collector/environment/YIWANG_BATCH_SIZE", "3000")),
    ("conf not mounted", check_mosquitto_conf, _set("mosquitto/volumes", [DATA_VOLUME])),
    (
        "conf missing",
        check_mosquitto_conf,
        _set("mosquitto/volumes", [CONF_VOLUME.replace("mosquitto.conf:", "absent.conf:", 1), DATA_VOLUME]),
    ),
    ("persistence off a volume", check_mosquitto_conf, _set("mosquitto/volumes", [CONF_VOLUME])),
    ("not the official image", check_timescaledb, _set("timescaledb/image", "postgres:15")),
    ("the HA image", check_timescaledb, _set("timescaledb/image", "timescale/timescaledb-ha:pg15")),
    ("unpinned tag", check_timescaledb, _set("timescaledb/image", "timescale/timescaledb:latest-pg15")),
    ("no password", check_timescaledb, _set("timescaledb/environment/POSTGRES_PASSWORD", None)),
    ("database off a volume", check_timescaledb, _set("timescaledb/volumes", [])),
    ("collector health on another port", check_http_health, _set("collector/environment/YIWANG_METRICS_PORT", "9109")),
    (
        "supervisor health on another port",
        check_http_health,
        _set("supervisor/environment/YIWANG_SUPERVISOR_METRICS_PORT", "9110"),
    ),
    ("api on loopback", check_http_health, _set("api/environment/YIWANG_API_HOST", "127.0.0.1")),
    ("api published on every interface", check_published_ports, _set("api/ports", ["8000:8000"])),
    ("plain broker port published", check_published_ports, _set("mosquitto/ports", ["1883:1883", "8883:8883"])),
    ("metrics published", check_published_ports, _set("collector/ports", [{"published": 9108, "target": 9108}])),
]


SECRET_BREAKAGES: list[tuple[str, Callable[[Compose], None]]] = [
    (
        "token secret with a default",
        _set("api/environment/YIWANG_API_TOKEN_SECRET", "${YIWANG_API_TOKEN_SECRET:-dev-secret-" + "x" * 40 + "}"),
    ),
    (
        "observer password with a default",
        _set("mosquitto/environment/MQTT_OBSERVER_PASSWORD", "${MQTT_OBSERVER_PASSWORD:-observer-dev}"),
    ),
    ("gateway password written in", _set("meters/environment/YIWANG_MQTT_PASSWORD", "simulator-dev")),
    ("password that may be empty", _set("supervisor/environment/YIWANG_MQTT_PASSWORD", "${MQTT_SUPERVISOR_PASSWORD}")),
]


@pytest.mark.parametrize("breakage", [b[1] for b in SECRET_BREAKAGES], ids=[b[0] for b in SECRET_BREAKAGES])
def test_secret_check_catches(breakage: Callable[[Compose], None]) -> None:
    broken = load_raw()
    breakage(broken)
    assert check_secrets(broken) != []


@pytest.mark.parametrize(("check", "breakage"), [(b[1], b[2]) for b in BREAKAGES], ids=[b[0] for b in BREAKAGES])
def test_check_catches(
    compose: Compose, check: Callable[[Compose], list[str]], breakage: Callable[[Compose], None]
) -> None:
    broken = copy.deepcopy(compose)
    breakage(broken)
    assert check(broken) != []


CONF_BREAKAGES: list[tuple[str, Callable[[Compose, Reader], list[str]], str, str]] = [
    ("persistence false", check_mosquitto_conf, r"^persistence true", "persistence false"),
    ("persistence unset", check_mosquitto_conf, r"^persistence true", "#"),
    ("persistence elsewhere", check_mosquitto_conf, r"^persistence_location .*", "persistence_location /tmp/"),
    ("anonymous allowed", check_mosquitto_conf, r"^allow_anonymous .*", "allow_anonymous true"),
    ("window under two batches", check_mosquitto_conf, r"^max_inflight_messages .*", "max_inflight_messages 1999"),
    (
        "window not the receive maximum",
        check_mosquitto_conf,
        r"^max_inflight_messages .*",
        "max_inflight_messages 6000",
    ),
    ("queue unlike the stack", check_mosquitto_conf, r"^max_queued_messages .*", "max_queued_messages 1000"),
    ("queue unbounded in bytes", check_mosquitto_conf, r"^max_queued_bytes .*", "max_queued_bytes 0"),
    (
        "anonymous devices",
        check_mosquitto_conf,
        r"^allow_anonymous false\n(?=password_file /mosquitto/access/device)",
        "allow_anonymous true\n",
    ),
    ("plain devices' listener published", check_published_ports, r"^certfile .*", "#"),
    ("autosave unlike the stack", check_mosquitto_conf, r"^autosave_interval .*", "autosave_interval 1800"),
    ("size limit unlike the stack", check_mosquitto_conf, r"^max_packet_size .*", "max_packet_size 300000"),
    ("size limit under the collector's", check_mosquitto_conf, r"^max_packet_size .*", "max_packet_size 1024"),
    ("no size limit", check_mosquitto_conf, r"^max_packet_size .*", "#"),
    (
        "both size limits",
        check_mosquitto_conf,
        r"^max_packet_size .*",
        "max_packet_size 262144\nmessage_size_limit 262144",
    ),
    ("a PUBACK for a dropped message", check_mosquitto_conf, r"^max_packet_size .*", "message_size_limit 262144"),
    ("connections unlike the stack", check_mosquitto_conf, r"^max_connections .*", "max_connections 100"),
    ("another listener", check_env_targets, r"^listener .*", "listener 1884"),
]


@pytest.mark.parametrize(("check", "old", "new"), [b[1:] for b in CONF_BREAKAGES], ids=[b[0] for b in CONF_BREAKAGES])
def test_conf_check_catches(
    compose: Compose, check: Callable[[Compose, Reader], list[str]], old: str, new: str
) -> None:
    assert check(compose, _conf(old, new)) != []


DOCKERFILE_BREAKAGES = [
    ("editable install", r"pip install \.", "pip install -e ."),
    ("dev extras", r"pip install \.", "pip install .[dev]"),
    ("no project install", r"pip install \. \\", "pip list \\"),
    ("root at run time", r"^USER .*", "USER root"),
    ("no user", r"^USER .*", ""),
    ("another python", r"^FROM python:3\.11-slim$", "FROM python:3.12"),
    ("final stage without the project", r"^COPY --from=build .*", "COPY pyproject.toml /tmp/"),
    ("unknown setting", r"^CMD ", "ENV YIWANG_LOGLEVEL=debug\nCMD "),
]


@pytest.mark.parametrize(
    ("old", "new"), [(b[1], b[2]) for b in DOCKERFILE_BREAKAGES], ids=[b[0] for b in DOCKERFILE_BREAKAGES]
)
def test_dockerfile_check_catches(old: str, new: str) -> None:
    text = read_from_disk(DOCKERFILE)
    assert text is not None
    assert re.search(old, text, re.MULTILINE), f"{old!r} not in the Dockerfile"
    assert check_dockerfile(re.sub(old, lambda _: new, text, flags=re.MULTILINE), read_from_disk(DOCKERIGNORE)) != []


@pytest.mark.parametrize("package", ["collector", "db", "simulators"])
def test_dockerignore_check_catches(package: str) -> None:
    ignore = read_from_disk(DOCKERIGNORE)
    assert ignore is not None
    assert check_dockerfile(read_from_disk(DOCKERFILE), ignore + f"\n{package}/\n") != []
    assert check_dockerfile(read_from_disk(DOCKERFILE), ignore.replace(f"!{package}/", "")) != []
    assert ignored(f"{package}/__pycache__/x.pyc", ignore)
    assert not ignored(f"{package}/__init__.py", ignore)


def test_dockerignore_rules() -> None:
    """Docker's rules, not gitignore's: rooted patterns, a left-out folder's files left out, the last line decides."""
    assert ignored("docs/a/b.md", "docs")
    assert not ignored("api/docs/b.md", "docs")  # gitignore would leave this out too
    assert ignored("api/x.py", "*\n!api/\napi/x.py")
    assert not ignored("api/x.py", "api/\n!api/x.py")
    assert ignored("bench/results/r.json", "*\n!bench/\nbench/results/")
    assert ignored("a/b/c.pyc", "**/*.py[cod]")


@pytest.mark.parametrize("secret", DB_SECRETS)
def test_no_database_password_has_a_default(secret: str) -> None:
    """Compose refuses to start without each database password: none is known to an attacker."""
    with pytest.raises(ValueError, match=f"docker compose needs \\${secret}"):
        load_compose({k: v for k, v in DOT_ENV.items() if k != secret})


def test_interpolation() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("$$SYS/# ${SET} $SET ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", env) == "$SYS/# v v d d  d"
    with pytest.raises(ValueError, match="needs"):
        interpolate("${UNSET:?set it}", env)
    with pytest.raises(ValueError, match="unsupported"):
        interpolate("${SET:+alternative}", env)


# ---- monitoring: Prometheus scrapes every process, the dashboard reads what they export -----------------------

PROMETHEUS_CONF_TARGET = "/etc/prometheus/prometheus.yml"
DASHBOARDS = ROOT / "docker" / "grafana" / "dashboards"
MONITORING = "monitoring"
# Metrics a dashboard may name before the process exporting them is in this tree: the worker's roll-up backlog
# (issue 19's `yiwang worker`). Once its registry is listed in exported_series, remove it from here.
COMING: frozenset[str] = frozenset()
# The figures the dashboard must show (issue 19): ingest rate, lag, refusals by reason, roll-up backlog, the
# database's size, alerts.
DASHBOARD_MUST_SHOW = (
    "yiwang_collector_rows_stored_total",
    "yiwang_collector_lag_seconds_bucket",
    "yiwang_collector_rejected_total",
    "yiwang_gateway_refused_total",
    "yiwang_worker_backlog",
    "yiwang_database_size_bytes",
    "yiwang_supervisor_alerts_raised_total",
)
_METRIC_NAME = re.compile(r"\byiwang_[a-z0-9_]+")


def exported_series() -> set[str]:
    """Every series name the processes' registries export (a counter's `_total`, a histogram's `_bucket`...), from
    the code itself: a metric renamed there fails the dashboard's check."""
    from prometheus_client import CollectorRegistry  # noqa: PLC0415

    from api.metrics import Metrics as ApiMetrics  # noqa: PLC0415
    from collector.metrics import SupervisorMetrics  # noqa: PLC0415
    from gateway.metrics import Metrics as GatewayMetrics  # noqa: PLC0415
    from notifier.metrics import Metrics as NotifierMetrics  # noqa: PLC0415
    from worker.metrics import Metrics as WorkerMetrics  # noqa: PLC0415

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}
    names: set[str] = set()
    for metrics in (SupervisorMetrics(), GatewayMetrics(), NotifierMetrics(), ApiMetrics(), WorkerMetrics()):
        registry: CollectorRegistry = metrics.registry
        for family in registry.collect():
            names.update(family.name + s for s in suffixes.get(family.type, ("",)))
    return names


def metrics_port_of(service: Mapping[str, Any], settings: Settings) -> int | None:
    """The port a Python service serves /metrics on, by what it runs; None for one that serves none."""
    for args, port in (
        (("collect",), settings.metrics_port),
        (("supervise",), settings.supervisor_metrics_port),
        (("gateway", "jt808"), settings.gateway_metrics_port),
        (("notify",), settings.notifier_metrics_port),
        (("api",), settings.api_metrics_port),
        (("worker",), settings.worker_metrics_port),
    ):
        if runs(service, *args):
            return port
    return None


def prometheus_conf(compose: Compose) -> tuple[str, Path] | None:
    """The Prometheus service and the project file mounted as its configuration."""
    for name, service in services(compose).items():
        if not str(service.get("image", "")).startswith("prom/prometheus"):
            continue
        for volume in service.get("volumes") or []:
            source, _, rest = str(volume).partition(":")
            if rest.split(":")[0] == PROMETHEUS_CONF_TARGET and source.startswith((".", "/")):
                return name, (COMPOSE_FILE.parent / source).resolve()
    return None


def check_monitoring(compose: Compose, read: Reader = read_from_disk) -> list[str]:
    """Prometheus scrapes every process that serves /metrics, at the port its settings give and on an address other
    containers reach; each target is a service; Prometheus and Grafana start only with the monitoring profile."""
    known = services(compose)
    conf = prometheus_conf(compose)
    if conf is None:
        return ["no prometheus service mounting a project prometheus.yml"]
    text = read(conf[1])
    if text is None:
        return [f"{conf[1]} is missing"]
    targets = [
        str(target)
        for job in (yaml.safe_load(text).get("scrape_configs") or [])
        for static in job.get("static_configs") or []
        for target in static.get("targets") or []
    ]
    problems = []
    settings = service_settings(compose)
    scraped: set[str] = set()
    for target in targets:
        host, _, port = target.rpartition(":")
        if host not in known:
            problems.append(f"prometheus scrapes {target}: no service {host}")
            continue
        scraped.add(host)
        served = metrics_port_of(known[host], settings[host]) if host in settings else None
        if served is None or str(served) != port:
            problems.append(f"prometheus scrapes {target}, but {host} serves /metrics on {served}")
        elif settings[host].metrics_host != "0.0.0.0":
            problems.append(f"{host} serves /metrics on {settings[host].metrics_host}: unreachable from prometheus")
    for name, service in known.items():
        if name in settings and metrics_port_of(service, settings[name]) is not None and name not in scraped:
            problems.append(f"{name} serves /metrics but prometheus does not scrape it")
    for name, service in known.items():
        image = str(service.get("image", ""))
        if image.startswith(("prom/prometheus", "grafana/")) and MONITORING not in (service.get("profiles") or []):
            problems.append(f"{name} starts without the {MONITORING} profile")
    return problems


def check_dashboard(dashboard: Mapping[str, Any], exported: set[str]) -> list[str]:
    """Every metric a dashboard's queries name is exported by a process (or coming: COMING)."""
    exprs = [
        str(target.get("expr", "")) for panel in dashboard.get("panels") or [] for target in panel.get("targets") or []
    ]
    named = {name for expr in exprs for name in _METRIC_NAME.findall(expr)}
    problems = [
        f"{dashboard.get('title')}: {name} is exported by no process" for name in sorted(named - exported - COMING)
    ]
    problems += [
        f"{dashboard.get('title')}: no panel shows {name}" for name in DASHBOARD_MUST_SHOW if name not in named
    ]
    return problems


def test_prometheus_scrapes_every_process(compose: Compose) -> None:
    assert check_monitoring(compose) == []


def test_every_dashboard_query_names_an_exported_metric() -> None:
    exported = exported_series()
    dashboards = sorted(DASHBOARDS.glob("*.json"))
    assert dashboards
    for path in dashboards:
        assert check_dashboard(json.loads(path.read_text(encoding="utf-8")), exported) == [], path.name
    assert not COMING & exported, "a coming metric is exported now: remove it from COMING"


def test_grafanas_datasource_is_the_one_the_dashboards_name() -> None:
    provisioned = yaml.safe_load((ROOT / "docker/grafana/provisioning/datasources/prometheus.yml").read_text())
    uids = {source["uid"] for source in provisioned["datasources"]}
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            assert panel["datasource"]["uid"] in uids, (path.name, panel["title"])


MONITORING_BREAKAGES: list[tuple[str, Callable[[Compose], None], Reader]] = [
    ("a target that is no service", lambda c: None, _conf(r'"api:9112"', '"web:9112"')),
    ("a wrong port", lambda c: None, _conf(r'"collector:9108"', '"collector:9100"')),
    ("a process not scraped", lambda c: None, _conf(r'      - targets: \["notifier:9111"\]', "      - targets: []")),
    ("metrics on loopback", _set("api/environment/YIWANG_METRICS_HOST", "127.0.0.1"), read_from_disk),
    ("grafana always on", _set("grafana/profiles", None), read_from_disk),
]


@pytest.mark.parametrize(
    ("change", "read"), [b[1:] for b in MONITORING_BREAKAGES], ids=[b[0] for b in MONITORING_BREAKAGES]
)
def test_monitoring_check_catches(compose: Compose, change: Callable[[Compose], None], read: Reader) -> None:
    broken = copy.deepcopy(compose)
    change(broken)
    assert check_monitoring(broken, read) != []


def test_dashboard_check_catches() -> None:
    dashboard = json.loads((DASHBOARDS / "yiwang.json").read_text(encoding="utf-8"))
    exported = exported_series()
    renamed = copy.deepcopy(dashboard)
    renamed["panels"][0]["targets"][0]["expr"] = "sum(rate(yiwang_collector_rows_saved_total[1m]))"
    assert check_dashboard(renamed, exported) != []
    without_size = copy.deepcopy(dashboard)
    without_size["panels"] = [p for p in dashboard["panels"] if "yiwang_database_size_bytes" not in json.dumps(p)]
    assert check_dashboard(without_size, exported) != []

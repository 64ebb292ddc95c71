"""Settings, declared once.

Every setting is one row of ``SETTINGS``: it becomes a command-line flag
(``--cache-models``), an environment variable (``VISIONARY_CACHE_MODELS``) and a
field of the frozen ``Config``.  Flags win over environment variables, which win
over the defaults.  ``--help`` is generated from the same table, and so is the
README's configuration table check.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

ENV_PREFIX = "VISIONARY_"


@dataclass(frozen=True)
class Setting:
    name: str
    kind: type
    default: Any
    help: str
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("host", str, "127.0.0.1", "Address to listen on (0.0.0.0 serves the LAN).", "ADDR"),
    Setting("port", int, 7860, "TCP port to listen on.", "PORT"),
    Setting("share", bool, False, "Also publish a temporary public link through Gradio's share tunnel."),
    Setting("models_dir", str, "models_dir", "Folder of model files (uploads are stored here; files dropped in by hand are found at start-up).", "DIR"),
    Setting("outputs_dir", str, "outputs", "Folder where generated images are saved (outputs/<date>/).", "DIR"),
    Setting("db", str, "data/visionary.db", "Database: a SQLite file path, or a URL such as sqlite:///path.db or postgresql://user:pass@host/db.", "PATH_OR_URL"),
    Setting("device", str, "auto", "Torch device for generation: auto, cpu, cuda, cuda:1, mps.", "DEVICE"),
    Setting("cache_models", int, 2, "How many loaded checkpoints to keep in memory (LRU).", "N"),
    Setting("max_concurrent_generations", int, 1, "Generations that may run at once; the others wait in the queue.", "N"),
    Setting("max_upload_gb", float, 20.0, "Largest accepted upload, in GB.", "GB"),
    Setting("private", bool, False, "Require login for everything, browsing included."),
    Setting("admin_user", str, None, "Promote this existing user to admin at start-up.", "NAME"),
    Setting("local_owner", str, None, "Owner of models found in the models folder (default: the first admin).", "NAME"),
    Setting("allow_pickle_import", bool, False, "Accept .ckpt/.pt/.bin pickles by converting them to safetensors in a sandboxed process."),
)


class _ConfigPaths:
    """Derived values; the fields themselves come from ``SETTINGS``."""

    @property
    def models_path(self) -> Path:
        return Path(self.models_dir).resolve()

    @property
    def outputs_path(self) -> Path:
        return Path(self.outputs_dir).resolve()

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_gb * 1024**3)


Config = make_dataclass(
    "Config",
    [(s.name, s.kind if s.default is not None else (s.kind | None), field(default=s.default)) for s in SETTINGS],
    bases=(_ConfigPaths,),
    frozen=True,
)
Config.__doc__ = "The app's settings, one field per row of SETTINGS."


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"expected true/false, got {text!r}")


def _from_env(setting: Setting, environ: Mapping[str, str]) -> Any:
    raw = environ.get(setting.env)
    if raw is None:
        return setting.default
    try:
        if setting.kind is bool:
            return _parse_bool(raw)
        return setting.kind(raw)
    except (ValueError, ConfigError) as exc:
        raise ConfigError(f"{setting.env}={raw!r}: {exc}") from None


def build_parser(environ: Mapping[str, str] | None = None, epilog: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser; defaults already reflect the environment."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="visionary_app.py",
        description="Visionary Art: a self-hosted AI-painting sharing site. "
        f"Every flag can also be set with its {ENV_PREFIX}* environment variable.",
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for setting in SETTINGS:
        default = _from_env(setting, environ)
        help_text = f"{setting.help} [env {setting.env}; default: {setting.default}]"
        if setting.kind is bool:
            parser.add_argument(setting.flag, dest=setting.name, action=argparse.BooleanOptionalAction,
                                default=default, help=help_text)
        else:
            parser.add_argument(setting.flag, dest=setting.name, type=setting.kind, default=default,
                                metavar=setting.metavar, help=help_text)
    return parser


def validate(config: Config) -> Config:
    if not 1 <= config.port <= 65535:
        raise ConfigError(f"--port must be 1-65535, got {config.port}")
    if config.cache_models < 1:
        raise ConfigError("--cache-models must be at least 1")
    if config.max_concurrent_generations < 1:
        raise ConfigError("--max-concurrent-generations must be at least 1")
    if config.max_upload_gb <= 0:
        raise ConfigError("--max-upload-gb must be positive")
    return config


def config_from_namespace(namespace: argparse.Namespace) -> Config:
    values = {f.name: getattr(namespace, f.name) for f in fields(Config)}
    return validate(Config(**values))


def load_config(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
                epilog: str | None = None) -> Config:
    """Flags, then ``VISIONARY_*`` variables, then defaults."""
    parser = build_parser(environ, epilog)
    try:
        return config_from_namespace(parser.parse_args(argv))
    except ConfigError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits

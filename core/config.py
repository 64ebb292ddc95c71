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
from ipaddress import IPv4Network, IPv6Network, ip_network
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
    Setting("registration", str, None, "Who may create accounts: open (anyone), invite (with an invite code made by an admin) or closed (nobody on their own; an admin's invite code still works). Default: open, closed under --private. The first account of an empty site may always register.", "MODE"),
    Setting("registrations_per_hour", int, 10, "New accounts one client address may create per hour (more get 429). Raise it when many people register from behind one address, e.g. a school.", "N"),
    Setting("forwarded_allow_ips", str, "", "Reverse proxies whose X-Forwarded-For/-Host/-Proto headers are trusted (comma-separated addresses, or *). Default: none.", "ADDRS"),
    Setting("client_timeout", float, 60.0, "Seconds a client may take to send a request's headers, or stay silent (under 1 kB sent) while sending its body; then the connection is closed and a partial upload removed.", "SECONDS"),
    Setting("public_origin", str, None, "The site's public origin (e.g. https://art.example.org), then the only origin allowed to write with a session cookie; set it behind a reverse proxy. Default: the host each request was sent to.", "URL"),
    Setting("max_work_per_request", float, None, "Largest generation one request may ask for, in megapixel-steps (width x height x steps x batch / 1,000,000). Default by device: 40 on CPU, 4000 on a GPU (with --device auto: when an NVIDIA device or Apple silicon is found).", "MPX_STEPS"),
    Setting("generation_backend", str, "local", "Where images are made: local (a process beside this server) or ray (a pool of GPU workers on Ray Serve; make cluster installs Ray).", "BACKEND"),
    Setting("ray_address", str, "auto", "With --generation-backend ray: the Ray cluster to join: auto (the one this machine belongs to), HOST:PORT of its head, ray://HOST:10001, or local (start a one-machine Ray on a loopback address, to try it).", "ADDRESS"),
    Setting("ray_replicas", str, "1:2", "With ray: how many generation replicas, MIN:MAX (or N); the count follows the queue in between.", "MIN:MAX"),
    Setting("ray_models_per_replica", int, 2, "With ray: loaded checkpoints each replica keeps (LRU); runs go to a replica that holds theirs.", "K"),
    Setting("ray_gpus_per_replica", float, None, "With ray: GPUs each replica takes. Default: 1 when the cluster has GPUs, else 0 (CPU threads).", "N"),
    Setting("ray_cpus_per_replica", float, 1.0, "With ray: CPUs each replica takes (on a CPU-only pool, also its torch threads).", "N"),
    Setting("worker_cache_dir", str, "worker_cache", "With ray: each worker machine's cache of model files, by SHA-256 (an absolute path is the same on every machine).", "DIR"),
    Setting("worker_cache_gb", float, 100.0, "With ray: the most a worker's cache holds, in GB (least recently used files go first).", "GB"),
    Setting("worker_models_dir", str, None, "With ray: where the site's models folder is mounted on the workers (read-only, e.g. NFS), looked in before downloading from the site.", "DIR"),
    Setting("worker_site_url", str, None, "With ray: the address workers download model files from. Default: --public-origin, else http://HOST:PORT of this server.", "URL"),
    Setting("sdapi_anonymous_user", str, None, "Let /sdapi/v1 requests that carry no credentials act as this existing user, as A1111 tools expect on a hobbyist's own machine (Krita and Photoshop plugins, chat front-ends, scripts). Off by default; never applies to /api/v1 or the UI; a warning is logged when --host is not loopback.", "NAME"),
    Setting("max_queued_per_user", int, 4, "Generations one user may have waiting or running at once; more are refused (429). Users take turns in the queue.", "N"),
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
    def registration_mode(self) -> str:
        """open, invite or closed: the flag, else closed for a private site and open otherwise."""
        return self.registration or ("closed" if self.private else "open")

    @property
    def trusted_proxies(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """``--forwarded-allow-ips`` as networks (``*`` is every address); raises ValueError for a bad entry."""
        entries = [entry.strip() for entry in self.forwarded_allow_ips.split(",") if entry.strip()]
        if "*" in entries:
            return ip_network("0.0.0.0/0"), ip_network("::/0")
        return tuple(ip_network(entry, strict=False) for entry in entries)

    @property
    def ray_replica_range(self) -> tuple[int, int]:
        """``--ray-replicas`` as (min, max); raises ValueError for a bad value."""
        low, _, high = self.ray_replicas.partition(":")
        low, high = int(low), int(high or low)
        if not 0 <= low <= high or high < 1:
            raise ValueError("expected MIN:MAX with 0 <= MIN <= MAX and MAX >= 1")
        return low, high

    @property
    def local_url(self) -> str:
        """This server's own address (loopback when it listens on every address)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def site_url_for_workers(self) -> str:
        """Where generation replicas reach this site."""
        return (self.worker_site_url or self.public_origin or self.local_url).rstrip("/")

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
    if config.registration not in (None, "open", "invite", "closed"):
        raise ConfigError(f"--registration must be open, invite or closed, got {config.registration!r}")
    if config.registrations_per_hour < 1:
        raise ConfigError("--registrations-per-hour must be at least 1")
    if config.max_work_per_request is not None and config.max_work_per_request <= 0:
        raise ConfigError("--max-work-per-request must be positive")
    if config.max_queued_per_user < 1:
        raise ConfigError("--max-queued-per-user must be at least 1")
    _validate_generation_backend(config)
    if config.client_timeout <= 0:
        raise ConfigError("--client-timeout must be positive")
    try:
        _ = config.trusted_proxies  # parsed now, so a bad value stops the start with one line
    except ValueError as exc:
        raise ConfigError(f"--forwarded-allow-ips: {exc} (expected addresses or networks, comma-separated, or *)") from None
    if config.public_origin is not None and not config.public_origin.startswith(("http://", "https://")):
        raise ConfigError(f"--public-origin must start with http:// or https://, got {config.public_origin!r}")
    return config


def _validate_generation_backend(config: Config) -> None:
    if config.generation_backend not in ("local", "ray"):
        raise ConfigError(f"--generation-backend must be local or ray, got {config.generation_backend!r}")
    try:
        _ = config.ray_replica_range
    except ValueError as exc:
        raise ConfigError(f"--ray-replicas {config.ray_replicas!r}: {exc}") from None
    if config.ray_models_per_replica < 1:
        raise ConfigError("--ray-models-per-replica must be at least 1")
    if config.ray_gpus_per_replica is not None and config.ray_gpus_per_replica < 0:
        raise ConfigError("--ray-gpus-per-replica must be 0 or more")
    if config.ray_cpus_per_replica <= 0:
        raise ConfigError("--ray-cpus-per-replica must be positive")
    if config.worker_cache_gb <= 0:
        raise ConfigError("--worker-cache-gb must be positive")


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

"""One rule for what counts as a secret, applied to everything a run records or prints.

A value is secret when its key is named like a credential (``api_key``, ``hf_auth``,
``db_password``, ``aws_access_key_id``, ...) or when the value itself carries one: the password
of a ``scheme://user:pass@host`` URL, or a token with a well-known prefix (``ghp_``, ``hf_``,
``sk-``, ``AKIA``...). The same rule covers config dicts, command-line overrides (including
dict-valued ones, ``foo={token: x}``), Hydra's files in each run folder and log records.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hydra.core.utils import JobReturn
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

REDACTED = "<redacted>"

# A name is split into lower-cased words (at non-alphanumerics and camelCase humps); it is
# secret when a word is a credential word, optionally after a qualifier (``apikey``).
_QUALIFIER = r"(?:api|access|secret|private|session|auth|client|refresh|id|bearer|master|ssh)?"
_CREDENTIAL = (
    r"(?:key|token|secrets?|password|passwd|pwd|pass|passphrase|credentials?|creds"
    r"|o?auth|authorization|private|cookies?|sessionid)"
)
_SECRET_WORD = re.compile(rf"{_QUALIFIER}{_CREDENTIAL}")
_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# Tokens recognisable by their prefix, replaced whole wherever they appear.
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|xox[bpas]-[A-Za-z0-9-]{10,}"
    r"|AKIA[0-9A-Z]{16}(?![0-9A-Z])"
    r")"
)
# The password of a URL's userinfo: up to the host's ``@`` (the last one before the path, as
# RFC 3986 keeps / ? # out of userinfo). Hydra escapes ``:`` in sweep jobs' overrides.
_URL_PASSWORD = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*\\?://[^:/?#@\s\\]*)(?P<sep>\\?:)[^/?#\s]+@"
)
# ``name=value`` or ``name: value`` at the start of a string or after a separator: in an
# override, a dict-valued override, Hydra's ``override_dirname``, a URL's query or a log line
# (``{'api_key': 'x'}``).
_ASSIGNMENT = re.compile(
    r"(?:^|(?<=[\s,{\[(?&;'\"]))(?P<quote>['\"]?)(?P<name>[+~]*[A-Za-z_][\w.@/-]*)(?P=quote)"
    r"\s*(?P<sep>=|:)\s*"
)
_OPEN, _CLOSE = "{[(", "}])"


def is_secret_key(name: object) -> bool:
    """Whether a config key or override path (``+logger.wandb.api_key``) names a credential.

    Words are tried alone and glued to the next one, so ``session_id`` reads as ``sessionid``.
    """
    words = re.split(r"[^a-z0-9]+", _HUMP.sub("_", str(name)).lower())
    pairs = [a + b for a, b in itertools.pairwise(words)]
    return any(_SECRET_WORD.fullmatch(word) for word in words + pairs)


def _value_end(text: str, start: int) -> int:
    """Index just past the value starting at ``start``: up to a comma or closing bracket at
    its own nesting level, with quotes and backslash escapes respected."""
    depth, quote, i = 0, "", start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE and depth > 0:
            depth -= 1
        elif char in _CLOSE or (char == "," and depth == 0):
            return i
        i += 1
    return len(text)


def redact_text(text: str) -> str:
    """``text`` with credentials replaced: values assigned to secret-looking names, URL
    passwords and prefixed tokens. Used on every string value, override and log line."""
    parts, pos = [], 0
    for match in _ASSIGNMENT.finditer(text):
        if match.start() < pos or not is_secret_key(match["name"]):
            continue
        # ``scheme://...`` is a URL, not a name followed by a value.
        if match["sep"] == ":" and text.startswith("//", match.end()):
            continue
        end = _value_end(text, match.end())
        parts += [text[pos : match.end()], REDACTED]
        pos = end
    parts.append(text[pos:])
    text = "".join(parts)
    text = _URL_PASSWORD.sub(rf"\g<head>\g<sep>{REDACTED}@", text)
    return _TOKEN.sub(REDACTED, text)


def redact(value: Any) -> Any:
    """Copy of a config (dicts, lists, strings) with every secret replaced by ``REDACTED``.

    Configs may interpolate environment variables (``${oc.env:...}``); whatever a key named
    like a credential resolves to never reaches a logger, a file or the console.
    """
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_overrides(overrides: list[str]) -> list[str]:
    """Command-line overrides with their secrets replaced (``key=<redacted>``)."""
    return [redact_text(override) for override in overrides]


def redact_yaml_file(path: Path) -> None:
    """Rewrite a YAML file with its secrets redacted; an unchanged file is left untouched.

    The temporary name is per process: parallel sweep jobs may rewrite the same file.
    """
    if not path.is_file():
        return
    data = yaml.safe_load(path.read_text())
    clean = redact(data)
    if clean == data:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(yaml.safe_dump(clean, sort_keys=False, allow_unicode=True))
    os.replace(tmp, path)


class _RedactingRecordFactory:
    """Makes log records with their secrets redacted, whichever handlers logging has later
    (Hydra's launchers reconfigure logging, then log each sweep job's overrides)."""

    def __init__(self, make: Callable[..., logging.LogRecord]) -> None:
        self._make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when the record is emitted
            return record
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record


def redact_log_records() -> None:
    """From now on, every log record of this process is made with its secrets redacted."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(current))


class RedactHydraFiles(Callback):
    """Redact what Hydra records of a run: its ``.hydra/`` files, a sweep's ``multirun.yaml``
    and its log lines.

    Hydra writes ``config.yaml``, ``hydra.yaml`` and ``overrides.yaml`` with every override as
    typed just before ``on_job_start``; this rewrites them before the job runs. The sweeper
    writes ``multirun.yaml`` after ``on_multirun_start``, so each job (in whatever process a
    launcher runs it) redacts that too, and the sweep's end redacts what the sweeper added.
    A failed job's overrides, which Hydra prints, are redacted at its end.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        redact_log_records()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        redact_log_records()
        hydra_cfg = config.hydra
        if hydra_cfg.output_subdir is not None:
            folder = Path(hydra_cfg.runtime.output_dir) / str(hydra_cfg.output_subdir)
            for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
                redact_yaml_file(folder / name)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            redact_yaml_file(Path(hydra_cfg.sweep.dir) / "multirun.yaml")

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        # Hydra prints a failed job's overrides to stderr after this hook.
        job_return.overrides = redact_overrides(list(job_return.overrides or []))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        # A sweeper may leave more records at the end (Optuna: optimization_results.yaml).
        for path in Path(config.hydra.sweep.dir).glob("*.yaml"):
            redact_yaml_file(path)

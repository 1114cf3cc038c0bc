"""Secrets never reach a run's files, W&B or the console: the rule, then real runs."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.utils import JobReturn
from omegaconf import OmegaConf

from ganlab.config import CONF_DIR
from ganlab.run.redaction import (
    REDACTED,
    RedactHydraFiles,
    is_secret_key,
    redact,
    redact_log_records,
    redact_overrides,
    redact_text,
    redact_yaml_file,
)

from .test_cli import ROOT, run_dirs, run_train

# Made up at run time, so no file holds a string shaped like a real token.
GITHUB = "ghp_" + "Z9" * 18
GITHUB_PAT = "github_pat_" + "A1b2" * 6
GITLAB = "glpat-" + "q7" * 10
HUGGING_FACE = "hf_" + "Hf4" * 11
OPENAI = "sk-" + "pr0j" * 6
SLACK = "xoxb-" + "5" * 12 + "-t0k3n"
AWS = "AKIA" + "ABCD2345" * 2

SECRET_KEYS = [
    "api_key",
    "apikey",
    "apiKey",
    "APIKey",
    "access_key",
    "private_key",
    "aws_access_key_id",
    "aws_secret_access_key",
    "+logger.wandb.api_key",
    "HF_TOKEN",
    "hf_auth",
    "auth_token",
    "oauth",
    "client_secret",
    "secrets",
    "db_password",
    "passwd",
    "smtp_pass",
    "passphrase",
    "credentials",
    "credential",
    "session_key",
    "sessionId",
    "session_id",
    "cookie",
    "private",
    "Authorization",
]
PLAIN_KEYS = [
    "keep",
    "monkey",
    "keyboard",
    "exclude_keys",
    "author",
    "authors",
    "tokenizer",
    "max_tokens",
    "passed",
    "epochs",
    "optimized_metric",
    "name",
    "url",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_credential_names_are_secret(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", PLAIN_KEYS)
def test_other_names_are_not(key: str) -> None:
    assert not is_secret_key(key)


# (text, redacted): overrides as typed, as Hydra escapes them in sweep jobs, and free text.
TEXTS = [
    ("+extra.db_password=hunter2", "+extra.db_password=<redacted>"),
    ("+x.api_key=${oc.env:KEY}", "+x.api_key=<redacted>"),
    ("+x.token='a,b',y=1", "+x.token=<redacted>,y=1"),
    ("data=digits", "data=digits"),
    ("foo={token: x}", "foo={token: <redacted>}"),
    (
        "+wandb.settings={api_key:abc,mode:offline}",
        "+wandb.settings={api_key:<redacted>,mode:offline}",
    ),
    ("f={a:{password:'x,y'},b:[1,2]}", "f={a:{password:<redacted>},b:[1,2]}"),
    ("f={auth:{user:u,pass:p},b:2}", "f={auth:<redacted>,b:2}"),
    ("db=https://bob:pa55@db.example/x?y=1", "db=https://bob:<redacted>@db.example/x?y=1"),
    (r"db=https\://bob\:pa55@db.example/x", r"db=https\://bob\:<redacted>@db.example/x"),
    ("u=postgresql://bob:p@ss@h:5432/d", "u=postgresql://bob:<redacted>@h:5432/d"),
    ("u=[https://u:p1@a.example,ok]", "u=[https://u:<redacted>@a.example,ok]"),
    ("u=https://host:8080/p?q=a@b", "u=https://host:8080/p?q=a@b"),
    ("u=https://bob@host/x", "u=https://bob@host/x"),
    (f"t={GITHUB}", "t=<redacted>"),
    (f"clone https://{GITHUB}@github.com/o/r", "clone https://<redacted>@github.com/o/r"),
    (f"t={GITHUB_PAT}", "t=<redacted>"),
    (f"t={GITLAB}", "t=<redacted>"),
    (f"t=[{HUGGING_FACE},x]", "t=[<redacted>,x]"),
    (f"t={OPENAI}", "t=<redacted>"),
    (f"t={SLACK}", "t=<redacted>"),
    (f"t={AWS}", "t=<redacted>"),
    ("task-" + "a" * 30, "task-" + "a" * 30),
    ("hf_hub_download", "hf_hub_download"),
    ("AKIA" + "A" * 17, "AKIA" + "A" * 17),
    ("${model.name}_${hydra:runtime.choices.data}", "${model.name}_${hydra:runtime.choices.data}"),
    ("token: abc", "token: <redacted>"),
    ("https://h/x?access_token=abc&b=1", "https://h/x?access_token=<redacted>"),
    ("{'api_key': 'x', 'b': 2}", "{'api_key': <redacted>, 'b': 2}"),
]


@pytest.mark.parametrize(("text", "expected"), TEXTS, ids=[t for t, _ in TEXTS])
def test_text_keeps_everything_but_the_credential(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_configs_are_redacted_by_key_and_by_value_at_any_depth() -> None:
    config = {
        "logger": {"wandb": {"api_key": "k", "settings": {"auth": {"user": "u"}}, "tags": []}},
        "data": {"root": "/data", "url": "s3://me:pw@bucket/x", "mirrors": [GITHUB, 3]},
        "optim": {"lr": 1e-4, "betas": [0.5, 0.999]},
        "hydra": {"overrides": {"task": ["+a.token=t", "b=1"]}},
        "nothing": None,
    }
    assert redact(config) == {
        "logger": {"wandb": {"api_key": REDACTED, "settings": {"auth": REDACTED}, "tags": []}},
        "data": {"root": "/data", "url": "s3://me:<redacted>@bucket/x", "mirrors": [REDACTED, 3]},
        "optim": {"lr": 1e-4, "betas": [0.5, 0.999]},
        "hydra": {"overrides": {"task": ["+a.token=<redacted>", "b=1"]}},
        "nothing": None,
    }
    assert redact_overrides(["x.password=p", "y=2"]) == ["x.password=<redacted>", "y=2"]


@pytest.mark.parametrize(
    "path",
    sorted([*CONF_DIR.rglob("*.yaml"), *(ROOT / "experiments").glob("*.yaml")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_key_or_value_of_a_shipped_config_is_redacted(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert redact(data) == data


def test_no_setting_of_hydra_or_its_plugins_is_redacted() -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for plugins in (["launcher=slurm"], ["launcher=joblib", "hparams_search=optuna"]):
            config = compose("train", overrides=plugins, return_hydra_config=True)
            data = OmegaConf.to_container(config, resolve=False)
            assert redact(data) == data, plugins
    GlobalHydra.instance().clear()


def test_yaml_files_are_rewritten_only_when_they_hold_a_secret(tmp_path: Path) -> None:
    clean, dirty = tmp_path / "clean.yaml", tmp_path / "dirty.yaml"
    clean.write_text("a: 1   # kept as written\n")
    dirty.write_text("- +x.hf_auth=abc\n- data=digits\n")
    redact_yaml_file(clean)
    redact_yaml_file(dirty)
    redact_yaml_file(tmp_path / "missing.yaml")
    assert clean.read_text() == "a: 1   # kept as written\n"
    assert yaml.safe_load(dirty.read_text()) == ["+x.hf_auth=<redacted>", "data=digits"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.yaml", "dirty.yaml"]


def test_log_records_are_made_redacted(caplog: pytest.LogCaptureFixture) -> None:
    previous = logging.getLogRecordFactory()
    try:
        redact_log_records()
        redact_log_records()  # a second job in the same process adds nothing
        logging.getLogger("ganlab.test").warning("#0 : +x.token=%s", "abc")
        logging.getLogger("ganlab.test").warning("%s and %s", "plain", 2)
    finally:
        logging.setLogRecordFactory(previous)
    assert caplog.messages == ["#0 : +x.token=<redacted>", "plain and 2"]


def test_a_failed_job_reports_redacted_overrides() -> None:
    job = JobReturn(overrides=["+x.secret=s", "data=digits"])
    RedactHydraFiles().on_job_end(config=OmegaConf.create(), job_return=job)
    assert job.overrides == ["+x.secret=<redacted>", "data=digits"]


ENV_SECRET = "env-secret-5d1c"
TINY = ["data=digits", "model=mlp", "gan.max_g_steps=2", "callbacks=quiet", "logger=wandb"]
SECRET_OVERRIDES = [
    "+extra.api_key=plain-key-3e8a",
    "+extra.hf_auth=${oc.env:GANLAB_TEST_SECRET}",
    "+extra.aws_secret_access_key=aws-secret-9b0f",
    "+extra.db=postgresql://bob:url-pass-11c4@db.example:5432/gan",
    "+extra.mirrors=[https://ann:list-pass-77d2@m.example/x,plain]",
    f"+extra.tokens={{gh: {GITHUB}, pat: {GITHUB_PAT}, lab: {GITLAB}}}",
    f"+extra.more=[{HUGGING_FACE},{OPENAI},{SLACK},{AWS}]",
    "+extra.nested={auth: {user: u, key: nested-secret-40aa}, mode: x}",
    "+logger.wandb.settings={api_key: wandb-key-8c21}",  # reaches wandb.init
]
SECRETS = [
    ENV_SECRET,
    "plain-key-3e8a",
    "aws-secret-9b0f",
    "url-pass-11c4",
    "list-pass-77d2",
    "nested-secret-40aa",
    "wandb-key-8c21",
    GITHUB,
    GITHUB_PAT,
    GITLAB,
    HUGGING_FACE,
    OPENAI,
    SLACK,
    AWS,
]


def _assert_no_secret(out: Path, proc: subprocess.CompletedProcess[str]) -> list[Path]:
    files = [p for p in out.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, (path, secret)
    for secret in SECRETS:
        assert secret not in proc.stdout + proc.stderr, secret
    return files


Run = tuple[Path, Path, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("single")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GANLAB_TEST_SECRET", ENV_SECRET)
        proc = run_train(*TINY, "name=secrets", *SECRET_OVERRIDES, out=out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = run_dirs(out, "secrets")
    return out, run, proc


def test_no_file_of_a_run_and_no_console_line_holds_a_secret(single: Run) -> None:
    out, run, proc = single
    files = _assert_no_secret(out, proc)
    names = {str(p.relative_to(run)) for p in files}
    assert {".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml"} <= names
    assert {"config.yaml", "summary.json", "metrics.csv", "train.log"} <= names
    assert any(p.suffix == ".wandb" for p in files)


def test_redacted_records_keep_what_is_not_secret(single: Run) -> None:
    _, run, _ = single
    overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text())
    assert "+extra.api_key=<redacted>" in overrides and "data=digits" in overrides
    assert "+extra.nested={auth: <redacted>, mode: x}" in overrides
    summary = json.loads((run / "summary.json").read_text())
    assert summary["overrides"] == overrides
    assert "+extra.hf_auth=<redacted>" in summary["command"]
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["extra"]["db"] == "postgresql://bob:<redacted>@db.example:5432/gan"
    assert config["extra"]["more"] == [REDACTED] * 4
    hydra_cfg = yaml.safe_load((run / ".hydra" / "hydra.yaml").read_text())["hydra"]
    assert hydra_cfg["overrides"]["task"] == overrides
    assert hydra_cfg["job"]["name"] == "train"
    (records,) = (run / "wandb").glob("offline-run-*/run-*.wandb")
    data = records.read_bytes()
    assert b"+extra.api_key=<redacted>" in data  # the W&B tags
    assert b"max_g_steps" in data  # the W&B config


@pytest.mark.slow  # a real multirun: make test-slow
def test_a_sweep_job_records_and_prints_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANLAB_TEST_SECRET", ENV_SECRET)
    proc = run_train("-m", *TINY, *SECRET_OVERRIDES, "loss=ns", out=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = _assert_no_secret(tmp_path, proc)
    (sweep,) = (tmp_path / "multirun").iterdir()
    assert {sweep / "multirun.yaml", sweep / "0" / ".hydra" / "hydra.yaml"} <= set(files)
    assert "#0 : " in proc.stdout  # Hydra's launcher logs the job's overrides


def test_a_crashing_run_prints_its_overrides_redacted(tmp_path: Path) -> None:
    proc = run_train(*TINY, "+logger.wandb.api_key=crash-key-2f6e", out=tmp_path)
    assert proc.returncode == 1
    assert "+logger.wandb.api_key=<redacted>" in proc.stderr  # "Error executing job with ..."
    assert "crash-key-2f6e" not in proc.stdout + proc.stderr
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and b"crash-key" in p.read_bytes()]

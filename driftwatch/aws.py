"""boto3 clients per account × region × service: assume-role, adaptive retries, call counting."""

from __future__ import annotations

import html
import re
import threading
from collections import Counter
from typing import Any

import boto3
import botocore.exceptions as bex
from botocore.config import Config as BotoConfig
from botocore.credentials import DeferredRefreshableCredentials
from botocore.session import get_session

from driftwatch import __version__
from driftwatch.config import AccountConfig, AwsConfig

GLOBAL_API_REGION = "us-east-1"


class CallCounter:
    """Counts API calls made (each retry attempt counted once per request) by operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_operation: Counter[str] = Counter()

    def __call__(self, model: Any = None, **_: Any) -> None:
        with self._lock:
            self.by_operation[model.name if model is not None else "?"] += 1

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())


class AwsSessions:
    """Hands out cached, thread-safe clients; assumes roles lazily, once per account."""

    def __init__(self, cfg: AwsConfig, counter: CallCounter | None = None) -> None:
        self.cfg = cfg
        self.counter = counter or CallCounter()
        self._lock = threading.Lock()
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._boto_config = BotoConfig(
            retries={"mode": "adaptive", "max_attempts": cfg.max_attempts},
            max_pool_connections=cfg.max_concurrency + 2,
            connect_timeout=cfg.connect_timeout,
            read_timeout=cfg.read_timeout,
            user_agent_extra=f"driftwatch/{__version__}",
            s3={"addressing_style": "path"} if cfg.endpoint_url else None,
        )

    def client(self, account: AccountConfig, region: str, service: str) -> Any:
        key = (account.name, region, service)
        with self._lock:
            if key not in self._clients:
                session = self._session(account)
                client = session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.cfg.endpoint_url,
                    config=self._boto_config,
                )
                client.meta.events.register("before-call", self.counter)
                self._clients[key] = client
            return self._clients[key]

    def _session(self, account: AccountConfig) -> boto3.Session:
        if account.name not in self._sessions:
            self._sessions[account.name] = (
                self._assumed_session(account) if account.role_arn else boto3.Session()
            )
        return self._sessions[account.name]

    def _assumed_session(self, account: AccountConfig) -> boto3.Session:
        sts = boto3.Session().client(
            "sts",
            region_name=account.regions[0],
            endpoint_url=self.cfg.endpoint_url,
            config=self._boto_config,
        )
        sts.meta.events.register("before-call", self.counter)

        def refresh() -> dict[str, str]:
            params = {"RoleArn": account.role_arn, "RoleSessionName": "driftwatch"}
            if account.external_id:
                params["ExternalId"] = account.external_id
            creds = sts.assume_role(**params)["Credentials"]
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        botocore_session = get_session()
        botocore_session._credentials = DeferredRefreshableCredentials(
            refresh_using=refresh, method="sts-assume-role"
        )
        return boto3.Session(botocore_session=botocore_session)


MAX_REASON = 300
_HTML = re.compile(r"<(!doctype|html|head|body|title|h1|p|pre)\b", re.I)
_NOT_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.S | re.I)


def describe_error(exc: BaseException) -> str:
    """One line of plain text naming an AWS failure by its error code, without request secrets.

    Proxies and stand-ins answer errors with HTML pages, which botocore passes on as
    the message: tags are dropped, whitespace collapsed and the length bounded.
    """
    return one_line(_describe(exc))


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """`text` on one line, at most `limit` characters; an HTML page as its text."""
    if _HTML.search(text):  # not an AWS message, which may quote a `<value>` of its own
        text = html.unescape(_NOT_TEXT.sub(" ", text))
    plain = " ".join(text.split())
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, bex.ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code") or "ClientError"
        message = err.get("Message") or str(exc)
        return f"{code}: {message}"
    if isinstance(exc, bex.EndpointConnectionError | bex.ConnectTimeoutError):
        return f"EndpointUnreachable: {exc}"
    if isinstance(exc, bex.ReadTimeoutError):
        return f"ReadTimeout: {exc}"
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return f"NoCredentials: {exc}; configure the standard AWS credential chain"
    if isinstance(exc, bex.BotoCoreError):
        return f"{type(exc).__name__}: {exc}"
    return f"CollectorError: {type(exc).__name__}: {exc}"

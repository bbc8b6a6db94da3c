"""botocore clients per account × region × service: assume-role, retries, call counting."""

from __future__ import annotations

import html
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions as bex
from botocore.config import Config as BotoConfig
from botocore.credentials import DeferredRefreshableCredentials
from botocore.parsers import ResponseParserError
from botocore.session import Session as BotocoreSession
from botocore.session import get_session

from driftwatch import __version__, answers
from driftwatch.config import AccountConfig, AwsConfig
from driftwatch.retries import install as install_retries

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


@dataclass
class _Slot:
    """A botocore session and the lock that serialises its client creation.

    Sessions are not thread-safe. There is one per role account, one shared by the
    accounts that use the base credentials, and one for the STS clients.
    """

    session: BotocoreSession
    lock: threading.Lock = field(default_factory=threading.Lock)


class AwsSessions:
    """Hands out cached, thread-safe clients; assumes roles lazily, once per account.

    Accounts are set up concurrently: each has its own session and lock, so one
    account's setup never waits for another's, and a client already made is handed
    out without any lock. Every session shares one data loader, so service models
    are parsed once rather than once per account, and the base credentials are
    resolved once for the accounts that use them and once for the STS clients that
    assume the roles (not once per account).
    """

    def __init__(self, cfg: AwsConfig, counter: CallCounter | None = None) -> None:
        self.cfg = cfg
        self.counter = counter or CallCounter()
        self._base = _Slot(get_session())
        self._loader = self._base.session.get_component("data_loader")
        self._sts = _Slot(self._new_session())  # makes the STS clients that assume roles
        self._guard = threading.Lock()  # only for the two dictionaries below
        self._slots: dict[str, _Slot] = {}
        self._account_locks: dict[str, threading.Lock] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._boto_config = BotoConfig(
            # driftwatch.retries replaces the standard handler: see why there.
            retries={"mode": "standard", "total_max_attempts": cfg.max_attempts},
            max_pool_connections=cfg.max_concurrency + 2,
            connect_timeout=cfg.connect_timeout,
            read_timeout=cfg.read_timeout,
            user_agent_extra=f"driftwatch/{__version__}",
            s3={"addressing_style": "path"} if cfg.endpoint_url else None,
        )

    def client(self, account: AccountConfig, region: str, service: str) -> Any:
        key = (account.name, region, service)
        client = self._clients.get(key)
        if client is not None:
            return client
        slot = self._slot(account)
        with slot.lock:
            if key not in self._clients:
                self._clients[key] = self._new_client(slot.session, region, service)
            return self._clients[key]

    def _new_client(self, session: BotocoreSession, region: str, service: str) -> Any:
        client = session.create_client(
            service,
            region_name=region,
            endpoint_url=self.cfg.endpoint_url,
            config=self._boto_config,
        )
        client.meta.events.register("before-call", self.counter)
        install_retries(client, self.cfg.max_attempts)
        answers.install(client)  # after the retries' pacing, which also hooks before-send
        return client

    def _slot(self, account: AccountConfig) -> _Slot:
        if not account.role_arn:
            return self._base
        slot = self._slots.get(account.name)
        if slot is not None:
            return slot
        with self._guard:
            lock = self._account_locks.setdefault(account.name, threading.Lock())
        with lock:
            if account.name not in self._slots:
                self._slots[account.name] = _Slot(self._assumed_session(account))
            return self._slots[account.name]

    def _new_session(self) -> BotocoreSession:
        session = get_session()
        session.register_component("data_loader", self._loader)
        return session

    def _assumed_session(self, account: AccountConfig) -> BotocoreSession:
        with self._sts.lock:
            sts = self._new_client(self._sts.session, account.regions[0], "sts")

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

        session = self._new_session()
        session._credentials = DeferredRefreshableCredentials(
            refresh_using=refresh, method="sts-assume-role"
        )
        return session


# What AWS (or the way to it) can fail with, as opposed to a driftwatch bug.
AWS_FAILURES = (bex.ClientError, bex.BotoCoreError, ResponseParserError)
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
    if isinstance(exc, ResponseParserError):  # the answer was unreadable: no body quoted
        first_line = str(exc).split("\n", 1)[0].rstrip(":")
        return f"ResponseParserError: {first_line}"
    if isinstance(exc, bex.BotoCoreError):
        return f"{type(exc).__name__}: {exc}"
    return f"CollectorError: {type(exc).__name__}: {exc}"

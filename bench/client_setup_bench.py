"""Client setup for a large fan-out: `AwsSessions` against the old serial way, in one run.

A scan of A accounts (each assuming a role) × R regions × S regional services needs
A × R × S boto3 clients before those scopes can be read. This creates them all, as
`Collection` asks for them (a thread pool of `max_concurrency`, scopes in sorted
order), then makes each account's first call (AssumeRole, then GetCallerIdentity)
against a moto server process, and times:

- **new**: `driftwatch.aws.AwsSessions` (a session and lock per account, one shared
  data loader, lock-free hand-out of clients already made);
- **serial**: `SerialSessions` below, the implementation before (`617526c`): one lock
  around every hand-out, a fresh `boto3.Session` (and so a fresh data loader) per account;
- **floor**: botocore's own `create_client` in one warm session, serially: the cost of
  a client that no session strategy can go below in one Python process.

Sides alternate; each runs in a fresh interpreter state for its sessions (models are
loaded again per `AwsSessions`/`SerialSessions`, as in a scan). No AWS is contacted.

    .venv/bin/python bench/client_setup_bench.py                 # 50 × 17 × 9, once each
    .venv/bin/python bench/client_setup_bench.py --accounts 10 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
import botocore
from botocore.config import Config as BotoConfig
from botocore.credentials import DeferredRefreshableCredentials
from botocore.session import get_session

from driftwatch import __version__
from driftwatch.aws import AwsSessions, CallCounter
from driftwatch.config import AccountConfig, AwsConfig
from driftwatch.motoserver import MotoServer

REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2",
)  # fmt: skip
SERVICES = ("s3", "ec2", "lambda", "dynamodb", "sqs", "sns", "rds", "kms", "logs")
TARGET_S = 5.0


class Sessions(Protocol):
    def client(self, account: AccountConfig, region: str, service: str) -> Any: ...


class SerialSessions:
    """AwsSessions as it was before (617526c), kept verbatim as the baseline."""

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


@dataclass
class Run:
    """One side's timing: every client made, then every account's first call."""

    clients_s: float
    first_calls_s: float
    calls: int
    cpu_s: float  # this process, all threads (the moto server is another process)

    @property
    def total_s(self) -> float:
        return self.clients_s + self.first_calls_s


def aws_config(url: str, accounts: int, regions: int, workers: int) -> AwsConfig:
    names = REGIONS[:regions]
    return AwsConfig(
        regions=names,
        accounts=tuple(
            AccountConfig(
                f"acct{i:03d}", names, role_arn=f"arn:aws:iam::{100000000000 + i}:role/read"
            )
            for i in range(accounts)
        ),
        endpoint_url=url,
        max_concurrency=workers,
    )


def fan_out(make: Callable[[AwsConfig], Sessions], cfg: AwsConfig, services: int) -> Run:
    """Every scope's client from a pool, as Collection asks; then each account's first call."""
    sessions = make(cfg)
    scopes = [(a, r, s) for a in cfg.accounts for r in a.regions for s in SERVICES[:services]]
    with ThreadPoolExecutor(cfg.max_concurrency) as pool:
        cpu = time.process_time()
        start = time.perf_counter()
        for _ in pool.map(lambda scope: sessions.client(*scope), scopes):
            pass
        made = time.perf_counter()

        def first_call(account: AccountConfig) -> None:
            sessions.client(account, account.regions[0], "sts").get_caller_identity()

        for _ in pool.map(first_call, cfg.accounts):
            pass
        done = time.perf_counter()
    return Run(made - start, done - made, len(scopes), time.process_time() - cpu)


def floor_ms(cfg: AwsConfig, services: int, sample: int = 3) -> float:
    """botocore's create_client in one warm session: ms a client, serially."""
    session = get_session()
    config = BotoConfig(retries={"mode": "adaptive", "max_attempts": cfg.max_attempts})
    kw: dict[str, Any] = {"endpoint_url": cfg.endpoint_url, "config": config}
    for service in SERVICES[:services]:  # warm: models loaded once
        session.create_client(service, region_name=cfg.regions[0], **kw)
    regions = cfg.regions[1 : 1 + sample] or cfg.regions
    start = time.perf_counter()
    for region in regions:
        for service in SERVICES[:services]:
            session.create_client(service, region_name=region, **kw)
    return (time.perf_counter() - start) * 1000 / (len(regions) * services)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--regions", type=int, default=len(REGIONS), choices=range(1, 18))
    ap.add_argument("--services", type=int, default=len(SERVICES), choices=range(1, 10))
    ap.add_argument("--workers", type=int, default=8, help="max_concurrency (default 8)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--max-seconds", type=float, help=f"exit 1 when new takes longer (the target is {TARGET_S})"
    )
    args = ap.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    print(
        f"python {platform.python_version()}, boto3 {boto3.__version__}, "
        f"botocore {botocore.__version__}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    with MotoServer(log_path=None) as moto:
        cfg = aws_config(moto.url, args.accounts, args.regions, args.workers)
        sides: dict[str, Callable[[AwsConfig], Sessions]] = {
            "new": AwsSessions,
            "serial": SerialSessions,
        }
        runs: dict[str, list[Run]] = {name: [] for name in sides}
        for i in range(args.repeat):
            for name in sorted(sides, reverse=i % 2 == 1):  # alternate which side goes first
                runs[name].append(fan_out(sides[name], cfg, args.services))
        report(runs, floor_ms(cfg, args.services), args)


def report(runs: dict[str, list[Run]], floor: float, args: argparse.Namespace) -> None:
    n = runs["new"][0].calls
    print(
        f"fan-out: {args.accounts} accounts × {args.regions} regions × {args.services} "
        f"services = {n} clients, {args.workers} threads, median of {args.repeat}"
    )
    med: dict[str, Run] = {}
    for name, rs in runs.items():
        med[name] = Run(
            statistics.median(r.clients_s for r in rs),
            statistics.median(r.first_calls_s for r in rs),
            n,
            statistics.median(r.cpu_s for r in rs),
        )
        m = med[name]
        print(
            f"  {name:<7} clients {m.clients_s:7.2f} s ({m.clients_s * 1000 / n:5.2f} ms each)"
            f" + first call per account {m.first_calls_s:5.2f} s = {m.total_s:7.2f} s"
            f" (CPU {m.cpu_s:.2f} s)   runs: {', '.join(f'{r.total_s:.2f}' for r in rs)}"
        )
    print(f"  floor   botocore create_client, one warm session: {floor:.2f} ms a client")
    ratio = med["serial"].total_s / med["new"].total_s
    cpu_ratio = med["serial"].cpu_s / med["new"].cpu_s
    print(f"speed-up new vs serial: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU")
    verdict = "meets" if med["new"].total_s < TARGET_S else "misses"
    print(
        f"target < {TARGET_S:.0f} s for this fan-out: new {verdict} it "
        f"({med['new'].total_s:.2f} s); the floor alone is {floor * n / 1000:.1f} s"
    )
    if args.max_seconds is not None and med["new"].total_s > args.max_seconds:
        sys.exit(1)


if __name__ == "__main__":
    main()

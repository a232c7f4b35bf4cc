"""``notary witness``: a C2SP tlog-witness that another party runs beside the notary's log.

A witness has its own Ed25519 key and its own state, and depends only on ``client_sdk`` (formats,
Merkle proofs) and the web stack, never on the service's settings, database or runtime. Read in
this order:

* :mod:`ipnotary.witness.protocol`: :class:`Witness`, the add-checkpoint decision in the
  spec's order;
* :mod:`ipnotary.witness.state`: the SQLite state and the atomic, durable check-and-store
  step;
* :mod:`ipnotary.witness.app`: HTTP (status codes, body limits);
  :mod:`ipnotary.witness.cli`: commands;
* :mod:`ipnotary.witness.keys` and :mod:`ipnotary.witness.errors`.
"""

from ipnotary.witness.errors import WitnessError
from ipnotary.witness.protocol import MAX_REQUEST_BYTES, Witness, init_witness, open_witness

__all__ = ["MAX_REQUEST_BYTES", "Witness", "WitnessError", "init_witness", "open_witness"]

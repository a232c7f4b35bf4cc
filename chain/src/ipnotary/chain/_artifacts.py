"""Compiled contracts shipped with the package, and decoding of their reverts.

``artifacts/<Name>.json`` is written by the contracts build (Hardhat, solc)
and committed, so neither the service nor the tests need a compiler. This module
loads and checks one (:func:`load_artifact`), or a frozen artifact of an earlier
contract version that is only read (:func:`load_legacy_artifact`, from
``artifacts/legacy/``), and turns raw revert data into an
error name and named arguments using every error the known ABIs declare
(:class:`RevertDecoder`), so a new contract's custom errors read well for free.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, cast

from eth_abi import abi as eth_abi
from eth_abi.exceptions import DecodingError
from eth_typing import ABIError
from eth_utils import (
    abi_to_signature,
    function_signature_to_4byte_selector,
    get_abi_input_names,
    get_abi_input_types,
)
from eth_utils.exceptions import ValidationError as EthUtilsValidationError

from ipnotary.chain.errors import ArtifactError

__all__ = [
    "ContractArtifact",
    "DecodedRevert",
    "RevertDecoder",
    "load_artifact",
    "load_legacy_artifact",
]

_REQUIRED_KEYS = ("contractName", "abi", "bytecode", "deployedBytecode")
_REBUILD_HINT = (
    "rebuild the contracts with `npm run export-artifacts` "
    "and commit chain/src/ipnotary/chain/artifacts/"
)


@dataclass(frozen=True)
class ContractArtifact:
    """One compiled contract: its ABI, creation code and runtime code."""

    name: str
    abi: tuple[Mapping[str, Any], ...] = field(repr=False)
    bytecode: bytes = field(repr=False)
    deployed_bytecode: bytes = field(repr=False)
    compiler: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(
        cls, document: Mapping[str, Any], *, source: str = "artifact"
    ) -> ContractArtifact:
        missing = [key for key in _REQUIRED_KEYS if key not in document]
        if missing:
            raise ArtifactError(f"{source} lacks {', '.join(missing)}; {_REBUILD_HINT}")
        abi = document["abi"]
        if not isinstance(abi, list) or not all(isinstance(item, dict) for item in abi):
            raise ArtifactError(f"{source}: 'abi' is not a list of objects; {_REBUILD_HINT}")
        return cls(
            name=str(document["contractName"]),
            abi=tuple(abi),
            bytecode=_hex_code(document["bytecode"], f"{source}: bytecode"),
            deployed_bytecode=_hex_code(
                document["deployedBytecode"], f"{source}: deployedBytecode"
            ),
            compiler=dict(document.get("compiler") or {}),
        )


def _hex_code(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) <= 2:
        raise ArtifactError(f"{what} is not non-empty 0x-hex; {_REBUILD_HINT}")
    if "__" in value:
        raise ArtifactError(
            f"{what} has unlinked library placeholders; link them before committing"
        )
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise ArtifactError(f"{what} is not valid hex ({exc}); {_REBUILD_HINT}") from exc


@functools.cache
def load_artifact(name: str) -> ContractArtifact:
    """Load ``artifacts/<name>.json`` (cached; artifacts never change at run time)."""
    return _load(name, ("artifacts", f"{name}.json"), hint=_REBUILD_HINT)


@functools.cache
def load_legacy_artifact(name: str, version: int) -> ContractArtifact:
    """Load the frozen ``artifacts/legacy/<name>-v<version>.json`` (cached).

    These are the artifacts of earlier contract versions, kept so that contracts they
    deployed are recognised by their runtime code; they are never rebuilt.
    """
    return _load(
        name,
        ("artifacts", "legacy", f"{name}-v{version}.json"),
        hint="restore the file from git: frozen artifacts are never rebuilt",
    )


def _load(name: str, parts: tuple[str, ...], *, hint: str) -> ContractArtifact:
    resource = resources.files(__package__).joinpath(*parts)
    source = "ipnotary/chain/" + "/".join(parts)
    try:
        document = json.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"{source} is missing; {hint}") from exc
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{source} cannot be read ({exc}); {hint}") from exc
    if not isinstance(document, dict):
        raise ArtifactError(f"{source} is not a JSON object; {hint}")
    artifact = ContractArtifact.from_json(document, source=source)
    if artifact.name != name:
        raise ArtifactError(f"{source} holds contract {artifact.name!r}, not {name!r}; {hint}")
    return artifact


@dataclass(frozen=True)
class DecodedRevert:
    """Revert data matched against the known errors; ``name`` is None if nothing matched."""

    name: str | None
    args: Mapping[str, Any]
    data: bytes


@dataclass(frozen=True)
class _ErrorSpec:
    name: str
    types: tuple[str, ...]
    arg_names: tuple[str, ...]


# Solidity's built-in errors: require(cond, "text") and assert/arithmetic panics.
_BUILTIN_ERRORS: tuple[Mapping[str, Any], ...] = (
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
)


class RevertDecoder:
    """Decodes revert data by 4-byte selector against every error in the given ABIs."""

    def __init__(self, abis: Iterable[Sequence[Mapping[str, Any]]]) -> None:
        self._by_selector: dict[bytes, _ErrorSpec] = {}
        for abi in (*abis, _BUILTIN_ERRORS):
            for item in abi:
                if item.get("type") != "error":
                    continue
                item = cast(ABIError, item)
                selector = function_signature_to_4byte_selector(abi_to_signature(item))
                names = get_abi_input_names(item)
                self._by_selector.setdefault(
                    selector,
                    _ErrorSpec(
                        name=item["name"],
                        types=tuple(get_abi_input_types(item)),
                        arg_names=tuple(n or f"arg{i}" for i, n in enumerate(names)),
                    ),
                )

    def decode(self, data: bytes) -> DecodedRevert:
        spec = self._by_selector.get(data[:4]) if len(data) >= 4 else None
        if spec is None:
            return DecodedRevert(None, {}, data)
        try:
            values = eth_abi.decode(list(spec.types), data[4:], strict=False)
        except (DecodingError, EthUtilsValidationError, ValueError, OverflowError):
            return DecodedRevert(None, {}, data)
        return DecodedRevert(spec.name, dict(zip(spec.arg_names, values, strict=True)), data)

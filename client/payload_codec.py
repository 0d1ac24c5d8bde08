"""AES-256-GCM encryption of Temporal payloads, so a case's history holds no readable personal data.

Every payload a client or worker writes (workflow and activity inputs and results, updates, signals,
queries, failure details) leaves as `binary/encrypted`: the whole original Payload (its metadata and
data) sealed with the first key of the ring, the key's id in the metadata. Any key of the ring decrypts,
so a new key goes first and the old ones stay until no history needs them. A payload without the
`binary/encrypted` marker passes through unchanged: histories recorded before encryption was switched on
stay readable and replay.

Keys are `<key id>:<32 bytes in base64>` entries: `WHISTLE_PAYLOAD_KEYS` (comma-separated) first, then
the lines of `WHISTLE_PAYLOAD_KEY_FILE` (blank lines and `#` comments allowed).
"""

import base64
import binascii
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class PayloadKeyError(ValueError):
    """A key ring that cannot be used, or a payload no key of the ring opens; the message says which."""


@dataclass(frozen=True)
class PayloadKey:
    key_id: str
    secret: bytes

    def __repr__(self) -> str:  # never the secret, in a traceback or a log line
        return f"PayloadKey({self.key_id!r})"

    def entry(self) -> str:
        """The key as a line of a key file or an entry of WHISTLE_PAYLOAD_KEYS."""
        return f"{self.key_id}:{base64.b64encode(self.secret).decode()}"

    @classmethod
    def generate(cls, key_id: str) -> "PayloadKey":
        return cls(key_id, secrets.token_bytes(_KEY_BYTES))

    @classmethod
    def parse(cls, entry: str, source: str) -> "PayloadKey":
        key_id, colon, encoded = entry.strip().partition(":")
        if not colon or not _KEY_ID_PATTERN.fullmatch(key_id):
            raise PayloadKeyError(f"{source}: a key is `<id>:<base64 of 32 bytes>` with an id of [A-Za-z0-9._-]")
        try:
            secret = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise PayloadKeyError(f"{source}: key {key_id!r} is not valid base64") from None
        if len(secret) != _KEY_BYTES:
            raise PayloadKeyError(f"{source}: key {key_id!r} has {len(secret)} bytes; AES-256 needs {_KEY_BYTES}")
        return cls(key_id, secret)


def load_keys(entries: str | None, key_file: Path | None) -> list[PayloadKey]:
    """The key ring from the WHISTLE_PAYLOAD_KEYS text and the key file, in that order; empty when neither is set."""
    keys = [PayloadKey.parse(entry, "WHISTLE_PAYLOAD_KEYS") for entry in (entries or "").split(",") if entry.strip()]
    if key_file is not None:
        try:
            lines = key_file.read_text().splitlines()
        except OSError as error:
            raise PayloadKeyError(f"WHISTLE_PAYLOAD_KEY_FILE {key_file}: {error.strerror or error}") from None
        keys += [
            PayloadKey.parse(line, f"{key_file}:{number}")
            for number, line in enumerate(lines, 1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if not keys:
            raise PayloadKeyError(f"WHISTLE_PAYLOAD_KEY_FILE {key_file} holds no key")
    seen: dict[str, bytes] = {}
    for key in keys:
        if seen.setdefault(key.key_id, key.secret) != key.secret:
            raise PayloadKeyError(f"two different keys have the id {key.key_id!r}")
    return keys


def create_key_file(path: Path, key_id: str) -> PayloadKey:
    """A new key file readable by its owner only, holding one fresh key (refuses to overwrite one)."""
    key = PayloadKey.generate(key_id)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(
            "# Whistle payload keys: the first line encrypts, every line decrypts. To rotate, put a new key\n"
            "# (`<id>:<base64 of 32 random bytes>`) on top and keep the old lines while histories need them.\n"
            f"{key.entry()}\n"
        )
    return key


class PayloadCipher(PayloadCodec):
    """Encrypts with the ring's first key; decrypts with whichever key a payload names."""

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise PayloadKeyError("a payload cipher needs at least one key")
        self.encrypting = keys[0].key_id
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        key_id = self.encrypting.encode()
        sealed = self._ciphers[self.encrypting].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # recorded before encryption: plain as it was
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(f"payload encrypted with key {key_id!r}, which is not in the key ring")
        try:
            plain = cipher.decrypt(payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise PayloadKeyError(f"payload does not open with key {key_id!r}: altered, or sealed by another") from None
        return Payload.FromString(plain)

"""Where photos are kept: a small store of named blobs (save, open, delete), by default files under the data
directory. Names are content addressed (`<sha256>.jpg`, `<sha256>.thumb.jpg`), so saving the same photo twice
keeps one copy, and a name never changes meaning. Another store (object storage, say) implements the same
three methods."""

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

NAME = re.compile(r"^[0-9a-f]{64}(\.thumb)?\.(jpg|png)$")


class PhotoStore(Protocol):
    def save(self, name: str, content: bytes) -> None: ...

    def open(self, name: str) -> bytes | None: ...

    def delete(self, name: str) -> None: ...


class FileStore:
    """Files under `root`, fanned out by the first two characters of the name (`ab/abcdef….jpg`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if not NAME.fullmatch(name):
            raise ValueError(f"not a photo name: {name!r}")
        return self.root / name[:2] / name

    def save(self, name: str, content: bytes) -> None:
        """Written to a temporary file and renamed into place: a reader never sees half a photo."""
        path = self._path(name)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".incoming-", delete=False) as incoming:
            incoming.write(content)
        os.replace(incoming.name, path)

    def open(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

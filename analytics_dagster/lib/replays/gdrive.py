"""Publishes a day's report into one Google Drive subfolder per day, through google-api-python-client (Drive v3).

Publishing is idempotent: the day's subfolder is found by name (created once), a file of the same name is updated
in place (``files.update`` with the new media) instead of uploaded again, and files left from an earlier publish
that are not in the new set are deleted, so the folder always mirrors the latest report.
Authentication is google-auth's: a service-account (or authorized-user) JSON from ``GOOGLE_APPLICATION_CREDENTIALS``,
whose ``token_uri`` names the token endpoint. The client is built from the Drive discovery document shipped inside
google-api-python-client (no discovery request), its root URL set to ``api_url``.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import google.auth
from google.auth.credentials import Credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, MediaInMemoryUpload

from analytics_dagster.lib.http_retry import Backoff, RetryableError, call_with_retries, parse_retry_after

DRIVE_API_URL = "https://www.googleapis.com"
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
FOLDER_MIME = "application/vnd.google-apps.folder"
_SHARED_DRIVES = {"supportsAllDrives": True}

logger = logging.getLogger(__name__)


class DriveError(RuntimeError):
    pass


def google_credentials(credentials_path: str) -> Credentials:
    """Credentials from the file, with the Drive scope; the client refreshes their token when it expires."""
    credentials, _ = google.auth.load_credentials_from_file(credentials_path, scopes=[DRIVE_SCOPE])
    return credentials


def _quoted(value: str) -> str:
    """A string literal for a Drive query (backslash and single quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class PublishResult:
    folder_id: str
    folder_url: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class DriveClient:
    def __init__(
        self,
        credentials: Credentials,
        *,
        api_url: str = DRIVE_API_URL,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        document = json.loads(get_static_doc("drive", "v3"))
        document["rootUrl"] = api_url.rstrip("/") + "/"
        self._files = build_from_document(document, credentials=credentials).files()
        self._backoff = Backoff(base_seconds=backoff_seconds, max_seconds=60.0, max_attempts=max_retries + 1)
        self._sleep = sleep

    def close(self) -> None:
        self._files.close()

    def _execute(self, request: HttpRequest) -> dict:
        """One API call; 429, 5xx and dropped connections are retried with backoff (at least the Retry-After)."""
        what = f"Drive {request.method} {request.uri.split('?', 1)[0]}"

        def attempt() -> dict:
            try:
                return request.execute()
            except HttpError as error:
                status = error.status_code
                if status == 429 or status >= 500:
                    retry_after = parse_retry_after(error.resp.get("retry-after"))
                    raise RetryableError(f"{what}: HTTP {status}", status=status, retry_after=retry_after) from error
                detail = error.content.decode(errors="replace")[:300]
                raise DriveError(f"{what} answered {status}: {detail}") from error
            except (OSError, http.client.HTTPException) as error:  # refused, reset or timed-out connections
                raise RetryableError(f"{what}: connection failed ({type(error).__name__}: {error})") from error

        return call_with_retries(attempt, backoff=self._backoff, what=what, log=logger, sleep=self._sleep)

    def children(self, parent_id: str, *, name: str | None = None, mime_type: str | None = None) -> list[dict]:
        """Files in a folder (not trashed), oldest first, optionally only those of one name or type."""
        query = f"{_quoted(parent_id)} in parents and trashed=false"
        if name is not None:
            query += f" and name={_quoted(name)}"
        if mime_type is not None:
            query += f" and mimeType={_quoted(mime_type)}"
        files: list[dict] = []
        request = self._files.list(
            q=query,
            fields="nextPageToken,files(id,name,mimeType)",
            pageSize=1000,
            orderBy="createdTime",
            includeItemsFromAllDrives=True,
            **_SHARED_DRIVES,
        )
        while request is not None:
            page = self._execute(request)
            files.extend(page.get("files", []))
            request = self._files.list_next(request, page)
        return files

    def ensure_folder(self, name: str, parent_id: str) -> str:
        existing = self.children(parent_id, name=name, mime_type=FOLDER_MIME)
        if existing:
            return existing[0]["id"]
        metadata = {"name": name, "mimeType": FOLDER_MIME, "parents": [parent_id]}
        return self._execute(self._files.create(body=metadata, fields="id", **_SHARED_DRIVES))["id"]

    def create_file(self, name: str, parent_id: str, content: bytes, mime_type: str) -> str:
        metadata = {"name": name, "parents": [parent_id], "mimeType": mime_type}
        media = MediaInMemoryUpload(content, mimetype=mime_type, resumable=False)
        return self._execute(self._files.create(body=metadata, media_body=media, fields="id", **_SHARED_DRIVES))["id"]

    def update_file(self, file_id: str, content: bytes, mime_type: str) -> str:
        media = MediaInMemoryUpload(content, mimetype=mime_type, resumable=False)
        request = self._files.update(
            fileId=file_id, body={"mimeType": mime_type}, media_body=media, fields="id", **_SHARED_DRIVES
        )
        return self._execute(request)["id"]

    def delete_file(self, file_id: str) -> None:
        self._execute(self._files.delete(fileId=file_id, **_SHARED_DRIVES))

    def publish(self, parent_id: str, folder_name: str, files: Mapping[str, tuple[bytes, str]]) -> PublishResult:
        """Makes ``parent/folder_name`` hold exactly ``files`` (name -> (content, MIME type))."""
        folder_id = self.ensure_folder(folder_name, parent_id)
        result = PublishResult(folder_id, f"https://drive.google.com/drive/folders/{folder_id}")
        present: dict[str, list[str]] = {}
        for item in self.children(folder_id):
            present.setdefault(item["name"], []).append(item["id"])
        for name, (content, mime_type) in sorted(files.items()):
            ids = present.pop(name, [])
            if ids:
                self.update_file(ids[0], content, mime_type)
                result.updated.append(name)
                for duplicate in ids[1:]:  # left by an interrupted earlier publish
                    self.delete_file(duplicate)
                    result.deleted.append(name)
            else:
                self.create_file(name, folder_id, content, mime_type)
                result.created.append(name)
        for name, ids in sorted(present.items()):
            for stale in ids:
                self.delete_file(stale)
                result.deleted.append(name)
        return result

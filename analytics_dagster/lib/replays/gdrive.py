"""A small Google Drive v3 client (httpx) that publishes a day's report into one subfolder per day.

Publishing is idempotent: the day's subfolder is found by name (created once), a file of the same name is updated
in place (``PATCH .../upload/drive/v3/files/<id>?uploadType=multipart``) instead of uploaded again, and files left
from an earlier publish that are not in the new set are deleted, so the folder always mirrors the latest report.
Authentication is google-auth's: a service-account (or authorized-user) JSON from ``GOOGLE_APPLICATION_CREDENTIALS``,
whose ``token_uri`` names the token endpoint.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

DRIVE_API_URL = "https://www.googleapis.com"
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
FOLDER_MIME = "application/vnd.google-apps.folder"
_RETRY_STATUSES = {429, 500, 502, 503, 504}
_SHARED_DRIVES = {"supportsAllDrives": "true"}


class DriveError(RuntimeError):
    pass


def google_token_provider(credentials_path: str) -> Callable[[], str]:
    """Access tokens from the credentials file, refreshed by google-auth when they expire."""
    import google.auth
    from google.auth.transport.requests import Request

    credentials, _ = google.auth.load_credentials_from_file(credentials_path, scopes=[DRIVE_SCOPE])
    request = Request()

    def token() -> str:
        if not credentials.valid:
            credentials.refresh(request)
        return credentials.token

    return token


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
        token: Callable[[], str],
        *,
        api_url: str = DRIVE_API_URL,
        http: httpx.Client | None = None,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
    ):
        self._token = token
        self.api_url = api_url.rstrip("/")
        self._http = http or httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds

    def close(self) -> None:
        self._http.close()

    def _request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One API call; 429, 5xx and dropped connections are retried with exponential backoff (or Retry-After)."""
        attempt = 0
        while True:
            delay = self.backoff_seconds * 2**attempt
            try:
                response = self._http.request(
                    method,
                    f"{self.api_url}{path}",
                    headers={**(headers or {}), "Authorization": f"Bearer {self._token()}"},
                    **kwargs,
                )
            except httpx.TransportError:
                if attempt >= self.max_retries:
                    raise
            else:
                if response.status_code not in _RETRY_STATUSES or attempt >= self.max_retries:
                    if response.status_code >= 400:
                        raise DriveError(
                            f"Drive {method} {path} answered {response.status_code}: {response.text[:300]}"
                        )
                    return response
                retry_after = response.headers.get("Retry-After", "")
                delay = float(retry_after) if retry_after.isdigit() else delay
            time.sleep(min(delay, 60.0))
            attempt += 1

    def children(self, parent_id: str, *, name: str | None = None, mime_type: str | None = None) -> list[dict]:
        """Files in a folder (not trashed), oldest first, optionally only those of one name or type."""
        query = f"{_quoted(parent_id)} in parents and trashed=false"
        if name is not None:
            query += f" and name={_quoted(name)}"
        if mime_type is not None:
            query += f" and mimeType={_quoted(mime_type)}"
        files: list[dict] = []
        page_token: str | None = None
        while True:
            params = {
                "q": query,
                "fields": "nextPageToken,files(id,name,mimeType)",
                "pageSize": "1000",
                "orderBy": "createdTime",
                "includeItemsFromAllDrives": "true",
                **_SHARED_DRIVES,
            }
            if page_token:
                params["pageToken"] = page_token
            body = self._request("GET", "/drive/v3/files", params=params).json()
            files.extend(body.get("files", []))
            page_token = body.get("nextPageToken")
            if not page_token:
                return files

    def ensure_folder(self, name: str, parent_id: str) -> str:
        existing = self.children(parent_id, name=name, mime_type=FOLDER_MIME)
        if existing:
            return existing[0]["id"]
        metadata = {"name": name, "mimeType": FOLDER_MIME, "parents": [parent_id]}
        return self._request(
            "POST", "/drive/v3/files", params={"fields": "id", **_SHARED_DRIVES}, json=metadata
        ).json()["id"]

    def _multipart(self, method: str, path: str, metadata: Mapping[str, Any], content: bytes, mime_type: str) -> str:
        boundary = f"analytics-dagster-{uuid.uuid4().hex}"
        body = b"".join(
            [
                f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
                json.dumps(metadata).encode(),
                f"\r\n--{boundary}\r\nContent-Type: {mime_type}\r\n\r\n".encode(),
                content,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        response = self._request(
            method,
            path,
            params={"uploadType": "multipart", "fields": "id", **_SHARED_DRIVES},
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
            content=body,
        )
        return response.json()["id"]

    def create_file(self, name: str, parent_id: str, content: bytes, mime_type: str) -> str:
        metadata = {"name": name, "parents": [parent_id], "mimeType": mime_type}
        return self._multipart("POST", "/upload/drive/v3/files", metadata, content, mime_type)

    def update_file(self, file_id: str, content: bytes, mime_type: str) -> str:
        return self._multipart(
            "PATCH", f"/upload/drive/v3/files/{file_id}", {"mimeType": mime_type}, content, mime_type
        )

    def delete_file(self, file_id: str) -> None:
        self._request("DELETE", f"/drive/v3/files/{file_id}", params=_SHARED_DRIVES)

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

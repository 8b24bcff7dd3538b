"""The Drive v3 client against a local server speaking Drive's list/create/upload/update/delete calls, with
google-auth service-account credentials whose token endpoint is that server."""

from __future__ import annotations

import pytest

from analytics_dagster.lib.replays.gdrive import FOLDER_MIME, DriveClient, DriveError, google_credentials


def _client(fake_drive, service_account_file) -> DriveClient:
    return DriveClient(
        google_credentials(str(service_account_file)), api_url=fake_drive.api_url, sleep=fake_drive.sleeps.append
    )


def test_publishing_twice_replaces_files_instead_of_duplicating(fake_drive, service_account_file):
    drive = _client(fake_drive, service_account_file)
    first = {
        "report.md": (b"# v1", "text/markdown"),
        "report.html": (b"<h1>v1</h1>", "text/html"),
        "dev_1.png": (b"png-1", "image/png"),
        "it's a shot.png": (b"png-2", "image/png"),
        "stale.png": (b"old", "image/png"),
    }
    published = drive.publish(fake_drive.root_folder, "2026-03-15", first)
    assert sorted(published.created) == sorted(first) and not published.updated and not published.deleted
    second = {
        name: (content.replace(b"1", b"2"), mime) for name, (content, mime) in first.items() if name != "stale.png"
    }
    republished = drive.publish(fake_drive.root_folder, "2026-03-15", second)
    drive.close()

    assert republished.folder_id == published.folder_id
    assert sorted(republished.updated) == sorted(second) and republished.deleted == ["stale.png"]
    [day_folder] = fake_drive.children(fake_drive.root_folder)
    assert (day_folder["name"], day_folder["mimeType"]) == ("2026-03-15", FOLDER_MIME)
    files = {f["name"]: f["content"] for f in fake_drive.children(day_folder["id"])}
    assert files == {name: content for name, (content, _) in second.items()}
    assert republished.folder_url == f"https://drive.google.com/drive/folders/{day_folder['id']}"
    assert fake_drive.tokens_issued == 1  # one service-account token, reused while valid


def test_duplicates_left_by_an_interrupted_publish_are_cleaned(fake_drive, service_account_file):
    drive = _client(fake_drive, service_account_file)
    folder = drive.ensure_folder("2026-03-15", fake_drive.root_folder)
    for _ in range(2):
        drive.create_file("report.md", folder, b"partial", "text/markdown")
    result = drive.publish(fake_drive.root_folder, "2026-03-15", {"report.md": (b"# final", "text/markdown")})
    assert result.updated == ["report.md"] and result.deleted == ["report.md"]
    assert [f["content"] for f in fake_drive.children(folder)] == [b"# final"]


def test_transient_errors_are_retried_and_others_raised(fake_drive, service_account_file):
    drive = _client(fake_drive, service_account_file)
    fake_drive.fail_next = [503, 429]
    assert drive.ensure_folder("2026-03-16", fake_drive.root_folder)
    assert len(fake_drive.sleeps) == 2 and fake_drive.sleeps[1] >= 7.0  # the 429's Retry-After is the floor
    fake_drive.fail_next = [403]
    with pytest.raises(DriveError, match="answered 403"):
        drive.children(fake_drive.root_folder)
